"""The Pareto front of a study's feasible trials, and why a search found none.

Accuracy is a mean over seeds with a 95% interval; two designs whose intervals overlap are tied on
accuracy, so the cheaper of the two dominates (``dominates``). Costs are exact."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from optuna.trial import FrozenTrial, TrialState

from search.results import is_feasible, result_of
from search.spec import OBJECTIVES, SearchResult, SearchSpec

__all__ = [
    "Scored",
    "dominates",
    "explain_infeasible",
    "nondominated",
    "pareto_indices",
    "pareto_trials",
    "scored",
]


def pareto_indices(keys: Sequence[Sequence[float]]) -> list[int]:
    """Indices of the points that no other point dominates (every key minimised), in lexicographic
    order of their keys. A sweep: after sorting, any dominator of a point comes before it, and if
    one does, a point already on the front does too, so each point is compared with the front
    only (equal points are all kept)."""
    front: list[int] = []
    for i in sorted(range(len(keys)), key=lambda j: tuple(keys[j])):
        p = keys[i]
        if not any(
            all(x <= y for x, y in zip(keys[f], p)) and any(x < y for x, y in zip(keys[f], p)) for f in front
        ):
            front.append(i)
    return front


@dataclass(frozen=True)
class Scored:
    """A design's objectives, minimised (a maximised one negated), and the half-width of the 95%
    interval of each (``nan`` where exact or unknown: costs are exact, one seed gives none)."""

    keys: tuple[float, ...]
    half_widths: tuple[float, ...]


def _tied(a: float, ha: float, b: float, hb: float) -> bool:
    """Two measurements whose 95% intervals overlap; an exact value (nan half-width) ties only
    with an equal one."""
    if math.isnan(ha) or math.isnan(hb):
        return a == b
    return a - ha <= b + hb and b - hb <= a + ha


def dominates(a: Scored, b: Scored) -> bool:
    """``a`` dominates ``b``: on every objective ``a`` is better or tied (95% intervals overlap),
    and on one it is better and not tied. So of two designs whose accuracies tie, the cheaper
    dominates; a design is never dominated through a difference its interval cannot resolve."""
    better = False
    for x, hx, y, hy in zip(a.keys, a.half_widths, b.keys, b.half_widths, strict=True):
        if _tied(x, hx, y, hy):
            continue
        if x > y:
            return False
        better = True
    return better


def scored(t: FrozenTrial, spec: SearchSpec) -> Scored:
    """The trial's values as minimised keys, with the accuracy interval when seeds gave one."""
    keys, half = [], []
    for name, v in zip(spec.objectives, t.values, strict=True):
        keys.append(-v if OBJECTIVES[name] == "maximize" else v)
        ci = result_of(t).get("accuracy_ci95") if name == "accuracy" else None
        half.append(float(ci) if isinstance(ci, (int, float)) else math.nan)
    return Scored(tuple(keys), tuple(half))


def nondominated(items: Sequence[Scored]) -> list[int]:
    """Indices of the items no other item dominates (``dominates``: ties by interval), best first
    objective first. Without any interval this is the usual front (``pareto_indices``' sweep);
    with intervals, quadratic: a study holds tens to hundreds of designs."""
    if all(math.isnan(h) for item in items for h in item.half_widths):
        return pareto_indices([item.keys for item in items])
    keep = [i for i, b in enumerate(items) if not any(dominates(a, b) for a in items if a is not b)]
    return sorted(keep, key=lambda i: items[i].keys)


def pareto_trials(trials: Sequence[FrozenTrial], spec: SearchSpec) -> list[FrozenTrial]:
    """Feasible trials that no other feasible trial dominates, one per design, best first.

    Not ``optuna.Study.best_trials``: that compares means, so a design better by less than its
    seed-to-seed noise would knock a cheaper one off the front; here accuracies whose 95%
    intervals overlap are a tie (``dominates``). Without intervals (costs only, one seed) it is the
    usual front, which ``tests/search`` checks against ``best_trials``."""
    good: dict[str, FrozenTrial] = {}
    for t in trials:
        if is_feasible(t):
            good.setdefault(result_of(t).get("design", str(t.params)), t)
    kept = list(good.values())
    return [kept[i] for i in nondominated([scored(t, spec) for t in kept])]


def explain_infeasible(result: SearchResult) -> str:
    """Why a finished search has no feasible design, and what to change."""
    done = [t for t in result.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
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
