"""Torch twins of darknet's own cfgs: every cfg the reader loads builds in torch and runs, and a sample
spanning every section agrees with fvcore, ``FlopCounterMode`` and ``sum(p.numel())``."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from test_darknet_parse import IMPLICIT, PARSED, _reference  # noqa: E402
from test_darknet_torch import _agree  # noqa: E402

from costmodel import SpecError, analyze  # noqa: E402
from costmodel.counters import param_count, sample_input  # noqa: E402
from costmodel.darknet import parse  # noqa: E402
from costmodel.torch_build import build  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.torch]

SMALL_INPUT = 128
"""Forward passes run at 128×128 where the cfg allows it (every stride still applies); cfgs whose
heads fix the size ([connected], [detection]) run at their own."""


def _load(name: str, size: int | None) -> tuple[str, object]:
    text = (_reference() / "cfg" / f"{name}.cfg").read_text(encoding="utf-8", errors="replace")
    return text, parse(text, f"{name}.cfg", size)


@pytest.mark.parametrize("name", PARSED or ["absent"], ids=PARSED or ["absent"])
def test_every_loaded_cfg_runs_in_torch(name: str) -> None:
    text = (_reference() / "cfg" / f"{name}.cfg").read_text(encoding="utf-8", errors="replace")
    try:
        net = parse(text, f"{name}.cfg", SMALL_INPUT)
    except SpecError as err:
        if "which cspcost does not model" in str(err):
            pytest.skip(f"out of scope: {err}")
        net = parse(text, f"{name}.cfg")
    model = build(net).eval()
    assert param_count(model) == analyze(net).totals.params
    x = sample_input(model, tuple(net.input_shape))
    with torch.no_grad():
        out = model(x)
    last = net.layers[-1].out_shape
    out = out[-1] if isinstance(out, tuple) else out  # a detector returns every head, last last
    assert tuple(out.shape) in ((1, *last), (1, last.numel))


# One small cfg with every section the reader knows (and the keys that change shapes), at a size
# where each stride, odd padding and head check applies.
EVERY_SECTION = """
[net]
width=32
height=32
channels=3
# 0: 8×32×32, dilated
[convolutional]
batch_normalize=1
filters=8
size=3
pad=1
dilation=2
activation=mish
# 1: 8×16×16, anti-aliased stride 2
[convolutional]
batch_normalize=1
filters=8
size=3
stride=2
pad=1
antialiasing=1
activation=swish
# 2: size 2 stride 1 maxpool torch cannot mirror: 8×16×16
[maxpool]
size=2
stride=1
# 3: 8×16×16
[convolutional]
filters=8
size=3
pad=1
activation=relu6
# 4: layer 3's weights again (counted once)
[convolutional]
filters=8
size=3
pad=1
share_index=3
activation=hard_mish
# 5: weighted sum of layers 4, 3 and 2
[shortcut]
from=-2,-3
weights_type=per_feature
weights_normalization=relu
activation=leaky
# 6: SE: 8×1×1
[avgpool]
# 7: 8×1×1
[convolutional]
filters=8
size=1
activation=logistic
# 8: 8×16×16
[scale_channels]
from=-4
# 9
[sam]
from=-4
# 10: 32×8×8
[reorg3d]
stride=2
# 11: 8×16×16
[reorg3d]
stride=2
reverse=1
# 12: 8×32×32
[upsample]
stride=2
# 13: 8×16×16
[upsample]
stride=-2
# 14: 16×16×16
[route]
layers=-1,-6
# 15: 8×16×16 (the second half)
[route]
layers=-1
groups=2
group_id=1
# 16: 8×8×8
[local_avgpool]
size=2
stride=2
# 17
[batchnorm]
# 18
[activation]
activation=gelu
# 19
[dropout]
probability=.1
# 20: 8×6×6
[crop]
crop_height=6
crop_width=6
# 21: xnor, stride_x 2: 18×6×3
[convolutional]
filters=18
size=1
stride_x=2
stride_y=1
xnor=1
activation=linear
# 22: 2 masks × (4 classes + 5) = 18
[yolo]
mask=0,1
num=3
classes=4
# 23: 12×6×3
[convolutional]
filters=12
size=1
activation=linear
# 24: num 2 × (1 class + 4 coords + 1) = 12 channels
[region]
num=2
classes=1
coords=4
# 25
[connected]
output=10
batch_normalize=1
activation=tanh
# 26
[softmax]
# 27
[cost]
# 28: a learned 4×2×1 tensor that reads nothing
[implicit]
filters=4
atoms=2
# 29: 3×2×1
[convolutional]
filters=3
size=1
activation=linear
"""


def test_a_cfg_with_every_section_agrees_with_the_reference_counters() -> None:
    net = parse(EVERY_SECTION, "every.cfg")
    kinds = {layer.kind for layer in net.layers}
    assert {
        "mul",
        "upsample",
        "space_to_depth",
        "depth_to_space",
        "crop",
        "detect",
        "blur",
        "implicit",
    } <= kinds
    _agree(net)


@pytest.mark.parametrize(
    "name",
    ["yolov4-tiny", "yolov4-sam-mish-csp-reorg-bfm", "enet-coco", "Gaussian_yolov3_BDD", "yolov2", "cifar"],
)
def test_darknet_cfgs_agree_with_the_reference_counters(name: str) -> None:
    text = (_reference() / "cfg" / f"{name}.cfg").read_text(encoding="utf-8", errors="replace")
    try:
        net = parse(text, f"{name}.cfg", 64)
    except SpecError:
        net = parse(text, f"{name}.cfg")
    _agree(net)


def test_implicit_tensors_run_in_torch_for_every_image_of_a_batch() -> None:
    net = parse(IMPLICIT, "implicit.cfg")
    _agree(net)
    model = build(net).eval()
    weight = model.get_submodule("layers.1.implicit").weight
    assert tuple(weight.shape) == (1, 16, 1, 1)
    assert tuple(model.get_submodule("layers.7.implicit").weight.shape) == (1, 4, 3, 1)
    x = torch.randn(2, 3, 8, 8)
    seen: dict[str, torch.Tensor] = {}
    model.get_submodule("layers.0.act").register_forward_hook(lambda m, i, o: seen.__setitem__("map", o))
    model.get_submodule("layers.2.mul").register_forward_hook(lambda m, i, o: seen.__setitem__("scaled", o))
    with torch.no_grad():
        outs = model(x)
    # layer 6 is read by nothing (layer 7 reads no input), so both are outputs, last last
    assert [tuple(o.shape) for o in outs] == [(2, 4, 1, 1), (2, 2, 3, 1)]
    # [scale_channels]: each image's map times the one learned vector, channel by channel
    assert torch.equal(seen["scaled"], seen["map"] * weight)
