"""Risk events in simulated plan years: which risks happen, and the sales they take.

Split from :mod:`planlib.risk.simulate`, which still offers both names.
"""
from __future__ import annotations

import numpy as np

__all__ = ["apply_risk_events", "draw_risk_events"]


def draw_risk_events(n_sims: int, likelihood: np.ndarray, seed: int | np.random.Generator) -> np.ndarray:
    """Draw which risks happen in each simulated year (independent Bernoulli draws).

    Parameters
    ----------
    n_sims : int
    likelihood : array of shape (risks,)
        Probability that each risk happens in the plan year.
    seed : int or numpy Generator

    Returns
    -------
    ndarray of bool, shape (n_sims, risks)
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    likelihood = np.asarray(likelihood, dtype=float)
    return rng.random((n_sims, likelihood.size)) < likelihood[None, :]


def apply_risk_events(sales: np.ndarray, hits: np.ndarray, *, exposure: np.ndarray, share: np.ndarray,
                      amount: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Take the losses of the risks that happened out of simulated rep sales, in place.

    A risk ``k`` with a share impact takes ``share[k] * exposure[k, r]`` of rep ``r``'s
    sales all year (``exposure`` is the part of the rep's sales in the risk's driver:
    1 for the rep's own region, the product's share of the rep's mix, the customer's
    share of the rep's book). Share impacts add up and a rep never goes below zero.
    A risk with an amount impact takes ``amount[k]`` spread over the reps in proportion
    to ``exposure[k, r] * expected`` sales and over months as expected; no cell goes below zero.

    Parameters
    ----------
    sales : ndarray (n_sims, reps, months)
        Simulated sales before the risks; modified in place.
    hits : ndarray of bool (n_sims, risks)
        From :func:`draw_risk_events`.
    exposure : ndarray (risks, reps)
        Fraction of each rep's sales in each risk's driver, in [0, 1].
    share, amount : ndarray (risks,)
        The impact: a share of the driver's sales, or an amount (the other one 0).
    expected : ndarray (reps, months)
        Expected sales, which spread amount impacts over reps and months.

    Returns
    -------
    sales : ndarray (n_sims, reps, months)
        The same array, after the risks.
    loss : ndarray (n_sims, risks)
        Each risk's loss in each simulation (0 where it did not happen), before the zero floor.
    """
    hits_f = hits.astype(float)
    rep_annual = sales.sum(axis=2)  # (sims, reps) before the risks
    driver_sales = rep_annual @ exposure.T  # (sims, risks)
    loss = hits_f * (share[None, :] * driver_sales + amount[None, :])

    rate = hits_f @ (share[:, None] * exposure)  # (sims, reps): share of the year's sales lost
    np.clip(rate, 0.0, 1.0, out=rate)
    sales *= (1.0 - rate)[:, :, None]

    if np.any(amount > 0):
        exp_annual = expected.sum(axis=1)
        weight = exposure * exp_annual[None, :]
        totals = weight.sum(axis=1, keepdims=True)
        # a driver with no expected sales (a customer gone quiet) spreads its amount like the company
        weight = np.where(totals > 0, weight / np.where(totals > 0, totals, 1.0), exp_annual / exp_annual.sum())
        per_rep = hits_f @ (amount[:, None] * weight)  # (sims, reps)
        month_weight = np.divide(expected, exp_annual[:, None], out=np.zeros_like(expected),
                                 where=exp_annual[:, None] > 0)
        sales -= per_rep[:, :, None] * month_weight[None, :, :]
        np.clip(sales, 0.0, None, out=sales)
    return sales, loss
