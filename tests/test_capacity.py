"""Capacity: ramp curve, seasonality, productivity, attrition and capacity by month, on hand-made frames."""
import numpy as np
import pandas as pd
import pytest

from planlib.core.calendar import plan_months
from planlib.planning.productivity import (RampEstimate, attrition_rate, capacity_by_month, estimate_ramp,
                                           productivity_by_region, ramp_curve, seasonal_index)
from planlib.resources.capacity import build_capacity, capacity_against_target, region_month_targets, rep_month_targets
from planlib.core.config import Capacity, parse_config
from planlib.core.errors import ConfigError, DataError

MONTHS = plan_months(2027)
FLAT = pd.DataFrame({"region": "East", "calendar_month": range(1, 13), "season": 1.0})
AS_OF = pd.Timestamp("2026-11-26")


def _roster(rows):
    frame = pd.DataFrame(rows, columns=["rep_id", "region", "team", "role", "hire_date", "exit_date", "fte"])
    frame["hire_date"] = pd.to_datetime(frame["hire_date"])
    frame["exit_date"] = pd.to_datetime(frame["exit_date"])
    return frame


def test_plan_months_follow_the_fiscal_start():
    assert plan_months(2027)[0] == pd.Timestamp("2027-01-01")
    april = plan_months(2027, 4)
    assert (april[0], april[-1]) == (pd.Timestamp("2026-04-01"), pd.Timestamp("2027-03-01"))


def test_ramp_curve_linear_s_curve_and_explicit():
    assert ramp_curve([0, 1, 2, 3, 4, 10], ramp_months=3).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    # s-curve of x = k/4: 3x^2 - 2x^3 -> 0.15625, 0.5, 0.84375
    assert ramp_curve([1, 2, 3, 4], ramp_months=3, shape="s_curve").tolist() == [0.15625, 0.5, 0.84375, 1.0]
    assert ramp_curve([0, 1, 2, 3, 9], ramp=[0.2, 0.6]).tolist() == [0.0, 0.2, 0.6, 1.0, 1.0]
    assert ramp_curve([1, 5], ramp_months=0).tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="ramp shape must be 'linear' or 's_curve', got 'steep'"):
        ramp_curve([1], 3, "steep")


def test_seasonal_index_averages_whole_blocks_and_has_mean_one():
    pattern = np.array([1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 3], dtype=float)  # mean 15/12
    ds = pd.date_range("2024-11-01", periods=24, freq="MS")  # blocks 2024-11..2025-10 and 2025-11..2026-10
    y = np.concatenate([pattern[(ds[:12].month - 1)], 2 * pattern[(ds[12:].month - 1)]])
    season = seasonal_index(pd.DataFrame({"region": "East", "ds": ds, "y": y}))
    got = season.set_index("calendar_month")["season"]
    assert got[3] == pytest.approx(2 / (15 / 12))
    assert got[12] == pytest.approx(3 / (15 / 12))
    assert got.mean() == pytest.approx(1.0)
    short = seasonal_index(pd.DataFrame({"region": "West", "ds": ds[:6], "y": 5.0}))
    assert short["season"].tolist() == [1.0] * 12  # under a year: flat


def _rep_months(rows):
    frame = pd.DataFrame(rows, columns=["rep_id", "region", "ds", "y", "fte", "tenure_month"])
    frame["ds"] = pd.to_datetime(frame["ds"])
    frame["full_month"] = True
    frame["exit_date"] = pd.NaT
    frame["hired_in_history"] = False
    return frame


def test_productivity_is_the_median_of_ramped_reps_per_fte():
    window = pd.date_range("2026-07-01", periods=4, freq="MS")
    rows = []
    for ds in window:
        rows += [("A", "East", ds, 200.0, 1.0, 40), ("B", "East", ds, 150.0, 0.5, 40),  # 300 per FTE
                 ("D", "East", ds, 700.0, 1.0, 40), ("N", "East", ds, 5000.0, 1.0, 2)]  # N still ramping
    rm = _rep_months(rows)
    median = productivity_by_region(rm, FLAT, ramp_months=6, window=window)
    assert median.loc[0, "productivity"] == 300.0 and median.loc[0, "reps"] == 3
    mean = productivity_by_region(rm, FLAT, ramp_months=6, window=window, statistic="mean")
    assert mean.loc[0, "productivity"] == pytest.approx(400.0)  # (200 + 300 + 700) / 3


def test_productivity_falls_back_to_the_company_figure_for_a_region_without_ramped_reps():
    window = pd.date_range("2026-07-01", periods=3, freq="MS")
    rows = [("A", "East", ds, 100.0, 1.0, 40) for ds in window] + [("W", "West", ds, 10.0, 1.0, 1) for ds in window]
    season = pd.concat([FLAT, FLAT.assign(region="West")])
    out = productivity_by_region(_rep_months(rows), season, ramp_months=6, window=window).set_index("region")
    assert out.loc["West", "productivity"] == 100.0
    assert out.loc["West", "source"] == "history: company figure"


def test_estimate_ramp_recovers_a_known_linear_ramp_and_level():
    # four new reps, each selling 0.8 x k/4 of a ramped rep (reference 1000) in tenure month k
    rows = []
    for r in range(4):
        for k in range(1, 13):
            rows.append((f"N{r}", "East", pd.Timestamp("2025-01-01") + pd.DateOffset(months=k - 1 + r),
                         1000 * 0.8 * min(1, k / 4), 1.0, k))
    rm = _rep_months(rows).assign(hired_in_history=True)
    reference = pd.DataFrame({"region": "East", "ds": pd.date_range("2024-01-01", periods=48, freq="MS"),
                              "reference": 1000.0})
    est = estimate_ramp(rm, reference, horizon=12)
    assert (est.ramp_months, est.shape, est.source, est.level) == (3, "linear", "estimated", 0.8)
    assert est.hires_used == 4
    assert est.curve.loc[est.curve["tenure_month"] == 2, "observed"].item() == pytest.approx(400.0 / 1000)
    few = estimate_ramp(rm[rm["rep_id"] == "N0"], reference, horizon=12, min_hires=4, default_ramp_months=5)
    assert (few.ramp_months, few.source, few.level) == (5, "default", 1.0)


def test_attrition_rate_is_exits_over_mean_headcount_per_year():
    roster = _roster([(f"R{i}", "East", "East-1", "rep", "2020-01-01", None, 1.0) for i in range(9)]
                     + [("X", "East", "East-1", "rep", "2020-01-01", "2026-04-10", 1.0)])
    window = pd.date_range("2025-11-01", periods=12, freq="MS")
    got = attrition_rate(roster, window)
    # X is counted at the month starts 2025-11 .. 2026-04 (6 of 12): mean headcount 9.5
    assert got["exits"] == 1
    assert got["average_headcount"] == pytest.approx(9.5)
    assert got["annual_rate"] == pytest.approx(1 / 9.5)
    assert (1 - got["monthly_rate"]) ** 12 == pytest.approx(1 - 1 / 9.5)


def test_capacity_for_a_known_ramp_with_attrition_and_a_planned_exit():
    roster = _roster([("NEW", "East", "East-1", "rep", "2027-01-15", None, 1.0),   # signed offer
                      ("OLD", "East", "East-1", "rep", "2020-01-01", None, 1.0),
                      ("HALF", "East", "East-1", "rep", "2019-01-01", None, 0.5),
                      ("GONE", "East", "East-1", "rep", "2019-01-01", "2027-03-15", 1.0)])
    productivity = pd.DataFrame({"region": ["East"], "productivity": [100.0]})
    ramp = RampEstimate(3, "linear", "config", pd.DataFrame())
    out = capacity_by_month(roster, MONTHS, productivity, FLAT, ramp, monthly_attrition=0.0, as_of=AS_OF)
    new = out[out["rep_id"] == "NEW"].set_index("month")["capacity"]
    assert new.tolist() == [25.0, 50.0, 75.0] + [100.0] * 9  # k/4 for k = 1, 2, 3, then full
    assert new.sum() == 1050.0
    assert out.loc[out["rep_id"] == "HALF", "capacity"].sum() == pytest.approx(600.0)
    gone = out[out["rep_id"] == "GONE"].set_index("month")["capacity"]
    assert gone[pd.Timestamp("2027-03-01")] == pytest.approx(100 * 15 / 31)
    assert gone[pd.Timestamp("2027-04-01")] == 0.0

    with_exits = capacity_by_month(roster, MONTHS, productivity, FLAT, ramp, monthly_attrition=0.01, as_of=AS_OF)
    old = with_exits[with_exits["rep_id"] == "OLD"].set_index("month")
    assert old.loc["2027-01-01", "capacity"] == pytest.approx(100 * 0.99**2)  # Nov -> Jan: two months
    assert old.loc["2027-01-01", "expected_exits"] == pytest.approx(0.99 - 0.99**2)
    new = with_exits[with_exits["rep_id"] == "NEW"].set_index("month")
    assert new.loc["2027-01-01", "survival"] == 1.0  # survival counts from the start month
    assert new.loc["2027-04-01", "capacity"] == pytest.approx(100 * 0.99**3)


def test_own_run_rate_replaces_region_productivity_for_ramped_reps():
    roster = _roster([("OLD", "East", "East-1", "rep", "2020-01-01", None, 1.0)])
    productivity = pd.DataFrame({"region": ["East"], "productivity": [100.0]})
    run_rates = pd.DataFrame({"rep_id": ["OLD"], "run_rate": [250.0]})
    out = capacity_by_month(roster, MONTHS, productivity, FLAT, RampEstimate(3, "linear", "config", pd.DataFrame()),
                            monthly_attrition=0.0, as_of=AS_OF, run_rates=run_rates)
    assert out["capacity"].sum() == 3000.0
    assert set(out["basis"]) == {"own run rate"}


def test_capacity_needs_productivity_for_every_region():
    roster = _roster([("W1", "West", "West-1", "rep", "2020-01-01", None, 1.0)])
    productivity = pd.DataFrame({"region": ["East"], "productivity": [100.0]})
    with pytest.raises(DataError, match=r"no productivity for region\(s\) \['West'\]"):
        capacity_by_month(roster, MONTHS, productivity, FLAT, RampEstimate(0, "linear", "config", pd.DataFrame()),
                          monthly_attrition=0.0, as_of=AS_OF)


def test_targets_are_read_from_the_long_table_summing_products_when_no_total():
    targets = pd.DataFrame({
        "level": ["region", "region", "region", "rep", "company"],
        "entity": ["East", "East", "region/West", "rep/R001", "company"],
        "product": ["Instruments", "Services", "Services", None, None],
        "period_type": ["month"] * 5, "period": ["2027-01"] * 5, "target": [10.0, 5.0, 7.0, 3.0, 99.0]})
    region = region_month_targets(targets).set_index("region")["target"]
    assert region.to_dict() == {"East": 15.0, "West": 7.0}
    assert rep_month_targets(targets).to_dict("records") == [
        {"rep_id": "R001", "month": pd.Timestamp("2027-01-01"), "target": 3.0}]
    with pytest.raises(DataError, match=r"targets lack column\(s\) \['target'\]"):
        region_month_targets(targets.drop(columns="target"))


def test_capacity_against_target_gap_and_total_row():
    by_rep = pd.DataFrame({"region": ["East", "East"], "month": [MONTHS[0], MONTHS[1]], "capacity": [80.0, 90.0],
                           "fte": 1.0, "survival": 1.0, "active_share": 1.0, "expected_exits": 0.0})
    targets = pd.DataFrame({"region": "East", "month": MONTHS[:2], "target": [100.0, 100.0]})
    by_region, summary = capacity_against_target(by_rep, targets)
    assert by_region["gap"].tolist() == [20.0, 10.0]
    total = summary.set_index("region").loc["Total"]
    assert (total["target"], total["capacity"], total["gap"]) == (200.0, 170.0, 30.0)
    assert total["coverage"] == pytest.approx(0.85)


def _history_and_roster():
    """Two ramped East reps selling 1000 and 3000 a month, flat, for 24 months to 2026-10."""
    ds = pd.date_range("2024-11-01", periods=24, freq="MS")
    rows = [{"unique_id": f"rep/{r}", "ds": d, "y": y, "level": "rep", "rep_id": r, "region": "East",
             "team": "East-1"} for r, y in (("A", 1000.0), ("B", 3000.0)) for d in ds]
    history = pd.DataFrame(rows)
    roster = _roster([("A", "East", "East-1", "rep", "2018-01-01", None, 1.0),
                      ("B", "East", "East-1", "rep", "2018-01-01", None, 1.0),
                      ("M", "East", "East-1", "manager", "2018-01-01", None, 1.0)])
    targets = pd.DataFrame({"level": "region", "entity": "East", "product": None, "period_type": "month",
                            "period": [f"2027-{m:02d}" for m in range(1, 13)], "target": 5000.0})
    return history, roster, targets


def test_build_capacity_end_to_end_on_a_flat_history():
    history, roster, targets = _history_and_roster()
    settings = Capacity(ramp_months=2, attrition_rate=0.0)
    result = build_capacity(history, roster, targets, settings, months=MONTHS, as_of=AS_OF)
    assert result.productivity.set_index("region").loc["East", "productivity"] == 2000.0  # median of 1000, 3000
    assert result.ramp.source == "config"
    total = result.summary.set_index("region").loc["Total"]
    assert total["capacity"] == pytest.approx(48000.0)  # own run rates: (1000 + 3000) x 12
    assert total["gap"] == pytest.approx(12000.0)
    assert set(result.by_rep["rep_id"]) == {"A", "B"}  # the manager carries no quota
    pooled = build_capacity(history, roster, targets, Capacity(ramp_months=2, attrition_rate=0.0,
                                                                existing_reps="region_productivity"),
                            months=MONTHS, as_of=AS_OF)
    assert pooled.summary.set_index("region").loc["Total", "capacity"] == pytest.approx(48000.0)  # 2 x 2000 x 12
    given = build_capacity(history, roster, targets, Capacity(ramp_months=2, attrition_rate=0.0,
                                                               productivity={"East": 1500.0},
                                                               existing_reps="region_productivity"),
                           months=MONTHS, as_of=AS_OF)
    assert given.summary.set_index("region").loc["Total", "capacity"] == pytest.approx(36000.0)
    assert given.productivity.loc[0, "source"] == "config"


def test_build_capacity_says_which_roles_carry_quota():
    history, roster, targets = _history_and_roster()
    with pytest.raises(DataError, match=r"no rep in the roster has a quota role \['hunter'\]; roles found: "
                                        r"\['manager', 'rep'\]"):
        build_capacity(history, roster, targets, Capacity(quota_roles=["hunter"]), months=MONTHS, as_of=AS_OF)


def test_capacity_config_rejects_bad_values_with_their_key_paths():
    raw = {"company": {"name": "Test Co", "currency": "CNY", "country": "CN"},
           "fiscal": {"year": 2027}, "as_of": "2026-11-26",
           "data": {"sales": {"path": "s.csv"}, "reps": {"path": "r.csv"}},
           "capacity": {"ramp": [0.5, 0.3], "productivity": {"East": 0}, "hiring": {"earliest_start": "March"}}}
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    msg = str(info.value)
    assert "capacity.ramp: Value error, ramp fractions must not fall from one month to the next" in msg
    assert "capacity.productivity: Value error, productivity must be above 0 for every region, got {'East': 0" in msg
    assert "capacity.hiring.earliest_start:" in msg


def test_a_four_four_five_plan_sets_each_period_against_its_month_by_days():
    # FY2027 4-4-5: P01 is 4 Jan - 31 Jan (28 days, January has 31), P02 is February (28 of 28), P03 is
    # 1 Mar - 4 Apr (35 days, March has 31). Two reps selling 4000 a month together: January's capacity set
    # against P01 is 4000 x 28/31, March's against P03 4000 x 35/31; the year is 52 weeks, 364 days.
    from planlib.core.calendar import fiscal_month_starts
    from planlib.resources.capacity import period_scale

    periods = fiscal_month_starts(2027, 1, "4-4-5")
    scale = period_scale(periods)
    assert scale.iloc[:3].tolist() == pytest.approx([28 / 31, 1.0, 35 / 31])
    assert period_scale(fiscal_month_starts(2027, 1)) is None  # a monthly year: nothing to scale
    history, roster, _ = _history_and_roster()
    targets = pd.DataFrame({"level": "region", "entity": "East", "product": None, "period_type": "month",
                            "period": [f"FY2027-P{n:02d}" for n in range(1, 13)], "target": 5000.0})
    result = build_capacity(history, roster, targets, Capacity(ramp_months=2, attrition_rate=0.0), months=MONTHS,
                            as_of=AS_OF, periods=periods)
    by_month = result.by_region.set_index("month")
    assert by_month["target"].tolist() == [5000.0] * 12  # period n keyed by the n-th month
    assert by_month["capacity"].iloc[:3].tolist() == pytest.approx([4000 * 28 / 31, 4000.0, 4000 * 35 / 31])
    days = periods["days"].to_numpy(float) / MONTHS.days_in_month.to_numpy(float)
    assert result.summary.set_index("region").loc["Total", "capacity"] == pytest.approx(4000 * days.sum())
    with pytest.raises(DataError, match=r"week-based periods need the fiscal start month"):
        region_month_targets(targets)
