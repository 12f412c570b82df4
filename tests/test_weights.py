"""Tests of planlib.planning.weights: rep availability and the ramp of new reps, run rates, the blend of methods, the inputs."""

import numpy as np
import pandas as pd
import pytest

from planlib.planning import allocate as al
from planlib.planning import weights as wt
from planlib.core.calendar import plan_days
from planlib.core.calendar import plan_months
from planlib.resources.capacity import build_capacity
from planlib.core.config import Allocation, Capacity
from planlib.core.errors import AllocationError, DataError


# --------------------------------------------------------------------------- weights from data
def test_rep_availability_ramps_and_stops_at_exit():
    days = pd.DataFrame({"date": pd.to_datetime(["2027-01-15", "2027-02-15", "2027-03-15", "2027-04-15",
                                                 "2027-05-15", "2027-06-15"])})
    roster = pd.DataFrame({"rep_id": ["A", "B"], "hire_date": pd.to_datetime(["2027-02-01", "2020-01-01"]),
                           "exit_date": pd.to_datetime([None, "2027-04-30"]), "fte": [0.5, 1.0]})
    avail = wt.rep_availability(roster, days, [0.25, 0.5, 0.75])
    assert avail[0].tolist() == [0.0, 0.125, 0.25, 0.375, 0.5, 0.5]
    assert avail[1].tolist() == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]


def test_blend_leaves_out_a_method_with_nothing_to_say():
    values = {"historical": np.array([0.0, 0.0, 3.0, 1.0]), "capacity": np.array([1.0, 3.0, 1.0, 1.0])}
    shares = wt.blend(values, {"historical": 1.0, "capacity": 1.0}, np.array([0, 0, 1, 1]), 2)
    # parent 0 has no history: capacity alone (1:3); parent 1: (3/4 + 1/2)/2 and (1/4 + 1/2)/2
    assert shares.tolist() == pytest.approx([0.25, 0.75, 0.625, 0.375])


def synthetic_plan_data():
    """A two-region company with three reps, two products, monthly history 2023-01..2026-10."""
    months = pd.date_range("2023-01-01", "2026-10-01", freq="MS")
    season = 1 + 0.5 * np.sin(2 * np.pi * (months.month - 1) / 12)
    rows = []

    def add(uid, level, y, region=None, team=None, rep=None, product=None):
        rows.append(pd.DataFrame({"unique_id": uid, "ds": months, "y": y, "level": level, "region": region,
                                  "team": team, "rep_id": rep, "product": product}))

    share = {("East", "X"): 40, ("East", "Y"): 20, ("West", "X"): 10, ("West", "Y"): 30}
    for (region, product), size in share.items():
        add(f"region_product/{region}/{product}", "region_product", size * season, region, product=product)
    for region in ("East", "West"):
        add(f"region/{region}", "region", sum(share[(region, p)] for p in "XY") * season, region)
        add(f"team/{region}-1", "team", sum(share[(region, p)] for p in "XY") * season, region, f"{region}-1")
    for product in "XY":
        add(f"product/{product}", "product", sum(share[(r, product)] for r in ("East", "West")) * season,
            product=product)
    add("company", "company", 100 * season)
    add("rep/E1", "rep", 30 * season, "East", "East-1", "E1")
    add("rep/E2", "rep", 30 * season, "East", "East-1", "E2")
    add("rep/W1", "rep", 40 * season, "West", "West-1", "W1")
    history = pd.concat(rows, ignore_index=True)
    plan_months = pd.date_range("2026-11-01", "2027-12-01", freq="MS")
    fc = history[history["ds"] >= "2025-11-01"].copy()
    fc["ds"] = fc["ds"] + pd.DateOffset(years=1)
    forecasts = fc.rename(columns={"y": "yhat"})[["unique_id", "ds", "yhat"]]
    forecasts = forecasts[forecasts["ds"].isin(plan_months)]
    roster = pd.DataFrame({"rep_id": ["E1", "E2", "W1", "W2"], "name": ["甲", "乙", "丙", "丁"],
                           "team": ["East-1", "East-1", "West-1", "West-1"],
                           "region": ["East", "East", "West", "West"],
                           "hire_date": pd.to_datetime(["2015-01-01", "2016-01-01", "2014-01-01", "2027-07-01"]),
                           "exit_date": pd.to_datetime([None, None, None, None]), "fte": [1.0, 1.0, 1.0, 1.0]})
    return history, forecasts, roster


def test_allocation_inputs_from_data_and_the_targets_table():
    history, forecasts, roster = synthetic_plan_data()
    days = plan_days(2027, country="CN")
    cfg = Allocation(methods={"forecast": 1.0})
    inputs = wt.allocation_inputs(roster=roster, history=history, forecasts=forecasts, days=days,
                                  fiscal_months=pd.date_range("2027-01-01", periods=12, freq="MS"),
                                  last_month=pd.Timestamp("2026-10-01"), allocation=cfg)
    assert inputs.regions == ["East", "West"] and inputs.products == ["X", "Y"]
    # Forecast shares: East 60 of 100, West 40; products X 50, Y 50.
    assert inputs.region_weight.tolist() == pytest.approx([0.6, 0.4])
    assert inputs.product_weight.tolist() == pytest.approx([0.5, 0.5])
    # W2 joins 2027-07-01: nothing before July. With no allocation.ramp the ramp is capacity's; with
    # under 4 reps hired within the history that is its default, 6 months linear: 1/7 in the hire month.
    assert inputs.ramp.source == "default" and (inputs.ramp.ramp_months, inputs.ramp.shape) == (6, "linear")
    w2 = inputs.reps.index("W2")
    first_july = int(np.flatnonzero((inputs.pieces["month"] == "2027-07").to_numpy())[0])
    assert inputs.rep_availability[w2, :first_july].sum() == 0
    assert inputs.rep_availability[w2, first_july + 1] == pytest.approx(1 / 7)
    result = al.allocate(1000, inputs, unit=1000)
    targets = al.targets_table(result)
    assert list(targets.columns) == ["level", "entity", "product", "period_type", "period", "target"]
    assert set(targets["level"]) == {"company", "product", "region", "region_product", "team", "team_product",
                                     "rep", "rep_product"}
    region = targets[(targets["level"] == "region") & (targets["period_type"] == "year")]
    assert region["target"].tolist() == [600_000, 400_000]
    assert set(targets.loc[targets["period_type"] == "week", "period"]) >= {"2026-W53", "2027-W01", "2027-W52"}
    assert al.check_additivity(targets).empty
    w2_months = targets[(targets["level"] == "rep") & (targets["entity"] == "W2") & (targets["period_type"] == "month")]
    assert (w2_months.loc[w2_months["period"] < "2027-07", "target"] == 0).all()
    assert w2_months["target"].sum() > 0
    # Seasonal months: the forecast's peak month (April, sin peak) gets more than January.
    company = targets[(targets["level"] == "company") & (targets["period_type"] == "month")].set_index("period")
    assert company.loc["2027-04", "target"] > company.loc["2027-01", "target"]


def test_allocation_inputs_reject_a_roster_with_nobody_in_the_plan_year():
    history, forecasts, roster = synthetic_plan_data()
    roster = roster.assign(exit_date=pd.Timestamp("2026-06-30"))
    with pytest.raises(AllocationError, match="no rep on the roster works in the plan year"):
        wt.allocation_inputs(roster=roster, history=history, forecasts=forecasts, days=plan_days(2027),
                             fiscal_months=pd.date_range("2027-01-01", periods=12, freq="MS"),
                             last_month=pd.Timestamp("2026-10-01"))


# --------------------------------------------------------------------------- the ramp of new reps
def inputs_with_a_recent_hire(allocation, capacity, *, hire_date="2026-10-01", all_days_working=True):
    """The synthetic company with W2 hired ``hire_date``; every day a working day unless told."""
    history, forecasts, roster = synthetic_plan_data()
    roster.loc[roster["rep_id"] == "W2", "hire_date"] = pd.Timestamp(hire_date)
    days = plan_days(2027, country="CN")
    if all_days_working:
        days["working"] = True
    return wt.allocation_inputs(roster=roster, history=history, forecasts=forecasts, days=days,
                                fiscal_months=pd.date_range("2027-01-01", periods=12, freq="MS"),
                                last_month=pd.Timestamp("2026-10-01"), allocation=allocation, capacity=capacity)


def month_availability(inputs, rep):
    """Mean availability of ``rep`` over the pieces of each plan month."""
    by_month = pd.Series(inputs.rep_availability[inputs.reps.index(rep)]).groupby(inputs.pieces["month"].to_numpy())
    return by_month.mean()


def test_rep_hired_three_months_before_the_plan_year_gets_the_share_a_6_month_linear_ramp_implies():
    # capacity.ramp_months 6, linear: k/7 in tenure month k. W2, hired 2026-10-01, is in month 4 in
    # January 2027, 5 in February, 6 in March, ramped from April. Every day counts the same here,
    # so W2's FTE-months are 12 x (31*4/7 + 28*5/7 + 31*6/7 + 275) / 365 = 12 x (2375/7) / 365,
    # against W1's 12; with the capacity method alone W2's share of West-1 is 2375 / (2375 + 2555).
    inputs = inputs_with_a_recent_hire(Allocation(methods={"capacity": 1.0}),
                                       Capacity(ramp_months=6, ramp_shape="linear"))
    assert inputs.ramp.source == "config" and inputs.ramp.level == 1.0
    months = month_availability(inputs, "W2")
    assert months[["2027-01", "2027-02", "2027-03", "2027-04", "2027-12"]].tolist() == pytest.approx(
        [4 / 7, 5 / 7, 6 / 7, 1.0, 1.0])
    info = inputs.rep_info.set_index("rep_id")
    assert info.loc["W2", "capacity_months"] == pytest.approx(12 * (2375 / 7) / 365)
    assert info.loc["W1", "capacity_months"] == pytest.approx(12.0)
    assert bool(info.loc["W2", "ramping"]) and not bool(info.loc["W1", "ramping"])
    w1, w2 = inputs.reps.index("W1"), inputs.reps.index("W2")
    assert inputs.rep_weight[w2] == pytest.approx(2375 / 4930)
    assert inputs.rep_weight[w1] == pytest.approx(2555 / 4930)
    # The target follows: West-1's year split 2375 : 2555 to the unit (largest remainder).
    result = al.allocate(10_000, inputs)
    team = result.tables["team"][inputs.teams.index("West-1")].sum()
    rep_year = result.tables["rep"].sum(axis=(1, 2))
    assert rep_year[w2] + rep_year[w1] == team
    assert abs(rep_year[w2] - team * 2375 / 4930) < 1


def test_the_level_of_capacitys_ramp_carries_into_the_targets():
    # New reps levelling off at half a ramped rep: W2 is at 0.5 x 4/7 in January and 0.5 from April.
    inputs = inputs_with_a_recent_hire(Allocation(methods={"capacity": 1.0}),
                                       Capacity(ramp_months=6, ramp_level=0.5))
    months = month_availability(inputs, "W2")
    assert months[["2027-01", "2027-04"]].tolist() == pytest.approx([0.5 * 4 / 7, 0.5])


def test_an_explicit_allocation_ramp_overrides_capacitys():
    inputs = inputs_with_a_recent_hire(Allocation(methods={"capacity": 1.0}, ramp=[0.1, 0.2, 0.3, 0.4, 0.6]),
                                       Capacity(ramp_months=6))
    assert inputs.ramp.source == "allocation"
    months = month_availability(inputs, "W2")
    assert months[["2027-01", "2027-02", "2027-03"]].tolist() == pytest.approx([0.4, 0.6, 1.0])


def test_a_rep_hired_over_18_months_before_the_plan_year_is_planned_ramped():
    # W2, hired 2025-06-01 (19 months before), has no history, so its run rate is its team peers';
    # but it is past the horizon over which capacity measures the ramp, so it is not held at the level.
    inputs = inputs_with_a_recent_hire(Allocation(methods={"capacity": 1.0}),
                                       Capacity(ramp_months=6, ramp_level=0.5), hire_date="2025-06-01")
    info = inputs.rep_info.set_index("rep_id")
    assert not bool(info.loc["W2", "ramping"]) and info.loc["W2", "capacity_months"] == pytest.approx(12.0)


def test_a_recent_hire_with_a_run_rate_of_their_own_is_not_ramped_twice():
    # E2 hired 2025-09-01: by October 2026 eight months past a 6-month ramp, so its own run rate
    # (which already shows where it levelled off) is used, at full availability, as capacity does.
    history, forecasts, roster = synthetic_plan_data()
    roster.loc[roster["rep_id"] == "E2", "hire_date"] = pd.Timestamp("2025-09-01")
    days = plan_days(2027, country="CN")
    inputs = wt.allocation_inputs(roster=roster, history=history, forecasts=forecasts, days=days,
                                  fiscal_months=pd.date_range("2027-01-01", periods=12, freq="MS"),
                                  last_month=pd.Timestamp("2026-10-01"), allocation=Allocation(),
                                  capacity=Capacity(ramp_months=6, ramp_level=0.5))
    info = inputs.rep_info.set_index("rep_id")
    assert not bool(info.loc["E2", "ramping"])
    assert info.loc["E2", "employed_months"] == 8  # 2026-03 .. 2026-10
    assert inputs.rep_availability[inputs.reps.index("E2")].max() == pytest.approx(1.0)


def test_plan_ramp_is_capacitys_ramp_for_the_same_data():
    history, _, roster = synthetic_plan_data()
    roster = roster.assign(role="rep")
    empty = pd.DataFrame(columns=["level", "entity", "product", "period_type", "period", "target"])
    settings = Capacity(ramp=[0.2, 0.5, 0.8], ramp_level=0.9)
    ramp = wt.plan_ramp(Allocation(), history=history, roster=roster, capacity=settings)
    theirs = build_capacity(history, roster, empty, settings, months=plan_months(2027), as_of=pd.Timestamp("2026-10-31")).ramp
    assert (ramp.ramp_months, ramp.ramp, ramp.level, ramp.source) == (3, [0.2, 0.5, 0.8], 0.9, "config")
    assert ramp.factor([1, 2, 3, 4]).tolist() == pytest.approx(theirs.factor([1, 2, 3, 4]).tolist())
    assert ramp.factor([1, 4]).tolist() == pytest.approx([0.18, 0.9])


def test_plan_ramp_says_what_to_do_when_capacity_cannot_estimate():
    history, _, roster = synthetic_plan_data()
    with pytest.raises(DataError, match=r"allocation takes the ramp of new reps from capacity.*history has no rows "
                                        r"at level 'rep'.*give allocation.ramp as a list"):
        wt.plan_ramp(Allocation(), history=history[history["level"] != "rep"], roster=roster)


def test_explicit_ramp_and_rep_productivity_need_a_ramp():
    assert wt.explicit_ramp([0.25, 0.5]).factor([0, 1, 2, 3]).tolist() == [0.0, 0.25, 0.5, 1.0]
    assert wt.explicit_ramp([]).factor([0, 1, 5]).tolist() == [0.0, 1.0, 1.0]
    history, _, roster = synthetic_plan_data()
    with pytest.raises(AllocationError, match="rep_productivity needs the ramp: give ramp="):
        wt.rep_productivity(history, roster, "2026-10-01")
    # With the roster's ramp_months (as AllocationInputs.rep_info carries it): E1 sells 30 x season a
    # month; over the 12 months to 2026-10 the season averages 1, so its run rate is 30.
    table = wt.rep_productivity(history, roster.assign(ramp_months=3), "2026-10-01", months=12)
    row = table.set_index("rep_id").loc["E1"]
    assert row["mean"] == pytest.approx(30.0) and row["months"] == 12 and row["basis"] == "own history"
    assert table.set_index("rep_id").loc["W2", "basis"] == "team peers"


def test_a_week_no_product_with_a_target_is_forecast_to_sell_in_gets_no_target():
    """Issue 16's property test: a discontinued product's forecast alone held the company's April, the product
    left (X) was forecast at 0 there, and the company's April target had no product to go to: the plan stopped
    with "a positive total that no one can carry"."""
    history, forecasts, roster = synthetic_plan_data()
    y_rows = history["unique_id"].isin(["product/Y", "region_product/East/Y", "region_product/West/Y"])
    history.loc[y_rows & (history["ds"] >= "2026-03-01"), "y"] = 0.0  # Y: no sale in the last 8 months
    args = dict(roster=roster, history=history, days=plan_days(2027), allocation=Allocation(),
                fiscal_months=pd.date_range("2027-01-01", periods=12, freq="MS"), last_month=pd.Timestamp("2026-10-01"))
    before = wt.allocation_inputs(forecasts=forecasts.copy(), **args)
    april = forecasts["ds"] == "2027-04-01"
    x_rows = forecasts["unique_id"].isin(["product/X", "region_product/East/X", "region_product/West/X"])
    forecasts.loc[april & x_rows, "yhat"] = 0.0  # X forecast at nothing in April; the company is not
    inputs = wt.allocation_inputs(forecasts=forecasts, **args)
    assert inputs.products == before.products == ["X"]
    in_april = inputs.pieces["month"].to_numpy() == "2027-04"
    # April's pieces lose their weight, every other piece keeps the weight it had
    assert (before.company_profile[in_april] > 0).any() and (inputs.company_profile[in_april] == 0).all()
    assert inputs.company_profile[~in_april].tolist() == before.company_profile[~in_april].tolist()
    weeks = list(dict.fromkeys(inputs.pieces.loc[in_april, "week"]))
    assert weeks == ["2027-W13", "2027-W14", "2027-W15", "2027-W16", "2027-W17"]
    assert f"time: no product with a target is forecast to sell in {', '.join(weeks)}: no target there" in inputs.notes
    targets = al.targets_table(al.allocate(1000, inputs, unit=1000))
    company = targets[(targets["level"] == "company") & (targets["period_type"] == "month")].set_index("period")
    assert company.loc["2027-04", "target"] == 0 and company["target"].sum() == 1_000_000
    assert al.check_additivity(targets).empty
