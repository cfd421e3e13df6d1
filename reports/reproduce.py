"""``cspcost reproduce``: renders ``costmodel.reproduce``'s rows (ours beside the CSPNet paper's) as a
rich table, CSV, Markdown or JSON, and writes ``reproduce.csv`` and ``reproduce.md``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from costmodel.reproduce import Claim, Row, ScopeRow
from reports.text import Format, TextTable, csv_text, markdown_table, rich_text

__all__ = ["CLAIM_FOOTER", "CLAIM_OUTPUTS", "OUTPUTS", "claim_tables", "render", "render_claims", "write"]


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
    "BFLOPs: (2·conv MACs + Σ max/avg-pool k²·C·H_out·W_out)/1e9, darknet's 2019 convention (the "
    "authors' README; today's darknet adds a shortcut term, see bflops_darknet_current). CIO M "
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


CLAIM_FOOTER = (
    "Peak cut: 1 − peak MACs of one layer (CSP) ÷ peak (base), over the scope: network = every "
    "layer with MACs, dense layers = the layers of dense blocks, stageN = that stage's layers. "
    "MACs change: the scope's total MACs, CSP against base. 224×224, batch 1."
)


def claim_tables(claims: list[Claim], scopes: list[ScopeRow]) -> tuple[TextTable, TextTable]:
    claim_table = TextTable(
        ["claim", "paper", "ours", "why"],
        [[c.claim, c.paper, c.ours, c.explanation] for c in claims],
        text_cols=4,
        title="The CSPNet paper's claims, ours beside each",
    )
    scope_table = TextTable(
        [
            "pair",
            "scope",
            "peak layer (base)",
            "MMACs",
            "peak layer (CSP)",
            "MMACs",
            "peak cut",
            "MACs change",
        ],
        [
            [
                r.pair,
                r.scope,
                r.base_peak_layer,
                f"{r.base_peak_mmacs:.1f}",
                r.csp_peak_layer,
                f"{r.csp_peak_mmacs:.1f}",
                _signed(r.peak_cut_pct).lstrip("+"),
                _signed(r.macs_change_pct),
            ]
            for r in scopes
        ],
        text_cols=3,
        left=frozenset({0, 1, 2, 4}),
        title="Computational bottleneck per scope",
        sections=frozenset(i for i in range(1, len(scopes)) if scopes[i].pair != scopes[i - 1].pair),
    )
    return claim_table, scope_table


def render_claims(claims: list[Claim], scopes: list[ScopeRow], fmt: Format | str = Format.table) -> str:
    """The paper's claims beside our figures, and the bottleneck per scope: a rich table, CSV
    (claims, then scopes), Markdown or JSON."""
    fmt = Format(fmt)
    if fmt is Format.json:
        data = {
            "claims": [asdict(c) for c in claims],
            "scopes": [asdict(r) for r in scopes],
            "conventions": CLAIM_FOOTER,
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt is Format.csv:
        first = csv_text(list(Claim.__dataclass_fields__), [list(asdict(c).values()) for c in claims])
        return (
            first
            + "\n"
            + csv_text(list(ScopeRow.__dataclass_fields__), [list(asdict(r).values()) for r in scopes])
        )
    claim_table, scope_table = claim_tables(claims, scopes)
    if fmt is Format.markdown:
        return markdown_table(claim_table) + "\n" + markdown_table(scope_table) + "\n" + CLAIM_FOOTER + "\n"
    return rich_text([claim_table, scope_table], 180, [CLAIM_FOOTER])


OUTPUTS = {"reproduce.csv": Format.csv, "reproduce.md": Format.markdown}
"""The files ``write`` puts into ``--out``."""
CLAIM_OUTPUTS = {"claims.csv": Format.csv, "claims.md": Format.markdown}
"""The files ``write`` adds when given the paper's claims."""


def write(
    rows: list[Row], out_dir: Path, claims: list[Claim] | None = None, scopes: list[ScopeRow] | None = None
) -> list[Path]:
    """Write ``reproduce.csv`` and ``reproduce.md`` (and, given the claims, ``claims.csv`` and
    ``claims.md``) into ``out_dir`` atomically (``reports.output``: a file of the same name is
    replaced only when cspcost wrote it)."""
    from reports.output import write_files

    files = {name: render(rows, fmt).encode() for name, fmt in OUTPUTS.items()}
    if claims is not None:
        files.update(
            {name: render_claims(claims, scopes or [], fmt).encode() for name, fmt in CLAIM_OUTPUTS.items()}
        )
    return write_files(out_dir, files)
