"""The torch tracer (``costmodel.torch_trace``): exact round trips through the torch builder, agreement
with independent counters on hand-written torch models, names, unsupported operations and bad input.

Expected values come from the engine's own analysis of the config the model was built from (the round
trip), from fvcore, ``FlopCounterMode`` and ``sum(p.numel())``, from a dispatch counter written here, or
from arithmetic written in the test."""

from __future__ import annotations

import random

import pytest

from costmodel import (
    MODELS,
    DenseNetConfig,
    PeleeNetConfig,
    SpecError,
    analyze,
    expand,
)
from costmodel.families.darknet53 import DarknetConfig
from costmodel.families.resnet import ResNetConfig

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from costmodel.torch_build import build  # noqa: E402
from costmodel.torch_trace import trace  # noqa: E402

pytestmark = pytest.mark.torch


# --- round trip: analyze(trace(build(net))) == analyze(net) -----------------------------------------


def layer_record(layer):
    """Every field of a layer except its stage label (the tracer labels stages by top-level module)."""
    return layer._replace(stage="")


def assert_round_trip(net):
    with torch.device("meta"):  # parameters without storage: full-size models stay cheap
        model = build(net)
    traced = trace(model, tuple(net.input_shape), name=net.name)
    assert traced.unsupported == {}
    assert traced.unaccounted_params == 0
    assert [layer_record(a) for a in traced.network.layers] == [layer_record(b) for b in net.layers]
    for precision in ("fp32", "fp16"):
        want, got = analyze(net, precision), traced.analyze(precision)
        assert got.costs == want.costs
        strip = [{k: v for k, v in want.layer_dict(*row).items() if k != "stage"} for row in want.rows()]
        assert [
            {k: v for k, v in got.layer_dict(*row).items() if k != "stage"} for row in got.rows()
        ] == strip
        assert got.totals_dict() == want.totals_dict()  # includes peak_act_bytes, the footprint
        assert got.peak_activation() == want.peak_activation()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_round_trip_named_models_small(name):
    assert_round_trip(expand(MODELS[name].config, 64))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MODELS))
def test_round_trip_named_models_full_size(name):
    entry = MODELS[name]
    assert_round_trip(expand(entry.config, entry.default_input))


def random_configs(n: int, seed: int = 1911):
    """Seeded draws over all four native families (DenseNet, PeleeNet, ResNet/ResNeXt, Darknet)."""
    rng = random.Random(seed)
    fusions = ["none", "fusion_first", "fusion_last", "csp"]
    out = []
    while len(out) < n:
        fusion = rng.choice(fusions)
        gamma = 0.0 if fusion == "none" else rng.choice([0.25, 0.5, 0.75])
        family = rng.choice(["densenet", "peleenet", "resnet", "darknet"])
        try:
            if family == "densenet":
                blocks = tuple(rng.randint(1, 4) for _ in range(rng.randint(1, 4)))
                cfg = DenseNetConfig(
                    growth_rate=rng.choice([4, 8, 12]),
                    block_config=blocks,
                    num_init_features=rng.choice([8, 16]),
                    bn_size=rng.choice([0, 2, 4]),
                    compression=rng.choice([0.5, 1.0]),
                    num_classes=10,
                    in_channels=rng.choice([1, 3]),
                    part_ratio=gamma,
                    fusion=fusion,
                )
            elif family == "peleenet":
                k = len(blocks := tuple(rng.randint(1, 3) for _ in range(rng.randint(2, 4))))
                cfg = PeleeNetConfig(
                    growth_rate=rng.choice([8, 16]),
                    block_config=blocks,
                    bottleneck_width=tuple(rng.choice([1, 2, 4]) for _ in range(k)),
                    num_classes=10,
                    part_ratio=min(gamma, 0.5),
                    fusion=fusion,
                )
            elif family == "resnet":
                depths = tuple(rng.randint(1, 2) for _ in range(4))
                base = rng.choice([8, 16])
                cfg = ResNetConfig(
                    depths=depths,
                    widths=tuple(base * 4 * 2**i for i in range(4)),
                    bottleneck_widths=tuple(base * 2**i for i in range(4)),
                    basic=rng.random() < 0.3,
                    groups=rng.choice([1, 2]),
                    stem_width=base,
                    part_ratio=gamma,
                    fusion=fusion,
                    num_classes=10,
                )
            else:
                cfg = DarknetConfig(
                    depths=tuple(rng.randint(1, 2) for _ in range(5)),
                    widths=tuple(8 * 2**i for i in range(5)),
                    stem_width=8,
                    part_ratio=gamma,
                    fusion=fusion,
                    num_classes=10,
                )
            size = rng.choice([32, 48, 64])
            expand(cfg, size)
        except SpecError:
            continue  # a draw the engine rejects (too small, bad widths) is not a test case
        out.append((cfg, size))
    return out


RANDOM = random_configs(60)


@pytest.mark.parametrize(("config", "size"), RANDOM, ids=[f"random{i}" for i in range(len(RANDOM))])
def test_round_trip_random_configs(config, size):
    assert_round_trip(expand(config, size))


def test_random_configs_cover_every_family():
    assert {type(c) for c, _ in RANDOM} == {DenseNetConfig, PeleeNetConfig, ResNetConfig, DarknetConfig}


# --- hand-written torch models and independent counters ----------------------------------------------


class CatCounter(torch.utils._python_dispatch.TorchDispatchMode):
    """Elements every ``torch.cat`` reads (all inputs) plus writes (its output)."""

    def __init__(self):
        super().__init__()
        self.elements = 0
        self.calls = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func is torch.ops.aten.cat.default:
            self.calls += 1
            self.elements += sum(t.numel() for t in args[0]) + out.numel()
        return out


class Bottleneck(nn.Module):
    """torchvision's ResNet bottleneck: 1×1 → 3×3 (stride) → 1×1, in-place ``+=`` of the shortcut."""

    def __init__(self, c_in, width, stride):
        super().__init__()
        out = width * 4
        self.conv1 = nn.Conv2d(c_in, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or c_in != out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        y += identity
        return self.relu(y)


class ResNet50Like(nn.Module):
    def __init__(self, depths=(3, 4, 6, 3), num_classes=100):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        c, layers = 64, []
        for i, depth in enumerate(depths):
            blocks = []
            for j in range(depth):
                blocks.append(Bottleneck(c, 64 * 2**i, 2 if j == 0 and i > 0 else 1))
                c = 64 * 2**i * 4
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class DenseLayerTV(nn.Module):
    """torchvision's dense layer: it concatenates the whole feature *list* it is given."""

    def __init__(self, c_in, k, bn_size=4):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(c_in)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(c_in, bn_size * k, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * k)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * k, k, 3, 1, 1, bias=False)

    def forward(self, features):
        x = torch.cat(features, 1)
        x = self.conv1(self.relu1(self.norm1(x)))
        return self.conv2(self.relu2(self.norm2(x)))


class DenseBlockTV(nn.ModuleDict):
    layer_cls: type[nn.Module] = DenseLayerTV

    def __init__(self, layers, c_in, k):
        super().__init__()
        for i in range(layers):
            self.add_module(f"denselayer{i + 1}", self.layer_cls(c_in + i * k, k))

    def forward(self, x):
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class DenseLayerGrow(DenseLayerTV):
    def forward(self, x):
        return self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))


class DenseBlockGrow(DenseBlockTV):
    """The same block written as one growing tensor: ``x = cat([x, layer(x)])``."""

    layer_cls = DenseLayerGrow

    def forward(self, x):
        for layer in self.values():
            x = torch.cat([x, layer(x)], 1)
        return x


class DenseNetTV(nn.Module):
    """A small DenseNet-BC in torchvision's layout (``features.denseblockN.denselayerM.convK``)."""

    def __init__(self, block=DenseBlockTV, blocks=(3, 4), k=8, c0=16, num_classes=10):
        super().__init__()
        feats = nn.Sequential()
        feats.add_module("conv0", nn.Conv2d(3, c0, 7, 2, 3, bias=False))
        feats.add_module("norm0", nn.BatchNorm2d(c0))
        feats.add_module("relu0", nn.ReLU(inplace=True))
        feats.add_module("pool0", nn.MaxPool2d(3, 2, 1))
        c = c0
        for i, n in enumerate(blocks):
            feats.add_module(f"denseblock{i + 1}", block(n, c, k))
            c += n * k
            if i < len(blocks) - 1:
                trans = nn.Sequential()
                trans.add_module("norm", nn.BatchNorm2d(c))
                trans.add_module("relu", nn.ReLU(inplace=True))
                trans.add_module("conv", nn.Conv2d(c, c // 2, 1, bias=False))
                trans.add_module("pool", nn.AvgPool2d(2, 2))
                feats.add_module(f"transition{i + 1}", trans)
                c //= 2
        feats.add_module("norm5", nn.BatchNorm2d(c))
        self.features = feats
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x):
        x = F.relu(self.features(x))
        x = F.adaptive_avg_pool2d(x, (1, 1))
        return self.classifier(torch.flatten(x, 1))


class TwiceAndBranch(nn.Module):
    """One conv called twice, a Python branch on the shape, a split and a cat between modules."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, 1, 1)
        self.shared = nn.Conv2d(16, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        x = F.relu(self.stem(x))
        y = self.shared(x)
        if y.shape[-1] > 8:  # taken at 32 px: a pool; never a conv
            y = F.max_pool2d(y, 2)
            x = F.max_pool2d(x, 2)
        y = self.shared(F.relu(self.bn(y)))
        a, b = torch.chunk(y, 2, dim=1)
        z = torch.cat([x[:, :8], a + b], dim=1)
        z = z.mean((2, 3))
        return self.head(z)


def independent(model, shape):
    """fvcore's per-module MACs, FlopCounterMode's FLOPs, sum(p.numel()) and the cat counter."""
    from fvcore.nn import FlopCountAnalysis
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    x = torch.randn(1, *shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        analysis = FlopCountAnalysis(model, (x,))
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        by_module = {k: int(v) for k, v in analysis.by_module().items()}
        counter = FlopCounterMode(display=False)
        with counter:
            model(x)
        cats = CatCounter()
        with cats:
            model(x)
    params = sum(p.numel() for p in model.parameters())
    return by_module, int(counter.get_total_flops()), params, cats


def assert_agrees(model, shape):
    pytest.importorskip("fvcore")
    traced = trace(model, shape)
    profile = traced.analyze()
    by_module, flops, params, cats = independent(model, shape)
    ours: dict[str, int] = {}
    for layer, cost in profile.rows():
        if layer.kind in ("conv", "conv_transpose", "linear"):
            module = layer.name.split("#")[0]
            ours[module] = ours.get(module, 0) + cost.macs
    assert ours == {name: by_module[name] for name in ours}
    convs = {n for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))}
    assert set(ours) == convs
    assert 2 * profile.totals.macs == flops
    assert profile.totals.params == params  # a module called twice shares its weights: counted once
    assert traced.unaccounted_params == 0
    assert profile.totals.concat_elements == cats.elements
    assert traced.unsupported == {}
    return traced, profile, cats


@pytest.mark.slow
def test_resnet50_like_agrees_with_fvcore_flopcounter_and_params():
    traced, profile, _ = assert_agrees(ResNet50Like(), (3, 64, 64))
    names = {layer.name for layer in traced.network.layers}
    # the in-place ``y += identity`` in each block is an add named after the block
    assert {"layer1.0.add", "layer4.2.add"} <= names
    assert profile.totals.concat_elements == 0


def test_densenet_torchvision_style_agrees():
    traced, _, cats = assert_agrees(DenseNetTV(), (3, 32, 32))
    # 3 + 4 dense layers each concatenate their list, plus one cat closing each block
    assert cats.calls == 3 + 4 + 2
    assert "features.denseblock1.denselayer1.cat" in {layer.name for layer in traced.network.layers}


def test_densenet_grown_tensor_agrees():
    assert_agrees(DenseNetTV(DenseBlockGrow), (3, 32, 32))


def dense_traffic(block_cls, layers, c0, k, hw):
    model = block_cls(layers, c0, k)
    return trace(model, (c0, hw, hw)).analyze().totals.concat_elements


def test_concat_traffic_follows_the_code_not_the_architecture():
    c0, k, m, hw = 16, 8, 4, 8
    n = hw * hw
    # torchvision: layer j copies its list of j+1 maps (c0 + j·k channels; layer 0's list of one is a
    # copy too), then the block copies all of it once more: each copy reads and writes its size.
    listed = sum(2 * (c0 + j * k) * n for j in range(m)) + 2 * (c0 + m * k) * n
    # one growing tensor: after layer j, read c0 + j·k and k channels, write c0 + (j+1)·k.
    grown = sum(2 * (c0 + (j + 1) * k) * n for j in range(m))
    assert dense_traffic(DenseBlockTV, m, c0, k, hw) == listed
    assert dense_traffic(DenseBlockGrow, m, c0, k, hw) == grown
    assert listed != grown


def test_module_called_twice_and_python_branch_agrees():
    traced, profile, cats = assert_agrees(TwiceAndBranch(), (3, 32, 32))
    names = [layer.name for layer in traced.network.layers]
    assert names.count("shared") == 1 and names.count("shared#2") == 1
    # 32 px takes the pooling branch: two pools, named after the top-level functions that made them
    assert sum(layer.kind == "maxpool" for layer in traced.network.layers) == 2
    # ops in the top-level forward are named by their aten op; chunk is aten.split
    assert {"relu", "max_pool2d_with_indices", "split", "split#2", "slice", "add", "cat", "mean"} <= set(
        names
    )
    assert cats.calls == 1
    # the second call of ``shared`` reads the first call's weights: the engine counts them once
    assert profile.network.layer("shared#2").shares == "shared"
    assert dict((layer.name, c.params) for layer, c in profile.rows())["shared#2"] == 0
    # the taken branch halves the maps: shared#2 runs at 16×16 (16·16·9 weights, 16·16 positions)
    assert profile.network.layer("shared#2").out_shape == (16, 16, 16)
    assert dict((layer.name, c.macs) for layer, c in profile.rows())["shared#2"] == 16 * 16 * 9 * 16 * 16


def test_branch_not_taken_at_a_small_input():
    traced = trace(TwiceAndBranch(), (3, 8, 8))
    assert not any(layer.kind == "maxpool" for layer in traced.network.layers)


def test_layer_names_are_module_paths():
    traced = trace(DenseNetTV(), (3, 32, 32))
    names = [layer.name for layer in traced.network.layers]
    assert names[:4] == ["features.conv0", "features.norm0", "features.relu0", "features.pool0"]
    assert "features.denseblock2.denselayer4.conv2" in names
    assert names[-1] == "classifier"
    # functional calls in the top-level forward are named by their op
    assert {"relu", "mean"} <= set(names) or {"relu", "_adaptive_avg_pool2d"} <= set(names)


class SqueezeExcite(nn.Module):
    """MobileNetV3's gate: global pool → 1×1 reduce → ReLU → 1×1 expand → hard sigmoid → scale."""

    def __init__(self, c, r=4):
        super().__init__()
        self.reduce = nn.Conv2d(c, c // r, 1)
        self.expand = nn.Conv2d(c // r, c, 1)
        self.gate = nn.Hardsigmoid()

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * self.gate(self.expand(F.relu(self.reduce(s))))


class InvertedResidual(nn.Module):
    """MobileNetV2's block (1×1 expand, 3×3 depthwise, 1×1 project, residual at stride 1) with SE."""

    def __init__(self, c_in, c_out, stride, expand=4):
        super().__init__()
        hidden = c_in * expand
        self.use_res = stride == 1 and c_in == c_out
        self.conv = nn.Sequential(
            nn.Conv2d(c_in, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),  # depthwise
            nn.BatchNorm2d(hidden),
            nn.Hardswish(),
            SqueezeExcite(hidden),
            nn.Conv2d(hidden, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )

    def forward(self, x):
        y = self.conv(x)
        return x + y if self.use_res else y


class MobileNetV2Like(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6())
        plan = [(16, 16, 1), (16, 24, 2), (24, 24, 1), (24, 40, 2), (40, 40, 1)]
        self.blocks = nn.Sequential(*[InvertedResidual(a, b, s) for a, b, s in plan])
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(40, num_classes))

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.head(x.mean((2, 3)))


def test_mobilenetv2_like_with_squeeze_excitation_agrees():
    traced, profile, _ = assert_agrees(MobileNetV2Like(), (3, 64, 64))
    layers = {layer.name: layer for layer in traced.network.layers}
    # depthwise 3×3 of block 1 (64 channels, stride 2 from 32×32): 64 groups of one channel
    dw = layers["blocks.1.conv.3"]
    assert (dw.groups, dw.out_shape) == (64, (64, 16, 16))
    assert dict((layer.name, c.macs) for layer, c in profile.rows())["blocks.1.conv.3"] == 9 * 64 * 16 * 16
    # the SE scale is a broadcast multiply: one operation per output element, reads both inputs
    gate = layers["blocks.1.conv.6.mul"]
    assert gate.kind == "mul" and gate.in_shapes == ((64, 16, 16), (64, 1, 1))
    cost = dict(zip(layers, profile.costs))["blocks.1.conv.6.mul"]
    assert (cost.flops_other, cost.read_elements) == (64 * 16 * 16, 64 * 16 * 16 + 64)
    assert (layers["blocks.0.conv.2"].op, layers["blocks.0.conv.5"].op) == ("relu6", "hardswish")
    assert layers["blocks.0.conv.6.gate"].op == "hardsigmoid"
    assert {layers["blocks.0.add"].kind, layers["head.0"].kind} == {"add", "dropout"}


class ConvBnSiLU(nn.Sequential):
    def __init__(self, c_in, c_out, k=1, s=1):
        super().__init__(nn.Conv2d(c_in, c_out, k, s, k // 2, bias=False), nn.BatchNorm2d(c_out), nn.SiLU())


class SPP(nn.Module):
    """YOLOv4's spatial pyramid pooling: three stride-1 max pools concatenated with their input."""

    def __init__(self, c):
        super().__init__()
        self.pools = nn.ModuleList(nn.MaxPool2d(k, 1, k // 2) for k in (5, 9, 13))
        self.fuse = ConvBnSiLU(4 * c, c)

    def forward(self, x):
        return self.fuse(torch.cat([x, *(pool(x) for pool in self.pools)], 1))


class YoloNeckLike(nn.Module):
    """A three-scale backbone and a YOLO-style top-down neck: lateral 1×1 convs, 2× nearest
    upsampling, concatenation with the backbone's maps, one bilinear upsample, three heads returned
    as a tuple."""

    def __init__(self, anchors=3, classes=4):
        super().__init__()
        self.c3 = nn.Sequential(ConvBnSiLU(3, 16, 3, 2), ConvBnSiLU(16, 32, 3, 2), ConvBnSiLU(32, 32, 3, 2))
        self.c4 = ConvBnSiLU(32, 64, 3, 2)
        self.c5 = nn.Sequential(ConvBnSiLU(64, 128, 3, 2), SPP(128))
        self.lat5 = ConvBnSiLU(128, 64)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.td4 = ConvBnSiLU(128, 64, 3)
        self.lat4 = ConvBnSiLU(64, 32)
        self.td3 = ConvBnSiLU(64, 32, 3)
        out = anchors * (5 + classes)
        self.head3, self.head4, self.head5 = (nn.Conv2d(c, out, 1) for c in (32, 64, 128))

    def forward(self, x):
        c3 = self.c3(x)
        c4 = self.c4(c3)
        c5 = self.c5(c4)
        p4 = self.td4(torch.cat([self.up(self.lat5(c5)), c4], 1))
        up3 = F.interpolate(self.lat4(p4), scale_factor=2, mode="bilinear", align_corners=False)
        p3 = self.td3(torch.cat([up3, c3], 1))
        return self.head3(p3), self.head4(p4), self.head5(c5)


def test_yolo_like_neck_agrees():
    traced, profile, cats = assert_agrees(YoloNeckLike(), (3, 128, 128))
    assert cats.calls == 3  # SPP's and the two top-down merges
    layers = {layer.name: layer for layer in traced.network.layers}
    up = layers["up"]
    assert (up.kind, up.stride, up.in_shapes, up.out_shape) == ("upsample", 2, ((64, 4, 4),), (64, 8, 8))
    bilinear = layers["upsample_bilinear2d"]
    assert (bilinear.op, bilinear.out_shape) == ("bilinear", (32, 16, 16))
    costs = dict(zip(layers, profile.costs))
    # nearest copies; bilinear weighs 4 taps: 4 operations per output element
    assert costs["up"].flops_other == 0 and costs["upsample_bilinear2d"].flops_other == 4 * 32 * 16 * 16
    # SPP concatenates 4 maps of 128×4×4: reads them, writes 512×4×4
    assert costs["c5.1.cat"].concat_elements == 2 * 512 * 4 * 4
    assert [layers[f"head{i}"].out_shape for i in (3, 4, 5)] == [(27, 16, 16), (27, 8, 8), (27, 4, 4)]


class Geometry(nn.Module):
    """Convolutions of every geometry the conv kind covers, and the free and element-wise ops."""

    def __init__(self):
        super().__init__()
        self.dilated = nn.Conv2d(4, 8, 3, 1, padding=2, dilation=2)
        self.wide = nn.Conv2d(8, 8, 3, (1, 2), 1, bias=False)  # asymmetric stride
        self.reflect = nn.Conv2d(8, 8, 3, 1, 1, padding_mode="reflect")
        self.circular = nn.Conv2d(8, 8, 3, 1, 1, padding_mode="circular", groups=2)
        self.acts = nn.Sequential(nn.GELU(), nn.Tanh(), nn.ELU(), nn.SELU(), nn.LeakyReLU(0.2), nn.Mish())
        self.drop = nn.Dropout2d(0.1)

    def forward(self, x):
        x = self.circular(self.reflect(self.wide(self.dilated(x))))
        x = self.drop(self.acts(x))
        y = x.permute(0, 2, 3, 1).contiguous().view(1, 32, 4, 8)  # a view, a copy, a view
        return torch.softmax(x.flatten(1), 1), y


def test_conv_geometries_and_free_ops():
    traced, profile, _ = assert_agrees(Geometry(), (4, 16, 16))
    layers = {layer.name: layer for layer in traced.network.layers}
    assert (layers["dilated"].dilation, layers["dilated"].out_shape) == (2, (8, 16, 16))
    assert (layers["wide"].stride, layers["wide"].stride_w, layers["wide"].out_shape) == (1, 2, (8, 16, 8))
    # a padding mode pads with a copy, then convolves unpadded: one conv layer of padding 1
    for name in ("reflect", "circular"):
        assert (layers[name].kind, layers[name].padding, layers[name].out_shape) == ("conv", 1, (8, 16, 8))
    macs = dict(zip(layers, (c.macs for c in profile.costs)))
    assert macs["circular"] == (8 // 2) * 8 * 9 * 16 * 8
    ops = [layer.op for layer in traced.network.layers if layer.kind == "act"]
    assert ops == ["gelu", "tanh", "elu", "selu", "leaky", "mish"]
    kinds = [layer.kind for layer in traced.network.layers]
    assert kinds[-6:] == ["dropout", "reshape", "copy", "reshape", "flatten", "softmax"]
    assert [layer.out_shape for layer in traced.network.layers[-5:-2]] == [(16, 8, 8), (16, 8, 8), (32, 4, 8)]
    # the copy reads and writes the map once; views and dropout move nothing
    copy = profile.costs[kinds.index("copy")]
    assert (copy.read_elements, copy.write_elements) == (8 * 16 * 8, 8 * 16 * 8)
    free = [c for layer, c in profile.rows() if layer.kind in ("reshape", "dropout", "flatten")]
    assert len(free) == 4
    assert all(c == type(c)() for c in free)  # views: no arithmetic, no traffic


class Norms(nn.Module):
    """Group norm on a map, layer norm on a vector, a weightless layer norm over the whole map, and a
    channels-last layer norm (ConvNeXt's), which the norm kind cannot express."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 1, 1)
        self.gn = nn.GroupNorm(4, 8)
        self.whole = nn.LayerNorm([8, 8, 8], elementwise_affine=False)
        self.last = nn.LayerNorm(8)
        self.fc = nn.Linear(8, 6)
        self.ln = nn.LayerNorm(6)

    def forward(self, x):
        x = self.whole(self.gn(self.conv(x)))
        y = self.last(x.permute(0, 2, 3, 1))
        return self.ln(self.fc(x.mean((2, 3)))), y


def test_group_and_layer_norms():
    traced = trace(Norms(), (3, 8, 8))
    layers = {layer.name: layer for layer in traced.network.layers}
    kinds = [(layers[n].kind, layers[n].groups) for n in ("gn", "whole", "ln")]
    assert kinds == [("norm", 4), ("norm", 1), ("norm", 1)]
    costs = dict(zip(layers, traced.analyze().costs))
    # 5 operations per element with the affine scale and shift, 4 without; 2 parameters per channel
    assert (costs["gn"].flops_other, costs["gn"].params) == (5 * 8 * 8 * 8, 2 * 8)
    assert (costs["whole"].flops_other, costs["whole"].params) == (4 * 8 * 8 * 8, 0)
    assert (costs["ln"].flops_other, costs["ln"].params) == (5 * 6, 2 * 6)
    assert traced.unsupported == {"aten.native_layer_norm": 1}
    assert traced.unaccounted_params == 2 * 8  # the channels-last norm's weights: listed, not costed


class Decoder(nn.Module):
    """Transposed convolutions: plain, grouped with output padding, dilated; one called twice."""

    def __init__(self):
        super().__init__()
        self.up1 = nn.ConvTranspose2d(8, 16, 4, 2, 1)
        self.up2 = nn.ConvTranspose2d(16, 8, 3, 2, 1, output_padding=1, groups=4, bias=False)
        self.up3 = nn.ConvTranspose2d(8, 8, 3, 1, 2, dilation=2)

    def forward(self, x):
        return self.up3(self.up3(self.up2(self.up1(x))))


def test_transposed_convolutions_agree():
    traced, profile, _ = assert_agrees(Decoder(), (8, 5, 5))
    layers = {layer.name: layer for layer in traced.network.layers}
    # (5−1)·2 − 2 + 4 = 10; (10−1)·2 − 2 + 3 + 1 = 20; (20−1) − 4 + 2·2 + 1 = 20
    assert [layers[n].out_shape for n in ("up1", "up2", "up3")] == [(16, 10, 10), (8, 20, 20), (8, 20, 20)]
    macs = dict(zip(layers, (c.macs for c in profile.costs)))
    # every input element times a (C_out/groups)·k² slice of the weights
    assert macs["up2"] == 16 * (8 // 4) * 9 * 10 * 10
    assert layers["up3#2"].shares == "up3"


# --- views, copies, in-place, unsupported --------------------------------------------------------------


class Views(nn.Module):
    def forward(self, x):
        a = x.view(1, 8, 4, 4)  # same shape: an alias, no layer
        b = a.clone()  # a copy
        c = b.relu_()  # in place
        d = x.unsqueeze(-1).squeeze(-1)  # aliases
        return c + d


def test_views_alias_copies_do_not():
    traced = trace(Views(), (8, 4, 4))
    kinds = [layer.kind for layer in traced.network.layers]
    assert kinds == ["copy", "act", "add"]
    assert traced.unsupported == {}
    add = traced.network.layers[-1]
    assert add.inputs == (traced.network.layers[1].name, "")  # relu_ result + the input itself


class Odd(nn.Module):
    """Operations outside the engine's kinds: a running sum, a scale by a constant, a transposed
    conv with a non-square kernel."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 1, 1)
        self.up = nn.ConvTranspose2d(8, 4, (2, 3), 2)

    def forward(self, x):
        x = self.conv(x)
        x = torch.cumsum(x, dim=1) * 0.5
        return self.up(x)


def test_ops_outside_the_kinds_are_listed_never_zero():
    traced = trace(Odd(), (3, 16, 16))
    assert traced.unsupported == {
        "aten.cumsum": 1,
        "aten.mul": 1,
        "aten.convolution (transposed, non-square)": 1,
    }
    profile = traced.analyze()
    assert not profile.complete
    assert {kind for _, kind in profile.unsupported} == {"aten.cumsum", "aten.mul", "aten.convolution"}
    assert ("cumsum", "aten.cumsum") in profile.unsupported
    assert profile.totals.macs == 3 * 8 * 9 * 16 * 16  # the conv's; the transposed one is listed


def test_parameters_outside_costed_layers_are_reported():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 1)
            self.scale = nn.Parameter(torch.ones(1, 4, 1, 1))

        def forward(self, x):
            return self.conv(x) * self.scale

    traced = trace(Scaled(), (3, 8, 8))
    assert traced.unaccounted_params == 4
    assert traced.unsupported == {"aten.mul": 1}
    assert not traced.complete


# --- outputs and bad input --------------------------------------------------------------------------


class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, 2, 1)
        self.b = nn.Conv2d(4, 4, 3, 2, 1)

    def forward(self, x):
        p3 = self.a(x)
        p4 = self.b(p3)
        return {"p3": p3, "p4": (p4, [p4])}


def test_outputs_may_be_dicts_tuples_and_lists():
    traced = trace(Detector(), (3, 32, 32))
    assert [layer.name for layer in traced.network.layers] == ["a", "b"]
    assert traced.network.layer("b").out_shape == (4, 8, 8)


def test_model_state_is_left_as_it_was():
    model = DenseNetTV()
    model.train()
    weight = model.features.conv0.weight.detach().clone()
    trace(model, (3, 32, 32))
    assert all(m.training for m in model.modules())
    assert model.features.conv0.weight.device.type == "cpu"
    assert torch.equal(model.features.conv0.weight, weight)


def test_model_failing_at_the_input_names_module_and_shapes():
    model = DenseNetTV()
    with pytest.raises(SpecError) as err:
        trace(model, (1, 32, 32))  # conv0 wants 3 channels
    msg = str(err.value)
    assert "'features.conv0'" in msg and "1×1×32×32" in msg and "\n" not in msg


@pytest.mark.parametrize(
    "bad", [(3, 0, 32), (3, 32), "224", (3.0, 32, 32)], ids=["zero", "two-dims", "string", "float"]
)
def test_bad_input_shape(bad):
    with pytest.raises(SpecError, match="input shape"):
        trace(DenseNetTV(), bad)


def test_not_a_module():
    with pytest.raises(SpecError, match=r"not a torch nn\.Module"):
        trace(lambda x: x, (3, 8, 8))  # type: ignore[arg-type]


def test_stages_are_top_level_containers_with_stem_and_head_around_them():
    traced = trace(DenseNetTV(), (3, 32, 32))
    stages = {layer.name: layer.stage for layer in traced.network.layers}
    assert stages["features.conv0"] == stages["features.denseblock2.denselayer4.conv2"] == "features"
    # the top-level relu, pool and leaf classifier run after the container: the head
    assert {stages["relu"], stages["classifier"]} == {"head"}
    flat = trace(
        nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2)), (3, 8, 8)
    )
    assert {layer.stage for layer in flat.network.layers} == {"top"}
    sandwich = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Sequential(nn.Conv2d(4, 4, 3)), nn.ReLU())
    assert [layer.stage for layer in trace(sandwich, (3, 8, 8)).network.layers] == ["stem", "1", "head"]
