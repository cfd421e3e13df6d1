"""PeleeNet (Wang, Li, Ling, NeurIPS 2018) and CSPPeleeNet (CSPNet paper, Table 1).

Every conv is post-activation conv → BN → ReLU without bias. Stem: 3×3/2 conv (32); branch 1×1 (16) →
3×3/2 (32); branch 2×2/2 max pool; concat (64) → 1×1 (32). Two-way dense layer with growth ``k``:
branch 1 is 1×1 (inter) → 3×3 (k/2), branch 2 is 1×1 (inter) → 3×3 (k/2) → 3×3 (k/2), and the layer
outputs concat(input, branch 1, branch 2). The bottleneck width ``inter = ⌊(k/2)·w_s/4⌋·4`` with the
dynamic rule: if ``inter > C_in/2`` then ``inter = ⌊C_in/8⌋·4``. Transitions are 1×1 convs without
compression, followed by a 2×2/2 average pool after stages 1–3. Head: global pool → FC.

At 224×224 with the defaults: stage outputs 128@56², 256@28², 512@14², 704@7² (REFERENCE.md §2).
CSPPeleeNet applies ``costmodel.families.common.csp_stage`` to every stage (θ = 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from costmodel.errors import SpecError, positive_int
from costmodel.families.common import Fusion, csp_stage
from costmodel.families.densenet import DenseFamilyLabels, check_dense_family
from costmodel.graph import INPUT, GraphBuilder, Network, Shape
from costmodel.registry import register_expander, register_model

__all__ = ["PeleeNetConfig", "expand_peleenet"]


@dataclass(frozen=True)
class PeleeNetConfig(DenseFamilyLabels):
    growth_rate: int = 32
    block_config: tuple[int, ...] = (3, 4, 8, 6)
    bottleneck_width: tuple[int, ...] = (1, 2, 4, 4)
    num_init_features: int = 32
    num_classes: int = 1000
    in_channels: int = 3
    part_ratio: float = 0.0
    fusion: Fusion | str = Fusion.none
    partial_compression: float | None = None
    name: str = "peleenet"

    def __post_init__(self) -> None:
        check_dense_family(self, 32)
        if self.growth_rate % 2:
            raise SpecError(
                f"growth rate = {self.growth_rate} must be even: PeleeNet splits it between two "
                f"branches; use e.g. {self.growth_rate + 1}"
            )
        if len(self.bottleneck_width) != len(self.block_config):
            raise SpecError(
                f"bottleneck_width {self.bottleneck_width} needs one entry per block of {self.block_config}"
            )
        for bw in self.bottleneck_width:
            positive_int("a bottleneck width", bw, "use e.g. (1, 2, 4, 4)")
        if self.num_init_features % 2:
            raise SpecError(f"num_init_features = {self.num_init_features} must be even (stem)")


def _inter_channels(c_in: int, half_growth: int, width: int) -> int:
    inter = (half_growth * width // 4) * 4
    if inter > c_in / 2:
        inter = (c_in // 8) * 4
    return inter


def _dense_block(g: GraphBuilder, prefix: str, src: str, layers: int, growth: int, width: int) -> str:
    half = growth // 2
    x = src
    for j in range(1, layers + 1):
        lp = f"{prefix}.denselayer{j}"
        inter = _inter_channels(g.shape(x).c, half, width)
        if inter <= 0:
            raise SpecError(
                f"{lp}: {g.shape(x).c} input channels give a bottleneck width of 0 under PeleeNet's "
                f"dynamic rule; use a smaller γ or more stem features"
            )
        b1 = g.conv_bn_act(f"{lp}.branch1a", x, inter, 1)
        b1 = g.conv_bn_act(f"{lp}.branch1b", b1, half, 3)
        b2 = g.conv_bn_act(f"{lp}.branch2a", x, inter, 1)
        b2 = g.conv_bn_act(f"{lp}.branch2b", b2, half, 3)
        b2 = g.conv_bn_act(f"{lp}.branch2c", b2, half, 3)
        x = g.concat(f"{lp}.cat", [x, b1, b2])
    return x


@register_expander(PeleeNetConfig)
def expand_peleenet(cfg: PeleeNetConfig, shape: Shape) -> Network:
    g = GraphBuilder(cfg.label, shape)
    g.stage = "stem"
    stem = cfg.num_init_features
    p = "features.stemblock"
    s1 = g.conv_bn_act(f"{p}.stem1", INPUT, stem, 3, 2)
    b1 = g.conv_bn_act(f"{p}.stem2a", s1, stem // 2, 1)
    b1 = g.conv_bn_act(f"{p}.stem2b", b1, stem, 3, 2)
    b2 = g.maxpool(f"{p}.pool", s1, 2, 2)
    x = g.concat(f"{p}.cat", [b1, b2])
    x = g.conv_bn_act(f"{p}.stem3", x, stem, 1)
    last = len(cfg.block_config)
    for i, (layers, width) in enumerate(zip(cfg.block_config, cfg.bottleneck_width), start=1):
        g.stage = f"stage{i}"
        x = csp_stage(
            g,
            i,
            x,
            gamma=cfg.part_ratio,
            fusion=cfg.fusion,
            dense=partial(
                _dense_block, g, f"features.denseblock{i}", layers=layers, growth=cfg.growth_rate, width=width
            ),
            transition=partial(g.conv_bn_act, kernel=1),
            compression=1.0,
            pool=i < last,
            partial_compression=cfg.partial_compression,
        )
    g.stage = "head"
    x = g.gap("avgpool", x)
    x = g.flatten("flatten", x)
    g.linear("classifier", x, cfg.num_classes)
    return g.build()


register_model("peleenet", PeleeNetConfig(), "PeleeNet (NeurIPS 2018)")
register_model(
    "csppeleenet",
    PeleeNetConfig(part_ratio=0.5, fusion=Fusion.csp, name="csppeleenet"),
    "CSPPeleeNet, γ 0.5, csp (paper Table 1)",
)
# A toy base for quick searches and tests: sized for 28–32 px inputs and seconds of CPU training.
register_model(
    "tinypeleenet",
    PeleeNetConfig(
        growth_rate=16,
        block_config=(2, 2, 4),
        bottleneck_width=(1, 2, 4),
        num_init_features=32,
        name="tinypeleenet",
    ),
    "toy PeleeNet, 3 stages (2, 2, 4), 32 stem channels, for quick searches at 32 px",
    32,
)
