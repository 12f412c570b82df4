"""The hiring plan: what one hire adds, the fewest hires for a known gap, start-by months, delay scenarios."""
import numpy as np
import pandas as pd
import pytest

from planlib.core.calendar import plan_months
from planlib.planning.productivity import RampEstimate
from planlib.resources.capacity import CapacityResult
from planlib.resources.hiring import hire_contribution, hiring_plan, plan_hiring

MONTHS = plan_months(2027)
FLAT = pd.Series(1.0, index=range(1, 13))
# one hire at 100 a month from the start month (no ramp, no attrition): Jan 1200, Feb 1100, ..., Dec 100
CONTRIBUTION = pd.Series([100.0 * (12 - i) for i in range(12)], index=MONTHS)


def test_hire_contribution_follows_ramp_season_and_attrition():
    ramp = RampEstimate(1, "linear", "config", pd.DataFrame())  # month 1 at 1/2, then full
    added = hire_contribution(MONTHS, MONTHS[:2], productivity=100.0, season=FLAT, ramp=ramp, monthly_attrition=0.0)
    per_start = added.groupby("start_month")["added"].sum()
    assert per_start.tolist() == [50 + 100 * 11, 50 + 100 * 10]
    season = pd.Series([2.0] + [1.0] * 11, index=range(1, 13))
    leaving = hire_contribution(MONTHS, MONTHS[:1], productivity=100.0, season=season,
                                ramp=RampEstimate(0, "linear", "config", pd.DataFrame()), monthly_attrition=0.1)
    assert leaving["added"].iloc[:3].tolist() == pytest.approx([200.0, 90.0, 81.0])


def test_fewest_hires_for_a_known_gap_and_their_latest_starts():
    starts, start_by, uncovered = hiring_plan(3000.0, CONTRIBUTION, max_per_month=2)
    # Jan + Jan = 2400 < 3000, a third in Feb reaches 3500; the Feb hire can wait until Jul (600 -> 3000)
    assert starts == [MONTHS[0], MONTHS[0], MONTHS[1]]
    assert start_by == [MONTHS[0], MONTHS[0], MONTHS[6]]
    assert uncovered == 0.0


def test_no_gap_needs_no_hire_and_a_hire_cap_leaves_the_rest_uncovered():
    assert hiring_plan(-50.0, CONTRIBUTION) == ([], [], 0.0)
    starts, _, uncovered = hiring_plan(3000.0, CONTRIBUTION, max_per_month=2, max_hires=2)
    assert len(starts) == 2 and uncovered == pytest.approx(600.0)
    one_a_month = hiring_plan(3000.0, CONTRIBUTION, max_per_month=1)
    assert one_a_month[0] == [MONTHS[0], MONTHS[1], MONTHS[2]]  # 1200 + 1100 + 1000 = 3300


def _capacity(gap: float) -> CapacityResult:
    by_region = pd.DataFrame({"region": "East", "month": MONTHS, "target": 1000.0,
                              "capacity": 1000.0 - gap / 12, "gap": gap / 12, "fte": 1.0, "expected_exits": 0.0})
    summary = pd.DataFrame({"region": ["East", "Total"], "target": 12000.0, "capacity": 12000.0 - gap,
                            "gap": gap, "coverage": (12000.0 - gap) / 12000.0})
    return CapacityResult(
        productivity=pd.DataFrame({"region": ["East"], "productivity": [100.0], "reps": [1], "source": ["config"]}),
        ramp=RampEstimate(0, "linear", "config", pd.DataFrame()),
        attrition={"annual_rate": 0.0, "monthly_rate": 0.0, "source": "config"},
        season=pd.DataFrame({"region": "East", "calendar_month": range(1, 13), "season": 1.0}),
        by_rep=pd.DataFrame(), by_region=by_region, summary=summary, months=MONTHS,
        as_of=pd.Timestamp("2026-12-10"))


def test_plan_hiring_by_region_with_monthly_capacity_and_delay_scenarios():
    plan = plan_hiring(_capacity(3000.0), max_per_month=2)
    assert plan.earliest_start == MONTHS[0]  # the month after as_of
    assert plan.hires["start_month"].tolist() == [MONTHS[0], MONTHS[0], MONTHS[1]]
    east = plan.summary.set_index("region").loc["East"]
    assert (east["hires"], east["capacity_added"], east["uncovered"]) == (3, 3500.0, 0.0)
    jan = plan.by_month.set_index("month").loc[MONTHS[0]]
    assert jan["capacity_added"] == 200.0 and jan["capacity_with_hires"] == 1000.0 - 250.0 + 200.0
    assert plan.by_month["capacity_added"].sum() == 3500.0
    delay = plan.delay.set_index("earliest_start")
    # hiring from March: the same 3 hires add 1000 + 1000 + 900 = 2900, 100 short; closing it takes a 4th
    assert delay.loc[MONTHS[2], "capacity_added"] == 2900.0
    assert delay.loc[MONTHS[2], "uncovered"] == pytest.approx(100.0)
    assert delay.loc[MONTHS[2], "hires_to_close"] == 4.0
    # from December two hires can add at most 200: the rest cannot be closed this year
    assert np.isnan(delay.loc[MONTHS[11], "hires_to_close"])
    assert delay.loc[MONTHS[11], "uncovered_at_most_hiring"] == pytest.approx(2800.0)


def test_a_later_earliest_start_moves_every_hire():
    plan = plan_hiring(_capacity(3000.0), earliest_start="2027-04", max_per_month=2)
    assert plan.hires["start_month"].min() == MONTHS[3]
    # Apr 900 x 2, May 800 x 2 = 3400: four hires
    assert plan.summary.set_index("region").loc["East", "hires"] == 4


def test_delay_by_picks_the_scenario_months_after_the_earliest_start():
    plan = plan_hiring(_capacity(3000.0), max_per_month=2)
    assert plan.delay_by(2)["earliest_start"].tolist() == [MONTHS[2]]
    assert plan.delay_by(40)["earliest_start"].tolist() == [MONTHS[11]]


# --------------------------------------------------------------------------- planned hires as reps
def test_planned_hires_join_the_team_least_covered_and_add_what_the_plan_counts_on():
    from dataclasses import replace

    from planlib.resources.hiring import hire_label, planned_hires, roster_with_hires

    # East-1's rep can sell 600 of its 1,000, East-2's 480 of its 1,000: gaps 400 and 520.
    by_rep = pd.DataFrame({"rep_id": np.repeat(["R1", "R2"], 12), "region": "East",
                           "team": np.repeat(["East-1", "East-2"], 12), "month": np.tile(MONTHS, 2),
                           "capacity": np.repeat([50.0, 40.0], 12)})
    capacity = replace(_capacity(3000.0), by_rep=by_rep)
    hiring = plan_hiring(capacity, max_per_month=2)  # 3 hires: January, January, February
    team_targets = pd.DataFrame({"level": "team", "entity": ["East-1", "East-2"], "product": "All",
                                 "period_type": "year", "period": "FY2027", "target": [1000.0, 1000.0]})
    hires = planned_hires(hiring, capacity, team_targets)
    # the 1st goes to East-2 (gap 520 -> 520 - 1,200), the 2nd to East-1 (400 -> -800), the 3rd to East-2
    # again (-680 is the larger gap left)
    assert hires.roster["rep_id"].tolist() == ["East TBH 1", "East TBH 2", "East TBH 3"] == [
        hire_label("East", n) for n in (1, 2, 3)]
    assert hires.roster["team"].tolist() == ["East-2", "East-1", "East-2"]
    assert hires.roster["hire_date"].tolist() == [MONTHS[0], MONTHS[0], MONTHS[1]]
    # 100 a month from the start month (no ramp, no attrition): 1,200 + 1,200 + 1,100 = the hiring plan's 3,500
    by_hire = hires.by_month.groupby("rep_id")["capacity"].sum()
    assert by_hire.tolist() == [1200.0, 1200.0, 1100.0]
    assert by_hire.sum() == hiring.summary.set_index("region").loc["East", "capacity_added"]
    assert hires.by_month.loc[hires.by_month["rep_id"] == "East TBH 3", "capacity"].iloc[0] == 0.0  # nothing in Jan
    roster = pd.DataFrame({"rep_id": ["R1", "R2"], "name": ["Ann", "Bo"], "team": ["East-1", "East-2"],
                           "region": "East", "hire_date": pd.Timestamp("2020-01-01"), "exit_date": pd.NaT, "fte": 1.0})
    both = roster_with_hires(roster, hires)
    assert both.columns.tolist() == roster.columns.tolist()
    assert both["name"].tolist() == ["Ann", "Bo", "East TBH 1", "East TBH 2", "East TBH 3"]


def test_a_region_with_hires_but_no_team_is_named():
    from dataclasses import replace

    from planlib.core.errors import DataError
    from planlib.resources.hiring import planned_hires

    by_rep = pd.DataFrame({"rep_id": "R1", "region": "East", "team": "East-1", "month": MONTHS, "capacity": 50.0})
    capacity = replace(_capacity(3000.0), by_rep=by_rep)
    team_targets = pd.DataFrame({"level": "team", "entity": ["West-1"], "product": "All", "period_type": "year",
                                 "period": "FY2027", "target": [1000.0]})
    with pytest.raises(DataError, match=r"hires in region 'East', which has no team with a target; teams with "
                                        r"targets: \['West-1'\]"):
        planned_hires(plan_hiring(capacity), capacity, team_targets)
