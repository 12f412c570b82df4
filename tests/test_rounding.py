"""Tests of planlib.planning.rounding: largest remainder, raking and exact two-way rounding (with property tests)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planlib.planning import rounding as rd
from planlib.core.errors import AllocationError


# --------------------------------------------------------------------------- largest remainder
def test_largest_remainder_by_hand():
    assert rd.largest_remainder([1, 1, 1], 10).tolist() == [4, 3, 3]  # tie goes to the earlier item
    # quotas 3.5, 2.1, 1.4, 0 -> floors 3, 2, 1, 0 and the one unit left to the .5
    assert rd.largest_remainder([0.5, 0.3, 0.2, 0.0], 7).tolist() == [4, 2, 1, 0]
    # two groups: 5 over 1:2 -> 1.67, 3.33 -> 2, 3; 7 over 3:4 -> 3, 4
    assert rd.largest_remainder([1, 2, 3, 4], [5, 7], [0, 0, 1, 1]).tolist() == [2, 3, 3, 4]


def test_largest_remainder_errors_name_the_problem():
    with pytest.raises(AllocationError, match=r"weights must be finite and >= 0; found \[-1.0\]"):
        rd.largest_remainder([1.0, -1.0], 5)
    with pytest.raises(AllocationError, match=r"all weights zero\) in: East \(4\)"):
        rd.largest_remainder([0.0, 0.0, 1.0], [4, 2], [0, 0, 1], group_names=["East", "West"])


@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=30), st.integers(0, 10**9))
def test_largest_remainder_adds_up_and_stays_within_one_unit(weights, total):
    weights = np.array(weights)
    if weights.sum() == 0:
        weights[0] = 1.0
    parts = rd.largest_remainder(weights, total)
    assert parts.sum() == total
    exact = weights / weights.sum() * total
    assert np.all(np.abs(parts - exact) < 1 + 1e-6)
    assert np.all(parts[weights == 0] == 0)


# --------------------------------------------------------------------------- two-way splits
def test_split_two_way_keeps_a_seed_that_already_fits():
    seed = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert rd.split_two_way(seed, [3, 7], [[4, 6]]).tolist() == [[1, 2], [3, 4]]


def test_split_two_way_keeps_zeros():
    # Row 0 can only use column 0, so it takes 2 there and row 1 the rest.
    out = rd.split_two_way(np.array([[1.0, 0.0], [1.0, 1.0]]), [2, 2], [[3, 1]])
    assert out.tolist() == [[2, 0], [1, 1]]


def test_split_two_way_repairs_columns_that_row_rounding_breaks():
    # Every cell is 1/3: each row alone would round up its first column, giving columns 3, 0, 0.
    out = rd.split_two_way(np.ones((3, 3)), [1, 1, 1], [[1, 1, 1]])
    assert out.sum(axis=1).tolist() == [1, 1, 1] and out.sum(axis=0).tolist() == [1, 1, 1]
    assert sorted(out.ravel().tolist()) == [0] * 6 + [1] * 3


def test_split_two_way_blocks_add_up_separately():
    seed = np.ones((4, 2))
    out = rd.split_two_way(seed, [3, 2, 1, 4], [[2, 3], [4, 1]], [0, 0, 1, 1])
    assert out[:2].sum(axis=0).tolist() == [2, 3] and out[2:].sum(axis=0).tolist() == [4, 1]
    assert out.sum(axis=1).tolist() == [3, 2, 1, 4]


def test_split_two_way_errors():
    with pytest.raises(AllocationError, match="East: its rows add to 3 units but its columns to 4"):
        rd.split_two_way(np.ones((2, 2)), [1, 2], [[2, 2]], block_names=["East"])
    with pytest.raises(AllocationError, match="nowhere to go.*R009"):
        rd.split_two_way(np.array([[1.0, 1.0], [0.0, 0.0]]), [1, 1], [[1, 1]], row_names=["R001", "R009"])
    with pytest.raises(AllocationError, match="no one can carry.*company / 2027-W05"):
        rd.split_two_way(np.array([[1.0, 0.0]]), [2], [[1, 1]], col_names=["2027-W04", "2027-W05"],
                         block_names=["company"])
    with pytest.raises(AllocationError, match="R002 needs 5 units but the periods or products open to it hold only"):
        # R002 may only sell in the first week, which holds 2 units in all.
        rd.split_two_way(np.array([[1.0, 1.0], [1.0, 0.0]]), [1, 5], [[2, 4]], row_names=["R001", "R002"])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(1, 9), st.integers(1, 3), st.integers(0, 10**6), st.randoms(use_true_random=False))
def test_split_two_way_property(rows_per_block, n_cols, n_blocks, total, rnd):
    rng = np.random.default_rng(rnd.randint(0, 2**32 - 1))
    blocks = np.repeat(np.arange(n_blocks), rows_per_block)
    seed = rng.random((len(blocks), n_cols)) + 0.01
    row_totals = rd.largest_remainder(rng.random(len(blocks)) + 0.01, total)
    cols = np.stack([rd.largest_remainder(seed[blocks == b].sum(axis=0), row_totals[blocks == b].sum())
                     for b in range(n_blocks)])
    out = rd.split_two_way(seed, row_totals, cols, blocks)
    assert (out >= 0).all()
    assert (out.sum(axis=1) == row_totals).all()
    for b in range(n_blocks):
        assert (out[blocks == b].sum(axis=0) == cols[b]).all()
    raked = rd.rake(seed, row_totals, cols, blocks)
    assert np.abs(out - raked).max() < 1 + 1e-6  # controlled rounding moves no cell by a whole unit


def test_block_sums_adds_the_rows_of_each_block():
    matrix = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert rd.block_sums(matrix, np.array([0, 1, 0]), 2).tolist() == [[6.0, 8.0], [3.0, 4.0]]


def test_rake_meets_both_margins_and_keeps_zeros():
    # Seed [[1, 1], [0, 1]] to rows 2, 2 and columns 1, 3: the zero stays, so row 1 is 0, 2
    # and row 0 must be 1, 1.
    raked = rd.rake(np.array([[1.0, 1.0], [0.0, 1.0]]), [2, 2], [[1, 3]], np.array([0, 0]))
    assert raked.tolist() == [[pytest.approx(1.0), pytest.approx(1.0)], [0.0, pytest.approx(2.0)]]


def test_flexible_rows_keep_columns_exact_when_a_row_cannot_be_met():
    # Row 1 asks 5 but may only use column 0, which holds 2: columns stay exact, rows move.
    out = rd.split_two_way(np.array([[1.0, 1.0], [1.0, 0.0]]), [1, 5], [[2, 4]], flexible_rows=True)
    assert out.sum(axis=0).tolist() == [2, 4]
    assert out[1].tolist() == [2, 0] and out[0].tolist() == [0, 4]
