"""What a sales team can sell, estimated from its history: seasonality, productivity of a ramped rep by
region, the ramp of new reps, attrition, and each rep's expected sales month by month.

Planning reads it to weigh reps by what they can carry; resources.capacity sets it against target.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planlib.core.calendar import month_index as _month_index
from planlib.core.errors import DataError

__all__ = [
    "NEW_REP_MONTHS",
    "CapacityModel",
    "RampEstimate",
    "attrition_rate",
    "capacity_by_month",
    "estimate_capacity",
    "estimate_ramp",
    "explicit_ramp",
    "plan_ramp",
    "productivity_by_region",
    "ramp_curve",
    "rep_run_rates",
    "seasonal_index",
]

# Capacity measures the ramp over a new rep's first 18 months; a rep hired longer ago than that
# before the plan year is planned as ramped whatever their record.
NEW_REP_MONTHS = 18


# --------------------------------------------------------------------------- seasonality, ramp
def seasonal_index(series: pd.DataFrame, *, by: str = "region", max_years: int = 3) -> pd.DataFrame:
    """Return each calendar month's share of a typical month, by group, from whole 12-month blocks.

    The blocks end at the last month of the history, so each covers every calendar
    month once; the index is the mean over blocks of a month's sales over its block's
    mean, normalised to average one. A group with under 12 months, or a block
    without positive sales, gets a flat index.

    Parameters
    ----------
    series : DataFrame
        ``by``, ds (month start), y.
    by : str, default "region"
    max_years : int, default 3
        Most recent blocks used.

    Returns
    -------
    DataFrame
        ``by``, calendar_month (1-12), season (mean 1 over the 12 months).
    """
    rows = []
    for group, part in series.groupby(by, sort=True):
        monthly = part.groupby("ds")["y"].sum().sort_index()
        n_blocks = min(max_years, len(monthly) // 12)
        ratios = []
        for b in range(n_blocks):
            block = monthly.iloc[len(monthly) - 12 * (b + 1): len(monthly) - 12 * b]
            if block.mean() > 0:
                ratios.append(pd.Series(block.to_numpy() / block.mean(), index=block.index.month))
        season = pd.concat(ratios, axis=1).mean(axis=1) if ratios else pd.Series(1.0, index=range(1, 13))
        season = season.reindex(range(1, 13)).fillna(1.0)
        season = season / season.mean()
        rows += [{by: group, "calendar_month": m, "season": float(season[m])} for m in range(1, 13)]
    return pd.DataFrame(rows, columns=[by, "calendar_month", "season"])


def ramp_curve(tenure_month, ramp_months: int = 0, shape: str = "linear", ramp: list[float] | None = None):
    """Return the share of full productivity a rep reaches in each month of tenure.

    Tenure month 1 is the month the rep starts. With ``ramp_months`` = M a rep is
    below full productivity for M months: linear gives k/(M+1) in month k, s_curve
    the smooth step 3x^2 - 2x^3 of x = k/(M+1); from month M+1 on the share is 1.
    An explicit ``ramp`` (fractions for months 1, 2, ...) overrides both. Months
    before the start (tenure < 1) give 0.

    >>> ramp_curve([0, 1, 2, 3, 4], ramp_months=3).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    k = np.asarray(tenure_month, dtype=float)
    if ramp:
        table = np.concatenate([[0.0], np.asarray(ramp, dtype=float), [1.0]])
        pos = np.clip(k, 0, len(ramp) + 1).astype(int)
        return table[pos]
    if shape not in ("linear", "s_curve"):
        raise ValueError(f"ramp shape must be 'linear' or 's_curve', got {shape!r}")
    x = np.clip(k / (ramp_months + 1), 0.0, 1.0)
    share = x if shape == "linear" else 3 * x**2 - 2 * x**3
    return np.where(k < 1, 0.0, share)


@dataclass
class RampEstimate:
    """The ramp of new reps: months to full productivity, shape, level, and the observed curve.

    A new rep sells ``level x ramp_curve(tenure)`` of a ramped rep of the region: ``level``
    below 1 says new reps level off lower (in the first years they hold smaller accounts).
    """

    ramp_months: int
    shape: str
    source: str  # "estimated", "config" or "default"
    curve: pd.DataFrame  # tenure_month, ramp_factor, observed, reps
    ramp: list[float] = field(default_factory=list)
    hires_used: int = 0
    level: float = 1.0

    def factor(self, tenure_month):
        """Return the share of a ramped rep's sales at each tenure month (array)."""
        return self.level * ramp_curve(tenure_month, self.ramp_months, self.shape, self.ramp)


def _rep_months(rep_history: pd.DataFrame, roster: pd.DataFrame) -> pd.DataFrame:
    """Join rep history to the roster with tenure and whether the rep worked the whole month."""
    cols = ["rep_id", "hire_date", "exit_date", "fte", "role"] + (["region"] if "region" not in rep_history else [])
    rm = rep_history[["rep_id", "ds", "y"] + (["region"] if "region" in rep_history else [])].merge(
        roster[cols], on="rep_id", how="inner")
    rm["tenure_month"] = _month_index(rm["ds"]) - _month_index(rm["hire_date"]) + 1
    month_end = rm["ds"] + pd.offsets.MonthEnd(0)
    rm["full_month"] = (rm["hire_date"] <= rm["ds"]) & (rm["exit_date"].isna() | (rm["exit_date"] >= month_end))
    return rm


def estimate_ramp(rep_months: pd.DataFrame, reference: pd.DataFrame, *, max_ramp_months: int = 12,
                  horizon: int = 18, min_hires: int = 4, default_ramp_months: int = 6,
                  default_shape: str = "linear") -> RampEstimate:
    """Estimate the ramp of new reps from reps hired within the history.

    Each new rep's month of tenure k is compared with what a fully ramped FTE sold in
    the same region and month (``reference``); the observed share at k is the mean over
    reps. The linear or s-curve ramp (0..``max_ramp_months`` months), times the level it
    rises to (at most 1, fitted by least squares), closest to it in rep-weighted squared
    error is chosen; ties go to the shorter ramp. With fewer than ``min_hires`` new reps
    the default ramp is returned (source "default", level 1).

    Parameters
    ----------
    rep_months : DataFrame
        rep_id, region, ds, y, fte, tenure_month, full_month, hired_in_history (bool).
    reference : DataFrame
        region, ds, reference: monthly sales of a fully ramped FTE.

    Returns
    -------
    RampEstimate
        ``curve`` has tenure_month, ramp_factor (level x shape), observed, reps.
    """
    new = rep_months[rep_months["hired_in_history"] & (rep_months["tenure_month"].between(1, horizon))]
    new = new[new["exit_date"].isna() | (new["exit_date"] >= new["ds"] + pd.offsets.MonthEnd(0))]
    new = new.merge(reference, on=["region", "ds"], how="inner")
    new = new[new["reference"] > 0]
    hires = int(new["rep_id"].nunique())
    observed = (new.assign(share=new["y"] / (new["fte"] * new["reference"]))
                .groupby("tenure_month").agg(observed=("share", "mean"), reps=("rep_id", "nunique")))
    observed = observed.reindex(range(1, horizon + 1))
    k = np.arange(1, horizon + 1)
    if hires < min_hires:
        best = (default_ramp_months, default_shape, "default", 1.0)
    else:
        obs, weight = observed["observed"].to_numpy(), observed["reps"].fillna(0).to_numpy()
        ok = ~np.isnan(obs)
        obs, weight, kk = obs[ok], weight[ok], k[ok]
        fits = {}
        for s in ("linear", "s_curve"):
            for m in range(0, max_ramp_months + 1):
                shape = ramp_curve(kk, m, s)
                level = float(np.clip(np.sum(weight * obs * shape) / np.sum(weight * shape**2), 0.05, 1.0))
                fits[(m, s)] = (float(np.sum(weight * (obs - level * shape) ** 2)), level)
        # round the error so a tie (within rounding noise) goes to the shorter, then linear, ramp
        (m, s) = min(fits, key=lambda key: (round(fits[key][0], 9), key[0], key[1]))
        best = (m, s, "estimated", round(fits[(m, s)][1], 4))
    curve = pd.DataFrame({"tenure_month": k, "ramp_factor": best[3] * ramp_curve(k, best[0], best[1]),
                          "observed": observed["observed"].to_numpy(),
                          "reps": observed["reps"].fillna(0).astype(int).to_numpy()})
    return RampEstimate(best[0], best[1], best[2], curve, hires_used=hires, level=best[3])


# --------------------------------------------------------------------------- productivity, attrition
def rep_run_rates(rep_months: pd.DataFrame, season: pd.DataFrame, *, ramp_months: int,
                  window: pd.DatetimeIndex, min_months: int = 3) -> pd.DataFrame:
    """Return each ramped rep's seasonally adjusted monthly sales per FTE over the window.

    A rep-month counts when the rep worked the whole month, past the ramp, in the window;
    a rep needs ``min_months`` such months.

    Returns
    -------
    DataFrame
        region, rep_id, run_rate (mean of ``y / (fte * season)``), months.
    """
    rm = rep_months[rep_months["ds"].isin(window) & rep_months["full_month"]
                    & (rep_months["tenure_month"] > ramp_months) & (rep_months["fte"] > 0)]
    rm = rm.assign(calendar_month=rm["ds"].dt.month).merge(season, on=["region", "calendar_month"], how="left")
    rm = rm.assign(adjusted=rm["y"] / (rm["fte"] * rm["season"].fillna(1.0)))
    per_rep = rm.groupby(["region", "rep_id"])["adjusted"].agg(run_rate="mean", months="count").reset_index()
    return per_rep[per_rep["months"] >= min_months].reset_index(drop=True)


def productivity_by_region(rep_months: pd.DataFrame, season: pd.DataFrame, *, ramp_months: int,
                           window: pd.DatetimeIndex, statistic: str = "median", min_months: int = 3) -> pd.DataFrame:
    """Return the monthly sales of a fully ramped FTE by region, seasonally adjusted.

    Each ramped rep's run rate (:func:`rep_run_rates`) is one observation; the region's
    productivity is their median (or mean). A region without such reps takes the company
    figure over all regions.

    Returns
    -------
    DataFrame
        region, productivity (sales per FTE in an average month), reps, source
        ("history" or "history: company figure").
    """
    per_rep = rep_run_rates(rep_months, season, ramp_months=ramp_months, window=window, min_months=min_months)
    per_rep = per_rep.rename(columns={"run_rate": "mean"})
    stat = (lambda s: float(s.median())) if statistic == "median" else (lambda s: float(s.mean()))
    company = stat(per_rep["mean"]) if len(per_rep) else np.nan
    rows = []
    for region in sorted(rep_months["region"].dropna().unique()):
        reps = per_rep.loc[per_rep["region"] == region, "mean"]
        if len(reps):
            rows.append((region, stat(reps), len(reps), "history"))
        else:
            rows.append((region, company, 0, "history: company figure"))
    return pd.DataFrame(rows, columns=["region", "productivity", "reps", "source"])


def attrition_rate(roster: pd.DataFrame, window: pd.DatetimeIndex) -> dict:
    """Return the yearly attrition of reps over the window of months.

    rate = exits in the window / mean headcount at the month starts x 12 / months.

    Returns
    -------
    dict
        exits, average_headcount, annual_rate, monthly_rate (hazard with the same yearly effect).
    """
    start, end = window[0], window[-1] + pd.offsets.MonthEnd(0)
    exits = int(roster["exit_date"].between(start, end).sum())
    heads = [int(((roster["hire_date"] <= m) & (roster["exit_date"].isna() | (roster["exit_date"] >= m))).sum())
             for m in window]
    average = float(np.mean(heads)) if heads else 0.0
    annual = min(exits / average * 12 / len(window), 0.99) if average > 0 else 0.0
    return {"exits": exits, "average_headcount": average, "annual_rate": annual,
            "monthly_rate": 1 - (1 - annual) ** (1 / 12)}


# --------------------------------------------------------------------------- capacity
def capacity_by_month(roster: pd.DataFrame, months: pd.DatetimeIndex, productivity: pd.DataFrame,
                      season: pd.DataFrame, ramp: RampEstimate, *, monthly_attrition: float,
                      as_of: pd.Timestamp, growth: float = 0.0, run_rates: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return each rep's expected sales in each plan month.

    capacity = fte x productivity x (1 + growth) x season(region, month)
    x ramp(tenure) x active share of the month x survival, where survival =
    (1 - monthly_attrition) ** (months from as_of's month, or from a later start):
    attrition applied as expected exits. A rep in ``run_rates`` (ramped, with a record)
    sells at their own run rate with ramp 1; any other rep at the region's productivity
    along the ramp. A rep with an exit date stops then; a rep hired after ``as_of``
    (a signed offer) starts then.

    Parameters
    ----------
    roster : DataFrame
        rep_id, region, team, role, hire_date, exit_date, fte (reps carrying quota).
    months : DatetimeIndex
        The plan months.
    productivity : DataFrame
        region, productivity.
    season : DataFrame
        region, calendar_month, season.
    run_rates : DataFrame, optional
        rep_id, run_rate (see :func:`rep_run_rates`).

    Returns
    -------
    DataFrame
        rep_id, region, team, role, month, fte, basis ("own run rate" or "region productivity"),
        productivity, tenure_month, ramp_factor, active_share, survival, expected_if_stays
        (sales if the rep stays), capacity (expected sales), expected_exits (chance the rep
        leaves in that month).

    Raises
    ------
    DataError
        If a rep's region has no productivity.
    """
    active = roster[roster["exit_date"].isna() | (roster["exit_date"] > as_of)]
    known = set(productivity["region"])
    unknown = sorted(set(active["region"]) - known)
    if unknown:
        raise DataError(f"no productivity for region(s) {unknown}; regions with productivity: {sorted(known)}")
    grid = active.merge(pd.DataFrame({"month": months}), how="cross")
    grid["tenure_month"] = _month_index(grid["month"]) - _month_index(grid["hire_date"]) + 1
    own = pd.Series(dtype=float) if run_rates is None else run_rates.set_index("rep_id")["run_rate"]
    grid["basis"] = np.where(grid["rep_id"].isin(own.index), "own run rate", "region productivity")
    grid["ramp_factor"] = np.where(grid["rep_id"].isin(own.index), 1.0, ramp.factor(grid["tenure_month"].to_numpy()))
    days = grid["month"].dt.days_in_month
    worked_to = grid["exit_date"].fillna(pd.Timestamp.max.normalize())
    last_day = np.minimum((worked_to - grid["month"]).dt.days + 1, days)
    grid["active_share"] = np.clip(last_day, 0, None) / days
    # survival counts from as_of, or from the start of a rep hired later (a signed offer)
    elapsed = _month_index(grid["month"]) - np.maximum(_month_index(grid["hire_date"]), _month_index(as_of))
    elapsed = np.maximum(elapsed, 0)
    grid["survival"] = (1 - monthly_attrition) ** elapsed
    grid = (grid.assign(calendar_month=grid["month"].dt.month)
            .merge(productivity[["region", "productivity"]], on="region")
            .merge(season, on=["region", "calendar_month"], how="left"))
    grid["productivity"] = grid["rep_id"].map(own).fillna(grid["productivity"])
    grid["expected_if_stays"] = (grid["fte"] * grid["productivity"] * (1 + growth) * grid["season"].fillna(1.0)
                                 * grid["ramp_factor"] * grid["active_share"])
    grid["capacity"] = grid["expected_if_stays"] * grid["survival"]
    left_before = (1 - monthly_attrition) ** np.maximum(elapsed - 1, 0)
    grid["expected_exits"] = np.where((elapsed > 0) & (grid["active_share"] > 0),
                                      left_before - grid["survival"], 0.0)
    cols = ["rep_id", "region", "team", "role", "month", "fte", "basis", "productivity", "tenure_month",
            "ramp_factor", "active_share",
            "survival", "expected_if_stays", "capacity", "expected_exits"]
    return grid[cols].sort_values(["region", "rep_id", "month"], ignore_index=True)


@dataclass
class CapacityModel:
    """What the team can sell before any target: productivity, ramp, attrition, seasonality and each rep's
    expected sales by month (see :func:`capacity_by_month`)."""

    productivity: pd.DataFrame
    ramp: RampEstimate
    attrition: dict
    season: pd.DataFrame
    by_rep: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def estimate_capacity(history: pd.DataFrame, roster: pd.DataFrame, settings, *, months: pd.DatetimeIndex,
                      as_of) -> CapacityModel:
    """Estimate productivity, ramp and attrition from the history and return each rep's capacity by month.

    Parameters
    ----------
    history : DataFrame
        The monthly panel (unique_id, ds, y, level, region, rep_id, ...); rows of level "rep"
        (and "region", for seasonality) are used.
    roster : DataFrame
        rep_id, name, team, region, role, hire_date, exit_date, fte.
    settings : planlib.core.config.Capacity
    months : DatetimeIndex
        The plan months.
    as_of : date
        The day the plan is made.

    Returns
    -------
    CapacityModel

    Raises
    ------
    DataError
        If the history has no rep rows or no roster rep carries quota.
    """
    as_of = pd.Timestamp(as_of)
    notes: list[str] = []
    roster = roster.copy()
    roster["fte"] = roster["fte"].fillna(1.0).astype(float) if "fte" in roster else 1.0
    if "role" not in roster:
        roster["role"] = settings.quota_roles[0]
    quota = roster[roster["role"].isin(settings.quota_roles)]
    if quota.empty:
        raise DataError(f"no rep in the roster has a quota role {settings.quota_roles}; roles found: "
                        f"{sorted(roster['role'].dropna().unique())}")
    rep_history = history[history["level"] == "rep"]
    if rep_history.empty:
        raise DataError(f"history has no rows at level 'rep'; levels present: {sorted(history['level'].unique())}")
    region_rows = history[history["level"] == "region"]
    if region_rows.empty:
        region_rows = rep_history.groupby(["region", "ds"], as_index=False)["y"].sum()
    season = seasonal_index(region_rows[["region", "ds", "y"]])
    all_months = pd.DatetimeIndex(sorted(rep_history["ds"].unique()))
    window = all_months[-settings.productivity_window_months:]

    rep_months = _rep_months(rep_history, quota)
    rep_months["hired_in_history"] = rep_months["hire_date"] >= all_months[0]
    missing_regions = sorted(set(quota["region"]) - set(season["region"]))
    if missing_regions:
        flat = pd.DataFrame([(r, m, 1.0) for r in missing_regions for m in range(1, 13)], columns=season.columns)
        season = pd.concat([season, flat], ignore_index=True)
        notes.append(f"no history for region(s) {missing_regions}: flat seasonality")

    level = settings.ramp_level if settings.ramp_level is not None else 1.0
    if settings.ramp:
        ramp = RampEstimate(len(settings.ramp), "explicit", "config", pd.DataFrame(), ramp=list(settings.ramp),
                            level=level)
    elif settings.ramp_months is not None:
        ramp = RampEstimate(settings.ramp_months, settings.ramp_shape, "config", pd.DataFrame(), level=level)
    else:
        # a first productivity from reps past a year of tenure gives the yardstick for new reps
        first = productivity_by_region(rep_months, season, ramp_months=12, window=window,
                                       statistic=settings.productivity_statistic)
        reference = season.merge(first[["region", "productivity"]], on="region").merge(
            pd.DataFrame({"ds": all_months, "calendar_month": all_months.month}), on="calendar_month")
        reference["reference"] = reference["productivity"] * reference["season"]
        ramp = estimate_ramp(rep_months, reference[["region", "ds", "reference"]],
                             min_hires=settings.min_hires_for_ramp, default_ramp_months=settings.default_ramp_months,
                             default_shape=settings.ramp_shape)
        if settings.ramp_level is not None:
            ramp.level = settings.ramp_level
            ramp.curve["ramp_factor"] = ramp.factor(ramp.curve["tenure_month"].to_numpy())
        if ramp.source == "default":
            hired = "no rep" if ramp.hires_used == 0 else "only 1 rep" if ramp.hires_used == 1 else \
                f"only {ramp.hires_used} reps"
            notes.append(f"{hired} hired within the history (fewer than "
                         f"{settings.min_hires_for_ramp}): default ramp of {settings.default_ramp_months} months")
    if ramp.curve.empty:
        k = np.arange(1, 19)
        ramp.curve = pd.DataFrame({"tenure_month": k, "ramp_factor": ramp.factor(k), "observed": np.nan, "reps": 0})

    productivity = productivity_by_region(rep_months, season, ramp_months=ramp.ramp_months, window=window,
                                          statistic=settings.productivity_statistic)
    for region in sorted(set(quota["region"]) - set(productivity["region"])):
        productivity.loc[len(productivity)] = (region, np.nan, 0, "history: none")
    for region, value in settings.productivity.items():
        productivity.loc[productivity["region"] == region, ["productivity", "reps", "source"]] = (value, 0, "config")
        if region not in set(productivity["region"]):
            productivity.loc[len(productivity)] = (region, value, 0, "config")
    blank = productivity[productivity["productivity"].isna()]
    if len(blank):
        raise DataError(f"no fully ramped rep history for region(s) {sorted(blank['region'])}; "
                        "give capacity.productivity for them in the config")
    for row in productivity[productivity["source"] == "history: company figure"].itertuples():
        notes.append(f"{row.region}: no fully ramped rep in the window, company productivity used")

    if settings.attrition_rate is not None:
        annual = settings.attrition_rate
        attrition = {"exits": None, "average_headcount": None, "annual_rate": annual,
                     "monthly_rate": 1 - (1 - annual) ** (1 / 12), "source": "config"}
    else:
        window_a = all_months[-settings.attrition_window_months:]
        attrition = {**attrition_rate(quota, window_a), "source": "history",
                     "window": f"{window_a[0]:%Y-%m}..{window_a[-1]:%Y-%m}"}

    run_rates = None
    if settings.existing_reps == "own_run_rate":
        run_rates = rep_run_rates(rep_months, season, ramp_months=ramp.ramp_months, window=window)
    by_rep = capacity_by_month(quota, months, productivity, season, ramp, monthly_attrition=attrition["monthly_rate"],
                               as_of=as_of, growth=settings.productivity_growth, run_rates=run_rates)
    return CapacityModel(productivity.sort_values("region", ignore_index=True), ramp, attrition, season, by_rep,
                         notes)


def explicit_ramp(ramp: list[float]) -> RampEstimate:
    """Return a ramp given month by month (the hire month is month 1; 1 after the last) as a RampEstimate.

    >>> explicit_ramp([0.25, 0.5]).factor([1, 2, 3]).tolist()
    [0.25, 0.5, 1.0]
    """
    ramp = [float(x) for x in ramp]
    k = np.arange(1, NEW_REP_MONTHS + 1)
    curve = pd.DataFrame({"tenure_month": k, "ramp_factor": ramp_curve(k, ramp=ramp) if ramp else 1.0,
                          "observed": np.nan, "reps": 0})
    return RampEstimate(len(ramp), "explicit" if ramp else "linear", "allocation", curve, ramp=ramp, level=1.0)


def plan_ramp(allocation, *, history: pd.DataFrame, roster: pd.DataFrame, capacity=None, months=None,
              as_of=None) -> RampEstimate:
    """Return the ramp of new reps the allocation plans with: its own list, else capacity's ramp.

    With ``allocation.ramp`` null the ramp is the one the capacity module plans with for the same
    history, roster and ``capacity`` settings (capacity.ramp, or ramp_months and ramp_shape, else
    estimated from the reps hired within the history, levelling off at ``level``), so targets and
    capacity expect the same from a new rep. It is read from
    :func:`planlib.planning.productivity.estimate_capacity` (the capacity stage itself needs the targets).

    Parameters
    ----------
    allocation : planlib.config.Allocation
    history : DataFrame
        The monthly panel (rows of level "rep" and "region" are used).
    roster : DataFrame
        rep_id, team, region, hire_date, exit_date, fte (role optional).
    capacity : planlib.config.Capacity, optional
        Default: the defaults of the capacity section.
    months : DatetimeIndex, optional
        The plan months; default the 12 months after the history.
    as_of : Timestamp, optional
        Default: the end of the history's last month.

    Returns
    -------
    RampEstimate
        ``source`` "allocation" for an explicit list, else capacity's ("estimated", "config", "default").

    Raises
    ------
    DataError
        If capacity cannot estimate the ramp (its message, and the remedy of giving allocation.ramp).
    """
    if allocation.ramp is not None:
        return explicit_ramp(allocation.ramp)
    from planlib.core.config import Capacity

    last = pd.Timestamp(history["ds"].max())
    months = pd.date_range(last + pd.DateOffset(months=1), periods=12, freq="MS") if months is None else months
    as_of = last + pd.offsets.MonthEnd(0) if as_of is None else pd.Timestamp(as_of)
    try:
        result = estimate_capacity(history, roster, capacity or Capacity(), months=pd.DatetimeIndex(months),
                                   as_of=as_of)
    except DataError as exc:
        raise DataError(f"allocation takes the ramp of new reps from capacity, which could not estimate it: {exc} "
                        "(or give allocation.ramp as a list, e.g. [0.25, 0.5, 0.75])") from exc
    return result.ramp
