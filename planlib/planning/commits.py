"""Top-down meets bottom-up: each committed entity's target, commit and gap, the odds of each under the
distribution the fairness check uses for reps (summed over a team's or region's reps), who commits below
what their history and capacity make likely (sandbagging) or above it (over-promising), and the totals.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from planlib.core.graph import stage
from planlib.data.commits import COMMIT_LEVELS, Commits, check_commits
from planlib.planning.allocate import AllocationResult

__all__ = ["CommitReview", "commit_summary", "entity_odds", "plan_periods", "reconcile"]

SANDBAGGING, OVER_PROMISING = "sandbagging", "over-promising"


@dataclass(frozen=True)
class CommitReview:
    """The commits checked and set against the top-down targets.

    Attributes
    ----------
    commits : Commits
        Rows used, annual commit per entity, rejects and counts (see :class:`planlib.data.commits.Commits`).
    odds : DataFrame
        Every entity of the plan: level, entity, region, team, target, likely, sd, p_target (see
        :func:`entity_odds`).
    reconciliation : DataFrame
        One row per committed entity (see :func:`reconcile`).
    summary : DataFrame
        One row per level (see :func:`commit_summary`).
    """

    commits: Commits
    odds: pd.DataFrame
    reconciliation: pd.DataFrame
    summary: pd.DataFrame


def plan_periods(allocation: AllocationResult) -> dict[str, str]:
    """Return the plan year's period labels (year, quarters, months) -> period type, as targets.csv names them."""
    pieces = allocation.inputs.pieces
    return {str(p): kind for kind in ("year", "quarter", "month") for p in sorted(pd.unique(pieces[kind]))}


def entity_odds(allocation: AllocationResult, reps: pd.DataFrame) -> pd.DataFrame:
    """Return each entity's top-down target, likely outcome and spread, and P(target).

    A rep's plan-year sales are the Normal of :func:`planlib.planning.fairness.fairness` (mean = potential,
    from their own run rate, ramp and months in the plan year; sd from their month-to-month spread). A team's
    or region's are the sum over its reps, taken as independent (variances add): a team whose reps move
    together is more uncertain than this says, so its P() are nearer 0 or 1 than the truth.

    Parameters
    ----------
    allocation : AllocationResult
        The top-down targets (``tables``, in rounding units).
    reps : DataFrame
        ``Fairness.reps``: rep_id, team, region, potential, sd.

    Returns
    -------
    DataFrame
        level (company, region, team, rep), entity, region, team, target, likely, sd, p_target
        (P(plan-year sales >= target)).
    """
    ins = allocation.inputs
    unit = allocation.unit
    rep = reps.set_index("rep_id").reindex(ins.reps)
    frames = []
    rep_frame = pd.DataFrame({"level": "rep", "entity": ins.reps, "region": rep["region"].to_numpy(),
                              "team": rep["team"].to_numpy(),
                              "target": allocation.tables["rep"].sum(axis=(1, 2)) * unit,
                              "likely": rep["potential"].to_numpy(float), "var": rep["sd"].to_numpy(float) ** 2})
    frames.append(rep_frame)
    team_region = {t: ins.regions[ins.team_region[i]] for i, t in enumerate(ins.teams)}
    for level, names, by in (("team", ins.teams, "team"), ("region", ins.regions, "region")):
        sums = rep_frame.groupby(by)[["likely", "var"]].sum().reindex(names).fillna(0.0)
        frames.append(pd.DataFrame({
            "level": level, "entity": names,
            "region": [team_region[n] for n in names] if level == "team" else names,
            "team": names if level == "team" else "",
            "target": allocation.tables[level].sum(axis=(1, 2)) * unit,
            "likely": sums["likely"].to_numpy(), "var": sums["var"].to_numpy()}))
    frames.append(pd.DataFrame({"level": "company", "entity": "company", "region": "", "team": "",
                                "target": [allocation.tables["company"].sum() * unit],
                                "likely": [rep_frame["likely"].sum()], "var": [rep_frame["var"].sum()]}))
    odds = pd.concat(frames[::-1], ignore_index=True)
    odds["sd"] = np.sqrt(odds.pop("var").clip(lower=0)).clip(lower=1e-9 * np.maximum(odds["likely"].abs(), 1))
    odds["p_target"] = stats.norm.sf(odds["target"], loc=odds["likely"], scale=odds["sd"])
    return odds


def reconcile(annual: pd.DataFrame, odds: pd.DataFrame, *, low: float = 0.30, high: float = 0.85) -> pd.DataFrame:
    """Set each entity's commit against its target and its likely outcome, and flag what looks off.

    A commit that the entity would beat with a probability above ``high`` is sandbagging: it promises
    less than its own history and capacity make likely. One it would reach with a probability below ``low``
    is over-promising. (The same thresholds judge targets in the fairness check.)

    Parameters
    ----------
    annual : DataFrame
        level, entity, commit, submitted_by (``Commits.annual``).
    odds : DataFrame
        From :func:`entity_odds`.
    low, high : float
        P(commit) below ``low`` is over-promising, above ``high`` sandbagging.

    Returns
    -------
    DataFrame
        level, entity, region, team, submitted_by, target, commit, gap (commit - target), gap_pct (of target),
        likely, sd, p_commit, p_target, flag (sandbagging, over-promising or ""), evidence (the numbers behind
        the flag, in words, currency unscaled).
    """
    merged = annual[["level", "entity", "commit", "submitted_by"]].merge(
        odds, on=["level", "entity"], how="left", validate="one_to_one")
    merged["gap"] = merged["commit"] - merged["target"]
    merged["gap_pct"] = np.divide(merged["gap"], merged["target"], out=np.full(len(merged), np.nan),
                                  where=merged["target"].to_numpy(float) > 0)
    merged["p_commit"] = stats.norm.sf(merged["commit"], loc=merged["likely"], scale=merged["sd"])
    flags, evidence = [], []
    for row in merged.itertuples():
        versus = row.commit / row.likely - 1 if row.likely > 0 else np.nan
        if row.p_commit > high:
            flags.append(SANDBAGGING)
            evidence.append(f"commits {versus:+.0%} against the likely outcome of its own history and capacity: "
                            f"a {row.p_commit:.0%} chance of beating it (above {high:.0%})")
        elif row.p_commit < low:
            flags.append(OVER_PROMISING)
            evidence.append(f"commits {versus:+.0%} against the likely outcome of its own history and capacity: "
                            f"only a {row.p_commit:.0%} chance of reaching it (below {low:.0%})")
        else:
            flags.append("")
            evidence.append(f"commits {versus:+.0%} against the likely outcome: a {row.p_commit:.0%} chance of "
                            "reaching it")
    merged["flag"], merged["evidence"] = flags, evidence
    return merged[["level", "entity", "region", "team", "submitted_by", "target", "commit", "gap", "gap_pct",
                   "likely", "sd", "p_commit", "p_target", "flag", "evidence"]]


def commit_summary(reconciliation: pd.DataFrame, odds: pd.DataFrame) -> pd.DataFrame:
    """Return, per level, how much of the company target the commits cover and what they add up to.

    Returns
    -------
    DataFrame
        level, entities (of the plan), committed (entities with a commit), target_committed (the targets of
        the committed entities), commits (their sum), gap (commits - target_committed), company_target,
        coverage (target_committed / company_target), complete (every entity of the level committed),
        commits_vs_company (commits - company target, where complete; else NaN).
    """
    company = float(odds.loc[odds["level"] == "company", "target"].iloc[0])
    rows = []
    for level in COMMIT_LEVELS:
        mine = reconciliation[reconciliation["level"] == level]
        n = int((odds["level"] == level).sum())
        complete = len(mine) == n and n > 0
        commits, targets = float(mine["commit"].sum()), float(mine["target"].sum())
        rows.append({"level": level, "entities": n, "committed": len(mine), "target_committed": targets,
                     "commits": commits, "gap": commits - targets, "company_target": company,
                     "coverage": targets / company if company > 0 else np.nan, "complete": complete,
                     "commits_vs_company": commits - company if complete else np.nan})
    return pd.DataFrame(rows)


@stage("commits", needs=("commit_rows", "allocation", "fairness"), config=("allocation", "fiscal"))
def _commits_stage(plan) -> CommitReview:
    allocation = plan["allocation"]
    ins = allocation.inputs
    checked = check_commits(plan["commit_rows"], entities={"region": ins.regions, "team": ins.teams, "rep": ins.reps},
                            periods=plan_periods(allocation), products=ins.products,
                            fiscal_year=f"FY{plan.config.fiscal.year}")
    odds = entity_odds(allocation, plan["fairness"].reps)
    cfg = plan.config.allocation
    recon = reconcile(checked.annual, odds, low=cfg.fairness_low, high=cfg.fairness_high)
    return CommitReview(checked, odds, recon, commit_summary(recon, odds))
