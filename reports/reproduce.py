"""``cspcost reproduce``: renders ``costmodel.reproduce``'s rows (ours beside the CSPNet paper's) as a
rich table, CSV, Markdown or JSON, and writes ``reproduce.csv`` and ``reproduce.md``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from costmodel.reproduce import Row
from reports.text import Format, TextTable, csv_text, markdown_table, rich_text

__all__ = ["OUTPUTS", "render", "write"]


# --- rendering ----------------------------------------------------------------------------------


def _num(digits: int) -> Callable[[Any], str]:
    return lambda v: "—" if v is None else f"{v:.{digits}f}"


def _signed(v: float | None) -> str:
    # + 0.0 turns a rounded −0.0 into 0.0, so an exact match never prints as "-0.0%"
    return "—" if v is None else f"{round(v, 1) + 0.0:+.1f}%"


def _text(v: str | None) -> str:
    return "—" if v is None else v


# (Row field, header with unit, formatter)
COLUMNS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("model", "model", str),
    ("source", "source", str),
    ("input", "input px", str),
    ("params_m", "params_conv M", _num(3)),
    ("paper_params_m", "paper", _text),
    ("params_diff_pct", "Δ", _signed),
    ("bflops", "BFLOPs", _num(3)),
    ("paper_bflops", "paper", _text),
    ("bflops_diff_pct", "Δ", _signed),
    ("cio_m", "CIO M elem", _num(2)),
    ("paper_cio_m", "paper", _text),
    ("cio_diff_pct", "Δ", _signed),
    ("change_pct", "BFLOPs vs base", _signed),
    ("paper_change_pct", "paper", _signed),
)

_FOOTER = (
    "params_conv M: conv and classifier weights in millions, no BN or bias (README #Parameter). "
    "BFLOPs: (2·conv MACs + Σ max/avg-pool k²·C·H_out·W_out)/1e9, darknet's convention. CIO M "
    "elem: input + output elements of conv and pool layers (conv+pool scope), batch 1, millions. "
    "Δ: ours ÷ paper − 1. vs base: change in BFLOPs against the model's baseline (ResNet-50, "
    "ResNeXt-50, Darknet-53, PeleeNet)."
)


def _cells(row: Row) -> list[str]:
    data = asdict(row)
    return [fmt(data[key]) for key, _, fmt in COLUMNS]


def _notes(rows: list[Row]) -> list[str]:
    return [f"{r.model}: {r.note}" for r in rows if r.note]


def render(rows: list[Row], fmt: Format | str = Format.table) -> str:
    """The comparison as a rich table, CSV, Markdown or JSON."""
    fmt = Format(fmt)
    if fmt is Format.json:
        return (
            json.dumps(
                {"conventions": _FOOTER, "rows": [asdict(r) for r in rows]}, indent=2, ensure_ascii=False
            )
            + "\n"
        )
    if fmt is Format.csv:
        fields = list(asdict(rows[0])) if rows else []
        return csv_text(fields, [["" if v is None else v for v in asdict(r).values()] for r in rows])
    sections = frozenset(i for i in range(1, len(rows)) if rows[i].section != rows[i - 1].section)
    table = TextTable(
        [h for _, h, _ in COLUMNS],
        [_cells(r) for r in rows],
        text_cols=3,
        title="cspcost reproduce: ours vs the CSPNet paper (REFERENCE.md §1, §2)",
        sections=sections,
    )
    if fmt is Format.markdown:
        return markdown_table(table) + "\n".join(["", _FOOTER, "", *[f"- {n}" for n in _notes(rows)]]) + "\n"
    return rich_text([table], 180, [_FOOTER, *[f"• {n}" for n in _notes(rows)]])


OUTPUTS = {"reproduce.csv": Format.csv, "reproduce.md": Format.markdown}
"""The files ``write`` puts into ``--out``."""


def write(rows: list[Row], out_dir: Path) -> list[Path]:
    """Write ``reproduce.csv`` and ``reproduce.md`` into ``out_dir`` atomically (``reports.output``:
    a file of the same name is replaced only when cspcost wrote it)."""
    from reports.output import write_files

    return write_files(out_dir, {name: render(rows, fmt).encode() for name, fmt in OUTPUTS.items()})
