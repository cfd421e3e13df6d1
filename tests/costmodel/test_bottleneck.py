from __future__ import annotations

import math

import pytest

from costmodel import SpecError, analyze, bottleneck, bottleneck_reduction, expand, resolve


def test_summary_arithmetic():
    b = bottleneck([("a", 10), ("b", 30), ("c", 20)])
    assert b.peak_layer == "b" and b.peak_macs == 30 and b.total_macs == 60
    assert b.peak_share == 30 / 60
    assert b.peak_to_mean == 30 / 20
    # population std of (10, 30, 20) is sqrt(200/3)
    assert math.isclose(b.cv, math.sqrt(200 / 3) / 20)


def test_reduction():
    base = bottleneck([("a", 100), ("b", 50)])
    half = bottleneck([("a", 50), ("b", 50)])
    assert bottleneck_reduction(base, half) == 0.5
    assert bottleneck_reduction(base, base) == 0.0


def test_empty_profile_is_an_error():
    with pytest.raises(SpecError, match="no layer with MACs"):
        bottleneck([])


def test_profile_bottleneck_is_peleenets_first_big_transition():
    """REFERENCE.md §2: PeleeNet's 1×1 transitions of stages 1–3 each cost 56·56·128·128 =
    28·28·256·256 = 14·14·512·512 MACs, more than any other layer; the first of the tie is the peak.
    Layers with MACs: 4 stem convs, (3+4+8+6) two-way dense layers of 5 convs, 4 transitions, the FC."""
    b = analyze(expand(resolve("peleenet"), 224)).bottleneck()
    assert b.peak_macs == 56 * 56 * 128 * 128 == 28 * 28 * 256 * 256
    assert "transition1" in b.peak_layer
    assert b.layers == 4 + (3 + 4 + 8 + 6) * 5 + 4 + 1
