"""The search space: an Optuna trial becomes a CSP design, and a design becomes a family config.

The knobs are the CSPNet paper's (Wang et al., CVPRW 2020, §3.1 and Figure 3): the partial ratio γ
(the fraction of a stage's channels that bypass the dense block), the fusion strategy and the growth
rate, plus optional depth and width multipliers. The space is define-by-run: γ is asked only when
the fusion strategy has a cross-stage path (``none`` is plain DenseNet/PeleeNet and forces γ = 0,
which the family configs insist on).

The base networks are small versions of each family sized for 28–32 px inputs and a few seconds of
CPU training: three stages, 16 stem channels. DenseNet's stem halves the input twice and each
transition halves it again, so a 32 px input reaches the last stage at 2×2.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from costmodel import DenseNetConfig, PeleeNetConfig, SpecError
from costmodel.families.common import FUSIONS, Fusion

if TYPE_CHECKING:
    from optuna.trial import Trial

__all__ = ["DEPTHS", "FAMILIES", "GAMMAS", "WIDTHS", "Design", "Family", "family", "suggest"]

GAMMAS: tuple[float, ...] = (0.25, 0.5, 0.75)
"""The paper's γ ablation grid."""
DEPTHS: tuple[float, ...] = (0.5, 1.0, 1.5)
WIDTHS: tuple[float, ...] = (0.5, 1.0, 1.5)


@dataclass(frozen=True)
class Design:
    """One point of the space: what the trial chose, independent of the data."""

    fusion: str
    gamma: float
    growth_rate: int
    depth: float = 1.0
    width: float = 1.0

    @property
    def label(self) -> str:
        core = (
            f"{self.fusion} k={self.growth_rate}"
            if self.fusion == Fusion.none
            else f"{self.fusion} γ={self.gamma:g} k={self.growth_rate}"
        )
        if (self.depth, self.width) != (1.0, 1.0):
            core += f" d×{self.depth:g} w×{self.width:g}"
        return core


@dataclass(frozen=True)
class Family:
    """A searchable family: a small base config and the growth rates worth trying on it."""

    name: str
    description: str
    base: DenseNetConfig | PeleeNetConfig
    growth_rates: tuple[int, ...]
    even_width: bool = False

    def config(self, design: Design, num_classes: int, in_channels: int) -> DenseNetConfig | PeleeNetConfig:
        """The family config of ``design`` for data with ``num_classes`` and ``in_channels``."""
        blocks = tuple(max(1, round(n * design.depth)) for n in self.base.block_config)
        init = max(2, round(self.base.num_init_features * design.width))
        if self.even_width:
            init += init % 2
        return replace(
            self.base,
            growth_rate=design.growth_rate,
            block_config=blocks,
            num_init_features=init,
            num_classes=num_classes,
            in_channels=in_channels,
            part_ratio=design.gamma,
            fusion=Fusion(design.fusion),
            name=self.name,
        )

    def designs(self, multipliers: bool = False) -> Iterator[Design]:
        """Every design of the discrete space, in a fixed order."""
        scales = itertools.product(DEPTHS, WIDTHS) if multipliers else [(1.0, 1.0)]
        for (depth, width), fusion, k in itertools.product(scales, FUSIONS, self.growth_rates):
            for gamma in (0.0,) if fusion == Fusion.none else GAMMAS:
                yield Design(fusion, gamma, k, depth, width)


FAMILIES: dict[str, Family] = {
    "cspdensenet": Family(
        "cspdensenet",
        "DenseNet-BC, 3 blocks (2, 4, 4), 16 stem channels, bottleneck 4k, θ 0.5",
        DenseNetConfig(growth_rate=12, block_config=(2, 4, 4), num_init_features=16),
        (4, 8, 12, 16, 24, 32),
    ),
    "csppeleenet": Family(
        "csppeleenet",
        "PeleeNet, 3 stages (2, 2, 4), bottleneck widths (1, 2, 4), 32 stem channels",
        PeleeNetConfig(
            growth_rate=16, block_config=(2, 2, 4), bottleneck_width=(1, 2, 4), num_init_features=32
        ),
        (8, 12, 16, 24, 32, 48),
        even_width=True,
    ),
}


def family(name: str) -> Family:
    """The family called ``name``; a ``SpecError`` naming the known ones otherwise."""
    try:
        return FAMILIES[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(FAMILIES), n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise SpecError(f"unknown family {name!r}; {hint}pick one of {', '.join(FAMILIES)}") from None


def suggest(trial: Trial, fam: Family, multipliers: bool = False) -> Design:
    """Ask ``trial`` (an ``optuna.Trial``) for a design, define-by-run."""
    fusion = trial.suggest_categorical("fusion", list(FUSIONS))
    gamma = 0.0 if fusion == Fusion.none else trial.suggest_categorical("gamma", list(GAMMAS))
    k = trial.suggest_categorical("growth_rate", list(fam.growth_rates))
    depth = trial.suggest_categorical("depth", list(DEPTHS)) if multipliers else 1.0
    width = trial.suggest_categorical("width", list(WIDTHS)) if multipliers else 1.0
    return Design(str(fusion), float(gamma), int(k), float(depth), float(width))
