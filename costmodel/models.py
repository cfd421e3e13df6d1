"""Named model variants and ``expand``: any config to a ``Network`` at an input size.

Each family registers its own variants and expander beside its config (``costmodel.registry``);
importing the families here fills the tables. ``resolve(name, gamma=..., fusion=...,
growth_rate=...)`` returns a named variant's config with knobs replaced, and ``expand(config,
input_size)`` dispatches on the config's type to its family's expander.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, fields, replace
from typing import cast

from costmodel.errors import EmptyMapError, SpecError, excerpt
from costmodel.families.common import Fusion
from costmodel.families.darknet53 import DarknetConfig
from costmodel.families.densenet import DenseNetConfig
from costmodel.families.peleenet import PeleeNetConfig
from costmodel.families.resnet import ResNetConfig
from costmodel.layer import Network, Shape
from costmodel.registry import EXPANDERS, MODELS, Expander, ModelEntry

__all__ = [
    "KNOBS",
    "MODELS",
    "Config",
    "ModelEntry",
    "ModelInfo",
    "expand",
    "knobs",
    "model_list",
    "resolve",
    "scale",
    "unknown_model",
]

Config = DenseNetConfig | PeleeNetConfig | ResNetConfig | DarknetConfig
"""Every family config the engine expands."""

KNOBS: dict[str, str] = {
    "gamma": "part_ratio",
    "fusion": "fusion",
    "growth_rate": "growth_rate",
    "block_config": "block_config",
    "bn_size": "bn_size",
    "compression": "compression",
    "partial_compression": "partial_compression",
    "num_classes": "num_classes",
}
"""User-facing knob → config field. The knob is spelled ``gamma`` everywhere a user types it (CLI,
``resolve``, model specs, JSON); ``part_ratio`` is only the config field (the paper's name)."""

KnobValue = float | int | str | tuple[int, ...] | None


def knobs(config: Config) -> tuple[str, ...]:
    """The user-facing knob names a config accepts."""
    names = {f.name for f in fields(config)}
    return tuple(k for k, field_name in KNOBS.items() if field_name in names)


@dataclass(frozen=True)
class ModelInfo:
    """One named variant as ``cspcost models`` lists it."""

    name: str
    description: str
    knobs: tuple[str, ...]
    summary: str


def model_list() -> list[ModelInfo]:
    """Every named variant, in registration order, with the knobs it takes."""
    return [
        ModelInfo(name, e.description, knobs(cast(Config, e.config)), e.config.summary)
        for name, e in MODELS.items()
    ]


def unknown_model(name: str) -> SpecError:
    known = sorted(MODELS)
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    return SpecError(
        f"unknown model {excerpt(name)}; {hint}run 'cspcost models' to list the {len(known)} names"
    )


def entry(name: str) -> ModelEntry:
    """The registered variant called ``name``; a ``SpecError`` with suggestions otherwise."""
    found = MODELS.get(name)
    if found is None:
        raise unknown_model(name)
    return found


def resolve(name: str, **overrides: KnobValue) -> Config:
    """The named variant's config with knobs replaced; ``None`` values are left as they are."""
    config = cast(Config, entry(name).config)
    changes: dict[str, KnobValue] = {}
    allowed = knobs(config)
    for knob, value in overrides.items():
        if value is None:
            continue
        if knob not in allowed:
            raise SpecError(f"model {name!r} has no knob {knob!r}; it takes {', '.join(allowed)}")
        changes[KNOBS[knob]] = value
    gamma = changes.get("part_ratio", 0)
    if isinstance(gamma, int | float) and gamma > 0 and "fusion" not in changes and config.fusion == "none":
        changes["fusion"] = Fusion.csp  # a γ on a plain model asks for its CSP version
    if "fusion" in changes and changes["fusion"] == "none" and "part_ratio" not in changes:
        changes["part_ratio"] = 0.0
    if changes:
        config = replace(config, **changes)  # type: ignore[arg-type]
    return config


def _scaled(n: int, factor: float, least: int) -> int:
    return max(least, round(n * factor))


def scale(config: Config, depth: float = 1.0, width: float = 1.0) -> Config:
    """``config`` with every stage's block count × ``depth`` (at least one block) and, for the dense
    families, the stem's channels × ``width`` (the growth rate is its own knob). A multiplier the
    family has no field for is a ``SpecError``."""
    for what, value in (("depth", depth), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 8:
            raise SpecError(f"{what} multiplier {value!r} must be a number in (0, 8], e.g. 0.5 or 1.5")
    if (depth, width) == (1.0, 1.0):
        return config
    changes: dict[str, object] = {}
    if depth != 1.0:
        blocks = "block_config" if hasattr(config, "block_config") else "depths"
        changes[blocks] = tuple(_scaled(n, depth, 1) for n in getattr(config, blocks))
    if width != 1.0:
        if not isinstance(config, DenseNetConfig | PeleeNetConfig):
            raise SpecError(
                f"{config.name} has no width multiplier (only the dense families scale their stem); "
                f"drop width= or --widths"
            )
        init = _scaled(config.num_init_features, width, 2)
        if isinstance(config, PeleeNetConfig):
            init += init % 2  # PeleeNet's stem splits its channels in two
        changes["num_init_features"] = init
    return replace(config, **changes)  # type: ignore[arg-type]


def input_shape(config: Config, size: int | tuple[int, int]) -> Shape:
    h, w = (size, size) if isinstance(size, int) else size
    for v in (h, w):
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise SpecError(f"input size {size!r} must be a positive integer, e.g. 224")
    return Shape(config.in_channels, h, w)


def _expander(config: Config) -> Expander:
    fn = EXPANDERS.get(type(config))
    if fn is None:
        raise SpecError(f"no expander is registered for {type(config).__name__}")
    return fn


def _smallest_input(fn: Expander, config: Config, shape: Shape) -> int | None:
    size = max(shape.h, shape.w)
    for _ in range(12):
        size *= 2
        try:
            fn(config, Shape(shape.c, size, size))
        except SpecError:
            continue
        lo, hi = max(shape.h, shape.w), size
        while hi - lo > 1:
            mid = (lo + hi) // 2
            try:
                fn(config, Shape(shape.c, mid, mid))
                hi = mid
            except SpecError:
                lo = mid
        return hi
    return None


def expand(config: Config, input_size: int | tuple[int, int] = 224) -> Network:
    """The layer graph of ``config`` at ``input_size`` (an int for square inputs, or ``(h, w)``)."""
    fn = _expander(config)
    shape = input_shape(config, input_size)
    try:
        return fn(config, shape)
    except EmptyMapError:
        least = _smallest_input(fn, config, shape)
        if least is None:
            raise
        raise SpecError(
            f"input {shape.h}×{shape.w} is too small for {config.label}: its "
            f"strides shrink the map to nothing; use an input of at least {least} (e.g. --input "
            f"{least})"
        ) from None
