"""Fuzz the darknet cfg reader (issue 8): mutations of the shipped cfgs either parse or raise
``SpecError``, never anything else: no other exception, no hang.

The seeds are every cfg in ``../shared/reference/darknet-cfg`` (the CSPNet authors') and
``../shared/reference/darknet/cfg`` (darknet's own), read from there, never copied. Whether a
mutated file parses depends on which sections the reader supports; the property does not.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SHARED, require
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costmodel import SpecError
from costmodel.darknet import read

SEED_DIRS = (SHARED / "reference" / "darknet-cfg", SHARED / "reference" / "darknet" / "cfg")
SEEDS = sorted(p for d in SEED_DIRS if d.is_dir() for p in d.glob("*.cfg"))
SEED_NAMES = [p.name for p in SEEDS] or ["none"]
_TEXTS: dict[str, list[str]] = {}


def _lines(name: str) -> list[str]:
    if name not in _TEXTS:
        path = next(p for p in SEEDS if p.name == name)
        _TEXTS[name] = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return list(_TEXTS[name])


VALUES = st.one_of(
    st.sampled_from(["", "0", "-1", "1e9", "99999999999999999999", "nan", "a,b", ",", "-", "=", "[", "]"]),
    st.integers(-(2**70), 2**70).map(str),
    st.text(max_size=30),
)


@st.composite
def mutation(draw: st.DrawFn, lines: list[str]) -> list[str]:
    """One edit of a cfg's lines: delete, duplicate, swap, corrupt a value, truncate, inject."""
    n = len(lines)
    i = draw(st.integers(0, max(n - 1, 0)))
    op = draw(st.sampled_from(["delete", "duplicate", "swap", "value", "truncate", "inject", "header"]))
    if not lines:
        return [draw(st.text(max_size=50))]
    if op == "delete":
        del lines[i]
    elif op == "duplicate":
        lines.insert(i, lines[i])
    elif op == "swap":
        j = draw(st.integers(0, n - 1))
        lines[i], lines[j] = lines[j], lines[i]
    elif op == "value":
        key, _, _ = lines[i].partition("=")
        lines[i] = f"{key}={draw(VALUES)}"
    elif op == "truncate":
        text = "\n".join(lines)
        lines = text[: draw(st.integers(0, len(text)))].splitlines()
    elif op == "inject":
        junk = draw(st.binary(max_size=20)).decode("latin-1")
        cut = draw(st.integers(0, len(lines[i])))
        lines[i] = lines[i][:cut] + junk + lines[i][cut:]
    else:
        lines.insert(i, f"[{draw(st.sampled_from(['', 'net', 'convolutional', 'route', 'x' * 50]))}]")
    return lines


@st.composite
def mutated_cfg(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.sampled_from(SEED_NAMES))
    lines = _lines(name)
    for _ in range(draw(st.integers(1, 4))):
        lines = draw(mutation(lines))
    return name, "\n".join(lines)


def parses_or_refuses(name: str, text: str, input_size: int | None) -> None:
    try:
        read(text, f"fuzz/{name}", input_size)
    except SpecError as err:
        assert "\n" not in str(err), "a SpecError is one line"


def _needs_seeds() -> None:
    require(bool(SEEDS), f"the shipped cfgs are not under {', '.join(map(str, SEED_DIRS))}")


FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(mutated_cfg(), st.sampled_from([None, None, 1, 32, 416]))
def test_a_mutated_cfg_parses_or_raises_spec_error(cfg: tuple[str, str], size: int | None) -> None:
    _needs_seeds()
    parses_or_refuses(*cfg, size)


@pytest.mark.slow
@SLOW
@given(mutated_cfg(), st.sampled_from([None, None, 1, 32, 416]))
def test_a_mutated_cfg_parses_or_raises_spec_error_many(cfg: tuple[str, str], size: int | None) -> None:
    _needs_seeds()
    parses_or_refuses(*cfg, size)


def test_every_seed_is_read_without_surprise() -> None:
    """The unmutated seeds themselves: parsed, or refused with a SpecError (an unsupported section)."""
    _needs_seeds()
    for path in SEEDS:
        parses_or_refuses(path.name, "\n".join(_lines(path.name)), None)


def test_the_seeds_include_the_authors_cfgs() -> None:
    _needs_seeds()
    assert {"csresnext50.cfg", "yolov4.cfg"} <= {p.name for p in SEEDS}
    assert isinstance(SEEDS[0], Path)
