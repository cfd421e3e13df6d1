"""The darknet cfg reader: small cfgs written here with arithmetic expectations, every
malformed-file error, and the CSPNet README figures (REFERENCE.md §1) from the authors' cfgs."""

from __future__ import annotations

import json
import re

import pytest
from darknet_paths import cfg_path, needs_cfgs
from typer.testing import CliRunner

from cli import app
from costmodel import SpecError, analyze
from costmodel.darknet import load, parse, read

NET = "[net]\nwidth=8\nheight=8\nchannels=3\n"

SMALL = (
    NET
    + """
# 0: 3→4, 3×3 pad=1, BN, leaky: 4×8×8
[convolutional]
batch_normalize=1
filters=4
size=3
stride=1
pad=1
activation=leaky

# 1: 2×2/2 (darknet padding 1, all of it on the bottom/right): 4×4×4
[maxpool]
size=2
stride=2

# 2: 1×1 4→8 without BN, so with a bias; linear makes no act layer: 8×4×4
[convolutional]
filters=8
size=1
activation=linear

# 3: the second half of layer 2's channels: 4×4×4
[route]
layers = -1
groups=2
group_id=1

# 4: layer 3 + layer 1, then relu
[shortcut]
from=1
activation=relu

# 5: concat(layer 4, layer 2): 12×4×4
[route]
layers=-1, 2

# 6: 3×3/2 groups=2, 12→6, BN, mish: (4 + 2 − 3)//2 + 1 = 2 → 6×2×2
[convolutional]
batch_normalize=1
filters=6
size=3
stride=2
pad=1
groups=2
activation=mish

# 7: global: 6×1×1
[avgpool]

# 8: 6→10 with bias
[connected]
output=10
activation=linear

[softmax]
groups=1

[cost]
type=sse
"""
)


def test_small_cfg_names_follow_darknet_indices() -> None:
    net = parse(SMALL, "small.cfg")
    assert net.name == "small"
    assert [layer.name for layer in net.layers] == [
        "layers.0.conv",
        "layers.0.norm",
        "layers.0.act",
        "layers.1.pool",
        "layers.2.conv",
        "layers.3.split",
        "layers.4.add",
        "layers.4.act",
        "layers.5.cat",
        "layers.6.conv",
        "layers.6.norm",
        "layers.6.act",
        "layers.7.pool",
        "layers.8.flatten",
        "layers.8.fc",
        "layers.9.flatten",
        "layers.9.softmax",
    ]
    assert [layer.kind for layer in net.layers][:8] == [
        "conv",
        "bn",
        "act",
        "maxpool",
        "conv",
        "split",
        "add",
        "act",
    ]
    assert net.layer("layers.3.split").slice_ == (4, 8)
    assert net.layer("layers.5.cat").inputs == ("layers.4.act", "layers.2.conv")
    assert net.layer("layers.6.act").op == "mish"
    assert net.layer("layers.2.conv").bias and not net.layer("layers.0.conv").bias
    assert tuple(net.layer("layers.6.conv").out_shape) == (6, 2, 2)


def test_small_cfg_costs_by_arithmetic() -> None:
    t = analyze(parse(SMALL, "small.cfg")).totals
    weights = 3 * 4 * 9 + 4 * 8 * 1 + (12 // 2) * 6 * 9 + 6 * 10
    assert t.params_conv == weights
    # BN scale+shift of 4 and 6 channels, the bias of conv 2 and of the fc
    assert t.params == weights + 2 * 4 + 8 + 2 * 6 + 10
    macs = 3 * 4 * 9 * 8 * 8 + 4 * 8 * 4 * 4 + 6 * 6 * 9 * 2 * 2 + 6 * 10
    assert t.macs == macs
    # darknet counts the [connected] 6→10 as 0 (no l.bflops); the maxpool as k²·C·H_out·W_out
    assert t.flops_darknet == 2 * (macs - 6 * 10) + 2 * 2 * 4 * 4 * 4
    # today's darknet adds its [shortcut] term: the 4×4×4 output once per 'from' layer
    assert t.flops_darknet_current == t.flops_darknet + 4 * 4 * 4
    conv_io = (3 * 64 + 4 * 64) + (4 * 16 + 8 * 16) + (12 * 16 + 6 * 4) + (6 + 10)
    assert t.cio_conv == conv_io
    assert t.cio_conv_pool == conv_io + (4 * 64 + 4 * 16) + (6 * 4 + 6)


def test_cost_and_single_routes_make_no_layer() -> None:
    model = read(SMALL + "\n[route]\nlayers=8\n", "small.cfg")
    assert model.cost_layers == (10,)
    assert model.aliases == {10: "layers.9.softmax", 11: "layers.8.fc"}
    assert model.outputs[11] == "layers.8.fc"
    assert model.network.output.name == "layers.9.softmax"


def test_input_size_overrides_net_size() -> None:
    assert tuple(parse(SMALL, "s.cfg", 16).input_shape) == (3, 16, 16)
    assert tuple(parse(SMALL, "s.cfg", 16).layer("layers.6.conv").out_shape) == (6, 4, 4)


@pytest.mark.parametrize(
    ("size", "stride", "extra", "h_in", "h_out", "ceil_mode"),
    [
        (2, 2, "", 8, (8 + 1 - 2) // 2 + 1, False),
        (2, 2, "", 7, (7 + 1 - 2) // 2 + 1, True),  # darknet's odd padding needs ceil mode
        (3, 2, "", 9, (9 + 2 - 3) // 2 + 1, False),
        (3, 1, "", 5, (5 + 2 - 3) // 1 + 1, False),
        (3, 2, "padding=0\n", 9, (9 + 0 - 3) // 2 + 1, False),
    ],
    ids=["2x2s2-even", "2x2s2-odd-ceil", "3x3s2", "3x3s1", "3x3s2-pad0"],
)
def test_maxpool_follows_darknets_output_rule(
    size: int, stride: int, extra: str, h_in: int, h_out: int, ceil_mode: bool
) -> None:
    text = f"[net]\nwidth={h_in}\nheight={h_in}\nchannels=2\n[maxpool]\nsize={size}\nstride={stride}\n{extra}"
    (pool,) = parse(text, "p.cfg").layers
    assert (pool.out_shape.h, pool.out_shape.w, pool.ceil_mode) == (h_out, h_out, ceil_mode)
    assert pool.padding == (size - 1 if not extra else 0) // 2


def test_zero_padded_strided_shortcut() -> None:
    text = NET + (
        "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
        "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nactivation=linear\n"
        "[shortcut]\nfrom=-2\nactivation=leaky\n"
    )
    net = parse(text, "z.cfg")
    add = net.layer("layers.2.add")
    assert [tuple(s) for s in add.in_shapes] == [(4, 4, 4), (2, 8, 8)]
    assert tuple(add.out_shape) == (4, 4, 4)


# --- bad input: one line with the file, the line number and the problem -------------------------

BAD = [
    ("unknown section", NET + "\n[yolov9]\nmask=0\n", 6, "unsupported section [yolov9]"),
    ("out of scope", NET + "[lstm]\noutput=4\n", 5, "[lstm] is recurrent, which cspcost does not model"),
    ("missing filters", NET + "[convolutional]\nsize=3\n", 5, "'filters' is missing"),
    (
        "route to nowhere",
        NET + "[convolutional]\nfilters=4\n[route]\nlayers=-1,5\n",
        8,
        "refers to layer 5, which does not exist",
    ),
    ("route before first", NET + "[route]\nlayers=-1\n", 6, "refers to layer -1"),
    # 8×8 and (8 − 3)//2 + 1 = 3×3 cannot be concatenated
    (
        "route sizes",
        NET + "[convolutional]\nfilters=4\n[convolutional]\nfilters=4\nsize=3\nstride=2\n"
        "[route]\nlayers=-1,-2\n",
        12,
        "layer 0 is 8×8 but layer 1 is 3×3",
    ),
    # a [yolo] with 2 masks and 3 classes needs 2·(3 + 5) = 16 channels
    (
        "yolo filters",
        NET + "[convolutional]\nfilters=15\n[yolo]\nmask=0,1\nnum=3\nclasses=3\n",
        7,
        "the input has 15 channels but 2 masks × 8",
    ),
    # 8×8 onto (8 − 3)//2 + 1 = 3×3
    (
        "shortcut size",
        NET + "[convolutional]\nfilters=4\n[convolutional]\nfilters=4\nsize=3\n"
        "stride=2\n[shortcut]\nfrom=-2\n",
        12,
        "not an integer multiple",
    ),
    ("conv groups", NET + "[convolutional]\nfilters=4\ngroups=2\n", 7, "groups=2 must divide"),
    (
        "route groups",
        NET + "[convolutional]\nfilters=3\n[route]\nlayers=-1\ngroups=2\n",
        9,
        "groups=2 does not divide the 3 channels",
    ),
    ("empty", "", 1, "the file is empty"),
    ("comments only", "# nothing\n\n", 1, "the file is empty"),
    ("no layers", NET, 1, "no layers"),
    ("unknown key", NET + "[convolutional]\nfilters=4\nfiltres=2\n", 7, "key 'filtres'"),
    ("bad integer", NET + "[convolutional]\nfilters=four\n", 6, "is not an integer"),
    ("bad activation", NET + "[convolutional]\nfilters=4\nactivation=tanhh\n", 7, "activation 'tanhh'"),
    ("no header", "width=8\n", 1, "before the first section"),
    ("not key=value", NET + "[convolutional]\nfilters\n", 6, "is not 'key=value'"),
    ("first not net", "[convolutional]\nfilters=4\n", 1, "first section must be [net]"),
    (
        "dilation size",
        NET + "[convolutional]\nfilters=4\nsize=3\ndilation=2\n",
        8,
        "darknet sizes the output 6×6 but a dilated conv gives 4×4",
    ),
]


@pytest.mark.parametrize(("case", "text", "line", "problem"), BAD, ids=[b[0] for b in BAD])
def test_malformed_cfg_is_one_line_with_file_and_line(case: str, text: str, line: int, problem: str) -> None:
    with pytest.raises(SpecError) as info:
        parse(text, "bad.cfg")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"bad.cfg:{line}: "), message
    assert problem in message, message


def test_cli_turns_a_malformed_cfg_into_exit_2(tmp_path) -> None:
    path = tmp_path / "bad.cfg"
    path.write_text(NET + "[convolutional]\nsize=3\n")
    result = CliRunner().invoke(app, ["table", str(path)])
    assert result.exit_code == 2
    assert re.search(r"bad\.cfg:5: \[convolutional\] layer 0: .*'filters'", result.output)
    assert "Traceback" not in result.output


def test_load_missing_file_names_it(tmp_path) -> None:
    with pytest.raises(SpecError, match="no such cfg file"):
        load(tmp_path / "nope.cfg")


def test_cli_table_of_a_cfg_in_json(tmp_path) -> None:
    path = tmp_path / "small.cfg"
    path.write_text(SMALL)
    result = CliRunner().invoke(app, ["table", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["model"] == "small"
    assert data["input"] == [3, 8, 8]
    assert data["totals"]["params_conv"] == 3 * 4 * 9 + 4 * 8 + 6 * 6 * 9 + 6 * 10
    assert [row["name"] for row in data["layers"]][:2] == ["layers.0.conv", "layers.0.norm"]


# --- the CSPNet README figures (REFERENCE.md §1) ------------------------------------------------

# (cfg, #Parameter in M as printed, BFLOPs as printed, decimals printed)
README = [
    ("resnet10", "5.24", "2.273"),
    ("resnet50", "22.73", "10.00"),  # README prints 9.74, copied from another cfg (REFERENCE.md)
    ("csresnet50", "21.57", "8.97"),
    ("resnext50", "22.19", "10.11"),
    ("csresnext50", "20.50", "7.93"),
    ("darknet53", "41.57", "18.57"),
    ("csdarknet53", "27.61", "13.07"),
    ("densenet201", "17.14", "10.85"),
]


def _same_digits(ours: float, printed: str) -> bool:
    decimals = len(printed.split(".")[1])
    return f"{ours:.{decimals}f}" == printed


@needs_cfgs
@pytest.mark.parametrize(("name", "params_m", "bflops"), README, ids=[r[0] for r in README])
def test_readme_figures_to_the_printed_digit(name: str, params_m: str, bflops: str) -> None:
    profile = analyze(load(cfg_path(name)))
    assert tuple(profile.network.input_shape) == (3, 256, 256)
    assert profile.complete
    assert _same_digits(profile.totals.params_conv / 1e6, params_m)
    assert _same_digits(profile.bflops_darknet, bflops)


@needs_cfgs
@pytest.mark.parametrize(
    ("name", "cio_m"), [("resnext50", 34.4), ("csresnext50", 32.6)], ids=["resnext50", "csresnext50"]
)
def test_paper_cio_conv_pool_to_three_digits(name: str, cio_m: float) -> None:
    totals = analyze(load(cfg_path(name))).totals
    assert float(f"{totals.cio_conv_pool / 1e6:.3g}") == cio_m
    # REFERENCE.md: a conv-only sum gives about 33.0M / 31.2M instead
    assert float(f"{totals.cio_conv / 1e6:.3g}") == {"resnext50": 33.0, "csresnext50": 31.2}[name]


@needs_cfgs
def test_cfg_at_another_input_size() -> None:
    at_256 = analyze(load(cfg_path("darknet53"))).totals
    at_128 = analyze(load(cfg_path("darknet53"), 128)).totals
    # every map before the global pool has a quarter of the area; the 1×1 classifier after it
    # (1024 → 1000 on a 1×1 map) costs the same at both sizes
    classifier = 1024 * 1000
    assert at_128.params == at_256.params
    assert (at_128.macs - classifier) * 4 == at_256.macs - classifier
