"""Where the CSPNet authors' darknet cfgs live for tests: ``$CSPCOST_DARKNET_CFG``, else
``../shared/reference/darknet-cfg`` beside the project root. Tests that need them skip when the
folder is absent (under CI=true they fail); the files are never copied into the project."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import in_ci, require

CFG_DIR = Path(
    os.environ.get(
        "CSPCOST_DARKNET_CFG",
        Path(__file__).resolve().parents[2] / "shared" / "reference" / "darknet-cfg",
    )
)

needs_cfgs = pytest.mark.skipif(
    not CFG_DIR.is_dir() and not in_ci(), reason=f"the authors' darknet cfgs are not at {CFG_DIR}"
)
"""Skips without the cfgs, except under CI=true, where the test runs and fails on the missing file."""


def cfg_path(name: str) -> Path:
    path = CFG_DIR / f"{name}.cfg"
    require(path.is_file(), f"{path} is absent")
    return path
