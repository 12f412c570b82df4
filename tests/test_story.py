"""Tests of planlib.report.story: the one chance of reaching the target and the one "last year" of every page."""
from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace

import pandas as pd
import pytest

from planlib.report import story


class FakePlan:
    """Stands in for planlib.Plan: a config and the stages the story reads."""

    def __init__(self, *, year=2027, start_month=1, last_closed=dt.date(2026, 10, 1), p_target=0.1549,
                 outlook=335_881_000.0, actual=280_000_000.0, target=373_013_000.0, min_probability=0.2,
                 cards=None):
        self.config = SimpleNamespace(
            fiscal=SimpleNamespace(year=year, start_month=start_month), last_closed_month=last_closed,
            risk=SimpleNamespace(n_sims=10_000),
            goals=SimpleNamespace(min_probability=min_probability,
                                  verdict=SimpleNamespace(stretch_below=0.35, sandbagged_above=0.75)))
        self.stages = {
            "monte_carlo": SimpleNamespace(summary=pd.Series({"p_target": p_target, "mean_revenue": 1.0})),
            "annual_target": SimpleNamespace(last_year_outlook=outlook, last_year_actual=actual, target=target),
            "goal_cards": cards if cards is not None else pd.DataFrame(),
            "risk_register": SimpleNamespace(register=pd.DataFrame({"expected_loss": [], "simulated": []})),
        }

    def __getitem__(self, name):
        return self.stages[name]


def test_the_chance_is_the_monte_carlo_share_and_judges_the_verdict():
    assert story.chance_of_target(FakePlan(p_target=0.1549)) == 0.1549
    assert story.verdict(FakePlan(p_target=0.1549)) == "stretch"
    assert story.verdict(FakePlan(p_target=0.5)) == "balanced"
    assert story.verdict(FakePlan(p_target=0.8)) == "sandbagged"
    assert story.chance_source(FakePlan()) == ("the share of 10,000 simulated plan years (forecast and the team's "
                                               "capacity; the plan has no risk register) that reach the target")
    with_risks = FakePlan()
    with_risks.stages["risk_register"] = SimpleNamespace(register=pd.DataFrame({"simulated": [True, False]}))
    assert "(forecast, the team's capacity and the risk register)" in story.chance_source(with_risks)


def test_last_year_is_the_fiscal_year_before_the_plan_year_actual_plus_outlook():
    # Calendar FY2027; closed to 2026-10: FY2026 has November and December still forecast.
    last = story.last_year(FakePlan())
    assert (last.fiscal_year, last.amount, last.open_months) == ("FY2026", 335_881_000.0, 2)
    assert last.label == "FY2026 (actual + outlook)"
    assert last.describe() == "FY2026: actual to 2026-10 plus the forecast of its 2 open months"
    # April-March FY2027 (Apr 2026 - Mar 2027): FY2026 ended in March 2026, all closed by 2026-10.
    closed = story.last_year(FakePlan(start_month=4))
    assert (closed.open_months, closed.label) == (0, "FY2026 (actual)")
    assert closed.describe() == "FY2026: the actual of the whole year"
    # Closed to 2026-11: one month open.
    assert story.last_year(FakePlan(last_closed=dt.date(2026, 11, 1))).describe().endswith("its open month")
    assert math.isnan(story.last_year(FakePlan(outlook=math.nan)).amount)


def card(**fields):
    row = {"goal": "g", "metric": "revenue", "scope": "company", "target": 373_013_000.0, "unit": "CNY",
           "baseline": 1.0, "deadline": dt.date(2027, 12, 31), "owner": "VP", "strategy": "grow",
           "probability": 0.40, "specific": True, "measurable": True, "achievable": True, "relevant": True,
           "time_bound": True, "owned": True, "smart": True, "problems": ""}
    return {**row, **fields}


def test_the_annual_target_goal_is_judged_on_the_one_chance():
    cards = pd.DataFrame([
        card(goal="FY2027 revenue"),
        card(goal="West revenue", scope="region/West", target=90_000_000.0, probability=0.3),
        card(goal="Owned by nobody", owner="", owned=False, smart=False, problems="no owner", probability=0.1,
             achievable=False),
    ])
    cards.loc[2, "problems"] = "achievability 10% is below the 20% threshold; no owner"
    out = story.goal_cards(FakePlan(p_target=0.1549, cards=cards)).set_index("goal")
    # 15% is below the 20% threshold: the annual target is restated on it, with the reason
    assert out.loc["FY2027 revenue", "probability"] == pytest.approx(0.1549)
    assert not out.loc["FY2027 revenue", "achievable"] and not out.loc["FY2027 revenue", "smart"]
    assert out.loc["FY2027 revenue", "problems"] == "achievability 15% is below the 20% threshold"
    # another scope keeps the forecast's judgement
    assert out.loc["West revenue", "probability"] == 0.3 and out.loc["West revenue", "smart"]
    # a goal on the same target whose chance clears the bar loses only its achievability problem
    cleared = story.goal_cards(FakePlan(p_target=0.25, cards=cards)).set_index("goal")
    assert cleared.loc["Owned by nobody", "problems"] == "no owner"
    assert cleared.loc["Owned by nobody", "achievable"] and not cleared.loc["Owned by nobody", "smart"]
    assert cleared.loc["FY2027 revenue", "smart"] and cleared.loc["FY2027 revenue", "problems"] == ""
    assert cards.loc[0, "probability"] == 0.40  # the stage's own table is left as it was


def covered_plan(*, uncovered, losses, p_target=0.134):
    """A FakePlan with a bridge, initiatives and a register, money shown in k CNY."""
    plan = FakePlan(p_target=p_target)
    plan.config.company = SimpleNamespace(display_unit=1000, display_unit_label="k CNY", currency="CNY")
    plan.stages["bridge"] = SimpleNamespace(uncovered=uncovered, covered_share=0.97)
    plan.stages["initiatives"] = SimpleNamespace(summary=pd.DataFrame({"initiative": ["a", "b"]}))
    plan.stages["risk_register"] = SimpleNamespace(register=pd.DataFrame(
        {"expected_loss": losses, "simulated": [True] * len(losses)}))
    # the simulated years average above the target unless a test says otherwise
    plan.stages["monte_carlo"] = SimpleNamespace(summary=pd.Series({"p_target": p_target, "mean_revenue": 101e6}),
                                                 annual_target=100e6)
    # the team on its own falls short of the target unless a test says otherwise
    plan.stages["hiring_plan"] = SimpleNamespace(summary=pd.DataFrame(
        {"region": ["Total"], "target": [100e6], "capacity_with_hires": [90e6]}))
    return plan


def test_a_covered_target_with_a_low_chance_says_why_in_the_same_breath():
    # Covered with 4,576,000 to spare, risks expected to cost 9,000,000 + 5,094,000: the cushion is smaller.
    words = story.cover_and_chance(covered_plan(uncovered=-4_576_000.0, losses=[9_000_000.0, 5_094_000.0]))
    assert words == ("On their expected effects, the baseline forecast, 2 initiatives and the planned hires cover "
                     "the target with **4,576 k CNY** to spare. That cushion is smaller than the risks' expected "
                     "loss of 14,094 k CNY, and a year's sales spread around the forecast, so the plan reaches the "
                     "target in only 13% of simulated years.")
    larger = story.cover_and_chance(covered_plan(uncovered=-20_000_000.0, losses=[1_000_000.0], p_target=0.62))
    assert "larger than the risks' expected loss of 1,000 k CNY" in larger and "in 62% of" in larger
    none = covered_plan(uncovered=98_784.0, losses=[])
    none.stages["initiatives"] = SimpleNamespace(summary=pd.DataFrame({"initiative": []}))
    none.stages["hiring_plan"] = SimpleNamespace(summary=pd.DataFrame(
        {"region": ["East", "West", "Total"], "target": [760e3, 811e3, 1_571e3],
         "capacity_with_hires": [1_000e3, 1_055_259.0, 2_055_259.0]}))
    # a stranger's plan: the team can sell 131% of the target, the forecast of demand falls short of it
    assert story.cover_and_chance(none) == (
        "The baseline forecast and the planned hires bring in 97% of the target; **99 k CNY** is still uncovered and "
        "needs more action: the team can sell 131% of the target, so what is missing is demand the forecast does "
        "not see (initiatives, new customers or products), not hires.")
    one = covered_plan(uncovered=11_000_000.0, losses=[1.0])
    one.stages["initiatives"] = SimpleNamespace(summary=pd.DataFrame({"initiative": ["a"]}))
    assert story.cover_and_chance(one).startswith("The baseline forecast, the 1 initiative and the planned hires")
    gap = story.cover_and_chance(covered_plan(uncovered=11_000_000.0, losses=[1.0]))
    assert gap == ("The baseline forecast, the 2 initiatives and the planned hires bring in 97% of the target; "
                   "**11,000 k CNY** is still uncovered and needs more action.")


def test_a_cushion_beside_a_simulated_year_below_target_says_the_simulation_sells_only_the_demand():
    # The bridge counts the hires' capacity as sales (cushion 345,447); the simulation sells at most the forecast's
    # demand, so its average year (3,050,000) is below the target (3,178,000): the words say so.
    plan = covered_plan(uncovered=-345_447.0, losses=[], p_target=0.36)
    plan.stages["initiatives"] = SimpleNamespace(summary=pd.DataFrame({"initiative": []}))
    plan.stages["monte_carlo"] = SimpleNamespace(summary=pd.Series({"p_target": 0.36, "mean_revenue": 3_050_000.0}),
                                                 annual_target=3_178_000.0)
    assert story.cover_and_chance(plan) == (
        "On their expected effects, the baseline forecast and the planned hires cover the target with **345 k CNY** "
        "to spare. The simulation counts sales only up to the forecast's demand in each region (capacity beyond it "
        "sells nothing) so its average year is 3,050 k CNY, below the target, and the plan reaches the target in "
        "only 36% of simulated years.")
    risky = covered_plan(uncovered=-345_447.0, losses=[20_000.0], p_target=0.30)
    risky.stages["monte_carlo"].summary["mean_revenue"] = 3_050_000.0
    risky.stages["monte_carlo"].annual_target = 3_178_000.0
    assert ("(capacity beyond it sells nothing) and holds no initiative, less the risks' expected loss of 20 k CNY, "
            "so its average year is 3,050 k CNY") in story.cover_and_chance(risky)  # 2 initiatives in the bridge


def test_odds_basis_says_in_numbers_what_the_entity_odds_rest_on():
    import numpy as np

    plan = FakePlan()
    plan.stages["monte_carlo"] = SimpleNamespace(company_total=np.array([90.0, 110.0, 130.0, 150.0]),
                                                 p_target=0.25, risk_ids=["R-01", "R-02"])
    plan.stages["fairness"] = SimpleNamespace(reps=pd.DataFrame({
        "rep_id": ["A", "B", "East TBH 1"], "potential": [60_000.0, 50_000.0, 10_000.0],
        "basis": ["own history", "own history", "team peers"]}))
    plan.stages["planned_hires"] = SimpleNamespace(by_month=pd.DataFrame({"rep_id": ["East TBH 1"] * 2}))
    said = story.odds_basis(plan, unit=1000, unit_label="k CNY")
    assert said.startswith("Each chance is the share of the same 4 simulated plan years as the company's "
                           "P(attainment) (25%) in which the figure is reached.")
    assert "at most what its 2 reps and 1 planned hire can sell" in said
    assert "their team peers' for 1 rep with little history" in said
    assert "the risk register's 2 risks are drawn on top" in said
    assert said.endswith("add up to the company's, 120 k CNY.")
    plan.stages["monte_carlo"].risk_ids = []
    plan.stages["fairness"].reps["basis"] = "own history"
    plain = story.odds_basis(plan, unit=1000, unit_label="k CNY")
    assert "risk register" not in plain and "team peers" not in plain


def test_a_plan_without_initiatives_names_only_the_forecast_and_the_hires():
    plan = covered_plan(uncovered=-502_453.0, losses=[])
    plan.stages["initiatives"] = SimpleNamespace(summary=pd.DataFrame({"initiative": []}))
    assert story.cover_and_chance(plan) == (
        "On their expected effects, the baseline forecast and the planned hires cover the target with **502 k CNY** "
        "to spare. With the spread of a year's sales the plan reaches the target in 13% of simulated years.")


def hiring_plan(gaps: dict, hires: dict, uncovered: dict | None = None, max_per_region=None):
    """A FakePlan whose hiring plan has these regional gaps (target - capacity) and hires, money in EUR."""
    plan = FakePlan()
    plan.config.capacity = SimpleNamespace(hiring=SimpleNamespace(max_per_region=max_per_region))
    rows = pd.DataFrame({"region": list(gaps), "gap": list(gaps.values()), "hires": [hires[r] for r in gaps],
                         "uncovered": [(uncovered or {}).get(r, 0.0) for r in gaps]})
    total = pd.DataFrame([{"region": "Total", **rows.drop(columns="region").sum().to_dict()}])
    plan.stages["hiring_plan"] = SimpleNamespace(summary=pd.concat([rows, total], ignore_index=True))
    return plan


def test_hires_are_said_for_any_number_and_name_the_region_that_falls_short():
    # the team covers the target overall (gaps add up to -52,547) while Nord alone falls short: one hire for Nord
    one = hiring_plan({"Nord": 128_682.6, "Süd": -120_867.9, "West": -60_361.4}, {"Nord": 1, "Süd": 0, "West": 0})
    assert story.hires_in_words(one, unit_label="EUR") == ("Nord falls 128,683 EUR short of its target, and 1 hire "
                                                           "closes that gap")
    none = hiring_plan({"Nord": -5_000.0, "Süd": -1.0}, {"Nord": 0, "Süd": 0})
    assert story.hires_in_words(none, unit_label="EUR") == ("no hire is needed: the team on the roster covers the "
                                                            "target in every region")
    two = hiring_plan({"Nord": 300_000.0, "Süd": 90_000.0}, {"Nord": 2, "Süd": 1}, uncovered={"Nord": 40_000.0})
    assert story.hires_in_words(two, unit=1000, unit_label="k EUR") == (
        "Nord and Süd fall 300 k EUR and 90 k EUR short of their targets; 3 hires (Nord 2, Süd 1) close part of it, "
        "and 40 k EUR stays uncovered")
    barred = hiring_plan({"Nord": 10_000.0}, {"Nord": 0}, uncovered={"Nord": 10_000.0}, max_per_region=0)
    assert story.hires_in_words(barred, unit_label="EUR") == (
        "Nord falls 10,000 EUR short of its target, and no hire is planned: the config allows no hire "
        "(capacity.hiring.max_per_region is 0)")
    for plan in (one, none, two, barred):
        said = story.hires_in_words(plan, unit_label="EUR")
        assert "0 hires" not in said and "1 hires" not in said
