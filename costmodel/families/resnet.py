"""ResNet, ResNeXt and their CSP versions as the CSPNet authors built them in darknet (CSPNet paper
Table 2; cfgs ``resnet10``, ``resnet50``, ``resnext50``, ``csresnet50``, ``csresnext50``).

Layout (every conv is conv → BN → leaky ReLU unless said otherwise, see ``darknet_blocks``):

- Stem: 7×7/2 conv (``stem_width``) → 2×2/2 max pool with darknet's padding rule.
- Plain stage ``s`` of ``depths[s]`` blocks with output ``widths[s]``: a bottleneck block is
  1×1 (``bottleneck_widths[s]``) → 3×3 (same, ``groups`` for ResNeXt, stride 2 in the first block of
  stages 2…) → 1×1 (``widths[s]``, linear) → add the block input → leaky; a basic block
  (``basic=True``, ResNet-10) is 3×3 → 3×3 (linear) → add → leaky. The authors' cfgs have no
  projection shortcuts: a narrower or larger block input is zero-padded and subsampled (darknet's
  ``[shortcut]``, ResNet's "option A"; ``GraphBuilder.shortcut``).
- CSP stage (``part_ratio`` γ > 0): the cross-stage width ``widths[s]`` splits into
  ``p₁ = ⌊γ·w + ½⌋`` and ``p₂ = w − p₁``. Stage 1 makes part 1 with a 1×1 conv (``p₁``) from the
  stem and enters part 2 with a 1×1 conv of ``⌊p₂/2⌋`` channels (64 at γ = 0.5, as both cfgs);
  later stages first downsample with 1×1 (bottleneck) → 3×3/2 and make both parts with 1×1 convs
  from it (linear where ``linear_parts`` says so: the cfgs use linear in stages 2 and 3 only).
  Part 2 runs the stage's remaining bottleneck blocks with output ``p₂``, then a 1×1 transition
  (``p₂``), and the stage ends with concat(transition, part 1). The next stage's first 1×1 fuses
  it; after the last stage a 1×1 conv of ``head_width`` does (1024 in csresnet50, 2048 in
  csresnext50).
- Head: global average pool → 1×1 conv classifier with bias → flatten → softmax; ``classifier_first`` puts
  the classifier before the pool, as ``resnet50.cfg`` does (hence its 10.00, not 9.74, BFLOPs).

Layer costs equal the cfg twins layer for layer (``tests/costmodel/test_native_families.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from costmodel.errors import SpecError, positive_int
from costmodel.families.common import Fusion
from costmodel.families.darknet_blocks import (
    DarknetLayout,
    check_stage_config,
    classifier_head,
    conv_norm_act,
    csp_split,
    darknet_maxpool,
)
from costmodel.graph import INPUT, GraphBuilder, Network, Shape
from costmodel.registry import register_expander, register_model

__all__ = ["ResNetConfig", "expand_resnet"]


@dataclass(frozen=True)
class ResNetConfig(DarknetLayout):
    """ResNet/ResNeXt in the authors' darknet layout; ``part_ratio`` γ > 0 makes it CSP."""

    depths: tuple[int, ...] = (3, 4, 6, 3)
    widths: tuple[int, ...] = (256, 512, 1024, 2048)
    bottleneck_widths: tuple[int, ...] = (64, 128, 256, 512)
    basic: bool = False
    groups: int = 1
    stem_width: int = 64
    part_ratio: float = 0.0
    fusion: Fusion | str = Fusion.none
    linear_parts: tuple[bool, ...] = (False, True, True, False)
    head_width: int = 0
    classifier_first: bool = False
    num_classes: int = 1000
    in_channels: int = 3
    name: str = "resnet50"

    def __post_init__(self) -> None:
        check_stage_config(self, ("widths", "bottleneck_widths", "linear_parts"), "ResNet")
        for w in (*self.widths, *self.bottleneck_widths):
            positive_int("a stage width", w, "use e.g. 256")
        positive_int("groups", self.groups, "use 1 (ResNet) or 32 (ResNeXt)")
        if isinstance(self.head_width, bool) or not isinstance(self.head_width, int) or self.head_width < 0:
            raise SpecError(f"head_width = {self.head_width!r} must be an integer ≥ 0 (0: none)")
        if self.part_ratio > 0 and self.basic:
            raise SpecError("CSP versions exist for bottleneck ResNets only; use basic=False")


def _block(
    g: GraphBuilder, cfg: ResNetConfig, prefix: str, src: str, stage: int, out_c: int, stride: int
) -> str:
    b = cfg.bottleneck_widths[stage]
    if cfg.basic:
        x = conv_norm_act(g, f"{prefix}.conv1", src, out_c, 3, stride)
        x = conv_norm_act(g, f"{prefix}.conv2", x, out_c, 3, act="linear")
    else:
        x = conv_norm_act(g, f"{prefix}.conv1", src, b, 1)
        x = conv_norm_act(g, f"{prefix}.conv2", x, b, 3, stride, groups=cfg.groups)
        x = conv_norm_act(g, f"{prefix}.conv3", x, out_c, 1, act="linear")
    x = g.shortcut(f"{prefix}.add", x, [src])
    return g.act(f"{prefix}.act", x, "leaky")


def _csp_stage(g: GraphBuilder, cfg: ResNetConfig, s: int, src: str) -> str:
    p = f"stages.{s}"
    p1, p2 = csp_split(cfg.widths[s], cfg.part_ratio, f"stage {s + 1}")
    act = "linear" if cfg.linear_parts[s] else "leaky"
    blocks = cfg.depths[s]
    if s == 0:
        base = src
        part1 = conv_norm_act(g, f"{p}.part1", base, p1, act=act)
        x = conv_norm_act(g, f"{p}.part2", base, max(1, p2 // 2), act=act)
    else:
        b = cfg.bottleneck_widths[s]
        x = conv_norm_act(g, f"{p}.down.conv1", src, b, 1)
        base = conv_norm_act(g, f"{p}.down.conv2", x, b, 3, 2, groups=cfg.groups)
        part1 = conv_norm_act(g, f"{p}.part1", base, p1, act=act)
        x = conv_norm_act(g, f"{p}.part2", base, p2, act=act)
        blocks -= 1  # the downsample is the first block's 1×1 → 3×3
    for j in range(blocks):
        x = _block(g, cfg, f"{p}.blocks.{j}", x, s, p2, 1)
    x = conv_norm_act(g, f"{p}.transition", x, p2)
    return g.concat(f"{p}.cat", [x, part1])


@register_expander(ResNetConfig)
def expand_resnet(cfg: ResNetConfig, shape: Shape) -> Network:
    g = GraphBuilder(cfg.label, shape)
    g.stage = "stem"
    x = conv_norm_act(g, "stem", INPUT, cfg.stem_width, 7, 2)
    x = darknet_maxpool(g, "stem.pool", x, 2, 2)
    for s, depth in enumerate(cfg.depths):
        g.stage = f"stage{s + 1}"
        if cfg.csp:
            x = _csp_stage(g, cfg, s, x)
            continue
        for j in range(depth):
            stride = 2 if s > 0 and j == 0 else 1
            x = _block(g, cfg, f"stages.{s}.blocks.{j}", x, s, cfg.widths[s], stride)
    g.stage = "head"
    if cfg.head_width:
        x = conv_norm_act(g, "head.conv", x, cfg.head_width)
    return classifier_head(g, x, cfg.num_classes, cfg.classifier_first)


# The CSPNet authors' ImageNet models (paper Table 2), laid out as their darknet cfgs are.
register_model(
    "resnet10",
    ResNetConfig(
        depths=(1, 1, 1, 1),
        widths=(64, 128, 256, 512),
        bottleneck_widths=(64, 128, 256, 512),
        basic=True,
        name="resnet10",
    ),
    "ResNet-10, basic blocks (resnet10.cfg)",
    256,
)
register_model(
    "resnet50", ResNetConfig(classifier_first=True, name="resnet50"), "ResNet-50 (resnet50.cfg)", 256
)
register_model(
    "cspresnet50",
    ResNetConfig(part_ratio=0.5, fusion=Fusion.csp, head_width=1024, name="cspresnet50"),
    "CSPResNet-50, γ 0.5 (csresnet50.cfg)",
    256,
)
register_model(
    "resnext50",
    ResNetConfig(bottleneck_widths=(128, 256, 512, 1024), groups=32, name="resnext50"),
    "ResNeXt-50 32×4d (resnext50.cfg)",
    256,
)
register_model(
    "cspresnext50",
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
)
