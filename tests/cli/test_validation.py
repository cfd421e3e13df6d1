"""Every bad input is refused before anything is touched (issue 8): search options before a study or
a database exists, data files with one line naming the file, the problem and the fix, sizes against
memory before allocation, and Ctrl-C with its "interrupted" line."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from helpers import one_error_line, tree
from typer.testing import CliRunner

from cli import app
from costmodel import SpecError
from search.data import load_dataset
from search.spec import SearchResult, SearchSpec

runner = CliRunner()


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    return tmp_path


def refused(args: list[str], where: Path, mentions: str) -> str:
    before = tree(where)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    line = one_error_line(result.stderr)
    assert mentions in line, line
    assert tree(where) == before, "a bad input created or changed a file"
    return line


SEARCH_CASES = [
    (["--seed", "-1"], "--seed -1"),
    (["--seed", str(2**32)], f"--seed {2**32}"),
    (["--study", "a/b"], "'a/b'"),
    (["--study", "x" * 300], "300 characters"),
    (["--study", ""], "--study is empty"),
    (["--plot", "/missing/dir/p.png"], "/missing/dir does not exist"),
    (["--plot", "pareto"], "ending in .png"),
    (["--plot", "notes.txt.png", "--study", "s"], None),  # filled in below: a file we did not write
    (["--proxy-input", "100000"], "100000×100000 px needs about"),
    (["--input", "100000", "--objectives", "macs,latency"], "timing"),
    (["--resume", "--study", "s"], "there is no database"),
    (["--data", "nope"], "'nope' does not exist"),
]


@pytest.mark.parametrize(
    ("args", "mentions"),
    SEARCH_CASES,
    ids=[
        "seed-negative",
        "seed-2**32",
        "study-with-slash",
        "study-300-chars",
        "study-empty",
        "plot-folder-missing",
        "plot-without-suffix",
        "plot-over-a-users-file",
        "proxy-input-100000-training",
        "input-100000-timing",
        "resume-without-database",
        "data-missing",
    ],
)
def test_search_refuses_before_any_storage_exists(here: Path, args: list[str], mentions: str | None) -> None:
    if mentions is None:
        (here / "notes.txt.png").write_bytes(b"my picture")
        mentions = "cspcost did not write it"
    refused(["search", "--trials", "1", *args], here, mentions)


def test_seed_bounds_are_inclusive() -> None:
    assert SearchSpec(seed=0).seed == 0 and SearchSpec(seed=2**32 - 1).seed == 2**32 - 1
    with pytest.raises(SpecError, match="from 0 to 4294967295"):
        SearchSpec(seed=2**32)


def test_reading_a_missing_study_creates_no_database(here: Path) -> None:
    refused(["report", "densenet121", "--out", "r", "--study", "nope"], here, "there is no database")


def test_a_folder_as_plot_gets_the_default_name_inside_it(tmp_path: Path) -> None:
    from cli import _pareto_target

    assert _pareto_target(tmp_path, "small") == tmp_path / "small-pareto.png"
    assert _pareto_target(None, "small") is None  # no --plot: pareto.png in the designs folder


def test_ctrl_c_says_interrupted_and_exits_130(here: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from cli import main

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("search.study.run_search", interrupted)
    with pytest.raises(SystemExit) as exit_info:
        main(["search", "--study", "s"])
    assert exit_info.value.code == 130
    err = capsys.readouterr().err
    assert err.count("interrupted") == 1 and "--study s --resume" in err


def test_a_dead_worker_is_named_in_the_summary() -> None:
    from reports.search_text import summary_line

    result = SearchResult("s", "sqlite:///s.db", SearchSpec(), 4, [], [], worker_exits=(0, -9, 3))
    line = summary_line(result)
    assert "worker 1 was killed by signal 9" in line and "worker 2 exited with code 3" in line
    assert "worker 0" not in line


# --- data files -----------------------------------------------------------------------------------


def _png_folder(root: Path, per_class: int) -> Path:
    from PIL import Image

    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            noise = np.random.default_rng(i).integers(0, 256, (32, 32), dtype=np.uint8)
            Image.fromarray(noise).save(root / label / f"{i}.png")
    return root


def _bad_data(tmp_path: Path, kind: str) -> tuple[Path, str]:
    """A bad data source and the file its message must name."""
    y = np.array([0, 1, 0, 1])
    if kind == "truncated-png":
        root = _png_folder(tmp_path / "imgs", 2)
        bad = root / "b" / "1.png"
        bad.write_bytes(bad.read_bytes()[:600])  # of about 1,100: the header and half the pixels
        return root, str(bad)
    if kind == "one-image-per-class":
        return _png_folder(tmp_path / "imgs", 1), str(tmp_path / "imgs")
    path = tmp_path / "d.npz"
    if kind == "strings":
        np.savez(path, x=np.full((4, 3, 3), "px"), y=y)
    elif kind == "complex":
        np.savez(path, x=np.ones((4, 3, 3), dtype=complex), y=y)
    elif kind == "npy-renamed":
        with open(path, "wb") as fh:
            np.save(fh, np.zeros((4, 3, 3)))
    return path, str(path)


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("truncated-png", "cannot be decoded"),
        ("one-image-per-class", "needs at least 2"),
        ("strings", "x holds <U2 values"),
        ("complex", "x holds complex numbers"),
        ("npy-renamed", "not an .npz archive"),
    ],
    ids=["truncated-png", "one-image-per-class", "strings", "complex", "npy-renamed"],
)
def test_bad_data_is_one_line_naming_the_file(tmp_path: Path, kind: str, problem: str) -> None:
    source, named = _bad_data(tmp_path, kind)
    with pytest.raises(SpecError) as err:
        load_dataset(str(source), 8)
    message = str(err.value)
    assert named in message and problem in message and "\n" not in message


def test_bad_data_through_the_cli(here: Path) -> None:
    source, _ = _bad_data(here, "complex")
    refused(
        ["search", "--data", str(source), "--study", "s", "--storage", f"sqlite:///{here / 's.db'}"],
        here,
        "complex numbers",
    )


def test_a_search_that_trains_nothing_loads_no_images(monkeypatch: pytest.MonkeyPatch) -> None:
    from search.study import _data_shape

    def no_loading(*_: object) -> None:
        raise AssertionError("a cost-only search loaded the images")

    monkeypatch.setattr("search.data.load_dataset", no_loading)
    assert _data_shape(SearchSpec(objectives=("macs",), input_size=256)) == (10, 1, "mnist")


# --- cfg files --------------------------------------------------------------------------------------

CFG = (
    "[net]\nwidth=32\nheight=32\nchannels=3\n\n[convolutional]\nfilters={filters}\nsize=3\nstride=1\npad=1\n"
)


def _load_in_thread(path: Path) -> BaseException | None:
    """``darknet.load(path)``'s exception, from a thread, so that a regression hangs no test run."""
    import threading

    from costmodel import darknet

    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            darknet.load(path)
            outcome.append(None)
        except BaseException as err:
            outcome.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=120)  # a generous bound on a hang, not a speed check
    assert outcome, f"reading {path} did not return"
    return outcome[0]


@pytest.mark.parametrize("kind", ["named-pipe", "dev-zero-symlink", "folder", "over-the-cap"])
def test_only_regular_cfg_files_under_the_cap_are_read(tmp_path: Path, kind: str) -> None:
    from costmodel.darknet import MAX_CFG_BYTES

    path = tmp_path / f"{kind}.cfg"
    if kind == "named-pipe":
        os.mkfifo(path)
    elif kind == "dev-zero-symlink":
        path.symlink_to("/dev/zero")
    elif kind == "folder":
        path.mkdir()
    else:
        with open(path, "wb") as fh:
            fh.truncate(MAX_CFG_BYTES + 1)  # sparse: nothing is written, and nothing must be read
    err = _load_in_thread(path)
    assert isinstance(err, SpecError), err
    assert str(path) in str(err)
    expected = "MiB" if kind == "over-the-cap" else "not a regular file"
    assert expected in str(err)


@pytest.mark.parametrize(
    "text",
    [
        CFG.format(filters="9" * 10 + "x" * 1_000_000),
        CFG.format(filters="8") + "activation=" + "m" * 1_000_000 + "\n",
        CFG.format(filters="8") + "[" + "s" * 1_000_000 + "]\n",
        CFG.format(filters="8") + "k" * 1_000_000 + "=1\n",
        CFG.format(filters="8") + "no equals sign " * 70_000 + "\n",
    ],
    ids=["long-value", "long-activation", "long-section", "long-key", "long-garbage-line"],
)
def test_a_huge_bad_value_is_quoted_as_a_short_excerpt(tmp_path: Path, text: str) -> None:
    path = tmp_path / "big.cfg"
    path.write_text(text)
    result = runner.invoke(app, ["table", str(path)])
    assert result.exit_code == 2, result.output[:500]
    line = one_error_line(result.stderr)
    assert len(line) < 400 + len(str(path)), line[:500]
    assert "characters" in line


def test_the_shipped_style_cfg_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "ok.cfg"
    path.write_text(CFG.format(filters="8"))
    assert _load_in_thread(path) is None


# --- option values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("device", "mentions"),
    [
        ("1e308,1e-308", "positive, finite"),
        ("0,0", "positive, finite"),
        ("-5,10", "positive, finite"),
        ("nan,inf", "positive, finite"),
        ("500,inf", "positive, finite"),
        ("1e-300,1e100", "ridge point"),
    ],
    ids=["overflow", "zeros", "negative", "nan", "inf", "ridge-underflow"],
)
def test_roofline_device_figures_must_be_positive_and_finite(here: Path, device: str, mentions: str) -> None:
    refused(["plot", "roofline", "densenet121", "--device", device, "--out", "p"], here, mentions)


def test_a_fractional_growth_rate_is_not_an_integer(here: Path) -> None:
    line = refused(["compare", "densenet121", "--growth-rate", "2.5"], here, "'2.5'")
    assert "is not an integer" in line


def test_a_long_cfg_name_makes_short_report_file_names(tmp_path: Path) -> None:
    from reports.html import slug

    long_label = "c" * 250
    assert len(slug(long_label)) <= 100 and slug(long_label) != slug("c" * 249)
    assert slug("densenet121 γ=0.5") == "densenet121_=0.5"


def test_search_help_shows_its_defaults() -> None:
    result = runner.invoke(app, ["search", "--help"], env={"COLUMNS": "250"})
    text = " ".join(result.output.split())
    for default in ("0", "sqlite:///cspcost-search.db", "accuracy,macs"):
        assert f"[default: ({default})]" in text, default
    assert "of training ." not in text
