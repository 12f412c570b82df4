"""The sales cost budget: pay, hiring and other lines by region, and cost of sales against target.

Pay follows the capacity stage (who is there each month, after expected exits) and the
hiring plan; variable pay is the incentive model's expected payout over the simulated plan years
(reps and planned hires), plus the guarantee of ramping hires where it is above that. Amounts are
whole currency units and every total is the sum of its parts.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planlib.core.calendar import month_index as _month_index
from planlib.resources.capacity import CapacityResult, rep_month_targets, rep_target_array
from planlib.core.config import Budget, Incentives
from planlib.core.errors import ConfigError
from planlib.resources.hiring import HiringPlanResult, hire_label, roster_with_hires
from planlib.resources.incentives import (bonus_payouts, commission_payouts, payout_factor, period_attainment,
                                          period_of_months)
from planlib.resources.outcomes import IncentiveCost, incentive_cost
from planlib.core.graph import stage

__all__ = ["BudgetResult", "allocate_exact", "build_budget", "fixed_budget", "line_weights"]

MOVING_LINES = ("variable pay", "variable pay: new hires", "bonuses")  # what the incentive model prices
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
        rep_id, region, expected_sales, target, attainment, variable_pay, bonuses (planned hires too,
        as "East TBH 1", when the budget is priced by the incentive model).
    notes : list of str
    on_cost_rate : float
    variable_pay : DataFrame or None
        item, amount: how the budget's variable pay and bonuses (the lines "variable pay", "variable pay:
        new hires", "bonuses") follow from the incentive model: its expected payout, the guarantee top-up
        of ramping hires, whole-unit rounding, the budgeted total. None without the incentive model.
    """

    lines: pd.DataFrame
    table: pd.DataFrame
    cost_of_sales: pd.DataFrame
    headcount: pd.DataFrame
    variable_by_rep: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    on_cost_rate: float = 0.0
    variable_pay: pd.DataFrame | None = None

    @property
    def fixed_cost(self) -> float:
        """Return the cost that does not move with sales: all but commission, bonuses and their on-cost."""
        moving = float(self.lines.loc[self.lines["line"].isin(MOVING_LINES), "amount"].sum())
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
                 hire_role: str = "rep", payouts: IncentiveCost | None = None) -> BudgetResult:
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
    payouts : IncentiveCost, optional
        The incentive model over the simulated plan years, reps and planned hires (rep ids from
        :func:`hire_label`): their variable pay and bonuses are its expected payout; a hire's pay period
        within its ramp is paid at least the target incentive when ``budget.new_hire_paid_on_target``.
        Without it: the roster's commission at expected attainment, and hires on target all year (the
        incentive_cost stage prices the rest of the budget this way, its variable lines left aside).

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
    rep_t = rep_month_targets(targets, int(months[0].month)).pivot_table(index="rep_id", columns="month",
                                                                         values="target", aggfunc="sum")
    rep_t = rep_t.reindex(index=reps["rep_id"], columns=months).fillna(0.0).to_numpy()
    c = incentives.commission
    ti = np.array([_rate(incentives.target_incentive, r, "incentives.target_incentive") for r in reps["role"]])
    ti = ti * reps["fte"].to_numpy(float)
    periods = period_of_months(len(months), c.period)
    attainment, _ = period_attainment(expected, rep_t, periods)
    teams = reps["team"].astype(str).to_numpy()
    if payouts is not None:
        paid = payouts.by_rep.set_index("rep_id").reindex(reps["rep_id"]).fillna(0.0)
        variable, bonus = paid["expected_payout"].to_numpy(float), paid["expected_bonuses"].to_numpy(float)
    else:
        variable = (commission_payouts(attainment, ti, c) * _period_share(employed, c.period)).sum(axis=1)
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

    # new hires: base from the start month, variable pay (guaranteed on target while ramping, if so stated),
    # hiring cost
    h = capacity.attrition["monthly_rate"]
    month_idx = _month_index(months)
    hires = hiring.hires.copy()
    hire_ti = _rate(incentives.target_incentive, hire_role, "incentives.target_incentive")
    topup_total, hire_rows = 0.0, []
    for row in hires.itertuples():
        tenure = month_idx - _month_index(row.start_month)
        payroll = np.where(tenure >= 0, (1 - h) ** np.maximum(tenure, 0), 0.0)
        add(row.region, "base pay: new hires", _rate(budget.base_salary, hire_role, "budget.base_salary") / 12
            * float(payroll.sum()))
        if payouts is None:
            if budget.new_hire_paid_on_target:
                add(row.region, "variable pay: new hires", hire_ti / 12 * float(payroll.sum()))
        else:
            rep_id = hire_label(row.region, row.hire_no)
            model = payouts.by_period[payouts.by_period["rep_id"] == rep_id].set_index("period")
            expected_pay = model["expected_commission"].reindex(range(periods.max() + 1)).fillna(0.0).to_numpy()
            ramping = (tenure < capacity.ramp.ramp_months) & bool(budget.new_hire_paid_on_target)
            guarantee = np.bincount(periods, weights=hire_ti / 12 * payroll * ramping, minlength=len(expected_pay))
            topup = float(np.maximum(guarantee - expected_pay, 0.0).sum())
            topup_total += topup
            modelled = payouts.by_rep.set_index("rep_id").reindex([rep_id]).fillna(0.0).iloc[0]
            add(row.region, "variable pay: new hires", float(expected_pay.sum()) + topup)
            add(row.region, "bonuses", float(modelled["expected_bonuses"]))
            hire_rows.append({"rep_id": rep_id, "region": row.region, "expected_sales": np.nan,
                              "target": float(modelled["target"]), "attainment": np.nan,
                              "variable_pay": float(expected_pay.sum()) + topup,
                              "bonuses": float(modelled["expected_bonuses"])})
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
    reconciliation = None
    if payouts is not None:
        expected_payout = float(payouts.summary["expected_payout"])
        budgeted = float(lines.loc[lines["line"].isin(MOVING_LINES), "amount"].sum())
        reconciliation = pd.DataFrame({"item": [
            "expected payout of the incentive model (reps and planned hires)",
            "guarantee of ramping hires above their expected commission",
            "rounding to whole units", "budgeted variable pay and bonuses"],
            "amount": [expected_payout, topup_total, budgeted - expected_payout - topup_total, budgeted]})
        variable_by_rep = pd.concat([variable_by_rep, pd.DataFrame(hire_rows, columns=variable_by_rep.columns)],
                                    ignore_index=True)
    return BudgetResult(lines, table, cos, headcount, variable_by_rep, notes, on_cost_rate=budget.on_cost_rate,
                        variable_pay=reconciliation)


def _budget(plan, payouts: IncentiveCost | None) -> BudgetResult:
    capacity = plan["capacity"]
    fc = plan["forecast"].forecasts
    region = fc[fc["unique_id"].str.startswith("region/") & fc["ds"].isin(capacity.months)]
    expected = region.groupby(region["unique_id"].str.slice(len("region/")))["yhat"].sum()
    return build_budget(capacity, plan["hiring_plan"], plan["targets"], plan.config.budget, plan.config.incentives,
                        expected_revenue=expected if len(expected) else None,
                        hire_role=plan.config.capacity.quota_roles[0], payouts=payouts)


def fixed_budget(plan) -> BudgetResult:
    """Return the budget of a plan before the incentive model prices it: only its :attr:`~BudgetResult.fixed_cost`
    (every line but variable pay and bonuses, with their on-cost) is final, and the incentive cost adds to it."""
    return _budget(plan, None)


@stage("budget", needs=("capacity", "hiring_plan", "targets", "forecast", "incentive_cost"),
       config=("budget", "incentives", "capacity"))
def _budget_stage(plan) -> BudgetResult:
    return _budget(plan, plan["incentive_cost"])


@stage("incentive_cost", needs=("monte_carlo", "inputs", "planned_hires", "capacity", "hiring_plan", "targets",
                                "forecast"), config=("incentives", "budget", "capacity"))
def _incentive_cost_stage(plan) -> IncentiveCost:
    # the cost that does not move with sales is the budget's other lines; the budget's variable pay then comes
    # from this stage, so the budget and the incentive model cannot disagree
    sims = plan["monte_carlo"]
    roster = roster_with_hires(plan["inputs"].tables["reps"], plan["planned_hires"])
    roster = roster.drop_duplicates("rep_id").set_index("rep_id")
    reps = roster.reindex(sims.rep_ids)[["team", "role", "fte"]].reset_index()
    reps["fte"] = reps["fte"].fillna(1.0)
    # the rep targets of the bundle (negotiated when commits are), in the simulation's rep and month order
    rep_targets = rep_target_array(plan["targets"], sims.rep_ids, sims.months)
    return incentive_cost(sims.rep_sales, rep_targets, reps, plan.config.incentives,
                          fixed_cost=fixed_budget(plan).fixed_cost, on_cost_rate=plan.config.budget.on_cost_rate)
