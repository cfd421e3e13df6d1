"""Formula table: each layer kind's costs against arithmetic written out by hand."""

from __future__ import annotations

import pytest

from costmodel import FORMULAS, LAYER_KINDS, Cost, GraphBuilder, Shape, analyze
from costmodel.graph import INPUT
from costmodel.kinds import register


def one_layer(kind: str, in_shape: Shape, **kw):
    g = GraphBuilder("t", in_shape)
    if kind == "conv":
        g.conv("x", INPUT, **kw)
    elif kind in ("maxpool", "avgpool"):
        g.pool(kind, "x", INPUT, **kw)
    elif kind == "act":
        g.act("x", INPUT, **kw)
    else:
        getattr(
            g,
            {"bn": "bn", "gap": "gap", "softmax": "softmax", "flatten": "flatten", "dropout": "dropout"}[
                kind
            ],
        )("x", INPUT)
    net = g.build()
    return net.layers[0], analyze(net).costs[0]


CASES = [
    # torch-scan style: expectations are the arithmetic that produces them.
    (
        "conv",
        Shape(3, 224, 224),
        dict(out_c=64, kernel=7, stride=2, padding=3),
        dict(
            macs=112 * 112 * 64 * 3 * 7 * 7,
            params=64 * 3 * 7 * 7,
            params_conv=64 * 3 * 7 * 7,
            cio_conv=3 * 224 * 224 + 64 * 112 * 112,
            flops_darknet=2 * 112 * 112 * 64 * 3 * 7 * 7,
        ),
    ),
    (
        "conv",
        Shape(64, 56, 56),
        dict(out_c=128, kernel=3, groups=32, bias=True),
        dict(
            macs=(64 // 32) * 128 * 9 * 56 * 56,
            params=(64 // 32) * 128 * 9 + 128,
            params_conv=(64 // 32) * 128 * 9,
            flops_other=128 * 56 * 56,
            cio_conv_pool=64 * 56 * 56 + 128 * 56 * 56,
        ),
    ),
    (
        "bn",
        Shape(32, 10, 10),
        {},
        dict(params=2 * 32, flops_other=2 * 32 * 10 * 10, macs=0, read_elements=3200, write_elements=3200),
    ),
    ("act", Shape(8, 4, 4), dict(op="relu"), dict(flops_other=8 * 4 * 4, macs=0)),
    ("act", Shape(8, 4, 4), dict(op="linear"), dict(flops_other=0)),
    (
        "maxpool",
        Shape(64, 112, 112),
        dict(kernel=3, stride=2, padding=1),
        dict(flops_darknet=9 * 64 * 56 * 56, cio_conv_pool=64 * 112 * 112 + 64 * 56 * 56, cio_conv=0, macs=0),
    ),
    (
        "avgpool",
        Shape(128, 56, 56),
        dict(kernel=2, stride=2),
        dict(flops_darknet=4 * 128 * 28 * 28, cio_conv_pool=128 * 56 * 56 + 128 * 28 * 28),
    ),
    (
        "gap",
        Shape(1024, 7, 7),
        {},
        dict(flops_other=1024 * 49, cio_conv_pool=1024 * 49 + 1024, flops_darknet=0),
    ),
    ("softmax", Shape(1000, 1, 1), {}, dict(flops_other=3000)),
    ("flatten", Shape(10, 1, 1), {}, dict(macs=0, read_elements=0, write_elements=0)),
    ("dropout", Shape(10, 1, 1), {}, dict(flops_other=0, read_elements=0)),
]


@pytest.mark.parametrize(
    ("kind", "shape", "kw", "expected"), CASES, ids=[f"{case[0]}-{i}" for i, case in enumerate(CASES)]
)
def test_formula_table(kind, shape, kw, expected):
    _, cost = one_layer(kind, shape, **kw)
    for field, value in expected.items():
        assert getattr(cost, field) == value, field


def test_linear_concat_add_split():
    g = GraphBuilder("t", Shape(16, 8, 8))
    a = g.conv("a", INPUT, 8, 1)
    b = g.split("b", INPUT, 4, 12)
    c = g.concat("c", [a, b])
    d = g.add("d", [c, c])
    e = g.gap("e", d)
    f = g.flatten("f", e)
    g.linear("fc", f, 10)
    net = g.build()
    costs = {layer.name: cost for layer, cost in analyze(net).rows()}
    assert costs["b"] == Cost()  # a split is a view
    assert costs["c"].concat_elements == (8 * 64 + 8 * 64) + 16 * 64
    assert costs["d"].flops_other == 16 * 64 and costs["d"].read_elements == 2 * 16 * 64
    assert costs["fc"].macs == 16 * 10 and costs["fc"].params == 16 * 10 + 10
    assert costs["fc"].params_conv == 160 and costs["fc"].flops_darknet == 2 * 160


def test_every_kind_has_a_formula_and_duplicates_are_refused():
    assert set(LAYER_KINDS) == set(FORMULAS)
    with pytest.raises(RuntimeError, match="already registered"):
        register("conv")(lambda layer: Cost())


def test_unknown_kind_is_reported_not_zero():
    g = GraphBuilder("t", Shape(3, 8, 8))
    g.conv("a", INPUT, 4, 3)
    net = g.build()
    odd = net.layers[0]._replace(name="mystery", kind="deformable_conv")
    net = net._replace(layers=(*net.layers, odd))
    profile = analyze(net)
    assert not profile.complete
    assert profile.unsupported == (("mystery", "deformable_conv"),)
    assert profile.to_dict()["unsupported"] == [{"name": "mystery", "kind": "deformable_conv"}]


def test_precision_scales_bytes_not_counts():
    from costmodel import expand, resolve

    net = expand(resolve("peleenet"), 224)
    fp32, fp16, int8 = (analyze(net, p) for p in ("fp32", "fp16", "int8"))
    assert fp32.totals == fp16.totals == int8.totals
    t32, t16, t8 = fp32.totals_dict(), fp16.totals_dict(), int8.totals_dict()
    moved = fp32.totals.read_elements + fp32.totals.write_elements
    assert (t32["act_bytes"], t16["act_bytes"], t8["act_bytes"]) == (4 * moved, 2 * moved, moved)
    assert t16["weight_bytes"] == 2 * fp32.totals.params


def test_peak_activation_footprint_by_hand():
    # input 4×8×8 (256) → a: conv 8 ch (512) → b: conv 8 ch (512) reading a → c = concat(a, b).
    # At c: input freed after a; a and b alive, and c (1024) allocated: 512 + 512 + 1024 = 2048.
    g = GraphBuilder("t", Shape(4, 8, 8))
    a = g.conv("a", INPUT, 8, 3)
    b = g.conv("b", a, 8, 3)
    g.concat("c", [a, b])
    assert analyze(g.build()).peak_activation() == (2048, "c")
