"""Tests of planlib.risk.plan_year: the forecast split over reps by capacity, with rep and product totals kept."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planlib.risk.plan_year import _fit_products, build_plan_year

MONTHS = pd.date_range("2027-01-01", periods=2, freq="MS")
SALES = pd.DataFrame({"date": pd.to_datetime(["2026-03-01", "2026-04-01", "2026-05-01", "2026-06-01"]),
                      "amount": [300.0, 100.0, 50.0, 80.0], "rep_id": ["R1", "R1", "R3", "R4"],
                      "customer_id": ["A", "B", "C", "D"],
                      "product": ["Instruments", "Services", "Instruments", "Services"]})
REPS = pd.DataFrame({"rep_id": ["R1", "R2", "R3", "R4"], "region": ["East", "East", "West", "West"],
                     "team": ["East-1", "East-1", "West-1", "West-1"],
                     "hire_date": pd.to_datetime(["2015-01-01", "2026-12-01", "2016-01-01", "2016-01-01"]),
                     "exit_date": pd.to_datetime([None, None, None, None])})


def _forecast(region: str, instruments: list[float], services: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"region": region, "product": ["Instruments"] * 2 + ["Services"] * 2,
                         "ds": list(MONTHS) * 2, "yhat": instruments + services})


def _capacity(rows: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame([{"rep_id": rep, "month": m, "capacity": c} for rep, caps in rows.items()
                         for m, c in zip(MONTHS, caps)])


def test_forecast_goes_to_reps_in_proportion_to_capacity():
    forecast = pd.concat([_forecast("East", [300.0, 600.0], [100.0, 200.0]),
                          _forecast("West", [50.0, 50.0], [50.0, 50.0])])
    # R2 is a new hire ramping: a quarter of R1's capacity in January, half in February
    capacity = _capacity({"R1": [400.0, 400.0], "R2": [100.0, 200.0], "R3": [0.0, 0.0], "R4": [0.0, 10.0]})
    year = build_plan_year(forecast, SALES, REPS, MONTHS, as_of="2026-11-26", capacity=capacity)
    # East: 400 in January split 400:100 -> 320, 80; 800 in February split 400:200 -> 533.3, 266.7
    assert year.expected.loc["R1"].tolist() == pytest.approx([320.0, 1600 / 3])
    assert year.expected.loc["R2"].tolist() == pytest.approx([80.0, 800 / 3])
    # West: nobody has capacity in January (equal split, noted); February all to R4
    assert year.expected.loc["R3"].tolist() == pytest.approx([50.0, 0.0])
    assert year.expected.loc["R4"].tolist() == pytest.approx([50.0, 100.0])
    assert any("West: no rep capacity in 2027-01" in note for note in year.notes)
    # the forecast's total is kept, month by month
    assert year.expected.sum().tolist() == pytest.approx([500.0, 900.0])
    # every rep sells each product in the ratio that keeps the product forecasts: East is 3:1
    # Instruments, and R1's own 3:1 mix already fits it, so the new hire gets the region's mix too
    east = year.product_mix.loc[["R1", "R2"], "Instruments"]
    assert east.tolist() == pytest.approx([0.75, 0.75], abs=1e-6)
    instruments = (year.expected.loc[["R1", "R2"]].sum(axis=1) * east).sum()
    assert instruments == pytest.approx(900.0, rel=1e-6)


def test_rep_missing_from_capacity_is_expected_to_sell_nothing():
    forecast = _forecast("East", [100.0, 100.0], [0.0, 0.0])
    capacity = _capacity({"R1": [10.0, 30.0]})
    year = build_plan_year(forecast, SALES, REPS[REPS["region"] == "East"], MONTHS, as_of="2026-11-26",
                           capacity=capacity)
    assert year.expected.loc["R2"].tolist() == [0.0, 0.0]
    assert year.expected.loc["R1"].tolist() == pytest.approx([100.0, 100.0])


def test_fit_products_meets_rep_and_product_totals():
    seed = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]]) + 0.01
    reps = np.array([[100.0, 50.0], [60.0, 10.0], [40.0, 40.0]])
    products = np.array([[120.0, 20.0], [80.0, 80.0]])
    fitted = _fit_products(seed, reps, products)
    np.testing.assert_allclose(fitted.sum(axis=1), reps, rtol=1e-9)
    np.testing.assert_allclose(fitted.sum(axis=0), products, rtol=1e-8)
    # a seed that already fits is only scaled: shares stay the seed's
    even = np.full((2, 2), 0.5)
    same = _fit_products(even, np.array([[10.0], [30.0]]), np.array([[20.0], [20.0]]))
    np.testing.assert_allclose(same[:, :, 0], [[5.0, 5.0], [15.0, 15.0]])


# --------------------------------------------------------------------------- a product first sold three months ago
def _gadgets_plan(tmp_path, shock_level):
    """The tiny company with Gadgets, sold only in East (by R001) since 2026-08."""
    import planlib
    from tiny_project import SECOND_NOTEBOOK, make_project

    config = make_project(tmp_path, {"a.ipynb": SECOND_NOTEBOOK})
    sales = tmp_path / "data" / "sales.csv"
    sales.write_text(sales.read_text() + "".join(
        f"G{m},2026-{m:02d}-10,900.00,1,R001,C00001,Customer East,Gadgets,East\n" for m in (8, 9, 10)))
    config.write_text(config.read_text() + f"risk:\n  shock_level: {shock_level}\n")
    return planlib.Plan.from_config(config, cache_dir=tmp_path / "cache")


@pytest.mark.parametrize("shock_level", ["region_product", "region"])
def test_a_new_product_plans_with_borrowed_shocks(tmp_path, shock_level):
    """Gadgets has no year-on-year history: the risk model borrows East's shocks for it and says so."""
    plan = _gadgets_plan(tmp_path, shock_level)
    model = plan["risk_model"]
    if shock_level == "region_product":
        assert ("shocks of East/Gadgets: 0 of the 12 months of year-on-year history needed (first sold recently); "
                "it takes the shocks of its region East (the size and co-movement of East/Instruments, "
                "East/Services)") in model.notes
        assert model.shocks.sd["East/Gadgets"] == pytest.approx(
            np.sqrt(np.mean(np.square(model.shocks.sd[["East/Instruments", "East/Services"]]))))
    else:
        assert sorted(model.shocks.sd.index) == ["East", "West"] and not model.shocks.notes
    assert 0 <= plan["monte_carlo"].summary["p_target"] <= 1


def test_a_new_product_gets_no_target_in_a_region_that_never_sold_it(tmp_path):
    plan = _gadgets_plan(tmp_path, "region")
    targets = plan["targets"]
    gadgets = targets[(targets["product"] == "Gadgets") & (targets["period_type"] == "year")]
    by_entity = gadgets.groupby(["level", "entity"])["target"].sum()
    assert by_entity[("region_product", "East")] == gadgets.loc[gadgets["level"] == "product", "target"].sum() > 0
    inputs = plan["allocation"].inputs
    seed = pd.DataFrame(inputs.region_product_seed, index=inputs.regions, columns=inputs.products)
    assert seed.loc["West", "Gadgets"] == 0  # never sold there: no share to round up into a target
    assert by_entity[("region_product", "West")] == 0 and by_entity[("team_product", "West-1")] == 0
    assert by_entity[("rep_product", "R002")] == 0


def test_a_region_forecast_above_its_capacity_is_expected_to_sell_its_capacity():
    forecast = pd.concat([_forecast("East", [300.0, 600.0], [100.0, 200.0]),
                          _forecast("West", [50.0, 50.0], [50.0, 50.0])])
    capacity = _capacity({"R1": [400.0, 400.0], "R2": [100.0, 200.0], "R3": [0.0, 0.0], "R4": [0.0, 10.0]})
    year = build_plan_year(forecast, SALES, REPS, MONTHS, as_of="2026-11-26", capacity=capacity,
                           cap_at_capacity=True)
    # East can sell 1,100 of its 1,200 forecast: every month and product x 11/12, split 4:1 then 2:1 as before
    assert year.expected.loc["R1"].tolist() == pytest.approx([320.0 * 11 / 12, 1600 / 3 * 11 / 12])
    assert year.expected.loc["R2"].tolist() == pytest.approx([80.0 * 11 / 12, 800 / 3 * 11 / 12])
    # West can sell 10 of 200: January's 5 split equally (nobody has capacity then), February's 5 to R4
    assert year.expected.loc["R3"].tolist() == pytest.approx([2.5, 0.0])
    assert year.expected.loc["R4"].tolist() == pytest.approx([2.5, 5.0])
    assert [n for n in year.notes if "above what" in n] == [
        "East: the forecast is 9.1% above what its reps and planned hires can sell; they are expected to sell "
        "their capacity",
        "West: the forecast is 1900.0% above what its reps and planned hires can sell; they are expected to sell "
        "their capacity"]
    # a region with room keeps its forecast
    roomy = build_plan_year(forecast[forecast["region"] == "East"], SALES, REPS[REPS["region"] == "East"], MONTHS,
                            as_of="2026-11-26", capacity=_capacity({"R1": [900.0, 900.0], "R2": [0.0, 0.0]}),
                            cap_at_capacity=True)
    assert roomy.expected.sum().tolist() == pytest.approx([400.0, 800.0])
