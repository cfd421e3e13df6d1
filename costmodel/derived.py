"""The derived columns: every number computed from a ``Cost`` (and a precision), defined once.

``DERIVED`` is the column table: ``name → fn(cost, bytes_per_element)``. Profiles, comparisons, the
search and the reports read these numbers from here and nowhere else.

- ``flops = 2·macs``; ``mflops = 2·macs / 1e6``; ``bflops_darknet = flops_darknet / 1e9`` (2019:
  conv + pooling); ``bflops_darknet_current = flops_darknet_current / 1e9`` (today: + shortcut)
- ``act_bytes = (read_elements + write_elements) · bytes``; ``weight_bytes = params · bytes``
- ``intensity = (flops + flops_other) / (act_bytes + weight_bytes)`` FLOP/byte, every access counted
  (traffic, not footprint); 0 for a layer that moves nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from costmodel.cost import Cost

__all__ = [
    "DERIVED",
    "act_bytes",
    "bflops_darknet",
    "bflops_darknet_current",
    "derived",
    "intensity",
    "mflops",
    "weight_bytes",
]


def flops(cost: Cost, bytes_per_element: int = 4) -> int:
    return 2 * cost.macs


def mflops(cost: Cost, bytes_per_element: int = 4) -> float:
    """The search's budget unit: ``2·MACs / 1e6`` at batch 1."""
    return 2 * cost.macs / 1e6


def bflops_darknet(cost: Cost, bytes_per_element: int = 4) -> float:
    """darknet's BFLOPs, 2019 convention (the CSPNet authors' README): conv + pooling."""
    return cost.flops_darknet / 1e9


def bflops_darknet_current(cost: Cost, bytes_per_element: int = 4) -> float:
    """darknet's BFLOPs as today's darknet sums them: the 2019 figure plus its shortcut term."""
    return cost.flops_darknet_current / 1e9


def act_bytes(cost: Cost, bytes_per_element: int) -> int:
    return (cost.read_elements + cost.write_elements) * bytes_per_element


def weight_bytes(cost: Cost, bytes_per_element: int) -> int:
    return cost.params * bytes_per_element


def intensity(cost: Cost, bytes_per_element: int) -> float:
    moved = act_bytes(cost, bytes_per_element) + weight_bytes(cost, bytes_per_element)
    return (2 * cost.macs + cost.flops_other) / moved if moved else 0.0


DERIVED: dict[str, Callable[[Cost, int], float]] = {
    "flops": flops,
    "bflops_darknet": bflops_darknet,
    "bflops_darknet_current": bflops_darknet_current,
    "act_bytes": act_bytes,
    "weight_bytes": weight_bytes,
    "intensity": intensity,
}


def derived(cost: Cost, bytes_per_element: int, names: tuple[str, ...] = tuple(DERIVED)) -> dict[str, float]:
    """``names`` of ``DERIVED`` for one cost, in that order."""
    return {name: DERIVED[name](cost, bytes_per_element) for name in names}
