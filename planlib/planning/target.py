"""The annual target: set from the forecast by the config's mode, with its probability of attainment under
the forecast distribution and its verdict (stretch, balanced, sandbagged); the what-if that recomputes it
and its split over regions, and the tables behind the attainment curve and the monthly fan chart.
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from planlib.core.calendar import period_month_starts
from planlib.core.errors import ConfigError
from planlib.core.graph import stage
from planlib.planning.allocate import blend, fiscal_months, largest_remainder

__all__ = ["AnnualTarget", "MODES", "annual_target_for", "attainment_curve", "last_year_figures", "monthly_fan_table",
           "set_annual_target", "verdict_of", "what_if", "what_if_for"]

MODES = ("growth", "quantile", "stretch", "top_down")


@dataclass(frozen=True)
class AnnualTarget:
    """The plan year's revenue target and how it relates to the forecast and last year.

    Attributes
    ----------
    fiscal_year : str ("FY2027")
    mode : str (growth, quantile, stretch, top_down)
    target : float, rounded to ``unit``
    target_units : int (target / unit)
    unit : float
    probability : float, P(plan-year revenue >= target) under the forecast distribution
    verdict : str (stretch, balanced, sandbagged)
    forecast_mean, forecast_p10, forecast_p50, forecast_p90 : float, the plan-year forecast
    last_year_actual : float, last fiscal year's actual to the last closed month
    last_year_outlook : float, last year's actual plus forecast for its open months
    trailing_12m : float, actual of the 12 months to the last closed month
    growth_vs_last_year : float, target / last_year_outlook - 1
    """

    fiscal_year: str
    mode: str
    target: float
    target_units: int
    unit: float
    probability: float
    verdict: str
    forecast_mean: float
    forecast_p10: float
    forecast_p50: float
    forecast_p90: float
    last_year_actual: float
    last_year_outlook: float
    trailing_12m: float
    growth_vs_last_year: float

    def as_dict(self) -> dict:
        """Return the fields as a plain dict."""
        return asdict(self)


def verdict_of(probability: float, stretch_below: float = 0.35, sandbagged_above: float = 0.75) -> str:
    """Return "stretch", "balanced" or "sandbagged" for a probability of attainment.

    >>> verdict_of(0.2), verdict_of(0.5), verdict_of(0.9)
    ('stretch', 'balanced', 'sandbagged')
    """
    if probability < stretch_below:
        return "stretch"
    if probability > sandbagged_above:
        return "sandbagged"
    return "balanced"


def set_annual_target(goals, distribution, *, last_year_outlook: float, unit: float = 1.0,
                      fiscal_year: str = "", last_year_actual: float = math.nan,
                      trailing_12m: float = math.nan) -> AnnualTarget:
    """Set the annual target by the config's mode and judge it against the forecast.

    Parameters
    ----------
    goals : planlib.config.Goals
        mode (growth, quantile, stretch, top_down), growth, quantile, stretch, top_down, verdict.
    distribution : scipy.stats frozen distribution
        The plan-year revenue total (``ForecastResult.total_distribution``).
    last_year_outlook : float
        Last fiscal year's actual plus forecast for months not yet closed (the growth base).
    unit : float, default 1.0
        The target is rounded to a whole number of this.

    Returns
    -------
    AnnualTarget

    Raises
    ------
    ConfigError
        If mode is growth and there is no last year to grow from, or the target is not positive.
    """
    mean = float(distribution.mean())
    if goals.mode == "growth":
        if not last_year_outlook > 0:
            raise ConfigError([("goals.mode", f"growth needs last year's actual, found {last_year_outlook!r}; "
                                "use quantile or top_down")])
        raw = last_year_outlook * (1 + goals.growth)
    elif goals.mode == "quantile":
        raw = float(distribution.ppf(goals.quantile))
    elif goals.mode == "stretch":
        raw = mean * (1 + goals.stretch)
    else:
        raw = float(goals.top_down)
    units = int(math.floor(raw / unit + 0.5))
    if units <= 0:
        raise ConfigError([("goals", f"the {goals.mode} target is {raw:,.2f}, not a positive number of "
                            f"rounding units ({unit:g})")])
    target = units * unit
    probability = float(distribution.sf(target))
    return AnnualTarget(
        fiscal_year=fiscal_year, mode=goals.mode, target=target, target_units=units, unit=unit,
        probability=probability,
        verdict=verdict_of(probability, goals.verdict.stretch_below, goals.verdict.sandbagged_above),
        forecast_mean=mean, forecast_p10=float(distribution.ppf(0.1)), forecast_p50=float(distribution.ppf(0.5)),
        forecast_p90=float(distribution.ppf(0.9)), last_year_actual=float(last_year_actual),
        last_year_outlook=float(last_year_outlook), trailing_12m=float(trailing_12m),
        growth_vs_last_year=target / last_year_outlook - 1 if last_year_outlook > 0 else math.nan)


def last_year_figures(history: pd.DataFrame, forecast, months: pd.DatetimeIndex, last_month, *,
                      unique_id: str = "company") -> dict[str, float]:
    """Return last fiscal year's actual, outlook (actual + forecast of open months) and trailing 12 months.

    The outlook is the one "last year" of the plan: the growth base of the target, the SMART baseline of a
    revenue goal and the figure every page states (``planlib.report.story.last_year``).

    Parameters
    ----------
    history : DataFrame
        The plan's monthly panel (unique_id "company").
    forecast : ForecastResult
    months : DatetimeIndex
        The 12 month starts of the plan year.
    last_month : Timestamp
        The last closed month.
    unique_id : str, default "company"
        The series (``region/East``, ``product/Services``, ...): the scope of a goal.

    Returns
    -------
    dict
        last_year_actual, last_year_outlook, trailing_12m.
    """
    company = history[history["unique_id"] == unique_id].set_index("ds")["y"]
    last_month = pd.Timestamp(last_month)
    last_year = months - pd.DateOffset(years=1)
    actual = float(company.reindex(last_year[last_year <= last_month]).fillna(0).sum())
    open_months = last_year[last_year > last_month]
    rows = forecast.forecasts[(forecast.forecasts["unique_id"] == unique_id) & forecast.forecasts["ds"].isin(open_months)]
    outlook = actual + float(rows["yhat"].sum())
    trailing = float(company[(company.index > last_month - pd.DateOffset(years=1)) & (company.index <= last_month)].sum())
    if len(rows) < len(open_months):
        outlook = math.nan  # the forecast does not cover the year's open months of this series
    if company.empty or company.index.min() > last_year[0]:
        outlook = math.nan  # last year is not fully in the history: no honest growth base
    return {"last_year_actual": actual, "last_year_outlook": outlook, "trailing_12m": trailing}


def annual_target_for(plan, goals=None) -> AnnualTarget:
    """Return the annual target of ``plan`` under ``goals`` (default the plan's own goals section)."""
    cfg = plan.config
    goals = goals or cfg.goals
    months = fiscal_months(cfg)
    dist = plan["forecast"].total_distribution("company", months[0], months[-1])
    figures = last_year_figures(plan["history"], plan["forecast"], months, cfg.last_closed_month)
    return set_annual_target(goals, dist, unit=cfg.allocation.rounding_unit, fiscal_year=f"FY{cfg.fiscal.year}",
                             **figures)


@stage("annual_target", needs=("forecast", "history"), config=("goals", "fiscal", "as_of", "allocation"))
def _annual_target_stage(plan) -> AnnualTarget:
    return annual_target_for(plan)


def what_if(plan, mode: str = "quantile", growth: float = 0.10, quantile: float = 0.60, stretch: float = 0.05,
            top_down: float | None = None, *, equal: float | None = None, historical: float | None = None,
            forecast: float | None = None, market: float | None = None,
            capacity: float | None = None) -> pd.DataFrame:
    """Recompute the annual target and its split over regions for other choices (fast, no rep split).

    Parameters
    ----------
    plan : planlib.Plan
    mode, growth, quantile, stretch, top_down
        As in the goals section of the config (top_down defaults to the plan's target).
    equal, historical, forecast, market, capacity : float, optional
        Weights of the org split methods; when all are None the config's ``allocation.methods``.

    Returns
    -------
    DataFrame
        entity ("company" then each region), target, share, probability and verdict (company row).
    """
    cfg = plan.config
    goals = cfg.goals.model_copy(update={"mode": mode, "growth": growth, "quantile": quantile, "stretch": stretch,
                                         "top_down": top_down or cfg.goals.top_down or plan["annual_target"].target})
    target = annual_target_for(plan, goals)
    given = {"equal": equal, "historical": historical, "forecast": forecast, "market": market, "capacity": capacity}
    methods = {k: float(w) for k, w in given.items() if w is not None}
    if not methods or sum(methods.values()) <= 0:
        methods = dict(cfg.allocation.methods)
    inputs = plan["allocation"].inputs
    shares = blend(inputs.method_values["region"], methods)
    units = largest_remainder(shares, target.target_units)
    rows = [{"entity": "company", "target": target.target, "share": 1.0, "probability": target.probability,
             "verdict": target.verdict}]
    rows += [{"entity": r, "target": u * target.unit, "share": s, "probability": math.nan, "verdict": ""}
             for r, u, s in zip(inputs.regions, units, shares)]
    return pd.DataFrame(rows)


def what_if_for(plan):
    """Return :func:`what_if` bound to ``plan``, as a named function for ``ipywidgets.interact``.

    >>> # ipywidgets.interact(what_if_for(plan), mode=["quantile", "growth"], growth=(0.0, 0.3, 0.01))
    """
    goals, methods = plan.config.goals, plan.config.allocation.methods
    start_mode = goals.mode if goals.mode != "top_down" else "quantile"

    # Defaults are the config's, so the sliders start where the plan is.
    def what_if_plan(mode: str = start_mode, growth: float = goals.growth, quantile: float = goals.quantile,
                     stretch: float = goals.stretch, forecast: float = methods.get("forecast", 0.0),
                     capacity: float = methods.get("capacity", 0.0), historical: float = methods.get("historical", 0.0),
                     market: float = methods.get("market", 0.0), equal: float = methods.get("equal", 0.0)) -> pd.DataFrame:
        return what_if(plan, mode=mode, growth=growth, quantile=quantile, stretch=stretch, forecast=forecast,
                       capacity=capacity, historical=historical, market=market, equal=equal)

    return what_if_plan


def attainment_curve(distribution, target: float, points: int = 241) -> pd.DataFrame:
    """Return the density of plan-year revenue from its 0.1% to 99.9% quantile, split at the target.

    Returns
    -------
    DataFrame
        revenue, density, attained (revenue >= target); the target itself is one of the points,
        repeated on the missed side so the two shaded areas meet.
    """
    low, high = float(distribution.ppf(0.001)), float(distribution.ppf(0.999))
    grid = np.unique(np.append(np.linspace(low, high, points), [target] if low < target < high else []))
    frame = pd.DataFrame({"revenue": grid, "density": distribution.pdf(grid), "attained": grid >= target})
    edge = frame[frame["revenue"] == target].assign(attained=False)
    return pd.concat([frame, edge], ignore_index=True).sort_values(["revenue", "attained"]).reset_index(drop=True)


def monthly_fan_table(history: pd.DataFrame, forecasts: pd.DataFrame, targets: pd.DataFrame | None = None, *,
                      unique_id: str = "company", months_back: int = 24,
                      periods: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return actuals, forecast bands and month targets of one series for a fan chart.

    Parameters
    ----------
    history : DataFrame
        unique_id, ds, y.
    forecasts : DataFrame
        unique_id, ds, yhat and lo_<level>, hi_<level> for each of the forecast's interval levels.
    targets : DataFrame, optional
        The targets table; month targets of the matching level and entity are joined.
    unique_id : str, default "company"
        "company" or "region/<name>".
    months_back : int, default 24
        Months of history shown.
    periods : DataFrame, optional
        The plan's fiscal months, from :func:`planlib.core.calendar.fiscal_month_starts`; needed for a
        week-based calendar. A 4- or 5-week period's target is then drawn at the calendar month it
        stands for, scaled to that month's days (target x month days / period days), so it compares
        with the forecast of that month; ``period`` names the period.

    Returns
    -------
    DataFrame
        ds, actual, yhat, lo_<level>, hi_<level> for each level in the forecasts (narrowest first), target,
        period (the period's name where it is not a calendar month, else empty).
    """
    levels = sorted({int(c[3:]) for c in forecasts.columns if re.fullmatch(r"(lo|hi)_\d+", c)} or {80, 95})
    bands = ["yhat", *(f"{side}_{level}" for level in levels for side in ("lo", "hi"))]
    actual = history[history["unique_id"] == unique_id][["ds", "y"]].rename(columns={"y": "actual"})
    actual = actual[actual["ds"] > actual["ds"].max() - pd.DateOffset(months=months_back)]
    fc = forecasts[forecasts["unique_id"] == unique_id][["ds", *[c for c in bands if c in forecasts]]]
    frame = actual.merge(fc, on="ds", how="outer").sort_values("ds").reset_index(drop=True)
    for column in bands:
        if column not in frame:
            frame[column] = np.nan
    frame["target"], frame["period"] = np.nan, ""
    if targets is not None:
        level, entity = ("company", "company") if unique_id == "company" else unique_id.split("/")[:2]
        rows = targets[(targets["level"] == level) & (targets["entity"] == entity) & (targets["product"] == "All")
                       & (targets["period_type"] == "month")]
        start_month = int(periods["month"].iloc[0].month) if periods is not None else None
        months = period_month_starts(rows["period"], start_month)
        amount = rows["target"].to_numpy(float)
        if periods is not None and periods["weeks"].notna().any():
            info = periods.set_index("period").reindex(rows["period"].astype(str))
            amount = amount * months.days_in_month.to_numpy() / info["days"].to_numpy(float)
            named = pd.Series(info["name"].to_numpy(), index=months)
            frame["period"] = frame["ds"].map(named).fillna("")
        frame["target"] = frame["ds"].map(pd.Series(amount, index=months))
    return frame[["ds", "actual", *bands, "target", "period"]]
