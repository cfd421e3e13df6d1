"""DenseNet-BC (Huang et al., CVPR 2017) in torchvision's layout, and CSPDenseNet (CSPNet paper §3.1).

Stem: 7×7/2 conv → BN → ReLU → 3×3/2 max pool. Dense layer: BN → ReLU → 1×1 conv (``bn_size·k``) →
BN → ReLU → 3×3 conv (``k``); with ``bn_size = 0`` the paper's plain dense layer BN → ReLU → 3×3 conv
(``k``). Each dense layer reads the concatenation of everything before it, as torchvision does
(``torch.cat`` on entry; the first layer of a block reads its one input without a copy), and the block
ends with the concatenation of all its features. Transition: BN → ReLU → 1×1 conv (``⌊θ·C⌋``) → 2×2/2
average pool. Head: BN → ReLU → global pool → FC. Layer names equal torchvision's module names where
torchvision has a module (``features.denseblock1.denselayer1.conv1``).

CSPDenseNet applies ``costmodel.families.common.csp_stage`` to every block.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

from costmodel.errors import SpecError, positive_int
from costmodel.families.common import Fusion, check_csp, csp_stage
from costmodel.graph import INPUT, GraphBuilder, Network, Shape
from costmodel.registry import register_expander, register_model

if TYPE_CHECKING:
    from costmodel.families.peleenet import PeleeNetConfig

__all__ = ["DenseNetConfig", "dense_block_network", "expand_densenet"]


def check_blocks(block_config: tuple[int, ...]) -> None:
    if not isinstance(block_config, tuple) or not block_config:
        raise SpecError(
            f"block config {block_config!r} is empty; give the number of layers per block, "
            f"e.g. (6, 12, 24, 16)"
        )
    for n in block_config:
        positive_int("a block's layer count", n, "each block needs at least one layer")


def check_dense_family(cfg: DenseNetConfig | PeleeNetConfig, init_example: int) -> None:
    """The checks DenseNet and PeleeNet configs share: widths, depths, classes and the CSP knobs."""
    positive_int("growth rate", cfg.growth_rate, "use e.g. 32")
    check_blocks(cfg.block_config)
    positive_int("num_init_features", cfg.num_init_features, f"use e.g. {init_example}")
    positive_int("num_classes", cfg.num_classes, "use e.g. 1000")
    positive_int("in_channels", cfg.in_channels, "use 3 for RGB")
    check_csp(cfg.part_ratio, cfg.fusion, cfg.partial_compression)


class DenseFamilyLabels:
    """``label`` and ``summary`` of the DenseNet-like configs (DenseNet-BC and PeleeNet)."""

    name: str
    growth_rate: int
    block_config: tuple[int, ...]
    part_ratio: float
    fusion: Fusion | str

    @property
    def label(self) -> str:
        if self.fusion == Fusion.none:
            return self.name
        return f"{self.name}(γ={self.part_ratio:g}, {self.fusion})"

    @property
    def summary(self) -> str:
        """One line for ``cspcost models``."""
        out = f"k={self.growth_rate}, blocks={self.block_config}"
        if self.fusion != Fusion.none:
            out += f", γ={self.part_ratio}, fusion={self.fusion}"
        return out


@dataclass(frozen=True)
class DenseNetConfig(DenseFamilyLabels):
    """DenseNet-BC and CSPDenseNet. ``part_ratio`` (γ) and ``fusion`` make it CSP."""

    growth_rate: int = 32
    block_config: tuple[int, ...] = (6, 12, 24, 16)
    num_init_features: int = 64
    bn_size: int = 4
    compression: float = 0.5
    num_classes: int = 1000
    in_channels: int = 3
    part_ratio: float = 0.0
    fusion: Fusion | str = Fusion.none
    partial_compression: float | None = None
    name: str = "densenet"

    def __post_init__(self) -> None:
        check_dense_family(self, 64)
        if isinstance(self.bn_size, bool) or not isinstance(self.bn_size, int) or self.bn_size < 0:
            raise SpecError(f"bn_size = {self.bn_size!r} must be an integer ≥ 0 (0: no bottleneck)")
        if not 0.0 < self.compression <= 1.0:
            raise SpecError(f"compression = {self.compression} must be in (0, 1]; DenseNet-BC uses 0.5")


def _dense_block(g: GraphBuilder, prefix: str, src: str, layers: int, growth: int, bn_size: int) -> str:
    features = [src]
    for j in range(1, layers + 1):
        lp = f"{prefix}.denselayer{j}"
        x = features[0] if len(features) == 1 else g.concat(f"{lp}.cat", features)
        if bn_size:
            x = g.bn_act_conv(lp, x, bn_size * growth, 1, suffix="1")
            x = g.bn_act_conv(lp, x, growth, 3, suffix="2")
        else:
            x = g.bn_act_conv(lp, x, growth, 3, suffix="1")
        features.append(x)
    return g.concat(f"{prefix}.cat", features)


def _transition(g: GraphBuilder, prefix: str, src: str, out_c: int) -> str:
    x = g.bn(f"{prefix}.norm", src)
    x = g.act(f"{prefix}.relu", x)
    return g.conv(f"{prefix}.conv", x, out_c, 1)


@register_expander(DenseNetConfig)
def expand_densenet(cfg: DenseNetConfig, shape: Shape) -> Network:
    g = GraphBuilder(cfg.label, shape)
    g.stage = "stem"
    x = g.conv("features.conv0", INPUT, cfg.num_init_features, 7, 2, 3)
    x = g.bn("features.norm0", x)
    x = g.act("features.relu0", x)
    x = g.maxpool("features.pool0", x, 3, 2, 1)
    last = len(cfg.block_config)
    for i, layers in enumerate(cfg.block_config, start=1):
        g.stage = f"stage{i}"
        x = csp_stage(
            g,
            i,
            x,
            gamma=cfg.part_ratio,
            fusion=cfg.fusion,
            dense=partial(
                _dense_block,
                g,
                f"features.denseblock{i}",
                layers=layers,
                growth=cfg.growth_rate,
                bn_size=cfg.bn_size,
            ),
            transition=partial(_transition, g),
            compression=cfg.compression,
            pool=i < last,
            partial_compression=cfg.partial_compression,
            baseline_transition=i < last,
        )
    g.stage = "head"
    x = g.bn("features.norm5", x)
    x = g.act("features.relu5", x)
    x = g.gap("avgpool", x)
    x = g.flatten("flatten", x)
    g.linear("classifier", x, cfg.num_classes)
    return g.build()


def _variant(name: str, blocks: tuple[int, ...], growth_rate: int, init: int, csp: bool) -> DenseNetConfig:
    cfg = DenseNetConfig(growth_rate=growth_rate, block_config=blocks, num_init_features=init, name=name)
    return replace(cfg, part_ratio=0.5, fusion=Fusion.csp) if csp else cfg


for _name, _blocks, _k, _init in (
    ("densenet121", (6, 12, 24, 16), 32, 64),
    ("densenet161", (6, 12, 36, 24), 48, 96),
    ("densenet169", (6, 12, 32, 32), 32, 64),
    ("densenet201", (6, 12, 48, 32), 32, 64),
    ("densenet264", (6, 12, 64, 48), 32, 64),
):
    register_model(_name, _variant(_name, _blocks, _k, _init, False), f"DenseNet-BC-{_name[8:]}")
for _name, _blocks in (
    ("cspdensenet121", (6, 12, 24, 16)),
    ("cspdensenet169", (6, 12, 32, 32)),
    ("cspdensenet201", (6, 12, 48, 32)),
):
    register_model(_name, _variant(_name, _blocks, 32, 64, True), f"CSPDenseNet-{_name[11:]}, γ 0.5, csp")
# A toy base for quick searches and tests: sized for 28–32 px inputs and seconds of CPU training.
register_model(
    "tinydensenet",
    DenseNetConfig(growth_rate=12, block_config=(2, 4, 4), num_init_features=16, name="tinydensenet"),
    "toy DenseNet-BC, 3 blocks (2, 4, 4), 16 stem channels, for quick searches at 32 px",
    32,
)


def dense_block_network(c: int, m: int, d: int, gamma: float, h: int, w: int) -> Network:
    """A lone partial dense block of ``m`` plain layers (BN → ReLU → 3×3 conv of ``d``) on a ``c×h×w``
    input, split by ``gamma`` (0: the whole input enters the block). Used to check the paper's CIO
    closed forms against the per-layer sum."""
    from costmodel.families.common import split_channels

    g = GraphBuilder("dense_block", Shape(c, h, w))
    g.stage = "block"
    src = INPUT
    p1, p2 = split_channels(c, gamma)
    if gamma > 0 and (p1 == 0 or p2 == 0):  # never silently γ = 0
        raise SpecError(
            f"γ = {gamma} splits the {c} channels of the dense block into {p1} + {p2}: a part rounds "
            f"to zero channels; use a γ between {1 / c:.3g} and {1 - 1 / c:.3g}"
        )
    if p1:
        src = g.split("part2", INPUT, p1, c)
    _dense_block(g, "block", src, m, d, 0)
    return g.build()
