"""Successive halving over epochs across the designs of a run (Jamieson & Talwalkar, AISTATS 2016),
asynchronous as in ASHA (Li et al., MLSys 2020) so that it runs inside Optuna's ``optimize`` loop
with any number of workers, and aware of the costs, since the study has several objectives.

A design is trained to the first rung's epochs (all its seeds), then compared with the designs that
reached that rung before it, on their score *at that rung*: validation accuracy (mean and 95%
interval) and the exact costs. It goes on to the next rung when it is on the front of that group
(nothing there dominates it, ties by interval: ``search.front.dominates``), or among the better
``keep`` fraction of the group, ranked by how many designs dominate it and then by its objectives.
Otherwise it stops: the trial is pruned with the epochs and the accuracy it reached.

Optuna's pruners do not support multi-objective studies, so this is ours. Rungs are the epochs
1, 2, 4, … up to ``--epochs`` (``SearchSpec.rungs``); training continues from one rung to the next
(``search.train.Trainer``), so a design that reaches the last rung has exactly the score it would
have had without halving.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from search.front import Scored, dominates

__all__ = ["goes_on"]


def goes_on(me: Scored, earlier: Sequence[Scored], keep: float) -> bool:
    """Whether a design at a rung goes on to the next, against the ``earlier`` designs' scores at
    the same rung. The first design always goes on; a design on the group's front always does.

    The group is ranked by how many of the group dominate each design, then by its objectives,
    then by arrival (``me`` last); ``me`` goes on when fewer than ``ceil(keep · group)`` designs
    rank ahead of it. Only ``me``'s place is needed, so each count stops as soon as it exceeds
    ``me``'s and the ranking stops once the quota is reached."""
    if not 0 < keep < 1:
        raise ValueError(f"keep {keep} must be a fraction in (0, 1)")
    group = [*earlier, me]

    def beaten(i: int, cap: int) -> int:
        """How many of the group dominate ``group[i]``, counted up to ``cap + 1``."""
        n = 0
        for j, other in enumerate(group):
            if j != i and dominates(other, group[i]):
                n += 1
                if n > cap:
                    break
        return n

    mine = beaten(len(group) - 1, len(group))
    if mine == 0:
        return True
    quota = math.ceil(keep * len(group))
    ahead = 0
    for i, other in enumerate(earlier):
        if (beaten(i, mine), other.keys) <= (mine, me.keys):  # arrival breaks a tie: it came first
            ahead += 1
            if ahead >= quota:
                return False
    return True
