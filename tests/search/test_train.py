"""Accuracy with its interval: the three-way split, the Student-t interval by hand, ties, and
continued training equal to training at once."""

from __future__ import annotations

import math

import numpy as np
import pytest

from search.train import Interval, split_data, t_interval, t_quantile


def test_split_is_disjoint_stratified_and_fixed() -> None:
    y = np.repeat(np.arange(4), 50)  # 4 classes × 50 images
    a, b = split_data(y, 0.2, 0.2), split_data(y, 0.2, 0.2)
    assert all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("train", "validation", "test"))
    parts = [set(a.train), set(a.validation), set(a.test)]
    assert sum(map(len, parts)) == 200 and len(set.union(*parts)) == 200
    for c in range(4):  # 20% of 50 = 10 test images per class; 20% of all = 10 of the 40 left
        assert (y[a.test] == c).sum() == 10
        assert (y[a.validation] == c).sum() == 10
        assert (y[a.train] == c).sum() == 30


def test_t_interval_by_hand() -> None:
    values = [0.954, 0.913, 0.906]  # the three seeds of issue 11
    mean = (0.954 + 0.913 + 0.906) / 3
    s = math.sqrt(sum((v - mean) ** 2 for v in values) / 2)
    got = t_interval(values)
    assert got.mean == pytest.approx(mean)
    assert got.half_width == pytest.approx(4.303 * s / math.sqrt(3))  # t_{0.975, 2} = 4.303


@pytest.mark.parametrize(
    ("df", "want"), [(1, 12.706), (5, 2.571), (30, 2.042), (60, 2.000), (120, 1.980)], ids=str
)
def test_t_quantile_against_the_printed_table(df: int, want: float) -> None:
    assert t_quantile(df) == pytest.approx(want, abs=1.5e-3)


def test_one_seed_has_no_interval_and_ties_with_nothing() -> None:
    one = t_interval([0.9])
    assert math.isnan(one.half_width)
    assert not one.overlaps(Interval(0.9, 0.1, (0.8, 1.0)))


@pytest.mark.parametrize(
    ("a", "b", "tied"),
    [((0.90, 0.02), (0.93, 0.02), True), ((0.90, 0.01), (0.93, 0.01), False), ((0.9, 0.0), (0.9, 0.0), True)],
    ids=["overlap", "apart", "same-point"],
)
def test_overlap(a: tuple[float, float], b: tuple[float, float], tied: bool) -> None:
    ia, ib = Interval(a[0], a[1], ()), Interval(b[0], b[1], ())
    assert ia.overlaps(ib) == ib.overlaps(ia) == tied


@pytest.mark.slow
def test_continued_training_equals_training_at_once() -> None:
    import torch

    from costmodel import DenseNetConfig, expand
    from costmodel.torch_build import build
    from search.data import load_dataset
    from search.train import Trainer, TrainSettings

    data = load_dataset("digits", 8)
    split = split_data(data.y)
    net = expand(DenseNetConfig(growth_rate=4, block_config=(1, 1), num_init_features=8, in_channels=1), 8)
    trainers = []
    for _ in range(2):
        torch.manual_seed(3)
        trainers.append(Trainer(build(net), data, split, TrainSettings(seed=3)))
    trainers[0].advance(1)
    trainers[0].advance(2)
    trainers[1].advance(2)
    assert trainers[0].epochs == trainers[1].epochs == 2
    for p, q in zip(trainers[0].model.parameters(), trainers[1].model.parameters(), strict=True):
        assert torch.equal(p, q)
    assert trainers[0].accuracy(split.validation) == trainers[1].accuracy(split.validation)
