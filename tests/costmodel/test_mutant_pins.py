"""Pins for the mutants the mutation run over costmodel's core left alive (issue 8, second pass).

Each test holds a printed number, a shape or a JSON key that a surviving mutant changed; expected values
are arithmetic written here, darknet's own rules quoted from its source, or the key lists documented in
README.md and DESIGN.md."""

from __future__ import annotations

import json
import re

import pytest
from conftest import SHARED, require
from test_kinds import IN_SHAPE, SAMPLES

from costmodel import Cost, SpecError, analyze
from costmodel.darknet import parse
from costmodel.families.common import check_csp, csp_stage
from costmodel.graph import INPUT, GraphBuilder, Shape
from costmodel.kinds import conv_size


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "want"),
    [
        (224, 7, 2, 3, (224 + 2 * 3 - 7) // 2 + 1),  # ResNet's stem: 112
        (56, 3, 1, 1, (56 + 2 * 1 - 3) // 1 + 1),  # a same-size 3×3: 56
        (7, 1, 1, 0, 7),  # a 1×1 changes nothing
        (9, 3, 2, 0, (9 - 3) // 2 + 1),  # floor division: 4, not 4.5 or 5
        (10, 3, 3, 1, (10 + 2 - 3) // 3 + 1),  # 4
    ],
)
def test_conv_size_is_the_floor_rule(size: int, kernel: int, stride: int, padding: int, want: int) -> None:
    assert conv_size(size, kernel, stride, padding) == want


# --- derived columns: each written as its definition's arithmetic ---------------------------------


def test_derived_units_are_exact_powers_of_ten() -> None:
    from costmodel.derived import bflops_darknet, bflops_darknet_current, mflops

    assert mflops(Cost(macs=1_500_000)) == 2 * 1_500_000 / 1e6 == 3.0
    assert bflops_darknet(Cost(flops_darknet=3_000_000_000)) == 3.0
    assert bflops_darknet_current(Cost(flops_darknet_current=7_000_000_000)) == 7.0


def test_intensity_counts_other_arithmetic_and_is_zero_when_nothing_moves() -> None:
    from costmodel.derived import intensity

    # 10 MACs (20 FLOPs) + 5 other operations over (3 read + 2 written elements + 1 weight) · 4 bytes
    cost = Cost(macs=10, flops_other=5, params=1, read_elements=3, write_elements=2)
    assert intensity(cost, 4) == (2 * 10 + 5) / ((3 + 2 + 1) * 4)
    assert intensity(Cost(flops_other=9), 4) == 0.0  # moves no byte: 0, not a division by zero


def test_dense_block_cio_is_an_exact_integer() -> None:
    from costmodel.cio import dense_block_cio, partial_dense_block_cio

    # c=3, m=2, d=1 on 1×1: layer 0 reads 3 writes 1, layer 1 reads 4 writes 1: 9 elements
    got = dense_block_cio(3, 2, 1, 1, 1)
    assert got == (3 + 1) + (4 + 1) == 9 and type(got) is int
    # a count beyond 2**53 stays exact only in integer arithmetic
    big = dense_block_cio(2**40, 3, 2**30, 2**5, 2**5)
    assert big == (2**40 * 3 + (9 + 3) * 2**30 // 2) * 2**10 and type(big) is int
    assert type(partial_dense_block_cio(4, 2, 2, 0.5, 3, 3)) is int


# --- the bottleneck summary and its scopes --------------------------------------------------------


def test_a_network_whose_layers_do_no_macs_has_zero_spread_not_a_division_by_zero() -> None:
    from costmodel.bottleneck import bottleneck

    b = bottleneck([("a", 0), ("b", 0)])
    assert (b.peak_share, b.peak_to_mean, b.cv) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("name", "stage", "scope", "inside"),
    [
        ("features.denseblock1.denselayer1.conv1", "stage1", "network", True),
        ("features.transition1.conv", "stage1", "network", True),
        ("features.denseblock1.denselayer1.conv1", "stage1", "dense layers", True),
        ("features.transition1.conv", "stage1", "dense layers", False),
        ("denselayer1.conv", "stage1", "dense layers", False),  # no dot before it: not a dense layer
        ("features.transition1.conv", "stage1", "stage1", True),
        ("features.transition2.conv", "stage2", "stage1", False),
    ],
)
def test_in_scope(name: str, stage: str, scope: str, inside: bool) -> None:
    from costmodel.bottleneck import in_scope

    assert in_scope(name, stage, scope) is inside


def _two_stage_network():
    """input 1×4×4 → stage1: conv a (2 ch, 3×3 pad 1) → stage2: conv b.denselayer1 (4 ch, 1×1)."""
    g = GraphBuilder("scopes", Shape(1, 4, 4))
    g.stage = "stage1"
    a = g.conv("a", INPUT, 2, 3, padding=1)
    g.bn("a_bn", a)  # no MACs: never part of a bottleneck
    g.stage = "stage2"
    g.conv("b.denselayer1", a, 4, 1)
    return analyze(g.build())


def test_bottleneck_of_a_scope_reads_only_that_scopes_layers() -> None:
    p = _two_stage_network()
    a_macs, b_macs = 1 * 2 * 3 * 3 * 4 * 4, 2 * 4 * 1 * 1 * 4 * 4  # 288 and 128
    whole = p.bottleneck()
    assert (whole.peak_layer, whole.peak_macs, whole.total_macs, whole.layers) == (
        "a",
        a_macs,
        a_macs + b_macs,
        2,
    )
    dense = p.bottleneck("dense layers")
    assert (dense.peak_layer, dense.total_macs, dense.layers) == ("b.denselayer1", b_macs, 1)
    stage1 = p.bottleneck("stage1")
    assert (stage1.peak_layer, stage1.total_macs, stage1.layers) == ("a", a_macs, 1)
    assert [layer.name for layer, _ in p.macs_layers()] == ["a", "b.denselayer1"]
    assert [cost.macs for _, cost in p.macs_layers()] == [a_macs, b_macs]
    with pytest.raises(SpecError, match="stage1, stage2"):
        p.bottleneck("stage9")


# --- a tracer's layers (GraphBuilder.traced) -------------------------------------------------------


def test_traced_layer_of_a_known_kind_is_checked_against_its_shape_rule() -> None:
    g = GraphBuilder("t", Shape(2, 3, 3))
    made = g.traced("sum", "add", [INPUT, INPUT], Shape(2, 3, 3))
    assert made == "sum"
    with pytest.raises(SpecError, match=r"'bad' of kind 'add' gives 2×3×3, not 2×3×4"):
        GraphBuilder("t", Shape(2, 3, 3)).traced("bad", "add", [INPUT, INPUT], Shape(2, 3, 4))
    net = g.build()
    layer = net.layer("sum")
    assert (layer.kind, layer.inputs, layer.in_shapes, layer.out_shape) == (
        "add",
        (INPUT, INPUT),
        (Shape(2, 3, 3), Shape(2, 3, 3)),
        Shape(2, 3, 3),
    )
    # an add of two 2×3×3 tensors: one operation per output element, reading both and writing one
    (cost,) = analyze(net).costs
    assert (cost.flops_other, cost.read_elements, cost.write_elements) == (18, 36, 18)


def test_traced_layer_of_an_unknown_kind_keeps_its_shape_and_is_listed_unsupported() -> None:
    g = GraphBuilder("t", Shape(2, 3, 3))
    g.stage = "stage1"
    g.traced("attn", "attention", [INPUT], Shape(5, 1, 1))
    with pytest.raises(SpecError, match="used twice"):
        g.traced("attn", "attention", [INPUT], Shape(5, 1, 1))
    net = g.build()
    layer = net.layer("attn")
    assert (layer.kind, layer.inputs, layer.in_shapes, layer.out_shape, layer.stage) == (
        "attention",
        (INPUT,),
        (Shape(2, 3, 3),),
        Shape(5, 1, 1),
        "stage1",
    )
    p = analyze(net)
    assert p.unsupported == (("attn", "attention"),) and not p.complete


# --- the JSON contract of `--format json`: key spellings and values --------------------------------

# README ("`--format json` is a stable machine contract") and its Conventions table name these keys.
DOCUMENTED_TOP = {"model", "input", "conventions", "layers", "totals"}
DOCUMENTED_LAYER = {"name", "kind", "macs", "params", "cio_conv", "cio_conv_pool"}
DOCUMENTED_TOTALS = {
    "macs",
    "flops",
    "flops_other",
    "params",
    "params_conv",
    "cio_conv",
    "cio_conv_pool",
    "concat_elements",
    "bflops_darknet",
    "bflops_darknet_current",
}
# The whole contract, spelled out: renaming any key breaks a user's script, so it must be deliberate.
COUNTS = [
    "macs",
    "flops_other",
    "params",
    "params_conv",
    "cio_conv",
    "cio_conv_pool",
    "concat_elements",
    "flops_darknet",
    "read_elements",
    "write_elements",
    "flops_darknet_current",
]
TOP = ["model", "input", "precision", "bytes_per_element", "conventions", "complete", "unsupported"]
TOP += ["layers", "totals", "bottleneck"]
LAYER = ["name", "kind", "stage", "in_shape", "out_shape", *COUNTS, "flops", "act_bytes", "weight_bytes"]
LAYER += ["intensity"]
TOTALS = [*COUNTS, "flops", "bflops_darknet", "bflops_darknet_current", "act_bytes", "weight_bytes"]
TOTALS += ["peak_act_bytes", "layers"]
BOTTLENECK = ["peak_layer", "peak_macs", "total_macs", "layers", "peak_share", "peak_to_mean", "cv"]


def _one_conv_json(precision: str = "fp16") -> dict:
    """input 3×8×8 → conv 4×8×8 (3×3, pad 1, bias) → an op no formula knows, as JSON."""
    g = GraphBuilder("one", Shape(3, 8, 8))
    g.stage = "stem"
    c = g.conv("c", INPUT, 4, 3, padding=1, bias=True)
    g.traced("odd", "attention", [c], Shape(4, 8, 8))
    return json.loads(json.dumps(analyze(g.build(), precision).to_dict()))


def test_json_keys_are_the_documented_ones_in_a_fixed_order() -> None:
    data = _one_conv_json()
    assert set(TOP) >= DOCUMENTED_TOP and set(LAYER) >= DOCUMENTED_LAYER and set(TOTALS) >= DOCUMENTED_TOTALS
    assert list(data) == TOP
    assert [list(layer) for layer in data["layers"]] == [LAYER, LAYER]
    assert list(data["totals"]) == TOTALS
    assert list(data["bottleneck"]) == BOTTLENECK
    conventions = set(data["conventions"])
    assert conventions == {*DOCUMENTED_TOTALS, "act_bytes", "weight_bytes", "peak_act_bytes", "intensity"}
    assert data["unsupported"] == [{"name": "odd", "kind": "attention"}]


def test_json_values_of_one_conv_are_its_arithmetic() -> None:
    data = _one_conv_json("fp16")
    assert (data["model"], data["input"], data["precision"], data["bytes_per_element"]) == (
        "one",
        [3, 8, 8],
        "fp16",
        2,
    )
    assert data["complete"] is False
    conv = data["layers"][0]
    macs = 3 * 4 * 3 * 3 * 8 * 8  # (C_in/groups)·C_out·k²·H_out·W_out
    read, write = 3 * 8 * 8, 4 * 8 * 8
    want = {
        "name": "c",
        "kind": "conv",
        "stage": "stem",
        "in_shape": [[3, 8, 8]],
        "out_shape": [4, 8, 8],
        "macs": macs,
        "flops_other": write,  # the bias: one add per output element
        "params": 3 * 4 * 9 + 4,
        "params_conv": 3 * 4 * 9,
        "cio_conv": read + write,
        "cio_conv_pool": read + write,
        "concat_elements": 0,
        "flops_darknet": 2 * macs,
        "read_elements": read,
        "write_elements": write,
        "flops_darknet_current": 2 * macs,
        "flops": 2 * macs,
        "act_bytes": (read + write) * 2,
        "weight_bytes": (3 * 4 * 9 + 4) * 2,
        "intensity": (2 * macs + write) / ((read + write) * 2 + (3 * 4 * 9 + 4) * 2),
    }
    assert conv == want
    totals = data["totals"]
    assert {k: totals[k] for k in COUNTS} == {k: want[k] for k in COUNTS}  # the unsupported op adds 0
    assert totals["bflops_darknet"] == totals["bflops_darknet_current"] == 2 * macs / 1e9
    assert totals["layers"] == 2
    # input (192) + conv output (256) alive together, then the conv output and its reader's (256)
    assert totals["peak_act_bytes"] == (256 + 256) * 2
    assert data["bottleneck"] == {
        "peak_layer": "c",
        "peak_macs": macs,
        "total_macs": macs,
        "layers": 1,
        "peak_share": 1.0,
        "peak_to_mean": 1.0,
        "cv": 0.0,
    }


# --- the graph builder: every layer's edges, defaults and argument checks ---------------------------


@pytest.mark.parametrize("kind", sorted(SAMPLES), ids=sorted(SAMPLES))
def test_every_builder_records_the_edges_it_was_given(kind: str) -> None:
    """Each layer's inputs are layers built before it (or the input) and its input shapes are theirs,
    so the footprint, the torch twin and the JSON all see the graph the builder was told."""
    g = GraphBuilder(kind, IN_SHAPE)
    SAMPLES[kind](g)
    net = g.build()
    shapes = {INPUT: IN_SHAPE}
    for layer in net.layers:
        # an [implicit] tensor reads nothing (darknet's make_implicit_layer); every other layer reads
        assert isinstance(layer.inputs, tuple) and bool(layer.inputs) == (layer.kind != "implicit"), layer
        assert layer.in_shapes == tuple(shapes[src] for src in layer.inputs), layer
        assert all(type(d) is int for d in layer.out_shape), layer  # 4, never 4.0
        shapes[layer.name] = layer.out_shape
    analyze(net).peak_activation()  # walks the edges (the footprint) without tripping


def test_conv_transpose_defaults_are_torchs() -> None:
    # torch's ConvTranspose2d defaults: stride 1, padding 0, output padding 0, groups 1, dilation 1;
    # ours also no bias. 6×9×9 → (9−1)·1 + (3−1) + 1 = 11.
    g = GraphBuilder("t", Shape(6, 9, 9))
    g.conv_transpose("x", INPUT, 4, 3)
    (cost,) = analyze(g.build()).costs
    assert g.build().layer("x").out_shape == Shape(4, 11, 11)
    assert (cost.macs, cost.params, cost.flops_other) == (6 * 4 * 3 * 3 * 9 * 9, 6 * 4 * 3 * 3, 0)


def test_conv_transpose_geometry_bias_and_sharing() -> None:
    g = GraphBuilder("t", Shape(6, 9, 9))
    # stride 2, padding 1, output padding 1, dilation 2: (9−1)·2 − 2·1 + 2·(3−1) + 1 + 1 = 20
    g.conv_transpose("a", INPUT, 4, 3, stride=2, padding=1, output_padding=1, dilation=2, bias=True)
    g.conv_transpose(
        "b", INPUT, 4, 3, stride=2, padding=1, output_padding=1, dilation=2, bias=True, shares="a"
    )
    g.conv_transpose("one", INPUT, 1, 1)  # a single output channel is allowed
    net = g.build()
    assert net.layer("a").out_shape == Shape(4, 20, 20)
    a, b, _ = analyze(net).costs
    assert (a.params, a.params_conv, a.flops_other) == (6 * 4 * 9 + 4, 6 * 4 * 9, 4 * 20 * 20)
    assert (b.params, b.params_conv) == (0, 0)  # counted once, at the layer that owns the weights
    assert net.layer("b").shares == "a"


@pytest.mark.parametrize(
    ("out_c", "groups", "output_padding", "stride"),
    [
        (0, 1, 0, 1),  # no output channel
        (3, 2, 0, 1),  # groups divide the 6 inputs but not the 3 outputs
        (4, 4, 0, 1),  # groups divide the 4 outputs but not the 6 inputs
        (4, 0, 0, 1),  # no group
        (4, 1, 2, 2),  # output padding must be below the stride
    ],
)
def test_conv_transpose_refuses(out_c: int, groups: int, output_padding: int, stride: int) -> None:
    g = GraphBuilder("t", Shape(6, 9, 9))
    with pytest.raises(SpecError, match=r"must divide both|must be below the stride"):
        g.conv_transpose("x", INPUT, out_c, 3, stride=stride, output_padding=output_padding, groups=groups)


def test_conv_transpose_shares_only_a_conv_transpose() -> None:
    g = GraphBuilder("t", Shape(6, 9, 9))
    g.conv("c", INPUT, 4, 3)
    with pytest.raises(SpecError, match="shares the weights of 'c', which is not one"):
        g.conv_transpose("x", INPUT, 4, 3, shares="c")
    with pytest.raises(SpecError, match="layer 'nope' does not exist in 't'"):
        g.conv_transpose("y", INPUT, 4, 3, shares="nope")


def test_norm_defaults_to_an_affine_norm_of_its_own() -> None:
    g = GraphBuilder("t", Shape(6, 2, 2))
    g.norm("n", INPUT, 3)
    g.norm("plain", INPUT, 1, affine=False)
    net = g.build()
    n, plain = analyze(net).costs
    # affine: a scale and a shift per channel, 5 operations per element; without: none and 4
    assert (n.params, n.flops_other) == (2 * 6, 5 * 6 * 2 * 2)
    assert (plain.params, plain.flops_other) == (0, 4 * 6 * 2 * 2)
    assert (net.layer("n").groups, net.layer("n").shares) == (3, "")


@pytest.mark.parametrize("groups", [0, 4])
def test_norm_refuses_groups_that_do_not_divide(groups: int) -> None:
    with pytest.raises(SpecError, match=f"{groups} groups must divide its 6 channels"):
        GraphBuilder("t", Shape(6, 2, 2)).norm("n", INPUT, groups)


def test_split_refuses_an_empty_slice() -> None:
    with pytest.raises(SpecError, match=r"channels \[2, 2\) are not inside"):
        GraphBuilder("t", Shape(6, 2, 2)).split("s", INPUT, 2, 2)


def test_reshape_keeps_the_element_count_and_allows_unit_sides() -> None:
    g = GraphBuilder("t", Shape(6, 9, 9))
    g.reshape("flat", INPUT, Shape(6 * 9 * 9, 1, 1))
    assert g.build().layer("flat").out_shape == Shape(486, 1, 1)
    with pytest.raises(SpecError, match="cannot be viewed as"):
        GraphBuilder("t", Shape(6, 9, 9)).reshape("r", INPUT, Shape(6, 9, 8))


def test_reorg_refuses_what_does_not_divide() -> None:
    with pytest.raises(SpecError, match="needs channels divisible by 4, got 6"):
        GraphBuilder("t", Shape(6, 4, 4)).reorg("r", INPUT, 2, reverse=True)
    with pytest.raises(SpecError, match="does not divide the 8×9 map"):
        GraphBuilder("t", Shape(4, 8, 9)).reorg("r", INPUT, 2)


@pytest.mark.parametrize(
    ("h", "w", "fits"),
    [(9, 9, True), (1, 1, True), (0, 4, False), (4, 0, False), (10, 4, False), (4, 10, False)],
)
def test_crop_window_bounds(h: int, w: int, fits: bool) -> None:
    g = GraphBuilder("t", Shape(2, 9, 9))
    if fits:
        g.crop("c", INPUT, h, w)
        assert g.build().layer("c").out_shape == Shape(2, h, w)
    else:
        with pytest.raises(SpecError, match="window does not fit the 9×9 map"):
            g.crop("c", INPUT, h, w)


def test_blur_strides_and_padding() -> None:
    g = GraphBuilder("t", Shape(2, 9, 9))
    g.blur("b3", INPUT, 3, 2)  # 3×3, padding 1: (9 + 2 − 3)//2 + 1 = 5 each way
    g.blur("b3w", INPUT, 3, 2, stride_w=1)  # the width at stride 1: (9 + 2 − 3)//1 + 1 = 9
    g.blur("b3same", INPUT, 3, 2, stride_w=2)  # a width stride equal to the stride is no change
    g.blur("b2", INPUT, 2, 2)  # 2×2 without padding: (9 − 2)//2 + 1 = 4
    net = g.build()
    shapes = [net.layer(n).out_shape for n in ("b3", "b3w", "b3same", "b2")]
    assert shapes == [Shape(2, 5, 5), Shape(2, 5, 9), Shape(2, 5, 5), Shape(2, 4, 4)]
    # depthwise: k² multiply-adds per output element
    assert [c.macs for c in analyze(net).costs] == [
        9 * 2 * 5 * 5,
        9 * 2 * 5 * 9,
        9 * 2 * 5 * 5,
        4 * 2 * 4 * 4,
    ]


def test_conv_bn_act_passes_its_arguments_through() -> None:
    g = GraphBuilder("t", Shape(4, 8, 8))
    g.conv_bn_act("p", INPUT, 6, 3, stride=1, padding=0, groups=2, op="leaky")
    net = g.build()
    conv = net.layer("p.conv")
    assert (conv.out_shape, conv.groups, conv.padding) == (Shape(6, 6, 6), 2, 0)
    assert [layer.name for layer in net.layers] == ["p.conv", "p.norm", "p.leaky"]
    assert net.layer("p.leaky").op == "leaky"
    assert analyze(net).costs[0].params == (4 // 2) * 6 * 3 * 3


def test_bn_act_conv_names_and_stride() -> None:
    g = GraphBuilder("t", Shape(4, 8, 8))
    g.bn_act_conv("p", INPUT, 6, 1, stride=2)
    net = g.build()
    assert [layer.name for layer in net.layers] == ["p.norm", "p.relu", "p.conv"]
    assert net.layer("p.conv").out_shape == Shape(6, 4, 4)


# --- the CSP stage (families/common.py) on a toy block whose widths are easy to follow --------------


def _toy_stage(gamma: float, fusion: str, **kw: object):
    """A 4×4×4 input through stage 1: the "dense block" concatenates its input with a 1×1 conv of 2
    channels (width in + 2); a transition is a 1×1 conv to the width asked."""
    g = GraphBuilder("toy", Shape(4, 4, 4))

    def dense(src: str) -> str:
        return g.concat("dense.cat", [src, g.conv("dense.conv", src, 2, 1)])

    def transition(prefix: str, src: str, out_c: int) -> str:
        return g.conv(f"{prefix}.conv", src, out_c, 1)

    args: dict = {"compression": 0.5, "pool": True, **kw}
    out = csp_stage(g, 1, INPUT, gamma=gamma, fusion=fusion, dense=dense, transition=transition, **args)
    net = g.build()
    return net, net.layer(out).out_shape


def test_csp_stage_widths() -> None:
    # γ 0.5 of 4: 2 + 2; dense(part 2) is 4 wide; the partial transition keeps ⌊4·0.5⌋ = 2; the concat
    # (2 + 2) is pooled to 2×2 and the last transition gives ⌊(2 + 4)·0.5⌋ = 3 channels
    net, out = _toy_stage(0.5, "csp")
    assert out == Shape(3, 2, 2)
    assert net.layer("features.csp1.fuse").out_shape == Shape(4, 4, 4)
    assert net.layer("features.transition1.conv").out_shape.c == 2
    # the avgpool is 2×2 at stride 2
    pool = net.layer("features.csp1.pool")
    assert (pool.kernel, pool.stride, pool.out_shape) == (2, 2, Shape(4, 2, 2))


def test_csp_stage_without_baseline_transition_keeps_the_full_width() -> None:
    # DenseNet's last block: the last transition keeps all 2 + 4 channels; the partial one still halves
    net, out = _toy_stage(0.5, "csp", baseline_transition=False, pool=False)
    assert out == Shape(2 + 4, 4, 4)
    assert net.layer("features.transition1.conv").out_shape.c == 2


@pytest.mark.parametrize("fusion", ["fusion_first", "fusion_last", "csp"])
def test_csp_stage_at_gamma_zero_has_no_split_and_no_concat(fusion: str) -> None:
    net, out = _toy_stage(0.0, fusion)
    names = [layer.name for layer in net.layers]
    assert not [n for n in names if n.startswith("features.csp1.part") or n.endswith(".fuse")], names
    assert net.layer("dense.conv").inputs == (INPUT,)
    # the whole 4-channel input goes through the block (4 + 2 = 6 wide); each strategy's transitions
    # then give ⌊6·0.5⌋ = 3 channels, pooled to 2×2
    assert out == Shape(3, 2, 2)


@pytest.mark.parametrize(("gamma", "parts"), [(0.2, (1, 3)), (0.75, (3, 1))])
def test_csp_stage_allows_a_one_channel_part(gamma: float, parts: tuple[int, int]) -> None:
    net, _ = _toy_stage(gamma, "fusion_last")
    assert net.layer("features.csp1.part1").out_shape.c == parts[0]
    assert net.layer("features.csp1.part2").out_shape.c == parts[1]


@pytest.mark.parametrize("gamma", [0.1, 0.9])  # ⌊0.4 + ½⌋ = 0 and ⌊3.6 + ½⌋ = 4: a part of 0 channels
def test_csp_stage_refuses_a_gamma_that_rounds_a_part_to_zero(gamma: float) -> None:
    # the advice is the range that leaves both parts a channel: 1/4 to 1 − 1/4
    with pytest.raises(SpecError, match=r"rounds to zero channels; use a γ between 0\.25 and 0\.75"):
        _toy_stage(gamma, "csp")


def test_csp_stage_partial_transition_of_one_channel_and_of_none() -> None:
    net, _ = _toy_stage(0.5, "csp", partial_compression=0.25)  # ⌊4·0.25⌋ = 1
    assert net.layer("features.transition1.conv").out_shape.c == 1
    with pytest.raises(
        SpecError, match=r"partial_compression 0\.2 leaves stage 1's partial transition with 0"
    ):
        _toy_stage(0.5, "csp", partial_compression=0.2)  # ⌊4·0.2⌋ = 0


def test_csp_stage_transition_of_one_channel_and_of_none() -> None:
    _, out = _toy_stage(0.5, "fusion_first", compression=0.2)  # ⌊(2 + 4)·0.2⌋ = 1
    assert out == Shape(1, 2, 2)
    with pytest.raises(SpecError, match=r"compression 0\.1 leaves stage 1 with 0 channels from 6"):
        _toy_stage(0.5, "fusion_first", compression=0.1)


def test_check_csp_bounds() -> None:
    check_csp(0.5, "csp", 1.0)  # a partial transition may keep every channel
    with pytest.raises(SpecError, match=r"partial_compression = 1\.5 must be in \(0, 1\]"):
        check_csp(0.5, "csp", 1.5)
    for bad in ("0.5", True):
        with pytest.raises(SpecError, match="must be a number in"):
            check_csp(bad, "csp")  # type: ignore[arg-type]


# --- the kind table's registration (it runs at import, so it is exercised here on a scratch kind) ---


def test_register_makes_one_complete_entry_and_refuses_twice() -> None:
    from costmodel.kinds import FORMULAS, KINDS, LayerKind, register

    def shape(ins, out_c, k, s, p, slice_, ceil, geo):  # type: ignore[no-untyped-def]
        return ins[0]

    def formula(layer):  # type: ignore[no-untyped-def]
        """The scratch kind's doc."""
        return Cost(macs=7)

    def bare(layer):  # type: ignore[no-untyped-def]
        return Cost()

    names = ("zz_scratch_a", "zz_scratch_b", "zz_scratch_c")
    try:
        assert register(names[0], names[1], shape=shape)(formula) is formula
        for name in names[:2]:
            assert KINDS[name] == LayerKind(name, formula, shape, "The scratch kind's doc.")
            assert FORMULAS[name] is formula
        register(names[2], shape=shape, doc="given")(bare)
        assert KINDS[names[2]].doc == "given"
        with pytest.raises(RuntimeError, match="'zz_scratch_a' is already registered"):
            register(names[0], shape=shape)(bare)
        assert KINDS[names[0]].formula is formula
        with pytest.raises(TypeError, match="need a shape rule"):
            register("zz_scratch_d")(bare)
        assert "zz_scratch_d" not in KINDS and "zz_scratch_d" not in FORMULAS
    finally:
        for name in names:
            KINDS.pop(name, None)
            FORMULAS.pop(name, None)


def test_register_leaves_an_undocumented_kind_with_an_empty_doc() -> None:
    from costmodel.kinds import FORMULAS, KINDS, register

    def bare(layer):  # type: ignore[no-untyped-def]
        return Cost()

    try:
        register("zz_scratch_e", shape=lambda *a: a[0][0])(bare)
        assert KINDS["zz_scratch_e"].doc == ""
    finally:
        KINDS.pop("zz_scratch_e", None)
        FORMULAS.pop("zz_scratch_e", None)


# --- the bottleneck and footprint at their edges ----------------------------------------------------


def test_a_layer_of_one_mac_is_part_of_the_bottleneck() -> None:
    g = GraphBuilder("tiny", Shape(1, 1, 1))
    g.conv("c", INPUT, 1, 1)  # 1·1·1·1·1·1 = 1 MAC
    b = analyze(g.build()).bottleneck()
    assert (b.peak_layer, b.peak_macs, b.layers) == ("c", 1, 1)


def test_a_footprint_whose_peak_is_the_input_names_no_layer() -> None:
    g = GraphBuilder("view", Shape(8, 4, 4))
    g.split("s", INPUT, 0, 4)  # a view: nothing is allocated beyond the 128-element input
    assert analyze(g.build()).peak_activation() == (8 * 4 * 4, "")


# --- darknet sections: defaults and keys, held to darknet's own parser.c ----------------------------


def _darknet_default(function: str, key: str) -> str:
    """The default ``parse_FUNCTION`` in darknet's ``src/parser.c`` gives ``key`` (read there, never
    copied): the last argument of its ``option_find_*(options, "key", default)`` call."""
    parser = SHARED / "reference" / "darknet" / "src" / "parser.c"
    require(parser.is_file(), f"darknet's source is not at {parser}")
    text = parser.read_text(errors="replace")
    body = re.search(rf"\n\w[\w ]*\*?\s*parse_{function}\(list \*options.*?\n}}", text, re.S)
    assert body is not None, function
    found = re.search(rf'option_find_\w+\(options,\s*"{key}",\s*([^)]+)\)', body.group())
    assert found is not None, (function, key)
    return found.group(1).strip().strip('"')


def _cfg(size: int, channels: int, *sections: str) -> str:
    return f"[net]\nwidth={size}\nheight={size}\nchannels={channels}\n" + "".join(
        f"\n{s}\n" for s in sections
    )


def _conv(filters: int) -> str:
    return f"[convolutional]\nfilters={filters}\nsize=1\nstride=1\npad=1\nactivation=linear"


def test_region_reads_classes_coords_and_num_with_darknets_defaults() -> None:
    classes, coords, num = (int(_darknet_default("region", k)) for k in ("classes", "coords", "num"))
    need = num * (classes + coords + 1)  # make_region_layer: n·(classes + coords + 1) channels
    assert parse(_cfg(8, 3, _conv(need), "[region]")).output.kind == "detect"
    with pytest.raises(SpecError, match=f"set filters={need} in"):
        parse(_cfg(8, 3, _conv(need + 1), "[region]"))
    given = 3 * (2 + 6 + 1)
    assert parse(_cfg(8, 3, _conv(given), "[region]\nclasses=2\ncoords=6\nnum=3")).output.kind == "detect"
    with pytest.raises(SpecError, match=f"= {given} are needed; set filters={given} in"):
        parse(_cfg(8, 3, _conv(given + 1), "[region]\nclasses=2\ncoords=6\nnum=3"))


def test_detection_reads_side_coords_num_and_classes_with_darknets_defaults() -> None:
    side, coords, num, classes = (
        int(_darknet_default("detection", k)) for k in ("side", "coords", "num", "classes")
    )
    need = side * side * ((1 + coords) * num + classes)  # make_detection_layer's inputs
    fc = f"[connected]\noutput={need}\nactivation=linear"
    assert parse(_cfg(4, 1, _conv(2), fc, "[detection]")).output.kind == "detect"
    given = 2 * 2 * ((1 + 4) * 2 + 3)
    keys = "[detection]\nside=2\ncoords=4\nnum=2\nclasses=3"
    assert (
        parse(_cfg(4, 1, _conv(2), f"[connected]\noutput={given}\nactivation=linear", keys)).output.kind
        == "detect"
    )
    with pytest.raises(SpecError, match=f"= {given} are needed"):
        parse(_cfg(4, 1, _conv(2), f"[connected]\noutput={given + 1}\nactivation=linear", keys))


@pytest.mark.parametrize(
    ("section", "function", "terms"), [("yolo", "yolo", 5), ("Gaussian_yolo", "gaussian_yolo", 9)]
)
def test_yolo_heads_default_to_darknets_classes(section: str, function: str, terms: int) -> None:
    classes = int(_darknet_default(function, "classes"))
    assert parse(_cfg(8, 3, _conv(classes + terms), f"[{section}]")).output.kind == "detect"
    with pytest.raises(SpecError, match=f"= {classes + terms} are needed"):
        parse(_cfg(8, 3, _conv(classes + terms + 1), f"[{section}]"))


def test_crop_defaults_and_keys() -> None:
    h, w = int(_darknet_default("crop", "crop_height")), int(_darknet_default("crop", "crop_width"))
    net = parse(_cfg(16, 3, "[crop]"))
    assert net.output.out_shape == Shape(3, h, w)
    # crop_layer.c: out_h = crop_height, out_w = crop_width
    assert parse(_cfg(16, 3, "[crop]\ncrop_height=5\ncrop_width=7")).output.out_shape == Shape(3, 5, 7)


def test_reorg3d_stride_and_reverse() -> None:
    stride = int(_darknet_default("reorg", "stride"))
    assert parse(_cfg(8, 4, _conv(4), "[reorg3d]")).output.out_shape == Shape(
        4 * stride * stride, 8 // stride, 8 // stride
    )
    assert parse(_cfg(8, 4, _conv(4), "[reorg3d]\nstride=2")).output.out_shape == Shape(16, 4, 4)
    assert parse(_cfg(8, 4, _conv(4), "[reorg3d]\nstride=2\nreverse=1")).output.out_shape == Shape(1, 16, 16)


# a 8×4×4 map (layer 0), its global average (layer 1, 8×1×1) and a 1-channel map (layer 2, 1×4×4)
SCALE_BASE = (_conv(8), "[avgpool]")


def test_scale_channels_by_a_channel_vector() -> None:
    net = parse(_cfg(4, 3, *SCALE_BASE, "[scale_channels]\nfrom=-2"))
    mul = net.output
    assert (mul.kind, mul.inputs, mul.out_shape) == (
        "mul",
        ("layers.0.conv", "layers.1.pool"),
        Shape(8, 4, 4),
    )
    # darknet reads from= with atoi: the first of several is the one
    assert parse(_cfg(4, 3, *SCALE_BASE, "[scale_channels]\nfrom=-2,-1")).output.inputs[0] == "layers.0.conv"
    with pytest.raises(SpecError, match=r"so the input must be 8×1×1, but it is 8×4×4"):
        parse(_cfg(4, 3, _conv(8), _conv(8), "[scale_channels]\nfrom=-2"))
    text = _cfg(4, 3, _conv(8), _conv(4), "[avgpool]", "[scale_channels]\nfrom=-3")
    line = text.splitlines().index("from=-3") + 1  # the line of the key at fault
    want = "layer 0 is 8×4×4, so the input must be 8×1×1, but it is 4×1×1"
    with pytest.raises(SpecError, match=rf"^<cfg>:{line}: \[scale_channels\] layer 3: from='-3': {want}$"):
        parse(text)


def test_scale_channels_by_a_spatial_map_with_scale_wh() -> None:
    one = "[convolutional]\nfilters=1\nsize=1\nactivation=linear"
    net = parse(_cfg(4, 3, _conv(8), one, "[scale_channels]\nfrom=-2\nscale_wh=1\nactivation=logistic"))
    assert [layer.name for layer in net.layers][-2:] == ["layers.2.mul", "layers.2.act"]
    assert net.output.op == "logistic"
    with pytest.raises(SpecError, match=r"must be 1×4×4, but it is 2×4×4"):
        parse(_cfg(4, 3, _conv(8), _conv(2), "[scale_channels]\nfrom=-2\nscale_wh=1"))
    pool = "[maxpool]\nsize=2\nstride=2"
    with pytest.raises(SpecError, match=r"must be 1×4×4, but it is 1×2×2"):
        parse(_cfg(4, 3, _conv(8), one, pool, "[scale_channels]\nfrom=-3\nscale_wh=1"))


def test_connected_with_batch_normalize_and_its_default_activation() -> None:
    assert _darknet_default("connected", "activation") == "logistic"
    net = parse(_cfg(2, 3, "[connected]\noutput=5"))
    assert [layer.name for layer in net.layers] == ["layers.0.flatten", "layers.0.fc", "layers.0.act"]
    assert net.output.op == "logistic"
    costs = dict(analyze(net).rows())
    assert costs[net.layer("layers.0.fc")].params == 3 * 2 * 2 * 5 + 5  # weights and a bias
    bn = parse(_cfg(2, 3, "[connected]\noutput=5\nbatch_normalize=1\nactivation=linear"))
    assert [layer.name for layer in bn.layers] == ["layers.0.flatten", "layers.0.fc", "layers.0.norm"]
    bn_costs = dict(analyze(bn).rows())
    # with batch_normalize darknet's connected layer has no bias; the BN has a scale and a shift
    assert bn_costs[bn.layer("layers.0.fc")].params == 3 * 2 * 2 * 5
    assert bn_costs[bn.layer("layers.0.norm")].params == 2 * 5
    assert bn.layer("layers.0.norm").inputs == ("layers.0.fc",)


def test_activation_section_and_its_linear_default() -> None:
    assert _darknet_default("activation", "activation") == "linear"
    bare = parse(_cfg(4, 3, _conv(2), "[activation]"))
    assert [layer.name for layer in bare.layers] == ["layers.0.conv"]  # linear: no layer at all
    leaky = parse(_cfg(4, 3, _conv(2), "[activation]\nactivation=leaky"))
    assert leaky.output.name == "layers.1.act" and leaky.output.op == "leaky"


def test_grouped_softmax_is_refused_at_its_groups_line() -> None:
    parse(_cfg(4, 3, _conv(2), "[softmax]\ngroups=1"))
    text = _cfg(4, 3, _conv(2), "[softmax]\ntemperature=1\ngroups=2")
    line = text.splitlines().index("groups=2") + 1  # the key's own line, not the section's
    with pytest.raises(
        SpecError, match=rf"^<cfg>:{line}: \[softmax\] layer 1: grouped softmax .* use groups=1$"
    ):
        parse(text)


def test_batchnorm_and_empty_sections() -> None:
    net = parse(_cfg(4, 3, _conv(2), "[batchnorm]", "[empty]", _conv(5)))
    assert [layer.name for layer in net.layers] == ["layers.0.conv", "layers.1.norm", "layers.3.conv"]
    assert net.layer("layers.1.norm").kind == "bn"
    # [empty] passes its input on: layer 3 reads the batchnorm's output
    assert net.layer("layers.3.conv").inputs == ("layers.1.norm",)
    bn = dict(analyze(net).rows())[net.layer("layers.1.norm")]
    assert (bn.params, bn.flops_other) == (2 * 2, 2 * 2 * 4 * 4)


def test_parse_names_an_unnamed_source_cfg_and_errors_locate_net_without_a_layer() -> None:
    assert parse(_cfg(4, 3, _conv(2))).name == "<cfg>"
    with pytest.raises(SpecError, match=r"^<cfg>:2: \[net\]: "):
        parse("[net]\nwidth=abc\nheight=4\nchannels=3\n" + _conv(2))


def test_a_cfg_file_with_bytes_that_are_not_utf8_is_read(tmp_path) -> None:
    from costmodel.darknet import load

    path = tmp_path / "latin.cfg"
    path.write_bytes(b"# caf\xe9 \xff\n" + _cfg(4, 3, _conv(2)).encode())
    assert load(path).output.out_shape == Shape(2, 4, 4)


def test_upsample_by_one_and_a_negative_stride_that_downsamples() -> None:
    g = GraphBuilder("t", Shape(4, 8, 6))
    g.upsample("same", INPUT, 1)
    g.upsample("down", INPUT, -2)  # darknet: a negative stride sums 2×2 blocks, 8×6 → 4×3
    net = g.build()
    assert net.layer("same").out_shape == Shape(4, 8, 6)
    down = net.layer("down").out_shape
    assert down == Shape(4, 8 // 2, 6 // 2) and all(type(d) is int for d in down)
    assert parse(_cfg(8, 3, _conv(4), "[upsample]\nstride=-2")).output.out_shape == Shape(4, 4, 4)


def test_route_and_shortcut_references_are_checked() -> None:
    with pytest.raises(SpecError, match=r"\[route\] layer 1: the required key 'layers' is missing"):
        parse(_cfg(8, 3, _conv(2), "[route]"))
    with pytest.raises(SpecError, match=r"the required key 'layers' is missing"):
        parse(_cfg(8, 3, _conv(2), "[route]\nlayers="))
    text = _cfg(8, 3, _conv(2), "[route]\nlayers=abc")
    line = text.splitlines().index("layers=abc") + 1
    with pytest.raises(
        SpecError, match=rf"^<cfg>:{line}: \[route\] layer 1: layers='abc': 'abc' is not a layer index$"
    ):
        parse(text)
    # a layer reads only the layers before it: layer 1 may read 0 (or -1), not itself
    with pytest.raises(
        SpecError,
        match=r"layers=1 refers to layer 1, which does not exist: layer 1 can only read layers 0\.\.0 "
        r"\(or -1\.\.-1\)",
    ):
        parse(_cfg(8, 3, _conv(2), "[route]\nlayers=1"))


def test_grouped_route_bounds_and_integer_channels() -> None:
    net = parse(_cfg(8, 3, _conv(8), "[route]\nlayers=-1\ngroups=4\ngroup_id=2"))
    split = net.output
    # the third quarter of 8 channels: [2·2, 2·3)
    assert split.slice_ == (4, 6) and all(type(v) is int for v in split.slice_)
    assert split.out_shape == Shape(2, 8, 8) and type(split.out_shape.c) is int
    assert parse(_cfg(8, 3, _conv(8), "[route]\nlayers=-1\ngroups=4\ngroup_id=0")).output.slice_ == (0, 2)
    text = _cfg(8, 3, _conv(8), "[route]\nlayers=-1\ngroups=2\ngroup_id=2")
    line = text.splitlines().index("group_id=2") + 1
    with pytest.raises(SpecError, match=rf"^<cfg>:{line}: .*group_id=2 must be in 0\.\.1 for groups=2$"):
        parse(text)


def test_shortcut_weights_type_as_darknet_reads_it() -> None:
    base = (_conv(4), _conv(4))
    plain = parse(_cfg(8, 3, *base, "[shortcut]\nfrom=-2"))  # no activation key: linear, no layer
    assert plain.output.name == "layers.2.add" and plain.output.op == ""
    n_from = 1
    for given in ("per_feature", "per_layer"):  # parser.c: per_layer is per_feature
        net = parse(_cfg(8, 3, *base, f"[shortcut]\nfrom=-2\nweights_type={given}"))
        assert net.output.op == "per_feature"
        add = dict(analyze(net).rows())[net.output]
        # today's darknet: out_w·out_h·out_c·n_from, doubled for a weighted shortcut
        assert add.flops_darknet_current == 2 * 8 * 8 * 4 * n_from
    text = _cfg(8, 3, *base, "[shortcut]\nfrom=-2\nweights_type=bogus")
    line = text.splitlines().index("weights_type=bogus") + 1
    with pytest.raises(
        SpecError, match=rf"^<cfg>:{line}: .*weights_type='bogus' is not one of none, per_feature"
    ):
        parse(text)


def test_convolutional_strides_per_axis_padding_and_dilation() -> None:
    three = "[convolutional]\nfilters=2\nsize=3\nactivation=linear"
    # no pad: padding= (default 0) is used; (8 + 2·padding − 3)//stride + 1 per axis
    assert parse(_cfg(8, 3, three)).output.out_shape == Shape(2, 6, 6)
    assert parse(_cfg(8, 3, three + "\npadding=1")).output.out_shape == Shape(2, 8, 8)
    assert parse(_cfg(8, 3, three + "\npadding=1\nstride_y=2")).output.out_shape == Shape(2, 4, 8)
    assert parse(_cfg(8, 3, three + "\npadding=1\nstride_x=2")).output.out_shape == Shape(2, 8, 4)
    # stride_x/stride_y of 1 override a stride of 2
    assert parse(_cfg(8, 3, three + "\npadding=1\nstride=2\nstride_y=1")).output.out_shape == Shape(2, 8, 4)
    assert parse(_cfg(8, 3, three + "\npadding=1\nstride=2\nstride_x=1")).output.out_shape == Shape(2, 4, 8)
    # darknet's convolutional_layer.c: a 1×1 conv has dilation 1 whatever the cfg says
    one = parse(_cfg(8, 3, "[convolutional]\nfilters=2\nsize=1\ndilation=2\nactivation=linear"))
    assert one.output.dilation == 1
    # convolutional_out_height: (h + 2·pad − size)/stride + 1, whatever the dilation: (8 + 2 − 3) + 1 = 8
    dilated = parse(_cfg(8, 3, three + "\npad=1\ndilation=2"))
    assert dilated.output.out_shape == Shape(2, 8, 8) and dilated.output.dilation == 2


def test_pools_follow_darknets_rule_per_axis() -> None:
    # maxpool_layer.c: out = (w + padding − size)/stride + 1, padding defaulting to size − 1
    stride = int(_darknet_default("maxpool", "stride"))
    out = (8 + (3 - 1) - 3) // stride + 1
    assert parse(_cfg(8, 2, "[maxpool]\nsize=3")).output.out_shape == Shape(2, out, out)
    # size defaults to the stride: (8 + 1 − 2)//2 + 1 = 4
    assert parse(_cfg(8, 2, "[maxpool]\nstride=2")).output.out_shape == Shape(2, 4, 4)
    # stride_x 2, stride_y 1: width (8 + 1 − 2)//2 + 1 = 4, height (8 + 1 − 2)//1 + 1 = 8
    assert parse(_cfg(8, 2, "[maxpool]\nsize=2\nstride_x=2\nstride_y=1")).output.out_shape == Shape(2, 8, 4)
    assert parse(_cfg(8, 2, "[maxpool]\nsize=2\nstride_y=2\nstride_x=1")).output.out_shape == Shape(2, 4, 8)
    # an odd total padding of 3 with unequal strides: (8 + 3 − 2)//2 + 1 = 5 across, (8 + 3 − 2) + 1 = 10 down
    odd = parse(_cfg(8, 2, "[maxpool]\nsize=2\nstride_x=2\nstride_y=1\npadding=3")).output
    assert odd.out_shape == Shape(2, 10, 5)
    assert (odd.padding, odd.pad_end) == (3 // 2, 3 - 3 // 2)
    local = parse(_cfg(8, 2, "[local_avgpool]\nsize=2\nstride=2")).output
    assert (local.kind, local.out_shape) == ("avgpool", Shape(2, 4, 4))


def test_upsample_defaults_to_darknets_stride() -> None:
    stride = int(_darknet_default("upsample", "stride"))
    assert parse(_cfg(4, 3, _conv(2), "[upsample]")).output.out_shape == Shape(2, 4 * stride, 4 * stride)


def test_yolo_mask_is_counted_up_to_a_hash() -> None:
    # parser.c's parse_yolo_mask stops counting entries at '#': "0,1#,2" is 2 masks
    net = parse(_cfg(8, 3, _conv(2 * (1 + 5)), "[yolo]\nclasses=1\nnum=3\nmask=0,1#,2"))
    assert net.output.kind == "detect"
    with pytest.raises(
        SpecError, match=r"2 masks × 6 \(classes \+ box terms\) = 12 are needed; set filters=12 in"
    ):
        parse(_cfg(8, 3, _conv(13), "[yolo]\nclasses=1\nnum=3\nmask=0,1#,2"))
    # without a mask, num boxes: parse_yolo's num
    three = parse(_cfg(8, 3, _conv(3 * (1 + 5)), "[yolo]\nclasses=1\nnum=3"))
    assert three.output.kind == "detect"


def test_convolutional_activation_cbn_and_xnor() -> None:
    # parse_convolutional: activation defaults to logistic; cbn=1 is a batch norm; XNOR ignores groups
    assert _darknet_default("convolutional", "activation") == "logistic"
    net = parse(_cfg(4, 4, "[convolutional]\nfilters=4\nsize=1"))
    assert net.output.name == "layers.0.act" and net.output.op == "logistic"
    cbn = parse(_cfg(4, 4, "[convolutional]\nfilters=4\nsize=1\ncbn=1\nactivation=linear"))
    assert [layer.name for layer in cbn.layers] == ["layers.0.conv", "layers.0.norm"]
    assert cbn.layer("layers.0.conv").bias is False
    xnor = parse(_cfg(4, 4, "[convolutional]\nfilters=4\nsize=3\npad=1\ngroups=2\nxnor=1\nactivation=linear"))
    (cost,) = analyze(xnor).costs
    assert cost.params_conv == 4 * 4 * 3 * 3  # all 4 input channels per filter: groups ignored
    assert cost.flops_darknet == 2 * (4 * 4 * 9 * 4 * 4) // 32  # darknet divides an XNOR conv's by 32


def test_convolutional_share_index_counts_weights_once() -> None:
    conv = "[convolutional]\nfilters=3\nsize=1\nbatch_normalize=1\nactivation=linear"
    for ref in ("0", "-1"):  # absolute, or relative to the sharing layer (parser.c)
        net = parse(_cfg(4, 3, conv, conv.replace("filters=3", "filters=3\nshare_index=" + ref)))
        costs = dict(analyze(net).rows())
        assert net.layer("layers.1.conv").shares == "layers.0.conv"
        assert net.layer("layers.1.norm").shares == "layers.0.norm"
        assert costs[net.layer("layers.1.conv")].params == costs[net.layer("layers.1.norm")].params == 0
        assert (
            costs[net.layer("layers.0.conv")].params == 3 * 3
            and costs[net.layer("layers.0.norm")].params == 2 * 3
        )
    pool = "[maxpool]\nsize=1\nstride=1"
    for bad in (
        _cfg(4, 3, conv, pool, conv.replace("filters=3", "filters=3\nshare_index=1")),  # not a conv
        _cfg(4, 3, conv, conv.replace("filters=3", "filters=3\nshare_index=1")),  # itself
        _cfg(4, 3, conv, conv.replace("filters=3", "filters=3\nshare_index=-2")),  # before the first
    ):
        with pytest.raises(SpecError, match=r"share_index=-?\d must name an earlier \[convolutional\] layer"):
            parse(bad)


@pytest.mark.parametrize(("antialiasing", "kernel"), [(1, 3), (2, 2)])
def test_convolutional_antialiasing_blurs_at_the_stride(antialiasing: int, kernel: int) -> None:
    text = _cfg(
        8,
        2,
        f"[convolutional]\nfilters=4\nsize=3\npad=1\nstride=2\nantialiasing={antialiasing}\nactivation=linear",
    )
    net = parse(text)
    conv, blur = net.layer("layers.0.conv"), net.layer("layers.0.blur")
    assert conv.out_shape == Shape(4, 8, 8)  # the conv runs at stride 1
    pad = 1 if kernel == 3 else 0
    side = (8 + 2 * pad - kernel) // 2 + 1  # 4
    assert (blur.kernel, blur.inputs, blur.out_shape) == (kernel, ("layers.0.conv",), Shape(4, side, side))
    costs = dict(analyze(net).rows())
    assert costs[blur].macs == kernel * kernel * 4 * side * side and costs[blur].flops_darknet == 0
    # unequal strides: the blur keeps them apart
    rect = parse(
        _cfg(
            8,
            2,
            "[convolutional]\nfilters=4\nsize=3\npad=1\nstride_y=2\nstride_x=1\nantialiasing=1\nactivation=linear",
        )
    )
    assert rect.layer("layers.0.blur").out_shape == Shape(4, 4, 8)


def test_integers_are_darknets_c_ints() -> None:
    conv = "[convolutional]\nfilters=2\nsize=1\nactivation=linear\npadding="
    parse(_cfg(4, 3, conv + str(2**31 - 1)))  # INT_MAX is an int (a huge padding, but an int)
    for bad in (str(2**31), "-" + str(2**31 + 1), "99999999999"):
        text = _cfg(4, 3, conv + bad)
        line = text.splitlines().index("padding=" + bad) + 1
        with pytest.raises(
            SpecError, match=rf"^<cfg>:{line}: .*padding='{bad}' is outside darknet's int range$"
        ):
            parse(text)
    text = _cfg(4, 3, "[convolutional]\nfilters=two\nsize=1")
    line = text.splitlines().index("filters=two") + 1
    with pytest.raises(SpecError, match=rf"^<cfg>:{line}: .*filters='two' is not an integer$"):
        parse(text)
    # atoi: the leading digits count, the rest is ignored ("8=9" is 8)
    assert (
        parse(_cfg(4, 3, "[convolutional]\nfilters=8=9\nsize=1\nactivation=linear")).output.out_shape.c == 8
    )


def test_at_least_is_reported_at_the_keys_line() -> None:
    text = _cfg(4, 3, "[convolutional]\nsize=1\nfilters=0")
    line = text.splitlines().index("filters=0") + 1
    with pytest.raises(SpecError, match=rf"^<cfg>:{line}: .*filters=0 must be at least 1$"):
        parse(text)


def test_input_size_and_net_defaults() -> None:
    from costmodel.darknet import read

    text = _cfg(4, 3, _conv(2))
    assert parse(text, input_size=1).output.out_shape == Shape(2, 1, 1)
    for bad in (0, -3, True):
        with pytest.raises(SpecError, match="must be a positive integer"):
            parse(text, input_size=bad)  # type: ignore[arg-type]
    assert read(text).network.name == "<cfg>" and read(text, "").network.name == "cfg"
    # [network] is [net]; [conv] is [convolutional]; [silence] is [empty]
    aliased = parse(
        "[network]\nwidth=4\nheight=4\nchannels=3\n[conv]\nfilters=2\nsize=1\nactivation=linear\n[silence]\n"
    )
    assert [layer.name for layer in aliased.layers] == ["layers.0.conv"]


def test_stage_labels_are_each_sections_input_resolution() -> None:
    net = parse(_cfg(8, 3, "[convolutional]\nfilters=2\nsize=3\npad=1\nstride=2\nactivation=leaky", _conv(2)))
    assert [(layer.name, layer.stage) for layer in net.layers] == [
        ("layers.0.conv", "8×8"),
        ("layers.0.act", "8×8"),
        ("layers.1.conv", "4×4"),
    ]


def test_section_headers() -> None:
    with pytest.raises(
        SpecError, match=r"^<cfg>:5: '\[conv' is not a section header like \[convolutional\]$"
    ):
        parse("[net]\nwidth=4\nheight=4\nchannels=3\n[conv\nfilters=2\n")
    with pytest.raises(SpecError, match=r"^<cfg>:5: '\[\]' is not a section header"):
        parse("[net]\nwidth=4\nheight=4\nchannels=3\n[]\n")
    with pytest.raises(SpecError, match=r"\[x\] layer 0: .*section"):  # a one-letter name is a header
        parse("[net]\nwidth=4\nheight=4\nchannels=3\n[x]\n")


def test_linear_needs_a_vector_and_shares_only_its_twin() -> None:
    g = GraphBuilder("t", Shape(6, 1, 1))
    g.linear("a", INPUT, 4)
    g.linear("b", INPUT, 4, shares="a")
    net = g.build()
    a, b = analyze(net).costs
    assert (a.params, b.params) == (6 * 4 + 4, 0) and net.layer("b").shares == "a" and net.layer("a").op == ""
    for shape in (Shape(6, 2, 1), Shape(6, 1, 2)):
        with pytest.raises(SpecError, match=r"needs a C×1×1 input, got"):
            GraphBuilder("t", shape).linear("x", INPUT, 4)
    g = GraphBuilder("t", Shape(6, 1, 1))
    g.conv("c", INPUT, 6, 1)
    g.linear("a", INPUT, 4)
    for shares, kw in (("c", {}), ("a", {"bias": False}), ("a", {"out": 5})):
        out = kw.pop("out", 4)
        with pytest.raises(
            SpecError, match=rf"shares the weights of '{shares}', which is not a linear layer"
        ):
            g.linear("x", INPUT, out, shares=shares, **kw)
    g2 = GraphBuilder("t", Shape(6, 1, 1))
    g2.linear("a", INPUT, 4)
    g2.conv("c", INPUT, 3, 1)
    with pytest.raises(SpecError, match="which is not a linear layer"):
        g2.linear("x", "c", 4, shares="a")  # 3 input features, not 6


def test_upsample_refusals_and_modes() -> None:
    g = GraphBuilder("t", Shape(2, 4, 6))
    g.upsample("near", INPUT, 2)
    g.upsample("bi", INPUT, 2, "bilinear")
    g.upsample("one", INPUT, 1)  # a stride of 1 is a copy
    g.upsample("down", INPUT, -2)  # -2 divides both 4 and 6
    net = g.build()
    assert (net.layer("near").op, net.layer("bi").op) == ("", "bilinear")
    assert net.layer("bi").inputs == (INPUT,)
    assert (net.layer("one").out_shape, net.layer("down").out_shape) == (Shape(2, 4, 6), Shape(2, 2, 3))
    # 0; -3 divides neither side; -4 divides the height only; bilinear cannot sum blocks; no such mode
    for scale, mode in ((0, "nearest"), (-3, "nearest"), (-4, "nearest"), (-2, "bilinear"), (2, "cubic")):
        with pytest.raises(SpecError, match=r"use a non-zero integer|must be nearest or bilinear"):
            GraphBuilder("t", Shape(2, 4, 6)).upsample("u", INPUT, scale, mode)


def test_shortcut_adds_a_larger_map_only_at_an_integer_multiple() -> None:
    g = GraphBuilder("t", Shape(2, 8, 8))
    small = g.maxpool("p", INPUT, 2)  # 2×4×4
    g.shortcut("s", small, [INPUT])  # 8×8 is 2 × 4×4: subsampled
    assert g.build().layer("s").inputs == ("p", INPUT)
    for h, w in ((8, 6), (6, 4)):  # the width is not 2 × 4; the height is not 1 × 4
        g2 = GraphBuilder("t", Shape(2, h, w))
        four = g2.crop("c", INPUT, 4, 4)
        with pytest.raises(
            SpecError, match=rf"'{INPUT}' is {h}×{w}, which is not an integer multiple of the 4×4"
        ):
            g2.shortcut("s", four, [INPUT])


def test_avgpool_passes_stride_and_ceil_mode_through() -> None:
    g = GraphBuilder("t", Shape(1, 5, 5))
    g.avgpool("a", INPUT, 2, 1)  # stride 1: 4×4, not the kernel's 2
    g.avgpool("c", INPUT, 2, 2, ceil_mode=True)  # ceil((5 − 2)/2) + 1 = 3
    net = g.build()
    assert (net.layer("a").out_shape, net.layer("c").out_shape) == (Shape(1, 4, 4), Shape(1, 3, 3))


def test_a_missing_layer_is_named() -> None:
    g = GraphBuilder("t", Shape(1, 2, 2))
    g.conv("c", INPUT, 1, 1)
    with pytest.raises(KeyError, match="nope"):
        g.build().layer("nope")
