"""Fast checks of the search: space, spec validation, budgets before building, data, Pareto, CLI
input."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
from typer.testing import CliRunner

from cli import app
from costmodel import SpecError, analyze, expand
from costmodel.specs import load_network, parse_spec
from search.data import load_dataset
from search.exact import check_budget_reachable, exact_front
from search.front import pareto_trials
from search.results import RESULT_ATTR, result_of
from search.space import Design, Space, base, design_costs, suggest
from search.spec import SPEC_ATTR, SearchSpec
from search.storage import normalize_url
from search.train import holdout_split
from search.workers import DesignSampler, taken

optuna.logging.set_verbosity(optuna.logging.WARNING)
runner = CliRunner()


# --- space ----------------------------------------------------------------------------------------

ONE = {"depth": 1.0, "width": 1.0}


def test_fusion_none_never_asks_gamma() -> None:
    space = Space(base("tinydensenet"))
    trial = optuna.trial.FixedTrial({"fusion": "none", "growth_rate": 8, **ONE})
    d = suggest(trial, space)
    assert (d.fusion, d.gamma, d.growth_rate) == ("none", 0.0, 8)
    trial = optuna.trial.FixedTrial({"fusion": "csp", "gamma": 0.75, "growth_rate": 8, **ONE})
    assert suggest(trial, space).gamma == 0.75


@pytest.mark.parametrize(
    ("word", "multipliers", "size"),
    [
        # none has one γ (0); the three CSP fusions take every γ; DenseNet-121's k = 32 gives k × 0.5…1.5
        ("densenet121", False, (1 + 3 * 3) * 5),
        ("densenet201", True, (1 + 3 * 3) * 5 * 3 * 3),
        ("cspresnet50", False, 1 + 3 * 3),  # no growth rate, no width
        ("cspresnet50", True, (1 + 3 * 3) * 3),  # depth only
    ],
    ids=["densenet121", "densenet201-full", "cspresnet50", "cspresnet50-depths"],
)
def test_space_size(word: str, multipliers: bool, size: int) -> None:
    spec = SearchSpec(base=word, objectives=("macs",), multipliers=multipliers)
    assert spec.space.size == size == len(set(spec.space.designs()))


def test_default_growth_rates_surround_the_base_k() -> None:
    assert base("densenet121").growth_rates() == (16, 24, 32, 40, 48)  # 32 × 0.5, 0.75, 1, 1.25, 1.5
    assert base("peleenet").growth_rates() == (16, 24, 32, 40, 48)
    assert base("cspresnet50").growth_rates() == ()


def test_multipliers_scale_depth_and_width() -> None:
    toy = base("tinydensenet")  # blocks (2, 4, 4), 16 stem channels
    cfg = toy.config_of(Design("csp", 0.5, 12, depth=1.5, width=0.5), num_classes=7, in_channels=3)
    assert cfg.block_config == (3, 6, 6)  # 2·1.5, 4·1.5, 4·1.5
    assert cfg.num_init_features == 8  # 16·0.5
    assert (cfg.num_classes, cfg.in_channels, cfg.part_ratio, cfg.fusion) == (7, 3, 0.5, "csp")


def test_deployed_costs_are_the_named_models() -> None:
    """The search's costs of a design equal the engine's costs of the same named model and knobs."""
    d121 = base("densenet121")
    design = Design("csp", 0.5, 24, 0.5, 1.0)
    mine = design_costs(d121.deployed(design), 224)
    spec = parse_spec("densenet121:gamma=0.5,fusion=csp,growth_rate=24,depth=0.5,input=224")
    assert mine["macs"] == analyze(load_network(spec)).totals.macs
    assert spec == d121.spec_of(design, 224)


@pytest.mark.parametrize(
    ("given", "match"),
    [
        ({"base": "cspdensnet201"}, "unknown model 'cspdensnet201'; did you mean cspdensenet201"),
        ({"base": "cspresnet50", "growth_rates": (16,)}, "--growth-rates does not apply to cspresnet50"),
        ({"base": "densenet121", "gammas": (0.5, 1.0)}, "--gammas holds 1, outside"),
        ({"base": "peleenet", "growth_rates": (15,)}, "needs even growth rates"),
    ],
    ids=["unknown-base", "growth-rate-on-resnet", "gamma-one", "odd-peleenet-k"],
)
def test_bad_base_or_grid(given: dict, match: str) -> None:
    with pytest.raises(SpecError, match=re.escape(match)):
        SearchSpec(objectives=("macs",), **given)


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
        ({"base": "resnet"}, "unknown model"),
    ],
    ids=[
        "unknown-objective",
        "repeated-objective",
        "no-objective",
        "negative-budget",
        "nan-budget",
        "zero-epochs",
        "unknown-base",
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


def _feasible_by_hand(spec: SearchSpec) -> list[Design]:
    budgets = spec.budgets()
    return [
        d
        for d in spec.space.designs()
        if all(
            design_costs(spec.space.base.deployed(d), spec.deploy_input)[k] <= v for k, v in budgets.items()
        )
    ]


def test_sampler_proposes_only_feasible_unmeasured_designs() -> None:
    """The sampler's proposals: every feasible design once, never an over-budget one, then none
    left (the worker's callback stops the study there)."""
    macs = sorted(
        design_costs(base("tinydensenet").deployed(d), 32)["mflops"]
        for d in Space(base("tinydensenet")).designs()
    )
    spec = SearchSpec(objectives=("accuracy", "macs"), max_mflops=macs[len(macs) // 3])
    feasible = _feasible_by_hand(spec)
    assert 0 < len(feasible) < spec.space.size
    sampler = DesignSampler(feasible, seed=0)
    study = optuna.create_study(directions=spec.directions, sampler=sampler)
    seen = []
    while sampler.free(study):
        trial = study.ask()
        seen.append(suggest(trial, spec.space))
        study.tell(trial, [0.5, 1.0])
    assert sorted(seen, key=str) == sorted(feasible, key=str)  # each feasible design exactly once


def test_an_interrupted_design_is_free_again_an_erroneous_one_is_not() -> None:
    """``taken``: a failure with an error is a result (its design is not tried again); a failure
    without one (Ctrl-C, a dead worker) is not, unless retried ``MAX_RETRY`` times or queued."""
    from search.storage import MAX_RETRY

    def trial(state: str, params: dict, **attrs: object) -> optuna.trial.FrozenTrial:
        t = optuna.trial.create_trial(
            state=optuna.trial.TrialState[state],
            values=[0.5, 1.0] if state == "COMPLETE" else None,
            params=params,
            distributions={k: optuna.distributions.CategoricalDistribution([v]) for k, v in params.items()},
            user_attrs=attrs,
        )
        return t

    a, b, c, d = ({"fusion": f, **ONE} for f in ("none", "csp", "fusion_first", "fusion_last"))
    done = trial("COMPLETE", a)
    interrupted = trial("FAIL", b)
    erroneous = trial("FAIL", c, error="TrialError: training diverged")
    worn_out = trial("FAIL", d)
    worn_out.system_attrs["retry_history"] = list(range(MAX_RETRY))
    duplicate = trial("FAIL", b, duplicate_of=0)
    key = lambda p: tuple(sorted(p.items()))  # noqa: E731
    assert taken([done, interrupted, erroneous, worn_out, duplicate]) == {key(a), key(c), key(d)}
    queued = optuna.trial.create_trial(state=optuna.trial.TrialState.WAITING)
    queued.system_attrs["fixed_params"] = b
    assert key(b) in taken([interrupted, queued])


def test_unreachable_budget_is_refused_with_the_cheapest_design() -> None:
    toy = base("tinydensenet")
    points = Space(toy).points(32)
    cheapest = min(analyze(expand(toy.deployed(d), 32)).totals.macs for d in Space(toy).designs())
    spec = SearchSpec(objectives=("macs",), max_mflops=2 * cheapest / 1e6 * 0.99)
    with pytest.raises(SpecError, match=r"no design of tinydensenet at 32 px meets the budget"):
        check_budget_reachable(spec, points)
    assert check_budget_reachable(replace_budget(spec, 2 * cheapest / 1e6), points)


def test_exact_front_equals_a_brute_force_front() -> None:
    spec = SearchSpec(base="densenet121", objectives=("macs", "cio"), max_mflops=3000.0)
    result = exact_front(spec)
    rows = [(d, design_costs(spec.space.base.deployed(d), 224)) for d in _feasible_by_hand(spec)]
    front = {
        d.label
        for d, c in rows
        if not any(
            o["macs"] <= c["macs"] and o["cio"] <= c["cio"] and (o["macs"], o["cio"]) != (c["macs"], c["cio"])
            for _, o in rows
        )
    }
    assert {result_of(t)["design"] for t in result.pareto} == front
    assert len(result.trials) == len(rows)  # over-budget designs are not trials


def test_each_onnx_export_is_announced_before_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The export of the front takes seconds per design: a line per file, before its export."""
    import types

    from search.designs import front_designs, front_files

    spec = SearchSpec(base="tinydensenet", objectives=("macs", "cio"))
    front = front_designs(exact_front(spec))
    assert len(front) > 1
    events: list[str] = []
    fake = types.ModuleType("search.export")
    fake.export_onnx = lambda network: events.append("export") or b"onnx"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "search.export", fake)  # no torch in the fast tier
    files = front_files(front, progress=lambda i, name: events.append(f"{i} {name}"))
    names = [f"{d.stem}.onnx" for d in front]
    assert events == [e for i, name in enumerate(names, 1) for e in (f"{i} {name}", "export")]
    assert all(files[name] == b"onnx" for name in names)


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


def test_tie_rule_of_the_front_by_hand() -> None:
    """Accuracies whose 95% intervals overlap are a tie, so the cheaper design dominates."""
    spec = SearchSpec(objectives=("accuracy", "macs"))
    trials = [
        _trial(0, [0.95, 200.0], accuracy_ci95=0.02),  # [0.93, 0.97]
        _trial(1, [0.94, 100.0], accuracy_ci95=0.02),  # [0.92, 0.96]: tied with 0, cheaper
        _trial(2, [0.80, 50.0], accuracy_ci95=0.01),  # [0.79, 0.81]: worse, but cheapest
        _trial(3, [0.99, 300.0], accuracy_ci95=0.005),  # [0.985, 0.995]: better than all beyond noise
    ]
    # 1 dominates 0 (tied accuracy, half the MACs); 2 and 3 are each best on one objective
    assert [t.number for t in pareto_trials(trials, spec)] == [3, 1, 2]
    # without intervals (one seed) the usual front: 0 is more accurate than 1, so it stays
    plain = [_trial(t.number, list(t.values)) for t in trials]
    assert [t.number for t in pareto_trials(plain, spec)] == [3, 0, 1, 2]


def test_front_without_intervals_is_optunas_best_trials() -> None:
    """With no interval the tie rule is plain Pareto dominance: ``Study.best_trials`` agrees."""
    rng = np.random.default_rng(0)
    spec = SearchSpec(objectives=("accuracy", "macs", "params"))
    study = optuna.create_study(directions=spec.directions)
    for i in range(60):
        values = [float(rng.integers(0, 8)) / 8, float(rng.integers(1, 9)), float(rng.integers(1, 9))]
        study.add_trial(optuna.trial.create_trial(values=values, user_attrs={"design": f"d{i}"}))
    ours = {t.number for t in pareto_trials(study.trials, spec)}
    assert ours == {t.number for t in study.best_trials}


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
        (["--base", "cspresnext"], "unknown model 'cspresnext'"),
        (["--base", "cspresnet50", "--growth-rates", "16,32"], "--growth-rates does not apply"),
        (["--base", "densenet121", "--gammas", "0.5,1.5"], "outside [0, 1)"),
        (["--base", "nosuch.json"], "design file nosuch.json does not exist"),
        (["--max-params", "-5"], "--max-params -5.0 must be a non-negative"),
        (["--storage", "postgresql://u:secret@127.0.0.1:9/db"], "does not answer"),
        (["--data", "/no/such/dir"], "data '/no/such/dir' does not exist"),
        (["--devices", "tpu"], "device 'tpu' is not one of cpu, cuda"),
        (["--max-mflops", "0.001", "--data", "digits", "--input", "16"], "meets the budget"),
        (["--seeds", "0"], "--seeds 0 must be an integer from 1 to 30"),
        (["--seeds", "31"], "--seeds 31 must be an integer from 1 to 30"),
    ],
    ids=[
        "unknown-objective",
        "unknown-base",
        "growth-rate-on-resnet",
        "gamma-grid",
        "missing-design-file",
        "negative-budget",
        "storage-down",
        "no-data",
        "unknown-device",
        "unreachable-budget",
        "zero-seeds",
        "too-many-seeds",
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
        ["--objectives", "accuracy,cio"],
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
    from reports.search_report import pareto_html, pareto_plot, trials_frame
    from reports.search_text import render_pareto
    from search.results import trial_rows

    trials = [
        _trial(0, [0.90, 100.0], mflops=0.2, params=1000, cio=5000, accuracy=0.90),
        _trial(1, [0.95, 200.0], mflops=0.4, params=2000, cio=9000, accuracy=0.95),
        _trial(2, [0.85, 150.0], mflops=0.3, params=1500, cio=7000, accuracy=0.85),
    ]
    spec = SearchSpec(objectives=("accuracy", "macs"))
    rows = trial_rows(trials, pareto_trials(trials, spec))
    frame = trials_frame(rows)
    assert frame["pareto"].tolist() == [True, True, False]
    assert frame["feasible"].all()
    text = render_pareto(rows)
    assert "d0" in text and "d1" in text and "d2" not in text
    assert "1,000" in text and "0.9500" in text
    html = pareto_html(frame)
    assert html.count("<tr>") == 2  # the two Pareto rows (the header row carries a style)
    ax = pareto_plot(frame)
    assert ax.get_xlabel().startswith("MFLOPs") and ax.get_ylabel() == "validation accuracy, mean over seeds"
    front = next(line for line in ax.get_lines() if line.get_label() == "Pareto front")
    assert list(front.get_xdata()) == [0.2, 0.4]  # joined in order of cost


def test_the_plot_tells_designs_halving_stopped_from_over_budget_ones() -> None:
    """A design stopped by halving is not over any budget: it gets its own open marker at the
    accuracy it reached, and the red crosses keep only the over-budget and failed ones."""
    import matplotlib

    matplotlib.use("Agg")
    from reports.search_report import pareto_plot, trials_frame
    from search.results import trial_rows

    spec = SearchSpec(objectives=("accuracy", "macs"), max_mflops=1.0)
    trials = [
        _trial(0, [0.90, 100.0], mflops=0.2, accuracy=0.90),
        _trial(1, [], "PRUNED", mflops=0.3, accuracy=0.80, halted="rung 1 of 4"),
        _trial(2, [], "PRUNED", mflops=0.5, accuracy=0.70, skipped="over the latency budget"),
    ]
    ax = pareto_plot(trials_frame(trial_rows(trials, pareto_trials(trials, spec))))
    points = {c.get_label(): c.get_offsets().tolist() for c in ax.collections}
    assert points["stopped early by halving (accuracy it reached)"] == [[0.3, 0.8]]
    assert points["over budget / failed"] == [[0.5, 0.7]]
    assert points["feasible"] == [[0.2, 0.9]]


def test_the_plot_reads_counts_in_si_units_and_names_an_exact_front() -> None:
    """A CIO axis in the tens of millions reads "12 M" at its ticks, not 1.2 beside a "1e7" in the
    corner; the exact front of a cost-only search is titled as such, not as a study it never was."""
    import matplotlib

    matplotlib.use("Agg")
    from reports.search_report import pareto_plot, resolutions_title, trials_frame
    from search.exact import exact_front
    from search.results import trial_rows

    spec = SearchSpec(objectives=("macs", "cio"))
    trials = [
        _trial(0, [1.0, 11_000_000.0], mflops=1400.0, cio=11_000_000, params=5_000_000),
        _trial(1, [2.0, 16_000_000.0], mflops=2800.0, cio=16_000_000, params=7_000_000),
    ]
    ax = pareto_plot(trials_frame(trial_rows(trials, pareto_trials(trials, spec))), "mflops", "cio")
    ticks = ax.yaxis.get_major_formatter().format_ticks([10_000_000, 12_500_000, 15_000_000])
    assert ticks == ["10 M", "12.5 M", "15 M"]  # 10·10⁶, 12.5·10⁶, 15·10⁶
    assert ax.yaxis.get_offset_text().get_text() == ""
    exact = exact_front(SearchSpec(objectives=("macs", "params")))
    assert exact.exact and "exact front of the enumeration" in resolutions_title(exact.spec, None)
    assert "study s" in resolutions_title(spec, "s")


def test_a_cost_only_search_is_summarised_as_designs_not_as_a_study() -> None:
    from reports.search_text import summary_line
    from search.exact import exact_front

    spec = SearchSpec(objectives=("macs", "params"))
    n = len(list(spec.space.designs()))  # no budget: every design of the space is costed
    line = summary_line(exact_front(spec))
    expected = f"cost-only search of tinydensenet: {n} designs within the budget, each costed exactly; "
    assert line == expected + "no study stored"


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
    from search.train import Trainer, TrainSettings, TrialError, split_data

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    torch.nn.init.constant_(model[1].weight, math.nan)
    data = Dataset(np.zeros((10, 1, 2, 2), np.float32), np.array([0, 1] * 5), ("a", "b"), "t")
    trainer = Trainer(model, data, split_data(data.y), TrainSettings())
    with pytest.raises(TrialError, match="training diverged: loss is nan"):
        trainer.advance(1)


# --- measurements: rungs, the time estimate, the rank correlations ---------------------------------


@pytest.mark.parametrize(
    ("epochs", "halving", "rungs"),
    [
        (4, True, (1, 2, 4)),
        (5, True, (1, 2, 4, 5)),
        (1, True, (1,)),
        (8, True, (1, 2, 4, 8)),
        (4, False, (4,)),
    ],
    ids=["4", "5", "1", "8", "no-halving"],
)
def test_rungs_double_up_to_the_epochs(epochs: int, halving: bool, rungs: tuple[int, ...]) -> None:
    assert SearchSpec(epochs=epochs, halving=halving).rungs == rungs


def test_seed_list_is_consecutive_from_the_seed() -> None:
    assert SearchSpec(seed=7, seeds=3).seed_list == (7, 8, 9)
    assert SearchSpec(seed=2**32 - 1, seeds=2).seed_list == (2**32 - 1, 0)  # wraps within 32 bits


def test_estimate_is_trials_left_times_seeds_epochs_and_seconds_per_epoch() -> None:
    from search.workers import snapshot

    spec = SearchSpec(seeds=3, epochs=4)
    trials = [
        _trial(0, [0.9, 100.0], seconds_per_epoch=2.0),
        _trial(1, [0.8, 50.0], seconds_per_epoch=6.0),
        _trial(2, [0.7, 40.0], seconds_per_epoch=3.0),
    ]
    for t in trials:  # ``snapshot`` reads the attributes the evaluator writes, one each
        t.user_attrs.update(t.user_attrs.pop(RESULT_ATTR))
    # 12 wanted, 3 finished: 9 left × 3 seeds × 4 epochs × the median 3.0 s per epoch
    assert snapshot(trials, spec, target=12).estimate == 9 * 3 * 4 * 3.0


def test_rank_correlations_of_latency_against_costs_by_hand() -> None:
    from search.final import rank_correlations

    def timed(n: int, macs: float, cio: float, ort: float, eager: float) -> optuna.trial.FrozenTrial:
        t = _trial(n, [0.9, macs])
        t.user_attrs.update(
            design=f"d{n}", macs=macs, cio=cio, latency_ms=ort, eager_torch_ms=eager, latency_runtime="ort"
        )
        return t

    trials = [
        timed(0, 10, 400, 1.0, 9.0),
        timed(1, 20, 300, 2.0, 7.0),
        timed(2, 30, 200, 4.0, 8.0),
        timed(3, 40, 100, 3.0, 6.0),
    ]
    rho = rank_correlations(trials)
    # ranks of MACs 1 2 3 4; ORT 1 2 4 3: d² = 0+0+1+1 = 2, ρ = 1 − 6·2/(4·15) = 0.8
    assert rho["ort vs macs"] == pytest.approx(0.8)
    # CIO ranks 4 3 2 1 against ORT 1 2 4 3: d² = 9+1+4+4 = 18, ρ = 1 − 6·18/60 = −0.8
    assert rho["ort vs cio"] == pytest.approx(-0.8)
    # eager ranks 4 2 3 1 against MACs 1 2 3 4: d² = 9+0+0+9 = 18, ρ = −0.8
    assert rho["eager torch vs macs"] == pytest.approx(-0.8)
    assert rho["designs"] == 4
    assert rank_correlations(trials[:2]) == {}  # two designs rank nothing


def test_a_claim_of_a_design_another_trial_holds_is_a_duplicate() -> None:
    """Two workers that pick one design at the same moment: the objective's check after suggesting
    finds the other trial, so the later claim is dropped before anything is measured."""
    from search.workers import _duplicate

    space = Space(base("tinydensenet"))
    study = optuna.create_study(directions=["maximize", "minimize"])
    design = {"fusion": "csp", "gamma": 0.5, "growth_rate": 8, **ONE}
    study.enqueue_trial(design)
    study.enqueue_trial(design)
    first, second = study.ask(), study.ask()
    suggest(first, space)
    suggest(second, space)
    assert _duplicate(second) == first.number  # the first is running
    assert _duplicate(first) == second.number  # and each sees the other: both are dropped
    study.tell(first, [0.9, 1.0])
    study.enqueue_trial({"fusion": "none", "growth_rate": 8, **ONE})
    other = study.ask()
    suggest(other, space)
    assert _duplicate(other) is None  # another design
