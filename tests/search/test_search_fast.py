"""Fast checks of the search: space, spec validation, budgets before building, data, Pareto, CLI
input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import optuna
import pytest
from typer.testing import CliRunner

from cli import app
from costmodel import SpecError, analyze, expand
from search.data import load_dataset
from search.evaluate import Evaluator
from search.front import pareto_trials
from search.results import RESULT_ATTR
from search.space import FAMILIES, GAMMAS, Design, family, suggest
from search.spec import SPEC_ATTR, SearchSpec
from search.storage import normalize_url
from search.study import _check_budget_reachable
from search.train import holdout_split
from search.workers import _claimed

optuna.logging.set_verbosity(optuna.logging.WARNING)
runner = CliRunner()


# --- space ----------------------------------------------------------------------------------------


def test_fusion_none_never_asks_gamma() -> None:
    trial = optuna.trial.FixedTrial({"fusion": "none", "growth_rate": 8})
    d = suggest(trial, family("cspdensenet"))
    assert (d.fusion, d.gamma, d.growth_rate) == ("none", 0.0, 8)
    trial = optuna.trial.FixedTrial({"fusion": "csp", "gamma": 0.75, "growth_rate": 8})
    assert suggest(trial, family("cspdensenet")).gamma == 0.75


def test_design_grid_size() -> None:
    fam = FAMILIES["cspdensenet"]
    # none has one γ (0); the three CSP fusions take every γ of the grid.
    per_growth = 1 + 3 * len(GAMMAS)
    assert len(list(fam.designs())) == per_growth * len(fam.growth_rates)
    assert len(list(fam.designs(multipliers=True))) == 3 * 3 * per_growth * len(fam.growth_rates)


def test_multipliers_scale_depth_and_width() -> None:
    fam = FAMILIES["cspdensenet"]  # base: blocks (2, 4, 4), 16 stem channels
    cfg = fam.config(Design("csp", 0.5, 12, depth=1.5, width=0.5), num_classes=7, in_channels=3)
    assert cfg.block_config == (2 * 1.5, 4 * 1.5, 4 * 1.5)
    assert cfg.num_init_features == 16 // 2
    assert (cfg.num_classes, cfg.in_channels, cfg.part_ratio, cfg.fusion) == (7, 3, 0.5, "csp")


def test_unknown_family_names_the_choices() -> None:
    with pytest.raises(SpecError, match="unknown family 'cspdensnet'; did you mean cspdensenet"):
        family("cspdensnet")


# --- spec -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "match"),
    [
        ({"objectives": ("accuracy", "flops")}, "unknown objective 'flops'"),
        ({"objectives": ("macs", "macs")}, "repeat"),
        ({"objectives": ()}, "no objective"),
        ({"max_mflops": -1.0}, "--max-mflops -1.0 must be a non-negative"),
        ({"max_latency_ms": math.nan}, "--max-latency-ms nan"),
        ({"epochs": 0}, "epochs = 0"),
        ({"family": "resnet"}, "unknown family"),
    ],
    ids=[
        "unknown-objective",
        "repeated-objective",
        "no-objective",
        "negative-budget",
        "nan-budget",
        "zero-epochs",
        "unknown-family",
    ],
)
def test_spec_rejects_bad_options(given: dict, match: str) -> None:
    with pytest.raises(SpecError, match=match):
        SearchSpec(**given)


def test_spec_round_trips_through_study_attrs() -> None:
    spec = SearchSpec(objectives=("accuracy", "latency"), max_params=5e4, devices=("cpu",))
    assert SearchSpec.from_attrs(spec.to_attrs()) == spec
    assert spec.directions == ["maximize", "minimize"]
    assert spec.budgets() == {"params": 5e4}


def test_plain_postgres_url_uses_psycopg3() -> None:
    assert normalize_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    with pytest.raises(SpecError, match="not a database URL"):
        normalize_url("search.db")


# --- budgets come before any building -------------------------------------------------------------


def _study_with(params: dict, spec: SearchSpec) -> tuple[optuna.Study, optuna.Trial, Evaluator]:
    """An in-memory study whose next trial is ``params``."""
    study = optuna.create_study(directions=spec.directions)
    study.set_user_attr(SPEC_ATTR, spec.to_attrs())
    study.enqueue_trial(params)
    return study, study.ask(), Evaluator(spec, num_classes=10, in_channels=1)


def test_over_budget_design_is_never_built(monkeypatch: pytest.MonkeyPatch) -> None:
    import costmodel.torch_build

    def no_build(*_a: object) -> None:
        raise AssertionError("an over-budget design was built")

    monkeypatch.setattr(costmodel.torch_build, "build", no_build)
    fam = FAMILIES["cspdensenet"]
    design = Design("none", 0.0, 32)
    macs = analyze(expand(fam.config(design, 10, 1), 32)).totals.macs
    budget = macs * 2 / 1e6 / 2  # half the design's MFLOPs
    spec = SearchSpec(objectives=("accuracy", "macs"), max_mflops=budget)
    study, trial, evaluate = _study_with({"fusion": "none", "growth_rate": 32}, spec)
    attrs: dict = {}
    values = evaluate(study, trial, attrs)
    assert values == [0.0, macs]
    assert attrs["skipped"] == "over the mflops budget"
    assert "accuracy" not in attrs
    assert study.get_trials()[0].constraints["mflops"] == pytest.approx(2 * macs / 1e6 - budget)


def test_repeated_design_reuses_the_stored_result() -> None:
    spec = SearchSpec(objectives=("macs", "params"))
    params = {"fusion": "csp", "gamma": 0.5, "growth_rate": 8}
    study, first, evaluate = _study_with(params, spec)
    study.tell(first, evaluate(study, first, {}))
    study.enqueue_trial(params)
    second = study.ask()
    attrs: dict = {}
    assert evaluate(study, second, attrs) == list(study.trials[0].values)
    assert attrs["duplicate_of"] == 0


def test_unreachable_budget_is_refused_with_the_cheapest_design() -> None:
    fam = FAMILIES["cspdensenet"]
    cheapest = min(analyze(expand(fam.config(d, 10, 1), 32)).totals.macs for d in fam.designs())
    spec = SearchSpec(objectives=("macs",), max_mflops=2 * cheapest / 1e6 * 0.99)
    with pytest.raises(SpecError, match=r"no cspdensenet design at 32 px meets the budget"):
        _check_budget_reachable(spec, fam, 10, 1)
    _check_budget_reachable(replace_budget(spec, 2 * cheapest / 1e6), fam, 10, 1)


def replace_budget(spec: SearchSpec, mflops: float) -> SearchSpec:
    from dataclasses import replace

    return replace(spec, max_mflops=mflops)


# --- trial accounting and the Pareto front --------------------------------------------------------


def _trial(
    number: int, values: list[float], state: str = "COMPLETE", **attrs: object
) -> optuna.trial.FrozenTrial:
    t = optuna.trial.create_trial(
        state=optuna.trial.TrialState[state],
        values=values if state == "COMPLETE" else None,
        user_attrs={RESULT_ATTR: {"design": f"d{number}", **attrs}},
    )
    t.number = number
    return t


def test_pareto_front_by_hand() -> None:
    spec = SearchSpec(objectives=("accuracy", "macs"))
    trials = [
        _trial(0, [0.90, 100.0]),
        _trial(1, [0.95, 200.0]),
        _trial(2, [0.85, 150.0]),  # dominated by 0: less accurate and dearer
        _trial(3, [0.99, 50.0], skipped="over the mflops budget"),  # infeasible
        _trial(4, [0.90, 100.0], design="d0"),  # the same design again
    ]
    # best first objective (accuracy) first
    assert [t.number for t in pareto_trials(trials, spec)] == [1, 0]


def test_retried_failures_do_not_count_towards_the_target() -> None:
    failed = _trial(0, [], state="FAIL")
    retry = _trial(1, [0.9, 10.0])
    retry.system_attrs["retry_history"] = [0]
    assert _claimed([failed, retry, _trial(2, [], state="FAIL")]) == 2


# --- data -----------------------------------------------------------------------------------------


def test_npz_labels_and_shape(tmp_path: Path) -> None:
    x = np.zeros((6, 5, 5), dtype=np.uint8)
    x[:, 2, 2] = 255
    path = tmp_path / "d.npz"
    np.savez(path, x=x, y=np.array(["cat", "dog", "cat", "dog", "cat", "dog"]))
    d = load_dataset(str(path), 8)
    assert d.x.shape == (6, 1, 8, 8)
    assert d.classes == ("cat", "dog")
    assert d.y.tolist() == [0, 1, 0, 1, 0, 1]
    assert d.x.min() >= 0.0 and d.x.max() <= 1.0


def test_folder_of_class_folders(tmp_path: Path) -> None:
    from PIL import Image

    for label, value in (("a", 0), ("b", 200)):
        (tmp_path / label).mkdir()
        for i in range(3):
            Image.new("RGB", (12, 9), (value, i, 0)).save(tmp_path / label / f"{i}.png")
    d = load_dataset(str(tmp_path), 10)
    assert d.x.shape == (6, 3, 10, 10)
    assert d.y.tolist() == [0, 0, 0, 1, 1, 1]
    assert d.x[3:, 0].mean() == pytest.approx(200 / 255, abs=1e-3)


@pytest.mark.parametrize("kind", ["missing", "one-class-npz", "one-class-dir", "no-y"])
def test_bad_data(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "data.npz"
    if kind == "one-class-npz":
        np.savez(path, x=np.zeros((4, 4, 4)), y=np.zeros(4))
    elif kind == "no-y":
        np.savez(path, x=np.zeros((4, 4, 4)))
    elif kind == "one-class-dir":
        path = tmp_path / "imgs"
        (path / "only").mkdir(parents=True)
        from PIL import Image

        Image.new("L", (4, 4)).save(path / "only" / "0.png")
    with pytest.raises(SpecError, match=str(path)):
        load_dataset(str(path), 8)


def test_holdout_is_stratified() -> None:
    y = np.repeat(np.arange(3), 10)
    train, test = holdout_split(y, 0.2, seed=0)
    assert np.bincount(y[test]).tolist() == [2, 2, 2]  # 20 % of 10 per class
    assert len(train) == 30 - 6 and not set(train) & set(test)


# --- CLI bad input: one line, exit 2, the study untouched -----------------------------------------


def _one_line_error(result, match: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and match in lines[0], result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--objectives", "accuracy,speed"], "unknown objective 'speed'"),
        (["--family", "cspresnext"], "unknown family 'cspresnext'"),
        (["--max-params", "-5"], "--max-params -5.0 must be a non-negative"),
        (["--storage", "postgresql://u:secret@127.0.0.1:9/db"], "does not answer"),
        (["--data", "/no/such/dir"], "data '/no/such/dir' does not exist"),
        (["--devices", "tpu"], "device 'tpu' is not one of cpu, cuda"),
        (["--max-mflops", "0.001", "--data", "digits", "--input", "16"], "meets the budget"),
    ],
    ids=[
        "unknown-objective",
        "unknown-family",
        "negative-budget",
        "storage-down",
        "no-data",
        "unknown-device",
        "unreachable-budget",
    ],
)
def test_cli_bad_input(tmp_path: Path, args: list[str], match: str) -> None:
    storage = f"sqlite:///{tmp_path / 's.db'}"
    base = ["search", "--trials", "2", "--study", "fresh"]
    if "--storage" not in args:
        base += ["--storage", storage]
    result = runner.invoke(app, base + args)
    _one_line_error(result, match)
    assert "secret" not in result.output
    if "--storage" not in args and (tmp_path / "s.db").exists():
        assert optuna.get_all_study_names(storage) == []


def test_cli_cuda_absent_is_one_line(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = runner.invoke(
        app, ["search", "--devices", "cpu,cuda", "--storage", f"sqlite:///{tmp_path / 's.db'}"]
    )
    _one_line_error(result, "torch.cuda.is_available() is False")


def test_bad_input_leaves_an_existing_study_untouched(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(study_name="kept", storage=storage, directions=["maximize"])
    study.set_user_attr(SPEC_ATTR, SearchSpec(objectives=("accuracy",)).to_attrs())
    study.add_trial(optuna.trial.create_trial(value=0.5))
    for args in (
        ["--resume", "--epochs", "5"],
        ["--objectives", "cio"],
        ["--resume", "--objectives", "nope"],
    ):
        result = runner.invoke(app, ["search", "--study", "kept", "--storage", storage, *args])
        assert result.exit_code == 2, result.output
    again = optuna.load_study(study_name="kept", storage=storage)
    assert [(t.number, t.value) for t in again.trials] == [(0, 0.5)]
    assert again.user_attrs == study.user_attrs


# --- report ---------------------------------------------------------------------------------------


def test_report_frame_table_html_and_plot() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from reports.search_report import pareto_html, pareto_plot, render_pareto, trials_frame
    from search.results import trial_rows

    trials = [
        _trial(0, [0.90, 100.0], mflops=0.2, params=1000, cio=5000, accuracy=0.90),
        _trial(1, [0.95, 200.0], mflops=0.4, params=2000, cio=9000, accuracy=0.95),
        _trial(2, [0.85, 150.0], mflops=0.3, params=1500, cio=7000, accuracy=0.85),
    ]
    spec = SearchSpec(objectives=("accuracy", "macs"))
    frame = trials_frame(trial_rows(trials, pareto_trials(trials, spec)))
    assert frame["pareto"].tolist() == [True, True, False]
    assert frame["feasible"].all()
    text = render_pareto(frame)
    assert "d0" in text and "d1" in text and "d2" not in text
    assert "1,000" in text and "0.9500" in text
    html = pareto_html(frame)
    assert html.count("<tr>") == 2  # the two Pareto rows (the header row carries a style)
    ax = pareto_plot(frame)
    assert ax.get_xlabel().startswith("MFLOPs") and ax.get_ylabel() == "held-out accuracy"
    front = next(line for line in ax.get_lines() if line.get_label() == "Pareto front")
    assert list(front.get_xdata()) == [0.2, 0.4]  # joined in order of cost


def test_search_section_of_the_html_report() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from reports.html import Page
    from reports.search_report import add_search_section
    from search.spec import SearchResult

    spec = SearchSpec(objectives=("accuracy", "macs"), max_mflops=1.0)
    trials = [
        _trial(0, [0.90, 100.0], mflops=0.2, params=1000, cio=5000, accuracy=0.90),
        _trial(1, [0.95, 200.0], mflops=0.4, params=2000, cio=9000, accuracy=0.95),
        _trial(2, [0.85, 150.0], mflops=0.3, params=1500, cio=7000, accuracy=0.85),
    ]
    page = Page()
    add_search_section(
        page, SearchResult("s1", "sqlite:///x.db", spec, 3, trials, pareto_trials(trials, spec))
    )
    assert page.sections == [("search", "Search: study s1")]
    body = "\n".join(page.body)
    assert "budgets: mflops ≤ 1" in body and "3 trials, 3 feasible" in body
    assert body.count("<tr>") == 1 + 2  # header and the two Pareto rows
    assert {"plots/search-pareto.png", "data/search_trials.csv"} <= set(page.files)
    assert page.files["data/search_trials.csv"].decode().count("\n") == 1 + 3  # header + trials


def test_nan_loss_is_a_trial_error() -> None:
    import torch

    from search.data import Dataset
    from search.train import TrainSettings, TrialError, train_and_score

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    torch.nn.init.constant_(model[1].weight, math.nan)
    data = Dataset(np.zeros((10, 1, 2, 2), np.float32), np.array([0, 1] * 5), ("a", "b"), "t")
    with pytest.raises(TrialError, match="training diverged: loss is nan"):
        train_and_score(model, data, TrainSettings(epochs=1))
