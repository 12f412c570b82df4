"""Interval calibration for the forecast engine, from the backtest errors: pooled quantiles per horizon step,
each series' error level, the correlation of errors across months and the distribution of a total over
months that follows from it, and the bias of the backtest's forecasts.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from planlib.core.errors import ForecastError

__all__ = ["MIN_POOLED_ERRORS", "PRIOR_ORIGINS", "Z80", "total_distribution"]

Z80 = stats.norm.ppf(0.9)
# Pooled calibration wants at least this many scaled errors around each horizon step.
MIN_POOLED_ERRORS = 40
# Weight of the panel-wide error level against a series' own backtest (in origins' worth).
PRIOR_ORIGINS = 2.0


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


# --------------------------------------------------------------------------- totals over months
def total_distribution(result, unique_id: str, start, end):
    """Return the distribution of the total of one series of ``result`` (a ForecastResult) over [start, end].

    See :meth:`planlib.forecast.engine.ForecastResult.total_distribution`, which calls this.
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    fc = result.forecasts[result.forecasts["unique_id"] == unique_id]
    if fc.empty:
        raise ForecastError(f"total_distribution: no forecast for series {unique_id!r}")
    hist = result.history[result.history["unique_id"] == unique_id]
    first, last = hist["ds"].min(), fc["ds"].max()
    if start > end or start < first or end > last:
        raise ForecastError(f"total_distribution({unique_id!r}): months {start:%Y-%m-%d}..{end:%Y-%m-%d} "
                            f"must lie within the history and horizon {first:%Y-%m-%d}..{last:%Y-%m-%d}")
    actual = float(hist.loc[hist["ds"].between(start, end), "y"].sum())
    inside = fc["ds"].between(start, end).to_numpy()
    mean = actual + float(fc.loc[inside, "yhat"].sum())
    sd = result.sd[result.sd["unique_id"] == unique_id]["sd"].to_numpy()[inside]
    rho = result.step_correlation
    var = float(np.sum(sd ** 2) + rho * (np.sum(sd) ** 2 - np.sum(sd ** 2)))
    scale = max(math.sqrt(max(var, 0.0)), 1e-9 * max(abs(mean), 1.0))
    if result.nonnegative and mean >= 0:
        return stats.truncnorm(a=-mean / scale, b=np.inf, loc=mean, scale=scale)
    return stats.norm(loc=mean, scale=scale)
