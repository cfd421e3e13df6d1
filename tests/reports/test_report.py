"""``cspcost report``: one self-contained HTML page plus the CSV/JSON behind every table, written
atomically."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli import app, parse_specs
from costmodel import CONVENTIONS, SpecError
from costmodel.compare import compare
from costmodel.overview import overview
from costmodel.roofline import DEVICES
from costmodel.specs import load_profiles
from reports.html import REPORT_PAGE, build_report, make_report, write_tree
from reports.output import MANIFEST


def comparison(profiles):  # type: ignore[no-untyped-def]
    """The comparison as its JSON contract (a dict)."""
    return compare(profiles).to_dict()


SECTIONS = ("summary", "bottleneck", "stages", "gamma", "scaling", "roofline", "layers", "conventions")
PLOTS = ("bottleneck", "stages", "gamma", "scaling", "roofline")
WORDS = ["peleenet", "peleenet", "--gamma", "0.5", "--fusion", "fusion_last"]
OPTIONS = {"device": DEVICES["jetson-nano"], "gammas": [0.0, 0.25, 0.5, 0.75], "growth_rates": [16, 32]}


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("r") / "report"
    make_report(out, overview(parse_specs(WORDS), **OPTIONS), command="cspcost report peleenet ...")
    return out


def test_every_section_plot_and_convention_is_on_the_page(report_dir: Path) -> None:
    page = (report_dir / REPORT_PAGE).read_text()
    for key in SECTIONS:
        assert f'<section id="{key}">' in page
    for name in CONVENTIONS:
        assert f'<td class="text">{name}</td>' in page
    assert '<pre id="command">cspcost report peleenet ...</pre>' in page
    images = re.findall(r'<img id="plot-(\w+)"[^>]* src="data:image/png;base64,([^"]+)"', page)
    assert [key for key, _ in images] == list(PLOTS)
    for _, data in images:
        assert base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n")
    # self-contained: nothing but links to its own data is fetched
    assert not re.search(r'src="(?!data:)', page)


def test_every_linked_file_exists_and_parses(report_dir: Path) -> None:
    page = (report_dir / REPORT_PAGE).read_text()
    links = re.findall(r'href="((?:data|plots)/[^"]+)"', page)
    assert len(links) == 2 * len(PLOTS) + 2 * 6 + 2 * 2  # plots, 6 tables, 2 layer profiles
    for link in links:
        path = report_dir / link
        assert path.is_file(), link
        if link.endswith(".json"):
            json.loads(path.read_text())
        elif link.endswith(".csv"):
            assert len(pd.read_csv(path)) > 0
    assert {p.name for p in (report_dir / "plots").iterdir()} == {
        f"{k}.{ext}" for k in PLOTS for ext in ("png", "svg")
    }


def test_comparison_json_round_trips_and_matches_its_csv(report_dir: Path) -> None:
    data = json.loads((report_dir / "data/comparison.json").read_text())
    assert data == comparison(load_profiles(parse_specs(WORDS)))
    rows = pd.read_csv(report_dir / "data/comparison.csv")
    params = rows[(rows["scope"] == "total") & (rows["metric"] == "params")]
    assert params["value"].tolist() == [e["value"] for e in data["totals"]["params"]]


def test_layer_json_is_the_table_contract(report_dir: Path) -> None:
    (profile, _) = load_profiles(parse_specs(WORDS))
    data = json.loads((report_dir / "data/layers_peleenet.json").read_text())
    assert data == json.loads(json.dumps(profile.to_dict()))
    assert data["totals"]["params"] == profile.totals.params


def test_bottleneck_table_holds_the_reduction(report_dir: Path) -> None:
    rows = pd.read_csv(report_dir / "data/bottleneck.csv")
    assert rows["peak_macs"].tolist() == [128 * 128 * 56 * 56, 112 * 112 * 56 * 56]
    assert rows["reduction_vs_baseline"].tolist() == pytest.approx([0.0, 1 - 112**2 / 128**2])


def test_a_cfg_only_report_says_why_the_sweeps_are_missing(tmp_path: Path) -> None:
    cfg = tmp_path / "one.cfg"
    cfg.write_text(
        "[net]\nwidth=32\nheight=32\nchannels=3\n\n[convolutional]\nfilters=4\n"
        "size=3\nstride=1\npad=1\nactivation=leaky\n"
    )
    page = build_report(overview(parse_specs([str(cfg)]), **OPTIONS))[REPORT_PAGE].decode()
    assert "no named model to sweep" in page
    assert 'id="plot-bottleneck"' in page and 'id="plot-gamma"' not in page


def test_failure_leaves_nothing_half_written(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    calls = {"n": 0}
    real = Path.write_bytes

    def flaky(self: Path, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", flaky)
    out = tmp_path / "report"
    with pytest.raises(SpecError, match="No space left on device"):
        write_tree(out, {"index.html": b"x", "data/a.csv": b"a", "data/b.csv": b"b"})
    assert list(tmp_path.iterdir()) == []


def test_an_earlier_report_is_replaced_but_other_folders_are_not(tmp_path: Path) -> None:
    out = tmp_path / "r"
    write_tree(out, {REPORT_PAGE: b"one", "data/old.csv": b"1"})
    write_tree(out, {REPORT_PAGE: b"two"})
    assert (out / REPORT_PAGE).read_bytes() == b"two"
    assert not (out / "data").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("keep me")
    with pytest.raises(SpecError, match="holds other files"):
        write_tree(mine, {REPORT_PAGE: b"x"})
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"]


runner = CliRunner()


def test_cli_report_writes_the_page_and_records_the_command(tmp_path: Path) -> None:
    out = tmp_path / "rep"
    args = [
        "report",
        "densenet121",
        "cspdensenet121",
        "-g",
        "0.25",
        "--out",
        str(out),
        "--gammas",
        "0,0.5",
        "--growth-rates",
        "16,32",
        "--device",
        "t4",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    page = (out / REPORT_PAGE).read_text()
    assert (
        f"cspcost report densenet121 cspdensenet121 -g 0.25 --out {out} --precision fp32 "
        f"--device t4 --gammas 0,0.5 --growth-rates 16,32"
    ) in page
    assert "Roofline on NVIDIA T4" in page


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["densenet121", "nosuchnet"], "unknown model 'nosuchnet'"),
        (["densenet121", "--gammas", "0,0.5,1"], "outside [0, 1)"),
        (["densenet121", "--device", "abacus"], "unknown device 'abacus'"),
    ],
    ids=["unknown-model", "gamma-out-of-range", "unknown-device"],
)
def test_cli_report_bad_input_writes_nothing(tmp_path: Path, args: list[str], fragment: str) -> None:
    out = tmp_path / "rep"
    result = runner.invoke(app, ["report", *args, "--out", str(out)])
    assert result.exit_code == 2
    assert fragment in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_cli_report_unwritable_out_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    for command, out in [
        ("report", blocker),
        ("report", blocker / "sub"),
        ("plot", blocker),
        ("plot", blocker / "sub"),
    ]:
        words = ["bottleneck", "peleenet"] if command == "plot" else ["peleenet"]
        result = runner.invoke(app, [command, *words, "--out", str(out)])
        assert result.exit_code == 2
        assert len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_cli_plot_writes_png_and_svg(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["plot", "bottleneck", "peleenet", "csppeleenet", "--out", str(tmp_path / "p")]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == [
        MANIFEST,
        "bottleneck.png",
        "bottleneck.svg",
    ]
    assert (tmp_path / "p/bottleneck.png").read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in (tmp_path / "p/bottleneck.svg").read_bytes()[:2000]
    bad = runner.invoke(
        app, ["plot", "gamma", "peleenet", "--gammas", "0.5,1.2", "--out", str(tmp_path / "q")]
    )
    assert bad.exit_code == 2 and "outside [0, 1)" in bad.stderr
    assert not (tmp_path / "q").exists()


def test_build_report_writes_nothing(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    files = build_report(overview(parse_specs(["peleenet"]), **OPTIONS))
    assert REPORT_PAGE in files and list(tmp_path.iterdir()) == []


def test_cli_plot_roofline_on_a_device_of_ones_own(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["plot", "roofline", "peleenet", "--device", "500,25", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    svg = (tmp_path / "roofline.svg").read_text()
    assert "ridge point 20.0 FLOP/B" in svg  # 500 GFLOP/s / 25 GB/s
