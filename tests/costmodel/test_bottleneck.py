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


def test_profile_bottleneck_is_in_execution_order_of_mac_layers():
    p = analyze(expand(resolve("peleenet"), 224))
    b = p.bottleneck()
    mac_layers = [(layer.name, c.macs) for layer, c in p.rows() if c.macs]
    assert b.layers == len(mac_layers)
    assert b.peak_macs == max(m for _, m in mac_layers)
    assert b.total_macs == p.totals.macs
