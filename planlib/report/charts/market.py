"""Charts of the market analysis: trend, growth, seasonality, mix, customer concentration, market share.

Each takes a table from ``planlib.market`` (columns in each docstring) and a
title that says what to see; money is shown in the display unit.
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from planlib.report.charts import (AXIS_MONEY, PALETTE, WIDTH, category_axis, field, label_format, make_title, require_columns,
               stacked_share, with_unit)
from planlib.core.errors import DataError

# Fixed month names: the locale of the machine must not change the chart's bytes.
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
ABC_COLORS = {"A": "#1f5f8b", "B": "#e07b39", "C": "#8c8c8c"}


def trend(frame: pd.DataFrame, *, title: str, subtitle: str | None = None, unit: float = 1.0,
          unit_label: str = "") -> alt.LayerChart:
    """Return monthly revenue (bars, left axis) with its 12-month rolling sum (line, right axis).

    Parameters
    ----------
    frame : DataFrame
        ds (month start), revenue, rolling_12m (NaN for the first 11 months), as from
        ``planlib.market.company_trend``.
    title : str
        What to see, e.g. "Trailing-12-month revenue rose 14% in two years".
    unit, unit_label : float, str
        Display unit of money.

    Returns
    -------
    alt.LayerChart

    Raises
    ------
    DataError
        If a column is missing.
    """
    require_columns(frame, ["ds", "revenue", "rolling_12m"], "market trend chart")
    shown = frame[["ds", "revenue", "rolling_12m"]].copy()
    shown["ds"] = pd.to_datetime(shown["ds"])
    shown[["revenue", "rolling_12m"]] = shown[["revenue", "rolling_12m"]].astype(float) / unit
    base = alt.Chart(shown, title=make_title(title, subtitle)).properties(width=WIDTH)
    x = alt.X("ds:T", title=None, axis=alt.Axis(format="%Y-%m"))
    monthly = base.mark_bar(color="#9ec3dd", opacity=0.9).encode(
        x=x, y=alt.Y("revenue:Q", title=with_unit("Monthly revenue (bars)", unit_label),
                      axis=alt.Axis(format=AXIS_MONEY, titleColor="#5b8db5")))
    rolling = base.transform_filter("isValid(datum.rolling_12m)").mark_line(color=PALETTE[0], strokeWidth=2.5).encode(
        x=x, y=alt.Y("rolling_12m:Q", title=with_unit("Rolling 12-month revenue (line)", unit_label),
                     axis=alt.Axis(format=AXIS_MONEY, titleColor=PALETTE[0], orient="right")))
    # two magnitudes (a month, a year) need two axes; the axis titles name which is which
    return alt.layer(monthly, rolling).resolve_scale(y="independent")


def growth(frame: pd.DataFrame, by: str, *, title: str, subtitle: str | None = None,
           years: list[int] | None = None) -> alt.LayerChart:
    """Return year-on-year growth per region (or product) as grouped bars, one colour per year.

    A year with fewer than 12 months is labelled e.g. "2026 (Jan-Oct)": its growth
    compares the same months of the year before.

    Parameters
    ----------
    frame : DataFrame
        year, ``by`` (e.g. region or product), growth (fraction, 0.1 = +10%), and optionally
        months (months of the year counted), as from ``planlib.market.growth_by``.
    by : str
        The column naming the entity.
    years : list of int, optional
        Years to show; default all years with a growth figure.

    Returns
    -------
    alt.LayerChart
        Bars with percentage labels.

    Raises
    ------
    DataError
        If a column is missing or no year has a growth figure.
    """
    require_columns(frame, ["year", by, "growth"], "growth chart")
    rows = frame.loc[frame["growth"].notna()].copy()
    if years is not None:
        rows = rows.loc[rows["year"].isin(years)]
    if rows.empty:
        raise DataError(f"growth chart: no growth figures to show for years {years or 'any'} "
                        "(growth needs the same months of the year before)")
    months = rows["months"] if "months" in rows else pd.Series(12, index=rows.index)
    rows["period"] = [f"{int(y)}" if int(m) >= 12 else f"{int(y)} (Jan-{MONTH_NAMES[int(m) - 1]})"
                      for y, m in zip(rows["year"], months)]
    rows = rows.sort_values(["year", by], kind="stable")
    entities = list(pd.unique(rows[by]))
    periods = list(pd.unique(rows["period"]))
    base = alt.Chart(rows, title=make_title(title, subtitle)).properties(width=WIDTH)
    enc = dict(
        x=alt.X(field=field(by), type="nominal", sort=entities, title=None, axis=category_axis(len(entities))),
        xOffset=alt.XOffset("period:N", sort=periods),
        y=alt.Y("growth:Q", title="Growth on the year before", axis=alt.Axis(format=".0%")),
    )
    bars_ = base.mark_bar().encode(color=alt.Color("period:N", sort=periods, title="Year"), **enc)
    text = alt.Text("growth:Q", format="+.1%")
    # above a rising bar, below a falling one
    up = base.transform_filter("datum.growth >= 0").mark_text(fontSize=10, color="#333", baseline="bottom",
                                                             dy=-2).encode(text=text, **enc)
    down = base.transform_filter("datum.growth < 0").mark_text(fontSize=10, color="#333", baseline="top",
                                                              dy=2).encode(text=text, **enc)
    return alt.layer(bars_, up, down)


def seasonality(frame: pd.DataFrame, *, title: str, subtitle: str | None = None) -> alt.LayerChart:
    """Return the seasonal profile: each month's index as a bar above or below an average month (1.0).

    Parameters
    ----------
    frame : DataFrame
        month (1-12, calendar month of year), seasonal_index (1.0 = an average month, 1.15 = 15%
        above), as from ``planlib.market.seasonal_profile``.

    Returns
    -------
    alt.LayerChart
        Bars from the 1.0 line with labels such as "+15%".

    Raises
    ------
    DataError
        If a column is missing or a month is not 1-12.
    """
    require_columns(frame, ["month", "seasonal_index"], "seasonality chart")
    bad = frame.loc[~frame["month"].isin(range(1, 13)), "month"].tolist()
    if bad:
        raise DataError(f"seasonality chart: month must be 1-12, found {bad}")
    rows = frame[["month", "seasonal_index"]].sort_values("month").copy()
    rows["month_name"] = [MONTH_NAMES[int(m) - 1] for m in rows["month"]]
    rows["baseline"] = 1.0
    # a month within half a percent of average reads "+0%", not "-0%"
    rows["vs_average"] = (rows["seasonal_index"] - 1.0).where((rows["seasonal_index"] - 1.0).abs() >= 0.005, 0.0)
    rows["side"] = np.where(rows["vs_average"] >= 0, "above an average month", "below an average month")
    base = alt.Chart(rows, title=make_title(title, subtitle)).properties(width=WIDTH)
    x = alt.X("month_name:N", sort=list(rows["month_name"]), title=None, axis=category_axis(12))
    bars_ = base.mark_bar().encode(
        x=x, y=alt.Y("seasonal_index:Q", title="Seasonal index (1 = average month)", scale=alt.Scale(zero=False)),
        y2="baseline:Q",
        color=alt.Color("side:N", title=None, scale=alt.Scale(
            domain=["above an average month", "below an average month"], range=[PALETTE[0], PALETTE[1]])))
    text = alt.Text("vs_average:Q", format="+.0%")
    up = base.transform_filter("datum.vs_average >= 0").mark_text(
        fontSize=10, color="#333", baseline="bottom", dy=-2).encode(x=x, y="seasonal_index:Q", text=text)
    down = base.transform_filter("datum.vs_average < 0").mark_text(
        fontSize=10, color="#333", baseline="top", dy=2).encode(x=x, y="seasonal_index:Q", text=text)
    rule = alt.Chart(pd.DataFrame({"baseline": [1.0]})).mark_rule(color="#555").encode(y="baseline:Q")
    return alt.layer(bars_, up, down, rule)


def mix(frame: pd.DataFrame, by: str, *, title: str, subtitle: str | None = None,
        value: str = "revenue", legend_title: str | None = None) -> alt.LayerChart:
    """Return the revenue mix by year: 100% stacked bars of each ``by`` value's share.

    Parameters
    ----------
    frame : DataFrame
        year, ``by`` (region, product, or customer_type "new"/"existing"), ``value`` (revenue), as
        from ``planlib.market.mix_by`` or ``customer_mix``.
    by : str
        The category column.

    Returns
    -------
    alt.LayerChart

    Raises
    ------
    DataError
        If a column is missing or a revenue is negative.
    """
    require_columns(frame, ["year", by, value], "mix chart")
    return stacked_share(frame, "year", by, value, title=title, subtitle=subtitle, x_title="Year",
                         legend_title=legend_title or by)


def pareto(frame: pd.DataFrame, *, title: str, subtitle: str | None = None, threshold: float = 0.8) -> alt.LayerChart:
    """Return the customer concentration curve with the ``threshold`` line and ABC bands.

    Parameters
    ----------
    frame : DataFrame
        customer_rank_share (share of customers up to this one, 0-1, ascending), cum_revenue_share
        (share of revenue, 0-1), abc_class ("A", "B", "C"), one row per customer, as from
        ``planlib.market.concentration``.
    threshold : float, default 0.8
        Revenue share marked by a horizontal line; the label says what share of customers reaches it.

    Returns
    -------
    alt.LayerChart

    Raises
    ------
    DataError
        If a column is missing or the table is empty.
    """
    require_columns(frame, ["customer_rank_share", "cum_revenue_share", "abc_class"], "pareto chart")
    if frame.empty:
        raise DataError("pareto chart: the customer table is empty (no customer with positive revenue)")
    curve = frame[["customer_rank_share", "cum_revenue_share", "abc_class"]].sort_values("customer_rank_share")
    curve = pd.concat([pd.DataFrame({"customer_rank_share": [0.0], "cum_revenue_share": [0.0],
                                     "abc_class": [curve["abc_class"].iloc[0]]}), curve], ignore_index=True)
    bands = (curve.iloc[1:].groupby("abc_class", sort=True)["customer_rank_share"].agg(["min", "max"]).reset_index())
    prev_end = bands["max"].shift(1).fillna(0.0)
    bands = bands.assign(start=prev_end, end=bands["max"], top=1.0)
    # the legend says how many customers each class holds; labels inside narrow bands would collide
    bands["class_label"] = [f"{c}: {e - s:.0%} of customers"
                            for c, s, e in zip(bands["abc_class"], bands["start"], bands["end"])]
    reach = curve.loc[curve["cum_revenue_share"] >= threshold - 1e-12, "customer_rank_share"]
    at = float(reach.iloc[0]) if len(reach) else 1.0
    marker = pd.DataFrame({"x": [at], "y": [threshold],
                           "label": [f"{at:.0%} of customers bring {threshold:.0%} of revenue"]})
    color = alt.Color("class_label:N", title="ABC class", legend=alt.Legend(symbolOpacity=0.5),
                      scale=alt.Scale(domain=list(bands["class_label"]),
                                      range=[ABC_COLORS.get(c, PALETTE[-1]) for c in bands["abc_class"]]))
    x_axis = alt.X("customer_rank_share:Q", title="Share of customers (largest first)", axis=alt.Axis(format=".0%"),
                   scale=alt.Scale(domain=[0, 1]))
    y_axis = alt.Y("cum_revenue_share:Q", title="Cumulative share of revenue", axis=alt.Axis(format=".0%"),
                   scale=alt.Scale(domain=[0, 1]))
    band_chart = alt.Chart(bands).mark_rect(opacity=0.15).encode(
        x=alt.X("start:Q", title="Share of customers (largest first)"), x2="end:Q",
        y=alt.datum(0), y2=alt.datum(1), color=color)
    line_ = alt.Chart(curve).mark_line(color=PALETTE[0], strokeWidth=2).encode(x=x_axis, y=y_axis)
    rule = alt.Chart(marker).mark_rule(color="#b8434b", strokeDash=[4, 3]).encode(y="y:Q")
    point = alt.Chart(marker).mark_point(color="#b8434b", filled=True, size=50).encode(x="x:Q", y="y:Q")
    point_text = alt.Chart(marker).mark_text(align="left", dx=8, dy=12, fontSize=11, color="#b8434b").encode(
        x="x:Q", y="y:Q", text="label:N")
    return alt.layer(band_chart, line_, rule, point, point_text,
                     title=make_title(title, subtitle)).properties(width=WIDTH)


def market_share(frame: pd.DataFrame, *, title: str, subtitle: str | None = None, unit: float = 1.0,
                 unit_label: str = "") -> alt.LayerChart:
    """Return market size per region (light bar) with our revenue inside it and our share as a label.

    Parameters
    ----------
    frame : DataFrame
        region, market_size, our_share (fraction), and optionally revenue (ours; default
        market_size * our_share), as from ``planlib.market.share_by_region``.

    Returns
    -------
    alt.LayerChart

    Raises
    ------
    DataError
        If a column is missing or a market size is not positive.
    """
    require_columns(frame, ["region", "market_size", "our_share"], "market share chart")
    bad = frame.loc[~(frame["market_size"] > 0), "region"].tolist()
    if bad:
        raise DataError(f"market share chart: market_size must be positive, not for region(s) {bad}")
    rows = frame[["region", "market_size", "our_share"]].copy()
    revenue = frame["revenue"] if "revenue" in frame else frame["market_size"] * frame["our_share"]
    rows["market"] = rows["market_size"].astype(float) / unit
    rows["ours"] = revenue.astype(float).to_numpy() / unit
    rows["label"] = [f"our share {s:.1%}" for s in rows["our_share"]]
    order = list(pd.unique(rows["region"]))
    base = alt.Chart(rows, title=make_title(title, subtitle)).properties(width=WIDTH)
    x = alt.X("region:N", sort=order, title=None, axis=category_axis(len(order)))
    y_title = with_unit("Market size (light) and our revenue (dark)", unit_label)
    market = base.mark_bar(color="#c9d9e6").encode(
        x=x, y=alt.Y("market:Q", title=y_title, axis=alt.Axis(format=AXIS_MONEY)))
    ours = base.mark_bar(color=PALETTE[0], size=28).encode(x=x, y="ours:Q")
    fmt = label_format(rows["market"])
    size_text = base.mark_text(baseline="bottom", dy=-16, fontSize=10, color="#555").encode(
        x=x, y="market:Q", text=alt.Text("market:Q", format=fmt))
    share_text = base.mark_text(baseline="bottom", dy=-3, fontSize=11, fontWeight="bold", color=PALETTE[0]).encode(
        x=x, y="market:Q", text="label:N")
    return alt.layer(market, ours, size_text, share_text)


__all__ = ["ABC_COLORS", "MONTH_NAMES", "growth", "market_share", "mix", "pareto", "seasonality", "trend"]
