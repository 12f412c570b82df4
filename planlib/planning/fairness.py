"""Fairness of rep targets: each rep's target against what the plan's one model (the Monte Carlo) expects
of them, with the probability of attainment, the Gini of target over potential, and the targets that look unfair or soft.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planlib.core.graph import stage
from planlib.planning.allocate import AllocationResult, rep_productivity
from planlib.planning.odds import Outcomes, outcome_odds, outcomes_of

__all__ = ["Fairness", "fairness", "fairness_of", "gini"]


@dataclass(frozen=True)
class Fairness:
    """Fairness of rep targets: one row per rep, a summary, and the targets that look unfair.

    Attributes
    ----------
    reps : DataFrame
        rep_id, name, team, region, target, potential (expected plan-year sales in the Monte Carlo), sd,
        ratio (target / potential), probability (P(attainment): share of simulated years reaching the
        target), basis (the run rate behind the rep's capacity: "own history" or "team peers").
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


def fairness(allocation: AllocationResult, outcomes: Outcomes, *, basis: pd.Series | None = None,
             low: float = 0.30, high: float = 0.85) -> Fairness:
    """Judge each rep's target against what the plan's one model expects of them.

    A rep's potential is the mean of their simulated plan-year sales in the Monte Carlo (their share of the
    region's capacity-capped forecast: own run rate or team peers', ramp, months in the year), sd the spread
    of those draws, and P(attainment) the share of simulated years in which they reach their target (see
    :mod:`planlib.planning.odds` for the model). The same draws give the team, region and company odds of
    :func:`planlib.planning.commits.entity_odds`.

    Parameters
    ----------
    allocation : AllocationResult
        The rep targets (``tables["rep"]``) and the roster (``inputs.rep_info``).
    outcomes : Outcomes
        :func:`planlib.planning.odds.outcomes_of` the ``monte_carlo`` stage; one column per rep of the
        allocation.
    basis : Series, optional
        rep_id -> where the rep's run rate comes from ("own history" or "team peers"); default "own history".
    low, high : float
        P(attainment) below ``low`` looks unfair; above ``high`` looks soft.

    Returns
    -------
    Fairness

    Raises
    ------
    ValueError
        When a rep with a target has no simulated sales (names them).
    """
    ins = allocation.inputs
    info = ins.rep_info.set_index("rep_id").reindex(ins.reps)
    missing = [r for r in ins.reps if r not in outcomes.reps.columns]
    if missing:
        raise ValueError(f"reps with a target but no simulated sales: {missing}")
    target = allocation.tables["rep"].sum(axis=(1, 2)) * allocation.unit
    odds = outcome_odds(outcomes.reps[list(ins.reps)], target)
    potential = odds["likely"].to_numpy(float)
    sd = odds["sd"].to_numpy(float)
    probability = odds["p_target"].to_numpy(float)
    ratio = np.divide(target, potential, out=np.full(len(target), np.nan), where=potential > 0)
    where_from = (basis.reindex(ins.reps).fillna("own history").to_numpy() if basis is not None
                  else np.full(len(ins.reps), "own history", dtype=object))
    reps = pd.DataFrame({
        "rep_id": ins.reps, "name": info["name"].to_numpy() if "name" in info else ins.reps,
        "team": info["team"].to_numpy(), "region": info["region"].to_numpy(), "target": target,
        "potential": potential, "sd": sd, "ratio": ratio, "probability": probability, "basis": where_from})
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


@stage("fairness", needs=("allocation", "monte_carlo", "history"), config=("allocation", "as_of"))
def _fairness_stage(plan) -> Fairness:
    return fairness_of(plan, plan["allocation"])


def fairness_of(plan, allocation: AllocationResult) -> Fairness:
    """Run :func:`fairness` on ``allocation`` against the plan's Monte Carlo (read through the stage)."""
    cfg = plan.config
    roster = allocation.inputs.rep_info
    productivity = rep_productivity(plan["history"], roster, cfg.last_closed_month, ramp=cfg.allocation.ramp)
    return fairness(allocation, outcomes_of(plan["monte_carlo"]),
                    basis=productivity.set_index("rep_id")["basis"], low=cfg.allocation.fairness_low,
                    high=cfg.allocation.fairness_high)
