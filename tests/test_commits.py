"""Tests of managers' commits: reading and checking them, the gap and its odds, the negotiated plan, the template."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from scipy import stats

from planlib.core.config import parse_config
from planlib.data.commits import check_commits, read_commits
from planlib.planning import allocate as al
from planlib.planning.commits import entity_odds, plan_periods, reconcile
from planlib.planning.negotiate import negotiate, negotiated_allocation
from planlib.report.commits_template import commit_rows, write_commits_template
from planlib.report.runner import COMMITS_NOTEBOOK, plan_notebooks

ROOT = Path(__file__).resolve().parents[1]
PERIODS = {"FY2027": "year", **{f"2027Q{q}": "quarter" for q in range(1, 5)},
           **{f"2027-{m:02d}": "month" for m in range(1, 13)}}
ENTITIES = {"region": ["East", "West"], "team": ["East-1", "West-1"], "rep": ["R001", "R002"]}


def config_for(tmp_path: Path, commits: str | None = "commits.csv", **extra):
    raw = {"company": {"name": "Test Co", "currency": "EUR"}, "fiscal": {"year": 2027}, "as_of": "2026-11-26",
           "data": {"sales": {"path": "sales.csv"}, "reps": {"path": "reps.csv"}}, **extra}
    if commits:
        raw["data"]["commits"] = {"path": commits}
    return parse_config(raw, base_dir=tmp_path)


def checked(tmp_path: Path, text: str):
    (tmp_path / "commits.csv").write_text(text, encoding="utf-8")
    parsed = read_commits(config_for(tmp_path))
    return check_commits(parsed, entities=ENTITIES, periods=PERIODS, products=["Kit", "Service"], fiscal_year="FY2027")


# --------------------------------------------------------------------------- reading and checking
def test_good_commits_are_totalled_over_the_year(tmp_path):
    result = checked(tmp_path, "level,entity,product,period,amount,submitted_by,note\n"
                               + "".join(f"team,East-1,,2027Q{q},\"1,{q}00\",Ann,\n" for q in range(1, 5))
                               + "region,West,,2027,5000,Bo,whole year\n")
    annual = result.annual.set_index("entity")
    assert annual.loc["East-1", "commit"] == 1100 + 1200 + 1300 + 1400
    assert annual.loc["West", "commit"] == 5000  # "2027" is read as the plan year FY2027
    assert annual.loc["East-1", "grain"] == "4 quarters"
    assert result.counts[["rows_in", "rows_used", "rows_rejected"]].values.tolist() == [[5, 5, 0]]
    assert result.rejects.empty


def test_bad_commit_rows_are_rejected_with_their_reasons(tmp_path):
    text = ("level,entity,product,period,amount,submitted_by,note\n"
            "team,Nowhere-9,,FY2027,100,,\n"          # line 2: unknown team
            "team,East-1,,2028Q1,100,,\n"             # line 3: outside the plan year
            "rep,R001,,FY2027,100,,\n"                # line 4: duplicate of line 5
            "rep,R001,,FY2027,120,,\n"                # line 5
            "division,East,,FY2027,100,,\n"           # line 6: unknown level
            "region,East,,FY2027,-5,,\n"              # line 7: negative
            "region,West,,FY2027,,,\n"                # line 8: blank amount
            "team,West-1,,2027Q1,10,,\n"              # line 9: one quarter of four
            "team,West-1,,2027Q2,10,,\n"              # line 10
            "rep,R002,Gadget,FY2027,10,,\n"           # line 11: unknown product
            "rep,R002,,FY2027,abc,,\n")               # line 12: not an amount
    result = checked(tmp_path, text)
    reasons = {(int(r.line), r.column): r.reason for r in result.rejects.itertuples()}
    assert "East-1" in reasons[(2, "entity")] and "this team is not in the plan" in reasons[(2, "entity")]
    assert "outside the plan year" in reasons[(3, "period")] and "2027Q1..2027Q4" in reasons[(3, "period")]
    assert "commits.csv line 4, commits.csv line 5" in reasons[(4, "period")]
    assert (5, "period") in reasons
    assert "level region, team, rep" in reasons[(6, "level")]
    assert reasons[(7, "amount")] == "expected a commit of 0 or more"
    assert "the cell is empty" in reasons[(8, "amount")]
    assert "West-1 commits 2 of 4 quarters" in reasons[(9, "period")] and (10, "period") in reasons
    assert "product of the plan (Kit, Service)" in reasons[(11, "product")]
    assert (12, "amount") in reasons
    assert result.rows.empty and result.annual.empty
    counts = result.counts.iloc[0]
    assert (counts["rows_in"], counts["rows_used"], counts["rows_rejected"]) == (11, 0, 11)
    assert set(result.rejects["file"]) == {"commits.csv"}


def test_commits_by_product_must_name_every_product(tmp_path):
    result = checked(tmp_path, "level,entity,product,period,amount\n"
                               "team,East-1,Kit,FY2027,100\n"
                               "team,West-1,Kit,FY2027,100\nteam,West-1,Service,FY2027,50\n")
    assert result.annual.set_index("entity")["commit"].to_dict() == {"West-1": 150}
    assert result.rejects[["line", "column"]].values.tolist() == [[2, "product"]]
    assert result.rejects["reason"].iloc[0] == ("expected every product when committing by product: East-1 commits "
                                                "1 of 2 (none for Service); give each product, or one row for all "
                                                "products")


def test_a_folder_of_files_is_read_one_file_each(tmp_path):
    folder = tmp_path / "commits"
    folder.mkdir()
    (folder / "east.csv").write_text("level,entity,period,amount\nteam,East-1,FY2027,700\n", encoding="utf-8")
    (folder / "west.csv").write_text("level,entity,period,amount\nteam,West-1,FY2027,300\nteam,X,FY2027,1\n",
                                     encoding="utf-8")
    parsed = read_commits(config_for(tmp_path, "commits"))
    result = check_commits(parsed, entities=ENTITIES, periods=PERIODS, products=[], fiscal_year="FY2027")
    assert result.annual.set_index("entity")["commit"].to_dict() == {"East-1": 700, "West-1": 300}
    assert result.counts.values.tolist() == [["east.csv", 1, 1, 0], ["west.csv", 2, 1, 1]]
    assert result.rejects.iloc[0][["file", "line", "column", "value"]].tolist() == ["west.csv", 3, "entity", "X"]


# --------------------------------------------------------------------------- the gap and its odds
def test_reconcile_flags_sandbagging_and_over_promising_by_hand():
    odds = pd.DataFrame({"level": "team", "entity": ["A", "B", "C"], "region": "R", "team": ["A", "B", "C"],
                         "target": [100.0, 100.0, 100.0], "likely": [100.0, 100.0, 100.0], "sd": [10.0, 10.0, 10.0],
                         "p_target": [0.5, 0.5, 0.5]})
    annual = pd.DataFrame({"level": "team", "entity": ["A", "B", "C"], "commit": [80.0, 130.0, 105.0],
                           "submitted_by": ["a", "b", "c"]})
    rec = reconcile(annual, odds, low=0.30, high=0.85).set_index("entity")
    assert rec["gap"].tolist() == [-20.0, 30.0, 5.0]
    assert rec["gap_pct"].tolist() == pytest.approx([-0.20, 0.30, 0.05])
    # P(sales >= commit) for sales ~ Normal(100, 10): z = -2, 3, 0.5
    assert rec["p_commit"].tolist() == pytest.approx([0.977250, 0.001350, 0.308538], abs=1e-6)
    assert rec["flag"].tolist() == ["sandbagging", "over-promising", ""]
    assert rec.loc["A", "evidence"].startswith("commits -20% against the likely outcome")
    assert "98% chance of beating it (above 85%)" in rec.loc["A", "evidence"]


def test_entity_odds_add_reps_into_teams_and_regions():
    rng = np.random.default_rng(3)
    ins = make_inputs(rng)
    result = al.allocate(1000, ins, unit=10.0)
    reps = pd.DataFrame({"rep_id": ins.reps, "team": [ins.teams[t] for t in ins.rep_team],
                         "region": [ins.regions[ins.team_region[t]] for t in ins.rep_team],
                         "potential": np.arange(1.0, len(ins.reps) + 1) * 1000, "sd": np.full(len(ins.reps), 300.0)})
    odds = entity_odds(result, reps).set_index(["level", "entity"])
    t0 = [i for i, t in enumerate(ins.rep_team) if t == 0]
    assert odds.loc[("team", "T0"), "likely"] == pytest.approx(sum((i + 1) * 1000 for i in t0))
    assert odds.loc[("team", "T0"), "sd"] == pytest.approx(300.0 * np.sqrt(len(t0)))
    assert odds.loc[("company", "company"), "target"] == 10000.0
    row = odds.loc[("region", "R0")]
    assert row["p_target"] == pytest.approx(stats.norm.sf(row["target"], row["likely"], row["sd"]))


# --------------------------------------------------------------------------- the negotiated plan
def test_blend_moves_the_difference_to_the_most_headroom_by_hand():
    frame = pd.DataFrame({"entity": ["A", "B", "C"], "target": [100.0, 100.0, 100.0], "commit": [60.0, np.nan, np.nan],
                          "likely": [100.0, 120.0, 80.0], "sd": [10.0, 10.0, 10.0]})
    moves, notes = negotiate(frame, 300, method="blend", weight=0.5)
    # blend: A 80; the 20 short goes to the lowest z = (t - likely) / sd: A and B both at -2, then +10 each
    assert moves["after_commits"].tolist() == [80.0, 100.0, 100.0]
    assert moves["final"].tolist() == [90.0, 110.0, 100.0]
    assert moves["final"].sum() == 300 and notes == []
    assert moves["move"].tolist() == [-10.0, 10.0, 0.0]


def test_floor_keeps_commits_and_takes_the_excess_from_the_least_likely():
    frame = pd.DataFrame({"entity": ["A", "B", "C"], "target": [100.0, 100.0, 100.0], "commit": [130.0, np.nan, np.nan],
                          "likely": [100.0, 100.0, 100.0], "sd": [10.0, 10.0, 10.0]})
    moves, _ = negotiate(frame, 300, method="floor")
    assert moves["final"].tolist() == [130.0, 85.0, 85.0]


def make_inputs(rng):
    regions, teams, team_region, reps, rep_team = ["R0", "R1"], ["T0", "T1", "T2"], [0, 0, 1], [], []
    for t, size in enumerate((2, 3, 2)):
        for _ in range(size):
            reps.append(f"P{len(reps):02d}")
            rep_team.append(t)
    k, n = 2, 12
    pieces = pd.DataFrame({"piece": range(n), "week": [f"2027-W{j + 1:02d}" for j in range(n)],
                           "month": [f"2027-{j + 1:02d}" for j in range(n)],
                           "quarter": [f"2027Q{j // 3 + 1}" for j in range(n)], "year": "FY2027"})
    return al.AllocationInputs(
        regions=regions, teams=teams, reps=reps, products=["Kit", "Service"], team_region=np.array(team_region),
        rep_team=np.array(rep_team), pieces=pieces, region_weight=rng.uniform(0.5, 2, 2),
        team_weight=rng.uniform(0.5, 2, 3), rep_weight=rng.uniform(0.5, 2, len(reps)),
        product_weight=rng.uniform(0.2, 1, k), region_product_seed=rng.uniform(0.1, 1, (2, k)),
        team_product_seed=rng.uniform(0.1, 1, (3, k)), rep_product_seed=rng.uniform(0.1, 1, (len(reps), k)),
        company_profile=rng.uniform(0.5, 1.5, n), product_profile=rng.uniform(0.5, 1.5, (k, n)),
        region_product_profile=rng.uniform(0.5, 1.5, (2, k, n)), rep_availability=np.ones((len(reps), n)))


@pytest.mark.parametrize("level", ["region", "team", "rep"])
def test_negotiated_targets_add_up_exactly_at_every_level(level):
    rng = np.random.default_rng(11)
    result = al.allocate(100_000, make_inputs(rng), unit=1000.0)
    n = len(result.entities(level))
    final = al.largest_remainder(rng.uniform(0.5, 2.0, n), 100_000)  # any new totals adding to the whole
    negotiated = negotiated_allocation(result, level, final)
    assert al.check_targets(negotiated).empty
    assert negotiated.tables[level].sum(axis=(1, 2)).tolist() == final.tolist()
    assert int(negotiated.tables["company"].sum()) == 100_000
    targets = al.targets_table(negotiated)
    company_year = targets[(targets["level"] == "company") & (targets["period_type"] == "year")]["target"]
    assert company_year.tolist() == [100_000 * 1000]


# --------------------------------------------------------------------------- the template
def test_the_template_filled_with_the_targets_reads_back_with_zero_gap(tmp_path):
    rng = np.random.default_rng(5)
    result = al.allocate(50_000, make_inputs(rng), unit=1000.0)
    targets = al.targets_table(result)
    rows = commit_rows(targets, level="team", period_type="quarter")
    assert len(rows) == 3 * 4 and rows["amount"].isna().all()
    out = write_commits_template(rows, tmp_path / "commits.xlsx", title="Test commits", currency="EUR")
    book = openpyxl.load_workbook(out)
    sheet = book["Commits"]
    assert [c.value for c in sheet[1]] == ["level", "entity", "product", "period", "target", "amount",
                                          "submitted_by", "note"]
    rules = sheet.data_validations.dataValidation
    assert len(rules) == 1 and rules[0].type == "decimal" and rules[0].operator == "greaterThanOrEqual"
    assert str(rules[0].sqref) == f"F2:F{len(rows) + 1}"
    for r in range(2, len(rows) + 2):  # the manager commits exactly today's target
        sheet.cell(r, 6).value = sheet.cell(r, 5).value
    book.save(out)
    parsed = read_commits(config_for(tmp_path, "commits.xlsx"))
    checked_rows = check_commits(parsed, entities={"region": result.inputs.regions, "team": result.inputs.teams,
                                                   "rep": result.inputs.reps},
                                 periods=plan_periods(result), products=result.inputs.products, fiscal_year="FY2027")
    assert checked_rows.rejects.empty and len(checked_rows.rows) == 12
    odds = pd.DataFrame({"level": "team", "entity": result.inputs.teams, "region": "", "team": result.inputs.teams,
                         "target": result.tables["team"].sum(axis=(1, 2)) * 1000.0, "likely": 1.0, "sd": 1.0,
                         "p_target": 0.0})
    rec = reconcile(checked_rows.annual, odds)
    assert rec["gap"].tolist() == [0.0, 0.0, 0.0]


def test_the_template_refuses_an_unknown_team():
    targets = pd.DataFrame({"level": ["team"], "entity": ["East-1"], "product": ["All"], "period_type": ["quarter"],
                            "period": ["2027Q1"], "target": [5.0]})
    with pytest.raises(Exception, match="West-9 is not a team of the plan; its teams: East-1"):
        commit_rows(targets, teams=["West-9"])


# --------------------------------------------------------------------------- the plan
def test_page_07_runs_only_when_commits_are_given(tmp_path):
    assert plan_notebooks(config_for(tmp_path))[-1] == COMMITS_NOTEBOOK
    assert COMMITS_NOTEBOOK not in plan_notebooks(config_for(tmp_path, None))
    listed = config_for(tmp_path, report={"notebooks": ["01_market_analysis.ipynb"]})
    assert plan_notebooks(listed) == ["01_market_analysis.ipynb", COMMITS_NOTEBOOK]
    named = config_for(tmp_path, report={"notebooks": [COMMITS_NOTEBOOK, "02_goal_setting.ipynb"]})
    assert plan_notebooks(named) == [COMMITS_NOTEBOOK, "02_goal_setting.ipynb"]


def test_the_sample_plan_negotiates_its_commits_and_still_adds_up(tmp_path):
    import planlib

    plan = planlib.Plan.from_config(ROOT / "templates" / "plan.yaml", cache_dir=tmp_path / "cache")
    review, negotiation = plan["commits"], plan["negotiation"]
    flags = review.reconciliation["flag"].value_counts()
    assert flags.get("over-promising") == 1 and flags.get("sandbagging", 0) >= 2
    assert negotiation.applied and negotiation.level == "team"
    targets = plan["targets"]
    teams = targets[(targets["level"] == "team") & (targets["period_type"] == "year")].set_index("entity")["target"]
    assert teams.to_dict() == negotiation.moves.set_index("entity")["final"].to_dict()
    assert teams.sum() == plan["annual_target"].target
    assert al.check_targets(plan["negotiated_allocation"]).empty
    ignore = planlib.Plan.from_config(ROOT / "templates" / "plan.yaml", cache_dir=tmp_path / "cache",
                                      overrides={"allocation.commits": "ignore"})
    pd.testing.assert_frame_equal(ignore["targets"], al.targets_table(ignore["allocation"]))


def test_the_cli_writes_a_template_from_a_published_plan(tmp_path, capsys):
    import json

    from planlib.data.readers import file_sha256
    from planlib.report.cli import main

    bundle = tmp_path / "reports" / "FY2027" / "v001"
    bundle.mkdir(parents=True)
    rng = np.random.default_rng(8)
    targets = al.targets_table(al.allocate(20_000, make_inputs(rng), unit=1000.0))
    targets.to_csv(bundle / "targets.csv", index=False)
    config = {"company": {"name": "Test Co", "currency": "EUR"}, "fiscal": {"year": 2027}, "as_of": "2026-11-26",
              "data": {"sales": {"path": "sales.csv"}, "reps": {"path": "reps.csv"}}}
    (bundle / "manifest.json").write_text(json.dumps({"config": config,
                                                      "files": {"targets.csv": file_sha256(bundle / "targets.csv")}}))
    out = tmp_path / "east.xlsx"
    assert main(["commits-template", "--plan", str(bundle), "--out", str(out), "--team", "T1"]) == 0
    assert f"wrote {out}: 4 rows to fill in (team x quarter)" in capsys.readouterr().out
    sheet = openpyxl.load_workbook(out)["Commits"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    expected = targets[(targets["level"] == "team") & (targets["entity"] == "T1") & (targets["product"] == "All")
                       & (targets["period_type"] == "quarter")]
    assert [r[:2] + r[3:6] for r in rows] == [["team", "T1", p, t, None] for p, t in
                                             zip(expected["period"], expected["target"].astype(float))]
    assert main(["commits-template", "--plan", str(bundle), "--out", str(out), "--team", "Nope"]) != 0
    assert "Nope is not a team of the plan" in capsys.readouterr().err


def test_the_template_is_byte_identical_for_the_same_rows(tmp_path):
    rows = pd.DataFrame({"level": "team", "entity": ["=cmd()", "B"], "product": "", "period": ["2027Q1", "2027Q1"],
                         "target": [1000.0, 2000.0], "amount": np.nan, "submitted_by": "", "note": ""})
    first = write_commits_template(rows, tmp_path / "a.xlsx", title="T", currency="EUR").read_bytes()
    second = write_commits_template(rows, tmp_path / "b.xlsx", title="T", currency="EUR").read_bytes()
    assert first == second
    cell = openpyxl.load_workbook(tmp_path / "a.xlsx")["Commits"]["B2"]
    assert cell.value == "=cmd()" and cell.data_type == "s"  # text, never a live formula


def test_sample_commits_sandbag_and_over_promise_as_built():
    from planlib.data import sample
    from planlib.data.sample_commits import GROWTH, SAMPLE_COMMIT_MIX

    tables = sample.generate()
    commits = tables["commits"]
    assert len(commits) == 8 * 4 and set(commits["period"]) == {f"2027Q{q}" for q in range(1, 5)}
    sales, reps = tables["sales"], tables["reps"]
    recent = sales[sales["date"] > pd.Timestamp("2025-10-31")]
    run_rate = recent.groupby(recent["rep_id"].map(reps.set_index("rep_id")["team"]))["amount"].sum()
    ratio = commits.groupby("entity")["amount"].sum() / (run_rate * (1 + GROWTH))
    kinds = commits.groupby("entity")["note"].first()
    for kind, (count, factor) in SAMPLE_COMMIT_MIX.items():
        mine = ratio[kinds.str.contains("safe number" if kind == "sandbagging" else "tenders")]
        assert len(mine) == count
        assert mine.between(factor * 0.92, factor * 1.08).all()  # the factor, give or take the 2% noise


def test_a_commits_folder_without_files_and_a_missing_file_are_clear_errors(tmp_path):
    from planlib.core.errors import DataError

    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"data.commits.path is a folder with no commit file \(expected .csv"):
        read_commits(config_for(tmp_path, "empty"))
    with pytest.raises(DataError, match=r"gone.csv: file not found at .*gone.csv \(data.commits.path\)"):
        read_commits(config_for(tmp_path, "gone.csv"))


def test_the_gap_chart_sums_teams_into_their_regions_and_draws():
    from planlib.report.charts import commits as commit_charts, to_svg

    rec = pd.DataFrame({"level": "team", "entity": ["E-1", "E-2", "W-1"], "region": ["East", "East", "West"],
                        "gap": [-3000.0, 1000.0, 500.0], "target": 1.0, "commit": 1.0, "likely": 1.0, "sd": 1.0,
                        "flag": ["sandbagging", "", "over-promising"]})
    chart = commit_charts.commit_gap(rec, title="gap", unit=1000.0, unit_label="k EUR")
    data = chart.data.set_index("entity")["gap"]
    assert data.to_dict() == {"East (region)": -2.0, "  E-1": -3.0, "  E-2": 1.0, "West (region)": 0.5, "  W-1": 0.5}
    assert "<svg" in to_svg(chart)
    assert "<svg" in to_svg(commit_charts.target_commit_likely(rec, title="t"))
