"""Independent reference counters the engine is checked against: fvcore and torch's FlopCounterMode.

- ``fvcore_macs_by_module``: fvcore's ``FlopCountAnalysis(...).by_module()`` on a model in ``eval()``;
  fvcore's "flops" are MACs (one fused multiply-add counts 1).
- ``flop_counter_flops``: ``torch.utils.flop_counter.FlopCounterMode``, which counts 2 per MAC for conv,
  linear and matmul and nothing else.
- ``param_count``: ``sum(p.numel())``.

These run the real model, so they take seconds where the engine takes a millisecond.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["flop_counter_flops", "fvcore_macs_by_module", "param_count", "sample_input"]


def sample_input(model: nn.Module, shape: tuple[int, int, int]) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    return torch.randn((1, *shape), generator=gen)


def fvcore_macs_by_module(model: nn.Module, x: torch.Tensor) -> dict[str, int]:
    """fvcore's per-module counts (MACs for conv/linear), keyed by dotted module path."""
    from fvcore.nn import FlopCountAnalysis

    model.eval()
    analysis = FlopCountAnalysis(model, (x,))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    with torch.no_grad():
        return {k: int(v) for k, v in analysis.by_module().items()}


def flop_counter_flops(model: nn.Module, x: torch.Tensor) -> int:
    """Total FLOPs (2 per MAC) from ``FlopCounterMode``."""
    model.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x)
    return int(counter.get_total_flops())


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
