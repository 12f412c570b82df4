"""Charts of the quarterly review: the year month by month, attainment, year-end outlook, score spread.

Each takes a table from ``planlib.review`` or ``planlib.scorecard`` (columns in each docstring) and a title
that says what to see; money is shown in the display unit.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from planlib.report.charts import AXIS_MONEY, PALETTE, WIDTH, field, make_title, require_columns, with_unit

__all__ = ["attainment_bars", "outlook_ranges", "score_strip", "year_by_month"]

GOOD, BAD, PLAN, FORECAST = "#3a9a5b", "#b8434b", "#6b6b6b", "#9ec3dd"


def year_by_month(frame: pd.DataFrame, *, title: str, subtitle: str | None = None, unit: float = 1.0,
                  unit_label: str = "", level: int = 80) -> alt.LayerChart:
    """Return the fiscal year by month: actual bars for closed months, re-forecast bars with their interval
    for open months, and the plan as a line.

    Parameters
    ----------
    frame : DataFrame
        month, plan, actual, forecast, lo_<level>, hi_<level>, status (closed, open), as from
        ``planlib.review.reforecast_months``.
    """
    lo, hi = f"lo_{level}", f"hi_{level}"
    require_columns(frame, ["month", "plan", "actual", "forecast", lo, hi, "status"], "year by month")
    shown = frame.copy()
    shown["label"] = pd.to_datetime(shown["month"]).dt.strftime("%Y-%m")
    shown["value"] = shown["actual"].where(shown["status"] == "closed", shown["forecast"]) / unit
    shown["kind"] = shown["status"].map({"closed": "actual", "open": "re-forecast"})
    for col in ("plan", lo, hi):
        shown[col] = shown[col] / unit
    order = list(shown["label"])
    x = alt.X("label:N", sort=order, title=None, axis=alt.Axis(labelAngle=0))
    base = alt.Chart(shown, title=make_title(title, subtitle)).properties(width=WIDTH)
    bars = base.mark_bar(opacity=0.9).encode(
        x=x, y=alt.Y("value:Q", title=with_unit("Sales", unit_label), axis=alt.Axis(format=AXIS_MONEY)),
        color=alt.Color("kind:N", title=None, scale=alt.Scale(domain=["actual", "re-forecast"],
                                                               range=[PALETTE[0], FORECAST])))
    band = base.transform_filter("datum.status == 'open'").mark_rule(color="#333", strokeWidth=1.5).encode(
        x=x, y=alt.Y(f"{field(lo)}:Q"), y2=alt.Y2(f"{field(hi)}:Q"))
    plan = base.mark_line(color=PLAN, strokeDash=[5, 3], point=alt.OverlayMarkDef(color=PLAN)).encode(
        x=x, y=alt.Y("plan:Q"))
    return alt.layer(bars, band, plan)


def attainment_bars(frame: pd.DataFrame, category: str, *, title: str, subtitle: str | None = None,
                    value: str = "attainment") -> alt.LayerChart:
    """Return horizontal bars of attainment per ``category`` (in frame order), green at or above 100%, red below.

    Parameters
    ----------
    frame : DataFrame
        ``category`` and ``value`` (a fraction: 1.0 = 100% of plan).
    """
    require_columns(frame, [category, value], "attainment bars")
    shown = frame[[category, value]].dropna().copy()
    shown[category] = shown[category].astype(str)
    shown["outcome"] = (shown[value] >= 1.0).map({True: "at or above plan", False: "below plan"})
    order = list(shown[category])
    base = alt.Chart(shown, title=make_title(title, subtitle)).properties(width=WIDTH,
                                                                          height=max(120, 18 * len(order)))
    bars = base.mark_bar().encode(
        y=alt.Y(field=field(category), type="nominal", sort=order, title=None),
        x=alt.X(field=field(value), type="quantitative", title="Attainment to date", axis=alt.Axis(format=".0%")),
        color=alt.Color("outcome:N", title=None, scale=alt.Scale(domain=["at or above plan", "below plan"],
                                                                  range=[GOOD, BAD])))
    rule = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(color="#222", strokeDash=[4, 3]).encode(x="x:Q")
    return alt.layer(bars, rule)


def outlook_ranges(frame: pd.DataFrame, *, title: str, subtitle: str | None = None, unit: float = 1.0,
                   unit_label: str = "") -> alt.LayerChart:
    """Return each entity's year-end outlook as an interval with its mean, and its annual target as a tick.

    Parameters
    ----------
    frame : DataFrame
        entity, annual_target, year_end, year_end_lo, year_end_hi, p_reach, as from
        ``planlib.review.year_end_outlook`` (one level at a time reads best).
    """
    require_columns(frame, ["entity", "annual_target", "year_end", "year_end_lo", "year_end_hi", "p_reach"],
                    "outlook ranges")
    shown = frame.copy()
    for col in ("annual_target", "year_end", "year_end_lo", "year_end_hi"):
        shown[col] = shown[col] / unit
    shown["entity"] = shown["entity"].astype(str)
    shown["chance"] = [f"P(target) {p:.0%}" for p in shown["p_reach"]]
    order = list(shown["entity"])
    y = alt.Y("entity:N", sort=order, title=None)
    base = alt.Chart(shown, title=make_title(title, subtitle)).properties(width=WIDTH,
                                                                          height=max(100, 34 * len(order)))
    axis = alt.Axis(format=AXIS_MONEY)
    ranges = base.mark_rule(strokeWidth=6, color=FORECAST).encode(
        y=y, x=alt.X("year_end_lo:Q", title=with_unit("Year-end sales", unit_label), axis=axis),
        x2="year_end_hi:Q")
    mean = base.mark_point(filled=True, size=70, color=PALETTE[0]).encode(y=y, x="year_end:Q")
    target = base.mark_tick(color=BAD, thickness=3, size=22).encode(y=y, x="annual_target:Q")
    chance = base.mark_text(align="left", dx=8, fontSize=10, color="#333").encode(y=y, x="year_end_hi:Q",
                                                                                 text="chance:N")
    return alt.layer(ranges, mean, target, chance)


def score_strip(frame: pd.DataFrame, group: str, *, bands: dict[str, float], title: str,
                subtitle: str | None = None) -> alt.LayerChart:
    """Return each rep's composite score as a dot per ``group`` (region or tenure group), with band lines.

    Parameters
    ----------
    frame : DataFrame
        ``group``, composite, band, name (as ``Scorecards.scores``).
    bands : dict
        Band -> the composite score where it starts (a dashed line for each above 0).
    """
    require_columns(frame, [group, "composite", "band"], "score strip")
    shown = frame[[group, "composite", "band"]].dropna().copy()
    shown[group] = shown[group].astype(str)
    order = sorted(shown[group].unique())
    ranked = [b for b, _ in sorted(bands.items(), key=lambda item: -item[1])]
    base = alt.Chart(shown, title=make_title(title, subtitle)).properties(width=WIDTH,
                                                                          height=max(100, 40 * len(order)))
    dots = base.mark_circle(size=80, opacity=0.8).encode(
        y=alt.Y(field=field(group), type="nominal", sort=order, title=None),
        x=alt.X("composite:Q", title="Composite score", axis=alt.Axis(format=".2f")),
        color=alt.Color("band:N", title="band", scale=alt.Scale(domain=ranked,
                                                                range=[GOOD, PALETTE[0], BAD, *PALETTE[3:]][
                                                                    :len(ranked)])))
    lines = pd.DataFrame({"x": [v for v in bands.values() if v > 0]})
    rules = alt.Chart(lines).mark_rule(color="#222", strokeDash=[4, 3]).encode(x="x:Q")
    return alt.layer(dots, rules)
