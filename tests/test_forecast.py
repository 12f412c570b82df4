"""Tests of the forecast engine and its helpers: known answers, robustness on messy series, intervals, parallel runs."""
from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from planlib.forecast import models as _models
from planlib.core.errors import ForecastError
from planlib.forecast.calibration import _bias, _isotonic
from planlib.forecast.diagnostics import accuracy_table, fan_chart_table, trust_assessment
from planlib.forecast.engine import forecast, season_length_of
from planlib.forecast.stage import plan_horizon

FAST = ("snaive", "drift", "theta")
SEASON = np.array([0.8, 0.9, 1.1, 1.0, 1.2, 1.3, 1.0, 0.9, 1.1, 1.2, 1.4, 0.7])


def panel_of(values: dict[str, np.ndarray], start="2022-01-01", freq="MS") -> pd.DataFrame:
    rows = [pd.DataFrame({"unique_id": uid, "ds": pd.date_range(start, periods=len(v), freq=freq), "y": v})
            for uid, v in values.items()]
    return pd.concat(rows, ignore_index=True)


def seasonal_series(n, level=100.0, growth=0.01, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return level * (1 + growth) ** t * SEASON[t % 12] * np.exp(rng.normal(0, noise, n))


def all_finite(result):
    return bool(np.all(np.isfinite(result.forecasts.select_dtypes("number").to_numpy())))


# --------------------------------------------------------------------------- known answers
def test_pure_seasonal_series_is_forecast_exactly_by_seasonal_naive_and_chosen():
    y = np.tile(SEASON * 100, 4)
    models = ("snaive", "drift", "theta", "holt_winters")
    result = forecast(panel_of({"a": y}), 12, models=models, combine=False, n_jobs=1)
    np.testing.assert_allclose(result.forecasts["yhat"].to_numpy(), SEASON * 100, rtol=0, atol=1e-9)
    chosen = result.backtest[result.backtest["chosen"]]
    assert chosen["model"].tolist() == ["snaive"]
    assert chosen["mase"].iloc[0] == 0.0
    assert result.forecasts["model"].unique().tolist() == ["snaive"]
    # Combined (the default), the forecast is the mean of Theta and Holt-Winters, each exact here.
    combined = forecast(panel_of({"a": y}), 12, models=models, n_jobs=1)
    assert combined.forecasts["model"].unique().tolist() == ["combo(theta+holt_winters)"]
    theta = combined.backtest.set_index("model").loc[["theta", "holt_winters"], "mase"].to_numpy()
    np.testing.assert_allclose(combined.forecasts["yhat"].to_numpy(), SEASON * 100, rtol=0, atol=1e-6)
    assert np.all(theta < 1e-6)


def test_linear_trend_is_extrapolated():
    t = np.arange(36)
    result = forecast(panel_of({"a": 100 + 5.0 * t}), 6, models=("drift", "theta", "snaive"), n_jobs=1)
    expected = 100 + 5.0 * np.arange(36, 42)
    np.testing.assert_allclose(result.forecasts["yhat"].to_numpy(), expected, rtol=0.01)


def test_mase_and_smape_by_hand_on_a_tiny_quarterly_series():
    # Quarterly, season 4, h=2, two origins: windows end after 8 and 10 quarters.
    y = np.array([10, 20, 30, 40, 12, 22, 33, 41, 15, 21, 36, 44], dtype=float)
    result = forecast(panel_of({"q": y}, freq="QS"), 2, freq="QS", models=("snaive",), origins=2,
                      combine=False, n_jobs=1)
    row = result.backtest.iloc[0]
    # origin 8: scale mean(|12-10|,|22-20|,|33-30|,|41-40|) = 2; forecasts 12, 22 vs 15, 21 -> MAE 2 -> 1.0
    # origin 10: scale mean(2,2,3,1,3,1) = 2; forecasts 33, 41 vs 36, 44 -> MAE 3 -> 1.5
    assert row["mase"] == pytest.approx((1.0 + 1.5) / 2)
    smape = np.mean([200 * 3 / 27, 200 * 1 / 43, 200 * 3 / 69, 200 * 3 / 85])
    assert row["smape"] == pytest.approx(smape)
    # totals over both origins: forecast 12 + 22 + 33 + 41 = 108 against 15 + 21 + 36 + 44 = 116
    assert row["bias"] == pytest.approx(-8 / 116)
    assert _models.mase_scale(y[:8], 4) == pytest.approx(2.0)
    # forecast of the next two quarters is last year's same quarters, moved up by the panel's shift: the backtest
    # forecasts ran low (year totals 4 and 6 below the actuals), and a lone series' sd is the panel's on its scale
    assert result.shift > 0
    np.testing.assert_allclose(result.forecasts["yhat"], np.array([15, 21]) + result.shift
                               * result.sd["sd"].to_numpy() / result.widening)
    assert list(result.forecasts["ds"]) == [pd.Timestamp("2025-01-01"), pd.Timestamp("2025-04-01")]


def test_backtest_windows_prefer_two_cycles_then_give_up_seasonal_models():
    assert _models.backtest_windows(58, 14, 12, 3) == ([24, 34, 44], 14, 24)
    assert _models.backtest_windows(48, 12, 12, 3) == ([24, 30, 36], 12, 24)
    ends, hb, min_train = _models.backtest_windows(28, 14, 12, 3)
    assert min_train == 13 and len(ends) == 3 and ends[0] >= 13 and ends[-1] + hb == 28
    assert _models.backtest_windows(1, 12, 12, 3) == ([], 0, 1)


def test_season_length_from_freq():
    assert season_length_of("MS") == 12
    assert season_length_of("QS") == 4
    assert season_length_of("QS-JAN") == 4
    with pytest.raises(ForecastError, match="season_length="):
        season_length_of("min")


@pytest.mark.parametrize("start_month, first, last, h", [
    (1, "2026-11-01", "2027-12-01", 14),
    (4, "2026-11-01", "2027-03-01", 5),
])
def test_plan_horizon_covers_the_rest_of_this_year_and_the_plan_year(start_month, first, last, h):
    got = plan_horizon("2026-10-01", 2027, start_month)
    assert got == (pd.Timestamp(first), pd.Timestamp(last), h)


def test_plan_horizon_of_a_past_plan_year_is_an_error():
    with pytest.raises(ForecastError, match="FY2026 ended"):
        plan_horizon("2026-12-01", 2026, 1)


# --------------------------------------------------------------------------- robustness
def test_fewer_than_two_seasonal_cycles_skips_seasonal_models_and_says_so():
    result = forecast(panel_of({"short": seasonal_series(18)}), 12, models=("holt_winters", "stl_ets", "snaive",
                                                                            "drift"), n_jobs=1)
    notes = result.notes[result.notes["kind"] == "short"]
    assert notes["reason"].str.contains(r"fewer than two seasonal cycles \(18 < 24\)").any()
    assert set(result.backtest["model"]) <= {"snaive", "drift", "combo(snaive+drift)"}
    assert len(result.forecasts) == 12 and all_finite(result)


def test_zeros_and_negatives_get_additive_models_only():
    y = seasonal_series(48)
    y[[5, 17]] = 0.0
    y[30] = -20.0
    fit = _models.fit_series(_models.SeriesTask("z", y, pd.Timestamp("2022-01-01"), "MS", 12, 6,
                                                ("holt_winters", "snaive"), 2))
    assert fit.log is False
    assert ("no_multiplicative", "zeros or negatives in the history: additive models only") in fit.notes
    positive = _models.fit_series(_models.SeriesTask("p", seasonal_series(48), pd.Timestamp("2022-01-01"), "MS",
                                                     12, 6, ("snaive",), 2))
    assert positive.log is True
    result = forecast(panel_of({"z": y}), 6, models=("holt_winters", "snaive"), n_jobs=1)
    assert all_finite(result) and (result.forecasts["lo_95"] >= 0).all()


def test_log_scale_forecasts_are_moved_to_the_mean_by_hand():
    # Residuals 0.1, -0.1, 0.2, -0.2 after a skipped start-up residual of 5: median 0, median absolute
    # deviation 0.15, sigma = 1.4826 x 0.15 = 0.22239, so the mean is exp(0.22239^2 / 2) = 1.025037 x.
    out = _models._mean_forecast(np.log([100.0, 200.0]), [5.0, 0.1, -0.1, 0.2, -0.2], True, 1, 0)
    np.testing.assert_allclose(out, np.array([100.0, 200.0]) * 1.025037, rtol=1e-6)
    # Two parameters spent on 4 residuals double the variance: exp(0.22239^2 x 4 / 2 / 2) = 1.050700 x.
    out = _models._mean_forecast(np.log([100.0]), [5.0, 0.1, -0.1, 0.2, -0.2], True, 1, 2)
    np.testing.assert_allclose(out, [105.0700], rtol=1e-6)
    # One spike (e = 3): median 0.1, deviations 0, .2, .1, .3, 2.9, MAD 0.2, so sigma 0.2965 (the
    # root mean square would be 1.35).
    spike = _models._mean_forecast(np.log([100.0]), [0.1, -0.1, 0.2, -0.2, 3.0], True, 0, 0)
    np.testing.assert_allclose(spike, [100.0 * np.exp((1.4826 * 0.2) ** 2 / 2)], rtol=1e-12)
    # One nearly empty month (e = -3) among steady ones adds nothing.
    np.testing.assert_allclose(_models._mean_forecast(np.log([100.0]), [0.0, 0.0, -3.0], True, 0, 0), [100.0])
    # No more residuals than parameters: nothing to estimate sigma from, the median stays.
    np.testing.assert_allclose(_models._mean_forecast(np.log([100.0]), [0.3, -0.3, 0.1], True, 0, 3), [100.0])
    np.testing.assert_array_equal(_models._mean_forecast(np.array([3.0]), [9.0], False, 0, 0), [3.0])


@pytest.mark.parametrize("n", [36, 48])
def test_holt_winters_on_lognormal_sales_recovers_the_noise_it_corrects_for(n):
    # Sales = seasonal level x lognormal noise with sigma 0.5, on the lengths plans have. The mean lies
    # exp(sigma^2 / 2) above the median, so 2 log(forecast / median) should average sigma^2 = 0.25.
    # The median comes from statsmodels directly; without the n / (n - k) inflation the in-sample
    # residuals give 0.13 (36 months) and 0.17 (48 months).
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    implied = []
    for seed in range(12):
        rng = np.random.default_rng(seed)
        y = pd.Series(100 * SEASON[np.arange(n) % 12] * np.exp(rng.normal(0, 0.5, n)),
                      index=pd.date_range("2000-01-01", periods=n, freq="MS"))
        mean = _models._holt_winters(y, 12, 12, True)
        median = np.exp(ExponentialSmoothing(np.log(y), trend="add", damped_trend=True, seasonal="add",
                                             seasonal_periods=12).fit(use_brute=False).forecast(12).to_numpy())
        np.testing.assert_allclose(mean / median, mean[0] / median[0])  # one factor for every month
        implied.append(2 * np.log(mean[0] / median[0]))
    assert np.mean(implied) == pytest.approx(0.25, abs=0.07), implied


def test_undamped_holt_winters_carries_a_steady_growth_on_where_the_damped_one_falls_short():
    # 48 months growing 1% a month with a fixed seasonal pattern: on the log scale a straight line plus a
    # season, so next year's months are 100 x 1.01^t x season exactly, and no noise to move to the mean.
    t = np.arange(48)
    y = pd.Series(100 * 1.01 ** t * SEASON[t % 12], index=pd.date_range("2000-01-01", periods=48, freq="MS"))
    ahead = np.arange(48, 60)
    truth = 100 * 1.01 ** ahead * SEASON[ahead % 12]
    np.testing.assert_allclose(_models._holt_winters_undamped(y, 12, 12, True), truth, rtol=1e-4)
    damped = _models._holt_winters(y, 12, 12, True)
    assert damped[11] < truth[11] * (1 - 1e-3)  # the damped trend has slowed the growth down by month 12
    assert "holt_winters_undamped" in _models.SEASONAL_MODELS
    assert not _models.available("holt_winters_undamped", 23, 12) and _models.available("holt_winters_undamped", 24, 12)


def test_theta_fits_a_positive_series_on_the_log_scale():
    # y = 100 x 1.02^t: its log is a straight line of slope log 1.02. Theta's forecast is the last value plus
    # half the line's slope per step (SES with alpha -> 1 plus the theta-2 line averaged with the theta-0 one),
    # so on the log scale it is 100 x 1.02^35 x 1.02^(h/2): growth at a steady rate, halved.
    g = pd.Series(100 * 1.02 ** np.arange(36), index=pd.date_range("2000-01-01", periods=36, freq="MS"))
    steps = np.arange(1, 7)
    expected = 100 * 1.02 ** 35 * 1.02 ** (steps / 2)
    np.testing.assert_allclose(_models._theta(g, 1, 6, True), expected, rtol=1e-5)
    # On the sales scale the slope is a fixed amount a month (the least-squares slope of 100 x 1.02^t), a
    # falling growth rate: every step lower than the log-scale forecast.
    raw = _models._theta(g, 1, 6, False)
    assert np.all(raw < expected * (1 - 1e-3))
    # With noise the forecast stays the log scale's median, exp() of statsmodels' Theta on log(y): no mean correction.
    from statsmodels.tsa.forecasting.theta import ThetaModel

    rng = np.random.default_rng(5)
    noisy = g * np.exp(rng.normal(0, 0.1, 36))
    res = ThetaModel(np.log(noisy), period=None, deseasonalize=False, method="add").fit()
    np.testing.assert_allclose(_models._theta(noisy, 1, 6, True), np.exp(res.forecast(6).to_numpy()), rtol=1e-9)


def test_stl_ets_stays_a_median_and_sarima_skips_its_diffuse_start():
    rng = np.random.default_rng(3)
    y = pd.Series(100 * SEASON[np.arange(36) % 12] * np.exp(rng.normal(0, 0.2, 36)),
                  index=pd.date_range("2000-01-01", periods=36, freq="MS"))
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel
    from statsmodels.tsa.forecasting.stl import STLForecast
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    stl = STLForecast(np.log(y), ETSModel, period=12, model_kwargs={"error": "add", "trend": "add",
                                                                    "damped_trend": True})
    np.testing.assert_allclose(_models._stl_ets(y, 12, 6, True),
                               np.exp(stl.fit(fit_kwargs={"disp": False}).forecast(6).to_numpy()), rtol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' note on too few observations for start parameters
        res = SARIMAX(np.log(y), order=(0, 1, 1), seasonal_order=(0, 1, 1, 12)).fit(disp=False)
        sarima = _models._sarima(y, 12, 6, True)
    r = np.asarray(res.resid)[13:]
    sigma = 1.4826 * np.median(np.abs(r - np.median(r)))
    expected = np.exp(res.forecast(6).to_numpy() + sigma ** 2 * len(r) / (len(r) - 2) / 2)
    np.testing.assert_allclose(sarima, expected, rtol=1e-9)
    assert abs(res.resid.iloc[0]) > 1  # the diffuse start the skip leaves out


@pytest.mark.parametrize("value", [0.0, 7.5])
def test_all_zero_and_constant_series_forecast_their_value(value):
    result = forecast(panel_of({"c": np.full(40, value)}), 5, n_jobs=1)
    fc = result.forecasts
    np.testing.assert_array_equal(fc["yhat"], np.full(5, value))
    assert (fc["lo_80"] <= value).all() and (fc["hi_80"] >= value).all() and all_finite(result)
    assert result.notes["kind"].eq("constant").any()
    # every backtest forecast equals the actuals, so no bias; the all-zero series is no exception
    assert result.backtest["bias"].eq(0.0).all() and np.isfinite(result.backtest.select_dtypes("number")).all().all()


def test_bias_against_an_all_zero_actual_is_a_share_of_the_forecast():
    assert _bias(np.zeros((2, 3)), np.full((2, 3), 5.0)) == 1.0
    assert _bias(np.zeros((2, 3)), np.zeros((2, 3))) == 0.0
    assert _bias(np.array([[10.0, -2.0]]), np.array([[9.0, -2.0]])) == pytest.approx(-1 / 12)


def test_single_observation_is_forecast_flat_with_a_note():
    result = forecast(panel_of({"one": np.array([42.0])}), 3, n_jobs=1)
    np.testing.assert_array_equal(result.forecasts["yhat"], [42.0, 42.0, 42.0])
    assert result.notes["kind"].eq("no_backtest").any()
    assert result.notes["reason"].str.contains("only 1 observation").any()
    assert result.backtest.empty  # nothing to score: no rows rather than NaN
    hi = result.forecasts["hi_80"].to_numpy()
    assert all_finite(result) and np.all(hi > 42.0) and np.all(np.diff(hi) >= 0)


def test_missing_months_are_filled_with_zero_and_noted():
    panel = panel_of({"gap": seasonal_series(36) + 10})
    panel = panel[~panel["ds"].isin(pd.to_datetime(["2022-03-01", "2023-07-01"]))]
    result = forecast(panel, 4, models=FAST, n_jobs=1)
    note = result.notes[result.notes["kind"] == "filled"]["reason"].iloc[0]
    assert note == "2 period(s) missing from the input filled with 0: 2022-03-01, 2023-07-01"
    hist = result.history.set_index("ds")["y"]
    assert len(hist) == 36 and hist[pd.Timestamp("2022-03-01")] == 0.0


def test_nan_and_inf_are_errors_naming_every_series_and_date():
    panel = panel_of({"a": seasonal_series(24), "b": seasonal_series(24)})
    panel.loc[(panel["unique_id"] == "a") & (panel["ds"] == "2022-05-01"), "y"] = np.nan
    panel.loc[(panel["unique_id"] == "b") & (panel["ds"] == "2023-02-01"), "y"] = np.inf
    with pytest.raises(ForecastError, match=r"2 value\(s\).*\n  - a: 2022-05-01\n  - b: 2023-02-01"):
        forecast(panel, 3, n_jobs=1)


def test_input_contract_errors_say_what_was_expected():
    panel = panel_of({"a": seasonal_series(24)})
    with pytest.raises(ForecastError, match=r"no column\(s\) \['amount'\].*y_col="):
        forecast(panel, 3, y_col="amount")
    off = panel.assign(ds=panel["ds"] + pd.Timedelta(days=14))
    with pytest.raises(ForecastError, match=r"not on the freq='MS' calendar.*\n  - a: 2022-01-15"):
        forecast(off, 3)
    with pytest.raises(ForecastError, match=r"more than one row.*\n  - a: 2022-01-01"):
        forecast(pd.concat([panel, panel.head(1)]), 3)
    with pytest.raises(ForecastError, match=r"unknown model\(s\) \['prophet'\]"):
        forecast(panel, 3, models=("prophet",))
    with pytest.raises(ForecastError, match="h must be at least 1"):
        forecast(panel, 0)


def test_declining_trend_never_forecasts_negative_sales():
    t = np.arange(48)
    y = np.maximum(1000 - 25.0 * t + 40 * np.sin(2 * np.pi * t / 12), 1.0)
    result = forecast(panel_of({"down": y}), 14, models=("drift", "snaive", "theta"), n_jobs=1)
    fc = result.forecasts
    assert (fc[["yhat", "lo_80", "lo_95", "hi_80", "hi_95"]] >= 0).all().all()
    assert fc["yhat"].iloc[-1] < y[-12:].mean()  # the decline is carried on, down to zero
    assert all_finite(result)


def test_statsmodels_warnings_are_captured_into_notes_not_printed(capsys):
    y = 100.0 + np.arange(48) * 1e-9  # almost constant: the optimiser fails to converge
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = forecast(panel_of({"flat": y}), 6, models=("holt_winters", "snaive"), n_jobs=1)
    assert [w for w in caught if "statsmodels" in (w.filename or "")] == []
    assert capsys.readouterr().err == ""
    warned = result.notes[result.notes["kind"] == "warning"]
    assert len(warned) >= 1
    assert warned["reason"].str.match(r"^holt_winters: ConvergenceWarning: Optimization failed to converge").all()


# --------------------------------------------------------------------------- intervals and distributions
@pytest.fixture(scope="module")
def monthly_result():
    values = {f"s{i}": seasonal_series(48, level=100 * (i + 1), noise=0.05 + 0.03 * i, seed=i) for i in range(6)}
    return forecast(panel_of(values), 14, models=FAST, n_jobs=1)


def test_intervals_nest_and_widen_with_the_horizon(monthly_result):
    fc = monthly_result.forecasts
    assert list(fc.columns) == ["unique_id", "ds", "yhat", "lo_80", "hi_80", "lo_95", "hi_95", "model"]
    assert (fc["lo_95"] <= fc["lo_80"]).all() and (fc["lo_80"] <= fc["yhat"]).all()
    assert (fc["yhat"] <= fc["hi_80"]).all() and (fc["hi_80"] <= fc["hi_95"]).all()
    width = (fc["hi_80"] - fc["yhat"]).to_numpy().reshape(6, 14)
    assert np.all(np.diff(width, axis=1) >= -1e-9)
    assert fc["ds"].min() == pd.Timestamp("2026-01-01") and fc["ds"].max() == pd.Timestamp("2027-02-01")


def test_total_distribution_matches_the_monthly_intervals(monthly_result):
    fc = monthly_result.forecasts
    one = fc[fc["unique_id"] == "s2"].iloc[0]
    dist = monthly_result.total_distribution("s2", one["ds"], one["ds"])
    assert dist.ppf(0.9) == pytest.approx(one["hi_80"], rel=1e-6)
    assert dist.ppf(0.1) == pytest.approx(one["lo_80"], rel=1e-6)
    year = fc[(fc["unique_id"] == "s2") & (fc["ds"].dt.year == 2026)]
    total = monthly_result.total_distribution("s2", "2026-01-01", "2026-12-01")
    assert total.mean() == pytest.approx(year["yhat"].sum(), rel=1e-6)
    sd = monthly_result.sd.query("unique_id == 's2' and ds.dt.year == 2026")["sd"].to_numpy()
    assert np.sqrt(np.sum(sd ** 2)) - 1e-9 <= total.std() <= np.sum(sd) + 1e-9
    rng = np.random.default_rng(5)
    draws = total.rvs(size=20000, random_state=rng)
    assert np.mean(draws) == pytest.approx(total.mean(), rel=0.01)
    assert total.sf(total.ppf(0.3)) == pytest.approx(0.7)


def test_total_distribution_counts_history_months_at_their_actual_value(monthly_result):
    hist = monthly_result.history.query("unique_id == 's0' and ds >= '2025-11-01'")["y"].sum()
    fc = monthly_result.forecasts.query("unique_id == 's0' and ds <= '2026-02-01'")["yhat"].sum()
    dist = monthly_result.total_distribution("s0", "2025-11-01", "2026-02-01")
    assert dist.mean() == pytest.approx(hist + fc, rel=1e-6)
    with pytest.raises(ForecastError, match=r"must lie within the history and horizon 2022-01-01\.\.2027-02-01"):
        monthly_result.total_distribution("s0", "2026-01-01", "2027-06-01")
    with pytest.raises(ForecastError, match="no forecast for series 'nope'"):
        monthly_result.total_distribution("nope", "2026-01-01", "2026-02-01")


def test_levels_asked_give_their_columns_only():
    result = forecast(panel_of({"a": seasonal_series(36)}), 3, levels=(50, 90), models=FAST, n_jobs=1)
    assert [c for c in result.forecasts.columns if c[:3] in ("lo_", "hi_")] == ["lo_50", "hi_50", "lo_90", "hi_90"]
    fc = result.forecasts
    assert ((fc["hi_90"] - fc["lo_90"]) > (fc["hi_50"] - fc["lo_50"])).all()
    assert "coverage_80" in result.backtest.columns


def test_quarterly_data_forecasts_on_quarter_starts():
    t = np.arange(24)
    quarter = np.array([1.1, 0.9, 1.2, 0.8])
    y = (100 + 3 * t) * quarter[t % 4]
    result = forecast(panel_of({"q": y}, freq="QS"), 4, freq="QS", models=FAST, n_jobs=1)
    assert list(result.forecasts["ds"]) == list(pd.date_range("2028-01-01", periods=4, freq="QS"))
    assert result.season_length == 4
    np.testing.assert_allclose(result.forecasts["yhat"], (100 + 3 * np.arange(24, 28)) * quarter, rtol=0.05)


# --------------------------------------------------------------------------- tables for the notebooks
def test_accuracy_table_and_trust_assessment_agree_with_the_backtest(monthly_result):
    acc = accuracy_table(monthly_result)
    bt = monthly_result.backtest
    assert list(acc.columns) == ["unique_id", "model", "mase", "smape", "coverage_80", "bias", "mase_snaive",
                                 "smape_snaive", "mase_vs_snaive"]
    naive = bt[bt["model"] == "snaive"].set_index("unique_id")["mase"]
    chosen = bt[bt["chosen"]].set_index("unique_id")["mase"]
    np.testing.assert_allclose(acc.set_index("unique_id")["mase_vs_snaive"], (chosen / naive).sort_index())
    trust = trust_assessment(monthly_result)
    assert trust["n_series"] == 6
    assert trust["mean_mase"] == pytest.approx(chosen.mean())
    assert trust["improvement_vs_snaive"] == pytest.approx(1 - chosen.mean() / naive.mean())
    assert trust["worst_series"] == chosen.idxmax() and trust["worst_mase"] == pytest.approx(chosen.max())
    assert trust["verdict"] in ("good", "usable", "weak")
    assert any(f"(MASE {chosen.max():.2f})" in r for r in trust["reasons"])
    # s5 has the most sales (level 600); its bias is the chosen row's, said in words
    s5 = bt[bt["chosen"] & (bt["unique_id"] == "s5")].iloc[0]
    assert trust["top_series"] == "s5" and trust["top_bias"] == pytest.approx(s5["bias"])
    side = "above" if s5["bias"] >= 0 else "below"
    assert (f"Added up over the backtests, the chosen model's forecasts of s5 (before the levels were made to add "
            f"up) came out {abs(s5['bias']):.1%} {side} what was sold." in trust["reasons"])


def test_fan_chart_table_joins_history_and_forecast(monthly_result):
    table = fan_chart_table(monthly_result, ["s1"], history_periods=6)
    assert list(table.columns) == ["unique_id", "ds", "kind", "y", "yhat", "lo_80", "hi_80", "lo_95", "hi_95",
                                   "model"]
    actual = table[table["kind"] == "actual"]
    assert len(actual) == 6 and actual["ds"].max() == pd.Timestamp("2025-12-01")
    bridge = table[(table["kind"] == "forecast") & (table["ds"] == pd.Timestamp("2025-12-01"))].iloc[0]
    assert bridge["yhat"] == bridge["lo_95"] == bridge["hi_80"] == actual["y"].iloc[-1]
    assert len(table[table["kind"] == "forecast"]) == 15


# --------------------------------------------------------------------------- running
def test_results_are_identical_across_runs_and_across_processes(monthly_result):
    values = {f"s{i}": seasonal_series(48, level=100 * (i + 1), noise=0.05 + 0.03 * i, seed=i) for i in range(6)}
    parallel = forecast(panel_of(values), 14, models=FAST, n_jobs=2)
    pd.testing.assert_frame_equal(parallel.forecasts, monthly_result.forecasts)
    pd.testing.assert_frame_equal(parallel.backtest, monthly_result.backtest)
    pd.testing.assert_frame_equal(parallel.notes, monthly_result.notes)


def test_dask_cluster_gives_the_local_results(monthly_result):
    distributed = pytest.importorskip("distributed")
    values = {f"s{i}": seasonal_series(48, level=100 * (i + 1), noise=0.05 + 0.03 * i, seed=i) for i in range(6)}
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        remote = forecast(panel_of(values), 14, models=FAST, scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(remote.forecasts, monthly_result.forecasts)
    pd.testing.assert_frame_equal(remote.backtest, monthly_result.backtest)


def test_a_scheduler_without_dask_installed_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now raises ImportError
    values = {f"s{i}": seasonal_series(36, seed=i) for i in range(2)}
    with pytest.raises(ForecastError, match=r"forecast.scheduler names a dask cluster \(tcp://10.0.0.5:8786\), but "
                                            r"dask.distributed is not installed: pip install 'planlib\[scale\]'"):
        forecast(panel_of(values), 12, models=FAST, scheduler="tcp://10.0.0.5:8786")


def test_progress_bar_shows_only_when_asked(capsys):
    panel = panel_of({"a": seasonal_series(30), "b": seasonal_series(30, seed=1)})
    forecast(panel, 2, models=("snaive",), n_jobs=1, progress=False)
    assert capsys.readouterr().err == ""
    forecast(panel, 2, models=("snaive",), n_jobs=1, progress=True)
    assert "forecast" in capsys.readouterr().err


def test_n_jobs_reads_as_in_scikit_learn():
    from planlib.forecast.parallel import _workers

    cpus = os.cpu_count()
    assert _workers(-1) == cpus
    assert _workers(-2) == max(1, cpus - 1)
    assert _workers(-(cpus + 10)) == 1  # never fewer than one worker
    assert (_workers(None), _workers(1), _workers(3), _workers(np.int64(2))) == (1, 1, 3, 2)
    with pytest.raises(ForecastError, match=r"^n_jobs=0 asks for no worker: use 1 \(or None\) to fit in this process"):
        _workers(0)
    with pytest.raises(ForecastError, match=r"n_jobs must be a whole number .*, got 1\.5"):
        _workers(1.5)
    panel = panel_of({f"s{i}": seasonal_series(30, seed=i) for i in range(4)})
    with pytest.raises(ForecastError, match="n_jobs=0 asks for no worker"):
        forecast(panel, 2, models=("snaive",), n_jobs=0)
    every_core = forecast(panel, 2, models=FAST, n_jobs=-1)
    pd.testing.assert_frame_equal(every_core.forecasts, forecast(panel, 2, models=FAST, n_jobs=1).forecasts)


def test_the_config_takes_a_negative_n_jobs_and_refuses_zero():
    from pathlib import Path

    from planlib.core.config import load_config
    from planlib.core.errors import ConfigError

    template = Path(__file__).resolve().parents[1] / "templates" / "plan.yaml"
    assert load_config(template, {"forecast.n_jobs": -1}).forecast.n_jobs == -1
    with pytest.raises(ConfigError, match=r"forecast\.n_jobs: Value error, n_jobs=0 asks for no worker"):
        load_config(template, {"forecast.n_jobs": 0})


def test_column_names_can_be_overridden():
    panel = panel_of({"a": seasonal_series(30)}).rename(columns={"unique_id": "series", "ds": "month",
                                                                  "y": "sales"})
    result = forecast(panel, 2, models=FAST, id_col="series", ds_col="month", y_col="sales", n_jobs=1)
    assert result.forecasts["unique_id"].unique().tolist() == ["a"]


def test_horizon_smoothing_keeps_widths_non_decreasing_without_a_running_maximum():
    np.testing.assert_allclose(_isotonic([3, 1, 2, 5, 4, 6]), [2, 2, 2, 4.5, 4.5, 6])
    np.testing.assert_allclose(_isotonic([1, 2, 3]), [1, 2, 3])


# --------------------------------------------------------------------------- working days
def cn_days(start="2022-01-01", end="2027-12-01"):
    from planlib.core.calendar import period_working_days

    return period_working_days(start, end, "MS", "CN")


def test_sales_that_follow_working_days_are_forecast_per_working_day():
    days = cn_days()
    hist = days["2022-01-01":"2025-12-01"]
    factor = days / hist.mean()
    t = np.arange(60)
    y = 1000 * SEASON[t % 12] * factor.to_numpy()[:60]
    panel = panel_of({"a": y[:48], "flat": np.full(48, 50.0)})
    result = forecast(panel, 12, models=("snaive",), working_days=days, n_jobs=1)
    assert result.calendar == {"adjusted": True, "mode": "auto", "error_ratio": pytest.approx(0.0, abs=1e-12),
                               "helped": 1, "n_series": 1}
    fc = result.forecasts.set_index("unique_id")
    # Per working day the series repeats exactly; multiplied back by 2026's working days it is 2026.
    np.testing.assert_allclose(fc.loc["a", "yhat"].to_numpy(), y[48:], rtol=1e-12)
    assert fc.loc["flat", "yhat"].tolist() == [50.0] * 12  # a constant series is never adjusted
    note = result.notes.loc[result.notes["kind"] == "calendar", "reason"].tolist()
    assert note == ["forecast per working day, multiplied back by each period's working days: per working day, "
                    "year-on-year changes were 100.0% smaller on average (1 of 1 series smaller)"]
    # Without working days seasonal naive repeats 2025, whose Spring Festival fell in January (uncalibrated: the
    # year-total correction would move it by what its backtest, off by the moving holiday, missed on average).
    plain = forecast(panel, 12, models=("snaive",), n_jobs=1, calibrate=False).forecasts.set_index("unique_id")
    np.testing.assert_allclose(plain.loc["a", "yhat"].to_numpy(), y[36:48], rtol=1e-12)
    assert plain.loc["a", "yhat"].iloc[1] != pytest.approx(y[49], rel=0.05)  # February differs by >5%
    assert any("per working day" in r for r in trust_assessment(result)["reasons"])


def test_auto_leaves_sales_without_a_calendar_effect_alone():
    days = cn_days()
    y = seasonal_series(48, noise=0.02, seed=3)
    panel = panel_of({"a": y})
    result = forecast(panel, 6, models=FAST, working_days=days, n_jobs=1)
    f = (days / days["2022-01-01":"2025-12-01"].mean()).to_numpy()[:48]
    yoy = lambda v: np.mean(np.abs(np.diff(v.reshape(4, 12), axis=0)))  # noqa: E731 (same month, year apart)
    by_hand = yoy(y / f) / yoy(y)
    assert by_hand > 1.02
    assert result.calendar["adjusted"] is False
    assert result.calendar["error_ratio"] == pytest.approx(by_hand, rel=1e-12)
    reason = result.notes.loc[result.notes["kind"] == "calendar", "reason"].iloc[0]
    assert reason == (f"not adjusted for working days (per working day, year-on-year changes were "
                      f"{by_hand - 1:.1%} larger on average (0 of 1 series smaller))")
    plain = forecast(panel, 6, models=FAST, n_jobs=1)
    pd.testing.assert_frame_equal(result.forecasts, plain.forecasts)
    assert plain.calendar is None
    forced = forecast(panel, 6, models=FAST, working_days=days, working_day_adjust=True, n_jobs=1)
    assert forced.calendar["adjusted"] is True
    assert not np.allclose(forced.forecasts["yhat"], plain.forecasts["yhat"])
    off = forecast(panel, 6, models=FAST, working_days=days, working_day_adjust=False, n_jobs=1)
    pd.testing.assert_frame_equal(off.forecasts, plain.forecasts)
    assert off.notes.loc[off.notes["kind"] == "calendar", "reason"].tolist() == [
        "not adjusted for working days (switched off)"]


def test_working_days_must_cover_history_and_horizon():
    panel = panel_of({"a": seasonal_series(36)})
    short = cn_days("2022-01-01", "2025-02-01")  # ends two months into a 3-month horizon
    with pytest.raises(ForecastError, match=r"every period from 2022-01-01 to 2025-03-01 \(history and horizon\); "
                                            r"1 missing, zero or not finite: 2025-03-01"):
        forecast(panel, 3, working_days=short, n_jobs=1)
    zero = cn_days().copy()
    zero["2023-02-01"] = 0
    with pytest.raises(ForecastError, match="1 missing, zero or not finite: 2023-02-01"):
        forecast(panel, 3, working_days=zero, n_jobs=1)
    with pytest.raises(ForecastError, match="working_day_adjust must be 'auto', True or False, got 'yes'"):
        forecast(panel, 3, working_days=cn_days(), working_day_adjust="yes", n_jobs=1)


def test_plan_forecast_takes_the_company_calendar_unless_switched_off():
    from pathlib import Path

    from planlib.core.config import load_config
    from planlib.forecast.stage import forecast_with_config

    template = Path(__file__).resolve().parents[1] / "templates" / "plan.yaml"
    days = cn_days()
    factor = (days / days["2022-01-01":"2026-10-01"].mean()).to_numpy()
    t = np.arange(58)  # 2022-01 .. 2026-10, forecast to the end of 2027 as the sample plan is
    panel = panel_of({"company": 1000 * SEASON[t % 12] * factor[:58] * (1 + 0.01 * np.sin(t))})
    panel["level"] = "company"
    on = forecast_with_config(panel, 14, load_config(template, {"forecast.n_jobs": 1, "forecast.models": list(FAST)}))
    assert on.calendar["adjusted"] is True
    # 2027's make-up working days are not in the holidays library yet: the forecast says it leans on estimates.
    assert on.calendar["estimated_years"] == [2027]
    assert ("2027: make-up working days not published yet; its working days (and the forecast per working day) "
            "are estimates") in on.notes["reason"].tolist()
    assert any("The make-up working days of 2027 are not published yet" in r for r in trust_assessment(on)["reasons"])
    off = forecast_with_config(panel, 14, load_config(template, {"forecast.n_jobs": 1, "forecast.models": list(FAST),
                                                                 "forecast.working_days": "off"}))
    assert off.calendar is None
    assert on.forecasts["yhat"].iloc[0] != pytest.approx(off.forecasts["yhat"].iloc[0], rel=1e-6)


def test_series_starting_later_and_quarterly_series_are_forecast_per_working_day_exactly():
    days = cn_days()
    # "late" starts a year after "early": its factors must line up with its own months, not the panel's first.
    t = np.arange(60)
    y = 1000 * SEASON[t % 12] * days.to_numpy()[:60]
    panel = pd.concat([panel_of({"early": y[:48]}), panel_of({"late": 0.5 * y[12:48]}, start="2023-01-01")])
    result = forecast(panel, 12, models=("snaive",), working_days=days, n_jobs=1)
    fc = result.forecasts.set_index("unique_id")
    np.testing.assert_allclose(fc.loc["early", "yhat"].to_numpy(), y[48:], rtol=1e-12)
    np.testing.assert_allclose(fc.loc["late", "yhat"].to_numpy(), 0.5 * y[48:], rtol=1e-12)
    # The backtest forecasts are multiplied back too: per working day they are perfect, so MASE is 0.
    assert result.backtest.loc[result.backtest["model"] == "snaive", "mase"].tolist() == [
        pytest.approx(0.0, abs=1e-12)] * 2
    plain = forecast(panel, 12, models=("snaive",), n_jobs=1).backtest
    assert plain["mase"].min() > 0.01

    from planlib.core.calendar import period_working_days

    quarters = period_working_days("2022-01-01", "2027-12-31", "QS", "CN")
    q_season = np.array([0.8, 1.0, 1.1, 1.3])
    yq = 500 * q_season[np.arange(24) % 4] * quarters.to_numpy()
    quarterly = forecast(panel_of({"q": yq[:20]}, freq="QS"), 4, freq="QS", models=("snaive",), origins=2,
                         working_days=quarters, n_jobs=1)
    np.testing.assert_allclose(quarterly.forecasts["yhat"].to_numpy(), yq[20:], rtol=1e-12)


def test_working_days_input_is_checked_and_explained():
    panel = panel_of({"a": seasonal_series(36)})
    monthly = cn_days()
    with pytest.raises(ForecastError, match=r"indexed by the panel's period starts \(freq='QS'\); found 2022-02-01"):
        forecast(panel_of({"q": seasonal_series(12)}, freq="QS"), 2, freq="QS", working_days=monthly, n_jobs=1)
    with pytest.raises(ForecastError, match="working_days must be a pandas Series .* got DataFrame"):
        forecast(panel, 3, working_days=monthly.to_frame(), n_jobs=1)
    with pytest.raises(ForecastError, match="more than one value for 2022-01-01"):
        forecast(panel, 3, working_days=pd.concat([monthly.iloc[:1], monthly]), n_jobs=1)
    for bad in (1, "on", None):
        with pytest.raises(ForecastError, match=f"working_day_adjust must be 'auto', True or False, got {bad!r}"):
            forecast(panel, 3, working_days=monthly, working_day_adjust=bad, n_jobs=1)
    with pytest.raises(ForecastError, match="working_day_adjust=True needs working_days"):
        forecast(panel, 3, working_day_adjust=True, n_jobs=1)
    # A PeriodIndex and numpy's True are fine.
    by_period = monthly.copy()
    by_period.index = by_period.index.to_period("M")
    same = forecast(panel, 3, models=FAST, working_days=by_period, working_day_adjust=np.True_, n_jobs=1)
    again = forecast(panel, 3, models=FAST, working_days=monthly, working_day_adjust=True, n_jobs=1)
    pd.testing.assert_frame_equal(same.forecasts, again.forecasts)
    # Nothing to judge by: every series constant. No NaN in the result, and the note says why.
    flat = forecast(panel_of({"c": np.full(30, 7.0)}), 3, working_days=monthly, n_jobs=1)
    assert flat.calendar == {"adjusted": False, "mode": "auto", "error_ratio": None, "helped": 0, "n_series": 0}
    assert flat.notes.loc[flat.notes["kind"] == "calendar", "reason"].tolist() == [
        "not adjusted for working days (no series to judge by: each is constant or too short to compare a period "
        "with the one a season earlier)"]


def test_intervals_learn_from_the_errors_of_choosing_not_of_the_winner():
    from planlib.forecast.engine import _choose, _honest_errors

    # Holt-Winters wins the backtest only because of a perfect first origin (MASE 0, 1, 1 against
    # Theta's 1.5, 0.8, 0.8). Judged on origins 1 and 2 alone Theta would have been chosen, so the
    # error kept for origin 0 is Theta's there (-1.5), not the winner's 0.
    hw = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    theta = np.array([[1.5, 1.5], [0.8, 0.8], [0.8, 0.8]])
    fit = _models.SeriesFit("s", ["theta", "holt_winters"], {"theta": np.ones(2), "holt_winters": np.ones(2)},
                            {"theta": theta, "holt_winters": hw}, [24, 26, 28], 2, np.zeros((3, 2)),
                            np.ones(3), 1.0, True)
    cands = {"theta": (theta, np.ones(2)), "holt_winters": (hw, np.ones(2))}
    assert _choose(fit, cands, 30, 12) == "holt_winters"
    np.testing.assert_array_equal(_honest_errors(fit, cands, "holt_winters", 30, 12),
                                  [[-1.5, -1.5], [-1.0, -1.0], [-1.0, -1.0]])
    one = _models.SeriesFit("s", ["theta"], {"theta": np.ones(2)}, {"theta": theta[:1]}, [24], 2, np.zeros((1, 2)),
                            np.ones(1), 1.0, True)
    np.testing.assert_array_equal(_honest_errors(one, {"theta": (theta[:1], np.ones(2))}, "theta", 30, 12),
                                  [[-1.5, -1.5]])


# --------------------------------------------------------------------------- the year-total correction
def _fits(*uids):
    return [_models.SeriesFit(u, ["snaive"], {}, {}, [24, 30, 36], 2, np.zeros((3, 2)), np.ones(3), 1.0, False)
            for u in uids]


def test_backtest_year_totals_always_10_percent_above_move_the_forecasts_up_by_the_pooled_amount():
    from planlib.forecast.calibration import TOTAL_PRIOR, Z80, _total_calibration, _total_errors

    # Two series, three origins, two-step years: forecasts 100 a step, actuals 110 (10% above), MASE scale 20,
    # so every scaled error is 0.5 and every backtest year total misses by 1.0. The panel's per-step sd is 1
    # (q80 = Z80) and steps are uncorrelated: the total's sd is sqrt(2) and the per-step sds add up to 2.
    scaled = {u: np.full((3, 2), (110 - 100) / 20) for u in ("a", "b")}
    q80 = np.full(2, Z80)
    width, centre, ratio = _total_errors(_fits("a", "b", "no_backtest"), scaled, q80, 0.0, 2)
    assert set(width) == set(centre) == set(ratio) == {"a", "b"}
    np.testing.assert_allclose(width["a"], [1 / np.sqrt(2)] * 3)
    np.testing.assert_allclose(centre["a"], [0.5] * 3)
    assert ratio["a"] == pytest.approx(2 / np.sqrt(2))
    # Fully correlated steps: the total's sd is 1 + 1 = 2. A one-step year adds up the first step only.
    np.testing.assert_allclose(_total_errors(_fits("a"), scaled, q80, 1.0, 2)[0]["a"], [0.5] * 3)
    np.testing.assert_allclose(_total_errors(_fits("a"), scaled, q80, 0.0, 1)[1]["a"], [0.5] * 3)

    assert TOTAL_PRIOR == 10.0
    shift, widening = _total_calibration(width, centre, ratio)
    # Six totals shrunk toward "as is" by ten: shift 6/16 x 0.5. What the shift leaves of each total's miss:
    # 1.0 - 2 x 6/16 x 0.5 = 0.625 in money per 20, over the total's sd sqrt(2): widening sqrt((6 x 0.625^2/2 + 10) / 16).
    assert shift == pytest.approx(6 / 16 * 0.5)
    assert widening == pytest.approx(np.sqrt((6 * 0.625 ** 2 / 2 + 10) / 16))
    # Each forecast step moves up by shift x its per-step sd (20 x 1): 3.75 on 100, against the 10 missed.
    assert shift * 20 * 1.0 == pytest.approx(3.75)
    assert _total_calibration({}, {}, {}) == (0.0, 1.0)


def test_the_shift_is_the_pooled_mean_and_the_widening_what_it_leaves():
    from planlib.forecast.calibration import _total_calibration

    calm = {"a": np.full(3, 0.5), "b": np.full(3, 0.5)}
    ones = {"a": 1.0, "b": 1.0}
    alone = _total_calibration(calm, calm, ones)
    assert alone[0] == pytest.approx(6 / 16 * 0.5)
    # A series that missed by 10, -12 and 30 sds (oldest origin first): the mean over nine totals, each origin
    # weighted 1, 4, 9, is (3 x 0.5 x 14 + 10 - 48 + 270) / 42 = 246 / 42, shrunk by 9 / 19 (a median would have
    # stayed at 0.5); r = 1, so each total keeps its miss less the shift.
    noisy = {**calm, "c": np.array([10.0, -12.0, 30.0])}
    shift, widening = _total_calibration(noisy, noisy, {**ones, "c": 1.0})
    assert shift == pytest.approx(9 / 19 * 246 / 42)
    left = np.array([0.5] * 6 + [10.0, -12.0, 30.0]) - shift
    assert widening == pytest.approx(np.sqrt((np.sum(left ** 2) + 10) / 19))
    assert alone[1] == pytest.approx(np.sqrt((6 * (0.5 - alone[0]) ** 2 + 10) / 16))


def test_the_shift_weighs_the_newest_backtest_origins_most():
    from planlib.forecast.calibration import TOTAL_PRIOR, Z80, _total_calibration, _total_errors, origin_weights

    np.testing.assert_array_equal(origin_weights(3), [1.0, 4.0, 9.0])
    np.testing.assert_array_equal(origin_weights(2), [1.0, 4.0])
    # One series, three origins (oldest first), one-step years, MASE scale 1 and the panel's sd 1: its year totals
    # missed by 1.0, 0.5 and 0.2 sds. Weighted 1, 4, 9: (1.0 + 2.0 + 1.8) / 14 = 4.8 / 14 (the plain mean, 0.567,
    # would count the oldest, shortest-trained origin as much as the newest). Three totals against TOTAL_PRIOR.
    fits = [_models.SeriesFit("a", ["snaive"], {}, {}, [24, 30, 36], 1, np.zeros((3, 1)), np.ones(3), 1.0, False)]
    scaled = {"a": np.array([[1.0], [0.5], [0.2]])}
    width, centre, ratio = _total_errors(fits, scaled, np.full(1, Z80), 0.0, 1)
    np.testing.assert_allclose(centre["a"], [1.0, 0.5, 0.2])
    shift, widening = _total_calibration(width, centre, ratio)
    assert shift == pytest.approx(3 / (3 + TOTAL_PRIOR) * 4.8 / 14)
    left = np.array([1.0, 0.5, 0.2]) - shift
    assert widening == pytest.approx(np.sqrt((np.sum(left ** 2) + TOTAL_PRIOR) / (3 + TOTAL_PRIOR)))
    # A second series with only two origins weighs them 1, 4: (1.0 + 2.0 + 1.8 - 0.3 + 2.4) / 19 over five totals.
    two = {**centre, "b": np.array([-0.3, 0.6])}
    shift2, _ = _total_calibration(two, two, {"a": 1.0, "b": 1.0})
    assert shift2 == pytest.approx(5 / (5 + TOTAL_PRIOR) * 6.9 / 19)


def test_the_engine_applies_the_shift_and_widening_to_forecasts_intervals_and_totals(monkeypatch):
    import planlib.forecast.engine as engine

    panel = panel_of({"a": seasonal_series(48, noise=0.08, seed=3)})
    monkeypatch.setattr(engine, "_total_calibration", lambda *a, **k: (0.0, 1.0))
    plain = forecast(panel, 12, models=FAST, n_jobs=1)
    monkeypatch.setattr(engine, "_total_calibration", lambda *a, **k: (0.5, 2.0))
    moved = forecast(panel, 12, models=FAST, n_jobs=1)
    assert (plain.shift, plain.widening, moved.shift, moved.widening) == (0.0, 1.0, 0.5, 2.0)
    # One series: its own error level is the panel's (factor 1), so its sd is the panel's sd on its scale.
    sd = plain.sd["sd"].to_numpy()
    np.testing.assert_allclose(moved.forecasts["yhat"] - plain.forecasts["yhat"], 0.5 * sd, rtol=1e-9)
    np.testing.assert_allclose(moved.sd["sd"], 2 * sd, rtol=1e-9)
    np.testing.assert_allclose(moved.forecasts["hi_80"] - moved.forecasts["yhat"],
                               2 * (plain.forecasts["hi_80"] - plain.forecasts["yhat"]), rtol=1e-9)
    before = plain.total_distribution("a", "2026-01-01", "2026-12-01")
    after = moved.total_distribution("a", "2026-01-01", "2026-12-01")
    assert after.median() - before.median() == pytest.approx(0.5 * sd.sum(), rel=1e-6)
    assert after.std() == pytest.approx(2 * before.std(), rel=1e-6)
    # Uncalibrated intervals get no correction either.
    raw = forecast(panel, 12, models=FAST, n_jobs=1, calibrate=False)
    assert (raw.shift, raw.widening) == (0.0, 1.0)


def test_the_real_correction_is_small_and_shared_by_the_panel(monthly_result):
    assert 0.5 < monthly_result.widening < 2.0 and abs(monthly_result.shift) < 1.0


def test_combined_forecast_is_the_mean_of_the_models_fitted_alone():
    panel = panel_of({"a": seasonal_series(48, growth=0.02, noise=0.06, seed=11),
                      "b": seasonal_series(48, level=300, growth=-0.005, noise=0.1, seed=12)})
    both = forecast(panel, 12, models=("snaive", "drift", "theta", "holt_winters"), calibrate=False, n_jobs=1)
    alone = [forecast(panel, 12, models=(m,), calibrate=False, n_jobs=1).forecasts["yhat"].to_numpy()
             for m in ("theta", "holt_winters")]
    np.testing.assert_allclose(both.forecasts["yhat"].to_numpy(), (alone[0] + alone[1]) / 2, rtol=1e-9)
    assert set(both.forecasts["model"]) == {"combo(theta+holt_winters)"}
    chosen = both.backtest[both.backtest["chosen"]]
    assert chosen["model"].tolist() == ["combo(theta+holt_winters)"] * 2
    # combine=False chooses per series on the backtest instead: the lowest MASE (ties to the simpler)
    picked = forecast(panel, 12, models=("snaive", "drift", "theta", "holt_winters"), combine=False,
                      calibrate=False, n_jobs=1).backtest
    for uid, g in picked.groupby("unique_id"):
        smooth = g[~g["model"].isin(["snaive", "drift"])]
        assert g.loc[g["chosen"], "model"].iloc[0] in set(smooth.loc[smooth["mase"] == smooth["mase"].min(), "model"]) \
            | {"snaive", "drift"}


def test_far_intervals_keep_at_least_a_t5_shape():
    from planlib.forecast.calibration import TAIL_DF, _pooled_quantiles

    # 101 errors spread evenly over [-1, 1]: |error| has 80% quantile 0.8 and 95% quantile 0.95, thinner than any
    # bell. t(5): 97.5% point 2.5706, 90% point 1.4759 (tables), so the 95% half-width is 0.8 x 1.7417.
    errors = {1: np.linspace(-1, 1, 101)}
    q = _pooled_quantiles(errors, 1, (80, 95), True)
    assert TAIL_DF == 5
    assert q[80][0] == pytest.approx(0.8)
    assert q[95][0] == pytest.approx(0.8 * 2.5706 / 1.4759, rel=1e-4)
    # Uncalibrated intervals keep the normal shape.
    raw = _pooled_quantiles(errors, 1, (80, 95), False)
    assert raw[95][0] / raw[80][0] == pytest.approx(1.95996 / 1.28155, rel=1e-4)
