"""Tests of planlib.forecast.reconcile and of reconciled forecasts: they add up, and their intervals are consistent."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planlib.core.errors import ForecastError
from planlib.forecast.engine import forecast
from planlib.forecast.reconcile import (
    hierarchy_from_panel,
    projection,
    reconcile,
    shrink_correlation,
    summing_matrix,
)

REGIONS, PRODUCTS = ("East", "West"), ("Kits", "Service")
SEASON = np.array([0.8, 0.9, 1.1, 1.0, 1.2, 1.3, 1.0, 0.9, 1.1, 1.2, 1.4, 0.7])


def hierarchy_panel(n=48, seed=0):
    """Company, 2 regions, 2 products and 4 region x product cells, the aggregates summed from the cells."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    ds = pd.date_range("2022-01-01", periods=n, freq="MS")
    cells = {}
    for i, (r, p) in enumerate([(r, p) for r in REGIONS for p in PRODUCTS]):
        cells[(r, p)] = (100 + 40 * i) * (1.01 ** t) * SEASON[t % 12] * np.exp(rng.normal(0, 0.08, n))
    rows = []

    def add(uid, level, region, product, y):
        rows.append(pd.DataFrame({"unique_id": uid, "ds": ds, "y": y, "level": level, "region": region,
                                  "product": product}))

    add("company", "company", None, None, sum(cells.values()))
    for r in REGIONS:
        add(f"region/{r}", "region", r, None, sum(cells[(r, p)] for p in PRODUCTS))
    for p in PRODUCTS:
        add(f"product/{p}", "product", None, p, sum(cells[(r, p)] for r in REGIONS))
    for (r, p), y in cells.items():
        add(f"region_product/{r}/{p}", "region_product", r, p, y)
    return pd.concat(rows, ignore_index=True)


def test_hierarchy_from_panel_finds_the_cells_under_each_series():
    h = hierarchy_from_panel(hierarchy_panel(n=3))
    members = h.groupby("unique_id")["bottom_id"].apply(sorted).to_dict()
    assert members["company"] == sorted(f"region_product/{r}/{p}" for r in REGIONS for p in PRODUCTS)
    assert members["region/East"] == ["region_product/East/Kits", "region_product/East/Service"]
    assert members["product/Service"] == ["region_product/East/Service", "region_product/West/Service"]
    assert members["region_product/West/Kits"] == ["region_product/West/Kits"]
    s = summing_matrix(h)
    assert s.shape == (9, 4) and s.loc["company"].sum() == 4 and s.to_numpy().sum() == 4 + 4 + 4 + 4


def test_summing_matrix_rejects_a_bottom_series_that_is_not_its_own_member():
    bad = pd.DataFrame({"unique_id": ["total", "total", "a"], "bottom_id": ["a", "b", "a"]})
    with pytest.raises(ForecastError, match=r"bottom series \['b'\] must each be listed"):
        summing_matrix(bad)


def small_s():
    # total = a + b
    return np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])


def test_mint_with_identity_covariance_is_the_ols_projection_by_hand():
    s, base = small_s(), np.array([100.0, 30.0, 50.0])
    bottom = projection(s, "mint", base, np.eye(3)) @ base
    # OLS: a~ = (T + 2a - b) / 3, b~ = (T + 2b - a) / 3
    np.testing.assert_allclose(bottom, [(100 + 60 - 50) / 3, (100 + 100 - 30) / 3])


def test_mint_trusts_the_series_with_the_smaller_error_variance():
    s, base = small_s(), np.array([100.0, 30.0, 50.0])
    sure_total = projection(s, "mint", base, np.diag([1e-6, 1.0, 1.0])) @ base
    assert sure_total.sum() == pytest.approx(100.0, abs=1e-4)
    sure_parts = projection(s, "mint", base, np.diag([1.0, 1e-6, 1e-6])) @ base
    np.testing.assert_allclose(sure_parts, [30.0, 50.0], atol=1e-4)


def test_top_down_splits_the_total_by_forecast_proportions():
    s, base = small_s(), np.array([100.0, 30.0, 50.0])
    np.testing.assert_allclose(projection(s, "top_down", base, np.eye(3)) @ base, [37.5, 62.5])
    # no positive forecast below the total: an even split
    np.testing.assert_allclose(projection(s, "top_down", np.array([80.0, -1.0, 0.0]), np.eye(3))
                               @ np.array([80.0, -1.0, 0.0]), [40.0, 40.0])


def test_top_down_needs_a_total():
    s = np.array([[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ForecastError, match="needs a series that contains all others"):
        projection(s, "top_down", np.array([1.0, 2.0]), np.eye(2))


def test_bottom_up_total_interval_depends_on_how_the_parts_move_together():
    s = small_s()
    base = np.array([[80.0], [30.0], [50.0]])
    sd = np.array([[99.0], [3.0], [4.0]])
    _, independent = reconcile(base, sd, np.eye(3), s, "bottom_up")
    assert independent[0, 0] == pytest.approx(5.0)  # sqrt(3^2 + 4^2): narrower than 3 + 4
    together = np.array([[1.0, 0, 0], [0, 1.0, 1.0], [0, 1.0, 1.0]])
    bottom, locked = reconcile(base, sd, together, s, "bottom_up")
    assert locked[0, 0] == pytest.approx(7.0)  # perfectly correlated parts: the sum of their spreads
    np.testing.assert_allclose(bottom[:, 0], [30.0, 50.0])
    np.testing.assert_allclose(locked[1:, 0], [3.0, 4.0])


def test_shrunk_correlation_is_a_valid_correlation_matrix():
    rng = np.random.default_rng(0)
    common = rng.normal(size=(30, 1))
    z = np.hstack([common + 0.3 * rng.normal(size=(30, 1)), common + 0.3 * rng.normal(size=(30, 1)),
                   rng.normal(size=(30, 1)), np.zeros((30, 1))])
    r = shrink_correlation(z)
    np.testing.assert_allclose(np.diag(r), 1.0)
    np.testing.assert_allclose(r, r.T)
    assert np.all(np.linalg.eigvalsh(r) > -1e-12)
    assert r[0, 1] > 0.5 and abs(r[0, 2]) < 0.5 and r[0, 3] == 0.0


@pytest.fixture(scope="module")
def panel():
    return hierarchy_panel()


@pytest.mark.parametrize("method", ["bottom_up", "top_down", "mint"])
def test_reconciled_forecasts_add_up_exactly(panel, method):
    result = forecast(panel[["unique_id", "ds", "y"]], 14, models=("snaive", "theta", "drift"), n_jobs=1,
                      hierarchy=hierarchy_from_panel(panel), reconciliation=method)
    assert result.reconciliation == method
    fc = result.forecasts.pivot(index="ds", columns="unique_id", values="yhat")
    cells = [f"region_product/{r}/{p}" for r in REGIONS for p in PRODUCTS]
    np.testing.assert_allclose(fc["company"], fc[cells].sum(axis=1), rtol=0, atol=1e-6)
    for r in REGIONS:
        np.testing.assert_allclose(fc[f"region/{r}"], fc[[f"region_product/{r}/{p}" for p in PRODUCTS]].sum(axis=1),
                                   rtol=0, atol=1e-6)
    for p in PRODUCTS:
        np.testing.assert_allclose(fc[f"product/{p}"], fc[[f"region_product/{r}/{p}" for r in REGIONS]].sum(axis=1),
                                   rtol=0, atol=1e-6)
    # The total's spread is no more than the parts' spreads added up, nor less than independent parts give.
    sd = result.sd.pivot(index="ds", columns="unique_id", values="sd")
    assert np.all(sd["company"] <= sd[cells].sum(axis=1) + 1e-6)
    if method != "top_down":
        assert np.all(sd["company"] >= np.sqrt((sd[cells] ** 2).sum(axis=1)) * 0.5)
    assert np.all(np.isfinite(result.forecasts.select_dtypes("number").to_numpy()))
    dist = result.total_distribution("company", "2026-01-01", "2026-12-01")
    assert dist.mean() == pytest.approx(fc.loc["2026", cells].to_numpy().sum(), rel=1e-6)


def test_bottom_up_keeps_the_cells_base_forecasts(panel):
    h = hierarchy_from_panel(panel)
    base = forecast(panel[["unique_id", "ds", "y"]], 6, models=("snaive", "theta"), n_jobs=1)
    bottom_up = forecast(panel[["unique_id", "ds", "y"]], 6, models=("snaive", "theta"), n_jobs=1, hierarchy=h,
                         reconciliation="bottom_up")
    cells = base.forecasts["unique_id"].str.startswith("region_product/")
    np.testing.assert_allclose(bottom_up.forecasts.loc[cells, "yhat"], base.forecasts.loc[cells, "yhat"])
    np.testing.assert_allclose(bottom_up.forecasts.loc[cells, "hi_80"], base.forecasts.loc[cells, "hi_80"])


def test_a_hierarchy_naming_unknown_series_is_an_error(panel):
    h = pd.concat([hierarchy_from_panel(panel), pd.DataFrame({"unique_id": ["ghost"], "bottom_id": ["ghost"]})])
    with pytest.raises(ForecastError, match=r"hierarchy names series not in the panel: \['ghost'\]"):
        forecast(panel[["unique_id", "ds", "y"]], 3, models=("snaive",), n_jobs=1, hierarchy=h)


def test_the_forecast_stage_runs_to_the_end_of_the_plan_year_and_adds_up(panel):
    from planlib.core.config import parse_config
    from planlib.core.graph import Plan

    cfg = parse_config({
        "company": {"name": "Test Co", "currency": "CNY", "country": "CN"},
        "fiscal": {"year": 2026, "start_month": 4},
        "as_of": "2025-12-10",
        "data": {"sales": {"path": "sales.csv"}, "reps": {"path": "reps.csv"}},
        "forecast": {"models": ["snaive", "theta"], "n_jobs": 1, "reconciliation": "bottom_up"},
    })
    plan = Plan(cfg, cache_dir=None)
    # history ends 2025-12 (the last month closed before 2025-12-10 is 2025-11): later rows are left out
    plan._results["history"] = panel.assign(team=None, rep_id=None)
    result = plan["forecast"]
    fc = result.forecasts
    # FY2026 starting in April: 2025-04..2026-03, so the forecast runs 2025-12..2026-03
    assert fc["ds"].min() == pd.Timestamp("2025-12-01") and fc["ds"].max() == pd.Timestamp("2026-03-01")
    assert fc["unique_id"].nunique() == 9 and result.reconciliation == "bottom_up"
    wide = fc.pivot(index="ds", columns="unique_id", values="yhat")
    cells = [c for c in wide.columns if c.startswith("region_product/")]
    np.testing.assert_allclose(wide["company"], wide[cells].sum(axis=1), rtol=0, atol=1e-6)
    assert result.history["ds"].max() == pd.Timestamp("2025-11-01")
