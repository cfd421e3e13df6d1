"""Nothing a user owns is lost (issue 8, "Data loss"): every writer goes through ``reports.output``,
which replaces only what its manifest says cspcost wrote, refuses everything else with one line
before any work, and sweeps the leftovers of killed runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import one_error_line, tree
from typer.testing import CliRunner

from cli import app
from costmodel import SpecError
from reports.output import MANIFEST, check_folder, replace_folder, write_files

runner = CliRunner()


def refused(args: list[str], where: Path, *, mentions: str) -> str:
    """Run the CLI; it must exit 2 with one stderr line and leave ``where`` byte-identical."""
    before = tree(where)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    line = one_error_line(result.stderr)
    assert mentions in line, line
    assert tree(where) == before
    return line


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's git working folder that happens to hold an index.html (issue 8's data-loss case)."""
    (tmp_path / "index.html").write_text("<h1>my site</h1>")
    (tmp_path / "notes.txt").write_text("do not lose me")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    web = tmp_path / "website"
    (web / "img").mkdir(parents=True)
    (web / "index.html").write_text("home")
    (web / "about.html").write_text("about")
    (web / "img" / "logo.png").write_bytes(b"\x89PNG fake")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _no_work(*_: object, **__: object) -> None:
    raise AssertionError("the report was built before --out was checked")


@pytest.mark.parametrize(
    ("out", "mentions"),
    [
        (".", "current folder"),
        ("website", "holds other files"),
        ("notes.txt", "is a file"),
    ],
    ids=["dot-in-a-git-repo", "folder-with-index-html", "a-file"],
)
def test_report_never_replaces_a_folder_it_did_not_write(
    site: Path, out: str, mentions: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("reports.html.build_report", _no_work)
    refused(["report", "densenet121", "--out", out], site, mentions=mentions)


def test_report_refuses_a_parent_of_the_current_folder(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(site / "sub")
    monkeypatch.setattr("reports.html.build_report", _no_work)
    refused(["report", "densenet121", "--out", ".."], site, mentions="parent of it")


def test_a_folder_holding_git_is_refused_even_with_a_manifest(tmp_path: Path) -> None:
    out = tmp_path / "r"
    replace_folder(out, {"index.html": b"x"})
    (out / ".git").mkdir()
    before = tree(tmp_path)
    with pytest.raises(SpecError, match=r"holds \.git"):
        replace_folder(out, {"index.html": b"y"})
    assert tree(tmp_path) == before


def test_an_earlier_report_with_a_file_of_the_users_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "r"
    replace_folder(out, {"index.html": b"one", "data/a.csv": b"a"})
    (out / "data" / "mine.csv").write_text("my own analysis")
    before = tree(tmp_path)
    with pytest.raises(SpecError, match=r"data/mine\.csv"):
        check_folder(out)
    with pytest.raises(SpecError, match=r"data/mine\.csv"):
        replace_folder(out, {"index.html": b"two"})
    assert tree(tmp_path) == before


def test_the_manifest_names_exactly_what_was_written(tmp_path: Path) -> None:
    out = tmp_path / "r"
    replace_folder(out, {"index.html": b"one", "plots/a.png": b"p"})
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest == {"written_by": "cspcost", "files": ["index.html", "plots/a.png"]}
    replace_folder(out, {"index.html": b"two"})
    assert tree(tmp_path) == {
        "r": None,
        "r/index.html": b"two",
        f"r/{MANIFEST}": b'{\n "written_by": "cspcost",\n "files": [\n  "index.html"\n ]\n}\n',
    }


def test_a_forged_manifest_entry_outside_the_folder_is_ignored(tmp_path: Path) -> None:
    out = tmp_path / "r"
    out.mkdir()
    (tmp_path / "precious.txt").write_text("keep")
    (out / MANIFEST).write_text(json.dumps({"written_by": "cspcost", "files": ["../precious.txt"]}))
    replace_folder(out, {"index.html": b"x"})
    assert (tmp_path / "precious.txt").read_text() == "keep"


def _dead_pid() -> int:
    """A process id that is certainly not running: a child we started and reaped."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def test_leftovers_of_a_killed_run_are_swept_and_nothing_else(tmp_path: Path) -> None:
    dead = _dead_pid()
    for kind in ("tmp", "old"):  # what a report killed mid-write leaves beside --out
        left = tmp_path / f".r.{dead}.ab12.{kind}"
        (left / "data").mkdir(parents=True)
        (left / "data" / "a.csv").write_text("half")
        (left / MANIFEST).write_text(json.dumps({"written_by": "cspcost", "files": ["data/a.csv"]}))
    users = tmp_path / f".r.{dead}.cd34.tmp"  # same name pattern, but no manifest: not ours
    users.mkdir()
    (users / "x").write_text("mine")
    running = tmp_path / f".r.{os.getpid()}.ef56.tmp"  # a live process's: not a leftover
    running.mkdir()
    (running / MANIFEST).write_text(json.dumps({"written_by": "cspcost", "files": []}))
    replace_folder(tmp_path / "r", {"index.html": b"x"})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["r", users.name, running.name])
    assert (users / "x").read_text() == "mine"


def test_a_killed_file_write_is_swept(tmp_path: Path) -> None:
    dead = _dead_pid()
    stale = tmp_path / f".bottleneck.png.{dead}.9f9f.tmp"
    stale.write_bytes(b"\x89PNG half")
    write_files(tmp_path, {"bottleneck.png": b"\x89PNG whole"})
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST, "bottleneck.png"]


def test_plot_never_overwrites_a_file_it_did_not_write(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    Path("bottleneck.png").write_bytes(b"my own figure")
    refused(["plot", "bottleneck", "peleenet", "--out", "."], tmp_path, mentions="bottleneck.png")
    Path("bottleneck.png").unlink()
    for _ in range(2):  # its own files it may replace
        assert runner.invoke(app, ["plot", "bottleneck", "peleenet", "--out", "."]).exit_code == 0
    assert Path("bottleneck.png").read_bytes().startswith(b"\x89PNG")


def test_reproduce_checks_out_and_cfg_dir_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "afile.txt").write_text("keep")
    refused(["reproduce", "--out", str(tmp_path / "afile.txt")], tmp_path, mentions="is a file")
    refused(
        ["reproduce", "--out", str(tmp_path / "o"), "--cfg-dir", str(tmp_path / "nope")],
        tmp_path,
        mentions="does not exist",
    )
    refused(
        ["reproduce", "--out", str(tmp_path / "o"), "--cfg-dir", str(tmp_path / "afile.txt")],
        tmp_path,
        mentions="is not a folder",
    )


def test_reproduce_never_overwrites_a_users_file(tmp_path: Path) -> None:
    (tmp_path / "reproduce.md").write_text("my notes on the paper")
    refused(["reproduce", "--out", str(tmp_path)], tmp_path, mentions="reproduce.md")
