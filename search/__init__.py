"""cspcost's architecture search: Optuna over the γ, growth rate, fusion strategy (and depth and
width) of a base network the user names, with analytic costs first (a cost-only search is the exact
front of the enumerated space), then latency as deployed, then short trainings over several seeds
with successive halving (CSPNet paper, §3.1).

The names below are loaded on first use (PEP 562), not when the package is: every ``search.*``
import runs this file first, and a cost-only search (``search.exact``) must not pay for the
storages, workers and data loaders of a measured study before it prints its front.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from search.front import pareto_trials
    from search.results import TrialRow, is_feasible, result_of, trial_rows
    from search.space import Base, Design, Space, base, suggest
    from search.spec import BUDGETS, OBJECTIVES, SearchResult, SearchSpec, Snapshot
    from search.storage import DEFAULT_STORAGE
    from search.study import run_search

_HOME: dict[str, str] = {
    "BUDGETS": "search.spec",
    "DEFAULT_STORAGE": "search.storage",
    "OBJECTIVES": "search.spec",
    "Base": "search.space",
    "Design": "search.space",
    "SearchResult": "search.spec",
    "SearchSpec": "search.spec",
    "Snapshot": "search.spec",
    "Space": "search.space",
    "TrialRow": "search.results",
    "base": "search.space",
    "is_feasible": "search.results",
    "pareto_trials": "search.front",
    "result_of": "search.results",
    "run_search": "search.study",
    "suggest": "search.space",
    "trial_rows": "search.results",
}

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


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'search' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
