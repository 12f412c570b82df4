"""Every file a plan bundle holds is written here: notebook HTML, the index page, CSV, Excel, the manifest.

Each writer gives the same bytes for the same inputs (no clocks, random ids or
unordered rows), works offline (no CDN address), and treats data as text, never
as markup or formulas.
"""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import html
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

import bleach
import defusedxml.ElementTree as safe_xml
import nbformat
import numpy as np
import pandas as pd
from bleach.css_sanitizer import CSSSanitizer

from planlib.core.errors import ConfigError
from planlib.core.text import FORMULA_PREFIXES
from planlib.data.readers import file_sha256

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


# --------------------------------------------------------------------------- notebook HTML
PAGE_CSS = """
:root { color-scheme: light; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
       "Hiragino Sans GB", "Segoe UI", Helvetica, Arial, sans-serif; line-height: 1.55; color: #1d1d1d;
       max-width: 1100px; margin: 0 auto; padding: 1.5rem 2rem 3rem; background: #fff; }
nav.planlib-nav { font-size: 0.9rem; margin-bottom: 1rem; }
nav.planlib-nav a { color: #1f5f8b; text-decoration: none; }
h1, h2, h3 { color: #16324a; line-height: 1.25; }
h1 { font-size: 1.7rem; border-bottom: 2px solid #1f5f8b; padding-bottom: .3rem; }
a.anchor-link { display: none; }
table { border-collapse: collapse; margin: .8rem 0 1.2rem; font-size: .88rem; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: .3rem; }
th, td { border-bottom: 1px solid #dcdcdc; padding: .3rem .7rem; text-align: right; vertical-align: top; }
th { background: #f1f5f8; border-bottom: 2px solid #9fb3c4; }
td:first-child, th:first-child { text-align: left; }
tbody tr:nth-child(even) { background: #fafbfc; }
img { max-width: 100%; height: auto; }
.planlib-chart { margin: .6rem 0 1rem; }
.planlib-chart svg { max-width: 100%; height: auto; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; white-space: pre-wrap; font-size: .85rem; }
.output_stderr pre { background: #fff4f0; }
.output_area, .text_cell_render { margin: .4rem 0; }
.headline { display: flex; flex-wrap: wrap; gap: .8rem; margin: 1rem 0 1.6rem; }
.headline div { border: 1px solid #dcdcdc; border-radius: 6px; padding: .6rem 1rem; min-width: 10rem; }
.headline .label { font-size: .8rem; color: #555; }
.headline .value { font-size: 1.3rem; font-weight: bold; color: #16324a; }
ul.pages li { margin: .5rem 0; }
.summary { color: #444; font-size: .92rem; }
@media print {
  nav.planlib-nav { display: none; }
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  table, img, .output_area { page-break-inside: avoid; }
  h1, h2, h3 { page-break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
""".strip()

# Output types that draw without script; anything else (widgets, JavaScript) is dropped.
KEEP_MIME = ("text/html", "text/markdown", "image/svg+xml", "image/png", "image/jpeg", "text/latex", "text/plain")

# What a table or a paragraph of prose needs; any other tag is shown as text (escaped), not dropped.
ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "details", "div",
    "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "ins", "kbd", "li", "mark", "ol", "p", "pre",
    "q", "s", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "u", "ul",
})
ALLOWED_ATTRIBUTES = {
    "*": ["class", "id", "title", "style"],  # id: heading anchors, papermill's error-cell link
    "a": ["href", "title", "class"],
    "td": ["colspan", "rowspan", "class", "style"],
    "th": ["colspan", "rowspan", "class", "style", "scope"],
}
_CSS = CSSSanitizer(allowed_css_properties=[
    "text-align", "vertical-align", "font-weight", "font-style", "color", "background-color", "white-space",
    "width", "min-width", "max-width", "padding", "border-bottom", "border-top",
])
_SCRIPT_ELEMENT = re.compile(r"<script\b.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_SCRIPT_OPENER = re.compile(r"<script", re.IGNORECASE)


def sanitize_html(fragment: str) -> str:
    """Return ``fragment`` with only table and prose markup kept; any other tag becomes visible text.

    A backstop behind ``planlib.text`` (which escapes every value): a name such
    as ``<img src=x onerror=...>`` that reached an output unescaped is shown,
    not run. Links keep http(s)/mailto or relative targets only.
    """
    return bleach.clean(fragment, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                        protocols=["http", "https", "mailto"], css_sanitizer=_CSS, strip=False,
                        strip_comments=True)


# What a vl-convert chart is drawn with; an SVG holding anything else (script, foreignObject,
# style, image) is not put into the page as markup.
SVG_TAGS = frozenset({
    "svg", "g", "path", "rect", "line", "text", "tspan", "circle", "ellipse", "polygon", "polyline", "defs",
    "clipPath", "title", "desc", "linearGradient", "radialGradient", "stop", "pattern", "mask", "use", "symbol",
    "marker",
})


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def inline_svg(svg: str, id_prefix: str) -> str | None:
    """Return a chart's SVG as markup safe to place in an HTML page, or None if it is more than a drawing.

    The SVG is parsed as XML (no DTD, no entities) and written back from the
    parsed tree, so what the browser reads is exactly what was checked: only
    drawing elements, no ``on*`` attribute, links only to ``#ids`` inside the
    chart, ids prefixed with ``id_prefix`` so that two charts on a page never
    share one. Namespace declarations are dropped (HTML puts ``<svg>`` in the
    SVG namespace itself), which also keeps the page free of ``http://`` text.
    """
    try:
        root = safe_xml.fromstring(svg.encode("utf-8"))
    except Exception:  # malformed XML or a DTD/entity that defusedxml refuses: not inlined
        return None
    if _local(root.tag) != "svg":
        return None
    ids: dict[str, str] = {}
    for element in root.iter():
        if not isinstance(element.tag, str) or _local(element.tag) not in SVG_TAGS:
            return None
        element.tag = _local(element.tag)
        for name, value in list(element.attrib.items()):
            local = _local(name)
            squashed = re.sub(r"\s+", "", value).lower()
            if local.lower().startswith("on") or "javascript:" in squashed or "data:" in squashed:
                return None
            if local == "href" and not value.startswith("#"):
                return None
            if local != name:
                del element.attrib[name]
                element.attrib[local] = value
        if "id" in element.attrib:
            ids[element.attrib["id"]] = id_prefix + element.attrib["id"]
    if ids:
        for element in root.iter():
            for name, value in list(element.attrib.items()):
                if name == "id":
                    element.attrib[name] = ids.get(value, value)
                elif name == "href" and value[1:] in ids:
                    element.attrib[name] = "#" + ids[value[1:]]
                elif "url(#" in value:
                    element.attrib[name] = re.sub(r"url\(#([^)]+)\)",
                                                  lambda m: f"url(#{ids.get(m.group(1), m.group(1))})", value)
    return ElementTree.tostring(root, encoding="unicode")


def _exporter():
    """Return nbconvert's HTML exporter (basic template) whose Markdown rendering is sanitized.

    Markdown passes raw HTML through; overriding the exporter's ``markdown2html``
    filter sanitizes both Markdown cells and ``text/markdown`` outputs (from
    ``planlib.text.md``) after nbconvert rendered them its own way.
    """
    from jinja2 import pass_context
    from nbconvert import HTMLExporter

    class SanitizingHTMLExporter(HTMLExporter):
        @pass_context
        def markdown2html(self, context, source):
            return sanitize_html(HTMLExporter.markdown2html(self, context, source))

    return SanitizingHTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                                  exclude_output_prompt=True)


def _clean_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return a copy of ``nb`` fit for a shared page: script-free outputs, sanitized HTML, stable ids."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    charts = 0
    for number, cell in enumerate(nb.cells):
        # papermill's injected cell has a random id; the page anchors must not change between runs
        cell["id"] = f"cell-{number}"
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") in ("display_data", "execute_result"):
                if any(k.startswith("application/vnd.jupyter.widget") for k in output.get("data", {})):
                    continue  # a widget draws nothing offline; its text form is noise
                data = {k: v for k, v in output.get("data", {}).items() if k in KEEP_MIME}
                svg = data.get("image/svg+xml")
                inlined = inline_svg(svg if isinstance(svg, str) else "".join(svg), f"chart{charts + 1}-") \
                    if svg else None
                if inlined is not None:
                    # inline, so the chart's text is searchable and prints sharply; checked by inline_svg
                    charts += 1
                    output["data"] = {"text/html": f'<div class="planlib-chart">{inlined}</div>'}
                    output["metadata"] = {}
                    kept.append(output)
                    continue
                # an SVG that failed the check stays an image/svg+xml output: nbconvert draws it
                # through <img src="data:...">, where an SVG cannot run script
                if "text/html" in data:
                    data["text/html"] = sanitize_html(data["text/html"])
                if not data:
                    continue
                output["data"] = data
                output["metadata"] = {k: v for k, v in output.get("metadata", {}).items() if k in data}
            kept.append(output)
        cell["outputs"] = kept
    return nb


def _page(title: str, body: str, *, back_link: bool, lang: str) -> str:
    nav = '<nav class="planlib-nav"><a href="index.html">&larr; All pages of this plan</a></nav>\n' if back_link else ""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{html.escape(lang, quote=True)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{PAGE_CSS}\n</style>\n</head>\n<body>\n"
        f"{nav}<main>\n{body.strip()}\n</main>\n</body>\n</html>\n"
    )


def _write_text(path: Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def export_notebook_html(nb: nbformat.NotebookNode | str | Path, out_path: str | Path, title: str, *,
                         lang: str = "en") -> Path:
    """Write an executed notebook as one offline HTML page: narrative and outputs, no code.

    nbconvert's ``basic`` template is used (the lab and classic templates load
    require.js and MathJax from a CDN); charts are the SVG outputs of
    ``planlib.charts``, put into the page as inline ``<svg>`` after ``inline_svg``
    checked them (an SVG that fails stays an ``<img>`` data URI, where it cannot
    run script). Outputs are cleaned first (``_clean_notebook``): widget and
    JavaScript outputs dropped, HTML outputs sanitized, cell ids made stable;
    Markdown cells and outputs are sanitized after rendering. Any ``<script>``
    still left in the page is removed as a last backstop.

    Parameters
    ----------
    nb : NotebookNode, str or Path
        The executed notebook, or the path of an .ipynb file.
    out_path : str or Path
        The HTML file to write (its folder is created).
    title : str
        The page title (escaped).

    Returns
    -------
    Path
        ``out_path``.
    """
    if not isinstance(nb, nbformat.NotebookNode):
        nb = nbformat.read(str(nb), as_version=4)
    body, _ = _exporter().from_notebook_node(_clean_notebook(nb))
    # nothing above leaves a script; should a template change add one, it does not reach the reader
    body = _SCRIPT_OPENER.sub("&lt;script", _SCRIPT_ELEMENT.sub("", body))
    return _write_text(Path(out_path), _page(title, body, back_link=True, lang=lang))


def _page_href(page: Mapping[str, str]) -> str:
    target = str(page.get("file") or page.get("href") or "")
    parts = urlsplit(target)
    if not target or parts.scheme or parts.netloc or target.startswith(("/", "\\")) or ".." in Path(target).parts:
        raise ValueError(f"index page link {target!r} must be a file inside the bundle (relative, no '..')")
    return quote(target)


def write_index(bundle_dir: str | Path, title: str, pages: Sequence[Mapping[str, str]],
                headline: Mapping[str, object] | None = None, *, notes: Sequence[str] = (),
                lang: str = "en") -> Path:
    """Write ``index.html``: the headline figures, then a link to each notebook page.

    Parameters
    ----------
    bundle_dir : str or Path
        The bundle folder; the page is ``<bundle_dir>/index.html``.
    title : str
        The plan's title (escaped, as every other value).
    pages : sequence of dict
        Each with title, file (or href: a file in the bundle) and optional summary, in reading order.
    headline : dict, optional
        Label -> formatted value (e.g. ``{"FY2027 target": "52,300 k CNY"}``), shown at the top.
    notes : sequence of str
        Lines shown under the links (e.g. how many input rows were rejected).

    Returns
    -------
    Path
        The index file.

    Raises
    ------
    ValueError
        If a page link leaves the bundle (absolute, a URL, or with ``..``).
    """
    parts = [f"<h1>{html.escape(title)}</h1>"]
    if headline:
        cards = "".join(f'<div><div class="label">{html.escape(str(k))}</div>'
                        f'<div class="value">{html.escape(str(v))}</div></div>' for k, v in headline.items())
        parts.append(f'<section class="headline">{cards}</section>')
    items = []
    for page in pages:
        summary = page.get("summary")
        text = f'<a href="{html.escape(_page_href(page), quote=True)}">{html.escape(str(page["title"]))}</a>'
        if summary:
            text += f'<div class="summary">{html.escape(str(summary))}</div>'
        items.append(f"<li>{text}</li>")
    parts.append('<h2>Pages</h2>\n<ul class="pages">\n' + "\n".join(items) + "\n</ul>")
    if notes:
        parts.append("<ul class=\"notes\">" + "".join(f"<li>{html.escape(str(n))}</li>" for n in notes) + "</ul>")
    return _write_text(Path(bundle_dir) / "index.html", _page(title, "\n".join(parts), back_link=False, lang=lang))


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
            safe[col] = series.map(neutralise, na_action="ignore")
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


def write_excel(path: str | Path, sheets: Mapping[str, pd.DataFrame | Sheet], *, unit: float = 1.0,
                unit_label: str = "", created: dt.datetime | dt.date) -> Path:
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
            header = f"{col} ({unit_label})" if is_money and unit_label else str(col)
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
            width = display_width(header)
            for i, value in enumerate(series.tolist(), start=1):
                width = max(width, display_width(_shown_text(value, col_fmt, unit, is_money)))
                _write_cell(ws, i, j, value, col_fmt, number_fmt, text_fmt, quoted_fmt)
            widths.append(width)
        for j, width in enumerate(widths):
            ws.set_column(j, j, min(max(width + 2, 6), 60))
        ws.freeze_panes(1, 0)
        if columns:
            ws.autofilter(0, 0, max(len(frame), 1), len(columns) - 1)
    workbook.close()
    return path


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


# --------------------------------------------------------------------------- manifest and hashes
def _json_default(value: object) -> object:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"manifest value of type {type(value).__name__} cannot be written as JSON: {value!r}")


def write_manifest(path: str | Path, manifest: Mapping[str, object]) -> Path:
    """Write ``manifest`` as sorted, indented UTF-8 JSON (Chinese kept as is) ending with a newline.

    Dates become ISO strings and paths POSIX strings; NaN is refused (not valid JSON).

    Raises
    ------
    TypeError
        For a value with no JSON form.
    ValueError
        For NaN or infinity.
    """
    text = json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False,
                      default=_json_default)
    return _write_text(Path(path), text + "\n")


def bundle_files_hash(folder: str | Path, *, exclude: Iterable[str] = ()) -> dict[str, str]:
    """Return {relative POSIX path: sha256} of every file under ``folder``, sorted by path.

    Two runs of the same plan give the same mapping; ``exclude`` (relative paths)
    leaves out files that list the hashes themselves.
    """
    root = Path(folder)
    skip = set(exclude)
    out = {}
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = file.relative_to(root).as_posix()
        if rel not in skip:
            out[rel] = file_sha256(file)
    return dict(sorted(out.items()))


__all__ = [
    "FORMULA_PREFIXES", "PAGE_CSS", "Sheet", "bundle_files_hash", "display_width", "export_notebook_html",
    "file_sha256", "money_format", "neutralise", "sanitize_html", "write_csv", "write_excel", "write_index",
    "write_manifest",
]
