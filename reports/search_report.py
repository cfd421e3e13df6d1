"""A finished search as a DataFrame, a Pareto-front plot and a section of the HTML report (its text,
the summary line, the Pareto table and the notes under it, is ``reports.search_text``).

Each row is one trial of the study (``search.study``): its design (fusion strategy, γ, growth rate,
multipliers), the analytic costs (MFLOPs = 2·MACs/1e6 at batch 1, params, CIO over conv and pool
layers), the measured latency (median and IQR, ms, with runtime, batch size and threads; eager torch
beside it), the validation accuracy (mean over seeds ± 95% interval) and, for the front, the test
accuracy. Plots take ``ax=None`` and return the ``Axes``; they never show or save.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter

from reports.search_text import PARETO_COLUMNS, TIE_RULE, front_notes, resolutions, row_cell, shown
from reports.text import TextTable

if TYPE_CHECKING:
    from reports.html import Page
    from search.results import TrialRow
    from search.spec import SearchResult, SearchSpec

__all__ = [
    "add_search_section",
    "label_resolutions",
    "pareto_html",
    "pareto_plot",
    "plot_axes",
    "resolutions_title",
    "trials_frame",
]

AXIS_LABELS = {
    "mflops": "MFLOPs = 2·MACs, batch 1 (M)",
    "params": "parameters",
    "cio": "CIO, conv+pool (elements)",
    "accuracy": "validation accuracy, mean over seeds",
    "latency_ms": "median latency (ms)",
}


COUNTS = ("params", "cio")
"""Axes of plain counts, in millions or thousands: their ticks take SI prefixes."""


def trials_frame(rows: Sequence[TrialRow]) -> pd.DataFrame:
    """One row per trial (``search.results.TrialRow``), indexed by trial number."""
    frame = pd.DataFrame([asdict(r) for r in rows])
    return frame.set_index("number", drop=False) if len(frame) else frame


OBJECTIVE_COLUMNS = {
    "accuracy": "accuracy",
    "macs": "mflops",
    "params": "params",
    "cio": "cio",
    "latency": "latency_ms",
}


def plot_axes(objectives: Sequence[str]) -> tuple[str, str]:
    """``(x, y)`` columns for the Pareto plot: accuracy up the y axis when it is an objective, the
    first cost objective along x."""
    cols = [OBJECTIVE_COLUMNS[o] for o in objectives]
    costs = [c for c in cols if c != "accuracy"] or ["mflops"]
    if "accuracy" in cols:
        return costs[0], "accuracy"
    if len(costs) > 1:
        return costs[0], costs[1]
    return costs[0], "params" if costs[0] != "params" else "mflops"


def resolutions_title(spec: SearchSpec, study: str | None) -> str:
    """A plot title naming the base, the study (``None``: the exact front of a cost-only search,
    which no study holds) and both resolutions."""
    where = f"study {study}" if study is not None else "exact front of the enumeration"
    return f"{spec.base}, {where}\n{resolutions(spec)}"


def label_resolutions(ax: Axes, spec: SearchSpec) -> Axes:
    """Add each axis's resolution to its label (``@224 px`` or ``proxy @32 px``)."""
    for get, set_ in ((ax.get_xlabel, ax.set_xlabel), (ax.get_ylabel, ax.set_ylabel)):
        label = get()
        where = f"proxy @{spec.proxy} px" if "accuracy" in label else f"@{spec.deploy_input} px"
        set_(f"{label}, {where}")
    return ax


def pareto_html(frame: pd.DataFrame) -> str:
    """The Pareto rows as an HTML table with unit headers, for a section of the HTML report."""
    return _pareto_cells(frame).to_html(index=False, escape=True, classes="pareto")


def _pareto_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """The Pareto rows, best first, formatted, under headers with units."""
    rows = frame[frame["pareto"]].sort_values("pareto_rank") if len(frame) else frame
    keys = shown(rows.to_dict("records"))
    return pd.DataFrame(
        {h: [row_cell(k, row) for _, row in rows.iterrows()] for k, h in PARETO_COLUMNS if k in keys}
    )


def pareto_plot(frame: pd.DataFrame, x: str = "mflops", y: str = "accuracy", ax: Axes | None = None) -> Axes:
    """Every evaluated design as a point: over-budget or failed ones crossed out, those halving
    stopped as open circles at the accuracy they reached, the Pareto front joined."""
    if ax is None:
        ax = Figure(figsize=(6.4, 5.0)).subplots()
    data = frame.dropna(subset=[x, y]) if len(frame) else frame
    feasible = data[data["feasible"]] if len(data) else data
    stopped = data["halted"].notna() if "halted" in data else pd.Series(False, index=data.index)
    halted = data[~data["feasible"] & stopped] if len(data) else data
    over = data[~data["feasible"] & ~stopped] if len(data) else data
    if len(over):
        ax.scatter(over[x], over[y], marker="x", color="tab:red", alpha=0.6, label="over budget / failed")
    if len(halted):
        ax.scatter(
            halted[x],
            halted[y],
            facecolors="none",
            edgecolors="tab:orange",
            label="stopped early by halving (accuracy it reached)",
        )
    if len(feasible):
        ax.scatter(feasible[x], feasible[y], color="tab:gray", alpha=0.7, label="feasible")
        front = feasible[feasible["pareto"]].sort_values(x)
        ax.plot(front[x], front[y], "o-", color="tab:blue", label="Pareto front")
        for _, row in front.iterrows():
            ax.annotate(
                row["design"], (row[x], row[y]), textcoords="offset points", xytext=(4, 4), fontsize=7
            )
    if len(data) and data[x].min() > 0 and data[x].max() > 10 * data[x].min():
        ax.set_xscale("log")
    ax.set_xlabel(AXIS_LABELS.get(x, x))
    ax.set_ylabel(AXIS_LABELS.get(y, y))
    for name, axis in ((x, ax.xaxis), (y, ax.yaxis)):
        if name in COUNTS:  # 12.5 M, not 1.25 beside a "1e7" in the corner
            axis.set_major_formatter(EngFormatter(sep=" "))
    ax.grid(True, alpha=0.3)
    if len(data):
        ax.legend(loc="best", fontsize=8)
    return ax


def add_search_section(page: Page, result: SearchResult) -> None:
    """A "Search" section of the HTML report (``reports.html.Page``): what was searched, the
    Pareto-front plot, the Pareto table and every trial as CSV/JSON."""
    spec = result.spec
    frame = trials_frame(result.rows())
    budgets = ", ".join(f"{k} ≤ {v:g}" for k, v in spec.budgets().items()) or "none"
    feasible = int(frame["feasible"].sum()) if len(frame) else 0
    page.section(
        "search",
        f"Search: study {result.study_name}",
        html.escape(
            f"{spec.base}: costs and latency at the deployment input {spec.deploy_input} px; "
            f"objectives {', '.join(spec.objectives)}; budgets: {budgets}; {len(frame)} trials, "
            f"{feasible} feasible. Accuracy is a proxy: the same topology trained on {spec.data} at "
            f"{spec.proxy} px for up to {spec.epochs} epochs, {spec.seeds} seed(s) from {spec.seed}, "
            f"scored on a validation split; {TIE_RULE}. MFLOPs = 2·MACs at batch 1"
            + (
                f"; latency is the median on {spec.devices[0]} at batch {spec.latency_batch}."
                if spec.times
                else "."
            )
        ),
    )
    fig = Figure(figsize=(6.4, 4.4))
    x, y = plot_axes(spec.objectives)
    pareto_plot(frame, x, y, ax=fig.subplots())
    page.plot(fig, "search-pareto", f"Pareto front of study {result.study_name}")
    if len(frame) and frame["pareto"].any():
        table = _pareto_cells(frame)
        page.table(TextTable(list(table.columns), table.values.tolist(), 2), "search-pareto")
        for line in front_notes(result):
            page.note(line)
    else:
        page.note("No feasible design: nothing met the budget.")
    if len(frame):
        page.data("search_trials", frame.drop(columns=["pareto_rank"]))
