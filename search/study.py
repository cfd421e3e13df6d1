"""The search: an Optuna study over a CSP family's γ, growth rate and fusion strategy, under a
budget.

The CSPNet paper (Wang et al., CVPRW 2020) picks γ = 0.5 and the ``csp`` fusion by ablation (Table 1
and Figure 3). This module runs that ablation as a search, with the user's objectives and budget.
Inside a trial the order is fixed so that money is spent last:

1. analytic costs (``costmodel.analyze(expand(config, size))``, microseconds): a design over a
   MFLOPs, params or CIO budget is recorded as infeasible and never built, timed or trained;
2. measured latency on each target device (only when latency is an objective or has a budget): a
   design over the latency budget is never trained;
3. a short seeded training run (only when accuracy is an objective).

Budgets are Optuna ≥ 5 constraints (``trial.set_constraint``: value − budget, feasible when ≤ 0).
Workers claim trials under a lock (``search.storage``), so a study ends with exactly the requested
number of finished trials, and a killed worker's trial is retried. A design already evaluated in the
study is never evaluated again: its trial reuses the stored result.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import socket
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from costmodel import Config, Network, SpecError, analyze, expand
from costmodel.derived import mflops
from search.data import Dataset
from search.results import RESULT_ATTR, TrialRow, is_feasible, result_of, trial_rows
from search.space import Design, Family, family, suggest
from search.storage import (
    HEARTBEAT_S,
    check_exists,
    check_study_name,
    claim_lock,
    heartbeat,
    masked,
    normalize_url,
    open_storage,
)

__all__ = [
    "BUDGETS",
    "OBJECTIVES",
    "SearchResult",
    "SearchSpec",
    "Snapshot",
    "explain_infeasible",
    "is_feasible",
    "load_result",
    "pareto_trials",
    "prepare_study",
    "result_of",
    "run_search",
    "run_worker",
    "snapshot",
]

SPEC_ATTR = "cspcost.spec"

OBJECTIVES: dict[str, str] = {
    "accuracy": "maximize",
    "macs": "minimize",
    "params": "minimize",
    "cio": "minimize",
    "latency": "minimize",
}
"""Objective name → direction. ``latency`` is the median on the first device, in ms."""

BUDGETS: dict[str, str] = {
    "max_mflops": "mflops",
    "max_params": "params",
    "max_cio": "cio",
    "max_latency_ms": "latency_ms",
}
"""Budget field → the trial attribute it bounds (``mflops`` is 2·MACs/1e6 at batch 1)."""

FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)

SEED_MAX = 2**32 - 1
"""NumPy's seeds (Optuna's samplers) are 32-bit."""


@dataclass(frozen=True)
class SearchSpec:
    """What a study searches and how it scores a design; stored with the study so that a resumed
    study (or a worker on another machine) evaluates exactly the same way."""

    family: str = "cspdensenet"
    objectives: tuple[str, ...] = ("accuracy", "macs")
    max_mflops: float | None = None
    max_params: float | None = None
    max_cio: float | None = None
    max_latency_ms: float | None = None
    data: str = "mnist"
    input_size: int = 32
    epochs: int = 2
    devices: tuple[str, ...] = ("cpu",)
    multipliers: bool = False
    seed: int = 0
    latency_batch: int = 1

    def __post_init__(self) -> None:
        if not self.objectives:
            raise SpecError(f"no objective given; pick from {', '.join(OBJECTIVES)}")
        for name in self.objectives:
            if name not in OBJECTIVES:
                raise SpecError(
                    f"unknown objective {name!r}; pick from {', '.join(OBJECTIVES)} "
                    f"(e.g. --objectives accuracy,macs)"
                )
        if len(set(self.objectives)) != len(self.objectives):
            raise SpecError(f"objectives {','.join(self.objectives)} repeat a name; list each once")
        family(self.family)
        for budget in BUDGETS:
            value = getattr(self, budget)
            if value is not None and (not math.isfinite(value) or value < 0):
                flag = "--" + budget.replace("_", "-")
                raise SpecError(f"{flag} {value} must be a non-negative number (an upper bound)")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= SEED_MAX:
            raise SpecError(f"--seed {self.seed!r} must be an integer from 0 to {SEED_MAX} (2**32 - 1)")
        for name, least in (("epochs", 1), ("input_size", 1), ("latency_batch", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise SpecError(f"{name} = {value!r} must be an integer ≥ {least}")

    @property
    def directions(self) -> list[Any]:
        return [OBJECTIVES[o] for o in self.objectives]

    @property
    def trains(self) -> bool:
        return "accuracy" in self.objectives

    @property
    def times(self) -> bool:
        return "latency" in self.objectives or self.max_latency_ms is not None

    def budgets(self) -> dict[str, float]:
        """Trial attribute → upper bound, for the budgets that are set."""
        return {attr: getattr(self, b) for b, attr in BUDGETS.items() if getattr(self, b) is not None}

    def to_attrs(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_attrs(cls, attrs: dict[str, Any]) -> SearchSpec:
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in attrs.items() if k in known
        }
        return cls(**values)


@dataclass(frozen=True)
class Snapshot:
    """Where a study stands: finished trials against the target, and the best feasible designs
    (the Pareto front so far, best first objective first)."""

    finished: int
    target: int
    running: int
    feasible: int
    best: str


@dataclass(frozen=True)
class SearchResult:
    study_name: str
    storage: str
    spec: SearchSpec
    requested: int
    trials: list[FrozenTrial]
    pareto: list[FrozenTrial]
    worker_exits: tuple[int, ...] = ()
    notes: list[str] = field(default_factory=list)

    def count(self, *states: TrialState) -> int:
        return sum(t.state in states for t in self.trials)

    @property
    def feasible(self) -> list[FrozenTrial]:
        return [t for t in self.trials if is_feasible(t)]

    def rows(self) -> list[TrialRow]:
        """Every trial as a typed row, with its place on the Pareto front."""
        return trial_rows(self.trials, self.pareto)


# --- trial accounting -----------------------------------------------------------------------------


def _superseded(trials: Sequence[FrozenTrial]) -> set[int]:
    """Numbers of failed trials that a retry replaced."""
    out: set[int] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        for t in trials:
            out.update(RetryHeartbeatStaleTrialCallback.retry_history(t))
    return out


def _claimed(trials: Sequence[FrozenTrial]) -> int:
    """Trials that count towards the target: finished, running or queued, minus retried failures."""
    gone = _superseded(trials)
    return sum(t.state != TrialState.FAIL or t.number not in gone for t in trials)


def _claim(study: optuna.Study, target: int) -> tuple[optuna.Trial | bool | None, list[FrozenTrial]]:
    """A new trial, ``True`` to wait for running trials of other workers, or ``None`` when done;
    with the study's trials as they were at the claim."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    trials = study.get_trials(deepcopy=False)
    waiting = any(t.state == TrialState.WAITING for t in trials)
    if waiting or _claimed(trials) < target:
        trial = study.ask()
        study._storage.record_heartbeat(trial._trial_id)  # type: ignore[attr-defined]
        return trial, trials
    return (True if any(t.state == TrialState.RUNNING for t in trials) else None), trials


def snapshot(trials: Sequence[FrozenTrial], spec: SearchSpec, target: int) -> Snapshot:
    gone = _superseded(trials)
    finished = sum(t.state in FINISHED and t.number not in gone for t in trials)
    running = sum(t.state == TrialState.RUNNING for t in trials)
    good = [t for t in trials if is_feasible(t)]
    front = pareto_trials(good, spec)
    shown = "; ".join(
        f"{result_of(t).get('design', '?')}: "
        + ", ".join(_describe(o, v) for o, v in zip(spec.objectives, t.values, strict=True))
        for t in front[:2]
    )
    best = (
        (f"front {len(front)}: {shown}" + (" …" if len(front) > 2 else ""))
        if front
        else "no feasible design yet"
    )
    return Snapshot(finished, target, running, len(good), best)


def _describe(objective: str, value: float) -> str:
    if objective == "accuracy":
        return f"acc {value:.3f}"
    if objective == "macs":
        return f"{2 * value / 1e6:.3g} MFLOPs"
    if objective == "latency":
        return f"{value:.3g} ms"
    return f"{objective} {value:,.0f}"


def pareto_trials(trials: Sequence[FrozenTrial], spec: SearchSpec) -> list[FrozenTrial]:
    """Feasible trials that no other feasible trial dominates, one per design, best first."""
    good: dict[str, FrozenTrial] = {}
    for t in trials:
        if is_feasible(t):
            good.setdefault(result_of(t).get("design", str(t.params)), t)
    signs = [1.0 if d == "minimize" else -1.0 for d in spec.directions]

    def key(t: FrozenTrial) -> list[float]:
        return [s * v for s, v in zip(signs, t.values, strict=True)]

    def dominates(a: list[float], b: list[float]) -> bool:
        pairs = list(zip(a, b, strict=True))
        return all(x <= y for x, y in pairs) and any(x < y for x, y in pairs)

    keys = {n: key(t) for n, t in good.items()}
    front = [t for n, t in good.items() if not any(dominates(keys[m], keys[n]) for m in good if m != n)]
    return sorted(front, key=key)


# --- one trial ------------------------------------------------------------------------------------


def design_costs(config: Config, size: int) -> tuple[Network, dict[str, float]]:
    """The network of ``config`` at ``size`` px and its analytic costs at batch 1."""
    network = expand(config, size)
    t = analyze(network).totals
    return network, {"macs": t.macs, "mflops": mflops(t), "params": t.params, "cio": t.cio_conv_pool}


class Evaluator:
    """Scores one trial: analytic costs, then latency, then accuracy, each only when needed."""

    def __init__(self, spec: SearchSpec, num_classes: int, in_channels: int) -> None:
        self.spec = spec
        self.family: Family = family(spec.family)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.data: Dataset | None = None
        if spec.trains:
            from search.data import load_dataset

            self.data = load_dataset(spec.data, spec.input_size)

    def values(self, attrs: dict[str, Any]) -> list[float]:
        table = {
            "accuracy": attrs.get("accuracy", 0.0),
            "macs": attrs["macs"],
            "params": attrs["params"],
            "cio": attrs["cio"],
            "latency": attrs.get("latency_ms", math.inf),
        }
        return [float(table[o]) for o in self.spec.objectives]

    def __call__(
        self,
        study: optuna.Study,
        trial: optuna.Trial,
        attrs: dict[str, Any],
        history: Sequence[FrozenTrial] | None = None,
    ) -> list[float]:
        """Score ``trial``; everything measured lands in ``attrs`` (written once by the caller).
        ``history``: the study's trials, when the caller has just read them."""
        design = suggest(trial, self.family, self.spec.multipliers)
        attrs["design"] = design.label
        if history is None:
            history = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        previous = _same_design(history, trial)
        if previous is not None:
            for key, value in previous.constraints.items():
                trial.set_constraint(key, value)
            attrs.update(
                {k: v for k, v in result_of(previous).items() if k != "worker"}, duplicate_of=previous.number
            )
            return list(previous.values)
        config = self.family.config(design, self.num_classes, self.in_channels)
        network, costs = design_costs(config, self.spec.input_size)
        attrs.update(costs)
        budgets = self.spec.budgets()
        over = [k for k in ("mflops", "params", "cio") if k in budgets and attrs[k] > budgets[k]]
        for key in ("mflops", "params", "cio"):
            if key in budgets:
                trial.set_constraint(key, attrs[key] - budgets[key])
        if over:
            attrs["skipped"] = f"over the {', '.join(over)} budget"
            return self.values(attrs)
        import torch

        from costmodel.torch_build import build

        torch.manual_seed(self.spec.seed)  # initial weights depend on the design, not on history
        model = build(network)
        if self.spec.times:
            from search.latency import measure_latency

            shape = (self.in_channels, self.spec.input_size, self.spec.input_size)
            worst = 0.0
            for device in self.spec.devices:
                lat = measure_latency(model, shape, device, self.spec.latency_batch)
                attrs[f"latency_{device}"] = lat.as_dict()
                worst = max(worst, lat.median_ms)
            model.to("cpu")
            first = attrs[f"latency_{self.spec.devices[0]}"]
            attrs["latency_ms"], attrs["latency_iqr_ms"] = first["median_ms"], first["iqr_ms"]
            if "latency_ms" in budgets:
                trial.set_constraint("latency_ms", worst - budgets["latency_ms"])
                if worst > budgets["latency_ms"]:
                    attrs["skipped"] = "over the latency budget"
                    return self.values(attrs)
        if self.data is not None:  # loaded when accuracy is an objective (spec.trains)
            from search.train import TrainSettings, train_and_score

            result = train_and_score(
                model, self.data, TrainSettings(epochs=self.spec.epochs, seed=self.spec.seed)
            )
            # CPU kernels reduce in a thread-dependent order: record the count with the result.
            attrs.update(
                accuracy=result.accuracy,
                train_loss=result.loss,
                train_seconds=result.seconds,
                holdout_images=result.holdout_images,
                train_threads=torch.get_num_threads(),
            )
        return self.values(attrs)


def _same_design(history: Sequence[FrozenTrial], trial: optuna.Trial) -> FrozenTrial | None:
    params = trial.params
    for t in history:
        if t.state == TrialState.COMPLETE and t.params == params and t.number != trial.number:
            return t
    return None


# --- workers --------------------------------------------------------------------------------------


def _quiet() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    # We run our own heartbeat thread around ask/tell (see ``heartbeat``), which Optuna warns about.
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")


def run_worker(
    url: str,
    study_name: str,
    target: int,
    index: int = 0,
    heartbeat_interval: int = HEARTBEAT_S,
    threads: int | None = None,
    progress: Callable[[Snapshot], None] | None = None,
) -> None:
    """Claim and evaluate trials of ``study_name`` until it holds ``target`` finished trials."""
    _quiet()
    storage = open_storage(url, heartbeat_interval)
    stored = optuna.load_study(study_name=study_name, storage=storage).user_attrs
    spec = SearchSpec.from_attrs(stored[SPEC_ATTR])
    seed = (
        spec.seed
        + 1000 * index
        + len(storage.get_all_trials(storage.get_study_id_from_name(study_name), deepcopy=False))
    ) % (SEED_MAX + 1)
    sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    study = optuna.load_study(study_name=study_name, storage=storage, sampler=sampler)
    if threads:
        import torch

        torch.set_num_threads(threads)
    evaluate = Evaluator(spec, stored["num_classes"], stored["in_channels"])
    worker = f"{socket.gethostname()}:{os.getpid()}"
    while True:
        with claim_lock(storage, url, study_name):
            claimed, history = _claim(study, target)
        if claimed is None:
            return
        if claimed is True:  # others still run the last trials: wait, in case one of them dies
            time.sleep(min(1.0, heartbeat_interval))
            continue
        assert isinstance(claimed, optuna.Trial)
        trial = claimed
        values: list[float] | None = None
        attrs: dict[str, Any] = {"worker": worker}
        with heartbeat(storage, trial._trial_id, heartbeat_interval):
            try:
                values = evaluate(study, trial, attrs, history)
            except KeyboardInterrupt:
                # Queue the design again, as for a dead worker: an interrupted trial is not a
                # result and must not count towards the target when the study resumes.
                study.tell(trial, state=TrialState.FAIL)
                RetryHeartbeatStaleTrialCallback()(study, storage.get_trial(trial._trial_id))
                raise
            except Exception as err:  # the study goes on; the reason stays with the trial
                attrs["error"] = f"{type(err).__name__}: {err}"[:500]
        trial.set_user_attr(RESULT_ATTR, attrs)
        if values is None:
            study.tell(trial, state=TrialState.FAIL)
        else:
            study.tell(trial, values)
        if progress is not None:
            progress(snapshot(study.get_trials(deepcopy=False), spec, target))


# --- the study ------------------------------------------------------------------------------------


def _check_budget_reachable(spec: SearchSpec, fam: Family, num_classes: int, in_channels: int) -> None:
    """Refuse, before any study exists, an analytic budget that no design of the space meets."""
    budgets = {k: v for k, v in spec.budgets().items() if k != "latency_ms"}
    if not budgets:
        return
    cheapest: dict[str, tuple[float, str]] = {}
    for design in fam.designs(spec.multipliers):
        try:
            costs = design_costs(fam.config(design, num_classes, in_channels), spec.input_size)[1]
        except SpecError:
            continue
        if all(costs[k] <= v for k, v in budgets.items()):
            return
        for k in budgets:
            if k not in cheapest or costs[k] < cheapest[k][0]:
                cheapest[k] = (costs[k], design.label)
    parts = [
        f"the smallest {k} is {cheapest[k][0]:,.4g} ({cheapest[k][1]}) against {v:,.4g}"
        for k, v in budgets.items()
        if k in cheapest
    ]
    raise SpecError(
        f"no {spec.family} design at {spec.input_size} px meets the budget: {'; '.join(parts)}; "
        f"raise the budget{'' if spec.multipliers else ' or add --multipliers'}"
    )


def _spec_for(storage: RDBStorage, url: str, name: str, given: dict[str, Any], resume: bool) -> SearchSpec:
    """The spec a run will use; refuses a name clash or a resume that changes settings (reads
    only)."""
    summaries = optuna.get_all_study_summaries(storage, include_best_trial=False)
    names = {s.study_name for s in summaries}
    if not resume:
        if name in names:
            raise SpecError(
                f"study {name!r} already exists in {masked(url)}; pass --resume to continue it, "
                f"or --study with a new name"
            )
        return SearchSpec(**given)
    if name not in names:
        raise SpecError(
            f"there is no study {name!r} in {masked(url)} to resume"
            + (f"; it holds {', '.join(sorted(names))}" if names else "")
            + "; drop --resume to start it"
        )
    stored = SearchSpec.from_attrs(optuna.load_study(study_name=name, storage=storage).user_attrs[SPEC_ATTR])
    clash = [
        f"{k}={given[k]!r} (stored {getattr(stored, k)!r})" for k in given if given[k] != getattr(stored, k)
    ]
    if clash:
        raise SpecError(
            f"study {name!r} was started with other settings: {', '.join(clash)}; resume "
            f"without those options, or start a new --study"
        )
    return stored


def _memory_check(spec: SearchSpec, fam: Family, num_classes: int, in_channels: int) -> None:
    """Refuse, before allocating, a size that training or timing the base design cannot fit in
    memory: activations of a training batch (kept for the backward pass, and their gradients) or
    of one latency batch."""
    if not (spec.trains or spec.times):
        return
    from search.data import check_memory

    config = fam.config(Design("none", 0.0, fam.base.growth_rate), num_classes, in_channels)
    elements = analyze(expand(config, spec.input_size)).totals.write_elements
    need = elements * 4 * (2 * TRAIN_BATCH if spec.trains else spec.latency_batch)
    what = "training" if spec.trains else "timing"
    check_memory(
        need,
        f"{what} a {spec.family} at {spec.input_size}×{spec.input_size} px",
        "choose a smaller --input",
    )


TRAIN_BATCH = 64
"""``search.train.TrainSettings.batch_size``, without importing torch to read it."""


def _data_shape(spec: SearchSpec) -> tuple[int, int, str]:
    """``(num_classes, in_channels, fingerprint)`` of the study's data. Only a search that trains
    loads the images (at its size); a cost-only one needs just the classes and channels."""
    from search.data import BUILTIN, load_dataset

    if spec.trains:
        data = load_dataset(spec.data, spec.input_size)
        return data.num_classes, data.in_channels, data.fingerprint()
    if spec.data in BUILTIN:
        return 10, 1, spec.data  # mnist and digits: ten grey classes
    data = load_dataset(spec.data, 1)  # a user's data at 1×1 px: classes and channels, little memory
    return data.num_classes, data.in_channels, f"{data.num_classes} classes, {data.in_channels} channels"


def prepare_study(
    given: dict[str, Any],
    storage: str | None = None,
    study_name: str = "cspcost",
    resume: bool = False,
    heartbeat_interval: int = HEARTBEAT_S,
) -> tuple[str, SearchSpec]:
    """Check everything, then create the study (or check the one to resume); ``(url, spec)``.

    ``given`` holds the ``SearchSpec`` fields the user set; on ``resume`` they must match the stored
    ones and the rest come from the study. All checks run before the study is created or changed,
    and a new study's checks before the storage is even opened, so bad input leaves no database
    file behind and an existing study untouched.
    """
    _quiet()
    check_study_name(study_name)
    url = normalize_url(storage)
    spec = SearchSpec(**given)  # bad options fail before any storage is opened
    if resume:
        check_exists(url)
        rdb = open_storage(url, heartbeat_interval)
        spec = _spec_for(rdb, url, study_name, given, resume)
    fam = family(spec.family)
    design_costs(fam.config(Design("none", 0.0, fam.base.growth_rate), 10, 1), spec.input_size)
    _memory_check(spec, fam, 10, 1)  # before any data is resized to the input size
    if spec.times or any(d != "cpu" for d in spec.devices):
        from search.latency import check_devices  # imports torch: after the instant checks

        check_devices(spec.devices)
    num_classes, in_channels, fingerprint = _data_shape(spec)
    _check_budget_reachable(spec, fam, num_classes, in_channels)
    if resume:
        study = optuna.load_study(study_name=study_name, storage=rdb)
        if study.user_attrs.get("data_fingerprint") != fingerprint:
            raise SpecError(
                f"the data {spec.data!r} changed since study {study_name!r} started; resume with "
                f"the same data, or start a new --study"
            )
        return url, spec
    rdb = open_storage(url, heartbeat_interval)
    spec = _spec_for(rdb, url, study_name, given, resume)
    study = optuna.create_study(study_name=study_name, storage=rdb, directions=spec.directions)
    for key, value in (
        ("num_classes", num_classes),
        ("in_channels", in_channels),
        ("data_fingerprint", fingerprint),
        (SPEC_ATTR, spec.to_attrs()),
    ):
        study.set_user_attr(key, value)
    return url, spec


def run_search(
    given: dict[str, Any],
    trials: int = 20,
    storage: str | None = None,
    study_name: str = "cspcost",
    workers: int = 1,
    resume: bool = False,
    progress: Callable[[Snapshot], None] | None = None,
    heartbeat_interval: int = HEARTBEAT_S,
) -> SearchResult:
    """Run (or resume) a study until it holds ``trials`` finished trials (see ``prepare_study``)."""
    if trials < 1:
        raise SpecError(f"--trials {trials} must be at least 1")
    if workers < 1:
        raise SpecError(f"--workers {workers} must be at least 1")
    url, spec = prepare_study(given, storage, study_name, resume, heartbeat_interval)
    if progress is not None:
        rdb = open_storage(url, heartbeat_interval)
        progress(snapshot(rdb.get_all_trials(rdb.get_study_id_from_name(study_name)), spec, trials))
    exits: tuple[int, ...] = ()
    if workers == 1:
        run_worker(url, study_name, trials, 0, heartbeat_interval, progress=progress)
    else:
        exits = _run_workers(url, study_name, trials, workers, heartbeat_interval, spec, progress)
    return replace(load_result(study_name, url), requested=trials, worker_exits=exits)


def load_result(study_name: str, storage: str | None = None) -> SearchResult:
    """A stored study's trials and Pareto front, for reports; reads only."""
    url = normalize_url(storage)
    check_exists(url)  # opening a missing SQLite file would create it
    rdb = open_storage(url)
    try:
        study = optuna.load_study(study_name=study_name, storage=rdb)
    except KeyError:
        raise SpecError(
            f"there is no study {study_name!r} in {masked(url)}; check --study and --storage"
        ) from None
    if SPEC_ATTR not in study.user_attrs:
        raise SpecError(f"study {study_name!r} in {masked(url)} was not made by cspcost search")
    spec = SearchSpec.from_attrs(study.user_attrs[SPEC_ATTR])
    done = study.get_trials()
    return SearchResult(study_name, masked(url), spec, len(done), done, pareto_trials(done, spec))


def _run_workers(
    url: str,
    study_name: str,
    trials: int,
    workers: int,
    heartbeat_interval: int,
    spec: SearchSpec,
    progress: Callable[[Snapshot], None] | None,
) -> tuple[int, ...]:
    threads = max(1, (os.cpu_count() or 1) // workers)
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(
            target=run_worker,
            name=f"cspcost-worker-{i}",
            args=(url, study_name, trials, i, heartbeat_interval, threads),
        )
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    watcher = open_storage(url, heartbeat_interval)
    study_id = watcher.get_study_id_from_name(study_name)
    last: Snapshot | None = None
    while any(p.is_alive() for p in procs):
        for p in procs:
            p.join(timeout=0.5 / workers)
        now = snapshot(watcher.get_all_trials(study_id, deepcopy=False), spec, trials)
        if progress is not None and now != last:
            progress(now)
        last = now
    return tuple(p.exitcode if p.exitcode is not None else -1 for p in procs)


def explain_infeasible(result: SearchResult) -> str:
    """Why a finished search has no feasible design, and what to change."""
    done = [t for t in result.trials if t.state == TrialState.COMPLETE]
    if not done:
        errors = [result_of(t)["error"] for t in result.trials if "error" in result_of(t)]
        why = f"; first error: {errors[0]}" if errors else ""
        return f"no trial of study {result.study_name!r} completed{why}"
    budgets = result.spec.budgets()
    parts = []
    for key, bound in budgets.items():
        seen = [result_of(t)[key] for t in done if key in result_of(t)]
        if seen:
            parts.append(f"the smallest {key} seen is {min(seen):,.4g} against {bound:,.4g}")
    return (
        f"no design of the {len(done)} evaluated met the budget: {'; '.join(parts)}; raise the "
        f"budget or search more trials"
    )
