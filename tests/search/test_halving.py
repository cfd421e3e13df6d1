"""Successive halving's rule at a rung, by hand: who goes on against the designs that reached the
same rung before it (``search.halving.goes_on``)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search.front import Scored, dominates
from search.halving import dominated_counts, goes_on

NAN = math.nan


def s(acc: float, macs: float, ci: float = NAN) -> Scored:
    """Objectives (accuracy, macs), minimised: accuracy negated; ``ci`` its 95% half-width."""
    return Scored((-acc, macs), (ci, NAN))


def test_the_first_design_always_goes_on() -> None:
    assert goes_on(s(0.1, 100), [], keep=0.5)


def test_a_dominated_design_in_the_worse_half_stops() -> None:
    # earlier: 0.9 at 50 MACs dominates the new 0.5 at 100 MACs; group of 2, quota ceil(0.5·2) = 1
    assert not goes_on(s(0.5, 100), [s(0.9, 50)], keep=0.5)


def test_a_design_on_the_groups_front_goes_on_even_outside_the_quota() -> None:
    # four earlier designs, all more accurate but dearer: the new one is the cheapest, so nothing
    # dominates it and it goes on although it ranks last by accuracy
    earlier = [s(0.9, 200), s(0.8, 150), s(0.85, 180), s(0.7, 120)]
    assert goes_on(s(0.5, 10), earlier, keep=0.5)


def test_a_dominated_design_inside_the_quota_goes_on() -> None:
    # group of 4 (quota 2): ranked by how many dominate each, the new design (dominated by one)
    # comes second after the undominated 0.9@50; 0.6@90 and 0.4@95 are dominated by two and three
    earlier = [s(0.9, 50), s(0.6, 90), s(0.4, 95)]
    assert goes_on(s(0.8, 60), earlier, keep=0.5)
    assert not goes_on(s(0.3, 99), [*earlier, s(0.8, 60)], keep=0.25)  # quota ceil(5/4) = 2


def test_overlapping_intervals_tie_so_the_cheaper_one_dominates() -> None:
    # 0.70 ± 0.10 and 0.75 ± 0.10 overlap: tied on accuracy, the earlier one is cheaper → dominated
    assert not goes_on(s(0.75, 100, 0.10), [s(0.70, 50, 0.10)], keep=0.5)
    # without intervals 0.75 beats 0.70 on accuracy: neither dominates, both on the front
    assert goes_on(s(0.75, 100), [s(0.70, 50)], keep=0.5)


@pytest.mark.parametrize("keep", [0.0, 1.0, -0.5, 2.0], ids=["zero", "one", "negative", "two"])
def test_keep_must_be_a_fraction(keep: float) -> None:
    with pytest.raises(ValueError, match="fraction"):
        goes_on(s(0.5, 1), [], keep=keep)


def _ranked_by_sorting(me: Scored, earlier: list[Scored], keep: float) -> bool:
    """The rule as the module docstring states it, computed the plain way: count for every design
    of the group how many dominate it, sort the whole group by (count, objectives, arrival), and
    see whether the new design (last to arrive) lands inside ceil(keep · group)."""
    group = [*earlier, me]
    counts = [sum(dominates(o, d) for o in group if o is not d) for d in group]
    if counts[-1] == 0:
        return True
    order = sorted(range(len(group)), key=lambda i: (counts[i], group[i].keys, i))
    return order.index(len(group) - 1) < math.ceil(keep * len(group))


@given(
    st.lists(
        st.tuples(st.integers(0, 10), st.integers(0, 6), st.sampled_from([NAN, 0.0, 0.05, 0.2])),
        min_size=1,
        max_size=14,
    ),
    st.sampled_from([0.25, 0.5, 0.75]),
)
@settings(max_examples=400, deadline=None)
def test_the_vectorised_counts_give_the_plain_ranking(
    rows: list[tuple[int, int, float]], keep: float
) -> None:
    # small integer grids, so that equal costs, equal accuracies and overlapping intervals (ties at
    # every level of the sort) are common
    group = [s(acc / 10, float(macs), ci) for acc, macs, ci in rows]
    assert goes_on(group[-1], group[:-1], keep) == _ranked_by_sorting(group[-1], group[:-1], keep)
    assert dominated_counts(group) == [sum(dominates(o, d) for o in group if o is not d) for d in group]
