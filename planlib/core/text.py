"""Escaped prose and tables for notebooks: every value from the data is HTML-escaped.

Names from CRM data can hold ``<script>``; Markdown passes raw HTML through, so
values are escaped before they are put into prose, and tables are rendered by
``DataFrame.to_html`` (which escapes) rather than an unescaped Styler.
"""
from __future__ import annotations

import functools
import html
import math
import numbers
import re
import string
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown

__all__ = ["FORMULA_PREFIXES", "escape", "fmt", "folded", "label", "md", "money", "shown", "table", "with_unit"]

# ``$`` too: nbconvert and JupyterLab read ``$...$`` as math, where escapes are not undone.
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]#|~$"})
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")
# OWASP CSV injection: a cell starting with one of these is read by Excel as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A column name written as code (lower case and underscores) is shown as words; these words are rewritten.
_CODE_NAME = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
_WORDS = {"pct": "%", "id": "ID", "fte": "FTE", "kpi": "KPI", "yoy": "year on year", "p10": "P10",
          "p50": "P50", "p90": "P90", "qtd": "QTD", "ytd": "YTD", "vs": "vs", "smart": "SMART",
          "sha256": "SHA-256"}
# A cell of text that is a number as shown ("3,023,000 EUR", "37%", "+5.0%", "0.50"): right-aligned like one.
_NUMBER_TEXT = re.compile(r"[+\-−]?[\d.,]*\d(?:\s?%|\s[A-Za-z]{1,5})?")
# Text of at most this many characters (a name, a region, a product) is kept on one line.
_NOWRAP_CHARS = 24


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


def label(column: object) -> str:
    """Return a code-style column name as a reader's label; any other name unchanged.

    >>> label("difference_pct"), label("risk_id"), label("P(attain)")
    ('Difference %', 'Risk ID', 'P(attain)')
    """
    name = str(column)
    if not _CODE_NAME.fullmatch(name):
        return name
    words = [_WORDS.get(w, w) for w in name.split("_") if w]
    return " ".join(words)[:1].upper() + " ".join(words)[1:] if words else name


def _cell(value: object, spec: str | None) -> str:
    if value is None or value is pd.NaT or (not isinstance(value, (str, bytes)) and pd.api.types.is_scalar(value)
                                             and pd.isna(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "✓" if value else "✗"
    if isinstance(value, numbers.Real) and math.isinf(value):
        return "no limit"  # an open-ended bound (a top tier's "to"), never "inf%"
    if spec is not None and isinstance(value, numbers.Number):
        return spec.format(value)
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}" if value == value.normalize() else f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, numbers.Integral) and abs(value) >= 10_000:
        return f"{value:,}"  # 37,605,000; a year (2027) or a count under ten thousand stays as it is
    return str(value)


def with_unit(caption: str, unit_label: str) -> str:
    """Return ``caption`` ending with ``(unit_label)`` once, however often it was added.

    >>> with_unit("Budget (k CNY)", "k CNY"), with_unit("Budget", "k CNY")
    ('Budget (k CNY)', 'Budget (k CNY)')
    """
    if not unit_label:
        return caption
    bare = caption.replace(f" ({unit_label})", "").replace(f"({unit_label})", "").rstrip()
    return f"{bare} ({unit_label})"


def table(frame: pd.DataFrame, *, index: bool = False, float_format: str = "{:,.0f}",
          formats: dict[str, str] | None = None, caption: str | None = None, money: Sequence[str] = (),
          unit: float = 1.0, unit_label: str = "", percent: Sequence[str] = (), labels: dict[str, str] | None = None,
          collapse_above: int | None = None) -> HTML:
    """Return an escaped HTML table of ``frame`` as a reader sees it: formatted, aligned, human labels.

    Numbers are right-aligned, and so is text that is a number as shown ("3,023,000 EUR", "37%"); other text
    is left-aligned; short text (a name, a region) never breaks across
    lines; True/False show as ✓/✗, an infinite bound as "no limit"; a table without rows is one line saying
    so ("<caption>: none."), not a header over nothing, and a column blank in every row is left out;
    code-style column names (``cumulative_gap``) become labels
    (``Cumulative gap``, see :func:`label`). The alignment is written on each cell, so the table reads the
    same in JupyterLab as on the exported page.

    Parameters
    ----------
    frame : DataFrame
    index : bool, default False
        Show the index (``reset_index()`` is applied first).
    float_format : str, default "{:,.0f}"
        Format of float columns without an entry in ``formats``.
    formats : dict, optional
        Column -> format string, e.g. ``{"share": "{:.1%}"}``.
    caption : str, optional
        A caption (escaped); with ``money`` columns it ends with the unit label, once.
    money : sequence of str
        Columns of money, divided by ``unit`` and shown as whole numbers.
    unit, unit_label : float, str
        The display unit of the money columns (1000, "k CNY").
    percent : sequence of str
        Columns of fractions shown as whole percentages (0.125 -> 13%) unless ``formats`` says otherwise.
    labels : dict, optional
        Column -> label, over the automatic one.
    collapse_above : int, optional
        With more rows than this, the table is put in a closed ``<details>`` block whose summary is the
        caption and the number of rows.

    Raises
    ------
    ValueError
        If a money or percent column is not in ``frame``.
    """
    shown = frame.reset_index() if index else frame
    missing = [c for c in (*money, *percent) if c not in shown.columns]
    if missing:
        raise ValueError(f"table: money/percent column(s) {missing} not in the table {list(shown.columns)}")
    if shown.empty:  # a header over no rows reads as a broken page: say there is nothing instead
        return HTML(f'<p class="planlib-empty"><em>{html.escape(caption or "The table")}: none.</em></p>')
    # a column with nothing in any row (a customer name the data does not have) is dropped, not shown blank
    blank = [c for c in shown.columns if c not in (*money, *percent)
             and all(_cell(v, None) == "" for v in shown[c].tolist())]
    shown = shown.drop(columns=blank)
    formats = dict(formats or {})
    labels = labels or {}
    head, columns = [], []
    for col in shown.columns:
        series = shown[col]
        spec = formats.get(col)
        values = series.tolist()
        if col in money:
            values = [v / unit if isinstance(v, numbers.Number) and not isinstance(v, bool) else v for v in values]
            spec = spec or "{:,.0f}"
        elif col in percent:
            spec = spec or "{:.0%}"
        elif spec is None and pd.api.types.is_float_dtype(series):
            spec = float_format
        cells = [_cell(v, spec) for v in values]
        filled = [c for c in cells if c]
        numeric = (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)) \
            or col in money or col in percent \
            or (bool(filled) and all(_NUMBER_TEXT.fullmatch(c) for c in filled))
        if numeric:
            style = "text-align:right;white-space:nowrap"
        elif max((len(c) for c in cells), default=0) <= _NOWRAP_CHARS:
            style = "text-align:left;white-space:nowrap"
        else:
            style = "text-align:left"
        # a header may wrap (a long label must not widen the page); a name in a cell never does
        head.append(f'<th style="text-align:{"right" if numeric else "left"}">'
                    f'{html.escape(labels.get(col, label(col)))}</th>')
        columns.append([f'<td style="{style}">{html.escape(c)}</td>' for c in cells])
    rows = "".join(f"<tr>{''.join(r)}</tr>\n" for r in zip(*columns)) if columns else ""
    title = with_unit(caption, unit_label) if caption and money else caption
    out = (f'<table class="planlib-table">' + (f"<caption>{html.escape(title)}</caption>" if title else "")
           + f"\n<thead><tr>{''.join(head)}</tr></thead>\n<tbody>\n{rows}</tbody></table>")
    if collapse_above is not None and len(shown) > collapse_above:
        out = (f"<details><summary>{html.escape(title or 'The table')} · {len(shown):,} rows</summary>\n"
               f"{out}\n</details>")
    return HTML(out)


def folded(summary: str, *parts: HTML | None) -> HTML:
    """Return ``parts`` (tables from :func:`table`) in one closed ``<details>`` block headed by ``summary`` (escaped).

    A detail a reader may open: one line on the page however many tables it holds. Parts that are None are left out.
    """
    inner = "\n".join(part.data for part in parts if part is not None)
    return HTML(f"<details><summary>{html.escape(summary)}</summary>\n{inner}\n</details>")


def shown(function: Callable[..., object], /, **table_options: object) -> Callable[..., object]:
    """Return ``function`` with its result shown as on the exported page (same name and signature, for ``interact``).

    ``ipywidgets.interact`` prints a returned DataFrame raw (366268000.0, 0.336714, NaN) and a string as plain
    text; wrapped, a table goes through :func:`table` with ``table_options`` and a string is shown as Markdown
    (its values escaped by the function, as planlib's sentences are); anything else (a Markdown display, a
    chart) is returned as it is.

    >>> # ipywidgets.interact(shown(what_if_for(plan), money=["target"], unit=1000, unit_label="k CNY"), ...)
    """
    @functools.wraps(function)
    def shown_result(*args, **kwargs):
        result = function(*args, **kwargs)
        if isinstance(result, pd.DataFrame):
            return table(result, **table_options)
        if isinstance(result, str):
            return Markdown(result)
        return result

    return shown_result


def money(amount: float, unit: float = 1.0, label: str = "", digits: int = 0) -> str:
    """Format ``amount`` in the display unit, e.g. ``money(1_234_000, 1000, "k CNY") -> '1,234 k CNY'``."""
    shown = f"{amount / unit:,.{digits}f}"
    return f"{shown} {label}".strip()
