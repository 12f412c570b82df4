"""Exact rounding: integer parts that add up to their whole, in one way or two ways at once.

Largest remainder for one-way splits; for a two-way table, raking to both margins and
controlled rounding (units moved along maximum-flow paths) so rows and columns add up.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import maximum_flow

from planlib.core.errors import AllocationError

__all__ = ["block_sums", "largest_remainder", "rake", "split_two_way"]


def largest_remainder(weights, totals, groups=None, *, group_names=None) -> np.ndarray:
    """Split integer ``totals`` in proportion to ``weights`` so each group adds up exactly.

    Each item gets the floor of its quota; the units left over go to the items with the
    largest remainders (ties to the earlier item), so no item is more than one unit from
    its exact share (Hamilton's method).

    Parameters
    ----------
    weights : array of float, shape (N,)
        Non-negative weights.
    totals : int or array of int, shape (G,)
        The whole to split in each group.
    groups : array of int, shape (N,), optional
        Group of each item (0..G-1); default: one group.
    group_names : list of str, optional
        Names of the groups, for error messages.

    Returns
    -------
    ndarray of int64, shape (N,)

    Raises
    ------
    AllocationError
        If a weight is negative or not finite, or a group with a positive total has no positive weight.
    """
    weights = np.asarray(weights, dtype=float)
    groups = np.zeros(len(weights), dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    totals = np.atleast_1d(np.asarray(totals, dtype=np.int64))
    n_groups = len(totals)
    names = group_names if group_names is not None else [str(g) for g in range(n_groups)]
    if not np.isfinite(weights).all() or (weights < 0).any():
        bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))[:5]
        raise AllocationError(f"weights must be finite and >= 0; found {weights[bad].tolist()} at {bad.tolist()}")
    if (totals < 0).any():
        raise AllocationError(f"totals must be >= 0; found {totals[totals < 0].tolist()}")
    weight_sum = np.bincount(groups, weights=weights, minlength=n_groups)
    empty = np.flatnonzero((totals > 0) & (weight_sum <= 0))
    if len(empty):
        raise AllocationError("nothing to split a positive total over (all weights zero) in: "
                              + ", ".join(f"{names[g]} ({totals[g]})" for g in empty[:10]))
    share = np.divide(weights, weight_sum[groups], out=np.zeros_like(weights), where=weight_sum[groups] > 0)
    quota = share * totals[groups]
    base = np.floor(quota + 1e-9)
    remainder = np.where(weights > 0, quota - base, -1.0)  # zero-weight items never get a unit
    short = totals - np.bincount(groups, weights=base, minlength=n_groups).round().astype(np.int64)
    order = np.lexsort((np.arange(len(weights)), -remainder, groups))
    first = np.searchsorted(groups[order], np.arange(n_groups))
    position = np.arange(len(weights)) - first[groups[order]]
    base[order[position < short[groups[order]]]] += 1
    return base.astype(np.int64)


def block_sums(matrix: np.ndarray, blocks: np.ndarray, n_blocks: int) -> np.ndarray:
    """Return the column sums of each block of rows: shape (n_blocks, columns).

    Parameters
    ----------
    matrix : array, shape (R, n)
    blocks : array of int, shape (R,)
        Block of each row (0..n_blocks-1).
    n_blocks : int

    Returns
    -------
    ndarray of float, shape (n_blocks, n)
    """
    indicator = sparse.csr_array((np.ones(len(blocks)), (blocks, np.arange(len(blocks)))),
                                 shape=(n_blocks, len(blocks)))
    return np.asarray(indicator @ matrix)


def rake(seed, row_totals, col_totals, blocks, *, tol: float = 1e-6, max_iter: int = 500) -> np.ndarray:
    """Scale ``seed`` so its rows add to ``row_totals`` and each block's columns to ``col_totals``.

    Iterative proportional fitting: the result keeps the seed's zeros and, among tables
    with those margins, stays closest to the seed's proportions. Columns are met exactly
    (to float precision); rows to ``tol``, or as near as ``max_iter`` rounds get where the
    margins only just fit the seed's non-zero cells.

    Parameters
    ----------
    seed : array, shape (R, n)
        Non-negative; a zero stays zero (e.g. a rep before the hire date).
    row_totals : array, shape (R,)
    col_totals : array, shape (B, n)
        Column totals of each block of rows.
    blocks : array of int, shape (R,)
        Block of each row (0..B-1).
    tol : float, default 1e-6
        Largest row error accepted before ``max_iter``.

    Returns
    -------
    ndarray of float, shape (R, n)
    """
    x = np.array(seed, dtype=float)
    rows = np.asarray(row_totals, dtype=float)
    cols = np.asarray(col_totals, dtype=float)
    tol = max(tol, 1e-12 * float(np.abs(rows).max(initial=0)))
    for _ in range(max_iter):
        row_sum = x.sum(axis=1)
        x *= np.divide(rows, row_sum, out=np.zeros_like(rows), where=row_sum > 0)[:, None]
        col_sum = block_sums(x, blocks, len(cols))
        x *= np.divide(cols, col_sum, out=np.zeros_like(cols), where=col_sum > 0)[blocks]
        if np.abs(x.sum(axis=1) - rows).max(initial=0) <= tol:
            break
    return x


def split_two_way(seed, row_totals, col_totals, blocks=None, *, row_names=None, col_names=None,
                  block_names=None, flexible_rows: bool = False) -> np.ndarray:
    """Split integer margins over a table: rows and each block's columns add up exactly.

    The seed is raked to the margins (:func:`rake`), every cell is floored, and the units
    left in each row go to its largest remainders; where that leaves a column of a block
    over or short, units are moved along alternating paths found by a maximum flow
    (controlled rounding): each move keeps every row sum, and such paths always exist
    because the raked table itself is a fractional solution. Every cell ends within one
    unit of its raked value, and zero cells of the seed stay zero.

    Parameters
    ----------
    seed : array, shape (R, n)
        Non-negative proportions (e.g. a profile over weeks times availability).
    row_totals : array of int, shape (R,)
    col_totals : array of int, shape (B, n)
        Column totals of each block; each block's column totals add to its rows' totals.
    blocks : array of int, shape (R,), optional
        Block of each row; default all rows in block 0.
    row_names, col_names, block_names : list of str, optional
        For error messages.
    flexible_rows : bool, default False
        Where the row totals cannot be met on the seed's open cells (a rep who joins in the
        last weeks with a target larger than those weeks hold), round each column on its own
        instead: columns stay exact and rows come as close as the open cells allow. The caller
        sees the change in the row sums.

    Returns
    -------
    ndarray of int64, shape (R, n)

    Raises
    ------
    AllocationError
        If the margins disagree, or a row or column with a positive total has no open cell.
    """
    seed = np.asarray(seed, dtype=float)
    n_rows, n_cols = seed.shape
    blocks = np.zeros(n_rows, dtype=np.int64) if blocks is None else np.asarray(blocks, dtype=np.int64)
    rows = np.asarray(row_totals, dtype=np.int64)
    cols = np.atleast_2d(np.asarray(col_totals, dtype=np.int64))
    n_blocks = len(cols)
    rname = (lambda i: row_names[i]) if row_names is not None else (lambda i: f"row {i}")
    cname = (lambda j: col_names[j]) if col_names is not None else (lambda j: f"column {j}")
    bname = (lambda b: block_names[b]) if block_names is not None else (lambda b: f"block {b}")
    if not np.isfinite(seed).all() or (seed < 0).any():
        raise AllocationError("split weights must be finite and >= 0")
    if (rows < 0).any() or (cols < 0).any():
        raise AllocationError("split totals must be >= 0")
    block_rows = np.bincount(blocks, weights=rows, minlength=n_blocks).round().astype(np.int64)
    mismatch = np.flatnonzero(block_rows != cols.sum(axis=1))
    if len(mismatch):
        b = mismatch[0]
        raise AllocationError(f"{bname(b)}: its rows add to {block_rows[b]:,} units but its columns to "
                              f"{cols[b].sum():,}")
    open_rows = np.flatnonzero((rows > 0) & (seed.sum(axis=1) <= 0))
    if len(open_rows) and not flexible_rows:
        raise AllocationError("a positive target with nowhere to go (no open period or product) for: "
                              + ", ".join(rname(i) for i in open_rows[:10]))
    seed_cols = block_sums(seed, blocks, n_blocks)
    closed = np.argwhere((cols > 0) & (seed_cols <= 0))
    if len(closed):
        raise AllocationError("a positive total that no one can carry (every seed zero) in: "
                              + ", ".join(f"{bname(b)} / {cname(j)}" for b, j in closed[:10]))
    raked = rake(seed, rows, cols, blocks)
    row_error = np.abs(raked.sum(axis=1) - rows)
    if flexible_rows:
        try:
            if row_error.max(initial=0) <= 0.5:
                return _controlled_round(raked, rows, cols, blocks)
        except AllocationError:
            pass
        return _round_columns(raked, cols, blocks)
    if row_error.max(initial=0) > 0.5:
        # The margins do not fit the seed's open cells: a row needs more than its periods hold.
        i = int((rows - raked.sum(axis=1)).argmax())  # the row left shortest names the problem
        raise AllocationError(f"the split cannot meet its totals: {rname(i)} needs {rows[i]:,} units but the "
                              f"periods or products open to it hold only {raked[i].sum():,.1f} (a target "
                              "with too little time or product to carry it, e.g. a rep who joins late)")
    rounded = _controlled_round(raked, rows, cols, blocks)
    if (rounded.sum(axis=1) != rows).any() or (block_sums(rounded, blocks, n_blocks).round() != cols).any():
        raise AllocationError("internal: controlled rounding lost its margins")
    return rounded


def _round_columns(x: np.ndarray, cols: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """Round each block's column on its own (largest remainder): columns exact, rows free."""
    n_rows, n_cols = x.shape
    groups = (blocks[:, None] * n_cols + np.arange(n_cols)[None, :]).ravel()
    return largest_remainder(x.ravel(), cols.ravel(), groups).reshape(n_rows, n_cols)


def _controlled_round(x: np.ndarray, rows: np.ndarray, cols: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    n_rows, n_cols = x.shape
    n_blocks = len(cols)
    floor = np.floor(x + 1e-9)
    fraction = np.where(x > 0, np.clip(x - floor, 0.0, None), -1.0)
    row_short = rows - floor.sum(axis=1).round().astype(np.int64)
    col_short = cols - block_sums(floor, blocks, n_blocks).round().astype(np.int64)
    # Phase 1: each row takes its largest remainders (rows now exact).
    order = np.argsort(-fraction, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(n_cols)[None, :].repeat(n_rows, axis=0), axis=1)
    up = (rank < row_short[:, None]) & (x > 0)
    if (up.sum(axis=1) != row_short).any():
        i = int(np.flatnonzero(up.sum(axis=1) != row_short)[0])
        raise AllocationError(f"row {i} cannot be rounded to its total {rows[i]} on its open cells")
    excess = block_sums(up.astype(float), blocks, n_blocks).round().astype(np.int64) - col_short
    if excess.any():
        for candidates in (fraction > 1e-9, x > 0):
            moved = _repair_columns(up, candidates, excess, blocks, n_blocks)
            if moved is not None:
                up = moved
                break
        else:
            raise AllocationError("the table cannot be rounded to both its row and column totals")
    return floor.astype(np.int64) + up.astype(np.int64)


def _repair_columns(up, candidates, excess, blocks, n_blocks):
    """Move units between columns within rows along max-flow paths; None if not all can move."""
    n_rows, n_cols = up.shape
    source, col0 = 0, 1 + n_rows
    sink = col0 + n_blocks * n_cols
    col_node = col0 + blocks[:, None] * n_cols + np.arange(n_cols)[None, :]
    take_i, take_j = np.nonzero(up)  # a unit can leave these cells (column -> row)
    give_i, give_j = np.nonzero(~up & candidates)  # and arrive in these (row -> column)
    over_b, over_j = np.nonzero(excess > 0)
    under_b, under_j = np.nonzero(excess < 0)
    tails = np.concatenate([np.full(len(over_b), source), col_node[take_i, take_j], 1 + give_i,
                            col0 + under_b * n_cols + under_j])
    heads = np.concatenate([col0 + over_b * n_cols + over_j, 1 + take_i, col_node[give_i, give_j],
                            np.full(len(under_b), sink)])
    caps = np.concatenate([excess[over_b, over_j], np.ones(len(take_i) + len(give_i), dtype=np.int64),
                           -excess[under_b, under_j]]).astype(np.int32)
    graph = sparse.csr_array((caps, (tails, heads)), shape=(sink + 1, sink + 1))
    result = maximum_flow(graph, source, sink, method="dinic")
    if result.flow_value < int(excess[excess > 0].sum()):
        return None
    flow = result.flow.tocsr()
    moved = up.copy()
    left = np.asarray(flow[col_node[take_i, take_j], 1 + take_i]).ravel() > 0
    moved[take_i[left], take_j[left]] = False
    arrived = np.asarray(flow[1 + give_i, col_node[give_i, give_j]]).ravel() > 0
    moved[give_i[arrived], give_j[arrived]] = True
    return moved

