"""The regression suite of bad inputs (issue 8): every command, option and file reader, one row each.

Each row runs ``cli.main(argv)`` in a scratch working folder that holds a few files of the user's
and a ``.git/`` folder, and asserts what the issue asks of every bad input: exit code 2, exactly one
``error:`` line on stderr that names the bad value, nothing on stdout, no traceback, and every file
in the folder byte-identical afterwards (no new file either). A handful run through a real
subprocess. Nothing here trains or runs a search: the training and worker entry points are replaced
by tripwires. Run alone with ``pytest -m badinput``.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from helpers import one_error_line

from cli import main

pytestmark = pytest.mark.badinput


@dataclass(frozen=True)
class Case:
    """One bad input: ``argv`` must be refused with a line containing ``mentions``.

    ``files`` are written (text or bytes) and ``make`` is run in the working folder before the
    snapshot, so they count as the user's own files; ``absent`` must not appear in the line."""

    id: str
    argv: tuple[str, ...]
    mentions: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    make: Callable[[Path], None] | None = None
    absent: str | None = None


def case(id: str, *argv: str, mentions: str, **kw: object) -> Case:
    return Case(id, argv, mentions, **kw)  # type: ignore[arg-type]


# --- files the cases read -------------------------------------------------------------------------

NET = "[net]\nwidth=32\nheight=32\nchannels=3\n"
CONV = "\n[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
GOOD = NET + CONV


def _png_folder(root: Path, classes: tuple[str, ...] = ("a", "b"), per_class: int = 2) -> Path:
    from PIL import Image

    for label in classes:
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            noise = np.random.default_rng(i).integers(0, 256, (16, 16), dtype=np.uint8)
            Image.fromarray(noise).save(root / label / f"{i}.png")
    return root


def _truncated_png(here: Path) -> None:
    bad = _png_folder(here / "imgs") / "b" / "1.png"
    bad.write_bytes(bad.read_bytes()[:100])


def _garbage_image(here: Path) -> None:
    (_png_folder(here / "imgs") / "b" / "2.png").write_bytes(b"this is no picture")


def _npz(**arrays: object) -> Callable[[Path], None]:
    def make(here: Path) -> None:
        np.savez(here / "d.npz", **arrays)  # type: ignore[arg-type]

    return make


def _npy_renamed(here: Path) -> None:
    with open(here / "d.npz", "wb") as fh:
        np.save(fh, np.zeros((4, 3, 3)))


def _zip_without_arrays(here: Path) -> None:
    with zipfile.ZipFile(here / "d.npz", "w") as zf:
        zf.writestr("readme.txt", "no arrays here")


def _fifo(here: Path) -> None:
    os.mkfifo(here / "pipe.cfg")


def _dev_zero(here: Path) -> None:
    (here / "zero.cfg").symlink_to("/dev/zero")


def _over_cap(here: Path) -> None:
    from costmodel.darknet import MAX_CFG_BYTES

    with open(here / "big.cfg", "wb") as fh:
        fh.truncate(MAX_CFG_BYTES + 1)  # sparse: nothing must be read


def _folder_cfg(here: Path) -> None:
    (here / "dir.cfg").mkdir()


def _empty_dir(here: Path) -> None:
    (here / "empty").mkdir()


def _one_class(here: Path) -> None:
    _png_folder(here / "imgs", classes=("only",))


def _one_image_per_class(here: Path) -> None:
    _png_folder(here / "imgs", per_class=1)


def _foreign_plot(here: Path) -> None:
    (here / "plots").mkdir()
    (here / "plots" / "bottleneck.png").write_bytes(b"the user's own picture")


def _foreign_reproduce(here: Path) -> None:
    (here / "rep").mkdir()
    (here / "rep" / "reproduce.csv").write_text("mine,not cspcost's\n")


def _bad_cfg_dir(here: Path) -> None:
    (here / "cfgs").mkdir()
    (here / "cfgs" / "resnet10.cfg").write_text(NET + "\n[convolutional]\nfilters=abc\n")


def _design(**fields: object) -> str:
    """A design file as ``cspcost search`` writes it (README "design file"), with ``fields`` replacing
    or adding top-level keys (``None`` removes one)."""
    content: dict[str, object] = {
        "format": "cspcost-design/1",
        "base": "densenet121",
        "knobs": {"gamma": 0.5, "fusion": "csp"},
        "input": 224,
    }
    content.update(fields)
    return json.dumps({k: v for k, v in content.items() if v is not None})


def _design_folder(here: Path) -> None:
    (here / "x.json").mkdir()


def _design_dev_zero(here: Path) -> None:
    (here / "zero.json").symlink_to("/dev/zero")


def _design_fifo(here: Path) -> None:
    os.mkfifo(here / "pipe.json")


def _design_over_cap(here: Path) -> None:
    from costmodel.specs import MAX_DESIGN_BYTES

    with open(here / "big.json", "wb") as fh:
        fh.truncate(MAX_DESIGN_BYTES + 1)  # sparse: nothing must be read


def _design_dangling(here: Path) -> None:
    (here / "gone.json").symlink_to(here / "nowhere.json")


def _cfg_dir_of_other_cfgs(here: Path) -> None:
    (here / "cfgs").mkdir()
    (here / "cfgs" / "yolov9.cfg").write_text(GOOD)  # a cfg, but none of those the table reads


def _cfg_dir_with_one_cfg(here: Path) -> None:
    (here / "cfgs").mkdir()
    (here / "cfgs" / "resnet10.cfg").write_text(GOOD)  # a stand-in for one of the paper's cfgs


def _git_folder(here: Path) -> None:
    (here / "proj" / ".git").mkdir(parents=True)
    (here / "proj" / ".git" / "HEAD").write_text("ref: refs/heads/main\n")


# --- malformed cfg files: (id, text, the bad value the line must name) --------------------------

CFGS: list[tuple[str, str | bytes, str]] = [
    ("empty-file", "", "empty"),
    ("only-comments", "# nothing\n; at all\n", "empty"),
    ("no-net-section", CONV, "[net]"),
    ("net-only", NET, "no layers"),
    ("unclosed-header", NET + "[convolutional\nfilters=8\n", "'[convolutional'"),
    ("empty-header", NET + "[]\n", "'[]'"),
    ("key-before-section", "width=32\n" + NET + CONV, "'width'"),
    ("line-without-equals", NET + CONV + "filters 8\n", "'filters 8'"),
    ("empty-key", NET + CONV + "=5\n", "'=5'"),
    ("unknown-section", NET + CONV + "\n[frobnicate]\nsize=1\n", "[frobnicate]"),
    ("unknown-key", NET + CONV + "wibble=1\n", "'wibble'"),
    ("net-width-zero", NET.replace("width=32", "width=0") + CONV, "width=0"),
    ("net-height-negative", NET.replace("height=32", "height=-4") + CONV, "height=-4"),
    ("net-width-text", NET.replace("width=32", "width=wide") + CONV, "'wide'"),
    ("net-channels-zero", NET.replace("channels=3", "channels=0") + CONV, "channels=0"),
    ("net-no-width", NET.replace("width=32\n", "") + CONV, "width"),
    ("filters-text", NET + CONV.replace("filters=8", "filters=abc"), "'abc'"),
    ("filters-zero", NET + CONV.replace("filters=8", "filters=0"), "filters=0"),
    ("filters-negative", NET + CONV.replace("filters=8", "filters=-8"), "filters=-8"),
    # darknet reads values with C's atoi (issue 13): "8.5" is 8 and groups=0 is clamped to 1, both valid;
    # a value with no leading digit is not.
    ("filters-no-leading-digit", NET + CONV.replace("filters=8", "filters=.5"), "'.5'"),
    ("filters-missing", NET + CONV.replace("filters=8\n", ""), "'filters'"),
    ("size-zero", NET + CONV.replace("size=3", "size=0"), "size=0"),
    ("stride-zero", NET + CONV.replace("stride=1", "stride=0"), "stride=0"),
    ("padding-negative", NET + CONV.replace("pad=1", "padding=-1"), "padding=-1"),
    (
        "kernel-larger-than-map",
        NET + CONV.replace("size=3", "size=65").replace("pad=1", "pad=0"),
        "too small",
    ),
    ("groups-not-dividing", NET + CONV.replace("filters=8", "filters=8\ngroups=2"), "groups=2"),
    ("groups-text", NET + CONV.replace("filters=8", "filters=8\ngroups=two"), "'two'"),
    ("activation-unknown", NET + CONV.replace("leaky", "sparkly"), "'sparkly'"),
    ("route-layers-missing", GOOD + "\n[route]\n", "'layers'"),
    ("route-forward-reference", GOOD + "\n[route]\nlayers=5\n", "layers=5"),
    ("route-too-far-back", GOOD + "\n[route]\nlayers=-10\n", "layers=-10"),
    ("route-layers-text", GOOD + "\n[route]\nlayers=a,b\n", "'a'"),
    ("route-groups-not-dividing", GOOD + "\n[route]\nlayers=-1\ngroups=3\n", "groups=3"),
    ("route-group-id-out-of-range", GOOD + "\n[route]\nlayers=-1\ngroups=2\ngroup_id=2\n", "group_id=2"),
    ("route-group-id-negative", GOOD + "\n[route]\nlayers=-1\ngroups=2\ngroup_id=-1\n", "group_id=-1"),
    ("shortcut-from-missing", GOOD + "\n[shortcut]\nactivation=linear\n", "'from'"),
    ("shortcut-from-self", GOOD + "\n[shortcut]\nfrom=1\n", "from=1"),
    ("maxpool-stride-zero", GOOD + "\n[maxpool]\nsize=2\nstride=0\n", "stride=0"),
    ("maxpool-size-text", GOOD + "\n[maxpool]\nsize=big\nstride=2\n", "'big'"),
    ("connected-output-zero", GOOD + "\n[connected]\noutput=0\n", "output=0"),
    ("connected-output-text", GOOD + "\n[connected]\noutput=ten\n", "'ten'"),
    ("one-megabyte-value", NET + CONV.replace("filters=8", "filters=" + "9" * 1_000_000), "characters"),
    ("ten-megabyte-file", NET + CONV.replace("filters=8", "filters=" + "9" * 10_000_000), "MiB"),
    ("long-key", NET + CONV + "k" * 100_000 + "=1\n", "characters"),
    ("binary-garbage", b"\x00\xff\xfe\x89PNG\r\n\x1a\n" + bytes(range(256)), "key=value"),
    ("invalid-utf8-value", NET.encode() + b"\n[convolutional]\nfilters=\xff\xfe\n", "filters="),
    ("nul-in-section-name", NET + "\n[conv\0olutional]\nfilters=8\n", "conv"),
]

CFG_CASES = [
    case(f"cfg-{name}", "table", "bad.cfg", mentions=mention, files={"bad.cfg": text})
    for name, text, mention in CFGS
] + [
    case(
        "cfg-compare",
        "compare",
        "densenet121",
        "bad.cfg",
        mentions="filters=0",
        files={"bad.cfg": NET + CONV.replace("filters=8", "filters=0")},
    ),
    case(
        "cfg-plot",
        "plot",
        "bottleneck",
        "bad.cfg",
        "--out",
        "p",
        mentions="'abc'",
        files={"bad.cfg": NET + CONV.replace("filters=8", "filters=abc")},
    ),
    case(
        "cfg-report",
        "report",
        "bad.cfg",
        "--out",
        "r",
        mentions="[frobnicate]",
        files={"bad.cfg": GOOD + "\n[frobnicate]\n"},
    ),
    case("cfg-missing-file", "table", "missing.cfg", mentions="missing.cfg"),
    case("cfg-named-pipe", "table", "pipe.cfg", mentions="not a regular file", make=_fifo),
    case("cfg-dev-zero-symlink", "table", "zero.cfg", mentions="not a regular file", make=_dev_zero),
    case("cfg-over-the-cap", "table", "big.cfg", mentions="MiB", make=_over_cap),
    case("cfg-a-folder", "table", "dir.cfg", mentions="dir.cfg", make=_folder_cfg),
    case("cfg-with-gamma", "table", "ok.cfg", "--gamma", "0.5", mentions="ok.cfg", files={"ok.cfg": GOOD}),
    case("cfg-with-growth", "table", "ok.cfg", "-k", "16", mentions="ok.cfg", files={"ok.cfg": GOOD}),
    case("cfg-input-zero", "table", "ok.cfg", "--input", "0", mentions="0", files={"ok.cfg": GOOD}),
    case(
        "cfg-input-too-small",
        "table",
        "s.cfg",
        "--input",
        "1",
        mentions="1",
        files={"s.cfg": NET + CONV.replace("stride=1", "stride=2").replace("pad=1", "pad=0")},
    ),
    case("cfg-name-250-chars", "table", "c" * 246 + ".cfg", mentions="ccc"),
]

# --- the command line itself: usage errors -----------------------------------------------------

USAGE_CASES = [
    case("usage-unknown-command", "tabel", "densenet121", mentions="tabel"),
    case("usage-table-no-model", "table", mentions="'model'"),
    case("usage-table-extra-argument", "table", "densenet121", "extra", mentions="extra"),
    case("usage-unknown-option", "table", "densenet121", "--bogus", mentions="--bogus"),
    case("usage-precision-fp64", "table", "densenet121", "--precision", "fp64", mentions="fp64"),
    case("usage-format-xml", "table", "densenet121", "--format", "xml", mentions="xml"),
    case("usage-fusion-sideways", "table", "densenet121", "--fusion", "sideways", mentions="sideways"),
    case("usage-gamma-word", "table", "densenet121", "--gamma", "half", mentions="half"),
    case("usage-input-word", "table", "densenet121", "--input", "big", mentions="big"),
    case("usage-growth-fraction", "table", "densenet121", "--growth-rate", "2.5", mentions="2.5"),
    case("usage-input-missing-value", "table", "densenet121", "--input", mentions="--input"),
    case("usage-models-extra-argument", "models", "densenet121", mentions="densenet121"),
    case("usage-plot-unknown-kind", "plot", "pie", "densenet121", mentions="pie"),
    case("usage-plot-no-model", "plot", "bottleneck", mentions="MODELS"),
    case("usage-report-no-out", "report", "densenet121", mentions="--out"),
    case("usage-compare-no-model", "compare", mentions="MODELS"),
    case("usage-reproduce-format", "reproduce", "--format", "xml", mentions="xml"),
    case("usage-search-trials-word", "search", "--trials", "many", mentions="many"),
    case("usage-search-workers-word", "search", "--workers", "x", mentions="'x'"),
    case("usage-search-seed-word", "search", "--seed", "abc", mentions="abc"),
    case("usage-search-budget-word", "search", "--max-mflops", "cheap", mentions="cheap"),
    case("usage-search-unknown-option", "search", "--gpus", "2", mentions="--gpus"),
]

# --- table: knobs and model names ----------------------------------------------------------------

LONG = "7" * 500
TABLE_CASES = [
    case("table-gamma-1", "table", "cspdensenet121", "--gamma", "1", mentions="1"),
    case("table-gamma-1.5", "table", "cspdensenet121", "--gamma", "1.5", mentions="1.5"),
    case("table-gamma-negative", "table", "cspdensenet121", "--gamma", "-0.1", mentions="-0.1"),
    case("table-gamma-nan", "table", "cspdensenet121", "--gamma", "nan", mentions="nan"),
    case("table-gamma-inf", "table", "cspdensenet121", "--gamma", "inf", mentions="inf"),
    case("table-gamma-rounds-to-zero", "table", "densenet121", "--gamma", "0.001", mentions="zero channels"),
    case(
        "table-gamma-with-fusion-none",
        "table",
        "densenet121",
        "--gamma",
        "0.5",
        "--fusion",
        "none",
        mentions="'none'",
    ),
    case("table-growth-zero", "table", "densenet121", "--growth-rate", "0", mentions="0"),
    case("table-growth-negative", "table", "densenet121", "--growth-rate", "-3", mentions="-3"),
    case("table-peleenet-odd-growth", "table", "peleenet", "--growth-rate", "31", mentions="31"),
    case("table-peleenet-gamma-0.9", "table", "peleenet", "--gamma", "0.9", "--fusion", "csp", mentions="0"),
    case("table-input-zero", "table", "densenet121", "--input", "0", mentions="0"),
    case("table-input-negative", "table", "densenet121", "--input", "-1", mentions="-1"),
    case("table-input-8", "table", "densenet121", "--input", "8", mentions="8×8"),
    case("table-input-28", "table", "densenet121", "--input", "28", mentions="28×28"),
    case("table-unknown-model", "table", "nosuchnet", mentions="'nosuchnet'"),
    case("table-typo-model", "table", "densenet12", mentions="densenet121"),
    case("table-model-250-chars", "table", "d" * 250, mentions="(250 characters)"),
    case("table-model-with-newline", "table", "dense\nnet", mentions="dense"),
    case("table-model-empty", "table", "", mentions="''"),
    case("table-growth-on-resnet", "table", "resnet50", "--growth-rate", "16", mentions="growth_rate"),
]

# --- compare: per-model options and the compact form --------------------------------------------

COMPARE_CASES = [
    case("compare-growth-fraction", "compare", "densenet121", "--growth-rate", "2.5", mentions="'2.5'"),
    case("compare-growth-word", "compare", "densenet121", "-k", "many", mentions="'many'"),
    case("compare-gamma-2", "compare", "densenet121", "--gamma", "2", mentions="2"),
    case("compare-gamma-500-digits", "compare", "densenet121", "--gamma", LONG, mentions="500 characters"),
    case("compare-growth-500-digits", "compare", "densenet121", "-k", "-" + LONG, mentions="501 characters"),
    case("compare-input-zero", "compare", "densenet121", "--input", "0", mentions="0"),
    case("compare-fusion-sideways", "compare", "densenet121", "--fusion", "sideways", mentions="'sideways'"),
    case("compare-fusion-long", "compare", "densenet121", "--fusion", "s" * 300, mentions="300 characters"),
    case("compare-unknown-option", "compare", "densenet121", "--bogus", "1", mentions="'--bogus'"),
    case("compare-unknown-option-long", "compare", "densenet121", "--" + "b" * 300, mentions="characters"),
    case("compare-option-without-value", "compare", "densenet121", "--gamma", mentions="--gamma"),
    case("compare-compact-gamma-2", "compare", "densenet121:gamma=2", mentions="2"),
    case("compare-compact-no-name", "compare", ":gamma=0.5", mentions="':gamma=0.5'"),
    case("compare-compact-unknown-key", "compare", "densenet121:foo=1", mentions="'foo=1'"),
    case("compare-compact-no-value", "compare", "densenet121:gamma", mentions="'gamma'"),
    case("compare-compact-word-value", "compare", "densenet121:gamma=abc", mentions="'abc'"),
    case("compare-compact-unknown-model", "compare", "nosuch:gamma=0.5", mentions="'nosuch'"),
    case("compare-compact-long", "compare", "densenet121:" + "x" * 300 + "=1", mentions="characters"),
    case("compare-unknown-second-model", "compare", "densenet121", "nosuchnet", mentions="'nosuchnet'"),
    case("compare-missing-cfg", "compare", "densenet121", "missing.cfg", mentions="missing.cfg"),
    case(
        "compare-cfg-with-fusion",
        "compare",
        "ok.cfg",
        "--fusion",
        "csp",
        mentions="ok.cfg",
        files={"ok.cfg": GOOD},
    ),
    case("compare-precision", "compare", "densenet121", "densenet169", "--precision", "fp8", mentions="fp8"),
    case("compare-input-too-small", "compare", "densenet121", "peleenet", "-i", "16", mentions="16×16"),
    case("compare-only-options", "compare", "--gamma", "0.5", mentions="no model"),
]

# --- plot --------------------------------------------------------------------------------------

PLOT = ("plot", "bottleneck", "densenet121", "--out", "p")
ROOF = ("plot", "roofline", "densenet121", "--out", "p")
PLOT_CASES = [
    case("plot-device-unknown", *ROOF, "--device", "toaster", mentions="'toaster'"),
    case("plot-device-zeros", *ROOF, "--device", "0,0", mentions="0,0"),
    case("plot-device-negative", *ROOF, "--device", "-5,10", mentions="-5"),
    case("plot-device-overflow", *ROOF, "--device", "1e308,1e-308", mentions="1e308"),
    case("plot-device-nan", *ROOF, "--device", "nan,inf", mentions="nan"),
    case("plot-device-three-numbers", *ROOF, "--device", "1,2,3", mentions="1,2,3"),
    case("plot-device-long", *ROOF, "--device", "x" * 500, mentions="xxx"),
    case(
        "plot-gammas-word", "plot", "gamma", "densenet121", "--out", "p", "--gammas", "a,b", mentions="'a,b'"
    ),
    case(
        "plot-gammas-empty",
        "plot",
        "gamma",
        "densenet121",
        "--out",
        "p",
        "--gammas",
        ",",
        mentions="--gammas",
    ),
    case(
        "plot-gammas-outside",
        "plot",
        "gamma",
        "densenet121",
        "--out",
        "p",
        "--gammas",
        "0,1.5",
        mentions="1.5",
    ),
    case(
        "plot-gammas-negative",
        "plot",
        "gamma",
        "densenet121",
        "--out",
        "p",
        "--gammas",
        "-0.5",
        mentions="-0.5",
    ),
    case(
        "plot-growth-rates-fraction",
        "plot",
        "scaling",
        "densenet121",
        "--out",
        "p",
        "--growth-rates",
        "2.5",
        mentions="'2.5'",
    ),
    case(
        "plot-growth-rates-zero",
        "plot",
        "scaling",
        "densenet121",
        "--out",
        "p",
        "--growth-rates",
        "0,12",
        mentions="0",
    ),
    case(
        "plot-growth-rates-negative",
        "plot",
        "scaling",
        "densenet121",
        "--out",
        "p",
        "--growth-rates",
        "-4",
        mentions="-4",
    ),
    case(
        "plot-out-is-a-file", "plot", "bottleneck", "densenet121", "--out", "notes.txt", mentions="notes.txt"
    ),
    case(
        "plot-over-a-users-picture",
        "plot",
        "bottleneck",
        "densenet121",
        "--out",
        "plots",
        mentions="bottleneck.png",
        make=_foreign_plot,
    ),
    case(
        "plot-out-under-a-file",
        "plot",
        "bottleneck",
        "densenet121",
        "--out",
        "notes.txt/p",
        mentions="notes.txt",
    ),
    case("plot-unknown-model", *PLOT[:2], "nosuchnet", "--out", "p", mentions="'nosuchnet'"),
    case("plot-bad-gamma", *PLOT, "--gamma", "1", mentions="1"),
    case("plot-input-too-small", *PLOT, "--input", "4", mentions="4×4"),
    case("plot-precision", *PLOT, "--precision", "fp128", mentions="fp128"),
    case("plot-kind-empty", "plot", "", "densenet121", mentions="''"),
]

# --- report ------------------------------------------------------------------------------------

REPORT_CASES = [
    case("report-out-dot", "report", "densenet121", "--out", ".", mentions="current folder"),
    case("report-out-parent", "report", "densenet121", "--out", "..", mentions="a parent of it"),
    case("report-out-a-file", "report", "densenet121", "--out", "notes.txt", mentions="notes.txt"),
    case("report-out-folder-with-index", "report", "densenet121", "--out", "website", mentions="website"),
    case(
        "report-out-git-folder", "report", "densenet121", "--out", "proj", mentions="proj", make=_git_folder
    ),
    case("report-out-under-a-file", "report", "densenet121", "--out", "notes.txt/r", mentions="notes.txt"),
    case("report-unknown-model", "report", "nosuchnet", "--out", "r", mentions="'nosuchnet'"),
    case("report-model-250-chars", "report", "c" * 250, "--out", "r", mentions="(250 characters)"),
    case("report-bad-device", "report", "densenet121", "--out", "r", "--device", "0,0", mentions="0,0"),
    case("report-bad-gammas", "report", "densenet121", "--out", "r", "--gammas", "x", mentions="'x'"),
    case(
        "report-bad-growth-rates",
        "report",
        "densenet121",
        "--out",
        "r",
        "--growth-rates",
        "1.5",
        mentions="'1.5'",
    ),
    case("report-bad-gamma", "report", "densenet121", "--gamma", "-1", "--out", "r", mentions="-1"),
    case(
        "report-study-missing-db",
        "report",
        "densenet121",
        "--out",
        "r",
        "--study",
        "nope",
        mentions="no database",
    ),
    case(
        "report-study-bad-storage",
        "report",
        "densenet121",
        "--out",
        "r",
        "--study",
        "s",
        "--storage",
        "bogus://x",
        mentions="'bogus://x'",
    ),
    case(
        "report-storage-not-a-database",
        "report",
        "densenet121",
        "--out",
        "r",
        "--study",
        "s",
        "--storage",
        "sqlite:///notes.txt",
        mentions="notes.txt",
    ),
    case(
        "report-storage-missing-folder",
        "report",
        "densenet121",
        "--out",
        "r",
        "--study",
        "s",
        "--storage",
        "sqlite:///no/such/s.db",
        mentions="no/such/s.db",
    ),
    case(
        "report-postgres-not-answering",
        "report",
        "densenet121",
        "--out",
        "r",
        "--study",
        "s",
        "--storage",
        "postgresql://me:secret@127.0.0.1:1/db",
        mentions="127.0.0.1",
        absent="secret",
    ),
]

# --- design files (``*.json`` written by cspcost search, read by costmodel.specs.read_design) -----

DESIGN_CASES = [
    case("design-malformed-json", "table", "d.json", mentions="d.json", files={"d.json": '{"base": '}),
    case("design-not-utf8", "table", "d.json", mentions="d.json", files={"d.json": b"\xff\xfe{}"}),
    case("design-empty-file", "table", "d.json", mentions="d.json", files={"d.json": ""}),
    case("design-an-array", "table", "d.json", mentions="an array", files={"d.json": "[1, 2]"}),
    case("design-a-string", "table", "d.json", mentions="a string", files={"d.json": '"densenet121"'}),
    case("design-null", "table", "d.json", mentions="null", files={"d.json": "null"}),
    case(
        "design-nested-too-deeply",
        "table",
        "d.json",
        mentions="nested too deeply",
        files={"d.json": "[" * 200_000 + "]" * 200_000},
    ),
    case("design-no-format", "table", "d.json", mentions='"format"', files={"d.json": _design(format=None)}),
    case(
        "design-other-format",
        "table",
        "d.json",
        mentions="cspcost-design/9",
        files={"d.json": _design(format="cspcost-design/9")},
    ),
    case(
        "design-unknown-base",
        "table",
        "d.json",
        mentions="'nosuchnet'",
        files={"d.json": _design(base="nosuchnet")},
    ),
    case(
        "design-base-a-number",
        "compare",
        "densenet121",
        "d.json",
        mentions="'12'",
        files={"d.json": _design(base=12)},
    ),
    case(
        "design-missing-base", "table", "d.json", mentions='no "base"', files={"d.json": _design(base=None)}
    ),
    case(
        "design-unknown-knob",
        "table",
        "d.json",
        mentions="'speed'",
        files={"d.json": _design(knobs={"gamma": 0.5, "speed": 2})},
    ),
    case(
        "design-input-as-a-knob",
        "table",
        "d.json",
        mentions="'input'",
        files={"d.json": _design(knobs={"input": 64})},
    ),
    case(
        "design-knobs-an-array", "table", "d.json", mentions='"knobs"', files={"d.json": _design(knobs=[0.5])}
    ),
    case(
        "design-knob-a-string",
        "table",
        "d.json",
        mentions='"gamma" is "half"',
        files={"d.json": _design(knobs={"gamma": "half", "fusion": "csp"})},
    ),
    case(
        "design-knob-a-boolean",
        "table",
        "d.json",
        mentions='"gamma" is true',
        files={"d.json": _design(knobs={"gamma": True, "fusion": "csp"})},
    ),
    case(
        "design-growth-a-fraction",
        "table",
        "d.json",
        mentions='"growth_rate" is 2.5',
        files={"d.json": _design(knobs={"growth_rate": 2.5})},
    ),
    case(
        "design-fusion-a-number",
        "table",
        "d.json",
        mentions='"fusion" is 1',
        files={"d.json": _design(knobs={"fusion": 1})},
    ),
    case(
        "design-input-a-string",
        "table",
        "d.json",
        mentions='"input" is "224"',
        files={"d.json": _design(input="224")},
    ),
    case(
        "design-gamma-out-of-range",
        "table",
        "d.json",
        mentions="γ = 1.5",
        files={"d.json": _design(knobs={"gamma": 1.5, "fusion": "csp"})},
    ),
    case(
        "design-knob-the-base-has-not",
        "table",
        "d.json",
        mentions="'growth_rate'",
        files={"d.json": _design(base="resnet50", knobs={"growth_rate": 24})},
    ),
    case(
        "design-width-the-base-has-not",
        "table",
        "d.json",
        mentions="width",
        files={"d.json": _design(base="darknet53", knobs={"width": 2})},
    ),
    case(
        "design-gamma-without-a-cross-stage-path",
        "table",
        "d.json",
        mentions="γ = 0.5",
        files={"d.json": _design(knobs={"gamma": 0.5, "fusion": "none"})},
    ),
    case("design-missing-file", "table", "missing.json", mentions="missing.json"),
    case("design-dangling-symlink", "table", "gone.json", mentions="gone.json", make=_design_dangling),
    case("design-a-folder", "table", "x.json", mentions="x.json is not a regular file", make=_design_folder),
    case(
        "design-dev-zero-symlink",
        "table",
        "zero.json",
        mentions="zero.json is not a regular file",
        make=_design_dev_zero,
    ),
    case(
        "design-named-pipe",
        "table",
        "pipe.json",
        mentions="pipe.json is not a regular file",
        make=_design_fifo,
    ),
    case("design-over-the-cap", "table", "big.json", mentions="1 MiB", make=_design_over_cap),
    case(
        "design-report",
        "report",
        "d.json",
        "--out",
        "r",
        mentions="'speed'",
        files={"d.json": _design(knobs={"speed": 2})},
    ),
    case(
        "design-plot",
        "plot",
        "stages",
        "d.json",
        "--out",
        "p",
        mentions="nested too deeply",
        files={"d.json": "[" * 100_000},
    ),
    case(
        "design-search-base",
        *("search", "--trials", "1"),
        "--base",
        "x.json",
        mentions="x.json is not a regular file",
        make=_design_folder,
    ),
    case(
        "design-search-base-unknown-knob",
        *("search", "--trials", "1"),
        "--base",
        "d.json",
        mentions="'speed'",
        files={"d.json": _design(knobs={"speed": 2})},
    ),
]

# --- reproduce ---------------------------------------------------------------------------------

REPRODUCE_CASES = [
    case(
        "reproduce-cfg-dir-missing",
        "reproduce",
        "--cfg-dir",
        "/nonexistent",
        "--out",
        "r",
        mentions="/nonexistent",
    ),
    case(
        "reproduce-cfg-dir-a-file", "reproduce", "--cfg-dir", "notes.txt", "--out", "r", mentions="notes.txt"
    ),
    case(
        "reproduce-cfg-dir-bad-cfg",
        "reproduce",
        "--cfg-dir",
        "cfgs",
        "--out",
        "r",
        mentions="resnet10.cfg",
        make=_bad_cfg_dir,
    ),
    case(
        "reproduce-cfg-dir-empty",
        "reproduce",
        "--cfg-dir",
        "empty",
        "--out",
        "r",
        mentions="--cfg-dir empty holds none",
        make=_empty_dir,
    ),
    case(
        "reproduce-cfg-dir-of-other-files",
        "reproduce",
        "--cfg-dir",
        "sub",
        "--out",
        "r",
        mentions="--cfg-dir sub holds none",
    ),
    case(
        "reproduce-cfg-dir-of-other-cfgs",
        "reproduce",
        "--cfg-dir",
        "cfgs",
        "--out",
        "r",
        mentions="--cfg-dir cfgs holds none",
        make=_cfg_dir_of_other_cfgs,
    ),
    case(
        "reproduce-cfg-dir-one-of-two-holds-none",
        "reproduce",
        "--cfg-dir",
        "cfgs",
        "--cfg-dir",
        "sub",
        "--out",
        "r",
        mentions="--cfg-dir sub holds none",
        make=_cfg_dir_with_one_cfg,
    ),
    case("reproduce-out-a-file", "reproduce", "--out", "notes.txt", mentions="notes.txt"),
    case(
        "reproduce-out-foreign-csv",
        "reproduce",
        "--out",
        "rep",
        mentions="reproduce.csv",
        make=_foreign_reproduce,
    ),
    case("reproduce-out-under-a-file", "reproduce", "--out", "notes.txt/r", mentions="notes.txt"),
]

# --- search: options, outputs, storage URLs and data files -------------------------------------

S = ("search", "--trials", "1")
SEARCH_CASES = [
    case("search-seed-negative", *S, "--seed", "-1", mentions="--seed -1"),
    case("search-seed-2**32", *S, "--seed", str(2**32), mentions=str(2**32)),
    case("search-trials-zero", "search", "--trials", "0", mentions="--trials 0"),
    case("search-trials-negative", "search", "--trials", "-3", mentions="--trials -3"),
    case("search-workers-zero", *S, "--workers", "0", mentions="--workers 0"),
    case("search-workers-negative", *S, "--workers", "-2", mentions="--workers -2"),
    case("search-family-unknown", *S, "--family", "resnet", mentions="'resnet'"),
    case("search-family-long", *S, "--family", "f" * 300, mentions="characters"),
    case("search-objective-unknown", *S, "--objectives", "speed", mentions="'speed'"),
    case("search-objective-repeated", *S, "--objectives", "macs,macs", mentions="macs,macs"),
    case("search-objectives-empty", *S, "--objectives", ",", mentions="objective"),
    case("search-max-mflops-negative", *S, "--max-mflops", "-1", mentions="--max-mflops -1"),
    case("search-max-mflops-nan", *S, "--max-mflops", "nan", mentions="--max-mflops nan"),
    case("search-max-mflops-inf", *S, "--max-mflops", "inf", mentions="--max-mflops inf"),
    case("search-max-params-negative", *S, "--max-params", "-5", mentions="--max-params -5"),
    case("search-max-cio-nan", *S, "--max-cio", "nan", mentions="--max-cio nan"),
    case("search-max-latency-negative", *S, "--max-latency-ms", "-1", mentions="--max-latency-ms -1"),
    case(
        "search-budget-nothing-meets", *S, "--max-mflops", "0", "--objectives", "macs", mentions="against 0"
    ),
    case("search-devices-unknown", *S, "--devices", "tpu", "--objectives", "latency", mentions="'tpu'"),
    case("search-devices-empty", *S, "--devices", ",", "--objectives", "latency", mentions="device"),
    case("search-input-zero", *S, "--input", "0", mentions="0"),
    case("search-input-negative", *S, "--input", "-5", mentions="-5"),
    case("search-input-too-small", *S, "--input", "2", mentions="2×2"),
    case("search-input-100000", *S, "--input", "100000", mentions="100000×100000"),
    case(
        "search-input-100000-latency",
        *S,
        "--input",
        "100000",
        "--objectives",
        "macs,latency",
        mentions="100000",
    ),
    case("search-epochs-zero", *S, "--epochs", "0", mentions="epochs = 0"),
    case("search-epochs-negative", *S, "--epochs", "-1", mentions="epochs = -1"),
    case("search-study-empty", *S, "--study", "", mentions="--study is empty"),
    case("search-study-blank", *S, "--study", "   ", mentions="--study is empty"),
    case("search-study-slash", *S, "--study", "a/b", mentions="'a/b'"),
    case("search-study-dotdot", *S, "--study", "..", mentions="'..'"),
    case("search-study-300-chars", *S, "--study", "x" * 300, mentions="300 characters"),
    case("search-plot-folder-missing", *S, "--plot", "/missing/dir/p.png", mentions="/missing/dir"),
    case("search-plot-no-suffix", *S, "--plot", "pareto", mentions="pareto"),
    case(
        "search-plot-over-users-file",
        *S,
        "--plot",
        "mine.png",
        mentions="mine.png",
        files={"mine.png": b"my picture"},
    ),
    case(
        "search-plot-default-over-users-file",  # the default plot goes in the designs folder
        *S,
        "--study",
        "s",
        mentions="s-designs",
        files={"s-designs/pareto.png": b"my picture"},
    ),
    case(
        "search-designs-of-another-study",
        *S,
        mentions="study 'other' in sqlite:///other.db",
        files={
            "cspcost-designs/.cspcost-search.json": json.dumps(
                {"search": "study", "study": "other", "storage": "sqlite:///other.db"}
            ),
            "cspcost-designs/.cspcost-manifest.json": json.dumps(
                {"written_by": "cspcost", "files": [".cspcost-search.json", "01-x.json"]}
            ),
            "cspcost-designs/01-x.json": '{"base": "densenet121"}',
        },
    ),
    case("search-storage-not-a-url", *S, "--storage", "search.db", mentions="'search.db'"),
    case(
        "search-storage-unknown-scheme", *S, "--storage", "redis://localhost", mentions="'redis://localhost'"
    ),
    case("search-storage-folder-missing", *S, "--storage", "sqlite:///no/such/s.db", mentions="no/such/s.db"),
    case("search-storage-not-a-database", *S, "--storage", "sqlite:///notes.txt", mentions="notes.txt"),
    case(
        "search-storage-postgres-not-answering",
        *S,
        "--storage",
        "postgresql://me:secret@127.0.0.1:1/db",
        mentions="127.0.0.1",
        absent="secret",
    ),
    case("search-resume-no-database", *S, "--resume", "--study", "s", mentions="no database"),
    case("search-data-missing", *S, "--data", "nope", mentions="'nope'"),
    case("search-data-text-file", *S, "--data", "notes.txt", mentions="notes.txt"),
    case("search-data-empty-folder", *S, "--data", "empty", mentions="empty", make=_empty_dir),
    case("search-data-one-class", *S, "--data", "imgs", mentions="imgs", make=_one_class),
    case("search-data-one-image-per-class", *S, "--data", "imgs", mentions="imgs", make=_one_image_per_class),
    case("search-data-truncated-png", *S, "--data", "imgs", mentions="1.png", make=_truncated_png),
    case("search-data-not-an-image", *S, "--data", "imgs", mentions="2.png", make=_garbage_image),
    case(
        "search-data-folder-too-big-input",
        *S,
        "--data",
        "imgs",
        "--input",
        "100000",
        mentions="100000",
        make=_one_image_per_class,
    ),
    case(
        "search-npz-strings",
        *S,
        "--data",
        "d.npz",
        mentions="d.npz",
        make=_npz(x=np.full((4, 3, 3), "px"), y=np.array([0, 1, 0, 1])),
    ),
    case(
        "search-npz-complex",
        *S,
        "--data",
        "d.npz",
        mentions="complex",
        make=_npz(x=np.ones((4, 3, 3), dtype=complex), y=np.array([0, 1, 0, 1])),
    ),
    case("search-npz-npy-renamed", *S, "--data", "d.npz", mentions="d.npz", make=_npy_renamed),
    case("search-npz-no-y", *S, "--data", "d.npz", mentions="d.npz", make=_npz(x=np.zeros((4, 3, 3)))),
    case("search-npz-zip-without-arrays", *S, "--data", "d.npz", mentions="d.npz", make=_zip_without_arrays),
    case(
        "search-npz-length-mismatch",
        *S,
        "--data",
        "d.npz",
        mentions="d.npz",
        make=_npz(x=np.zeros((4, 3, 3)), y=np.array([0, 1])),
    ),
    case(
        "search-npz-x-1d",
        *S,
        "--data",
        "d.npz",
        mentions="d.npz",
        make=_npz(x=np.zeros(4), y=np.array([0, 1, 0, 1])),
    ),
    case(
        "search-npz-nan-pixels",
        *S,
        "--data",
        "d.npz",
        mentions="NaN",
        make=_npz(x=np.full((4, 3, 3), np.nan), y=np.array([0, 1, 0, 1])),
    ),
    case(
        "search-npz-object-arrays",
        *S,
        "--data",
        "d.npz",
        mentions="d.npz",
        make=_npz(x=np.array([None] * 4, dtype=object), y=np.array([0, 1, 0, 1])),
    ),
    case(
        "search-npz-one-label",
        *S,
        "--data",
        "d.npz",
        mentions="d.npz",
        make=_npz(x=np.zeros((4, 3, 3)), y=np.zeros(4)),
    ),
    case(
        "search-npz-empty",
        *S,
        "--data",
        "d.npz",
        mentions="d.npz",
        make=_npz(x=np.zeros((0, 3, 3)), y=np.zeros(0)),
    ),
    case(
        "search-npz-five-channels",
        *S,
        "--data",
        "d.npz",
        mentions="d.npz",
        make=_npz(x=np.zeros((4, 5, 3, 7)), y=np.array([0, 1, 0, 1])),
    ),
]

# --- names longer than the file system allows (ENAMETOOLONG is not "missing" to pathlib) ----------

NAME_300 = "n" * 300
LONG_NAME_CASES = [
    case("long-name-table-cfg", "table", NAME_300 + ".cfg", mentions="nnn"),
    case("long-name-compare-model", "compare", "densenet121", NAME_300, mentions="nnn"),
    case("long-name-plot-out", *PLOT[:3], "--out", NAME_300, mentions="nnn"),
    case("long-name-report-out", "report", "densenet121", "--out", NAME_300, mentions="nnn"),
    case("long-name-reproduce-out", "reproduce", "--out", NAME_300, mentions="nnn"),
    case("long-name-reproduce-cfg-dir", "reproduce", "--cfg-dir", NAME_300, "--out", "r", mentions="nnn"),
    case("long-name-search-plot", *S, "--plot", NAME_300 + ".png", mentions="nnn"),
    case("long-name-search-plot-folder", *S, "--plot", NAME_300 + "/p.png", mentions="nnn"),
    case("long-name-search-data", *S, "--data", NAME_300, mentions="nnn"),
    case("long-name-search-storage", *S, "--storage", f"sqlite:///{NAME_300}.db", mentions="nnn"),
    case(
        "long-name-report-storage",
        "report",
        "densenet121",
        "--out",
        "r",
        "--study",
        "s",
        "--storage",
        f"sqlite:///{NAME_300}.db",
        mentions="nnn",
    ),
]

CASES = (
    CFG_CASES
    + USAGE_CASES
    + TABLE_CASES
    + COMPARE_CASES
    + PLOT_CASES
    + REPORT_CASES
    + DESIGN_CASES
    + REPRODUCE_CASES
    + SEARCH_CASES
    + LONG_NAME_CASES
)


def test_the_suite_is_as_large_as_the_issue_asks() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "two cases share an id"
    assert len(CASES) >= 150, len(CASES)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's git working folder: notes, a web page, a sub-folder, and ``.git``."""
    here = tmp_path / "work"
    (here / ".git" / "refs").mkdir(parents=True)
    (here / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (here / "notes.txt").write_text("do not lose me\n")
    (here / "index.html").write_text("<h1>my page</h1>")
    (here / "website").mkdir()
    (here / "website" / "index.html").write_text("home")
    (here / "website" / "about.html").write_text("about")
    (here / "sub").mkdir()
    (here / "sub" / "data.csv").write_bytes(b"a,b\n1,2\n")
    monkeypatch.chdir(here)
    monkeypatch.delenv("CSPCOST_DARKNET_CFG", raising=False)
    return here


def tree(root: Path) -> dict[str, object]:
    """Every entry under ``root``: a regular file by content, a link by target, anything else (a
    folder, a pipe) by its type, so that the snapshot itself never blocks on a pipe or reads
    ``/dev/zero``."""
    out: dict[str, object] = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(dirpath, name)
            key = os.path.relpath(path, root)
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                out[key] = ("link", os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                out[key] = path.read_bytes()
            else:
                out[key] = ("type", stat.S_IFMT(info.st_mode))
    return out


def _tripwire(*_: object, **__: object) -> None:
    raise AssertionError("a bad input reached a search worker")


def setup_case(here: Path, c: Case) -> None:
    for name, content in c.files.items():
        path = here / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", errors="surrogateescape")
    if c.make is not None:
        c.make(here)


def check_refusal(code: object, out: str, err: str, c: Case) -> str:
    assert code == 2, f"exit code {code!r}\nstdout: {out[:2000]}\nstderr: {err[:2000]}"
    assert "Traceback" not in out + err, err[:4000]
    assert out == "", f"a refusal printed to stdout: {out[:2000]}"
    line = one_error_line(err)
    assert len(line) <= 500, f"the line is {len(line)} characters: {line[:300]}…"
    assert c.mentions in line, line
    if c.absent is not None:
        assert c.absent not in line, line
    return line


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_touches_nothing(
    workdir: Path, c: Case, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("search.study.run_worker", _tripwire)
    monkeypatch.setattr("search.study.run_workers", _tripwire)
    setup_case(workdir, c)
    before = tree(workdir)
    with pytest.raises(SystemExit) as exit_info:
        main(list(c.argv))
    captured = capsys.readouterr()
    check_refusal(exit_info.value.code, captured.out, captured.err, c)
    assert tree(workdir) == before, "a bad input created, changed or removed a file"


SUBPROCESS_IDS = (
    "cfg-one-megabyte-value",
    "usage-unknown-command",
    "compare-growth-fraction",
    "search-seed-negative",
    "report-out-dot",
)


@pytest.mark.parametrize("case_id", SUBPROCESS_IDS)
def test_bad_input_through_a_real_process(workdir: Path, case_id: str) -> None:
    """The console script as a user runs it: warnings, logging and interpreter exit included."""
    c = next(c for c in CASES if c.id == case_id)
    setup_case(workdir, c)
    before = tree(workdir)
    script = Path(sys.executable).with_name("cspcost")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "cli"]
    env = {**os.environ, "PYTHONWARNINGS": "default"}  # a stray warning would be a second line
    proc = subprocess.run(
        [*command, *c.argv], cwd=workdir, capture_output=True, text=True, env=env, timeout=600
    )
    check_refusal(proc.returncode, proc.stdout, proc.stderr, c)
    assert tree(workdir) == before
