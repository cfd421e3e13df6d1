"""Every cfg darknet itself can parse, held layer by layer to darknet's own parse.

``../shared/reference/darknet/parse/NAME.txt`` (``$CSPCOST_SHARED`` overrides ``../shared``, as for a
mutation run from a copy) is darknet's ``load_network`` on ``cfg/NAME.cfg`` (AlexeyAB/darknet 59596d7,
printed by ``dnparse.c``): per layer the output shape, ``l.bflops`` and ``l.nweights``, then the total
darknet sums. darknet keeps these in C ``float``s, so the expected
per-layer figure is our count rounded to a float32 and printed as darknet prints it (``%.9f``), and
the expected total is the float32 running sum of those, as ``parse_network_cfg_custom`` adds them.
The files are read where they are, never copied. Also here: the totals AlexeyAB's README publishes,
and the sections and keys of the reader checked by arithmetic on small cfgs.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from conftest import SHARED, require

from costmodel import SpecError, analyze
from costmodel.darknet import OUT_OF_SCOPE, index_costs, parse, read

REF = SHARED / "reference" / "darknet"
PARSED = sorted(p.stem for p in (REF / "parse").glob("*.txt")) if (REF / "parse").is_dir() else []


def _reference() -> Path:
    require((REF / "parse").is_dir(), f"darknet's reference parse is not at {REF / 'parse'}")
    return REF


def _f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


def _darknet_rows(name: str) -> tuple[list[list[str]], str]:
    lines = [line.split() for line in (_reference() / "parse" / f"{name}.txt").read_text().splitlines()]
    rows = [line for line in lines if line and not line[0].startswith("#")]
    assert rows[-1][0] == "total_bflops"
    return rows[:-1], rows[-1][1]


def test_the_reference_holds_77_parses() -> None:
    _reference()
    assert len(PARSED) == 77


@pytest.mark.parametrize("name", PARSED or ["absent"], ids=PARSED or ["absent"])
def test_every_layer_agrees_with_darknet(name: str) -> None:
    ref = _reference()
    rows, total = _darknet_rows(name)
    text = (ref / "cfg" / f"{name}.cfg").read_text(encoding="utf-8", errors="replace")
    try:
        model = read(text, f"{name}.cfg")
    except SpecError as err:
        # only recurrent and other out-of-scope sections may stop a cfg darknet reads
        assert "which cspcost does not model" in str(err), str(err)
        assert any(f"[{s}]" in str(err) for s in OUT_OF_SCOPE)
        pytest.skip(f"out of scope: {err}")
    profile = analyze(model.network)
    assert profile.complete
    per_index = index_costs(model, profile.costs)
    assert len(per_index) == len(rows)
    running = 0.0
    for row, out, cost in zip(rows, model.outputs, per_index, strict=True):
        index, kind = int(row[0]), row[1]
        out_w, out_h, out_c = map(int, row[5:8])
        # darknet leaves softmax, cost, detection and contrastive shapes unset (0×0×0)
        if (out_w, out_h, out_c) != (0, 0, 0):
            shape = model.network.layer(out).out_shape if out else model.network.input_shape
            assert (shape.w, shape.h, shape.c) == (out_w, out_h, out_c), f"layer {index} {kind}"
        bflops = _f32(cost.flops_darknet_current / 1e9)
        assert f"{bflops:.9f}" == row[8], f"layer {index} {kind}"
        if bflops > 0:
            running = _f32(running + bflops)
        if kind == "convolutional":
            conv = model.network.layer(f"layers.{index}.conv")
            owner = model.network.layer(conv.shares) if conv.shares else conv
            owned = index_costs(model, profile.costs)[int(owner.name.split(".")[1])]
            assert owned.params_conv == int(row[9]), f"layer {index} weights"
    assert f"{running:.6f}" == total


# AlexeyAB's README (REFERENCE.md §6): today's convention, with the [shortcut] term.
PUBLISHED = [
    ("yolov4", 608, "128.5"),
    ("yolov4", 512, "91.1"),
    ("yolov4", 416, "60.1"),
    ("yolov4-csp", 640, "120"),
    ("yolov4-csp", 512, "77"),
    ("yolov4-tiny", 416, "6.9"),
    ("yolov3", 416, "65.9"),
    ("yolov3-spp", 608, "141.5"),
    ("yolov3-tiny", 416, "5.6"),
    ("csresnext50-panet-spp", 512, "71.3"),
    ("enet-coco", 416, "3.7"),
    ("yolov4x-mish", 640, "221"),
]


@pytest.mark.parametrize(("name", "size", "printed"), PUBLISHED, ids=[f"{n}@{s}" for n, s, _ in PUBLISHED])
def test_alexeyab_readme_totals(name: str, size: int, printed: str) -> None:
    text = (_reference() / "cfg" / f"{name}.cfg").read_text(encoding="utf-8", errors="replace")
    bflops = analyze(parse(text, f"{name}.cfg", size)).totals.flops_darknet_current / 1e9
    digits = len(printed.split(".")[1]) if "." in printed else 0
    if name == "yolov4x-mish":
        # the README truncates this one: 221.99 is printed 221
        assert int(bflops) == int(printed)
    else:
        assert f"{bflops:.{digits}f}" == printed


# --- sections and keys, by arithmetic ------------------------------------------------------------

NET = "[net]\nwidth=8\nheight=8\nchannels=3\n"


def _totals(text: str, size: int | None = None):  # type: ignore[no-untyped-def]
    return analyze(parse(text, "t.cfg", size)).totals


def test_values_are_read_like_atoi_and_the_first_key_counts() -> None:
    net = parse(NET + "[convolutional]\nfilters=40#32\nfilters=7\nsize=1\n", "t.cfg")
    assert net.layer("layers.0.conv").out_shape.c == 40


def test_maxpool_torch_cannot_mirror_gets_darknet_costs() -> None:
    # size 2 stride 1 on 13×13: darknet pads 1 in total, all of it bottom/right → 13×13
    net = parse("[net]\nwidth=13\nheight=13\nchannels=4\n[maxpool]\nsize=2\nstride=1\n", "t.cfg")
    pool = net.layer("layers.0.pool")
    assert tuple(pool.out_shape) == (4, 13, 13)
    assert (pool.padding, pool.pad_end) == (0, 1)
    assert analyze(net).totals.flops_darknet == 2 * 2 * 4 * 13 * 13


def test_dilation_xnor_and_strides() -> None:
    conv = "[convolutional]\nfilters=8\nsize=3\npad=1\nactivation=linear\n"
    dilated = parse(NET + conv + "dilation=2\n", "t.cfg").layer("layers.0.conv")
    assert (dilated.dilation, dilated.padding, tuple(dilated.out_shape)) == (2, 2, (8, 8, 8))
    t = _totals(NET + conv + "xnor=1\n")
    assert t.flops_darknet == 2 * 3 * 8 * 9 * 8 * 8 // 32
    wide = parse(NET + conv + "stride_x=2\nstride_y=1\n", "t.cfg").layer("layers.0.conv")
    assert tuple(wide.out_shape) == (8, 8, 4)


def test_share_index_counts_weights_once() -> None:
    conv = "[convolutional]\nbatch_normalize=1\nfilters=3\nsize=3\npad=1\n"
    t = _totals(NET + conv + conv + "share_index=0\n")
    assert t.params_conv == 3 * 3 * 9
    assert t.params == 3 * 3 * 9 + 2 * 3
    assert t.macs == 2 * 3 * 3 * 9 * 8 * 8


def test_detection_sections_upsample_reorg_and_multiply() -> None:
    text = (
        NET
        + "[convolutional]\nfilters=16\nsize=1\n"  # 0: 16×8×8
        + "[upsample]\nstride=2\n"  # 1: 16×16×16
        + "[reorg3d]\nstride=4\n"  # 2: 256×4×4
        + "[avgpool]\n"  # 3: 256×1×1
        + "[scale_channels]\nfrom=-2\n"  # 4: 256×4×4
        + "[convolutional]\nfilters=16\nsize=1\n"  # 5: 16 = 2 masks × (3 classes + 5)
        + "[yolo]\nmask=0,1\nnum=6\nclasses=3\nbeta1=0.6\n"
    )
    model = read(text, "t.cfg")
    shapes = [tuple(model.network.layer(o).out_shape) for o in model.outputs]
    assert shapes == [(16, 8, 8), (16, 16, 16), (256, 4, 4), (256, 1, 1), (256, 4, 4), (16, 4, 4), (16, 4, 4)]
    mul = analyze(model.network).costs[[layer.name for layer in model.network.layers].index("layers.4.mul")]
    assert mul.flops_other == 256 * 4 * 4


def test_weighted_shortcut_with_two_sources() -> None:
    conv = "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n"
    t = _totals(NET + conv + conv + conv + "[shortcut]\nfrom=-2,-3\nweights_type=per_channel\n")
    # convs 3→4 and twice 4→4 with biases; the add of three 4×8×8 inputs has one weight per input
    # and channel; darknet counts out·n_from, doubled when weighted
    assert t.params == (3 * 4 + 4) + 2 * (4 * 4 + 4) + 3 * 4
    assert t.flops_darknet_current - t.flops_darknet == 2 * 2 * 4 * 8 * 8


def test_every_darknet_activation_is_read() -> None:
    from costmodel.kinds import ACTIVATIONS

    for op in ACTIVATIONS:
        t = _totals(NET + f"[activation]\nactivation={op}\n" + "[convolutional]\nfilters=1\n")
        assert t.flops_other >= (0 if op == "linear" else 3 * 8 * 8), op


# [implicit] (darknet's make_implicit_layer, src/representation_layer.c): a learned tensor of
# filters × atoms (out_c, out_h; out_w = 1) that reads nothing; nweights = out_w·out_h·out_c, and
# no l.bflops. The layer after it reads it as its input (parse_network_cfg_custom sets params.w/h/c
# to its out_w/h/c): [scale_channels] scales its `from` map by a 1×1 input; [shortcut] asserts that
# every `from` has its input's width and height (parse_shortcut), so it adds 1×1 maps here.
IMPLICIT = (
    NET
    + "[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\npad=1\nactivation=leaky\n"  # 0: 16×8×8
    + "[implicit]\nfilters=16\nmean=1\nstd=.02\n"  # 1: 16×1×1, 16 weights
    + "[scale_channels]\nfrom=-2\n"  # 2: layer 0's map × layer 1, 16×8×8
    + "[avgpool]\n"  # 3: 16×1×1
    + "[implicit]\nfilters=16\n"  # 4: 16×1×1
    + "[shortcut]\nfrom=-2\n"  # 5: layer 4 + layer 3
    + "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n"  # 6: 4×1×1, reads layer 5
    + "[implicit]\nfilters=4\natoms=3\n"  # 7: 4×3×1 (atoms high, 1 wide)
    + "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"  # 8: reads layer 7's 4×3×1
)


def test_implicit_is_a_learned_tensor_that_reads_nothing() -> None:
    model = read(IMPLICIT, "implicit.cfg")
    net = model.network
    shapes = [tuple(net.layer(o).out_shape) for o in model.outputs]
    assert shapes == [
        (16, 8, 8),
        (16, 1, 1),
        (16, 8, 8),
        (16, 1, 1),
        (16, 1, 1),
        (16, 1, 1),
        (4, 1, 1),
        (4, 3, 1),
        (2, 3, 1),
    ]
    first = net.layer("layers.1.implicit")
    assert (first.kind, first.inputs, first.in_shapes) == ("implicit", (), ())
    assert net.layer("layers.2.mul").inputs == ("layers.0.act", "layers.1.implicit")
    assert net.layer("layers.5.add").inputs == ("layers.4.implicit", "layers.3.pool")
    assert net.layer("layers.8.conv").inputs == ("layers.7.implicit",)

    profile = analyze(net)
    per_index = index_costs(model, profile.costs)
    # weights: darknet's nweights, 16, 16 and 4·3; not conv weights (the README's #Parameter)
    assert [per_index[i].params for i in (1, 4, 7)] == [16, 16, 4 * 3]
    assert [per_index[i].params_conv for i in (1, 4, 7)] == [0, 0, 0]
    # conv 0 with BN, the three tensors, convs 6 and 8 with biases
    assert profile.totals.params == (3 * 16 * 9 + 2 * 16) + 16 + 16 + 4 * 3 + (16 * 4 + 4) + (4 * 2 + 2)
    # no arithmetic: darknet counts 0 in both conventions; the values are read once and written once
    for i in (1, 4, 7):
        cost = per_index[i]
        assert (cost.macs, cost.flops_other, cost.flops_darknet, cost.flops_darknet_current) == (0, 0, 0, 0)
        assert (cost.cio_conv, cost.cio_conv_pool, cost.concat_elements) == (0, 0, 0)
    assert (per_index[7].read_elements, per_index[7].write_elements) == (12, 12)
    # the convs that read an implicit tensor cost what they read; the shortcut's today's term
    assert per_index[6].flops_darknet == 2 * 16 * 4 * 1 * 1
    assert per_index[8].flops_darknet == 2 * 4 * 2 * 3 * 1
    assert per_index[5].flops_darknet_current == 16 * 1 * 1
    assert per_index[2].flops_other == 16 * 8 * 8  # the channel scale, one multiply per element


def test_implicit_defaults_and_what_darknet_refuses_with_it() -> None:
    # darknet's parse_implicit defaults: filters 128, atoms 1
    net = parse(NET + "[implicit]\n", "t.cfg")
    assert tuple(net.layer("layers.0.implicit").out_shape) == (128, 1, 1)
    with pytest.raises(SpecError, match=r"t\.cfg:7: \[implicit\] layer 0: atoms=0 must be at least 1"):
        parse(NET + "[implicit]\nfilters=4\natoms=0\n", "t.cfg")
    with pytest.raises(SpecError, match=r"key 'size' is not supported in \[implicit\]"):
        parse(NET + "[implicit]\nsize=3\n", "t.cfg")
    # a [shortcut] from a 1×1 tensor into an 8×8 map: darknet's parse_shortcut asserts equal sizes
    conv = "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n"
    with pytest.raises(SpecError, match=r"\[shortcut\] layer 3: .* is 1×1, which is not an integer multiple"):
        parse(NET + conv + "[implicit]\nfilters=4\n[route]\nlayers=-2\n[shortcut]\nfrom=-2\n", "t.cfg")


def test_a_recurrent_cfg_is_refused_as_such_before_its_missing_size() -> None:
    # darknet's rnn.cfg and gru.cfg have no [net] width: asking for one would only lead to this
    with pytest.raises(SpecError, match=r"^t\.cfg:4: \[rnn\] layer 1: \[rnn\] is recurrent, which cspcost"):
        parse("[net]\nbatch=1\n[convolutional]\n[rnn]\noutput=8\n", "t.cfg")
