"""Tests of the sample company generator: determinism, the committed files, and the company's shape."""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planlib import ConfigError
from planlib.data import sample

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "data" / "sample"
FILES = ["sales", "reps", "market", "competitors", "pipeline", "kpis", "risks", "commits"]
# Lunar new year dates, written out here rather than read from the module under test.
SPRING_FESTIVAL_MONTH = {2022: 2, 2023: 1, 2024: 2, 2025: 1, 2026: 2}
STAGE_PROBABILITY = {"Qualify": 0.10, "Develop": 0.25, "Propose": 0.50, "Negotiate": 0.75}


@pytest.fixture(scope="module")
def tables():
    return sample.generate()


@pytest.fixture(scope="module")
def sales(tables):
    return tables["sales"]


@pytest.fixture(scope="module")
def reps(tables):
    return tables["reps"]


@pytest.fixture(scope="module")
def monthly(sales):
    by_month = sales.groupby(sales.date.dt.to_period("M")).amount.sum()
    return pd.DataFrame({"year": by_month.index.year, "month": by_month.index.month, "amount": by_month.to_numpy()})


@pytest.fixture(scope="module")
def actuals():
    return sample.generate_actuals("2027-01-01", "2027-03-31")


# --------------------------------------------------------------------------- determinism and files
def test_generate_is_deterministic_and_seed_matters(tables):
    again = sample.generate()
    assert list(again) == FILES
    for name in FILES:
        pd.testing.assert_frame_equal(tables[name], again[name])
    other = sample.generate(seed=7)["sales"]
    assert len(other) != len(tables["sales"]) or not np.allclose(other.amount, tables["sales"].amount)


def test_written_files_equal_committed_files_byte_for_byte(tmp_path):
    written = sample.write_sample(tmp_path)
    assert sorted(p.name for p in written) == sorted(f"{n}.csv" for n in FILES)
    for name in FILES:
        fresh = (tmp_path / f"{name}.csv").read_bytes()
        assert fresh == (SAMPLE_DIR / f"{name}.csv").read_bytes(), f"{name}.csv differs; run make sample"
        assert not fresh.startswith(b"\xef\xbb\xbf") and b"\r" not in fresh
        fresh.decode("utf-8")
    assert (SAMPLE_DIR / "sales.csv").stat().st_size < 15e6


def test_committed_csv_keeps_leading_zeros_and_two_decimals():
    raw = pd.read_csv(SAMPLE_DIR / "sales.csv", dtype=str, keep_default_na=False)
    assert raw.customer_id.str.fullmatch(r"C\d{5}").all()
    assert (raw.customer_id == "C00001").any()
    assert raw.amount.str.fullmatch(r"-?\d+\.\d{2}").all()
    assert raw.quantity.str.fullmatch(r"-?\d+").all()
    assert raw.date.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()


# --------------------------------------------------------------------------- organisation
def test_org_has_four_regions_eight_teams_and_35_to_45_reps(reps, sales):
    assert 35 <= len(reps) <= 45
    assert reps.rep_id.is_unique and reps.rep_id.str.fullmatch(r"R\d{3}").all()
    assert set(reps.region) == {"East", "South", "North", "West"}
    assert reps.groupby("region").team.nunique().eq(2).all() and reps.team.nunique() == 8
    assert (reps.team.str.split("-").str[0] == reps.region).all()
    assert reps.name.str.fullmatch(r"[\u4e00-\u9fff]{2,3}").all() and reps.name.is_unique
    assert reps.fte.between(0, 1).all() and (reps.role == "rep").all()
    # A deal's region is its rep's region: books move within a team, never across regions.
    rep_region = sales.rep_id.map(reps.set_index("rep_id").region)
    assert rep_region.notna().all() and (rep_region == sales.region).all()


def test_new_hires_are_ramping(reps, sales):
    active = reps[reps.exit_date.isna()]
    assert (active.hire_date >= "2025-05-01").sum() >= 3  # hired in the last 18 months
    assert (active.hire_date >= "2026-05-01").sum() >= 3  # under six months in at 2026-11
    first_deal = sales.groupby("rep_id").date.min()
    assert (first_deal > first_deal.index.map(reps.set_index("rep_id").hire_date)).all()
    # Hires with a year of history sell less in their first three months than in months 7-12.
    checked = 0
    month_number = sales.date.dt.year * 12 + sales.date.dt.month
    for rep in reps[(reps.hire_date >= "2022-01-01") & (reps.hire_date < "2025-10-01")].itertuples():
        tenure = month_number - (rep.hire_date.year * 12 + rep.hire_date.month)
        mine = sales[(sales.rep_id == rep.rep_id)].assign(tenure=tenure)
        per_month = mine.groupby("tenure").amount.sum().reindex(range(1, 13), fill_value=0.0)
        assert per_month.loc[1:3].mean() < per_month.loc[7:12].mean(), rep.rep_id
        checked += 1
    assert checked >= 5


def test_leavers_have_no_deals_after_exit(reps, sales):
    leavers = reps[reps.exit_date.notna()]
    assert len(leavers) >= 3
    for rep in leavers.itertuples():
        dates = sales.loc[sales.rep_id == rep.rep_id, "date"]
        assert len(dates) > 100 and dates.max() <= rep.exit_date, rep.rep_id
        assert dates.max() >= rep.exit_date - pd.Timedelta(days=31), rep.rep_id


# --------------------------------------------------------------------------- sales
def test_sales_dates_ids_and_columns(sales):
    assert list(sales.columns) == ["deal_id", "date", "amount", "quantity", "rep_id", "customer_id",
                                   "customer_name", "product", "region"]
    assert sales.date.min() >= pd.Timestamp("2022-01-01") and sales.date.min() < pd.Timestamp("2022-01-08")
    assert sales.date.max() <= pd.Timestamp("2026-10-31") and sales.date.max() >= pd.Timestamp("2026-10-25")
    assert sales.date.is_monotonic_increasing and sales.deal_id.is_unique
    assert sales.deal_id.str.fullmatch(r"D\d{6}").all()
    assert set(sales["product"]) == {"Instruments", "Consumables", "Services"}
    names = sales.groupby("customer_id").customer_name.nunique()
    assert (names == 1).all() and sales.customer_name.str.endswith("有限公司").all()
    assert 2000 <= sales.customer_id.nunique() <= 5000
    assert 20_000 <= len(sales) <= 120_000


def test_annual_revenue_between_250_and_400_million(sales):
    by_year = sales.groupby(sales.date.dt.year).amount.sum()
    assert by_year.loc[2022:2025].between(240e6, 400e6).all()
    assert by_year.loc[2025] > by_year.loc[2022]
    # Jan-Oct 2026 against Jan-Oct 2025: still growing.
    jan_oct = sales[sales.date.dt.month <= 10].groupby(sales.date.dt.year).amount.sum()
    assert jan_oct.loc[2026] > jan_oct.loc[2025]


def test_growth_differs_by_region_and_product(sales):
    def cagr(column):
        by = sales.pivot_table(index=column, columns=sales.date.dt.year, values="amount", aggfunc="sum")
        return (by[2025] / by[2022]) ** (1 / 3) - 1

    region, product = cagr("region"), cagr("product")
    assert region.idxmax() == "West" and region["West"] > 0.12
    assert region.idxmin() == "North" and abs(region["North"]) < 0.03
    assert product.idxmax() == "Services" and product.idxmin() == "Instruments"
    assert product["Services"] - product["Instruments"] > 0.08


def test_top_20_percent_of_customers_bring_70_to_80_percent(sales):
    revenue = np.sort(sales.groupby("customer_id").amount.sum().to_numpy())[::-1]
    top = math.ceil(0.2 * len(revenue))
    assert 0.70 <= revenue[:top].sum() / revenue.sum() <= 0.80


def test_new_customers_are_won_every_year(sales):
    first_year = sales.groupby("customer_id").date.min().dt.year
    assert (first_year.value_counts().reindex(range(2023, 2027), fill_value=0) >= 100).all()


def test_spring_festival_dip_quarter_ends_and_december(monthly):
    for year, group in monthly.groupby("year"):
        by_month = group.set_index("month").amount
        assert by_month[SPRING_FESTIVAL_MONTH[year]] < 0.8 * by_month.mean(), year
        assert by_month[[3, 6, 9]].mean() > by_month[[4, 5, 7, 8]].mean(), year
        if year <= 2025:
            assert by_month[12] > 1.3 * by_month.mean() and by_month.idxmax() == 12, year


def test_seasonal_swings_grow_with_the_level(monthly):
    spread = monthly.groupby("year").amount.agg(lambda x: x.max() - x.min())
    level = monthly.groupby("year").amount.mean()
    assert spread[2025] > 1.1 * spread[2022] and level[2025] > 1.1 * level[2022]
    relative = spread / level
    assert abs(relative[2025] - relative[2022]) < 0.35 * relative[2022]


def test_credit_notes_are_present_but_rare(sales):
    credit = sales[sales.amount < 0]
    assert 0 < len(credit) < 0.01 * len(sales)
    assert (credit.quantity <= 0).all() and (sales.loc[sales.amount > 0, "quantity"] >= 1).all()
    first_purchase = sales[sales.amount > 0].groupby(["customer_id", "product"]).date.min()
    bought_before = [first_purchase.get((c.customer_id, c.product), pd.Timestamp.max) < c.date
                     for c in credit.itertuples()]
    assert all(bought_before)


# --------------------------------------------------------------------------- side tables
def test_pipeline_is_open_future_business(tables, reps, sales):
    pipe = tables["pipeline"]
    assert list(pipe.columns) == ["opportunity_id", "rep_id", "customer_id", "product", "stage", "amount",
                                  "expected_close", "probability"]
    assert 300 <= len(pipe) <= 3000 and pipe.opportunity_id.is_unique
    assert (pipe.expected_close > pd.Timestamp("2026-11-26")).all()
    assert (pipe.expected_close <= pd.Timestamp("2027-09-30")).all()
    assert set(pipe.stage) == set(STAGE_PROBABILITY)
    assert (pipe.probability == pipe.stage.map(STAGE_PROBABILITY)).all()
    assert set(pipe.rep_id) <= set(reps.loc[reps.exit_date.isna(), "rep_id"])
    # A few opportunities are with prospects not yet in sales.csv (new logos); most are with customers.
    known = pipe.customer_id.isin(set(sales.customer_id))
    assert 0.9 < known.mean() < 1 and (pipe.amount > 0).all()


def test_kpis_cover_the_quarters_each_rep_worked(tables, reps):
    kpis = tables["kpis"]
    assert set(kpis.metric) == {"satisfaction", "activity", "teamwork", "learning"}
    periods = pd.PeriodIndex(kpis.period, freq="Q")
    assert periods.min() == pd.Period("2022Q1") and periods.max() == pd.Period("2026Q3")
    tenure = reps.set_index("rep_id")
    hired = kpis.rep_id.map(tenure.hire_date)
    left = kpis.rep_id.map(tenure.exit_date).fillna(pd.Timestamp("2100-01-01"))
    assert (hired <= periods.end_time).all() and (left >= periods.start_time.normalize()).all()
    assert not kpis.duplicated(["rep_id", "period", "metric"]).any()
    scores = kpis[kpis.metric.isin(["satisfaction", "teamwork"])].value
    assert scores.between(1, 5).all()
    activity = kpis[kpis.metric == "activity"].value
    assert (activity == activity.round()).all() and activity.between(1, 1000).all()


def test_risks_follow_the_contract(tables, sales):
    risks = tables["risks"]
    assert 8 <= len(risks) <= 12
    assert list(risks.risk_id) == [f"R-{i:02d}" for i in range(1, len(risks) + 1)]
    assert set(risks.category) <= {"market", "people", "product", "customer", "operations"}
    assert risks.likelihood.between(0, 1).all() and set(risks.status) <= {"open", "mitigating"}
    assert risks.impact.str.fullmatch(r"\d+|\d+(\.\d+)?%").all()
    assert risks.driver.str.fullmatch(r"company|region:(East|South|North|West)|"
                                      r"product:(Instruments|Consumables|Services)|customer:C\d{5}").all()
    customers = risks.driver[risks.driver.str.startswith("customer:")].str.removeprefix("customer:")
    assert len(customers) >= 1 and set(customers) <= set(sales.customer_id)


def test_market_share_is_5_to_20_percent(tables, sales):
    market = tables["market"]
    assert len(market) == 4 * 3 * 6 and set(market.year) == set(range(2022, 2028))
    ours = sales.groupby(["region", "product", sales.date.dt.year.rename("year")]).amount.sum()
    joined = market.set_index(["region", "product", "year"]).join(ours.rename("ours"), how="inner").sort_index()
    share = (joined.ours / joined.market_size).loc[pd.IndexSlice[:, :, 2022:2025]]
    assert len(share) == 48 and share.between(0.04, 0.22).all()
    assert market.market_growth.between(-0.1, 0.3).all()


def test_competitors_leave_room_for_us(tables):
    comp = tables["competitors"]
    assert 5 <= comp.competitor.nunique() <= 8
    assert set(comp.region) == {"East", "South", "North", "West"}
    assert comp.share.between(0, 1, inclusive="neither").all()
    assert (comp.groupby("region").share.sum() < 0.8).all() and comp.notes.str.len().gt(10).all()


# --------------------------------------------------------------------------- FY2027 actuals
def test_actuals_continue_the_history(actuals, sales, reps):
    assert list(actuals.columns) == list(sales.columns)
    assert actuals.date.min() >= pd.Timestamp("2027-01-01") and actuals.date.max() <= pd.Timestamp("2027-03-31")
    assert actuals.deal_id.min() > sales.deal_id.max() and actuals.deal_id.is_unique
    assert not set(actuals.rep_id) & set(reps.loc[reps.exit_date.notna(), "rep_id"])
    known = actuals.customer_id.isin(set(sales.customer_id))
    assert actuals.amount[known].sum() > 0.9 * actuals.amount.sum()
    q1_2026 = sales.loc[sales.date.between("2026-01-01", "2026-03-31"), "amount"].sum()
    assert 0.95 < actuals.amount.sum() / q1_2026 < 1.4
    pd.testing.assert_frame_equal(actuals, sample.generate_actuals("2027-01-01", "2027-03-31"))


def test_actuals_reject_dates_outside_the_simulated_future():
    with pytest.raises(ConfigError, match=r"start: expected a date from 2026-11-01 to 2027-12-31.*'2026-10-01'"):
        sample.generate_actuals("2026-10-01", "2027-03-31")
    with pytest.raises(ConfigError, match=r"end: expected an ISO date such as 2027-03-31, found '31/03/2027'"):
        sample.generate_actuals("2027-01-01", "31/03/2027")
    with pytest.raises(ConfigError, match=r"start '2027-04-01' is after end '2027-03-31'"):
        sample.generate_actuals("2027-04-01", "2027-03-31")


def test_cli_writes_actuals_file(tmp_path, actuals, capsys):
    out = tmp_path / "q1" / "actuals.csv"
    assert sample.main(["--actuals", "2027-03-31", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    written = pd.read_csv(out, dtype={"customer_id": str}, parse_dates=["date"])
    assert len(written) == len(actuals)
    assert written.amount.sum() == pytest.approx(actuals.amount.sum(), abs=0.01)
    assert written.customer_id.str.fullmatch(r"C\d{5}").all()


# --------------------------------------------------------------------------- the expected sales behind the deals
@pytest.fixture(scope="module")
def simulation():
    return sample._simulate(sample.DEFAULT_SEED)


def test_expected_sales_share_each_regions_demand_over_its_wallets(simulation):
    """With every rep at factor 1, a region's customers together expect exactly the region's demand."""
    cust, owner, targets = simulation["customers"], simulation["owner"], simulation["targets"]
    flat = np.ones_like(simulation["factor"])
    expected = sample.expected_sales(cust, owner, flat, targets)
    region = cust.region_idx.to_numpy()
    for g in range(len(sample.REGIONS)):
        np.testing.assert_allclose(expected[region == g].sum(axis=0), targets[g, :, :sample.N_MONTHS], rtol=1e-9)
    # A rep at factor 0 sells nothing: every customer he owns that month expects zero.
    zero = flat.copy()
    zero[0] = 0.0
    mine = owner[:, :sample.N_MONTHS] == 0
    assert mine.any()
    assert np.all(sample.expected_sales(cust, owner, zero, targets).sum(axis=1)[mine] == 0)
    # Doubling one rep's factor in one month doubles exactly his customers in that month.
    rep, month = 5, 40
    bumped = flat.copy()
    bumped[rep, month] = 2.0
    ratio = sample.expected_sales(cust, owner, bumped, targets).sum(axis=1) / expected.sum(axis=1).clip(1e-300)
    his = (owner[:, month] == rep) & (expected[:, :, month].sum(axis=1) > 0)
    assert his.sum() > 10
    np.testing.assert_allclose(ratio[his, month], 2.0)
    others = expected.sum(axis=1) > 0
    others[his, month] = False
    np.testing.assert_allclose(ratio[others], 1.0)


def test_a_new_logo_buys_sixty_percent_of_its_wallet_in_its_first_six_months(simulation):
    """Against a customer of the same region who is there throughout, a new logo's expected sales
    are 0.6 x the wallets' ratio in months 0-5 after it is won and the full ratio from month 6."""
    cust, owner, targets = simulation["customers"], simulation["owner"], simulation["targets"]
    expected = sample.expected_sales(cust, owner, np.ones_like(simulation["factor"]), targets)
    mix = cust[["mix_0", "mix_1", "mix_2"]].to_numpy()
    new = cust[(cust.acquired > 12) & (cust.churn > cust.acquired + 12)].iloc[0]
    old = cust[(cust.acquired == 0) & (cust.churn > new.acquired + 12) & (cust.region_idx == new.region_idx)].iloc[0]
    wallets = new.weight * mix[new.name, 0] / (old.weight * mix[old.name, 0])
    a = int(new.acquired)
    seen = expected[new.name, 0, a:a + 12] / expected[old.name, 0, a:a + 12]
    np.testing.assert_allclose(seen, [0.6 * wallets] * 6 + [wallets] * 6)
    assert np.all(expected[new.name, :, :a] == 0)


def test_deals_are_drawn_around_the_expected_sales(simulation):
    """Deal counts are Poisson around expected / deal size and amounts average the deal size, so
    each region's sales over the six years land within a few percent of what was expected."""
    expected = sample.expected_sales(simulation["customers"], simulation["owner"], simulation["factor"],
                                     simulation["targets"])
    deals = simulation["deals"]
    sold = deals[deals.amount > 0].groupby("region").amount.sum()
    region = simulation["customers"].region_idx.to_numpy()
    for g, name in enumerate(sample.REGIONS):
        assert sold[name] / expected[region == g].sum() == pytest.approx(1.0, abs=0.03)


def test_company_months_add_up_the_sales_file_and_sit_near_expected(sales):
    months = sample.company_months()
    assert len(months) == sample.N_MONTHS and months.month.iloc[0] == pd.Timestamp("2022-01-01")
    known = months[months.month <= sample.HISTORY_END]
    by_month = sales.groupby(sales.date.dt.to_period("M").dt.to_timestamp()).amount.sum()
    np.testing.assert_allclose(known.actual.to_numpy(), by_month.reindex(known.month).to_numpy(), rtol=1e-12)
    # Deal noise is a few percent a year, never a different company.
    yearly = known.groupby(known.month.dt.year)[["expected", "actual"]].sum()
    assert np.all(np.abs(yearly.actual / yearly.expected - 1) < 0.05)
