"""Fast checks of the search: space, spec validation, budgets before building, data, Pareto, CLI
input."""

from __future__ import annotations

import math
import random
import re
from pathlib import Path

import numpy as np
import optuna
import pytest
from typer.testing import CliRunner

from cli import app
from costmodel import SpecError, analyze, expand
from costmodel.specs import load_network, parse_spec
from search.data import load_dataset
from search.front import pareto_trials
from search.results import RESULT_ATTR, result_of
from search.space import Design, Space, base, design_costs, suggest
from search.spec import SPEC_ATTR, SearchSpec
from search.storage import normalize_url
from search.study import _check_budget_reachable, exact_front
from search.train import holdout_split
from search.workers import _claim, _claimed

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


def test_claims_only_feasible_unmeasured_designs() -> None:
    """A worker's claims: every feasible design once, never an over-budget one, then done."""
    macs = sorted(
        design_costs(base("tinydensenet").deployed(d), 32)["mflops"]
        for d in Space(base("tinydensenet")).designs()
    )
    spec = SearchSpec(objectives=("accuracy", "macs"), max_mflops=macs[len(macs) // 3])
    feasible = _feasible_by_hand(spec)
    assert 0 < len(feasible) < spec.space.size
    study = optuna.create_study(directions=spec.directions)
    rng = random.Random(0)
    seen = []
    while (trial := _claim(study, 100, feasible, rng)) not in (None, True):
        assert isinstance(trial, optuna.Trial)
        seen.append(suggest(trial, spec.space))
        study.tell(trial, [0.5, 1.0])
    assert sorted(seen, key=str) == sorted(feasible, key=str)  # each feasible design exactly once


def test_unreachable_budget_is_refused_with_the_cheapest_design() -> None:
    toy = base("tinydensenet")
    points = Space(toy).points(32)
    cheapest = min(analyze(expand(toy.deployed(d), 32)).totals.macs for d in Space(toy).designs())
    spec = SearchSpec(objectives=("macs",), max_mflops=2 * cheapest / 1e6 * 0.99)
    with pytest.raises(SpecError, match=r"no design of tinydensenet at 32 px meets the budget"):
        _check_budget_reachable(spec, points)
    assert _check_budget_reachable(replace_budget(spec, 2 * cheapest / 1e6), points)


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
        (["--base", "cspresnext"], "unknown model 'cspresnext'"),
        (["--base", "cspresnet50", "--growth-rates", "16,32"], "--growth-rates does not apply"),
        (["--base", "densenet121", "--gammas", "0.5,1.5"], "outside [0, 1)"),
        (["--base", "nosuch.json"], "design file nosuch.json does not exist"),
        (["--max-params", "-5"], "--max-params -5.0 must be a non-negative"),
        (["--storage", "postgresql://u:secret@127.0.0.1:9/db"], "does not answer"),
        (["--data", "/no/such/dir"], "data '/no/such/dir' does not exist"),
        (["--devices", "tpu"], "device 'tpu' is not one of cpu, cuda"),
        (["--max-mflops", "0.001", "--data", "digits", "--input", "16"], "meets the budget"),
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
