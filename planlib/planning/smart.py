"""SMART goal cards: each goal of the config checked for being specific, measurable, achievable, relevant,
time-bound and owned, with its probability of attainment read from the forecast distribution (or, for goals
the forecast does not cover, from the trend of the metric's own history).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from planlib.core.errors import ForecastError
from planlib.core.graph import stage
from planlib.planning.target import AnnualTarget, last_year_figures

__all__ = ["KNOWN_METRICS", "goal_card_view", "goal_cards", "metric_history", "trend_probability"]

KNOWN_METRICS = ("revenue", "new_customers", "market_share", "retention", "satisfaction")


def _window(end: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The 12 months ending with the month of ``end``: (first month start, last month start)."""
    last = pd.Timestamp(end).to_period("M").to_timestamp()
    return last - pd.DateOffset(months=11), last


def _scope_filter(frame: pd.DataFrame, scope: str) -> pd.DataFrame | None:
    parts = scope.split("/")
    if parts == ["company"]:
        return frame
    if parts[0] == "region" and len(parts) == 2 and "region" in frame:
        return frame[frame["region"] == parts[1]]
    if parts[0] == "product" and len(parts) == 2 and "product" in frame:
        return frame[frame["product"] == parts[1]]
    if parts[0] == "region_product" and len(parts) == 3 and {"region", "product"} <= set(frame.columns):
        return frame[(frame["region"] == parts[1]) & (frame["product"] == parts[2])]
    return None


def metric_history(metric: str, scope: str, tables: dict[str, pd.DataFrame], history: pd.DataFrame,
                   last_month) -> pd.Series | None:
    """Return a metric's yearly values (12-month windows ending at the last closed month, then a year earlier, ...).

    Metrics: revenue (sales), new_customers (customers whose first purchase falls in the window;
    the first year of data is left out, where every customer looks new), retention (share of the
    previous window's customers who bought again), market_share (revenue over the market size of
    the window's year), satisfaction or any other kpis.csv metric (mean of the window's values).

    Returns
    -------
    Series or None
        Indexed by the window's last month (oldest first); None when the data cannot measure it.
    """
    last_month = pd.Timestamp(last_month)
    sales = tables.get("sales")
    ends = [last_month - pd.DateOffset(years=i) for i in range(10)]
    if metric == "revenue":
        uid = "company" if scope == "company" else scope
        series = history[history["unique_id"] == uid].set_index("ds")["y"]
        if series.empty:
            return None
        ends = [e for e in ends if _window(e)[0] >= series.index.min()]
        return pd.Series({e: float(series[_window(e)[0]:e].sum()) for e in reversed(ends)}, dtype=float)
    if metric in ("new_customers", "retention", "market_share"):
        if sales is None or sales.empty:
            return None
        scoped = _scope_filter(sales, scope)
        if scoped is None:
            return None
        month = scoped["date"].dt.to_period("M").dt.to_timestamp()
        first_month = month.min() if len(month) else last_month
        ends = [e for e in ends if _window(e)[0] >= first_month]
        if metric == "market_share":
            market = tables.get("market")
            if market is None or market.empty:
                return None
            scoped_market = _scope_filter(market, scope)
            if scoped_market is None:
                return None
            size = scoped_market.groupby("year")["market_size"].sum()
            values = {e: float(scoped.loc[month.between(*_window(e)), "amount"].sum()) / size[e.year]
                      for e in reversed(ends) if size.get(e.year, 0) > 0}
            return pd.Series(values, dtype=float) if values else None
        if metric == "new_customers":
            first = month.groupby(scoped["customer_id"]).min()
            ends = [e for e in ends if _window(e)[0] >= first_month + pd.DateOffset(years=1)]
            return pd.Series({e: float(first.between(*_window(e)).sum()) for e in reversed(ends)}, dtype=float)
        values = {}
        for e in reversed(ends):
            start, end = _window(e)
            before = set(scoped.loc[month.between(start - pd.DateOffset(years=1), start - pd.DateOffset(months=1)),
                                    "customer_id"])
            if start - pd.DateOffset(years=1) >= first_month and before:
                now = set(scoped.loc[month.between(start, end), "customer_id"])
                values[e] = len(before & now) / len(before)
        return pd.Series(values, dtype=float) if values else None
    kpis = tables.get("kpis")
    if kpis is None or kpis.empty or metric not in set(kpis["metric"]):
        return None
    rows = kpis[kpis["metric"] == metric]
    reps = tables.get("reps")
    if reps is not None and "region" in reps:
        rows = rows.merge(reps[["rep_id", "region"]], on="rep_id", how="left")
    rows = _scope_filter(rows, scope)
    if rows is None or rows.empty:
        return None
    quarter_end = pd.PeriodIndex(rows["period"].astype(str), freq="Q").end_time.to_period("M").to_timestamp()
    values = {}
    for e in reversed(ends):
        inside = quarter_end.to_series(index=rows.index).between(*_window(e))
        if inside.any():
            values[e] = float(rows.loc[inside, "value"].mean())
    return pd.Series(values, dtype=float) if values else None


def trend_probability(values: pd.Series, target: float, years_ahead: float, *, log: bool = False) -> float | None:
    """Return P(metric >= target) after ``years_ahead``, from the mean and spread of its yearly changes.

    Needs at least three yearly values (two changes); None otherwise. With ``log`` the changes
    are growth rates (for counts), else differences (for shares and scores).
    """
    values = values.dropna()
    if len(values) < 3 or years_ahead <= 0:
        return None
    level = np.log(np.clip(values.to_numpy(float), 1e-9, None)) if log else values.to_numpy(float)
    changes = np.diff(level)
    spread = max(float(changes.std(ddof=1)), 1e-9)
    centre = level[-1] + changes.mean() * years_ahead
    goal = math.log(max(target, 1e-9)) if log else target
    return float(stats.norm.sf(goal, loc=centre, scale=spread * math.sqrt(years_ahead)))


def goal_cards(goals, *, tables: dict[str, pd.DataFrame], history: pd.DataFrame, forecast, as_of,
               last_month, annual_target: AnnualTarget | None = None,
               plan_months: pd.DatetimeIndex | None = None) -> pd.DataFrame:
    """Check each SMART goal and say what keeps it from being SMART.

    Parameters
    ----------
    goals : planlib.config.Goals
        ``smart`` (the list) and ``min_probability``.
    tables : dict
        The plan's input tables (sales, market, kpis, reps).
    history, forecast
        The plan's panel and ForecastResult (revenue and market share goals read its distribution).
    as_of, last_month : date
    annual_target : AnnualTarget, optional
        For goals whose target is "annual_target".
    plan_months : DatetimeIndex, optional
        The 12 months of the plan year: with them a revenue goal's baseline is last fiscal year's actual plus
        outlook (:func:`planlib.planning.target.last_year_figures`), the "last year" of every page.

    Returns
    -------
    DataFrame
        goal, metric, scope, target, unit, baseline (revenue with ``plan_months``: last fiscal year's actual
        plus outlook; otherwise the last 12 months), deadline, owner, strategy,
        probability, specific, measurable, achievable, relevant, time_bound, owned, smart (bool each),
        problems ("; "-joined, "" when SMART).
    """
    rows = []
    as_of, last_month = pd.Timestamp(as_of), pd.Timestamp(last_month)
    for goal in goals.smart:
        problems = []
        target = goal.target
        if target == "annual_target":
            target = annual_target.target if annual_target is not None else None
        metric = goal.metric
        known = metric in KNOWN_METRICS or metric in set(tables.get("kpis", pd.DataFrame({"metric": []}))["metric"])
        specific = bool(metric) and known and _scope_filter(
            pd.DataFrame(columns=["region", "product"]), goal.scope) is not None
        if not metric:
            problems.append("no metric")
        elif not known:
            problems.append(f"metric {metric!r} is not one the data measures")
        elif not specific:
            problems.append(f"scope {goal.scope!r} is not company, region/<name>, product/<name> or "
                            "region_product/<region>/<product>")
        values = metric_history(metric, goal.scope, tables, history, last_month) if specific else None
        if specific and (values is None or values.empty):
            problems.append(f"the data cannot measure {metric} for {goal.scope}")
        if target is None:
            problems.append("no number")
        measurable = target is not None and values is not None and not values.empty
        time_bound = goal.deadline is not None and pd.Timestamp(goal.deadline) > as_of
        if goal.deadline is None:
            problems.append("no deadline")
        elif not time_bound:
            problems.append(f"deadline {goal.deadline} is not after the plan date {as_of:%Y-%m-%d}")
        probability = None
        if measurable and time_bound:
            probability = _goal_probability(metric, goal.scope, float(target), pd.Timestamp(goal.deadline), values,
                                            forecast, tables, last_month)
        achievable = probability is not None and probability >= goals.min_probability
        if measurable and time_bound and probability is None:
            problems.append("too little history to judge achievability")
        elif probability is not None and not achievable:
            problems.append(f"achievability {probability:.0%} is below the {goals.min_probability:.0%} threshold")
        relevant = bool(goal.strategy)
        if not relevant:
            problems.append("no strategy it serves")
        owned = bool(goal.owner)
        if not owned:
            problems.append("no owner")
        baseline = float(values.iloc[-1]) if values is not None and not values.empty else math.nan
        if metric == "revenue" and specific and plan_months is not None and forecast is not None:
            # revenue's baseline is the plan's one "last year": last fiscal year's actual plus outlook
            outlook = last_year_figures(history, forecast, plan_months, last_month,
                                        unique_id=goal.scope)["last_year_outlook"]
            baseline = outlook if math.isfinite(outlook) else baseline
        rows.append({
            "goal": goal.name, "metric": metric or "", "scope": goal.scope, "target": target, "unit": goal.unit,
            "baseline": baseline,
            "deadline": goal.deadline, "owner": goal.owner or "", "strategy": goal.strategy or "",
            "probability": math.nan if probability is None else probability, "specific": specific,
            "measurable": measurable, "achievable": achievable, "relevant": relevant, "time_bound": time_bound,
            "owned": owned, "smart": not problems, "problems": "; ".join(problems)})
    columns = ["goal", "metric", "scope", "target", "unit", "baseline", "deadline", "owner", "strategy", "probability",
               "specific", "measurable", "achievable", "relevant", "time_bound", "owned", "smart", "problems"]
    return pd.DataFrame(rows, columns=columns)


def _goal_probability(metric, scope, target, deadline, values, forecast, tables, last_month):
    start, end = _window(deadline)
    uid = "company" if scope == "company" else scope
    years_ahead = ((end.year - last_month.year) * 12 + end.month - last_month.month) / 12
    if metric in ("revenue", "market_share") and forecast is not None:
        try:
            dist = forecast.total_distribution(uid, start, end)
        except ForecastError:
            dist = None
        if dist is not None:
            if metric == "revenue":
                return float(dist.sf(target))
            market = _scope_filter(tables["market"], scope)
            size = market.groupby("year")["market_size"].sum()
            if end.year in size.index and size[end.year] > 0:
                return float(dist.sf(target * size[end.year]))
    return trend_probability(values, target, years_ahead, log=metric in ("new_customers", "revenue"))


def goal_card_view(cards: pd.DataFrame, unit: float = 1.0, currency: str = "") -> pd.DataFrame:
    """Return the goal cards for reading: targets formatted by unit, one mark per SMART letter.

    A goal whose unit is the company's ``currency`` (or "currency", or none) is money: shown in ``unit``.

    Returns
    -------
    DataFrame
        Goal, Target, Baseline, Deadline, Owner, Serves, P(attain), S, M, A, R, T, Owner set, SMART,
        What is missing.
    """
    def number(value, unit_text):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        if "share" in unit_text or "%" in unit_text or (abs(value) < 1 and value != 0):
            return f"{value:.1%}"
        if unit_text in (currency, "currency", "") and abs(value) >= 1000:
            return f"{value / unit:,.0f}"
        return f"{value:,.2f}".rstrip("0").rstrip(".")

    mark = {True: "✓", False: "✗"}
    return pd.DataFrame({
        "Goal": cards["goal"], "Target": [number(v, u) for v, u in zip(cards["target"], cards["unit"])],
        "Baseline": [number(v, u) for v, u in zip(cards["baseline"], cards["unit"])], "Unit": cards["unit"],
        "Deadline": cards["deadline"].astype(str).replace("None", ""), "Owner": cards["owner"],
        "Serves": cards["strategy"],
        "P(attain)": [("" if math.isnan(p) else f"{p:.0%}") for p in cards["probability"]],
        **{letter: cards[column].map(mark) for letter, column in
           (("S", "specific"), ("M", "measurable"), ("A", "achievable"), ("R", "relevant"), ("T", "time_bound"))},
        "Owner set": cards["owned"].map(mark), "SMART": cards["smart"].map(mark),
        "What is missing": cards["problems"]})


@stage("goal_cards", needs=("annual_target", "forecast", "history", "inputs"), config=("goals", "as_of", "fiscal"))
def _goal_cards_stage(plan) -> pd.DataFrame:
    cfg = plan.config
    from planlib.planning.allocate import fiscal_months

    return goal_cards(cfg.goals, tables=plan["inputs"].tables, history=plan["history"], forecast=plan["forecast"],
                      as_of=cfg.as_of, last_month=cfg.last_closed_month, annual_target=plan["annual_target"],
                      plan_months=fiscal_months(cfg))
