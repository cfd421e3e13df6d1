"""A short, seeded training run that scores a design by held-out accuracy.

Not a benchmark result: a few epochs of Adam on a fixed stratified split, enough to rank designs of
one family against each other on the same data (the CSPNet paper compares γ and fusion by ImageNet
top-1; this is the laptop-sized stand-in). The same seed gives the same split, the same initial
weights and the same batch order, so two trials of one design agree.
"""

from __future__ import annotations

import math
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
    "TrainResult",
    "TrainSettings",
    "TrialError",
    "accuracy_by_seed",
    "holdout_split",
    "reference_designs",
    "train_and_score",
]


class TrialError(RuntimeError):
    """A design that could not be evaluated (NaN loss, out of memory): the trial fails, the study
    goes on."""


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 2
    batch_size: int = 64
    lr: float = 3e-3
    holdout: float = 0.2
    seed: int = 0


@dataclass(frozen=True)
class TrainResult:
    accuracy: float
    loss: float
    seconds: float
    train_images: int
    holdout_images: int


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


def train_and_score(model: nn.Module, data: Dataset, settings: TrainSettings) -> TrainResult:
    """Train ``model`` on the training split of ``data`` and return its held-out accuracy."""
    start = time.perf_counter()
    train_idx, test_idx = holdout_split(data.y, settings.holdout, settings.seed)
    x = torch.from_numpy(data.x)
    y = torch.from_numpy(data.y)
    mean, std = x[train_idx].mean(), x[train_idx].std().clamp_min(1e-6)
    x = (x - mean) / std
    torch.manual_seed(settings.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    order = torch.Generator().manual_seed(settings.seed)
    tr = torch.from_numpy(train_idx)
    loss = torch.tensor(math.nan)
    try:
        for _ in range(settings.epochs):
            model.train()
            perm = tr[torch.randperm(len(tr), generator=order)]
            for i in range(0, len(perm), settings.batch_size):
                batch = perm[i : i + settings.batch_size]
                loss = F.cross_entropy(model(x[batch]), y[batch])
                if not torch.isfinite(loss):
                    raise TrialError(f"training diverged: loss is {loss.item()}")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        model.eval()
        correct = 0
        with torch.inference_mode():
            for i in range(0, len(test_idx), 256):
                batch = torch.from_numpy(test_idx[i : i + 256])
                correct += int((model(x[batch]).argmax(1) == y[batch]).sum())
    except (torch.OutOfMemoryError, MemoryError) as err:
        raise TrialError(f"out of memory while training: {err}") from None
    return TrainResult(
        correct / len(test_idx),
        float(loss.detach()),
        time.perf_counter() - start,
        len(train_idx),
        len(test_idx),
    )


def accuracy_by_seed(
    configs: dict[str, Config], data: Dataset, seeds: Sequence[int], epochs: int = 2
) -> dict[str, list[float]]:
    """Held-out accuracy of each named config, trained once per seed: the seed-to-seed spread is
    the noise floor any difference between designs has to clear."""
    from costmodel import expand
    from costmodel.torch_build import build

    out: dict[str, list[float]] = {}
    for label, config in configs.items():
        network = expand(config, data.size)
        for seed in seeds:
            torch.manual_seed(seed)
            result = train_and_score(build(network), data, TrainSettings(epochs=epochs, seed=seed))
            out.setdefault(label, []).append(result.accuracy)
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
