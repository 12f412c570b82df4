"""The weights the allocation splits by, built from the plan's data.

Who is there when (hire and exit dates, FTE, and the ramp of new reps: the same ramp the
capacity module plans with), run rates, the blend of split methods, product mixes and time profiles.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planlib.data.checks import discontinued
from planlib.planning.productivity import NEW_REP_MONTHS, RampEstimate, explicit_ramp, plan_ramp
from planlib.core.errors import AllocationError, DataError

__all__ = ["AllocationInputs", "allocation_inputs", "blend", "product_mix", "rep_availability", "rep_productivity"]


@dataclass
class AllocationInputs:
    """Everything the engine splits by: names, weights, product seeds and time seeds.

    Arrays are in the order of the name lists. Weights need not be normalised.

    Attributes
    ----------
    regions, teams, reps, products : list of str
    team_region : array of int, region index of each team
    rep_team : array of int, team index of each rep
    pieces : DataFrame from :func:`planlib.calendar.pieces` (piece, month, quarter, year, week, ...)
    region_weight, team_weight, rep_weight : arrays of the annual split within the parent
    product_weight : (k,) company product split
    region_product_seed, team_product_seed, rep_product_seed : (r, k), (t, k), (m, k) product mix seeds
    company_profile : (n,) the company's time profile over pieces
    product_profile : (k, n) each product's time profile
    region_product_profile : (r, k, n) each region x product's time profile
    rep_availability : (m, n) share of each piece a rep is there and ramped (FTE x ramp x employed)
    notes : where a method or profile fell back
    method_values : level ("region", "team", "rep", "product") -> method -> raw values, for what-ifs
    rep_info : the roster of the plan year with capacity_months (FTE-months, ramp included), presence,
        run_rate (sales per FTE-month), trailing_sales, employed_months (ramped months behind run_rate),
        ramping (planned along the ramp of new reps), ramp_months (months of tenure left out of run rates)
    ramp : the ramp of new reps the weights were built with (see :func:`plan_ramp`)
    """

    regions: list[str]
    teams: list[str]
    reps: list[str]
    products: list[str]
    team_region: np.ndarray
    rep_team: np.ndarray
    pieces: pd.DataFrame
    region_weight: np.ndarray
    team_weight: np.ndarray
    rep_weight: np.ndarray
    product_weight: np.ndarray
    region_product_seed: np.ndarray
    team_product_seed: np.ndarray
    rep_product_seed: np.ndarray
    company_profile: np.ndarray
    product_profile: np.ndarray
    region_product_profile: np.ndarray
    rep_availability: np.ndarray
    notes: list[str] = field(default_factory=list)
    method_values: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    rep_info: pd.DataFrame | None = None
    ramp: RampEstimate | None = None

# --------------------------------------------------------------------------- the ramp of new reps
def _sold_pairs(history: pd.DataFrame, regions: list[str], products: list[str]) -> np.ndarray:
    """Return a regions x products mask: True where the region has any sale of the product in the history."""
    rows = history[(history["level"] == "region_product") & (history["y"] != 0)]
    sold = set(zip(rows["region"], rows["product"]))
    return np.array([[(r, p) in sold for p in products] for r in regions], dtype=bool)


def _ramp_months(ramp, roster: pd.DataFrame) -> int:
    if isinstance(ramp, RampEstimate):
        return int(ramp.ramp_months)
    if ramp is not None:
        return len(ramp)
    if "ramp_months" in roster:
        return int(roster["ramp_months"].max())
    raise AllocationError("rep_productivity needs the ramp: give ramp= (a list or a RampEstimate) or a roster "
                          "with a ramp_months column (as AllocationInputs.rep_info has)")


# --------------------------------------------------------------------------- reps: availability and run rates
def rep_availability(roster: pd.DataFrame, days: pd.DataFrame, ramp, *, ramped=None) -> np.ndarray:
    """Return each rep's availability per plan day: FTE x ramp factor while employed, 0 otherwise.

    Parameters
    ----------
    roster : DataFrame
        rep_id, hire_date, exit_date (NaT = active), fte.
    days : DataFrame
        From :func:`planlib.calendar.plan_days` (date).
    ramp : RampEstimate or list of float
        The share of full productivity in each calendar month of employment, the hire month
        being the 1st: a RampEstimate (its ``factor``, level included), or a list for months
        1, 2, ... with 1 from then on.
    ramped : array of bool, optional
        Reps planned as ramped whatever their tenure (a run rate of their own since the ramp,
        or hired too long ago): FTE while employed.

    Returns
    -------
    ndarray, shape (reps, days)
        Nothing before the hire date or after the exit date.
    """
    ramp = ramp if isinstance(ramp, RampEstimate) else explicit_ramp(ramp)
    dates = days["date"].to_numpy("datetime64[D]")
    hire = pd.to_datetime(roster["hire_date"]).to_numpy("datetime64[D]")
    exit_ = pd.to_datetime(roster["exit_date"]).to_numpy("datetime64[D]")
    employed = (dates[None, :] >= hire[:, None]) & ~(dates[None, :] > exit_[:, None])
    day_month = days["date"].dt.year.to_numpy() * 12 + days["date"].dt.month.to_numpy()
    hire_ts = pd.to_datetime(roster["hire_date"])
    hire_month = (hire_ts.dt.year * 12 + hire_ts.dt.month).to_numpy()
    tenure = day_month[None, :] - hire_month[:, None] + 1  # 1 in the hire month
    ramp_factor = ramp.factor(tenure)
    if ramped is not None:
        ramp_factor = np.where(np.asarray(ramped, dtype=bool)[:, None], 1.0, ramp_factor)
    fte = roster["fte"].fillna(1.0).to_numpy(float)
    return employed * ramp_factor * fte[:, None]


def rep_productivity(history: pd.DataFrame, roster: pd.DataFrame, last_month, *, ramp=None,
                     months: int = 24, min_months: int = 6) -> pd.DataFrame:
    """Return each rep's monthly sales per FTE over fully ramped months (mean, sd, months used).

    A month counts once the rep is past the ramp's months (as capacity counts run rates). A rep
    with fewer than ``min_months`` such months takes the pooled months of their team's other
    reps (basis "team peers"): a new hire is judged like a typical colleague.

    Parameters
    ----------
    history : DataFrame
        The monthly panel (rows of level "rep": rep_id, ds, y).
    roster : DataFrame
        rep_id, team, hire_date, exit_date, fte; with ``ramp`` None also ramp_months.
    last_month : Timestamp
        The last closed month.
    ramp : RampEstimate or list of float, optional
        Its ``ramp_months`` (or the list's length) months of tenure are left out; None: the
        roster's ramp_months column (as in :attr:`AllocationInputs.rep_info`).
    months : int, default 24
        Length of the window ending at ``last_month``.
    min_months : int, default 6

    Returns
    -------
    DataFrame
        rep_id, mean, sd, months, basis ("own history" or "team peers").

    Raises
    ------
    AllocationError
        If ``ramp`` is None and the roster has no ramp_months column.
    """
    last_month = pd.Timestamp(last_month)
    window = pd.date_range(last_month - pd.DateOffset(months=months - 1), last_month, freq="MS")
    rep_rows = history[history["level"] == "rep"].pivot_table(index="rep_id", columns="ds", values="y", aggfunc="sum")
    sales = rep_rows.reindex(index=roster["rep_id"], columns=window).fillna(0.0).to_numpy()
    on_days = pd.DataFrame({"date": window + pd.offsets.MonthEnd(0)})
    ramp_months = _ramp_months(ramp, roster)
    employed = rep_availability(roster.assign(fte=1.0), on_days, [0.0] * ramp_months) > 0  # ramped months only
    fte = roster["fte"].fillna(1.0).to_numpy(float)[:, None]
    per_fte = np.where(employed, sales / fte, np.nan)
    count = employed.sum(axis=1)
    own_mean = np.nanmean(np.where(count[:, None] > 0, per_fte, 0.0), axis=1)
    own_sd = np.array([np.nanstd(row, ddof=1) if n > 1 else np.nan for row, n in zip(per_fte, count)])
    basis = np.where(count >= min_months, "own history", "team peers")
    mean, sd = own_mean.copy(), own_sd.copy()
    teams = roster["team"].to_numpy()
    for i in np.flatnonzero(count < min_months):
        peers = (teams == teams[i]) & (count >= min_months)
        pool = per_fte[peers if peers.any() else count >= min_months]
        pool = pool[~np.isnan(pool)]
        mean[i] = pool.mean() if pool.size else 0.0
        sd[i] = pool.std(ddof=1) if pool.size > 1 else 0.0
    return pd.DataFrame({"rep_id": roster["rep_id"].to_numpy(), "mean": mean, "sd": np.nan_to_num(sd),
                         "months": np.where(count >= min_months, count, 0), "basis": basis})


def _uid(level: str, *keys: str) -> str:
    return "company" if level == "company" else "/".join([level, *keys])


def _normalise_within(values: np.ndarray, parents: np.ndarray, n_parents: int) -> tuple[np.ndarray, np.ndarray]:
    total = np.bincount(parents, weights=values, minlength=n_parents)
    share = np.divide(values, total[parents], out=np.zeros_like(values), where=total[parents] > 0)
    return share, total > 0


def blend(method_values: dict[str, np.ndarray], method_weights: dict[str, float], parents=None,
          n_parents: int = 1) -> np.ndarray:
    """Blend split methods: each method's shares within a parent, weighted by the config's weights.

    A method with nothing to say for a parent (all its values zero there, e.g. no history
    for a new team) is left out for that parent and the other weights are scaled up.

    Parameters
    ----------
    method_values : dict
        Method name -> non-negative values, one per child.
    method_weights : dict
        Method name -> weight (need not add to 1).
    parents : array of int, optional
        Parent of each child; default one parent.

    Returns
    -------
    ndarray
        Each child's share of its parent (adding to 1 within each parent with any value).
    """
    size = len(next(iter(method_values.values())))
    parents = np.zeros(size, dtype=np.int64) if parents is None else np.asarray(parents)
    total = np.zeros(size)
    weight_used = np.zeros(n_parents)
    for method, weight in method_weights.items():
        if weight <= 0:
            continue
        share, has = _normalise_within(np.clip(np.asarray(method_values[method], float), 0, None), parents, n_parents)
        total += weight * share
        weight_used += weight * has
    return np.divide(total, weight_used[parents], out=np.zeros(size), where=weight_used[parents] > 0)


def _month_weights(uid: str, method: str, forecasts: pd.DataFrame, history: pd.DataFrame, fy_months,
                   start_month: int, years: int, days: pd.DataFrame) -> pd.Series | None:
    """Weights of months 1-12 for one series, or None when the data has none for it."""
    if method == "equal":
        return pd.Series(1.0, index=range(1, 13))
    if method == "working_days":
        per = days.drop_duplicates("calendar_month").groupby("month_of_year")["month_working_days"].mean()
        return per.reindex(range(1, 13), fill_value=per.mean()).astype(float)
    if method == "seasonal":
        rows = forecasts[(forecasts["unique_id"] == uid) & forecasts["ds"].isin(fy_months)]
        weights = rows.groupby(rows["ds"].dt.month)["yhat"].sum().clip(lower=0)
    else:
        rows = history[history["unique_id"] == uid]
        fiscal_year = rows["ds"].dt.year + (rows["ds"].dt.month >= start_month).astype(int) * (start_month > 1)
        complete = rows.groupby(fiscal_year)["ds"].transform("size") == 12
        plan_fy = fy_months[-1].year
        rows = rows[complete & (fiscal_year < plan_fy) & (fiscal_year >= plan_fy - years)]
        fy = fiscal_year[rows.index]
        year_total = rows.groupby(fy)["y"].transform("sum")
        share = (rows["y"] / year_total.where(year_total > 0)).clip(lower=0)
        weights = share.groupby(rows["ds"].dt.month).mean()
    weights = weights.reindex(range(1, 13)).fillna(0.0)
    return weights if weights.sum() > 0 else None


def _plan_year_totals(forecasts: pd.DataFrame, fy_months) -> pd.Series:
    rows = forecasts[forecasts["ds"].isin(fy_months)]
    return rows.groupby("unique_id")["yhat"].sum().clip(lower=0)


def _trailing(history: pd.DataFrame, last_month: pd.Timestamp, months: int = 12) -> pd.Series:
    start = last_month - pd.DateOffset(months=months - 1)
    rows = history[history["ds"].between(start, last_month)]
    return rows.groupby("unique_id")["y"].sum()


def _market_sizes(market: pd.DataFrame | None, year: int) -> pd.DataFrame | None:
    """Market size of each region x product in ``year`` (grown from the latest year if not given)."""
    if market is None or market.empty:
        return None
    latest = market[market["year"] <= year].sort_values("year").groupby(["region", "product"]).tail(1)
    growth = latest["market_growth"].fillna(0.0) if "market_growth" in latest else 0.0
    size = latest["market_size"] * (1 + growth) ** (year - latest["year"])
    return latest.assign(market_size=size)[["region", "product", "market_size"]]


def product_mix(sales: pd.DataFrame | None, keys: pd.Series, products: list[str], last_month: pd.Timestamp,
                months: int = 12) -> pd.DataFrame:
    """Return each entity's share of trailing sales by product (rows add to 1; no sales: all 0).

    Parameters
    ----------
    sales : DataFrame
        date, amount, rep_id, product.
    keys : Series
        rep_id -> the entity to group by (the rep itself, or its team).

    Returns
    -------
    DataFrame
        Index the entities, columns the products.
    """
    entities = sorted(set(keys.to_numpy()))
    if sales is None or sales.empty:
        return pd.DataFrame(0.0, index=entities, columns=products)
    end = last_month + pd.offsets.MonthEnd(0)
    start = last_month - pd.DateOffset(months=months - 1)
    rows = sales[(sales["date"] >= start) & (sales["date"] <= end)]
    rows = rows.assign(entity=rows["rep_id"].map(keys)).dropna(subset=["entity"])
    table = rows.pivot_table(index="entity", columns="product", values="amount", aggfunc="sum", fill_value=0.0)
    table = table.reindex(index=entities, columns=products, fill_value=0.0).clip(lower=0)
    total = table.sum(axis=1)
    return table.div(total.where(total > 0), axis=0).fillna(0.0)


def allocation_inputs(*, roster: pd.DataFrame, history: pd.DataFrame, forecasts: pd.DataFrame, days: pd.DataFrame,
                      fiscal_months, last_month, start_month: int = 1, allocation=None,
                      sales: pd.DataFrame | None = None, market: pd.DataFrame | None = None, ramp=None,
                      capacity=None) -> AllocationInputs:
    """Build the engine's weights from the roster, history, forecast and market.

    A rep hired within :data:`NEW_REP_MONTHS` (18) months before the plan year without six
    months of their own past the ramp is planned along the ramp of new reps: availability, and
    so capacity, FTE-months and the run rate (their team peers') times that capacity, carry its
    factor month by month, as the capacity module expects of them. Every other rep is ramped.

    Methods (blended with ``allocation.methods``) at each level:

    ============  =====================  ===================  ===============================
    method        region                 team (in region)     rep (in team)
    ============  =====================  ===================  ===============================
    equal         1 each                 1 each               1 per head x presence x ramp
    historical    trailing 12 months     trailing 12 months   run rate x plan-year capacity
    forecast      plan-year forecast     = historical         = historical (no rep forecast)
    market        plan-year market size  = capacity           = capacity (no territory data)
    capacity      sum of rep capacity    sum of rep capacity  FTE x ramp x months employed
    ============  =====================  ===================  ===============================

    Parameters
    ----------
    roster : DataFrame
        rep_id, team, region, hire_date, exit_date, fte (reps not there in the plan year are left out).
    history : DataFrame
        The plan's monthly panel (unique_id, ds, y, level, ...).
    forecasts : DataFrame
        unique_id, ds, yhat for company, region, product, region_product.
    days : DataFrame
        From :func:`planlib.calendar.plan_days`.
    fiscal_months : sequence of Timestamp
        The 12 month starts of the plan year.
    last_month : Timestamp
        The last closed month of history.
    allocation : planlib.config.Allocation
    sales, market : DataFrame, optional
        For product mixes of teams and reps, and market sizes.
    ramp : RampEstimate or list of float, optional
        The ramp of new reps; default :func:`plan_ramp` (``allocation.ramp``, else capacity's).
    capacity : planlib.config.Capacity, optional
        The capacity settings :func:`plan_ramp` reads when ``allocation.ramp`` is null.

    Returns
    -------
    AllocationInputs
        With ``notes`` saying where a method fell back.

    Raises
    ------
    AllocationError
        If no rep is in the plan year or no product is known.
    DataError
        If the ramp is taken from capacity and capacity cannot estimate it.
    """
    from planlib.core.calendar import piece_weights, pieces as piece_table
    from planlib.core.config import Allocation

    allocation = allocation or Allocation()
    notes: list[str] = []
    fiscal_months = pd.DatetimeIndex(fiscal_months)
    last_month = pd.Timestamp(last_month)
    working = days["working"].to_numpy()
    present = (rep_availability(roster, days, []) * working).sum(axis=1) > 0
    if not present.any():
        raise AllocationError("no rep on the roster works in the plan year (check hire_date and exit_date)")
    if ramp is None:  # from the whole roster: reps who have left since also show how new reps ramp
        ramp = plan_ramp(allocation, history=history, roster=roster, capacity=capacity, months=fiscal_months,
                         as_of=last_month + pd.offsets.MonthEnd(0))
    elif not isinstance(ramp, RampEstimate):
        ramp = explicit_ramp(ramp)
    roster = roster[present].sort_values(["region", "team", "rep_id"]).reset_index(drop=True)
    # What has not sold for allocation.discontinued_months gets no target: its reps, products and pairs leave.
    gone = discontinued(history, allocation.discontinued_months)
    gone_regions = set(gone.loc[gone["level"] == "region", "region"])
    if gone_regions:
        if roster["region"].isin(gone_regions).all():
            raise AllocationError(f"every region with reps in the plan year is discontinued (no sale in the last "
                                  f"{allocation.discontinued_months} months): {sorted(gone_regions)}; raise "
                                  f"allocation.discontinued_months or check the sales")
        for region in sorted(gone_regions & set(roster["region"])):
            idle = roster.loc[roster["region"] == region, "rep_id"]
            notes.append(f"discontinued: region {region} has no sale in the last {allocation.discontinued_months} "
                         f"months: no target, and {'its rep' if len(idle) == 1 else f'its {len(idle)} reps'} on the "
                         f"roster get{'s' if len(idle) == 1 else ''} none")
        roster = roster[~roster["region"].isin(gone_regions)].reset_index(drop=True)
    # A rep's run rate per FTE-month over the trailing year's months past the ramp; reps with under
    # 6 such months take their team's pooled rate, so a new hire is planned like a typical colleague
    # (times the ramp below, which is what capacity expects of a new rep).
    productivity = rep_productivity(history, roster, last_month, ramp=ramp, months=12)
    recent = pd.to_datetime(roster["hire_date"]) > fiscal_months[0] - pd.DateOffset(months=NEW_REP_MONTHS)
    ramping = (productivity["basis"].to_numpy() == "team peers") & recent.to_numpy()
    daily = rep_availability(roster, days, ramp, ramped=~ramping) * working
    pcs = piece_table(days)
    piece_days = np.maximum(pcs["working_days"].to_numpy(float), 1)
    availability = np.stack([np.bincount(days["piece"], weights=row, minlength=len(pcs)) for row in daily]) / piece_days
    total_working = max(int(working.sum()), 1)
    capacity = daily.sum(axis=1) / total_working * 12  # FTE-months in the plan year
    headcount = (rep_availability(roster.assign(fte=1.0), days, ramp, ramped=~ramping)
                 * working).sum(axis=1) / total_working

    regions = sorted(roster["region"].unique())
    teams = sorted(roster["team"].unique())
    team_region_name = roster.drop_duplicates("team").set_index("team")["region"]
    team_region = np.array([regions.index(team_region_name[t]) for t in teams])
    rep_team = np.array([teams.index(t) for t in roster["team"]])
    products = sorted(history.loc[history["level"] == "product", "product"].dropna().unique())
    gone_products = set(gone.loc[gone["level"] == "product", "product"])
    for product in sorted(gone_products):
        notes.append(f"discontinued: product {product} has no sale in the last {allocation.discontinued_months} "
                     f"months: no target")
    products = [p for p in products if p not in gone_products]
    if not products:
        raise AllocationError("the history has no product series with a sale in the last "
                              f"{allocation.discontinued_months} months: products cannot be split")

    trailing = _trailing(history, last_month)
    planned = _plan_year_totals(forecasts, fiscal_months)
    sizes = _market_sizes(market, fiscal_months[-1].year)
    methods = dict(allocation.methods)
    if "market" in methods and sizes is None:
        notes.append("market: no market table, so the market method uses capacity instead")

    def lookup(series, ids, fallback=None):
        values = series.reindex(ids).to_numpy(float)
        if fallback is not None:
            values = np.where(np.isnan(values), fallback, values)
        return np.nan_to_num(values)

    region_capacity = np.bincount(team_region[rep_team], weights=capacity, minlength=len(regions))
    team_capacity = np.bincount(rep_team, weights=capacity, minlength=len(teams))
    region_hist = lookup(trailing, [_uid("region", r) for r in regions])
    region_market = (sizes.groupby("region")["market_size"].sum().reindex(regions).fillna(0).to_numpy()
                     if sizes is not None else region_capacity)
    method_values = {"region": {"equal": np.ones(len(regions)), "historical": region_hist,
                                "forecast": lookup(planned, [_uid("region", r) for r in regions], region_hist),
                                "market": region_market, "capacity": region_capacity}}
    region_weight = blend(method_values["region"], methods)
    team_hist = lookup(trailing, [_uid("team", t) for t in teams])
    method_values["team"] = {"equal": np.ones(len(teams)), "historical": team_hist, "forecast": team_hist,
                             "market": team_capacity, "capacity": team_capacity}
    team_weight = blend(method_values["team"], methods, team_region, len(regions))

    rep_sales = lookup(trailing, [_uid("rep", r) for r in roster["rep_id"]])
    run_rate = productivity["mean"].to_numpy(float)
    employed_months = productivity["months"].to_numpy(float)
    rep_hist = run_rate * capacity
    method_values["rep"] = {"equal": headcount, "historical": rep_hist, "forecast": rep_hist,
                            "market": capacity, "capacity": capacity}
    rep_weight = blend(method_values["rep"], methods, rep_team, len(teams))

    product_hist = lookup(trailing, [_uid("product", p) for p in products])
    product_market = (sizes.groupby("product")["market_size"].sum().reindex(products).fillna(0).to_numpy()
                      if sizes is not None else product_hist)
    method_values["product"] = {"equal": np.ones(len(products)), "historical": product_hist,
                                "forecast": lookup(planned, [_uid("product", p) for p in products], product_hist),
                                "market": product_market, "capacity": product_hist}
    product_weight = blend(method_values["product"], methods)
    rp_ids = [_uid("region_product", r, p) for r in regions for p in products]
    rp_hist = lookup(trailing, rp_ids).reshape(len(regions), len(products))
    rp_market = (sizes.set_index(["region", "product"])["market_size"]
                 .reindex(pd.MultiIndex.from_product([regions, products])).fillna(0).to_numpy()
                 .reshape(len(regions), len(products)) if sizes is not None else rp_hist)
    mix = product_hist / product_hist.sum() if product_hist.sum() > 0 else np.ones(len(products)) / len(products)
    rp_seed = blend({"equal": np.ones(rp_hist.size), "historical": rp_hist.ravel(),
                     "forecast": lookup(planned, rp_ids, rp_hist.ravel()),
                     "market": rp_market.ravel(), "capacity": np.outer(region_capacity, mix).ravel()},
                    methods).reshape(len(regions), len(products))
    # A product gets a share only in the regions that have sold it: the capacity and equal methods would
    # otherwise give a region a share of a product it never sold (a new product, say), and rounding can
    # land a target on it. A region with no product history at all keeps the blended mix.
    sold = _sold_pairs(history, regions, products)
    for r in gone[gone["level"] == "region_product"].itertuples():
        if r.region in regions and r.product in products:
            sold[regions.index(r.region), products.index(r.product)] = False
            notes.append(f"discontinued: {r.product} has no sale in {r.region} in the last "
                         f"{allocation.discontinued_months} months: no target there")
    rp_seed = np.where(sold.any(axis=1, keepdims=True), rp_seed * sold, rp_seed)
    region_mix = rp_seed / np.maximum(rp_seed.sum(axis=1, keepdims=True), 1e-300)
    shrink = allocation.product_mix_shrinkage
    team_own = product_mix(sales, roster.set_index("rep_id")["team"], products, last_month).reindex(teams).to_numpy()
    team_mix = np.where(team_own.sum(axis=1, keepdims=True) > 0, (1 - shrink) * team_own + shrink *
                        region_mix[team_region], region_mix[team_region])
    rep_own = product_mix(sales, pd.Series(roster["rep_id"].to_numpy(), index=roster["rep_id"]), products,
                          last_month).reindex(roster["rep_id"]).to_numpy()
    rep_mix = np.where(rep_own.sum(axis=1, keepdims=True) > 0, (1 - shrink) * rep_own + shrink *
                       team_mix[rep_team], team_mix[rep_team])

    def profile(uid, fallback):
        weights = _month_weights(uid, allocation.time, forecasts, history, fiscal_months, start_month,
                                 allocation.history_years, days)
        if weights is None:
            if fallback is None:
                raise AllocationError(f"no {allocation.time} month weights for {uid}: the data has none")
            notes.append(f"time: {uid} has no {allocation.time} month weights; its parent's are used")
            return fallback
        return piece_weights(days, weights)

    company_profile = profile("company", None)
    product_profile = np.stack([profile(_uid("product", p), company_profile) for p in products])
    # A piece that no product with a target is forecast to sell in (a discontinued one's forecast, say) gets no
    # company target: no product could carry it, and the split would stop the plan.
    carried = product_profile.sum(axis=0) > 0
    if not carried.all() and (company_profile[~carried] > 0).any():
        weeks = list(dict.fromkeys(pcs["week"].to_numpy()[~carried & (company_profile > 0)]))
        notes.append(f"time: no product with a target is forecast to sell in {', '.join(weeks[:5])}"
                     f"{' and more' if len(weeks) > 5 else ''}: no target there")
        company_profile = np.where(carried, company_profile, 0.0)
    rp_profile = np.stack([np.stack([profile(_uid("region_product", r, p), product_profile[j])
                                     for j, p in enumerate(products)]) for r in regions])
    info = roster.assign(capacity_months=capacity, presence=headcount, run_rate=run_rate,
                         trailing_sales=rep_sales, employed_months=employed_months, ramping=ramping,
                         ramp_months=int(ramp.ramp_months))
    result = AllocationInputs(
        regions=regions, teams=teams, reps=list(roster["rep_id"]), products=products, team_region=team_region,
        rep_team=rep_team, pieces=pcs, region_weight=region_weight, team_weight=team_weight,
        rep_weight=rep_weight, product_weight=product_weight, region_product_seed=rp_seed,
        team_product_seed=team_mix, rep_product_seed=rep_mix, company_profile=company_profile,
        product_profile=product_profile, region_product_profile=rp_profile, rep_availability=availability,
        notes=notes, method_values=method_values, rep_info=info, ramp=ramp)
    return result

