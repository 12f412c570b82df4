"""Fairness of rep targets: each rep's target against what their history and ramp make likely, with the
probability of attainment, the Gini of target over potential, and the targets that look unfair or soft.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from planlib.core.graph import stage
from planlib.planning.allocate import AllocationResult, rep_productivity

__all__ = ["Fairness", "fairness", "gini"]


@dataclass(frozen=True)
class Fairness:
    """Fairness of rep targets: one row per rep, a summary, and the targets that look unfair.

    Attributes
    ----------
    reps : DataFrame
        rep_id, name, team, region, target, potential (expected plan-year sales), sd, ratio
        (target / potential), probability (P(attainment)), basis ("own history" or "team peers").
    summary : dict
        reps, share_below_low, share_above_high, gini (of target / potential), median_probability,
        low, high.
    unfair : DataFrame
        rep_id, name, team, target, potential, probability, reason.
    """

    reps: pd.DataFrame
    summary: dict
    unfair: pd.DataFrame


def gini(values) -> float:
    """Return the Gini coefficient of non-negative ``values`` (0 = all equal).

    >>> round(gini([1, 1, 1, 1]), 3), round(gini([0, 0, 0, 4]), 3)
    (0.0, 0.75)
    """
    x = np.sort(np.asarray(values, dtype=float))
    if len(x) == 0 or x.sum() <= 0:
        return 0.0
    n = len(x)
    return float((2 * np.sum(np.arange(1, n + 1) * x)) / (n * x.sum()) - (n + 1) / n)


def fairness(allocation: AllocationResult, productivity: pd.DataFrame, *, growth: float = 0.0,
             low: float = 0.30, high: float = 0.85) -> Fairness:
    """Judge each rep's target against what their history and ramp make likely.

    A rep's plan-year sales are modelled as Normal: mean = productivity per FTE-month x
    (1 + growth) x the rep's FTE-months in the plan year (ramp and hire/exit dates included);
    variance = month-to-month variance x FTE-months plus the uncertainty of the mean itself.

    Parameters
    ----------
    allocation : AllocationResult
        Its inputs' ``rep_info`` gives capacity_months.
    productivity : DataFrame
        From :func:`rep_productivity` (rep_id, mean, sd, months, basis).
    growth : float, default 0.0
        Market growth expected by the forecast (company plan-year mean / trailing 12 months - 1).
    low, high : float
        P(attainment) below ``low`` looks unfair; above ``high`` looks soft.

    Returns
    -------
    Fairness
    """
    ins = allocation.inputs
    info = ins.rep_info.set_index("rep_id").reindex(ins.reps)
    prod = productivity.set_index("rep_id").reindex(ins.reps)
    target = allocation.tables["rep"].sum(axis=(1, 2)) * allocation.unit
    capacity = info["capacity_months"].to_numpy(float)  # FTE-months
    mean = prod["mean"].to_numpy(float) * (1 + growth)
    sd_month = prod["sd"].to_numpy(float) * (1 + growth)
    n_months = np.maximum(prod["months"].to_numpy(float), 1)
    potential = mean * capacity
    sd = np.sqrt(sd_month ** 2 * capacity + (sd_month ** 2 / n_months) * capacity ** 2)
    sd = np.maximum(sd, 1e-9 * np.maximum(np.abs(potential), 1))
    probability = stats.norm.sf(target, loc=potential, scale=sd)
    ratio = np.divide(target, potential, out=np.full(len(target), np.nan), where=potential > 0)
    reps = pd.DataFrame({
        "rep_id": ins.reps, "name": info["name"].to_numpy() if "name" in info else ins.reps,
        "team": info["team"].to_numpy(), "region": info["region"].to_numpy(), "target": target,
        "potential": potential, "sd": sd, "ratio": ratio, "probability": probability,
        "basis": prod["basis"].to_numpy()})
    median_ratio = float(np.nanmedian(ratio)) if np.isfinite(ratio).any() else math.nan
    reasons = []
    for row in reps.itertuples():
        why = []
        if row.probability < low:
            why.append(f"P(attainment) {row.probability:.0%} < {low:.0%}: target {row.ratio - 1:+.0%} against potential")
        if row.probability > high:
            why.append(f"P(attainment) {row.probability:.0%} > {high:.0%}: soft target ({row.ratio - 1:+.0%} "
                       "against potential)")
        if np.isfinite(row.ratio) and median_ratio > 0 and not 0.8 <= row.ratio / median_ratio <= 1.25:
            why.append(f"asked {row.ratio / median_ratio:.2f}x the typical stretch of colleagues")
        if row.basis == "team peers" and why:
            why.append("judged on team peers (little own history)")
        reasons.append("; ".join(why))
    reps["reason"] = reasons
    unfair = reps.loc[reps["reason"] != "", ["rep_id", "name", "team", "target", "potential", "probability",
                                              "reason"]].reset_index(drop=True)
    summary = {"reps": len(reps), "share_below_low": float((probability < low).mean()),
               "share_above_high": float((probability > high).mean()),
               "gini": gini(ratio[np.isfinite(ratio)]), "median_probability": float(np.median(probability)),
               "low": low, "high": high}
    return Fairness(reps.drop(columns="reason"), summary, unfair)


@stage("fairness", needs=("allocation", "annual_target", "history", "inputs"), config=("allocation", "as_of"))
def _fairness_stage(plan) -> Fairness:
    cfg = plan.config
    allocation = plan["allocation"]
    roster = allocation.inputs.rep_info
    productivity = rep_productivity(plan["history"], roster, cfg.last_closed_month, ramp=cfg.allocation.ramp)
    target = plan["annual_target"]
    growth = target.forecast_mean / target.trailing_12m - 1 if target.trailing_12m > 0 else 0.0
    return fairness(allocation, productivity, growth=growth, low=cfg.allocation.fairness_low,
                    high=cfg.allocation.fairness_high)
