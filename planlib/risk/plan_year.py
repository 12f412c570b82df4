"""The plan year of the risk model: what each rep is expected to sell each month, and the shared model.

The company forecast is split over the reps in proportion to their capacity
(:mod:`planlib.capacity`: ramp, exits, attrition), so the simulation expects of a
new hire what the capacity plan does; the ``risk_model`` stage bundles it with the
shock model, rep noise, targets and pipeline that every simulation shares.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planlib.risk.montecarlo import calibrate_shock_scale
from planlib.core.graph import stage
from planlib.risk.simulate import ShockModel, estimate_rep_noise, estimate_shock_model

__all__ = ["PlanYear", "RiskModel", "build_plan_year"]


# --------------------------------------------------------------------------- the plan year
@dataclass
class PlanYear:
    """What each rep is expected to sell in each plan month, and who they are.

    Attributes
    ----------
    months : DatetimeIndex
        The plan months.
    expected : DataFrame
        Index rep_id, one column per month: expected sales (the forecast split over reps).
    reps : DataFrame
        Index rep_id: region, team, hire_date.
    product_mix : DataFrame
        Index rep_id, one column per product: share of the rep's expected sales.
    customer_share : DataFrame
        rep_id, customer_id, share: a customer's share of the rep's sales in the trailing window, one row
        per rep and customer they sold to (long: a grid of every rep by every customer would be mostly zeros,
        and gigabytes for a large company).
    notes : list of str
        Forecast that no rep could carry, and other soft problems.
    """

    months: pd.DatetimeIndex
    expected: pd.DataFrame
    reps: pd.DataFrame
    product_mix: pd.DataFrame
    customer_share: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _trailing(sales: pd.DataFrame, as_of, months: int) -> pd.DataFrame:
    end = pd.Timestamp(as_of).to_period("M").to_timestamp()  # first day of the as_of month: excluded
    start = end - pd.DateOffset(months=months)
    return sales[(sales["date"] >= start) & (sales["date"] < end)]


def _fit_products(seed: np.ndarray, rep_totals: np.ndarray, product_totals: np.ndarray,
                  iterations: int = 200, tol: float = 1e-10) -> np.ndarray:
    """Return reps x products x months sales whose rep and product totals match, closest to ``seed``'s mix.

    Iterative proportional fitting (RAS) month by month: the rows are what capacity says
    each rep sells, the columns what the forecast says each product sells, and the seed
    (reps x products, every cell positive) is how each rep's sales have split by product.
    The last step fits the rows, so rep totals are exact; product totals are exact when
    the two can be met together (they always can with a positive seed).
    """
    def ratio(total: np.ndarray, fitted: np.ndarray) -> np.ndarray:
        return total / np.where(fitted > 0, fitted, 1.0)

    col = np.ones_like(product_totals)  # products x months
    for _ in range(iterations):
        row = ratio(rep_totals, seed @ col)  # reps x months
        col = ratio(product_totals, seed.T @ row)
        if np.allclose(row * (seed @ col), rep_totals, rtol=tol, atol=tol * max(rep_totals.max(initial=0), 1.0)):
            break
    row = ratio(rep_totals, seed @ col)
    return row[:, None, :] * seed[:, :, None] * col[None, :, :]


def build_plan_year(forecast_rp: pd.DataFrame, sales: pd.DataFrame, reps: pd.DataFrame, months: pd.DatetimeIndex,
                    *, as_of, capacity: pd.DataFrame | None = None, rep_targets: pd.DataFrame | None = None,
                    window_months: int = 12, cap_at_capacity: bool = False) -> PlanYear:
    """Split the region x product forecast of the plan year over the reps who will be there.

    Each region's forecast of a month goes to its reps in proportion to their capacity
    that month (:func:`planlib.capacity.capacity_by_month`: fte, productivity, season,
    ramp, exit dates and expected attrition), so a rep hired last month is expected to
    sell what the capacity plan expects of them, and the region's (and company's)
    forecast total is kept. Without ``capacity`` the weights are the reps' trailing
    ``window_months`` of sales, tilted month by month towards ``rep_targets`` if given.
    Within a rep, the products follow the rep's trailing product mix (the region's
    mix for a rep without sales), fitted so each product's forecast is kept too.

    Parameters
    ----------
    forecast_rp : DataFrame
        region, product, ds (month start), yhat for the plan months.
    sales : DataFrame
        Deals: date, amount, rep_id, customer_id, product.
    reps : DataFrame
        The roster: rep_id, region, team, hire_date, exit_date.
    months : DatetimeIndex
        The plan months.
    as_of : date
        Deals before the month of as_of are the trailing window.
    capacity : DataFrame, optional
        rep_id, month, capacity (expected sales), as ``CapacityResult.by_rep``. A rep of the
        roster missing from it has no capacity.
    rep_targets : DataFrame, optional
        rep_id, month, target; used only without ``capacity``.
    window_months : int, default 12
    cap_at_capacity : bool, default False
        With ``capacity``: a region whose plan-year forecast is above its reps' capacity is expected to
        sell its capacity (the forecast's months and products scaled down by capacity / forecast), since
        people who are not there cannot sell; a region with room keeps its forecast. A note says so.

    Returns
    -------
    PlanYear
    """
    months = pd.DatetimeIndex(months)
    roster = reps.copy()
    exit_date = pd.to_datetime(roster["exit_date"]) if "exit_date" in roster else pd.Series(pd.NaT, index=roster.index)
    hire = pd.to_datetime(roster["hire_date"]) if "hire_date" in roster else pd.Series(pd.NaT, index=roster.index)
    stays = (exit_date.isna() | (exit_date >= months[0])) & (hire.isna() | (hire <= months[-1] + pd.offsets.MonthEnd()))
    roster = roster[stays.to_numpy()].assign(hire_date=hire[stays.to_numpy()]).set_index("rep_id").sort_index()
    recent = _trailing(sales, as_of, window_months)
    recent = recent[recent["rep_id"].isin(roster.index)]
    rep_product = recent.groupby(["rep_id", "product"])["amount"].sum().clip(lower=0).unstack(fill_value=0.0)
    products = sorted(set(forecast_rp["product"]))
    rep_product = rep_product.reindex(index=roster.index, columns=products, fill_value=0.0)
    region_of = roster["region"]
    if capacity is not None:
        weight = (capacity.pivot_table(index="rep_id", columns="month", values="capacity", aggfunc="sum")
                  .reindex(index=roster.index, columns=months).fillna(0.0).clip(lower=0))
    else:
        weight = pd.DataFrame(np.outer(rep_product.sum(axis=1), np.ones(len(months))), index=roster.index,
                              columns=months)
        if rep_targets is not None and len(rep_targets):
            target_w = (rep_targets.pivot_table(index="rep_id", columns="month", values="target", aggfunc="sum")
                        .reindex(index=roster.index, columns=months).fillna(0.0).clip(lower=0))
            tilted = weight * target_w
            has = tilted.groupby(region_of).transform("sum") > 0
            weight = weight.where(~has, tilted)
    fc = forecast_rp.pivot_table(index=["region", "product"], columns="ds", values="yhat", aggfunc="sum")
    fc = fc.reindex(columns=months).fillna(0.0).clip(lower=0)
    expected = pd.DataFrame(0.0, index=roster.index, columns=months)
    by_product = np.zeros((len(roster), len(products), len(months)))
    notes = []
    for region, rows in fc.groupby(level="region"):
        members = region_of.index[region_of == region]
        region_fc = rows.droplevel("region").reindex(products).fillna(0.0).to_numpy()  # products x months
        if len(members) == 0:
            notes.append(f"no rep in {region}: its forecast ({region_fc.sum():,.0f}) is left out of the simulation")
            continue
        w = weight.loc[members].to_numpy(dtype=float, copy=True)
        empty = w.sum(axis=0) <= 0
        if empty.any():  # nobody with capacity (or sales) that month: its forecast goes to the region's reps equally
            w[:, empty] = 1.0
            if capacity is not None and region_fc[:, empty].sum() > 0:
                notes.append(f"{region}: no rep capacity in {', '.join(months[empty].strftime('%Y-%m'))}; "
                             "its forecast there is split equally over the region's reps")
        if cap_at_capacity and capacity is not None:
            supply, demand = float(weight.loc[members].to_numpy().sum()), float(region_fc.sum())
            if 0 < supply < demand:
                notes.append(f"{region}: the forecast is {demand / supply - 1:.1%} above what its reps and planned "
                             "hires can sell; they are expected to sell their capacity")
                region_fc = region_fc * (supply / demand)
        rep_totals = w / w.sum(axis=0, keepdims=True) * region_fc.sum(axis=0)[None, :]
        own = rep_product.loc[members].to_numpy(dtype=float, copy=True)
        region_mix = own.sum(axis=0) + region_fc.sum(axis=1)  # trailing sales and the forecast: no product at 0
        if not region_mix.sum() > 0:
            region_mix = np.ones(len(products))
        region_mix = region_mix / region_mix.sum()
        sold = own.sum(axis=1, keepdims=True)
        mix = np.where(sold > 0, own / np.where(sold > 0, sold, 1.0), region_mix[None, :])
        seed = mix + 0.01 * region_mix[None, :]  # positive: a rep can sell a product they have not sold lately
        split = _fit_products(seed, rep_totals, region_fc)
        positions = roster.index.get_indexer(members)
        by_product[positions] = split
        expected.loc[members] = split.sum(axis=1)
    for region in sorted(set(region_of) - set(fc.index.get_level_values("region"))):
        notes.append(f"no forecast for {region}: its reps are expected to sell nothing in the simulation")
    annual = expected.sum(axis=1)
    mix = pd.DataFrame(by_product.sum(axis=2), index=roster.index, columns=products)
    region_mix = mix.groupby(region_of).sum()
    region_mix = region_mix.div(region_mix.sum(axis=1).where(lambda s: s > 0, 1.0), axis=0)
    mix = mix.div(annual.where(annual > 0, 1.0), axis=0)
    idle = annual <= 0
    if idle.any():
        mix.loc[idle] = region_mix.reindex(region_of[idle]).fillna(1 / len(products)).to_numpy()
    rep_total = recent.groupby("rep_id")["amount"].sum()
    cust = recent.groupby(["rep_id", "customer_id"])["amount"].sum().clip(lower=0)
    rep_of = cust.index.get_level_values("rep_id")
    divisor = rep_total.where(rep_total > 0, np.inf).reindex(rep_of).to_numpy()  # a rep who sold nothing: shares 0
    customer_share = pd.DataFrame({"rep_id": rep_of, "customer_id": cust.index.get_level_values("customer_id"),
                                   "share": cust.to_numpy() / divisor})
    cols = [c for c in ("region", "team", "hire_date") if c in roster.columns]
    return PlanYear(months, expected, roster[cols], mix, customer_share, notes)


@dataclass
class RiskModel:
    """Everything the simulations share: the plan year, shock model, rep noise, company target and scale.

    No rep target: the simulation splits sales by capacity, and whatever judges targets takes them from the
    ``targets`` stage (the incentive cost, the scenarios' payout, the fairness and commit odds).
    """

    plan_year: PlanYear
    shocks: ShockModel
    rep_sd: pd.Series
    shock_scale: float
    annual_target: float
    forecast_total: object
    growth_base: float
    pipeline_weighted: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _open_pipeline(pipeline: pd.DataFrame, settings) -> pd.DataFrame:
    return pipeline[~pipeline["stage"].isin(settings.open_stages_exclude)]


@stage("risk_model", needs=("inputs", "history", "forecast", "annual_target", "capacity", "planned_hires"),
       config=("risk", "fiscal", "as_of", "seed", "capacity"))
def _risk_model_stage(plan) -> RiskModel:
    """The one model of the plan year behind P(attainment): forecast, capacity with the hires, and the risks.

    Demand is the forecast by region, product and month; supply is the capacity of the roster and of
    the planned hires (their ramp from the start month, attrition and exits): a region whose forecast
    is above its capacity is expected to sell its capacity (:func:`build_plan_year` with
    ``cap_at_capacity``). Around that expectation the simulated years spread as the forecast's
    calibrated plan-year total does (``calibrate_to_forecast``), and the register's risks are drawn on top
    (:mod:`planlib.risk.montecarlo`).

    It reads no rep, team or region target (only the company's annual target, to measure attainment):
    the reps' shares are their capacity, so the same simulated years can judge the targets, the commits
    and the negotiation that set them (:mod:`planlib.planning.odds`) without a circle in the stage graph.
    """
    from planlib.core.calendar import plan_months
    from planlib.resources.hiring import roster_with_hires

    cfg, settings = plan.config, plan.config.risk
    tables = plan["inputs"].tables
    months = plan_months(cfg.fiscal.year, cfg.fiscal.start_month)
    fc = plan["forecast"].forecasts
    rp = fc[fc["unique_id"].str.startswith("region_product/") & fc["ds"].isin(months)].copy()
    parts = rp["unique_id"].str.split("/", n=2, expand=True)
    rp["region"], rp["product"] = parts[1], parts[2]
    # capacity carries ramp, exits and attrition: the simulation expects of each rep what the capacity plan does
    hires = plan["planned_hires"]
    capacity = pd.concat([plan["capacity"].by_rep, hires.by_month], ignore_index=True)
    year = build_plan_year(rp, tables["sales"], roster_with_hires(tables["reps"], hires), months, as_of=cfg.as_of,
                           capacity=capacity, cap_at_capacity=True)
    level = settings.shock_level
    shocks = estimate_shock_model(plan["history"], level)
    rep_sd = estimate_rep_noise(plan["history"]).reindex(year.expected.index)
    rep_sd = rep_sd.fillna(float(rep_sd.median()) if rep_sd.notna().any() else 0.3)
    mix = year.product_mix if level == "region_product" else None
    forecast_total = plan["forecast"].total_distribution("company", months[0], months[-1])
    scale = 1.0
    if settings.calibrate_to_forecast:
        scale = calibrate_shock_scale(year.expected, region_of=year.reps["region"], shocks=shocks, rep_sd=rep_sd,
                                      target_sd=float(forecast_total.std()), seed=cfg.seed, product_mix=mix)
    hist = plan["history"]
    company = hist[hist["level"] == "company"].sort_values("ds")
    trailing = float(company["y"].tail(12).sum())
    growth_base = float(year.expected.to_numpy().sum() / trailing - 1) if trailing > 0 else 0.0
    pipe = _open_pipeline(tables.get("pipeline", pd.DataFrame(columns=["stage"])), settings)
    if len(pipe):
        pipe = pipe.assign(month=pd.to_datetime(pipe["expected_close"]).dt.to_period("M").dt.to_timestamp(),
                           weighted=pipe["amount"] * pipe["probability"])
        weighted = pipe.pivot_table(index="rep_id", columns="month", values="weighted", aggfunc="sum")
    else:
        weighted = pd.DataFrame()
    weighted = weighted.reindex(index=year.expected.index, columns=months).fillna(0.0)
    return RiskModel(year, shocks, rep_sd, scale, float(plan["annual_target"].target), forecast_total,
                     growth_base, weighted, list(year.notes) + list(shocks.notes))
