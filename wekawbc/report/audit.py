"""The findings of an audit (:mod:`wekawbc.papers.audit`, :mod:`wekawbc.report.weka_audit`) for people:
a plain-text table for a terminal and a Markdown table."""

from __future__ import annotations

from typing import Any

from wekawbc.papers.audit import Finding
from wekawbc.report.render import markdown_text

__all__ = ["findings_markdown", "findings_table"]

_COLUMNS = ("table", "quantity", "published", "recomputed", "consistent", "note")


def _verdict(consistent: bool | None) -> str:
    return {True: "yes", False: "NO", None: "n/a"}[consistent]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.5f}"
    return "" if value is None else str(value)


def findings_table(findings: list[Finding], width: int = 60) -> str:
    """The findings as a plain-text table for a terminal; long cells wrap within their column."""
    import textwrap

    limits = (14, 44, 24, 24, 10, width)  # table, quantity, published, recomputed, consistent, note
    rows = [[f.table, f.quantity, f.published, _cell(f.recomputed), _verdict(f.consistent), f.note] for f in findings]
    widths = [min(limit, max(len(_COLUMNS[i]), *(len(r[i]) for r in rows))) for i, limit in enumerate(limits)]
    lines = ["  ".join(name.ljust(w) for name, w in zip(_COLUMNS, widths))]
    for row in rows:
        wrapped = [textwrap.wrap(cell, w) or [""] for cell, w in zip(row, widths)]
        for i in range(max(map(len, wrapped))):
            lines.append("  ".join((cell[i] if i < len(cell) else "").ljust(w) for cell, w in zip(wrapped, widths)))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _md(text: Any) -> str:
    return markdown_text(_cell(text))


def findings_markdown(findings: list[Finding]) -> str:
    """The findings as a Markdown table."""
    lines = ["| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    for f in findings:
        lines.append("| " + " | ".join(_md(x) for x in (f.table, f.quantity, f.published, f.recomputed,
                                                           _verdict(f.consistent), f.note)) + " |")
    return "\n".join(lines) + "\n"
