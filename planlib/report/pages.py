"""The HTML pages of a plan bundle: the sanitiser and the inline-SVG check behind them, each executed notebook
as one offline page (narrative and outputs, no code), and the index page with the headline figures.
"""
from __future__ import annotations

import copy
import html
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

import bleach
import defusedxml.ElementTree as safe_xml
import nbformat
from bleach.css_sanitizer import CSSSanitizer

__all__ = ["ALLOWED_ATTRIBUTES", "ALLOWED_TAGS", "KEEP_MIME", "PAGE_CSS", "SVG_TAGS", "export_notebook_html",
           "inline_svg", "sanitize_html", "write_index"]

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
h2 { font-size: 1.35rem; margin: 1.4rem 0 .5rem; }
h3 { font-size: 1.1rem; margin: 1.1rem 0 .4rem; }
p { margin: .5rem 0; }
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
/* a wide table scrolls inside its output instead of widening the page */
.output_html { overflow-x: auto; }
details { margin: .2rem 0 .5rem; }
details > summary { cursor: pointer; color: #1f5f8b; }
.headline { display: flex; flex-wrap: wrap; gap: .8rem; margin: 1rem 0 1.6rem; }
.headline > div { border: 1px solid #dcdcdc; border-radius: 6px; padding: .6rem 1rem; min-width: 10rem; }
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
                files: Sequence[Mapping[str, str]] = (), lang: str = "en") -> Path:
    """Write ``index.html``: the headline figures, a link to each notebook page, then to the bundle's files.

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
    files : sequence of dict
        Each with title, href (a file in the bundle, e.g. ``plan.xlsx``) and optional summary: the downloads.

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
    for heading, links in (("Pages", pages), ("Files", files)):
        if not links:
            continue
        items = []
        for page in links:
            summary = page.get("summary")
            text = f'<a href="{html.escape(_page_href(page), quote=True)}">{html.escape(str(page["title"]))}</a>'
            if summary:
                text += f'<div class="summary">{html.escape(str(summary))}</div>'
            items.append(f"<li>{text}</li>")
        parts.append(f'<h2>{heading}</h2>\n<ul class="pages">\n' + "\n".join(items) + "\n</ul>")
    if notes:
        parts.append("<ul class=\"notes\">" + "".join(f"<li>{html.escape(str(n))}</li>" for n in notes) + "</ul>")
    return _write_text(Path(bundle_dir) / "index.html", _page(title, "\n".join(parts), back_link=False, lang=lang))
