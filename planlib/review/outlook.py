"""The rest of the year in a review: the re-forecast outlook and the odds now, re-allocation options,
targets that became unreasonable, and feedback notes per team written from the numbers.

Pure computations on tables; ``planlib.review`` puts them together and re-exports them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from planlib.review.compare import ReviewWindow, _closed_labels, _compare, _in_months, _target_rows, say
from planlib.planning.allocate import largest_remainder
from planlib.review.scorecard import Scorecards
from planlib.core.text import money

__all__ = [
    "FORECAST_LEVELS", "allocation_options", "annual_targets", "feedback_notes", "reforecast_months",
    "reforecast_panel", "targets_to_review", "team_products", "year_end_outlook",
]

FORECAST_LEVELS = ("company", "region", "product", "region_product")


# --------------------------------------------------------------------------- the re-forecast
def reforecast_panel(history: pd.DataFrame) -> pd.DataFrame:
    """Return the levels of a monthly panel that the re-forecast models: company, region, product, region x product."""
    return history[history["level"].isin(FORECAST_LEVELS)].reset_index(drop=True)


def _rest_distribution(forecast, uid: str, window: ReviewWindow):
    open_months = window.open
    return forecast.total_distribution(uid, open_months[0], open_months[-1]) if len(open_months) else None


def year_end_outlook(comparison: dict[str, pd.DataFrame], annual: pd.DataFrame, forecast,
                     window: ReviewWindow, level: int = 80) -> pd.DataFrame:
    """Return the year-end outlook of the company, each region and each product under the re-forecast.

    Parameters
    ----------
    comparison : dict
        From :func:`actual_vs_plan`.
    annual : DataFrame
        level (company, region, product), entity, annual_target.
    forecast : ForecastResult or None
        The re-forecast from the month after the last closed one (None when the year is over).
    window : ReviewWindow
    level : int, default 80
        The interval shown.

    Returns
    -------
    DataFrame
        level, entity, annual_target, actual_to_date, rest_mean, year_end, year_end_lo, year_end_hi
        (the ``level``% interval), attainment_outlook (year_end / annual_target), p_reach (P(year >= annual
        target) now).
    """
    rows = []
    lo_q, hi_q = (1 - level / 100) / 2, 1 - (1 - level / 100) / 2
    for row in annual.itertuples(index=False):
        view = comparison[row.level]
        if row.level == "company":
            actual = float(view["actual"].sum())
            uid = "company"
        else:
            found = view.loc[view[row.level] == row.entity, "actual"]
            actual = float(found.sum())
            uid = f"{row.level}/{row.entity}"
        dist = _rest_distribution(forecast, uid, window) if forecast is not None else None
        needed = float(row.annual_target) - actual
        if dist is None:
            rest, lo, hi, p = 0.0, 0.0, 0.0, float(needed <= 0)
        else:
            rest, lo, hi, p = float(dist.mean()), float(dist.ppf(lo_q)), float(dist.ppf(hi_q)), float(dist.sf(needed))
        rows.append({"level": row.level, "entity": row.entity, "annual_target": float(row.annual_target),
                     "actual_to_date": actual, "rest_mean": rest, "year_end": actual + rest,
                     "year_end_lo": actual + lo, "year_end_hi": actual + hi,
                     "attainment_outlook": (actual + rest) / row.annual_target if row.annual_target else np.nan,
                     "p_reach": p})
    return pd.DataFrame(rows)


def annual_targets(targets: pd.DataFrame) -> pd.DataFrame:
    """Return the annual targets of the company, regions and products: level, entity, annual_target."""
    year = targets[targets["period_type"] == "year"]
    company = year[(year["level"] == "company") & (year["product"] == "All")]
    regions = year[(year["level"] == "region") & (year["product"] == "All")]
    products = year[(year["level"] == "product") & (year["product"] != "All")]
    return pd.concat([
        pd.DataFrame({"level": "company", "entity": "company", "annual_target": company["target"].astype(float)}),
        pd.DataFrame({"level": "region", "entity": regions["entity"],
                      "annual_target": regions["target"].astype(float)}),
        pd.DataFrame({"level": "product", "entity": products["product"],
                      "annual_target": products["target"].astype(float)}),
    ], ignore_index=True)


# --------------------------------------------------------------------------- what is left
def allocation_options(targets: pd.DataFrame, comparison: dict[str, pd.DataFrame], forecast,
                       window: ReviewWindow, *, rounding_unit: float, reset_quantile: float) -> tuple[pd.DataFrame,
                                                                                                       pd.DataFrame]:
    """Return the re-allocation options for the rest of the year and the month targets each gives each region.

    keep: the open months keep their targets; the shortfall (or surplus) to date stays where it is.
    carry: each region carries its shortfall forward over its open months in proportion to their targets
    (a region ahead of plan lowers them, never below zero), so its annual target still holds: the regions
    share the sum of their needs rounded to the unit (largest remainder), so they add up to the company's rest
    of year and each is within one unit of its own need.
    reset: the rest of the year is set to the ``reset_quantile`` of the re-forecast, split over regions
    by their re-forecast and over months by its monthly shape; the annual target changes.

    Parameters
    ----------
    targets : DataFrame
        The plan's long targets table.
    comparison : dict
        From :func:`actual_vs_plan`.
    forecast : ForecastResult or None
    window : ReviewWindow
    rounding_unit : float
        Targets are whole multiples of it; months add up to regions and regions to the company exactly.
    reset_quantile : float

    Returns
    -------
    (DataFrame, DataFrame)
        Effects: option, annual_target, change_vs_plan, rest_target, rest_forecast, needed_vs_forecast
        (rest_target / rest_forecast), p_reach (P(the rest of the year >= rest_target)), description.
        Month targets: option, region, month, target.
    """
    open_labels = [f"{m:%Y-%m}" for m in window.open]
    regions = comparison["region"]
    region_names = [r for r in regions["region"]]
    rest_plan = _target_rows(targets, "region", open_labels)
    rest_plan = rest_plan.pivot_table(index="entity", columns="period", values="target", aggfunc="sum")
    rest_plan = rest_plan.reindex(index=region_names, columns=open_labels, fill_value=0).fillna(0.0)
    annual = annual_targets(targets)
    company_annual = float(annual.loc[annual["level"] == "company", "annual_target"].sum())
    actual_total = float(comparison["company"]["actual"].sum())
    region_annual = annual[annual["level"] == "region"].set_index("entity")["annual_target"].reindex(region_names,
                                                                                                     fill_value=0.0)
    region_actual = regions.set_index("region")["actual"]
    forecast_month = _forecast_months(forecast, region_names, window)

    def by_month(option: str, region_units: np.ndarray, weights: pd.DataFrame) -> pd.DataFrame:
        rows = []
        for r, region in enumerate(region_names):
            w = weights.loc[region].to_numpy(float)
            w = w if w.sum() > 0 else np.ones(len(w))
            units = largest_remainder(w, int(region_units[r])) if len(w) else np.zeros(0, int)
            rows += [{"option": option, "region": region, "month": m, "target": float(u * rounding_unit)}
                     for m, u in zip(open_labels, units)]
        return pd.DataFrame(rows, columns=["option", "region", "month", "target"])

    keep_units = np.round(rest_plan.sum(axis=1).to_numpy(float) / rounding_unit).astype(np.int64)
    actual_so_far = region_actual.reindex(region_names).fillna(0.0).to_numpy(float)
    needed = np.maximum(region_annual.to_numpy(float) - actual_so_far, 0)
    # The regions share the company's rounded need, so they add up to it: each region rounded on its own could
    # leave the company up to half a unit per region off what it needs (893 on 2,817,107 with two regions).
    carry_units = (largest_remainder(needed, int(round(needed.sum() / rounding_unit))) if needed.sum() > 0
                   else np.zeros(len(region_names), dtype=np.int64))
    rest_total = None
    if forecast is not None and len(window.open):
        rest_total = _rest_distribution(forecast, "company", window)
        reset_whole = int(round(float(rest_total.ppf(reset_quantile)) / rounding_unit))
        region_means = np.array([float(_rest_distribution(forecast, f"region/{r}", window).mean())
                                 for r in region_names])
        reset_units = largest_remainder(np.maximum(region_means, 0), reset_whole)
    else:
        reset_units = np.zeros(len(region_names), dtype=np.int64)
    months = pd.concat([by_month("keep", keep_units, rest_plan), by_month("carry", carry_units, rest_plan),
                        by_month("reset", reset_units, forecast_month)], ignore_index=True)
    forecast_rest = float(rest_total.mean()) if rest_total is not None else 0.0
    described = {
        "keep": "the open months keep their targets; what is missed to date stays missed",
        "carry": "each region makes up its shortfall to date over its open months, in proportion to their targets",
        "reset": f"the rest of the year is set to the re-forecast's {reset_quantile:.0%} quantile",
    }
    effects = []
    for option in ("keep", "carry", "reset"):
        rest_target = float(months.loc[months["option"] == option, "target"].sum())
        new_annual = actual_total + rest_target if option != "keep" else company_annual
        effects.append({
            "option": option, "annual_target": new_annual if option == "reset" else company_annual,
            "change_vs_plan": (new_annual - company_annual) if option == "reset" else 0.0,
            "rest_target": rest_target, "rest_forecast": forecast_rest,
            "needed_vs_forecast": rest_target / forecast_rest if forecast_rest > 0 else np.nan,
            "p_reach": float(rest_total.sf(rest_target)) if rest_total is not None else float(rest_target <= 0),
            "description": described[option]})
    return pd.DataFrame(effects), months


def _forecast_months(forecast, region_names: list[str], window: ReviewWindow) -> pd.DataFrame:
    """Region x open month re-forecast (yhat), zeros without a forecast."""
    labels = [f"{m:%Y-%m}" for m in window.open]
    if forecast is None or not labels:
        return pd.DataFrame(0.0, index=region_names, columns=labels)
    fc = forecast.forecasts
    fc = fc[fc["unique_id"].isin([f"region/{r}" for r in region_names])]
    fc = fc.assign(region=fc["unique_id"].str.removeprefix("region/"),
                   month=pd.to_datetime(fc["ds"]).dt.strftime("%Y-%m"))
    return fc.pivot_table(index="region", columns="month", values="yhat", aggfunc="sum").reindex(
        index=region_names, columns=labels, fill_value=0.0).fillna(0.0).clip(lower=0)


def targets_to_review(targets: pd.DataFrame, comparison: dict[str, pd.DataFrame], outlook: pd.DataFrame,
                      window: ReviewWindow, *, unreasonable_above: float, min_probability: float,
                      easy_probability: float) -> pd.DataFrame:
    """Return the region and rep targets that have become unreasonable (or too easy), with adjustment options.

    A target is unreasonable when the rest of the year needs more than ``unreasonable_above`` times the
    plan's pace (needed / the open months' targets), or, for a region, when the re-forecast gives it less
    than ``min_probability``; too easy when a region's chance is above ``easy_probability`` or a rep needs
    less than 1 / ``unreasonable_above`` of the plan's pace.

    Returns
    -------
    DataFrame
        level (region, rep), entity, name, annual_target, actual_to_date, attainment_to_date, needed_rest,
        needed_pace, p_reach (regions), verdict (unreasonable, too easy), reason, own_pace_target (actual
        + the open months' targets x attainment to date), change (own_pace_target - annual_target).
        Sorted: unreasonable first, then by needed_pace.
    """
    open_labels = [f"{m:%Y-%m}" for m in window.open]
    year = targets[(targets["period_type"] == "year") & (targets["product"] == "All")]
    rows = []
    for level, key in (("region", "region"), ("rep", "rep_id")):
        annual = year[year["level"] == level].set_index("entity")["target"].astype(float)
        rest = _target_rows(targets, level, open_labels).groupby("entity")["target"].sum().astype(float)
        view = comparison[level].set_index(key)
        for entity, target in annual.items():
            actual = float(view["actual"].get(entity, 0.0))
            attainment = view["attainment"].get(entity, np.nan)
            open_plan = float(rest.get(entity, 0.0))
            needed = target - actual
            pace = needed / open_plan if open_plan > 0 else np.nan
            p = np.nan
            if level == "region":
                found = outlook[(outlook["level"] == "region") & (outlook["entity"] == entity)]["p_reach"]
                p = float(found.iloc[0]) if len(found) else np.nan
            verdict, reason = None, ""
            if open_plan > 0 and pace > unreasonable_above:
                verdict = "unreasonable"
                reason = say("needs {pace:.0%} of the plan's pace for the rest of the year", pace=pace)
            elif level == "region" and pd.notna(p) and p < min_probability:
                verdict = "unreasonable"
                reason = say("the re-forecast gives it a {p:.0%} chance", p=p)
            elif level == "region" and pd.notna(p) and p > easy_probability:
                verdict, reason = "too easy", say("the re-forecast gives it a {p:.0%} chance", p=p)
            elif level == "rep" and open_plan > 0 and pace < 1 / unreasonable_above:
                verdict = "too easy"
                reason = say("needs only {pace:.0%} of the plan's pace for the rest of the year", pace=pace)
            if verdict is None:
                continue
            own = actual + open_plan * (attainment if pd.notna(attainment) else 1.0)
            rows.append({"level": level, "entity": entity,
                         "name": view["name"].get(entity, entity) if "name" in view else entity,
                         "annual_target": target, "actual_to_date": actual, "attainment_to_date": attainment,
                         "needed_rest": needed, "needed_pace": pace, "p_reach": p, "verdict": verdict,
                         "reason": reason, "own_pace_target": own, "change": own - target})
    columns = ["level", "entity", "name", "annual_target", "actual_to_date", "attainment_to_date", "needed_rest",
               "needed_pace", "p_reach", "verdict", "reason", "own_pace_target", "change"]
    table = pd.DataFrame(rows, columns=columns)
    if len(table):
        table = table.sort_values(["verdict", "needed_pace"], ascending=[False, False], kind="stable")
    return table.reset_index(drop=True)


# --------------------------------------------------------------------------- feedback
def feedback_notes(comparison: dict[str, pd.DataFrame], team_products: pd.DataFrame, cards: Scorecards,
                   *, unit: float = 1.0, unit_label: str = "") -> pd.DataFrame:
    """Write what went well and what to change for each team, from the numbers.

    Parameters
    ----------
    comparison : dict
        From :func:`actual_vs_plan`.
    team_products : DataFrame
        team, product, plan, actual, attainment (the team's products to date).
    cards : Scorecards
        The quarter's scorecards (composite and measure scores by rep).
    unit, unit_label : float, str
        Display unit of money.

    Returns
    -------
    DataFrame
        team, region, kind ("went well", "to change"), note (plain text: show it with ``text.table``).
    """
    company = comparison["company"].iloc[0]
    teams = comparison["team"]
    reps = comparison["rep"]
    scores = cards.scores
    measures = [c for c in scores.columns if c not in ("rep_id", "name", "team", "region", "tenure_months",
                                                       "tenure_group", "measured", "composite", "band")]
    company_kpi = scores[measures].mean() if len(scores) else pd.Series(dtype=float)
    rows = []
    for team in teams.itertuples(index=False):
        notes = []
        if pd.notna(team.attainment):
            good = team.attainment >= company["attainment"] if pd.notna(company["attainment"]) else team.attainment >= 1
            notes.append(("went well" if good else "to change",
                          say("Attainment to date is {a:.0%} ({actual} of {plan}), against {c:.0%} for the company.",
                              a=team.attainment, actual=money(team.actual, unit, unit_label),
                              plan=money(team.plan, unit, unit_label), c=company["attainment"])))
        mine = team_products[(team_products["team"] == team.team) & team_products["attainment"].notna()]
        if len(mine) > 1:
            best, worst = mine.loc[mine["attainment"].idxmax()], mine.loc[mine["attainment"].idxmin()]
            notes.append(("went well", say("{p} is the team's strongest product at {a:.0%} of plan.",
                                           p=best["product"], a=best["attainment"])))
            if worst["attainment"] < 1:
                notes.append(("to change", say("{p} is at {a:.0%} of plan, {gap} short: look at its pipeline first.",
                                               p=worst["product"], a=worst["attainment"],
                                               gap=money(worst["plan"] - worst["actual"], unit, unit_label))))
        members = reps[(reps["team"] == team.team) & reps["attainment"].notna()]
        if len(members):
            top = members.loc[members["attainment"].idxmax()]
            notes.append(("went well", say("{name} leads the team at {a:.0%} of target.", name=top["name"],
                                           a=top["attainment"])))
            behind = members[members["attainment"] < 0.8]
            if len(behind):
                verb = "is" if len(behind) == 1 else "are"
                notes.append(("to change", say("{n} of {m} reps " + verb + " below 80% of target to date: {names}.",
                                               n=len(behind), m=len(members), names=", ".join(behind["name"]))))
        crew = scores[scores["team"] == team.team]
        if len(crew) and len(measures):
            relative = crew[measures].mean() - company_kpi
            relative = relative.dropna()
            if len(relative):
                high, low = relative.idxmax(), relative.idxmin()
                if relative[high] > 0:
                    notes.append(("went well", say("{k} scores {s:.2f} on average, above the company's {c:.2f}.",
                                                   k=high, s=crew[high].mean(), c=company_kpi[high])))
                if relative[low] < 0:
                    notes.append(("to change", say("{k} scores {s:.2f} on average, below the company's {c:.2f}.",
                                                   k=low, s=crew[low].mean(), c=company_kpi[low])))
        rows += [{"team": team.team, "region": team.region, "kind": kind, "note": note} for kind, note in notes]
    table = pd.DataFrame(rows, columns=["team", "region", "kind", "note"])
    return table.sort_values(["team", "kind"], ascending=[True, False], kind="stable").reset_index(drop=True)


def team_products(targets: pd.DataFrame, sales: pd.DataFrame, roster: pd.DataFrame,
                  window: ReviewWindow) -> pd.DataFrame:
    """Return each team's plan and actual by product over the closed months: team, product, plan, actual,
    variance, attainment."""
    labels = _closed_labels(window)
    plan = _target_rows(targets, "team_product", labels, product=None)
    plan = plan.groupby(["entity", "product"])["target"].sum().astype(float)
    deals = _in_months(sales, window.closed)
    deals = deals.assign(team=deals["rep_id"].map(roster.drop_duplicates("rep_id").set_index("rep_id")["team"]))
    actual = deals.groupby(["team", "product"])["amount"].sum()
    plan.index.names = ["team", "product"]
    return _compare(plan, actual, ["team", "product"])


def reforecast_months(targets: pd.DataFrame, comparison: dict[str, pd.DataFrame], forecast, window: ReviewWindow,
                      levels) -> pd.DataFrame:
    """Return the company's year month by month: plan, actual (closed months), re-forecast with intervals (open).

    Returns
    -------
    DataFrame
        month (Timestamp), plan, actual (NaN when open), forecast, lo_<L>, hi_<L> (NaN when closed), status
        (closed, open).
    """
    labels = [f"{m:%Y-%m}" for m in window.months]
    plan = _target_rows(targets, "company", labels).groupby("period")["target"].sum().astype(float).reindex(labels)
    table = pd.DataFrame({"month": window.months, "plan": plan.to_numpy(float)})
    actual = comparison["month"].set_index("month")["actual"]
    table["actual"] = [actual.get(lab, np.nan) if m in window.closed else np.nan
                       for lab, m in zip(labels, window.months)]
    bounds = [f"{side}_{lv}" for lv in levels for side in ("lo", "hi")]
    for col in ["forecast", *bounds]:
        table[col] = np.nan
    if forecast is not None:
        fc = forecast.forecasts[forecast.forecasts["unique_id"] == "company"].set_index("ds")
        fc.index = pd.DatetimeIndex(fc.index)
        for i, m in enumerate(window.months):
            if m not in window.closed and m in fc.index:
                table.loc[i, "forecast"] = fc.loc[m, "yhat"]
                for col in bounds:
                    if col in fc.columns:
                        table.loc[i, col] = fc.loc[m, col]
    table["status"] = np.where(table["month"].isin(window.closed), "closed", "open")
    return table
