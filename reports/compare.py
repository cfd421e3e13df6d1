"""Models side by side: totals and per-stage costs, each with its delta against the first model.

The CSPNet paper's claims are relative ("cuts computation by 10–20 %", "CIO at most half"), so every
value here carries ``Δ% = 100·(value − baseline) / baseline`` against the first model given. Units
follow ``costmodel.CONVENTIONS``; bytes are at the comparison's precision. ``comparison`` is the
data (also the JSON contract of ``cspcost compare --format json``); ``render_comparison`` formats
it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from costmodel.analyze import CONVENTIONS, Profile
from costmodel.bottleneck import bottleneck_reduction
from costmodel.cost import Cost
from reports.tables import Format

__all__ = [
    "STAGE_METRICS",
    "TOTAL_METRICS",
    "comparison",
    "comparison_grid",
    "comparison_records",
    "delta_pct",
    "markdown_table",
    "render_comparison",
    "rich_tables",
]

# (metric key, header with unit, divisor for human formats);
# CSV and JSON keep raw counts, in RAW_UNITS
TOTAL_METRICS: tuple[tuple[str, str, float], ...] = (
    ("macs", "MACs (G)", 1e9),
    ("flops", "FLOPs = 2·MACs (G)", 1e9),
    ("bflops_darknet", "darknet BFLOPs 2019, conv+pool (G)", 1.0),
    ("bflops_darknet_current", "darknet BFLOPs today, +shortcut (G)", 1.0),
    ("params", "params, all (M)", 1e6),
    ("params_conv", "params, conv weights (M)", 1e6),
    ("cio_conv", "CIO conv (M elem)", 1e6),
    ("cio_conv_pool", "CIO conv+pool (M elem)", 1e6),
    ("concat_elements", "concat traffic (M elem)", 1e6),
    ("act_bytes", "activation bytes (MB)", 1e6),
    ("weight_bytes", "weight bytes (MB)", 1e6),
)
RAW_UNITS: dict[str, str] = {
    "macs": "MACs",
    "flops": "FLOPs (2·MACs)",
    "bflops_darknet": "GFLOPs, darknet 2019 convention (conv + pooling)",
    "bflops_darknet_current": "GFLOPs, today's darknet convention (+ shortcut term)",
    "params": "parameters",
    "params_conv": "conv weights",
    "cio_conv": "elements",
    "cio_conv_pool": "elements",
    "concat_elements": "elements",
    "act_bytes": "bytes",
    "weight_bytes": "bytes",
}
STAGE_METRICS: tuple[tuple[str, str, float], ...] = tuple(
    m
    for m in TOTAL_METRICS
    if m[0] in ("macs", "params", "cio_conv", "cio_conv_pool", "concat_elements", "act_bytes")
)


def metrics(cost: Cost, bytes_per_element: int) -> dict[str, float]:
    """Every metric of ``TOTAL_METRICS`` for one cost (a layer, a stage or a network)."""
    return {
        **cost.as_dict(),
        "flops": cost.flops,
        "bflops_darknet": cost.flops_darknet / 1e9,
        "bflops_darknet_current": cost.flops_darknet_current / 1e9,
        "act_bytes": (cost.read_elements + cost.write_elements) * bytes_per_element,
        "weight_bytes": cost.params * bytes_per_element,
    }


def delta_pct(value: float, baseline: float) -> float | None:
    """``100·(value − baseline)/baseline``; 0 when both are 0, ``None`` when only the baseline
    is."""
    if baseline == 0:
        return 0.0 if value == 0 else None
    return 100.0 * (value - baseline) / baseline


def _entries(values: list[float | None]) -> list[dict[str, float | None]]:
    base = values[0]
    return [
        {"value": v, "delta_pct": None if v is None or base is None else delta_pct(v, base)} for v in values
    ]


def comparison(profiles: Sequence[Profile]) -> dict[str, Any]:
    """Totals and per-stage metrics of each profile, with deltas against the first.

    ``totals[metric]`` and ``stages[stage][metric]`` are lists aligned with ``models``, each entry
    ``{"value": v, "delta_pct": d}``; a stage a model lacks has value ``None``.
    """
    if not profiles:
        raise ValueError("comparison needs at least one profile")
    precisions = {p.precision for p in profiles}
    stage_costs = [p.stage_totals() for p in profiles]
    stage_names: list[str] = []
    for st in stage_costs:
        stage_names += [s for s in st if s not in stage_names]
    total_values = [metrics(p.totals, p.bytes_per_element) for p in profiles]
    stages: dict[str, dict[str, list[dict[str, float | None]]]] = {}
    for stage in stage_names:
        per_model = [
            metrics(st[stage], p.bytes_per_element) if stage in st else None
            for p, st in zip(profiles, stage_costs, strict=True)
        ]
        stages[stage] = {
            key: _entries([None if m is None else m[key] for m in per_model]) for key, _, _ in STAGE_METRICS
        }
    return {
        "models": [p.name for p in profiles],
        "inputs": [list(p.network.input_shape) for p in profiles],
        "precision": profiles[0].precision if len(precisions) == 1 else sorted(precisions),
        "baseline": profiles[0].name,
        "conventions": dict(CONVENTIONS),
        "units": dict(RAW_UNITS),
        "totals": {key: _entries([v[key] for v in total_values]) for key, _, _ in TOTAL_METRICS},
        "stages": stages,
        "bottleneck": _bottlenecks(profiles),
    }


def _bottlenecks(profiles: Sequence[Profile]) -> list[dict[str, Any]]:
    """Per model: the peak-MACs layer and the spread of per-layer MACs, and the bottleneck reduction
    ``1 − peak / peak(first model)`` (paper §3.1: CSP should cut the peak)."""
    summaries = [p.bottleneck() for p in profiles]
    return [
        {**b.as_dict(), "reduction_vs_baseline": bottleneck_reduction(summaries[0], b)} for b in summaries
    ]


def comparison_records(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The comparison as tidy rows: scope (``total`` or a stage), metric, unit, model, value and
    delta_pct."""
    rows: list[dict[str, Any]] = []
    scopes = [("total", data["totals"]), *data["stages"].items()]
    for scope, table in scopes:
        for metric, entries in table.items():
            for model, entry in zip(data["models"], entries, strict=True):
                rows.append(
                    {"scope": scope, "metric": metric, "unit": data["units"][metric], "model": model, **entry}
                )
    return rows


def _cell(entry: dict[str, float | None], scale: float, first: bool) -> str:
    v, d = entry["value"], entry["delta_pct"]
    if v is None:
        return "—"
    text = f"{v / scale:,.3f}"
    if first:
        return text
    return f"{text} ({'n/a' if d is None else f'{d:+.1f}%'})"


def comparison_grid(data: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, body) for the totals and the per-stage tables."""
    models = data["models"]
    header_models = [models[0], *[f"{m} (Δ%)" for m in models[1:]]]
    totals = [
        [header, *[_cell(e, scale, i == 0) for i, e in enumerate(data["totals"][key])]]
        for key, header, scale in TOTAL_METRICS
    ]
    stages = [
        [stage, header, *[_cell(e, scale, i == 0) for i, e in enumerate(table[key])]]
        for key, header, scale in STAGE_METRICS
        for stage, table in data["stages"].items()
    ]
    peaks = data["bottleneck"]
    bottleneck = [
        ["peak layer", *[b["peak_layer"] for b in peaks]],
        ["peak MACs (M)", *[f"{b['peak_macs'] / 1e6:,.1f}" for b in peaks]],
        ["peak share of MACs", *[f"{b['peak_share']:.1%}" for b in peaks]],
        ["peak ÷ mean", *[f"{b['peak_to_mean']:.2f}" for b in peaks]],
        ["CV of per-layer MACs", *[f"{b['cv']:.2f}" for b in peaks]],
        ["bottleneck reduction", *[f"{b['reduction_vs_baseline']:+.1%}" for b in peaks]],
    ]
    return [
        (f"totals, Δ% against {models[0]}", ["metric", *header_models], totals),
        (f"per stage, Δ% against {models[0]}", ["stage", "metric", *header_models], stages),
        (
            f"computational bottleneck (reduction = 1 − peak ÷ peak of {models[0]})",
            ["metric", *models],
            bottleneck,
        ),
    ]


def markdown_table(header: Sequence[str], body: Sequence[Sequence[str]], text_cols: int = 1) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if i < text_cols else "---:" for i in range(len(header))) + "|",
    ]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body]) + "\n"


def rich_tables(data: dict[str, Any]) -> str:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=60 + 34 * len(data["models"]), record=True, force_terminal=False)
    with console.capture() as cap:
        for title, header, body in comparison_grid(data):
            text_cols = len(header) - len(data["models"])
            table = Table(title=title)
            for i, h in enumerate(header):
                table.add_column(h, justify="left" if i < text_cols else "right")
            for row in body:
                table.add_row(*row)
            console.print(table)
        console.print(
            f"precision {data['precision']}; inputs "
            + ", ".join("×".join(map(str, s)) for s in data["inputs"]),
            highlight=False,
        )
    return cap.get()


def render_comparison(profiles: Sequence[Profile], fmt: Format | str = Format.table) -> str:
    """The comparison in one of ``table``'s formats (CSV is the tidy long form)."""
    fmt = Format(fmt)
    data = comparison(profiles)
    if fmt is Format.json:
        return json.dumps(data, indent=2, ensure_ascii=False)
    if fmt is Format.csv:
        out = io.StringIO()
        records = comparison_records(data)
        writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        return out.getvalue()
    if fmt is Format.markdown:
        parts = []
        for title, header, body in comparison_grid(data):
            parts += [f"**{title}**", "", markdown_table(header, body, len(header) - len(profiles))]
        return "\n".join(parts)
    return rich_tables(data)
