"""The search space: a base network the user names, the knobs its family has, and every design of
the space enumerated with its analytic costs at the deployment input.

The knobs are the CSPNet paper's (Wang et al., CVPRW 2020, §3.1 and Figure 3): the partial ratio γ
(the fraction of a stage's channels that bypass the dense block), the fusion strategy and the growth
rate, plus optional depth and width multipliers. γ is only asked when the fusion strategy has a
cross-stage path (``none`` is the plain network and forces γ = 0, which the family configs insist
on). The base is any named model or model spec (``costmodel.specs``): ``densenet201``,
``cspdensenet121:growth_rate=24``, ``peleenet``, ``cspresnet50``, a design file, or one of the toy
bases ``tinydensenet`` and ``tinypeleenet`` kept for quick runs.

The space is small (tens to hundreds of designs) and the cost model takes milliseconds per design,
so it is enumerated: its size is printed, over-budget designs are removed before anything is
sampled, and a cost-only front is exact.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

from costmodel import SpecError, analyze, expand
from costmodel.derived import mflops
from costmodel.families.common import FUSIONS, Fusion
from costmodel.families.peleenet import PeleeNetConfig
from costmodel.models import MODELS, Config, resolve, scale
from costmodel.specs import ModelSpec, parse_spec

if TYPE_CHECKING:
    from optuna.trial import Trial

__all__ = [
    "ALIASES",
    "DEPTHS",
    "GAMMAS",
    "WIDTHS",
    "Base",
    "Design",
    "Point",
    "Space",
    "base",
    "design_costs",
    "suggest",
]

GAMMAS: tuple[float, ...] = (0.25, 0.5, 0.75)
"""The paper's γ ablation grid."""
DEPTHS: tuple[float, ...] = (0.5, 1.0, 1.5)
WIDTHS: tuple[float, ...] = (0.5, 1.0, 1.5)
GROWTH_SCALES: tuple[float, ...] = (0.5, 0.75, 1.0, 1.25, 1.5)
"""Default growth rates: the base's k times these, rounded to even (PeleeNet splits k in two)."""

ALIASES: dict[str, str] = {"cspdensenet": "tinydensenet", "csppeleenet": "tinypeleenet"}
"""The toy families' earlier names (``--family``), kept so old commands still run."""


@dataclass(frozen=True)
class Design:
    """One point of the space: the knobs chosen, independent of the data and the input size."""

    fusion: str
    gamma: float
    growth_rate: int | None
    depth: float = 1.0
    width: float = 1.0

    @property
    def label(self) -> str:
        core = self.fusion if self.fusion == Fusion.none else f"{self.fusion} γ={self.gamma:g}"
        if self.growth_rate is not None:
            core += f" k={self.growth_rate}"
        if (self.depth, self.width) != (1.0, 1.0):
            core += f" d×{self.depth:g} w×{self.width:g}"
        return core

    @property
    def params(self) -> dict[str, float | int | str]:
        """The design as Optuna parameters (the same keys for every design of a space)."""
        out: dict[str, float | int | str] = {"fusion": self.fusion}
        if self.fusion != Fusion.none:
            out["gamma"] = self.gamma
        if self.growth_rate is not None:
            out["growth_rate"] = self.growth_rate
        return {**out, "depth": self.depth, "width": self.width}


@dataclass(frozen=True)
class Base:
    """The network the user will ship: a named model (and knobs) whose family's knobs are searched."""

    spec: ModelSpec
    config: Config
    default_input: int

    @property
    def name(self) -> str:
        return self.spec.model

    @property
    def has_growth_rate(self) -> bool:
        return "growth_rate" in {f.name for f in fields(self.config)}

    @property
    def has_width(self) -> bool:
        return "num_init_features" in {f.name for f in fields(self.config)}

    def growth_rates(self) -> tuple[int, ...]:
        """The default growth-rate grid, around the base's own k."""
        if not self.has_growth_rate:
            return ()
        k = self.config.growth_rate  # type: ignore[union-attr]
        return tuple(sorted({max(2, 2 * round(k * s / 2)) for s in GROWTH_SCALES}))

    def config_of(self, design: Design, num_classes: int, in_channels: int) -> Config:
        """The config of ``design`` for data with ``num_classes`` and ``in_channels``."""
        changes: dict[str, object] = {
            "part_ratio": design.gamma,
            "fusion": Fusion(design.fusion),
            "num_classes": num_classes,
            "in_channels": in_channels,
        }
        if design.growth_rate is not None:
            changes["growth_rate"] = design.growth_rate
        config = replace(self.config, **changes)  # type: ignore[arg-type]
        return scale(config, design.depth, design.width)

    def deployed(self, design: Design) -> Config:
        """The config of ``design`` as the user ships it: the base's own classes and channels."""
        return self.config_of(design, self.config.num_classes, self.config.in_channels)

    def spec_of(self, design: Design, input_size: int) -> ModelSpec:
        """The model spec that names ``design`` at ``input_size`` (what a design file holds)."""
        depth = (self.spec.depth or 1.0) * design.depth
        width = (self.spec.width or 1.0) * design.width
        return ModelSpec(
            self.spec.model,
            gamma=design.gamma,
            fusion=design.fusion,
            growth_rate=design.growth_rate,
            input_size=input_size,
            depth=None if depth == 1.0 else depth,
            width=None if width == 1.0 else width,
            cfg=False,
        )


def base(word: str) -> Base:
    """The base named by ``word`` (a model, a model spec or a design file); ``SpecError`` otherwise."""
    word = ALIASES.get(word, word)
    spec = parse_spec(word)
    if spec.cfg:
        raise SpecError(
            f"--base {word[:80]} is a darknet cfg file, which has no searchable knobs; name a model "
            f"such as densenet121 or peleenet (cspcost models lists them)"
        )
    config = resolve(spec.model, gamma=spec.gamma, fusion=spec.fusion, growth_rate=spec.growth_rate)
    config = scale(config, spec.depth or 1.0, spec.width or 1.0)
    default_input = spec.input_size or MODELS[spec.model].default_input
    return Base(replace(spec, gamma=None, fusion=None, growth_rate=None), config, default_input)


@dataclass(frozen=True)
class Space:
    """A base and the grid of each knob: γ, growth rate, depth and width multipliers."""

    base: Base
    gammas: tuple[float, ...] = GAMMAS
    growth_rates: tuple[int, ...] | None = None
    depths: tuple[float, ...] = (1.0,)
    widths: tuple[float, ...] = (1.0,)

    def __post_init__(self) -> None:
        for g in self.gammas:
            if not 0.0 <= g < 1.0:
                raise SpecError(f"--gammas holds {g:g}, outside [0, 1); use e.g. 0.25,0.5,0.75")
        if not self.gammas:
            raise SpecError("--gammas is empty; give e.g. 0.25,0.5,0.75")
        if self.growth_rates is not None and not self.base.has_growth_rate:
            raise SpecError(
                f"--growth-rates does not apply to {self.base.name}: its family has no growth rate; "
                f"drop the option (it searches γ and fusion)"
            )
        if self.growth_rates is not None and any(k < 1 for k in self.growth_rates):
            raise SpecError(f"--growth-rates {self.growth_rates} must be positive integers, e.g. 16,24,32")
        even = isinstance(self.base.config, PeleeNetConfig)
        if even and self.growth_rates and any(k % 2 for k in self.growth_rates):
            raise SpecError(
                f"--growth-rates {','.join(map(str, self.growth_rates))}: {self.base.name} needs even "
                f"growth rates (PeleeNet splits k between two branches)"
            )
        if self.widths != (1.0,) and not self.base.has_width:
            raise SpecError(f"{self.base.name} has no width multiplier; drop --multipliers or use depth only")

    @property
    def ks(self) -> tuple[int | None, ...]:
        if not self.base.has_growth_rate:
            return (None,)
        return self.growth_rates or self.base.growth_rates()

    def designs(self) -> Iterator[Design]:
        """Every design of the discrete space, in a fixed order."""
        for depth, width, fusion, k in itertools.product(self.depths, self.widths, FUSIONS, self.ks):
            gammas = (0.0,) if fusion == Fusion.none else tuple(g for g in self.gammas if g > 0)
            for gamma in gammas:
                yield Design(fusion, gamma, k, depth, width)

    @property
    def size(self) -> int:
        return sum(1 for _ in self.designs())

    def points(self, input_size: int) -> list[Point]:
        """Every design, as deployed (the base's own classes and channels), with its analytic costs
        at ``input_size`` (batch 1); designs the family cannot build (a γ that leaves a part
        empty) are left out. Costed once per process for each space and input: a run asks for
        them when it checks the budget, in its worker and in its summary."""
        return list(_points(self, input_size))


@dataclass(frozen=True)
class Point:
    """A design and its analytic costs at the deployment input (``macs``, ``mflops`` = 2·MACs/1e6,
    ``params``, ``cio`` over conv and pool layers; batch 1)."""

    design: Design
    costs: dict[str, float]

    def within(self, budgets: dict[str, float]) -> bool:
        return all(self.costs[k] <= v for k, v in budgets.items() if k in self.costs)


@functools.lru_cache(maxsize=8)
def _points(space: Space, input_size: int) -> tuple[Point, ...]:
    out = []
    for design in space.designs():
        try:
            costs = design_costs(space.base.deployed(design), input_size)
        except SpecError:
            continue
        out.append(Point(design, costs))
    return tuple(out)


def design_costs(config: Config, size: int) -> dict[str, float]:
    """The analytic costs of ``config`` at ``size`` px, batch 1."""
    t = analyze(expand(config, size)).totals
    return {"macs": t.macs, "mflops": mflops(t), "params": t.params, "cio": t.cio_conv_pool}


def suggest(trial: Trial, space: Space) -> Design:
    """Ask ``trial`` (an ``optuna.Trial``) for a design, define-by-run."""
    fusion = trial.suggest_categorical("fusion", list(FUSIONS))
    gammas = [g for g in space.gammas if g > 0]
    gamma = 0.0 if fusion == Fusion.none else trial.suggest_categorical("gamma", gammas)
    k = trial.suggest_categorical("growth_rate", list(space.ks)) if space.base.has_growth_rate else None
    depth = trial.suggest_categorical("depth", list(space.depths))
    width = trial.suggest_categorical("width", list(space.widths))
    return Design(str(fusion), float(gamma), None if k is None else int(k), float(depth), float(width))
