"""Bad input: one line naming the value and the fix; exit code 2 from the CLI, no traceback."""

from __future__ import annotations

import pytest
from helpers import one_error_line
from typer.testing import CliRunner

from cli import app
from costmodel import DenseNetConfig, PeleeNetConfig, SpecError, expand, resolve

runner = CliRunner()


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: DenseNetConfig(part_ratio=1.0, fusion="csp"), r"γ .*= 1.0 is outside \[0, 1\)"),
        (lambda: DenseNetConfig(part_ratio=-0.1, fusion="csp"), "outside"),
        (lambda: DenseNetConfig(part_ratio=0.5), "fusion 'none' has no cross-stage path"),
        (lambda: DenseNetConfig(growth_rate=0), "growth rate = 0 must be a positive integer"),
        (lambda: DenseNetConfig(growth_rate=-4), "growth rate = -4"),
        (lambda: DenseNetConfig(block_config=()), "block config .* is empty"),
        (lambda: DenseNetConfig(fusion="sideways"), "fusion 'sideways' is not one of"),
        (lambda: PeleeNetConfig(growth_rate=31), "must be even"),
        (lambda: resolve("densenet12"), "unknown model 'densenet12'.*did you mean"),
        (lambda: resolve("peleenet", bn_size=2), "has no knob 'bn_size'"),
        (lambda: expand(resolve("densenet121"), 16), "too small.*at least 29"),
        (lambda: expand(DenseNetConfig(part_ratio=0.005, fusion="csp"), 224), "rounds to zero channels"),
        (lambda: expand(PeleeNetConfig(part_ratio=0.9, fusion="csp"), 224), "bottleneck width of 0"),
        (lambda: expand(DenseNetConfig(compression=0.001), 224), "compression"),
        (
            lambda: DenseNetConfig(part_ratio=0.5, fusion="csp", partial_compression=0.0),
            "partial_compression = 0.0 must be in",
        ),
    ],
    ids=[
        "gamma-1.0",
        "gamma-negative",
        "gamma-without-fusion",
        "growth-rate-0",
        "growth-rate-negative",
        "no-blocks",
        "unknown-fusion",
        "pelee-odd-growth",
        "unknown-model",
        "unknown-knob",
        "input-too-small",
        "channels-round-to-zero",
        "pelee-bottleneck-zero",
        "compression-too-small",
        "partial-compression-0",
    ],
)
def test_spec_errors_name_the_value(make, match):
    with pytest.raises(SpecError, match=match):
        make()


def test_smallest_input_is_really_the_smallest():
    expand(resolve("densenet121"), 29)
    with pytest.raises(SpecError):
        expand(resolve("densenet121"), 28)


@pytest.mark.parametrize(
    "args",
    [
        ["table", "cspdensenet121", "--gamma", "1.5"],
        ["table", "densenet121", "--growth-rate", "0"],
        ["table", "densenet121", "--growth-rate", "-3"],
        ["table", "nosuchnet"],
        ["table", "densenet121", "--input", "8"],
        ["table", "densenet121", "--gamma", "0.001"],
    ],
)
def test_cli_bad_input_is_one_line_exit_2(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    one_error_line(result.output)


@pytest.mark.parametrize(
    "args",
    [
        ["table", "densenet121", "--precision", "fp64"],
        ["table", "densenet121", "--fusion", "sideways"],
        ["table", "densenet121", "--gamma", "half"],
        ["tabel", "densenet121"],
    ],
)
def test_usage_errors_are_one_line_exit_2(args, capsys):
    from cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    assert "--help" in one_error_line(capsys.readouterr().err)
