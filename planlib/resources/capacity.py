"""Capacity: what the sales team can sell in the plan year, against target, and the hires that close the gap.

Productivity of a fully ramped rep by region, the ramp of new reps and attrition are
estimated from the history and the roster (or given in the config); capacity is the
expected sales of the roster month by month; the hiring plan schedules the fewest hires.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planlib.core.calendar import period_month_starts
from planlib.core.errors import DataError
from planlib.core.graph import stage
from planlib.planning.allocate import fiscal_months, fiscal_periods
from planlib.planning.productivity import RampEstimate, estimate_capacity

__all__ = ["CapacityResult", "build_capacity", "capacity_against_target", "period_scale", "region_month_targets",
           "rep_month_targets", "rep_target_array"]

_TOTAL_PRODUCT = {"", "all", "total", "*", "All", "Total"}


def _month_targets(targets: pd.DataFrame, level: str, start_month: int | None) -> pd.DataFrame:
    need = {"level", "entity", "period_type", "period", "target"}
    missing = need - set(targets.columns)
    if missing:
        raise DataError(f"targets lack column(s) {sorted(missing)}; expected level, entity, product, "
                        "period_type, period, target")
    rows = targets[(targets["level"] == level) & (targets["period_type"] == "month")]
    if "product" in rows.columns:
        total = rows["product"].isna() | rows["product"].astype(str).isin(_TOTAL_PRODUCT)
        rows = rows[total] if total.any() else rows  # totals given: use them; else add products up
    entity = rows["entity"].astype(str).str.replace(f"^{level}/", "", regex=True)
    out = pd.DataFrame({"entity": entity.to_numpy(), "month": period_month_starts(rows["period"], start_month),
                        "target": rows["target"].astype(float).to_numpy()})
    return out.groupby(["entity", "month"], as_index=False)["target"].sum()


def region_month_targets(targets: pd.DataFrame, start_month: int | None = None) -> pd.DataFrame:
    """Return monthly region targets from the long targets table.

    Parameters
    ----------
    targets : DataFrame
        level, entity, product, period_type, period ("2027-01", or "FY2027-P01" in a week-based
        calendar), target. Rows of level "region" and period_type "month" are used; product totals
        if present, else the products added up.
    start_month : int, optional
        The fiscal start month, needed for week-based periods: period n is keyed by the n-th month
        of the fiscal year (see :func:`planlib.core.calendar.fiscal_month_starts`).

    Returns
    -------
    DataFrame
        region, month (Timestamp, month start), target.

    Raises
    ------
    DataError
        If a column of the contract is missing, or a period is not a month.
    """
    return _month_targets(targets, "region", start_month).rename(columns={"entity": "region"})


def rep_month_targets(targets: pd.DataFrame, start_month: int | None = None) -> pd.DataFrame:
    """Return monthly rep targets (rep_id, month, target) from the long targets table (level "rep").

    ``start_month`` is as for :func:`region_month_targets`.
    """
    return _month_targets(targets, "rep", start_month).rename(columns={"entity": "rep_id"})


def rep_target_array(targets: pd.DataFrame, rep_ids, months) -> np.ndarray:
    """Return the rep targets as an array (reps x months) in the order of ``rep_ids`` and ``months`` (0 if none)."""
    months = pd.DatetimeIndex(months)
    monthly = rep_month_targets(targets, int(months[0].month) if len(months) else None)
    return (monthly.pivot_table(index="rep_id", columns="month", values="target", aggfunc="sum")
            .reindex(index=pd.Index(rep_ids), columns=months).fillna(0.0).to_numpy())


@dataclass
class CapacityResult:
    """The capacity stage: what was estimated and what the team can sell against target.

    Attributes
    ----------
    productivity : DataFrame  region, productivity, reps, source
    ramp : RampEstimate
    attrition : dict  exits, average_headcount, annual_rate, monthly_rate, source
    season : DataFrame  region, calendar_month, season
    by_rep : DataFrame  see :func:`capacity_by_month`
    by_region : DataFrame  region, month, target, capacity, gap, fte, expected_exits
    summary : DataFrame  region, target, capacity, gap, coverage (one row per region and "Total")
    months : DatetimeIndex  the plan months
    as_of : Timestamp
    notes : list of str
    period_scale : Series or None  month -> days of its week-based period / days of the month (None: monthly):
        what a month's capacity is multiplied by to set it against that period's target
    """

    productivity: pd.DataFrame
    ramp: RampEstimate
    attrition: dict
    season: pd.DataFrame
    by_rep: pd.DataFrame
    by_region: pd.DataFrame
    summary: pd.DataFrame
    months: pd.DatetimeIndex
    as_of: pd.Timestamp
    notes: list[str] = field(default_factory=list)
    period_scale: pd.Series | None = None


def capacity_against_target(by_rep: pd.DataFrame, region_targets: pd.DataFrame,
                            period_scale: pd.Series | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return capacity against target by region and month, and a yearly summary with a Total row.

    ``period_scale`` (month -> factor, from :func:`period_scale`) sets a calendar month's capacity against a
    week-based period of another length: a 5-week period (35 days) standing for March (31) gets 35/31 of it.

    Returns
    -------
    (by_region, summary)
        by_region: region, month, target, capacity, gap (target - capacity; positive = short),
        fte (expected FTE on the roster), expected_exits. summary: region, target, capacity,
        gap, coverage (capacity / target).
    """
    by_rep = by_rep.assign(fte_expected=by_rep["fte"] * by_rep["survival"] * (by_rep["active_share"] > 0))
    cap = by_rep.groupby(["region", "month"], as_index=False).agg(
        capacity=("capacity", "sum"), fte=("fte_expected", "sum"), expected_exits=("expected_exits", "sum"))
    if period_scale is not None:
        cap["capacity"] = cap["capacity"] * cap["month"].map(period_scale).fillna(1.0).to_numpy(float)
    merged = region_targets.merge(cap, on=["region", "month"], how="outer").fillna(
        {"target": 0.0, "capacity": 0.0, "fte": 0.0, "expected_exits": 0.0})
    merged["gap"] = merged["target"] - merged["capacity"]
    by_region = merged[["region", "month", "target", "capacity", "gap", "fte", "expected_exits"]].sort_values(
        ["region", "month"], ignore_index=True)
    summary = by_region.groupby("region", as_index=False)[["target", "capacity"]].sum()
    summary = pd.concat([summary, pd.DataFrame([{"region": "Total", "target": summary["target"].sum(),
                                                 "capacity": summary["capacity"].sum()}])], ignore_index=True)
    summary["gap"] = summary["target"] - summary["capacity"]
    summary["coverage"] = summary["capacity"] / summary["target"].where(summary["target"] > 0)
    return by_region, summary


def period_scale(periods: pd.DataFrame) -> pd.Series | None:
    """Return month -> days of its period / days of the month for a week-based calendar; None for a monthly one.

    ``periods`` is :func:`planlib.core.calendar.fiscal_month_starts`. Capacity is estimated by calendar
    month; a period of 4 or 5 whole weeks that stands for a month has other days, so its capacity is the
    month's per day times the period's days.
    """
    if not periods["weeks"].notna().any():
        return None
    month = pd.DatetimeIndex(periods["month"])
    return pd.Series(periods["days"].to_numpy(float) / month.days_in_month.to_numpy(float), index=month,
                     name="period_scale")


def build_capacity(history: pd.DataFrame, roster: pd.DataFrame, targets: pd.DataFrame, settings, *,
                   months: pd.DatetimeIndex, as_of, periods: pd.DataFrame | None = None) -> CapacityResult:
    """Estimate productivity, ramp and attrition and return capacity against target.

    Parameters
    ----------
    history : DataFrame
        The monthly panel (unique_id, ds, y, level, region, rep_id, ...); rows of level "rep"
        (and "region", for seasonality) are used.
    roster : DataFrame
        rep_id, name, team, region, role, hire_date, exit_date, fte.
    targets : DataFrame
        The long targets table (level "region", period_type "month").
    settings : planlib.config.Capacity
    months : DatetimeIndex
        The plan months.
    as_of : date
        The day the plan is made.
    periods : DataFrame, optional
        The plan's fiscal months (:func:`planlib.core.calendar.fiscal_month_starts`); in a week-based
        calendar each month's capacity is set against its period's days (see :func:`period_scale`).

    Returns
    -------
    CapacityResult

    Raises
    ------
    DataError
        If the history has no rep rows or no roster rep carries quota.
    """
    model = estimate_capacity(history, roster, settings, months=months, as_of=as_of)
    scale = period_scale(periods) if periods is not None else None
    by_region, summary = capacity_against_target(model.by_rep, region_month_targets(targets, int(months[0].month)),
                                                 scale)
    return CapacityResult(model.productivity, model.ramp, model.attrition, model.season, model.by_rep,
                          by_region, summary, months, pd.Timestamp(as_of), model.notes, scale)

# --------------------------------------------------------------------------- stages
def _months_of(config) -> pd.DatetimeIndex:
    return fiscal_months(config)


@stage("capacity", needs=("history", "inputs", "team_targets"), config=("capacity", "fiscal", "as_of"))
def _capacity_stage(plan) -> CapacityResult:
    # the region targets, split before the reps': the rep split reads the hiring plan, which reads capacity
    cfg = plan.config
    return build_capacity(plan["history"], plan["inputs"].tables["reps"], plan["team_targets"], cfg.capacity,
                          months=_months_of(cfg), as_of=cfg.as_of, periods=fiscal_periods(cfg))


