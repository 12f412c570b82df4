"""The ``forecast`` plan stage: the company, region, product and region x product series of the history
forecast to the end of the fiscal plan year (:func:`plan_horizon`), with the config's settings and the
company's working days (:func:`forecast_with_config`, which the quarterly re-forecast calls too).
"""
from __future__ import annotations

import pandas as pd

from planlib.core.errors import ForecastError
from planlib.core.graph import stage
from planlib.forecast.engine import ForecastResult, forecast
from planlib.forecast.reconcile import hierarchy_from_panel

__all__ = ["PLAN_LEVELS", "forecast_stage", "forecast_with_config", "plan_horizon"]

PLAN_LEVELS = ("company", "region", "product", "region_product")


def plan_horizon(last_month, fiscal_year: int, start_month: int = 1) -> tuple[pd.Timestamp, pd.Timestamp, int]:
    """Return (first forecast month, last month of the plan year, number of months).

    The forecast covers the rest of the current year after ``last_month`` and the whole plan year:
    FY2027 starting in January is 2027-01..2027-12; starting in April it is 2026-04..2027-03.

    Raises
    ------
    ForecastError
        If the plan year ends before the month after ``last_month``.
    """
    last = pd.Timestamp(last_month).to_period("M")
    fy_end = pd.Period(year=fiscal_year if start_month > 1 else fiscal_year,
                       month=start_month - 1 if start_month > 1 else 12, freq="M")
    h = (fy_end - last).n
    if h < 1:
        raise ForecastError(f"the plan year FY{fiscal_year} ended ({fy_end}) before the history's last month {last}")
    return (last + 1).to_timestamp(), fy_end.to_timestamp(), h


def forecast_with_config(panel: pd.DataFrame, h: int, cfg) -> ForecastResult:
    """Run :func:`forecast` on a plan-level panel with the config's settings and the company's calendar.

    The company's working days (``company.country``) go in unless ``forecast.working_days`` is "off";
    the plan's forecast stage and the quarterly re-forecast both call this, so they cannot drift apart.

    Parameters
    ----------
    panel : DataFrame
        unique_id, ds (month starts), y, level, region, product: the history at the plan's levels.
    h : int
        Months to forecast after the panel's last month.
    cfg : PlanConfig
        Its ``forecast`` section and ``company.country`` / ``company.subdivision`` are used.

    Returns
    -------
    ForecastResult
        As :func:`forecast`; with working days adjusted for, ``.calendar["estimated_years"]`` lists the
        years whose make-up working days are not published yet (also in ``.notes``).

    Raises
    ------
    ForecastError, ConfigError
        As :func:`forecast`; ConfigError if the holidays library does not know the country.
    """
    from planlib.core.calendar import holiday_coverage, period_working_days

    fc = cfg.forecast
    days = None
    last = pd.Timestamp(panel["ds"].max()) + pd.DateOffset(months=int(h))
    if fc.working_days != "off":
        days = period_working_days(panel["ds"].min(), last, "MS", cfg.company.country, cfg.company.subdivision)
    result = forecast(panel[["unique_id", "ds", "y"]], h, freq="MS", levels=fc.levels, models=fc.models,
                    season_length=fc.season_length, origins=fc.backtest_origins, combine=fc.combine,
                    calibrate=fc.calibrate, hierarchy=hierarchy_from_panel(panel),
                    reconciliation=fc.reconciliation, nonnegative=fc.nonnegative,
                      working_days=days, working_day_adjust={"auto": "auto", "on": True}.get(fc.working_days, False),
                      n_jobs=fc.n_jobs, scheduler=fc.scheduler, progress=fc.progress)
    if result.calendar and result.calendar["adjusted"]:
        # China publishes next year's make-up working days each November: until then they are estimates.
        years = list(range(pd.Timestamp(panel["ds"].max()).year, last.year + 1))
        coverage = holiday_coverage(cfg.company.country, years, cfg.company.subdivision)
        estimated = [int(y) for y in coverage.loc[~coverage["makeup_known"], "year"]]
        result.calendar["estimated_years"] = estimated
        notes = [("(all)", "calendar", f"{year}: make-up working days not published yet; its working days "
                                       f"(and the forecast per working day) are estimates") for year in estimated]
        if notes:
            result.notes = pd.concat([result.notes, pd.DataFrame(notes, columns=result.notes.columns)],
                                     ignore_index=True)
    return result


@stage("forecast", needs=("history",), config=("forecast", "fiscal", "as_of", "seed", "company.country",
                                              "company.subdivision"))
def forecast_stage(plan) -> ForecastResult:
    """Forecast company, regions, products and region x product cells to the end of the plan year.

    The horizon runs from the month after the last closed month (decided by ``as_of``) to the last
    month of the fiscal plan year, so a history ending in October covers the rest of this year too.
    """
    cfg = plan.config
    history = plan["history"]
    last_closed = pd.Timestamp(cfg.last_closed_month)
    panel = history[history["level"].isin(PLAN_LEVELS) & (history["ds"] <= last_closed)]
    if panel.empty:
        raise ForecastError(f"the history has no rows at levels {PLAN_LEVELS} up to {last_closed:%Y-%m}")
    _, _, h = plan_horizon(panel["ds"].max(), cfg.fiscal.year, cfg.fiscal.start_month)
    result = forecast_with_config(panel, h, cfg)
    if panel["ds"].max() < last_closed:
        stale = pd.DataFrame([("(all)", "stale", f"history ends {panel['ds'].max():%Y-%m}, before the last "
                                                 f"closed month {last_closed:%Y-%m}: the forecast starts earlier")],
                             columns=["unique_id", "kind", "reason"])
        result.notes = pd.concat([result.notes, stale], ignore_index=True)
    return result
