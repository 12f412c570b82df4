"""Bundle files written and read back: offline HTML, index, CSV and Excel safe against injection, same bytes."""
from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import io
import json
import re
import zipfile

import nbformat
import openpyxl
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from planlib import ConfigError
from planlib.report import charts, writers as report
from planlib.core import text

HYPERLINK = '=HYPERLINK("http://x","y")'


# --------------------------------------------------------------------------- notebook HTML
def _notebook() -> nbformat.NotebookNode:
    frame = pd.DataFrame({"region": ["East", "<img src=x onerror=alert(1)>"], "revenue": [1_500_000.0, 250_000.0]})
    chart = charts.bars(frame, "region", "revenue", title="East brings most revenue", unit=1000, unit_label="k CNY")
    nb = new_notebook()
    nb.cells.append(new_markdown_cell("# Market analysis\n\nRevenue by region, in *thousands*."))
    cell = new_code_cell("charts.bars(...)", execution_count=1)
    cell.outputs = [
        new_output("display_data", data={"image/svg+xml": charts.to_svg(chart), "text/plain": "<chart>"}),
        new_output("display_data", data={"text/html": text.table(frame, caption="Revenue by region").data,
                                         "text/plain": "table"}),
        new_output("display_data", data={"text/markdown": text.fmt("Top rep: {r}, {g:.1%} growth.",
                                                                   r="</script><script>alert(1)</script>", g=0.125),
                                         "text/plain": "md"}),
    ]
    nb.cells.append(cell)
    return nb


def test_exported_page_is_offline_and_has_chart_table_and_prose(tmp_path):
    out = report.export_notebook_html(_notebook(), tmp_path / "01_market.html", "Market <analysis>")
    page = out.read_text(encoding="utf-8")
    low = page.lower()
    for banned in ("http://", "https://", "<script", "cdn", "require.js", "mathjax", "jquery"):
        assert banned not in low, banned
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page
    assert '<a href="index.html">' in page
    assert "<title>Market &lt;analysis&gt;</title>" in page
    assert "charts.bars(...)" not in page  # code is not shown
    # the chart is inline SVG (searchable, prints sharply) with its title as text
    assert page.count('<svg class="marks"') == 1
    assert ">East brings most revenue</text>" in page
    # the table and the prose, with the hostile names as text
    assert "<caption>Revenue by region</caption>" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Top rep: &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;, 12.5% growth." in page
    assert "<img" not in low


def test_export_is_byte_identical_and_ignores_random_cell_ids(tmp_path):
    first = _notebook()
    second = _notebook()  # new random cell ids, as papermill's injected cell gets
    assert [c.id for c in first.cells] != [c.id for c in second.cells]
    a = report.export_notebook_html(first, tmp_path / "a.html", "Plan").read_bytes()
    b = report.export_notebook_html(second, tmp_path / "b.html", "Plan").read_bytes()
    assert hashlib.sha256(a).hexdigest() == hashlib.sha256(b).hexdigest()


def test_raw_html_in_outputs_is_shown_as_text_not_run(tmp_path):
    # nbconvert passes raw HTML in text/markdown and text/html outputs through; the backstop escapes it
    nb = new_notebook()
    cell = new_code_cell("x", execution_count=1)
    cell.outputs = [
        new_output("display_data", data={"text/markdown": "Raw <script>alert(1)</script> **bold**"}),
        new_output("display_data", data={"text/html": '<p onclick="x()">hi <img src=x onerror=alert(2)>'
                                                      '<a href="javascript:alert(3)">l</a></p>'}),
        new_output("display_data", data={"application/javascript": "alert(4)"}),
        new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "m1"},
                                         "text/plain": "IntSlider(value=3)"}),
    ]
    nb.cells.append(cell)
    nb.cells.append(new_markdown_cell("Author's note <script>alert(5)</script>"))
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    page = report.export_notebook_html(nb, tmp_path / "p.html", "p").read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <strong>bold</strong>" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "onclick" not in page and "javascript:" not in page
    assert "alert(4)" not in page and "IntSlider" not in page and "widget-state" not in page
    assert "note &lt;script&gt;alert(5)&lt;/script&gt;" in page  # Markdown cells are sanitized too


def test_markdown_cells_keep_headings_links_and_tables(tmp_path):
    nb = new_notebook()
    nb.cells.append(new_markdown_cell("# Market analysis\n\nSee [the failing cell](#papermill-error-cell).\n\n"
                                      "| a | b |\n|---|---|\n| 1 | 2 |\n\n"
                                      '<span id="papermill-error-cell" style="color:red; position:fixed">here</span>'))
    page = report.export_notebook_html(nb, tmp_path / "p.html", "p").read_text(encoding="utf-8")
    assert '<h1 id="Market-analysis">Market analysis' in page
    assert '<a href="#papermill-error-cell">the failing cell</a>' in page
    assert '<span id="papermill-error-cell" style="color:red;">here</span>' in page  # position dropped
    assert "<td>1</td>" in page and "<th>a</th>" in page


def test_an_svg_that_could_run_script_is_not_inlined(tmp_path):
    bad = ('<svg xmlns="http://www.w3.org/2000/svg" class="marks"><script>alert(1)</script>'
           '<rect onload="alert(2)"/></svg>')
    assert report.inline_svg(bad, "c1-") is None
    assert report.inline_svg('<svg xmlns="http://www.w3.org/2000/svg"><a href="https://evil"/></svg>', "c") is None
    nb = new_notebook()
    cell = new_code_cell("x", execution_count=1)
    cell.outputs = [new_output("display_data", data={"image/svg+xml": bad})]
    nb.cells.append(cell)
    page = report.export_notebook_html(nb, tmp_path / "p.html", "p").read_text(encoding="utf-8")
    # kept only as an <img> data URI, where an SVG cannot run script
    match = re.search(r'<img[^>]*src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert match and base64.b64decode(match.group(1)).decode() == bad
    assert "<script" not in page.lower()


def test_inlined_svg_ids_are_prefixed_per_chart():
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
           '<defs><clipPath id="clip1"><rect width="5" height="5"/></clipPath></defs>'
           '<g clip-path="url(#clip1)"><use xlink:href="#clip1"/></g></svg>')
    out = report.inline_svg(svg, "chart2-")
    assert out == ('<svg><defs><clipPath id="chart2-clip1"><rect width="5" height="5" /></clipPath></defs>'
                   '<g clip-path="url(#chart2-clip1)"><use href="#chart2-clip1" /></g></svg>')


def test_export_reads_a_notebook_file(tmp_path):
    path = tmp_path / "nb.ipynb"
    nbformat.write(_notebook(), str(path))
    page = report.export_notebook_html(path, tmp_path / "nb.html", "From file").read_text(encoding="utf-8")
    assert ">East brings most revenue</text>" in page


# --------------------------------------------------------------------------- index
def test_index_links_pages_and_escapes_everything(tmp_path):
    pages = [{"title": "Market <b>analysis</b>", "file": "01_market_analysis.html", "summary": "Trend & mix"},
             {"title": "Targets", "href": "02 targets.html"}]
    out = report.write_index(tmp_path, "FY2027 <plan>", pages, {"FY2027 target": "52,300 k CNY", "<x>": "1 & 2"},
                             notes=["3 rows rejected: see rejects.csv"])
    page = out.read_text(encoding="utf-8")
    assert out == tmp_path / "index.html"
    assert '<a href="01_market_analysis.html">Market &lt;b&gt;analysis&lt;/b&gt;</a>' in page
    assert '<a href="02%20targets.html">Targets</a>' in page
    assert '<div class="summary">Trend &amp; mix</div>' in page
    assert '<div class="label">&lt;x&gt;</div><div class="value">1 &amp; 2</div>' in page
    assert page.index("52,300 k CNY") < page.index("01_market_analysis.html")  # headline first
    assert "<h1>FY2027 &lt;plan&gt;</h1>" in page and "3 rows rejected" in page
    assert "http" not in page and "<script" not in page
    assert 'href="index.html"' not in page  # no back link on the index itself


def test_index_links_the_bundles_files_and_draws_one_box_per_figure(tmp_path):
    files = [{"title": "plan.xlsx", "href": "plan.xlsx", "summary": "the tables"},
             {"title": "rejects.csv", "href": "rejects.csv"}]
    page = report.write_index(tmp_path, "Plan", [{"title": "Market", "file": "01.html"}], {"Target": "1"},
                              files=files).read_text(encoding="utf-8")
    assert page.index("<h2>Pages</h2>") < page.index("<h2>Files</h2>") < page.index('<a href="plan.xlsx">plan.xlsx</a>')
    assert '<a href="rejects.csv">rejects.csv</a>' in page and '<div class="summary">the tables</div>' in page
    # a border on each figure's box only, not on the label and value inside it (boxes in boxes)
    assert ".headline > div {" in page and ".headline div {" not in page
    with pytest.raises(ValueError, match="must be a file inside the bundle"):
        report.write_index(tmp_path, "t", [], files=[{"title": "x", "href": "../plan.xlsx"}])


@pytest.mark.parametrize("target", ["https://evil.example/x.html", "../other/index.html", "/etc/passwd",
                                    "javascript:alert(1)", ""])
def test_index_refuses_links_that_leave_the_bundle(tmp_path, target):
    with pytest.raises(ValueError, match="must be a file inside the bundle"):
        report.write_index(tmp_path, "t", [{"title": "x", "file": target}])


# --------------------------------------------------------------------------- CSV
def _csv_rows(path, newline="\n"):
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    body = raw[3:].decode("utf-8")
    return list(csv.reader(io.StringIO(body, newline=""))), body


def test_csv_neutralises_text_formulas_but_keeps_negative_numbers(tmp_path):
    frame = pd.DataFrame({
        "name": ["=1+1", "-5", "@SUM(A1:A2)", "\tfoo", "\rbar", "+3", "张三", "plain", None],
        "amount": [-5.0, 1.5, 0.0, 2.0, 3.0, 4.0, 5.0, -0.25, 7.0],
        "units": [-5, 1, 2, 3, 4, 5, 6, 7, 8],
    })
    rows, _ = _csv_rows(report.write_csv(frame, tmp_path / "t.csv"))
    assert rows[0] == ["name", "amount", "units"]
    names = [r[0] for r in rows[1:]]
    assert names == ["'=1+1", "'-5", "'@SUM(A1:A2)", "'\tfoo", "'\rbar", "'+3", "张三", "plain", ""]
    assert [r[1] for r in rows[1:]] == ["-5.0", "1.5", "0.0", "2.0", "3.0", "4.0", "5.0", "-0.25", "7.0"]
    assert rows[1][2] == "-5"
    assert frame.loc[0, "name"] == "=1+1"  # the caller's table is untouched


def test_csv_neutralises_headers_and_mixed_columns(tmp_path):
    frame = pd.DataFrame({"=cmd": ["a"], "mixed": pd.Series(["-x"], dtype=object)})
    frame.loc[1] = ["b", -3]
    frame["team"] = pd.Categorical(["+East-1", "West-2"])
    rows, _ = _csv_rows(report.write_csv(frame, tmp_path / "t.csv"))
    assert rows == [["'=cmd", "mixed", "team"], ["a", "'-x", "'+East-1"], ["b", "-3", "West-2"]]


def test_csv_line_endings_are_one_convention(tmp_path):
    frame = pd.DataFrame({"note": ["two\nlines", "one"], "v": [1, 2]})
    _, lf = _csv_rows(report.write_csv(frame, tmp_path / "lf.csv"))
    assert "\r" not in lf and lf.count("\n") == 4
    _, crlf = _csv_rows(report.write_csv(frame, tmp_path / "crlf.csv", line_ending="\r\n"))
    assert crlf.count("\r\n") == 4 and crlf.replace("\r\n", "").count("\n") == 0
    assert crlf == 'note,v\r\n"two\r\nlines",1\r\none,2\r\n'
    with pytest.raises(ValueError, match="line_ending must be"):
        report.write_csv(frame, tmp_path / "x.csv", line_ending="\r")


# --------------------------------------------------------------------------- Excel
def _workbook(path, created=dt.date(2026, 11, 26)):
    targets = pd.DataFrame({
        "rep": ["张三", HYPERLINK, "-5", "O'Brien"],
        "month": pd.to_datetime(["2027-01-01", "2027-02-01", "2027-03-01", "2027-04-01"]),
        "target": [1_234_567.0, 2_000_000.0, -15_000.0, 987.65],
        "attainment_probability": [0.5, 0.875, 0.1, 1.0],
        "deals": [3, 4, -5, 0],
        "active": [True, False, True, True],
    })
    sheets = {"Targets": report.Sheet(targets, money=["target"], percent=["attainment_probability"]),
              "Plain/view: [1]": pd.DataFrame({"名称": ["东岳仪器"], "value": [1.5]})}
    return report.write_excel(path, sheets, unit=1000, unit_label="k CNY", created=created), targets


def test_excel_round_trip_keeps_exact_values_and_shows_the_display_unit(tmp_path):
    path, targets = _workbook(tmp_path / "plan.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Targets", "Plain_view_ _1_"]
    ws = wb["Targets"]
    header = [c.value for c in ws[1]]
    assert header == ["rep", "month", "target (k CNY)", "attainment_probability", "deals", "active"]
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == ["张三", HYPERLINK, "-5", "O'Brien"]
    assert [r[1] for r in rows] == [dt.datetime(2027, m, 1) for m in (1, 2, 3, 4)]
    assert [r[2] for r in rows] == [1_234_567.0, 2_000_000.0, -15_000.0, 987.65]
    assert [r[3] for r in rows] == [0.5, 0.875, 0.1, 1.0]
    assert [r[4] for r in rows] == [3, 4, -5, 0]
    assert [r[5] for r in rows] == [True, False, True, True]
    assert ws["C2"].number_format == "#,##0,"
    assert ws["D2"].number_format == "0.0%"
    assert ws["B2"].number_format == "yyyy-mm-dd" and ws["B2"].is_date
    plain = wb["Plain_view_ _1_"]
    assert [c.value for c in plain[1]] == ["名称", "value"] and plain["A2"].value == "东岳仪器"
    assert plain["B2"].number_format == "#,##0.00"


def test_excel_text_that_looks_like_a_formula_is_a_string_cell(tmp_path):
    path, _ = _workbook(tmp_path / "plan.xlsx")
    ws = openpyxl.load_workbook(path)["Targets"]
    assert ws["A3"].value == HYPERLINK and ws["A3"].data_type == "s"
    assert ws["A3"].quotePrefix and ws["A4"].quotePrefix  # Excel's leading ' : editing keeps it text
    assert not ws["A2"].quotePrefix
    with zipfile.ZipFile(path) as zf:
        sheet_xml = zf.read("xl/worksheets/sheet1.xml").decode()
        assert "<f>" not in sheet_xml and "<f " not in sheet_xml
        assert "HYPERLINK" in zf.read("xl/sharedStrings.xml").decode()


def test_excel_columns_fit_content_with_cjk_counted_double(tmp_path):
    frame = pd.DataFrame({"ascii": ["abcdef"], "cjk": ["东岳仪器东岳"]})
    path = report.write_excel(tmp_path / "w.xlsx", {"w": frame}, created=dt.date(2026, 1, 1))
    ws = openpyxl.load_workbook(path)["w"]
    ascii_width, cjk_width = ws.column_dimensions["A"].width, ws.column_dimensions["B"].width
    assert cjk_width > ascii_width + 5  # 12 columns of glyphs against 6
    assert report.display_width("东岳 ab") == 7


def test_excel_is_byte_identical_across_writes(tmp_path):
    a, _ = _workbook(tmp_path / "a.xlsx")
    b, _ = _workbook(tmp_path / "b.xlsx")
    assert hashlib.sha256(a.read_bytes()).hexdigest() == hashlib.sha256(b.read_bytes()).hexdigest()
    c, _ = _workbook(tmp_path / "c.xlsx", created=dt.date(2026, 11, 27))
    assert a.read_bytes() != c.read_bytes()  # the fixed date is what keeps the bytes


@pytest.mark.parametrize("unit, fmt", [(1, "#,##0"), (1000, "#,##0,"), (1e6, "#,##0,,"), (1e4, "0!.0,"),
                                       (1e8, "0!.00,,")])
def test_money_formats_by_unit(unit, fmt):
    assert report.money_format(unit) == fmt


def test_a_unit_excel_cannot_show_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"company.display_unit: Excel can show money divided by .* not 500"):
        report.write_excel(tmp_path / "x.xlsx", {"s": pd.DataFrame({"a": [1]})}, unit=500, created=dt.date(2026, 1, 1))


def test_excel_names_a_missing_money_column(tmp_path):
    with pytest.raises(ValueError, match=r"sheet 'Targets': money/percent column\(s\) \['target'\] not in the table"):
        report.write_excel(tmp_path / "x.xlsx", {"Targets": report.Sheet(pd.DataFrame({"a": [1]}), money=["target"])},
                           created=dt.date(2026, 1, 1))


# --------------------------------------------------------------------------- manifest and hashes
def test_manifest_is_sorted_indented_utf8_with_a_final_newline(tmp_path):
    path = report.write_manifest(tmp_path / "manifest.json",
                                 {"title": "东岳 plan", "as_of": dt.date(2026, 11, 26), "b": [1, 2],
                                  "a": {"z": 1, "y": 2}})
    raw = path.read_bytes()
    assert raw.endswith(b"}\n") and "东岳".encode() in raw
    assert raw.decode("utf-8") == ('{\n  "a": {\n    "y": 2,\n    "z": 1\n  },\n  "as_of": "2026-11-26",\n'
                                   '  "b": [\n    1,\n    2\n  ],\n  "title": "东岳 plan"\n}\n')
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        report.write_manifest(tmp_path / "bad.json", {"x": float("nan")})
    with pytest.raises(TypeError, match="manifest value of type object cannot be written as JSON"):
        report.write_manifest(tmp_path / "bad.json", {"x": object()})


def test_bundle_hash_lists_every_file_sorted_with_its_sha256(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.txt").write_bytes(b"bee")
    (tmp_path / "a.csv").write_bytes(b"")
    (tmp_path / "sub" / "c.html").write_bytes("东".encode())
    hashes = report.bundle_files_hash(tmp_path)
    assert list(hashes) == ["a.csv", "b.txt", "sub/c.html"]
    assert hashes["b.txt"] == hashlib.sha256(b"bee").hexdigest()
    assert hashes["a.csv"] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert hashes["sub/c.html"] == hashlib.sha256("东".encode()).hexdigest()
    assert list(report.bundle_files_hash(tmp_path, exclude=["b.txt"])) == ["a.csv", "sub/c.html"]
    assert json.loads(json.dumps(hashes)) == hashes
