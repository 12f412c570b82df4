"""Tests of planlib.planning.target, smart and fairness: the annual target and its verdict, SMART goal cards,
rep fairness."""
import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy import stats

from planlib.planning import allocate as al
from planlib.planning.fairness import fairness, gini
from planlib.planning.odds import Outcomes
from planlib.planning import smart as sm
from planlib.planning import target as tg
from planlib.core.config_targets import Goals, SmartGoal
from planlib.core.errors import ConfigError, DataError, ForecastError


@dataclass
class FakeForecast:
    """Stands in for planlib.forecast.engine.ForecastResult: yhat by month and Normal totals."""

    forecasts: pd.DataFrame
    sd: float = 10.0

    def total_distribution(self, unique_id, start, end):
        rows = self.forecasts[(self.forecasts["unique_id"] == unique_id)
                              & self.forecasts["ds"].between(pd.Timestamp(start), pd.Timestamp(end))]
        if rows.empty:
            raise ForecastError(f"no forecast for series {unique_id!r}")
        return stats.norm(loc=rows["yhat"].sum(), scale=self.sd * math.sqrt(len(rows)))


# --------------------------------------------------------------------------- the annual target
@pytest.mark.parametrize("mode, extra, target, probability, verdict", [
    # ppf(0.6) of N(100, 10) = 102.53 -> 103; P = sf(103) = 1 - Phi(0.3)
    ("quantile", {"quantile": 0.6}, 103, 1 - stats.norm.cdf(0.3), "balanced"),
    # last year 90 x 1.1 = 99; P = Phi(0.1)
    ("growth", {"growth": 0.1}, 99, stats.norm.cdf(0.1), "balanced"),
    # mean 100 x 1.05 = 105; P = 1 - Phi(0.5) = 0.3085 < 0.35
    ("stretch", {"stretch": 0.05}, 105, 1 - stats.norm.cdf(0.5), "stretch"),
    # leadership says 80; P = Phi(2) = 0.977 > 0.75
    ("top_down", {"top_down": 80}, 80, stats.norm.cdf(2.0), "sandbagged"),
])
def test_set_annual_target_modes(mode, extra, target, probability, verdict):
    result = tg.set_annual_target(Goals(mode=mode, **extra), stats.norm(100, 10), last_year_outlook=90.0,
                                  fiscal_year="FY2027")
    assert result.target == target and result.target_units == target
    assert result.probability == pytest.approx(probability)
    assert result.verdict == verdict
    assert result.growth_vs_last_year == pytest.approx(target / 90 - 1)
    assert result.forecast_p90 == pytest.approx(100 + 10 * stats.norm.ppf(0.9))


def test_set_annual_target_rounds_to_the_unit_and_refuses_growth_without_a_base():
    result = tg.set_annual_target(Goals(mode="quantile", quantile=0.6), stats.norm(100, 10), last_year_outlook=90,
                                  unit=10)
    assert (result.target, result.target_units) == (100, 10)  # 102.53 -> 10 units of 10
    with pytest.raises(ConfigError, match="goals.mode: growth needs last year's actual, found nan"):
        tg.set_annual_target(Goals(mode="growth"), stats.norm(100, 10), last_year_outlook=math.nan)


def test_goals_config_checks_its_own_keys():
    with pytest.raises(ValidationError, match="mode top_down needs goals.top_down"):
        Goals(mode="top_down")
    with pytest.raises(ValidationError, match="stretch_below .* must be below sandbagged_above"):
        Goals(verdict={"stretch_below": 0.8, "sandbagged_above": 0.5})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Goals(quantil=0.6)


def test_verdict_of_thresholds():
    assert [tg.verdict_of(p, 0.3, 0.8) for p in (0.29, 0.3, 0.8, 0.81)] == ["stretch", "balanced", "balanced",
                                                                              "sandbagged"]


def test_last_year_figures_use_actual_then_forecast_for_open_months():
    months = pd.date_range("2025-01-01", "2026-10-01", freq="MS")
    history = pd.DataFrame({"unique_id": "company", "ds": months, "y": 100.0})
    forecast = FakeForecast(pd.DataFrame({"unique_id": "company", "ds": pd.date_range("2026-11-01", "2027-12-01",
                                                                                       freq="MS"), "yhat": 150.0}))
    figures = tg.last_year_figures(history, forecast, pd.date_range("2027-01-01", periods=12, freq="MS"),
                                   pd.Timestamp("2026-10-01"))
    assert figures == {"last_year_actual": 1000.0, "last_year_outlook": 1300.0, "trailing_12m": 1200.0}


# --------------------------------------------------------------------------- SMART goals
def small_company():
    """Customers A-E over 2023-2026 (last closed month 2026-10), two regions, KPIs by quarter."""
    sales = pd.DataFrame({
        "date": pd.to_datetime(["2022-12-10", "2023-03-01", "2023-12-01", "2024-02-01", "2024-11-01",
                                "2025-01-15", "2025-03-01", "2025-11-20", "2026-02-01", "2026-05-01"]),
        "amount": [10.0, 20, 30, 40, 50, 60, 70, 80, 90, 100],
        "customer_id": ["A", "B", "A", "C", "A", "D", "B", "A", "E", "D"],
        "region": ["East", "East", "East", "West", "East", "West", "East", "East", "West", "West"],
        "product": "X", "rep_id": "R1"})
    market = pd.DataFrame({"region": ["East", "West"] * 3, "product": "X", "year": [2024, 2024, 2025, 2025, 2026, 2026],
                           "market_size": [1000.0, 1000, 1000, 1000, 2000, 2000], "market_growth": 0.0})
    kpis = pd.DataFrame({"rep_id": "R1", "period": ["2024Q3", "2025Q3", "2026Q3"], "metric": "satisfaction",
                         "value": [3.0, 3.5, 4.0]})
    reps = pd.DataFrame({"rep_id": ["R1"], "region": ["East"]})
    return {"sales": sales, "market": market, "kpis": kpis, "reps": reps}


def test_metric_history_by_hand():
    tables = small_company()
    last = pd.Timestamp("2026-10-01")
    # First purchases: A 2022-12, B 2023-03, C 2024-02, D 2025-01, E 2026-02. Data start in 2022-12,
    # so a window must start from 2023-12 on (before that everyone looks new): Nov 2024-Oct 2025
    # holds D, Nov 2025-Oct 2026 holds E.
    new = sm.metric_history("new_customers", "company", tables, pd.DataFrame(), last)
    assert new.index.tolist() == [pd.Timestamp("2025-10-01"), pd.Timestamp("2026-10-01")]
    assert new.tolist() == [1.0, 1.0]
    # Retention for Nov 2025-Oct 2026: last window's customers {A, D, B}; of them A and D came back.
    retention = sm.metric_history("retention", "company", tables, pd.DataFrame(), last)
    assert retention.iloc[-1] == pytest.approx(2 / 3)
    # West market share: 2026 window West sales 90 + 100 over a 2026 market of 2000.
    share = sm.metric_history("market_share", "region/West", tables, pd.DataFrame(), last)
    assert share.iloc[-1] == pytest.approx(190 / 2000)
    satisfaction = sm.metric_history("satisfaction", "region/East", tables, pd.DataFrame(), last)
    assert satisfaction.tolist() == [3.0, 3.5, 4.0]
    assert sm.metric_history("satisfaction", "region/West", tables, pd.DataFrame(), last) is None
    assert sm.metric_history("nps", "company", tables, pd.DataFrame(), last) is None


def test_trend_probability_by_hand():
    values = pd.Series([10.0, 12.0, 16.0])  # changes 2 and 4: mean 3, sd sqrt(2)
    assert sm.trend_probability(values, 19.0, 1.0) == pytest.approx(0.5)
    assert sm.trend_probability(values, 19.0 + math.sqrt(2), 1.0) == pytest.approx(1 - stats.norm.cdf(1))
    assert sm.trend_probability(values.iloc[:2], 19.0, 1.0) is None


def test_goal_cards_say_what_keeps_a_goal_from_being_smart():
    tables = small_company()
    history = pd.DataFrame({"unique_id": "company", "ds": pd.date_range("2023-01-01", "2026-10-01", freq="MS"),
                            "y": 100.0})
    forecast = FakeForecast(pd.DataFrame({"unique_id": "company",
                                          "ds": pd.date_range("2026-11-01", "2027-12-01", freq="MS"), "yhat": 100.0}))
    goals = Goals(min_probability=0.2, smart=[
        SmartGoal(name="Revenue", metric="revenue", target=1200, deadline=dt.date(2027, 12, 31), owner="VP",
                  strategy="grow"),
        SmartGoal(name="Vague", metric="revenue"),
        SmartGoal(name="Unmeasurable", metric="nps", target=50, deadline=dt.date(2027, 12, 31), owner="CS",
                  strategy="service"),
        SmartGoal(name="Too far", metric="revenue", target=2000, deadline=dt.date(2027, 12, 31), owner="VP",
                  strategy="grow"),
        SmartGoal(name="Past", metric="satisfaction", scope="region/East", target=4.5, deadline=dt.date(2026, 1, 1),
                  owner="CS", strategy="service"),
    ])
    cards = sm.goal_cards(goals, tables=tables, history=history, forecast=forecast, as_of=dt.date(2026, 11, 26),
                          last_month=dt.date(2026, 10, 1)).set_index("goal")
    # 12 forecast months of mean 100, sd 10 each: total N(1200, 10 x sqrt(12)); P(>= 1200) = 0.5.
    assert cards.loc["Revenue", "probability"] == pytest.approx(0.5)
    assert cards.loc["Revenue", "smart"] and cards.loc["Revenue", "problems"] == ""
    assert cards.loc["Revenue", "baseline"] == 1200.0
    assert cards.loc["Vague", "problems"] == "no number; no deadline; no strategy it serves; no owner"
    assert cards.loc["Unmeasurable", "problems"] == "metric 'nps' is not one the data measures"
    assert cards.loc["Too far", "problems"].startswith("achievability 0% is below the 20% threshold")
    assert not cards.loc["Too far", "achievable"] and cards.loc["Too far", "measurable"]
    assert cards.loc["Past", "problems"] == "deadline 2026-01-01 is not after the plan date 2026-11-26"
    assert cards["smart"].tolist() == [True, False, False, False, False]


def test_a_revenue_goal_baseline_is_last_year_actual_plus_outlook():
    # FY2026 (Jan-Dec): 10 closed months and 2 forecast ones. Company 10 x 100 + 2 x 150 = 1300; East
    # 10 x 40 + 2 x 70 = 540. The trailing 12 months (1200 and 480) are not what the pages call last year.
    months = pd.date_range("2023-01-01", "2026-10-01", freq="MS")
    history = pd.concat([pd.DataFrame({"unique_id": "company", "ds": months, "y": 100.0}),
                         pd.DataFrame({"unique_id": "region/East", "ds": months, "y": 40.0})])
    future = pd.date_range("2026-11-01", "2027-12-01", freq="MS")
    forecast = FakeForecast(pd.concat([pd.DataFrame({"unique_id": "company", "ds": future, "yhat": 150.0}),
                                       pd.DataFrame({"unique_id": "region/East", "ds": future, "yhat": 70.0})]))
    goals = Goals(min_probability=0.0, smart=[
        SmartGoal(name="Revenue", metric="revenue", target=1500, deadline=dt.date(2027, 12, 31), owner="VP",
                  strategy="grow"),
        SmartGoal(name="East", metric="revenue", scope="region/East", target=600, deadline=dt.date(2027, 12, 31),
                  owner="VP", strategy="grow"),
        SmartGoal(name="Customers", metric="new_customers", target=3, deadline=dt.date(2027, 12, 31), owner="VP",
                  strategy="grow")])
    plan_year = pd.date_range("2027-01-01", periods=12, freq="MS")
    cards = sm.goal_cards(goals, tables=small_company(), history=history, forecast=forecast,
                          as_of=dt.date(2026, 11, 26), last_month=dt.date(2026, 10, 1),
                          plan_months=plan_year).set_index("goal")
    assert cards.loc["Revenue", "baseline"] == 1300.0
    assert cards.loc["Revenue", "baseline"] == tg.last_year_figures(history, forecast, plan_year,
                                                                    pd.Timestamp("2026-10-01"))["last_year_outlook"]
    assert cards.loc["East", "baseline"] == 540.0
    assert cards.loc["Customers", "baseline"] == 1.0  # not revenue: the last 12 months (E, new in 2026-02)


# --------------------------------------------------------------------------- fairness
def test_gini_by_hand():
    assert gini([1, 1, 1, 1]) == pytest.approx(0.0)
    assert gini([0, 0, 0, 4]) == pytest.approx(0.75)
    # mean absolute difference over all pairs 20/16 = 1.25, over twice the mean 5: 0.25
    assert gini([4, 1, 3, 2]) == pytest.approx(0.25)


def test_fairness_by_hand():
    pieces = pd.DataFrame({"piece": [0], "week": ["2027-W01"], "month": ["2027-01"], "quarter": ["2027Q1"],
                           "year": "FY2027"})
    inputs = al.AllocationInputs(
        regions=["East"], teams=["East-1"], reps=["A", "B"], products=["X"], team_region=np.array([0]),
        rep_team=np.array([0, 0]), pieces=pieces, region_weight=np.ones(1), team_weight=np.ones(1),
        rep_weight=np.array([135.0, 120.0]), product_weight=np.ones(1), region_product_seed=np.ones((1, 1)),
        team_product_seed=np.ones((1, 1)), rep_product_seed=np.ones((2, 1)), company_profile=np.ones(1),
        product_profile=np.ones((1, 1)), region_product_profile=np.ones((1, 1, 1)),
        rep_availability=np.ones((2, 1)),
        rep_info=pd.DataFrame({"rep_id": ["A", "B"], "name": ["甲", "乙"], "team": "East-1", "region": "East",
                               "capacity_months": [12.0, 12.0]}))
    allocation = al.allocate(255, inputs)  # A 135, B 120
    # the simulated years: a company total ~ Normal(240, 2 sqrt(216)), each rep half of it
    outcomes = Outcomes.from_normal_total(240.0, 2 * math.sqrt(216), {"A": 0.5, "B": 0.5})
    result = fairness(allocation, outcomes, basis=pd.Series({"A": "own history"}), low=0.3, high=0.85)
    reps = result.reps.set_index("rep_id")
    # potential 240 / 2 = 120, sd sqrt(216); A reaches 135 when the total reaches 270: z = 30 / (2 sqrt(216))
    assert reps.loc["A", "potential"] == pytest.approx(120.0)
    assert reps.loc["A", "sd"] == pytest.approx(math.sqrt(216), rel=1e-3)
    assert reps.loc["A", "probability"] == pytest.approx(stats.norm.sf(15 / math.sqrt(216)), abs=2e-5)
    assert reps.loc["B", "probability"] == pytest.approx(0.5)
    assert reps["basis"].tolist() == ["own history", "own history"]  # B: not given, the default
    assert result.summary["share_below_low"] == 0.5 and result.summary["share_above_high"] == 0.0
    # ratios 1.125 and 1.0: Gini = |1.125 - 1| x 2 / (4 x 2 x 1.0625)
    assert result.summary["gini"] == pytest.approx(0.25 / (8 * 1.0625))
    assert result.unfair["rep_id"].tolist() == ["A"]
    assert result.unfair.loc[0, "reason"].startswith("P(attainment) 15% < 30%: target +12% against potential")


def test_rep_productivity_skips_ramp_months_and_falls_back_to_peers():
    months = pd.date_range("2025-11-01", "2026-10-01", freq="MS")
    history = pd.concat([
        pd.DataFrame({"unique_id": "rep/A", "ds": months, "y": np.arange(12) * 10.0, "level": "rep", "rep_id": "A"}),
        pd.DataFrame({"unique_id": "rep/B", "ds": months, "y": 5.0, "level": "rep", "rep_id": "B"}),
    ])
    roster = pd.DataFrame({"rep_id": ["A", "B"], "team": "T", "hire_date": pd.to_datetime(["2020-01-01", "2026-06-10"]),
                           "exit_date": pd.NaT, "fte": [0.5, 1.0]})
    table = al.rep_productivity(history, roster, "2026-10-01", ramp=[0.5, 0.75], months=12).set_index("rep_id")
    # A: all 12 months, per FTE = y / 0.5 -> mean 110, basis own history
    assert table.loc["A", "mean"] == pytest.approx(110.0) and table.loc["A", "basis"] == "own history"
    assert table.loc["A", "sd"] == pytest.approx(np.std(np.arange(12) * 20.0, ddof=1))
    # B joined in June: June-July ramp, Aug-Oct ramped = 3 months < 6: team peers (A's months)
    assert table.loc["B", "basis"] == "team peers" and table.loc["B", "mean"] == pytest.approx(110.0)


# --------------------------------------------------------------------------- tables and charts for the notebook
def test_attainment_curve_meets_at_the_target():
    curve = tg.attainment_curve(stats.norm(100, 10), 110.0)
    at_target = curve[curve["revenue"] == 110.0]
    assert at_target["attained"].tolist() == [False, True]
    assert at_target["density"].tolist() == pytest.approx([stats.norm.pdf(1) / 10] * 2)
    assert curve["revenue"].min() == pytest.approx(100 + 10 * stats.norm.ppf(0.001))
    assert not curve.loc[curve["revenue"] < 110, "attained"].any()


def test_monthly_fan_table_joins_month_targets():
    history = pd.DataFrame({"unique_id": "company", "ds": pd.date_range("2026-09-01", periods=2, freq="MS"),
                            "y": [5.0, 6.0]})
    forecasts = pd.DataFrame({"unique_id": "company", "ds": pd.date_range("2026-11-01", periods=3, freq="MS"),
                              "yhat": 7.0, "lo_80": 6.0, "hi_80": 8.0, "lo_95": 5.0, "hi_95": 9.0})
    targets = pd.DataFrame({"level": "company", "entity": "company", "product": "All", "period_type": "month",
                            "period": ["2027-01"], "target": [7500]})
    fan = tg.monthly_fan_table(history, forecasts, targets)
    assert fan["ds"].dt.strftime("%Y-%m").tolist() == ["2026-09", "2026-10", "2026-11", "2026-12", "2027-01"]
    assert fan["actual"].tolist()[:2] == [5.0, 6.0] and fan["target"].tolist()[-1] == 7500.0
    assert fan["target"].isna().sum() == 4
    assert list(fan.columns) == ["ds", "actual", "yhat", "lo_80", "hi_80", "lo_95", "hi_95", "target", "period"]
    # the bands are the forecast's own levels: [70, 90] gives lo_70/hi_70 and lo_90/hi_90, never a missing lo_95
    other = forecasts.rename(columns={"lo_80": "lo_90", "hi_80": "hi_90", "lo_95": "lo_70", "hi_95": "hi_70"})
    fan = tg.monthly_fan_table(history, other, targets)
    assert list(fan.columns) == ["ds", "actual", "yhat", "lo_70", "hi_70", "lo_90", "hi_90", "target", "period"]
    assert fan["lo_70"].tolist()[2:] == [5.0, 5.0, 5.0] and fan["hi_90"].tolist()[2:] == [8.0, 8.0, 8.0]


def test_monthly_fan_table_draws_a_week_based_period_at_its_month_scaled_to_the_month():
    # FY2027 4-4-5: P01 (4 Jan - 31 Jan, 28 days) stands for January (31 days): a target of 28,000 is drawn as
    # 31,000 beside January's forecast; P03 (1 Mar - 4 Apr, 35 days) of 35,000 as 31,000 beside March's.
    from planlib.core.calendar import fiscal_month_starts

    history = pd.DataFrame({"unique_id": "company", "ds": [pd.Timestamp("2026-12-01")], "y": [5.0]})
    forecasts = pd.DataFrame({"unique_id": "company", "ds": pd.date_range("2027-01-01", periods=3, freq="MS"),
                              "yhat": 7.0, "lo_80": 6.0, "hi_80": 8.0, "lo_95": 5.0, "hi_95": 9.0})
    targets = pd.DataFrame({"level": "company", "entity": "company", "product": "All", "period_type": "month",
                            "period": ["FY2027-P01", "FY2027-P02", "FY2027-P03"], "target": [28000, 28000, 35000]})
    periods = fiscal_month_starts(2027, 1, "4-4-5")
    fan = tg.monthly_fan_table(history, forecasts, targets, periods=periods)
    assert fan["target"].tolist()[1:] == pytest.approx([31000.0, 28000.0, 31000.0])
    assert fan["period"].tolist() == ["", "P01 (4 weeks, 4 Jan - 31 Jan)", "P02 (4 weeks, 1 Feb - 28 Feb)",
                                      "P03 (5 weeks, 1 Mar - 4 Apr)"]
    with pytest.raises(DataError, match="week-based periods need the fiscal start month"):
        tg.monthly_fan_table(history, forecasts, targets)


def test_goal_card_view_marks_each_letter():
    cards = pd.DataFrame([{"goal": "Share", "metric": "market_share", "scope": "region/West", "target": 0.105,
                           "unit": "share of market", "baseline": 0.0965, "deadline": dt.date(2027, 12, 31),
                           "owner": "", "strategy": "win West", "probability": 0.1, "specific": True,
                           "measurable": True, "achievable": False, "relevant": True, "time_bound": True,
                           "owned": False, "smart": False, "problems": "no owner"}])
    view = sm.goal_card_view(cards).iloc[0]
    assert (view["Target"], view["Baseline"], view["P(attain)"]) == ("10.5%", "9.7%", "10%")
    assert (view["S"], view["A"], view["Owner set"], view["SMART"]) == ("✓", "✗", "✗", "✗")
    money = cards.assign(unit="USD", target=1_234_000.0, baseline=1_000_000.0)
    assert sm.goal_card_view(money, 1000, "USD").iloc[0]["Target"] == "1,234"  # the company's currency is money


def test_goal_charts_build_and_name_missing_columns():
    from planlib.report.charts import goals as goal_charts
    from planlib.report.charts import to_svg
    from planlib.core.errors import DataError

    curve = tg.attainment_curve(stats.norm(100, 10), 105.0)
    chart = goal_charts.target_distribution(curve, 105.0, title="A 31% chance", unit=1)
    assert chart.to_dict()["title"] == {"text": "A 31% chance"}
    assert "<svg" in to_svg(chart)
    reps = pd.DataFrame({"rep_id": ["R1", "<b>R2</b>"], "target": [10.0, 20.0], "potential": [12.0, 10.0],
                         "probability": [0.6, 0.1]})
    svg = to_svg(goal_charts.fairness(reps, title="Fairness"))
    assert "<b>R2</b>" not in svg and "&lt;b&gt;R2&lt;/b&gt;" in svg
    with pytest.raises(DataError, match=r"time split chart: the table lacks column\(s\) \['misleads'\]"):
        goal_charts.time_split(pd.DataFrame({"month": [], "planned": [], "equal": []}), title="x")


def test_what_if_for_starts_from_the_config():
    @dataclass
    class FakePlan:
        config: object

    from planlib.core.config import Allocation

    class Config:
        goals = Goals(mode="growth", growth=0.07)
        allocation = Allocation(methods={"forecast": 0.6, "equal": 0.4})

    function = tg.what_if_for(FakePlan(Config()))
    defaults = function.__defaults__
    assert function.__name__ == "what_if_plan"
    assert defaults[:2] == ("growth", 0.07) and defaults[4:] == (0.6, 0.0, 0.0, 0.0, 0.4)
