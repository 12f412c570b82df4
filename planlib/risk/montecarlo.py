"""Monte Carlo attainment: simulated plan years after the register's risks, and the forecast calibration.

The simulation model is :mod:`planlib.simulate`; this module runs it on the plan
year and the register and holds the ``monte_carlo`` stage.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planlib.core.graph import stage
from planlib.risk.simulate import (ShockModel, apply_risk_events, draw_risk_events, sim_blocks, simulate_rep_outcomes,
                                   summarize_attainment)

__all__ = ["MonteCarloResult", "calibrate_shock_scale", "run_monte_carlo", "simulated_risks"]


# --------------------------------------------------------------------------- Monte Carlo
@dataclass
class MonteCarloResult:
    """Simulated plan years after the risks.

    Attributes
    ----------
    months, rep_ids : index
    region_of : Series  rep_id -> region
    risk_ids : list of str  the simulated risks
    rep_sales : ndarray (n_sims, reps, months), float32  sales after the risks
    company_total : ndarray (n_sims,)
    loss : ndarray (n_sims, risks)  each risk's loss (0 where it did not happen)
    annual_target : float
    summary : Series  see :func:`planlib.simulate.summarize_attainment`
    shock_scale : float  the factor on historical shock sizes (forecast calibration)
    seed : int
    rep_targets : ndarray (reps, months) or None  rep targets in rep order, if the caller sets them (the
        simulation reads no target: the ``incentive_cost`` stage takes them from the ``targets`` stage)
    hits : ndarray of bool (n_sims, risks) or None  which risks happened in each simulated year
    """

    months: pd.DatetimeIndex
    rep_ids: pd.Index
    region_of: pd.Series
    risk_ids: list
    rep_sales: np.ndarray
    company_total: np.ndarray
    loss: np.ndarray
    annual_target: float
    summary: pd.Series
    shock_scale: float = 1.0
    seed: int = 0
    rep_targets: np.ndarray | None = None
    hits: np.ndarray | None = None

    @property
    def p_target(self) -> float:
        """P(attainment): the share of simulated plan years that reach the annual target.

        The plan's one probability: the simulation holds the forecast's calibrated spread, the capacity
        of the team and its planned hires (a region sells at most its capacity) and the risk register
        (see the ``risk_model`` stage). The forecast's own odds, without capacity or risks, are
        ``plan["annual_target"].probability``.
        """
        return float(self.summary["p_target"])

    @property
    def attainment(self) -> np.ndarray:
        """Company attainment of each simulated year."""
        return self.company_total / self.annual_target

    def region_totals(self) -> pd.DataFrame:
        """Return simulated plan-year revenue by region (one row per simulation)."""
        annual = self.rep_sales.sum(axis=2, dtype=np.float64)
        regions = self.region_of.reindex(self.rep_ids).to_numpy()
        return pd.DataFrame(annual, columns=self.rep_ids).T.groupby(regions).sum().T

    def histogram(self, width: float = 0.02) -> pd.DataFrame:
        """Return bin_start, bin_end, share (of simulated years) and met (bin at or above 100%) of attainment."""
        att = self.attainment
        lo = np.floor(np.quantile(att, 0.001) / width) * width
        hi = np.ceil(np.quantile(att, 0.999) / width) * width
        edges = np.arange(round((hi - lo) / width) + 1) * width + lo
        counts, _ = np.histogram(np.clip(att, lo, hi), bins=edges)
        return pd.DataFrame({"bin_start": edges[:-1], "bin_end": edges[1:], "share": counts / att.size,
                             "met": edges[:-1] >= 1.0 - 1e-9})

    def risk_losses(self) -> pd.DataFrame:
        """Return risk_id, hit_rate, mean_loss (over all years), mean_loss_if_hit, p95_loss."""
        hit = self.hits if self.hits is not None else self.loss > 0
        with np.errstate(invalid="ignore"):
            if_hit = np.where(hit.any(axis=0), (self.loss * hit).sum(axis=0) / hit.sum(axis=0), 0.0)
        return pd.DataFrame({"risk_id": self.risk_ids, "hit_rate": hit.mean(axis=0),
                             "mean_loss": self.loss.mean(axis=0),
                             "mean_loss_if_hit": if_hit, "p95_loss": np.quantile(self.loss, 0.95, axis=0)})


def simulated_risks(register: pd.DataFrame) -> pd.DataFrame:
    """Return the register's risks the Monte Carlo draws (its ``simulated`` rows; every row of an unquantified one)."""
    return register[register["simulated"].astype(bool)] if "simulated" in register else register


def _event_arrays(register: pd.DataFrame, exposure: pd.DataFrame, rep_ids: pd.Index):
    live = simulated_risks(register)
    expo = exposure.reindex(index=live["risk_id"], columns=rep_ids).fillna(0.0).to_numpy()
    share = np.where(live["impact_kind"] == "share", live["impact_value"], 0.0)
    amount = np.where(live["impact_kind"] == "amount", live["impact_value"], 0.0)
    return list(live["risk_id"]), live["likelihood"].to_numpy(dtype=float), expo, share, amount


def run_monte_carlo(expected: pd.DataFrame, *, region_of: pd.Series, shocks: ShockModel, rep_sd,
                    register: pd.DataFrame, exposure: pd.DataFrame, annual_target: float, n_sims: int, seed: int,
                    product_mix: pd.DataFrame | None = None, shock_scale: float = 1.0) -> MonteCarloResult:
    """Simulate plan years with correlated shocks, rep noise and the register's risks as random events.

    Parameters
    ----------
    expected : DataFrame
        Index rep_id, one column per plan month.
    region_of, shocks, rep_sd, product_mix
        As :func:`planlib.simulate.simulate_rep_outcomes`.
    register : DataFrame
        From :func:`quantify_register` (risks with ``simulated`` False are left out).
    exposure : DataFrame
        From :func:`driver_exposure`.
    annual_target : float
    n_sims : int
    seed : int
        One generator: rep outcomes first, then the risk draws.
    shock_scale : float, default 1.0
        Multiplies every segment's shock sd (see :func:`calibrate_shock_scale`).

    Returns
    -------
    MonteCarloResult
    """
    rng = np.random.default_rng(seed)
    sales = simulate_rep_outcomes(expected, region_of=region_of, shocks=shocks.scaled(shock_scale), rep_sd=rep_sd,
                                  n_sims=n_sims, seed=rng, product_mix=product_mix)
    risk_ids, likelihood, expo, share, amount = _event_arrays(register, exposure, expected.index)
    hits = draw_risk_events(n_sims, likelihood, rng)
    loss, total = np.empty((n_sims, len(risk_ids))), np.empty(n_sims)
    kept = np.empty(sales.shape, dtype=np.float32)
    for part in sim_blocks(n_sims, sales.shape[1] * sales.shape[2]):  # blocks: small temporaries at any size
        block, loss[part] = apply_risk_events(sales[part], hits[part], exposure=expo, share=share, amount=amount,
                                              expected=expected.to_numpy(dtype=float))
        total[part] = block.sum(axis=(1, 2))
        kept[part] = block
    del sales
    return MonteCarloResult(pd.DatetimeIndex(expected.columns), expected.index, region_of, risk_ids,
                            kept, total, loss, float(annual_target),
                            summarize_attainment(total, annual_target), float(shock_scale), int(seed), hits=hits)


def calibrate_shock_scale(expected: pd.DataFrame, *, region_of: pd.Series, shocks: ShockModel, rep_sd,
                          target_sd: float, seed: int, product_mix: pd.DataFrame | None = None,
                          n_pilot: int = 2000, iterations: int = 3) -> float:
    """Find the factor on segment shock sizes that gives the company total the spread ``target_sd``.

    The historical residuals say how segments move together; the forecast's interval
    says how far the plan-year total may land from its mean. Scaling the first to
    match the second keeps the Monte Carlo and the forecast telling one story.

    Returns
    -------
    float
        The factor, between 0.05 and 20.
    """
    scale = 1.0
    for _ in range(iterations):
        sims = simulate_rep_outcomes(expected, region_of=region_of, shocks=shocks.scaled(scale), rep_sd=rep_sd,
                                     n_sims=n_pilot, seed=seed, product_mix=product_mix)
        sd = sims.sum(axis=(1, 2)).std(ddof=1)
        if not sd > 0:
            break
        scale = float(np.clip(scale * target_sd / sd, 0.05, 20.0))
    return scale


@stage("monte_carlo", needs=("risk_model", "risk_register"), config=("risk", "seed"))
def _monte_carlo_stage(plan) -> MonteCarloResult:
    model, reg = plan["risk_model"], plan["risk_register"]
    year = model.plan_year
    mix = year.product_mix if plan.config.risk.shock_level == "region_product" else None
    result = run_monte_carlo(year.expected, region_of=year.reps["region"], shocks=model.shocks, rep_sd=model.rep_sd,
                             register=reg.register, exposure=reg.exposure, annual_target=model.annual_target,
                             n_sims=plan.config.risk.n_sims, seed=plan.config.seed, product_mix=mix,
                             shock_scale=model.shock_scale)
    return result
