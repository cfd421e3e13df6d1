"""What a study searches and how it scores a design (``SearchSpec``, stored with the study), its
objectives and budgets, and what a finished search returns (``SearchResult``)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from costmodel import SpecError
from search.results import TrialRow, is_feasible, trial_rows
from search.space import family

__all__ = ["BUDGETS", "OBJECTIVES", "SPEC_ATTR", "SearchResult", "SearchSpec", "Snapshot"]


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
