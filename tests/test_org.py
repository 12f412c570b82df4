"""planlib.data.org (moves and reorganisations) and planlib.data.checks.discontinued on hand-made tables."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from planlib.core.config import parse_config
from planlib.core.errors import ConfigError, DataError
from planlib.data import discontinued, monthly_panel
from planlib.data.org import apply_reorg_to_roster, rep_segments, sale_teams, transfer_problems

ROSTER = pd.DataFrame({"rep_id": ["R1", "R2", "R3"], "team": ["A", "B", "B"], "region": ["East", "East", "West"]})


def _config(reorg):
    return {"company": {"name": "X", "currency": "USD"}, "fiscal": {"year": 2027}, "as_of": "2026-11-20",
            "data": {"sales": {"path": "s.csv"}, "reps": {"path": "r.csv"}, "reorg": reorg}}


def test_reorg_config_names_every_problem():
    with pytest.raises(ConfigError) as info:
        parse_config(_config({"A": {"A1": 0.5, "A2": 0.4}, "B": "B", "C": "A", "D": {"E": 1.5, "F": -0.5}}))
    (key, message), = info.value.problems
    assert key == "data.reorg"
    assert "'A': the shares of a split must add to 1, found 0.9" in message
    assert "'B' maps onto itself" in message
    assert "'C' maps to ['A'], which the reorg maps again" in message
    assert "'D': every share must be above 0" in message
    assert parse_config(_config({"A": {"A1": 0.25, "A2": 0.75}, "C": "Z"})).data.reorg["C"] == "Z"


def test_a_split_team_left_on_the_roster_is_an_error_naming_every_rep():
    with pytest.raises(DataError, match=r"reps.csv: 2 rep\(s\) are in a team that data.reorg splits: "
                                        r"R2 \(B -> \['B1', 'B2'\]\), R3 \(B -> \['B1', 'B2'\]\)"):
        apply_reorg_to_roster(ROSTER, {"B": {"B1": 0.5, "B2": 0.5}}, "reps.csv")
    renamed, n = apply_reorg_to_roster(ROSTER, {"B": "Beta"}, "reps.csv")
    assert n == 2 and renamed["team"].tolist() == ["A", "Beta", "Beta"]


def test_moves_are_checked_from_the_roster_back():
    moves = pd.DataFrame({"rep_id": ["R1", "R1", "R2", "R3"],
                          "date": pd.to_datetime(["2025-01-01", "2025-06-01", "2025-03-01", "2025-04-01"]),
                          "from_team": ["B", "C", "A", "B"], "from_region": ["", "", "", ""],
                          "to_team": ["C", "A", "A", "B"], "to_region": ["", "", "", ""]})
    problems = transfer_problems(moves, ROSTER, first_sale=dt.date(2024, 1, 1), as_of=dt.date(2026, 11, 20))
    flat = [(int(r), c, why) for rows, c, why in problems for r in rows]
    # R1: B -> C -> A chains to the roster's A; R2's move lands in A but the roster has B; R3 changes nothing
    assert flat == [(2, "to_team", "B: the rep's team after this move (the roster's, or the next move's from_team), "
                                   "not A"),
                    (3, "from_team", "a move that changes the rep's team or region: before and after it are B in "
                                     "West")]
    segments = rep_segments(ROSTER, moves.iloc[:2])
    r1 = segments[segments["rep_id"] == "R1"].sort_values("start")
    assert r1["team"].tolist() == ["B", "C", "A"]


def test_sale_teams_split_a_team_by_share_and_the_panel_adds_up():
    sales = pd.DataFrame({"date": pd.to_datetime(["2025-01-10", "2025-08-10", "2025-08-20"]),
                          "amount": [100.0, 40.0, 10.0], "rep_id": ["R1", "R1", "R3"], "product": ["P"] * 3})
    moves = pd.DataFrame({"rep_id": ["R1"], "date": pd.to_datetime(["2025-07-01"]), "from_team": ["Old"],
                          "from_region": [""], "to_team": ["A"], "to_region": [""]})
    teams = sale_teams(sales, rep_segments(ROSTER, moves), {"Old": {"A": 0.25, "B": 0.75}})
    assert sorted(zip(teams["row"], teams["team"], teams["share"])) == [
        (0, "A", 0.25), (0, "B", 0.75), (1, "A", 1.0), (2, "B", 1.0)]
    panel = monthly_panel(sales, ROSTER, "2025-08-31", teams)
    team = panel[panel["level"] == "team"].set_index(["team", "ds"])["y"]
    assert team["A", pd.Timestamp("2025-01-01")] == 25.0 and team["B", pd.Timestamp("2025-01-01")] == 75.0
    assert team["A", pd.Timestamp("2025-08-01")] == 40.0 and team["B", pd.Timestamp("2025-08-01")] == 10.0


def _panel(series: dict[tuple[str, str | None, str | None], list[float]], end="2026-10-01") -> pd.DataFrame:
    months = pd.date_range(end=end, periods=len(next(iter(series.values()))), freq="MS")
    rows = []
    for (level, region, product), ys in series.items():
        uid = "/".join([level] + [x for x in (region, product) if x])
        rows += [{"unique_id": uid, "ds": m, "y": y, "level": level, "region": region, "product": product}
                 for m, y in zip(months, ys)]
    return pd.DataFrame(rows)


def test_discontinued_counts_months_without_a_sale_back_from_the_end():
    ones, stop6, stop5 = [1.0] * 12, [1.0] * 6 + [0.0] * 6, [1.0] * 7 + [0.0] * 5
    history = _panel({("region", "N", None): ones, ("region", "S", None): stop6,
                      ("product", None, "P"): ones, ("product", None, "Q"): stop5,
                      ("region_product", "N", "P"): ones, ("region_product", "N", "Q"): [1.0] * 4 + [0.0] * 8,
                      ("region_product", "S", "P"): stop6})
    found = discontinued(history, 6)
    # S (6 months without) is discontinued, Q (5) is not at 6; S/P is said by its region; N/Q (8) on its own
    assert found[["level", "region", "product", "last_sale", "months_without"]].astype(object).where(
        found.notna(), None).values.tolist() == [["region", "S", None, "2026-04", 6],
                                                 ["region_product", "N", "Q", "2026-02", 8]]
    assert discontinued(history, 9).empty
    returns = _panel({("region", "N", None): [1.0] * 6 + [-1.0] + [0.0] * 5})  # a return is not a sale
    assert discontinued(returns, 6)["last_sale"].tolist() == ["2026-04"]
