"""Someone else's company read as a sales director would: one story, nothing left over from the sample.

A made-up German company (EUR, country DE) whose exports carry Chinese column headers is planned from
the README's ten-line config, written with those headers, in a folder outside the project. The text of
every page (prose and tables, not chart drawings) and every cell of plan.xlsx is then read for what
must never show on such a plan: the sample company or its currency and country, the sample's money
amounts, empty values printed as None/nan/NaT, "0 hires", and planlib's code names used as words.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from company_factory import Company, Rep, run_plan

REPO = Path(__file__).resolve().parents[1]
PAGES = ["01_market_analysis", "02_goal_setting", "03_resources", "04_risk_review", "05_annual_plan"]
# The README's smallest config, with the headers of a Chinese CRM export mapped onto planlib's names.
TEN_LINES = """\
company: {name: Rheinwerk Antriebe GmbH, currency: EUR, country: DE}
fiscal: {year: 2027}
as_of: 2026-11-20
data:
  sales:
    path: 销售明细.csv
    columns: {deal_id: 合同编号, date: 成交日期, amount: 金额, rep_id: 销售代表, customer_id: 客户编号, product: 产品线}
  reps:
    path: 销售人员.csv
    columns: {rep_id: 工号, name: 姓名, region: 大区, team: 大区, hire_date: 入职日期}
"""
RHEINWERK = Company([Rep("M01", "Nord", "Nord", "2017-04-01"), Rep("M02", "Nord", "Nord", "2020-09-01"),
                     Rep("M03", "Nord", "Nord", "2025-03-01"), Rep("M04", "Süd", "Süd", "2016-01-04"),
                     Rep("M05", "Süd", "Süd", "2022-02-01"), Rep("M06", "West", "West", "2019-06-01"),
                     Rep("M07", "West", "West", "2024-10-01")],
                    ["Antriebe", "Getriebe", "Wartung"], deals_per_month=7, seed=49)
NAMES = {"M01": "Jonas Becker", "M02": "Lena Vogel", "M03": "Paul Schäfer", "M04": "Miriam Krüger",
         "M05": "Tobias Wolf", "M06": "Sara Neumann", "M07": "Felix Braun"}

# What only the sample company (or a broken page) says. Words are matched whole; the sample's stated money
# amounts (marketing 3,000,000; base pay 180,000; target incentive 120,000; travel 600,000; tools 240,000) in any
# separators or in thousands.
SAMPLE_WORDS = ["Sample", "CNY", "China", "Chinese", "东岳", "Dongyue", "None", "nan", "NaN", "NaT", "inf"]
SAMPLE_AMOUNTS = re.compile(r"(?<![\d.,])(?:3[,.]?000[,.]?000|180[,.]?000|120[,.]?000|600[,.]?000|240[,.]?000"
                            r"|(?:3,000|180|120|600|240) ?k)(?![\d,.]*\d)")
NO_HIRES = re.compile(r"\b0 (?:hires?|new reps?|people)\b")
# planlib's own names (snake_case) shown as words: allowed only as a config key the reader is told to set
# (``budget.base_salary.rep``), which the pages print with its section.
CODE_NAME = re.compile(r"(?<![\w.])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w.(])")


def page_text(path: Path, *, code: bool = True) -> str:
    """The words of a page: prose and tables, without style, script or chart drawings (axis ticks).

    With ``code=False`` what the page sets as code (a config key or column name to type) is left out too.
    """
    drop = "style|script|svg" if code else "style|script|svg|code"
    raw = re.sub(rf"<({drop})\b.*?</\1>", " ", path.read_text(encoding="utf-8"), flags=re.S | re.I)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", raw)))


def write_company(folder: Path) -> Path:
    """The company's two exports, headed in Chinese, and the ten-line config; return the config's path."""
    deals = RHEINWERK.deals().drop(columns="_region")
    deals.columns = ["合同编号", "成交日期", "金额", "销售代表", "客户编号", "产品线"]
    deals.to_csv(folder / "销售明细.csv", index=False, encoding="utf-8-sig")
    reps = RHEINWERK.reps
    people = pd.DataFrame({"工号": [r.rep_id for r in reps], "姓名": [NAMES[r.rep_id] for r in reps],
                           "大区": [r.region for r in reps], "入职日期": [r.start for r in reps]})
    people.to_csv(folder / "销售人员.csv", index=False, encoding="utf-8-sig")
    (folder / "plan.yaml").write_text(TEN_LINES, encoding="utf-8")
    return folder / "plan.yaml"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("rheinwerk")
    assert REPO not in folder.parents
    done = run_plan(write_company(folder), tmp_path_factory.mktemp("elsewhere"), timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return folder / "reports" / "FY2027" / "v001"


def around(text: str, match: re.Match) -> str:
    return text[max(0, match.start() - 120):match.end() + 80]


def test_the_ten_line_config_plans_every_page(bundle):
    assert len(TEN_LINES.strip().splitlines()) == 10
    names = {p.name for p in bundle.iterdir()}
    assert {f"{p}.html" for p in PAGES} | {"index.html", "plan.xlsx", "targets.csv"} <= names


@pytest.mark.parametrize("page", [*PAGES, "index"])
def test_no_page_shows_the_sample_an_empty_value_or_a_code_name(bundle, page):
    text = page_text(bundle / f"{page}.html")
    for word in SAMPLE_WORDS:
        hit = re.search(rf"\b{word}\b", text)
        assert hit is None, (page, word, around(text, hit))
    hit = NO_HIRES.search(text)
    assert hit is None, (page, around(text, hit))
    # a plan figure may round to 180,000 (a quarter's target); a sample amount shows beside the money it was for
    money_words = r"(?:base pay|base salary|target incentive|marketing|travel|tools|cost of a hire|per hire)"
    near = rf"{money_words}[^.;]{{0,60}}?{SAMPLE_AMOUNTS.pattern}|{SAMPLE_AMOUNTS.pattern}[^.;]{{0,60}}?{money_words}"
    hit = re.search(near, text, re.I)
    assert hit is None, (page, around(text, hit))
    prose = page_text(bundle / f"{page}.html", code=False)
    assert CODE_NAME.findall(prose) == [], [around(prose, m) for m in CODE_NAME.finditer(prose)]
    assert "Rheinwerk" in text or page == "index"
    # money in one unit: amounts are EUR and the pages never name another currency
    assert not re.search(r"\b(?:USD|CNY|RMB|GBP|JPY)\b|[¥$£]", text), page


def test_the_assumed_money_comes_from_this_company_s_sales_not_the_sample(bundle):
    text = page_text(bundle / "03_resources.html")
    assumed = dict(re.findall(r"\b((?:budget|incentives)\.[\w.]+): ([\d,]+) EUR", text))
    leaked = {key: value for key, value in assumed.items() if SAMPLE_AMOUNTS.fullmatch(value)}
    assert leaked == {}
    # by hand from the deals: the last twelve closed months (2025-11..2026-10) over seven reps on the roster the
    # whole year (the last hired 2025-03); base pay 8% and the target incentive 5% of one rep's sales
    deals = RHEINWERK.deals()
    month = pd.to_datetime(deals["Closed"]).dt.to_period("M")
    year = deals.loc[(month >= pd.Period("2025-11", "M")) & (month <= pd.Period("2026-10", "M")), "Value"].sum()
    per_rep = year / 7
    assert assumed["budget.base_salary.rep"] == f"{round(0.08 * per_rep):,}"
    assert assumed["incentives.target_incentive.rep"] == f"{round(0.05 * per_rep):,}"
    assert f"{year:,.0f} EUR over 7.0 quota-rep FTE-years" in text
    # no budget line of the sample (marketing, travel, tools) is in this company's budget
    assert re.search(r"Budget by line and region \(EUR\) Line Nord Süd West Total base pay ", text)
    assert not re.search(r"\b(marketing|travel|tools) [\d,]+ [\d,]+", text)


def capacity_rows(text: str) -> dict[str, float]:
    """Region -> gap (target less capacity), read from the page's capacity table."""
    table = text.split("Capacity against target, plan year (EUR) Region Target Capacity Gap Coverage ", 1)[1]
    rows = re.findall(r"(Nord|Süd|West|Total) ([\d,]+) ([\d,]+) (-?[\d,]+) \d+%", table.split(" Notes", 1)[0])
    return {region: float(gap.replace(",", "")) for region, _, _, gap in rows}


def test_the_hires_read_as_the_capacity_table_says_on_both_pages(bundle):
    resources = page_text(bundle / "03_resources.html")
    gaps = capacity_rows(resources)
    assert set(gaps) == {"Nord", "Süd", "West", "Total"}
    short = [r for r in ("Nord", "Süd", "West") if gaps[r] > 0]
    hires = re.findall(r"Hires: planned start, latest start that still closes the gap, sales added in the plan year "
                       r"\(EUR\) Region Hire Starts Start by Sales added ((?:(?:Nord|Süd|West) \d+ \d{4}-\d\d "
                       r"\d{4}-\d\d [\d,]+ ?)+)", resources)
    n_hires = len(re.findall(r"\d{4}-\d\d \d{4}-\d\d", hires[0])) if hires else 0
    if not short:
        said = "no hire is needed: the team on the roster covers the target in every region"
    else:
        assert len(short) == 1 and n_hires == 1, (short, n_hires)  # this company: one region short, one hire
        said = f"{short[0]} falls {gaps[short[0]]:,.0f} EUR short of its target, and 1 hire closes that gap"
    covered = (f"Today's team can sell {{}} EUR in FY2027, {{}}% of the target; {said}.")
    assert re.search(re.escape(covered).replace(r"\{\}", r"[\d,]+"), resources), said
    assert said[:1].upper() + said[1:] + "." in resources
    summary = page_text(bundle / "05_annual_plan.html")
    assert said in summary and "new hires (" not in summary
    # the capacity sentence says a surplus as a surplus, never "a gap of -52,547"
    assert not re.search(r"a gap of -", resources)


def test_the_summary_says_what_is_not_in_the_plan(bundle):
    summary = page_text(bundle / "05_annual_plan.html")
    assert "Initiatives 0 EUR none: the config lists no initiative" in summary
    assert "Expected loss from risks 0 EUR none priced: the plan has no risk register" in summary
    assert "(forecast and the team's capacity; the plan has no risk register)" in summary
    assert "The five largest risks" not in summary  # no register: the folded block holds the scenarios only
    goals = page_text(bundle / "02_goal_setting.html")
    assert "The FY2027 target is 3," in goals or re.search(r"The FY2027 target is [\d,]+ EUR", goals)
    assert "with the team's capacity and no named risk (the plan has no risk register)" in goals


def test_the_backtest_names_series_and_models_in_words(bundle):
    market = page_text(bundle / "01_market_analysis.html")
    table = market.split("Backtest accuracy by series", 2)[2]
    assert table.split(" Series Model MASE ", 1)[1].startswith("The company average of Theta and Holt-Winters") or \
        re.match(r".*? Series Model MASE sMAPE \(%\) Inside the 80% range Bias .*?The company ", table)
    for region in ("Nord", "Süd", "West"):
        assert f"Region {region} " in table and f"{region} × Antriebe " in table
    assert "The least predictable series is " in market and "region_product/" not in market


def test_the_incentive_tiers_and_empty_tables_read_as_words(bundle):
    resources = page_text(bundle / "03_resources.html")
    assert " 3 100% no limit 2.00 accelerator " in resources
    assert "Bonuses: expected and most paid: none." in resources
    risk = page_text(bundle / "04_risk_review.html")
    assert "ramp time ±1 months of ramp (base 6)" in risk
    assert "pipeline conversion ±10% pipeline conversion; no open pipeline, so no effect" in risk
    assert "1 of 7 checks is on watch" in risk or re.search(r"\b[02-9] of 7 checks are on watch", risk)


def test_plan_xlsx_speaks_words_not_code(bundle):
    workbook = openpyxl.load_workbook(bundle / "plan.xlsx", read_only=True)
    bad = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                if not isinstance(value, str):
                    continue
                if any(re.search(rf"\b{w}\b", value) for w in SAMPLE_WORDS) or CODE_NAME.search(value) \
                        or re.search(r"\b(?:USD|CNY)\b", value):
                    bad.append((sheet.title, value))
    assert bad == [], sorted(set(bad))[:30]


def test_numbers_stand_right_and_the_front_page_says_whose_plan_it_is(bundle):
    summary = (bundle / "05_annual_plan.html").read_text(encoding="utf-8")
    target = re.search(r"The FY2027 revenue target is <strong>([\d,]+ EUR)</strong>", summary).group(1)
    # the plan on a page: values as text, aligned as numbers (the sanitiser ends the style with ";")
    assert re.search(rf'<td style="text-align:right;white-space:nowrap;?">{target}</td>', summary)
    cells = re.findall(r'<td style="text-align:(left|right)[^"]*">([^<]*)</td>', summary)
    numbers = [(side, cell) for side, cell in cells if re.fullmatch(r"-?[\d,]+(?:\.\d+)?(?: EUR|%)?", cell)]
    assert numbers and all(side == "right" for side, _ in numbers), [n for n in numbers if n[0] == "left"]
    index = page_text(bundle / "index.html")
    assert index.lstrip().startswith("Rheinwerk Antriebe GmbH: Annual sales plan FY2027")
