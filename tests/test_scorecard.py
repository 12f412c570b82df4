"""Tests of planlib.review.scorecard: a scorecard computed by hand for two reps, the rule, the bands and validation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tiny_project import make_project

from planlib.core.config import Scorecard, parse_config
from planlib.core.errors import ConfigError, DataError
from planlib.core.graph import Plan
from planlib.review.scorecard import (
    band_of,
    definition,
    measure,
    resolved,
    score_value,
    scorecards,
    tenure_group,
    validate_scorecard,
)

KPIS = [
    {"name": "Revenue attainment", "metric": "revenue_attainment", "weight": 0.5, "threshold": 0.6, "target": 1.0,
     "cap": 1.5},
    {"name": "New customers", "metric": "new_customers", "weight": 0.2, "threshold": 0, "target": 2, "cap": 1.5},
    {"name": "Retention", "metric": "retention", "weight": 0.1, "threshold": 0.2, "target": 0.6, "cap": 1.25},
    {"name": "Satisfaction", "metric": "satisfaction", "source": "kpis", "weight": 0.1, "threshold": 3,
     "target": 4.2, "cap": 1.25},
    {"name": "Teamwork", "metric": "teamwork", "source": "kpis", "weight": 0.1, "threshold": 3, "target": 4,
     "cap": 1.25},
]
CARD = Scorecard(kpis=KPIS)


def _sales():
    rows = [  # date, amount, rep, customer
        ("2026-05-10", 100, "R1", "C1"), ("2026-06-01", 50, "R1", "C2"), ("2026-08-01", 80, "R1", "C3"),
        ("2026-07-15", 60, "R2", "C4"), ("2026-12-01", 40, "R2", "C5"),
        ("2027-01-10", 300, "R1", "C1"), ("2027-02-05", 200, "R1", "C6"), ("2027-03-01", -20, "R1", "C6"),
        ("2027-02-10", 150, "R2", "C4"), ("2027-03-20", 250, "R2", "C7"), ("2027-03-25", 100, "R2", "C8"),
        ("2027-01-05", 70, "R2", "C2"),
        ("2027-04-02", 999, "R1", "C9"),  # after the quarter: not counted
    ]
    frame = pd.DataFrame(rows, columns=["date", "amount", "rep_id", "customer_id"])
    return frame.assign(date=pd.to_datetime(frame["date"]), amount=frame["amount"].astype(float), product="A")


ROSTER = pd.DataFrame({"rep_id": ["R1", "R2"], "name": ["Ann", "Bo"], "team": ["East-1", "West-1"],
                       "region": ["East", "West"], "hire_date": pd.to_datetime(["2020-01-01", "2026-03-01"])})
KPI_TABLE = pd.DataFrame({
    "rep_id": ["R1", "R2", "R1", "R2"],
    "period": ["2027Q1", "2026Q3", "2026Q2", "2027Q1"],
    "metric": ["satisfaction", "satisfaction", "teamwork", "teamwork"],
    "value": [4.8, 3.9, 4.0, 3.0],
})
TARGETS = pd.Series({"R1": 600.0, "R2": 350.0})


@pytest.fixture(scope="module")
def cards():
    return scorecards(CARD, sales=_sales(), roster=ROSTER, rep_targets=TARGETS, kpis=KPI_TABLE,
                      start="2027-01-01", end="2027-03-31", quarter="2027Q1")


def test_two_reps_measured_by_hand(cards):
    sheet = cards.sheet.set_index(["rep_id", "kpi"])
    # R1: 300 + 200 - 20 = 480 of 600; one new customer (C6); of C1, C2, C3 only C1 came back.
    assert sheet.loc[("R1", "Revenue attainment"), ["numerator", "denominator", "value"]].tolist() == [480, 600, 0.8]
    assert sheet.loc[("R1", "New customers"), "value"] == 1
    assert sheet.loc[("R1", "Retention"), ["numerator", "denominator"]].tolist() == [1, 3]
    assert sheet.loc[("R1", "Satisfaction"), ["value", "basis"]].tolist() == [4.8, "2027Q1"]
    # R1's teamwork is three quarters old (more than kpis_max_age = 2): not measurable.
    assert np.isnan(sheet.loc[("R1", "Teamwork"), "value"])
    assert sheet.loc[("R1", "Teamwork"), "basis"] == "no value in range"
    # R2: 150 + 250 + 100 + 70 = 570 of 350; C7 and C8 are new (C2 bought from R1 before); C4 came back.
    assert sheet.loc[("R2", "Revenue attainment"), "numerator"] == 570
    assert sheet.loc[("R2", "New customers"), "value"] == 2
    assert sheet.loc[("R2", "Retention"), ["numerator", "denominator"]].tolist() == [1, 2]
    assert sheet.loc[("R2", "Satisfaction"), ["value", "basis"]].tolist() == [3.9, "2026Q3 (latest within 2 quarters)"]


def test_two_reps_scored_by_hand(cards):
    sheet = cards.sheet.set_index(["rep_id", "kpi"])
    r1 = sheet.loc["R1"]
    assert r1["score"].tolist()[:4] == pytest.approx([0.5, 0.5, (1 / 3 - 0.2) / 0.4, 1.25])  # satisfaction capped
    assert r1.loc["Satisfaction", "raw_score"] == pytest.approx(1.5)
    # Teamwork not measured: its 0.1 is shared over the other 0.9 of weight.
    assert r1["effective_weight"].tolist() == pytest.approx([0.5 / 0.9, 0.2 / 0.9, 0.1 / 0.9, 0.1 / 0.9, 0.0])
    r1_composite = (0.5 * 0.5 + 0.2 * 0.5 + 0.1 * (1 / 3 - 0.2) / 0.4 + 0.1 * 1.25) / 0.9
    r2 = sheet.loc["R2"]
    assert r2["score"].tolist() == pytest.approx([1.5, 1.0, 0.75, 0.75, 0.0])  # attainment 1.63 capped at 1.5
    r2_composite = 0.5 * 1.5 + 0.2 * 1.0 + 0.1 * 0.75 + 0.1 * 0.75 + 0.1 * 0.0  # = 1.1
    scores = cards.scores.set_index("rep_id")
    assert scores.loc["R1", "composite"] == pytest.approx(r1_composite)
    assert scores.loc["R2", "composite"] == pytest.approx(r2_composite)
    assert scores.loc["R1", "band"] == "below" and scores.loc["R2", "band"] == "exceeds"  # 1.1 is the band's start
    assert list(cards.scores["rep_id"]) == ["R2", "R1"]
    assert scores.loc["R1", "measured"] == 4
    assert scores.loc["R1", "tenure_group"] == "36+ months" and scores.loc["R2", "tenure_group"] == "12-36 months"
    # Each step is on the sheet: the weighted scores add up to the composite.
    assert sheet.groupby(level=0)["weighted_score"].sum().to_dict() == pytest.approx(
        {"R1": r1_composite, "R2": r2_composite})


def test_spread_flags_groups_far_from_the_mean(cards):
    spread = cards.spread.set_index(["group_type", "group"])
    r1, r2 = cards.scores.set_index("rep_id")["composite"][["R1", "R2"]]
    mean = (r1 + r2) / 2
    assert spread.loc[("region", "East"), "gap"] == pytest.approx(r1 - mean)
    assert bool(spread.loc[("region", "East"), "flagged"]) and bool(spread.loc[("region", "West"), "flagged"])
    assert spread.loc[("tenure", "12-36 months"), "share_exceeds"] == 1.0
    assert list(spread.index.get_level_values("group")) == ["East", "West", "12-36 months", "36+ months"]


def test_rule_bands_and_tenure_groups():
    assert score_value([0.5, 0.6, 0.8, 1.0, 2.0], 0.6, 1.0, 1.5).tolist() == pytest.approx([0, 0, 0.5, 1, 1.5])
    # Lower is better: 10 days to close scores 0, 5 days scores 1.
    assert score_value([10, 7.5, 5, 0], 10, 5, 1.2).tolist() == pytest.approx([0, 0.5, 1, 1.2])
    assert band_of([0.0, 0.89, 0.9, 1.0999, 1.1, np.nan], {"exceeds": 1.1, "meets": 0.9, "below": 0}).tolist() == [
        "below", "below", "meets", "meets", "exceeds", None]
    assert tenure_group([0, 5.9, 6, 12, 40], [6, 12, 36]).tolist() == [
        "< 6 months", "< 6 months", "6-12 months", "12-36 months", "36+ months"]


def test_definition_lists_measures_and_bands():
    defined = definition(CARD)
    assert defined.kpis["kpi"].tolist() == [k["name"] for k in KPIS]
    assert defined.kpis["weight"].sum() == pytest.approx(1.0)
    assert defined.bands["band"].tolist() == ["exceeds", "meets", "below"]
    assert defined.bands["from_score"].tolist() == [1.1, 0.9, 0.0]
    assert np.isnan(defined.bands["below_score"].iloc[0]) and defined.bands["below_score"].tolist()[1:] == [1.1, 0.9]
    assert "12 months before the quarter" in defined.kpis.loc[2, "measured"]


def test_config_checks_weights_names_and_bands():
    base = {"company": {"name": "Test Co", "currency": "CNY", "country": "CN"},
            "fiscal": {"year": 2027}, "as_of": "2026-11-26",
            "data": {"sales": {"path": "s.csv"}, "reps": {"path": "r.csv"}}}
    heavy = [dict(k) for k in KPIS]
    heavy[0]["weight"] = 0.6
    with pytest.raises(ConfigError, match=r"scorecard: Value error, kpi weights must add up to 1, they add up to 1\.1"):
        parse_config({**base, "scorecard": {"kpis": heavy}})
    flat = [dict(KPIS[0], weight=1.0, threshold=1.0)]
    with pytest.raises(ConfigError, match=r"scorecard\.kpis\[0\]: Value error, threshold and target are both 1"):
        parse_config({**base, "scorecard": {"kpis": flat}})
    with pytest.raises(ConfigError, match=r"one band starting at 0"):
        parse_config({**base, "scorecard": {"bands": {"meets": 0.9, "below": 0.5}}})
    with pytest.raises(ConfigError, match=r"scorecard\.kpis\[0\]\.colour: unknown key"):
        parse_config({**base, "scorecard": {"kpis": [dict(KPIS[0], weight=1.0, colour="red")]}})
    assert parse_config(base).scorecard.kpis is None  # no section: the default measures (see resolved)


def test_every_unmeasurable_kpi_is_listed_with_its_key_path():
    bad = [dict(k) for k in KPIS]
    bad[1]["metric"] = "new_customer"
    bad[4]["metric"] = "teamwrok"
    with pytest.raises(ConfigError) as info:
        validate_scorecard(Scorecard(kpis=bad), {"sales": _sales(), "kpis": KPI_TABLE})
    assert info.value.problems == [
        ("scorecard.kpis[1].metric", "'new_customer' is not a sales metric; sales metrics are new_customers, "
                                     "retention, revenue_attainment (or use source: kpis)"),
        ("scorecard.kpis[4].metric", "'teamwrok' is not a metric of the kpis table (it has: satisfaction, teamwork)"),
    ]
    with pytest.raises(ConfigError, match=r"scorecard\.kpis\[3\]\.source: 'Satisfaction' is measured from the kpis "
                                          r"table, but the config has no data\.kpis source"):
        validate_scorecard(CARD, {"sales": _sales()})


def test_kpis_period_must_be_a_quarter():
    odd = KPI_TABLE.assign(period=["2027-01", "2026Q3", "2026Q2", "2027Q1"])
    with pytest.raises(DataError, match=r"kpis table: period must be a quarter such as 2026Q3; found \['2027-01'\]"):
        measure(CARD, sales=_sales(), rep_targets=TARGETS, kpis=odd, start="2027-01-01", end="2027-03-31",
                quarter="2027Q1")


def test_scorecard_definition_stage_checks_the_plan_data(tmp_path):
    config = make_project(tmp_path)
    # No scorecard section and no kpis table: the default measures of the deals, weights scaled to add to 1.
    plan = Plan.from_config(config, cache_dir=tmp_path / "cache")
    defined = plan["scorecard_definition"].kpis
    assert defined["kpi"].tolist() == ["Revenue attainment", "New customers", "Retention"]
    assert defined["weight"].tolist() == pytest.approx([0.5 / 0.8, 0.15 / 0.8, 0.15 / 0.8])
    asked = {"scorecard.kpis": [dict(KPIS[0], weight=0.7), dict(KPIS[3], weight=0.3)]}
    plan = Plan.from_config(config, cache_dir=tmp_path / "cache", overrides=asked)
    with pytest.raises(ConfigError, match=r"scorecard\.kpis\[1\]\.source: 'Satisfaction' is measured from the "
                                          r"kpis table, but the config has no data\.kpis source"):
        plan["scorecard_definition"]


def test_default_measures_follow_the_kpis_table():
    card = resolved(Scorecard(), {"kpis": KPI_TABLE})  # satisfaction and teamwork, no learning
    assert [k.name for k in card.kpis] == ["Revenue attainment", "New customers", "Retention",
                                           "Customer satisfaction", "Teamwork"]
    assert sum(k.weight for k in card.kpis) == pytest.approx(1.0)
    assert card.kpis[0].weight == pytest.approx(0.5 / 0.95)
