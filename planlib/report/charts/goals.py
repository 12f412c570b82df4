"""Charts of goal setting: the target against the forecast, the time split, the allocation, fairness.

Each takes a table from ``planlib.goals`` or ``planlib.allocate`` (columns in each docstring)
and a title that says what to see; money is shown in the display unit.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from planlib.report.charts import AXIS_MONEY, PALETTE, WIDTH, category_axis, field, make_title, require_columns, with_unit

ATTAINED, MISSED = PALETTE[2], "#c9c9c9"


def target_distribution(frame: pd.DataFrame, target: float, *, title: str, subtitle: str | None = None,
                        unit: float = 1.0, unit_label: str = "") -> alt.LayerChart:
    """Return the plan-year revenue distribution with the target marked and the attained side shaded.

    Parameters
    ----------
    frame : DataFrame
        revenue, density, attained (bool), as from :func:`planlib.goals.attainment_curve`.
    target : float
        The annual target (currency).
    title : str
        What to see, e.g. "A 40% chance of reaching 352 m CNY".
    unit, unit_label : float, str
        Display unit of money.
    """
    require_columns(frame, ["revenue", "density", "attained"], "target distribution chart")
    shown = frame.assign(revenue=frame["revenue"] / unit,
                         side=frame["attained"].map({True: "reaches the target", False: "falls short"}))
    base = alt.Chart(shown).properties(width=WIDTH)
    area = base.mark_area(opacity=0.8).encode(
        x=alt.X("revenue:Q", title=with_unit("Plan-year revenue", unit_label), axis=alt.Axis(format=AXIS_MONEY)),
        y=alt.Y("density:Q", title="Likelihood", axis=alt.Axis(labels=False, ticks=False)),
        color=alt.Color("side:N", title=None, scale=alt.Scale(domain=["reaches the target", "falls short"],
                                                              range=[ATTAINED, MISSED])))
    rule = alt.Chart(pd.DataFrame({"x": [target / unit], "label": ["target"]})).mark_rule(
        color=PALETTE[3], strokeWidth=2).encode(x="x:Q")
    text = alt.Chart(pd.DataFrame({"x": [target / unit], "label": ["target"]})).mark_text(
        align="left", dx=4, dy=-110, color=PALETTE[3]).encode(x="x:Q", text="label:N")
    return alt.layer(area, rule, text).properties(title=make_title(title, subtitle))


def monthly_fan(frame: pd.DataFrame, *, title: str, subtitle: str | None = None, unit: float = 1.0,
                unit_label: str = "") -> alt.LayerChart:
    """Return monthly actuals, the forecast with its narrowest and widest bands (80% and 95% by default), and the
    month targets.

    Parameters
    ----------
    frame : DataFrame
        ds (month start), actual, yhat, lo_<level>, hi_<level> of the forecast's levels, target (NaN where not
        applicable), as from :func:`planlib.goals.monthly_fan_table`; with its period column named (a
        week-based calendar) the subtitle says how a period's target is drawn against a calendar month.
    """
    from planlib.report.charts.forecast import interval_levels

    require_columns(frame, ["ds", "actual", "yhat", "target"], "monthly fan chart")
    levels = interval_levels(frame)
    if not levels:  # no forecast in the frame: the bands of the default levels, empty
        require_columns(frame, ["lo_80", "hi_80", "lo_95", "hi_95"], "monthly fan chart")
        levels = [80, 95]
    wide, narrow = max(levels), min(levels)  # the widest and narrowest of forecast.levels
    bounds = [c for lv in sorted({narrow, wide}) for c in (f"lo_{lv}", f"hi_{lv}")]
    columns = ["ds", "actual", "yhat", *bounds, "target"]
    shown = frame[columns].copy()
    shown[columns[1:]] = shown[columns[1:]].astype(float) / unit
    base = alt.Chart(shown).properties(width=WIDTH)
    x = alt.X("ds:T", title=None, axis=alt.Axis(format="%Y-%m"))
    y_title = with_unit("Monthly revenue", unit_label)
    band95 = base.transform_filter(f"isValid(datum.lo_{wide})").mark_area(color=PALETTE[0], opacity=0.15).encode(
        x=x, y=alt.Y(f"lo_{wide}:Q", title=y_title, axis=alt.Axis(format=AXIS_MONEY)), y2=f"hi_{wide}:Q")
    band80 = base.transform_filter(f"isValid(datum.lo_{narrow})").mark_area(color=PALETTE[0], opacity=0.3).encode(
        x=x, y=f"lo_{narrow}:Q", y2=f"hi_{narrow}:Q")
    actual = base.transform_filter("isValid(datum.actual)").mark_line(color="#333333").encode(x=x, y="actual:Q")
    forecast = base.transform_filter("isValid(datum.yhat)").mark_line(color=PALETTE[0], strokeDash=[4, 3]).encode(
        x=x, y="yhat:Q")
    target = base.transform_filter("isValid(datum.target)").mark_point(
        color=PALETTE[3], filled=True, size=50, shape="diamond").encode(x=x, y="target:Q")
    bands = [band95, band80] if narrow != wide else [band95]  # one level: one band
    if "period" in frame and frame["period"].fillna("").astype(str).ne("").any():
        note = "Each 4- or 5-week period's target sits at its month, scaled to the month's days"
        subtitle = [subtitle, note] if subtitle else note  # a second line: one line would be cut off
    return alt.layer(*bands, actual, forecast, target).properties(title=make_title(title, subtitle))


def time_split(frame: pd.DataFrame, *, title: str, subtitle: str | None = None, unit: float = 1.0,
               unit_label: str = "") -> alt.LayerChart:
    """Return the plan's month targets (bars) against an equal split (line), misleading months marked.

    Parameters
    ----------
    frame : DataFrame
        month, planned, equal, misleads, as from :func:`planlib.allocate.time_split_comparison`.
    """
    require_columns(frame, ["month", "planned", "equal", "misleads"], "time split chart")
    shown = frame.assign(planned=frame["planned"] / unit, equal=frame["equal"] / unit,
                         verdict=frame["misleads"].map({True: "equal split misleads", False: "close"}))
    base = alt.Chart(shown).properties(width=WIDTH)
    x = alt.X("month:N", title=None, sort=list(shown["month"]), axis=category_axis(len(shown)))
    bars = base.mark_bar().encode(
        x=x, y=alt.Y("planned:Q", title=with_unit("Month target", unit_label), axis=alt.Axis(format=AXIS_MONEY)),
        color=alt.Color("verdict:N", title=None, scale=alt.Scale(domain=["equal split misleads", "close"],
                                                                range=[PALETTE[1], PALETTE[0]])))
    equal = base.mark_line(color="#333333", strokeDash=[5, 3], point=True).encode(x=x, y="equal:Q")
    return alt.layer(bars, equal).properties(title=make_title(title, subtitle))


def allocation(frame: pd.DataFrame, entity: str = "entity", value: str = "target", color: str | None = "product", *,
               title: str, subtitle: str | None = None, unit: float = 1.0, unit_label: str = "") -> alt.Chart:
    """Return horizontal bars of targets by entity, stacked by ``color`` (e.g. product) when given.

    Parameters
    ----------
    frame : DataFrame
        One row per entity (and color category) with the ``value`` column in currency.
    """
    require_columns(frame, [entity, value] + ([color] if color else []), "allocation chart")
    shown = frame.assign(**{value: frame[value] / unit})
    order = shown.groupby(entity)[value].sum().sort_values(ascending=False).index.tolist()
    # sorted by the total, not by a list of names: a list of 2,000 reps overflows Vega's expression parser
    encoding = {"y": alt.Y(f"{field(entity)}:N", title=None,
                           sort=alt.EncodingSortField(field=value, op="sum", order="descending")),
                "x": alt.X(f"{field(value)}:Q", title=with_unit("Target", unit_label),
                           axis=alt.Axis(format=AXIS_MONEY))}
    if color:
        encoding["color"] = alt.Color(f"{field(color)}:N", title=color.replace("_", " "))
    height = max(120, 18 * len(order))
    return alt.Chart(shown, title=make_title(title, subtitle)).mark_bar().encode(**encoding).properties(
        width=WIDTH, height=height)


def fairness(frame: pd.DataFrame, *, low: float = 0.3, high: float = 0.85, title: str, subtitle: str | None = None,
             unit: float = 1.0, unit_label: str = "") -> alt.LayerChart:
    """Return each rep's target against their potential, coloured by probability of attainment.

    Parameters
    ----------
    frame : DataFrame
        rep_id, name, team, target, potential, probability, as in ``planlib.goals.Fairness.reps``.
    low, high : float
        The fairness thresholds: below ``low`` looks unfair, above ``high`` soft.
    """
    require_columns(frame, ["rep_id", "target", "potential", "probability"], "fairness chart")
    bands = [f"P < {low:.0%}: unfair", f"{low:.0%}-{high:.0%}", f"P > {high:.0%}: soft"]
    shown = frame.assign(target=frame["target"] / unit, potential=frame["potential"] / unit,
                         band=pd.cut(frame["probability"], [-1, low, high, 2], labels=bands).astype(str))
    top = float(max(shown["target"].max(), shown["potential"].max())) * 1.05
    base = alt.Chart(shown).properties(width=WIDTH, height=WIDTH * 0.6)
    points = base.mark_circle(size=70, opacity=0.85).encode(
        x=alt.X("potential:Q", title=with_unit("Potential (history x ramp x growth)", unit_label),
                scale=alt.Scale(domain=[0, top]), axis=alt.Axis(format=AXIS_MONEY)),
        y=alt.Y("target:Q", title=with_unit("Target", unit_label), scale=alt.Scale(domain=[0, top]),
                axis=alt.Axis(format=AXIS_MONEY)),
        color=alt.Color("band:N", title="P(attainment)", scale=alt.Scale(domain=bands,
                                                                         range=[PALETTE[3], ATTAINED, PALETTE[1]])))
    labels = base.transform_filter(f"datum.probability < {low} || datum.probability > {high}").mark_text(
        align="left", dx=6, fontSize=10).encode(x="potential:Q", y="target:Q", text="rep_id:N")
    diagonal = alt.Chart(pd.DataFrame({"x": [0.0, top], "y": [0.0, top]})).mark_line(
        color="#999999", strokeDash=[4, 4]).encode(x="x:Q", y="y:Q")
    return alt.layer(diagonal, points, labels).properties(title=make_title(title, subtitle))


__all__ = ["allocation", "fairness", "monthly_fan", "target_distribution", "time_split"]
