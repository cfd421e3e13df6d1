from __future__ import annotations

import pytest
from hypothesis import settings

settings.register_profile("cspcost", deadline=None, max_examples=60)
settings.load_profile("cspcost")


@pytest.fixture(scope="session")
def torch_counters():
    """The torch side (builder and reference counters), imported only by tests that need it."""
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from costmodel import counters, torch_build

    return torch_build, counters
