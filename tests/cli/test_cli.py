"""The CLI as a user meets it, and the JSON contract of ``table --format json``."""

from __future__ import annotations

import csv
import io
import json

from typer.testing import CliRunner

from cli import app
from costmodel import analyze, expand, resolve

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_json_contract():
    data = json.loads(run("table", "cspdensenet121", "--format", "json", "--input", "64"))
    assert {"model", "input", "conventions", "layers", "totals"} <= data.keys()
    assert data["input"] == [3, 64, 64]
    for layer in data["layers"]:
        assert {"name", "kind", "macs", "params", "cio_conv", "cio_conv_pool"} <= layer.keys()
        for key in ("macs", "params", "cio_conv", "cio_conv_pool"):
            assert type(layer[key]) is int
    totals = data["totals"]
    for key in ("macs", "flops", "params", "params_conv", "cio_conv", "cio_conv_pool", "concat_elements"):
        assert type(totals[key]) is int, key
    assert isinstance(totals["bflops_darknet"], float)
    assert totals["flops"] == 2 * totals["macs"]
    assert totals["macs"] == sum(layer["macs"] for layer in data["layers"])
    # The CLI's knobs reach the engine: γ 0.5 csp is the named variant's default.
    expected = analyze(expand(resolve("cspdensenet121"), 64)).totals
    assert totals["params"] == expected.params


def test_json_round_trip_is_stable():
    first = run("table", "peleenet", "--format", "json")
    assert json.dumps(json.loads(first), indent=2, ensure_ascii=False) == first


def test_knobs_change_the_numbers():
    def macs(*extra: str) -> int:
        return json.loads(run("table", "densenet121", "--format", "json", *extra))["totals"]["macs"]

    base = macs()
    assert macs("--gamma", "0.5", "--fusion", "fusion_last") < base
    assert macs("--growth-rate", "16") < base


def test_csv_has_a_row_per_layer_and_a_total():
    text = run("table", "peleenet", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    net = expand(resolve("peleenet"), 224)
    assert len(rows) == len(net.layers) + 1
    assert rows[-1]["name"] == "TOTAL"
    assert int(rows[-1]["macs"]) == sum(int(r["macs"]) for r in rows[:-1])


def test_human_table_names_units_and_bottleneck():
    out = run("table", "peleenet")
    assert "MACs (M)" in out and "CIO conv (K elem)" in out and "TOTAL" in out
    assert "params (conv W)" in out and "concat traffic (K elem)" in out
    assert "bottleneck: peak features.transition1.conv" in out
    md = run("table", "peleenet", "--format", "markdown")
    assert md.startswith("| layer | kind |") and "| TOTAL |" in md


def test_models_lists_every_name():
    out = run("models")
    for name in ("densenet121", "densenet264", "cspdensenet201", "peleenet", "csppeleenet"):
        assert name in out


def test_to_frame_matches_the_profile():
    from reports.frames import profile_frame

    p = analyze(expand(resolve("densenet121"), 64))
    frame = profile_frame(p)
    assert list(frame.index) == [layer.name for layer in p.network.layers]
    assert int(frame["macs"].sum()) == p.totals.macs
    assert int(frame["cio_conv_pool"].sum()) == p.totals.cio_conv_pool
    assert frame.loc["features.conv0", "out_shape"] == "64×32×32"


def test_table_help_keeps_the_darknet_section_names() -> None:
    """Rich reads "[shortcut]" as markup and drops it unless escaped: the help names both sections."""
    result = CliRunner().invoke(app, ["table", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "[shortcut]'s output size" in result.output and "[connected] counts 0" in result.output


def test_the_command_list_wraps_each_summary_as_one_paragraph(monkeypatch) -> None:
    """`cspcost --help` lists each command by its docstring's first paragraph; at a width that fits
    it, the whole paragraph stands on the command's line, not cut where the source broke it."""
    monkeypatch.setattr("typer.rich_utils.MAX_WIDTH", 400)  # what TERMINAL_WIDTH=400 would set
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    lines = {line.split()[1]: line for line in result.output.splitlines() if line.startswith("│ ")}
    assert "bytes at the precision) and per stage" in lines["compare"]
    assert "and CIO (M elements, conv+pool) beside the CSPNet paper's" in lines["reproduce"]
    assert "the command that made it) and the CSV/JSON" in lines["report"]
