"""Golden agreement with independent counters: fvcore's per-module MACs, torch's FlopCounterMode,
and ``sum(p.numel())`` on the torch model built from the same config, in ``eval()`` mode."""

from __future__ import annotations

import random

import pytest

from costmodel import MODELS, DenseNetConfig, PeleeNetConfig, SpecError, analyze, expand

pytestmark = [pytest.mark.slow, pytest.mark.torch]


def check_agreement(config, size, torch_counters):
    torch_build, counters = torch_counters
    import torch

    net = expand(config, size)
    profile = analyze(net)
    model = torch_build.build(net).eval()
    x = counters.sample_input(model, net.input_shape)
    assert {n for n, _ in model.named_modules() if n} >= {layer.name for layer in net.layers}

    fv = counters.fvcore_macs_by_module(model, x)
    ours = {layer.name: cost.macs for layer, cost in profile.rows() if layer.kind in ("conv", "linear")}
    theirs = {name: fv.get(name, 0) for name in ours}
    assert ours == theirs
    assert fv[""] >= profile.totals.macs  # fvcore adds BN and pooling on top of the MACs

    assert counters.flop_counter_flops(model, x) == profile.totals.flops
    assert counters.param_count(model) == profile.totals.params
    with torch.no_grad():
        out = model(x)
    assert tuple(out.shape) == (1, config.num_classes)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_named_variants(name, torch_counters):
    # 64×64 keeps CI fast; the shapes are exercised all the same (every stride still applies).
    check_agreement(MODELS[name].config, 64, torch_counters)


def random_configs(n: int, seed: int = 20201):
    rng = random.Random(seed)
    fusions = ["none", "fusion_first", "fusion_last", "csp"]
    out = []
    while len(out) < n:
        fusion = rng.choice(fusions)
        gamma = 0.0 if fusion == "none" else rng.choice([0.0, 0.2, 0.25, 0.5, 0.6, 0.75])
        if rng.random() < 0.6:
            blocks = tuple(rng.randint(1, 4) for _ in range(rng.randint(1, 4)))
            cfg = DenseNetConfig(
                growth_rate=rng.choice([4, 8, 12, 16]),
                block_config=blocks,
                num_init_features=rng.choice([8, 16, 24]),
                bn_size=rng.choice([0, 2, 4]),
                compression=rng.choice([0.5, 0.75, 1.0]),
                num_classes=rng.choice([10, 100]),
                in_channels=rng.choice([1, 3]),
                part_ratio=gamma,
                fusion=fusion,
            )
        else:
            k = len(blocks := tuple(rng.randint(1, 3) for _ in range(rng.randint(2, 4))))
            cfg = PeleeNetConfig(
                growth_rate=rng.choice([8, 16, 32]),
                block_config=blocks,
                bottleneck_width=tuple(rng.choice([1, 2, 4]) for _ in range(k)),
                num_init_features=rng.choice([16, 32]),
                num_classes=10,
                part_ratio=min(gamma, 0.5),
                fusion=fusion,
            )
        size = rng.choice([32, 48, 64])
        try:
            expand(cfg, size)
        except SpecError:
            continue  # a random draw the engine rejects (too small) is not a test case
        out.append((cfg, size))
    return out


@pytest.mark.parametrize(("config", "size"), random_configs(50), ids=[f"random{i}" for i in range(50)])
def test_random_configs(config, size, torch_counters):
    check_agreement(config, size, torch_counters)


def every_kind_network():
    """One graph that uses every layer kind and every activation the builder knows."""
    from costmodel import GraphBuilder, Shape
    from costmodel.graph import ACTIVATIONS, INPUT

    g = GraphBuilder("every_kind", Shape(4, 20, 20))
    x = g.conv("stem", INPUT, 8, 3, bias=True)
    for op in ACTIVATIONS:
        x = g.act(f"act_{op}", x, op)
    x = g.norm("groupnorm", g.bn("bn", x), 2)
    a = g.split("left", x, 0, 4)
    b = g.split("right", x, 4, 8)
    x = g.concat("cat", [b, a])
    y = g.conv("grouped", x, 8, 3, groups=4)
    x = g.add("shortcut", [x, y])
    y = g.conv("grouped_again", x, 8, 3, groups=4, shares="grouped")  # weights counted once
    x = g.shortcut("weighted", x, [y], weights="per_channel")
    x = g.mul("scale", [x, g.gap("se", x)])
    x = g.mul("implicit_scale", [x, g.implicit("implicit", 8)])  # darknet's [scale_channels] by it
    x = g.upsample("down", g.upsample("up_bilinear", g.upsample("up", x, 2), 2, "bilinear"), -4)
    x = g.reorg("d2s", g.reorg("s2d", x, 2), 2, reverse=True)
    x = g.conv("down2", g.conv_transpose("deconv", x, 8, 3, 2, 1, 1, groups=2), 8, 3, 2)
    x = g.crop("crop", x, 18, 18)
    x = g.reshape("unpermute", g.reshape("permute", x, Shape(18, 18, 8)), Shape(8, 18, 18))
    x = g.blur("blur", x, 3, 1)
    x = g.detect("head", g.copy("copy", x))
    x = g.pool("maxpool", "oddpool", x, 2, 1, 0, pad_end=1)  # darknet's size 2 stride 1: 18×18
    x = g.maxpool("maxpool", x, 3, 2, 1)
    x = g.avgpool("avgpool", x, 2, 2, ceil_mode=True)
    x = g.gap("gap", x)
    x = g.flatten("flatten", x)
    x = g.dropout("dropout", x)
    x = g.linear("fc", x, 5)
    g.softmax("softmax", x)
    return g.build()


def test_every_layer_kind_builds_and_agrees(torch_counters):
    from costmodel import LAYER_KINDS

    net = every_kind_network()
    assert {layer.kind for layer in net.layers} == set(LAYER_KINDS)
    torch_build, counters = torch_counters
    profile = analyze(net)
    model = torch_build.build(net).eval()
    x = counters.sample_input(model, net.input_shape)
    fv = counters.fvcore_macs_by_module(model, x)
    for layer, cost in profile.rows():
        if layer.kind in ("conv", "conv_transpose", "linear"):
            assert fv[layer.name] == cost.macs, layer.name
    assert counters.flop_counter_flops(model, x) == profile.totals.flops
    assert counters.param_count(model) == profile.totals.params
    assert tuple(model(x).shape) == (1, 5)
