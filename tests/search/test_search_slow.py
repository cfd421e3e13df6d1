"""Real searches: end to end, a worker killed with SIGKILL then resumed, 4 workers on PostgreSQL,
and accuracy that separates a tiny design from a normal one by more than the seed spread."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
import uuid
from pathlib import Path

import optuna
import pytest
from conftest import require
from optuna.trial import TrialState
from typer.testing import CliRunner

from cli import app
from costmodel import analyze
from costmodel.specs import load_network, parse_spec
from search.evaluate import Evaluator
from search.results import result_of
from search.spec import SPEC_ATTR, SearchSpec
from search.storage import normalize_url, open_storage
from search.study import prepare_study, run_search
from search.workers import Job, run_worker

pytestmark = pytest.mark.slow
optuna.logging.set_verbosity(optuna.logging.WARNING)

# 1,797 scikit-learn digits at 16 px and one epoch: a trial trains in about a second on 2 cores.
SMALL = {"data": "digits", "input_size": 16, "epochs": 1}


def test_end_to_end_cli_search(tmp_path: Path) -> None:
    fam_budget = "2.0"  # MFLOPs; some designs of the space cost more at 16 px, some less
    plot = tmp_path / "front.png"
    result = CliRunner().invoke(
        app,
        [
            "search",
            "--trials",
            "5",
            "--data",
            "digits",
            "--input",
            "16",
            "--epochs",
            "4",
            "--storage",
            f"sqlite:///{tmp_path / 's.db'}",
            "--study",
            "e2e",
            "--max-mflops",
            fam_budget,
            "--objectives",
            "accuracy,macs",
            "--plot",
            str(plot),
            "--designs",
            str(tmp_path / "front"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Pareto front: accuracy, macs" in result.output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    study = optuna.load_study(study_name="e2e", storage=f"sqlite:///{tmp_path / 's.db'}")
    trials = study.trials
    # halving (rungs 1, 2, 4) may stop designs: pruned with the rung they reached, never complete
    assert len(trials) == 5 and {t.state for t in trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
    assert TrialState.COMPLETE in {t.state for t in trials}
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 5  # no design twice
    assert study.metric_names == ["proxy accuracy", "MACs"]
    for t in trials:
        r = result_of(t)
        # over-budget designs never become trials; the constraint is cost − budget
        assert r["mflops"] <= float(fam_budget)
        assert t.constraints["mflops"] == pytest.approx(r["mflops"] - float(fam_budget))
        assert t.system_attrs["constraints"] == [pytest.approx(r["mflops"] - float(fam_budget))]
        # three seeds: the mean of the per-seed accuracies, and their 95% interval
        seeds = r["accuracy_seeds"]
        assert len(seeds) == 3 and r["accuracy"] == pytest.approx(sum(seeds) / 3)
        mean = sum(seeds) / 3
        sd = (sum((a - mean) ** 2 for a in seeds) / 2) ** 0.5
        assert r["accuracy_ci95"] == pytest.approx(4.303 * sd / 3**0.5)  # t(0.975, 2) = 4.303
        if t.state == TrialState.PRUNED:
            assert r["epochs"] in (1, 2) and "stopped by halving" in r["halted"]
        else:
            assert r["epochs"] == 4 and 0.1 < r["accuracy"] <= 1.0  # 10 classes: above chance
    # the test split scored the front only
    tested = study.user_attrs["cspcost.test_accuracy"]
    front_numbers = {json.loads(f.read_text())["trial"] for f in (tmp_path / "front").glob("[0-9]*.json")}
    assert {int(n) for n in tested} == front_numbers
    assert all(0.0 <= v["mean"] <= 1.0 and len(v["seeds"]) == 3 for v in tested.values())
    assert "tied, so the cheaper design dominates" in result.output
    # the front's design files name the same network: the engine's costs of them are the search's
    # (pathlib's "*" also matches the hidden .cspcost-manifest.json that every cspcost folder carries)
    files = sorted(f for f in (tmp_path / "front").glob("*.json") if not f.name.startswith("."))
    assert files and len(files) == len(list((tmp_path / "front").glob("*.onnx")))
    assert len(list((tmp_path / "front").glob("*.proxy.pt"))) == len(files)
    by_number = {t.number: result_of(t) for t in trials}
    for f in files:
        content = json.loads(f.read_text())
        net = load_network(parse_spec(str(f)))
        assert 2 * analyze(net).totals.macs / 1e6 == pytest.approx(by_number[content["trial"]]["mflops"])


def _completed(storage: str, name: str) -> dict[int, tuple[float, ...]]:
    study = optuna.load_study(study_name=name, storage=storage)
    return {t.number: tuple(t.values) for t in study.trials if t.state == TrialState.COMPLETE}


def test_kill_9_then_resume_loses_no_completed_trial(tmp_path: Path) -> None:
    storage, name = f"sqlite:///{tmp_path / 'k.db'}", "killed"
    given = {**SMALL, "objectives": ("accuracy", "macs")}
    prepare_study(given, storage, name)
    ctx = multiprocessing.get_context("spawn")
    worker = ctx.Process(target=run_worker, args=(Job(normalize(storage), name, 6, heartbeat_interval=1),))
    worker.start()
    # Wait for the state, not for a time: a loaded machine may take minutes per trial. The bound
    # only stops a hung worker from hanging the suite; it is no speed check.
    hang_guard = time.monotonic() + 1800
    while True:
        study = optuna.load_study(study_name=name, storage=storage)
        states = [t.state for t in study.trials]
        if states.count(TrialState.COMPLETE) >= 2 and TrialState.RUNNING in states:
            break
        if not worker.is_alive():
            pytest.fail(f"the worker exited ({worker.exitcode}) before two trials were done and a third ran")
        if time.monotonic() > hang_guard:
            pytest.fail("the worker made no progress to two finished trials in 30 minutes")
        time.sleep(0.05)
    assert worker.pid is not None
    os.kill(worker.pid, signal.SIGKILL)
    worker.join()
    before = _completed(storage, name)
    assert len(before) >= 2

    run_search({}, trials=6, storage=storage, study_name=name, resume=True, heartbeat_interval=1)

    study = optuna.load_study(study_name=name, storage=storage)
    after = _completed(storage, name)
    assert {n: after[n] for n in before} == before  # nothing completed was lost or redone
    assert all(t.state != TrialState.RUNNING for t in study.trials)
    failed = [t for t in study.trials if t.state == TrialState.FAIL]
    assert len(failed) == 1  # the trial the kill interrupted
    retried = [t for t in study.trials if t.system_attrs.get("failed_trial") == failed[0].number]
    assert len(retried) == 1 and retried[0].params == failed[0].params
    assert len(after) == 6


def normalize(storage: str) -> str:
    return normalize_url(storage)


def _pg_url() -> str:
    url = os.environ.get("CSPCOST_PG_URL")
    require(bool(url), "CSPCOST_PG_URL is not set")
    assert url is not None
    from costmodel import SpecError

    try:
        open_storage(normalize(url))
    except SpecError as err:
        require(False, f"PostgreSQL does not answer: {err}")
    return url


@pytest.mark.postgres
def test_four_workers_on_postgres_finish_the_trials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a PostgreSQL study keeps its weights in ./<study>-artifacts
    url = _pg_url()
    name = f"pg-{uuid.uuid4().hex[:8]}"
    result = run_search(
        {**SMALL, "objectives": ("accuracy", "params")},
        trials=12,
        storage=url,
        study_name=name,
        workers=4,
        heartbeat_interval=2,
    )
    assert result.worker_exits == (0, 0, 0, 0)
    trials = optuna.load_study(study_name=name, storage=normalize(url)).trials
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    # none lost; MaxTrialsCallback counts running trials too, so workers stop at the target, but
    # two that check at the same moment may each start one more: at most workers − 1 over
    assert 12 <= len(done) <= 12 + 3
    assert all("duplicate_of" in t.user_attrs for t in trials if t.state != TrialState.COMPLETE)
    assert len({tuple(sorted(t.params.items())) for t in done}) == len(done)  # none twice
    assert len({result_of(t)["worker"] for t in trials}) > 1  # the work was shared
    optuna.delete_study(study_name=name, storage=normalize(url))


def test_four_workers_on_sqlite_measure_each_feasible_design_once(tmp_path: Path) -> None:
    """Four processes on one SQLite file: the requested trials, all complete, each a
    different feasible design (the sampler proposes free designs; a claim that races another is
    refused as a duplicate and not counted)."""
    name, storage = "four", f"sqlite:///{tmp_path / 'w.db'}"
    result = run_search(
        {**SMALL, "objectives": ("accuracy", "params"), "max_mflops": 2.0},
        trials=8,
        storage=storage,
        study_name=name,
        workers=4,
        heartbeat_interval=2,
    )
    assert result.worker_exits == (0, 0, 0, 0)
    trials = optuna.load_study(study_name=name, storage=storage).trials
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    assert 8 <= len(done) <= 8 + 3  # at most workers − 1 over (see the PostgreSQL test)
    # anything else is a racing claim refused before measuring
    assert all("duplicate_of" in t.user_attrs for t in trials if t.state != TrialState.COMPLETE)
    assert len({tuple(sorted(t.params.items())) for t in done}) == len(done)  # no repeat
    assert all(result_of(t)["mflops"] <= 2.0 for t in trials)
    assert len({result_of(t)["worker"] for t in trials}) > 1  # the work was shared


def test_budget_nothing_meets_after_measuring_ends_clearly(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "search",
            "--trials",
            "2",
            "--data",
            "digits",
            "--input",
            "16",
            "--objectives",
            "macs",
            "--max-latency-ms",
            "0.000001",
            "--storage",
            f"sqlite:///{tmp_path / 's.db'}",
        ],
    )
    assert result.exit_code == 2
    assert "error: no design of the 2 evaluated met the budget: the smallest latency_ms" in result.output
    assert "Traceback" not in result.output


def test_tiny_and_normal_designs_differ_beyond_seed_spread() -> None:
    """Three seeds each on scikit-learn's digits (benchmarks/search_accuracy.py does the same on
    the default MNIST data): the accuracy gap between a tiny and a normal design is larger than the
    spread of either across seeds."""
    from search.data import load_dataset
    from search.train import accuracy_by_seed, reference_designs

    tiny, normal = reference_designs().items()
    acc = accuracy_by_seed(dict([tiny, normal]), load_dataset("digits", 16), (0, 1, 2))
    spread = max(max(v) - min(v) for v in acc.values())
    gap = min(acc[normal[0]]) - max(acc[tiny[0]])
    print(f"accuracy by seed: {acc}; gap {gap:.3f}, seed spread {spread:.3f}")
    assert gap > spread


def test_a_failed_trial_is_recorded_and_the_study_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import search.train
    from search.train import TrialError

    real = search.train.Trainer.advance
    calls: list[int] = []

    def diverge_first(self: search.train.Trainer, epochs: int) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise TrialError("training diverged: loss is nan")
        real(self, epochs)

    monkeypatch.setattr(search.train.Trainer, "advance", diverge_first)
    result = run_search(
        {**SMALL, "objectives": ("accuracy", "macs")},
        trials=3,
        storage=f"sqlite:///{tmp_path / 'f.db'}",
        study_name="nan",
    )
    states = [t.state for t in result.trials]
    # a failure is not a measurement: three complete trials as asked, beside the failed one
    assert states.count(TrialState.FAIL) == 1 and states.count(TrialState.COMPLETE) == 3
    failed = next(t for t in result.trials if t.state == TrialState.FAIL)
    assert result_of(failed)["error"] == "TrialError: training diverged: loss is nan"


def test_ctrl_c_leaves_the_design_free_for_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An interrupted trial is failed without an error, so its design is proposed again: a resumed
    study over the whole (four-design) space measures it."""
    import search.train

    real = search.train.Trainer.advance

    def interrupt(self: search.train.Trainer, epochs: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(search.train.Trainer, "advance", interrupt)
    storage = f"sqlite:///{tmp_path / 'c.db'}"
    given = {**SMALL, "objectives": ("accuracy", "macs"), "gammas": (0.5,), "growth_rates": (8,)}
    with pytest.raises(KeyboardInterrupt):
        run_search(given, trials=4, storage=storage, study_name="ctrl-c")
    (interrupted,) = optuna.load_study(study_name="ctrl-c", storage=storage).trials
    assert interrupted.state == TrialState.FAIL and "error" not in interrupted.user_attrs

    monkeypatch.setattr(search.train.Trainer, "advance", real)
    result = run_search({}, trials=4, storage=storage, study_name="ctrl-c", resume=True)
    done = [t for t in result.trials if t.state == TrialState.COMPLETE]
    assert len(done) == 4  # none | csp | fusion_first | fusion_last at γ = 0.5, k = 8
    assert interrupted.params in [t.params for t in done]


def test_a_design_scores_the_same_whatever_ran_before() -> None:
    """Seeded: the accuracy of a design does not depend on which trials the worker ran first."""
    spec = SearchSpec(objectives=("accuracy",), **SMALL)
    evaluate = Evaluator(spec, num_classes=10, in_channels=1)
    a = {"fusion": "csp", "gamma": 0.5, "growth_rate": 8}
    b = {"fusion": "none", "growth_rate": 16}
    scores = []
    for order in ([a], [b, a]):
        study = optuna.create_study(directions=spec.directions)
        study.set_user_attr(SPEC_ATTR, spec.to_attrs())
        for params in order:
            study.enqueue_trial(params)
            trial = study.ask()
            study.tell(trial, evaluate(trial))
        scores.append(study.trials[-1].value)
    assert scores[0] == scores[1]
