"""Named model variants, and ``expand``: any config to a ``Network`` at an input size.

``MODELS`` is the table of named variants (timm's ``model_cfgs`` idea): each name maps to a frozen config.
``resolve(name, gamma=..., fusion=..., growth_rate=...)`` returns that config with knobs replaced, and
``expand(config, input_size)`` dispatches on the config's type to its family's expander.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

from costmodel.errors import SpecError, excerpt
from costmodel.families.common import Fusion
from costmodel.families.darknet53 import DarknetConfig, expand_darknet
from costmodel.families.densenet import DenseNetConfig, expand_densenet
from costmodel.families.peleenet import PeleeNetConfig, expand_peleenet
from costmodel.families.resnet import ResNetConfig, expand_resnet
from costmodel.graph import Network, Shape

__all__ = ["EXPANDERS", "MODELS", "ModelEntry", "expand", "register_expander", "resolve"]

EXPANDERS: dict[type, Callable[[Any, Shape], Network]] = {}


def register_expander(config_type: type) -> Callable[[Callable[[Any, Shape], Network]], Any]:
    def deco(fn: Callable[[Any, Shape], Network]) -> Callable[[Any, Shape], Network]:
        if config_type in EXPANDERS:
            raise RuntimeError(f"an expander for {config_type.__name__} is already registered")
        EXPANDERS[config_type] = fn
        return fn

    return deco


register_expander(DenseNetConfig)(expand_densenet)
register_expander(PeleeNetConfig)(expand_peleenet)
register_expander(ResNetConfig)(expand_resnet)
register_expander(DarknetConfig)(expand_darknet)


@dataclass(frozen=True)
class ModelEntry:
    config: Any
    description: str
    default_input: int = 224


def _dn(name: str, blocks: tuple[int, ...], k: int, init: int, csp: bool = False) -> Any:
    extra: dict[str, Any] = {"part_ratio": 0.5, "fusion": Fusion.csp} if csp else {}
    return DenseNetConfig(growth_rate=k, block_config=blocks, num_init_features=init, name=name, **extra)


MODELS: dict[str, ModelEntry] = {
    "densenet121": ModelEntry(_dn("densenet121", (6, 12, 24, 16), 32, 64), "DenseNet-BC-121"),
    "densenet161": ModelEntry(_dn("densenet161", (6, 12, 36, 24), 48, 96), "DenseNet-BC-161"),
    "densenet169": ModelEntry(_dn("densenet169", (6, 12, 32, 32), 32, 64), "DenseNet-BC-169"),
    "densenet201": ModelEntry(_dn("densenet201", (6, 12, 48, 32), 32, 64), "DenseNet-BC-201"),
    "densenet264": ModelEntry(_dn("densenet264", (6, 12, 64, 48), 32, 64), "DenseNet-BC-264"),
    "cspdensenet121": ModelEntry(
        _dn("cspdensenet121", (6, 12, 24, 16), 32, 64, csp=True), "CSPDenseNet-121, γ 0.5, csp"
    ),
    "cspdensenet169": ModelEntry(
        _dn("cspdensenet169", (6, 12, 32, 32), 32, 64, csp=True), "CSPDenseNet-169, γ 0.5, csp"
    ),
    "cspdensenet201": ModelEntry(
        _dn("cspdensenet201", (6, 12, 48, 32), 32, 64, csp=True), "CSPDenseNet-201, γ 0.5, csp"
    ),
    "peleenet": ModelEntry(PeleeNetConfig(), "PeleeNet (NeurIPS 2018)"),
    "csppeleenet": ModelEntry(
        PeleeNetConfig(part_ratio=0.5, fusion=Fusion.csp, name="csppeleenet"),
        "CSPPeleeNet, γ 0.5, csp (paper Table 1)",
    ),
    # The CSPNet authors' ImageNet models (paper Table 2), laid out as their darknet cfgs are.
    "resnet10": ModelEntry(
        ResNetConfig(
            depths=(1, 1, 1, 1),
            widths=(64, 128, 256, 512),
            bottleneck_widths=(64, 128, 256, 512),
            basic=True,
            name="resnet10",
        ),
        "ResNet-10, basic blocks (resnet10.cfg)",
        256,
    ),
    "resnet50": ModelEntry(
        ResNetConfig(classifier_first=True, name="resnet50"), "ResNet-50 (resnet50.cfg)", 256
    ),
    "cspresnet50": ModelEntry(
        ResNetConfig(part_ratio=0.5, fusion=Fusion.csp, head_width=1024, name="cspresnet50"),
        "CSPResNet-50, γ 0.5 (csresnet50.cfg)",
        256,
    ),
    "resnext50": ModelEntry(
        ResNetConfig(bottleneck_widths=(128, 256, 512, 1024), groups=32, name="resnext50"),
        "ResNeXt-50 32×4d (resnext50.cfg)",
        256,
    ),
    "cspresnext50": ModelEntry(
        ResNetConfig(
            bottleneck_widths=(128, 256, 512, 1024),
            groups=32,
            part_ratio=0.5,
            fusion=Fusion.csp,
            head_width=2048,
            name="cspresnext50",
        ),
        "CSPResNeXt-50, γ 0.5 (csresnext50.cfg)",
        256,
    ),
    "darknet53": ModelEntry(DarknetConfig(), "Darknet-53 (darknet53.cfg)", 256),
    "cspdarknet53": ModelEntry(
        DarknetConfig(part_ratio=0.5, fusion=Fusion.csp, name="cspdarknet53"),
        "CSPDarknet-53, γ 0.5 (csdarknet53.cfg)",
        256,
    ),
}

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


def knobs(config: Any) -> tuple[str, ...]:
    """The user-facing knob names a config accepts."""
    names = {f.name for f in fields(config)}
    return tuple(k for k, field_name in KNOBS.items() if field_name in names)


def unknown_model(name: str, known: list[str]) -> SpecError:
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    return SpecError(
        f"unknown model {excerpt(name)}; {hint}run 'cspcost models' to list the {len(known)} names"
    )


def resolve(name: str, **overrides: Any) -> Any:
    """The named variant's config with knobs replaced; ``None`` values are left as they are."""
    entry = MODELS.get(name)
    if entry is None:
        raise unknown_model(name, sorted(MODELS))
    config = entry.config
    changes: dict[str, Any] = {}
    allowed = knobs(config)
    for knob, value in overrides.items():
        if value is None:
            continue
        if knob not in allowed:
            raise SpecError(f"model {name!r} has no knob {knob!r}; it takes {', '.join(allowed)}")
        changes[KNOBS[knob]] = value
    if changes.get("part_ratio", 0) > 0 and "fusion" not in changes and config.fusion == "none":
        changes["fusion"] = Fusion.csp  # a γ on a plain model asks for its CSP version
    if "fusion" in changes and changes["fusion"] == "none" and "part_ratio" not in changes:
        changes["part_ratio"] = 0.0
    if changes:
        config = replace(config, **changes)
    return config


def input_shape(config: Any, size: int | tuple[int, int]) -> Shape:
    h, w = (size, size) if isinstance(size, int) else size
    for v in (h, w):
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise SpecError(f"input size {size!r} must be a positive integer, e.g. 224")
    return Shape(getattr(config, "in_channels", 3), h, w)


def _expander(config: Any) -> Callable[[Any, Shape], Network]:
    fn = EXPANDERS.get(type(config))
    if fn is None:
        raise SpecError(f"no expander is registered for {type(config).__name__}")
    return fn


def _smallest_input(fn: Callable[[Any, Shape], Network], config: Any, shape: Shape) -> int | None:
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


def expand(config: Any, input_size: int | tuple[int, int] = 224) -> Network:
    """The layer graph of ``config`` at ``input_size`` (an int for square inputs, or ``(h, w)``)."""
    fn = _expander(config)
    shape = input_shape(config, input_size)
    try:
        return fn(config, shape)
    except SpecError as err:
        if "too small" not in str(err):
            raise
        least = _smallest_input(fn, config, shape)
        if least is None:
            raise
        raise SpecError(
            f"input {shape.h}×{shape.w} is too small for {getattr(config, 'label', config)}: its "
            f"strides shrink the map to nothing; use an input of at least {least} (e.g. --input "
            f"{least})"
        ) from None
