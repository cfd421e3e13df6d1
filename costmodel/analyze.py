"""``analyze``: a ``Network`` in, a ``Profile`` of per-layer ``Cost`` rows and totals out.

Bytes are element counts times the precision's size (fp32 4, fp16/bf16 2, int8 1). Arithmetic
intensity is ``(flops + flops_other) / (activation bytes read + written + weight bytes)`` per layer:
every access counted (traffic), not the unique bytes a layer touches (footprint).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from costmodel.bottleneck import NETWORK, Bottleneck, bottleneck, in_scope
from costmodel.cost import Cost
from costmodel.derived import bflops_darknet, bflops_darknet_current, derived
from costmodel.errors import SpecError
from costmodel.kinds import FORMULAS
from costmodel.layer import Layer, Network

__all__ = ["CONVENTIONS", "PRECISIONS", "Profile", "analyze", "bytes_per_element"]

PRECISIONS: dict[str, int] = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}

CONVENTIONS: dict[str, str] = {
    "macs": "fused multiply-adds of conv and linear layers (fvcore's 'flops'), batch 1",
    "flops": "2 × macs",
    "flops_other": "other arithmetic: BN 2/element, activation 1/element, add (n−1)/element, "
    "pool k²/output element, global pool 1/input element, bias 1/output element",
    "params": "all learnable parameters, sum(p.numel()) of the built torch model",
    "params_conv": "conv and classifier weights only, no BN or bias (CSPNet README #Parameter)",
    "cio_conv": "HarDNet CIO: input + output elements of conv and classifier layers (batch 1)",
    "cio_conv_pool": "CIO over conv, classifier, max-, average- and global-pool layers",
    "concat_elements": "elements read + written by channel concatenations",
    "bflops_darknet": "darknet 2019 (the CSPNet authors' README): (2·conv and classifier MACs + "
    "Σ max/local-avg pool k²·C·H_out·W_out) / 1e9; darknet's [connected] 0",
    "bflops_darknet_current": "today's darknet (AlexeyAB 59596d7): bflops_darknet + each [shortcut]'s "
    "out_w·out_h·out_c·n_from (×2 weighted) / 1e9",
    "act_bytes": "activation elements read + written × bytes per element",
    "weight_bytes": "params × bytes per element",
    "peak_act_bytes": "footprint: most activation bytes alive at once (eager execution, no in-place)",
    "intensity": "(flops + flops_other) / (act_bytes + weight_bytes), FLOP per byte",
}


LAYER_DERIVED = ("flops", "act_bytes", "weight_bytes", "intensity")
"""The derived columns of a layer row of the JSON contract, in order."""
TOTAL_DERIVED = ("flops", "bflops_darknet", "bflops_darknet_current", "act_bytes", "weight_bytes")
"""The derived columns of the totals of the JSON contract, in order."""


def bytes_per_element(precision: str) -> int:
    try:
        return PRECISIONS[precision]
    except KeyError:
        raise SpecError(
            f"precision {precision!r} is not one of {', '.join(PRECISIONS)}; pick one of those"
        ) from None


@dataclass(frozen=True)
class Profile:
    """Per-layer costs of one network at one precision, in execution order (``reports.frames.
    profile_frame`` makes it a pandas DataFrame)."""

    network: Network
    costs: tuple[Cost, ...]
    precision: str = "fp32"
    unsupported: tuple[tuple[str, str], ...] = ()
    totals: Cost = field(default_factory=Cost)

    # --- derived ----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.network.name

    @property
    def bytes_per_element(self) -> int:
        return PRECISIONS[self.precision]

    @property
    def complete(self) -> bool:
        """False when some layer kind had no formula (see ``unsupported``)."""
        return not self.unsupported

    def __len__(self) -> int:
        return len(self.costs)

    def rows(self) -> Iterator[tuple[Layer, Cost]]:
        return zip(self.network.layers, self.costs)

    def stage_totals(self) -> dict[str, Cost]:
        """Cost per stage label, in network order."""
        out: dict[str, Cost] = {}
        for layer, cost in self.rows():
            out[layer.stage] = out.get(layer.stage, Cost()) + cost
        return out

    def bottleneck(self, scope: str = NETWORK) -> Bottleneck:
        """Peak, peak/mean and spread of the per-layer MACs of the layers that do MACs in ``scope``:
        ``network``, ``dense layers`` or a stage label (``costmodel.bottleneck.in_scope``)."""
        rows = [(layer.name, cost.macs) for layer, cost in self.rows() if cost.macs > 0]
        if scope != NETWORK:
            rows = [
                (n, m) for (n, m), layer in zip(rows, self._macs_layers()) if in_scope(n, layer.stage, scope)
            ]
            if not rows:
                stages = sorted({layer.stage for layer in self.network.layers if layer.stage})
                raise SpecError(
                    f"scope {scope!r} has no layer with MACs in {self.name}; use network, dense layers "
                    f"or one of the stages {', '.join(stages)}"
                )
        return bottleneck(rows)

    def _macs_layers(self) -> list[Layer]:
        return [layer for layer, cost in self.rows() if cost.macs > 0]

    def macs_layers(self) -> list[tuple[Layer, Cost]]:
        """The layers that do MACs, in execution order: the profile a bottleneck is read from."""
        return [(layer, cost) for layer, cost in self.rows() if cost.macs > 0]

    def peak_activation(self) -> tuple[int, str]:
        """Footprint, not traffic: the most activation elements alive at once, and the layer at which
        that happens. A tensor lives from the layer that writes it until its last reader has run (the
        input counts, the weights do not); a split is a view and allocates nothing; each layer's output
        is allocated while its inputs are still alive. This is what a runtime without in-place reuse
        holds, as torch's eager mode does."""
        layers = self.network.layers
        last_read: dict[str, int] = {}
        for i, layer in enumerate(layers):
            for src in layer.inputs:
                last_read[src] = i
        size: dict[str, int] = {"": self.network.input_shape.numel}
        live = size[""]
        peak, where = live, ""
        for i, layer in enumerate(layers):
            new = 0 if layer.kind == "split" else layer.out_shape.numel
            size[layer.name] = new
            live += new
            if live > peak:
                peak, where = live, layer.name
            for src in layer.inputs:
                if last_read[src] == i:
                    live -= size[src]
            if layer.name not in last_read and i != len(layers) - 1:
                live -= new
        return peak, where

    @property
    def bflops_darknet(self) -> float:
        """darknet's BFLOPs as the CSPNet authors' 2019 darknet printed them (conv + pooling)."""
        return bflops_darknet(self.totals)

    @property
    def bflops_darknet_current(self) -> float:
        """darknet's BFLOPs as today's darknet prints them (adds its ``[shortcut]`` term)."""
        return bflops_darknet_current(self.totals)

    def layer_dict(self, layer: Layer, cost: Cost) -> dict[str, Any]:
        return {
            "name": layer.name,
            "kind": layer.kind,
            "stage": layer.stage,
            "in_shape": [list(s) for s in layer.in_shapes],
            "out_shape": list(layer.out_shape),
            **cost.as_dict(),
            **derived(cost, self.bytes_per_element, LAYER_DERIVED),
        }

    def totals_dict(self) -> dict[str, Any]:
        b = self.bytes_per_element
        return {
            **self.totals.as_dict(),
            **derived(self.totals, b, TOTAL_DERIVED),
            "peak_act_bytes": self.peak_activation()[0] * b,
            "layers": len(self.costs),
        }

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON contract of ``cspcost table --format json``."""
        net = self.network
        return {
            "model": net.name,
            "input": list(net.input_shape),
            "precision": self.precision,
            "bytes_per_element": self.bytes_per_element,
            "conventions": dict(CONVENTIONS),
            "complete": self.complete,
            "unsupported": [{"name": n, "kind": k} for n, k in self.unsupported],
            "layers": [self.layer_dict(layer, cost) for layer, cost in self.rows()],
            "totals": self.totals_dict(),
            "bottleneck": self.bottleneck().as_dict(),
        }


def analyze(network: Network, precision: str = "fp32") -> Profile:
    """Cost every layer of ``network``. Unknown kinds become ``unsupported`` rows costing nothing, and
    the profile says so (``Profile.complete`` is False); they are never silently zero."""
    bytes_per_element(precision)
    formulas = FORMULAS
    costs: list[Cost] = []
    unsupported: list[tuple[str, str]] = []
    empty = Cost()
    for layer in network.layers:
        fn = formulas.get(layer.kind)
        if fn is None:
            unsupported.append((layer.name, layer.kind))
            costs.append(empty)
        else:
            costs.append(fn(layer))
    totals = Cost(*map(sum, zip(*costs))) if costs else empty
    return Profile(network, tuple(costs), precision, tuple(unsupported), totals)
