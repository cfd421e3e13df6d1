"""Plots of costs (matplotlib's object API: ``Figure``, never pyplot's global state or a backend
switch): each ``plot_*`` takes ``ax=None``, draws on it (or on a new figure) and returns the Axes;
none shows or saves. The ``figure_*`` functions compose them into the figures that ``cspcost plot``
and ``cspcost report`` save; ``figure_for`` draws ``costmodel.overview.plot_data``'s result.

What they show, after the CSPNet paper (Wang et al., CVPRW 2020):

- ``plot_bottleneck``: per-layer MACs in execution order for a baseline and its CSP version(s), each
  peak marked, and the bottleneck reduction ``1 − peak(CSP)/peak(baseline)`` in the legend (§3.1,
  §4.5; the paper's bottleneck claims, each beside the figure this tool measures, are
  ``costmodel.reproduce.claims``);
- ``plot_scaling``: per-layer FLOPs of DenseNet and CSPDenseNet at several growth rates;
- ``plot_stage_bars``: per-stage stacked bars of MACs or CIO;
- ``plot_gamma_sweep``: MACs, params or CIO as γ goes from 0 to 0.9, one line per fusion (Figure 3);
- ``plot_roofline``: each layer's arithmetic intensity against a device's ridge point.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from costmodel.analyze import Profile
from costmodel.bottleneck import bottleneck_reduction
from costmodel.errors import SpecError
from costmodel.overview import PlotData
from costmodel.roofline import Roofline
from costmodel.sweeps import GammaSweep, ScalingRun
from reports.frames import gamma_sweep_frame, macs_frame, roofline_frame, scaling_frame, stage_frame

__all__ = [
    "METRIC_LABELS",
    "figure_bottleneck",
    "figure_files",
    "figure_for",
    "figure_gamma_sweep",
    "figure_roofline",
    "figure_scaling",
    "figure_stage_bars",
    "plot_bottleneck",
    "plot_gamma_sweep",
    "plot_roofline",
    "plot_scaling",
    "plot_stage_bars",
    "save_figure",
]

# metric -> (axis label with unit, divisor)
METRIC_LABELS: dict[str, tuple[str, float]] = {
    "macs": ("MACs (G, batch 1)", 1e9),
    "flops": ("FLOPs = 2·MACs (G)", 1e9),
    "params": ("parameters (M)", 1e6),
    "params_conv": ("conv weights (M)", 1e6),
    "cio_conv": ("CIO, conv scope (M elements)", 1e6),
    "cio_conv_pool": ("CIO, conv+pool scope (M elements)", 1e6),
    "concat_elements": ("concat traffic (M elements)", 1e6),
}
STAGE_COLORS = [colormaps["tab10"](i) for i in range(10)]


def _axes(ax: Axes | None, size: tuple[float, float] = (9.0, 5.0)) -> Axes:
    if ax is not None:
        return ax
    fig = Figure(figsize=size, layout="constrained")
    return fig.add_subplot()


def plot_bottleneck(profiles: Sequence[Profile], ax: Axes | None = None) -> Axes:
    """Per-layer MACs of each profile; the first is the baseline of the reductions."""
    ax = _axes(ax)
    base = profiles[0].bottleneck()
    for i, profile in enumerate(profiles):
        frame = macs_frame(profile)
        b = profile.bottleneck()
        label = f"{profile.name}: peak {b.peak_macs / 1e6:,.1f} MMACs"
        if i > 0:
            label += f", bottleneck reduction {bottleneck_reduction(base, b):+.0%}"
        color = "0.25" if i == 0 else f"C{i}"
        (line,) = ax.plot(
            frame["position"],
            frame["macs"] / 1e6,
            color=color,
            lw=1.1,
            alpha=0.9,
            label=label,
            drawstyle="steps-mid",
        )
        peak = frame.loc[frame["macs"].idxmax()]
        ax.plot(
            [peak["position"]],
            [peak["macs"] / 1e6],
            marker="v",
            ms=10,
            color=color,
            ls="none",
            markeredgecolor="black",
            zorder=5,
        )
        ax.annotate(
            str(peak["name"]).removeprefix("features."),
            (peak["position"], peak["macs"] / 1e6),
            xytext=(9, -5 - 11 * i),
            textcoords="offset points",
            fontsize=8,
            color=line.get_color(),
        )
    ax.set_xlabel("conv / linear layer, in execution order")
    ax.set_ylabel("MACs per layer (M)")
    ax.set_title("Computational bottleneck: per-layer MACs (▼ marks each peak)")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.05)
    ax.margins(x=0.01)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize=8, framealpha=0.9)
    return ax


def _module(name: str) -> str:
    """The dense layer a conv belongs to (``...denselayer3``), else its parent module."""
    match = re.match(r"(.*\.denselayer\d+)\.", name)
    return match.group(1) if match else name.rsplit(".", 1)[0]


def _per_module(part: pd.DataFrame) -> pd.DataFrame:
    """Sum consecutive layers of one module (all convs of a dense layer), in order."""
    module = part["name"].map(_module)
    run = (module != module.shift()).cumsum()
    return part.groupby(run, sort=True).agg(depth=("depth", "mean"), flops=("flops", "sum"))


def plot_scaling(frame: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """FLOPs along relative depth, one line per (model, growth rate) of a
    ``reports.frames.scaling_frame``; colour is the growth rate, line style the model. Consecutive
    layers of one module are summed (all convs of a dense layer make one point), so the line follows
    the dense blocks instead of zig-zagging between the convs inside every dense layer."""
    ax = _axes(ax)
    rates = sorted(frame["growth_rate"].unique())
    cmap = colormaps["viridis"]
    styles = ["-", "--", ":", "-."]
    for mi, (model, by_model) in enumerate(frame.groupby("model", sort=False)):
        for ki, k in enumerate(rates):
            part = by_model[by_model["growth_rate"] == k]
            units = _per_module(part)
            ax.plot(
                units["depth"],
                units["flops"] / 1e6,
                ls=styles[mi % len(styles)],
                lw=1.3,
                color=cmap(ki / max(len(rates) - 1, 1) * 0.9),
                label=f"{model}, k={k}: {part['flops'].sum() / 1e9:,.2f} GFLOPs",
            )
    ax.set_yscale("log")
    ax.set_xlabel("relative depth (0 = first conv, 1 = classifier)")
    ax.set_ylabel("FLOPs per module (M, 2·MACs, log scale)")
    ax.set_title("Scaling with growth rate k: FLOPs per module (a dense layer's convs summed)")
    ax.title.set_fontsize(11)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    return ax


def plot_stage_bars(profiles: Sequence[Profile], metric: str = "macs", ax: Axes | None = None) -> Axes:
    """One stacked bar per model, one segment per stage, of ``metric`` (see ``METRIC_LABELS``)."""
    ax = _axes(ax, (6.0, 5.0))
    label, scale = METRIC_LABELS[metric]
    frame = stage_frame(profiles)
    stages = list(dict.fromkeys(frame["stage"]))
    models = list(dict.fromkeys(frame["model"]))
    table = (
        frame.pivot(index="model", columns="stage", values=metric)
        .reindex(index=models, columns=stages)
        .fillna(0)
        / scale
    )
    bottom = pd.Series(0.0, index=models)
    x = range(len(models))
    for si, stage in enumerate(stages):
        ax.bar(
            x,
            table[stage],
            bottom=bottom,
            label=stage,
            color=STAGE_COLORS[si % len(STAGE_COLORS)],
            edgecolor="white",
            lw=0.5,
        )
        bottom += table[stage]
    for xi, total in zip(x, bottom, strict=True):
        ax.annotate(
            f"{total:,.2f}",
            (xi, total),
            ha="center",
            va="bottom",
            fontsize=8,
            xytext=(0, 2),
            textcoords="offset points",
        )
    ax.set_xticks(list(x), [m.replace(" ", "\n", 1) for m in models], fontsize=8)
    ax.set_xlabel("model (segments: stages, bottom = stem)")
    ax.set_ylabel(label)
    ax.set_title(f"{label.split(' (')[0]} per stage")
    ax.set_ylim(0, bottom.max() * 1.12)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(title="stage", fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax


def plot_gamma_sweep(frame: pd.DataFrame, metric: str = "macs", ax: Axes | None = None) -> Axes:
    """``metric`` against γ, one line per fusion strategy (``reports.frames.gamma_sweep_frame``);
    the plain model (fusion ``none``, γ = 0), when the frame has it, is a dashed horizontal line."""
    ax = _axes(ax, (6.0, 4.5))
    label, scale = METRIC_LABELS[metric]
    markers = {"fusion_first": "o", "fusion_last": "s", "csp": "^"}
    for fusion, part in frame.groupby("fusion", sort=False):
        if fusion == "none":
            ax.axhline(part[metric].iloc[0] / scale, color="0.3", ls="--", lw=1, label="none (plain, γ = 0)")
            continue
        ax.plot(
            part["gamma"], part[metric] / scale, marker=markers.get(str(fusion), "."), ms=4, label=str(fusion)
        )
    missing = sorted(set(frame.loc[frame[metric].isna(), "gamma"]))
    if missing:  # designs the family cannot build: shade them rather than leave a silent gap
        ax.axvspan(missing[0] - 0.05, 0.92, color="0.85", alpha=0.6, lw=0)
        ax.text(
            missing[0] - 0.02,
            0.5,
            "not buildable\n(a channel count rounds to 0)",
            transform=ax.get_xaxis_transform(),
            rotation=90,
            ha="left",
            va="center",
            fontsize=7,
            color="0.3",
        )
    ax.set_xlabel("partial ratio γ (fraction of channels bypassing the block)")
    ax.set_ylabel(label)
    ax.set_title(f"γ sweep: {label.split(' (')[0]}")
    ax.set_xlim(-0.02, 0.92)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, title="fusion")
    return ax


def plot_roofline(roofline: Roofline, ax: Axes | None = None) -> Axes:
    """Each layer that does arithmetic at its intensity (FLOP/byte, every access counted) on the
    device's roof ``min(peak, bandwidth·I)``, coloured by layer kind, its marker area proportional
    to its estimated time ``max(work/peak, bytes/bandwidth)``; the legend gives each kind's share
    of the estimated time, so memory-bound layers that do little arithmetic still show their
    cost."""
    ax = _axes(ax, (9.0, 5.5))
    frame = roofline_frame(roofline)
    device = roofline.device
    peak, bw = roofline.peak, device.bandwidth
    ridge = peak / bw
    lo = min(frame["intensity"].min(), ridge) / 3
    hi = max(frame["intensity"].max(), ridge) * 3
    xs = [lo, ridge, hi]
    ax.plot(
        xs,
        [min(peak, bw * x) / 1e9 for x in xs],
        color="black",
        lw=1.5,
        label=f"roof: {peak / 1e12:,.3g} TFLOP/s, {bw / 1e9:,.4g} GB/s",
    )
    ax.axvline(ridge, color="black", ls=":", lw=1, label=f"ridge point {ridge:,.1f} FLOP/B")
    total_time = frame["time_s"].sum()
    tmax = frame["time_s"].max()
    for ki, (kind, part) in enumerate(frame.groupby("kind")):
        share = part["time_s"].sum() / total_time
        ax.scatter(
            part["intensity"],
            part["attainable"] / 1e9,
            s=10 + 250 * part["time_s"] / tmax,
            alpha=0.5,
            color=f"C{ki}",
            edgecolors="none",
            label=f"{kind} ({len(part)} layers, {share:.0%} of time)",
        )
    mem = frame[frame["bound"] == "memory"]
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_xlabel("arithmetic intensity (FLOP / byte moved, activations + weights)")
    ax.set_ylabel("attainable performance (GFLOP/s, log)")
    ax.set_title(
        f"Roofline: {roofline.model} on {device.name}, {roofline.precision}\n"
        f"{len(mem)} of {len(frame)} layers memory-bound, taking "
        f"{mem['time_s'].sum() / total_time:.0%} of the est. {1e3 * total_time:,.3g} ms"
        f"\nmarker area ∝ a layer's estimated time"
    )
    ax.title.set_fontsize(10)
    ax.grid(alpha=0.3, which="both")
    legend = ax.legend(fontsize=8, loc="lower right", framealpha=0.9)
    for handle in legend.legend_handles[2:]:
        handle.set_sizes([30])  # type: ignore[union-attr]
    return ax


# --- figures: what the CLI and the HTML report save -----------------------------------------------


def _figure(ncols: int = 1, size: tuple[float, float] = (10.0, 5.5)) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def figure_bottleneck(profiles: Sequence[Profile]) -> Figure:
    fig, (ax,) = _figure()
    plot_bottleneck(profiles, ax)
    return fig


def figure_scaling(runs: Sequence[ScalingRun]) -> Figure:
    fig, (ax,) = _figure()
    plot_scaling(scaling_frame(runs), ax)
    return fig


def figure_stage_bars(profiles: Sequence[Profile]) -> Figure:
    fig, axes = _figure(2, (6.0 + 2.0 * len(profiles), 5.5))
    plot_stage_bars(profiles, "macs", axes[0])
    plot_stage_bars(profiles, "cio_conv_pool", axes[1])
    legend = axes[0].get_legend()
    if legend is not None:  # one stage legend, beside the second panel, serves both
        legend.remove()
    return fig


def figure_gamma_sweep(sweep: GammaSweep) -> Figure:
    frame = gamma_sweep_frame(sweep.points)
    fig, axes = _figure(3, (15.0, 4.8))
    for ax, metric in zip(axes, ("macs", "params", "cio_conv_pool"), strict=True):
        plot_gamma_sweep(frame, metric, ax)
    fig.suptitle(f"{sweep.label}: cost against the partial ratio γ, per fusion strategy")
    return fig


def figure_roofline(rooflines: Sequence[Roofline]) -> Figure:
    """One roofline per model, two per row."""
    ncols = min(2, len(rooflines))
    nrows = -(-len(rooflines) // ncols)
    fig = Figure(figsize=(8.0 * ncols, 5.5 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, roofline in zip(axes, rooflines, strict=False):
        plot_roofline(roofline, ax)
    for ax in axes[len(rooflines) :]:
        ax.set_axis_off()
    return fig


def figure_files(fig: Figure, stem: str) -> dict[str, bytes]:
    """``{stem}.png`` and ``{stem}.svg`` of a figure, rendered in memory."""
    out: dict[str, bytes] = {}
    for ext in ("png", "svg"):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, dpi=110)
        out[f"{stem}.{ext}"] = buf.getvalue()
    return out


def save_figure(fig: Figure, out_dir: Path, stem: str) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg`` into ``out_dir`` atomically (``reports.output``: a file
    of the same name is replaced only when cspcost wrote it); returns both paths."""
    from reports.output import write_files

    return write_files(out_dir, figure_files(fig, stem))


def figure_for(kind: str, data: PlotData) -> Figure:
    """The figure ``cspcost plot KIND`` saves, drawn from ``costmodel.overview.plot_data(KIND, ...)``."""
    if isinstance(data, GammaSweep):
        return figure_gamma_sweep(data)
    if kind == "scaling":
        return figure_scaling(cast(list[ScalingRun], data))
    if kind == "roofline":
        return figure_roofline(cast(list[Roofline], data))
    if kind == "bottleneck":
        return figure_bottleneck(cast(list[Profile], data))
    if kind == "stages":
        return figure_stage_bars(cast(list[Profile], data))
    raise SpecError(f"no figure for plot kind {kind!r}")
