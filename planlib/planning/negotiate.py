"""The negotiated plan: managers' commits taken as a floor under the top-down targets or blended with them,
the company total kept exactly by moving the difference to the entities with the most headroom by
P(attainment), every move listed; then the whole allocation re-split from the negotiated totals.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from planlib.core.graph import stage
from planlib.data.commits import COMMIT_LEVELS
from planlib.planning.allocate import AllocationResult, allocate, largest_remainder, rep_productivity
from planlib.planning.commits import CommitReview
from planlib.planning.fairness import Fairness, fairness

__all__ = ["MOVE_RULE", "Negotiation", "commits_view", "fairness_comparison", "negotiate", "negotiated_allocation",
           "negotiation_level", "talking_points", "what_if", "what_if_for"]

MOVE_RULE = ("the difference between the company target and the sum after commits is spread so that the "
             "entities with the most headroom (highest P(attainment)) take it first: their targets rise (or, "
             "when commits add more than the target, the least likely targets fall) until all the entities "
             "that moved share one P(attainment); no target goes below 0 and, under floor, none below its commit")


@dataclass(frozen=True)
class Negotiation:
    """What the negotiation did at one level.

    Attributes
    ----------
    mode : str
        The config's ``allocation.commits`` (ignore, floor, blend).
    method : str
        The rule the moves follow: floor or blend (blend when the config ignores commits: a proposal).
    applied : bool
        The bundle's targets are the negotiated ones (mode is floor or blend and some entity committed).
    level : str
        The level negotiated (region, team or rep; "" when there is no commit).
    weight : float
        The commit's weight under blend.
    moves : DataFrame
        One row per entity of the level (see :func:`negotiate`).
    notes : list of str
        What could not be done as asked (floors that could not all hold).
    """

    mode: str
    method: str
    applied: bool
    level: str
    weight: float
    moves: pd.DataFrame
    notes: list


def negotiation_level(summary: pd.DataFrame) -> str:
    """Return the level whose commits cover the most of the company target (ties: the coarser); "" if none."""
    committed = summary[summary["committed"] > 0]
    if committed.empty:
        return ""
    order = {lv: i for i, lv in enumerate(COMMIT_LEVELS)}
    best = committed.assign(rank=committed["level"].map(order)).sort_values(["coverage", "rank"],
                                                                            ascending=[False, True], kind="stable")
    return str(best["level"].iloc[0])


def _water_fill(start: np.ndarray, likely: np.ndarray, sd: np.ndarray, total: float, lower: np.ndarray) -> np.ndarray:
    """Move ``start`` to add to ``total``: raise the lowest z = (t - likely) / sd, or lower the highest, to one level."""
    diff = total - start.sum()
    if abs(diff) < 1e-9:
        return start.copy()

    def moved(z: float) -> np.ndarray:
        level = likely + z * sd
        return np.maximum(start, level) if diff > 0 else np.clip(np.minimum(start, level), lower, None)

    # the sum is increasing in z either way: bracket the z where it meets the total, then bisect
    z_now = (start - likely) / sd
    lo, hi, step = float(z_now.min()) - 1.0, float(z_now.max()) + 1.0, 1.0
    while moved(hi).sum() < total:
        hi, step = hi + step, step * 2
    step = 1.0
    while moved(lo).sum() > total:
        lo, step = lo - step, step * 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if moved(mid).sum() > total:
            hi = mid
        else:
            lo = mid
    return moved((lo + hi) / 2)


def negotiate(frame: pd.DataFrame, total_units: int, *, method: str, weight: float = 0.5,
              unit: float = 1.0) -> tuple[pd.DataFrame, list[str]]:
    """Negotiate one level's targets with its commits, keeping the level's total exactly.

    Step 1 (commits): under ``floor`` a committed entity's target becomes max(target, commit); under
    ``blend`` weight x commit + (1 - weight) x target. Step 2 (the difference): see :data:`MOVE_RULE`.
    Step 3: rounded to whole units by largest remainder, so the entities add to ``total_units``.

    Parameters
    ----------
    frame : DataFrame
        One row per entity of the level: entity, target, commit (NaN: no commit), likely, sd (currency).
    total_units : int
        What the level must add up to, in rounding units.
    method : str
        floor or blend.
    weight : float, default 0.5
        The commit's weight under blend.
    unit : float, default 1.0
        The rounding unit (currency).

    Returns
    -------
    (DataFrame, list of str)
        The moves: entity, commit, top_down, after_commits, final, commit_step (after_commits - top_down),
        headroom_step (final - after_commits), move (final - top_down), p_top_down, p_final, reason;
        and notes on what could not be done as asked.
    """
    if method not in ("floor", "blend"):
        raise ValueError(f"method must be floor or blend, got {method!r}")
    notes: list[str] = []
    top = frame["target"].to_numpy(float)
    commit = frame["commit"].to_numpy(float)
    has = ~np.isnan(commit)
    sd = np.maximum(frame["sd"].to_numpy(float), 1e-9 * np.maximum(np.abs(top), unit))
    likely = frame["likely"].to_numpy(float)
    after = top.copy()
    if method == "floor":
        after[has] = np.maximum(top[has], commit[has])
        lower = np.where(has, commit, 0.0)
    else:
        after[has] = weight * commit[has] + (1 - weight) * top[has]
        lower = np.zeros(len(top))
    total = total_units * unit
    if lower.sum() > total:
        notes.append(f"the commits add to {lower.sum():,.0f}, more than the total of {total:,.0f}: they cannot all "
                     "be floors; the least likely targets fall below their commits")
        lower = np.zeros(len(top))
    filled = _water_fill(after, likely, sd, total, lower)
    final = largest_remainder(np.maximum(filled, 0) / unit, int(total_units)) * unit
    p_top = stats.norm.sf(top, loc=likely, scale=sd)
    p_final = stats.norm.sf(final, loc=likely, scale=sd)
    reasons = []
    for i in range(len(top)):
        why = []
        if has[i] and abs(after[i] - top[i]) >= unit / 2:
            why.append(f"{method}: commit {commit[i] / top[i] - 1:+.0%} against the target" if top[i] > 0 else
                       f"{method}: commit against a target of 0")
        step = final[i] - after[i]
        if abs(step) >= unit / 2:
            why.append(("takes " if step > 0 else "gives up ") + f"{abs(step) / total:.1%} of the total as its "
                       f"share of the difference (P(attainment) "
                       f"{stats.norm.sf(after[i], loc=likely[i], scale=sd[i]):.0%} after commits)")
        reasons.append("; ".join(why) or "unchanged")
    moves = pd.DataFrame({"entity": frame["entity"].to_numpy(), "commit": commit, "top_down": top,
                          "after_commits": after, "final": final, "commit_step": after - top,
                          "headroom_step": final - after, "move": final - top, "p_top_down": p_top,
                          "p_final": p_final, "reason": reasons})
    return moves, notes


def negotiated_allocation(allocation: AllocationResult, level: str, final_units: np.ndarray, *,
                          uplift: dict[str, float] | None = None) -> AllocationResult:
    """Re-split the plan so that ``level``'s entities get ``final_units`` (in their order), exactly.

    The levels above take the sums of their children; the levels below are split by the allocation's own
    weights within their new parent totals; products and weeks follow as in :func:`allocate`. ``uplift``
    (``allocation.uplift`` of the config) is applied as in the top-down plan, so a level above ``level``
    with an uplift scales its children's totals.
    """
    ins = allocation.inputs
    final = np.asarray(final_units, dtype=float)
    changes = {f"{level}_weight": final}
    if level == "rep":
        changes["team_weight"] = np.bincount(ins.rep_team, weights=final, minlength=len(ins.teams))
    if level in ("rep", "team"):
        team = changes.get("team_weight", final)
        changes["region_weight"] = np.bincount(ins.team_region, weights=team, minlength=len(ins.regions))
    total = int(allocation.tables["company"].sum())
    return allocate(total, replace(ins, **changes), unit=allocation.unit, uplift=uplift)


def _negotiation(allocation: AllocationResult, review: CommitReview, mode: str, weight: float) -> Negotiation:
    method = mode if mode in ("floor", "blend") else "blend"
    level = negotiation_level(review.summary)
    if not level:
        return Negotiation(mode, method, False, "", weight, pd.DataFrame(), [])
    odds = review.odds[review.odds["level"] == level]
    mine = review.reconciliation[review.reconciliation["level"] == level].set_index("entity")["commit"]
    frame = odds.assign(commit=odds["entity"].map(mine))
    total_units = int(allocation.tables[level].sum())
    moves, notes = negotiate(frame, total_units, method=method, weight=weight, unit=allocation.unit)
    moves.insert(1, "region", odds["region"].to_numpy())
    return Negotiation(mode, method, mode != "ignore", level, weight, moves, notes)


def what_if(plan, method: str = "blend", weight: float = 0.5) -> pd.DataFrame:
    """Return the moves the negotiation would make under ``method`` and ``weight``; the plan is not changed.

    Returns
    -------
    DataFrame
        As :func:`negotiate` returns it, with region; empty when nobody committed.
    """
    return _negotiation(plan["allocation"], plan["commits"], method, weight).moves


def what_if_for(plan):
    """Return :func:`what_if` bound to ``plan``, as a named function for ``ipywidgets.interact``.

    >>> # ipywidgets.interact(what_if_for(plan), method=["blend", "floor"], weight=(0.0, 1.0, 0.1))
    """
    cfg = plan.config.allocation
    start = cfg.commits if cfg.commits != "ignore" else "blend"

    def what_if_commits(method: str = start, weight: float = cfg.commits_weight) -> pd.DataFrame:
        return what_if(plan, method=method, weight=weight)

    return what_if_commits


@stage("negotiation", needs=("allocation", "commits"), config=("allocation",))
def _negotiation_stage(plan) -> Negotiation:
    cfg = plan.config.allocation
    return _negotiation(plan["allocation"], plan["commits"], cfg.commits, cfg.commits_weight)


@stage("negotiated_proposal", needs=("allocation", "negotiation"), config=("allocation",))
def _proposal_stage(plan) -> AllocationResult:
    """The allocation the negotiation's moves give (also when the config ignores commits: a proposal)."""
    allocation, neg = plan["allocation"], plan["negotiation"]
    if not neg.level:
        return allocation
    return negotiated_allocation(allocation, neg.level, neg.moves["final"].to_numpy(float) / allocation.unit,
                                 uplift=plan.config.allocation.uplift)


@stage("negotiated_allocation", needs=("allocation", "negotiated_proposal"), config=("allocation",))
def _negotiated_allocation_stage(plan) -> AllocationResult:
    """The allocation the bundle's targets come from: the negotiated one under floor or blend."""
    if plan.config.allocation.commits == "ignore":  # no commit is read: a plan without commits costs nothing more
        return plan["allocation"]
    return plan["negotiated_proposal"]


@stage("negotiated_fairness", needs=("negotiated_proposal", "annual_target", "history"),
       config=("allocation", "as_of"))
def _negotiated_fairness_stage(plan) -> Fairness:
    """The fairness check of :mod:`planlib.planning.fairness` run on the negotiated targets."""
    cfg = plan.config
    allocation = plan["negotiated_proposal"]
    productivity = rep_productivity(plan["history"], allocation.inputs.rep_info, cfg.last_closed_month,
                                    ramp=cfg.allocation.ramp)
    target = plan["annual_target"]
    growth = target.forecast_mean / target.trailing_12m - 1 if target.trailing_12m > 0 else 0.0
    return fairness(allocation, productivity, growth=growth, low=cfg.allocation.fairness_low,
                    high=cfg.allocation.fairness_high)


# --------------------------------------------------------------------------- views for the page and plan.xlsx
def commits_view(review: CommitReview, negotiation: Negotiation) -> pd.DataFrame:
    """Return one row per committed entity with its target, commit, gap, odds, flag and negotiated target.

    Returns
    -------
    DataFrame
        Level, Entity, Region, Submitted by, Target (top-down), Commit, Gap, Gap %, Likely outcome, P(commit),
        P(target), Flag, Evidence, Negotiated target, Move (NaN where the entity's level was not negotiated).
    """
    rec = review.reconciliation
    final = negotiation.moves.set_index("entity")["final"] if negotiation.level else pd.Series(dtype=float)
    negotiated = np.where(rec["level"] == negotiation.level, rec["entity"].map(final), np.nan)
    return pd.DataFrame({
        "Level": rec["level"], "Entity": rec["entity"], "Region": rec["region"], "Submitted by": rec["submitted_by"],
        "Target (top-down)": rec["target"], "Commit": rec["commit"], "Gap": rec["gap"], "Gap %": rec["gap_pct"],
        "Likely outcome": rec["likely"], "P(commit)": rec["p_commit"], "P(target)": rec["p_target"],
        "Flag": rec["flag"], "Evidence": rec["evidence"], "Negotiated target": negotiated,
        "Move": negotiated - rec["target"].to_numpy(float)})


def fairness_comparison(top_down: Fairness, negotiated: Fairness) -> pd.DataFrame:
    """Return the fairness of the rep targets of both plans, one row each.

    Returns
    -------
    DataFrame
        plan ("top-down", "negotiated"), below_low (share of reps under the low P(attainment)), above_high
        (share over the high one), median_probability, gini (of target over potential; 0 = all asked alike).
    """
    rows = []
    for name, fair in (("top-down", top_down), ("negotiated", negotiated)):
        s = fair.summary
        rows.append({"plan": name, "below_low": s["share_below_low"], "above_high": s["share_above_high"],
                     "median_probability": s["median_probability"], "gini": s["gini"]})
    return pd.DataFrame(rows)


def talking_points(review: CommitReview, negotiation: Negotiation, *, unit: float = 1.0,
                   unit_label: str = "") -> pd.DataFrame:
    """Return what to say to each manager who committed, built from their numbers.

    Returns
    -------
    DataFrame
        manager (submitted_by, else the entity), entity, points (sentences, money in the display unit).
    """
    from planlib.core.text import money

    def m(value):
        return money(value, unit, unit_label)

    final = negotiation.moves.set_index("entity") if negotiation.level else pd.DataFrame()
    rows = []
    for r in review.reconciliation.itertuples():
        side = "above" if r.gap >= 0 else "below"
        points = [f"Your commit of {m(r.commit)} is {m(abs(r.gap))} ({abs(r.gap_pct):.0%}) {side} today's target of "
                  f"{m(r.target)}."]
        if r.flag == "sandbagging":
            points.append(f"Your own run rate and capacity point to about {m(r.likely)}: you would beat your commit "
                          f"with a {r.p_commit:.0%} chance. What do you see coming that the history does not show?")
        elif r.flag == "over-promising":
            points.append(f"Your own run rate and capacity point to about {m(r.likely)}: your commit has a "
                          f"{r.p_commit:.0%} chance. Which deals make this year different, and by when will we "
                          "know?")
        else:
            points.append(f"Your commit is in line with your history and capacity (likely {m(r.likely)}, a "
                          f"{r.p_commit:.0%} chance of reaching it).")
        if r.level == negotiation.level and r.entity in final.index:
            move = final.loc[r.entity]
            verb = "would be" if not negotiation.applied else "is"
            points.append(f"The negotiated target {verb} {m(move['final'])} ({m(abs(move['move']))} "
                          f"{'more' if move['move'] >= 0 else 'less'} than the top-down one): its chance of "
                          f"attainment goes from {move['p_top_down']:.0%} to {move['p_final']:.0%}.")
        rows.append({"manager": r.submitted_by or r.entity, "entity": r.entity, "points": " ".join(points)})
    return pd.DataFrame(rows, columns=["manager", "entity", "points"])
