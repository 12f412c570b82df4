"""Hostile names from a CRM stay text in every page, table and workbook of a plan bundle.

The session's full run (tests/sample_bundle.py) names a rep ``</script><script>alert(1)</script>``,
the top customer ``<img src=x onerror=alert(1)>`` and gives one sales row the amount ``=1+2``.
"""
from __future__ import annotations

import re

import openpyxl
import pandas as pd
from browser_dom import dump_dom, needs_offline_browser, summarise
from sample_bundle import FORMULA_AMOUNT, HOSTILE_CUSTOMER, sample_bundle  # noqa: F401  (session fixture)

INJECTED_SCRIPT = re.compile(r"<script[^>]*>\s*alert\(1\)", re.IGNORECASE)
INJECTED_IMG = re.compile(r"<img\s+src=[\"']?x", re.IGNORECASE)


def _pages(bundle):
    return sorted(bundle.glob("*.html"))


def test_no_page_holds_the_names_as_markup(sample_bundle):
    pages = _pages(sample_bundle.bundle)
    assert len(pages) == len(sample_bundle.notebooks) + 1  # each notebook and the index
    for page in pages:
        raw = page.read_text(encoding="utf-8")
        assert "<script>alert(1)" not in raw, page.name
        assert "<img src=x" not in raw, page.name
        assert not INJECTED_SCRIPT.search(raw) and not INJECTED_IMG.search(raw), page.name


def test_the_customer_name_is_shown_escaped(sample_bundle):
    # The name is shown (the top customer heads the customer table), as text.
    market = (sample_bundle.bundle / "01_market_analysis.html").read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt;" in market


@needs_offline_browser
def test_the_browser_builds_no_injected_element(sample_bundle):
    for page in _pages(sample_bundle.bundle):
        dom = dump_dom(page)
        summary = summarise(dom)
        assert [i for i in summary.elements.get("img", []) if i.get("src") == "x" or "onerror" in i] == [], page.name
        assert not INJECTED_SCRIPT.search(dom), page.name
        assert not any("onerror" in attrs for tag in summary.elements.values() for attrs in tag), page.name
        if page.name == "01_market_analysis.html":
            assert HOSTILE_CUSTOMER in _text_of_tables(dom)


def _text_of_tables(dom: str) -> str:
    """The text of the DOM's tables, entities decoded: what a reader sees in the cells."""
    import html

    cells = re.findall(r"<td[^>]*>(.*?)</td>", dom, flags=re.S)
    return "\n".join(html.unescape(c) for c in cells)


def test_csv_and_excel_keep_a_formula_as_text(sample_bundle):
    bundle = sample_bundle.bundle
    rejects = pd.read_csv(bundle / "rejects.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    formula_rows = rejects[rejects["value"].str.contains("1+2", regex=False)]
    assert formula_rows["value"].tolist() == ["'" + FORMULA_AMOUNT]
    assert formula_rows["column"].tolist() == ["amount"]
    workbook = openpyxl.load_workbook(bundle / "plan.xlsx")
    formulas = [(ws.title, c.coordinate) for ws in workbook for row in ws.iter_rows() for c in row
                if c.data_type == "f"]
    assert formulas == []
    texts = [c.value for ws in workbook for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and "1+2" in c.value]
    assert texts and all(t.lstrip("'") == FORMULA_AMOUNT for t in texts)
