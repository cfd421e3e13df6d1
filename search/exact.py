"""The exact answer to a cost-only search: the Pareto front of the enumerated space.

When no objective and no budget needs a measurement (accuracy, latency), every design of the space is
costed analytically at the deployment input (``search.space.Space.points``), the designs over a
MFLOPs, params or CIO budget are removed, and the front is the set of designs no other dominates:
exact, with no sampler and no study. This is the CSPNet paper's γ/fusion ablation (Wang et al.,
CVPRW 2020, Table 1 and Figure 3) answered for the network the user ships.

The designs come back as finished ``FrozenTrial`` rows, so the tables, plots and design files of a
measured study read them unchanged. Nothing here touches a storage, a sampler, torch or the data.
"""

from __future__ import annotations

import datetime
import gc
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from optuna.distributions import CategoricalDistribution
from optuna.trial import FrozenTrial, TrialState

from costmodel import SpecError
from costmodel.families.common import FUSIONS
from search.front import pareto_trials
from search.space import Point
from search.spec import NOT_STORED, SearchResult, SearchSpec

__all__ = ["check_budget_reachable", "exact_front", "space_note"]


def check_budget_reachable(spec: SearchSpec, points: Sequence[Point]) -> list[Point]:
    """The points within the analytic budgets; a ``SpecError`` naming the cheapest design's cost,
    before any study exists or any training starts, when there are none."""
    budgets = {k: v for k, v in spec.budgets().items() if k != "latency_ms"}
    good = [p for p in points if p.within(budgets)]
    if good or not points:
        return good
    parts = []
    for k, v in budgets.items():
        cheapest = min(points, key=lambda p: p.costs[k])
        parts.append(
            f"the smallest {k} is {cheapest.costs[k]:,.4g} ({cheapest.design.label}) against {v:,.4g}"
        )
    raise SpecError(
        f"no design of {spec.base} at {spec.deploy_input} px meets the budget: {'; '.join(parts)}; "
        f"raise the budget{'' if spec.multipliers else ' or add --multipliers'}"
    )


def space_note(spec: SearchSpec, points: Sequence[Point], feasible: Sequence[Point]) -> str:
    """The size of the space, what the budget leaves, and the two resolutions."""
    space = spec.space
    grid = [f"{len(space.gammas)} γ × {len(FUSIONS)} fusions (γ = 0 for none)"]
    if space.base.has_growth_rate:
        grid.append(f"{len(space.ks)} growth rates ({','.join(map(str, space.ks))})")
    if spec.multipliers:
        grid.append(f"{len(space.depths)} depths × {len(space.widths)} widths")
    over = len(points) - len(feasible)
    proxy = f"; accuracy is a proxy: the same topology trained at {spec.proxy} px" if spec.trains else ""
    return (
        f"space: {len(points)} designs of {spec.base} ({' × '.join(grid)}); {len(feasible)} within the "
        f"budget, {over} over it (never trials); costs at {spec.deploy_input} px, batch 1{proxy}"
    )


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector. Expanding and costing a design allocates thousands
    of small tuples that reference counting frees (none is part of a cycle), and the collector's
    passes over them took a fifth of the enumeration; it runs again afterwards, as it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def exact_front(spec: SearchSpec, study_name: str = "cspcost") -> SearchResult:
    """The exact Pareto front of a cost-only search, by enumerating the space: no sampler, no study."""
    started = time.perf_counter()
    size = spec.deploy_input  # resolves the base: once, not per design
    with _cycle_collector_paused():
        points = spec.space.points(size)
    feasible = check_budget_reachable(spec, points)
    trials = [_as_trial(i, p, spec.objectives, size) for i, p in enumerate(feasible)]
    front = pareto_trials(trials, spec)
    took = time.perf_counter() - started
    notes = [
        space_note(spec, points, feasible),
        f"exact front by enumeration: {len(front)} design{'' if len(front) == 1 else 's'} in {took:.3f} s "
        f"({len(points) / took:,.0f} designs/s); no sampler, no study stored",
    ]
    return SearchResult(study_name, NOT_STORED, spec, len(trials), trials, front, notes=notes)


def _as_trial(number: int, point: Point, objectives: Sequence[str], input_size: int) -> FrozenTrial:
    """A design of the enumeration as a finished trial, for the same tables and plots as a study's."""
    params = point.design.params
    now = datetime.datetime.now()
    attrs = {"design": point.design.label, **point.costs, "input": input_size}
    return FrozenTrial(
        number=number,
        state=TrialState.COMPLETE,
        value=None,
        values=[point.costs[o] for o in objectives],
        datetime_start=now,
        datetime_complete=now,
        params=params,
        distributions={k: CategoricalDistribution([v]) for k, v in params.items()},
        user_attrs=attrs,
        system_attrs={},
        intermediate_values={},
        trial_id=number,
    )
