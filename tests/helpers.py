"""Helpers that tests in several folders share (``tests`` is on pytest's ``pythonpath``)."""

from __future__ import annotations

import os
from pathlib import Path


def one_error_line(output: str) -> str:
    """The output is exactly one non-blank line, and it starts with ``error: ``."""
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    return lines[0]


def tree(root: Path) -> dict[str, bytes | None]:
    """Every file (content) and folder (None) under ``root``, hidden ones included."""
    out: dict[str, bytes | None] = {}
    for dirpath, dirs, files in os.walk(root):
        for d in dirs:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = None
        for f in files:
            out[os.path.relpath(os.path.join(dirpath, f), root)] = Path(dirpath, f).read_bytes()
    return out
