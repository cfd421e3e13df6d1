"""Latency as deployed: the noise rule (repeat, then flag), the runtime and device checks, the rank
correlation, and ``cspcost latency`` end to end on a small model. No test asserts on a measured time."""

from __future__ import annotations

import importlib.util
import json
import math
from collections.abc import Iterator

import pandas as pd
import pytest
import torch
from helpers import one_error_line
from typer.testing import CliRunner

import search.latency as lat
from cli import app
from costmodel import SpecError
from search.latency import MAX_IQR_FRACTION, _steadiest, check_runtime, spearman

runner = CliRunner()

# --- Spearman's ρ -----------------------------------------------------------------------------------


def test_spearman_of_a_hand_example() -> None:
    # ranks differ by d = (-1, 1, -1, 1, 0): ρ = 1 - 6·Σd² / (n(n²-1)) = 1 - 6·4 / (5·24) = 0.8
    assert spearman([1, 2, 3, 4, 5], [20, 10, 40, 30, 50]) == pytest.approx(1 - 6 * 4 / (5 * 24))


def test_spearman_with_ties_is_pearson_of_averaged_ranks() -> None:
    # x ranks (1, 2.5, 2.5, 4), y ranks (1, 2, 3, 4), both means 2.5:
    # Σ dx·dy = 2.25 + 0 + 0 + 2.25 = 4.5; Σ dx² = 4.5; Σ dy² = 2.25 + 0.25 + 0.25 + 2.25 = 5
    rho = spearman([1.0, 2.0, 2.0, 3.0], [0.1, 0.2, 0.3, 0.4])
    assert rho == pytest.approx(4.5 / math.sqrt(4.5 * 5))
    frame = pd.DataFrame({"x": [1.0, 2.0, 2.0, 3.0], "y": [0.1, 0.2, 0.3, 0.4]})
    assert rho == pytest.approx(frame["x"].corr(frame["y"], method="spearman"))


@pytest.mark.parametrize(
    ("xs", "ys"), [([1.0], [2.0]), ([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])], ids=["one-pair", "constant"]
)
def test_spearman_undefined_is_nan(xs: list[float], ys: list[float]) -> None:
    assert math.isnan(spearman(xs, ys))


# --- the noise rule -------------------------------------------------------------------------------


def _fake_blocks(samples: list[list[float]]) -> Iterator[tuple[list[float], int]]:
    for s in samples:
        yield s, 10


STEADY = [1.0, 1.0, 1.0, 1.01, 0.99, 1.0, 1.0]  # IQR 0 around a median of 1
NOISY = [1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 2.0]  # q1 1.0, median 2.0, q3 3.0 (inclusive): IQR 2 = 100%


@pytest.mark.parametrize(
    ("samples", "attempts", "noisy", "median"),
    [
        ([STEADY], 1, False, 1.0),
        ([NOISY, STEADY], 2, False, 1.0),
        ([NOISY, NOISY, NOISY], 3, True, 2.0),
    ],
    ids=["steady-at-once", "steady-on-retry", "noisy-flagged"],
)
def test_noisy_measurement_is_repeated_then_flagged(
    monkeypatch: pytest.MonkeyPatch, samples: list[list[float]], attempts: int, noisy: bool, median: float
) -> None:
    blocks = _fake_blocks(samples)
    monkeypatch.setattr(lat, "_blocks", lambda run, min_run_time: next(blocks))
    med, iqr, runs, tries, flagged = _steadiest(lambda: None, 0.0, MAX_IQR_FRACTION, 3)
    assert (tries, flagged, med) == (attempts, noisy, pytest.approx(median))
    assert runs == 7 * 10
    assert (iqr > MAX_IQR_FRACTION * med) == noisy


# --- runtime and device checks ----------------------------------------------------------------------


def test_cuda_without_a_gpu_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for runtime in ("ort", "torch"):
        with pytest.raises(SpecError, match=r"torch\.cuda\.is_available"):
            check_runtime(runtime, "cuda")


def test_ort_without_its_cuda_provider_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(lat, "_ort_providers", lambda: ["CPUExecutionProvider"])
    with pytest.raises(SpecError, match="CUDAExecutionProvider"):
        check_runtime("ort", "cuda")


def test_runtime_not_installed_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a)
    )
    with pytest.raises(SpecError, match="pip install onnxruntime"):
        check_runtime("ort", "cpu")
    result = runner.invoke(app, ["latency", "densenet121"])
    assert result.exit_code == 2
    one_error_line(result.output)


# --- the command ------------------------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("runtime", ["ort", "torch"], ids=["ort", "torch"])
def test_latency_command_states_its_conditions(runtime: str) -> None:
    result = runner.invoke(
        app,
        ["latency", "densenet121:growth_rate=4", "--input", "40", "--runtime", runtime, "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["input"] == [40, 40]
    assert [m["threads"] for m in out["latencies"]] == list(dict.fromkeys([1, lat.all_cores()]))
    for m in out["latencies"]:
        assert (m["runtime"], m["device"], m["batch_size"], m["input_size"]) == (runtime, "cpu", 1, [40, 40])
        assert m["median_ms"] > 0 and m["iqr_ms"] >= 0 and m["runs"] >= lat.MIN_BLOCKS
        assert m["noisy"] == (m["iqr_ms"] > MAX_IQR_FRACTION * m["median_ms"])


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--device", "cuda"], "cuda"),
        (["--threads", "0"], "--threads"),
        (["--batch", "0"], "--batch"),
        (["--runtime", "tvm"], "tvm"),
        (["--format", "xml"], "--format"),
        (["--input", "-3"], "input"),
    ],
    ids=["cuda", "threads", "batch", "runtime", "format", "input"],
)
def test_latency_bad_input_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], match: str
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    from cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["latency", "densenet121", *args])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert match in one_error_line(captured.err)


def test_unexportable_model_is_one_line_naming_the_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    from test_export import _OpaqueGap

    import costmodel.torch_build as tb

    monkeypatch.setitem(tb.TORCH_MODULES, "gap", lambda layer: _OpaqueGap())
    result = runner.invoke(app, ["latency", "densenet121:growth_rate=4", "--input", "32"])
    assert result.exit_code == 2
    assert "cannot export layer 'avgpool' (kind gap)" in one_error_line(result.output)
