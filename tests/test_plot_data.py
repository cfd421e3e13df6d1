"""What the plots draw (issue 8: the plot tests checked only that a figure exists): line, bar and
point data against numbers written here as arithmetic."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest

from costmodel import analyze
from costmodel.graph import INPUT, GraphBuilder, Shape
from costmodel.roofline import custom_device, roofline
from reports.plots import plot_bottleneck, plot_roofline, plot_stage_bars


def tiny():
    """stage s1: conv 3→4 3×3 pad 1 on 3×8×8; stage s2: conv 4→2 1×1 on 4×8×8."""
    g = GraphBuilder("tiny", Shape(3, 8, 8))
    g.stage = "s1"
    x = g.conv("a", INPUT, 4, 3)
    g.stage = "s2"
    g.conv("b", x, 2, 1)
    return analyze(g.build())


MACS_A = 8 * 8 * 4 * 3 * 3 * 3  # 6,912
MACS_B = 8 * 8 * 2 * 4  # 512


def test_bottleneck_line_is_the_per_layer_macs():
    ax = plot_bottleneck([tiny()])
    line = ax.get_lines()[0]
    assert list(line.get_ydata()) == pytest.approx([MACS_A / 1e6, MACS_B / 1e6])
    marker = ax.get_lines()[1]  # the peak's marker sits on layer a
    assert list(marker.get_ydata()) == pytest.approx([MACS_A / 1e6])
    assert "peak 0.0 MMACs" in line.get_label()  # 6,912 MACs print as 0.0 M at one decimal


def test_stage_bars_are_the_stage_totals():
    ax = plot_stage_bars([tiny()], "macs")
    heights = sorted(p.get_height() for p in ax.patches)  # in GMACs
    assert heights == pytest.approx(sorted([MACS_A / 1e9, MACS_B / 1e9]))


def test_roofline_points_sit_at_the_layer_intensity():
    device = custom_device(100.0, 10.0)  # ridge 10 FLOP/byte
    ax = plot_roofline(roofline(tiny(), device))
    roof = ax.get_lines()[0]
    assert list(roof.get_ydata())[1] == pytest.approx(100.0)  # at the ridge: the peak, in GFLOP/s
    points = sorted(tuple(xy) for c in ax.collections for xy in c.get_offsets())
    # a: 2·6,912 FLOP over (3·64 + 4·64) + 4·3·3·3 elements, 4 bytes each; b: 2·512 over (4·64 + 2·64) + 8
    ia = 2 * MACS_A / (((3 * 64 + 4 * 64) + 4 * 27) * 4)
    ib = 2 * MACS_B / (((4 * 64 + 2 * 64) + 8) * 4)
    xs = sorted(x for x, _ in points)
    assert xs == pytest.approx(sorted([ia, ib]))
    for x, y in points:  # both are below the ridge: memory-bound, attainable = bandwidth · intensity
        assert y == pytest.approx(10.0 * x)
