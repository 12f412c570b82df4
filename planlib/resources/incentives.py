"""Incentive plans: the commission curve and bonuses of the config, in numbers and in plain language.

Payout functions are vectorised over attainment; the cost of the plan across outcomes is
computed on simulated rep-level sales (the Monte Carlo of the risk review, planlib.simulate).
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planlib.core.config_operating import Bonus, Commission, Incentives
from planlib.core.errors import ConfigError, DataError
from planlib.core.graph import stage
from planlib.resources.assumptions import target_incentives

__all__ = [
    "IncentiveCost",
    "IncentivePlan",
    "bonus_payouts",
    "cap_attainment",
    "commission_payouts",
    "describe_plan",
    "incentive_cost",
    "payout_curve",
    "payout_example",
    "payout_examples",
    "payout_factor",
    "period_attainment",
    "period_of_months",
    "tier_table",
]

PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}
PERIOD_WORD = {"month": "month", "quarter": "quarter", "year": "year"}


# --------------------------------------------------------------------------- the commission curve
def _edges(commission: Commission) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tier starts, rates, and the payout reached at each start (integrated from 0)."""
    starts = np.array([t.start for t in commission.tiers], dtype=float)
    rates = np.array([t.rate for t in commission.tiers], dtype=float)
    at_start = np.concatenate([[0.0], np.cumsum(rates[:-1] * np.diff(starts))])
    return starts, rates, at_start


def payout_factor(attainment, commission: Commission) -> np.ndarray:
    """Return the payout, as a multiple of target incentive, at each attainment.

    Each tier pays ``rate`` x (the part of attainment inside the tier), counted from 0
    attainment; nothing is paid below ``threshold``; the total is capped at ``cap``.
    NaN attainment (no target) pays 0.

    Parameters
    ----------
    attainment : array_like
        Sales / target (1.0 = 100%), any shape.
    commission : planlib.config.Commission

    Returns
    -------
    ndarray
        Same shape as ``attainment``.

    Examples
    --------
    With the default tiers (0.5 from 0%, 1.75 from 60%, 2.0 from 100%), threshold 60%, cap 2:

    >>> from planlib.config import Commission
    >>> payout_factor([0.59, 0.6, 1.0, 1.2, 1.8], Commission()).round(4).tolist()
    [0.0, 0.3, 1.0, 1.4, 2.0]
    """
    a = np.asarray(attainment, dtype=float)
    starts, rates, at_start = _edges(commission)
    safe = np.nan_to_num(a, nan=0.0)
    k = np.searchsorted(starts, safe, side="right") - 1
    k = np.clip(k, 0, len(starts) - 1)
    pay = at_start[k] + rates[k] * (safe - starts[k])
    pay = np.where((safe >= commission.threshold) & ~np.isnan(a) & (safe > 0), pay, 0.0)
    if commission.cap is not None:
        pay = np.minimum(pay, commission.cap)
    return pay


def cap_attainment(commission: Commission) -> float | None:
    """Return the attainment at which the cap is reached (None without a cap or if never reached)."""
    if commission.cap is None:
        return None
    starts, rates, at_start = _edges(commission)
    ends = np.append(at_start[1:], np.inf if rates[-1] > 0 else at_start[-1])
    hit = np.flatnonzero(ends >= commission.cap)
    if not len(hit):
        return None
    k = hit[0]
    value = starts[k] + (commission.cap - at_start[k]) / rates[k] if rates[k] > 0 else starts[k]
    return float(max(value, commission.threshold))


def tier_table(commission: Commission) -> pd.DataFrame:
    """Return the tiers with their kind and the payout at each end.

    A tier is *standard* at the rate paid just below 100%, a *decelerator* when it pays
    less below 100%, an *accelerator* when it pays more above 100% (and *reduced* above
    100% at a lower rate). A tier that ends at or below the threshold pays nothing
    itself (``below_threshold``); its attainment counts once the threshold is reached.

    Returns
    -------
    DataFrame
        tier (1..), attainment_from, attainment_to (inf for the last), rate, kind,
        below_threshold, payout_from, payout_to (multiples of target incentive at the tier's
        ends, after threshold and cap; the last tier's end is its start + 1).
    """
    starts, rates, _ = _edges(commission)
    ends = np.append(starts[1:], np.inf)
    standard = rates[np.searchsorted(starts, 1.0, side="left") - 1] if starts[0] < 1.0 else rates[0]
    rows = []
    for i, (lo, hi, rate) in enumerate(zip(starts, ends, rates), start=1):
        if rate == standard:
            kind = "standard"
        elif lo < 1.0:
            kind = "decelerator" if rate < standard else "steeper below target"
        else:
            kind = "accelerator" if rate > standard else "reduced"
        below = bool(hi <= commission.threshold)
        top = hi if np.isfinite(hi) else lo + 1.0
        rows.append({"tier": i, "attainment_from": lo, "attainment_to": hi, "rate": rate, "kind": kind,
                     "below_threshold": below,
                     "payout_from": 0.0 if below else float(payout_factor(max(lo, commission.threshold), commission)),
                     "payout_to": 0.0 if below else float(payout_factor(top, commission))})
    return pd.DataFrame(rows)


def payout_curve(commission: Commission, *, upto: float = 2.0, step: float = 0.005) -> pd.DataFrame:
    """Return attainment and payout (multiple of target incentive) from 0 to ``upto``, for charts.

    The threshold appears twice (just below and at it) so the jump is drawn as a step.
    """
    grid = np.round(np.arange(0.0, upto + step / 2, step), 10)
    if commission.threshold > 0:
        grid = np.unique(np.concatenate([grid, [commission.threshold - 1e-9, commission.threshold]]))
    return pd.DataFrame({"attainment": grid, "payout": payout_factor(grid, commission)})


def _pct(x: float) -> str:
    return f"{x * 100:.4g}%"


def _money(x: float, currency: str) -> str:
    return f"{x:,.0f} {html.escape(currency)}"


def _name(value: str) -> str:
    """A name from the config, safe inside Markdown rendered as HTML."""
    return html.escape(str(value)).replace("*", "\\*").replace("_", "\\_")


def describe_plan(incentives: Incentives, currency: str) -> str:
    """Return the incentive plan written out in plain language (Markdown), every number from the config.

    Parameters
    ----------
    incentives : planlib.config.Incentives
    currency : str
        The company's currency (``company.currency``), written after every amount.

    Returns
    -------
    str
        Paragraphs: target incentive by role, how attainment is measured, the threshold,
        each tier, the cap, and each bonus.
    """
    c = incentives.commission
    period = PERIOD_WORD[c.period]
    roles = ", ".join(f"{_name(role)} {_money(v, currency)}" for role, v in target_incentives(incentives).items())
    share = "" if c.period == "year" else (
        f" Each {period} pays on that {period}'s attainment against its share of the yearly target incentive "
        f"({PERIOD_MONTHS[c.period]} of 12 months).")
    lines = [f"**Commission.** The yearly variable pay at 100% of target (target incentive) is {roles}, "
             f"in proportion to FTE. Attainment is sales over target, measured per {period}.{share}"]
    tiers = tier_table(c)
    labels = {"standard": "", "decelerator": " (a decelerator: below the standard rate)",
              "accelerator": " (an accelerator: above the standard rate)",
              "reduced": " (reduced from the standard rate)",
              "steeper below target": " (steeper than the standard rate)"}
    if c.threshold > 0:
        at_threshold = float(payout_factor(c.threshold, c))
        text = f"Below {_pct(c.threshold)} of target nothing is paid."
        counted = tiers[tiers["below_threshold"] & (tiers["rate"] > 0)]
        if len(counted):
            parts = "; ".join(f"from {_pct(t.attainment_from)} to {_pct(t.attainment_to)} each 1% of attainment "
                              f"pays {t.rate:.4g}% of target incentive{labels[t.kind]}" for t in counted.itertuples())
            text += (f" Once a rep reaches {_pct(c.threshold)}, the attainment below it counts as well: {parts}; "
                     f"so {_pct(c.threshold)} pays {_pct(at_threshold)} of target incentive at once.")
        lines.append(text)
    for t in tiers.itertuples():
        if t.below_threshold:
            continue
        span = (f"from {_pct(t.attainment_from)} to {_pct(t.attainment_to)}" if np.isfinite(t.attainment_to)
                else f"above {_pct(t.attainment_from)}")
        label = labels[t.kind]
        if t.attainment_from < c.threshold:
            span = (f"from {_pct(c.threshold)} to {_pct(t.attainment_to)}" if np.isfinite(t.attainment_to)
                    else f"above {_pct(c.threshold)}")
        lines.append(f"{span[0].upper() + span[1:]} of target each 1% of attainment pays {t.rate:.4g}% of target "
                     f"incentive{label}.")
    lines.append(f"At 100% of target the plan pays {_pct(float(payout_factor(1.0, c)))} of target incentive.")
    if c.cap is not None:
        at = cap_attainment(c)
        reach = f", reached at {_pct(at)} of target" if at is not None else ", never reached by these tiers"
        lines.append(f"The payout is capped at {_pct(c.cap)} of target incentive{reach}.")
    else:
        lines.append("There is no cap.")
    for b in incentives.bonuses:
        lines.append(_describe_bonus(b, currency))
    return "\n\n".join(lines)


def _describe_bonus(bonus: Bonus, currency: str) -> str:
    period = PERIOD_WORD[bonus.period]
    if bonus.kind == "champion":
        who = "the rep" if bonus.winners == 1 else f"the {bonus.winners} reps"
        return (f"**{_name(bonus.name)}.** Each {period}, {who} with the highest attainment, if at least "
                f"{_pct(bonus.min_attainment)}, {'gets' if bonus.winners == 1 else 'each get'} "
                f"{_money(bonus.amount, currency)}.")
    return (f"**{_name(bonus.name)}.** Each {period}, every member of a team whose sales reach "
            f"{_pct(bonus.min_attainment)} of the team's target gets {_money(bonus.amount, currency)}.")


def payout_examples(incentives: Incentives, attainments=(0.5, 0.6, 0.8, 1.0, 1.2, 1.5, 1.8), *,
                    role: str = "rep") -> pd.DataFrame:
    """Return what a full-time ``role`` earns in a year at each attainment (every period at that attainment).

    Returns
    -------
    DataFrame
        attainment, payout (multiple of target incentive), yearly_pay (target incentive x payout).

    Raises
    ------
    DataError
        If the role has no target incentive.
    """
    if role not in target_incentives(incentives):
        raise DataError(f"no target incentive for role {role!r}; incentives.target_incentive has "
                        f"{sorted(incentives.target_incentive)}")
    factor = payout_factor(np.asarray(attainments, dtype=float), incentives.commission)
    return pd.DataFrame({"attainment": np.asarray(attainments, dtype=float), "payout": factor,
                         "yearly_pay": factor * incentives.target_incentive[role]})


def payout_example(attainment: float, incentives: Incentives, role: str = "rep", *, currency: str) -> str:
    """Return one sentence: what a full-time ``role`` is paid in a year at ``attainment`` (for a what-if slider)."""
    row = payout_examples(incentives, [attainment], role=role).iloc[0]
    return (f"At {_pct(attainment)} of target in every {PERIOD_WORD[incentives.commission.period]}, a full-time "
            f"{_name(role)} earns {_money(row.yearly_pay, currency)} of commission in the year "
            f"({_pct(row.payout)} of target incentive).")


# --------------------------------------------------------------------------- payouts on outcomes
def period_of_months(n_months: int, period: str) -> np.ndarray:
    """Return the pay period (0, 1, ...) of each of ``n_months`` plan months: month, quarter or year."""
    return np.arange(n_months) // PERIOD_MONTHS[period]


def period_attainment(sales: np.ndarray, targets: np.ndarray, periods: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (attainment, period targets): sales and targets added up per pay period.

    Parameters
    ----------
    sales : ndarray (..., reps, months)
    targets : ndarray (reps, months)
    periods : ndarray (months,)
        Pay period of each month (:func:`period_of_months`).

    Returns
    -------
    (ndarray (..., reps, periods), ndarray (reps, periods))
        Attainment is NaN where the period target is 0.
    """
    n_periods = int(periods.max()) + 1
    onehot = (periods[:, None] == np.arange(n_periods)[None, :]).astype(float)
    period_sales = sales @ onehot
    period_target = targets @ onehot
    with np.errstate(divide="ignore", invalid="ignore"):
        attainment = np.where(period_target > 0, period_sales / np.where(period_target > 0, period_target, 1), np.nan)
    return attainment, period_target


def commission_payouts(attainment: np.ndarray, target_incentive: np.ndarray, commission: Commission) -> np.ndarray:
    """Return commission per rep and period: yearly target incentive x period share x payout factor.

    Parameters
    ----------
    attainment : ndarray (..., reps, periods)
    target_incentive : ndarray (reps,)
        Yearly target incentive of each rep (role amount x FTE).

    Returns
    -------
    ndarray, same shape as ``attainment``
    """
    share = PERIOD_MONTHS[commission.period] / 12
    return payout_factor(attainment, commission) * (np.asarray(target_incentive, dtype=float)[:, None] * share)


def bonus_payouts(sales: np.ndarray, targets: np.ndarray, teams: np.ndarray, bonus: Bonus) -> np.ndarray:
    """Return what one bonus pays each rep in each of its periods.

    champion: the ``winners`` reps with the highest attainment in the period (ties by
    rep order), each at or above ``min_attainment``, get ``amount``. team: every rep of a
    team whose summed sales reach ``min_attainment`` of the team's summed target gets it.

    Parameters
    ----------
    sales : ndarray (sims, reps, months)
    targets : ndarray (reps, months)
    teams : ndarray (reps,) of team names

    Returns
    -------
    ndarray (sims, reps, periods)
    """
    periods = period_of_months(sales.shape[-1], bonus.period)
    attainment, _ = period_attainment(sales, targets, periods)
    pay = np.zeros_like(attainment)
    if bonus.kind == "champion":
        ranked = np.where(np.isnan(attainment), -np.inf, attainment)
        order = np.argsort(-ranked, axis=-2, kind="stable")[..., : bonus.winners, :]
        top = np.take_along_axis(ranked, order, axis=-2)
        win = np.zeros(attainment.shape, dtype=bool)
        np.put_along_axis(win, order, top >= bonus.min_attainment, axis=-2)
        return np.where(win, bonus.amount, 0.0)
    for team in np.unique(teams):
        members = teams == team
        t_att, _ = period_attainment(sales[..., members, :].sum(axis=-2, keepdims=True),
                                     targets[members].sum(axis=0, keepdims=True), periods)
        hit = np.nan_to_num(t_att, nan=-1.0) >= bonus.min_attainment  # (sims, 1, periods)
        pay[..., members, :] = np.where(hit, bonus.amount, 0.0)
    return pay


# --------------------------------------------------------------------------- cost across outcomes
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


def incentive_cost(sales: np.ndarray, targets: np.ndarray, reps: pd.DataFrame, incentives: Incentives, *,
                   fixed_cost: float = 0.0, on_cost_rate: float = 0.0,
                   quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)) -> IncentiveCost:
    """Return the payout and cost of sales of the plan across simulated rep outcomes.

    Parameters
    ----------
    sales : ndarray (sims, reps, months)
        Simulated sales (e.g. ``MonteCarloResult.rep_sales``).
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

    Returns
    -------
    IncentiveCost

    Raises
    ------
    DataError
        If the shapes do not agree or a role has no target incentive.
    """
    sales = np.asarray(sales, dtype=float)
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
    periods = period_of_months(sales.shape[-1], c.period)
    attainment, _ = period_attainment(sales, targets, periods)
    commission = commission_payouts(attainment, ti, c)  # (sims, reps, periods)
    teams = reps["team"].astype(str).to_numpy()
    bonus_rows, bonus_total = [], np.zeros(sales.shape[0])
    bonus_by_rep = np.zeros(len(reps))
    for b in incentives.bonuses:
        pay = bonus_payouts(sales, targets, teams, b)
        bonus_by_rep += pay.sum(axis=2).mean(axis=0)
        per_sim = pay.sum(axis=(1, 2))
        bonus_total += per_sim
        most = b.amount * pay.shape[-1] * (b.winners if b.kind == "champion" else len(reps))
        bonus_rows.append({"bonus": b.name, "kind": b.kind, "period": b.period, "expected": float(per_sim.mean()),
                           "max": float(most)})
    comm_total = commission.sum(axis=(1, 2))
    payout = comm_total + bonus_total
    total_sales = sales.sum(axis=(1, 2))
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

    accel = tier_table(c).query("kind == 'accelerator'")
    accel_from = float(accel["attainment_from"].min()) if len(accel) else np.nan
    valid = ~np.isnan(attainment)
    # paid at an accelerated rate: strictly above where the first accelerator starts
    hit_accel = (np.nan_to_num(attainment) > accel_from) & valid if np.isfinite(accel_from) else np.zeros_like(valid)
    at_cap = (payout_factor(attainment, c) >= c.cap - 1e-12) & valid if c.cap is not None else np.zeros_like(valid)
    has_target = valid.any(axis=(0, 2))
    paid_nothing = (commission.sum(axis=2) <= 0)[:, has_target]
    by_rep = pd.DataFrame({
        "rep_id": reps["rep_id"].to_numpy(), "target": targets.sum(axis=1),
        "expected_payout": commission.sum(axis=2).mean(axis=0), "expected_bonuses": bonus_by_rep,
        "p_paid_nothing": (commission.sum(axis=2) <= 0).mean(axis=0),
        "p_accelerator": hit_accel.sum(axis=(0, 2)) / np.maximum(valid.sum(axis=(0, 2)), 1),
        "p_cap": at_cap.sum(axis=(0, 2)) / np.maximum(valid.sum(axis=(0, 2)), 1)})
    year_share = PERIOD_MONTHS[c.period] / 12 * commission.shape[-1]  # the pay periods simulated, as a share of a year
    max_commission = float(c.cap * ti.sum() * year_share) if c.cap is not None else np.inf
    bonuses = pd.DataFrame(bonus_rows, columns=["bonus", "kind", "period", "expected", "max"])
    summary = {
        "n_sims": int(sales.shape[0]),
        "expected_payout": float(payout.mean()), "expected_commission": float(comm_total.mean()),
        "expected_bonuses": float(bonus_total.mean()),
        **{f"payout_p{round(q * 100)}": float(np.quantile(payout, q)) for q in quantiles},
        "accelerator_from": accel_from,
        "p_accelerator": float(hit_accel.sum() / max(valid.sum(), 1)),
        "share_reps_accelerated": float(hit_accel.any(axis=2)[:, has_target].mean()) if has_target.any() else 0.0,
        "share_paid_nothing": float(paid_nothing.mean()) if paid_nothing.size else 0.0,
        "share_periods_paid_nothing": float(((commission <= 0) & valid).sum() / max(valid.sum(), 1)),
        "p_cap": float(at_cap.sum() / max(valid.sum(), 1)),
        "max_commission": max_commission, "max_bonuses": float(bonuses["max"].sum()),
        "max_payout": max_commission + float(bonuses["max"].sum()),
    }
    mean_commission = commission.mean(axis=0)  # (reps, periods)
    by_period = pd.DataFrame({"rep_id": np.repeat(reps["rep_id"].to_numpy(), mean_commission.shape[1]),
                              "period": np.tile(np.arange(mean_commission.shape[1]), len(reps)),
                              "expected_commission": mean_commission.ravel()})
    return IncentiveCost(by_sim, at, by_rep, bonuses, summary, by_period)


def expected_payout_at(expected_sales: np.ndarray, targets: np.ndarray, reps: pd.DataFrame,
                       incentives: Incentives) -> pd.DataFrame:
    """Return each rep's commission when every period lands exactly at its expected attainment.

    Parameters
    ----------
    expected_sales, targets : ndarray (reps, months)
    reps : DataFrame
        rep_id, role, fte in the order of the rep axis.

    Returns
    -------
    DataFrame
        rep_id, expected_sales, target, attainment (yearly), commission.
    """
    c = incentives.commission
    unknown = sorted(set(reps["role"]) - set(target_incentives(incentives)))
    if unknown:
        raise DataError(f"no target incentive for role(s) {unknown}; incentives.target_incentive has "
                        f"{sorted(incentives.target_incentive)}")
    ti = reps["role"].map(incentives.target_incentive).to_numpy(float) * reps["fte"].fillna(1.0).to_numpy(float)
    attainment, _ = period_attainment(np.asarray(expected_sales, float), np.asarray(targets, float),
                                      period_of_months(targets.shape[-1], c.period))
    pay = commission_payouts(attainment, ti, c).sum(axis=-1)
    year_target = targets.sum(axis=1)
    return pd.DataFrame({"rep_id": reps["rep_id"].to_numpy(), "expected_sales": expected_sales.sum(axis=1),
                         "target": year_target,
                         "attainment": expected_sales.sum(axis=1) / np.where(year_target > 0, year_target, np.nan),
                         "commission": pay})


# --------------------------------------------------------------------------- stages
@dataclass
class IncentivePlan:
    """The incentive plan of the config: description, tiers, payout curve."""

    description: str
    tiers: pd.DataFrame
    curve: pd.DataFrame
    cap_attainment: float | None
    settings: Incentives


def build_incentive_plan(incentives: Incentives, currency: str) -> IncentivePlan:
    """Return the incentive plan: plain-language description, tier table and payout curve."""
    c = incentives.commission
    at_threshold = float(payout_factor(c.threshold, c.model_copy(update={"cap": None})))
    if c.cap is not None and at_threshold > c.cap:
        raise ConfigError([("incentives.commission.cap", f"the cap {c.cap:g} is below the payout at the threshold "
                            f"({at_threshold:g}): lower the tier rates or raise the cap")])
    at_cap = cap_attainment(c)
    upto = max(2.0, (at_cap or 1.5) + 0.3)
    return IncentivePlan(describe_plan(incentives, currency), tier_table(c), payout_curve(c, upto=upto), at_cap,
                         incentives)


@stage("incentive_plan", config=("incentives", "company"))
def _incentive_plan_stage(plan) -> IncentivePlan:
    return build_incentive_plan(plan.config.incentives, plan.config.company.currency)
