"""The forecast engine's inputs: the panel checked and put on the full calendar of its frequency, and the
decision whether to forecast per working day (with the factors that divide and multiply back).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from planlib.core.errors import ForecastError

__all__ = ["CALENDAR_MARGIN"]

# "auto" forecasts per working day when that makes the panel's year-on-year changes at least this much
# smaller on average; measured 4.9% smaller on the sample company (Spring Festival moves between January
# and February), 8-11% larger on generated panels without a calendar effect (benchmarks/forecast.py).
CALENDAR_MARGIN = 0.02


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
