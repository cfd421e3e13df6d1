"""Where the CSPNet authors' darknet cfgs live for tests: ``$CSPCOST_DARKNET_CFG``, else
``../shared/reference/darknet-cfg`` beside the project root. Tests that need them skip cleanly when
the folder is absent; the files are never copied into the project."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CFG_DIR = Path(
    os.environ.get(
        "CSPCOST_DARKNET_CFG",
        Path(__file__).resolve().parents[2] / "shared" / "reference" / "darknet-cfg",
    )
)

needs_cfgs = pytest.mark.skipif(
    not CFG_DIR.is_dir(), reason=f"the authors' darknet cfgs are not at {CFG_DIR}"
)


def cfg_path(name: str) -> Path:
    path = CFG_DIR / f"{name}.cfg"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path
