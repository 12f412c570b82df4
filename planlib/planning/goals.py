"""Goal setting: the annual target from the forecast, SMART goal cards, and the fairness of rep targets.

Every target carries its probability of attainment read from the forecast distribution
(or, for goals the forecast does not cover, from the trend of the metric's own history).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from planlib.planning.allocate import (AllocationResult, blend, build_allocation, fiscal_months, largest_remainder,
                       rep_productivity)
from planlib.core.errors import ConfigError, ForecastError
from planlib.core.graph import stage

MODES = ("growth", "quantile", "stretch", "top_down")
KNOWN_METRICS = ("revenue", "new_customers", "market_share", "retention", "satisfaction")


# --------------------------------------------------------------------------- the annual target
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


def last_year_figures(history: pd.DataFrame, forecast, months: pd.DatetimeIndex, last_month) -> dict[str, float]:
    """Return last fiscal year's actual, outlook (actual + forecast of open months) and trailing 12 months.

    Parameters
    ----------
    history : DataFrame
        The plan's monthly panel (unique_id "company").
    forecast : ForecastResult
    months : DatetimeIndex
        The 12 month starts of the plan year.
    last_month : Timestamp
        The last closed month.

    Returns
    -------
    dict
        last_year_actual, last_year_outlook, trailing_12m.
    """
    company = history[history["unique_id"] == "company"].set_index("ds")["y"]
    last_month = pd.Timestamp(last_month)
    last_year = months - pd.DateOffset(years=1)
    actual = float(company.reindex(last_year[last_year <= last_month]).fillna(0).sum())
    open_months = last_year[last_year > last_month]
    rows = forecast.forecasts[(forecast.forecasts["unique_id"] == "company") & forecast.forecasts["ds"].isin(open_months)]
    outlook = actual + float(rows["yhat"].sum())
    trailing = float(company[(company.index > last_month - pd.DateOffset(years=1)) & (company.index <= last_month)].sum())
    if company.index.min() > last_year[0]:
        outlook = math.nan  # last year is not fully in the history: no honest growth base
    return {"last_year_actual": actual, "last_year_outlook": outlook, "trailing_12m": trailing}


def annual_target_for(plan, goals=None) -> AnnualTarget:
    """Return the annual target of ``plan`` under ``goals`` (default the plan's own goals section)."""
    cfg = plan.config
    goals = goals or cfg.goals
    months = fiscal_months(cfg)
    dist = plan.forecast.total_distribution("company", months[0], months[-1])
    figures = last_year_figures(plan.history, plan.forecast, months, cfg.last_closed_month)
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
                                         "top_down": top_down or cfg.goals.top_down or plan.annual_target.target})
    target = annual_target_for(plan, goals)
    given = {"equal": equal, "historical": historical, "forecast": forecast, "market": market, "capacity": capacity}
    methods = {k: float(w) for k, w in given.items() if w is not None}
    if not methods or sum(methods.values()) <= 0:
        methods = dict(cfg.allocation.methods)
    inputs = plan.allocation.inputs
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
                      unique_id: str = "company", months_back: int = 24) -> pd.DataFrame:
    """Return actuals, forecast bands and month targets of one series for a fan chart.

    Parameters
    ----------
    history : DataFrame
        unique_id, ds, y.
    forecasts : DataFrame
        unique_id, ds, yhat, lo_80, hi_80, lo_95, hi_95.
    targets : DataFrame, optional
        The targets table; month targets of the matching level and entity are joined (monthly
        calendars only: a 4-4-5 period is not a calendar month).
    unique_id : str, default "company"
        "company" or "region/<name>".
    months_back : int, default 24
        Months of history shown.

    Returns
    -------
    DataFrame
        ds, actual, yhat, lo_80, hi_80, lo_95, hi_95, target.
    """
    bands = ["yhat", "lo_80", "hi_80", "lo_95", "hi_95"]
    actual = history[history["unique_id"] == unique_id][["ds", "y"]].rename(columns={"y": "actual"})
    actual = actual[actual["ds"] > actual["ds"].max() - pd.DateOffset(months=months_back)]
    fc = forecasts[forecasts["unique_id"] == unique_id][["ds", *[c for c in bands if c in forecasts]]]
    frame = actual.merge(fc, on="ds", how="outer").sort_values("ds").reset_index(drop=True)
    for column in bands:
        if column not in frame:
            frame[column] = np.nan
    frame["target"] = np.nan
    if targets is not None:
        level, entity = ("company", "company") if unique_id == "company" else unique_id.split("/")[:2]
        rows = targets[(targets["level"] == level) & (targets["entity"] == entity) & (targets["product"] == "All")
                       & (targets["period_type"] == "month")]
        by_month = pd.Series(rows["target"].to_numpy(float),
                             index=pd.to_datetime(rows["period"], format="%Y-%m", errors="coerce"))
        frame["target"] = frame["ds"].map(by_month[by_month.index.notna()])
    return frame[["ds", "actual", *bands, "target"]]


# --------------------------------------------------------------------------- SMART goals
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
               last_month, annual_target: AnnualTarget | None = None) -> pd.DataFrame:
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

    Returns
    -------
    DataFrame
        goal, metric, scope, target, unit, baseline (the last 12 months), deadline, owner, strategy,
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
        rows.append({
            "goal": goal.name, "metric": metric or "", "scope": goal.scope, "target": target, "unit": goal.unit,
            "baseline": float(values.iloc[-1]) if values is not None and not values.empty else math.nan,
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


def goal_card_view(cards: pd.DataFrame, unit: float = 1.0) -> pd.DataFrame:
    """Return the goal cards for reading: targets formatted by unit, one mark per SMART letter.

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
        if unit_text in ("CNY", "currency", "") and abs(value) >= 1000:
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


@stage("goal_cards", needs=("annual_target", "forecast", "history", "inputs"), config=("goals", "as_of"))
def _goal_cards_stage(plan) -> pd.DataFrame:
    cfg = plan.config
    return goal_cards(cfg.goals, tables=plan.inputs.tables, history=plan.history, forecast=plan.forecast,
                      as_of=cfg.as_of, last_month=cfg.last_closed_month, annual_target=plan.annual_target)


# --------------------------------------------------------------------------- fairness
@dataclass(frozen=True)
class Fairness:
    """Fairness of rep targets: one row per rep, a summary, and the targets that look unfair.

    Attributes
    ----------
    reps : DataFrame
        rep_id, name, team, region, target, potential (expected plan-year sales), sd, ratio
        (target / potential), probability (P(attainment)), basis ("own history" or "team peers").
    summary : dict
        reps, share_below_low, share_above_high, gini (of target / potential), median_probability,
        low, high.
    unfair : DataFrame
        rep_id, name, team, target, potential, probability, reason.
    """

    reps: pd.DataFrame
    summary: dict
    unfair: pd.DataFrame


def gini(values) -> float:
    """Return the Gini coefficient of non-negative ``values`` (0 = all equal).

    >>> round(gini([1, 1, 1, 1]), 3), round(gini([0, 0, 0, 4]), 3)
    (0.0, 0.75)
    """
    x = np.sort(np.asarray(values, dtype=float))
    if len(x) == 0 or x.sum() <= 0:
        return 0.0
    n = len(x)
    return float((2 * np.sum(np.arange(1, n + 1) * x)) / (n * x.sum()) - (n + 1) / n)


def fairness(allocation: AllocationResult, productivity: pd.DataFrame, *, growth: float = 0.0,
             low: float = 0.30, high: float = 0.85) -> Fairness:
    """Judge each rep's target against what their history and ramp make likely.

    A rep's plan-year sales are modelled as Normal: mean = productivity per FTE-month x
    (1 + growth) x the rep's FTE-months in the plan year (ramp and hire/exit dates included);
    variance = month-to-month variance x FTE-months plus the uncertainty of the mean itself.

    Parameters
    ----------
    allocation : AllocationResult
        Its inputs' ``rep_info`` gives capacity_months.
    productivity : DataFrame
        From :func:`rep_productivity` (rep_id, mean, sd, months, basis).
    growth : float, default 0.0
        Market growth expected by the forecast (company plan-year mean / trailing 12 months - 1).
    low, high : float
        P(attainment) below ``low`` looks unfair; above ``high`` looks soft.

    Returns
    -------
    Fairness
    """
    ins = allocation.inputs
    info = ins.rep_info.set_index("rep_id").reindex(ins.reps)
    prod = productivity.set_index("rep_id").reindex(ins.reps)
    target = allocation.tables["rep"].sum(axis=(1, 2)) * allocation.unit
    capacity = info["capacity_months"].to_numpy(float)  # FTE-months
    mean = prod["mean"].to_numpy(float) * (1 + growth)
    sd_month = prod["sd"].to_numpy(float) * (1 + growth)
    n_months = np.maximum(prod["months"].to_numpy(float), 1)
    potential = mean * capacity
    sd = np.sqrt(sd_month ** 2 * capacity + (sd_month ** 2 / n_months) * capacity ** 2)
    sd = np.maximum(sd, 1e-9 * np.maximum(np.abs(potential), 1))
    probability = stats.norm.sf(target, loc=potential, scale=sd)
    ratio = np.divide(target, potential, out=np.full(len(target), np.nan), where=potential > 0)
    reps = pd.DataFrame({
        "rep_id": ins.reps, "name": info["name"].to_numpy() if "name" in info else ins.reps,
        "team": info["team"].to_numpy(), "region": info["region"].to_numpy(), "target": target,
        "potential": potential, "sd": sd, "ratio": ratio, "probability": probability,
        "basis": prod["basis"].to_numpy()})
    median_ratio = float(np.nanmedian(ratio)) if np.isfinite(ratio).any() else math.nan
    reasons = []
    for row in reps.itertuples():
        why = []
        if row.probability < low:
            why.append(f"P(attainment) {row.probability:.0%} < {low:.0%}: target {row.ratio - 1:+.0%} against potential")
        if row.probability > high:
            why.append(f"P(attainment) {row.probability:.0%} > {high:.0%}: soft target ({row.ratio - 1:+.0%} "
                       "against potential)")
        if np.isfinite(row.ratio) and median_ratio > 0 and not 0.8 <= row.ratio / median_ratio <= 1.25:
            why.append(f"asked {row.ratio / median_ratio:.2f}x the typical stretch of colleagues")
        if row.basis == "team peers" and why:
            why.append("judged on team peers (little own history)")
        reasons.append("; ".join(why))
    reps["reason"] = reasons
    unfair = reps.loc[reps["reason"] != "", ["rep_id", "name", "team", "target", "potential", "probability",
                                              "reason"]].reset_index(drop=True)
    summary = {"reps": len(reps), "share_below_low": float((probability < low).mean()),
               "share_above_high": float((probability > high).mean()),
               "gini": gini(ratio[np.isfinite(ratio)]), "median_probability": float(np.median(probability)),
               "low": low, "high": high}
    return Fairness(reps.drop(columns="reason"), summary, unfair)


@stage("fairness", needs=("allocation", "annual_target", "history", "inputs"), config=("allocation", "as_of"))
def _fairness_stage(plan) -> Fairness:
    cfg = plan.config
    allocation = plan.allocation
    roster = allocation.inputs.rep_info
    productivity = rep_productivity(plan.history, roster, cfg.last_closed_month, ramp=cfg.allocation.ramp)
    target = plan.annual_target
    growth = target.forecast_mean / target.trailing_12m - 1 if target.trailing_12m > 0 else 0.0
    return fairness(allocation, productivity, growth=growth, low=cfg.allocation.fairness_low,
                    high=cfg.allocation.fairness_high)


__all__ = ["AnnualTarget", "Fairness", "MODES", "annual_target_for", "attainment_curve", "monthly_fan_table",
           "what_if_for",
           "goal_card_view", "build_allocation", "fairness", "gini",
           "goal_cards", "last_year_figures", "metric_history", "rep_productivity", "set_annual_target",
           "trend_probability", "verdict_of", "what_if"]
