"""Pins for the mutants the mutation run left alive in ``GraphBuilder`` (costmodel/graph.py) and in the
shape rules, ``analyze`` and ``check_csp`` (issue 8, third pass).

Each test names the mutants it kills (mutmut 3 names, ``xǁGraphBuilderǁconcat__mutmut_9`` written
``concat__mutmut_9``); every one was applied by hand to the source and seen to fail the test. Expected
shapes and counts are arithmetic written here; error tests check that an input is refused and that the
message names the offending layer or input."""

from __future__ import annotations

import re

import pytest

from costmodel import SpecError, analyze
from costmodel.analyze import bytes_per_element
from costmodel.errors import EmptyMapError
from costmodel.families.common import check_csp
from costmodel.graph import INPUT, GraphBuilder, Layer, Shape

_FOUR = Shape(4, 4, 4)


def _builder(shape: Shape = _FOUR) -> GraphBuilder:
    return GraphBuilder("net", shape)


# --- the input shape and the empty network ----------------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [Shape(0, 4, 4), Shape(3, 0, 4), Shape(3, 4, 0)],
    ids=["no-channels", "no-height", "no-width"],
)
def test_an_input_with_a_zero_dimension_is_refused(shape: Shape) -> None:
    """__init____mutmut_2 (``< 0`` accepts a 0 dimension), __init____mutmut_4 (message None)."""
    with pytest.raises(SpecError, match=re.escape(f"input shape {shape} must be positive")):
        GraphBuilder("net", shape)


def test_a_network_without_layers_is_refused_by_name() -> None:
    """build__mutmut_2 (message None)."""
    with pytest.raises(SpecError, match="network 'empty' has no layers"):
        GraphBuilder("empty", Shape(1, 2, 2)).build()


def test_layers_built_before_any_stage_is_set_have_the_empty_stage() -> None:
    """__init____mutmut_9 (stage None), __init____mutmut_10 (stage "XXXX")."""
    g = _builder()
    g.bn("n", INPUT)
    p = analyze(g.build())
    assert [layer.stage for layer in p.network.layers] == [""]
    assert list(p.stage_totals()) == [""]


# --- _emit: defaults, duplicates, empty maps --------------------------------------------------------


def test_layers_without_geometry_keep_the_layer_records_defaults() -> None:
    """_emit__mutmut_2..9: kernel 2, stride 2, padding 1, groups 2, bias True, op "XXXX", ceil_mode
    True, shares "XXXX" as _emit's defaults would be stored on every layer that does not pass them.
    Each layer here must equal a ``Layer`` with only name, kind, inputs and shapes given (kernel 1,
    stride 1, padding 0, groups 1, no bias, no op, no ceil mode, no shared weights)."""
    g = _builder(Shape(4, 4, 4))
    g.bn("n", INPUT)
    g.dropout("d", "n")
    g.copy("cp", "d")
    g.add("a", ["n", "cp"])
    g.concat("cat", ["a", "n"])
    g.gap("gp", "cat")
    g.flatten("fl", "gp")
    g.softmax("sm", "fl")
    g.detect("det", "sm")
    s4, s8, v8 = Shape(4, 4, 4), Shape(8, 4, 4), Shape(8, 1, 1)
    want = [
        Layer("n", "bn", (INPUT,), (s4,), s4),
        Layer("d", "dropout", ("n",), (s4,), s4),
        Layer("cp", "copy", ("d",), (s4,), s4),
        Layer("a", "add", ("n", "cp"), (s4, s4), s4),
        Layer("cat", "concat", ("a", "n"), (s4, s4), s8),
        Layer("gp", "gap", ("cat",), (s8,), v8),
        Layer("fl", "flatten", ("gp",), (v8,), v8),
        Layer("sm", "softmax", ("fl",), (v8,), v8),
        Layer("det", "detect", ("sm",), (v8,), v8),
    ]
    assert list(g.build().layers) == want


def test_a_batch_norm_owns_its_scale_and_shift() -> None:
    """_emit__mutmut_9 (shares "XXXX" by default: the BN would count its 2·C parameters as shared)."""
    g = _builder(Shape(4, 4, 4))
    g.bn("n", INPUT)
    assert analyze(g.build()).totals.params == 2 * 4


def test_a_name_used_twice_is_refused_by_name() -> None:
    """_emit__mutmut_12 (message None)."""
    g = _builder()
    g.bn("x", INPUT)
    with pytest.raises(SpecError, match="layer name 'x' is used twice in 'net'"):
        g.bn("x", INPUT)


def test_a_layer_with_zero_output_channels_is_an_empty_map() -> None:
    """_emit__mutmut_32 (channels not checked), _emit__mutmut_33 (``< 0``), _emit__mutmut_41 (message
    None): a linear layer of 0 features would write a 0×1×1 map."""
    g = _builder(Shape(4, 2, 2))
    g.gap("gp", INPUT)
    with pytest.raises(
        EmptyMapError, match=re.escape("layer 'fc' of 'net' would produce an empty 0×1×1 map")
    ):
        g.linear("fc", "gp", 0)


def test_a_missing_source_is_named() -> None:
    """_in__mutmut_1 (message None)."""
    with pytest.raises(SpecError, match="layer 'nope' does not exist in 'net'"):
        _builder().bn("n", "nope")


# --- conv --------------------------------------------------------------------------------------------


def test_a_conv_of_zero_output_channels_is_refused_by_its_own_check() -> None:
    """conv__mutmut_16 (``out_c < 0``: 0 reaches _emit's empty-map error instead), conv__mutmut_18
    (message None)."""
    with pytest.raises(SpecError, match="conv 'c' has 0 output channels; it needs at least 1"):
        _builder().conv("c", INPUT, 0, 1)


@pytest.mark.parametrize(
    ("in_c", "out_c", "groups"),
    [(4, 6, 4), (6, 4, 4)],
    ids=["divides-input-only", "divides-output-only"],
)
def test_conv_groups_must_divide_both_channel_counts(in_c: int, out_c: int, groups: int) -> None:
    """conv__mutmut_19 (``or`` → ``and``: a group count dividing one of the two counts passes)."""
    g = _builder(Shape(in_c, 4, 4))
    with pytest.raises(SpecError, match=f"conv 'c': groups={groups} must divide both its {in_c} input"):
        g.conv("c", INPUT, out_c, 1, groups=groups)


def test_a_conv_cannot_share_the_weights_of_a_batch_norm() -> None:
    """conv__mutmut_28 (``or`` → ``and``: a non-conv whose channels, kernel 1 and groups 1 match would
    pass), conv__mutmut_34 (message None)."""
    g = _builder(Shape(4, 2, 2))
    g.bn("n", INPUT)
    with pytest.raises(SpecError, match="conv 'c' shares the weights of 'n', which is not a conv"):
        g.conv("c", INPUT, 4, 1, shares="n")


def test_a_dilated_conv_keeps_no_bottom_padding() -> None:
    """conv__mutmut_42 (pad_end +1), conv__mutmut_43 (pad_end -2): a conv's ``pad_end`` is -1 (the
    record's "none"); only pools and transposed convs set it. A 3×3 conv at dilation 2, padding 1,
    on 8×8 spans 2·2+1 = 5 pixels: (8 + 2·1 − 5)//1 + 1 = 6."""
    g = _builder(Shape(1, 8, 8))
    g.conv("d", INPUT, 1, 3, dilation=2)
    (layer,) = g.build().layers
    assert layer.out_shape == Shape(1, 6, 6)
    assert (layer.dilation, layer.stride_w, layer.pad_end) == (2, 0, -1)


# --- act, mul --------------------------------------------------------------------------------------


def test_an_unknown_activation_names_the_valid_ones() -> None:
    """act__mutmut_4 (message None), act__mutmut_5 (join of None: a TypeError), act__mutmut_6
    ("XX, XX" between the names)."""
    with pytest.raises(SpecError, match=r"activation 'nope' of 'a' is not one of relu, leaky, mish, "):
        _builder().act("a", INPUT, "nope")


def test_a_mul_that_does_not_broadcast_names_both_shapes() -> None:
    """mul__mutmut_9 (message None), mul__mutmut_10, _13, _14, _15, _16 (TypeErrors building the
    message), mul__mutmut_11 ("XX and XX"), mul__mutmut_12 (" AND ")."""
    g = _builder(Shape(3, 4, 4))
    g.conv("b", INPUT, 2, 1)
    with pytest.raises(SpecError, match=re.escape("mul 'm': 3×4×4 and 2×4×4 do not broadcast")):
        g.mul("m", [INPUT, "b"])


# --- pool ------------------------------------------------------------------------------------------


def test_a_pool_with_a_different_width_stride_keeps_it() -> None:
    """pool__mutmut_14 (``stride_w and …``: a width stride with no pad_end falls back to the plain
    geometry), pool__mutmut_17 (dilation 2 stored on the pool). 2×2 pool, stride 2 down, 1 across,
    on 4×6: height (4 − 2)//2 + 1 = 2, width (6 − 2)//1 + 1 = 5."""
    g = _builder(Shape(1, 4, 6))
    g.pool("maxpool", "p", INPUT, 2, 2, stride_w=1)
    (layer,) = g.build().layers
    assert layer.out_shape == Shape(1, 2, 5)
    assert (layer.dilation, layer.stride_w, layer.pad_end) == (1, 1, -1)


def test_a_pool_with_zero_bottom_padding_pads_only_the_top() -> None:
    """pool__mutmut_15 (``pad_end <= 0``), pool__mutmut_16 (``< 1``), kinds._pool_shape__mutmut_5
    (``end >= 1``): pad_end 0 is darknet's odd total padding, ``padding`` at the top/left and nothing
    at the bottom/right, not the symmetric padding. 2×2 pool, stride 1, padding 1 then 0, on 5×5:
    (5 + 1 + 0 − 2)//1 + 1 = 5 (symmetric padding would give (5 + 2 − 2)//1 + 1 = 6)."""
    g = _builder(Shape(1, 5, 5))
    g.pool("maxpool", "p", INPUT, 2, 1, padding=1, pad_end=0)
    (layer,) = g.build().layers
    assert layer.out_shape == Shape(1, 5, 5)
    assert layer.pad_end == 0


# --- concat ----------------------------------------------------------------------------------------


def test_a_concat_with_a_missing_input_names_it() -> None:
    """concat__mutmut_4 (``self._in(None)``: the message names None)."""
    g = _builder()
    g.bn("a", INPUT)
    with pytest.raises(SpecError, match="layer 'nope' does not exist in 'net'"):
        g.concat("cat", ["a", "nope"])


def test_a_concat_of_one_input_is_refused_by_name() -> None:
    """concat__mutmut_7 (message None)."""
    with pytest.raises(SpecError, match="concat 'cat' needs at least two inputs, got 1"):
        _builder().concat("cat", [INPUT])


def test_a_concat_whose_first_input_differs_names_the_second() -> None:
    """concat__mutmut_9 (the reference is ``shapes[1]``: the first input, 8×8, would be named bad),
    concat__mutmut_15 (bad = None), _16 (``index(None)``: a ValueError), _17 (``rindex``: an
    AttributeError), _18 (message None). Inputs: the 8×8 input, then two 4×4 crops."""
    g = _builder(Shape(1, 8, 8))
    g.crop("b", INPUT, 4, 4)
    g.crop("c", INPUT, 4, 4)
    with pytest.raises(SpecError, match=re.escape("concat 'cat': input 'b' is 4×4 but the first is 8×8")):
        g.concat("cat", [INPUT, "b", "c"])


def test_a_concat_of_maps_differing_only_in_width_is_refused() -> None:
    """concat__mutmut_10 (``or`` → ``and``: a map of the same height passes)."""
    g = _builder(Shape(1, 8, 8))
    g.crop("b", INPUT, 8, 4)
    with pytest.raises(SpecError, match=re.escape("concat 'cat': input 'b' is 8×4 but the first is 8×8")):
        g.concat("cat", [INPUT, "b"])


# --- traced, implicit, add ---------------------------------------------------------------------------


def test_a_traced_layer_of_an_unknown_kind_keeps_its_observed_shape() -> None:
    """traced__mutmut_33 (its shape stored as None: the next layer cannot read it)."""
    g = _builder(Shape(3, 4, 4))
    g.traced("t", "mystery", [INPUT], Shape(2, 3, 3))
    assert g.shape("t") == Shape(2, 3, 3)
    g.bn("n", "t")
    assert g.build().layers[-1].in_shapes == (Shape(2, 3, 3),)


def test_a_traced_concat_of_one_input_has_that_inputs_shape() -> None:
    """kinds._concat_shape__mutmut_7 and _9 (height or width read from ``ins[1]``: an IndexError). The
    torch tracer records ``torch.cat`` of one tensor through ``traced`` (``GraphBuilder.concat`` wants
    two inputs): its shape is the input's, 4×4×4 (channels 4, the one input's)."""
    g = _builder(Shape(4, 4, 4))
    g.traced("cat", "concat", [INPUT], Shape(4, 4, 4))
    assert g.shape("cat") == Shape(4, 4, 4)


def test_an_implicit_tensor_is_one_high_and_one_wide_by_default() -> None:
    """implicit__mutmut_1 (height 2 by default)."""
    g = _builder()
    g.implicit("imp", 4)
    assert g.shape("imp") == Shape(4, 1, 1)


@pytest.mark.parametrize(
    ("channels", "height", "width"),
    [(0, 1, 1), (4, 0, 1), (4, 1, 0)],
    ids=["no-channels", "no-height", "no-width"],
)
def test_an_implicit_tensor_with_a_zero_dimension_is_refused_by_its_own_check(
    channels: int, height: int, width: int
) -> None:
    """implicit__mutmut_6, _7, _8 (channels, height or width left out of the ``min``), implicit__mutmut_9
    (``< 0``), implicit__mutmut_11 (message None): the empty-map error of _emit is not this message."""
    with pytest.raises(
        SpecError, match=re.escape(f"implicit 'imp': {channels}×{height}×{width} must be positive")
    ):
        _builder().implicit("imp", channels, height, width)


@pytest.mark.parametrize(
    "srcs",
    [["a", "b"], ["a", "b", "c"]],
    ids=["two", "first-differs-from-two"],
)
def test_an_add_of_different_shapes_names_the_input_that_differs_from_the_first(srcs: list[str]) -> None:
    """add__mutmut_9 (compared with ``shapes[1]``: 'a' would be named), add__mutmut_10 (message None),
    add__mutmut_11 (names ``srcs[1]`` as the reference), add__mutmut_12 (shows ``shapes[1]``)."""
    g = _builder(Shape(4, 4, 4))
    g.conv("a", INPUT, 2, 1)
    g.conv("b", INPUT, 3, 1)
    g.conv("c", INPUT, 3, 1)
    with pytest.raises(SpecError, match=re.escape("add 's': input 'b' is 3×4×4 but 'a' is 2×4×4")):
        g.add("s", srcs)


# --- analyze, check_csp ------------------------------------------------------------------------------


def test_an_unknown_precision_names_the_valid_ones() -> None:
    """analyze.x_bytes_per_element__mutmut_1 (message None), _2 (join of None: a TypeError), _3
    ("XX, XX" between the names)."""
    with pytest.raises(SpecError, match="precision 'fp64' is not one of fp32, fp16, bf16, int8"):
        bytes_per_element("fp64")


def test_an_unknown_fusion_names_the_valid_ones() -> None:
    """families.common.x_check_csp__mutmut_12 ("XX, XX" between the names)."""
    with pytest.raises(SpecError, match="fusion 'bogus' is not one of none, fusion_first, fusion_last, csp"):
        check_csp(0.5, "bogus")


def test_a_layer_of_exactly_one_mac_is_a_macs_layer() -> None:
    """analyze.xǁProfileǁmacs_layers__mutmut_2 and _macs_layers__mutmut_2 (``macs > 1``). A 1×1 conv
    from 1 to 1 channel on a 1×1 map does 1·1·1·1·1 = 1 MAC; the next, 1 → 2 channels, does 2. The
    per-stage bottleneck pairs MAC rows with ``_macs_layers``: dropping the 1-MAC layer there would
    read ``one`` as a stage2 layer."""
    g = _builder(Shape(1, 1, 1))
    g.stage = "stage1"
    g.conv("one", INPUT, 1, 1)
    g.stage = "stage2"
    g.conv("two", "one", 2, 1)
    p = analyze(g.build())
    assert [(layer.name, cost.macs) for layer, cost in p.macs_layers()] == [("one", 1), ("two", 2)]
    assert (p.bottleneck("stage1").peak_layer, p.bottleneck("stage1").peak_macs) == ("one", 1)
    assert (p.bottleneck("stage2").peak_layer, p.bottleneck("stage2").peak_macs) == ("two", 2)
