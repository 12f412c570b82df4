"""Market analysis figures checked against hand computations on small tables."""
import numpy as np
import pandas as pd
import pytest

from planlib.planning import market


def panel(rows):
    """rows: (level, key, ds, y) -> the long history panel of the data contract."""
    out = []
    for level, key, ds, y in rows:
        rec = {"unique_id": level if level == "company" else f"{level}/{key}", "ds": pd.Timestamp(ds), "y": float(y),
               "level": level, "region": None, "product": None, "team": None, "rep_id": None}
        if level in ("region", "product"):
            rec[level] = key
        out.append(rec)
    return pd.DataFrame(out)


def test_growth_compares_a_partial_year_with_the_same_months_before():
    rows = [("region", "East", f"2025-{m:02d}-01", 100) for m in range(1, 13)]
    rows += [("region", "East", f"2026-{m:02d}-01", 110) for m in range(1, 11)]
    table = market.growth_by(panel(rows), "region").set_index("year")
    assert table.loc[2026, "months"] == 10
    assert table.loc[2026, "revenue"] == 1100
    assert table.loc[2026, "prior_revenue"] == 1000  # Jan-Oct 2025, not the full year
    assert table.loc[2026, "growth"] == pytest.approx(0.10)
    assert np.isnan(table.loc[2025, "growth"])  # no 2024 to compare with


def test_trend_rolling_sum_starts_at_month_twelve():
    rows = [("company", None, ds, i) for i, ds in enumerate(pd.date_range("2024-01-01", periods=14, freq="MS"))]
    trend = market.company_trend(panel(rows))
    assert trend["rolling_12m"].isna().sum() == 11
    assert trend["rolling_12m"].iloc[11] == sum(range(12))
    assert trend["rolling_12m"].iloc[13] == sum(range(2, 14))


def test_seasonal_profile_recovers_a_known_multiplicative_pattern():
    pattern = np.array([0.6, 0.7, 1.2, 0.9, 1.0, 1.2, 0.9, 1.0, 1.2, 1.0, 0.9, 1.4])
    pattern = pattern / pattern.mean()
    ds = pd.date_range("2022-01-01", periods=48, freq="MS")
    level = 1000 * 1.01 ** np.arange(48)
    rows = [("company", None, d, v) for d, v in zip(ds, level * np.tile(pattern, 4))]
    prof = market.seasonal_profile(panel(rows))
    assert list(prof["month"]) == list(range(1, 13))
    assert prof["seasonal_index"].mean() == pytest.approx(1.0)
    np.testing.assert_allclose(prof["seasonal_index"], pattern, rtol=0.05)
    assert prof["share"].sum() == pytest.approx(1.0)


def test_seasonal_profile_needs_a_year_and_under_two_reads_one_year_against_its_trend():
    rows = [("company", None, d, 1) for d in pd.date_range("2025-01-01", periods=11, freq="MS")]
    with pytest.raises(ValueError, match="a year of history for company, got 11 months"):
        market.seasonal_profile(panel(rows))
    # 12 months growing 10% a month, March doubled: log1p against a straight line, by hand
    ds = pd.date_range("2025-01-01", periods=12, freq="MS")
    y = 100 * 1.1 ** np.arange(12) * np.where(ds.month == 3, 2.0, 1.0)
    profile = market.seasonal_profile(panel([("company", None, d, v) for d, v in zip(ds, y)]))
    logged = np.log1p(y)
    t = np.arange(12.0)
    slope, intercept = np.polyfit(t, logged, 1)
    index = np.exp(logged - (slope * t + intercept))
    assert profile["method"].unique().tolist() == ["one year against its trend"]
    assert profile["seasonal_index"].to_numpy() == pytest.approx(index / index.mean())
    assert int(profile.loc[profile["seasonal_index"].idxmax(), "month"]) == 3


def sales():
    return pd.DataFrame({
        "date": pd.to_datetime(["2025-03-01", "2026-02-01", "2026-05-01", "2026-06-01", "2026-07-01", "2026-09-01"]),
        "customer_id": ["C1", "C1", "C2", "C3", "C4", "C4"],
        "customer_name": ["甲", "甲", "乙", "丙", "丁", "丁"],
        "amount": [50.0, 600.0, 250.0, 100.0, 60.0, -10.0],
    })


def test_concentration_pareto_and_abc_by_hand():
    pareto = market.concentration(sales(), pd.Timestamp("2026-10-01"))
    # window Nov 2025 - Oct 2026: C1 600, C2 250, C3 100, C4 50 (60 less a 10 credit note) = 1000
    assert list(pareto["customer_id"]) == ["C1", "C2", "C3", "C4"]
    assert list(pareto["revenue"]) == [600, 250, 100, 50]
    np.testing.assert_allclose(pareto["cum_revenue_share"], [0.6, 0.85, 0.95, 1.0])
    assert list(pareto["abc_class"]) == ["A", "A", "B", "C"]
    summary = market.concentration_summary(pareto)
    assert summary["top20_share"] == pytest.approx(0.6)  # ceil(0.2 * 4) = 1 customer
    assert summary["hhi"] == pytest.approx(60**2 + 25**2 + 10**2 + 5**2)
    assert summary["a_customers"] == 2


def test_customer_mix_new_then_existing():
    mix = market.customer_mix(sales()).set_index(["year", "customer_type"])
    assert mix.loc[(2025, "new"), "revenue"] == 50
    assert mix.loc[(2026, "existing"), "revenue"] == 600
    assert mix.loc[(2026, "new"), "revenue"] == 400
    assert mix.loc[(2026, "new"), "customers"] == 3
    assert mix.loc[(2026, "new"), "share"] == pytest.approx(0.4)


def test_market_share_and_competitors():
    rows = [("region_product", None, "2025-06-01", 30)]
    hist = panel(rows)
    hist["region"], hist["product"] = "East", "Services"
    mk = pd.DataFrame({"region": ["East", "East"], "product": ["Services", "Instruments"], "year": [2025, 2025],
                       "market_size": [300.0, 700.0], "market_growth": [0.1, 0.02]})
    shares = market.market_share(mk, hist, 2025)
    row = shares.set_index("product").loc["Services"]
    assert (row["revenue"], row["our_share"], row["headroom"]) == (30, 0.1, 270)
    assert shares.set_index("product").loc["Instruments", "revenue"] == 0
    by_region = market.share_by_region(shares)
    assert by_region.loc[0, "our_share"] == pytest.approx(0.03)
    comp = pd.DataFrame({"competitor": ["A", "B"], "region": ["East", "East"], "share": [0.2, 0.01], "notes": ["", ""]})
    table = market.competitor_table(comp, by_region)
    assert list(table["competitor"]) == ["A", "(us)", "B"]
    assert list(table["rank"]) == [1, 2, 3]


def test_headlines_pick_the_fastest_and_slowest_by_hand():
    rows = []
    for region, rate in (("East", 0.10), ("West", 0.30), ("North", -0.05)):
        for m in range(1, 13):
            rows.append(("region", region, f"2024-{m:02d}-01", 100))
            rows.append(("region", region, f"2025-{m:02d}-01", 100 * (1 + rate)))
    for product, rate in (("A", 0.2), ("B", 0.0)):
        for m in range(1, 13):
            rows.append(("product", product, f"2024-{m:02d}-01", 150))
            rows.append(("product", product, f"2025-{m:02d}-01", 150 * (1 + rate)))
    season = [0.5, 0.8, 1.1, 1, 1, 1.1, 1, 1, 1.1, 1, 1, 1.4]
    for y in (2024, 2025):
        for m in range(1, 13):
            rows.append(("company", None, f"{y}-{m:02d}-01", 300 * season[m - 1] * (1.1 if y == 2025 else 1)))
    hist = panel(rows)
    deals = sales()
    analysis = market.analyse(hist, deals)
    facts = market.headlines(analysis)
    assert facts["last_full_year"] == 2025
    assert facts["growth"] == pytest.approx(0.10)
    assert (facts["fastest_region"], facts["slowest_region"]) == ("West", "North")
    assert facts["fastest_region_growth"] == pytest.approx(0.30)
    assert facts["slowest_region_growth"] == pytest.approx(-0.05)
    assert (facts["fastest_product"], facts["slowest_product"]) == ("A", "B")
    assert (facts["peak_month"], facts["trough_month"]) == (12, 1)
    assert facts["new_customer_share"] == pytest.approx(1.0)  # the only 2025 deal is C1's first
