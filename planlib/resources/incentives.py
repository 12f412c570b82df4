"""Incentive plans: the commission curve and bonuses of the config, in numbers and in plain language.

Payout functions are vectorised over attainment; the cost of the plan across simulated outcomes
(the Monte Carlo of the risk review) is in :mod:`planlib.resources.outcomes`.
"""
from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planlib.core.config_operating import Bonus, Commission, Incentives
from planlib.core.errors import ConfigError, DataError
from planlib.core.graph import stage
from planlib.resources.assumptions import target_incentives

__all__ = [
    "IncentivePlan",
    "bonus_payouts",
    "cap_attainment",
    "commission_payouts",
    "describe_plan",
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


def _money(x: float, currency: str, unit: float = 1.0, unit_label: str = "") -> str:  # 120,000 -> "120 k CNY"
    return f"{x / unit:,.{0 if abs(x / unit - round(x / unit)) < 0.05 else 1}f} {html.escape(unit_label or currency)}"


def _name(value: str) -> str:
    """A name from the config, safe inside Markdown rendered as HTML."""
    return html.escape(str(value)).replace("*", "\\*").replace("_", "\\_")


def describe_plan(incentives: Incentives, currency: str, *, unit: float = 1.0, unit_label: str = "") -> str:
    """Return the incentive plan written out in plain language (Markdown), every number from the config.

    Parameters
    ----------
    incentives : planlib.config.Incentives
    currency, unit, unit_label : str, float, str
        The company's currency; with ``unit_label`` amounts are shown in the display unit (1000, "k CNY").

    Returns
    -------
    str
        Paragraphs: target incentive by role, how attainment is measured, the threshold,
        each tier, the cap, and each bonus.
    """
    c = incentives.commission
    period = PERIOD_WORD[c.period]
    roles = ", ".join(f"{_name(r)} {_money(v, currency, unit, unit_label)}" for r, v in target_incentives(incentives).items())
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
        lines.append(_describe_bonus(b, _money(b.amount, currency, unit, unit_label)))
    return "\n\n".join(lines)


def _describe_bonus(bonus: Bonus, amount: str) -> str:
    period = PERIOD_WORD[bonus.period]
    if bonus.kind == "champion":
        who = "the rep" if bonus.winners == 1 else f"the {bonus.winners} reps"
        return (f"**{_name(bonus.name)}.** Each {period}, {who} with the highest attainment, if at least "
                f"{_pct(bonus.min_attainment)}, {'gets' if bonus.winners == 1 else 'each get'} {amount}.")
    return (f"**{_name(bonus.name)}.** Each {period}, every member of a team whose sales reach "
            f"{_pct(bonus.min_attainment)} of the team's target gets {amount}.")


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


def payout_example(attainment: float, incentives: Incentives, role: str = "rep", *, currency: str, unit=1.0, unit_label="") -> str:
    """Return one sentence: what a full-time ``role`` is paid in a year at ``attainment`` (for a what-if slider)."""
    row = payout_examples(incentives, [attainment], role=role).iloc[0]
    return (f"At {_pct(attainment)} of target in every {PERIOD_WORD[incentives.commission.period]}, a full-time "
            f"{_name(role)} earns {_money(row.yearly_pay, currency, unit, unit_label)} of commission in the year "
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


# --------------------------------------------------------------------------- one outcome
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


def build_incentive_plan(incentives: Incentives, currency: str, *, unit: float = 1.0, unit_label: str = "") -> IncentivePlan:
    """Return the incentive plan: plain-language description (amounts in the display unit), tiers and payout curve."""
    c = incentives.commission
    at_threshold = float(payout_factor(c.threshold, c.model_copy(update={"cap": None})))
    if c.cap is not None and at_threshold > c.cap:
        raise ConfigError([("incentives.commission.cap", f"the cap {c.cap:g} is below the payout at the threshold "
                            f"({at_threshold:g}): lower the tier rates or raise the cap")])
    at_cap = cap_attainment(c)
    upto = max(2.0, (at_cap or 1.5) + 0.3)
    return IncentivePlan(describe_plan(incentives, currency, unit=unit, unit_label=unit_label), tier_table(c), payout_curve(c, upto=upto), at_cap,
                         incentives)


@stage("incentive_plan", config=("incentives", "company"))
def _incentive_plan_stage(plan) -> IncentivePlan:
    co = plan.config.company
    return build_incentive_plan(plan.config.incentives, co.currency, unit=co.display_unit, unit_label=co.display_unit_label)
