"""Top-down meets bottom-up: each committed entity's target, commit and gap, the odds of each from the plan's
one model (the Monte Carlo's simulated years, summed over a team's or region's reps in each year: see
:mod:`planlib.planning.odds`), who commits below what that model makes likely (sandbagging) or above it
(over-promising), and the totals.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planlib.core.graph import stage
from planlib.data.commits import COMMIT_LEVELS, Commits, check_commits
from planlib.planning.allocate import AllocationResult
from planlib.planning.odds import Outcomes, outcome_odds, outcomes_of, share_reaching

__all__ = ["CommitReview", "commit_summary", "entity_draws", "entity_odds", "plan_periods", "reconcile"]

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


def entity_draws(allocation: AllocationResult, outcomes: Outcomes) -> pd.DataFrame:
    """Return each entity's simulated plan-year sales: columns (level, entity), one row per simulated year.

    A rep's are the rep's own draws; a team's and a region's the sum of their reps' in the same year (so
    reps who move together move their team together); the company's the Monte Carlo's own total. See
    :mod:`planlib.planning.odds` for the model and the rule.

    Raises
    ------
    ValueError
        When the allocation's reps and the simulated reps differ (every rep with a target must be simulated,
        and every simulated rep's sales must belong to a team): names both lists.
    """
    ins = allocation.inputs
    reps = outcomes.reps
    missing = [r for r in ins.reps if r not in reps.columns]
    extra = [r for r in reps.columns if r not in set(ins.reps)]
    if missing or extra:
        raise ValueError(f"the simulated reps and the reps with targets differ: with a target but not simulated "
                         f"{missing or 'none'}; simulated without a target {extra or 'none'}")
    rep = reps[list(ins.reps)].to_numpy(dtype=float)
    team = np.zeros((len(rep), len(ins.teams)))
    np.add.at(team.T, np.asarray(ins.rep_team), rep.T)
    region = np.zeros((len(rep), len(ins.regions)))
    np.add.at(region.T, np.asarray(ins.team_region), team.T)
    blocks = [pd.DataFrame(outcomes.company[:, None], columns=pd.MultiIndex.from_tuples([("company", "company")])),
              pd.DataFrame(region, columns=pd.MultiIndex.from_product([["region"], list(ins.regions)])),
              pd.DataFrame(team, columns=pd.MultiIndex.from_product([["team"], list(ins.teams)])),
              pd.DataFrame(rep, columns=pd.MultiIndex.from_product([["rep"], list(ins.reps)]))]
    draws = pd.concat(blocks, axis=1)
    draws.columns = draws.columns.set_names(["level", "entity"])
    return draws


def entity_odds(allocation: AllocationResult, outcomes: Outcomes) -> pd.DataFrame:
    """Return each entity's top-down target, likely outcome and spread, and P(target), from the one model.

    Every figure is read off the Monte Carlo's simulated years (:func:`entity_draws`): likely is the mean of
    the entity's simulated plan-year sales, sd their spread, p_target the share of years at or above the
    target. So the reps' likely outcomes add up to their team's, the teams' to their region's and the
    regions' to the company's (to rounding), and the company's p_target is the Monte Carlo's.

    Parameters
    ----------
    allocation : AllocationResult
        The top-down targets (``tables``, in rounding units).
    outcomes : Outcomes
        :func:`planlib.planning.odds.outcomes_of` the ``monte_carlo`` stage.

    Returns
    -------
    DataFrame
        level (company, region, team, rep), entity, region, team, target, likely, sd, p_target
        (P(plan-year sales >= target)).
    """
    ins = allocation.inputs
    unit = allocation.unit
    team_region = [ins.regions[i] for i in ins.team_region]
    rep_team = [ins.teams[i] for i in ins.rep_team]
    frame = pd.concat([
        pd.DataFrame({"level": "company", "entity": ["company"], "region": "", "team": "",
                      "target": [allocation.tables["company"].sum() * unit]}),
        pd.DataFrame({"level": "region", "entity": list(ins.regions), "region": list(ins.regions), "team": "",
                      "target": allocation.tables["region"].sum(axis=(1, 2)) * unit}),
        pd.DataFrame({"level": "team", "entity": list(ins.teams), "region": team_region, "team": list(ins.teams),
                      "target": allocation.tables["team"].sum(axis=(1, 2)) * unit}),
        pd.DataFrame({"level": "rep", "entity": list(ins.reps),
                      "region": [team_region[t] for t in ins.rep_team], "team": rep_team,
                      "target": allocation.tables["rep"].sum(axis=(1, 2)) * unit})], ignore_index=True)
    draws = entity_draws(allocation, outcomes)
    odds = outcome_odds(draws, frame["target"].to_numpy(float))
    return frame.assign(likely=odds["likely"].to_numpy(), sd=odds["sd"].to_numpy(),
                        p_target=odds["p_target"].to_numpy())


def reconcile(annual: pd.DataFrame, odds: pd.DataFrame, draws: pd.DataFrame, *, low: float = 0.30,
              high: float = 0.85) -> pd.DataFrame:
    """Set each entity's commit against its target and its likely outcome, and flag what looks off.

    P(commit) is the share of the entity's simulated years (``draws``, the same ones as P(target)) at or
    above the commit.

    A commit that the entity would beat with a probability above ``high`` is sandbagging: it promises
    less than its share of the plan's capacity and forecast (its own run rate and ramp) makes likely. One it would reach with a probability below ``low``
    is over-promising. (The same thresholds judge targets in the fairness check.)

    Parameters
    ----------
    annual : DataFrame
        level, entity, commit, submitted_by (``Commits.annual``).
    odds : DataFrame
        From :func:`entity_odds`.
    draws : DataFrame
        From :func:`entity_draws`: columns (level, entity), one row per simulated year.
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
    keys = pd.MultiIndex.from_arrays([merged["level"], merged["entity"]])
    missing = [f"{lv} {e}" for lv, e in keys if (lv, e) not in draws.columns]
    if missing:
        raise ValueError(f"no simulated outcome for the committed {', '.join(missing)}")
    merged["p_commit"] = share_reaching(draws[keys], merged["commit"].to_numpy(float)) if len(merged) else []
    flags, evidence = [], []
    for row in merged.itertuples():
        versus = row.commit / row.likely - 1 if row.likely > 0 else np.nan
        if row.p_commit > high:
            flags.append(SANDBAGGING)
            evidence.append(f"commits {versus:+.0%} against the likely outcome of its capacity share of the "
                            f"forecast: a {row.p_commit:.0%} chance of beating it (above {high:.0%})")
        elif row.p_commit < low:
            flags.append(OVER_PROMISING)
            evidence.append(f"commits {versus:+.0%} against the likely outcome of its capacity share of the "
                            f"forecast: only a {row.p_commit:.0%} chance of reaching it (below {low:.0%})")
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


@stage("commits", needs=("commit_rows", "allocation", "monte_carlo"), config=("allocation", "fiscal"))
def _commits_stage(plan) -> CommitReview:
    allocation = plan["allocation"]
    ins = allocation.inputs
    checked = check_commits(plan["commit_rows"], entities={"region": ins.regions, "team": ins.teams, "rep": ins.reps},
                            periods=plan_periods(allocation), products=ins.products,
                            fiscal_year=f"FY{plan.config.fiscal.year}")
    # the odds are the Monte Carlo's (planlib.planning.odds): read through the stage, nothing imported from risk
    outcomes = outcomes_of(plan["monte_carlo"])
    odds = entity_odds(allocation, outcomes)
    cfg = plan.config.allocation
    recon = reconcile(checked.annual, odds, entity_draws(allocation, outcomes), low=cfg.fairness_low,
                      high=cfg.fairness_high)
    return CommitReview(checked, odds, recon, commit_summary(recon, odds))
