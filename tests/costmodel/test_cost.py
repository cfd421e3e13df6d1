"""``Cost`` is a record that adds field by field, not a tuple."""

from __future__ import annotations

import pytest

from costmodel import COST_FIELDS, Cost


def test_cost_does_not_repeat_like_a_tuple() -> None:
    with pytest.raises(TypeError):
        Cost() * 2  # type: ignore[operator]
    with pytest.raises(TypeError):
        2 * Cost()  # type: ignore[operator]


def test_cost_is_not_equal_to_a_plain_tuple() -> None:
    numbers = tuple(range(len(COST_FIELDS)))
    cost = Cost(*numbers)
    assert cost != numbers
    assert numbers != cost
    assert not cost == numbers  # noqa: SIM201
    assert cost == Cost(*numbers)
    assert len({cost, Cost(*numbers)}) == 1


def test_cost_adds_field_by_field() -> None:
    a = Cost(macs=3, params=5)
    assert a + a == Cost(macs=6, params=10)
    assert sum([a, a, a], Cost()) == Cost(macs=9, params=15)
