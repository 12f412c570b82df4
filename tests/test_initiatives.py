"""The action plan: initiatives validated against the plan, their plan-year effect, the bridge to the target,
and the targets laid out by rep x month and by region / product x quarter. Numbers are worked by hand."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from planlib.report.charts.plan import initiative_timeline, plan_bridge, quarter_split
from planlib.core.config import Initiative, parse_config
from planlib.core.errors import ConfigError, DataError
from planlib.planning.bridge import bridge, hire_credit, plan_year_baseline
from planlib.planning.initiatives import (active_share, check_initiatives, effect_summary, initiatives_table,
                                          monthly_effects, period_view, rep_month_view, scope_of, strategy_summary)
from planlib.core.graph import Plan

MINIMAL = {
    "company": {"name": "Test Co", "currency": "CNY", "country": "CN"},
    "fiscal": {"year": 2027},
    "as_of": "2026-11-26",
    "data": {"sales": {"path": "sales.csv"}, "reps": {"path": "reps.csv"}},
}
GOALS = {"smart": [{"name": "Grow Services", "metric": "revenue", "scope": "product/Services", "target": 5e6,
                    "deadline": "2027-12-31", "owner": "VP Sales", "strategy": "services"},
                   {"name": "Win the West", "metric": "revenue", "scope": "region/West", "target": 8e6,
                    "deadline": "2027-12-31", "owner": "Head of West", "strategy": "West"}]}
MONTHS = pd.date_range("2027-01-01", periods=12, freq="MS")


def initiative(**change) -> dict:
    item = {"name": "Service contracts", "strategy": "product", "owner": "Head of Services", "start": "2027-01-01",
            "end": "2027-12-31", "goal": "Grow Services", "expected_effect": 1_200_000}
    item.update(change)
    return item


def config(*items: dict):
    return parse_config({**MINIMAL, "goals": GOALS, "initiatives": list(items)})


# --------------------------------------------------------------------------- the config section
def test_an_initiative_reads_amounts_and_shares():
    cfg = config(initiative(), initiative(name="West price", strategy="price", expected_effect="2.5%", region="West"),
                 initiative(name="Distributors", strategy="channel", expected_effect="1,500,000", product=" "))
    first, second, third = cfg.initiatives
    assert first.start == dt.date(2027, 1, 1) and first.end == dt.date(2027, 12, 31)
    assert Initiative.parse_effect(first.expected_effect) == ("amount", 1_200_000.0)
    assert Initiative.parse_effect(second.expected_effect) == ("share", 0.025)
    assert Initiative.parse_effect(third.expected_effect) == ("amount", 1_500_000.0)
    assert third.product is None  # blank means every product


def test_every_field_problem_is_listed_with_its_key_path():
    with pytest.raises(ConfigError) as info:
        config(initiative(),
               initiative(name="Backwards", start="2027-06-30", end="2027-03-01"),
               initiative(name="Odd", strategy="sponsorship", owner="  ", expected_effect="lots"),
               initiative(name="Huge", expected_effect="150%", deadline="2027-01-01"))
    text = str(info.value)
    assert "initiatives[1]: Value error, end 2027-03-01 is before start 2027-06-30" in text
    assert "initiatives[2].strategy: Input should be 'product', 'channel', 'price' or 'promotion'" in text
    assert "initiatives[2].owner: Value error, must not be blank" in text
    assert ("initiatives[2].expected_effect: Value error, expected an amount in currency (1200000) or a share of "
            "the scope's sales ('3%'), got 'lots'") in text
    assert "initiatives[3].expected_effect: Value error, a share must be above -100% and at most 100%, got '150%'" \
        in text
    assert "initiatives[3].deadline: unknown key" in text
    assert "initiatives[0]" not in text
    assert len(info.value.problems) == 6


def test_no_initiatives_is_the_default():
    assert parse_config(MINIMAL).initiatives == []


def test_checks_against_the_plan_list_every_problem():
    cfg = config(initiative(),
                 initiative(name="Service contracts", goal="Grow everything"),
                 initiative(name="North push", region="Nort", product="Gadgets"),
                 initiative(name="Last year", start="2026-01-01", end="2026-12-31"),
                 initiative(name="Next year", start="2028-01-01", end="2028-03-31"),
                 initiative(name="Still uncovered"))
    with pytest.raises(ConfigError) as info:
        check_initiatives(cfg.initiatives, goal_names=[g.name for g in cfg.goals.smart],
                          regions={"East", "West", "North", "South"}, products={"Instruments", "Services"},
                          plan_start=pd.Timestamp("2027-01-01"), plan_end=pd.Timestamp("2027-12-31"),
                          fiscal_year="FY2027")
    assert info.value.problems == [
        ("initiatives[1].name", "'Service contracts' repeats initiatives[0]; each initiative needs its own name"),
        ("initiatives[1].goal", "'Grow everything' is not a SMART goal of goals.smart (known: 'Grow Services', "
                                "'Win the West')"),
        ("initiatives[2].region", "'Nort' is not a region of the data (East, North, South, West)"),
        ("initiatives[2].product", "'Gadgets' is not a product of the data (Instruments, Services)"),
        ("initiatives[3].end", "2026-12-31 is before FY2027 starts (2027-01-01); an initiative of the plan runs at "
                               "least one day in the plan year"),
        ("initiatives[4].start", "2028-01-01 is after FY2027 ends (2027-12-31); an initiative of the plan runs at "
                                 "least one day in the plan year"),
        ("initiatives[5].name", "'Still uncovered' is a step of the bridge itself; choose another name"),
    ]
    with pytest.raises(ConfigError, match=r"initiatives\[0\]\.goal: 'Grow Services' is not a SMART goal of "
                                          r"goals\.smart \(known: none: goals\.smart is empty\)"):
        check_initiatives(cfg.initiatives[:1], goal_names=[], regions=set(), products=set(),
                          plan_start=pd.Timestamp("2027-01-01"), plan_end=pd.Timestamp("2027-12-31"))


def test_initiatives_around_the_plan_year_pass():
    cfg = config(initiative(start="2026-10-01", end="2027-01-01"), initiative(name="Late", start="2027-12-31",
                                                                                end="2028-06-30"))
    check_initiatives(cfg.initiatives, goal_names=["Grow Services"], regions=set(), products=set(),
                      plan_start=pd.Timestamp("2027-01-01"), plan_end=pd.Timestamp("2027-12-31"))


# --------------------------------------------------------------------------- effects
def test_scope_and_active_share():
    assert scope_of("West", "Services") == "region_product/West/Services"
    share = active_share("2027-01-16", "2027-03-01", MONTHS[:4])
    assert share.tolist() == pytest.approx([16 / 31, 1.0, 1 / 31, 0.0])
    assert active_share("2026-12-01", "2028-01-31", MONTHS).tolist() == [1.0] * 12


def _baseline(values: dict[str, list[float]]) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"unique_id": uid, "ds": MONTHS, "y": y}) for uid, y in values.items()],
                     ignore_index=True)


def test_amounts_are_spread_over_days_and_shares_follow_the_baseline():
    cfg = config(
        # 1,240,000 over 62 days (2026-12-01 .. 2027-01-31): 31 of them in the plan year.
        initiative(name="Winter deal", start="2026-12-01", end="2027-01-31", expected_effect=1_240_000),
        # 5% of West's baseline from 16 March to the end of April.
        initiative(name="West promotion", strategy="promotion", region="West", start="2027-03-16",
                   end="2027-04-30", expected_effect="5%"),
    )
    west = [100_000.0 * (m + 1) for m in range(12)]
    baseline = _baseline({"company": [1e6] * 12, "region/West": west})
    table = initiatives_table(cfg.initiatives)
    assert table["scope"].tolist() == ["company", "region/West"]
    assert table["expected_effect"].tolist() == ["1,240,000", "5%"]
    monthly = monthly_effects(table, baseline, MONTHS, pd.Timestamp("2026-10-01"))
    winter = monthly[monthly["initiative"] == "Winter deal"].set_index("month")["effect"]
    assert winter["2027-01-01"] == pytest.approx(620_000)
    assert winter.drop(pd.Timestamp("2027-01-01")).sum() == 0
    promo = monthly[monthly["initiative"] == "West promotion"].set_index("month")["effect"]
    assert promo["2027-03-01"] == pytest.approx(0.05 * 300_000 * 16 / 31)
    assert promo["2027-04-01"] == pytest.approx(0.05 * 400_000)
    summary = effect_summary(table, monthly)
    assert summary["plan_year_effect"].tolist() == [620_000, round(0.05 * 300_000 * 16 / 31 + 20_000)]
    assert summary["months_active"].tolist() == pytest.approx([1.0, 16 / 31 + 1])
    by_strategy = strategy_summary(summary)
    assert by_strategy["strategy"].tolist() == ["product", "promotion", "Total"]
    assert by_strategy["plan_year_effect"].iloc[-1] == summary["plan_year_effect"].sum()


def test_closed_months_add_nothing():
    cfg = config(initiative(expected_effect=365_000, end="2027-12-31"))  # 1,000 a day
    table = initiatives_table(cfg.initiatives)
    monthly = monthly_effects(table, _baseline({"company": [1e6] * 12}), MONTHS, pd.Timestamp("2027-02-01"))
    assert monthly["effect"].sum() == pytest.approx(365_000 - 59_000)  # January and February are booked
    assert effect_summary(table, monthly)["months_active"].iloc[0] == pytest.approx(10.0)


def test_a_share_needs_a_baseline_of_its_scope():
    cfg = config(initiative(name="North services", region="North", product="Services", expected_effect="3%"))
    with pytest.raises(DataError, match=r"baseline forecast of their scope.*North services "
                                        r"\(region_product/North/Services\)"):
        monthly_effects(initiatives_table(cfg.initiatives), _baseline({"company": [1.0] * 12}), MONTHS,
                        pd.Timestamp("2026-10-01"))


def test_plan_year_baseline_takes_booked_then_forecast_months():
    history = pd.DataFrame({"unique_id": "company", "ds": pd.date_range("2026-01-01", "2027-02-01", freq="MS"),
                            "y": 10.0})
    forecasts = pd.DataFrame({"unique_id": "company", "ds": pd.date_range("2027-03-01", "2027-12-01", freq="MS"),
                              "yhat": 20.0})
    base = plan_year_baseline(history, forecasts, MONTHS, pd.Timestamp("2027-02-01"))
    assert base["source"].tolist() == ["actual"] * 2 + ["forecast"] * 10
    assert base["y"].sum() == 2 * 10 + 10 * 20


# --------------------------------------------------------------------------- the bridge
def test_the_bridge_adds_up_to_the_target_to_the_last_unit():
    effects = pd.DataFrame({"initiative": ["A", "B"], "strategy": ["price", "channel"],
                            "plan_year_effect": [300_000.5, 149_999.5]})
    result = bridge(10_000_000.4, effects, 1_234_567.5, 12_500_000)
    steps = result.steps
    assert steps["step"].tolist() == ["Baseline forecast", "A", "B", "New-hire capacity", "Still uncovered"]
    assert steps["amount"].tolist() == [10_000_000, 300_001, 150_000, 1_234_568, 815_431]
    assert steps["amount"].sum() == 12_500_000 == steps["running_total"].iloc[-1]
    assert (result.baseline, result.initiatives, result.new_hires, result.uncovered) == (
        10_000_000, 450_001, 1_234_568, 815_431)
    assert result.covered_share == pytest.approx(1 - 815_431 / 12_500_000)


def test_a_plan_that_covers_more_than_the_target_shows_a_step_down():
    result = bridge(9_000_000, pd.DataFrame({"initiative": ["A"], "strategy": ["price"],
                                             "plan_year_effect": [2_000_000]}), 0.0, 10_000_000)
    assert result.steps["step"].iloc[-1] == "Covered beyond target"
    assert result.uncovered == -1_000_000
    assert result.steps["amount"].sum() == 10_000_000
    empty = bridge(9_500_000, pd.DataFrame(columns=["initiative", "strategy", "plan_year_effect"]), 250_000,
                   10_000_000)
    assert empty.steps["amount"].tolist() == [9_500_000, 250_000, 250_000]


def test_the_bridge_counts_no_more_than_the_team_can_sell():
    effects = pd.DataFrame({"initiative": ["A"], "strategy": ["price"], "plan_year_effect": [2_000_000]})
    # 9m + 2m + 0.5m = 11.5m, but the team with its hires can sell 10,400,000.4: 1,099,999.6 -> 1,100,000 is cut
    capped = bridge(9_000_000, effects, 500_000, 10_000_000, capacity=10_400_000.4)
    assert capped.steps["step"].tolist() == ["Baseline forecast", "A", "New-hire capacity",
                                             "Beyond what the team can sell", "Covered beyond target"]
    assert capped.steps["amount"].tolist() == [9_000_000, 2_000_000, 500_000, -1_100_000, -400_000]
    assert (capped.beyond_capacity, capped.uncovered) == (-1_100_000, -400_000)
    # with room to spare there is no capacity step
    roomy = bridge(9_000_000, effects, 500_000, 12_000_000, capacity=11_600_000)
    assert roomy.steps["kind"].tolist() == ["baseline", "initiative", "hires", "gap"]
    assert (roomy.beyond_capacity, roomy.uncovered) == (0, 500_000)


def test_hires_are_credited_only_beyond_what_the_baseline_expects():
    summary = pd.DataFrame({"region": ["A", "B", "C", "Total"], "capacity_without_hires": [90.0, 85.0, 100.0, 275.0],
                            "capacity_added": [25.0, 5.0, 10.0, 40.0]})
    credit = hire_credit(summary, pd.Series({"A": 100.0, "B": 80.0, "C": 120.0}))
    assert credit["region"].tolist() == ["A", "B", "C", "Total"]
    assert credit["credited"].tolist() == [15.0, 5.0, 0.0, 20.0]
    assert credit["in_baseline"].tolist() == [10.0, 0.0, 10.0, 20.0]
    with pytest.raises(DataError, match=r"no baseline forecast for region\(s\) \['C'\] of the hiring plan"):
        hire_credit(summary, pd.Series({"A": 100.0, "B": 80.0}))


def test_a_fractional_target_is_refused():
    with pytest.raises(DataError, match=r"annual target 10\.5 is not a whole number of currency units"):
        bridge(1.0, pd.DataFrame(columns=["initiative", "strategy", "plan_year_effect"]), 0.0, 10.5)


# --------------------------------------------------------------------------- the stages, wired to a plan
def _fake_plan(*items: dict, hires: float = 400_000.0, target: float = 14_000_000.0) -> Plan:
    cfg = config(*items)
    plan = Plan(cfg, None)
    history = pd.DataFrame({"unique_id": "company", "ds": pd.date_range("2024-01-01", "2026-10-01", freq="MS"),
                            "y": 1e6})
    forecasts = _baseline({"company": [1_000_000.0] * 12, "region/East": [1_000_000.0] * 12,
                           "product/Services": [200_000.0] * 12}).rename(columns={"y": "yhat"})
    sales = pd.DataFrame({"product": ["Instruments", "Services"], "region": ["East", "West"]})
    reps = pd.DataFrame({"rep_id": ["R001"], "region": ["East"]})
    plan._results.update({
        "inputs": SimpleNamespace(tables={"sales": sales, "reps": reps}), "history": history,
        "forecast": SimpleNamespace(forecasts=forecasts),
        "annual_target": SimpleNamespace(target=target),
        "hiring_plan": SimpleNamespace(summary=pd.DataFrame({"region": ["East", "Total"],
                                                             "capacity_without_hires": [11_800_000.0] * 2,
                                                             "capacity_added": [hires, hires]})),
    })
    return plan


def test_the_stages_bridge_the_plan_from_its_forecast():
    plan = _fake_plan(initiative(expected_effect="10%", product="Services"),
                      initiative(name="Distributors", strategy="channel", start="2027-07-01", end="2028-06-30",
                                 expected_effect=730_000))
    summary = plan["initiatives"].summary
    # 10% of 200,000 a month for 12 months; half of 730,000 (184 of 366 days fall in 2027).
    assert summary["plan_year_effect"].tolist() == [240_000, round(730_000 * 184 / 366)]
    assert plan["initiatives"].notes == ["Distributors: runs 2027-07-01 to 2028-06-30; only its days in the plan year "
                                      "after the last closed month count"]
    steps = plan["bridge"].steps
    # Today's team sells 11.8M against a 12M baseline: 200,000 of the 400,000 the hires add is in the baseline.
    # With the hires the team can sell 11.8M + 400,000 = 12.2M, so of the 12,806,995 that the baseline, the
    # initiatives and the hires add up to, 606,995 is beyond it and not counted: 1.8M of the 14M stays open.
    assert steps["amount"].tolist() == [12_000_000, 240_000, 366_995, 200_000, -606_995, 1_800_000]
    assert steps["kind"].tolist() == ["baseline", "initiative", "initiative", "hires", "capacity", "gap"]
    assert plan["bridge"].beyond_capacity == -606_995
    assert steps["amount"].sum() == 14_000_000
    assert plan["bridge"].hires.set_index("region").loc["East", ["in_baseline", "credited"]].tolist() == [
        200_000, 200_000]


def test_the_stage_stops_on_an_initiative_the_plan_does_not_know():
    plan = _fake_plan(initiative(goal="Grow Services"), initiative(name="South push", region="South"))
    with pytest.raises(ConfigError, match=r"initiatives\[1\]\.region: 'South' is not a region of the data "
                                          r"\(East, West\)"):
        plan["initiatives"]


# --------------------------------------------------------------------------- targets laid out
def _targets() -> pd.DataFrame:
    rows = []
    months = {"2027-01": "2027Q1", "2027-02": "2027Q1", "2027-04": "2027Q2"}
    rep_month = {("R002", "2027-01"): 10, ("R002", "2027-02"): 20, ("R002", "2027-04"): 30,
                 ("R001", "2027-01"): 1, ("R001", "2027-02"): 2, ("R001", "2027-04"): 3}
    for (rep, month), value in rep_month.items():
        rows.append(("rep", rep, "All", "month", month, value * 1000))
    region = {"West": "R002", "East": "R001"}
    for name, rep in region.items():
        for quarter in ("2027Q1", "2027Q2"):
            total = sum(v for (r, m), v in rep_month.items() if r == rep and months[m] == quarter)
            rows.append(("region", name, "All", "quarter", quarter, total * 1000))
    for product, share in (("Services", 0.4), ("Instruments", 0.6)):
        rows.append(("product", "company", product, "quarter", "2027Q1", 33_000 * share))
        rows.append(("product", "company", product, "quarter", "2027Q2", 33_000 * share))
    rows.append(("company", "company", "All", "quarter", "2027Q1", 33_000))
    rows.append(("company", "company", "All", "quarter", "2027Q2", 33_000))
    return pd.DataFrame(rows, columns=["level", "entity", "product", "period_type", "period", "target"])


def test_rep_month_view_has_names_and_adds_up():
    roster = pd.DataFrame({"rep_id": ["R001", "R002"], "name": ["张伟", "=HYPERLINK(\"x\")"],
                           "team": ["East-1", "West-1"], "region": ["East", "West"]})
    view = rep_month_view(_targets(), roster)
    assert view.columns.tolist() == ["rep_id", "name", "team", "region", "2027-01", "2027-02", "2027-04", "Total"]
    assert view["rep_id"].tolist() == ["R002", "R001"]  # the order of the targets table
    assert view["name"].tolist() == ["=HYPERLINK(\"x\")", "张伟"]
    assert view["Total"].tolist() == [60_000, 6_000]


def test_period_views_end_with_the_company():
    region = period_view(_targets(), "region")
    assert region.columns.tolist() == ["region", "2027Q1", "2027Q2", "Total"]
    assert region["region"].tolist() == ["West", "East", "Total"]
    assert region[["2027Q1", "2027Q2", "Total"]].to_numpy().tolist() == [
        [30_000, 30_000, 60_000], [3_000, 3_000, 6_000], [33_000, 33_000, 66_000]]
    product = period_view(_targets(), "product")
    assert product["product"].tolist() == ["Services", "Instruments", "Total"]
    assert np.allclose(product.iloc[:2, 1:].sum().to_numpy(), product.iloc[2, 1:].to_numpy().astype(float))
    with pytest.raises(ValueError, match="by must be 'region' or 'product', got 'team'"):
        period_view(_targets(), "team")
    with pytest.raises(DataError, match="the targets table has no region rows by month"):
        period_view(_targets(), "region", "month")


# --------------------------------------------------------------------------- charts
def test_bridge_chart_ends_at_the_target():
    result = bridge(10_000_000, pd.DataFrame({"initiative": ["A"], "strategy": ["price"],
                                              "plan_year_effect": [500_000]}), 1_000_000, 12_000_000)
    spec = plan_bridge(result.steps, title="Initiatives and hires close most of the gap", unit=1000,
                       unit_label="k CNY").to_dict()
    data = next(iter(spec["datasets"].values()))
    assert [d["step"] for d in data] == ["Baseline forecast", "A", "New-hire capacity", "Still uncovered",
                                         "Annual target"]
    assert [d["end"] for d in data] == [10_000, 10_500, 11_500, 12_000, 12_000]
    assert data[-1]["start"] == 0 and data[-1]["label"] == "12,000"
    with pytest.raises(DataError, match=r"plan bridge: step names must be unique.*repeated: \['A'\]"):
        plan_bridge(pd.concat([result.steps, result.steps.iloc[[1]]]), title="x")


def test_timeline_and_split_charts_draw():
    summary = pd.DataFrame({"initiative": ["A", "B"], "owner": ["王芳", "Head of West"],
                            "strategy": ["price", "channel"], "start": pd.to_datetime(["2027-01-01", "2027-03-01"]),
                            "end": pd.to_datetime(["2027-01-01", "2027-06-30"])})
    spec = initiative_timeline(summary, title="Two initiatives start in the first quarter",
                               today=pd.Timestamp("2026-11-26")).to_dict()
    tasks = [d["task"] for d in next(iter(spec["datasets"].values())) if "task" in d]
    assert tasks == ["A (王芳)", "B (Head of West)"]
    split = quarter_split(period_view(_targets(), "region"), "region", title="West carries most of each quarter",
                          unit=1000, unit_label="k CNY").to_dict()
    rows = next(iter(split["datasets"].values()))
    assert {(r["quarter"], r["region"], r["target"]) for r in rows} == {
        ("2027Q1", "West", 30.0), ("2027Q2", "West", 30.0), ("2027Q1", "East", 3.0), ("2027Q2", "East", 3.0)}
