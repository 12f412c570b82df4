"""The sales cost budget: pay, hiring and other lines by region, and cost of sales against target.

Pay follows the capacity stage (who is there each month, after expected exits) and the
hiring plan; variable pay is the incentive plan at expected attainment. Amounts are whole
currency units and every total is the sum of its parts.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planlib.core.calendar import month_index as _month_index
from planlib.resources.capacity import CapacityResult, rep_month_targets
from planlib.core.config import Budget, Incentives
from planlib.core.errors import ConfigError
from planlib.resources.hiring import HiringPlanResult
from planlib.resources.incentives import bonus_payouts, commission_payouts, payout_factor, period_attainment, period_of_months
from planlib.core.graph import stage

__all__ = ["BudgetResult", "allocate_exact", "build_budget", "line_weights"]

PAY_LINES = ("base pay", "base pay: new hires", "base pay: managers", "variable pay", "variable pay: new hires",
             "variable pay: managers", "bonuses", "on-cost", "hiring")


def allocate_exact(total: float, weights: pd.Series) -> pd.Series:
    """Split ``total`` (rounded to a whole unit) over ``weights`` in whole units that add up to it exactly.

    Largest remainder: each part gets the floor of its share, and the units left over go
    to the largest fractions (ties to the first label in order).

    >>> allocate_exact(100, pd.Series({"a": 1, "b": 1, "c": 1})).tolist()
    [34, 33, 33]
    """
    whole = int(round(total))
    w = weights.astype(float).clip(lower=0)
    if w.sum() <= 0:
        raise ConfigError([("budget", f"cannot split {total:,.0f}: the weights add up to 0 ({dict(weights)})")])
    raw = whole * w / w.sum()
    parts = np.floor(raw).astype(int)
    left = whole - int(parts.sum())
    order = np.argsort(-(raw - parts).to_numpy(), kind="stable")[:left]
    parts.iloc[order] += 1
    return parts


def line_weights(rule, regions: list[str], *, target: pd.Series, headcount: pd.Series, line: str) -> pd.Series:
    """Return the region weights of an allocation rule: target_share, headcount, equal, or a stated split.

    Raises
    ------
    ConfigError
        If a stated split names a region not in the plan or leaves one out.
    """
    if isinstance(rule, dict):
        unknown, missing = sorted(set(rule) - set(regions)), sorted(set(regions) - set(rule))
        if unknown or missing:
            raise ConfigError([(f"budget.lines[{line}].allocate", f"the split must name each region of the plan "
                                f"{regions}; unknown: {unknown}, missing: {missing}")])
        return pd.Series(rule, dtype=float).reindex(regions)
    if rule == "target_share":
        return target.reindex(regions).fillna(0.0)
    if rule == "headcount":
        return headcount.reindex(regions).fillna(0.0)
    return pd.Series(1.0, index=regions)


@dataclass
class BudgetResult:
    """The budget.

    Attributes
    ----------
    lines : DataFrame
        region, line, amount (whole units), long.
    table : DataFrame
        One row per line plus "Total"; one column per region plus "Total".
    cost_of_sales : DataFrame
        region, target, expected_revenue, total_cost, pct_of_target, pct_of_expected (with a Total row).
    headcount : DataFrame
        region, rep_fte_years, new_hires, new_hire_fte_years, managers.
    variable_by_rep : DataFrame
        rep_id, region, expected_sales, target, attainment, variable_pay, bonuses.
    notes : list of str
    on_cost_rate : float
    """

    lines: pd.DataFrame
    table: pd.DataFrame
    cost_of_sales: pd.DataFrame
    headcount: pd.DataFrame
    variable_by_rep: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    on_cost_rate: float = 0.0

    @property
    def fixed_cost(self) -> float:
        """Return the cost that does not move with the roster's sales: all but their commission, bonuses and on-cost."""
        moving = float(self.lines.loc[self.lines["line"].isin(["variable pay", "bonuses"]), "amount"].sum())
        return float(self.lines["amount"].sum()) - moving * (1 + self.on_cost_rate)


def _period_share(employed: np.ndarray, period: str) -> np.ndarray:
    """Expected share of each pay period a rep is on the payroll (reps x periods)."""
    p = period_of_months(employed.shape[1], period)
    onehot = (p[:, None] == np.arange(p.max() + 1)[None, :]).astype(float)
    return (employed @ onehot) / onehot.sum(axis=0)


def _rate(table: dict | None, role: str, key: str) -> float:
    if table is None:
        raise ConfigError([(key, "not given: state it, or let a Plan derive it from the sales per rep "
                                 "(planlib.resources.assumptions)")])
    if role not in table:
        raise ConfigError([(key, f"no amount for role {role!r}; roles given: {sorted(table)}")])
    return float(table[role])


def build_budget(capacity: CapacityResult, hiring: HiringPlanResult, targets: pd.DataFrame, budget: Budget,
                 incentives: Incentives, *, expected_revenue: pd.Series | None = None,
                 hire_role: str = "rep") -> BudgetResult:
    """Return the sales cost budget by region and its cost of sales.

    Parameters
    ----------
    capacity : CapacityResult
        Roster reps month by month (``by_rep``: survival, active share, expected sales).
    hiring : HiringPlanResult
        New hires and their start months.
    targets : DataFrame
        The long targets table (rep and region month rows).
    budget : planlib.config.Budget
    incentives : planlib.config.Incentives
    expected_revenue : Series, optional
        region -> expected plan-year revenue (the forecast); default capacity with hires.
    hire_role : str, default "rep"
        Role of the new hires (their base salary and target incentive).

    Returns
    -------
    BudgetResult

    Raises
    ------
    ConfigError
        A role without base salary, or a region split that does not fit the regions.
    """
    months = capacity.months
    regions = sorted(capacity.summary.loc[capacity.summary["region"] != "Total", "region"])
    by_rep = capacity.by_rep.copy()
    by_rep["employed"] = by_rep["survival"] * by_rep["active_share"] * (by_rep["tenure_month"] >= 1)
    cells: dict[tuple[str, str], float] = {}

    def add(region, line, amount):
        cells[(region, line)] = cells.get((region, line), 0.0) + float(amount)

    # roster: base pay while employed, variable pay at expected attainment per pay period
    for row in by_rep.groupby(["region", "rep_id", "role"], as_index=False).agg(
            fte=("fte", "first"), employed=("employed", "sum")).itertuples():
        add(row.region, "base pay", _rate(budget.base_salary, row.role, "budget.base_salary") / 12
            * row.fte * row.employed)
    reps = by_rep.drop_duplicates("rep_id")[["rep_id", "region", "team", "role", "fte"]].reset_index(drop=True)
    wide = lambda col: by_rep.pivot(index="rep_id", columns="month", values=col).reindex(  # noqa: E731
        index=reps["rep_id"], columns=months).fillna(0.0).to_numpy()
    expected, employed = wide("expected_if_stays"), wide("employed")
    rep_t = rep_month_targets(targets).pivot_table(index="rep_id", columns="month", values="target", aggfunc="sum")
    rep_t = rep_t.reindex(index=reps["rep_id"], columns=months).fillna(0.0).to_numpy()
    c = incentives.commission
    ti = np.array([_rate(incentives.target_incentive, r, "incentives.target_incentive") for r in reps["role"]])
    ti = ti * reps["fte"].to_numpy(float)
    periods = period_of_months(len(months), c.period)
    attainment, _ = period_attainment(expected, rep_t, periods)
    variable = (commission_payouts(attainment, ti, c) * _period_share(employed, c.period)).sum(axis=1)
    teams = reps["team"].astype(str).to_numpy()
    bonus = np.zeros(len(reps))
    for b in incentives.bonuses:  # at expected sales, paid while on the payroll
        bonus += (bonus_payouts(expected[None], rep_t, teams, b)[0] * _period_share(employed, b.period)).sum(axis=1)
    year_target = rep_t.sum(axis=1)
    variable_by_rep = pd.DataFrame({"rep_id": reps["rep_id"], "region": reps["region"],
                                    "expected_sales": expected.sum(axis=1), "target": year_target,
                                    "attainment": expected.sum(axis=1) / np.where(year_target > 0, year_target, np.nan),
                                    "variable_pay": variable, "bonuses": bonus})
    for row in variable_by_rep.itertuples():
        add(row.region, "variable pay", row.variable_pay)
        add(row.region, "bonuses", row.bonuses)
    notes = []
    no_target = variable_by_rep.loc[(variable_by_rep["target"] <= 0)
                                    & (variable_by_rep["expected_sales"] > 0), "rep_id"].tolist()
    if no_target:
        notes.append(f"{len(no_target)} rep(s) on the roster have no rep target, so no commission is budgeted: "
                     f"{no_target[:10]}")

    # new hires: base from the start month, paid on target while ramping (if so stated), hiring cost
    h = capacity.attrition["monthly_rate"]
    month_idx = _month_index(months)
    hires = hiring.hires.copy()
    for row in hires.itertuples():
        tenure = month_idx - _month_index(row.start_month)
        on_payroll = float(np.sum(np.where(tenure >= 0, (1 - h) ** np.maximum(tenure, 0), 0.0)))
        add(row.region, "base pay: new hires", _rate(budget.base_salary, hire_role, "budget.base_salary") / 12
            * on_payroll)
        if budget.new_hire_paid_on_target:
            add(row.region, "variable pay: new hires",
                _rate(incentives.target_incentive, hire_role, "incentives.target_incentive") / 12 * on_payroll)
        add(row.region, "hiring", _rate(None if budget.hiring_cost_per_hire is None else
                                        {"hire": budget.hiring_cost_per_hire}, "hire", "budget.hiring_cost_per_hire"))

    # managers and other people outside the roster
    region_target = capacity.summary.set_index("region")["target"].reindex(regions)
    region_attain = (variable_by_rep.groupby("region")["expected_sales"].sum()
                     / variable_by_rep.groupby("region")["target"].sum().where(lambda s: s > 0)).reindex(regions)
    teams = reps.groupby("region")["team"].nunique().reindex(regions).fillna(0)
    managers = pd.Series(0.0, index=regions)
    for extra in budget.extra_headcount:
        heads = (teams * extra.count if extra.per == "team" else pd.Series(extra.count, index=regions)
                 if extra.per == "region" else extra.count * region_target / region_target.sum())
        managers += heads
        base = _rate(budget.base_salary, extra.role, "budget.base_salary")
        ti_extra = (incentives.target_incentive or {}).get(extra.role, 0.0)
        for region in regions:
            add(region, "base pay: managers", base * heads[region])
            add(region, "variable pay: managers",
                ti_extra * heads[region] * float(payout_factor(np.nan_to_num(region_attain[region]), c)))
    for region in regions:
        pay = sum(cells.get((region, line), 0.0) for line in PAY_LINES if line not in ("on-cost", "hiring"))
        add(region, "on-cost", budget.on_cost_rate * pay)

    # other lines: a stated amount, or per FTE-year, split by a rule
    rep_fte = (by_rep["fte"] * by_rep["employed"]).groupby(by_rep["region"]).sum().reindex(regions).fillna(0) / 12
    hire_fte = pd.Series(0.0, index=regions)
    for row in hires.itertuples():
        tenure = month_idx - _month_index(row.start_month)
        hire_fte[row.region] += float(np.sum(np.where(tenure >= 0, (1 - h) ** np.maximum(tenure, 0), 0.0))) / 12
    heads = rep_fte + hire_fte + managers
    rows = [{"region": r, "line": line, "amount": int(round(v))} for (r, line), v in cells.items()]
    for i, line in enumerate(budget.lines):
        if line.per_head:
            amounts = allocate_exact(line.amount * heads.sum(), heads)
        else:
            amounts = allocate_exact(line.amount, line_weights(line.allocate, regions, target=region_target,
                                                               headcount=heads, line=str(i)))
        rows += [{"region": r, "line": line.name, "amount": int(amounts[r])} for r in regions]
    lines = pd.DataFrame(rows)
    order = list(PAY_LINES) + [line.name for line in budget.lines]
    lines["line"] = pd.Categorical(lines["line"], categories=order, ordered=True)
    lines = lines.sort_values(["line", "region"], ignore_index=True)
    lines["line"] = lines["line"].astype(str)
    table = lines.pivot_table(index="line", columns="region", values="amount", aggfunc="sum", sort=False)
    table = table.reindex(index=[x for x in order if x in set(lines["line"])], columns=regions).fillna(0).astype(int)
    table["Total"] = table.sum(axis=1)
    table.loc["Total"] = table.sum(axis=0)
    table = table.reset_index().rename(columns={"index": "line"})

    total_cost = lines.groupby("region")["amount"].sum().reindex(regions)
    if expected_revenue is None:
        expected_revenue = hiring.summary.set_index("region")["capacity_with_hires"].reindex(regions)
    cos = pd.DataFrame({"region": regions, "target": region_target.to_numpy(),
                        "expected_revenue": expected_revenue.reindex(regions).to_numpy(dtype=float),
                        "total_cost": total_cost.to_numpy(dtype=float)})
    cos.loc[len(cos)] = ["Total", cos["target"].sum(), cos["expected_revenue"].sum(), cos["total_cost"].sum()]
    cos["pct_of_target"] = cos["total_cost"] / cos["target"]
    cos["pct_of_expected"] = cos["total_cost"] / cos["expected_revenue"]
    new_hires = hires.groupby("region").size().reindex(regions).fillna(0).astype(int)
    headcount = pd.DataFrame({"region": regions, "rep_fte_years": rep_fte.to_numpy(), "new_hires": new_hires.to_numpy(),
                              "new_hire_fte_years": hire_fte.to_numpy(), "managers": managers.to_numpy()})
    return BudgetResult(lines, table, cos, headcount, variable_by_rep, notes, on_cost_rate=budget.on_cost_rate)


@stage("budget", needs=("capacity", "hiring_plan", "targets", "forecast"), config=("budget", "incentives", "capacity"))
def _budget_stage(plan) -> BudgetResult:
    capacity = plan["capacity"]
    fc = plan["forecast"].forecasts
    region = fc[fc["unique_id"].str.startswith("region/") & fc["ds"].isin(capacity.months)]
    expected = region.groupby(region["unique_id"].str.slice(len("region/")))["yhat"].sum()
    return build_budget(capacity, plan["hiring_plan"], plan["targets"], plan.config.budget, plan.config.incentives,
                        expected_revenue=expected if len(expected) else None,
                        hire_role=plan.config.capacity.quota_roles[0])
