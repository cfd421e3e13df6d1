"""Native ResNet/ResNeXt/Darknet-53 families and their CSP versions: their costs equal the authors'
darknet cfgs layer for layer, and γ is a working knob."""

from __future__ import annotations

import pytest
from darknet_paths import cfg_path, needs_cfgs
from typer.testing import CliRunner

from cli import app
from costmodel import SpecError, analyze, expand, resolve
from costmodel.darknet import load
from costmodel.families.darknet53 import DarknetConfig
from costmodel.families.resnet import ResNetConfig
from costmodel.models import MODELS

TWINS = {
    "resnet10": "resnet10",
    "resnet50": "resnet50",
    "cspresnet50": "csresnet50",
    "resnext50": "resnext50",
    "cspresnext50": "csresnext50",
    "darknet53": "darknet53",
    "cspdarknet53": "csdarknet53",
}


@needs_cfgs
@pytest.mark.parametrize("size", [256, 96])
@pytest.mark.parametrize("name", list(TWINS))
def test_native_equals_cfg_layer_for_layer(name: str, size: int) -> None:
    native = analyze(expand(resolve(name), size))
    twin = analyze(load(cfg_path(TWINS[name]), size))
    assert len(native) == len(twin)
    for (a, cost_a), (b, cost_b) in zip(native.rows(), twin.rows(), strict=True):
        geometry_a = (a.kind, a.op, a.out_shape, a.in_shapes, a.kernel, a.stride, a.groups)
        geometry_b = (b.kind, b.op, b.out_shape, b.in_shapes, b.kernel, b.stride, b.groups)
        assert geometry_a == geometry_b, (a.name, b.name)
        assert cost_a == cost_b, (a.name, b.name)


def test_named_models_default_to_256() -> None:
    for name in TWINS:
        assert MODELS[name].default_input == 256


def test_resnet10_params_by_arithmetic() -> None:
    t = analyze(expand(resolve("resnet10"), 256)).totals
    stages = sum(c_in * c * 9 + c * c * 9 for c_in, c in [(64, 64), (64, 128), (128, 256), (256, 512)])
    assert t.params_conv == 3 * 64 * 49 + stages + 512 * 1000
    assert round(t.params_conv / 1e6, 2) == 5.24  # README #Parameter (REFERENCE.md §1)


@pytest.mark.parametrize("gamma", [0.25, 0.5, 0.75])
def test_gamma_splits_the_cross_stage_width(gamma: float) -> None:
    net = expand(resolve("cspdarknet53", gamma=gamma), 64)
    p1 = int(gamma * 128 + 0.5)  # stage 1: cross-stage width 2 × 64
    assert net.layer("stages.0.part1.conv").out_shape.c == p1
    assert net.layer("stages.0.part2.conv").out_shape.c == 128 - p1
    assert net.layer("stages.0.blocks.0.conv1.conv").out_shape.c == (128 - p1) // 2
    assert net.layer("stages.0.fuse.conv").out_shape.c == 64
    net = expand(resolve("cspresnext50", gamma=gamma), 64)
    assert net.layer("stages.1.part1.conv").out_shape.c == int(gamma * 512 + 0.5)


def test_more_gamma_less_computation() -> None:
    macs = [analyze(expand(resolve("cspresnet50", gamma=g), 128)).totals.macs for g in (0.25, 0.5, 0.75)]
    assert macs[0] > macs[1] > macs[2]


def test_gamma_on_a_plain_model_makes_it_csp() -> None:
    plain = expand(resolve("darknet53"), 64)
    csp = expand(resolve("darknet53", gamma=0.5), 64)
    assert not any(layer.kind == "concat" for layer in plain.layers)
    assert sum(layer.kind == "concat" for layer in csp.layers) == 5


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda: DarknetConfig(part_ratio=0.5, fusion="fusion_last"), "use fusion csp"),
        (lambda: ResNetConfig(depths=(3, 4)), "one entry per stage"),
        (lambda: ResNetConfig(part_ratio=1.2, fusion="csp"), "outside [0, 1)"),
        (
            lambda: ResNetConfig(basic=True, part_ratio=0.5, fusion="csp", depths=(1, 1, 1, 1)),
            "bottleneck ResNets only",
        ),
        (lambda: expand(resolve("cspdarknet53", gamma=0.999), 64), "rounds to zero"),
    ],
    ids=["darknet-fusion-last", "resnet-short-depths", "resnet-gamma-1.2", "resnet-basic-csp", "gamma-0.999"],
)
def test_bad_configs_name_the_fix(make, problem: str) -> None:
    with pytest.raises(SpecError, match=problem.replace("[", r"\[").replace(")", r"\)")):
        make()


def test_cli_lists_and_tables_the_new_models() -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["models"])
    assert listed.exit_code == 0, listed.output
    assert "cspresnext50" in listed.output
    table = runner.invoke(
        app, ["table", "cspdarknet53", "--gamma", "0.25", "--input", "64", "--format", "csv"]
    )
    assert table.exit_code == 0, table.output
    assert "stages.0.part1.conv" in table.output
