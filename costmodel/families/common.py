"""What every CSP family shares: the fusion strategies, the channel split and the fused stage.

A Cross Stage Partial stage (CSPNet paper §3.1, Figures 2b and 3) splits the stage input of ``c``
channels into part 1 (``p₁ = round(γ·c)`` channels, bypassing the block) and part 2 (``c − p₁``
channels, through the dense block), then fuses them according to the strategy:

===============  ===============================================================================
``none``         plain DenseNet: dense block → transition (γ must be 0)
``fusion_first`` concat(part 1, dense output) → transition
``fusion_last``  dense output → transition → concat with part 1
``csp``          dense output → partial transition → concat with part 1 → transition (CSPDenseNet)
===============  ===============================================================================

Design choices, stated once here and shown by ``cspcost models``:

- Rounding: ``p₁ = ⌊γ·c + ½⌋`` (round half up), ``p₂ = c − p₁``. γ > 0 with ``p₁ = 0`` or ``p₂ = 0`` is an
  error (a channel count rounds to zero). γ = 0 means no split: there is no part 1 and no concat, and the
  strategies keep only their transitions.
- Transition widths: the transition that ends a stage gives the baseline stage's width
  ``⌊θ·(c + m·k)⌋`` (θ is the family's compression: DenseNet-BC 0.5, PeleeNet 1), so in ``fusion_first``
  and ``csp`` the rest of the network is unchanged. The partial transition of ``csp`` is the family's own
  transition applied to part 2: it compresses the dense output by θ too, unless the config's
  ``partial_compression`` says otherwise. ``fusion_last`` compresses only part 2, by θ.
- Pooling: ``fusion_first`` pools after its transition, as DenseNet does; ``fusion_last`` pools after the
  concat; ``csp`` pools after the concat and *before* its last transition, which so runs at the next
  stage's resolution. The paper gives no widths or placement; these are the choices that land
  CSPPeleeNet (γ = 0.5) on the paper's Table 1: 0.877 against 0.888 darknet BFLOPs and 2.841M against
  2.83M conv weights. Pooling after the last transition instead gives 1.11 BFLOPs, more than PeleeNet's
  1.017, and compressing PeleeNet's partial transition by 0.5 gives 0.864 BFLOPs but 2.35M weights.
- The last stage: DenseNet has no transition after its last block; the CSP strategies give it their
  transitions without pooling, the last of them keeping the block's full width (θ = 1) as DenseNet's
  head expects; the partial transition still compresses by θ.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import StrEnum

from costmodel.errors import SpecError
from costmodel.graph import GraphBuilder

__all__ = ["FUSIONS", "Fusion", "check_csp", "csp_stage", "split_channels"]


class Fusion(StrEnum):
    none = "none"
    fusion_first = "fusion_first"
    fusion_last = "fusion_last"
    csp = "csp"


FUSIONS: tuple[str, ...] = tuple(f.value for f in Fusion)


def check_csp(part_ratio: float, fusion: str, partial_compression: float | None = None) -> None:
    """Validate γ, the fusion strategy and the partial transition's compression of a config; raises
    ``SpecError`` naming the fix."""
    if partial_compression is not None and not 0.0 < partial_compression <= 1.0:
        raise SpecError(
            f"partial_compression = {partial_compression} must be in (0, 1]: the fraction of the dense "
            f"output's channels the partial transition keeps; leave it unset for the family's θ"
        )
    if fusion not in FUSIONS:
        raise SpecError(f"fusion {fusion!r} is not one of {', '.join(FUSIONS)}")
    if isinstance(part_ratio, bool) or not isinstance(part_ratio, int | float):
        raise SpecError(f"γ (part_ratio) must be a number in [0, 1), got {part_ratio!r}")
    if not 0.0 <= part_ratio < 1.0 or math.isnan(part_ratio):
        raise SpecError(
            f"γ (part_ratio) = {part_ratio} is outside [0, 1): it is the fraction of channels that "
            f"bypass the dense block; use a value such as 0.25, 0.5 or 0.75"
        )
    if fusion == Fusion.none and part_ratio > 0:
        raise SpecError(
            f"fusion 'none' has no cross-stage path, so γ = {part_ratio} cannot be used; "
            f"pick fusion csp, fusion_first or fusion_last, or set γ to 0"
        )


def split_channels(c: int, gamma: float) -> tuple[int, int]:
    """``(p₁, p₂)``: ``p₁ = ⌊γ·c + ½⌋`` channels bypass the block, ``p₂ = c − p₁`` go through it."""
    p1 = math.floor(gamma * c + 0.5)
    return p1, c - p1


DenseFn = Callable[[str], str]
TransitionFn = Callable[[str, str, int], str]


def csp_stage(
    g: GraphBuilder,
    index: int,
    src: str,
    *,
    gamma: float,
    fusion: str,
    dense: DenseFn,
    transition: TransitionFn,
    compression: float,
    pool: bool,
    baseline_transition: bool = True,
    partial_compression: float | None = None,
) -> str:
    """Add stage ``index`` (1-based) on ``src`` and return its output layer's name.

    ``dense(src)`` adds the dense block and returns its output; ``transition(prefix, src, out_c)``
    adds a 1×1 transition (without pooling). ``pool`` adds the closing 2×2/2 average pool.
    ``baseline_transition`` is False for DenseNet's last block, which has no transition.
    ``partial_compression`` (None: ``compression``) sets the width of ``csp``'s partial transition.
    """
    c = g.shape(src).c
    p1, p2 = split_channels(c, gamma)
    if gamma > 0 and (p1 == 0 or p2 == 0):
        raise SpecError(
            f"γ = {gamma} splits the {c} channels entering stage {index} into {p1} + {p2}: a part "
            f"rounds to zero channels; use a γ between {1 / c:.3g} and {1 - 1 / c:.3g}"
        )

    def squeeze(width: int) -> int:
        out = int(width * compression)
        if out <= 0:
            raise SpecError(
                f"compression {compression} leaves stage {index} with {out} channels from {width}; "
                f"use a larger compression"
            )
        return out

    tprefix = f"features.transition{index}"
    cprefix = f"features.csp{index}"

    def close(x: str, prefix: str) -> str:
        return g.avgpool(f"{prefix}.pool", x, 2, 2) if pool else x

    if fusion == Fusion.none:
        x = dense(src)
        if baseline_transition:
            x = transition(tprefix, x, squeeze(g.shape(x).c))
            x = close(x, tprefix)
        return x

    if partial_compression is None:
        partial_compression = compression
    if not baseline_transition:
        compression = 1.0
    part1: str | None = None
    part2 = src
    if p1:
        part1 = g.split(f"{cprefix}.part1", src, 0, p1)
        part2 = g.split(f"{cprefix}.part2", src, p1, c)

    def fuse(x: str) -> str:
        return g.concat(f"{cprefix}.fuse", [part1, x]) if part1 else x

    x = dense(part2)
    if fusion == Fusion.fusion_first:
        x = fuse(x)
        x = transition(tprefix, x, squeeze(g.shape(x).c))
        return close(x, tprefix)
    if fusion == Fusion.fusion_last:
        x = transition(tprefix, x, squeeze(g.shape(x).c))
        return close(fuse(x), cprefix)
    # csp: the partial transition compresses part 2's dense output; pooling comes before the stage's
    # own transition, which restores the baseline stage's width θ·(part 1 + dense output).
    dense_width = g.shape(x).c
    partial = int(dense_width * partial_compression)
    if partial <= 0:
        raise SpecError(
            f"partial_compression {partial_compression} leaves stage {index}'s partial transition with "
            f"{partial} channels from {dense_width}; use a larger partial_compression"
        )
    x = transition(tprefix, x, partial)
    x = close(fuse(x), cprefix)
    return transition(f"{cprefix}.transition", x, squeeze(p1 + dense_width))
