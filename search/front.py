"""The Pareto front of a study's feasible trials, and why a search found none."""

from __future__ import annotations

from collections.abc import Sequence

from optuna.trial import FrozenTrial, TrialState

from search.results import is_feasible, result_of
from search.spec import SearchResult, SearchSpec

__all__ = ["explain_infeasible", "pareto_indices", "pareto_trials"]


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


def pareto_trials(trials: Sequence[FrozenTrial], spec: SearchSpec) -> list[FrozenTrial]:
    """Feasible trials that no other feasible trial dominates, one per design, best first."""
    good: dict[str, FrozenTrial] = {}
    for t in trials:
        if is_feasible(t):
            good.setdefault(result_of(t).get("design", str(t.params)), t)
    signs = [1.0 if d == "minimize" else -1.0 for d in spec.directions]
    kept = list(good.values())
    keys = [[s * v for s, v in zip(signs, t.values, strict=True)] for t in kept]
    return [kept[i] for i in pareto_indices(keys)]


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
