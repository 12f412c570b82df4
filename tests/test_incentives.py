"""Incentive plans: payouts hand-computed at the threshold, each tier boundary and the cap; bonuses; cost."""
import numpy as np
import pandas as pd
import pytest

from planlib.core.config import parse_config
from planlib.core.config_operating import Bonus, Commission, Incentives
from planlib.core.errors import ConfigError, DataError
from planlib.resources.incentives import (bonus_payouts, build_incentive_plan, cap_attainment, commission_payouts,
                                describe_plan, expected_payout_at, payout_curve, payout_example,
                                payout_examples, payout_factor, period_attainment, period_of_months, tier_table)
from planlib.resources.outcomes import incentive_cost

# The default plan: nothing below 60%; the first 60% counts 0.5 per 1%, 60-100% 1.75, above 100% 2.0; cap 200%.
DEFAULT = Commission()
# The sample company's stated amounts (templates/plan.yaml): planlib has no money defaults of its own.
SAMPLE = dict(target_incentive={"rep": 120_000, "manager": 150_000},
              bonuses=[Bonus(name="Monthly sales champion", kind="champion", period="month", amount=5_000),
                       Bonus(name="Quarterly team bonus", kind="team", period="quarter", amount=3_000)])
STEEP = Commission(threshold=0.5, tiers=[{"from": 0.0, "rate": 0.0}, {"from": 0.5, "rate": 2.0},
                                         {"from": 1.0, "rate": 3.0}], cap=2.0)


def test_payout_at_the_threshold_each_tier_boundary_and_the_cap():
    att = [0.0, 0.5999, 0.6, 0.8, 1.0, 1.2, 1.5, 1.8, np.nan]
    # 0.6 x 0.5 = 0.3; 0.3 + 0.2 x 1.75 = 0.65; 0.3 + 0.4 x 1.75 = 1.0; 1 + 0.2 x 2 = 1.4; 1 + 0.5 x 2 = 2.0 = cap
    assert payout_factor(att, DEFAULT).tolist() == pytest.approx([0, 0, 0.3, 0.65, 1.0, 1.4, 2.0, 2.0, 0])
    assert cap_attainment(DEFAULT) == pytest.approx(1.5)
    # counted from the threshold: 0 at 50%, 2 per 1% to 100%, 3 per 1% above, cap 2 reached at 133.3%
    assert payout_factor([0.49, 0.5, 0.75, 1.0, 1.3, 1.4], STEEP).tolist() == pytest.approx(
        [0, 0, 0.5, 1.0, 1.9, 2.0])
    assert cap_attainment(STEEP) == pytest.approx(1 + 1 / 3)
    uncapped = Commission(threshold=0.5, tiers=STEEP.tiers, cap=None)
    assert payout_factor(3.0, uncapped) == pytest.approx(1.0 + 2.0 * 3.0)
    assert cap_attainment(uncapped) is None


def test_payout_is_vectorised_and_keeps_the_shape():
    grid = np.array([[0.6, 1.0], [1.2, 2.5]])
    assert payout_factor(grid, DEFAULT).shape == (2, 2)
    assert payout_factor(grid, DEFAULT)[1, 0] == pytest.approx(1.4)


def test_tier_table_names_decelerators_and_accelerators():
    tiers = tier_table(DEFAULT)
    assert tiers["kind"].tolist() == ["decelerator", "standard", "accelerator"]
    assert tiers["below_threshold"].tolist() == [True, False, False]
    assert tiers["payout_from"].tolist() == pytest.approx([0.0, 0.3, 1.0])
    assert tiers["payout_to"].tolist() == pytest.approx([0.0, 1.0, 2.0])


def test_payout_curve_draws_the_threshold_as_a_step():
    curve = payout_curve(DEFAULT, upto=2.0, step=0.1).set_index("attainment")["payout"]
    assert curve.loc[0.6] == pytest.approx(0.3)
    assert curve.loc[0.6 - 1e-9] == 0.0
    assert curve.loc[2.0] == 2.0


def test_plain_language_description_computes_its_numbers():
    text = describe_plan(Incentives(**SAMPLE), currency="CNY")
    assert "The yearly variable pay at 100% of target (target incentive) is rep 120,000 CNY" in text
    assert "Below 60% of target nothing is paid." in text
    assert "from 0% to 60% each 1% of attainment pays 0.5% of target incentive (a decelerator" in text
    assert "so 60% pays 30% of target incentive at once" in text
    assert "From 60% to 100% of target each 1% of attainment pays 1.75% of target incentive." in text
    assert "Above 100% of target each 1% of attainment pays 2% of target incentive (an accelerator" in text
    assert "capped at 200% of target incentive, reached at 150% of target" in text
    assert "Each month, the rep with the highest attainment, if at least 100%, gets 5,000 CNY." in text
    steep = describe_plan(Incentives(**{**SAMPLE, "bonuses": []}, commission=STEEP), currency="EUR")
    assert "Below 50% of target nothing is paid.\n\nFrom 50% to 100% of target each 1% of attainment pays 2%" in steep
    assert "reached at 133.3% of target" in steep
    # in the display unit: 120,000 / 1000 and 5,000 / 1000; 1,500 keeps its half (1.5)
    in_k = describe_plan(Incentives(**SAMPLE), currency="CNY", unit=1000, unit_label="k CNY")
    assert "is rep 120 k CNY" in in_k and "gets 5 k CNY." in in_k and "CNY" not in in_k.replace("k CNY", "")


def test_commission_per_quarter_is_a_quarter_of_target_incentive_times_the_factor():
    sales = np.array([[[120.0, 120.0, 120.0, 50.0, 50.0, 50.0]]])  # one sim, one rep
    targets = np.full((1, 6), 100.0)
    attainment, period_target = period_attainment(sales, targets, period_of_months(6, "quarter"))
    assert attainment.tolist() == [[[1.2, 0.5]]]
    assert period_target.tolist() == [[300.0, 300.0]]
    pay = commission_payouts(attainment, np.array([120_000.0]), DEFAULT)
    assert pay[0, 0].tolist() == pytest.approx([42_000.0, 0.0])  # 120,000 / 4 x 1.4; 50% is under the threshold


def test_champion_bonus_goes_to_the_top_reps_at_or_above_the_minimum():
    sales = np.array([[[120.0, 95.0], [90.0, 99.0], [130.0, 80.0]]])  # 1 sim, 3 reps, 2 months
    targets = np.full((3, 2), 100.0)
    teams = np.array(["A", "A", "B"])
    one = bonus_payouts(sales, targets, teams, Bonus(name="champ", kind="champion", period="month", amount=5000))
    assert one[0].tolist() == [[0, 0], [0, 0], [5000, 0]]  # month 2: nobody reached 100%
    two = bonus_payouts(sales, targets, teams, Bonus(name="c", kind="champion", period="month", amount=10, winners=2))
    assert two[0][:, 0].tolist() == [10, 0, 10]


def test_team_bonus_pays_every_member_when_the_team_reaches_its_target():
    sales = np.array([[[150.0, 60.0, 90.0], [60.0, 60.0, 60.0], [200.0, 200.0, 200.0]]])
    targets = np.full((3, 3), 100.0)
    teams = np.array(["A", "A", "B"])
    pay = bonus_payouts(sales, targets, teams, Bonus(name="team", kind="team", period="quarter", amount=3000))
    # team A: (300 + 180) / 600 = 80% -> nothing; team B: 600 / 300 -> paid
    assert pay[0].tolist() == [[0.0], [0.0], [3000.0]]


def _reps(n=2, fte=(1.0, 0.5)):
    return pd.DataFrame({"rep_id": [f"R{i}" for i in range(n)], "team": "A", "role": "rep", "fte": list(fte)[:n]})


def test_incentive_cost_on_a_hand_made_outcome_array():
    sales = np.array([[[100.0] * 3, [50.0] * 3],      # sim 0: 100% and 50%
                      [[150.0] * 3, [120.0] * 3]])    # sim 1: 150% (cap) and 120%
    targets = np.full((2, 3), 100.0)
    cost = incentive_cost(sales, targets, _reps(), Incentives(**{**SAMPLE, "bonuses": []}), fixed_cost=1000.0, on_cost_rate=0.5)
    # sim 0: 120,000/4 x 1.0 = 30,000 and 0; sim 1: 30,000 x 2.0 = 60,000 and 60,000/4 x 1.4 = 21,000
    assert cost.by_sim["payout"].tolist() == [30_000.0, 81_000.0]
    assert cost.by_sim["total_cost"].tolist() == [1000 + 45_000.0, 1000 + 121_500.0]
    assert cost.by_sim["cost_of_sales"].iloc[0] == pytest.approx(46_000 / 450)
    s = cost.summary
    assert s["expected_payout"] == 55_500.0
    assert s["share_paid_nothing"] == 0.25           # one rep-year of four
    assert s["p_accelerator"] == 0.5                  # 150% and 120% are above 100%; exactly 100% is not
    assert s["p_cap"] == 0.25
    assert s["max_commission"] == 2.0 * 180_000 * 0.25  # cap x target incentive x one quarter simulated
    assert cost.by_rep["p_paid_nothing"].tolist() == [0.0, 0.5]
    # by rep and pay period (one quarter here): rep 0 (30,000 + 60,000) / 2, rep 1 (0 + 21,000) / 2
    assert cost.by_period["expected_commission"].tolist() == [45_000.0, 10_500.0]
    assert cost.by_period["rep_id"].tolist() == _reps()["rep_id"].tolist()
    assert cost.by_rep["expected_bonuses"].tolist() == [0.0, 0.0]


def test_cost_at_attainment_quantiles_averages_the_neighbouring_years():
    k = np.arange(41)
    sales = (100.0 * (0.5 + k / 40))[:, None, None] * np.ones((41, 1, 12))  # attainment 0.5 .. 1.5
    cost = incentive_cost(sales, np.full((1, 12), 100.0), _reps(1), Incentives(**{**SAMPLE, "bonuses": []}))
    at = cost.at_attainment.set_index("scenario")
    assert at.loc["P50", "attainment"] == pytest.approx(1.0)   # sims 19, 20, 21
    assert at.loc["P10", "attainment"] == pytest.approx(0.6)   # sims 3, 4, 5
    expected = 120_000 * np.mean([0.3 + 0.375 * 1.75, 1.0, 1.05])
    assert at.loc["P50", "payout"] == pytest.approx(expected)


def test_incentive_cost_checks_shapes_and_roles():
    with pytest.raises(DataError, match=r"sales must be \(sims, reps, months\) matching targets \(reps, months\)"):
        incentive_cost(np.ones((2, 3)), np.ones((2, 3)), _reps(), Incentives(**SAMPLE))
    reps = _reps().assign(role=["rep", "hunter"])
    with pytest.raises(DataError, match=r"no target incentive for role\(s\) \['hunter'\]"):
        incentive_cost(np.ones((1, 2, 3)), np.ones((2, 3)), reps, Incentives(**SAMPLE))


def test_expected_payout_at_expected_attainment():
    expected = np.array([[100.0] * 12, [80.0] * 12])
    out = expected_payout_at(expected, np.full((2, 12), 100.0), _reps(), Incentives(**SAMPLE))
    assert out["commission"].tolist() == pytest.approx([120_000.0, 60_000.0 * 0.65])


def test_incentive_config_errors_name_the_key():
    base = {"company": {"name": "Test Co", "currency": "CNY"},
            "fiscal": {"year": 2027}, "as_of": "2026-11-26",
            "data": {"sales": {"path": "s.csv"}, "reps": {"path": "r.csv"}}}
    with pytest.raises(ConfigError, match=r"incentives.commission: Value error, the first tier must start at 0"):
        parse_config({**base, "incentives": {"commission": {"tiers": [{"from": 0.5, "rate": 1}]}}})
    with pytest.raises(ConfigError, match=r"tiers must start at rising attainments, got \[0.0, 1.0, 0.8\]"):
        parse_config({**base, "incentives": {"commission": {"tiers": [
            {"from": 0, "rate": 1}, {"from": 1.0, "rate": 2}, {"from": 0.8, "rate": 1}]}}})
    with pytest.raises(ConfigError, match=r"incentives.commission.cap: the cap 0.2 is below the payout at the "
                                          r"threshold \(0.3\)"):
        build_incentive_plan(Incentives(**SAMPLE, commission=Commission(cap=0.2)), currency="CNY")
    plan = build_incentive_plan(Incentives(**SAMPLE), currency="CNY")
    assert plan.cap_attainment == pytest.approx(1.5)
    assert plan.curve["attainment"].max() == pytest.approx(2.0)


def test_payout_examples_and_the_what_if_sentence():
    table = payout_examples(Incentives(**SAMPLE), [0.8, 1.2])
    assert table["yearly_pay"].tolist() == pytest.approx([0.65 * 120_000, 1.4 * 120_000])
    assert payout_example(1.2, Incentives(**SAMPLE), currency="CNY") == (
        "At 120% of target in every quarter, a full-time rep earns 168,000 CNY of commission in the year "
        "(140% of target incentive).")
    # 0.65 x 120,000 = 78,000 CNY = 78 k CNY
    assert "a full-time rep earns 78 k CNY of commission" in payout_example(
        0.8, Incentives(**SAMPLE), currency="CNY", unit=1000, unit_label="k CNY")
    with pytest.raises(DataError, match=r"no target incentive for role 'intern'"):
        payout_examples(Incentives(**SAMPLE), role="intern")


def test_names_from_the_config_are_escaped_in_the_description():
    plan = Incentives(target_incentive={"<b>rep</b>": 1.0},
                      bonuses=[Bonus(name="<script>x</script>", kind="team", amount=1.0)])
    text = describe_plan(plan, currency="CNY")
    assert "<script>" not in text and "&lt;script&gt;x&lt;/script&gt;" in text
    assert "&lt;b&gt;rep&lt;/b&gt; 1 CNY" in text


def test_incentive_cost_gives_each_reps_expected_bonuses():
    sales = np.array([[[100.0] * 3, [50.0] * 3],      # sim 0: the team at 75% of its quarter
                      [[150.0] * 3, [120.0] * 3]])    # sim 1: the team at 135%
    cost = incentive_cost(sales, np.full((2, 3), 100.0), _reps(), Incentives(**SAMPLE))
    # champion (5,000 a month) to rep 0 in every month of both years; team bonus (3,000 each) in sim 1 only
    assert cost.by_rep["expected_bonuses"].tolist() == [(15_000 + 15_000 + 3_000) / 2, 3_000 / 2]
    assert cost.by_rep["expected_bonuses"].sum() == cost.summary["expected_bonuses"]
