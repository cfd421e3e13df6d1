"""The text renderers every report shares: one table record (``TextTable``) rendered as CSV,
Markdown, a rich terminal table or an HTML table. Cells arrive already formatted; what a column
means and how it is formatted lives with the report that owns it (``reports.tables.COLUMNS`` for
per-layer costs, ``reports.compare`` for comparisons, ``reports.reproduce`` for the paper table).
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["Format", "TextTable", "csv_text", "html_table", "markdown_table", "rich_text"]


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"


@dataclass(frozen=True)
class TextTable:
    """A table of formatted cells: the first ``text_cols`` columns are text (left-aligned), the rest
    numbers (right-aligned). ``styles`` gives a rich style per row; ``sections`` the rows that open a
    new section (a rule above them)."""

    header: Sequence[str]
    body: Sequence[Sequence[str]]
    text_cols: int = 1
    title: str | None = None
    styles: Sequence[str | None] = ()
    sections: frozenset[int] = field(default_factory=frozenset)
    no_wrap: bool = False
    left: frozenset[int] | None = None
    """Left-aligned columns where they are not the first ``text_cols``."""

    def is_left(self, i: int) -> bool:
        return i in self.left if self.left is not None else i < self.text_cols


def csv_text(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """RFC 4180 CSV with ``\\n`` line ends; values as ``str`` gives them (raw counts, not rounded)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def markdown_table(table: TextTable) -> str:
    """A GitHub Markdown table, numbers right-aligned, ending in a newline."""
    header = table.header
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if table.is_left(i) else "---:" for i in range(len(header))) + "|",
    ]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in table.body]) + "\n"


def rich_text(tables: Sequence[TextTable], width: int, lines: Sequence[str] = ()) -> str:
    """``tables`` as rich terminal tables, then ``lines`` as plain text, rendered without colour at
    ``width`` columns."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=width, record=True, force_terminal=False)
    with console.capture() as cap:
        for t in tables:
            table = Table(title=t.title)
            for i, h in enumerate(t.header):
                table.add_column(h, justify="left" if t.is_left(i) else "right", no_wrap=t.no_wrap)
            styles = list(t.styles) or [None] * len(t.body)
            for i, (row, style) in enumerate(zip(t.body, styles, strict=True)):
                if i in t.sections:
                    table.add_section()
                table.add_row(*row, style=style)
            console.print(table)
        for line in lines:
            console.print(line, highlight=False)
    return cap.get()


def html_table(table: TextTable, key: str = "") -> str:
    """An HTML ``<table>`` (``id="table-{key}"``), text columns with ``class="text"``, every cell
    escaped."""
    ident = f' id="table-{key}"' if key else ""
    left = ' class="text"'

    def cells(tag: str, values: Sequence[object]) -> str:
        return "".join(
            f"<{tag}{left if table.is_left(i) else ''}>{html.escape(str(v))}</{tag}>"
            for i, v in enumerate(values)
        )

    rows = [f"<tr>{cells('th', table.header)}</tr>", *[f"<tr>{cells('td', r)}</tr>" for r in table.body]]
    return f"<table{ident}>" + "".join(rows) + "</table>"
