"""Charts of the risk review: heat map, attainment distribution, scenarios, tornado, coverage.

Each takes a table from ``planlib.risk`` (columns in each docstring) and a title that
says what to see; money is shown in the display unit.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from planlib.report.charts import AXIS_MONEY, PALETTE, WIDTH, field, make_title, require_columns, with_unit

__all__ = ["attainment_histogram", "coverage_bars", "risk_heat_map", "scenario_bars", "tornado"]

GOOD, BAD, NEUTRAL = "#3a9a5b", "#b8434b", "#9ec3dd"


def risk_heat_map(frame: pd.DataFrame, *, title: str, subtitle: str | None = None) -> alt.LayerChart:
    """Return the likelihood x impact grid, cells coloured by score, labelled with their risk ids.

    Parameters
    ----------
    frame : DataFrame
        likelihood_band, impact_band, score, risks, risk_ids, as from ``planlib.risk.heat_map``.
    """
    require_columns(frame, ["likelihood_band", "impact_band", "score", "risks", "risk_ids"], "risk heat map")
    shown = frame.copy()
    shown["label"] = [ids if n else "" for ids, n in zip(shown["risk_ids"], shown["risks"])]
    x_order = sorted(shown["impact_band"].unique())
    y_order = sorted(shown["likelihood_band"].unique(), reverse=True)
    base = alt.Chart(shown, title=make_title(title, subtitle)).properties(width=WIDTH, height=300)
    enc = dict(x=alt.X("impact_band:O", sort=x_order, title="Impact (share of the annual target)",
                       axis=alt.Axis(labelAngle=0)),
               y=alt.Y("likelihood_band:O", sort=y_order, title="Likelihood in the plan year"))
    cells = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color("score:Q", scale=alt.Scale(scheme="yelloworangered", domain=[1, 25]), title="score"), **enc)
    text = base.mark_text(fontSize=10, color="#111", lineBreak=", ").encode(text="label:N", **enc)
    return alt.layer(cells, text)


def attainment_histogram(frame: pd.DataFrame, *, title: str, subtitle: str | None = None) -> alt.LayerChart:
    """Return the distribution of simulated company attainment, bars at or above 100% in green.

    Parameters
    ----------
    frame : DataFrame
        bin_start, bin_end (attainment), share (of simulated years), met (bool), as from
        ``MonteCarloResult.histogram``.
    """
    require_columns(frame, ["bin_start", "bin_end", "share", "met"], "attainment histogram")
    shown = frame.assign(outcome=frame["met"].map({True: "target met", False: "target missed"}))
    base = alt.Chart(shown, title=make_title(title, subtitle)).properties(width=WIDTH)
    bars = base.mark_bar().encode(
        x=alt.X("bin_start:Q", bin="binned", title="Company attainment", axis=alt.Axis(format=".0%")),
        x2="bin_end:Q",
        y=alt.Y("share:Q", title="Share of simulated years", axis=alt.Axis(format=".0%")),
        color=alt.Color("outcome:N", scale=alt.Scale(domain=["target met", "target missed"], range=[GOOD, BAD]),
                        title=None))
    rule = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(color="#222", strokeDash=[4, 3]).encode(x="x:Q")
    return alt.layer(bars, rule)


def scenario_bars(frame: pd.DataFrame, *, annual_target: float, title: str, subtitle: str | None = None,
                  unit: float = 1.0, unit_label: str = "") -> alt.LayerChart:
    """Return revenue of each scenario as bars with the annual target as a line.

    Parameters
    ----------
    frame : DataFrame
        scenario, revenue, attainment, as from ``planlib.risk.scenarios``.
    """
    require_columns(frame, ["scenario", "revenue", "attainment"], "scenario chart")
    shown = frame[["scenario", "revenue", "attainment"]].assign(revenue=frame["revenue"] / unit)
    base = alt.Chart(shown, title=make_title(title, subtitle)).properties(width=WIDTH, height=220)
    y = alt.Y("scenario:N", sort=list(shown["scenario"]), title=None)
    bars = base.mark_bar(color=PALETTE[0]).encode(
        x=alt.X("revenue:Q", title=with_unit("Plan-year revenue", unit_label), axis=alt.Axis(format=AXIS_MONEY)), y=y)
    text = base.mark_text(align="left", dx=4).encode(x="revenue:Q", y=y, text=alt.Text("attainment:Q", format=".0%"))
    rule = alt.Chart(pd.DataFrame({"x": [annual_target / unit]})).mark_rule(color=BAD, strokeWidth=2).encode(x="x:Q")
    return alt.layer(bars, text, rule)


def tornado(frame: pd.DataFrame, *, value: str = "p_target", title: str, subtitle: str | None = None,
            unit: float = 1.0, unit_label: str = "") -> alt.LayerChart:
    """Return a tornado: for each assumption, a bar from its unfavourable to its favourable move.

    Parameters
    ----------
    frame : DataFrame
        assumption, step, ``value``_low, ``value``_base, ``value``_high, as from ``planlib.risk.sensitivity``.
    value : {"p_target", "revenue"}
        P(attainment) (shown as %) or revenue (shown in the display unit).
    """
    cols = [f"{value}_low", f"{value}_base", f"{value}_high"]
    require_columns(frame, ["assumption", "step", *cols], "tornado")
    scale = 1.0 if value == "p_target" else unit
    shown = frame[["assumption", "step"]].copy()
    shown["label"] = shown["assumption"] + " (" + shown["step"] + ")"
    shown["low"], shown["base"], shown["high"] = (frame[c] / scale for c in cols)
    shown["swing"] = (shown["high"] - shown["low"]).abs()
    order = list(shown.sort_values("swing", ascending=False)["label"])
    fmt = ".0%" if value == "p_target" else AXIS_MONEY
    axis_title = "P(reaching the annual target)" if value == "p_target" else with_unit("Plan-year revenue", unit_label)
    long = pd.concat([shown.assign(end=shown["low"], move="unfavourable"),
                      shown.assign(end=shown["high"], move="favourable")], ignore_index=True)
    base = alt.Chart(long, title=make_title(title, subtitle)).properties(width=WIDTH)
    y = alt.Y(field=field("label"), type="nominal", sort=order, title=None, axis=alt.Axis(labelLimit=360))
    bars = base.mark_bar().encode(
        x=alt.X("base:Q", title=axis_title, axis=alt.Axis(format=fmt), scale=alt.Scale(zero=False)), x2="end:Q", y=y,
        color=alt.Color("move:N", scale=alt.Scale(domain=["unfavourable", "favourable"], range=[BAD, GOOD]),
                        title=None))
    rule = alt.Chart(shown.head(1)).mark_rule(color="#222").encode(x="base:Q")
    return alt.layer(bars, rule)


def coverage_bars(frame: pd.DataFrame, *, threshold: float, value: str = "weighted_coverage", title: str,
                  subtitle: str | None = None) -> alt.LayerChart:
    """Return pipeline coverage by region as bars with the threshold as a line.

    Parameters
    ----------
    frame : DataFrame
        region, ``value`` (coverage, 1.0 = the remaining target), as from ``planlib.risk.pipeline_coverage``.
    """
    require_columns(frame, ["region", value], "coverage chart")
    shown = frame[["region", value]].rename(columns={value: "coverage"})
    shown["status"] = (shown["coverage"] >= threshold).map({True: "at or above", False: "below"})
    base = alt.Chart(shown, title=make_title(title, subtitle)).properties(width=WIDTH, height=200)
    y = alt.Y("region:N", sort=list(shown["region"]), title=None)
    bars = base.mark_bar().encode(
        x=alt.X("coverage:Q", title="Pipeline / remaining target", axis=alt.Axis(format=".1f")), y=y,
        color=alt.Color("status:N", scale=alt.Scale(domain=["at or above", "below"], range=[GOOD, BAD]),
                        title=f"vs {threshold:g}x"))
    rule = alt.Chart(pd.DataFrame({"x": [threshold]})).mark_rule(color="#222", strokeDash=[4, 3]).encode(x="x:Q")
    return alt.layer(bars, rule)
