"""``cspcost compare``: totals and per-stage costs with deltas against the first model."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from cli import app, parse_specs
from costmodel.compare import compare, delta_pct
from costmodel.specs import load_profiles
from reports.compare import STAGE_METRICS, TOTAL_METRICS, render_comparison


def comparison(profiles):  # type: ignore[no-untyped-def]
    """The comparison as its JSON contract (a dict)."""
    return compare(profiles).to_dict()


# REFERENCE.md §3: all learnable parameters of torchvision's DenseNets.
PARAMS_121 = 7_978_856
PARAMS_169 = 14_149_480
PARAMS_201 = 20_013_928


@pytest.fixture(scope="module")
def dense3():  # type: ignore[no-untyped-def]
    return load_profiles(parse_specs(["densenet121", "densenet169", "densenet201"]))


def test_deltas_against_the_first_model(dense3) -> None:  # type: ignore[no-untyped-def]
    data = comparison(dense3)
    params = data["totals"]["params"]
    assert [e["value"] for e in params] == [PARAMS_121, PARAMS_169, PARAMS_201]
    assert params[0]["delta_pct"] == 0.0
    assert params[1]["delta_pct"] == pytest.approx(100 * (PARAMS_169 - PARAMS_121) / PARAMS_121)
    assert params[2]["delta_pct"] == pytest.approx(100 * (PARAMS_201 - PARAMS_121) / PARAMS_121)
    assert data["baseline"] == "densenet121"


def test_bytes_follow_the_precision() -> None:
    (fp32,) = load_profiles(parse_specs(["densenet121"]), "fp32")
    (fp16,) = load_profiles(parse_specs(["densenet121"]), "fp16")
    w32 = comparison([fp32])["totals"]["weight_bytes"][0]["value"]
    w16 = comparison([fp16])["totals"]["weight_bytes"][0]["value"]
    assert (w32, w16) == (4 * PARAMS_121, 2 * PARAMS_121)


def test_stages_sum_to_the_totals(dense3) -> None:  # type: ignore[no-untyped-def]
    data = comparison(dense3)
    assert list(data["stages"]) == ["stem", "stage1", "stage2", "stage3", "stage4", "head"]
    for key, _, _ in STAGE_METRICS:
        for i in range(3):
            stage_sum = sum(table[key][i]["value"] for table in data["stages"].values())
            assert stage_sum == data["totals"][key][i]["value"], key


def test_stem_is_the_same_in_every_densenet(dense3) -> None:  # type: ignore[no-untyped-def]
    # 7×7/2 conv 3→64 at 224: 3·64·49·112·112 MACs, identical in all three models (Δ 0 %).
    stem = comparison(dense3)["stages"]["stem"]["macs"]
    assert [e["value"] for e in stem] == [3 * 64 * 49 * 112 * 112] * 3
    assert [e["delta_pct"] for e in stem] == [0.0, 0.0, 0.0]


def test_delta_pct_edge_cases() -> None:
    assert delta_pct(150, 100) == 50.0
    assert delta_pct(0, 0) == 0.0
    assert delta_pct(5, 0) is None


def test_json_round_trips(dense3) -> None:  # type: ignore[no-untyped-def]
    text = render_comparison(compare(dense3), "json")
    assert json.loads(text) == comparison(dense3)


def test_csv_is_tidy_and_complete(dense3) -> None:  # type: ignore[no-untyped-def]
    rows = list(csv.DictReader(io.StringIO(render_comparison(compare(dense3), "csv"))))
    stages = 6
    assert len(rows) == 3 * (len(TOTAL_METRICS) + stages * len(STAGE_METRICS))
    row = next(
        r for r in rows if r["scope"] == "total" and r["metric"] == "params" and r["model"] == "densenet201"
    )
    assert int(row["value"]) == PARAMS_201
    assert float(row["delta_pct"]) == pytest.approx(100 * (PARAMS_201 - PARAMS_121) / PARAMS_121)


def test_human_formats_carry_units_and_deltas(dense3) -> None:  # type: ignore[no-untyped-def]
    md = render_comparison(compare(dense3), "markdown")
    assert "| params, all (M) | 7.979 | 14.149 (+77.3%) | 20.014 (+150.8%) |" in md
    table = render_comparison(compare(dense3), "table")
    for _, header, _ in TOTAL_METRICS:
        assert header in table


runner = CliRunner()


def test_cli_compare_with_per_model_options() -> None:
    result = runner.invoke(
        app,
        [
            "compare",
            "densenet121",
            "densenet121",
            "--gamma",
            "0.5",
            "--fusion",
            "fusion_last",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["models"] == ["densenet121", "densenet121 γ=0.5 fusion=fusion_last"]
    # fusion_last sends half of the stem's 64 channels past block 1, whose dense layers then read
    # 32 fewer channels each: stage 1 costs less than the baseline's.
    stage1 = data["stages"]["stage1"]["macs"]
    assert stage1[1]["value"] < stage1[0]["value"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["densenet121", "densenet12x"], "unknown model 'densenet12x'"),
        (["densenet121", "cspdensenet121", "--gamma", "1.5"], "outside [0, 1)"),
        (["densenet121", "--width", "2"], "unknown option '--width'"),
    ],
    ids=["unknown-model", "gamma-out-of-range", "unknown-option"],
)
def test_cli_compare_bad_input_is_one_line_and_exit_2(args: list[str], fragment: str) -> None:
    result = runner.invoke(app, ["compare", *args])
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_bottleneck_block_reports_the_peak_and_its_reduction() -> None:
    from costmodel import analyze, expand, resolve

    base, csp = (analyze(expand(resolve(n), 224)) for n in ("peleenet", "csppeleenet"))
    data = comparison([base, csp])
    first, second = data["bottleneck"]
    # PeleeNet's peak is its first transition, 128·128·56·56 MACs.
    assert first["peak_macs"] == 128 * 128 * 56 * 56
    assert first["reduction_vs_baseline"] == 0.0
    assert second["reduction_vs_baseline"] == 1 - second["peak_macs"] / (128 * 128 * 56 * 56)
    text = render_comparison(compare([base, csp]), "markdown")
    assert "computational bottleneck" in text and "bottleneck reduction" in text
