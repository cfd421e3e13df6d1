"""cspcost's architecture search: Optuna over the γ, growth rate, fusion strategy (and depth and
width) of a base network the user names, with analytic costs first (a cost-only search is the exact
front of the enumerated space), then latency as deployed, then short trainings over several seeds
with successive halving (CSPNet paper, §3.1)."""

from __future__ import annotations

from search.front import pareto_trials
from search.results import TrialRow, is_feasible, result_of, trial_rows
from search.space import Base, Design, Space, base, suggest
from search.spec import BUDGETS, OBJECTIVES, SearchResult, SearchSpec, Snapshot
from search.storage import DEFAULT_STORAGE
from search.study import run_search

__all__ = [
    "BUDGETS",
    "DEFAULT_STORAGE",
    "OBJECTIVES",
    "Base",
    "Design",
    "SearchResult",
    "SearchSpec",
    "Snapshot",
    "Space",
    "TrialRow",
    "base",
    "is_feasible",
    "pareto_trials",
    "result_of",
    "run_search",
    "suggest",
    "trial_rows",
]
