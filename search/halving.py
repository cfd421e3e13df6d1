"""Successive halving over epochs across the designs of a run (Jamieson & Talwalkar, AISTATS 2016;
the rung schedule of Li et al.'s Hyperband, JMLR 2018).

Every design is trained to the first rung's epochs; only the better ``keep`` fraction by validation
accuracy goes on to the next rung's epochs, and so on; a stopped design is recorded as pruned with
the epochs and the accuracy it reached. Optuna's pruners do not support multi-objective studies, so
this is ours. ``advance(i, epochs)`` trains design ``i`` *up to* ``epochs`` in all (continuing, see
``search.train.Trainer``) and returns its validation score; with continued training the designs that
reach the last rung get exactly the score they would have had without halving.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from costmodel import SpecError

__all__ = ["Outcome", "check_rungs", "successive_halving"]


@dataclass(frozen=True)
class Outcome:
    """Where design ``index`` stopped: the epochs and score it reached, and whether it was pruned
    (stopped before the last rung) at rung ``rung`` (0-based)."""

    index: int
    epochs: int
    score: float
    pruned: bool
    rung: int


def check_rungs(rungs: Sequence[int], keep: float) -> tuple[int, ...]:
    """Rungs are strictly increasing positive epoch counts; ``keep`` is in (0, 1)."""
    if not rungs or any(isinstance(r, bool) or not isinstance(r, int) or r < 1 for r in rungs):
        raise SpecError(f"halving rungs {list(rungs)} must be positive integers (epochs), e.g. 1,2,4")
    if any(b <= a for a, b in itertools.pairwise(rungs)):
        raise SpecError(f"halving rungs {list(rungs)} must grow strictly, e.g. 1,2,4")
    if not 0 < keep < 1:
        raise SpecError(f"halving keeps {keep}: a fraction in (0, 1) is needed, e.g. 0.5")
    return tuple(rungs)


def successive_halving(
    count: int, advance: Callable[[int, int], float], rungs: Sequence[int], keep: float = 0.5
) -> list[Outcome]:
    """Run ``count`` designs through ``rungs``; one ``Outcome`` per design, in index order. At each
    rung but the last, ``ceil(keep · alive)`` designs continue (ties keep the earlier index)."""
    rungs = check_rungs(rungs, keep)
    alive = list(range(count))
    out: dict[int, Outcome] = {}
    for r, epochs in enumerate(rungs):
        scores = {i: advance(i, epochs) for i in alive}
        last = r == len(rungs) - 1
        ranked = sorted(alive, key=lambda i: -scores[i])
        goes_on = ranked if last else ranked[: max(1, math.ceil(keep * len(alive)))]
        for i in alive:
            if last or i not in goes_on:
                out[i] = Outcome(i, epochs, scores[i], pruned=not last, rung=r)
        alive = [i for i in alive if i in goes_on] if not last else []
    return [out[i] for i in range(count)]
