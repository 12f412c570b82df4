"""The plan bundle as a reader sees it: headless Chromium with no network draws every chart.

Skipped, with the reason, where chromium or ``unshare -n`` is missing. The bundle is the
session's one full run (tests/sample_bundle.py).
"""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import nbformat
from browser_dom import dump_dom, needs_offline_browser, page_size, summarise
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


# --------------------------------------------------------------------------- pages a director reads
SUMMARY_MAX_HEIGHT = 3500  # issue 17: the executive summary reads in about a screen and a half at 1280 px
# A money figure of the sample company in yuan has at least seven digits (its smallest register impact is
# 2,500,000 CNY, its target 373,013,000); in its display unit (k CNY) no table or sentence needs more than six.
# Charts are left out: their axes say the unit, and the market chart's region totals pass a million k CNY.
SEVEN_DIGITS = re.compile(r"(?<![\w.,])(?:\d{1,3}(?:,\d{3}){2,}|\d{7,})(?:\.\d+)?(?![\w,])")


def page_text(page: Path) -> str:
    """The words a reader sees on ``page`` outside its charts, with entities decoded and spaces collapsed."""
    markup = page.read_text(encoding="utf-8")
    markup = re.sub(r"<(style|svg)\b.*?</\1>", " ", markup, flags=re.DOTALL | re.IGNORECASE)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup)))


def test_page_text_sees_tables_and_prose_but_not_charts(tmp_path):
    page = tmp_path / "p.html"
    page.write_text("<style>p{}</style><p>target 373,013,000 CNY, seed 20270101</p><svg><text>1,149,415</text>"
                    "</svg><table><tr><td>37605000</td><td>12,345.5</td><td>2027</td></tr></table>", encoding="utf-8")
    found = [m.group(0) for m in SEVEN_DIGITS.finditer(page_text(page))]
    assert found == ["373,013,000", "20270101", "37605000"]


@needs_offline_browser
def test_the_executive_summary_fits_a_director_s_reading(sample_bundle):
    width, height = page_size(sample_bundle.bundle / "05_annual_plan.html", width=1280)
    assert height <= SUMMARY_MAX_HEIGHT, f"the executive summary is {height} px tall at 1280 px wide"
    assert width <= 1280, f"the executive summary is {width} px wide at 1280 px"


def test_every_money_figure_on_the_pages_is_in_the_display_unit(sample_bundle):
    import planlib

    plan = planlib.Plan.from_config(sample_bundle.root / "templates" / "plan.yaml")  # the run's cache
    company = plan.config.company
    assert (company.display_unit, company.display_unit_label) == (1000, "k CNY")
    for page in sorted(sample_bundle.bundle.glob("*.html")):
        words = page_text(page)
        # "120,000 CNY" is money in yuan; "120 k CNY" is not, nor a rejected row's reason that names CNY
        in_yuan = [words[max(0, m.start() - 50):m.end()] for m in re.finditer(r"\d CNY", words)]
        assert in_yuan == [], (page.name, in_yuan)
        too_long = [words[max(0, m.start() - 50):m.end()] for m in SEVEN_DIGITS.finditer(words)
                    if not words[:m.start()].endswith("seed ")]  # the config's seed is not money
        assert too_long == [], (page.name, too_long)


def test_the_pages_state_one_chance_and_one_last_year(sample_bundle):
    import planlib

    plan = planlib.Plan.from_config(sample_bundle.root / "templates" / "plan.yaml")  # the run's cache
    chance = f"{plan['monte_carlo'].summary['p_target']:.0%}"
    target = plan["annual_target"]
    last = f"{target.last_year_outlook / 1000:,.0f} k CNY"
    pages = {p.stem: page_text(p) for p in sample_bundle.bundle.glob("*.html")}
    assert f"Chance of reaching the target {chance}" in pages["index"]
    assert f"Last year: FY{plan.config.fiscal.year - 1} (actual + outlook) {last}" in pages["index"]
    assert f"The plan reaches it in {chance} of" in pages["05_annual_plan"]
    assert f"Chance of reaching it {chance}" in pages["05_annual_plan"]
    assert f"The plan reaches it in {chance} of" in pages["02_goal_setting"]
    assert f"reaches its annual target in {chance} of years" in pages["04_risk_review"]
    for stem in ("05_annual_plan", "02_goal_setting", "01_market_analysis"):
        assert f"plus the forecast of its 2 open months: {last}" in pages[stem] or f"comes to {last}" in pages[stem], stem
    # the forecast-only odds appear once on the summary, labelled as such
    forecast_only = f"{target.probability:.0%}"
    assert pages["05_annual_plan"].count(f"alone the chance would be {forecast_only}") == 1


def test_the_summary_speaks_the_director_s_language(sample_bundle):
    words = page_text(sample_bundle.bundle / "05_annual_plan.html")
    for jargon in ("MASE", "combo(", "holt_winters", "region_product/", "True", "False", "NaN", "_"):
        assert jargon not in words, jargon
