"""Concentration and coverage: how much revenue hangs on a few customers and reps, and pipeline coverage.

Pure functions on deals and pipeline, the flags against the thresholds sales
leaders use, and the ``concentration`` stage.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planlib.core.graph import stage
from planlib.risk.plan_year import _trailing

__all__ = ["ConcentrationResult", "concentration", "concentration_flags", "pipeline_coverage"]


# --------------------------------------------------------------------------- concentration and coverage
def _hhi(amounts: pd.Series) -> float:
    total = amounts.sum()
    return float(((amounts / total) ** 2).sum()) if total > 0 else np.nan


def concentration(sales: pd.DataFrame, *, top_reps: int = 3) -> dict[str, pd.DataFrame]:
    """Measure how much revenue hangs on a few customers and a few reps.

    Parameters
    ----------
    sales : DataFrame
        Deals of the window to measure: amount, customer_id, rep_id, region; customer_name if known.
    top_reps : int, default 3

    Returns
    -------
    dict of DataFrame
        ``customers``: the top 10 customers (rank, customer_id, customer_name, revenue, share,
        cumulative_share); ``by_region``: region, revenue, customers, top_customer_share,
        top10_share, hhi (Herfindahl of customer shares), and a "Total" row; ``reps``:
        rep_id, revenue, share, cumulative_share, sorted; ``summary``: metric, value.
    """
    net = sales.groupby("customer_id")["amount"].sum().clip(lower=0).sort_values(ascending=False, kind="stable")
    total = float(net.sum())
    top = net.head(10)
    names = (sales.drop_duplicates("customer_id").set_index("customer_id")["customer_name"]
             if "customer_name" in sales else pd.Series(dtype=str))
    customers = pd.DataFrame({"rank": np.arange(1, len(top) + 1), "customer_id": top.index,
                              "customer_name": names.reindex(top.index).fillna("").to_numpy(),
                              "revenue": top.to_numpy(), "share": top.to_numpy() / total})
    customers["cumulative_share"] = customers["share"].cumsum()
    regions = []
    for region, part in [*sales.groupby("region"), ("Total", sales)]:
        by_cust = part.groupby("customer_id")["amount"].sum().clip(lower=0).sort_values(ascending=False)
        rev = float(by_cust.sum())
        regions.append({"region": region, "revenue": rev, "customers": int((by_cust > 0).sum()),
                        "top_customer_share": by_cust.iloc[0] / rev if rev > 0 else np.nan,
                        "top10_share": by_cust.head(10).sum() / rev if rev > 0 else np.nan,
                        "hhi": _hhi(by_cust)})
    by_rep = sales.groupby("rep_id")["amount"].sum().clip(lower=0).sort_values(ascending=False, kind="stable")
    reps = pd.DataFrame({"rep_id": by_rep.index, "revenue": by_rep.to_numpy(), "share": by_rep.to_numpy() / total})
    reps["cumulative_share"] = reps["share"].cumsum()
    reps_for_half = int(np.searchsorted(reps["cumulative_share"].to_numpy(), 0.5) + 1)
    summary = pd.DataFrame([
        ("top_customer_share", float(customers["share"].iloc[0]) if len(customers) else np.nan),
        ("top10_share", float(top.sum() / total) if total > 0 else np.nan),
        ("customer_hhi", _hhi(net)),
        ("customers", float((net > 0).sum())),
        (f"top{top_reps}_reps_share", float(reps["share"].head(top_reps).sum())),
        ("reps_for_half_of_revenue", float(reps_for_half)),
        ("rep_hhi", _hhi(by_rep)),
        ("reps", float(len(reps))),
    ], columns=["metric", "value"])
    return {"customers": customers, "by_region": pd.DataFrame(regions), "reps": reps, "summary": summary}


def pipeline_coverage(pipeline: pd.DataFrame, *, remaining_target: pd.Series, region_of: pd.Series,
                      start, end, exclude_stages: Iterable[str] = ()) -> pd.DataFrame:
    """Compare the open pipeline closing in the plan year with the target still to win.

    Parameters
    ----------
    pipeline : DataFrame
        opportunity_id, rep_id, stage, amount, expected_close, probability.
    remaining_target : Series
        By region: annual target less what is already booked in the plan year.
    region_of : Series
        rep_id -> region.
    start, end : Timestamp
        The plan year (expected_close inclusive).
    exclude_stages : iterable of str
        Stages that are not open (won, lost).

    Returns
    -------
    DataFrame
        region (and "Total"), opportunities, open_pipeline, weighted_pipeline, remaining_target,
        coverage (open / remaining), weighted_coverage (weighted / remaining).
    """
    close = pd.to_datetime(pipeline["expected_close"])
    live = pipeline[(close >= pd.Timestamp(start)) & (close <= pd.Timestamp(end))
                    & ~pipeline["stage"].isin(list(exclude_stages))].copy()
    live["region"] = live["rep_id"].map(region_of).fillna("(unknown rep)")
    live["weighted"] = live["amount"] * live["probability"]
    agg = live.groupby("region").agg(opportunities=("amount", "size"), open_pipeline=("amount", "sum"),
                                     weighted_pipeline=("weighted", "sum"))
    regions = sorted(set(remaining_target.index) | set(agg.index))
    out = agg.reindex(regions).fillna(0.0)
    out["remaining_target"] = remaining_target.reindex(regions).fillna(0.0)
    out.loc["Total"] = out.sum()
    out["opportunities"] = out["opportunities"].astype(int)
    rem = out["remaining_target"].where(out["remaining_target"] > 0)
    out["coverage"] = out["open_pipeline"] / rem
    out["weighted_coverage"] = out["weighted_pipeline"] / rem
    return out.rename_axis("region").reset_index()


def concentration_flags(result: Mapping[str, pd.DataFrame], coverage: pd.DataFrame, settings) -> pd.DataFrame:
    """Compare concentration and coverage with the thresholds sales leaders use.

    Parameters
    ----------
    result : mapping
        From :func:`concentration`.
    coverage : DataFrame
        From :func:`pipeline_coverage`; with a ``horizon`` column, the first horizon is checked
        (the rule of thumb is about the quarter ahead).
    settings : planlib.config.Risk
        top_customer_warn, top10_warn, hhi_warn, top_reps, top_reps_warn, coverage_weighted_min,
        coverage_unweighted_min.

    Returns
    -------
    DataFrame
        check, value, threshold, rule (the threshold in words), status ("ok" or "watch").
    """
    summary = result["summary"].set_index("metric")["value"]
    first = coverage[coverage["horizon"] == coverage["horizon"].iloc[0]] if "horizon" in coverage else coverage
    total = first.set_index("region").loc["Total"]
    horizon = f" ({first['horizon'].iloc[0]})" if "horizon" in first else ""
    checks = [
        ("largest customer's share of revenue", summary["top_customer_share"], settings.top_customer_warn,
         "above", f"one customer above {settings.top_customer_warn:.0%} of revenue is a single point of failure"),
        ("top-10 customers' share of revenue", summary["top10_share"], settings.top10_warn, "above",
         f"ten customers above {settings.top10_warn:.0%} of revenue make the year hang on a few negotiations"),
        ("customer Herfindahl index (company)", summary["customer_hhi"], settings.hhi_warn, "above",
         "HHI 0.15-0.25 is moderately, above 0.25 highly concentrated (the US merger guidelines' bands)"),
        (f"top {settings.top_reps} reps' share of revenue", summary[f"top{settings.top_reps}_reps_share"],
         settings.top_reps_warn, "above",
         f"the top {settings.top_reps} reps carrying over {settings.top_reps_warn:.0%} means losing one hurts"),
        (f"weighted pipeline / remaining target{horizon}", total["weighted_coverage"],
         settings.coverage_weighted_min, "below",
         f"probability-weighted pipeline should cover at least {settings.coverage_weighted_min:g}x what is left"),
        (f"open pipeline / remaining target{horizon}", total["coverage"], settings.coverage_unweighted_min, "below",
         f"the rule of thumb is {settings.coverage_unweighted_min:g}x unweighted pipeline for the quota ahead"),
    ]
    regions = result["by_region"].set_index("region")
    for region, hhi in regions["hhi"].items():
        if region != "Total":
            checks.append((f"customer Herfindahl index, {region}", hhi, settings.hhi_warn, "above",
                           "HHI above the moderate band within a region"))
    rows = []
    for check, value, threshold, side, rule in checks:
        bad = value > threshold if side == "above" else value < threshold
        rows.append({"check": check, "value": float(value), "threshold": float(threshold), "rule": rule,
                     "status": "watch" if bad else "ok"})
    return pd.DataFrame(rows)


@dataclass
class ConcentrationResult:
    """Customer and rep concentration of the trailing window, pipeline coverage and the flags."""

    customers: pd.DataFrame
    by_region: pd.DataFrame
    reps: pd.DataFrame
    summary: pd.DataFrame
    coverage: pd.DataFrame
    flags: pd.DataFrame
    window: tuple


@stage("concentration", needs=("inputs", "history", "targets", "risk_model"), config=("risk", "fiscal", "as_of"))
def _concentration_stage(plan) -> ConcentrationResult:
    from planlib.core.calendar import fiscal_month_starts
    from planlib.resources.capacity import region_month_targets

    cfg, settings, model = plan.config, plan.config.risk, plan["risk_model"]
    tables = plan["inputs"].tables
    window = _trailing(tables["sales"], cfg.as_of, settings.concentration_months)
    region_of = tables["reps"].set_index("rep_id")["region"]
    if "region" not in window or window["region"].isna().any():
        window = window.assign(region=window["rep_id"].map(region_of))
    result = concentration(window, top_reps=settings.top_reps)
    pipeline = tables.get("pipeline")
    if pipeline is None:
        pipeline = pd.DataFrame(columns=["opportunity_id", "rep_id", "stage", "amount", "expected_close",
                                         "probability"])
    month_targets = region_month_targets(plan["targets"], cfg.fiscal.start_month)
    expected_by_region = model.plan_year.expected.groupby(model.plan_year.reps["region"]).sum()
    hist = plan["history"]
    parts = []
    # the 3x rule is about the period ahead: the first quarter; the plan year is shown beside it
    # the deals expected to close inside the horizon's own days: a week-based period ends on a Sunday, not a month end
    periods = fiscal_month_starts(cfg.fiscal.year, cfg.fiscal.start_month, cfg.fiscal.calendar)
    for horizon, months in (("first quarter", model.plan_year.months[:3]), ("plan year", model.plan_year.months)):
        region_target = month_targets[month_targets["month"].isin(months)].groupby("region")["target"].sum()
        if not region_target.sum() > 0:  # no regional targets: the company target split like the forecast
            share = expected_by_region[months].sum(axis=1) / model.plan_year.expected.to_numpy().sum()
            region_target = model.annual_target * share
        # sales already booked in the plan year count against the target when the plan is re-run mid-year
        booked = hist[(hist["level"] == "region") & hist["ds"].isin(months)].groupby("region")["y"].sum()
        remaining = (region_target - booked.reindex(region_target.index).fillna(0.0)).clip(lower=0)
        span = periods[periods["month"].isin(months)]
        part = pipeline_coverage(pipeline, remaining_target=remaining, region_of=region_of,
                                 start=span["start"].min(), end=span["end"].max(),
                                 exclude_stages=settings.open_stages_exclude)
        parts.append(part.assign(horizon=horizon))
    coverage = pd.concat(parts, ignore_index=True)
    flags = concentration_flags(result, coverage, settings)
    span = (window["date"].min(), window["date"].max()) if len(window) else (None, None)
    return ConcentrationResult(result["customers"], result["by_region"], result["reps"], result["summary"], coverage,
                               flags, span)
