"""Charts of resources and incentives: capacity against target, the ramp, hiring delay, budget, payout curve, cost.

Each takes a table from ``planlib.capacity``, ``planlib.hiring``, ``planlib.budget`` or
``planlib.incentives`` (columns in each docstring) and a title that says what to see.
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from planlib.report.charts import (AXIS_MONEY, PALETTE, WIDTH, field, make_title, month_labels, require_columns,
                                   with_unit)


def capacity_vs_target(by_month: pd.DataFrame, *, title: str, subtitle: str | None = None, unit: float = 1.0,
                       unit_label: str = "", columns: int = 2, periods: pd.DataFrame | None = None) -> alt.FacetChart:
    """Return, per region, monthly target against capacity without and with the planned hires.

    Parameters
    ----------
    by_month : DataFrame
        region, month, target, capacity_without_hires, capacity_with_hires (``HiringPlanResult.by_month``).
    periods : DataFrame, optional
        The plan's fiscal months (month, period, weeks), from :func:`planlib.core.calendar.fiscal_month_starts`:
        in a week-based calendar the axis names each period ("P01") instead of the month it is keyed by.
    """
    need = ["region", "month", "target", "capacity_without_hires", "capacity_with_hires"]
    require_columns(by_month, need, "capacity_vs_target")
    names = {"target": "Target", "capacity_without_hires": "Capacity, no hires",
             "capacity_with_hires": "Capacity with hires"}
    long = by_month[need].melt(["region", "month"], var_name="series", value_name="amount")
    long["series"] = long["series"].map(names)
    long["amount"] = long["amount"] / unit
    long["month"] = month_labels(long["month"], periods)
    chart = alt.Chart(long, width=WIDTH // columns - 40, height=160).mark_line(point=True).encode(
        x=alt.X("month:O", title=None, axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("amount:Q", title=with_unit("Sales", unit_label), axis=alt.Axis(format=AXIS_MONEY)),
        color=alt.Color("series:N", title=None, sort=list(names.values()),
                        scale=alt.Scale(domain=list(names.values()), range=[PALETTE[7], PALETTE[3], PALETTE[0]])),
        strokeDash=alt.StrokeDash("series:N", sort=list(names.values()), title=None,
                                  scale=alt.Scale(domain=list(names.values()), range=[[4, 3], [1, 0], [1, 0]])),
    )
    return chart.facet(facet=alt.Facet("region:N", title=None), columns=columns).properties(
        title=make_title(title, subtitle)).resolve_scale(y="independent")


def ramp(curve: pd.DataFrame, *, title: str, subtitle: str | None = None) -> alt.LayerChart:
    """Return the ramp of new reps: observed share of a ramped rep's sales by month of tenure, and the fit.

    Parameters
    ----------
    curve : DataFrame
        tenure_month, ramp_factor, observed (NaN where no rep), reps (``RampEstimate.curve``).
    """
    require_columns(curve, ["tenure_month", "ramp_factor", "observed", "reps"], "ramp")
    base = alt.Chart(curve).encode(x=alt.X("tenure_month:Q", title="Month of tenure (1 = start month)"))
    fitted = base.mark_line(color=PALETTE[0]).encode(
        y=alt.Y("ramp_factor:Q", title="Share of a ramped rep's sales", axis=alt.Axis(format="%")))
    observed = base.transform_filter("isValid(datum.observed)").mark_circle(color=PALETTE[1]).encode(
        y="observed:Q", size=alt.Size("reps:Q", title="New reps"),
        tooltip=["tenure_month", alt.Tooltip("observed:Q", format=".0%"), "reps"])
    return alt.layer(fitted, observed).properties(title=make_title(title, subtitle), width=WIDTH, height=240)


def hiring_delay(delay: pd.DataFrame, *, title: str, subtitle: str | None = None, unit: float = 1.0,
                 unit_label: str = "") -> alt.Chart:
    """Return the gap left uncovered by the planned hires when hiring cannot start before each month.

    Parameters
    ----------
    delay : DataFrame
        region, earliest_start, uncovered (``HiringPlanResult.delay``).
    """
    require_columns(delay, ["region", "earliest_start", "uncovered"], "hiring_delay")
    shown = delay.assign(start=delay["earliest_start"].dt.strftime("%Y-%m"), amount=delay["uncovered"] / unit)
    return alt.Chart(shown).mark_line(point=True).encode(
        x=alt.X("start:O", title="Hiring can start from", axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("amount:Q", title=with_unit("Target left uncovered", unit_label), axis=alt.Axis(format=AXIS_MONEY)),
        color=alt.Color("region:N", title="Region"),
    ).properties(title=make_title(title, subtitle), width=WIDTH, height=260)


def budget(lines: pd.DataFrame, *, title: str, subtitle: str | None = None, unit: float = 1.0,
           unit_label: str = "") -> alt.Chart:
    """Return the budget by region as stacked bars of its lines.

    Parameters
    ----------
    lines : DataFrame
        region, line, amount (``BudgetResult.lines``).
    """
    require_columns(lines, ["region", "line", "amount"], "budget")
    order = list(dict.fromkeys(lines["line"]))
    shown = lines.assign(amount=lines["amount"] / unit, order=lines["line"].map({k: i for i, k in enumerate(order)}))
    return alt.Chart(shown).mark_bar().encode(
        x=alt.X("amount:Q", title=with_unit("Cost", unit_label), axis=alt.Axis(format=AXIS_MONEY)),
        y=alt.Y("region:N", title=None),
        color=alt.Color("line:N", title="Line", sort=order,
                        scale=alt.Scale(range=PALETTE + ["#9ecae1", "#fdae6b", "#a1d99b", "#bcbddc", "#c7c7c7"])),
        order=alt.Order("order:Q"),
        tooltip=[field("region"), field("line"), alt.Tooltip("amount:Q", format=",.0f")],
    ).properties(title=make_title(title, subtitle), width=WIDTH, height=200)


def payout_curve(curve: pd.DataFrame, tiers: pd.DataFrame, *, title: str, subtitle: str | None = None,
                 threshold: float | None = None) -> alt.LayerChart:
    """Return the commission payout (multiple of target incentive) against attainment, tiers shaded.

    Parameters
    ----------
    curve : DataFrame
        attainment, payout (``IncentivePlan.curve``).
    tiers : DataFrame
        attainment_from, attainment_to, kind (``IncentivePlan.tiers``).
    threshold : float, optional
        Drawn as a rule.
    """
    require_columns(curve, ["attainment", "payout"], "payout_curve")
    require_columns(tiers, ["attainment_from", "attainment_to", "kind"], "payout_curve")
    top = float(curve["attainment"].max())
    bands = tiers.assign(x2=np.minimum(tiers["attainment_to"].to_numpy(float), top))
    colours = {"decelerator": PALETTE[3], "standard": PALETTE[7], "accelerator": PALETTE[2], "reduced": PALETTE[5],
               "steeper below target": PALETTE[4]}
    kinds = [k for k in colours if k in set(bands["kind"])]
    shade = alt.Chart(bands).mark_rect(opacity=0.12).encode(
        x=alt.X("attainment_from:Q"), x2="x2:Q",
        color=alt.Color("kind:N", title="Tier", scale=alt.Scale(domain=kinds, range=[colours[k] for k in kinds])))
    line = alt.Chart(curve).mark_line(color=PALETTE[0], strokeWidth=2.5).encode(
        x=alt.X("attainment:Q", title="Attainment", axis=alt.Axis(format="%")),
        y=alt.Y("payout:Q", title="Payout (share of target incentive)", axis=alt.Axis(format="%")))
    layers = [shade, line]
    if threshold:
        layers.append(alt.Chart(pd.DataFrame({"x": [threshold]})).mark_rule(strokeDash=[4, 3], color=PALETTE[3])
                      .encode(x="x:Q"))
    return alt.layer(*layers).properties(title=make_title(title, subtitle), width=WIDTH, height=280)


def cost_distribution(by_sim: pd.DataFrame, *, title: str, subtitle: str | None = None, unit: float = 1.0,
                      unit_label: str = "", value: str = "payout", marks: pd.DataFrame | None = None) -> alt.LayerChart:
    """Return a histogram of a simulated cost (payout by default) with optional marked scenarios.

    Parameters
    ----------
    by_sim : DataFrame
        One row per simulated year with the column ``value`` (``IncentiveCost.by_sim``).
    marks : DataFrame, optional
        scenario, and the column ``value`` (``IncentiveCost.at_attainment``): drawn as rules.
    """
    require_columns(by_sim, [value], "cost_distribution")
    shown = pd.DataFrame({"amount": by_sim[value] / unit})
    hist = alt.Chart(shown).mark_bar(color=PALETTE[0], opacity=0.8).encode(
        x=alt.X("amount:Q", bin=alt.Bin(maxbins=40), title=with_unit(value.replace("_", " ").capitalize(), unit_label),
                axis=alt.Axis(format=AXIS_MONEY)),
        y=alt.Y("count():Q", title="Simulated years"))
    layers = [hist]
    if marks is not None:
        require_columns(marks, ["scenario", value], "cost_distribution")
        m = pd.DataFrame({"scenario": marks["scenario"], "amount": marks[value] / unit})
        rule = alt.Chart(m).mark_rule(color=PALETTE[1], strokeWidth=2).encode(x="amount:Q")
        text = alt.Chart(m).mark_text(align="left", dx=4, dy=-6, color=PALETTE[1]).encode(
            x="amount:Q", y=alt.value(8), text="scenario:N")
        layers += [rule, text]
    return alt.layer(*layers).properties(title=make_title(title, subtitle), width=WIDTH, height=240)
