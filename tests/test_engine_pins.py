"""Pins for what the mutation run of issue 8 showed no test held: concat traffic per layer and per
model, the peak-activation footprint, per-layer arithmetic intensity, the γ split's 0/1-channel
boundaries, grouped convs and routes, non-square maps, and darknet's [dropout] and [connected].
Every expected value is arithmetic written here, or darknet's own source."""

from __future__ import annotations

import json

import pytest
from conftest import SHARED, require

from costmodel import SpecError, analyze, expand, resolve
from costmodel.darknet import parse
from costmodel.families.common import split_channels
from costmodel.families.darknet_blocks import csp_split
from costmodel.families.densenet import dense_block_network
from costmodel.graph import INPUT, GraphBuilder, Shape


def two_branch_concat():
    """input 3×8×8 → conv a (4 ch) and conv b (6 ch), both 3×3 pad 1 → concat 10×8×8."""
    g = GraphBuilder("cat", Shape(3, 8, 8))
    a = g.conv("a", INPUT, 4, 3)
    b = g.conv("b", INPUT, 6, 3)
    g.concat("cat", [a, b])
    return analyze(g.build())


def test_concat_traffic_per_layer():
    p = two_branch_concat()
    by_name = {layer.name: cost for layer, cost in p.rows()}
    assert by_name["a"].concat_elements == 0 and by_name["b"].concat_elements == 0
    # the concat reads both inputs (4·8·8 + 6·8·8) and writes its output (10·8·8)
    assert by_name["cat"].concat_elements == (4 * 8 * 8 + 6 * 8 * 8) + 10 * 8 * 8 == 1280
    assert by_name["cat"].read_elements == 640 and by_name["cat"].write_elements == 640
    assert p.totals.concat_elements == 1280


def test_concat_traffic_of_a_whole_dense_block():
    # c=4, m=2 layers of growth d=2 on 4×4: layer 2 reads cat(input, l1) = 6 channels, the block's
    # output is cat(input, l1, l2) = 8 channels; each concat reads and writes its output's size.
    p = analyze(dense_block_network(4, 2, 2, 0.0, 4, 4))
    assert p.totals.concat_elements == 2 * (6 * 4 * 4) + 2 * (8 * 4 * 4) == 448
    non_concat = [c.concat_elements for layer, c in p.rows() if layer.kind != "concat"]
    assert non_concat and set(non_concat) == {0}


def test_peak_activation_tie_keeps_the_first_layer():
    # input 1×4×4 (16) → a 2×4×4 (32) → b 1×4×4 (16): 16+32 at a, then 32+16 at b: a tie at 48
    g = GraphBuilder("tie", Shape(1, 4, 4))
    a = g.conv("a", INPUT, 2, 3)
    g.conv("b", a, 1, 3)
    assert analyze(g.build()).peak_activation() == (16 + 32, "a")


def test_a_split_is_a_view_not_an_allocation():
    # input 4×2×2 (16) → split [0, 2) (a view) → conv 1×2×2 (4): peak 16 + 4, not 16 + 8 + 4
    g = GraphBuilder("split", Shape(4, 2, 2))
    s = g.split("s", INPUT, 0, 2)
    g.conv("c", s, 1, 1)
    assert analyze(g.build()).peak_activation() == (16 + 4, "c")


def test_an_output_nobody_reads_is_freed_at_once():
    # input 1×2×2 (4) → a 8×2×2 (32, read by nobody) ; b 1×2×2 (4) from the input, the output
    g = GraphBuilder("orphan", Shape(1, 2, 2))
    g.conv("a", INPUT, 8, 1)
    g.conv("b", INPUT, 1, 1)
    p = analyze(g.build())
    assert p.peak_activation() == (4 + 32, "a")  # b sees 4 + 4, not 4 + 32 + 4
    totals = json.loads(json.dumps(p.to_dict()))["totals"]
    assert type(totals["peak_act_bytes"]) is int and totals["peak_act_bytes"] == (4 + 32) * 4


def test_peak_act_bytes_follows_the_precision():
    g = GraphBuilder("tie", Shape(1, 4, 4))
    g.conv("b", g.conv("a", INPUT, 2, 3), 1, 3)
    assert analyze(g.build(), "fp16").to_dict()["totals"]["peak_act_bytes"] == 48 * 2


def test_arithmetic_intensity_per_layer():
    # conv 3→4, 3×3, pad 1 on 3×8×8, no bias: MACs 8·8·4·3·3·3, reads 3·8·8, writes 4·8·8, weights 4·3·3·3
    p = two_branch_concat()
    row = p.layer_dict(*next(iter(p.rows())))
    flops = 2 * (8 * 8 * 4 * 3 * 3 * 3)
    act_bytes = (3 * 8 * 8 + 4 * 8 * 8) * 4
    weight_bytes = 4 * 3 * 3 * 3 * 4
    assert (row["act_bytes"], row["weight_bytes"]) == (act_bytes, weight_bytes)
    assert row["intensity"] == pytest.approx(flops / (act_bytes + weight_bytes))
    cat = p.layer_dict(*list(p.rows())[-1])
    assert cat["intensity"] == 0.0 and cat["act_bytes"] == 1280 * 4  # a copy does no arithmetic


@pytest.mark.parametrize(
    ("c", "gamma", "parts"),
    [(2, 0.25, (1, 1)), (4, 0.125, (1, 3)), (3, 0.83, (2, 1)), (8, 0.5, (4, 4))],
    ids=["half-rounds-up-to-1", "exactly-one", "one-left", "even"],
)
def test_split_boundaries(c, gamma, parts):
    assert split_channels(c, gamma) == parts  # ⌊γ·c + ½⌋ and the rest
    assert csp_split(c, gamma, "here") == parts


@pytest.mark.parametrize(
    ("c", "gamma"),
    [(4, 0.124), (3, 0.84), (1, 0.5)],
    ids=["part1-rounds-to-0", "part2-rounds-to-0", "one-channel"],
)
def test_a_gamma_that_rounds_a_part_to_zero_is_refused(c, gamma):
    with pytest.raises(SpecError, match="rounds to zero"):
        csp_split(c, gamma, "here")
    with pytest.raises(SpecError, match="rounds to zero"):
        dense_block_network(c, 2, 2, gamma, 4, 4)  # not silently built as γ = 0


def test_gamma_zero_dense_block_has_no_split():
    assert "split" not in {layer.kind for layer in dense_block_network(4, 2, 2, 0.0, 4, 4).layers}


@pytest.mark.parametrize("groups", [0, 3, -1], ids=["zero", "not-dividing", "negative"])
def test_a_groups_that_does_not_divide_is_refused(groups):
    g = GraphBuilder("grouped", Shape(8, 4, 4))
    with pytest.raises(SpecError, match="groups"):
        g.conv("c", INPUT, 8, 3, groups=groups)


def test_grouped_conv_costs_a_group_share():
    g = GraphBuilder("grouped", Shape(8, 4, 4))
    g.conv("c", INPUT, 8, 3, groups=4)
    assert analyze(g.build()).totals.macs == 4 * 4 * 8 * (8 // 4) * 3 * 3


@pytest.mark.parametrize("size", [(224, 16), (16, 224)], ids=["short", "narrow"])
def test_a_zero_height_map_on_non_square_inputs_is_refused(size):
    with pytest.raises(SpecError, match="too small"):
        expand(resolve("densenet121"), size)


def test_non_square_input_keeps_both_sides():
    net = expand(resolve("densenet121"), (64, 128))
    assert net.layers[0].out_shape == Shape(64, 32, 64)  # 7×7/2 stem: (64+6−7)//2+1, (128+6−7)//2+1


NET = "[net]\nwidth=8\nheight=8\nchannels=3\n"
CONV = "\n[convolutional]\nfilters={f}\nsize=1\nstride=1\npad=1\nactivation=linear\n"


def test_dropout_is_read_and_costs_nothing():
    net = parse(NET + CONV.format(f=4) + "\n[dropout]\nprobability=0.5\n")
    drop = net.layer("layers.1.dropout")
    assert drop.kind == "dropout" and drop.out_shape == Shape(4, 8, 8)
    cost = dict(analyze(net).rows())[drop]
    assert cost.macs == cost.read_elements == cost.concat_elements == 0


def test_connected_output_defaults_to_darknets():
    parser = SHARED / "reference" / "darknet" / "src" / "parser.c"
    require(parser.is_file(), f"darknet's source is not at {parser}")
    # darknet's parse_connected: int output = option_find_int(options, "output",1);
    assert 'option_find_int(options, "output",1)' in parser.read_text(errors="replace").replace(", 1)", ",1)")
    net = parse(NET + CONV.format(f=4) + "\n[avgpool]\n\n[connected]\nactivation=linear\n")
    assert net.layer("layers.2.fc").out_shape == Shape(1, 1, 1)


def test_grouped_route_over_several_inputs_has_unique_names():
    text = NET + CONV.format(f=4) + CONV.format(f=6) + "\n[route]\nlayers=-1,-2\ngroups=2\ngroup_id=1\n"
    net = parse(text)
    names = [layer.name for layer in net.layers]
    assert len(names) == len(set(names))
    splits = [layer for layer in net.layers if layer.kind == "split"]
    # the second half of each input: channels [3, 6) of the 6-channel and [2, 4) of the 4-channel map
    assert [s.slice_ for s in splits] == [(3, 6), (2, 4)]
    assert net.output.kind == "concat" and net.output.out_shape == Shape(3 + 2, 8, 8)


@pytest.mark.torch
@pytest.mark.parametrize("ceil_mode", [False, True], ids=["floor", "ceil"])
def test_pool_output_sizes_match_torch(ceil_mode):
    """Cheap (one tiny pool per case), so in the fast subset; moved from test_golden.py."""
    import torch

    from costmodel.kinds import pool_size as _pool_out

    for size in range(3, 24):
        for kernel in (2, 3, 5):
            for stride in (1, 2, 3):
                for padding in range(kernel // 2 + 1):
                    pool = torch.nn.MaxPool2d(kernel, stride, padding, ceil_mode=ceil_mode)
                    if size + 2 * padding < kernel:
                        continue
                    torch_out = pool(torch.zeros(1, 1, size, size)).shape[-1]
                    assert _pool_out(size, kernel, stride, padding, ceil_mode) == torch_out, (
                        size,
                        kernel,
                        stride,
                        padding,
                    )


def test_a_split_of_a_split_keeps_the_first_tensor_alive_until_its_last_reader():
    # input 8×2×2 (32) → s1 [0, 4) → s2 [0, 2) of s1 → c 2×2×2 (8) from s2 → d 1×2×2 (4) from c.
    # The input lives until c has run (32 + 8 at c), then only c's output: 8 + 4 at d.
    g = GraphBuilder("views", Shape(8, 2, 2))
    s2 = g.split("s2", g.split("s1", INPUT, 0, 4), 0, 2)
    g.conv("d", g.conv("c", s2, 2, 1), 1, 1)
    p = analyze(g.build())
    assert p.peak_activation() == (32 + 8, "c")
    # had the input been freed at c, a wider last layer would show it: e 16×2×2 (64) after c
    g = GraphBuilder("views", Shape(8, 2, 2))
    c = g.conv("c", g.split("s2", g.split("s1", INPUT, 0, 4), 0, 2), 2, 1)
    g.conv("e", c, 16, 1)
    assert analyze(g.build()).peak_activation() == (8 + 64, "e")  # the input (32) is gone by then


def test_an_unread_output_is_freed_before_later_layers():
    # input 1×2×2 (4) → a 8×2×2 (32, unread) → b 4×2×2 (16) from the input → c 8×2×2 (32) from b
    g = GraphBuilder("orphan", Shape(1, 2, 2))
    g.conv("a", INPUT, 8, 1)
    g.conv("c", g.conv("b", INPUT, 4, 1), 8, 1)
    assert analyze(g.build()).peak_activation() == (16 + 32, "c")  # not 32 + 16 + 32: a is gone


def test_the_json_totals_count_the_layers():
    totals = two_branch_concat().to_dict()["totals"]
    assert totals["layers"] == 3  # a, b, cat
