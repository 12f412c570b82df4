"""A full plan on a week-based (4-4-5) fiscal calendar, through all five notebooks.

A small generated USD company (6 reps in 2 regions, two products) plans FY2027 on a 4-4-5 calendar with
``planlib plan`` from another folder. FY2027 runs Monday 4 Jan 2027 to Sunday 2 Jan 2028 (1 Jan 2027 is a
Friday, so week 1 starts the Monday after): 52 weeks, periods of 4, 4 and 5 weeks. The bundle must hold
the five pages; page 02 must say how the year is cut and name each period with its weeks and dates;
targets.csv and plan.xlsx must carry the twelve periods, adding up to the year exactly; and no page may
show a period as a 1970 or NaT date.
"""
from __future__ import annotations

import html
import re

import pandas as pd
import pytest

from company_factory import Company, Rep, read_targets, run_plan

PAGES = ["01_market_analysis", "02_goal_setting", "03_resources", "04_risk_review", "05_annual_plan"]
# By hand from the calendar: (weeks, first day, last day) of P01 .. P12.
PERIODS = [(4, "4 Jan", "31 Jan"), (4, "1 Feb", "28 Feb"), (5, "1 Mar", "4 Apr"), (4, "5 Apr", "2 May"),
           (4, "3 May", "30 May"), (5, "31 May", "4 Jul"), (4, "5 Jul", "1 Aug"), (4, "2 Aug", "29 Aug"),
           (5, "30 Aug", "3 Oct"), (4, "4 Oct", "31 Oct"), (4, "1 Nov", "28 Nov"), (5, "29 Nov", "2 Jan")]


def page_text(path) -> str:
    raw = re.sub(r"<(style|script|svg)\b.*?</\1>", " ", path.read_text(encoding="utf-8"), flags=re.S | re.I)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", raw)))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    company = Company([Rep(f"E{i}", "North" if i < 4 else "South", "N1" if i < 4 else "S1") for i in range(1, 7)],
                      ["Widgets", "Gadgets"])
    folder = tmp_path_factory.mktemp("weeks")
    config = company.write(folder, extra={"fiscal": {"year": 2027, "start_month": 1, "calendar": "4-4-5"}})
    done = run_plan(config, tmp_path_factory.mktemp("weeks-elsewhere"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = folder / "reports" / "FY2027" / "v001"
    assert {f"{p}.html" for p in PAGES} <= {p.name for p in out.iterdir()}
    return out


def test_page_two_says_how_the_week_based_year_is_cut_and_names_each_period(bundle):
    page = page_text(bundle / "02_goal_setting.html")
    assert ("FY2027 is a week-based 4-4-5 year of 52 weeks, Monday 4 Jan 2027 to Sunday 2 Jan 2028: it starts on "
            "the Monday of the week that holds 1 January") in page
    assert "A year of 53 weeks gives its extra week to P12" in page
    names = [f"P{n:02d} ({w} weeks, {a} - {b})" for n, (w, a, b) in enumerate(PERIODS, start=1)]
    assert "The periods: " + "; ".join(names) + "." in page
    # the seasonal-against-equal table names the periods, and its equal split is equal per week
    for name in names:
        assert page.count(name) >= 2, name
    assert "Weeks are ISO weeks; a week that straddles two months" not in page


def test_targets_carry_twelve_periods_that_add_up_to_the_year(bundle):
    targets = read_targets(bundle)
    company = targets[(targets["level"] == "company") & (targets["product"] == "All")]
    months = company[company["period_type"] == "month"]
    assert months["period"].tolist() == [f"FY2027-P{n:02d}" for n in range(1, 13)]
    year = company.loc[company["period_type"] == "year", "target"].item()
    assert months["target"].sum() == year
    # each quarter is its three periods (13 weeks), each period its whole weeks: 52 ISO weeks 2027-W01 .. W52
    quarters = company[company["period_type"] == "quarter"]["target"].tolist()
    assert quarters == [months["target"].iloc[3 * q:3 * q + 3].sum() for q in range(4)]
    weeks = company[company["period_type"] == "week"]
    assert weeks["period"].tolist() == [f"2027-W{w:02d}" for w in range(1, 53)]
    assert weeks["target"].sum() == year
    for level in ("region", "team", "rep"):
        rows = targets[(targets["level"] == level) & (targets["period_type"] == "month")]
        assert sorted(set(rows["period"])) == months["period"].tolist(), level
        assert rows["target"].sum() == year, level


def test_plan_workbook_names_the_periods_with_their_weeks_and_dates(bundle):
    sheets = pd.read_excel(bundle / "plan.xlsx", sheet_name=None)
    periods = sheets["Fiscal periods"]
    # headers in words (planlib's column names as a reader says them), periods as the plan names them
    assert list(periods.columns) == ["Period", "Weeks", "First day", "Last day", "Stands for"]
    assert periods["Period"].tolist() == [f"FY2027-P{n:02d}" for n in range(1, 13)]
    assert periods["Weeks"].tolist() == [w for w, _, _ in PERIODS]
    assert (periods["First day"].iloc[0], periods["Last day"].iloc[-1]) == ("2027-01-04", "2028-01-02")
    assert periods["Stands for"].iloc[2] == "Mar 2027"
    by_rep = sheets["Rep targets by month"]
    columns = [c for c in by_rep.columns if c.startswith("FY2027-P")]
    assert [c.split(" ")[0] for c in columns] == periods["Period"].tolist()
    total = by_rep[by_rep["Rep ID"] == "Total"]
    year = read_targets(bundle).query("level == 'company' and period_type == 'year' and product == 'All'")
    assert float(total[columns].sum(axis=1).item()) == year["target"].item()


def test_no_page_shows_a_period_as_a_1970_or_missing_date(bundle):
    for name in PAGES:
        raw = (bundle / f"{name}.html").read_text(encoding="utf-8")
        assert not re.search(r"1970-\d\d|\bNaT\b|Invalid Date", raw), name
    resources = (bundle / "03_resources.html").read_text(encoding="utf-8")
    axis = re.findall(r">(P\d\d)</text>", resources)
    assert {f"P{n:02d}" for n in range(1, 13)} <= set(axis)  # capacity against target, by period
