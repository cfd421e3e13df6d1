"""What a study searches and how it scores a design (``SearchSpec``, stored with the study), its
objectives and budgets, and what a finished search returns (``SearchResult``)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from costmodel import SpecError
from search.results import TrialRow, is_feasible, trial_rows
from search.space import DEPTHS, GAMMAS, WIDTHS, Space, base

__all__ = ["BUDGETS", "METRIC_NAMES", "OBJECTIVES", "SPEC_ATTR", "SearchResult", "SearchSpec", "Snapshot"]


SPEC_ATTR = "cspcost.spec"

OBJECTIVES: dict[str, str] = {
    "accuracy": "maximize",
    "macs": "minimize",
    "params": "minimize",
    "cio": "minimize",
    "latency": "minimize",
}
"""Objective name → direction. ``latency`` is the median on the first device, in ms."""

METRIC_NAMES: dict[str, str] = {
    "accuracy": "proxy accuracy",
    "macs": "MACs",
    "params": "params",
    "cio": "CIO",
    "latency": "latency ms",
}
"""Objective name → the metric name Optuna (and optuna-dashboard) shows."""

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

SEEDS_MAX = 30
"""Most trainings per design: the Student-t table of ``search.train`` covers up to 30 values."""

KEEP = 0.5
"""Successive halving: the fraction of the designs at a rung that goes on to the next."""


@dataclass(frozen=True)
class SearchSpec:
    """What a study searches and how it scores a design; stored with the study so that a resumed
    study (or a worker on another machine) evaluates exactly the same way."""

    base: str = "tinydensenet"
    objectives: tuple[str, ...] = ("accuracy", "macs")
    max_mflops: float | None = None
    max_params: float | None = None
    max_cio: float | None = None
    max_latency_ms: float | None = None
    data: str = "mnist"
    input_size: int | None = None
    """Deployment input (px): costs, budgets and latency; ``None``: the base's own (224 or 256)."""
    proxy_input: int | None = None
    """Proxy input (px) at which the same topology is trained for accuracy; ``None``: the smaller of
    the deployment input and 32 (what MNIST-sized data needs)."""
    epochs: int = 4
    """Training epochs of a design that goes the whole way (with halving, the last rung)."""
    devices: tuple[str, ...] = ("cpu",)
    multipliers: bool = False
    seed: int = 0
    latency_batch: int = 1
    gammas: tuple[float, ...] = GAMMAS
    growth_rates: tuple[int, ...] | None = None
    seeds: int = 3
    """Trainings per design (seeds ``seed``, ``seed + 1``, …): the mean and its 95% interval."""
    halving: bool = True
    """Successive halving over the rungs ``rungs`` (``search.halving``); off: every design trains
    ``epochs`` in full."""
    latency_threads: int = 1
    """CPU threads of the latency measurement, pinned (1: what a small board gives one model)."""

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
        self.space  # noqa: B018 (the base, its knobs and the grids are checked here)
        for budget in BUDGETS:
            value = getattr(self, budget)
            if value is not None and (not math.isfinite(value) or value < 0):
                flag = "--" + budget.replace("_", "-")
                raise SpecError(f"{flag} {value} must be a non-negative number (an upper bound)")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= SEED_MAX:
            raise SpecError(f"--seed {self.seed!r} must be an integer from 0 to {SEED_MAX} (2**32 - 1)")
        if (
            isinstance(self.seeds, bool)
            or not isinstance(self.seeds, int)
            or not 1 <= self.seeds <= SEEDS_MAX
        ):
            raise SpecError(
                f"--seeds {self.seeds!r} must be an integer from 1 to {SEEDS_MAX}: each design is trained "
                f"once per seed (3 gives a 95% interval; 1 gives none)"
            )
        for name, least in (
            ("epochs", 1),
            ("input_size", 1),
            ("proxy_input", 1),
            ("latency_batch", 1),
            ("latency_threads", 1),
        ):
            value = getattr(self, name)
            if value is None and name in ("input_size", "proxy_input"):
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise SpecError(f"{name} = {value!r} must be an integer ≥ {least}")

    @property
    def space(self) -> Space:
        """The base and the grid of each knob this study searches."""
        scales = (DEPTHS, WIDTHS) if self.multipliers else ((1.0,), (1.0,))
        found = base(self.base)
        widths = scales[1] if found.has_width else (1.0,)
        return Space(found, self.gammas, self.growth_rates, scales[0], widths)

    @property
    def deploy_input(self) -> int:
        return self.input_size or self.space.base.default_input

    @property
    def proxy(self) -> int:
        return self.proxy_input or min(self.deploy_input, 32)

    @property
    def directions(self) -> list[Any]:
        return [OBJECTIVES[o] for o in self.objectives]

    @property
    def rungs(self) -> tuple[int, ...]:
        """Epochs at which a design is compared with the others: 1, 2, 4, … up to ``epochs`` with
        halving; just ``epochs`` without."""
        if not self.halving:
            return (self.epochs,)
        out = [1]
        while out[-1] * 2 < self.epochs:
            out.append(out[-1] * 2)
        return tuple(sorted({*out, self.epochs}))

    @property
    def seed_list(self) -> tuple[int, ...]:
        return tuple((self.seed + i) % (SEED_MAX + 1) for i in range(self.seeds))

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
        if "family" in attrs and "base" not in attrs:  # studies stored before bases had names
            attrs = {**attrs, "base": attrs["family"]}
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
    estimate: float | None = None
    """Seconds the rest of the run may take at most: the designs left × seeds × epochs × the
    seconds per epoch of the run's first training (halving stops many designs earlier)."""


NOT_STORED = "(enumeration, not stored)"
"""``SearchResult.storage`` of a cost-only search's exact front: no study holds it."""


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
    artifacts: str | None = None
    """The folder of the study's artifact store (proxy-trained weights), when it has one."""
    test_accuracy: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Front trial number → accuracy on the test split (``mean``, ``ci95``, ``seeds``)."""
    correlations: dict[str, float] = field(default_factory=dict)
    """Spearman ρ of measured latency against MACs and CIO (``search.final.rank_correlations``)."""

    @property
    def exact(self) -> bool:
        """The front is the exact one of the enumeration (a cost-only search), not a study's."""
        return self.storage == NOT_STORED

    def count(self, *states: TrialState) -> int:
        return sum(t.state in states for t in self.trials)

    @property
    def feasible(self) -> list[FrozenTrial]:
        return [t for t in self.trials if is_feasible(t)]

    def rows(self) -> list[TrialRow]:
        """Every trial as a typed row, with its place on the Pareto front."""
        return trial_rows(self.trials, self.pareto, self.test_accuracy)
