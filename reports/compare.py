"""Renders a ``costmodel.compare.Comparison``: totals, per stage and the bottleneck, each value
with its Δ% against the first model, as a rich table, CSV (tidy long form), Markdown or JSON.

``TOTAL_METRICS`` and ``STAGE_METRICS`` are the column tables: (metric, header with unit, divisor
for the human formats); CSV and JSON keep raw counts in the units of ``costmodel.compare.UNITS``.
"""

from __future__ import annotations

import json

from costmodel.compare import STAGE_KEYS, TOTAL_KEYS, Comparison, Entry
from reports.text import Format, TextTable, csv_text, markdown_table, rich_text

__all__ = ["STAGE_METRICS", "TOTAL_METRICS", "comparison_tables", "render_comparison"]

_HEADERS: dict[str, tuple[str, float]] = {
    "macs": ("MACs (G)", 1e9),
    "flops": ("FLOPs = 2·MACs (G)", 1e9),
    "bflops_darknet": ("darknet BFLOPs 2019, conv+pool (G)", 1.0),
    "bflops_darknet_current": ("darknet BFLOPs today, +shortcut (G)", 1.0),
    "params": ("params, all (M)", 1e6),
    "params_conv": ("params, conv weights (M)", 1e6),
    "cio_conv": ("CIO conv (M elem)", 1e6),
    "cio_conv_pool": ("CIO conv+pool (M elem)", 1e6),
    "concat_elements": ("concat traffic (M elem)", 1e6),
    "act_bytes": ("activation bytes (MB)", 1e6),
    "weight_bytes": ("weight bytes (MB)", 1e6),
}
TOTAL_METRICS: tuple[tuple[str, str, float], ...] = tuple((k, *_HEADERS[k]) for k in TOTAL_KEYS)
STAGE_METRICS: tuple[tuple[str, str, float], ...] = tuple((k, *_HEADERS[k]) for k in STAGE_KEYS)


def _cell(entry: Entry, scale: float, first: bool) -> str:
    v, d = entry.value, entry.delta_pct
    if v is None:
        return "—"
    text = f"{v / scale:,.3f}"
    if first:
        return text
    return f"{text} ({'n/a' if d is None else f'{d:+.1f}%'})"


def comparison_tables(data: Comparison) -> list[TextTable]:
    """The totals, per-stage and bottleneck tables of a comparison."""
    models = data.models
    header_models = [models[0], *[f"{m} (Δ%)" for m in models[1:]]]
    totals = [
        [header, *[_cell(e, scale, i == 0) for i, e in enumerate(data.totals[key])]]
        for key, header, scale in TOTAL_METRICS
    ]
    stages = [
        [stage, header, *[_cell(e, scale, i == 0) for i, e in enumerate(table[key])]]
        for key, header, scale in STAGE_METRICS
        for stage, table in data.stages.items()
    ]
    peaks = [p.bottleneck for p in data.peaks]
    bottleneck = [
        ["peak layer", *[b.peak_layer for b in peaks]],
        ["peak MACs (M)", *[f"{b.peak_macs / 1e6:,.1f}" for b in peaks]],
        ["peak share of MACs", *[f"{b.peak_share:.1%}" for b in peaks]],
        ["peak ÷ mean", *[f"{b.peak_to_mean:.2f}" for b in peaks]],
        ["CV of per-layer MACs", *[f"{b.cv:.2f}" for b in peaks]],
        ["bottleneck reduction", *[f"{p.reduction_vs_baseline:+.1%}" for p in data.peaks]],
    ]
    return [
        TextTable(["metric", *header_models], totals, 1, f"totals, Δ% against {models[0]}"),
        TextTable(["stage", "metric", *header_models], stages, 2, f"per stage, Δ% against {models[0]}"),
        TextTable(
            ["metric", *models],
            bottleneck,
            1,
            f"computational bottleneck (reduction = 1 − peak ÷ peak of {models[0]})",
        ),
    ]


def render_comparison(data: Comparison, fmt: Format | str = Format.table) -> str:
    """The comparison in one of ``table``'s formats (CSV is the tidy long form)."""
    fmt = Format(fmt)
    if fmt is Format.json:
        return json.dumps(data.to_dict(), indent=2, ensure_ascii=False)
    if fmt is Format.csv:
        records = data.records()
        return csv_text(list(records[0]), [list(r.values()) for r in records])
    tables = comparison_tables(data)
    if fmt is Format.markdown:
        parts = []
        for t in tables:
            parts += [f"**{t.title}**", "", markdown_table(t)]
        return "\n".join(parts)
    inputs = ", ".join("×".join(map(str, s)) for s in data.inputs)
    return rich_text(tables, 60 + 34 * len(data.models), [f"precision {data.precision}; inputs {inputs}"])
