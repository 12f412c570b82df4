"""The odds of every rep, team and region from the plan's one model: the Monte Carlo's simulated years.

The rule. The plan has one model of the plan year (the ``risk_model`` and ``monte_carlo`` stages): each
region's demand from the calibrated forecast, capped at what its reps and planned hires can sell (capacity
with ramp, exits and attrition), split over the reps by their share of that capacity (their own run rate,
or their team peers', times their months and ramp), each rep with their own idiosyncratic spread around it,
and the risk register's events drawn on top. None of it reads the targets, so the targets can be judged
against it. A rep's odds are the share of simulated years in which the rep's plan-year sales reach the
figure; a team's, a region's and the company's are the same share for the sum of their reps' sales in the
same simulated year, so reps who move together (one regional shock, one risk) move their team together, the
entities' expected outcomes add up to the company's, and the company row is ``monte_carlo.p_target``.

This module only reads the Monte Carlo's result (its ``rep_ids``, ``rep_sales`` and ``company_total``);
it imports nothing above ``planning``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["BASIS", "Outcomes", "outcome_odds", "outcomes_of", "share_reaching"]

BASIS = ("the plan's one model (the Monte Carlo): the region's forecast capped at its capacity, split by "
         "each rep's share of that capacity (own run rate, or team peers', with ramp and months in the year), "
         "each rep's own spread, regional swings and the risk register drawn on top")


@dataclass(frozen=True)
class Outcomes:
    """Simulated plan-year sales: one row per simulated year.

    Attributes
    ----------
    reps : DataFrame
        Columns rep_id, one row per simulated year: the rep's plan-year sales.
    company : ndarray (n_sims,)
        The company's plan-year sales of the same years (the Monte Carlo's own total, so that
        P(company total >= target) is exactly its ``p_target``).
    """

    reps: pd.DataFrame
    company: np.ndarray

    @classmethod
    def from_normal_total(cls, mean: float, sd: float, shares: dict[str, float], n: int = 100_000) -> "Outcomes":
        """Outcomes of a company total Normal(mean, sd) split by fixed ``shares`` (rep -> share, adding to 1).

        The total takes the Normal's quantiles at (i + 0.5) / n, so a share of years is a Normal tail to
        within 1 / n: a case whose odds are known by hand.
        """
        from scipy import stats

        total = stats.norm.ppf((np.arange(n) + 0.5) / n, loc=mean, scale=sd)
        reps = pd.DataFrame({rep: share * total for rep, share in shares.items()})
        return cls(reps, reps.sum(axis=1).to_numpy())


def outcomes_of(monte_carlo) -> Outcomes:
    """Return the plan-year sales by rep and the company's, of each year the Monte Carlo simulated."""
    annual = np.asarray(monte_carlo.rep_sales).sum(axis=2, dtype=np.float64)
    return Outcomes(pd.DataFrame(annual, columns=pd.Index(monte_carlo.rep_ids, name="rep_id")),
                    np.asarray(monte_carlo.company_total, dtype=np.float64))


def share_reaching(draws, level) -> np.ndarray:
    """Return, per column of ``draws`` (simulated years x entities), the share of years at or above ``level``."""
    values = np.asarray(draws, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    return (values >= np.asarray(level, dtype=float)[None, :]).mean(axis=0)


def outcome_odds(draws: pd.DataFrame, targets) -> pd.DataFrame:
    """Return likely (mean), sd and p_target (share of years reaching the target) of each column of ``draws``.

    Parameters
    ----------
    draws : DataFrame
        Simulated years x entities: plan-year sales.
    targets : array-like
        One target per column of ``draws``.
    """
    values = draws.to_numpy(dtype=float)
    sd = values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(values.shape[1])
    return pd.DataFrame({"likely": values.mean(axis=0), "sd": sd, "p_target": share_reaching(values, targets)},
                        index=draws.columns)
