"""A finished search as a DataFrame, a Pareto table and a Pareto-front plot.

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
from typing import TYPE_CHECKING, Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from reports.text import TextTable, rich_text

if TYPE_CHECKING:
    from reports.html import Page
    from search.results import TrialRow
    from search.spec import SearchResult, SearchSpec

__all__ = [
    "PARETO_COLUMNS",
    "add_search_section",
    "front_notes",
    "label_resolutions",
    "pareto_html",
    "pareto_plot",
    "plot_axes",
    "render_pareto",
    "resolutions",
    "resolutions_title",
    "summary_line",
    "trials_frame",
]

PARETO_COLUMNS: tuple[tuple[str, str], ...] = (
    ("number", "trial"),
    ("design", "design"),
    ("mflops", "MFLOPs=2·MACs (M)"),
    ("params", "params (all)"),
    ("cio", "CIO conv+pool (elem)"),
    ("accuracy", "val acc, mean ± 95% (seeds)"),
    ("test_accuracy", "test acc, mean ± 95%"),
    ("latency_ms", "latency median (ms)"),
    ("latency_iqr_ms", "latency IQR (ms)"),
    ("eager_torch_ms", "eager torch (ms)"),
)

AXIS_LABELS = {
    "mflops": "MFLOPs = 2·MACs, batch 1 (M)",
    "params": "parameters",
    "cio": "CIO, conv+pool (elements)",
    "accuracy": "validation accuracy, mean over seeds",
    "latency_ms": "median latency (ms)",
}


def trials_frame(rows: Sequence[TrialRow]) -> pd.DataFrame:
    """One row per trial (``search.results.TrialRow``), indexed by trial number."""
    frame = pd.DataFrame([asdict(r) for r in rows])
    return frame.set_index("number", drop=False) if len(frame) else frame


def summary_line(result: SearchResult, frame: pd.DataFrame) -> str:
    """One line: where the study lives, its trials by state, feasible and reused designs."""
    deaths = "".join(_worker_death(i, code) for i, code in enumerate(result.worker_exits) if code != 0)
    if not len(frame):
        return f"study {result.study_name!r} in {result.storage}: no trials{deaths}"
    counts = ", ".join(f"{n} {s.lower()}" for s, n in frame["state"].value_counts().items())
    halted = int(frame["halted"].notna().sum()) if "halted" in frame else 0
    dropped = int(frame["duplicate_of"].notna().sum())
    return (
        f"study {result.study_name!r} in {result.storage}: {len(frame)} trials ({counts}); "
        f"{int(frame['feasible'].sum())} feasible"
        + (f", {halted} stopped early by halving" if halted else "")
        + (f", {dropped} racing claims of a design already held dropped" if dropped else "")
        + deaths
    )


def _worker_death(index: int, code: int) -> str:
    how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
    return f"; worker {index} {how} (its trial is retried when the study resumes)"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))


def _accuracy(mean: Any, ci: Any, seeds: Any) -> str:
    """``0.9512 ± 0.0061 (3)``: the mean over seeds, the 95% half-width and the seed count."""
    if _missing(mean):
        return "—"
    out = f"{mean:.4f}"
    if not _missing(ci):
        out += f" ± {ci:.4f}"
    return out + (f" ({int(seeds)})" if not _missing(seeds) else "")


def _row_cell(key: str, row: Any) -> str:
    """A cell of a Pareto row: accuracies with their intervals, the latency with its flag."""
    if key == "accuracy":
        return _accuracy(row["accuracy"], row.get("accuracy_ci95"), row.get("seeds"))
    if key == "test_accuracy":
        return _accuracy(row["test_accuracy"], row.get("test_ci95"), row.get("seeds"))
    cell = _cell(key, row[key])
    if key == "latency_ms" and row.get("latency_noisy") is True:
        cell += " NOISY"
    return cell


def _cell(key: str, value: Any) -> str:
    if _missing(value):
        return "—"
    if key == "mflops":
        return f"{value:,.3f}"
    if key in ("params", "cio"):
        return f"{int(value):,}"
    if key == "accuracy":
        return f"{value:.4f}"
    if key.startswith("latency") or key == "eager_torch_ms":
        return f"{value:.3f}"
    return str(value)


def _shown(rows: pd.DataFrame) -> list[str]:
    """The Pareto columns that hold a value in some row (latency only when it was measured)."""
    return [k for k, _ in PARETO_COLUMNS if k in rows.columns and rows[k].notna().any()]


def render_pareto(frame: pd.DataFrame, title: str = "Pareto front") -> str:
    """The Pareto rows of ``frame`` as a rich text table (plain text when not a terminal)."""
    front = frame[frame["pareto"]].sort_values("pareto_rank")
    keys = _shown(front)
    table = TextTable(
        [header for k, header in PARETO_COLUMNS if k in keys],
        [[_row_cell(k, row) for k in keys] for _, row in front.iterrows()],
        title=title,
        left=frozenset(i for i, k in enumerate(keys) if k == "design"),
    )
    return rich_text([table], 160)


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


TIE_RULE = (
    "accuracies whose 95% intervals overlap are tied, so the cheaper design dominates; the test "
    "split scores the front only and picks nothing"
)


def front_notes(result: SearchResult) -> list[str]:
    """Lines under the Pareto table: the tie rule, the latency conditions and how well the
    analytic costs rank the measured latency."""
    spec = result.spec
    out = []
    if spec.trains:
        out.append(
            f"accuracy: validation split, mean over {spec.seeds} seed{'s' if spec.seeds != 1 else ''} "
            f"± 95% Student-t half-width; {TIE_RULE}"
        )
    rho = result.correlations
    if rho:
        n = int(rho["designs"])
        parts = [
            f"{k.replace(' vs ', ' latency vs ')} ρ = {v:+.2f}" for k, v in rho.items() if k != "designs"
        ]
        out.append(f"Spearman rank correlation over the {n} designs timed: " + "; ".join(parts))
    return out


def resolutions(spec: SearchSpec) -> str:
    """Which resolution each number belongs to: costs at deployment, accuracy at the proxy."""
    out = f"costs{' and latency' if spec.times else ''} at {spec.deploy_input} px (deployed)"
    if spec.trains:
        out += f"; accuracy: proxy, same topology trained at {spec.proxy} px"
    return out


def resolutions_title(spec: SearchSpec, study: str) -> str:
    """A plot title naming the base, the study and both resolutions."""
    return f"{spec.base}, study {study}\n{resolutions(spec)}"


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
    keys = _shown(rows)
    return pd.DataFrame(
        {h: [_row_cell(k, row) for _, row in rows.iterrows()] for k, h in PARETO_COLUMNS if k in keys}
    )


def pareto_plot(frame: pd.DataFrame, x: str = "mflops", y: str = "accuracy", ax: Axes | None = None) -> Axes:
    """Every evaluated design as a point, infeasible ones crossed out, the Pareto front joined."""
    if ax is None:
        ax = Figure(figsize=(6.4, 4.4)).subplots()
    data = frame.dropna(subset=[x, y]) if len(frame) else frame
    feasible = data[data["feasible"]] if len(data) else data
    over = data[~data["feasible"]] if len(data) else data
    if len(over):
        ax.scatter(over[x], over[y], marker="x", color="tab:red", alpha=0.6, label="over budget / failed")
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
