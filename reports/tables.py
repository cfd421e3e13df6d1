"""Per-layer cost tables in four formats: a rich terminal table, CSV, Markdown and JSON.

Every column header names its unit and convention (``MACs (M)``, ``CIO conv (K elem)``); the JSON
format is the machine contract (``Profile.to_dict``) and keeps counts as plain integers. ``COLUMNS``
is the one table of per-layer columns: key, header with unit, and human format.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from costmodel.analyze import Profile
from costmodel.derived import intensity
from costmodel.models import ModelInfo
from reports.text import Format, TextTable, csv_text, markdown_table, rich_text

__all__ = ["COLUMNS", "Format", "render_models", "render_profile", "summary_lines"]


def _m(v: float) -> str:
    return f"{v / 1e6:,.3f}"


def _k(v: float) -> str:
    return f"{v / 1e3:,.1f}"


def _int(v: float) -> str:
    return f"{int(v):,}"


# (key in layer dict, header with unit, formatter for human formats)
COLUMNS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("macs", "MACs (M)", _m),
    ("flops", "FLOPs=2·MACs (M)", _m),
    ("flops_other", "other FLOPs (M)", _m),
    ("params", "params (all)", _int),
    ("params_conv", "params (conv W)", _int),
    ("cio_conv", "CIO conv (K elem)", _k),
    ("cio_conv_pool", "CIO conv+pool (K elem)", _k),
    ("concat_elements", "concat traffic (K elem)", _k),
    ("act_bytes", "act bytes (KB)", _k),
    ("weight_bytes", "weight bytes (KB)", _k),
    ("intensity", "intensity (FLOP/B)", lambda v: f"{v:,.1f}"),
)


def summary_lines(profile: Profile) -> list[str]:
    t = profile.totals
    b = profile.bottleneck()
    peak, peak_at = profile.peak_activation()
    shape = profile.network.input_shape
    lines = [
        f"{profile.name} at {shape.c}×{shape.h}×{shape.w}, batch 1, {profile.precision}: "
        f"{t.macs / 1e9:,.4f} GMACs = {t.flops / 1e9:,.4f} GFLOPs (2·MACs), "
        f"{t.params:,} params ({t.params_conv:,} conv weights), "
        f"darknet {profile.bflops_darknet:.3f} BFLOPs (2019: conv+pool), "
        f"{profile.bflops_darknet_current:.3f} (today: +shortcut)",
        f"CIO {t.cio_conv / 1e6:,.2f} M elem (conv) / {t.cio_conv_pool / 1e6:,.2f} M elem "
        f"(conv+pool); concat traffic {t.concat_elements / 1e6:,.2f} M elem; peak activation "
        f"footprint {peak * profile.bytes_per_element / 2**20:,.2f} MiB at {peak_at}",
        f"bottleneck: peak {b.peak_layer} = {b.peak_macs / 1e6:,.2f} MMACs "
        f"({b.peak_share:.1%} of total), peak/mean {b.peak_to_mean:.2f}, CV {b.cv:.2f} "
        f"over {b.layers} layers with MACs",
    ]
    if not profile.complete:
        names = ", ".join(f"{n} ({k})" for n, k in profile.unsupported)
        lines.append(f"unsupported layers, not counted: {names}")
    return lines


def _records(profile: Profile) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows = [profile.layer_dict(layer, cost) for layer, cost in profile.rows()]
    totals = profile.totals_dict()
    totals["intensity"] = intensity(profile.totals, profile.bytes_per_element)
    return rows, totals


def _shape(s: Sequence[int]) -> str:
    return "×".join(map(str, s))


# The human formats leave out what is derivable at a glance (FLOPs = 2·MACs) or rarely read per
# layer; CSV and JSON carry every column.
HUMAN_COLUMNS = tuple(c for c in COLUMNS if c[0] not in {"flops", "flops_other", "weight_bytes"})
CSV_KEYS = ("name", "kind", "stage", "out_shape", *[k for k, _, _ in COLUMNS])
CSV_KEYS += ("read_elements", "write_elements", "flops_darknet", "flops_darknet_current")


def _text_table(profile: Profile) -> TextTable:
    rows, totals = _records(profile)
    total_macs = totals["macs"] or 1
    peak = profile.bottleneck().peak_layer
    header = ["layer", "kind", "output (C×H×W)", "MACs %", *[h for _, h, _ in HUMAN_COLUMNS]]
    body = [
        [
            r["name"],
            r["kind"],
            _shape(r["out_shape"]),
            f"{100 * r['macs'] / total_macs:.1f}",
            *[f(r[k]) for k, _, f in HUMAN_COLUMNS],
        ]
        for r in rows
    ]
    body.append(["TOTAL", "", "", "100.0", *[f(totals[k]) for k, _, f in HUMAN_COLUMNS]])
    styles = [("bold red" if r[0] == peak else None) for r in body[:-1]] + ["bold"]
    return TextTable(
        header,
        body,
        text_cols=3,
        title=f"{profile.name} — per-layer costs (batch 1, {profile.precision}; peak MACs layer in red)",
        styles=styles,
        sections=frozenset({len(body) - 1}),
        no_wrap=True,
    )


def render_profile(profile: Profile, fmt: Format | str = Format.table) -> str:
    """The per-layer table with a totals row and the bottleneck summary, as text."""
    fmt = Format(fmt)
    if fmt is Format.json:
        return json.dumps(profile.to_dict(), indent=2, ensure_ascii=False)
    if fmt is Format.csv:
        rows, totals = _records(profile)
        body: list[list[Any]] = [[_shape(r[k]) if k == "out_shape" else r[k] for k in CSV_KEYS] for r in rows]
        body.append(["TOTAL", "", "", "", *[totals[k] for k in CSV_KEYS[4:]]])
        return csv_text(CSV_KEYS, body)
    table = _text_table(profile)
    if fmt is Format.markdown:
        return markdown_table(table) + "\n".join(["", *[f"- {s}" for s in summary_lines(profile)]]) + "\n"
    widths = [max(len(h), *(len(r[i]) for r in table.body)) for i, h in enumerate(table.header)]
    return rich_text([table], sum(widths) + 3 * len(widths) + 1, summary_lines(profile))


def render_models(models: Sequence[ModelInfo]) -> str:
    """The ``cspcost models`` table: each named variant, its knobs and its defaults."""
    table = TextTable(
        ["name", "description", "knobs", "defaults"],
        [[m.name, m.description, ", ".join(m.knobs), m.summary] for m in models],
        text_cols=4,
        title="cspcost models (any .cfg path works too)",
    )
    return rich_text(
        [table],
        140,
        [
            "Fusion strategies: none, fusion_first, fusion_last, csp (paper Figure 3). "
            "γ splits p1 = ⌊γ·c + ½⌋ channels past each block."
        ],
    )
