"""Series launched inside the history: a product first sold, or a region opened, after the panel's first period.

The months before a launch are not zeros of the series' history: they are cut off. A launch whose sold history
is still too short for the engine's full backtest (:func:`launch_too_short`) is not fitted, backtested or used in
the pooled calibration (its backtest errors, on a near-zero scale, would shift and widen every series); it is
forecast by :data:`LAUNCH_METHOD` (:func:`launch_forecast`), with intervals from the other series' errors at its
own scale, and listed in ``ForecastResult.launches`` so that a page can state it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from planlib.forecast.models import SeriesFit, backtest_windows, mase_scale

__all__ = ["LAUNCH_METHOD", "LAUNCH_MODEL", "launch_fit", "launch_too_short", "split_launches"]

LAUNCH_MODEL = "launch"
LAUNCH_METHOD = ("level since launch (its sales of the last seasonal cycle at most, each divided by the seasonal "
                 "index of its period) x the seasonal profile of the established series added up")


def launch_too_short(n: int, h: int, m: int, origins: int) -> bool:
    """Return True when ``n`` periods are fewer than the engine's full backtest needs.

    The full backtest (:func:`planlib.forecast.models.backtest_windows`) trains on two seasonal cycles (3 periods
    without a season) and tests at least min(h, m // 2) periods from at least two origins (one if ``origins`` is 1).
    """
    ends, _, min_train = backtest_windows(int(n), int(h), int(m), int(origins))
    full_train = 2 * m if m > 1 else 3
    return not ends or min_train < full_train or len(ends) < min(2, int(origins))


def split_launches(series: dict, h: int, m: int, origins: int, freq: str):
    """Find the launches of a prepared panel; return (fitted series, {uid: (first sale, months)}, notes).

    A launch is a series whose first non-zero period comes after the panel's first sale. In the fitted
    series its leading zero months are cut off; a launch too short for the full backtest is left out of them
    (it goes to :func:`launch_fit`). Series with a full history come back exactly as they were.
    """
    offset = pd.tseries.frequencies.to_offset(freq)
    sales = {uid: np.flatnonzero(values != 0) for uid, (_, values) in series.items()}
    starts = [start + int(sold[0]) * offset for (start, _), sold in zip(series.values(), sales.values()) if len(sold)]
    first = min(starts) if starts else None
    fitted, short, notes = {}, {}, []
    for uid, (start, values) in series.items():
        sold = sales[uid]
        first_sale = start + int(sold[0]) * offset if len(sold) else start
        if not len(sold) or first_sale <= first:
            fitted[uid] = (start, values)
            continue
        kept = values[int(sold[0]):]
        said = f"first sale {first_sale:%Y-%m}, {len(kept)} months of sales"
        if launch_too_short(len(kept), h, m, origins):
            short[uid] = (first_sale, len(kept))
            notes.append((uid, "launch", f"{said}: too short for the backtest, left out of it and of the "
                                         f"calibration; forecast: {LAUNCH_METHOD}"))
        else:
            fitted[uid] = (first_sale, kept)
            notes.append((uid, "launch", f"{said}: the months before it are not counted as zero sales"))
    return fitted, short, notes


def _profile(fitted: dict, end: pd.Timestamp, m: int, freq: str) -> tuple[np.ndarray, pd.Timestamp]:
    """Return the seasonal index (m,) of the established series added up, keyed by period from ``origin``.

    Each trailing whole cycle of the sum is divided by its own mean (so growth between years does not tilt
    it) and the cycles are averaged; without a whole cycle (or a season) the index is flat.
    """
    origin = min(start for start, _ in fitted.values()) if fitted else end
    calendar = pd.date_range(origin, end, freq=freq)
    total = np.zeros(len(calendar))
    for start, values in fitted.values():
        total[len(calendar) - len(values):] += values
    cycles = len(total) // m if m > 1 else 0
    ratios = []
    for c in range(cycles):
        block = total[len(total) - (c + 1) * m:len(total) - c * m]
        if block.mean() > 0 and np.all(block >= 0):
            ratios.append(block / block.mean())
    if not ratios:
        return np.ones(max(m, 1)), origin
    # Position p of the averaged cycle is the period index (from origin) congruent to len(total) - m + p.
    mean = np.mean(ratios, axis=0)
    index = np.empty(m)
    for p in range(m):
        index[(len(total) - m + p) % m] = mean[p]
    return index, origin


def launch_fit(uid: str, values: np.ndarray, first_sale: pd.Timestamp, fitted: dict, end: pd.Timestamp,
               h: int, m: int, freq: str) -> SeriesFit:
    """Return the forecast of a short launch as a SeriesFit without backtest (model :data:`LAUNCH_MODEL`)."""
    index, origin = _profile(fitted, end, m, freq)
    n_before = len(pd.date_range(origin, first_sale, freq=freq)) - 1 if first_sale > origin else 0
    sold = np.asarray(values[len(values) - len(pd.date_range(first_sale, end, freq=freq)):], dtype=float)
    keys = (n_before + np.arange(len(sold))) % len(index)
    seasonal = np.where(index[keys] > 0, index[keys], 1.0)
    recent = slice(max(0, len(sold) - max(m, 1)), None)
    level = float(np.mean(sold[recent] / seasonal[recent]))
    n_hist = n_before + len(sold)
    ahead = index[(n_hist + np.arange(h)) % len(index)]
    yhat = level * ahead
    return SeriesFit(uid, [LAUNCH_MODEL], {LAUNCH_MODEL: yhat}, {}, [], 0, np.zeros((0, 0)), np.zeros(0),
                     mase_scale(sold, m), False, [])
