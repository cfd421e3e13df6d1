"""The text of a finished search: its summary line, its Pareto table and the notes under it, made
from the typed rows (``search.results.TrialRow``) without pandas or matplotlib, so a cost-only search
prints its exact front before either is loaded. ``reports.search_report`` builds the DataFrame, the
plot and the HTML section from the same columns and cells.

The columns carry their units: MFLOPs = 2·MACs/1e6 at batch 1, params (all learnable), CIO over conv
and pool layers (elements, batch 1), validation accuracy (mean over seeds ± 95% interval), the front's
test accuracy, latency median and IQR in ms (eager torch beside it).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from reports.text import TextTable, rich_text

if TYPE_CHECKING:
    from search.results import TrialRow
    from search.spec import SearchResult, SearchSpec

__all__ = [
    "PARETO_COLUMNS",
    "TIE_RULE",
    "cell",
    "front_notes",
    "render_pareto",
    "resolutions",
    "row_cell",
    "shown",
    "summary_line",
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

TIE_RULE = (
    "accuracies whose 95% intervals overlap are tied, so the cheaper design dominates; the test "
    "split scores the front only and picks nothing"
)


def summary_line(result: SearchResult, rows: Sequence[TrialRow] | None = None) -> str:
    """One line: where the study lives, its trials by state, feasible, halted and dropped designs
    (``rows``: ``result.rows()``, when the caller already has them)."""
    rows = result.rows() if rows is None else rows
    deaths = "".join(_worker_death(i, code) for i, code in enumerate(result.worker_exits) if code != 0)
    if result.exact:
        return (
            f"cost-only search of {result.spec.base}: {len(rows)} design{_s(len(rows))} within the "
            f"budget, each costed exactly; no study stored"
        )
    if not rows:
        return f"study {result.study_name!r} in {result.storage}: no trials{deaths}"
    counts = ", ".join(f"{n} {s.lower()}" for s, n in Counter(r.state for r in rows).most_common())
    halted = sum(r.halted is not None for r in rows)
    dropped = sum(r.duplicate_of is not None for r in rows)
    return (
        f"study {result.study_name!r} in {result.storage}: {len(rows)} trials ({counts}); "
        f"{sum(r.feasible for r in rows)} feasible"
        + (f", {halted} stopped early by halving" if halted else "")
        + (f", {dropped} racing claims of a design already held dropped" if dropped else "")
        + deaths
    )


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _worker_death(index: int, code: int) -> str:
    how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
    return f"; worker {index} {how} (its trial is retried when the study resumes)"


def _missing(value: Any) -> bool:
    """None, or the NaN a DataFrame puts where a row has no value."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _accuracy(mean: Any, ci: Any, seeds: Any) -> str:
    """``0.9512 ± 0.0061 (3)``: the mean over seeds, the 95% half-width and the seed count."""
    if _missing(mean):
        return "—"
    out = f"{mean:.4f}"
    if not _missing(ci):
        out += f" ± {ci:.4f}"
    return out + (f" ({int(seeds)})" if not _missing(seeds) else "")


def row_cell(key: str, row: Mapping[str, Any]) -> str:
    """A cell of a Pareto row (a ``TrialRow`` as a mapping, or a DataFrame row): accuracies with
    their intervals, the latency with its flag."""
    if key == "accuracy":
        return _accuracy(row["accuracy"], row.get("accuracy_ci95"), row.get("seeds"))
    if key == "test_accuracy":
        return _accuracy(row["test_accuracy"], row.get("test_ci95"), row.get("seeds"))
    out = cell(key, row[key])
    if key == "latency_ms" and row.get("latency_noisy") is True:
        out += " NOISY"
    return out


def cell(key: str, value: Any) -> str:
    """One value formatted for its column (``—`` where the row has none)."""
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


def shown(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """The Pareto columns that hold a value in some record (latency only when it was measured)."""
    return [k for k, _ in PARETO_COLUMNS if any(k in r and not _missing(r[k]) for r in records)]


def render_pareto(rows: Sequence[TrialRow], title: str = "Pareto front") -> str:
    """The Pareto rows among ``rows``, best first, as a rich text table (plain text when not a
    terminal)."""
    front = [asdict(r) for r in sorted((r for r in rows if r.pareto), key=lambda r: r.pareto_rank or 0)]
    keys = shown(front)
    table = TextTable(
        [header for k, header in PARETO_COLUMNS if k in keys],
        [[row_cell(k, row) for k in keys] for row in front],
        title=title,
        left=frozenset(i for i, k in enumerate(keys) if k == "design"),
    )
    return rich_text([table], 160)


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
