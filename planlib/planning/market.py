"""Market analysis: trend, growth, seasonality, mix, customer concentration, market share.

Pure functions over the monthly history panel and the deal table; the
``market`` stage gathers them for notebooks/01_market_analysis.ipynb.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planlib.core.graph import stage

__all__ = [
    "MarketAnalysis", "analyse", "company_trend", "competitor_table", "concentration", "concentration_summary",
    "customer_mix", "growth_by", "headlines", "market_share", "mix_by", "seasonal_profile", "share_by_region",
]


def company_trend(history: pd.DataFrame) -> pd.DataFrame:
    """Return the company's monthly revenue with its 12-month rolling sum.

    Returns
    -------
    DataFrame
        ds, revenue, rolling_12m (NaN for the first 11 months).
    """
    company = history.loc[history["level"] == "company", ["ds", "y"]].sort_values("ds")
    out = company.rename(columns={"y": "revenue"}).reset_index(drop=True)
    out["rolling_12m"] = out["revenue"].rolling(12, min_periods=12).sum()
    return out


def growth_by(history: pd.DataFrame, level: str) -> pd.DataFrame:
    """Return revenue by year for one level, with growth on like-for-like months.

    A year that is not complete (the current one) is compared with the same
    months of the year before, so a partial year never shows a false decline.

    Parameters
    ----------
    history : DataFrame
        The long monthly panel (unique_id, ds, y, level, region, product, ...).
    level : {"company", "region", "product", "team"}

    Returns
    -------
    DataFrame
        year, <level column or "entity">, months, revenue, prior_revenue, growth.
    """
    key = {"company": None, "region": "region", "product": "product", "team": "team"}[level]
    rows = history.loc[history["level"] == level].copy()
    rows["year"] = rows["ds"].dt.year
    rows["month"] = rows["ds"].dt.month
    name = key or "entity"
    if key is None:
        rows[name] = "company"
    out = []
    for (entity, year), grp in rows.groupby([name, "year"], sort=True):
        months = sorted(grp["month"].unique())
        prior = rows[(rows[name] == entity) & (rows["year"] == year - 1) & rows["month"].isin(months)]
        prior_revenue = float(prior["y"].sum()) if prior["month"].nunique() == len(months) else np.nan
        revenue = float(grp["y"].sum())
        growth = revenue / prior_revenue - 1 if prior_revenue and prior_revenue > 0 else np.nan
        out.append({"year": int(year), name: entity, "months": len(months), "revenue": revenue,
                    "prior_revenue": prior_revenue, "growth": growth})
    return pd.DataFrame(out)


def seasonal_profile(history: pd.DataFrame, unique_id: str = "company") -> pd.DataFrame:
    """Return the seasonal index by month of year from a robust STL decomposition of log sales.

    The decomposition runs on ``log1p(y)`` so that seasonal swings growing with
    the level are one multiplicative profile; the index is ``exp`` of the
    seasonal component averaged by month, normalised to mean 1.

    With 12 to 23 months (a short history) STL cannot separate a season it has seen once: each month's
    index is then its ``log1p`` sales against a straight-line trend fitted to them (``method``
    "one year against its trend"), which is rough, and the page says so.

    Returns
    -------
    DataFrame
        month (1-12), seasonal_index (1.0 = an average month), share (of a year), method ("STL" or
        "one year against its trend").

    Raises
    ------
    ValueError
        Under 12 months of history: a month of the year has no sale to read.
    """
    from statsmodels.tsa.seasonal import STL

    series = (history.loc[history["unique_id"] == unique_id].set_index("ds")["y"].sort_index()
              .asfreq("MS", fill_value=0.0))
    if len(series) < 12:
        raise ValueError(f"seasonal_profile needs a year of history for {unique_id}, got {len(series)} months")
    logged = np.log1p(series.clip(lower=0))
    if len(series) >= 24:
        seasonal, method = STL(logged, period=12, robust=True).fit().seasonal.to_numpy(), "STL"
    else:
        t = np.arange(len(logged), dtype=float)
        seasonal = logged.to_numpy() - np.polyval(np.polyfit(t, logged.to_numpy(), 1), t)
        method = "one year against its trend"
    by_month = pd.Series(np.exp(seasonal), index=series.index.month).groupby(level=0).mean()
    index = by_month / by_month.mean()
    return pd.DataFrame({"month": index.index.astype(int), "seasonal_index": index.to_numpy(),
                         "share": (index / index.sum()).to_numpy(), "method": method})


def customer_mix(sales: pd.DataFrame) -> pd.DataFrame:
    """Return revenue by year from new and existing customers.

    A customer is new in the calendar year of its first purchase, existing after.

    Returns
    -------
    DataFrame
        year, customer_type ("new" / "existing"), customers, revenue, share.
    """
    deals = sales[["date", "customer_id", "amount"]].copy()
    deals["year"] = deals["date"].dt.year
    first = deals.groupby("customer_id")["year"].transform("min")
    deals["customer_type"] = np.where(deals["year"] == first, "new", "existing")
    out = (deals.groupby(["year", "customer_type"])
           .agg(customers=("customer_id", "nunique"), revenue=("amount", "sum")).reset_index())
    out["share"] = out["revenue"] / out.groupby("year")["revenue"].transform("sum")
    return out


def mix_by(history: pd.DataFrame, level: str) -> pd.DataFrame:
    """Return each region's (or product's) share of revenue by year.

    Returns
    -------
    DataFrame
        year, <level>, revenue, share.
    """
    rows = history.loc[history["level"] == level].copy()
    rows["year"] = rows["ds"].dt.year
    out = rows.groupby(["year", level])["y"].sum().rename("revenue").reset_index()
    out["share"] = out["revenue"] / out.groupby("year")["revenue"].transform("sum")
    return out


def concentration(sales: pd.DataFrame, end: pd.Timestamp, months: int = 12) -> pd.DataFrame:
    """Return the Pareto table of customers over the trailing ``months`` up to ``end``.

    ABC classes: A up to 80% of cumulative revenue, B up to 95%, C the rest.
    Credit notes count against their customer; customers with no positive
    revenue in the window are left out of the curve.

    Returns
    -------
    DataFrame
        rank, customer_id, customer_name, revenue, share, cum_revenue_share,
        customer_rank_share, abc_class; sorted by revenue, largest first.
    """
    end = pd.Timestamp(end)
    start = (end - pd.DateOffset(months=months - 1)).replace(day=1)
    window = sales[(sales["date"] >= start) & (sales["date"] < end + pd.offsets.MonthBegin(1))]
    cols = ["customer_id"] + (["customer_name"] if "customer_name" in window else [])
    per = window.groupby(cols, dropna=False)["amount"].sum().rename("revenue").reset_index()
    if "customer_name" not in per:
        per["customer_name"] = per["customer_id"]
    per = per[per["revenue"] > 0].sort_values(["revenue", "customer_id"], ascending=[False, True])
    per = per.reset_index(drop=True)
    total = per["revenue"].sum()
    per["rank"] = np.arange(1, len(per) + 1)
    per["share"] = per["revenue"] / total
    per["cum_revenue_share"] = per["share"].cumsum()
    per["customer_rank_share"] = per["rank"] / len(per)
    before = per["cum_revenue_share"] - per["share"]
    per["abc_class"] = np.select([before < 0.80, before < 0.95], ["A", "B"], default="C")
    return per[["rank", "customer_id", "customer_name", "revenue", "share", "cum_revenue_share",
                "customer_rank_share", "abc_class"]]


def concentration_summary(pareto: pd.DataFrame) -> dict[str, float]:
    """Return headline concentration figures from a Pareto table.

    Returns
    -------
    dict
        customers, top20_share (revenue share of the top 20% of customers),
        top10_share (of the ten largest), top1_share, hhi (Herfindahl, 0-10,000),
        a_customers (count of class A).
    """
    n = len(pareto)
    top20 = pareto.loc[pareto["rank"] <= int(np.ceil(0.2 * n)), "share"].sum()
    return {
        "customers": int(n),
        "top20_share": float(top20),
        "top10_share": float(pareto["share"].head(10).sum()),
        "top1_share": float(pareto["share"].iloc[0]) if n else 0.0,
        "hhi": float(((pareto["share"] * 100) ** 2).sum()),
        "a_customers": int((pareto["abc_class"] == "A").sum()),
    }


def market_share(market: pd.DataFrame, history: pd.DataFrame, year: int) -> pd.DataFrame:
    """Return market size and our share by region and product for one full year.

    Returns
    -------
    DataFrame
        region, product, market_size, market_growth, revenue, our_share, headroom
        (market_size - revenue).
    """
    ours = history.loc[(history["level"] == "region_product") & (history["ds"].dt.year == year)]
    ours = ours.groupby(["region", "product"])["y"].sum().rename("revenue").reset_index()
    mk = market.loc[market["year"] == year, ["region", "product", "market_size", "market_growth"]]
    out = mk.merge(ours, on=["region", "product"], how="left").fillna({"revenue": 0.0})
    out["our_share"] = out["revenue"] / out["market_size"]
    out["headroom"] = out["market_size"] - out["revenue"]
    return out.sort_values(["region", "product"]).reset_index(drop=True)


def share_by_region(shares: pd.DataFrame) -> pd.DataFrame:
    """Return market size, our revenue and our share summed over products, by region.

    Returns
    -------
    DataFrame
        region, market_size, revenue, our_share.
    """
    out = shares.groupby("region")[["market_size", "revenue"]].sum().reset_index()
    out["our_share"] = out["revenue"] / out["market_size"]
    return out


def competitor_table(competitors: pd.DataFrame, region_shares: pd.DataFrame) -> pd.DataFrame:
    """Return competitors' shares by region beside ours, largest first within each region.

    Returns
    -------
    DataFrame
        region, competitor, share, notes, rank (1 = largest in the region, us included).
    """
    ours = region_shares[["region", "our_share"]].rename(columns={"our_share": "share"})
    ours = ours.assign(competitor="(us)", notes="our revenue / market size, last full year")
    cols = ["region", "competitor", "share", "notes"]
    comp = competitors.copy()
    if "notes" not in comp:
        comp["notes"] = ""
    table = pd.concat([comp[cols], ours[cols]], ignore_index=True)
    table = table.sort_values(["region", "share", "competitor"], ascending=[True, False, True])
    table["rank"] = table.groupby("region").cumcount() + 1
    return table.reset_index(drop=True)


@dataclass
class MarketAnalysis:
    """Everything the market-analysis notebook shows, computed once."""

    last_full_year: int
    trend: pd.DataFrame
    company_growth: pd.DataFrame
    region_growth: pd.DataFrame
    product_growth: pd.DataFrame
    seasonality: pd.DataFrame
    region_mix: pd.DataFrame
    product_mix: pd.DataFrame
    customer_mix: pd.DataFrame
    pareto: pd.DataFrame
    concentration: dict
    market_share: pd.DataFrame | None
    region_share: pd.DataFrame | None
    competitors: pd.DataFrame | None


def analyse(history: pd.DataFrame, sales: pd.DataFrame, market: pd.DataFrame | None = None,
            competitors: pd.DataFrame | None = None) -> MarketAnalysis:
    """Return the whole market analysis for a history panel and its deals."""
    end = history["ds"].max()
    last_full_year = end.year if end.month == 12 else end.year - 1
    pareto = concentration(sales, end)
    shares = region_shares = comp = None
    if market is not None:
        year = last_full_year if (market["year"] == last_full_year).any() else int(market["year"].max())
        shares = market_share(market, history, year)
        region_shares = share_by_region(shares)
        if competitors is not None:
            comp = competitor_table(competitors, region_shares)
    return MarketAnalysis(
        last_full_year=last_full_year,
        trend=company_trend(history),
        company_growth=growth_by(history, "company"),
        region_growth=growth_by(history, "region"),
        product_growth=growth_by(history, "product"),
        seasonality=seasonal_profile(history),
        region_mix=mix_by(history, "region"),
        product_mix=mix_by(history, "product"),
        customer_mix=customer_mix(sales),
        pareto=pareto,
        concentration=concentration_summary(pareto),
        market_share=shares,
        region_share=region_shares,
        competitors=comp,
    )


@stage("market", needs=("history", "inputs"), config=("as_of",))
def _market_stage(plan) -> MarketAnalysis:
    tables = plan["inputs"].tables
    return analyse(plan["history"], tables["sales"], tables.get("market"), tables.get("competitors"))


def headlines(analysis: MarketAnalysis) -> dict:
    """Return the figures the market-analysis narrative quotes, all computed from the analysis.

    Returns
    -------
    dict
        last_full_year, revenue (that year), growth (that year over the one before),
        ytd_year, ytd_months, ytd_growth (current partial year, like for like),
        fastest_region / fastest_region_growth, slowest_region / slowest_region_growth,
        fastest_product / fastest_product_growth, slowest_product / slowest_product_growth
        (the latest year with a growth figure; None and NaN when no year has one), peak_month / peak_index, trough_month /
        trough_index (seasonal index), new_customer_share (last full year), and the
        concentration summary keys.
    """
    year = analysis.last_full_year
    company = analysis.company_growth.set_index("year")
    latest = int(company.index.max())
    out = {
        "last_full_year": year,
        "revenue": float(company.loc[year, "revenue"]),
        "growth": float(company.loc[year, "growth"]),
        "ytd_year": latest,
        "ytd_months": int(company.loc[latest, "months"]),
        "ytd_growth": float(company.loc[latest, "growth"]),
    }
    for level, table in (("region", analysis.region_growth), ("product", analysis.product_growth)):
        if not table["growth"].notna().any():  # under two years of history: no year has one before it
            out.update({f"fastest_{level}": None, f"fastest_{level}_growth": np.nan, f"slowest_{level}": None,
                        f"slowest_{level}_growth": np.nan, f"growth_year_{level}": None})
            continue
        recent = table[table["year"] == table.loc[table["growth"].notna(), "year"].max()]
        recent = recent.sort_values(["growth", level], ascending=[False, True])
        out[f"fastest_{level}"] = recent.iloc[0][level]
        out[f"fastest_{level}_growth"] = float(recent.iloc[0]["growth"])
        out[f"slowest_{level}"] = recent.iloc[-1][level]
        out[f"slowest_{level}_growth"] = float(recent.iloc[-1]["growth"])
        out[f"growth_year_{level}"] = int(recent.iloc[0]["year"])
    season = analysis.seasonality.set_index("month")["seasonal_index"]
    out.update(peak_month=int(season.idxmax()), peak_index=float(season.max()),
               trough_month=int(season.idxmin()), trough_index=float(season.min()))
    mix = analysis.customer_mix
    new = mix[(mix["year"] == year) & (mix["customer_type"] == "new")]["share"]
    out["new_customer_share"] = float(new.iloc[0]) if len(new) else 0.0
    out.update(analysis.concentration)
    return out
