"""The hiring plan: the fewest hires per region that close the capacity gap, and when each must start.

What one hire adds depends on the month it starts (ramp, seasonality, attrition);
hires go as early as recruiting allows, and each is then given the latest start
that still closes the gap. Delay scenarios show what stays uncovered when hiring starts late.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planlib.core.calendar import month_index as _month_index
from planlib.planning.productivity import RampEstimate, capacity_by_month
from planlib.resources.capacity import CapacityResult
from planlib.core.graph import stage

__all__ = ["HiringPlanResult", "PlannedHires", "hire_contribution", "hire_label", "hiring_plan", "plan_hiring",
           "planned_hires", "roster_with_hires"]


# --------------------------------------------------------------------------- hiring plan
def hire_contribution(months: pd.DatetimeIndex, starts: pd.DatetimeIndex, *, productivity: float,
                      season: pd.Series, ramp: RampEstimate, monthly_attrition: float,
                      growth: float = 0.0) -> pd.DataFrame:
    """Return what one new FTE starting in each month adds in each plan month.

    added = productivity x (1 + growth) x season(month) x ramp(month - start + 1)
    x (1 - monthly_attrition) ** (month - start).

    Parameters
    ----------
    season : Series
        season by calendar month (1-12).

    Returns
    -------
    DataFrame
        start_month, month, added.
    """
    s = _month_index(starts)[:, None]
    m = _month_index(months)[None, :]
    tenure = m - s + 1
    factor = season.reindex(months.month).fillna(1.0).to_numpy()[None, :]
    added = (productivity * (1 + growth) * factor * ramp.factor(tenure)
             * (1 - monthly_attrition) ** np.maximum(tenure - 1, 0))
    return pd.DataFrame({"start_month": np.repeat(starts, len(months)), "month": np.tile(months, len(starts)),
                         "added": added.ravel()})


def hiring_plan(gap: float, contribution: pd.Series, *, max_per_month: int = 2,
                max_hires: int | None = None) -> tuple[list[pd.Timestamp], list[pd.Timestamp], float]:
    """Return the fewest hires that close a yearly gap, when each starts, and what stays uncovered.

    Hires are placed as early as allowed (``max_per_month`` a month) until their
    contributions cover ``gap``; then, from the last hire back, each is moved to the
    latest month that still covers the gap: that month is when it must start by.

    Parameters
    ----------
    gap : float
        Yearly target minus capacity (nothing to do when <= 0).
    contribution : Series
        Index start month (earliest first, the first is the earliest allowed start),
        value the yearly sales one hire starting then adds.
    max_per_month : int, default 2
    max_hires : int, optional
        Most hires allowed.

    Returns
    -------
    (start_months, start_by, uncovered)
        Planned start months (earliest schedule), the latest start months that still close
        the gap, and the part of the gap the hires do not cover (0 when closed).
    """
    tol = 0.5  # half a currency unit: the gap is closed
    if gap <= tol:
        return [], [], 0.0
    starts: list[pd.Timestamp] = []
    total = 0.0
    for month, value in contribution.items():
        for _ in range(max_per_month):
            if total >= gap - tol or value <= 0 or (max_hires is not None and len(starts) >= max_hires):
                break
            starts.append(month)
            total += float(value)
    uncovered = max(gap - total, 0.0)
    start_by = list(starts)
    if uncovered <= tol:
        uncovered = 0.0
        order = list(contribution.index)
        for i in reversed(range(len(start_by))):
            current = start_by[i]
            for month in reversed(order[order.index(current) + 1:]):
                moved = total - contribution[current] + contribution[month]
                if start_by.count(month) < max_per_month and moved >= gap - tol:
                    start_by[i], total = month, moved
                    break
    return starts, start_by, uncovered


@dataclass
class HiringPlanResult:
    """The hiring plan by region.

    Attributes
    ----------
    hires : DataFrame  region, hire_no, start_month, start_by, contribution
    summary : DataFrame  region, target, capacity_without_hires, gap, hires, capacity_added,
        capacity_with_hires, uncovered (one row per region and "Total")
    by_month : DataFrame  region, month, target, capacity_without_hires, capacity_added,
        capacity_with_hires, gap_after
    delay : DataFrame  region, earliest_start, hires_planned, capacity_added, uncovered,
        hires_to_close (NaN when recruiting cannot close it), uncovered_at_most_hiring
    contribution : DataFrame  region, start_month, contribution (what one hire adds)
    earliest_start : Timestamp
    """

    hires: pd.DataFrame
    summary: pd.DataFrame
    by_month: pd.DataFrame
    delay: pd.DataFrame
    contribution: pd.DataFrame
    earliest_start: pd.Timestamp

    def delay_by(self, months: int) -> pd.DataFrame:
        """Return the delay scenario rows (one per region) for hiring that starts ``months`` after the earliest start.

        A delay past the last plan month gives the last month's rows.
        """
        starts = sorted(self.delay["earliest_start"].unique())
        chosen = starts[min(max(months, 0), len(starts) - 1)]
        return self.delay[self.delay["earliest_start"] == chosen].reset_index(drop=True)



def plan_hiring(capacity: CapacityResult, *, earliest_start=None, max_per_month: int = 2,
                max_per_region: int | None = None, growth: float = 0.0) -> HiringPlanResult:
    """Return the hires per region that close the yearly gap, their start months, and delay scenarios.

    Parameters
    ----------
    capacity : CapacityResult
    earliest_start : Timestamp or "YYYY-MM", optional
        First month a hire can start; default the month after ``capacity.as_of``.
    max_per_month : int, default 2
        Hires per region per month.
    max_per_region : int, optional
        Most hires per region.
    growth : float, default 0
        Productivity growth (as in the capacity stage).

    Returns
    -------
    HiringPlanResult
    """
    months = capacity.months
    first = (pd.Timestamp(capacity.as_of).to_period("M") + 1).to_timestamp()
    earliest = pd.Timestamp(earliest_start + "-01" if isinstance(earliest_start, str) else earliest_start or first)
    earliest = max(earliest, first)
    starts = pd.date_range(earliest, months[-1], freq="MS")
    h = capacity.attrition["monthly_rate"]
    rows, summary, monthly, delay, contrib = [], [], [], [], []
    for region in capacity.summary.loc[capacity.summary["region"] != "Total", "region"]:
        prod = float(capacity.productivity.set_index("region").loc[region, "productivity"])
        season = capacity.season[capacity.season["region"] == region].set_index("calendar_month")["season"]
        added = hire_contribution(months, starts, productivity=prod, season=season, ramp=capacity.ramp,
                                  monthly_attrition=h, growth=growth)
        if capacity.period_scale is not None:  # a hire's month of sales set against its 4- or 5-week period
            added["added"] = added["added"] * added["month"].map(capacity.period_scale).fillna(1.0).to_numpy(float)
        per_start = added.groupby("start_month")["added"].sum()
        contrib.append(per_start.rename("contribution").reset_index().assign(region=region))
        line = capacity.summary.set_index("region").loc[region]
        gap = float(line["gap"])
        planned, start_by, uncovered = hiring_plan(gap, per_start, max_per_month=max_per_month,
                                                   max_hires=max_per_region)
        for i, (s, by) in enumerate(zip(planned, start_by), start=1):
            rows.append({"region": region, "hire_no": i, "start_month": s, "start_by": by,
                         "contribution": float(per_start[s])})
        n_starting = pd.Series(planned, dtype="datetime64[ns]").value_counts()
        weight = added["start_month"].map(n_starting).fillna(0.0)
        extra = (added["added"] * weight).groupby(added["month"]).sum()
        base = capacity.by_region[capacity.by_region["region"] == region].set_index("month")
        extra = extra.reindex(base.index, fill_value=0.0)
        monthly.append(pd.DataFrame({"region": region, "month": base.index, "target": base["target"].to_numpy(),
                                     "capacity_without_hires": base["capacity"].to_numpy(),
                                     "capacity_added": extra.to_numpy()}))
        added_total = float(extra.sum())
        summary.append({"region": region, "target": float(line["target"]),
                        "capacity_without_hires": float(line["capacity"]), "gap": gap, "hires": len(planned),
                        "capacity_added": added_total, "uncovered": uncovered})
        for x in starts:
            later = per_start[per_start.index >= x]
            same, _, left = hiring_plan(gap, later, max_per_month=max_per_month, max_hires=len(planned))
            close, _, left_max = hiring_plan(gap, later, max_per_month=max_per_month, max_hires=max_per_region)
            delay.append({"region": region, "earliest_start": x, "hires_planned": len(planned),
                          "capacity_added": float(later[same].sum()) if same else 0.0,
                          "uncovered": left, "hires_to_close": float(len(close)) if left_max == 0 else np.nan,
                          "uncovered_at_most_hiring": left_max})
    by_month = pd.concat(monthly, ignore_index=True)
    by_month["capacity_with_hires"] = by_month["capacity_without_hires"] + by_month["capacity_added"]
    by_month["gap_after"] = by_month["target"] - by_month["capacity_with_hires"]
    summary = pd.DataFrame(summary)
    total = summary.drop(columns="region").sum().to_dict()
    summary = pd.concat([summary, pd.DataFrame([{"region": "Total", **total}])], ignore_index=True)
    summary["capacity_with_hires"] = summary["capacity_without_hires"] + summary["capacity_added"]
    summary["hires"] = summary["hires"].astype(int)
    hires = pd.DataFrame(rows, columns=["region", "hire_no", "start_month", "start_by", "contribution"]).astype(
        {"hire_no": "int64", "start_month": "datetime64[ns]", "start_by": "datetime64[ns]", "contribution": float})
    return HiringPlanResult(hires, summary, by_month, pd.DataFrame(delay), pd.concat(contrib, ignore_index=True)
                            [["region", "start_month", "contribution"]], earliest)


# --------------------------------------------------------------------------- planned hires as reps
def hire_label(region: str, hire_no: int) -> str:
    """Return the rep id and name of a planned hire, e.g. ``hire_label("East", 1) == "East TBH 1"`` (to be hired)."""
    return f"{region} TBH {int(hire_no)}"


@dataclass
class PlannedHires:
    """The hiring plan's hires as reps who carry targets: who, in which team, from when, and what they can sell.

    Attributes
    ----------
    roster : DataFrame  rep_id, name (both :func:`hire_label`), team, region, role, hire_date (the start month),
        exit_date (NaT), fte (1.0), hire_no, start_month, ramp_months, contribution (yearly capacity)
    by_month : DataFrame  their capacity month by month, the columns of ``CapacityResult.by_rep``
    """

    roster: pd.DataFrame
    by_month: pd.DataFrame


def planned_hires(hiring: HiringPlanResult, capacity: CapacityResult, team_targets: pd.DataFrame, *,
                  role: str = "rep", growth: float = 0.0) -> PlannedHires:
    """Return each planned hire as a rep of a team, with the capacity the hiring plan counts on.

    A region's hires go, one by one in hire order, to the team of the region with the largest
    gap left (the team's annual target minus its roster's capacity minus what the hires already
    placed there add; ties to the first team by name), so each hire joins where the target is
    least covered. Their month-by-month capacity is :func:`capacity_by_month` of a rep hired on
    the start month: the productivity, season, ramp and attrition that the hiring plan's
    contributions are made of, so a region's hires add up to its ``capacity_added``.

    Parameters
    ----------
    hiring : HiringPlanResult
    capacity : CapacityResult
    team_targets : DataFrame
        The long targets table with rows of level "team" (product "All", period_type "year").
    role : str, default "rep"
        The role the hires are given (their target incentive and base pay).
    growth : float, default 0
        Productivity growth, as in the capacity stage.

    Returns
    -------
    PlannedHires

    Raises
    ------
    DataError
        If a region with hires has no team in the targets.
    """
    from planlib.core.errors import DataError

    year = team_targets[(team_targets["level"] == "team") & (team_targets["period_type"] == "year")
                        & (team_targets["product"] == "All")].set_index("entity")["target"].astype(float)
    by_rep = capacity.by_rep
    team_region = by_rep.drop_duplicates("team").set_index("team")["region"]
    gap = year.sub(by_rep.groupby("team")["capacity"].sum(), fill_value=0.0)
    rows = []
    for hire in hiring.hires.sort_values(["region", "hire_no"]).itertuples():
        teams = sorted(t for t in year.index if team_region.get(t) == hire.region)
        if not teams:
            raise DataError(f"the hiring plan has hires in region {hire.region!r}, which has no team with a "
                            f"target; teams with targets: {sorted(year.index)}")
        team = max(teams, key=lambda t: (gap[t], -teams.index(t)))
        gap[team] -= float(hire.contribution)
        label = hire_label(hire.region, hire.hire_no)
        rows.append({"rep_id": label, "name": label, "team": team, "region": hire.region, "role": role,
                     "hire_date": pd.Timestamp(hire.start_month), "exit_date": pd.NaT, "fte": 1.0,
                     "hire_no": int(hire.hire_no), "start_month": pd.Timestamp(hire.start_month),
                     "ramp_months": int(capacity.ramp.ramp_months), "contribution": float(hire.contribution)})
    columns = ["rep_id", "name", "team", "region", "role", "hire_date", "exit_date", "fte", "hire_no",
               "start_month", "ramp_months", "contribution"]
    roster = pd.DataFrame(rows, columns=columns)
    roster["hire_date"] = pd.to_datetime(roster["hire_date"])
    roster["exit_date"] = pd.to_datetime(roster["exit_date"])
    if roster.empty:
        return PlannedHires(roster, by_rep.iloc[0:0].copy())
    by_month = capacity_by_month(roster, capacity.months, capacity.productivity, capacity.season, capacity.ramp,
                                 monthly_attrition=capacity.attrition["monthly_rate"], as_of=capacity.as_of,
                                 growth=growth)
    return PlannedHires(roster, by_month)


def roster_with_hires(roster: pd.DataFrame, hires: PlannedHires) -> pd.DataFrame:
    """Return the reps table with one row per planned hire appended (the columns of ``roster``; hires last)."""
    extra = hires.roster.reindex(columns=roster.columns)
    return pd.concat([roster, extra], ignore_index=True) if len(extra) else roster.copy()


# --------------------------------------------------------------------------- stages
@stage("planned_hires", needs=("hiring_plan", "capacity", "team_targets"), config=("capacity",))
def _planned_hires_stage(plan) -> PlannedHires:
    settings = plan.config.capacity
    return planned_hires(plan["hiring_plan"], plan["capacity"], plan["team_targets"], role=settings.quota_roles[0],
                         growth=settings.productivity_growth)


@stage("hiring_plan", needs=("capacity",), config=("capacity",))
def _hiring_stage(plan) -> HiringPlanResult:
    settings = plan.config.capacity
    return plan_hiring(plan["capacity"], earliest_start=settings.hiring.earliest_start,
                       max_per_month=settings.hiring.max_per_month, max_per_region=settings.hiring.max_per_region,
                       growth=settings.productivity_growth)
