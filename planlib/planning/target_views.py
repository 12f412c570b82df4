"""Views of the long targets table: one level as a wide table, and the months against an equal split.

The level names of the targets table live here too, so that the allocation engine and its views share them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from planlib.planning.rounding import largest_remainder

__all__ = ["ALL", "LEVELS", "PRODUCT_LEVELS", "allocation_view", "time_split_comparison"]

LEVELS = ("company", "region", "team", "rep")
PRODUCT_LEVELS = {"company": "product", "region": "region_product", "team": "team_product", "rep": "rep_product"}
ALL = "All"


def time_split_comparison(targets: pd.DataFrame, *, level: str = "company", entity: str = "company",
                          product: str = ALL, unit: float = 1.0, mislead_at: float = 0.10,
                          periods: pd.DataFrame | None = None) -> pd.DataFrame:
    """Compare the plan's month targets with an equal split of the same year.

    Parameters
    ----------
    targets : DataFrame
        From :func:`targets_table`.
    level, entity, product : str
        Which row of the hierarchy (default the company, all products).
    unit : float, default 1.0
        The rounding unit; the equal split is rounded to it exactly, like the plan.
    mislead_at : float, default 0.10
        An equal split misleads in a month where it is off the plan by more than this share.
    periods : DataFrame, optional
        The plan's fiscal months (period, name), from :func:`planlib.core.calendar.fiscal_month_starts`:
        the month column then names each period ("P03 (5 weeks, 1 Mar - 4 Apr)") instead of its label, and in a
        week-based calendar the equal split is equal per week (a 5-week period gets 5/52 of the year).

    Returns
    -------
    DataFrame
        month, planned, equal, difference (equal - planned), difference_pct (of planned),
        cumulative_gap (equal - planned, year to date), misleads (bool).
    """
    rows = targets[(targets["level"] == level) & (targets["entity"] == entity) & (targets["product"] == product)
                   & (targets["period_type"] == "month")].sort_values("period")
    planned = rows["target"].to_numpy(float)
    units = np.round(planned / unit).astype(np.int64)
    weeks = None
    if periods is not None and periods["weeks"].notna().any():  # a week-based year: equal per week, not per period
        weeks = rows["period"].astype(str).map(periods.set_index("period")["weeks"]).to_numpy(float)
    equal = largest_remainder(np.ones(len(units)) if weeks is None else weeks, int(units.sum())) * unit
    difference = equal - planned
    pct = np.divide(difference, planned, out=np.full(len(planned), np.inf), where=planned > 0)
    names = rows["period"].astype(str)
    if periods is not None:
        names = names.map(periods.set_index("period")["name"]).fillna(names)
    return pd.DataFrame({"month": names.to_numpy(), "planned": planned, "equal": equal,
                         "difference": difference, "difference_pct": pct,
                         "cumulative_gap": np.cumsum(difference), "misleads": np.abs(pct) > mislead_at})


def allocation_view(targets: pd.DataFrame, level: str, *, period_type: str = "year", by_product: bool = True,
                    entities: list[str] | None = None) -> pd.DataFrame:
    """Return one level's targets as a wide table: entity x (products and All), or entity x period.

    Parameters
    ----------
    targets : DataFrame
        From :func:`targets_table`.
    level : str
        company, region, team or rep.
    period_type : str, default "year"
        With ``by_product``: the year. Otherwise the periods become columns (e.g. "quarter").
    by_product : bool, default True
        Columns are the products and All (for the year); else the periods (all products).
    entities : list of str, optional
        Keep only these entities.

    Returns
    -------
    DataFrame
        entity, then one column per product ("All" last) or per period.
    """
    if by_product:
        rows = targets[targets["level"].isin([level, PRODUCT_LEVELS[level]]) & (targets["period_type"] == "year")]
        wide = rows.pivot_table(index="entity", columns="product", values="target", aggfunc="sum", sort=False)
        wide = wide[[c for c in wide.columns if c != ALL] + [ALL]]
    else:
        rows = targets[(targets["level"] == level) & (targets["period_type"] == period_type)]
        wide = rows.pivot_table(index="entity", columns="period", values="target", aggfunc="sum", sort=False)
        wide = wide[sorted(wide.columns)]
        wide["Total"] = wide.sum(axis=1)
    if entities is not None:
        wide = wide.reindex([e for e in entities if e in wide.index])
    wide.columns.name = None
    return wide.reset_index()
