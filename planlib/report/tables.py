"""The tables of a plan bundle: CSV that Excel opens safely and readable, byte-stable Excel workbooks
(``Sheet`` says how a table's columns are shown); text that Excel would run as a formula is neutralised.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from planlib.core.errors import ConfigError
from planlib.core.text import FORMULA_PREFIXES, label

__all__ = ["MAX_ROWS", "Sheet", "column_width", "display_width", "money_format", "neutralise", "write_csv",
           "write_excel"]

# --------------------------------------------------------------------------- text that could run

def neutralise(value: object) -> object:
    """Return a text cell that Excel would read as a formula prefixed with ``'``; anything else unchanged.

    Only text is touched: the number -5 stays a number, the text "-5" becomes "'-5".

    >>> neutralise("=1+1"), neutralise(-5), neutralise("张三")
    ("'=1+1", -5, '张三')
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _neutralised(series: pd.Series) -> pd.Series:
    """``series.map(neutralise)`` column-wise: text cells that Excel would run get their ``'``, the rest stay."""
    is_text = np.fromiter((type(v) is str for v in series.tolist()), dtype=bool, count=len(series))
    missing = series.isna().to_numpy(dtype=bool)
    if not (is_text | missing).all():  # numbers or other objects mixed in: each cell as neutralise says
        return series.map(neutralise, na_action="ignore")
    runs = series.str.startswith(FORMULA_PREFIXES).fillna(False).to_numpy(dtype=bool) & is_text
    if not runs.any():
        return series
    out = series.copy()
    out[runs] = "'" + series[runs]
    return out


# --------------------------------------------------------------------------- CSV
def write_csv(frame: pd.DataFrame, path: str | Path, *, line_ending: str = "\n") -> Path:
    """Write ``frame`` as CSV that Excel opens safely: UTF-8 with BOM, neutralised text cells.

    The BOM makes Excel read Chinese names as UTF-8; text cells (and headers)
    starting with ``= + - @``, tab or CR get a leading ``'`` so Excel shows them
    instead of running them; numbers (including negative ones) stay numbers.
    The index is not written.

    Parameters
    ----------
    frame : DataFrame
    path : str or Path
    line_ending : {"\\n", "\\r\\n"}, default "\\n"
        Used for every line, quoted fields included.

    Returns
    -------
    Path
    """
    if line_ending not in ("\n", "\r\n"):
        raise ValueError(f"line_ending must be '\\n' or '\\r\\n', got {line_ending!r}")
    safe = frame.copy()
    safe.columns = [neutralise(str(c)) for c in safe.columns]
    for col in safe.columns:
        series = safe[col]
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)  # categories are text too, and '=x' is not a category
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            safe[col] = _neutralised(series)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written with CRLF so that the csv writer quotes a field holding a lone CR as well as one
    # holding LF; then one convention for the whole file, line breaks inside quoted text included.
    text = safe.to_csv(index=False, lineterminator="\r\n").replace("\r\n", "\n")
    if line_ending != "\n":
        text = text.replace("\n", line_ending)
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    return path


# --------------------------------------------------------------------------- Excel
# Excel can only scale by thousands (a trailing ","); for 10^4 and 10^8 (万, 亿) a literal "."
# is placed inside the digits of the thousands-scaled number.
_MONEY_FORMATS = {1.0: "#,##0", 1e3: "#,##0,", 1e6: "#,##0,,", 1e9: "#,##0,,,", 1e4: "0!.0,", 1e8: "0!.00,,"}
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
MAX_ROWS = 1_048_576


@dataclass(frozen=True)
class Sheet:
    """One worksheet of a workbook: a table and how its columns are shown.

    Parameters
    ----------
    frame : DataFrame
        The rows (the index is not written; ``reset_index()`` first to keep it).
    money : sequence of str
        Columns of money, shown in the display unit (cells keep exact values); their header gets the unit label.
    percent : sequence of str
        Columns of fractions shown as percentages (0.125 -> 12.5%).
    formats : dict
        Column -> Excel number format, overriding the above (e.g. ``{"fte": "0.00"}``).
    """

    frame: pd.DataFrame
    money: Sequence[str] = ()
    percent: Sequence[str] = ()
    formats: Mapping[str, str] = field(default_factory=dict)


def display_width(text: str) -> int:
    """Return the width of ``text`` in Excel columns: CJK and other wide characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def money_format(unit: float) -> str:
    """Return the Excel number format showing money divided by ``unit`` (1, 1000, 10^4, 10^6, 10^8, 10^9).

    Raises
    ------
    ConfigError
        For a unit Excel cannot show by a number format.
    """
    for known, fmt in _MONEY_FORMATS.items():
        if math.isclose(float(unit), known):
            return fmt
    raise ConfigError([("company.display_unit",
                        f"Excel can show money divided by 1, 1000, 10000, 1000000, 100000000 or 1000000000, "
                        f"not {unit}; choose one of those")])


def _sheet_names(names: Iterable[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        clean = _BAD_SHEET_CHARS.sub("_", str(name)).strip("'")[:31] or "Sheet"
        candidate, n = clean, 2
        while candidate.lower() in (o.lower() for o in out):
            candidate = f"{clean[:28]}~{n}"
            n += 1
        out.append(candidate)
    return out


def _shown_text(value: object, number_format: str | None, unit: float, is_money: bool) -> str:
    """Return roughly what Excel shows for ``value``, to size the column."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return "2027-12-31"
    if isinstance(value, (bool, np.bool_)):
        return "FALSE"
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
        if is_money:
            return f"{number / unit:,.0f}" if unit in (1.0, 1e3, 1e6, 1e9) else f"{number / unit:.2f}"
        if number_format and "%" in number_format:
            return f"{number:.1%}"
        return f"{number:,.2f}" if isinstance(value, (float, np.floating)) else str(value)
    return str(value)


# planlib's own column names that are one word; any other header without "_" (a month, a product, a region of a
# pivot) is the user's data and keeps its spelling when headers are shown as words.
PLANLIB_WORDS = frozenset({
    "achievable", "amount", "baseline", "bonus", "cap", "column", "contribution", "deadline", "description", "end",
    "entity", "file", "forecast", "gap", "goal", "hires", "initiative", "kind", "kpi", "level", "line", "measurable",
    "measured", "metric", "model", "month", "name", "owned", "owner", "period", "probability", "problems", "product",
    "rate", "reason", "region", "relevant", "scope", "series", "sha256", "smart", "source", "specific", "start", "step",
    "strategy", "table", "target", "team", "threshold", "tier", "uncovered", "unit", "value", "weeks", "weight",
    "winners"})


def header_words(column: object) -> str:
    """Return a planlib column name as a reader's header ("rep_id" -> "Rep ID"); a data header unchanged.

    >>> header_words("capacity_without_hires"), header_words("team"), header_words("2027-01"), header_words("gadgets")
    ('Capacity without hires', 'Team', '2027-01', 'gadgets')
    """
    name = str(column)
    return label(name) if "_" in name or name in PLANLIB_WORDS else name


def write_excel(path: str | Path, sheets: Mapping[str, pd.DataFrame | Sheet], *, unit: float = 1.0,
                unit_label: str = "", created: dt.datetime | dt.date, words: bool = False) -> Path:
    """Write a workbook with one readable sheet per view, byte-identical for the same inputs.

    Headers are bold and frozen with a filter; columns are as wide as their
    content (CJK characters count double); money shows in the display unit by
    number format while each cell keeps its exact value; percentages as %,
    dates as dates. Text is never a formula: cells are written as strings with
    formula, URL and number conversion off, and text starting with
    ``= + - @``, tab or CR carries Excel's quote prefix (the leading ``'``),
    so editing the cell does not turn it into a formula either.

    Parameters
    ----------
    path : str or Path
        The .xlsx file.
    sheets : dict
        Sheet name -> DataFrame or :class:`Sheet`, in order. Names are made valid for Excel
        (31 characters, no ``[]:*?/\\``).
    unit, unit_label : float, str
        The display unit of money columns (1000, "k CNY").
    created : datetime or date
        The document's creation time (e.g. the config's as_of): a fixed value keeps the bytes stable.
    words : bool, default False
        Show planlib's column names as words (:func:`header_words`: "rep_id" -> "Rep ID"), as a workbook for
        people does; False keeps them as written (a workbook that tools read back).

    Returns
    -------
    Path

    Raises
    ------
    ConfigError
        If ``unit`` cannot be shown by an Excel number format.
    ValueError
        If a sheet has more rows than Excel holds, or a money/percent column is missing.
    """
    import xlsxwriter

    money_fmt = money_format(unit)
    if isinstance(created, dt.date) and not isinstance(created, dt.datetime):
        created = dt.datetime.combine(created, dt.time())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {
        "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
        "nan_inf_to_errors": True,
    })
    workbook.set_properties({"created": created})
    header_fmt = workbook.add_format({"bold": True, "bg_color": "#F1F5F8", "bottom": 1, "text_wrap": False})
    text_fmt = workbook.add_format({})
    quoted_fmt = workbook.add_format({"quote_prefix": True})
    cache: dict[str, object] = {}

    def number_fmt(spec: str):
        if spec not in cache:
            cache[spec] = workbook.add_format({"num_format": spec})
        return cache[spec]

    specs = {name: (s if isinstance(s, Sheet) else Sheet(s)) for name, s in sheets.items()}
    for (name, spec), sheet_name in zip(specs.items(), _sheet_names(specs)):
        frame = spec.frame
        missing = [c for c in (*spec.money, *spec.percent) if c not in frame.columns]
        if missing:
            raise ValueError(f"sheet {name!r}: money/percent column(s) {missing} not in the table "
                             f"{list(frame.columns)}")
        if len(frame) + 1 > MAX_ROWS:
            raise ValueError(f"sheet {name!r} has {len(frame)} rows; Excel holds at most {MAX_ROWS - 1} "
                             "below a header: split it or write a CSV")
        ws = workbook.add_worksheet(sheet_name)
        columns = list(frame.columns)
        widths = []
        for j, col in enumerate(columns):
            is_money = col in spec.money and col not in spec.formats
            shown = header_words(col) if words else str(col)
            header = f"{shown} ({unit_label})" if is_money and unit_label else shown
            ws.write_string(0, j, header, header_fmt)
            series = frame[col]
            if col in spec.formats:
                col_fmt = spec.formats[col]
            elif is_money:
                col_fmt = money_fmt
            elif col in spec.percent:
                col_fmt = "0.0%"
            elif pd.api.types.is_datetime64_any_dtype(series):
                col_fmt = "yyyy-mm-dd"
            elif pd.api.types.is_float_dtype(series):
                col_fmt = "#,##0.00"
            else:
                col_fmt = None
            widths.append(max(display_width(header), column_width(series, col_fmt, unit, is_money)))
            _write_column(ws, j, series.tolist(), col_fmt, number_fmt, text_fmt, quoted_fmt)
        for j, width in enumerate(widths):
            ws.set_column(j, j, min(max(width + 2, 6), 60))
        ws.freeze_panes(1, 0)
        if columns:
            ws.autofilter(0, 0, max(len(frame), 1), len(columns) - 1)
    workbook.close()
    return path


def column_width(series: pd.Series, number_format: str | None = None, unit: float = 1.0,
                 is_money: bool = False) -> int:
    """Return the width of the widest value of ``series`` as shown in Excel (see :func:`display_width`), 0 if none.

    The same as the widest ``display_width`` of each cell's shown text, worked out column-wise: a number
    column's widest text is that of its largest value or of its most negative one (the text of a number
    grows with its size, and a minus sign adds one), and ASCII text is as wide as it is long.

    >>> column_width(pd.Series([3.0, -12.5, 1234.0]))  # "1,234.00" (8) is wider than "-12.50" (6)
    8
    """
    dtype = series.dtype
    kind = dtype.kind if isinstance(dtype, np.dtype) else None
    if kind in ("f", "i", "u"):
        values = series.to_numpy()
        finite = values[np.isfinite(values)] if kind == "f" else values
        negative = np.signbit(finite) if kind == "f" else finite < 0  # -0.0 too: it shows as "-0.00"
        extremes = [finite[~negative].max()] if (~negative).any() else []
        extremes += [finite[negative].min()] if negative.any() else []
        if kind == "f":
            extremes += [x for x in (np.inf, -np.inf) if (values == x).any()]
        return max((display_width(_shown_text(x.item() if isinstance(x, np.generic) else x, number_format, unit,
                                              is_money)) for x in extremes), default=0)
    if kind == "b":
        return len("FALSE") if len(series) else 0
    if kind == "M" or isinstance(dtype, pd.DatetimeTZDtype):
        return len("2027-12-31") if series.notna().any() else 0
    widest = 0
    for value in series.tolist():
        if type(value) is str:
            width = len(value) if value.isascii() else display_width(value)
        else:
            width = display_width(_shown_text(value, number_format, unit, is_money))
        widest = max(widest, width)
    return widest


def _write_column(ws, col: int, values: list, col_fmt: str | None, number_fmt, text_fmt, quoted_fmt) -> None:
    """Write one column's cells below its header, as :func:`_write_cell` does, with the common cases first."""
    for row, value in enumerate(values, start=1):
        kind = type(value)
        if kind is float:
            if value != value:
                ws.write_blank(row, col, None)
            elif col_fmt:
                ws.write_number(row, col, value, number_fmt(col_fmt))
            else:
                ws.write_number(row, col, value)
        elif kind is str:
            ws.write_string(row, col, value, quoted_fmt if value.startswith(FORMULA_PREFIXES) else text_fmt)
        else:
            _write_cell(ws, row, col, value, col_fmt, number_fmt, text_fmt, quoted_fmt)


def _write_cell(ws, row: int, col: int, value: object, col_fmt: str | None, number_fmt, text_fmt, quoted_fmt) -> None:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        ws.write_blank(row, col, None)
    elif isinstance(value, (bool, np.bool_)):
        ws.write_boolean(row, col, bool(value))
    elif isinstance(value, (dt.datetime, dt.date, pd.Timestamp)):
        stamp = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
        ws.write_datetime(row, col, stamp.replace(tzinfo=None), number_fmt(col_fmt or "yyyy-mm-dd"))
    elif isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value) if isinstance(value, (float, np.floating)) else int(value)
        if col_fmt:
            ws.write_number(row, col, number, number_fmt(col_fmt))
        else:
            ws.write_number(row, col, number)
    else:
        text = str(value)
        ws.write_string(row, col, text, quoted_fmt if text.startswith(FORMULA_PREFIXES) else text_fmt)
