"""Money the config leaves out: derived from the company's own sales, never borrowed from the sample.

Pay, hiring cost and incentive amounts only make sense in one currency and one labour market, so
planlib has no amounts of its own. When the config gives them (``budget.base_salary``,
``budget.hiring_cost_per_hire``, ``incentives.target_incentive``) they are used as written; when it
leaves them out they are set from what one full-time rep sells in a year (the trailing twelve closed
months of the sales table over the quota reps' FTE-years on the roster), by the shares below. Budget
lines and bonuses left out are none at all. Every value filled in or left at a default is listed by
:func:`assumed_values`, which the resources page shows under "Assumed, not from your data".
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from planlib.core.errors import ConfigError, DataError
from planlib.core.graph import config_filler, stage
from planlib.core.text import money

__all__ = ["ASSUMED_SHARES", "assumed_values", "fill_money", "revenue_per_rep_year", "target_incentives"]

# What a value left out of the config is set to, as a share of one full-time rep's yearly sales
# (base pay and target incentive of a quota rep), or of another assumed value.
ASSUMED_SHARES = {
    "rep_base_pay": 0.08,           # of the yearly sales of one full-time rep
    "rep_target_incentive": 0.05,   # of the same: on-target earnings 13% of what a rep sells
    "manager_base_pay": 1.5,        # times a rep's base pay
    "manager_target_incentive": 1.25,  # times a rep's target incentive
    "hiring_cost": 0.25,            # of a rep's yearly base pay: recruiting fee, onboarding, equipment
}


def revenue_per_rep_year(sales: pd.DataFrame, reps: pd.DataFrame, last_month: pd.Timestamp,
                         quota_roles: list[str], months: int = 12) -> dict:
    """Return the sales of the ``months`` closed months up to ``last_month`` per quota-rep FTE-year.

    Parameters
    ----------
    sales : DataFrame
        date, amount (the cleaned sales table).
    reps : DataFrame
        rep_id, role, fte, hire_date, exit_date (blank dates: employed the whole window).
    last_month : Timestamp
        First day of the last closed month.
    quota_roles : list of str
        Roster roles that carry quota.

    Returns
    -------
    dict
        revenue (the window's sales), fte_years (quota FTE on the roster, month by month, over 12),
        per_rep_year (revenue / fte_years), window ("2025-11..2026-10").

    Raises
    ------
    DataError
        If no quota rep was on the roster in the window or the window sold nothing.
    """
    first = (last_month - pd.DateOffset(months=months - 1)).normalize()
    end = last_month + pd.offsets.MonthEnd(0)
    dates = pd.to_datetime(sales["date"])
    revenue = float(sales.loc[(dates >= first) & (dates <= end), "amount"].sum())
    roster = reps[reps["role"].isin(quota_roles)].drop_duplicates("rep_id")
    hire = pd.to_datetime(roster.get("hire_date", pd.Series(pd.NaT, index=roster.index)))
    leave = pd.to_datetime(roster.get("exit_date", pd.Series(pd.NaT, index=roster.index)))
    fte = roster.get("fte", pd.Series(1.0, index=roster.index)).astype(float).fillna(1.0).to_numpy()
    starts = pd.date_range(first, last_month, freq="MS")
    on = np.array([((hire.isna() | (hire <= s + pd.offsets.MonthEnd(0))) & (leave.isna() | (leave >= s))).to_numpy()
                   for s in starts], dtype=float)
    fte_years = float((on * fte[None, :]).sum() / 12)
    window = f"{first:%Y-%m}..{last_month:%Y-%m}"
    if fte_years <= 0 or revenue <= 0:
        raise DataError(f"cannot derive pay from the data: {window} holds {revenue:,.0f} of sales and "
                        f"{fte_years:.1f} quota-rep FTE-years; give budget.base_salary, "
                        "budget.hiring_cost_per_hire and incentives.target_incentive in the config")
    return {"revenue": revenue, "fte_years": fte_years, "per_rep_year": revenue / fte_years, "window": window}


@stage("money_basis", needs=("inputs",), config=("as_of", "capacity"))
def _money_basis_stage(plan) -> dict:
    cfg = plan.config
    tables = plan["inputs"].tables
    first = pd.Timestamp(cfg.as_of).replace(day=1)
    last_month = first - pd.DateOffset(months=1)
    return revenue_per_rep_year(tables["sales"], tables["reps"], last_month, list(cfg.capacity.quota_roles))


def target_incentives(incentives) -> dict[str, float]:
    """Return the target incentive by role; ConfigError when the config left it out and no plan filled it in."""
    if incentives.target_incentive is None:
        raise ConfigError([("incentives.target_incentive", "not given: state it, or let a Plan derive it from the "
                            "sales per rep (planlib.resources.assumptions)")])
    return incentives.target_incentive


def _shown(value: float, company) -> str:
    return money(value, company.display_unit, company.display_unit_label or company.currency)


def _fmt(value: float, company) -> str:
    """An assumed amount in the display unit, with the figure to write in the config beside it when they differ."""
    shown = _shown(value, company)
    return shown if company.display_unit == 1 else f"{shown} (in the config: {value:,.0f})"


def fill_money(config, basis: dict) -> pd.DataFrame:
    """Fill the money amounts ``config`` leaves out (in place) and return every assumed value.

    Parameters
    ----------
    config : PlanConfig
        Its ``budget`` and ``incentives`` sections are read; the amounts they leave out are set.
    basis : dict
        :func:`revenue_per_rep_year`'s result.

    Returns
    -------
    DataFrame
        key (the config key), value (in the display unit, the config's figure beside it), basis (how it was set).
    """
    budget, incentives, company = config.budget, config.incentives, config.company
    rep_role = config.capacity.quota_roles[0]
    others = sorted({e.role for e in budget.extra_headcount} - {rep_role})
    per_rep = basis["per_rep_year"]
    sales_basis = (f"{ASSUMED_SHARES['rep_base_pay']:.0%} of {_shown(per_rep, company)}, the sales of one full-time "
                   f"rep in a year ({basis['window']}: {_shown(basis['revenue'], company)} over "
                   f"{basis['fte_years']:.1f} quota-rep FTE-years)")
    rows = []
    if budget.base_salary is None:
        rep_pay = ASSUMED_SHARES["rep_base_pay"] * per_rep
        pay = {rep_role: rep_pay, **{r: ASSUMED_SHARES["manager_base_pay"] * rep_pay for r in others}}
        budget.base_salary = {k: float(round(v)) for k, v in pay.items()}
        rows.append((f"budget.base_salary.{rep_role}", _fmt(budget.base_salary[rep_role], company),
                     "yearly base pay: " + sales_basis))
        rows += [(f"budget.base_salary.{r}", _fmt(budget.base_salary[r], company),
                  f"{ASSUMED_SHARES['manager_base_pay']:g} x a {rep_role}'s base pay") for r in others]
    if incentives.target_incentive is None:
        ti = ASSUMED_SHARES["rep_target_incentive"] * per_rep
        amounts = {rep_role: ti, **{r: ASSUMED_SHARES["manager_target_incentive"] * ti for r in others}}
        incentives.target_incentive = {k: float(round(v)) for k, v in amounts.items()}
        rows.append((f"incentives.target_incentive.{rep_role}", _fmt(incentives.target_incentive[rep_role], company),
                     f"yearly variable pay at 100% attainment: {ASSUMED_SHARES['rep_target_incentive']:.0%} of "
                     f"{_shown(per_rep, company)}, the sales of one full-time rep in a year"))
        rows += [(f"incentives.target_incentive.{r}", _fmt(incentives.target_incentive[r], company),
                  f"{ASSUMED_SHARES['manager_target_incentive']:g} x a {rep_role}'s target incentive") for r in others]
    if budget.hiring_cost_per_hire is None:
        base = budget.base_salary.get(rep_role, 0.0)
        budget.hiring_cost_per_hire = float(round(ASSUMED_SHARES["hiring_cost"] * base))
        rows.append(("budget.hiring_cost_per_hire", _fmt(budget.hiring_cost_per_hire, company),
                     f"recruiting, onboarding and equipment: {ASSUMED_SHARES['hiring_cost']:.0%} of a {rep_role}'s "
                     "yearly base pay"))
    return pd.DataFrame(rows, columns=["key", "value", "basis"])


def assumed_values(config, filled: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return every value of the budget and incentive plan the config does not state: filled in or a default.

    Parameters
    ----------
    config : PlanConfig
    filled : DataFrame, optional
        :func:`fill_money`'s result (the amounts set from the data).

    Returns
    -------
    DataFrame
        key, value, basis; empty when the config states everything.
    """
    rows = [] if filled is None else list(filled.itertuples(index=False, name=None))
    budget, incentives = config.budget, config.incentives
    given_b = budget.model_fields_set if "budget" in config.model_fields_set else set()
    given_i = incentives.model_fields_set if "incentives" in config.model_fields_set else set()
    if "on_cost_rate" not in given_b:
        rows.append(("budget.on_cost_rate", f"{budget.on_cost_rate:.0%}", "employer on-cost (social insurance, "
                     "benefits) as a share of pay: planlib's default, not your country's rate"))
    if "extra_headcount" not in given_b:
        rows.append(("budget.extra_headcount", "; ".join(f"{e.count:g} {e.role} per {e.per}"
                                                         for e in budget.extra_headcount) or "none",
                     "people outside the roster who belong to the sales cost: planlib's default"))
    if "lines" not in given_b:
        rows.append(("budget.lines", "none", "no other costs (marketing, travel, tools) are in the budget"))
    if "new_hire_paid_on_target" not in given_b:
        rows.append(("budget.new_hire_paid_on_target", "yes" if budget.new_hire_paid_on_target else "no",
                     "new hires are paid their target incentive while they ramp: planlib's default"))
    if "commission" not in given_i:
        c = incentives.commission
        rows.append(("incentives.commission", f"paid per {c.period}, nothing below {c.threshold:.0%}, "
                     + ", ".join(f"rate {t.rate:g} from {t.start:.0%}" for t in c.tiers)
                     + (f", capped at {c.cap:.0%}" if c.cap else ", no cap"),
                     "the commission curve: planlib's default"))
    if "bonuses" not in given_i:
        rows.append(("incentives.bonuses", "none", "no bonuses besides commission"))
    return pd.DataFrame(rows, columns=["key", "value", "basis"])


@config_filler(("budget", "incentives"))
def _fill(plan) -> pd.DataFrame:
    """Fill the amounts left out from the data (only when one is left out: stated configs read no data)."""
    cfg = plan.config
    missing = (cfg.budget.base_salary is None or cfg.budget.hiring_cost_per_hire is None
               or cfg.incentives.target_incentive is None)
    filled = fill_money(cfg, plan["money_basis"]) if missing else None
    return assumed_values(cfg, filled)
