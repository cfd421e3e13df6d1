"""``cspcost report``: one self-contained HTML page comparing models, and the data behind it.

The page shows what the CSPNet paper (Wang et al., CVPRW 2020) argues about: totals and per-stage
costs against the first model, the per-layer computational bottleneck (§3.1, §4.5), per-stage MACs
and CIO, a γ sweep over the fusion strategies (Figure 3), growth-rate scaling and a roofline. Plots
are inlined as base64 PNG, so the page needs no other file; every table also goes out as CSV and
JSON beside it, with the per-layer profile of every model, and each plot as PNG and SVG.

Everything is rendered in memory first and written by ``reports.output.replace_folder``: into a
temporary folder beside ``--out``, renamed into place only when complete, so a failure leaves no
half-written report, and a folder that is not an earlier report is never replaced.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from matplotlib.figure import Figure

from costmodel.analyze import CONVENTIONS
from costmodel.overview import Overview
from reports.compare import comparison_tables
from reports.frames import (
    bottleneck_frame,
    gamma_sweep_frame,
    profile_frame,
    roofline_summary,
    scaling_frame,
    stage_frame,
)
from reports.output import replace_folder
from reports.plots import (
    figure_bottleneck,
    figure_files,
    figure_gamma_sweep,
    figure_roofline,
    figure_scaling,
    figure_stage_bars,
)
from reports.reproduce import CLAIM_FOOTER, claim_tables
from reports.text import TextTable, html_table

if TYPE_CHECKING:
    from search.spec import SearchResult

__all__ = [
    "REPORT_PAGE",
    "Page",
    "build_report",
    "make_report",
    "slug",
    "write_tree",
]

REPORT_PAGE = "index.html"

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1500px;
padding:0 1rem;color:#222;line-height:1.4}
h1{font-size:1.6rem}h2{border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}
th{background:#f3f3f3}.text{text-align:left}
img{max-width:100%;height:auto;border:1px solid #eee}
pre{background:#f6f6f6;padding:.6rem;white-space:pre-wrap;overflow-wrap:anywhere}.note{color:#555;font-size:.9rem}
nav a{margin-right:1rem}
"""


def slug(text: str) -> str:
    """A file-name-safe form of a model label, short enough for any file system (a long label
    keeps its first 80 characters and gets a hash of the whole, so two labels stay apart)."""
    safe = re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_") or "model"
    if len(safe) <= 100:
        return safe
    return f"{safe[:80]}-{hashlib.sha1(text.encode()).hexdigest()[:12]}"


@dataclass
class Page:
    """The HTML body being assembled and the files that go beside it."""

    files: dict[str, bytes] = field(default_factory=dict)
    body: list[str] = field(default_factory=list)
    sections: list[tuple[str, str]] = field(default_factory=list)

    def section(self, key: str, title: str, intro: str = "") -> None:
        if self.sections:
            self.body.append("</section>")
        self.sections.append((key, title))
        self.body.append(f'<section id="{key}"><h2>{html.escape(title)}</h2>')
        if intro:
            self.body.append(f'<p class="note">{intro}</p>')

    def note(self, text: str) -> None:
        self.body.append(f'<p class="note">{html.escape(text)}</p>')

    def plot(self, fig: Figure, key: str, alt: str) -> None:
        files = figure_files(fig, f"plots/{key}")
        self.files.update(files)
        data = base64.b64encode(files[f"plots/{key}.png"]).decode("ascii")
        self.body.append(
            f'<figure><img id="plot-{key}" class="plot" alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{data}"><figcaption class="note">'
            f'<a href="plots/{key}.svg">SVG</a> · <a href="plots/{key}.png">PNG'
            f"</a></figcaption></figure>"
        )

    def data(self, key: str, frame: pd.DataFrame | None = None, json_data: Any = None) -> None:
        """Write ``data/{key}.csv`` and ``.json`` and link them."""
        if frame is not None:
            self.files[f"data/{key}.csv"] = frame.to_csv(index=False).encode()
        payload = (
            json_data
            if json_data is not None
            else json.loads(frame.to_json(orient="records"))
            if frame is not None
            else None
        )
        self.files[f"data/{key}.json"] = json.dumps(payload, indent=1, ensure_ascii=False).encode()
        self.body.append(
            f'<p class="note">data: <a href="data/{key}.csv">{key}.csv</a> · '
            f'<a href="data/{key}.json">{key}.json</a></p>'
        )

    def table(self, table: TextTable, key: str = "") -> None:
        self.body.append(html_table(table, key))

    def frame_table(
        self, frame: pd.DataFrame, key: str, formats: dict[str, Callable[[Any], str]] | None = None
    ) -> None:
        formats = formats or {}
        body = [[formats.get(c, _auto)(v) for c, v in row.items()] for _, row in frame.iterrows()]
        text_cols = next(
            (i for i, c in enumerate(frame.columns) if pd.api.types.is_numeric_dtype(frame[c])),
            len(frame.columns),
        )
        self.table(TextTable(list(frame.columns), body, text_cols), key)


def _auto(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def _signed_pct(v: float) -> str:
    return f"{v:+.1%}"


def _pct(v: float) -> str:
    return f"{v:.1%}"


def build_report(
    data: Overview, *, command: str = "", search: SearchResult | None = None
) -> dict[str, bytes]:
    """Every file of the report of ``data`` (``costmodel.overview.overview``), by relative path,
    rendered in memory (nothing is written). ``search``: a study to add as a "Search" section."""
    profiles, device, precision = data.profiles, data.device, data.precision
    page = Page()
    names = ", ".join(p.name for p in profiles)

    page.section(
        "summary",
        "Totals and per-stage costs",
        f"Δ% is measured against the first model, <b>{html.escape(profiles[0].name)}"
        f"</b>. Batch 1, {html.escape(precision)}.",
    )
    # the bottleneck table of the comparison has its own section below, with the plot
    for table, key in zip(comparison_tables(data.comparison)[:2], ("totals", "stages"), strict=True):
        page.body.append(f"<h3>{html.escape(table.title or '')}</h3>")
        page.table(table, key)
    page.data("comparison", pd.DataFrame(data.comparison.records()), data.comparison.to_dict())

    page.section(
        "bottleneck",
        "Computational bottleneck",
        "Per-layer MACs in execution order. Bottleneck reduction = 1 − peak(model) / "
        "peak(first model). The paper's bottleneck claims, with this tool's figures beside them, "
        'are in <a href="#claims">the paper\'s claims</a>.',
    )
    page.plot(figure_bottleneck(profiles), "bottleneck", f"per-layer MACs of {names}")
    bn = bottleneck_frame(data.comparison)
    page.frame_table(bn, "bottleneck", {"peak_share": _pct, "reduction_vs_baseline": _signed_pct})
    page.data("bottleneck", bn)

    if data.claims:
        page.section(
            "claims",
            "The paper's claims, ours beside each",
            html.escape(CLAIM_FOOTER),
        )
        for table, key in zip(claim_tables(data.claims, data.scopes), ("claims", "scopes"), strict=True):
            page.body.append(f"<h3>{html.escape(table.title or '')}</h3>")
            page.table(table, key)

    page.section("stages", "MACs and CIO per stage")
    page.plot(figure_stage_bars(profiles), "stages", f"per-stage MACs and CIO of {names}")
    page.data("stages", stage_frame(profiles))

    page.section(
        "gamma",
        "γ sweep",
        "Totals as the partial ratio γ varies, one line per fusion strategy (paper "
        "Figure 3), for the first named model.",
    )
    if data.sweep is not None:
        sweep = gamma_sweep_frame(data.sweep.points)
        page.plot(figure_gamma_sweep(data.sweep), "gamma", f"γ sweep of {data.sweep.label}")
        page.frame_table(sweep[["fusion", "gamma", "macs", "params", "cio_conv_pool", "note"]], "gamma")
        page.data("gamma_sweep", sweep)
    else:
        page.note("no named model to sweep: a cfg file has no γ knob")

    page.section(
        "scaling",
        "Scaling with growth rate",
        f"FLOPs along the network of the first two named models at growth rates "
        f"{', '.join(map(str, data.growth_rates))}.",
    )
    if data.scaling_note:
        page.note(data.scaling_note)
    if data.scaling is not None:
        page.plot(figure_scaling(data.scaling), "scaling", "per-layer FLOPs at several growth rates")
        page.data("scaling", scaling_frame(data.scaling))

    page.section(
        "roofline",
        f"Roofline on {device.name}",
        f"Peak {device.peak(precision) / 1e12:,.3g} TFLOP/s, bandwidth "
        f"{device.bandwidth / 1e9:,.4g} GB/s ({html.escape(device.source)}); each layer "
        f"at its arithmetic intensity, every access counted.",
    )
    page.plot(figure_roofline(data.rooflines), "roofline", f"roofline of {names}")
    roof = roofline_summary(data.rooflines)
    page.frame_table(roof, "roofline", {"memory_bound_time_share": _pct})
    page.data("roofline", roof)

    page.section(
        "layers",
        "Per-layer profiles",
        "The full per-layer table of each model (the JSON contract of "
        "<code>cspcost table --format json</code>).",
    )
    for p in profiles:
        stem = slug(p.name)
        page.files[f"data/layers_{stem}.csv"] = profile_frame(p).to_csv().encode()
        page.files[f"data/layers_{stem}.json"] = json.dumps(
            p.to_dict(), indent=1, ensure_ascii=False
        ).encode()
        page.body.append(
            f'<p>{html.escape(p.name)}: <a href="data/layers_{stem}.csv">CSV</a> · '
            f'<a href="data/layers_{stem}.json">JSON</a></p>'
        )

    if search is not None:
        from reports.search_report import add_search_section

        add_search_section(page, search)

    page.section("conventions", "Conventions")
    page.table(TextTable(["name", "meaning"], sorted(CONVENTIONS.items()), 2), "conventions")
    page.body.append("</section>")

    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    nav = "".join(f'<a href="#{k}">{html.escape(t)}</a>' for k, t in page.sections)
    head = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>cspcost report: {html.escape(names)}</title><style>{CSS}</style></head><body>"
        f"<h1>cspcost report: {html.escape(names)}</h1>"
        f'<p class="note">made {stamp} by</p><pre id="command">{html.escape(command)}</pre>'
        f"<nav>{nav}</nav>"
    )
    page.files[REPORT_PAGE] = (head + "\n".join(page.body) + "</body></html>").encode()
    return page.files


def write_tree(out: Path, files: dict[str, bytes]) -> Path:
    """Write ``files`` as the folder ``out``, atomically (``reports.output.replace_folder``): an
    existing ``out`` is replaced only when empty or an earlier report, and a failure leaves it as
    it was."""
    return replace_folder(out, files)


def make_report(out: Path, data: Overview, **options: Any) -> Path:
    """Build the report of ``data`` (see ``build_report``) and write it atomically into ``out``."""
    return write_tree(out, build_report(data, **options))
