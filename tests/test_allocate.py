"""Tests of planlib.planning.allocate: the allocation engine, the targets table and its checks, the names it re-exports."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planlib.planning import allocate as al
from planlib.planning import rounding, weights
from planlib.core.errors import AllocationError


def test_names_callers_import_from_allocate_are_the_rounding_and_weights_ones():
    for name in ("largest_remainder", "rake", "split_two_way", "block_sums"):
        assert getattr(al, name) is getattr(rounding, name)
    for name in ("AllocationInputs", "allocation_inputs", "blend", "rep_availability", "rep_productivity",
                 "product_mix", "plan_ramp", "explicit_ramp"):
        assert getattr(al, name) is getattr(weights, name)
    assert set(al.__all__) <= set(dir(al))



# --------------------------------------------------------------------------- the engine
def make_inputs(structure, products, n_pieces, rng, *, joiners=False):
    regions = [f"R{r}" for r in range(len(structure))]
    teams, team_region, reps, rep_team = [], [], [], []
    for r, team_sizes in enumerate(structure):
        for size in team_sizes:
            teams.append(f"T{len(teams)}")
            team_region.append(r)
            for _ in range(size):
                reps.append(f"P{len(reps):03d}")
                rep_team.append(len(teams) - 1)
    k, n = len(products), n_pieces
    availability = rng.uniform(0.3, 1.0, (len(reps), n))
    if joiners:
        # every second rep of a team joins part-way through; the first of each team is there all year
        for i in range(len(reps)):
            if i % 2 and rep_team[i] == rep_team[i - 1]:
                availability[i, : rng.integers(0, n)] = 0.0
    pieces = pd.DataFrame({"piece": range(n), "week": [f"2027-W{j + 1:02d}" for j in range(n)],
                           "month": [f"2027-{j // 3 + 1:02d}" for j in range(n)],
                           "quarter": [f"2027Q{min(j // 9, 3) + 1}" for j in range(n)], "year": "FY2027"})
    capacity = availability.sum(axis=1)
    return al.AllocationInputs(
        regions=regions, teams=teams, reps=reps, products=products, team_region=np.array(team_region),
        rep_team=np.array(rep_team), pieces=pieces, region_weight=rng.uniform(0.5, 2, len(regions)),
        team_weight=rng.uniform(0.5, 2, len(teams)), rep_weight=capacity * rng.uniform(0.8, 1.2, len(reps)),
        product_weight=rng.uniform(0.2, 1, k), region_product_seed=rng.uniform(0.1, 1, (len(regions), k)),
        team_product_seed=rng.uniform(0.1, 1, (len(teams), k)), rep_product_seed=rng.uniform(0.1, 1, (len(reps), k)),
        company_profile=rng.uniform(0.5, 1.5, n), product_profile=rng.uniform(0.5, 1.5, (k, n)),
        region_product_profile=rng.uniform(0.5, 1.5, (len(regions), k, n)), rep_availability=availability)


def parents_of(inputs):
    return {"region": ("company", {r: "company" for r in inputs.regions}),
            "team": ("region", {t: inputs.regions[inputs.team_region[i]] for i, t in enumerate(inputs.teams)}),
            "rep": ("team", {p: inputs.teams[inputs.rep_team[i]] for i, p in enumerate(inputs.reps)})}


hierarchies = st.lists(st.lists(st.integers(1, 4), min_size=1, max_size=3), min_size=1, max_size=3)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hierarchies, st.integers(1, 3), st.integers(2, 12), st.integers(0, 5 * 10**6), st.booleans(),
       st.randoms(use_true_random=False))
def test_allocation_adds_up_everywhere(structure, n_products, n_pieces, total, joiners, rnd):
    rng = np.random.default_rng(rnd.randint(0, 2**32 - 1))
    inputs = make_inputs(structure, [f"Prod{j}" for j in range(n_products)], n_pieces, rng, joiners=joiners)
    result = al.allocate(total, inputs, unit=1000)
    targets = al.targets_table(result)
    assert targets.loc[(targets["level"] == "company") & (targets["period_type"] == "year"), "target"].item() == total * 1000
    assert al.check_additivity(targets).empty
    assert al.check_hierarchy(targets, parents_of(inputs)).empty
    assert (targets["target"] >= 0).all()
    # a rep gets nothing in a piece before joining
    assert (result.tables["rep"].sum(axis=1)[inputs.rep_availability == 0] == 0).all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hierarchies, st.integers(0, 10**6), st.floats(0, 0.2), st.floats(0, 0.2), st.randoms(use_true_random=False))
def test_uplift_is_added_before_passing_down_and_shown_separately(structure, total, region_up, team_up, rnd):
    rng = np.random.default_rng(rnd.randint(0, 2**32 - 1))
    inputs = make_inputs(structure, ["A", "B"], 6, rng)
    result = al.allocate(total, inputs, unit=1, uplift={"region": region_up, "team": team_up})
    owed, handed = al.targets_table(result), al.targets_table(result, passed_down=True)
    # teams add up to what regions pass down; reps to what teams pass down
    mixed = pd.concat([handed[handed["level"].isin(["company", "product", "region", "region_product"])],
                       owed[owed["level"].isin(["team", "team_product"])]])
    assert al.check_hierarchy(mixed, {"team": parents_of(inputs)["team"]}).empty
    region_year = owed[(owed["level"] == "region") & (owed["period_type"] == "year")].set_index("entity")["target"]
    lifted = handed[(handed["level"] == "region") & (handed["period_type"] == "year")].set_index("entity")["target"]
    assert (lifted == np.round(region_year * (1 + region_up))).all()
    cushions = al.uplift_table(result)
    if region_up == team_up == 0:
        assert cushions.empty
    else:
        assert (cushions["passed_down"] - cushions["target"] == cushions["uplift"]).all()


def test_allocation_by_hand_one_region_two_reps():
    # 100 units, one product, two pieces; rep B joins in the second piece.
    pieces = pd.DataFrame({"piece": [0, 1], "week": ["2027-W01", "2027-W02"], "month": ["2027-01", "2027-01"],
                           "quarter": ["2027Q1"] * 2, "year": "FY2027"})
    inputs = al.AllocationInputs(
        regions=["East"], teams=["East-1"], reps=["A", "B"], products=["X"], team_region=np.array([0]),
        rep_team=np.array([0, 0]), pieces=pieces, region_weight=np.ones(1), team_weight=np.ones(1),
        rep_weight=np.array([3.0, 1.0]), product_weight=np.ones(1), region_product_seed=np.ones((1, 1)),
        team_product_seed=np.ones((1, 1)), rep_product_seed=np.ones((2, 1)), company_profile=np.array([1.0, 1.0]),
        product_profile=np.ones((1, 2)), region_product_profile=np.ones((1, 1, 2)),
        rep_availability=np.array([[1.0, 1.0], [0.0, 1.0]]))
    result = al.allocate(100, inputs)
    # Company pieces follow availability 1:2 -> 33, 67 (largest remainder: 33.3, 66.7 -> 33, 67).
    assert result.tables["company"][0, 0].tolist() == [33, 67]
    # A gets 75, B 25; B has nothing in piece 0, so A takes all 33 there and 42 after.
    assert result.tables["rep"][:, 0, :].tolist() == [[33, 42], [0, 25]]


def test_allocation_error_when_no_rep_can_carry_a_week():
    rng = np.random.default_rng(0)
    inputs = make_inputs([[1]], ["A"], 3, rng)
    inputs.rep_availability[:, 1] = 0.0
    inputs.company_profile[:] = 1.0
    result = al.allocate(90, inputs)  # the empty week simply gets nothing at any level
    assert result.tables["company"][0, 0, 1] == 0
    inputs.reps = []
    with pytest.raises(AllocationError, match="no rep is in the plan year"):
        al.allocate(90, inputs)


def test_time_split_comparison_flags_months_an_equal_split_misleads():
    months = [f"2027-{m:02d}" for m in range(1, 13)]
    planned = [60, 60, 100, 100, 100, 100, 100, 100, 100, 100, 100, 180]
    targets = pd.DataFrame({"level": "company", "entity": "company", "product": "All", "period_type": "month",
                            "period": months, "target": [p * 1000 for p in planned]})
    table = al.time_split_comparison(targets, unit=1000)
    assert table["equal"].tolist() == [100_000] * 12
    assert table["misleads"].tolist() == [True, True] + [False] * 9 + [True]
    assert table.loc[0, "difference_pct"] == pytest.approx(40 / 60)
    assert table["cumulative_gap"].iloc[-1] == 0


def test_time_split_comparison_of_a_week_based_year_is_equal_per_week_and_names_the_periods():
    # FY2027 4-4-5 has 52 weeks: an equal split of 520,000 is 10,000 a week, 40,000 for a 4-week period and
    # 50,000 for a 5-week one; a plan of exactly that misleads nowhere
    from planlib.core.calendar import fiscal_month_starts

    periods = fiscal_month_starts(2027, 1, "4-4-5")
    planned = [40, 40, 50] * 4
    targets = pd.DataFrame({"level": "company", "entity": "company", "product": "All", "period_type": "month",
                            "period": periods["period"], "target": [p * 1000 for p in planned]})
    table = al.time_split_comparison(targets, unit=1000, periods=periods)
    assert table["equal"].tolist() == [40_000, 40_000, 50_000] * 4
    assert not table["misleads"].any()
    assert table["month"].tolist()[:3] == ["P01 (4 weeks, 4 Jan - 31 Jan)", "P02 (4 weeks, 1 Feb - 28 Feb)",
                                           "P03 (5 weeks, 1 Mar - 4 Apr)"]
    # without the calendar the labels stay and the split is equal per period: 43,333 and a remainder
    plain = al.time_split_comparison(targets, unit=1000)
    assert plain["month"].iloc[0] == "FY2027-P01" and sorted(set(plain["equal"])) == [43_000, 44_000]



def test_allocation_view_and_check_targets_on_an_uplifted_plan():
    rng = np.random.default_rng(7)
    inputs = make_inputs([[2, 1], [1]], ["A", "B"], 5, rng)
    result = al.allocate(10_000, inputs, unit=1000, uplift={"team": 0.05, "region": 0.02})
    assert al.check_targets(result).empty
    targets = al.targets_table(result)
    regions = al.allocation_view(targets, "region")
    assert list(regions.columns) == ["entity", "A", "B", "All"]
    assert (regions["A"] + regions["B"] == regions["All"]).all()
    assert regions["All"].sum() == 10_000 * 1000
    quarters = al.allocation_view(targets, "team", period_type="quarter", by_product=False)
    years = targets[(targets["level"] == "team") & (targets["period_type"] == "year")].set_index("entity")["target"]
    assert (quarters.set_index("entity")["Total"] == years).all()
    # Teams add up to what regions pass down (2% more), not to what regions owe.
    teams = targets[(targets["level"] == "team") & (targets["period_type"] == "year")]["target"].sum()
    assert teams > 10_000 * 1000


# --------------------------------------------------------------------------- planned hires in the rep split
def _monthly_inputs(reps, rep_weight, availability):
    months = [f"2027-{m:02d}" for m in range(1, 13)]
    pieces = pd.DataFrame({"piece": range(12), "week": [f"2027-W{4 * m + 1:02d}" for m in range(12)],
                           "month": months, "quarter": [f"2027Q{m // 3 + 1}" for m in range(12)], "year": "FY2027"})
    n = len(reps)
    return al.AllocationInputs(
        regions=["East"], teams=["East-1"], reps=reps, products=["X"], team_region=np.array([0]),
        rep_team=np.zeros(n, dtype=np.int64), pieces=pieces, region_weight=np.ones(1), team_weight=np.ones(1),
        rep_weight=np.asarray(rep_weight, float), product_weight=np.ones(1), region_product_seed=np.ones((1, 1)),
        team_product_seed=np.ones((1, 1)), rep_product_seed=np.ones((n, 1)), company_profile=np.ones(12),
        product_profile=np.ones((1, 12)), region_product_profile=np.ones((1, 1, 12)),
        rep_availability=np.asarray(availability, float))


def test_a_hire_starting_in_july_carries_nothing_before_and_its_ramp_after():
    # The team (one rep there all year) gets 1,200 units: 100 a month. A hire joins in July along a ramp
    # of 1/4, 3/7 and 2/3 of a ramped rep's sales, ramped from October. The weights give it 240 of the
    # 1,200 and the rep 960. Within a month the two split the team's 100 in proportion to (weight x
    # availability): rep 1, hire theta x ramp, and theta = 1 makes the hire's months add up to 240:
    # 100 x r / (1 + r) = 20 (r = 1/4), 30 (3/7), 40 (2/3), then 50, 50, 50.
    from planlib.planning.productivity import explicit_ramp

    ramp = explicit_ramp([0.25, 3 / 7, 2 / 3])
    tenure = np.arange(1, 13) - 7 + 1  # July is the hire's first month
    hire = np.where(tenure >= 1, ramp.factor(tenure), 0.0)
    teams = al.allocate_teams(1200, _monthly_inputs(["A"], [1.0], [np.ones(12)]))
    assert teams.tables["team"][0, 0].tolist() == [100] * 12
    assert "rep" not in teams.tables
    result = al.allocate_reps(teams, _monthly_inputs(["A", "East TBH 1"], [960.0, 240.0], [np.ones(12), hire]))
    assert result.tables["rep"][1, 0].tolist() == [0, 0, 0, 0, 0, 0, 20, 30, 40, 50, 50, 50]
    assert result.tables["rep"][0, 0].tolist() == [100] * 6 + [80, 70, 60, 50, 50, 50]
    targets = al.targets_table(result)
    assert al.check_targets(result).empty
    months = targets[(targets["level"] == "rep") & (targets["period_type"] == "month")]
    assert months.groupby("period")["target"].sum().tolist() == [100] * 12  # rep + hire = the team, every month
    quarters = targets[(targets["level"] == "rep") & (targets["period_type"] == "quarter")]
    assert quarters.set_index(["entity", "period"])["target"].loc["East TBH 1"].tolist() == [0, 0, 90, 150]


def test_the_rep_split_must_keep_the_team_splits_names():
    teams = al.allocate_teams(1200, _monthly_inputs(["A"], [1.0], [np.ones(12)]))
    other = _monthly_inputs(["A"], [1.0], [np.ones(12)])
    other.teams = ["East-2"]
    with pytest.raises(AllocationError, match=r"rep split's teams \['East-2'\] differ from the team split's "
                                              r"\['East-1'\]: a planned hire must join a team"):
        al.allocate_reps(teams, other)


def test_a_team_uplift_on_a_small_table_finds_room_outside_the_tables_own_weeks():
    # Found by the property test above: team T1 holds 3 units, product A's 2 in weeks 4 and 5 and
    # product B's 1 in week 2. An uplift of 18.75% lifts T1 to round(3.5625) = 4 units: A gets 3 by
    # largest remainder (2/3 of 4 = 2.67), B 1, and weeks 2, 4, 5 get 2, 1, 1 (4/3 each, the tie to
    # the first). A's own weeks hold only 2, so A's third unit goes to week 2, the one week left.
    table = np.zeros((2, 2, 6), dtype=np.int64)
    table[0, 1, 1] = 1
    table[1, 0, [4, 5]] = 1
    table[1, 1, 2] = 1
    lifted = al._uplift(table, 0.1875, ["T0", "T1"], None)
    np.testing.assert_array_equal(lifted[0], table[0])  # T0: round(1.1875) = 1, nothing to add
    np.testing.assert_array_equal(lifted[1], [[0, 0, 1, 0, 1, 1], [0, 0, 1, 0, 0, 0]])
