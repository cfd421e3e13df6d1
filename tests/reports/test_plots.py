"""Plots: each has the expected series, labels and units (data, not pixels)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PathCollection

from cli import parse_specs
from costmodel import SpecError
from costmodel.overview import PLOT_KINDS, plot_data
from costmodel.roofline import DEVICES, custom_device, pick_device, roofline
from costmodel.specs import ModelSpec, load_profiles
from costmodel.sweeps import gamma_sweep, growth_scaling
from reports.frames import gamma_sweep_frame, roofline_frame, scaling_frame, stage_frame
from reports.plots import (
    figure_for,
    plot_bottleneck,
    plot_gamma_sweep,
    plot_roofline,
    plot_scaling,
    plot_stage_bars,
)

# PeleeNet's transition 1 (REFERENCE.md §2): 1×1 conv 128→128 at 56×56, its bottleneck.
PELEE_PEAK = 128 * 128 * 56 * 56
# fusion_last with γ = 0.5: the stem's 32 channels split 16 / 16, block 1 adds 3·32, so the
# transition compresses 16 + 96 = 112 channels: 112·112·56·56 MACs.
LAST_PEAK = 112 * 112 * 56 * 56


@pytest.fixture(scope="module")
def pelee():  # type: ignore[no-untyped-def]
    return load_profiles(parse_specs(["peleenet", "peleenet", "-g", "0.5", "-f", "fusion_last"]))


def test_plot_functions_take_an_axes_and_return_it(pelee) -> None:  # type: ignore[no-untyped-def]
    fig, ax = plt.subplots()
    assert plot_bottleneck(pelee, ax=ax) is ax
    assert plot_stage_bars(pelee, ax=ax) is ax
    plt.close(fig)
    assert plot_bottleneck(pelee).figure is not None  # ax=None makes its own figure


def test_bottleneck_series_peaks_and_legend(pelee) -> None:  # type: ignore[no-untyped-def]
    ax = plot_bottleneck(pelee)
    lines = ax.get_lines()
    assert len(lines) == 4  # a profile line and a peak marker per model
    baseline, base_peak, _, csp_peak = lines
    assert len(baseline.get_xdata()) == pelee[0].bottleneck().layers
    assert base_peak.get_ydata()[0] == pytest.approx(PELEE_PEAK / 1e6)
    assert csp_peak.get_ydata()[0] == pytest.approx(LAST_PEAK / 1e6)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    reduction = 1 - LAST_PEAK / PELEE_PEAK  # 0.234375
    assert f"bottleneck reduction {reduction:+.0%}" in texts[1]
    assert "bottleneck reduction" not in texts[0]
    assert "(M)" in ax.get_ylabel() and ax.get_xlabel() and ax.get_title()


def test_scaling_has_one_line_per_model_and_growth_rate() -> None:
    specs = parse_specs(["densenet121", "cspdensenet121"])
    frame = scaling_frame(growth_scaling(specs, [12, 32]))
    ax = plot_scaling(frame)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert [label.split(":")[0] for label in labels] == [
        "densenet121, k=12",
        "densenet121, k=32",
        "cspdensenet121, k=12",
        "cspdensenet121, k=32",
    ]
    # the summed points of DenseNet-121 at k = 32 give its 2.83 GMACs (REFERENCE.md §3) ×2
    k32 = ax.get_lines()[1]
    assert sum(k32.get_ydata()) * 1e6 == pytest.approx(2 * 2.83e9, rel=0.01)
    assert ax.get_yscale() == "log"
    assert "FLOPs" in ax.get_ylabel()


def test_stage_bars_stack_to_the_totals(pelee) -> None:  # type: ignore[no-untyped-def]
    ax = plot_stage_bars(pelee, "macs")
    assert len(ax.containers) == 6  # stem, stage1..4, head
    heights = np.array([[bar.get_height() for bar in c] for c in ax.containers])
    assert heights.sum(axis=0) * 1e9 == pytest.approx([p.totals.macs for p in pelee])
    # PeleeNet's stem: 38.1 MMACs (REFERENCE.md §2)
    assert heights[0][0] * 1e3 == pytest.approx(38.1, abs=0.05)
    assert ax.get_legend().get_texts()[0].get_text() == "stem"
    cio = plot_stage_bars(pelee, "cio_conv_pool")
    assert "CIO" in cio.get_ylabel() and "elements" in cio.get_ylabel()


def test_stage_frame_rows(pelee) -> None:  # type: ignore[no-untyped-def]
    frame = stage_frame(pelee)
    assert len(frame) == 2 * 6
    assert frame.groupby("model", sort=False)["params"].sum().tolist() == [p.totals.params for p in pelee]


def test_gamma_sweep_lines_and_gaps() -> None:
    gammas = [0.0, 0.25, 0.5, 0.75, 0.9]
    frame = gamma_sweep_frame(gamma_sweep(ModelSpec("peleenet"), gammas))
    ax = plot_gamma_sweep(frame, "macs")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["none (plain, γ = 0)", "fusion_first", "fusion_last", "csp"]
    plain = ax.get_lines()[0]
    assert plain.get_ydata()[0] * 1e9 == pytest.approx(508e6, rel=0.005)  # REFERENCE.md §2
    for line in ax.get_lines()[1:]:
        assert list(line.get_xdata()) == gammas
    # γ = 0.9 leaves the 32-channel stem 3 channels, too few for a dense layer: a gap, with a note
    unbuildable = frame[frame["gamma"] == 0.9]
    assert unbuildable["macs"].isna().all()
    assert unbuildable["note"].str.contains("channels").all()
    assert math.isnan(ax.get_lines()[1].get_ydata()[-1])
    assert any("not buildable" in t.get_text() for t in ax.texts)


@pytest.mark.parametrize("bad", [1.0, -0.1, 2])
def test_gamma_sweep_range_is_checked(bad: float) -> None:
    with pytest.raises(SpecError, match=r"outside \[0, 1\)"):
        gamma_sweep(ModelSpec("peleenet"), [0.0, bad])


def test_roofline_frame_intensity_by_arithmetic() -> None:
    (profile,) = load_profiles([ModelSpec("densenet121")])
    device = DEVICES["jetson-nano"]
    row = roofline_frame(roofline(profile, device)).set_index("name").loc["features.conv0"]
    macs = 3 * 64 * 7 * 7 * 112 * 112
    moved = (3 * 224 * 224 + 64 * 112 * 112 + 3 * 64 * 7 * 7) * 4  # fp32 in, out, weights
    assert row["intensity"] == pytest.approx(2 * macs / moved)
    ridge = 236e9 / 25.6e9
    assert row["bound"] == ("compute" if 2 * macs / moved >= ridge else "memory")
    assert row["time_s"] == pytest.approx(max(2 * macs / 236e9, moved / 25.6e9))


def test_roofline_plot_has_roof_ridge_and_kinds(pelee) -> None:  # type: ignore[no-untyped-def]
    device = custom_device(100.0, 10.0)  # ridge = 100e9 / 10e9 = 10 FLOP/B
    ax = plot_roofline(roofline(pelee[0], device))
    roof, ridge = ax.get_lines()[:2]
    assert list(ridge.get_xdata()) == [10.0, 10.0]
    assert max(roof.get_ydata()) == pytest.approx(100.0)  # GFLOP/s
    kinds = sorted(set(roofline_frame(roofline(pelee[0], device))["kind"]))
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(scatters) == len(kinds)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert [label.split(" (")[0] for label in labels[2:]] == kinds
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert "FLOP / byte" in ax.get_xlabel() and "GFLOP/s" in ax.get_ylabel()


def test_devices() -> None:
    assert DEVICES["a100-sxm"].ridge("fp32") == pytest.approx(19.5e12 / 2.039e12)
    assert DEVICES["a100-sxm"].peak("fp16") == 312e12
    assert DEVICES["raspberry-pi4"].peak("fp16") == DEVICES["raspberry-pi4"].peak_flops
    mine = pick_device("500,25")
    assert (mine.peak_flops, mine.bandwidth) == (500e9, 25e9)
    assert mine.ridge() == pytest.approx(500 / 25)
    assert pick_device("t4") is DEVICES["t4"]
    with pytest.raises(SpecError, match="PEAK_GFLOPS,BANDWIDTH_GBS"):
        pick_device("fast,slow")
    with pytest.raises(SpecError, match="unknown device"):
        pick_device("tpu9")
    with pytest.raises(SpecError, match="positive"):
        custom_device(0, 10)


@pytest.mark.parametrize("kind", PLOT_KINDS)
def test_every_kind_makes_a_titled_figure(kind: str) -> None:
    specs = parse_specs(["peleenet"] if kind == "gamma" else ["peleenet", "csppeleenet"])
    data = plot_data(kind, specs, device=DEVICES["t4"], gammas=[0.0, 0.5], growth_rates=[16, 32])
    fig = figure_for(kind, data)
    for ax in fig.axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_gamma_plot_takes_one_model() -> None:
    with pytest.raises(SpecError, match="one model"):
        plot_data("gamma", parse_specs(["peleenet", "densenet121"]))
