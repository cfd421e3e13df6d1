"""Successive halving with a fake trainer: who continues, who is pruned where, and how many epochs
are spent, counted by hand."""

from __future__ import annotations

import pytest

from costmodel import SpecError
from search.halving import successive_halving


class FakeTrainer:
    """Design i has quality q[i]; its score after e epochs is q[i]·e/(e+1). Records the epochs each
    design was actually trained (continued training: advancing to e costs e - done)."""

    def __init__(self, quality: list[float]) -> None:
        self.quality = quality
        self.done = [0] * len(quality)
        self.calls: list[tuple[int, int]] = []

    def __call__(self, i: int, epochs: int) -> float:
        assert epochs > self.done[i]  # never asked to go backwards or to repeat a rung
        self.calls.append((i, epochs))
        self.done[i] = epochs
        return self.quality[i] * epochs / (epochs + 1)


def test_eight_designs_through_rungs_1_2_4() -> None:
    quality = [0.5, 0.9, 0.1, 0.7, 0.3, 0.8, 0.2, 0.6]
    fake = FakeTrainer(quality)
    out = successive_halving(len(quality), fake, rungs=(1, 2, 4), keep=0.5)
    # rung 0: all 8 at 1 epoch; keep ceil(8/2) = 4 best: 0.9 (1), 0.8 (5), 0.7 (3), 0.6 (7)
    # rung 1: those 4 at 2 epochs; keep 2: designs 1 and 5; rung 2: they reach 4 epochs
    assert [(o.epochs, o.pruned, o.rung) for o in out] == [
        (1, True, 0),
        (4, False, 2),
        (1, True, 0),
        (2, True, 1),
        (1, True, 0),
        (4, False, 2),
        (1, True, 0),
        (2, True, 1),
    ]
    assert out[3].score == pytest.approx(0.7 * 2 / 3)  # what the pruned design reached
    assert out[1].score == pytest.approx(0.9 * 4 / 5)  # as if trained 4 epochs at once
    # epochs spent with continued training: 8·1 + 4·(2-1) + 2·(4-2) = 16, against 8·4 = 32 without
    assert sum(fake.done) == 8 * 1 + 4 * (2 - 1) + 2 * (4 - 2)


def test_one_rung_prunes_nothing() -> None:
    out = successive_halving(3, FakeTrainer([0.1, 0.2, 0.3]), rungs=(2,))
    assert [(o.epochs, o.pruned) for o in out] == [(2, False)] * 3


def test_at_least_one_design_goes_on() -> None:
    out = successive_halving(1, FakeTrainer([0.4]), rungs=(1, 3), keep=0.25)
    assert (out[0].epochs, out[0].pruned) == (3, False)


def test_ties_keep_the_earlier_design() -> None:
    out = successive_halving(2, FakeTrainer([0.5, 0.5]), rungs=(1, 2), keep=0.5)
    assert [o.pruned for o in out] == [False, True]


@pytest.mark.parametrize(
    ("rungs", "keep"),
    [((), 0.5), ((0, 1), 0.5), ((2, 2), 0.5), ((1, 2), 1.0), ((1, 2), 0.0)],
    ids=["empty", "zero-epochs", "not-growing", "keep-all", "keep-none"],
)
def test_bad_schedule_is_refused(rungs: tuple[int, ...], keep: float) -> None:
    with pytest.raises(SpecError, match="halving"):
        successive_halving(4, FakeTrainer([0.1] * 4), rungs=rungs, keep=keep)
