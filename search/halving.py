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

from search.front import Scored

__all__ = ["dominated_counts", "goes_on"]


def goes_on(me: Scored, earlier: Sequence[Scored], keep: float) -> bool:
    """Whether a design at a rung goes on to the next, against the ``earlier`` designs' scores at
    the same rung. The first design always goes on; a design on the group's front always does.

    The group is ranked by how many of the group dominate each design, then by its objectives,
    then by arrival (``me`` last); ``me`` goes on when it ranks inside ``ceil(keep · group)``."""
    if not 0 < keep < 1:
        raise ValueError(f"keep {keep} must be a fraction in (0, 1)")
    group = [*earlier, me]
    beaten = dominated_counts(group)
    if beaten[-1] == 0:
        return True
    quota = math.ceil(keep * len(group))
    order = sorted(range(len(group)), key=lambda i: (beaten[i], group[i].keys, i))
    return order.index(len(group) - 1) < quota


def dominated_counts(group: Sequence[Scored]) -> list[int]:
    """For each design of ``group``, how many of the others dominate it (``search.front.dominates``:
    better or tied on every objective, better and not tied on one), all pairs at once with numpy:
    a group is every design that reached a rung, so it grows with the study."""
    import numpy as np

    keys = np.array([g.keys for g in group], dtype=float)
    half = np.array([g.half_widths for g in group], dtype=float)
    a, b = keys[:, None, :], keys[None, :, :]  # [i, j]: does a = group[i] dominate b = group[j]?
    ha, hb = half[:, None, :], half[None, :, :]
    exact = np.isnan(ha) | np.isnan(hb)
    with np.errstate(invalid="ignore"):
        overlap = (a - ha <= b + hb) & (b - hb <= a + ha)
    tied = np.where(exact, a == b, overlap)
    better = ~tied & (a < b)
    dominates = np.all(tied | better, axis=2) & np.any(better, axis=2)
    return [int(n) for n in dominates.sum(axis=0)]
