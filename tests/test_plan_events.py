"""The events of real sales data on the full plan: discontinued products and regions, moves, a reorganisation.

One generated USD company (8 reps, 3 regions, 3 products, 2023-11..2026-10) carries them all, so one
``planlib plan`` run serves every assertion:

- region West stops selling 8 months before the end, product Legacy 9 months before, and Gadgets in
  South 7 months before: with the default ``allocation.discontinued_months`` of 6 none gets a target;
- team North was split on 2025-07-01 into North-A and North-B (``data.reorg`` shares 0.6 / 0.4 of its
  history), recorded as four moves in ``moves.csv``; rep E05 moved from South-1 (South) to North-B
  (North) on 2025-10-01; the roster still calls South-1 by its old name South-Old (renamed by the reorg);
- four bad moves (a rep not on the roster, a date after as_of, a date before the history, a move whose
  "to" side is not where the roster has the rep) are rejected with their reasons.

Expected values are computed from the generated deals, not from planlib.
"""
from __future__ import annotations

import html
import re

import pandas as pd
import pytest

import planlib
from company_factory import Company, Rep, read_targets, run_plan

REPS = [Rep("E01", "North", "North-A"), Rep("E02", "North", "North-A"), Rep("E03", "North", "North-B"),
        Rep("E04", "North", "North-B"), Rep("E05", "North", "North-B"), Rep("E06", "South", "South-Old"),
        Rep("E07", "South", "South-Old"), Rep("E08", "West", "West-1")]
COMPANY = Company(REPS, ["Widgets", "Gadgets", "Legacy"],
                  stops=[("West", None, 8), (None, "Legacy", 9), ("South", "Gadgets", 7)],
                  region_before={"E05": ("2025-10-01", "South")})
SPLIT = "2025-07-01"
MOVES = [{"rep_id": r, "date": SPLIT, "from_team": "North", "from_region": "", "to_team": t, "to_region": ""}
         for r, t in (("E01", "North-A"), ("E02", "North-A"), ("E03", "North-B"), ("E04", "North-B"))] + [
    {"rep_id": "E05", "date": "2025-10-01", "from_team": "South-1", "from_region": "South", "to_team": "North-B",
     "to_region": "North"},
    # bad rows: lines 7 to 10 of moves.csv
    {"rep_id": "X99", "date": "2025-03-01", "from_team": "North-A", "from_region": "", "to_team": "North-B",
     "to_region": ""},
    {"rep_id": "E06", "date": "2027-01-01", "from_team": "North-A", "from_region": "", "to_team": "South-1",
     "to_region": ""},
    {"rep_id": "E07", "date": "2020-01-01", "from_team": "North-A", "from_region": "", "to_team": "South-1",
     "to_region": ""},
    {"rep_id": "E08", "date": "2025-02-01", "from_team": "North-A", "from_region": "", "to_team": "North-B",
     "to_region": ""},
]
REORG = {"North": {"North-A": 0.6, "North-B": 0.4}, "South-Old": "South-1"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("events")
    config = COMPANY.write(folder, transfers=MOVES, extra={"data": {"reorg": REORG}})
    done = run_plan(config, tmp_path_factory.mktemp("elsewhere"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return config, done, folder / "reports" / "FY2027" / "v001"


@pytest.fixture(scope="module")
def deals():
    d = COMPANY.deals()
    d["month"] = pd.to_datetime(d["Closed"]).dt.to_period("M").dt.to_timestamp()
    return d


def page_text(path) -> str:
    raw = re.sub(r"<(style|script|svg)\b.*?</\1>", " ", path.read_text(encoding="utf-8"), flags=re.S | re.I)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", raw)))


def expected_discontinued(deals: pd.DataFrame) -> list[tuple[str, str, int]]:
    end = pd.Timestamp(COMPANY.last_month)
    out = []
    for name, rows in (("region West", deals[deals["_region"] == "West"]), ("product Legacy", deals[deals["Line"] == "Legacy"]),
                       ("Gadgets in South", deals[(deals["_region"] == "South") & (deals["Line"] == "Gadgets")])):
        last = rows["month"].max()
        out.append((name, f"{last:%Y-%m}", (end.year - last.year) * 12 + end.month - last.month))
    return out


def test_discontinued_get_no_target_anywhere(run):
    _, _, bundle = run
    t = read_targets(bundle)
    assert not (t["product"] == "Legacy").any()
    assert not t["entity"].isin(["West", "West-1", "E08"]).any()
    south_gadgets = t[(t["product"] == "Gadgets") & t["entity"].isin(["South", "South-1", "E06", "E07"])]
    assert len(south_gadgets) and (south_gadgets["target"] == 0).all()
    year = t[(t["period_type"] == "year") & (t["product"] == "All")].groupby("level")["target"].sum()
    assert year["region"] == year["team"] == year["rep"] == year["company"] > 0


def test_discontinued_are_said_in_the_run_summary_and_on_page_02(run, deals):
    _, done, bundle = run
    expected = expected_discontinued(deals)
    assert [m for _, m, _ in expected] == ["2026-02", "2026-01", "2026-03"]  # the generator's stops, by hand
    summary = next(line for line in done.stdout.splitlines() if "discontinued" in line)
    assert summary.startswith("3 discontinued (no sale in the last 6 months")
    for name, last, _ in expected:
        assert f"{name} (last sale {last})" in summary
    page = page_text(bundle / "02_goal_setting.html")
    assert "Discontinued, so no target: no sale in the last 6 months of the history" in page
    for row in (f"region West {expected[0][1]} {expected[0][2]}", f"product Legacy {expected[1][1]} {expected[1][2]}",
                f"product in a region South Gadgets {expected[2][1]} {expected[2][2]}"):
        assert row in page, row


def test_a_team_keeps_the_sales_made_in_it_and_the_reorg_rekeys_them(run, deals):
    config, _, _ = run
    history = planlib.Plan.from_config(config)["history"]
    series = history.set_index(["unique_id", "ds"])["y"]
    by = deals.groupby(["Owner", "month"])["Value"].sum()

    def sold(reps, month):
        return sum(by.get((r, pd.Timestamp(month)), 0.0) for r in reps)

    north = ["E01", "E02", "E03", "E04"]
    for month in ("2024-05-01", "2025-03-01"):  # before the split: North's history, shared 0.6 / 0.4
        assert series["team/North-A", pd.Timestamp(month)] == pytest.approx(0.6 * sold(north, month), abs=1e-6)
        assert series["team/North-B", pd.Timestamp(month)] == pytest.approx(0.4 * sold(north, month), abs=1e-6)
        assert series["team/South-1", pd.Timestamp(month)] == pytest.approx(sold(["E05", "E06", "E07"], month))
        assert series["region/South", pd.Timestamp(month)] == pytest.approx(sold(["E05", "E06", "E07"], month))
    month = "2026-03-01"  # after both moves
    assert series["team/North-A", pd.Timestamp(month)] == pytest.approx(sold(["E01", "E02"], month))
    assert series["team/North-B", pd.Timestamp(month)] == pytest.approx(sold(["E03", "E04", "E05"], month))
    assert series["team/South-1", pd.Timestamp(month)] == pytest.approx(sold(["E06", "E07"], month))
    assert series["region/North", pd.Timestamp(month)] == pytest.approx(sold(north + ["E05"], month))
    # the rep's own series follows the rep: every deal of E05, in South and in North
    assert history[history["unique_id"] == "rep/E05"]["y"].sum() == pytest.approx(
        deals.loc[deals["Owner"] == "E05", "Value"].sum())
    teams = set(history.loc[history["level"] == "team", "team"])
    assert teams == {"North-A", "North-B", "South-1", "West-1"}
    # the team level adds up to the company month by month, splits and moves included
    company = history[history["level"] == "company"].set_index("ds")["y"]
    team_sum = history[history["level"] == "team"].groupby("ds")["y"].sum()
    assert (team_sum - company).abs().max() < 1e-6


def test_bad_moves_are_rejected_with_their_reasons(run):
    config, _, bundle = run
    rejects = pd.read_csv(bundle / "rejects.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    moves = rejects[rejects["table"] == "transfers"].sort_values("line", key=lambda s: s.astype(int))
    assert moves["line"].tolist() == ["7", "8", "9", "10"]
    assert moves["column"].tolist() == ["rep_id", "date", "date", "to_team"]
    assert moves["value"].tolist() == ["X99", "2027-01-01", "2020-01-01", "North-B"]
    reasons = moves["reason"].tolist()
    assert "not on it" in reasons[0]
    assert reasons[1] == "expected a date on or before as_of 2026-11-21"
    assert reasons[2].startswith("expected a date inside the history (after the first sale, 2023-11-")
    assert reasons[3].startswith("expected West-1: the rep's team after this move")
    counts = planlib.Plan.from_config(config)["inputs"].counts.set_index("table")
    assert counts.loc["transfers", ["rows_in", "rows_used", "rows_rejected"]].tolist() == [9, 5, 4]
    repairs = planlib.Plan.from_config(config)["inputs"].repairs
    assert repairs[repairs["repair"] == "team renamed by data.reorg"]["rows"].tolist() == [2]
