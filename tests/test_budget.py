"""The budget: hand-computed pay, on-cost, hiring and other lines; exact splits; cost of sales."""
import pandas as pd
import pytest

from planlib.resources.budget import allocate_exact, build_budget, line_weights
from planlib.core.calendar import plan_months
from planlib.planning.productivity import RampEstimate, capacity_by_month
from planlib.resources.capacity import CapacityResult, capacity_against_target
from planlib.core.config import parse_config
from planlib.core.config_operating import Bonus, Budget, BudgetLine, Incentives
from planlib.core.errors import ConfigError
from planlib.resources.hiring import plan_hiring

MONTHS = plan_months(2027)
# The sample company's stated amounts (templates/plan.yaml): planlib has no money defaults of its own.
SAMPLE_BUDGET = dict(base_salary={"rep": 180_000, "manager": 360_000}, hiring_cost_per_hire=40_000,
                     lines=[BudgetLine(name="marketing", amount=3_000_000, allocate="target_share"),
                            BudgetLine(name="travel", amount=60_000, per_head=True),
                            BudgetLine(name="tools", amount=6_000, per_head=True)])
SAMPLE_INCENTIVES = dict(target_incentive={"rep": 120_000, "manager": 150_000},
                         bonuses=[Bonus(name="Monthly sales champion", kind="champion", period="month", amount=5_000),
                                  Bonus(name="Quarterly team bonus", kind="team", period="quarter", amount=3_000)])
AS_OF = pd.Timestamp("2026-12-10")


def _plan(region_target: float):
    """One East rep selling 1m a month for a rep target of 1m; the region target is ``region_target`` a month."""
    roster = pd.DataFrame({"rep_id": ["A"], "region": ["East"], "team": ["East-1"], "role": ["rep"],
                           "hire_date": pd.to_datetime(["2020-01-01"]), "exit_date": pd.to_datetime([None]),
                           "fte": [1.0]})
    productivity = pd.DataFrame({"region": ["East"], "productivity": [1e6], "reps": [1], "source": ["config"]})
    season = pd.DataFrame({"region": "East", "calendar_month": range(1, 13), "season": 1.0})
    ramp = RampEstimate(0, "linear", "config", pd.DataFrame())
    by_rep = capacity_by_month(roster, MONTHS, productivity, season, ramp, monthly_attrition=0.0, as_of=AS_OF)
    period = [f"2027-{m:02d}" for m in range(1, 13)]
    targets = pd.concat([
        pd.DataFrame({"level": "region", "entity": "East", "product": None, "period_type": "month",
                      "period": period, "target": region_target}),
        pd.DataFrame({"level": "rep", "entity": "A", "product": None, "period_type": "month",
                      "period": period, "target": 1e6})], ignore_index=True)
    region_t = targets[targets["level"] == "region"].assign(month=pd.to_datetime(period * 1), region="East")
    by_region, summary = capacity_against_target(by_rep, region_t[["region", "month", "target"]])
    capacity = CapacityResult(productivity, ramp, {"annual_rate": 0.0, "monthly_rate": 0.0}, season, by_rep,
                              by_region, summary, MONTHS, AS_OF)
    return capacity, plan_hiring(capacity), targets


def test_budget_of_one_rep_at_target_by_hand():
    capacity, hiring, targets = _plan(1e6)
    assert hiring.hires.empty
    result = build_budget(capacity, hiring, targets, Budget(**SAMPLE_BUDGET), Incentives(**SAMPLE_INCENTIVES))
    east = result.table.set_index("line")["East"]
    assert east["base pay"] == 180_000
    assert east["variable pay"] == 120_000            # 100% attainment pays the target incentive
    assert east["bonuses"] == 12 * 5_000 + 4 * 3_000  # champion every month, team bonus every quarter
    assert east["base pay: managers"] == 360_000      # one manager per team
    assert east["variable pay: managers"] == 150_000
    assert east["on-cost"] == 308_700                 # 35% of 882,000
    assert east["marketing"] == 3_000_000
    assert east["travel"] == 120_000 and east["tools"] == 12_000  # per head: the rep and the manager
    assert east["Total"] == 4_322_700
    cos = result.cost_of_sales.set_index("region")
    assert cos.loc["East", "pct_of_target"] == pytest.approx(4_322_700 / 12e6)
    assert cos.loc["Total", "total_cost"] == 4_322_700
    # what does not move with the rep's sales: all but commission, bonuses and their on-cost
    assert result.fixed_cost == pytest.approx(4_322_700 - 192_000 * 1.35)


def test_budget_counts_new_hires_from_their_start_month():
    capacity, hiring, targets = _plan(1.1e6)  # a 1.2m gap: one hire from January closes it
    assert hiring.hires["start_month"].tolist() == [MONTHS[0]]
    result = build_budget(capacity, hiring, targets, Budget(**SAMPLE_BUDGET), Incentives(**SAMPLE_INCENTIVES))
    east = result.table.set_index("line")["East"]
    assert east["base pay: new hires"] == 180_000
    assert east["variable pay: new hires"] == 120_000  # paid on target while ramping
    assert east["hiring"] == 40_000
    assert east["travel"] == 180_000                    # three heads
    assert result.headcount.loc[0, "new_hires"] == 1
    unpaid = build_budget(capacity, hiring, targets, Budget(**SAMPLE_BUDGET, new_hire_paid_on_target=False), Incentives(**SAMPLE_INCENTIVES))
    assert "variable pay: new hires" not in set(unpaid.lines["line"]) or \
        unpaid.table.set_index("line").loc["variable pay: new hires", "East"] == 0


def test_allocate_exact_adds_up_to_the_last_unit():
    parts = allocate_exact(1_000_000, pd.Series({"East": 1.0, "North": 1.0, "South": 1.0}))
    assert parts.tolist() == [333_334, 333_333, 333_333] and parts.sum() == 1_000_000
    odd = allocate_exact(999.6, pd.Series({"a": 0.2, "b": 0.5, "c": 0.3}))
    assert odd.sum() == 1000 and odd.tolist() == [200, 500, 300]
    with pytest.raises(ConfigError, match="cannot split 10: the weights add up to 0"):
        allocate_exact(10, pd.Series({"a": 0.0}))


def test_line_weights_rules_and_a_stated_split_that_misses_a_region():
    target = pd.Series({"East": 3.0, "West": 1.0})
    heads = pd.Series({"East": 1.0, "West": 4.0})
    regions = ["East", "West"]
    assert line_weights("target_share", regions, target=target, headcount=heads, line="0").tolist() == [3.0, 1.0]
    assert line_weights("headcount", regions, target=target, headcount=heads, line="0").tolist() == [1.0, 4.0]
    assert line_weights("equal", regions, target=target, headcount=heads, line="0").tolist() == [1.0, 1.0]
    with pytest.raises(ConfigError, match=r"budget.lines\[2\].allocate: the split must name each region of the "
                                          r"plan \['East', 'West'\]; unknown: \['North'\], missing: \['West'\]"):
        line_weights({"East": 0.5, "North": 0.5}, regions, target=target, headcount=heads, line="2")


def test_budget_config_checks_a_stated_split_adds_to_one():
    base = {"company": {"name": "Test Co", "currency": "CNY"},
            "fiscal": {"year": 2027}, "as_of": "2026-11-26",
            "data": {"sales": {"path": "s.csv"}, "reps": {"path": "r.csv"}}}
    with pytest.raises(ConfigError, match=r"budget.lines\[0\].allocate: Value error, a region split must add up to 1, got 0.9"):
        parse_config({**base, "budget": {"lines": [{"name": "events", "amount": 1, "allocate": {"East": 0.9}}]}})
    line = BudgetLine(name="events", amount=5.0, allocate={"East": 0.25, "West": 0.75})
    assert line.allocate == {"East": 0.25, "West": 0.75}


def test_a_role_without_base_salary_is_named():
    capacity, hiring, targets = _plan(1e6)
    with pytest.raises(ConfigError, match=r"budget.base_salary: no amount for role 'manager'; roles given: \['rep'\]"):
        build_budget(capacity, hiring, targets, Budget(base_salary={"rep": 1.0}), Incentives(**SAMPLE_INCENTIVES))


def test_variable_pay_is_the_incentive_models_payout_plus_a_ramping_hires_guarantee():
    from dataclasses import replace

    from planlib.resources.outcomes import IncentiveCost

    capacity, hiring, targets = _plan(1.1e6)  # one hire from January
    capacity = replace(capacity, ramp=RampEstimate(3, "linear", "config", pd.DataFrame()))  # ramps Jan-Mar
    by_rep = pd.DataFrame({"rep_id": ["A", "East TBH 1"], "target": [12e6, 1.2e6],
                           "expected_payout": [100_000.0, 50_000.0], "expected_bonuses": [20_000.0, 6_000.0]})
    by_period = pd.DataFrame({"rep_id": ["East TBH 1"] * 4, "period": range(4),
                              "expected_commission": [5_000.0, 10_000.0, 15_000.0, 20_000.0]})
    payouts = IncentiveCost(pd.DataFrame(), pd.DataFrame(), by_rep, pd.DataFrame(),
                            {"expected_payout": 176_000.0}, by_period)
    result = build_budget(capacity, hiring, targets, Budget(**SAMPLE_BUDGET), Incentives(**SAMPLE_INCENTIVES),
                          payouts=payouts)
    east = result.table.set_index("line")["East"]
    assert east["variable pay"] == 100_000
    # the hire is guaranteed 10,000 a month while ramping: 30,000 in Q1 against 5,000 expected, so 25,000 more
    assert east["variable pay: new hires"] == 50_000 + 25_000
    assert east["bonuses"] == 20_000 + 6_000
    items = result.variable_pay.set_index("item")["amount"]
    assert items.tolist() == [176_000.0, 25_000.0, 0.0, 201_000.0]
    assert result.variable_by_rep.set_index("rep_id").loc["East TBH 1", "variable_pay"] == 75_000
    # the cost that does not move with sales is the same with or without the incentive model
    before = build_budget(capacity, hiring, targets, Budget(**SAMPLE_BUDGET), Incentives(**SAMPLE_INCENTIVES))
    assert result.fixed_cost == pytest.approx(before.fixed_cost)
    unpaid = build_budget(capacity, hiring, targets, Budget(**SAMPLE_BUDGET, new_hire_paid_on_target=False),
                          Incentives(**SAMPLE_INCENTIVES), payouts=payouts)
    assert unpaid.table.set_index("line").loc["variable pay: new hires", "East"] == 50_000
