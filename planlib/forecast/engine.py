"""The forecast engine: statsmodels seasonal models chosen per series by rolling-origin backtest,
intervals calibrated on the backtest errors, reconciled over the sales hierarchy.

``forecast(panel, h)`` works on any long panel (unique_id, ds, y); the ``forecast`` plan stage runs it
on the company, region, product and region x product series of ``plan.history`` up to the end of the
fiscal plan year. ``accuracy_table``, ``fan_chart_table`` and ``trust_assessment`` feed the notebooks.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from planlib.forecast import models as _models
from planlib.core.errors import ForecastError
from planlib.core.graph import stage
from planlib.forecast.reconcile import METHODS, hierarchy_from_panel, reconcile, shrink_correlation, summing_matrix

__all__ = [
    "DEFAULT_MODELS", "ForecastResult", "accuracy_table", "fan_chart_table", "forecast", "forecast_with_config",
    "hierarchy_from_panel", "plan_horizon", "season_length_of", "trust_assessment",
]

# Chosen on benchmarks/forecast.py: Holt-Winters and Theta (with the baselines) were as accurate
# out of sample as any larger set on both panels at a fraction of the cost; stl_ets won backtests
# but lost out of sample, ets and sarima cost 3-10x more per series for little or no gain.
DEFAULT_MODELS = ("holt_winters", "theta", "snaive", "drift")
BASELINES = ("snaive", "drift")
# How much lower a baseline's backtest MASE must be to be chosen over the smoothing models.
BASELINE_MARGIN = 0.1
PLAN_LEVELS = ("company", "region", "product", "region_product")
Z80 = stats.norm.ppf(0.9)
# Pooled calibration wants at least this many scaled errors around each horizon step.
MIN_POOLED_ERRORS = 40
# Weight of the panel-wide error level against a series' own backtest (in origins' worth).
PRIOR_ORIGINS = 2.0
# "auto" forecasts per working day when that makes the panel's year-on-year changes at least this much
# smaller on average; measured 4.9% smaller on the sample company (Spring Festival moves between January
# and February), 8-11% larger on generated panels without a calendar effect (benchmarks/forecast.py).
CALENDAR_MARGIN = 0.02


# --------------------------------------------------------------------------- the result
@dataclass
class ForecastResult:
    """Forecasts with calibrated intervals, the backtest behind them, and notes on every fallback.

    Attributes
    ----------
    forecasts : DataFrame
        unique_id, ds, yhat, lo_<L>, hi_<L> for each level L, model.
    backtest : DataFrame
        unique_id, model, mase, smape, coverage_80, bias, chosen: one row per series and candidate
        (series too short for any backtest have no rows, and a "no_backtest" note instead). bias is
        how far the backtest's forecasts added up above (+) or below (-) the actuals, as a share of
        the actual volume (sum of |actual|), before reconciliation.
    notes : DataFrame
        unique_id, kind, reason: every fallback, filled gap, skipped model and captured warning.
    history : DataFrame
        unique_id, ds, y: the history as fitted (full calendar, gaps filled with 0).
    sd : DataFrame
        unique_id, ds, sd: the error standard deviation of each forecast month (consistent with the
        80% interval), after reconciliation.
    step_correlation : float
        Correlation of forecast errors between months of one series, estimated from backtest totals.
    calendar : dict or None
        With working days given: adjusted (bool), mode, error_ratio (mean over series of the
        seasonal-naive error of sales per working day over that of sales), helped and n_series
        (series whose year-on-year changes got smaller, of those judged). None without working days.
    """

    forecasts: pd.DataFrame
    backtest: pd.DataFrame
    notes: pd.DataFrame
    history: pd.DataFrame
    sd: pd.DataFrame
    step_correlation: float
    levels: tuple[int, ...]
    freq: str
    season_length: int
    reconciliation: str | None
    nonnegative: bool
    calendar: dict | None = None

    def total_distribution(self, unique_id: str, start, end):
        """Return the distribution of the total of one series over the months [start, end].

        Months already in the history count at their actual value; forecast months add their
        forecast, with a variance that allows for errors being correlated from month to month.

        Parameters
        ----------
        unique_id : str
        start, end : Timestamp or str
            First and last period included.

        Returns
        -------
        scipy.stats frozen distribution
            Normal (truncated at zero for sales) with .mean(), .ppf(q), .sf(x), .rvs(size, random_state).

        Raises
        ------
        ForecastError
            If the series is unknown or the months fall outside history plus horizon.
        """
        start, end = pd.Timestamp(start), pd.Timestamp(end)
        fc = self.forecasts[self.forecasts["unique_id"] == unique_id]
        if fc.empty:
            raise ForecastError(f"total_distribution: no forecast for series {unique_id!r}")
        hist = self.history[self.history["unique_id"] == unique_id]
        first, last = hist["ds"].min(), fc["ds"].max()
        if start > end or start < first or end > last:
            raise ForecastError(f"total_distribution({unique_id!r}): months {start:%Y-%m-%d}..{end:%Y-%m-%d} "
                                f"must lie within the history and horizon {first:%Y-%m-%d}..{last:%Y-%m-%d}")
        actual = float(hist.loc[hist["ds"].between(start, end), "y"].sum())
        inside = fc["ds"].between(start, end).to_numpy()
        mean = actual + float(fc.loc[inside, "yhat"].sum())
        sd = self.sd[self.sd["unique_id"] == unique_id]["sd"].to_numpy()[inside]
        rho = self.step_correlation
        var = float(np.sum(sd ** 2) + rho * (np.sum(sd) ** 2 - np.sum(sd ** 2)))
        scale = max(math.sqrt(max(var, 0.0)), 1e-9 * max(abs(mean), 1.0))
        if self.nonnegative and mean >= 0:
            return stats.truncnorm(a=-mean / scale, b=np.inf, loc=mean, scale=scale)
        return stats.norm(loc=mean, scale=scale)


# --------------------------------------------------------------------------- calendar
def season_length_of(freq: str) -> int:
    """Return the season length implied by a pandas frequency (MS -> 12, QS -> 4, W -> 52, D -> 7)."""
    base = pd.tseries.frequencies.to_offset(freq).rule_code.split("-")[0].upper()
    lengths = {"MS": 12, "ME": 12, "M": 12, "BMS": 12, "BME": 12, "QS": 4, "QE": 4, "Q": 4, "BQS": 4, "BQE": 4,
               "W": 52, "D": 7, "B": 5, "YS": 1, "YE": 1, "Y": 1, "H": 24}
    if base in lengths:
        return lengths[base]
    raise ForecastError(f"cannot tell the season length of freq={freq!r}; pass season_length=")


def plan_horizon(last_month, fiscal_year: int, start_month: int = 1) -> tuple[pd.Timestamp, pd.Timestamp, int]:
    """Return (first forecast month, last month of the plan year, number of months).

    The forecast covers the rest of the current year after ``last_month`` and the whole plan year:
    FY2027 starting in January is 2027-01..2027-12; starting in April it is 2026-04..2027-03.

    Raises
    ------
    ForecastError
        If the plan year ends before the month after ``last_month``.
    """
    last = pd.Timestamp(last_month).to_period("M")
    fy_end = pd.Period(year=fiscal_year if start_month > 1 else fiscal_year,
                       month=start_month - 1 if start_month > 1 else 12, freq="M")
    h = (fy_end - last).n
    if h < 1:
        raise ForecastError(f"the plan year FY{fiscal_year} ended ({fy_end}) before the history's last month {last}")
    return (last + 1).to_timestamp(), fy_end.to_timestamp(), h


# --------------------------------------------------------------------------- input checks
def _prepare(panel, id_col, ds_col, y_col, freq):
    """Validate the panel and put every series on the full calendar; return (series, notes, end)."""
    missing = [c for c in (id_col, ds_col, y_col) if c not in panel.columns]
    if missing:
        raise ForecastError(f"the panel has no column(s) {missing}; it has {list(panel.columns)} "
                            f"(name them with id_col=, ds_col=, y_col=)")
    df = pd.DataFrame({"uid": panel[id_col].astype(str), "ds": pd.to_datetime(panel[ds_col]),
                       "y": pd.to_numeric(panel[y_col], errors="coerce").astype(float)})
    if df.empty:
        raise ForecastError("the panel is empty: nothing to forecast")
    bad = df[~np.isfinite(df["y"].to_numpy())]
    if not bad.empty:
        lines = [f"  - {uid}: {', '.join(f'{d:%Y-%m-%d}' for d in g['ds'])}" for uid, g in bad.groupby("uid")]
        raise ForecastError(f"{len(bad)} value(s) of {y_col!r} are NaN, inf or not numbers (fill months without "
                            f"sales with 0, or drop them to have them filled):\n" + "\n".join(lines))
    offset = pd.tseries.frequencies.to_offset(freq)
    off = df[~df["ds"].map(offset.is_on_offset)]
    if not off.empty:
        lines = [f"  - {uid}: {', '.join(f'{d:%Y-%m-%d}' for d in g['ds'][:5])}" for uid, g in off.groupby("uid")]
        raise ForecastError(f"dates are not on the freq={freq!r} calendar (e.g. month starts for 'MS'):\n"
                            + "\n".join(lines))
    dup = df[df.duplicated(["uid", "ds"], keep=False)]
    if not dup.empty:
        lines = [f"  - {uid}: {', '.join(sorted({f'{d:%Y-%m-%d}' for d in g['ds']}))}" for uid, g in dup.groupby("uid")]
        raise ForecastError("more than one row for the same series and date:\n" + "\n".join(lines))
    end = df["ds"].max()
    series, notes = {}, []
    for uid, g in df.sort_values("ds").groupby("uid", sort=True):
        calendar = pd.date_range(g["ds"].iloc[0], end, freq=freq)
        values = g.set_index("ds")["y"].reindex(calendar)
        gaps = values.index[values.isna()]
        if len(gaps):
            shown = ", ".join(f"{d:%Y-%m-%d}" for d in gaps[:6]) + (" ..." if len(gaps) > 6 else "")
            notes.append((uid, "filled", f"{len(gaps)} period(s) missing from the input filled with 0: {shown}"))
        series[uid] = (calendar[0], values.fillna(0.0).to_numpy())
    return series, notes, end


# --------------------------------------------------------------------------- working days
def _calendar_factors(series, working_days, end, h, freq, m, mode):
    """Decide whether to forecast per working day; return ({uid: factors (n + h,)}, info, notes).

    ``factors`` are each period's working days over the history's average. In "auto" mode the panel is
    adjusted when dividing by them makes the year-on-year changes (the seasonal-naive error) smaller on
    average over the series by at least CALENDAR_MARGIN: one decision for the panel, because every
    series shares the calendar and a per-series choice would chase noise (measured on the benchmarks).
    Constant series are never adjusted: they stay exactly as they are.
    """
    days = _working_days_series(working_days, freq)
    first = min(start for start, _ in series.values())
    needed = pd.date_range(first, periods=len(pd.date_range(first, end, freq=freq)) + int(h), freq=freq)
    got = days.reindex(needed)
    bad = got.index[~(np.isfinite(got.to_numpy()) & (got.to_numpy() > 0))]
    if len(bad):
        shown = ", ".join(f"{d:%Y-%m-%d}" for d in bad[:6]) + (" ..." if len(bad) > 6 else "")
        raise ForecastError(f"working_days must give a positive number for every period from {needed[0]:%Y-%m-%d} "
                            f"to {needed[-1]:%Y-%m-%d} (history and horizon); {len(bad)} missing, zero or "
                            f"not finite: {shown}")
    factor = got / float(got[got.index <= end].mean())
    ratios = {}
    for uid, (start, v) in series.items():
        f = factor[start:].to_numpy()[:len(v)]
        raw = _yoy_error(v, m)
        if raw > 0:  # a series judged: one with year-on-year changes (a full season and not constant)
            ratios[uid] = _yoy_error(v / f, m) / raw
    mean_ratio = float(np.mean(list(ratios.values()))) if ratios else None
    helped = int(sum(r < 1 for r in ratios.values()))
    adjust = mode is True or (mode == "auto" and bool(ratios) and mean_ratio < 1 - CALENDAR_MARGIN)
    info = {"adjusted": adjust, "mode": mode, "error_ratio": mean_ratio, "helped": helped, "n_series": len(ratios)}
    change = (f"per working day, year-on-year changes were {abs(1 - mean_ratio):.1%} "
              f"{'smaller' if mean_ratio < 1 else 'larger'} on average ({helped} of {len(ratios)} series smaller)"
              if ratios else "no series to judge by: each is constant or too short to compare a period with the "
                             "one a season earlier")
    if adjust:
        reason = f"forecast per working day, multiplied back by each period's working days: {change}"
    else:
        reason = f"not adjusted for working days ({'switched off' if mode is False else change})"
    notes = [("(all)", "calendar", reason)]
    out = {}
    if adjust:
        for uid, (start, v) in series.items():
            if np.ptp(v) > 0:
                out[uid] = factor[start:].to_numpy()[:len(v) + int(h)]
    return out, info, notes


def _adjust_mode(mode, working_days):
    """Return "auto", True or False from ``working_day_adjust``, or raise on anything else."""
    if isinstance(mode, str) and mode == "auto":
        pass
    elif isinstance(mode, (bool, np.bool_)):
        mode = bool(mode)
    else:
        raise ForecastError(f"working_day_adjust must be 'auto', True or False, got {mode!r}")
    if mode is True and working_days is None:
        raise ForecastError("working_day_adjust=True needs working_days: the working days of every period")
    return mode


def _working_days_series(working_days, freq):
    """Return ``working_days`` as a float Series on period-start dates of ``freq``, or raise saying why not."""
    if not isinstance(working_days, pd.Series):
        raise ForecastError(f"working_days must be a pandas Series of working days indexed by period start, "
                            f"got {type(working_days).__name__}")
    index = working_days.index
    if isinstance(index, pd.PeriodIndex):
        index = index.to_timestamp()
    try:
        index = pd.DatetimeIndex(pd.to_datetime(index))
    except (TypeError, ValueError) as exc:
        raise ForecastError(f"working_days must be indexed by dates (period starts): {exc}") from None
    offset = pd.tseries.frequencies.to_offset(freq)
    off = index[~index.map(offset.is_on_offset).to_numpy(dtype=bool)]
    if len(off):
        raise ForecastError(f"working_days must be indexed by the panel's period starts (freq={freq!r}); found "
                            f"{', '.join(f'{d:%Y-%m-%d}' for d in off[:4])}{' ...' if len(off) > 4 else ''}")
    dup = index[index.duplicated()]
    if len(dup):
        raise ForecastError(f"working_days has more than one value for {', '.join(f'{d:%Y-%m-%d}' for d in dup[:4])}")
    return pd.Series(pd.to_numeric(working_days, errors="coerce").to_numpy(dtype=float), index=index)


def _yoy_error(v, m):
    """Mean absolute change from the same period a season earlier (0 when there is no full season)."""
    return float(np.mean(np.abs(v[m:] - v[:-m]))) if len(v) > m else 0.0


# --------------------------------------------------------------------------- running the fits
def _process_context():
    """Start worker processes by fork where the platform has it: workers start at once with
    statsmodels loaded, and a script needs no ``if __name__ == "__main__"`` guard (forkserver and
    spawn re-run the main script in each worker)."""
    import multiprocessing as mp

    return mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None


def _run(tasks, n_jobs, scheduler, progress):
    """Fit every task locally, in worker processes, or on a dask cluster; keep the input order."""
    from tqdm.auto import tqdm

    workers = n_jobs or os.cpu_count() or 1
    size = max(1, min(25, math.ceil(len(tasks) / (4 * max(workers, 1)))))
    batches = [tasks[i:i + size] for i in range(0, len(tasks), size)]
    ctx = _process_context() if not scheduler and workers > 1 else None
    bar = tqdm(total=len(tasks), desc="forecast", unit="series", disable=not progress)
    out: list = [None] * len(batches)
    try:
        if scheduler:
            from distributed import Client

            with Client(scheduler, set_as_default=False) as client:
                futures = client.map(_models.fit_batch, batches, pure=False)
                for i, fut in enumerate(futures):
                    out[i] = client.gather(fut)
                    bar.update(len(out[i]))
        elif workers <= 1 or len(batches) == 1:
            for i, batch in enumerate(batches):
                out[i] = _models.fit_batch(batch)
                bar.update(len(batch))
        else:
            import concurrent.futures as cf

            with cf.ProcessPoolExecutor(max_workers=min(workers, len(batches)), mp_context=ctx) as pool:
                futures = {pool.submit(_models.fit_batch, b): i for i, b in enumerate(batches)}
                for fut in cf.as_completed(futures):
                    out[futures[fut]] = fut.result()
                    bar.update(len(out[futures[fut]]))
    finally:
        bar.close()
    return [fit for batch in out for fit in batch]


# --------------------------------------------------------------------------- scoring and choosing
def _mase(actuals, forecasts, scales):
    return float(np.mean(np.mean(np.abs(actuals - forecasts), axis=1) / scales))


def _smape(actuals, forecasts):
    denom = np.abs(actuals) + np.abs(forecasts)
    ratio = np.divide(2 * np.abs(actuals - forecasts), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(100 * np.mean(ratio))


def _candidates(fit, combine):
    """Return {label: (backtest (k, hb), final (h,))} for each model and combination of the best.

    Combinations average the best two or three smoothing models; the baselines stay out of them.
    """
    cands = {m: (fit.backtest[m], fit.final[m]) for m in fit.models}
    if not fit.ends:
        return cands
    smooth = [m for m in cands if m not in BASELINES]
    ranked = sorted(smooth, key=lambda m: (_mase(fit.actuals, cands[m][0], fit.scales), _models.MODELS.index(m)))
    if combine:
        for k in (2, 3):
            if len(ranked) >= k:
                top = sorted(ranked[:k], key=_models.MODELS.index)
                cands["combo(" + "+".join(top) + ")"] = (np.mean([fit.backtest[m] for m in top], axis=0),
                                                          np.mean([fit.final[m] for m in top], axis=0))
    return cands


def _choose(fit, cands, n, m, origins=None):
    """Return the label with the lowest backtest MASE (ties to the simpler), or a fallback.

    A baseline (seasonal naive, drift) must beat the best smoothing model by BASELINE_MARGIN: it
    repeats last year's noise, so a short backtest flatters it (measured on both benchmark panels).
    """
    if not fit.ends:
        # No backtest: seasonal naive once a full season is there, else drift.
        if "snaive" in cands and m > 1 and n >= m:
            return "snaive"
        return "drift" if "drift" in cands else next(iter(cands))
    use = slice(None) if origins is None else list(origins)
    scores = {lab: _mase(fit.actuals[use], b[use], fit.scales[use]) for lab, (b, _) in cands.items()}
    smooth = {lab: v for lab, v in scores.items() if lab not in BASELINES}
    label = None
    if smooth:
        best = min(smooth.values())
        label = next(lab for lab in smooth if smooth[lab] <= best + 1e-9 * max(best, 1e-12))
    for base in BASELINES:
        if base in scores and (label is None or scores[base] < (1 - BASELINE_MARGIN) * scores[label]):
            label = base
    return label


def _honest_errors(fit, cands, label, n, m):
    """Return the backtest errors of the choosing, not of the chosen: (origins, hb).

    The chosen model won the backtest, so its own errors there understate what it will miss by
    (the winner's curse). At each origin the choice is made again from the other origins alone and
    that choice's error is kept; with one origin there is nothing to leave out.
    """
    k = len(fit.ends)
    if k < 2:
        return fit.actuals - cands[label][0]
    rows = []
    for o in range(k):
        pick = _choose(fit, cands, n, m, [i for i in range(k) if i != o])
        rows.append(fit.actuals[o] - cands[pick][0][o])
    return np.array(rows)


# --------------------------------------------------------------------------- calibration
def _pooled_quantiles(scaled, h, levels, calibrate):
    """Per horizon step, the quantiles of |scaled error| at each level, pooled over the panel.

    ``scaled`` maps step (1-based) -> array of scaled errors. Returns {level: ndarray (h,)}, widening
    with the horizon (a later month is never surer than an earlier one).
    """
    steps = sorted(scaled)
    if not steps:
        # Nothing to learn from: a normal guess growing like a random walk, flagged by the caller.
        return {lv: stats.norm.ppf(0.5 + lv / 200) * np.sqrt(np.arange(1, h + 1)) for lv in levels}
    top = max(steps)
    out = {lv: np.zeros(h) for lv in levels}
    for j in range(1, min(h, top) + 1):
        width, pool = 0, np.asarray(scaled.get(j, []))
        while len(pool) < MIN_POOLED_ERRORS and width < top:
            width += 1
            pool = np.concatenate([np.asarray(scaled.get(k, [])) for k in range(j - width, j + width + 1)])
        a = np.abs(pool)
        q80 = float(np.quantile(a, 0.8)) if calibrate else Z80 * float(np.sqrt(np.mean(a ** 2)))
        for lv in levels:
            z_ratio = stats.norm.ppf(0.5 + lv / 200) / Z80
            if calibrate:
                q = float(np.quantile(a, lv / 100))
                # Few errors say little about the far tail: never narrower than a normal shape implies.
                out[lv][j - 1] = max(q, q80 * z_ratio) if lv > 80 else q
            else:
                out[lv][j - 1] = q80 * z_ratio
    for lv in levels:
        out[lv][:min(h, top)] = _isotonic(out[lv][:min(h, top)])
        for j in range(top + 1, h + 1):
            out[lv][j - 1] = out[lv][top - 1] * math.sqrt(j / top)
    return out


def _isotonic(values):
    """Return the closest non-decreasing sequence (pool adjacent violators, equal weights).

    Unlike a running maximum it does not let one noisy early step widen every later one.
    """
    blocks = []  # [mean, count]
    for v in map(float, values):
        blocks.append([v, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            (m2, c2), (m1, c1) = blocks.pop(), blocks.pop()
            blocks.append([(m1 * c1 + m2 * c2) / (c1 + c2), c1 + c2])
    return np.concatenate([np.full(c, m) for m, c in blocks]) if blocks else np.asarray(values, dtype=float)


# --------------------------------------------------------------------------- the engine
def forecast(panel: pd.DataFrame, h: int, *, freq: str = "MS", levels=(80, 95), season_length: int | None = None,
             models=DEFAULT_MODELS, origins: int = 3, combine: bool = True, calibrate: bool = True,
             hierarchy: pd.DataFrame | None = None, reconciliation: str = "mint", nonnegative: bool = True,
             working_days: pd.Series | None = None, working_day_adjust: bool | str = "auto",
             n_jobs: int | None = None, scheduler: str | None = None, progress: bool | None = None,
             id_col: str = "unique_id", ds_col: str = "ds", y_col: str = "y") -> ForecastResult:
    """Forecast every series of a long panel ``h`` periods ahead with calibrated intervals.

    Per series, each candidate model is backtested from several rolling origins (horizon ``h``, or
    shorter when the history is short) and the one with the lowest MASE is chosen, or the mean of
    the best two or three where that backtests better. Intervals come from the backtest errors of that
    choice made again without each origin (so they are not the winner's flattering ones), scaled by
    each series' seasonal-naive error and pooled over the panel per horizon step.

    Parameters
    ----------
    panel : DataFrame
        Long table with columns ``id_col``, ``ds_col`` (dates on the ``freq`` calendar) and ``y_col``.
        Missing periods are filled with 0 (and noted); NaN or inf is an error.
    h : int
        Periods to forecast after the last date of the panel.
    freq : str, default "MS"
        pandas frequency of the dates ("MS" monthly, "QS" quarterly, ...).
    levels : sequence of int, default (80, 95)
        Interval levels in percent.
    season_length : int, optional
        Periods per seasonal cycle; default from ``freq`` (12 for monthly, 4 for quarterly).
    models : sequence of str, default DEFAULT_MODELS
        Candidates among snaive, drift, theta, stl_ets, holt_winters, ets, sarima.
    origins : int, default 3
        Rolling-origin backtest windows (at least 2 where the history allows).
    combine : bool, default True
        Consider the mean of the best two and three models.
    calibrate : bool, default True
        Intervals from empirical quantiles of the backtest errors, widened per series where its own
        backtest errors are larger; False: a normal shape from the pooled backtest error only.
    hierarchy : DataFrame, optional
        unique_id, bottom_id (see :func:`hierarchy_from_panel`): reconcile so that series add up.
    reconciliation : {"mint", "bottom_up", "top_down"}, default "mint"
    nonnegative : bool, default True
        Sales: forecasts and interval bounds are never below zero.
    working_days : Series, optional
        Working (trading) days per period, indexed by period start, for every period from the first
        history date to ``h`` periods after the last (see :func:`planlib.calendar.period_working_days`).
        Sales that move with the calendar, such as around a Spring Festival that falls in January one
        year and February the next, are then forecast per working day and multiplied back.
    working_day_adjust : {"auto", True, False}, default "auto"
        With ``working_days``: "auto" adjusts the panel when that makes its year-on-year changes
        smaller on average (the decision and its figures are in ``.notes`` and ``.calendar``).
    n_jobs : int, optional
        Local worker processes; default all cores. 1 fits in this process.
    scheduler : str, optional
        A dask.distributed scheduler address: fit the series on that cluster instead.
    progress : bool, optional
        A tqdm progress bar; default only for 200 series or more.
    id_col, ds_col, y_col : str
        Column names in ``panel``.

    Returns
    -------
    ForecastResult
        ``.forecasts`` (unique_id, ds, yhat, lo_L, hi_L..., model), ``.backtest`` (unique_id, model,
        mase, smape, coverage_80, bias, chosen), ``.notes`` (unique_id, kind, reason), ``.total_distribution``.

    Raises
    ------
    ForecastError
        On missing columns, NaN/inf values (naming the series and dates), dates off the calendar,
        duplicated dates, an unknown model or reconciliation method, or ``h < 1``.
    """
    if int(h) < 1:
        raise ForecastError(f"h must be at least 1 period, got {h}")
    unknown = [m for m in models if m not in _models.FITTERS]
    if unknown or not models:
        raise ForecastError(f"unknown model(s) {unknown or models}; choose from {list(_models.MODELS)}")
    if reconciliation not in METHODS:
        raise ForecastError(f"reconciliation must be one of {METHODS}, got {reconciliation!r}")
    asked = tuple(sorted({int(lv) for lv in levels}))
    levels = tuple(sorted(set(asked) | {80}))  # 80% is always computed: the backtest reports its coverage
    m = int(season_length or season_length_of(freq))
    series, notes, end = _prepare(panel, id_col, ds_col, y_col, freq)
    factors, calendar = {}, None
    working_day_adjust = _adjust_mode(working_day_adjust, working_days)
    if working_days is not None:
        factors, calendar, calendar_notes = _calendar_factors(series, working_days, end, h, freq, m,
                                                              working_day_adjust)
        notes += calendar_notes
    tasks = [_models.SeriesTask(uid, v, start, freq, m, int(h), tuple(models), int(origins), factors.get(uid))
             for uid, (start, v) in series.items()]
    if progress is None:
        progress = len(tasks) >= 200
    if n_jobs is None:
        n_jobs = 1 if len(tasks) < 4 else (os.cpu_count() or 1)
    fits = _run(tasks, n_jobs, scheduler, progress)

    # Choose per series; keep the chosen forecast's backtest errors, scaled by the series' MASE scale.
    chosen, scaled = {}, {}
    for fit in fits:
        notes += [(fit.unique_id, kind, reason) for kind, reason in fit.notes]
        cands = _candidates(fit, combine)
        label = _choose(fit, cands, len(series[fit.unique_id][1]), m)
        chosen[fit.unique_id] = (label, cands)
        if not fit.ends:
            notes.append((fit.unique_id, "fallback", f"no backtest: {label} used, intervals from other series"))
        elif label in BASELINES and len(fit.models) <= 2:
            notes.append((fit.unique_id, "fallback", f"only simple models could be fitted: {label} chosen"))
        if fit.ends:
            scaled[fit.unique_id] = _honest_errors(fit, cands, label, len(series[fit.unique_id][1]), m) \
                / fit.scales[:, None]
    factor = _series_factors(scaled, calibrate)
    by_step: dict[int, list] = {}
    for uid, u in scaled.items():
        # Later origins trained on more history, as the final fit does: they count more (1, 2, 3, ...).
        weighted = np.repeat(u / factor[uid], np.arange(1, u.shape[0] + 1), axis=0)
        for j in range(u.shape[1]):
            by_step.setdefault(j + 1, []).extend(weighted[:, j].tolist())
    q = _pooled_quantiles(by_step, int(h), levels, calibrate)
    if not scaled:
        notes.append(("(all)", "no_backtest", "no series long enough to backtest: intervals are a normal guess"))
    q80 = np.maximum(q[80], 1e-12)  # all-perfect backtests give zero quantiles
    factor = {fit.unique_id: factor.get(fit.unique_id, 1.0) for fit in fits}

    uids = [fit.unique_id for fit in fits]
    by_uid = {fit.unique_id: fit for fit in fits}
    yhat = np.array([chosen[u][1][chosen[u][0]][1] for u in uids])
    half = {lv: np.array([factor[u] * by_uid[u].final_scale * q[lv] for u in uids]) for lv in levels}
    sd = half[80] / Z80
    rho = _step_correlation(fits, chosen, q80, factor)
    backtest = _backtest_table(fits, chosen, q80, factor)

    if hierarchy is not None:
        starts = {u: series[u][0] for u in uids}
        yhat, sd, half, recon_notes = _reconcile(hierarchy, uids, yhat, sd, half, fits, chosen, q80, factor,
                                                 starts, freq, reconciliation, nonnegative)
        notes += recon_notes
    elif nonnegative and np.any(yhat < 0):
        for i in np.flatnonzero((yhat < 0).any(axis=1)):
            notes.append((uids[i], "clipped", f"{int((yhat[i] < 0).sum())} negative forecast(s) set to 0"))
        yhat = np.clip(yhat, 0, None)

    dates = pd.date_range(end, periods=int(h) + 1, freq=freq)[1:]
    frame = {"unique_id": np.repeat(uids, h), "ds": np.tile(dates, len(uids)), "yhat": yhat.ravel()}
    for lv in asked:
        lo, hi = yhat - half[lv], yhat + half[lv]
        frame[f"lo_{lv}"] = (np.clip(lo, 0, None) if nonnegative else lo).ravel()
        frame[f"hi_{lv}"] = (np.clip(hi, 0, None) if nonnegative else hi).ravel()
    frame["model"] = np.repeat([chosen[u][0] for u in uids], h)
    forecasts = pd.DataFrame(frame)
    numbers = forecasts.select_dtypes("number").to_numpy()
    if not np.all(np.isfinite(numbers)):
        raise ForecastError("internal: a non-finite forecast survived the checks")  # a bug, never data
    history = pd.DataFrame([(u, d, v) for u, (s, vals) in series.items()
                            for d, v in zip(pd.date_range(s, periods=len(vals), freq=freq), vals)],
                           columns=["unique_id", "ds", "y"])
    sd_table = pd.DataFrame({"unique_id": np.repeat(uids, h), "ds": np.tile(dates, len(uids)), "sd": sd.ravel()})
    notes_table = (pd.DataFrame(notes, columns=["unique_id", "kind", "reason"])
                   .drop_duplicates().sort_values(["unique_id", "kind", "reason"]).reset_index(drop=True))
    return ForecastResult(forecasts, backtest, notes_table, history, sd_table, rho, asked, freq, m,
                          reconciliation if hierarchy is not None else None, nonnegative, calendar)


def _series_factors(scaled, calibrate):
    """Return each series' error level relative to the panel's, shrunk toward 1.

    A series whose backtest errors run above the panel's gets proportionally wider intervals; with
    only a few origins its own evidence is weighed against PRIOR_ORIGINS origins' worth of the panel.
    """
    if not calibrate or not scaled:
        return {uid: 1.0 for uid in scaled}
    steps = max(u.shape[1] for u in scaled.values())
    typical = np.zeros(steps)
    for j in range(steps):
        typical[j] = np.mean(np.concatenate([np.abs(u[:, j]) for u in scaled.values() if u.shape[1] > j]))
    out = {}
    for uid, u in scaled.items():
        own = np.divide(np.abs(u), typical[:u.shape[1]], out=np.ones_like(u), where=typical[:u.shape[1]] > 0)
        k = u.shape[0]
        out[uid] = float((k * np.mean(own) + PRIOR_ORIGINS) / (k + PRIOR_ORIGINS))
    return out


def _step_correlation(fits, chosen, q80, factor):
    """Equicorrelation of errors across months, from how backtest totals spread beyond their months."""
    totals, squares, steps = 0.0, 0.0, []
    for fit in fits:
        if not fit.ends or fit.hb < 2:
            continue
        back = chosen[fit.unique_id][1][chosen[fit.unique_id][0]][0]
        z = (fit.actuals - back) / fit.scales[:, None] / (factor[fit.unique_id] * q80[:fit.hb] / Z80)
        totals += float(np.sum(z.sum(axis=1) ** 2))
        squares += float(np.sum(z ** 2))
        steps.append(fit.hb)
    if squares == 0 or not steps:
        return 0.0
    return float(np.clip((totals / squares - 1) / (np.mean(steps) - 1), 0.0, 1.0))


def _bias(actuals, forecasts):
    """Return how far the backtest's forecasts added up above (+) or below (-) the actuals.

    (sum of forecasts - sum of actuals) over every origin and step, as a share of the actual volume
    (the sum of |actual|). Against an all-zero actual it is a share of the forecast volume instead
    (so +-100% when anything was forecast), and 0 when both are zero.
    """
    gap = float(np.sum(forecasts) - np.sum(actuals))
    base = float(np.sum(np.abs(actuals))) or float(np.sum(np.abs(forecasts)))
    return gap / base if base > 0 else 0.0


def _backtest_table(fits, chosen, q80, factor):
    rows = []
    for fit in fits:
        label, cands = chosen[fit.unique_id]
        for lab, (back, _) in cands.items():
            if fit.ends:
                half = factor[fit.unique_id] * fit.scales[:, None] * q80[:fit.hb]
                cover = float(np.mean(np.abs(fit.actuals - back) <= half))
                rows.append((fit.unique_id, lab, _mase(fit.actuals, back, fit.scales),
                             _smape(fit.actuals, back), cover, _bias(fit.actuals, back), lab == label))
    return (pd.DataFrame(rows, columns=["unique_id", "model", "mase", "smape", "coverage_80", "bias", "chosen"])
            .sort_values(["unique_id", "model"]).reset_index(drop=True))


def _reconcile(hierarchy, uids, yhat, sd, half, fits, chosen, q80, factor, starts, freq, method, nonnegative):
    """Make the hierarchy's forecasts add up; carry the error covariance through the same projection."""
    s_frame = summing_matrix(hierarchy)
    missing = sorted(set(s_frame.index) - set(uids))
    if missing:
        raise ForecastError(f"hierarchy names series not in the panel: {missing}")
    order = list(s_frame.index)
    pos = [uids.index(u) for u in order]
    s = s_frame.to_numpy()
    # Correlation across series from the chosen backtest errors, aligned on (origin, step) dates.
    by_uid = {f.unique_id: f for f in fits}
    offset = pd.tseries.frequencies.to_offset(freq)
    keyed = {}
    for u in order:
        fit = by_uid[u]
        if not fit.ends:
            continue
        back = chosen[u][1][chosen[u][0]][0]
        z = (fit.actuals - back) / fit.scales[:, None] / (factor[u] * q80[:fit.hb] / Z80)
        origin = [starts[u] + e * offset for e in fit.ends]
        keyed[u] = {(origin[o], j): z[o, j] for o in range(len(fit.ends)) for j in range(fit.hb)}
    common = set.intersection(*(set(k) for k in keyed.values())) if len(keyed) == len(order) else set()
    notes = []
    if len(common) >= 3:
        keys = sorted(common)
        corr = shrink_correlation(np.array([[keyed[u][k] for u in order] for k in keys]))
    else:
        corr = np.eye(len(order))
        notes.append(("(hierarchy)", "reconcile", "backtest windows do not line up: series errors taken as independent"))
    base, base_sd = yhat[pos], sd[pos]
    bottom, sd_rec = reconcile(base, base_sd, corr, s, method)
    if nonnegative and np.any(bottom < 0):
        for b in np.flatnonzero((bottom < 0).any(axis=1)):
            notes.append((s_frame.columns[b], "clipped", f"{int((bottom[b] < 0).sum())} negative reconciled "
                                                         f"forecast(s) set to 0"))
        bottom = np.clip(bottom, 0, None)
    rec = s @ bottom
    new_yhat, new_sd = yhat.copy(), sd.copy()
    new_half = {lv: arr.copy() for lv, arr in half.items()}
    for row, i in enumerate(pos):
        new_yhat[i] = rec[row]
        new_sd[i] = sd_rec[row]
        ratio = np.divide(sd_rec[row], base_sd[row], out=np.ones_like(sd_rec[row]), where=base_sd[row] > 0)
        for lv in half:
            z = stats.norm.ppf(0.5 + lv / 200)
            new_half[lv][i] = np.where(base_sd[row] > 0, half[lv][i] * ratio, z * sd_rec[row])
    return new_yhat, new_sd, new_half, notes


# --------------------------------------------------------------------------- tables for the notebooks
def fan_chart_table(result: ForecastResult, unique_ids=None, history_periods: int = 24) -> pd.DataFrame:
    """Return actuals and forecasts of some series in one table, ready for a fan chart.

    Parameters
    ----------
    result : ForecastResult
    unique_ids : sequence of str, optional
        Series to include (default all).
    history_periods : int, default 24
        Periods of history shown before the forecast.

    Returns
    -------
    DataFrame
        unique_id, ds, kind ("actual" or "forecast"), y (actuals), yhat, lo_L, hi_L per level, model.
        The last actual is repeated as a forecast row (yhat = lo = hi = y) so band and line join up.
    """
    ids = sorted(result.forecasts["unique_id"].unique()) if unique_ids is None else list(unique_ids)
    bands = [c for lv in result.levels for c in (f"lo_{lv}", f"hi_{lv}")]
    hist = result.history[result.history["unique_id"].isin(ids)]
    hist = hist.groupby("unique_id", group_keys=False).tail(history_periods).assign(kind="actual")
    bridge = hist.groupby("unique_id").tail(1).assign(kind="forecast", yhat=lambda d: d["y"])
    for col in bands:
        bridge[col] = bridge["y"]
    fc = result.forecasts[result.forecasts["unique_id"].isin(ids)].assign(kind="forecast", y=np.nan)
    bridge["model"] = bridge["unique_id"].map(fc.drop_duplicates("unique_id").set_index("unique_id")["model"])
    bridge["y"] = np.nan
    out = pd.concat([hist, bridge, fc], ignore_index=True)
    cols = ["unique_id", "ds", "kind", "y", "yhat", *bands, "model"]
    return out.reindex(columns=cols).sort_values(["unique_id", "ds", "kind"]).reset_index(drop=True)


def accuracy_table(result: ForecastResult) -> pd.DataFrame:
    """Return each series' backtest accuracy beside seasonal naive's.

    Returns
    -------
    DataFrame
        unique_id, model (chosen), mase, smape, coverage_80, bias (the backtest's forecasts added up
        against the actuals: -0.05 is 5% under), mase_snaive, smape_snaive, mase_vs_snaive
        (chosen MASE / seasonal naive MASE; below 1 is better than naive).
    """
    bt = result.backtest
    chosen = bt[bt["chosen"]].set_index("unique_id")[["model", "mase", "smape", "coverage_80", "bias"]]
    naive = bt[bt["model"] == "snaive"].set_index("unique_id")[["mase", "smape"]].add_suffix("_snaive")
    out = chosen.join(naive, how="left")
    out["mase_vs_snaive"] = np.where(out["mase_snaive"] > 0, out["mase"] / out["mase_snaive"], np.nan)
    return out.reset_index().sort_values("unique_id").reset_index(drop=True)


def trust_assessment(result: ForecastResult) -> dict:
    """Say, as data, how far the forecast can be trusted.

    Returns
    -------
    dict
        n_series, mean_mase, mean_mase_snaive, improvement_vs_snaive (share of naive's error removed),
        coverage_80 (share of backtest actuals inside the 80% intervals), worst_series, worst_mase,
        top_series (the backtested series with the most sales) and top_bias (its backtest bias),
        n_fallbacks, n_warnings, verdict ("good", "usable" or "weak") and reasons (plain sentences).
    """
    acc = accuracy_table(result)
    scored = acc.dropna(subset=["mase"])
    mean_mase = float(scored["mase"].mean()) if len(scored) else float("nan")
    mean_naive = float(scored["mase_snaive"].mean()) if scored["mase_snaive"].notna().any() else float("nan")
    improvement = 1 - mean_mase / mean_naive if mean_naive and np.isfinite(mean_naive) else float("nan")
    coverage = float(scored["coverage_80"].mean()) if len(scored) else float("nan")
    worst = scored.sort_values(["mase", "unique_id"], ascending=[False, True]).head(1)
    notes = result.notes
    n_fallbacks = int(notes.loc[notes["kind"].isin(["fallback", "failed", "no_backtest"]), "unique_id"].nunique())
    n_warnings = int((notes["kind"] == "warning").sum())
    reasons = []
    if np.isfinite(improvement):
        reasons.append(f"In backtests the forecasts' errors were {abs(improvement):.0%} "
                       f"{'smaller' if improvement >= 0 else 'larger'} than repeating last year's months "
                       f"(mean MASE {mean_mase:.2f} against {mean_naive:.2f}).")
    if np.isfinite(coverage):
        reasons.append(f"The 80% ranges held {coverage:.0%} of what actually happened in the backtests.")
    if len(worst):
        reasons.append(f"The least predictable series is {worst['unique_id'].iloc[0]} "
                       f"(MASE {worst['mase'].iloc[0]:.2f}).")
    top, top_bias = _top_series(result, scored)
    if top is not None:
        reasons.append(f"Added up over the backtests, the chosen model's forecasts of {top} (before the levels "
                       f"were made to add up) came out {abs(top_bias):.1%} {'above' if top_bias >= 0 else 'below'} "
                       f"what was sold.")
    cal = result.calendar
    if cal and cal["n_series"] and cal["mode"] is not False:
        change = f"{abs(1 - cal['error_ratio']):.1%} {'smaller' if cal['error_ratio'] < 1 else 'larger'}"
        if cal["adjusted"]:
            reasons.append(f"Sales were forecast per working day and multiplied back by each period's working days: "
                           f"per working day, year-on-year changes in the history were {change} "
                           f"({cal['helped']} of {cal['n_series']} series).")
            estimated = cal.get("estimated_years") or []
            if estimated:
                reasons.append(f"The make-up working days of {', '.join(map(str, estimated))} are not published "
                               f"yet, so that year's working days are an estimate.")
        else:
            reasons.append(f"Working days did not explain the history's year-on-year changes (per working day they "
                           f"were {change}), so sales were forecast as recorded.")
    if n_fallbacks:
        reasons.append(f"{n_fallbacks} series fell back to simpler methods (see the notes).")
    if not np.isfinite(improvement) or improvement <= 0:
        verdict = "weak"
    elif improvement >= 0.25 and 0.7 <= coverage <= 0.9:
        verdict = "good"
    else:
        verdict = "usable"
    return {
        "n_series": int(result.forecasts["unique_id"].nunique()), "mean_mase": mean_mase, "mean_mase_snaive": mean_naive,
        "improvement_vs_snaive": improvement, "coverage_80": coverage,
        "worst_series": worst["unique_id"].iloc[0] if len(worst) else None,
        "worst_mase": float(worst["mase"].iloc[0]) if len(worst) else float("nan"),
        "top_series": top, "top_bias": top_bias,
        "n_fallbacks": n_fallbacks, "n_warnings": n_warnings, "verdict": verdict, "reasons": reasons,
    }


def _top_series(result: ForecastResult, scored: pd.DataFrame) -> tuple[str | None, float]:
    """Return the backtested series with the largest history (the company total in a plan) and its bias."""
    if scored.empty:
        return None, float("nan")
    size = result.history.groupby("unique_id")["y"].sum().abs().reindex(scored["unique_id"]).fillna(0.0)
    top = str(size.sort_index().idxmax())
    return top, float(scored.set_index("unique_id").loc[top, "bias"])


# --------------------------------------------------------------------------- the plan stage
def forecast_with_config(panel: pd.DataFrame, h: int, cfg) -> ForecastResult:
    """Run :func:`forecast` on a plan-level panel with the config's settings and the company's calendar.

    The company's working days (``company.country``) go in unless ``forecast.working_days`` is "off";
    the plan's forecast stage and the quarterly re-forecast both call this, so they cannot drift apart.

    Parameters
    ----------
    panel : DataFrame
        unique_id, ds (month starts), y, level, region, product: the history at the plan's levels.
    h : int
        Months to forecast after the panel's last month.
    cfg : PlanConfig
        Its ``forecast`` section and ``company.country`` / ``company.subdivision`` are used.

    Returns
    -------
    ForecastResult
        As :func:`forecast`; with working days adjusted for, ``.calendar["estimated_years"]`` lists the
        years whose make-up working days are not published yet (also in ``.notes``).

    Raises
    ------
    ForecastError, ConfigError
        As :func:`forecast`; ConfigError if the holidays library does not know the country.
    """
    from planlib.core.calendar import holiday_coverage, period_working_days

    fc = cfg.forecast
    days = None
    last = pd.Timestamp(panel["ds"].max()) + pd.DateOffset(months=int(h))
    if fc.working_days != "off":
        days = period_working_days(panel["ds"].min(), last, "MS", cfg.company.country, cfg.company.subdivision)
    result = forecast(panel[["unique_id", "ds", "y"]], h, freq="MS", levels=fc.levels, models=fc.models,
                    season_length=fc.season_length, origins=fc.backtest_origins, combine=fc.combine,
                    calibrate=fc.calibrate, hierarchy=hierarchy_from_panel(panel),
                    reconciliation=fc.reconciliation, nonnegative=fc.nonnegative,
                      working_days=days, working_day_adjust={"auto": "auto", "on": True}.get(fc.working_days, False),
                      n_jobs=fc.n_jobs, scheduler=fc.scheduler, progress=fc.progress)
    if result.calendar and result.calendar["adjusted"]:
        # China publishes next year's make-up working days each November: until then they are estimates.
        years = list(range(pd.Timestamp(panel["ds"].max()).year, last.year + 1))
        coverage = holiday_coverage(cfg.company.country, years, cfg.company.subdivision)
        estimated = [int(y) for y in coverage.loc[~coverage["makeup_known"], "year"]]
        result.calendar["estimated_years"] = estimated
        notes = [("(all)", "calendar", f"{year}: make-up working days not published yet; its working days "
                                       f"(and the forecast per working day) are estimates") for year in estimated]
        if notes:
            result.notes = pd.concat([result.notes, pd.DataFrame(notes, columns=result.notes.columns)],
                                     ignore_index=True)
    return result


@stage("forecast", needs=("history",), config=("forecast", "fiscal", "as_of", "seed"))
def forecast_stage(plan) -> ForecastResult:
    """Forecast company, regions, products and region x product cells to the end of the plan year.

    The horizon runs from the month after the last closed month (decided by ``as_of``) to the last
    month of the fiscal plan year, so a history ending in October covers the rest of this year too.
    """
    cfg = plan.config
    history = plan.history
    last_closed = pd.Timestamp(cfg.last_closed_month)
    panel = history[history["level"].isin(PLAN_LEVELS) & (history["ds"] <= last_closed)]
    if panel.empty:
        raise ForecastError(f"the history has no rows at levels {PLAN_LEVELS} up to {last_closed:%Y-%m}")
    _, _, h = plan_horizon(panel["ds"].max(), cfg.fiscal.year, cfg.fiscal.start_month)
    result = forecast_with_config(panel, h, cfg)
    if panel["ds"].max() < last_closed:
        stale = pd.DataFrame([("(all)", "stale", f"history ends {panel['ds'].max():%Y-%m}, before the last "
                                                 f"closed month {last_closed:%Y-%m}: the forecast starts earlier")],
                             columns=["unique_id", "kind", "reason"])
        result.notes = pd.concat([result.notes, stale], ignore_index=True)
    return result


# The forecast reads the company's calendar, not its name or display unit.
forecast_stage.extra_key = lambda plan: (plan.config.company.country, plan.config.company.subdivision)
