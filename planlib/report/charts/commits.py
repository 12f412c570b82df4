"""Charts of managers' commits: the gap by region and team, target against commit against the likely outcome,
and the moves of the negotiated plan.

Each takes a table from ``planlib.planning.commits`` or ``planlib.planning.negotiate`` (columns in each
docstring) and a title that says what to see; money is shown in the display unit.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from planlib.report.charts import AXIS_MONEY, PALETTE, WIDTH, bars, make_title, require_columns, with_unit

__all__ = ["FLAG_COLORS", "commit_gap", "commit_moves", "target_commit_likely"]

FLAG_COLORS = {"sandbagging": PALETTE[1], "over-promising": PALETTE[3], "in line": PALETTE[0]}


def commit_gap(reconciliation: pd.DataFrame, *, title: str, subtitle: str | None = None, unit: float = 1.0,
               unit_label: str = "") -> alt.Chart | alt.LayerChart:
    """Return the gap (commit - target) of each region and team, teams summed into their regions too.

    Parameters
    ----------
    reconciliation : DataFrame
        level, entity, region, gap (from :func:`planlib.planning.commits.reconcile`).
    """
    require_columns(reconciliation, ["level", "entity", "region", "gap"], "commit gap chart")
    rec = reconciliation[reconciliation["level"].isin(["region", "team"])]
    regions = rec[rec["level"] == "region"].set_index("entity")["gap"]
    summed = rec[rec["level"] == "team"].groupby("region", sort=True)["gap"].sum()
    rows = []
    for region in sorted(set(regions.index) | set(summed.index)):
        gap = regions.get(region, summed.get(region))
        rows.append({"entity": f"{region} (region)", "gap": float(gap), "Level": "region"})
        for team in rec[(rec["level"] == "team") & (rec["region"] == region)].itertuples():
            rows.append({"entity": f"  {team.entity}", "gap": float(team.gap), "Level": "team"})
    frame = pd.DataFrame(rows, columns=["entity", "gap", "Level"])
    return bars(frame, "entity", "gap", "Level", title=title, subtitle=subtitle, horizontal=True, stack=True,
                unit=unit, unit_label=unit_label, x_title="Region and its teams", y_title="Commit - target")


def target_commit_likely(reconciliation: pd.DataFrame, *, title: str, subtitle: str | None = None,
                         unit: float = 1.0, unit_label: str = "") -> alt.LayerChart:
    """Return per entity: the target (bar), the commit (tick, coloured by flag) and the likely outcome with
    its 80% range (point and line).

    Parameters
    ----------
    reconciliation : DataFrame
        entity, target, commit, likely, sd, flag.
    """
    require_columns(reconciliation, ["entity", "target", "commit", "likely", "sd", "flag"], "target vs commit chart")
    z80 = 1.2815515655446004  # the 80% range of a Normal: likely +- z80 x sd
    shown = pd.DataFrame({
        "entity": reconciliation["entity"].astype(str), "target": reconciliation["target"] / unit,
        "commit": reconciliation["commit"] / unit, "likely": reconciliation["likely"] / unit,
        "low": (reconciliation["likely"] - z80 * reconciliation["sd"]) / unit,
        "high": (reconciliation["likely"] + z80 * reconciliation["sd"]) / unit,
        "flag": reconciliation["flag"].replace({"": "in line"})})
    order = list(shown["entity"])
    base = alt.Chart(shown).properties(width=WIDTH, height=max(140, 26 * len(shown)))
    y = alt.Y("entity:N", title=None, sort=order)
    money_axis = alt.Axis(format=AXIS_MONEY)
    target = base.mark_bar(color="#c9d6e3", height=16).encode(
        y=y, x=alt.X("target:Q", title=with_unit("Plan year", unit_label), axis=money_axis))
    spread = base.mark_rule(color="#333333").encode(y=y, x="low:Q", x2="high:Q")
    likely = base.mark_point(color="#333333", filled=True, size=40).encode(y=y, x="likely:Q")
    flags = [f for f in FLAG_COLORS if f in set(shown["flag"])]
    commit = base.mark_tick(thickness=4, size=22).encode(
        y=y, x="commit:Q", color=alt.Color("flag:N", title="Commit", scale=alt.Scale(
            domain=flags, range=[FLAG_COLORS[f] for f in flags])))
    return alt.layer(target, spread, likely, commit).properties(title=make_title(title, subtitle))


def commit_moves(moves: pd.DataFrame, *, title: str, subtitle: str | None = None, unit: float = 1.0,
                 unit_label: str = "") -> alt.Chart | alt.LayerChart:
    """Return each entity's move from the top-down target in two steps: the commits, then the difference.

    Parameters
    ----------
    moves : DataFrame
        entity, commit_step, headroom_step (from :func:`planlib.planning.negotiate.negotiate`).
    """
    require_columns(moves, ["entity", "commit_step", "headroom_step"], "moves chart")
    long = pd.concat([
        pd.DataFrame({"entity": moves["entity"], "Step": "1. the commit", "amount": moves["commit_step"]}),
        pd.DataFrame({"entity": moves["entity"], "Step": "2. the difference, by headroom",
                      "amount": moves["headroom_step"]})], ignore_index=True)
    return bars(long, "entity", "amount", "Step", title=title, subtitle=subtitle, horizontal=True, stack=True,
                unit=unit, unit_label=unit_label, x_title="Entity", y_title="Move from the top-down target")
