"""Charts of the annual plan: the targets split by quarter, the initiatives' timeline and the bridge
from the baseline forecast to the target.

Each takes a table from ``planlib.initiatives`` (columns in each docstring) and a title that says what to see.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from planlib.report.charts import AXIS_MONEY, PALETTE, WIDTH, bars, gantt, label_format, make_title, require_columns, with_unit
from planlib.core.errors import DataError

__all__ = ["BRIDGE_COLORS", "initiative_timeline", "plan_bridge", "quarter_split"]

# One colour per kind of bridge step; the closing bar is the target.
BRIDGE_COLORS = {"baseline": PALETTE[0], "initiative": "#3a9a5b", "hires": PALETTE[4], "capacity": "#8c8c8c",
                 "gap": "#b8434b", "target": "#16324a"}
BRIDGE_NAMES = {"baseline": "Baseline forecast", "initiative": "Initiative", "hires": "New hires",
                "capacity": "Beyond capacity", "gap": "Gap", "target": "Target"}


def quarter_split(view: pd.DataFrame, by: str, *, title: str, subtitle: str | None = None, unit: float = 1.0,
                  unit_label: str = "") -> alt.Chart | alt.LayerChart:
    """Return the targets of each quarter as bars stacked by region (or product).

    Parameters
    ----------
    view : DataFrame
        From ``planlib.initiatives.period_view``: column ``by``, one column per quarter, Total, and
        a last row "Total" (left out here: the stacks add up to it).
    by : str
        "region" or "product".
    """
    require_columns(view, [by, "Total"], "quarter split")
    periods = [c for c in view.columns if c not in (by, "Total")]
    if not periods:
        raise DataError(f"quarter split: the view has no period columns besides {by!r} and 'Total'")
    parts = view[view[by] != "Total"]
    long = parts.melt(id_vars=[by], value_vars=periods, var_name="quarter", value_name="target")
    return bars(long, "quarter", "target", by, stack=True, title=title, subtitle=subtitle, unit=unit,
                unit_label=unit_label, x_title=None, y_title="Target")


def initiative_timeline(summary: pd.DataFrame, *, title: str, subtitle: str | None = None,
                        today: pd.Timestamp | None = None) -> alt.Chart | alt.LayerChart:
    """Return the initiatives as a Gantt chart, one bar each from start to end, coloured by strategy.

    Parameters
    ----------
    summary : DataFrame
        initiative, owner, strategy, start, end (``InitiativePlan.summary``), in the order to show.
    today : Timestamp, optional
        A dashed rule at this date (the plan's as-of day).

    Raises
    ------
    DataError
        If a column is missing or an initiative ends before it starts.
    """
    require_columns(summary, ["initiative", "owner", "strategy", "start", "end"], "initiative timeline")
    shown = summary[["initiative", "owner", "strategy", "start", "end"]].copy()
    shown["task"] = [f"{name} ({owner})" for name, owner in zip(shown["initiative"], shown["owner"])]
    # gantt draws to the end date; add the last day itself so a one-day initiative still shows.
    shown["until"] = pd.to_datetime(shown["end"]) + pd.Timedelta(days=1)
    chart = gantt(shown, "task", "start", "until", "strategy", title=title, subtitle=subtitle, today=today)
    # Names with their owners are long; the theme's label limit would cut them mid-word.
    return chart.configure_axisY(labelLimit=360)


def plan_bridge(steps: pd.DataFrame, *, title: str, subtitle: str | None = None, unit: float = 1.0,
                unit_label: str = "", total_label: str = "Annual target", zoom: bool = True) -> alt.LayerChart:
    """Return the bridge from the baseline forecast to the target as a waterfall.

    Each step starts where the one before ended; the last bar is the target, which the
    steps reach exactly. The gap still uncovered is drawn in red (a plan that covers more
    than the target shows it as a step down). With ``zoom`` the value axis starts a little
    below the lowest step instead of at zero, so steps of a few percent of the baseline can
    be seen; the baseline and target bars are then cut at the bottom, and the axis says so.

    Parameters
    ----------
    steps : DataFrame
        step (unique), kind (baseline, initiative, hires, capacity, gap), amount: ``Bridge.steps``.
    total_label : str, default "Annual target"
        Name of the closing bar; must differ from every step.

    Raises
    ------
    DataError
        If a column is missing, a step name repeats, or a kind is unknown.
    """
    require_columns(steps, ["step", "kind", "amount"], "plan bridge")
    names = [str(s) for s in steps["step"]]
    repeated = sorted({n for n in names if names.count(n) > 1 or n == total_label})
    if repeated:
        raise DataError(f"plan bridge: step names must be unique and differ from {total_label!r}; "
                        f"repeated: {repeated}")
    unknown = sorted(set(steps["kind"]) - set(BRIDGE_COLORS))
    if unknown:
        raise DataError(f"plan bridge: unknown step kind(s) {unknown}; expected {list(BRIDGE_COLORS)[:-1]}")
    amounts = steps["amount"].astype(float).to_numpy() / unit
    end = amounts.cumsum()
    shown = pd.DataFrame({"step": names + [total_label], "kind": [*steps["kind"], "target"],
                          "start": list(end - amounts) + [0.0], "end": list(end) + [end[-1] if len(end) else 0.0],
                          "amount": list(amounts) + [end[-1] if len(end) else 0.0]})
    shown["top"] = shown[["start", "end"]].max(axis=1)
    shown["label"] = [format(a, label_format(shown["amount"])).replace("-", "\u2212") for a in shown["amount"]]
    shown["kind_name"] = shown["kind"].map(BRIDGE_NAMES)
    order = names + [total_label]
    kinds = [k for k in BRIDGE_COLORS if k in set(shown["kind"])]
    base = alt.Chart(shown, title=make_title(title, subtitle)).properties(width=WIDTH)
    x = alt.X("step:N", sort=order, title=None, axis=alt.Axis(labelAngle=-30, labelLimit=200))
    y_title = with_unit("Revenue", unit_label)
    scale = alt.Undefined
    inner = shown[~shown["kind"].isin(["baseline", "target"])]
    if zoom and len(inner):
        low, high = float(inner[["start", "end"]].min().min()), float(shown["top"].max())
        floor = max(0.0, low - 0.5 * (high - low))
        if floor > 0:
            scale = alt.Scale(domain=[floor, high + 0.08 * (high - floor)], zero=False, nice=False)
            y_title += ", axis not from zero"
    columns = base.mark_bar(clip=True).encode(
        x=x, y=alt.Y("start:Q", title=y_title, axis=alt.Axis(format=AXIS_MONEY), scale=scale),
        y2="end:Q",
        color=alt.Color("kind_name:N", title=None, sort=[BRIDGE_NAMES[k] for k in kinds],
                        scale=alt.Scale(domain=[BRIDGE_NAMES[k] for k in kinds],
                                        range=[BRIDGE_COLORS[k] for k in kinds])))
    labels = base.mark_text(baseline="bottom", dy=-2, fontSize=10, color="#333").encode(
        x=x, y=alt.Y("top:Q", scale=scale), text="label:N")
    return alt.layer(columns, labels)
