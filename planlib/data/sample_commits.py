"""The sample company's bottom-up commits for FY2027: each team manager's quarterly commit, built from the
team's own last twelve months of sales. Two teams sandbag (commit well under their run rate) and one
over-promises; which ones, and the small noise on the rest, are drawn from the seed.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SAMPLE_COMMIT_MIX", "sample_commits"]

# How the sample's managers commit, against their team's trailing twelve months grown by GROWTH:
# (number of teams, factor). The rest commit the grown run rate with a little noise.
SAMPLE_COMMIT_MIX = {"sandbagging": (2, 0.82), "over-promising": (1, 1.32)}
GROWTH = 0.06
NOISE = 0.02
ROUND_TO = 1000


def sample_commits(sales: pd.DataFrame, reps: pd.DataFrame, *, history_end: str | pd.Timestamp,
                   fiscal_year: int, seed: int) -> pd.DataFrame:
    """Return one commit per team and quarter of ``fiscal_year`` (a calendar fiscal year).

    Parameters
    ----------
    sales : DataFrame
        date, amount, rep_id (the sample's deals).
    reps : DataFrame
        rep_id, team.
    history_end : str or Timestamp
        Last day of the history: the commits start from the twelve months up to it.
    fiscal_year : int
        The plan year (its quarters are "<year>Q1".."<year>Q4").
    seed : int
        Seed of the draws (which teams sandbag and over-promise, and the noise).

    Returns
    -------
    DataFrame
        level ("team"), entity, product (blank: all products), period ("2027Q1"), amount (whole thousands),
        submitted_by, note. Teams in name order, quarters in order.
    """
    rng = np.random.default_rng(seed)
    end = pd.Timestamp(history_end)
    team_of = reps.drop_duplicates("rep_id").set_index("rep_id")["team"]
    deals = sales.assign(team=sales["rep_id"].map(team_of))
    recent = deals[(deals["date"] > end - pd.DateOffset(years=1)) & (deals["date"] <= end)]
    run_rate = recent.groupby("team")["amount"].sum()
    teams = sorted(run_rate.index)
    # Quarter shares from the team's last two full calendar years: a manager commits to their own seasons.
    past = deals[(deals["date"].dt.year >= end.year - 2) & (deals["date"].dt.year < end.year)]
    shares = past.groupby(["team", past["date"].dt.quarter])["amount"].sum().unstack(fill_value=0.0)
    shares = shares.div(shares.sum(axis=1), axis=0).reindex(teams).fillna(0.25)
    order = rng.permutation(len(teams))
    behaviour = {}
    start = 0
    for kind, (count, _) in SAMPLE_COMMIT_MIX.items():
        for i in order[start:start + count]:
            behaviour[teams[i]] = kind
        start += count
    rows = []
    for team in teams:
        kind = behaviour.get(team, "")
        factor = SAMPLE_COMMIT_MIX[kind][1] if kind else 1.0
        annual = run_rate[team] * (1 + GROWTH) * factor * (1 + rng.normal(0, NOISE))
        quarters = np.round(annual * shares.loc[team].to_numpy(float) / ROUND_TO) * ROUND_TO
        note = {"sandbagging": "market is soft; we would rather beat a safe number",
                "over-promising": "two big hospital tenders will land this year"}.get(kind, "run rate plus growth")
        for q, amount in enumerate(quarters, start=1):
            rows.append({"level": "team", "entity": team, "product": "", "period": f"{fiscal_year}Q{q}",
                         "amount": float(amount), "submitted_by": f"{team} manager", "note": note})
    return pd.DataFrame(rows)
