"""Short, seeded training runs that score a design by validation accuracy, with its interval.

Not a benchmark result: a few epochs of Adam, enough to rank designs of one family against each other
on the same data (the CSPNet paper compares γ and fusion by ImageNet top-1; this is the laptop-sized
stand-in). The data is split once, stratified, with a fixed seed (``SPLIT_SEED``): *train*,
*validation* (picks designs) and *test* (evaluated for the final front only, never used to select).
The training seed changes the initial weights and the batch order, not the split, so the spread
over seeds is the training noise a difference between designs has to clear; ``t_interval`` turns
the per-seed accuracies into a mean and a 95% Student-t interval.

``Trainer`` keeps the model, optimiser and batch-order generator between calls: training to 1 epoch
then to 2 gives exactly the weights of training to 2 at once, which is what lets successive halving
(``search.halving``) continue a design instead of starting it again.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from search.data import Dataset

if TYPE_CHECKING:
    from costmodel import Config, DenseNetConfig

__all__ = [
    "SPLIT_SEED",
    "Interval",
    "Split",
    "TrainSettings",
    "Trainer",
    "TrialError",
    "accuracy_by_seed",
    "holdout_split",
    "prepare",
    "reference_designs",
    "split_data",
    "t_interval",
    "t_quantile",
]

SPLIT_SEED = 0
"""Seed of the one stratified train/validation/test split: the same images for every design and
training seed."""


class TrialError(RuntimeError):
    """A design that could not be evaluated (NaN loss, out of memory): the trial fails, the study
    goes on."""


@dataclass(frozen=True)
class TrainSettings:
    batch_size: int = 64
    lr: float = 3e-3
    seed: int = 0


def holdout_split(y: np.ndarray, holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified ``(train, held-out)`` indices: ``holdout`` of every class (at least one image)."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n = max(1, round(len(idx) * holdout)) if len(idx) > 1 else 0
        test.append(idx[:n])
        train.append(idx[n:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


@dataclass(frozen=True, eq=False)
class Split:
    """Indices of the train, validation and test images."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def split_data(y: np.ndarray, validation: float = 0.2, test: float = 0.2, seed: int = SPLIT_SEED) -> Split:
    """A stratified three-way split: ``test`` of every class first, then ``validation`` of the
    whole from the rest (so the fractions are of all images)."""
    rest, test_idx = holdout_split(y, test, seed)
    inner, val_local = holdout_split(y[rest], validation / (1 - test), seed + 1)
    return Split(rest[inner], rest[val_local], test_idx)


# Two-sided 95% quantiles of Student's t, t_{0.975, df} for df = 1 … 30 (any statistics table).
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
_Z975 = 1.959964


def t_quantile(df: int) -> float:
    """t_{0.975, df}: the table for df ≤ 30, beyond it the Cornish–Fisher expansion around the
    normal quantile (error below 1e-4 there)."""
    if df < 1:
        raise ValueError(f"degrees of freedom {df} must be ≥ 1")
    if df <= len(_T975):
        return _T975[df - 1]
    z = _Z975
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


@dataclass(frozen=True)
class Interval:
    """Mean of ``values`` and the half-width of its 95% Student-t interval (``nan`` for one
    value: no interval can be given)."""

    mean: float
    half_width: float
    values: tuple[float, ...]

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def overlaps(self, other: Interval) -> bool:
        """True when both intervals are known and share a point (a tie on this measurement)."""
        if math.isnan(self.half_width) or math.isnan(other.half_width):
            return False
        return self.low <= other.high and other.low <= self.high

    def __str__(self) -> str:
        if math.isnan(self.half_width):
            return f"{self.mean:.3f} (1 seed)"
        return f"{self.mean:.3f} ± {self.half_width:.3f}"


def t_interval(values: Sequence[float]) -> Interval:
    """Mean and 95% Student-t interval: mean ± t_{0.975, n-1} · s / √n (s the sample standard
    deviation)."""
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    mean = statistics.fmean(values)
    if n == 1:
        return Interval(mean, math.nan, tuple(values))
    half = t_quantile(n - 1) * statistics.stdev(values) / math.sqrt(n)
    return Interval(mean, half, tuple(float(v) for v in values))


def prepare(data: Dataset, split: Split) -> tuple[torch.Tensor, torch.Tensor]:
    """The images standardised with the training split's mean and deviation, and the labels, as
    tensors: computed once and shared by every ``Trainer`` of a run (the same for every design and
    seed)."""
    x = torch.from_numpy(data.x)
    tr = torch.from_numpy(split.train)
    mean, std = x[tr].mean(), x[tr].std().clamp_min(1e-6)
    return (x - mean) / std, torch.from_numpy(data.y)


class Trainer:
    """One design trained with one seed, continued epoch by epoch: ``advance(epochs)`` trains until
    ``epochs`` in all, ``accuracy(split.validation)`` scores it. The caller seeds torch before
    building the model (the initial weights); this seeds the batch order."""

    def __init__(
        self,
        model: nn.Module,
        data: Dataset,
        split: Split,
        settings: TrainSettings,
        prepared: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> None:
        self.model = model
        self.settings = settings
        self.split = split
        self.x, self.y = prepared if prepared is not None else prepare(data, split)
        self.train_idx = torch.from_numpy(split.train)
        self.optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
        self.order = torch.Generator().manual_seed(settings.seed)
        self.epochs = 0
        self.loss = math.nan
        self.seconds = 0.0

    def advance(self, epochs: int) -> None:
        start = time.perf_counter()
        try:
            while self.epochs < epochs:
                self.model.train()
                perm = self.train_idx[torch.randperm(len(self.train_idx), generator=self.order)]
                for i in range(0, len(perm), self.settings.batch_size):
                    batch = perm[i : i + self.settings.batch_size]
                    loss = F.cross_entropy(self.model(self.x[batch]), self.y[batch])
                    if not torch.isfinite(loss):
                        raise TrialError(f"training diverged: loss is {loss.item()}")
                    self.optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    self.optimizer.step()
                self.loss = float(loss.detach())
                self.epochs += 1
        except (torch.OutOfMemoryError, MemoryError) as err:
            raise TrialError(f"out of memory while training: {err}") from None
        finally:
            self.seconds += time.perf_counter() - start

    def accuracy(self, idx: np.ndarray) -> float:
        self.model.eval()
        correct = 0
        with torch.inference_mode():
            for i in range(0, len(idx), 256):
                batch = torch.from_numpy(idx[i : i + 256])
                correct += int((self.model(self.x[batch]).argmax(1) == self.y[batch]).sum())
        return correct / len(idx)


def accuracy_by_seed(
    configs: dict[str, Config], data: Dataset, seeds: Sequence[int], epochs: int = 2
) -> dict[str, list[float]]:
    """Validation accuracy of each named config, trained once per seed exactly as a search trains a
    design: the seed-to-seed spread is the noise floor any difference between designs has to
    clear."""
    from costmodel import expand
    from costmodel.torch_build import build

    split = split_data(data.y)
    out: dict[str, list[float]] = {}
    for label, config in configs.items():
        network = expand(config, data.size)
        for seed in seeds:
            torch.manual_seed(seed)
            trainer = Trainer(build(network), data, split, TrainSettings(seed=seed))
            trainer.advance(epochs)
            out.setdefault(label, []).append(trainer.accuracy(split.validation))
    return out


def reference_designs(in_channels: int = 1, num_classes: int = 10) -> dict[str, DenseNetConfig]:
    """A tiny and a normal CSPDenseNet for small grey images: the pair whose accuracy gap, against
    the spread between seeds, shows that the short training tells designs apart."""
    from costmodel import DenseNetConfig

    return {
        "tiny (k=2, blocks 1-1-1, 4 stem ch)": DenseNetConfig(
            growth_rate=2,
            block_config=(1, 1, 1),
            num_init_features=4,
            num_classes=num_classes,
            in_channels=in_channels,
        ),
        "normal (csp γ=0.5, k=12, blocks 2-4-4)": DenseNetConfig(
            growth_rate=12,
            block_config=(2, 4, 4),
            num_init_features=16,
            part_ratio=0.5,
            fusion="csp",
            num_classes=num_classes,
            in_channels=in_channels,
        ),
    }
