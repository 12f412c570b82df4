"""Forecast models for one series: statsmodels fits, rolling-origin backtest windows, captured warnings.

Private to planlib.forecast. Everything here works on one series at a time and returns plain
arrays, so a batch of series can run in a worker process or on a dask worker unchanged.
"""
from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
# Imported up front (not inside the fitters) so that the BLAS libraries they load are already
# there when fit_batch limits BLAS to one thread.
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.forecasting.stl import STLForecast
from statsmodels.tsa.forecasting.theta import ThetaModel
from statsmodels.tsa.holtwinters import ExponentialSmoothing
from statsmodels.tsa.statespace.sarimax import SARIMAX

__all__ = [
    "EXPLOSION_FACTOR", "FITTERS", "MAD_TO_SD", "MODELS", "SEASONAL_MODELS", "SeriesFit", "SeriesTask", "available",
    "backtest_windows", "fit_batch", "fit_series", "mase_scale",
]

# Cost-ordered; "sarima" is the slowest (see benchmarks/forecast.py for the measured fit times).
MODELS = ("snaive", "drift", "theta", "stl_ets", "holt_winters", "holt_winters_undamped", "ets", "sarima")
# Models that need two full seasonal cycles in every training window.
SEASONAL_MODELS = ("stl_ets", "holt_winters", "holt_winters_undamped", "ets", "sarima")
# The median absolute deviation of normal errors times this is their standard deviation.
MAD_TO_SD = 1.4826
# A forecast this many times larger than anything in the history is an explosion, not a forecast.
EXPLOSION_FACTOR = 1e3


@dataclass(frozen=True)
class SeriesTask:
    """One series to fit: its values on the full calendar and what to do with them."""

    unique_id: str
    y: np.ndarray
    start: pd.Timestamp
    freq: str
    season_length: int
    h: int
    models: tuple[str, ...]
    origins: int
    # Working days per period relative to the history's average, for the history and the h periods
    # after it; given, every model forecasts sales per working day and is multiplied back.
    calendar: np.ndarray | None = None


@dataclass
class SeriesFit:
    """What the worker returns for one series (arrays only, cheap to send between processes)."""

    unique_id: str
    models: list[str]
    final: dict[str, np.ndarray]          # model -> (h,) forecast from the full history
    backtest: dict[str, np.ndarray]       # model -> (origins, hb) forecasts at each origin
    ends: list[int]                       # training length at each origin
    hb: int                               # backtest horizon
    actuals: np.ndarray                   # (origins, hb) what happened after each origin
    scales: np.ndarray                    # (origins,) MASE scale of each training window
    final_scale: float                    # MASE scale of the full history
    log: bool                             # fitted on the log scale (strictly positive series)
    notes: list[tuple[str, str]] = field(default_factory=list)


# --------------------------------------------------------------------------- windows and scales
def backtest_windows(n: int, h: int, m: int, origins: int) -> tuple[list[int], int, int]:
    """Return (training lengths at each origin, backtest horizon, shortest training length).

    Prefers training windows of two seasonal cycles (so seasonal models can be compared) and
    the full horizon; gives up origins, then seasonal models, then horizon, in that order.
    Returns ``([], 0, n)`` when the series is too short for any backtest.
    """
    minimums = [2 * m, m + 1, 3] if m > 1 else [3]
    wanted = min(h, max(1, m // 2))
    for min_train in minimums:
        for k in range(origins, 1, -1):
            hb = min(h, n - min_train - (k - 1))
            if hb >= wanted:
                step = min(hb, (n - hb - min_train) // (k - 1))
                return [n - hb - i * step for i in reversed(range(k))], hb, min_train
    for min_train in minimums:
        if n - min_train >= 1:
            hb = min(h, n - min_train)
            return [n - hb], hb, min_train
    return [], 0, n


def mase_scale(y: np.ndarray, m: int) -> float:
    """Return the in-sample mean absolute error of seasonal naive (naive if too short).

    Falls back to the mean absolute value, then to 1, so a constant or all-zero series
    still gets a finite, positive scale.
    """
    lag = m if len(y) > m else 1
    if len(y) > lag:
        scale = float(np.mean(np.abs(y[lag:] - y[:-lag])))
        if scale > 0:
            return scale
    level = float(np.mean(np.abs(y))) if len(y) else 0.0
    return level if level > 0 else 1.0


# --------------------------------------------------------------------------- the models
def _snaive(y: pd.Series, m: int, h: int, log: bool) -> np.ndarray:
    v = y.to_numpy()
    if m > 1 and len(v) >= m:
        return np.array([v[len(v) - m + (j % m)] for j in range(h)])
    return np.full(h, v[-1])


def _drift(y: pd.Series, m: int, h: int, log: bool) -> np.ndarray:
    v = y.to_numpy()
    slope = (v[-1] - v[0]) / (len(v) - 1) if len(v) > 1 else 0.0
    return v[-1] + slope * np.arange(1, h + 1)


def _theta(y: pd.Series, m: int, h: int, log: bool) -> np.ndarray:
    """Theta; a strictly positive series is fitted on the log scale and exp() taken back.

    On the log scale Theta's drift is a growth rate, not a fixed amount a period, so a growing series is not
    forecast to slow down (a fixed amount is a falling rate), and its additive decomposition of the log is a
    multiplicative season. exp() gives the median, left there: moved to the mean by half the fit's one-step
    variance (``sigma2``), the MASE on benchmarks/forecast_real.py was 2.9% / 3.1% below the best peer on 10 / 4
    cycles against 3.2% / 3.3% as the median (the year-total shift already moves the centre).
    """
    seasonal = m > 1 and len(y) >= 2 * m
    z = np.log(y) if log else y
    out = ThetaModel(z, period=m if seasonal else None, deseasonalize=seasonal, method="add").fit().forecast(h)
    return np.exp(out.to_numpy()) if log else out.to_numpy()


def _mean_forecast(out: np.ndarray, resid, log: bool, skip: int, k: int) -> np.ndarray:
    """Return a log-scale forecast moved from the median toward the mean on the sales scale.

    exp() of a log-scale forecast is the median, which is below the mean for skewed sales, and
    medians do not add up across a hierarchy. The mean of a lognormal is exp(mu + sigma^2 / 2).

    Sigma comes from the in-sample one-step residuals after the first ``skip`` (start-up) ones:
    1.4826 x their median absolute deviation, so that one big-deal month does not lift every
    forecast, inflated by n / (n - k) for the ``k`` parameters and initial states the fit spent
    (Holt-Winters uses 17 on monthly data; without it, sigma came out at 0.6-0.85 of the truth on
    24-48 months of simulated sales). It is a one-step sigma, so far months are still corrected a
    little less than their own forecast variance would ask. With no more residuals than ``k`` the
    median is returned.
    """
    if not log:
        return out
    r = np.asarray(resid, dtype=float)[skip:]
    r = r[np.isfinite(r)]
    if len(r) <= k:
        return np.exp(out)
    sigma = MAD_TO_SD * float(np.median(np.abs(r - np.median(r))))
    return np.exp(out + sigma ** 2 * len(r) / (len(r) - k) / 2)


def _stl_ets(y: pd.Series, m: int, h: int, log: bool) -> np.ndarray:
    z = np.log(y) if log else y
    model = STLForecast(z, ETSModel, period=m,
                        model_kwargs={"error": "add", "trend": "add", "damped_trend": True})
    out = model.fit(fit_kwargs={"disp": False}).forecast(h).to_numpy()
    # Left as the median: STL's seasonal smoother absorbs the noise (with two cycles the ETS residuals
    # are exactly zero), so the residuals cannot say how far the mean lies above it.
    return np.exp(out) if log else out


def _holt_winters(y: pd.Series, m: int, h: int, log: bool, damped: bool = True) -> np.ndarray:
    # Additive seasonality on the log scale is multiplicative seasonality: swings grow with sales.
    z = np.log(y) if log else y
    model = ExponentialSmoothing(z, trend="add", damped_trend=damped, seasonal="add", seasonal_periods=m)
    res = model.fit(use_brute=False)
    return _mean_forecast(res.forecast(h).to_numpy(), res.resid, log, 0, res.k)


def _holt_winters_undamped(y: pd.Series, m: int, h: int, log: bool) -> np.ndarray:
    """Holt-Winters with its trend carried on undamped: a damped trend undershoots a series that keeps growing."""
    return _holt_winters(y, m, h, log, damped=False)


def _ets(y: pd.Series, m: int, h: int, log: bool) -> np.ndarray:
    z = np.log(y) if log else y
    seasonal = "add" if m > 1 and len(y) >= 2 * m else None
    best, best_aicc = None, np.inf
    # Forms selected by AICc: level only or damped trend, with seasonality when the data allow.
    # (Multiplicative error/seasonality forms are covered by fitting on the log scale.)
    for trend, damped in ((None, False), ("add", True)):
        res = ETSModel(z, error="add", trend=trend, damped_trend=damped, seasonal=seasonal,
                       seasonal_periods=m if seasonal else None).fit(disp=False)
        if np.isfinite(res.aicc) and res.aicc < best_aicc:
            best, best_aicc = res, res.aicc
    if best is None:
        raise ValueError("no ETS form gave a finite AICc")
    return _mean_forecast(best.forecast(h).to_numpy(), best.resid, log, 0, len(best.params))


def _sarima(y: pd.Series, m: int, h: int, log: bool) -> np.ndarray:
    z = np.log(y) if log else y
    # The airline model: one difference and one seasonal difference, each with an MA term.
    res = SARIMAX(z, order=(0, 1, 1), seasonal_order=(0, 1, 1, m)).fit(disp=False)
    # The first m + 1 residuals are the differencing's diffuse start, not forecast errors; the two MA
    # terms are what the fit spent (sigma2 is the variance itself).
    return _mean_forecast(res.forecast(h).to_numpy(), res.resid, log, m + 1, len(res.params) - 1)


FITTERS = {
    "snaive": _snaive, "drift": _drift, "theta": _theta, "stl_ets": _stl_ets,
    "holt_winters": _holt_winters, "holt_winters_undamped": _holt_winters_undamped, "ets": _ets, "sarima": _sarima,
}


def available(model: str, n: int, m: int) -> bool:
    """Tell whether ``model`` can be fitted on ``n`` observations with season length ``m``."""
    if model in ("snaive", "drift"):
        return n >= 1
    if model == "theta":
        return n >= 4
    if m <= 1:
        return model in ("ets",) and n >= 4
    return n >= 2 * m


# --------------------------------------------------------------------------- fitting one series
def _fit_one(model: str, y: pd.Series, m: int, h: int, log: bool, warned: dict) -> np.ndarray:
    """Fit one model and return its forecast; warnings go into ``warned``, never to the screen."""
    v = y.to_numpy()
    if np.ptp(v) == 0:
        return np.full(h, v[0])  # every model forecasts a constant series as itself
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        out = np.asarray(FITTERS[model](y, m, h, log), dtype=float)
    for w in caught:
        key = f"{model}: {w.category.__name__}: {str(w.message).splitlines()[0][:160]}"
        warned[key] = warned.get(key, 0) + 1
    limit = EXPLOSION_FACTOR * max(float(np.max(np.abs(v))), 1.0)
    if out.shape != (h,) or not np.all(np.isfinite(out)) or np.any(np.abs(out) > limit):
        raise FloatingPointError("non-finite or exploding forecast")
    return out


def fit_series(task: SeriesTask) -> SeriesFit:
    """Backtest every available model on one series and fit each on the full history.

    Parameters
    ----------
    task : SeriesTask
        The series on its full calendar (no gaps, all finite) and the settings.

    Returns
    -------
    SeriesFit
        Forecasts per model at each origin and from the full history, the actuals and scales
        the backtest is scored against, and notes for every fallback or warning.
    """
    y_all = np.asarray(task.y, dtype=float)
    n, m, h = len(y_all), task.season_length, task.h
    index = pd.date_range(task.start, periods=n, freq=task.freq)
    days = np.ones(n + h) if task.calendar is None else np.asarray(task.calendar, dtype=float)
    if days.shape != (n + h,) or not np.all(days > 0):
        raise ValueError(f"{task.unique_id}: calendar needs {n + h} positive values, got {days.shape[0]}")
    # Per working day when a calendar is given: every model sees sales / relative working days.
    series = pd.Series(y_all / days[:n], index=index)
    notes: list[tuple[str, str]] = []
    log = bool(np.all(y_all > 0) and np.ptp(y_all) > 0)
    if not np.all(y_all > 0) and n > 1:
        notes.append(("no_multiplicative", "zeros or negatives in the history: additive models only"))
    if np.ptp(y_all) == 0:
        notes.append(("constant", f"constant series ({y_all[0]:g}): forecast is that value"))

    ends, hb, min_train = backtest_windows(n, h, m, task.origins)
    if not ends:
        notes.append(("no_backtest", f"only {n} observation(s): no backtest possible"))
    elif len(ends) < 2:
        notes.append(("short", f"only {n} observations: backtest has one origin"))
    wanted = [mod for mod in task.models if mod in FITTERS]
    models = [mod for mod in wanted if available(mod, min_train, m)]
    skipped = [mod for mod in wanted if mod not in models]
    if skipped and m > 1 and n < 2 * m:
        notes.append(("short", f"fewer than two seasonal cycles ({n} < {2 * m}): skipped {', '.join(skipped)}"))
    elif skipped:
        notes.append(("short", f"history of {n} too short to backtest {', '.join(skipped)} "
                               f"(training windows of {min_train})"))

    warned: dict[str, int] = {}
    backtest: dict[str, np.ndarray] = {}
    final: dict[str, np.ndarray] = {}
    for model in models:
        try:
            rows = []
            for end in ends:
                train = series.iloc[:end]
                rows.append(_fit_one(model, train, m, hb, log and bool(np.all(train.to_numpy() > 0)), warned)
                            * days[end:end + hb])
            final[model] = _fit_one(model, series, m, h, log, warned) * days[n:]
            backtest[model] = np.array(rows).reshape(len(ends), hb)
        except Exception as exc:  # a model that fails is dropped for this series, and said so
            final.pop(model, None)
            notes.append(("failed", f"{model} failed: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}"))
    if not final:
        # The drift fallback cannot fail: it needs only the last value (and the first).
        final["drift"] = _drift(series, m, h, False) * days[n:]
        backtest["drift"] = np.array([_drift(series.iloc[:e], m, hb, False) * days[e:e + hb]
                                      for e in ends]).reshape(len(ends), hb)
        notes.append(("fallback", "every model failed: drift fallback"))
    for key, count in sorted(warned.items()):
        notes.append(("warning", key + (f" (x{count})" if count > 1 else "")))

    actuals = np.array([y_all[e:e + hb] for e in ends]).reshape(len(ends), hb)
    scales = np.array([mase_scale(y_all[:e], m) for e in ends])
    return SeriesFit(task.unique_id, sorted(final, key=MODELS.index), final, backtest, ends, hb,
                     actuals, scales, mase_scale(y_all, m), log, notes)


@contextlib.contextmanager
def _one_blas_thread():
    # BLAS threads fight over tiny matrices: measured 3-10x slower statsmodels fits on 2 cores.
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1):
        yield


def fit_batch(tasks: list[SeriesTask]) -> list[SeriesFit]:
    """Fit a batch of series in order (the unit of work sent to a process or dask worker)."""
    with _one_blas_thread():
        return [fit_series(t) for t in tasks]
