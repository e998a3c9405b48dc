"""Small HTML tables for Jupyter: ``_repr_html_`` of results, histories and records."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

STYLE = (
    "<style>.initlab-table{border-collapse:collapse;font-family:sans-serif;font-size:13px}"
    ".initlab-table th,.initlab-table td{border:1px solid #ccc;padding:2px 8px;text-align:right}"
    ".initlab-table th{background:#f3f3f3}.initlab-table td.text{text-align:left}</style>"
)


def fmt(value: Any) -> str:
    """Numbers to 4–6 significant digits, NaN/None as an em dash, everything escaped."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.6g}"
    return html.escape(str(value))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = "") -> str:
    """An HTML table; string cells are left-aligned, numbers right-aligned."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="text">{fmt(v)}</td>' if isinstance(v, str) else f"<td>{fmt(v)}</td>"
            for v in row
        )
        + "</tr>"
        for row in rows
    )
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f'{STYLE}<table class="initlab-table">{cap}<tr>{head}</tr>{body}</table>'
