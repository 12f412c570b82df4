"""Full plans of small generated companies at the edges: a short history, a single rep, a single region.

Each company is written as a user's files (English headers, USD, only sales and reps) and planned with
``planlib plan`` from another folder; the bundle must hold the five pages and add up, and the pages
say what the data cannot give (under two years of history: no year-on-year growth, a rough season).
Expected values come from the generated deals or from the targets' own parts, not from planlib.
"""
from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import pytest

import planlib
from company_factory import Company, Rep, read_targets, run_plan

PAGES = ["01_market_analysis", "02_goal_setting", "03_resources", "04_risk_review", "05_annual_plan"]
MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def page_text(path) -> str:
    raw = re.sub(r"<(style|script|svg)\b.*?</\1>", " ", path.read_text(encoding="utf-8"), flags=re.S | re.I)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", raw)))


def year_totals(bundle) -> pd.DataFrame:
    t = read_targets(bundle)
    return t[(t["period_type"] == "year") & (t["product"] == "All")]


def planned(tmp_path_factory, name: str, company: Company, edit=None):
    """Write the company (``edit(folder)`` then changes its files), plan it from another folder; return the
    config and the bundle, the run's output kept in ``run.out`` beside the config."""
    folder = tmp_path_factory.mktemp(name)
    config = company.write(folder)
    if edit is not None:
        edit(folder)
    done = run_plan(config, tmp_path_factory.mktemp(f"{name}-elsewhere"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (folder / "run.out").write_text(done.stdout, encoding="utf-8")
    bundle = folder / "reports" / "FY2027" / "v001"
    assert {f"{p}.html" for p in PAGES} <= {p.name for p in bundle.iterdir()}
    return config, bundle


SHORT = Company([Rep(f"E{i}", "North" if i < 4 else "South", "N1" if i < 4 else "S1") for i in range(1, 7)],
                ["Widgets", "Gadgets"], first_month="2025-11-01")


def without_country(folder) -> None:
    """Leave company.country out of the config: a plan without public holidays, which the pages say."""
    config = folder / "plan.yaml"
    text = config.read_text(encoding="utf-8")
    assert "  country: US\n" in text
    config.write_text(text.replace("  country: US\n", ""), encoding="utf-8")


@pytest.fixture(scope="module")
def short(tmp_path_factory):
    return planned(tmp_path_factory, "short", SHORT, edit=without_country)


def test_a_twelve_month_history_plans_and_says_what_it_cannot_compare(short):
    config, bundle = short
    year = year_totals(bundle).groupby("level")["target"].sum()
    assert year["company"] > 0 and year["region"] == year["team"] == year["rep"] == year["company"]
    page = page_text(bundle / "01_market_analysis.html")
    assert ("which runs 12 months (2025-11 to 2026-10): under two years, so no year can yet be compared with the one "
            "before") in page
    assert "No region or product has a year to compare with the one before" in page
    assert "The history holds 12 months, under the two years a seasonal decomposition needs" in page
    # the season read independently: log1p of the monthly sums against a straight line, by month
    deals = SHORT.deals()
    monthly = deals.groupby(pd.to_datetime(deals["Closed"]).dt.to_period("M"))["Value"].sum()
    logged = np.log1p(monthly.to_numpy())
    t = np.arange(len(logged), dtype=float)
    season = pd.Series(logged - np.polyval(np.polyfit(t, logged, 1), t), index=monthly.index.month)
    peak, trough = MONTH_NAMES[season.idxmax() - 1], MONTH_NAMES[season.idxmin() - 1]
    assert f"The strongest month is {peak} at" in page and f"the weakest is {trough} at" in page
    risk = page_text(bundle / "04_risk_review.html")
    assert "under two years of history (12 months): the shocks are month-on-month changes" in risk
    assert "nan%" not in page and "None" not in page


def test_a_config_without_country_plans_without_holidays_and_the_pages_say_so(short):
    config, bundle = short
    assert "country" not in config.read_text(encoding="utf-8")
    assert ("No company.country in the config: the plan counts no public holidays, and working days are Monday to "
            "Friday.") in page_text(bundle / "01_market_analysis.html")
    weekdays = int(np.busday_count("2026-11-01", "2027-11-01"))  # FY2027 runs 2026-11 .. 2027-10 (start_month 11)
    assert weekdays == 52 * 5  # 365 days: 52 weeks and a Sunday (2026-11-01)
    assert ("No company.country in the config: no public holidays are counted; weeks and months are split by their "
            f"Monday-to-Friday working days, {weekdays} in FY2027.") in page_text(bundle / "02_goal_setting.html")


def test_eighteen_months_plan_through_the_stages_the_pages_read(tmp_path):
    company = Company(SHORT.reps, SHORT.products, first_month="2025-05-01", seed=5)
    plan = planlib.Plan.from_config(company.write(tmp_path))
    assert set(plan["market"].seasonality["method"]) == {"one year against its trend"}
    assert any(n.startswith("under two years of history (18 months)") for n in plan["risk_model"].notes)
    targets = plan["targets"]
    year = targets[(targets["period_type"] == "year") & (targets["product"] == "All")].groupby("level")["target"].sum()
    assert year["region"] == year["team"] == year["rep"] == year["company"] > 0


ONE_REP = Company([Rep("E1", "North", "N1", start="2019-04-01")], ["Widgets", "Gadgets"], deals_per_month=12)


@pytest.fixture(scope="module")
def one_rep(tmp_path_factory):
    return planned(tmp_path_factory, "onerep", ONE_REP)


def test_a_single_rep_carries_the_whole_target(one_rep):
    config, bundle = one_rep
    year = year_totals(bundle).set_index(["level", "entity"])["target"]
    assert year["company", "company"] == year["region", "North"] == year["team", "N1"] == year["rep", "E1"] > 0
    t = read_targets(bundle)
    products = t[(t["level"] == "rep_product") & (t["period_type"] == "year")].set_index("product")["target"]
    assert sorted(products.index) == ["Gadgets", "Widgets"] and (products > 0).all()
    assert products.sum() == year["rep", "E1"]
    months = t[(t["level"] == "rep") & (t["period_type"] == "month")]["target"]
    assert len(months) == 12 and months.sum() == year["rep", "E1"]
    hiring = planlib.Plan.from_config(config)["hiring_plan"]
    page = page_text(bundle / "03_resources.html")
    # one rep who can sell more than the target: no hire, said as such (never "takes 0 hires")
    gap = hiring.summary.set_index("region").loc["North", "gap"]
    assert gap < 0 and hiring.hires.empty
    assert "No hire is needed: the team on the roster covers the target in every region." in page
    assert "0 hires" not in page and "If hiring cannot start" not in page


ONE_REGION = Company([Rep(f"E{i}", "North", "N1" if i < 3 else "N2") for i in range(1, 6)], ["Widgets", "Gadgets"])
RETURNS_MONTH = "2026-06"


def north_june_sales() -> float:
    deals = ONE_REGION.deals()
    return float(deals.loc[deals["Closed"].str.startswith(RETURNS_MONTH), "Value"].sum())


def add_a_batch_of_returns(folder) -> None:
    """A credit note of twice North's June sales (plus 1): the region's month is then negative as a whole."""
    deals = pd.read_csv(folder / "deals.csv", dtype=str)
    credit = {**deals.iloc[0].to_dict(), "Deal": "CREDIT-1", "Closed": f"{RETURNS_MONTH}-28", "Owner": "E1",
              "Value": f"{-2 * north_june_sales() - 1:.2f}"}
    pd.concat([deals, pd.DataFrame([credit])]).to_csv(folder / "deals.csv", index=False)


@pytest.fixture(scope="module")
def one_region(tmp_path_factory):
    return planned(tmp_path_factory, "oneregion", ONE_REGION, edit=add_a_batch_of_returns)


def test_a_single_region_splits_over_its_teams_and_reps(one_region):
    config, bundle = one_region
    year = year_totals(bundle)
    by = year.groupby("level")["target"].sum()
    region = year[year["level"] == "region"]
    assert region["entity"].tolist() == ["North"] and by["region"] == by["company"] > 0
    teams = year[year["level"] == "team"].set_index("entity")["target"]
    assert sorted(teams.index) == ["N1", "N2"] and teams.sum() == by["company"]
    reps = year[year["level"] == "rep"].set_index("entity")["target"]
    # each team's reps add up to it; planned hires (rep rows beyond the roster) carry the rest
    hires = reps.drop(["E1", "E2", "E3", "E4", "E5"])
    gaps = [teams["N1"] - reps[["E1", "E2"]].sum(), teams["N2"] - reps[["E3", "E4", "E5"]].sum()]
    assert min(gaps) >= 0 and sum(gaps) == hires.sum() and reps.sum() == by["company"]
    page = page_text(bundle / "02_goal_setting.html")
    assert "Nothing is discontinued: every region and product with a target sold in the last 6 months" in page


def test_a_region_month_negative_with_returns_is_flagged_on_page_01_and_in_the_run_summary(one_region):
    config, bundle = one_region
    net = north_june_sales() - (2 * north_june_sales() + 1)  # by hand: the month's sales less the credit note
    out = (config.parent / "run.out").read_text(encoding="utf-8").splitlines()
    assert ("1 region-month(s) with negative net sales (returns or credit notes larger than the month's sales): "
            f"North {RETURNS_MONTH} ({net:,.2f}); planlib.data.negative_months(plan['history']) lists them") in out
    page = page_text(bundle / "01_market_analysis.html")
    assert ("1 region-month(s) negative as a whole: returns and credit notes above the month's sales; the forecast "
            "reads them as booked") in page
    shown = page[page.find("negative as a whole"):][:400]
    assert re.search(rf"North {RETURNS_MONTH} [−-]{abs(net):,.0f}\b", shown), shown
    assert "No region-month is negative as a whole" not in page
