"""Tests of planlib.allocate: exact rounding, the allocation engine, the weights from data, the targets table."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planlib import allocate as al
from planlib.calendar import plan_days
from planlib.config import Allocation
from planlib.errors import AllocationError


# --------------------------------------------------------------------------- largest remainder
def test_largest_remainder_by_hand():
    assert al.largest_remainder([1, 1, 1], 10).tolist() == [4, 3, 3]  # tie goes to the earlier item
    # quotas 3.5, 2.1, 1.4, 0 -> floors 3, 2, 1, 0 and the one unit left to the .5
    assert al.largest_remainder([0.5, 0.3, 0.2, 0.0], 7).tolist() == [4, 2, 1, 0]
    # two groups: 5 over 1:2 -> 1.67, 3.33 -> 2, 3; 7 over 3:4 -> 3, 4
    assert al.largest_remainder([1, 2, 3, 4], [5, 7], [0, 0, 1, 1]).tolist() == [2, 3, 3, 4]


def test_largest_remainder_errors_name_the_problem():
    with pytest.raises(AllocationError, match=r"weights must be finite and >= 0; found \[-1.0\]"):
        al.largest_remainder([1.0, -1.0], 5)
    with pytest.raises(AllocationError, match=r"all weights zero\) in: East \(4\)"):
        al.largest_remainder([0.0, 0.0, 1.0], [4, 2], [0, 0, 1], group_names=["East", "West"])


@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=30), st.integers(0, 10**9))
def test_largest_remainder_adds_up_and_stays_within_one_unit(weights, total):
    weights = np.array(weights)
    if weights.sum() == 0:
        weights[0] = 1.0
    parts = al.largest_remainder(weights, total)
    assert parts.sum() == total
    exact = weights / weights.sum() * total
    assert np.all(np.abs(parts - exact) < 1 + 1e-6)
    assert np.all(parts[weights == 0] == 0)


# --------------------------------------------------------------------------- two-way splits
def test_split_two_way_keeps_a_seed_that_already_fits():
    seed = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert al.split_two_way(seed, [3, 7], [[4, 6]]).tolist() == [[1, 2], [3, 4]]


def test_split_two_way_keeps_zeros():
    # Row 0 can only use column 0, so it takes 2 there and row 1 the rest.
    out = al.split_two_way(np.array([[1.0, 0.0], [1.0, 1.0]]), [2, 2], [[3, 1]])
    assert out.tolist() == [[2, 0], [1, 1]]


def test_split_two_way_repairs_columns_that_row_rounding_breaks():
    # Every cell is 1/3: each row alone would round up its first column, giving columns 3, 0, 0.
    out = al.split_two_way(np.ones((3, 3)), [1, 1, 1], [[1, 1, 1]])
    assert out.sum(axis=1).tolist() == [1, 1, 1] and out.sum(axis=0).tolist() == [1, 1, 1]
    assert sorted(out.ravel().tolist()) == [0] * 6 + [1] * 3


def test_split_two_way_blocks_add_up_separately():
    seed = np.ones((4, 2))
    out = al.split_two_way(seed, [3, 2, 1, 4], [[2, 3], [4, 1]], [0, 0, 1, 1])
    assert out[:2].sum(axis=0).tolist() == [2, 3] and out[2:].sum(axis=0).tolist() == [4, 1]
    assert out.sum(axis=1).tolist() == [3, 2, 1, 4]


def test_split_two_way_errors():
    with pytest.raises(AllocationError, match="East: its rows add to 3 units but its columns to 4"):
        al.split_two_way(np.ones((2, 2)), [1, 2], [[2, 2]], block_names=["East"])
    with pytest.raises(AllocationError, match="nowhere to go.*R009"):
        al.split_two_way(np.array([[1.0, 1.0], [0.0, 0.0]]), [1, 1], [[1, 1]], row_names=["R001", "R009"])
    with pytest.raises(AllocationError, match="no one can carry.*company / 2027-W05"):
        al.split_two_way(np.array([[1.0, 0.0]]), [2], [[1, 1]], col_names=["2027-W04", "2027-W05"],
                         block_names=["company"])
    with pytest.raises(AllocationError, match="R002 needs 5 units but the periods or products open to it hold only"):
        # R002 may only sell in the first week, which holds 2 units in all.
        al.split_two_way(np.array([[1.0, 1.0], [1.0, 0.0]]), [1, 5], [[2, 4]], row_names=["R001", "R002"])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(1, 9), st.integers(1, 3), st.integers(0, 10**6), st.randoms(use_true_random=False))
def test_split_two_way_property(rows_per_block, n_cols, n_blocks, total, rnd):
    rng = np.random.default_rng(rnd.randint(0, 2**32 - 1))
    blocks = np.repeat(np.arange(n_blocks), rows_per_block)
    seed = rng.random((len(blocks), n_cols)) + 0.01
    row_totals = al.largest_remainder(rng.random(len(blocks)) + 0.01, total)
    cols = np.stack([al.largest_remainder(seed[blocks == b].sum(axis=0), row_totals[blocks == b].sum())
                     for b in range(n_blocks)])
    out = al.split_two_way(seed, row_totals, cols, blocks)
    assert (out >= 0).all()
    assert (out.sum(axis=1) == row_totals).all()
    for b in range(n_blocks):
        assert (out[blocks == b].sum(axis=0) == cols[b]).all()
    raked = al.rake(seed, row_totals, cols, blocks)
    assert np.abs(out - raked).max() < 1 + 1e-6  # controlled rounding moves no cell by a whole unit


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


# --------------------------------------------------------------------------- weights from data
def test_rep_availability_ramps_and_stops_at_exit():
    days = pd.DataFrame({"date": pd.to_datetime(["2027-01-15", "2027-02-15", "2027-03-15", "2027-04-15",
                                                 "2027-05-15", "2027-06-15"])})
    roster = pd.DataFrame({"rep_id": ["A", "B"], "hire_date": pd.to_datetime(["2027-02-01", "2020-01-01"]),
                           "exit_date": pd.to_datetime([None, "2027-04-30"]), "fte": [0.5, 1.0]})
    avail = al.rep_availability(roster, days, [0.25, 0.5, 0.75])
    assert avail[0].tolist() == [0.0, 0.125, 0.25, 0.375, 0.5, 0.5]
    assert avail[1].tolist() == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]


def test_blend_leaves_out_a_method_with_nothing_to_say():
    values = {"historical": np.array([0.0, 0.0, 3.0, 1.0]), "capacity": np.array([1.0, 3.0, 1.0, 1.0])}
    shares = al.blend(values, {"historical": 1.0, "capacity": 1.0}, np.array([0, 0, 1, 1]), 2)
    # parent 0 has no history: capacity alone (1:3); parent 1: (3/4 + 1/2)/2 and (1/4 + 1/2)/2
    assert shares.tolist() == pytest.approx([0.25, 0.75, 0.625, 0.375])


def synthetic_plan_data():
    """A two-region company with three reps, two products, monthly history 2023-01..2026-10."""
    months = pd.date_range("2023-01-01", "2026-10-01", freq="MS")
    season = 1 + 0.5 * np.sin(2 * np.pi * (months.month - 1) / 12)
    rows = []

    def add(uid, level, y, region=None, team=None, rep=None, product=None):
        rows.append(pd.DataFrame({"unique_id": uid, "ds": months, "y": y, "level": level, "region": region,
                                  "team": team, "rep_id": rep, "product": product}))

    share = {("East", "X"): 40, ("East", "Y"): 20, ("West", "X"): 10, ("West", "Y"): 30}
    for (region, product), size in share.items():
        add(f"region_product/{region}/{product}", "region_product", size * season, region, product=product)
    for region in ("East", "West"):
        add(f"region/{region}", "region", sum(share[(region, p)] for p in "XY") * season, region)
        add(f"team/{region}-1", "team", sum(share[(region, p)] for p in "XY") * season, region, f"{region}-1")
    for product in "XY":
        add(f"product/{product}", "product", sum(share[(r, product)] for r in ("East", "West")) * season,
            product=product)
    add("company", "company", 100 * season)
    add("rep/E1", "rep", 30 * season, "East", "East-1", "E1")
    add("rep/E2", "rep", 30 * season, "East", "East-1", "E2")
    add("rep/W1", "rep", 40 * season, "West", "West-1", "W1")
    history = pd.concat(rows, ignore_index=True)
    plan_months = pd.date_range("2026-11-01", "2027-12-01", freq="MS")
    fc = history[history["ds"] >= "2025-11-01"].copy()
    fc["ds"] = fc["ds"] + pd.DateOffset(years=1)
    forecasts = fc.rename(columns={"y": "yhat"})[["unique_id", "ds", "yhat"]]
    forecasts = forecasts[forecasts["ds"].isin(plan_months)]
    roster = pd.DataFrame({"rep_id": ["E1", "E2", "W1", "W2"], "name": ["甲", "乙", "丙", "丁"],
                           "team": ["East-1", "East-1", "West-1", "West-1"],
                           "region": ["East", "East", "West", "West"],
                           "hire_date": pd.to_datetime(["2015-01-01", "2016-01-01", "2014-01-01", "2027-07-01"]),
                           "exit_date": pd.to_datetime([None, None, None, None]), "fte": [1.0, 1.0, 1.0, 1.0]})
    return history, forecasts, roster


def test_allocation_inputs_from_data_and_the_targets_table():
    history, forecasts, roster = synthetic_plan_data()
    days = plan_days(2027, country="CN")
    cfg = Allocation(methods={"forecast": 1.0})
    inputs = al.allocation_inputs(roster=roster, history=history, forecasts=forecasts, days=days,
                                  fiscal_months=pd.date_range("2027-01-01", periods=12, freq="MS"),
                                  last_month=pd.Timestamp("2026-10-01"), allocation=cfg)
    assert inputs.regions == ["East", "West"] and inputs.products == ["X", "Y"]
    # Forecast shares: East 60 of 100, West 40; products X 50, Y 50.
    assert inputs.region_weight.tolist() == pytest.approx([0.6, 0.4])
    assert inputs.product_weight.tolist() == pytest.approx([0.5, 0.5])
    # W2 joins 2027-07-01: nothing before July, 25% in July.
    w2 = inputs.reps.index("W2")
    first_july = int(np.flatnonzero((inputs.pieces["month"] == "2027-07").to_numpy())[0])
    assert inputs.rep_availability[w2, :first_july].sum() == 0
    assert inputs.rep_availability[w2, first_july + 1] == pytest.approx(0.25)
    result = al.allocate(1000, inputs, unit=1000)
    targets = al.targets_table(result)
    assert list(targets.columns) == ["level", "entity", "product", "period_type", "period", "target"]
    assert set(targets["level"]) == {"company", "product", "region", "region_product", "team", "team_product",
                                     "rep", "rep_product"}
    region = targets[(targets["level"] == "region") & (targets["period_type"] == "year")]
    assert region["target"].tolist() == [600_000, 400_000]
    assert set(targets.loc[targets["period_type"] == "week", "period"]) >= {"2026-W53", "2027-W01", "2027-W52"}
    assert al.check_additivity(targets).empty
    w2_months = targets[(targets["level"] == "rep") & (targets["entity"] == "W2") & (targets["period_type"] == "month")]
    assert (w2_months.loc[w2_months["period"] < "2027-07", "target"] == 0).all()
    assert w2_months["target"].sum() > 0
    # Seasonal months: the forecast's peak month (April, sin peak) gets more than January.
    company = targets[(targets["level"] == "company") & (targets["period_type"] == "month")].set_index("period")
    assert company.loc["2027-04", "target"] > company.loc["2027-01", "target"]


def test_allocation_inputs_reject_a_roster_with_nobody_in_the_plan_year():
    history, forecasts, roster = synthetic_plan_data()
    roster = roster.assign(exit_date=pd.Timestamp("2026-06-30"))
    with pytest.raises(AllocationError, match="no rep on the roster works in the plan year"):
        al.allocation_inputs(roster=roster, history=history, forecasts=forecasts, days=plan_days(2027),
                             fiscal_months=pd.date_range("2027-01-01", periods=12, freq="MS"),
                             last_month=pd.Timestamp("2026-10-01"))


def test_late_joiner_whose_weeks_cannot_carry_the_target_is_noted():
    # B joins for the last of four weeks but is weighted to carry 75 of 100 units; that week holds 40
    # (availability 1, 1, 1, 2 over flat seasons), so B gets all 40, A the other 60, and a note says so.
    pieces = pd.DataFrame({"piece": range(4), "week": [f"2027-W0{j + 1}" for j in range(4)], "month": "2027-01",
                           "quarter": "2027Q1", "year": "FY2027"})
    inputs = al.AllocationInputs(
        regions=["East"], teams=["East-1"], reps=["A", "B"], products=["X"], team_region=np.array([0]),
        rep_team=np.array([0, 0]), pieces=pieces, region_weight=np.ones(1), team_weight=np.ones(1),
        rep_weight=np.array([1.0, 3.0]), product_weight=np.ones(1), region_product_seed=np.ones((1, 1)),
        team_product_seed=np.ones((1, 1)), rep_product_seed=np.ones((2, 1)), company_profile=np.ones(4),
        product_profile=np.ones((1, 4)), region_product_profile=np.ones((1, 1, 4)),
        rep_availability=np.array([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0]]))
    result = al.allocate(100, inputs)
    assert result.tables["company"][0, 0].tolist() == [20, 20, 20, 40]
    assert result.tables["rep"][:, 0, :].tolist() == [[20, 20, 20, 0], [0, 0, 0, 40]]
    assert result.notes == ["A / X: 25 units asked, 60 given (carries what a colleague's open weeks could not)",
                            "B / X: 75 units asked, 40 given (too few open weeks to carry it)"]


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
