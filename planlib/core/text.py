"""Escaped prose and tables for notebooks: every value from the data is HTML-escaped.

Names from CRM data can hold ``<script>``; Markdown passes raw HTML through, so
values are escaped before they are put into prose, and tables are rendered by
``DataFrame.to_html`` (which escapes) rather than an unescaped Styler.
"""
from __future__ import annotations

import html
import numbers
import re
import string

import pandas as pd
from IPython.display import HTML, Markdown

__all__ = ["FORMULA_PREFIXES", "escape", "fmt", "md", "money", "table"]

# ``$`` too: nbconvert and JupyterLab read ``$...$`` as math, where escapes are not undone.
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]#|~$"})
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")
# OWASP CSV injection: a cell starting with one of these is read by Excel as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape(value: object) -> str:
    """Return ``value`` as text safe inside Markdown and HTML.

    Markdown characters are backslash-escaped before HTML escaping, so the
    entities that HTML escaping makes (``&#x27;``) stay intact; a line break in
    a value becomes a space so data cannot start a heading or a list.

    >>> escape("O'Brien <b>_x_</b>")
    'O&#x27;Brien &lt;b&gt;\\\\_x\\\\_&lt;/b&gt;'
    """
    flat = _LINE_BREAKS.sub(" ", str(value))
    return html.escape(flat.translate(_MD_SPECIAL), quote=True)


class _EscapingFormatter(string.Formatter):
    def format_field(self, value, format_spec):
        if isinstance(value, numbers.Number) and not isinstance(value, bool):
            return escape(format(value, format_spec))
        return escape(format(value, format_spec) if format_spec else value)


def fmt(template: str, /, **values: object) -> str:
    """Fill ``template`` (str.format syntax) with ``values``, each escaped.

    >>> fmt("{name} sold {amount:,.0f}", name="<b>x</b>", amount=1234.5)
    '&lt;b&gt;x&lt;/b&gt; sold 1,234'
    """
    return _EscapingFormatter().format(template, **values)


def md(template: str, /, **values: object) -> Markdown:
    """Return a Markdown display of ``template`` filled with escaped ``values``."""
    return Markdown(fmt(template, **values))


def table(frame: pd.DataFrame, *, index: bool = False, float_format: str = "{:,.0f}",
          formats: dict[str, str] | None = None, caption: str | None = None) -> HTML:
    """Return an escaped HTML table of ``frame`` with number formats per column.

    Parameters
    ----------
    frame : DataFrame
    index : bool, default False
        Show the index.
    float_format : str, default "{:,.0f}"
        Format of float columns without an entry in ``formats``.
    formats : dict, optional
        Column -> format string, e.g. ``{"share": "{:.1%}"}``.
    caption : str, optional
        A caption (escaped).
    """
    shown = frame.copy()
    formats = formats or {}
    for col in shown.columns:
        spec = formats.get(col)
        if spec is None and pd.api.types.is_float_dtype(shown[col]):
            spec = float_format
        if spec is not None:
            shown[col] = [("" if pd.isna(v) else spec.format(v)) for v in shown[col]]
    out = shown.to_html(index=index, escape=True, border=0, classes="planlib-table", na_rep="")
    if caption:
        # after the opening tag, whatever attributes this pandas version writes on it
        out = re.sub(r"<table\b[^>]*>", lambda m: f"{m.group(0)}<caption>{html.escape(caption)}</caption>", out,
                     count=1)
    return HTML(out)


def money(amount: float, unit: float = 1.0, label: str = "", digits: int = 0) -> str:
    """Format ``amount`` in the display unit, e.g. ``money(1_234_000, 1000, "k CNY") -> '1,234 k CNY'``."""
    shown = f"{amount / unit:,.{digits}f}"
    return f"{shown} {label}".strip()
