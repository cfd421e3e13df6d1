"""Building blocks in the darknet style of the CSPNet authors' ImageNet cfgs, shared by the cfg
reader (``costmodel.darknet``) and the native ResNet/ResNeXt/Darknet families, so both make the same
layers from the same rules.

- ``conv_norm_act``: conv → BN → activation (darknet's ``[convolutional]``); without BN the conv
  has a bias, and a ``linear`` activation makes no layer. Names ``prefix.conv``, ``prefix.norm``,
  ``prefix.act``.
- ``darknet_maxpool``: darknet's ``[maxpool]`` output rule, ``(H + P − size)//stride + 1`` with
  total padding ``P`` (default ``size − 1``) of which ``P//2`` lies on the top/left
  (``src/maxpool_layer.c``), expressed as torch's ``padding``/``ceil_mode`` when that is exact.
- ``csp_split``: CSP's γ split of a cross-stage width, rounded as ``families.common`` rounds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from costmodel.errors import SpecError, positive_int
from costmodel.families.common import Fusion, check_csp, split_channels
from costmodel.families.densenet import check_blocks
from costmodel.graph import GraphBuilder, Network
from costmodel.kinds import pool_size

if TYPE_CHECKING:
    from costmodel.families.darknet53 import DarknetConfig
    from costmodel.families.resnet import ResNetConfig

__all__ = [
    "DarknetLayout",
    "check_stage_config",
    "classifier_head",
    "conv_norm_act",
    "csp_split",
    "darknet_maxpool",
]


def conv_norm_act(
    g: GraphBuilder,
    prefix: str,
    src: str,
    out_c: int,
    kernel: int = 1,
    stride: int = 1,
    padding: int | None = None,
    groups: int = 1,
    act: str = "leaky",
    norm: bool = True,
) -> str:
    """darknet's ``[convolutional]``: conv (bias iff no BN) → BN → act (none when ``linear``)."""
    x = g.conv(f"{prefix}.conv", src, out_c, kernel, stride, padding, groups, bias=not norm)
    if norm:
        x = g.bn(f"{prefix}.norm", x)
    return x if act == "linear" else g.act(f"{prefix}.act", x, act)


def darknet_maxpool(
    g: GraphBuilder, name: str, src: str, size: int, stride: int, padding: int | None = None
) -> str:
    """A max pool with darknet's output size and window placement: a torch ``MaxPool2d``
    (``padding``/``ceil_mode``) where one reproduces it exactly, else the explicit split of the total
    padding, ``P//2`` top/left and the rest bottom/right (e.g. size 2, stride 1: darknet pads only
    the bottom/right), which the torch twin mirrors with an explicit pad."""
    total = size - 1 if padding is None else padding
    s = g.shape(src)
    pad = total // 2
    want = [(d + total - size) // stride + 1 for d in (s.h, s.w)]
    for ceil_mode in (False, True):
        sizes = [pool_size(d, size, stride, pad, ceil_mode) for d in (s.h, s.w)]
        if sizes == want and pad <= size // 2:
            return g.maxpool(name, src, size, stride, pad, ceil_mode)
    if min(want) <= 0:
        raise SpecError(
            f"maxpool size={size} stride={stride} padding={total} on a {s.h}×{s.w} map leaves nothing; "
            f"use a larger input or a smaller window"
        )
    return g.pool("maxpool", name, src, size, stride, pad, pad_end=total - pad)


def csp_split(width: int, gamma: float, where: str) -> tuple[int, int]:
    """``(p₁, p₂)`` of a cross-stage width: ``p₁ = ⌊γ·width + ½⌋`` bypasses the blocks."""
    p1, p2 = split_channels(width, gamma)
    if p1 <= 0 or p2 <= 0:
        raise SpecError(
            f"γ = {gamma} splits the {width} channels of {where} into {p1} + {p2}: a part rounds "
            f"to zero channels; use a γ between {1 / width:.3g} and {1 - 1 / width:.3g}"
        )
    return p1, p2


def classifier_head(g: GraphBuilder, x: str, num_classes: int, classifier_first: bool = False) -> Network:
    """The authors' ImageNet head, then the finished network: global pool → 1×1 conv with bias →
    flatten → softmax, or the conv before the pool (``classifier_first``, as ``resnet50.cfg``)."""
    if classifier_first:
        x = conv_norm_act(g, "head.fc", x, num_classes, act="linear", norm=False)
        x = g.gap("head.pool", x)
    else:
        x = g.gap("head.pool", x)
        x = conv_norm_act(g, "head.fc", x, num_classes, act="linear", norm=False)
    g.softmax("head.softmax", g.flatten("head.flatten", x))
    return g.build()


def check_stage_config(cfg: ResNetConfig | DarknetConfig, per_stage: tuple[str, ...], family: str) -> None:
    """What the darknet-layout families validate alike: ``depths``, one entry per stage in each of
    ``per_stage``, positive ``stem_width``/``num_classes``/``in_channels``, and γ with fusion
    ``csp`` (the only fusion the authors' cfgs use)."""
    check_blocks(cfg.depths)
    for field_name in per_stage:
        value = getattr(cfg, field_name)
        if not isinstance(value, tuple) or len(value) != len(cfg.depths):
            raise SpecError(f"{field_name} = {value!r} needs one entry per stage of depths {cfg.depths}")
    positive_int("stem_width", cfg.stem_width, "use e.g. 64")
    positive_int("num_classes", cfg.num_classes, "use e.g. 1000")
    positive_int("in_channels", cfg.in_channels, "use 3 for RGB")
    check_csp(cfg.part_ratio, cfg.fusion)
    if cfg.fusion not in (Fusion.none, Fusion.csp):
        raise SpecError(
            f"fusion {cfg.fusion!r}: {family} CSP stages follow the authors' cfgs "
            f"(transition → concat); use fusion csp"
        )


class DarknetLayout:
    """Shared read-only properties of the darknet-layout configs (frozen dataclasses with ``name``,
    ``depths``, ``widths`` and ``part_ratio``): γ > 0 means the CSP version."""

    name: str
    depths: tuple[int, ...]
    widths: tuple[int, ...]
    part_ratio: float

    @property
    def csp(self) -> bool:
        return self.part_ratio > 0

    @property
    def label(self) -> str:
        return f"{self.name}(γ={self.part_ratio:g})" if self.csp else self.name

    @property
    def summary(self) -> str:
        """One line for ``cspcost models``."""
        out = f"depths={self.depths}, widths={self.widths}"
        groups = getattr(self, "groups", 1)
        if groups > 1:
            out += f", groups={groups}"
        return out + (f", γ={self.part_ratio:g}" if self.csp else "")
