"""A torch model on the command line: ``FILE.py:FACTORY``, ``package.module:FACTORY`` and ``timm:NAME``
for ``table``, ``compare``, ``plot`` and ``report``, and the one-line errors of a bad one.

Expected numbers are arithmetic written here (the model is small) or the engine's own analysis of a
named model, which a traced model is compared beside."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import one_error_line
from typer.testing import CliRunner

from cli import app
from costmodel import analyze, expand, resolve
from costmodel.specs import is_torch, parse_spec

pytest.importorskip("torch")
pytestmark = pytest.mark.torch

runner = CliRunner()

MY_NET = """\
from torch import nn


def make():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, 1, 1, groups=8), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4),
    )


def broken():
    raise ValueError("no weights here")


def not_a_model():
    return 42


def odd():
    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 1)

        def forward(self, x):
            return self.conv(x).cumsum(1)

    return Odd()
"""

# conv 3→8 3×3 at 32×32, depthwise 3×3 at 32×32, linear 8→4 (batch 1)
MACS = 3 * 8 * 9 * 32 * 32 + 8 * 9 * 32 * 32 + 8 * 4
PARAMS = 3 * 8 * 9 + 2 * 8 + (8 * 9 + 8) + (8 * 4 + 4)


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "my_net.py").write_text(MY_NET)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_table_of_a_file_factory(here: Path) -> None:
    data = json.loads(run("table", "my_net.py:make", "--input", "32", "--format", "json"))
    assert data["model"] == "my_net.py:make @32"
    assert [layer["name"] for layer in data["layers"]][:4] == ["0", "1", "2", "3"]
    assert (data["totals"]["macs"], data["totals"]["params"]) == (MACS, PARAMS)
    assert data["complete"] is True


def test_package_module_factory_from_the_current_folder(here: Path) -> None:
    data = json.loads(run("table", "my_net:make", "-i", "32", "--format", "json"))
    assert data["totals"]["macs"] == MACS


def test_compare_a_traced_model_beside_a_native_one(here: Path) -> None:
    data = json.loads(run("compare", "--input", "32", "my_net.py:make", "densenet121", "--format", "json"))
    assert data["models"] == ["my_net.py:make @32", "densenet121 @32"]
    native = analyze(expand(resolve("densenet121"), 32)).totals
    assert [e["value"] for e in data["totals"]["macs"]] == [MACS, native.macs]
    assert data["unsupported"] == [[], []]


def test_plot_takes_a_traced_model(here: Path, tmp_path: Path) -> None:
    out = run("plot", "bottleneck", "my_net.py:make", "densenet121", "-i", "32", "--out", str(tmp_path / "p"))
    assert (tmp_path / "p" / "bottleneck.png").stat().st_size > 0 and "bottleneck.svg" in out


@pytest.mark.slow
def test_report_takes_a_traced_model(here: Path, tmp_path: Path) -> None:
    run("report", "-i", "32", "my_net.py:make", "densenet121", "--out", str(tmp_path / "r"))
    page = (tmp_path / "r" / "index.html").read_text()
    assert "my_net.py:make @32" in page


def test_unsupported_operations_are_in_the_table_footer(here: Path) -> None:
    out = run("table", "my_net.py:odd", "-i", "8")
    assert "unsupported, not counted: 1 layers: aten.cumsum ×1 (cumsum)" in " ".join(out.split())
    assert "functions" not in out
    out = run("compare", "-i", "32", "my_net.py:odd", "densenet121")
    assert "my_net.py:odd @32: unsupported, not counted: 1 layers" in " ".join(out.split())


def test_help_says_loading_a_file_runs_its_code() -> None:
    for args in (["--help"], ["table", "--help"], ["compare", "--help"]):
        out = " ".join(runner.invoke(app, args, terminal_width=200).output.split())
        assert "RUNS ITS CODE" in out, args


@pytest.mark.parametrize(
    ("word", "torch"),
    [
        ("my_net.py:make", True),
        ("pkg.models:make_net", True),
        ("my_net:make", True),
        ("timm:resnet50", True),
        ("densenet121:gamma=0.5", False),
        ("densenet121:gamma", False),
        ("densenet121", False),
        ("yolov4.cfg", False),
    ],
    ids=["file", "package-module", "module", "timm", "knobs", "bad-knob", "name", "cfg"],
)
def test_which_words_are_torch_models(word: str, torch: bool) -> None:
    assert is_torch(word) is torch
    if torch:
        assert parse_spec(word).torch and not parse_spec(word).cfg


def test_naming_a_native_model_loads_no_torch() -> None:
    code = (
        "import sys; from costmodel.specs import load_profile, parse_spec; "
        "load_profile(parse_spec('densenet121:input=64')); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


BAD = [
    (["table", "missing.py:make"], "file 'missing.py' does not exist"),
    (["table", "no_such_pkg.mod:make"], "module 'no_such_pkg.mod' does not exist"),
    (["table", "my_net.py:nothing"], "my_net.py has no function 'nothing'; it defines broken, make"),
    (["table", "my_net.py:broken"], "my_net.py:broken() raised ValueError: no weights here"),
    (["table", "my_net.py:not_a_model"], "my_net.py:not_a_model() returned int, not a torch nn.Module"),
    (
        ["table", "my_net.py:make", "-i", "32", "-g", "0.5"],
        "--gamma, --fusion and --growth-rate do not apply",
    ),
    (["compare", "densenet121", "my_net.py:broken"], "raised ValueError"),
    (["table", "bad_import.py:make"], "running bad_import.py raised ModuleNotFoundError"),
    (["table", "my_net.py"], "my_net.py is a Python file; name the function that returns the model"),
]


@pytest.mark.parametrize(
    ("args", "mentions"),
    BAD,
    ids=[
        "no-file",
        "no-module",
        "no-factory",
        "factory-raises",
        "not-a-module",
        "knob",
        "compare",
        "import",
        "no-colon",
    ],
)
def test_bad_torch_models_are_one_line_exit_2(here: Path, args: list[str], mentions: str) -> None:
    (here / "bad_import.py").write_text("import no_such_dependency_xyz\n")
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert mentions in one_error_line(result.stderr)


def test_a_model_failing_at_the_input_names_the_module_and_shapes(here: Path) -> None:
    body = "    return nn.Sequential(nn.Conv2d(3, 4, 5), nn.Conv2d(4, 4, 5))\n"
    (here / "tiny.py").write_text(f"from torch import nn\n\n\ndef make():\n{body}")
    result = runner.invoke(app, ["table", "tiny.py:make", "--input", "6"])
    assert result.exit_code == 2, result.output
    line = one_error_line(result.stderr)
    # 6×6 → 2×2 after the first 5×5 conv; the second cannot fit its kernel
    assert "module '1' (Conv2d) given 1×4×2×2" in line, line


@pytest.mark.skipif(importlib.util.find_spec("timm") is not None, reason="timm is installed here")
def test_timm_without_timm_is_one_line() -> None:
    result = runner.invoke(app, ["table", "timm:resnet18"])
    assert result.exit_code == 2
    assert "timm:resnet18 needs timm, which is not installed" in one_error_line(result.stderr)


@pytest.mark.skipif(importlib.util.find_spec("timm") is None, reason="timm is not installed (optional)")
def test_timm_model_when_timm_is_installed() -> None:
    data = json.loads(run("table", "timm:resnet18", "-i", "64", "--format", "json"))
    assert data["totals"]["macs"] > 0 and data["layers"][0]["name"] == "conv1"
