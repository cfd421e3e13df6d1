from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("cspcost", deadline=None, max_examples=60)
settings.load_profile("cspcost")

SHARED = Path(os.environ.get("CSPCOST_SHARED", Path(__file__).resolve().parents[2] / "shared"))
"""The team's shared folder beside the clone (``$CSPCOST_SHARED`` overrides it, e.g. for a mutation run
from a copy): reference cfgs and darknet's own parse, read, never copied."""


def in_ci() -> bool:
    """``CI=true`` (or 1/yes): what a test needs must be there, so a missing need fails, never skips."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require(present: bool, reason: str) -> None:
    """Skip with ``reason`` when ``present`` is false, or fail under ``CI=true``: CI has to install
    ``../shared``, PostgreSQL and Chromium, and a silent skip there hides a missing test."""
    if present:
        return
    if in_ci():
        pytest.fail(f"CI=true, but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def torch_counters():
    """The torch side (builder and reference counters), imported only by tests that need it."""
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from costmodel import counters, torch_build

    return torch_build, counters
