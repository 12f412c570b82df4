"""The plan bundle as a reader sees it: headless Chromium with no network draws every chart.

Skipped, with the reason, where chromium or ``unshare -n`` is missing. The bundle is the
session's one full run (tests/sample_bundle.py).
"""
from __future__ import annotations

import base64
from pathlib import Path

import nbformat
from browser_dom import dump_dom, needs_offline_browser, summarise
from sample_bundle import sample_bundle  # noqa: F401  (the session fixture of the one full run)


def chart_outputs(executed: Path) -> int:
    """Count the chart outputs (image/svg+xml) of an executed notebook."""
    nb = nbformat.read(str(executed), as_version=4)
    return sum("image/svg+xml" in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", []))


def test_dom_summary_counts_only_charts_with_marks():
    dom = ('<html><body><svg class="marks" width="5"><g class="mark-group role-frame"><path/></g></svg>'
           '<div><svg class="marks"></svg></div><svg class="icon"><g class="mark-x"></g></svg>'
           '<img src="a.png"><p>text</p></body></html>')
    summary = summarise(dom)
    assert (summary.charts_drawn, summary.empty_charts) == (1, 1)
    assert summary.elements["img"] == [{"src": "a.png"}]
    assert len(summary.elements["svg"]) == 3
    chart = base64.b64encode(b'<svg class="marks"><g class="mark-line"></g></svg>').decode()
    images = (f'<img src="data:image/svg+xml;base64,{chart}" data-natural-width="640">'
              f'<img src="data:image/svg+xml;base64,{chart}" data-natural-width="0">'
              f'<img src="data:image/svg+xml;base64,{base64.b64encode(b"<svg></svg>").decode()}">')
    summary = summarise(f"<html><body>{images}</body></html>")
    assert (summary.charts_drawn, summary.empty_charts) == (1, 1)


@needs_offline_browser
def test_the_browser_is_really_offline_and_runs_scripts(tmp_path):
    # A chart that needs a CDN draws nothing; a chart drawn by an inline script does, and so does
    # an SVG chart image; a broken SVG image is counted as not drawn.
    chart = base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg" class="marks" width="20" height="10">'
                             b'<g class="mark-rect"><rect width="5" height="5"/></g></svg>').decode()
    broken = base64.b64encode(b'<svg class="marks"><g class="mark-rect"></g>').decode()
    page = tmp_path / "control.html"
    page.write_text(
        '<html><head><script src="https://cdn.jsdelivr.net/npm/vega@6"></script></head><body>'
        '<div id="vis"></div><script>'
        'if (typeof vega !== "undefined") { document.body.innerHTML += "<p id=online></p>"; }'
        'var s = document.createElementNS("http://www.w3.org/2000/svg", "svg"); s.setAttribute("class", "marks");'
        'var g = document.createElementNS("http://www.w3.org/2000/svg", "g"); g.setAttribute("class", "mark-rect");'
        's.appendChild(g); document.body.appendChild(s);</script>'
        f'<img src="data:image/svg+xml;base64,{chart}"><img src="data:image/svg+xml;base64,{broken}">'
        '</body></html>', encoding="utf-8")
    summary = summarise(dump_dom(page, measure_images=True))
    assert (summary.charts_drawn, summary.empty_charts) == (2, 1)
    assert not any(p.get("id") == "online" for p in summary.elements.get("p", []))


@needs_offline_browser
def test_every_notebook_page_draws_every_chart_offline(sample_bundle):
    bundle = sample_bundle.bundle
    drawn = {}
    for name in sample_bundle.notebooks:
        stem = Path(name).stem
        expected = chart_outputs(bundle / name)
        summary = summarise(dump_dom(bundle / f"{stem}.html", measure_images=True))
        drawn[stem] = (summary.charts_drawn, expected)
        assert summary.empty_charts == 0, stem
        assert summary.charts_drawn == expected, (stem, summary.charts_drawn, expected)
    assert drawn["01_market_analysis"][1] > 0  # the market analysis has charts, and they all drew


@needs_offline_browser
def test_index_page_opens_offline_and_links_every_page(sample_bundle):
    bundle = sample_bundle.bundle
    summary = summarise(dump_dom(bundle / "index.html"))
    links = {a.get("href") for a in summary.elements.get("a", [])}
    for name in sample_bundle.notebooks:
        assert f"{Path(name).stem}.html" in links
    assert {"plan.xlsx", "targets.csv", "rejects.csv"} <= links
    assert summary.empty_charts == 0
    external = [s.get("src") for s in summary.elements.get("script", []) if s.get("src")]
    external += [link.get("href") for link in summary.elements.get("link", [])
                 if link.get("href", "").startswith(("http:", "https:", "//"))]
    assert external == []
