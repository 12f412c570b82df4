"""The incentive cost in blocks of simulated years: the same numbers, to the last bit, as on the whole array."""
import numpy as np
import pandas as pd
import pytest

from planlib.core.config_operating import Bonus, Commission, Incentives
from planlib.resources.incentives import payout_factor
from planlib.resources.outcomes import incentive_cost, outcome_blocks

INCENTIVES = Incentives(target_incentive={"rep": 120_000, "manager": 150_000},
                        bonuses=[Bonus(name="champion", kind="champion", period="month", amount=5_000, winners=2),
                                 Bonus(name="team", kind="team", period="quarter", amount=3_000)])


def _case(n_sims=9, n_reps=5, n_months=12, seed=7):
    rng = np.random.default_rng(seed)
    sales = (rng.lognormal(0.0, 0.4, (n_sims, n_reps, n_months)) * 100).astype(np.float32)
    targets = np.full((n_reps, n_months), 100.0)
    targets[0, :3] = 0.0  # a rep without a target in the first quarter: attainment NaN there, never paid
    reps = pd.DataFrame({"rep_id": [f"R{i}" for i in range(n_reps)], "team": ["A", "A", "B", "B", "B"][:n_reps],
                         "role": ["rep"] * (n_reps - 1) + ["manager"], "fte": [1.0, 0.5, 1.0, 1.0, 1.0][:n_reps]})
    return sales, targets, reps


def test_blocks_cover_every_simulation_once():
    assert outcome_blocks(5, 10, cells=20) == [slice(0, 2), slice(2, 4), slice(4, 5)]
    assert outcome_blocks(3, 100, cells=20) == [slice(0, 1), slice(1, 2), slice(2, 3)]  # at least one sim a block
    assert outcome_blocks(4, 10, cells=10**6) == [slice(0, 4)]


def test_blocked_cost_equals_the_cost_of_the_whole_array_bit_for_bit():
    sales, targets, reps = _case()
    whole = incentive_cost(sales, targets, reps, INCENTIVES, fixed_cost=1000.0, on_cost_rate=0.3, block_cells=10**9)
    for cells in (1, 2 * 5 * 12, 4 * 5 * 12):  # one year a block, two, four (the last block shorter)
        blocked = incentive_cost(sales, targets, reps, INCENTIVES, fixed_cost=1000.0, on_cost_rate=0.3,
                                 block_cells=cells)
        for name in ("by_sim", "at_attainment", "by_rep", "bonuses", "by_period"):
            pd.testing.assert_frame_equal(getattr(blocked, name), getattr(whole, name), check_exact=True)
        assert blocked.summary == whole.summary


def test_blocked_cost_equals_the_cost_computed_directly():
    sales, targets, reps = _case()
    cost = incentive_cost(sales, targets, reps, INCENTIVES, block_cells=2 * 5 * 12)
    # directly, year by year and rep by rep: quarterly attainment, the payout curve, target incentive x FTE / 4
    ti = np.array([120_000, 60_000, 120_000, 120_000, 150_000]) / 4
    quarter_sales = sales.astype(float).reshape(9, 5, 4, 3).sum(axis=3)
    quarter_target = targets.reshape(5, 4, 3).sum(axis=2)
    commission = np.zeros((9, 5, 4))
    for n in range(9):
        for r in range(5):
            for q in range(4):
                if quarter_target[r, q] > 0:
                    commission[n, r, q] = float(payout_factor(quarter_sales[n, r, q] / quarter_target[r, q],
                                                              Commission())) * ti[r]
    np.testing.assert_allclose(cost.by_sim["commission"], commission.sum(axis=(1, 2)), rtol=1e-12)
    np.testing.assert_allclose(cost.by_rep["expected_payout"], commission.sum(axis=2).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(cost.by_period["expected_commission"], commission.mean(axis=0).ravel(), rtol=1e-12)
    # 19 rep-quarters with a target a year (R0 has none in the first, which pays 0 and is not counted)
    unpaid = (commission <= 0).sum() - 9 * 1
    assert cost.summary["share_periods_paid_nothing"] == pytest.approx(unpaid / (9 * 19))
    # the champion bonus: the two best reps of each month with attainment at or above the bonus minimum
    month_att = np.where(targets > 0, sales.astype(float) / np.where(targets > 0, targets, 1.0), -np.inf)
    champion = Bonus(name="champion", kind="champion", period="month", amount=5_000, winners=2)
    wins = np.zeros(9)
    for n in range(9):
        for m in range(12):
            top = np.sort(month_att[n, :, m])[::-1][:2]
            wins[n] += (top >= champion.min_attainment).sum()
    bonuses = cost.bonuses.set_index("bonus")
    assert bonuses.loc["champion", "expected"] == pytest.approx(5_000 * wins.mean())
    assert bonuses.loc["champion", "max"] == 5_000 * 12 * 2
    assert cost.summary["n_sims"] == 9
