"""Contract of the layer-kind table: every kind has a formula, a shape rule, a builder method and a
torch module, and they agree with each other and with torch."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from costmodel import KINDS, Cost, GraphBuilder, Shape, analyze
from costmodel.graph import INPUT
from costmodel.kinds import ACTIVATIONS
from costmodel.layer import Layer

# One builder call per kind, on a 6×9×9 input (odd size, so stride and ceil_mode rules matter).
SAMPLES: dict[str, Callable[[GraphBuilder], object]] = {
    "conv": lambda g: g.conv("x", INPUT, 4, 3, stride=2, padding=1, groups=2, bias=True),
    "conv_transpose": lambda g: g.conv_transpose("x", INPUT, 4, 3, 2, 1, 1, groups=2, bias=True),
    "linear": lambda g: g.linear("x", g.gap("g", INPUT), 5),
    "bn": lambda g: g.bn("x", INPUT),
    "norm": lambda g: g.norm("x", INPUT, 3),
    "act": lambda g: g.act("x", INPUT, "leaky"),
    "maxpool": lambda g: g.maxpool("x", INPUT, 3, 2, 1, ceil_mode=True),
    "avgpool": lambda g: g.avgpool("x", INPUT, 2, 2, ceil_mode=True),
    "gap": lambda g: g.gap("x", INPUT),
    "concat": lambda g: g.concat("x", [INPUT, g.bn("b", INPUT)]),
    "split": lambda g: g.split("x", INPUT, 2, 5),
    "add": lambda g: g.add("x", [INPUT, g.bn("b", INPUT)]),
    "flatten": lambda g: g.flatten("x", INPUT),
    "reshape": lambda g: g.reshape("x", INPUT, Shape(9, 9, 6)),
    "dropout": lambda g: g.dropout("x", INPUT),
    "softmax": lambda g: g.softmax("x", INPUT),
    "mul": lambda g: g.mul("x", [INPUT, g.gap("g", INPUT)]),
    "upsample": lambda g: g.upsample("x", INPUT, 2, "bilinear"),
    "space_to_depth": lambda g: g.reorg("x", g.crop("c", INPUT, 8, 6), 2),
    "depth_to_space": lambda g: g.reorg("x", g.concat("c", [INPUT, INPUT]), 2, reverse=True),
    "crop": lambda g: g.crop("x", INPUT, 7, 4),
    "detect": lambda g: g.detect("x", INPUT),
    "copy": lambda g: g.copy("x", INPUT),
    "blur": lambda g: g.blur("x", INPUT, 3, 2),
    "implicit": lambda g: g.implicit("x", 6, 3),
}
IN_SHAPE = Shape(6, 9, 9)


def sample(kind: str) -> Layer:
    g = GraphBuilder(kind, IN_SHAPE)
    SAMPLES[kind](g)
    return g.build().layer("x")


def test_every_kind_has_a_sample() -> None:
    assert set(SAMPLES) == set(KINDS)


@pytest.mark.parametrize("kind", sorted(KINDS), ids=sorted(KINDS))
def test_entry_is_complete_and_the_builder_uses_its_shape_rule(kind: str) -> None:
    entry = KINDS[kind]
    assert entry.name == kind
    assert entry.doc
    layer = sample(kind)
    assert layer.kind == kind
    assert entry.output_shape(layer) == layer.out_shape
    assert isinstance(entry.formula(layer), Cost)


def test_every_kind_has_a_torch_module(torch_counters) -> None:  # type: ignore[no-untyped-def]
    torch_build, _ = torch_counters
    assert set(torch_build.TORCH_MODULES) == set(KINDS)
    assert set(torch_build.ACTIVATION_MODULES) == set(ACTIVATIONS)


@pytest.mark.parametrize("kind", sorted(KINDS), ids=sorted(KINDS))
def test_shape_rule_equals_torch(kind: str, torch_counters) -> None:  # type: ignore[no-untyped-def]
    import torch

    torch_build, _ = torch_counters
    layer = sample(kind)
    module = torch_build.TORCH_MODULES[kind](layer).eval()
    gen = torch.Generator().manual_seed(0)
    xs = [torch.randn((1, *s), generator=gen) for s in layer.in_shapes]
    if kind == "linear":
        xs = [x.flatten(1) for x in xs]
    with torch.no_grad():
        out = module(*xs)
    want = (1, layer.out_shape.c) if out.dim() == 2 else (1, *layer.out_shape)
    assert tuple(out.shape) == want


@pytest.mark.parametrize("op", ACTIVATIONS, ids=ACTIVATIONS)
def test_every_activation_builds_and_costs(op: str) -> None:
    g = GraphBuilder("a", IN_SHAPE)
    g.act("x", INPUT, op)
    (cost,) = analyze(g.build()).costs
    assert cost.flops_other == (0 if op == "linear" else 6 * 9 * 9)
