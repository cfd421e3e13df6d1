"""The computational bottleneck of a network: how unevenly its MACs are spread over its layers.

The CSPNet paper (§3.1, §4.5) argues that a CSP stage evens out the per-layer computation and cuts
the peak ("the computational bottleneck"): the base layer's channels dominate the dense layers, and
CSP sends only part of them through. ``bottleneck`` summarises a per-layer MACs profile in execution
order: the peak layer, its share of the total, peak ÷ mean, and the coefficient of variation
(population standard deviation ÷ mean). ``bottleneck_reduction`` is ``1 − peak(candidate) /
peak(baseline)``: 0.5 means the peak halved. What the tool measures against the paper's claims is in
``costmodel.reproduce.claims``.

A *scope* picks the layers (``in_scope``): ``network`` (every layer that does MACs), ``dense layers``
(the layers of dense blocks, named ``….denselayerN.…`` by the DenseNet and PeleeNet families: the
paper's argument is about these), or a stage label (``stage1`` …), that stage's layers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from costmodel.errors import SpecError

__all__ = ["DENSE_LAYERS", "NETWORK", "Bottleneck", "bottleneck", "bottleneck_reduction", "in_scope"]

NETWORK = "network"
DENSE_LAYERS = "dense layers"


def in_scope(name: str, stage: str, scope: str) -> bool:
    """Whether the layer ``name`` of ``stage`` belongs to ``scope`` (see the module docstring)."""
    if scope == NETWORK:
        return True
    if scope == DENSE_LAYERS:
        return ".denselayer" in name
    return stage == scope


class Bottleneck(NamedTuple):
    peak_layer: str
    peak_macs: int
    total_macs: int
    layers: int
    peak_share: float
    """peak ÷ total"""
    peak_to_mean: float
    cv: float
    """coefficient of variation of per-layer MACs"""

    def as_dict(self) -> dict[str, object]:
        return self._asdict()


def bottleneck(layer_macs: Sequence[tuple[str, int]]) -> Bottleneck:
    """Summarise ``(layer name, macs)`` pairs of the layers that do MACs, in execution order."""
    if not layer_macs:
        raise SpecError("the network has no layer with MACs, so it has no computational bottleneck")
    n = len(layer_macs)
    total = sum(m for _, m in layer_macs)
    peak_name, peak = max(layer_macs, key=lambda item: item[1])
    mean = total / n
    var = sum((m - mean) ** 2 for _, m in layer_macs) / n
    return Bottleneck(
        peak_layer=peak_name,
        peak_macs=peak,
        total_macs=total,
        layers=n,
        peak_share=peak / total if total else 0.0,
        peak_to_mean=peak / mean if mean else 0.0,
        cv=math.sqrt(var) / mean if mean else 0.0,
    )


def bottleneck_reduction(baseline: Bottleneck, candidate: Bottleneck) -> float:
    """``1 − peak(candidate) / peak(baseline)``; positive when the candidate's peak is lower."""
    return 1.0 - candidate.peak_macs / baseline.peak_macs
