"""Tests of the risk review (planlib.risk and the modules it gathers): register, simulation, scenarios."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from planlib.core.config import Risk
from planlib.core.errors import ConfigError, DataError
from planlib.risk import (assumption_moves, build_plan_year, concentration, concentration_flags, driver_exposure,
                          headlines,
                          heat_map, mitigation_table, parse_impact, pipeline_coverage, quantify_register,
                          run_monte_carlo, scenarios, sensitivity, validate_register)
from planlib.risk.simulate import ShockModel

DRIVERS = {"region": {"East", "West"}, "product": {"Instruments", "Services"}, "customer": {"C00042"},
           "team": {"East-1"}, "rep": {"R1", "R2", "R3"}}
GOOD = {"risk_id": "R-01", "title": "Price war in West", "category": "market", "likelihood": 0.35, "impact": "6%",
        "driver": "region:West", "owner": "Head of West", "mitigation": "Value selling", "status": "open"}
MONTHS = pd.date_range("2027-01-01", periods=12, freq="MS")


def _register(*changes: dict) -> pd.DataFrame:
    return pd.DataFrame([{**GOOD, "risk_id": f"R-{i + 1:02d}", **c} for i, c in enumerate(changes)])


def test_parse_impact_amounts_and_shares():
    assert parse_impact("8%") == ("share", pytest.approx(0.08))
    assert parse_impact("3,000,000") == ("amount", 3_000_000.0)
    assert parse_impact(2500000.0) == ("amount", 2_500_000.0)
    for bad in ("0%", "120%", "-5", "abc", None, float("nan")):
        assert parse_impact(bad) is None


def test_valid_register_is_parsed():
    reg = validate_register(_register({}, {"impact": "3000000", "driver": "company", "status": "Mitigating",
                                           "likelihood": "20%"}), drivers=DRIVERS)
    assert list(reg["impact_kind"]) == ["share", "amount"]
    assert list(reg["impact_value"]) == [pytest.approx(0.06), 3_000_000.0]
    assert list(reg["driver_kind"]) == ["region", "company"]
    assert reg.loc[1, "likelihood"] == pytest.approx(0.2)
    assert reg.loc[1, "status"] == "mitigating"


@pytest.mark.parametrize("field, value, expected", [
    ("likelihood", 1.4, r"likelihood'?: found 1\.4, expected a probability between 0 and 1"),
    ("likelihood", "often", r"likelihood'?: found 'often', expected a probability"),
    ("impact", "-5", r"impact'?: found '-5', expected a positive amount"),
    ("impact", "0%", r"impact'?: found '0%', expected a positive amount .* or a share"),
    ("driver", "region:Atlantis", r"driver'?: found 'region:Atlantis', expected a region that exists in the data "
                                  r"\(e\.g\. East, West\)"),
    ("driver", "planet:Mars", r"driver'?: found 'planet:Mars', expected 'company' or one of region:<name>"),
    ("driver", "customer:C99999", r"found 'customer:C99999', expected a customer that exists"),
    ("status", "maybe", r"status'?: found 'maybe', expected one of open, monitoring"),
    ("owner", "", r"owner'?: found '', expected a owner; every risk needs one"),
    ("mitigation", None, r"mitigation'?: found nan, expected a mitigation"),
    ("title", " ", r"title'?: found ' ', expected a title"),
    ("category", float("nan"), r"category'?: found nan, expected a category"),
])
def test_each_bad_field_is_named_with_risk_line_value_and_expectation(field, value, expected):
    table = _register({}, {field: value})
    with pytest.raises(DataError, match=r"(?s)risks\.csv: 1 problem.*line 3, column '" + field + "'" + r".*"
                       + expected.split("'?", 1)[-1] + r".*\(risk R-02\)"):
        validate_register(table, drivers=DRIVERS)


def test_every_problem_at_once_and_duplicates_and_missing_columns():
    table = _register({}, {"likelihood": 2.0, "status": "??"}, {"risk_id": "R-01"})
    with pytest.raises(DataError, match=r"3 problem") as info:
        validate_register(table, drivers=DRIVERS)
    text = str(info.value)
    assert "line 3, column 'likelihood': found 2.0" in text
    assert "line 3, column 'status': found '??'" in text
    assert "line 4, column 'risk_id': found 'R-01', expected a unique risk id (also on line 2)" in text
    with pytest.raises(DataError, match=r"column 'owner': found None, expected the column to be present"):
        validate_register(_register({}).drop(columns=["owner"]), drivers=DRIVERS)


def test_config_register_raises_config_error_with_key_paths():
    table = _register({}, {"likelihood": -0.1, "colour": "red"})
    with pytest.raises(ConfigError, match=r"(?s)risk\.risks\[1\]\.colour: risk R-02: found 'red', expected no such "
                       r"field.*risk\.risks\[1\]\.likelihood: risk R-02: found -0\.1, expected a probability"):
        validate_register(table, drivers=DRIVERS, config_path="risk.risks", source="config")


def _reps():
    return pd.DataFrame({"region": ["East", "East", "West"], "team": ["East-1", "East-1", "West-1"]},
                        index=pd.Index(["R1", "R2", "R3"], name="rep_id"))


def test_exposure_quantification_and_heat_map_by_hand():
    reg = validate_register(_register(
        {},                                                                   # 6% of West
        {"impact": "10%", "driver": "product:Instruments", "likelihood": 0.5},
        {"impact": "20%", "driver": "customer:C00042", "likelihood": 0.1},
        {"impact": "1000", "driver": "company", "likelihood": 0.8, "status": "closed"},
    ), drivers=DRIVERS)
    mix = pd.DataFrame({"Instruments": [0.5, 1.0, 0.0], "Services": [0.5, 0.0, 1.0]}, index=_reps().index)
    cust = pd.DataFrame({"rep_id": ["R1", "R3"], "customer_id": ["C00042", "C00007"], "share": [0.25, 1.0]})
    expo = driver_exposure(reg, reps=_reps(), product_mix=mix, customer_mix=cust)
    np.testing.assert_allclose(expo.to_numpy(), [[0, 0, 1], [0.5, 1, 0], [0.25, 0, 0], [1, 1, 1]])
    expected = pd.Series([4000.0, 2000.0, 3000.0], index=_reps().index)
    q = quantify_register(reg, expo, expected, annual_target=10_000.0).set_index("risk_id")
    # West 3000 * 6% = 180; Instruments 2000+2000 = 4000 * 10% = 400; C00042 1000 * 20% = 200; amount 1000
    assert q["driver_revenue"].to_dict() == {"R-01": 3000.0, "R-02": 4000.0, "R-03": 1000.0, "R-04": 9000.0}
    assert q["impact_amount"].to_dict() == pytest.approx({"R-01": 180.0, "R-02": 400.0, "R-03": 200.0, "R-04": 1000.0})
    assert q["expected_loss"].to_dict() == pytest.approx({"R-01": 63.0, "R-02": 200.0, "R-03": 20.0, "R-04": 800.0})
    assert q.loc["R-01", "likelihood_band"] == "L3 30%-50%" and q.loc["R-01", "impact_band"] == "I3 1.0%-2.0%"
    assert q.loc["R-04", "impact_band"] == "I5 ≥5.0%" and not q.loc["R-04", "simulated"]
    grid = heat_map(q.reset_index())
    assert len(grid) == 25 and grid["risks"].sum() == 4
    assert grid[(grid["likelihood_level"] == 4) & (grid["impact_level"] == 5)].iloc[0]["risks"] == 0
    r02 = grid[grid["risk_ids"] == "R-02"].iloc[0]
    assert (r02["likelihood_level"], r02["impact_level"]) == (4, 4)  # 50% -> L4; 400 / 10,000 = 4.0% -> I4
    table = mitigation_table(q.reset_index())
    assert list(table["risk_id"]) == ["R-04", "R-02", "R-01", "R-03"]


def _mc_inputs():
    reg = validate_register(_register({"impact": "500", "driver": "company", "likelihood": 0.3},
                                      {"impact": "10%", "driver": "region:West", "likelihood": 0.6}), drivers=DRIVERS)
    expected = pd.DataFrame(np.full((3, 12), 100.0), index=_reps().index, columns=MONTHS)
    mix = pd.DataFrame({"Instruments": [1.0, 1.0, 1.0]}, index=_reps().index)
    expo = driver_exposure(reg, reps=_reps(), product_mix=mix)
    q = quantify_register(reg, expo, expected.sum(axis=1), annual_target=3000.0)
    shocks = ShockModel.independent({"East": 0.05, "West": 0.05})
    return q, expo, expected, shocks


def test_monte_carlo_expected_loss_and_reproducibility():
    q, expo, expected, shocks = _mc_inputs()
    args = dict(region_of=_reps()["region"], shocks=shocks, rep_sd=0.1, register=q, exposure=expo,
                annual_target=3000.0, n_sims=40_000)
    a = run_monte_carlo(expected, seed=9, **args)
    b = run_monte_carlo(expected, seed=9, **args)
    np.testing.assert_array_equal(a.company_total, b.company_total)
    pd.testing.assert_series_equal(a.summary, b.summary)
    # expected loss = 0.3 * 500 + 0.6 * 10% * 1200 (West's year) = 150 + 72
    assert a.loss.sum(axis=1).mean() == pytest.approx(222.0, rel=0.03)
    assert a.company_total.mean() == pytest.approx(3600.0 - 222.0, rel=0.005)
    losses = a.risk_losses().set_index("risk_id")
    assert losses.loc["R-01", "hit_rate"] == pytest.approx(0.3, abs=0.01)
    assert losses.loc["R-01", "mean_loss_if_hit"] == pytest.approx(500.0)
    hist = a.histogram()
    assert hist["share"].sum() == pytest.approx(1.0)
    assert hist.loc[hist["met"], "share"].sum() == pytest.approx(a.summary["p_target"], abs=0.002)


def test_scenarios_by_hand():
    q, _, expected, _ = _mc_inputs()
    dist = stats.norm(3600.0, 100.0)
    out = scenarios(q, dist, annual_target=3000.0, settings={"downside": (0.1, "likely"), "base": (0.5, "expected"),
                                                             "upside": (0.9, "none")}, likely_threshold=0.5,
                    expected=expected, payout=lambda sales: 0.05 * sales.sum()).set_index("scenario")
    # likely: R-02 (0.6 >= 0.5) in full (120) + R-01 at expected (150) = 270
    assert out.loc["downside", "risk_loss"] == pytest.approx(270.0)
    assert out.loc["downside", "revenue"] == pytest.approx(3600 - 128.1552 - 270, abs=1e-3)
    assert out.loc["base", "revenue"] == pytest.approx(3600 - 222.0)
    assert out.loc["upside", "attainment"] == pytest.approx((3600 + 128.1552) / 3000, abs=1e-6)
    assert out.loc["base", "cost_of_sales"] == pytest.approx(0.05)
    assert out.loc["base", "payout"] == pytest.approx(0.05 * (3600 - 222.0))


def test_sensitivity_with_fixed_outcomes_is_exact():
    q, expo, expected, _ = _mc_inputs()
    factors = np.ones((4, 3, 12))
    hits = np.array([[False, False], [True, False], [False, True], [True, True]])
    moves = assumption_moves(expected, {"price": 0.02, "attrition": 0.12}, growth_base=0.0)
    live = q.set_index("risk_id").loc[["R-01", "R-02"]]
    share = np.where(live["impact_kind"] == "share", live["impact_value"], 0.0)
    amount = np.where(live["impact_kind"] == "amount", live["impact_value"], 0.0)
    out = sensitivity(factors, hits, expected=expected, moves=moves, exposure=expo.loc[["R-01", "R-02"]].to_numpy(),
                      share=share, amount=amount, annual_target=3400.0).set_index("assumption")
    # totals of the base: 3600, 3100, 3480, 2980 -> mean 3290, P(>= 3400) = 2/4
    assert out.loc["price", "revenue_base"] == pytest.approx(3290.0)
    assert out.loc["price", "p_target_base"] == pytest.approx(0.5)
    # price +2%: 3672, 3172, 3549.6, 3049.6 (the fixed 500 does not scale)
    assert out.loc["price", "revenue_high"] == pytest.approx((3672 + 3172 + 3549.6 + 3049.6) / 4)
    # attrition: month m keeps 1 - 0.12 (m + 0.5) / 12; the year keeps 1 - 0.12 * 6 / 12 = 0.94
    assert moves["attrition"][1].to_numpy().sum() == pytest.approx(3600 * 0.94)


def test_ramp_move_only_touches_reps_still_ramping():
    expected = pd.DataFrame(np.full((2, 12), 100.0), index=["OLD", "NEW"], columns=MONTHS)
    hire = pd.Series({"OLD": pd.Timestamp("2015-01-01"), "NEW": pd.Timestamp("2026-12-01")})
    moves = assumption_moves(expected, {"ramp_months": 1.0}, growth_base=0.0, hire_date=hire, ramp_months=3)
    _, slow, fast = moves["ramp_months"]
    assert (slow.loc["OLD"] == 100.0).all() and (fast.loc["OLD"] == 100.0).all()
    # NEW: tenure 2 in Jan 2027; linear ramp k/(M+1): 2/4 base, 2/5 slow, 2/3 fast
    assert slow.loc["NEW"].iloc[0] == pytest.approx(100 * (2 / 5) / (2 / 4))
    assert fast.loc["NEW"].iloc[0] == pytest.approx(100 * (2 / 3) / (2 / 4))
    assert slow.loc["NEW"].iloc[6] == pytest.approx(100.0)


def test_concentration_and_coverage_by_hand():
    sales = pd.DataFrame({"customer_id": ["A", "A", "B", "C", "D"], "amount": [50.0, 10.0, 20.0, 10.0, 10.0],
                          "rep_id": ["R1", "R1", "R2", "R3", "R3"], "region": ["East", "East", "East", "West", "West"]})
    out = concentration(sales, top_reps=1)
    summary = out["summary"].set_index("metric")["value"]
    assert summary["top_customer_share"] == pytest.approx(0.6)
    assert summary["customer_hhi"] == pytest.approx(0.6**2 + 0.2**2 + 0.1**2 + 0.1**2)
    assert summary["top1_reps_share"] == pytest.approx(0.6)
    assert summary["reps_for_half_of_revenue"] == 1
    east = out["by_region"].set_index("region").loc["East"]
    assert east["hhi"] == pytest.approx(0.75**2 + 0.25**2)
    pipe = pd.DataFrame({"opportunity_id": ["o1", "o2", "o3", "o4"], "rep_id": ["R1", "R2", "R3", "R1"],
                         "stage": ["Propose", "Closed Won", "Develop", "Propose"], "amount": [100.0, 500.0, 40.0, 70.0],
                         "expected_close": pd.to_datetime(["2027-02-01", "2027-03-01", "2027-12-31", "2028-01-05"]),
                         "probability": [0.5, 1.0, 0.25, 0.5]})
    cov = pipeline_coverage(pipe, remaining_target=pd.Series({"East": 200.0, "West": 20.0}),
                            region_of=pd.Series({"R1": "East", "R2": "East", "R3": "West"}),
                            start="2027-01-01", end="2027-12-31", exclude_stages=["Closed Won"]).set_index("region")
    assert cov.loc["East", "open_pipeline"] == 100.0 and cov.loc["East", "weighted_coverage"] == pytest.approx(0.25)
    assert cov.loc["West", "coverage"] == pytest.approx(2.0)
    assert cov.loc["Total", "weighted_pipeline"] == pytest.approx(60.0)
    flags = concentration_flags(out, cov.reset_index(), Risk(top_reps=1)).set_index("check")
    assert flags.loc["largest customer's share of revenue", "status"] == "watch"
    assert flags.loc["weighted pipeline / remaining target", "value"] == pytest.approx(60 / 220)


def test_plan_year_splits_forecast_by_trailing_share_and_targets():
    forecast = pd.DataFrame({"region": "East", "product": "Instruments", "ds": MONTHS[:2], "yhat": [300.0, 600.0]})
    sales = pd.DataFrame({"date": pd.to_datetime(["2026-03-01", "2026-05-01", "2026-06-01", "2020-01-01"]),
                          "amount": [100.0, 200.0, 50.0, 999.0], "rep_id": ["R1", "R2", "R3", "R1"],
                          "customer_id": ["A", "B", "C", "A"], "product": "Instruments"})
    reps = pd.DataFrame({"rep_id": ["R1", "R2", "R3"], "region": ["East", "East", "East"], "team": "East-1",
                         "hire_date": pd.to_datetime(["2015-01-01", "2016-01-01", "2016-01-01"]),
                         "exit_date": pd.to_datetime([None, None, "2026-10-01"])})
    year = build_plan_year(forecast, sales, reps, MONTHS[:2], as_of="2026-11-26")
    assert list(year.expected.index) == ["R1", "R2"]  # R3 left before the plan year
    assert year.expected.loc["R1"].tolist() == pytest.approx([100.0, 200.0])  # 1/3 of the forecast
    targets = pd.DataFrame({"rep_id": ["R1", "R2", "R1", "R2"], "month": [MONTHS[0], MONTHS[0], MONTHS[1], MONTHS[1]],
                            "target": [1.0, 1.0, 0.0, 1.0]})
    tilted = build_plan_year(forecast, sales, reps, MONTHS[:2], as_of="2026-11-26", rep_targets=targets)
    # month 1: shares 1/3, 2/3 times targets 1, 1 -> 1/3, 2/3; month 2: R1 has no target -> all to R2
    assert tilted.expected.loc["R1"].tolist() == pytest.approx([100.0, 0.0])
    assert tilted.expected.sum().tolist() == pytest.approx([300.0, 600.0])
    assert year.customer_share.to_dict("list") == {"rep_id": ["R1", "R2"], "customer_id": ["A", "B"],
                                                   "share": [1.0, 1.0]}


def test_customer_shares_held_long_equal_the_rep_by_customer_grid():
    # R1: A 300, B 100 (and -50 of returns of B: B nets 50) -> A 300/350, B 50/350; R2: C returned more than
    # it bought (-20, clipped to 0) and D 80 -> total 60: C 0, D 80/60; R3 sold nothing in the window.
    sales = pd.DataFrame({"date": pd.to_datetime(["2026-03-01", "2026-04-01", "2026-05-01", "2026-06-01",
                                                  "2026-07-01", "2026-08-01", "2025-01-01"]),
                          "amount": [300.0, 100.0, -50.0, -20.0, 80.0, 10.0, 500.0],
                          "rep_id": ["R1", "R1", "R1", "R2", "R2", "R9", "R3"],
                          "customer_id": ["A", "B", "B", "C", "D", "A", "E"], "product": "Instruments"})
    reps = pd.DataFrame({"rep_id": ["R1", "R2", "R3"], "region": "East", "team": "East-1",
                         "hire_date": pd.to_datetime(["2015-01-01"] * 3), "exit_date": pd.NaT})
    forecast = pd.DataFrame({"region": "East", "product": "Instruments", "ds": MONTHS[:2], "yhat": [300.0, 600.0]})
    long = build_plan_year(forecast, sales, reps, MONTHS[:2], as_of="2026-11-26").customer_share
    assert long.to_dict("list") == {"rep_id": ["R1", "R1", "R2", "R2"], "customer_id": ["A", "B", "C", "D"],
                                    "share": [300 / 350, 50 / 350, 0.0, 80 / 60]}
    # the grid the plan year used to hold: every rep of the roster by every customer, zeros where none
    recent = sales[(sales["date"] >= "2025-11-01") & (sales["rep_id"] != "R9")]
    grid = recent.groupby(["rep_id", "customer_id"])["amount"].sum().clip(lower=0).unstack(fill_value=0.0)
    total = recent.groupby("rep_id")["amount"].sum()
    grid = grid.reindex(["R1", "R2", "R3"], fill_value=0.0).div(total.reindex(["R1", "R2", "R3"]).where(
        lambda s: s > 0, np.inf), axis=0).fillna(0.0)
    assert long.pivot(index="rep_id", columns="customer_id", values="share").reindex(
        index=grid.index, columns=grid.columns).fillna(0.0).equals(grid)
    # the risk register reads the same exposure from either: a customer risk lands on R1 and R2 as the grid says
    register = validate_register(_register({"driver": "customer:B", "impact": "10%"},
                                           {"driver": "customer:D", "impact": "10%"},
                                           {"driver": "customer:Z", "impact": "10%"}),
                                 drivers={**DRIVERS, "customer": {"B", "D", "Z"}})
    roster = reps.set_index("rep_id")
    expo = driver_exposure(register, reps=roster, product_mix=pd.DataFrame(index=roster.index), customer_mix=long)
    assert expo.to_numpy().tolist() == [grid["B"].tolist(), grid["D"].tolist(), [0.0, 0.0, 0.0]]


def test_headlines_quote_the_tables():
    q, expo, expected, shocks = _mc_inputs()
    mc = run_monte_carlo(expected, region_of=_reps()["region"], shocks=shocks, rep_sd=0.1, register=q, exposure=expo,
                         annual_target=3000.0, n_sims=2000, seed=1)
    table = pd.DataFrame({"scenario": ["downside", "base"], "revenue": [2500.0, 3300.0], "attainment": [2500 / 3000,
                                                                                                        1.1]})
    tornado = pd.DataFrame({"assumption": ["price", "growth"], "step": ["±2.0% price", "±2.0 pts"],
                            "swing": [0.05, -0.20]})
    facts = headlines(mc, q, table, tornado)
    assert facts["top_risk"] == "R-01" and facts["top_risk_loss"] == pytest.approx(150.0)  # 0.3 * 500 > 0.6 * 120
    assert facts["expected_loss"] == pytest.approx(222.0)
    assert facts["downside_attainment"] == pytest.approx(2500 / 3000)
    assert facts["top_assumption"] == "growth" and facts["top_assumption_swing"] == pytest.approx(-0.20)
    assert facts["p_target"] == pytest.approx(float(np.mean(mc.company_total >= 3000.0)))


def test_risk_keeps_every_name_and_each_module_registers_its_stages():
    import planlib.risk as risk
    from planlib.core.graph import STAGE_MODULES, stages

    missing = [name for name in risk.__all__ if not hasattr(risk, name)]
    assert missing == []
    owners = {name: st.module for name, st in stages().items()}
    assert {name: owners[name] for name in ("risk_model", "risk_register", "monte_carlo", "scenarios",
                                            "sensitivity", "concentration")} == {
        "risk_model": "planlib.risk.plan_year", "risk_register": "planlib.risk.register",
        "monte_carlo": "planlib.risk.montecarlo", "scenarios": "planlib.risk.scenarios", "sensitivity": "planlib.risk.scenarios",
        "concentration": "planlib.risk.concentration"}
    assert {"planlib.risk.plan_year", "planlib.risk.register", "planlib.risk.montecarlo", "planlib.risk.scenarios",
            "planlib.risk.concentration"} <= set(STAGE_MODULES)


def test_what_if_for_is_a_named_function_of_the_three_moves():
    import inspect

    from planlib.risk import what_if_for

    bound = what_if_for(plan=None)
    assert bound.__name__ == "what_if_of_plan"
    assert list(inspect.signature(bound).parameters) == ["growth", "price", "attrition"]
    with pytest.raises(TypeError, match="'NoneType' object is not subscriptable"):
        bound(growth=0.01)


def test_simulated_risks_are_the_rows_the_monte_carlo_draws():
    from planlib.risk import simulated_risks

    register = pd.DataFrame({"risk_id": ["R1", "R2", "R3"], "simulated": [True, False, True]})
    assert simulated_risks(register)["risk_id"].tolist() == ["R1", "R3"]
    empty = pd.DataFrame({"risk_id": [], "simulated": []})  # object dtype: still a row filter, not columns
    assert simulated_risks(empty).columns.tolist() == ["risk_id", "simulated"] and simulated_risks(empty).empty
    unquantified = pd.DataFrame({"risk_id": ["R1", "R2"]})
    assert simulated_risks(unquantified)["risk_id"].tolist() == ["R1", "R2"]


def test_a_driver_reads_as_words_on_the_page():
    from planlib.risk import driver_in_words

    assert [driver_in_words(d) for d in ("region:Süd", "customer:C00042", "team: East-1", "company", "")] == [
        "region Süd", "customer C00042", "team East-1", "whole company", "whole company"]
    assert driver_in_words("other:x") == "other:x"  # not a driver planlib knows: shown as written
