"""What the incentive plan costs across simulated plan years, worked out one block of simulations at a time.

The simulated outcomes of a large company (10,000 years x 2,000 reps x 12 months) are gigabytes; every
payout, attainment and bonus array computed on them whole would be as large again. Each block of
simulations is priced on its own and only what the result needs is kept (per year, per rep, counts), in
the same order of arithmetic as on the whole array, so the numbers do not depend on the block size.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planlib.core.config_operating import Incentives
from planlib.core.errors import DataError
from planlib.resources.assumptions import target_incentives
from planlib.resources.incentives import (PERIOD_MONTHS, bonus_payouts, payout_factor, period_attainment,
                                          period_of_months, tier_table)

__all__ = ["BLOCK_CELLS", "IncentiveCost", "incentive_cost", "outcome_blocks"]

BLOCK_CELLS = 4_000_000  # cells (sims x reps x months) of the block of simulated outcomes priced at once


def outcome_blocks(n_sims: int, cells_per_sim: int, cells: int = BLOCK_CELLS) -> list[slice]:
    """Return slices of ``n_sims`` simulations in blocks of about ``cells`` array cells (at least one sim each).

    >>> outcome_blocks(5, 10, cells=20)
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    step = max(1, cells // max(1, cells_per_sim))
    return [slice(start, min(n_sims, start + step)) for start in range(0, n_sims, step)]


@dataclass
class IncentiveCost:
    """What the incentive plan costs across simulated plan years.

    Attributes
    ----------
    by_sim : DataFrame
        sim, sales, target, attainment, commission, bonuses, payout, total_cost (fixed cost +
        payout with on-cost), cost_of_sales (total_cost / sales).
    at_attainment : DataFrame
        scenario ("P10", "P50", "P90"), attainment, sales, commission, bonuses, payout, total_cost,
        cost_of_sales: averages of the simulated years around that quantile of company attainment.
    by_rep : DataFrame
        rep_id, target, expected_payout (commission), expected_bonuses, p_paid_nothing (nothing in the
        whole year), p_accelerator (share of periods strictly above where the first accelerator starts),
        p_cap (share of periods at the cap).
    bonuses : DataFrame
        bonus, kind, period, expected, max.
    summary : dict
        expected_payout, payout_p10, payout_p50, payout_p90, expected_commission, expected_bonuses,
        p_accelerator (a rep-period reaches an accelerator), share_reps_accelerated (reps reaching one at
        least once in the year, mean over years), share_paid_nothing (reps paid no commission in the
        year, mean), share_periods_paid_nothing, p_cap, max_commission, max_bonuses, max_payout,
        accelerator_from (attainment), n_sims.
    by_period : DataFrame or None
        rep_id, period (pay period of the plan year, 0 first), expected_commission: the mean over the
        simulated years (what the budget pays a ramping hire at least its guarantee against).
    """

    by_sim: pd.DataFrame
    at_attainment: pd.DataFrame
    by_rep: pd.DataFrame
    bonuses: pd.DataFrame
    summary: dict = field(default_factory=dict)
    by_period: pd.DataFrame | None = None


class _Tally:
    """What the cost keeps of each block: per simulated year, per year and rep, and counts per rep."""

    def __init__(self, n_sims: int, n_reps: int, n_periods: int, n_bonuses: int):
        self.commission = np.empty(n_sims)                       # the year's commission
        self.sales = np.empty(n_sims)
        self.rep_commission = np.empty((n_sims, n_reps))         # each rep's commission in the year
        self.rep_accelerated = np.empty((n_sims, n_reps), dtype=bool)
        self.bonus = np.empty((n_bonuses, n_sims))
        self.rep_bonus = np.empty((n_bonuses, n_sims, n_reps))
        self.period_sum = np.zeros((n_reps, n_periods))          # commission added up over the years, in order
        self.valid = np.zeros(n_reps, dtype=np.int64)            # rep-periods with a target
        self.accelerated = np.zeros(n_reps, dtype=np.int64)
        self.capped = np.zeros(n_reps, dtype=np.int64)
        self.has_target = np.zeros(n_reps, dtype=bool)
        self.unpaid_periods = 0


def _price_block(tally: _Tally, part: slice, sales: np.ndarray, targets: np.ndarray, ti: np.ndarray,
                 teams: np.ndarray, incentives: Incentives, accel_from: float) -> None:
    c = incentives.commission
    attainment, _ = period_attainment(sales, targets, period_of_months(sales.shape[-1], c.period))
    factor = payout_factor(attainment, c)
    commission = factor * (ti[:, None] * (PERIOD_MONTHS[c.period] / 12))  # (sims, reps, periods)
    valid = ~np.isnan(attainment)
    hit_accel = (np.nan_to_num(attainment) > accel_from) & valid if np.isfinite(accel_from) else np.zeros_like(valid)
    at_cap = (factor >= c.cap - 1e-12) & valid if c.cap is not None else np.zeros_like(valid)
    tally.commission[part] = commission.sum(axis=(1, 2))
    tally.sales[part] = sales.sum(axis=(1, 2))
    tally.rep_commission[part] = commission.sum(axis=2)
    tally.rep_accelerated[part] = hit_accel.any(axis=2)
    rows = iter(commission)
    if part.start == 0:  # the first year as it is (not 0 + it), as a sum over the first axis starts
        tally.period_sum[:] = next(rows)
    for row in rows:  # then one year after the other, in the order that sum adds them
        tally.period_sum += row
    tally.valid += valid.sum(axis=(0, 2))
    tally.accelerated += hit_accel.sum(axis=(0, 2))
    tally.capped += at_cap.sum(axis=(0, 2))
    tally.has_target |= valid.any(axis=(0, 2))
    tally.unpaid_periods += int(((commission <= 0) & valid).sum())
    for i, bonus in enumerate(incentives.bonuses):
        pay = bonus_payouts(sales, targets, teams, bonus)
        tally.rep_bonus[i, part] = pay.sum(axis=2)
        tally.bonus[i, part] = pay.sum(axis=(1, 2))


def incentive_cost(sales: np.ndarray, targets: np.ndarray, reps: pd.DataFrame, incentives: Incentives, *,
                   fixed_cost: float = 0.0, on_cost_rate: float = 0.0,
                   quantiles: tuple[float, ...] = (0.1, 0.5, 0.9), block_cells: int = BLOCK_CELLS) -> IncentiveCost:
    """Return the payout and cost of sales of the plan across simulated rep outcomes.

    Parameters
    ----------
    sales : ndarray (sims, reps, months)
        Simulated sales (e.g. ``MonteCarloResult.rep_sales``), float64 or float32.
    targets : ndarray (reps, months)
        Rep targets in the same order.
    reps : DataFrame
        rep_id, team, role, fte in the order of the rep axis.
    incentives : planlib.config.Incentives
    fixed_cost : float, default 0
        Sales cost that does not move with outcomes (base pay, on-cost of base, other lines).
    on_cost_rate : float, default 0
        On-cost added to every payout.
    quantiles : tuple of float, default (0.1, 0.5, 0.9)
        Company attainment quantiles for ``at_attainment``; each row averages the simulated
        years whose rank lies within 2.5% of the sims of that quantile.
    block_cells : int, default BLOCK_CELLS
        About how many cells of ``sales`` are priced at once; the result does not depend on it.

    Returns
    -------
    IncentiveCost

    Raises
    ------
    DataError
        If the shapes do not agree or a role has no target incentive.
    """
    sales = np.asarray(sales)
    targets = np.asarray(targets, dtype=float)
    if sales.ndim != 3 or sales.shape[1:] != targets.shape or len(reps) != targets.shape[0]:
        raise DataError(f"sales must be (sims, reps, months) matching targets (reps, months) {targets.shape} "
                        f"and {len(reps)} reps; got sales {sales.shape}")
    unknown = sorted(set(reps["role"]) - set(target_incentives(incentives)))
    if unknown:
        raise DataError(f"no target incentive for role(s) {unknown}; incentives.target_incentive has "
                        f"{sorted(incentives.target_incentive)}")
    c = incentives.commission
    ti = reps["role"].map(incentives.target_incentive).to_numpy(float) * reps["fte"].fillna(1.0).to_numpy(float)
    n_sims, n_reps, n_months = sales.shape
    n_periods = int(period_of_months(n_months, c.period).max()) + 1 if n_months else 0
    accel = tier_table(c).query("kind == 'accelerator'")
    accel_from = float(accel["attainment_from"].min()) if len(accel) else np.nan
    teams = reps["team"].astype(str).to_numpy()
    tally = _Tally(n_sims, n_reps, n_periods, len(incentives.bonuses))
    for part in outcome_blocks(n_sims, n_reps * n_months, block_cells):
        _price_block(tally, part, np.asarray(sales[part], dtype=float), targets, ti, teams, incentives, accel_from)

    bonus_rows, bonus_total = [], np.zeros(n_sims)
    bonus_by_rep = np.zeros(n_reps)
    for i, b in enumerate(incentives.bonuses):
        bonus_by_rep += tally.rep_bonus[i].mean(axis=0)
        per_sim = tally.bonus[i]
        bonus_total += per_sim
        most = b.amount * (int(period_of_months(n_months, b.period).max()) + 1) * \
            (b.winners if b.kind == "champion" else n_reps)
        bonus_rows.append({"bonus": b.name, "kind": b.kind, "period": b.period, "expected": float(per_sim.mean()),
                           "max": float(most)})
    comm_total = tally.commission
    payout = comm_total + bonus_total
    total_sales = tally.sales
    total_target = float(targets.sum())
    total_cost = fixed_cost + payout * (1 + on_cost_rate)
    by_sim = pd.DataFrame({"sim": np.arange(len(payout)), "sales": total_sales, "target": total_target,
                           "attainment": total_sales / total_target if total_target > 0 else np.nan,
                           "commission": comm_total, "bonuses": bonus_total, "payout": payout,
                           "total_cost": total_cost, "cost_of_sales": total_cost / np.where(total_sales > 0,
                                                                                          total_sales, np.nan)})
    order = np.argsort(by_sim["attainment"].to_numpy(), kind="stable")
    half = max(1, int(round(0.025 * len(order))))
    rows = []
    for q in quantiles:
        centre = int(round(q * (len(order) - 1)))
        pick = order[max(0, centre - half): centre + half + 1]
        part = by_sim.iloc[pick]
        rows.append({"scenario": f"P{round(q * 100)}", **{k: float(part[k].mean()) for k in
                     ("attainment", "sales", "commission", "bonuses", "payout", "total_cost")}})
    at = pd.DataFrame(rows)
    at["cost_of_sales"] = at["total_cost"] / at["sales"]

    has_target = tally.has_target
    unpaid = tally.rep_commission <= 0
    paid_nothing = unpaid[:, has_target]
    by_rep = pd.DataFrame({
        "rep_id": reps["rep_id"].to_numpy(), "target": targets.sum(axis=1),
        "expected_payout": tally.rep_commission.mean(axis=0), "expected_bonuses": bonus_by_rep,
        "p_paid_nothing": unpaid.mean(axis=0),
        "p_accelerator": tally.accelerated / np.maximum(tally.valid, 1),
        "p_cap": tally.capped / np.maximum(tally.valid, 1)})
    year_share = PERIOD_MONTHS[c.period] / 12 * n_periods  # the pay periods simulated, as a share of a year
    max_commission = float(c.cap * ti.sum() * year_share) if c.cap is not None else np.inf
    bonuses = pd.DataFrame(bonus_rows, columns=["bonus", "kind", "period", "expected", "max"])
    valid_total = max(int(tally.valid.sum()), 1)
    summary = {
        "n_sims": int(n_sims),
        "expected_payout": float(payout.mean()), "expected_commission": float(comm_total.mean()),
        "expected_bonuses": float(bonus_total.mean()),
        **{f"payout_p{round(q * 100)}": float(np.quantile(payout, q)) for q in quantiles},
        "accelerator_from": accel_from,
        "p_accelerator": float(tally.accelerated.sum() / valid_total),
        "share_reps_accelerated": float(tally.rep_accelerated[:, has_target].mean()) if has_target.any() else 0.0,
        "share_paid_nothing": float(paid_nothing.mean()) if paid_nothing.size else 0.0,
        "share_periods_paid_nothing": float(tally.unpaid_periods / valid_total),
        "p_cap": float(tally.capped.sum() / valid_total),
        "max_commission": max_commission, "max_bonuses": float(bonuses["max"].sum()),
        "max_payout": max_commission + float(bonuses["max"].sum()),
    }
    mean_commission = tally.period_sum / n_sims if n_sims else tally.period_sum * np.nan  # (reps, periods)
    by_period = pd.DataFrame({"rep_id": np.repeat(reps["rep_id"].to_numpy(), mean_commission.shape[1]),
                              "period": np.tile(np.arange(mean_commission.shape[1]), len(reps)),
                              "expected_commission": mean_commission.ravel()})
    return IncentiveCost(by_sim, at, by_rep, bonuses, summary, by_period)
