"""Darknet-53 (YOLOv3's backbone, Redmon & Farhadi 2018) and CSPDarknet-53 (CSPNet paper Table 2),
as the authors' cfgs ``darknet53`` and ``csdarknet53`` build them.

Every conv is conv → BN → leaky ReLU (``darknet_blocks``). Stem: 3×3 conv (``stem_width``). Stage
``s`` opens with a 3×3/2 conv to ``widths[s]``; a residual block is 1×1 (hidden) → 3×3 (out) → add
the block input (linear: no activation after the add). Plain: hidden ``widths[s]/2``, out
``widths[s]``.

CSP stage (``part_ratio`` γ > 0), timm's ``cspdarknet53`` parameterisation: the cross-stage width is
``E = expand_ratios[s]·widths[s]`` (2× in stage 1, 1× after), split into ``p₁ = ⌊γ·E + ½⌋`` and
``p₂ = E − p₁``. Both parts are 1×1 convs from the downsampling conv; part 2 runs ``depths[s]``
blocks with hidden ``bottle_ratios[s]·p₂`` (½ in stage 1, 1 after) and output ``p₂``, then a 1×1
transition (``p₂``); concat(transition, part 1) is fused back to ``widths[s]`` by a 1×1 conv.
Head: global average pool → 1×1 conv classifier with bias → flatten → softmax.

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
)
from costmodel.graph import INPUT, GraphBuilder, Network, Shape
from costmodel.registry import register_expander, register_model

__all__ = ["DarknetConfig", "expand_darknet"]


@dataclass(frozen=True)
class DarknetConfig(DarknetLayout):
    """Darknet-53; ``part_ratio`` γ > 0 makes it CSPDarknet-53."""

    depths: tuple[int, ...] = (1, 2, 8, 8, 4)
    widths: tuple[int, ...] = (64, 128, 256, 512, 1024)
    stem_width: int = 32
    part_ratio: float = 0.0
    fusion: Fusion | str = Fusion.none
    expand_ratios: tuple[float, ...] = (2.0, 1.0, 1.0, 1.0, 1.0)
    bottle_ratios: tuple[float, ...] = (0.5, 1.0, 1.0, 1.0, 1.0)
    num_classes: int = 1000
    in_channels: int = 3
    name: str = "darknet53"

    def __post_init__(self) -> None:
        check_stage_config(self, ("widths", "expand_ratios", "bottle_ratios"), "Darknet")
        for w in self.widths:
            positive_int("a stage width", w, "use e.g. 256")
            if w % 2:
                raise SpecError(f"stage width {w} must be even: a plain block's hidden width is half of it")
        for r in (*self.expand_ratios, *self.bottle_ratios):
            if not 0 < r <= 4:
                raise SpecError(f"ratio {r} must be in (0, 4]; the cfgs use 0.5, 1 and 2")


def _block(g: GraphBuilder, prefix: str, src: str, hidden: int, out_c: int) -> str:
    x = conv_norm_act(g, f"{prefix}.conv1", src, hidden, 1)
    x = conv_norm_act(g, f"{prefix}.conv2", x, out_c, 3)
    return g.shortcut(f"{prefix}.add", x, [src])


@register_expander(DarknetConfig)
def expand_darknet(cfg: DarknetConfig, shape: Shape) -> Network:
    g = GraphBuilder(cfg.label, shape)
    g.stage = "stem"
    x = conv_norm_act(g, "stem", INPUT, cfg.stem_width, 3)
    for s, (depth, width) in enumerate(zip(cfg.depths, cfg.widths, strict=True)):
        g.stage = f"stage{s + 1}"
        p = f"stages.{s}"
        x = conv_norm_act(g, f"{p}.down", x, width, 3, 2)
        if not cfg.csp:
            for j in range(depth):
                x = _block(g, f"{p}.blocks.{j}", x, width // 2, width)
            continue
        cross = max(1, round(cfg.expand_ratios[s] * width))
        p1, p2 = csp_split(cross, cfg.part_ratio, f"stage {s + 1}")
        part1 = conv_norm_act(g, f"{p}.part1", x, p1)
        y = conv_norm_act(g, f"{p}.part2", x, p2)
        hidden = max(1, round(cfg.bottle_ratios[s] * p2))
        for j in range(depth):
            y = _block(g, f"{p}.blocks.{j}", y, hidden, p2)
        y = conv_norm_act(g, f"{p}.transition", y, p2)
        x = g.concat(f"{p}.cat", [y, part1])
        x = conv_norm_act(g, f"{p}.fuse", x, width)
    g.stage = "head"
    return classifier_head(g, x, cfg.num_classes)


register_model("darknet53", DarknetConfig(), "Darknet-53 (darknet53.cfg)", 256)
register_model(
    "cspdarknet53",
    DarknetConfig(part_ratio=0.5, fusion=Fusion.csp, name="cspdarknet53"),
    "CSPDarknet-53, γ 0.5 (csdarknet53.cfg)",
    256,
)
