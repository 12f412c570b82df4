"""Splitting the annual target over time, the organisation and products, rounded exactly.

Top down: company -> region -> team -> rep, each level by product, each cell over the
pieces of the calendar (an ISO week within a month). Every split is a two-way table
(children x products, or children x pieces) raked to both margins and rounded so that
rows and columns add up to the last unit; see :func:`split_two_way`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import maximum_flow

from .errors import AllocationError
from .plan import stage

LEVELS = ("company", "region", "team", "rep")
PRODUCT_LEVELS = {"company": "product", "region": "region_product", "team": "team_product", "rep": "rep_product"}
ALL = "All"


# --------------------------------------------------------------------------- exact rounding
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


def _block_sums(matrix: np.ndarray, blocks: np.ndarray, n_blocks: int) -> np.ndarray:
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
        col_sum = _block_sums(x, blocks, len(cols))
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
    seed_cols = _block_sums(seed, blocks, n_blocks)
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
    if (rounded.sum(axis=1) != rows).any() or (_block_sums(rounded, blocks, n_blocks).round() != cols).any():
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
    col_short = cols - _block_sums(floor, blocks, n_blocks).round().astype(np.int64)
    # Phase 1: each row takes its largest remainders (rows now exact).
    order = np.argsort(-fraction, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(n_cols)[None, :].repeat(n_rows, axis=0), axis=1)
    up = (rank < row_short[:, None]) & (x > 0)
    if (up.sum(axis=1) != row_short).any():
        i = int(np.flatnonzero(up.sum(axis=1) != row_short)[0])
        raise AllocationError(f"row {i} cannot be rounded to its total {rows[i]} on its open cells")
    excess = _block_sums(up.astype(float), blocks, n_blocks).round().astype(np.int64) - col_short
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


# --------------------------------------------------------------------------- the allocation engine
@dataclass
class AllocationInputs:
    """Everything the engine splits by: names, weights, product seeds and time seeds.

    Arrays are in the order of the name lists. Weights need not be normalised.

    Attributes
    ----------
    regions, teams, reps, products : list of str
    team_region : array of int, region index of each team
    rep_team : array of int, team index of each rep
    pieces : DataFrame from :func:`planlib.calendar.pieces` (piece, month, quarter, year, week, ...)
    region_weight, team_weight, rep_weight : arrays of the annual split within the parent
    product_weight : (k,) company product split
    region_product_seed, team_product_seed, rep_product_seed : (r, k), (t, k), (m, k) product mix seeds
    company_profile : (n,) the company's time profile over pieces
    product_profile : (k, n) each product's time profile
    region_product_profile : (r, k, n) each region x product's time profile
    rep_availability : (m, n) share of each piece a rep is there and ramped (FTE x ramp x employed)
    notes : where a method or profile fell back
    method_values : level ("region", "team", "rep", "product") -> method -> raw values, for what-ifs
    rep_info : the roster of the plan year with capacity_months (FTE-months), presence, run_rate
        (sales per FTE-month), trailing_sales, employed_months (ramped months behind run_rate)
    """

    regions: list[str]
    teams: list[str]
    reps: list[str]
    products: list[str]
    team_region: np.ndarray
    rep_team: np.ndarray
    pieces: pd.DataFrame
    region_weight: np.ndarray
    team_weight: np.ndarray
    rep_weight: np.ndarray
    product_weight: np.ndarray
    region_product_seed: np.ndarray
    team_product_seed: np.ndarray
    rep_product_seed: np.ndarray
    company_profile: np.ndarray
    product_profile: np.ndarray
    region_product_profile: np.ndarray
    rep_availability: np.ndarray
    notes: list[str] = field(default_factory=list)
    method_values: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    rep_info: pd.DataFrame | None = None


@dataclass
class AllocationResult:
    """Integer targets (in rounding units) of every level x product x piece.

    ``tables[level]`` is what each entity of that level owes its parent, shape
    (entities, products, pieces); ``passed_down[level]`` is what it hands to its children
    (the same unless the level adds an uplift). ``notes`` lists every row whose annual
    target had to move because its open weeks could not carry it.
    """

    inputs: AllocationInputs
    unit: float
    tables: dict[str, np.ndarray]
    passed_down: dict[str, np.ndarray]
    notes: list[str] = field(default_factory=list)

    def entities(self, level: str) -> list[str]:
        """Return the entity names of ``level``."""
        return {"company": ["company"], "region": self.inputs.regions, "team": self.inputs.teams,
                "rep": self.inputs.reps}[level]


def _split_annual_by_product(parent_table, child_parent, child_weight, child_product_seed, names, products):
    """Annual child x product table: child totals by weight within parent, raked to parent x product."""
    parent_product = parent_table.sum(axis=2)  # (P, k)
    child_total = largest_remainder(child_weight, parent_product.sum(axis=1), child_parent,
                                    group_names=names["parents"])
    return split_two_way(child_product_seed, child_total, parent_product, child_parent,
                         row_names=names["children"], col_names=products, block_names=names["parents"])


def _split_pieces(annual, child_parent, parent_table, profile_seed, names, inputs, notes):
    """(children, k, n) table: each child x product row over pieces, within the parent's pieces."""
    n_children, k = annual.shape
    n = parent_table.shape[2]
    rows = annual.reshape(-1)
    blocks = (child_parent[:, None] * k + np.arange(k)[None, :]).reshape(-1)
    cols = parent_table.reshape(-1, n)
    row_names = [f"{c} / {p}" for c in names["children"] for p in inputs.products]
    block_names = [f"{c} / {p}" for c in names["parents"] for p in inputs.products]
    col_names = [f"{w} ({m})" for w, m in zip(inputs.pieces["week"], inputs.pieces["month"])]
    split = split_two_way(profile_seed.reshape(-1, n), rows, cols, blocks, row_names=row_names,
                          col_names=col_names, block_names=block_names, flexible_rows=True)
    moved = np.flatnonzero(split.sum(axis=1) != rows)
    notes.extend(f"{row_names[i]}: {rows[i]:,} units asked, {split[i].sum():,} given ("
                 + ("too few open weeks to carry it)" if split[i].sum() < rows[i] else
                    "carries what a colleague's open weeks could not)") for i in moved)
    return split.reshape(n_children, k, n)


def _uplift(table, rate, names, inputs):
    """Add ``rate`` on top of each entity's table, rounded so that it still adds up both ways."""
    if not rate:
        return table
    entities, k, n = table.shape
    totals = np.round(table.sum(axis=(1, 2)) * (1 + rate)).astype(np.int64)
    product_totals = largest_remainder(table.sum(axis=2).reshape(-1).astype(float), totals, np.repeat(np.arange(entities), k),
                                       group_names=names).reshape(entities, k)
    piece_totals = largest_remainder(table.sum(axis=1).reshape(-1).astype(float), totals,
                                     np.repeat(np.arange(entities), n), group_names=names).reshape(entities, n)
    lifted = split_two_way(table.reshape(-1, n).astype(float), product_totals.reshape(-1), piece_totals,
                           np.repeat(np.arange(entities), k), block_names=names)
    return lifted.reshape(entities, k, n)


def allocate(total_units: int, inputs: AllocationInputs, *, unit: float = 1.0,
             uplift: dict[str, float] | None = None) -> AllocationResult:
    """Split ``total_units`` over regions, teams, reps, products and pieces, exactly.

    Parameters
    ----------
    total_units : int
        The company's annual target in rounding units (e.g. thousands).
    inputs : AllocationInputs
        Names, weights and seeds (see :func:`allocation_inputs` in planlib.goals for the
        plan's own; any caller may build them).
    unit : float, default 1.0
        The size of one unit in currency (kept for the targets table).
    uplift : dict, optional
        Level ("company", "region", "team") -> fraction it adds before passing down.

    Returns
    -------
    AllocationResult

    Raises
    ------
    AllocationError
        If a split has nowhere to go (e.g. no rep available in a week with a target).
    """
    uplift = uplift or {}
    ins = inputs
    if total_units < 0:
        raise AllocationError(f"the annual target must be >= 0 units, found {total_units}")
    if not ins.reps:
        raise AllocationError("no rep is in the plan year: check the roster's hire and exit dates")
    # Months follow the season and the people who are there: a piece's weight is the seasonal
    # profile times the reps available in it, so a July joiner adds to July onwards, not to January.
    company_avail = ins.rep_availability.sum(axis=0)
    company_pieces = largest_remainder(ins.company_profile * company_avail, total_units)
    product_total = largest_remainder(ins.product_weight, total_units, group_names=["company"])
    company = split_two_way(ins.product_profile * company_avail, product_total, company_pieces[None, :],
                            row_names=ins.products, col_names=list(ins.pieces["week"]),
                            block_names=["company"])[None, :, :]
    tables, passed, notes = {"company": company}, {}, []
    passed["company"] = _uplift(company, uplift.get("company", 0.0), ["company"], ins)

    region_annual = _split_annual_by_product(
        passed["company"], np.zeros(len(ins.regions), dtype=np.int64), ins.region_weight,
        ins.region_product_seed, {"parents": ["company"], "children": ins.regions}, ins.products)
    rep_region = ins.team_region[ins.rep_team]
    region_avail = _block_sums(ins.rep_availability, rep_region, len(ins.regions))
    team_avail = _block_sums(ins.rep_availability, ins.rep_team, len(ins.teams))
    seed = ins.region_product_profile * region_avail[:, None, :]
    tables["region"] = _split_pieces(region_annual, np.zeros(len(ins.regions), dtype=np.int64), passed["company"],
                                     seed, {"parents": ["company"], "children": ins.regions}, ins, notes)
    passed["region"] = _uplift(tables["region"], uplift.get("region", 0.0), ins.regions, ins)

    team_annual = _split_annual_by_product(
        passed["region"], ins.team_region, ins.team_weight, ins.team_product_seed,
        {"parents": ins.regions, "children": ins.teams}, ins.products)
    seed = ins.region_product_profile[ins.team_region] * team_avail[:, None, :]
    tables["team"] = _split_pieces(team_annual, ins.team_region, passed["region"], seed,
                                   {"parents": ins.regions, "children": ins.teams}, ins, notes)
    passed["team"] = _uplift(tables["team"], uplift.get("team", 0.0), ins.teams, ins)

    rep_annual = _split_annual_by_product(
        passed["team"], ins.rep_team, ins.rep_weight, ins.rep_product_seed,
        {"parents": ins.teams, "children": ins.reps}, ins.products)
    seed = ins.region_product_profile[rep_region] * ins.rep_availability[:, None, :]
    tables["rep"] = _split_pieces(rep_annual, ins.rep_team, passed["team"], seed,
                                  {"parents": ins.teams, "children": ins.reps}, ins, notes)
    passed["rep"] = tables["rep"]
    return AllocationResult(ins, unit, tables, passed, notes)


# --------------------------------------------------------------------------- the long targets table
def _period_maps(pieces: pd.DataFrame) -> list[tuple[str, list[str], np.ndarray]]:
    """(period_type, labels, piece -> period index) for year, quarter, month and week."""
    out = []
    for period_type, column in (("year", "year"), ("quarter", "quarter"), ("month", "month"), ("week", "week")):
        codes, labels = pd.factorize(pieces[column], sort=True)
        out.append((period_type, list(labels), codes))
    return out


def targets_table(result: AllocationResult, *, passed_down: bool = False) -> pd.DataFrame:
    """Return the long targets table of every level, product and period.

    Parameters
    ----------
    result : AllocationResult
    passed_down : bool, default False
        Give what each level hands down (with its uplift) instead of what it owes.

    Returns
    -------
    DataFrame
        level (company, product, region, region_product, team, team_product, rep, rep_product),
        entity ("company", a region, team or rep id), product ("All" or a product),
        period_type (year, quarter, month, week), period ("FY2027", "2027Q1", "2027-01",
        "2027-W01"), target (currency, a whole number of rounding units). Weeks are ISO weeks
        cut at the fiscal year's edges. Rows are in a fixed order: level as listed, then
        period_type, entity (plan order: region, team, rep), product, period.
    """
    ins = result.inputs
    source = result.passed_down if passed_down else result.tables
    maps = _period_maps(ins.pieces)
    level_names, entity_names, type_names, period_names = [], [], [], []
    parts = []  # (level code, entity codes, product codes, type code, period codes, values)
    products = [ALL, *ins.products]
    for level in LEVELS:
        table = source[level]  # (E, k, n)
        entities = result.entities(level)
        entity_offset = len(entity_names)
        entity_names.extend(entities)
        for name, block, product_codes in ((level, table.sum(axis=1, keepdims=True), [0]),
                                           (PRODUCT_LEVELS[level], table, list(range(1, len(products))))):
            level_code = len(level_names)
            level_names.append(name)
            flat = block.reshape(-1, block.shape[2])
            for period_type, labels, codes in maps:
                period_offset = len(period_names)
                period_names.extend(labels)
                type_code = len(type_names)
                type_names.append(period_type)
                indicator = sparse.csr_array((np.ones(len(codes)), (np.arange(len(codes)), codes)),
                                             shape=(len(codes), len(labels)))
                values = np.asarray(flat @ indicator).round().astype(np.int64)  # (E * P, T)
                e_idx, p_idx, t_idx = np.indices((len(entities), len(product_codes), len(labels)))
                parts.append((level_code, entity_offset + e_idx.ravel(), np.asarray(product_codes)[p_idx.ravel()],
                              type_code, period_offset + t_idx.ravel(), values.ravel()))
    # Group the blocks so each level lists year, quarter, month, week in turn.
    parts.sort(key=lambda part: (part[0], ["year", "quarter", "month", "week"].index(type_names[part[3]])))
    sizes = [len(part[5]) for part in parts]
    level_codes = np.repeat([part[0] for part in parts], sizes)
    type_codes = np.repeat([part[3] for part in parts], sizes)
    entity_codes = np.concatenate([part[1] for part in parts])
    product_codes = np.concatenate([part[2] for part in parts])
    period_codes = np.concatenate([part[4] for part in parts])
    units = np.concatenate([part[5] for part in parts])
    integral = float(result.unit).is_integer()

    def text(codes, names):
        return pd.Series(np.asarray(names, dtype=object)[codes], dtype="str")

    return pd.DataFrame({
        "level": text(level_codes, level_names), "entity": text(entity_codes, entity_names),
        "product": text(product_codes, products), "period_type": text(type_codes, type_names),
        "period": text(period_codes, period_names),
        "target": units * (int(result.unit) if integral else result.unit)})


def uplift_table(result: AllocationResult) -> pd.DataFrame:
    """Return the managers' cushions: what each level owes, passes down and adds, by year and quarter.

    Returns
    -------
    DataFrame
        level, entity, product ("All"), period_type (year, quarter), period, target (owed to the
        parent), passed_down (the children's sum), uplift (passed_down - target). Empty when no
        level adds an uplift.
    """
    owed = targets_table(result)
    handed = targets_table(result, passed_down=True)
    keep = owed["level"].isin(["company", "region", "team"]) & owed["period_type"].isin(["year", "quarter"])
    table = owed[keep].copy()
    table["passed_down"] = handed.loc[keep, "target"].to_numpy()
    table["uplift"] = table["passed_down"] - table["target"]
    lifted = table.groupby(["level", "entity"])["uplift"].transform(lambda s: s.abs().sum())
    return table[lifted > 0].reset_index(drop=True)


def check_additivity(targets: pd.DataFrame) -> pd.DataFrame:
    """Return every place where parts do not add up to their whole (empty when all add up).

    Checks, for each level and product: products add to "All"; each child level adds to its
    parent level (region to company, team to region, rep to team, by product and period);
    weeks, months and quarters add to the year. A level with an uplift adds up to what its
    parent passes down, so check :func:`targets_table` with ``passed_down=True`` for parents then.

    Returns
    -------
    DataFrame
        check, key, expected, found.
    """
    problems = []
    for period_type in ("quarter", "month", "week"):
        part = targets[targets["period_type"] == period_type].groupby(["level", "entity", "product"])["target"].sum()
        whole = targets[targets["period_type"] == "year"].set_index(["level", "entity", "product"])["target"]
        diff = part.reindex(whole.index, fill_value=0) - whole
        for key, value in diff[diff != 0].items():
            problems.append((f"{period_type}s add to the year", "/".join(key), whole[key], part.get(key, 0)))
    products = targets[targets["product"] != ALL].groupby(["entity", "period_type", "period"])["target"].sum()
    alls = targets[targets["product"] == ALL].set_index(["entity", "period_type", "period"])["target"]
    diff = products.reindex(alls.index, fill_value=0) - alls
    for key, value in diff[diff != 0].items():
        problems.append(("products add to All", "/".join(map(str, key)), alls[key], products.get(key, 0)))
    return pd.DataFrame(problems, columns=["check", "key", "expected", "found"])


def check_hierarchy(targets: pd.DataFrame, parents: dict[str, tuple[str, dict[str, str]]]) -> pd.DataFrame:
    """Return where children's targets do not add to their parent's (empty when all add up).

    Parameters
    ----------
    targets : DataFrame
        From :func:`targets_table`.
    parents : dict
        Child level -> (parent level, {child entity: parent entity}), e.g.
        ``{"rep": ("team", {"R001": "East-1"})}``; product levels are checked alongside.

    Returns
    -------
    DataFrame
        check, key, expected, found.
    """
    problems = []
    for child, (parent, mapping) in parents.items():
        for child_level, parent_level in ((child, parent), (PRODUCT_LEVELS[child], PRODUCT_LEVELS[parent])):
            rows = targets[targets["level"] == child_level]
            summed = rows.assign(entity=rows["entity"].map(mapping)).groupby(
                ["entity", "product", "period_type", "period"])["target"].sum()
            whole = targets[targets["level"] == parent_level].set_index(
                ["entity", "product", "period_type", "period"])["target"]
            diff = summed.reindex(whole.index, fill_value=0) - whole
            for key, _ in diff[diff != 0].items():
                problems.append((f"{child_level} adds to {parent_level}", "/".join(map(str, key)), whole[key],
                                 summed.get(key, 0)))
    return pd.DataFrame(problems, columns=["check", "key", "expected", "found"])


# --------------------------------------------------------------------------- weights from the plan's data
def rep_availability(roster: pd.DataFrame, days: pd.DataFrame, ramp: list[float]) -> np.ndarray:
    """Return each rep's availability per plan day: FTE x ramp factor while employed, 0 otherwise.

    Parameters
    ----------
    roster : DataFrame
        rep_id, hire_date, exit_date (NaT = active), fte.
    days : DataFrame
        From :func:`planlib.calendar.plan_days` (date).
    ramp : list of float
        Productivity in the 1st, 2nd, ... calendar month of employment (the hire month is the
        1st); 1 from then on.

    Returns
    -------
    ndarray, shape (reps, days)
        Nothing before the hire date or after the exit date.
    """
    dates = days["date"].to_numpy("datetime64[D]")
    hire = pd.to_datetime(roster["hire_date"]).to_numpy("datetime64[D]")
    exit_ = pd.to_datetime(roster["exit_date"]).to_numpy("datetime64[D]")
    employed = (dates[None, :] >= hire[:, None]) & ~(dates[None, :] > exit_[:, None])
    day_month = days["date"].dt.year.to_numpy() * 12 + days["date"].dt.month.to_numpy()
    hire_ts = pd.to_datetime(roster["hire_date"])
    hire_month = (hire_ts.dt.year * 12 + hire_ts.dt.month).to_numpy()
    tenure = day_month[None, :] - hire_month[:, None]  # 0 in the hire month
    factors = np.asarray(list(ramp) + [1.0], dtype=float)
    ramp_factor = factors[np.clip(tenure, 0, len(ramp))]
    fte = roster["fte"].fillna(1.0).to_numpy(float)
    return employed * ramp_factor * fte[:, None]


def rep_productivity(history: pd.DataFrame, roster: pd.DataFrame, last_month, *, ramp: list[float],
                     months: int = 24, min_months: int = 6) -> pd.DataFrame:
    """Return each rep's monthly sales per FTE over fully ramped months (mean, sd, months used).

    A rep with fewer than ``min_months`` such months takes the pooled months of their team's
    other reps (basis "team peers"): a new hire is judged like a typical colleague.

    Returns
    -------
    DataFrame
        rep_id, mean, sd, months, basis.
    """
    last_month = pd.Timestamp(last_month)
    window = pd.date_range(last_month - pd.DateOffset(months=months - 1), last_month, freq="MS")
    rep_rows = history[history["level"] == "rep"].pivot_table(index="rep_id", columns="ds", values="y", aggfunc="sum")
    sales = rep_rows.reindex(index=roster["rep_id"], columns=window).fillna(0.0).to_numpy()
    on_days = pd.DataFrame({"date": window + pd.offsets.MonthEnd(0)})
    employed = rep_availability(roster.assign(fte=1.0), on_days, [0.0] * len(ramp)) > 0  # ramped months only
    fte = roster["fte"].fillna(1.0).to_numpy(float)[:, None]
    per_fte = np.where(employed, sales / fte, np.nan)
    count = employed.sum(axis=1)
    own_mean = np.nanmean(np.where(count[:, None] > 0, per_fte, 0.0), axis=1)
    own_sd = np.array([np.nanstd(row, ddof=1) if n > 1 else np.nan for row, n in zip(per_fte, count)])
    basis = np.where(count >= min_months, "own history", "team peers")
    mean, sd = own_mean.copy(), own_sd.copy()
    teams = roster["team"].to_numpy()
    for i in np.flatnonzero(count < min_months):
        peers = (teams == teams[i]) & (count >= min_months)
        pool = per_fte[peers if peers.any() else count >= min_months]
        pool = pool[~np.isnan(pool)]
        mean[i] = pool.mean() if pool.size else 0.0
        sd[i] = pool.std(ddof=1) if pool.size > 1 else 0.0
    return pd.DataFrame({"rep_id": roster["rep_id"].to_numpy(), "mean": mean, "sd": np.nan_to_num(sd),
                         "months": np.where(count >= min_months, count, 0), "basis": basis})


def _uid(level: str, *keys: str) -> str:
    return "company" if level == "company" else "/".join([level, *keys])


def _normalise_within(values: np.ndarray, parents: np.ndarray, n_parents: int) -> tuple[np.ndarray, np.ndarray]:
    total = np.bincount(parents, weights=values, minlength=n_parents)
    share = np.divide(values, total[parents], out=np.zeros_like(values), where=total[parents] > 0)
    return share, total > 0


def blend(method_values: dict[str, np.ndarray], method_weights: dict[str, float], parents=None,
          n_parents: int = 1) -> np.ndarray:
    """Blend split methods: each method's shares within a parent, weighted by the config's weights.

    A method with nothing to say for a parent (all its values zero there, e.g. no history
    for a new team) is left out for that parent and the other weights are scaled up.

    Parameters
    ----------
    method_values : dict
        Method name -> non-negative values, one per child.
    method_weights : dict
        Method name -> weight (need not add to 1).
    parents : array of int, optional
        Parent of each child; default one parent.

    Returns
    -------
    ndarray
        Each child's share of its parent (adding to 1 within each parent with any value).
    """
    size = len(next(iter(method_values.values())))
    parents = np.zeros(size, dtype=np.int64) if parents is None else np.asarray(parents)
    total = np.zeros(size)
    weight_used = np.zeros(n_parents)
    for method, weight in method_weights.items():
        if weight <= 0:
            continue
        share, has = _normalise_within(np.clip(np.asarray(method_values[method], float), 0, None), parents, n_parents)
        total += weight * share
        weight_used += weight * has
    return np.divide(total, weight_used[parents], out=np.zeros(size), where=weight_used[parents] > 0)


def _month_weights(uid: str, method: str, forecasts: pd.DataFrame, history: pd.DataFrame, fy_months,
                   start_month: int, years: int, days: pd.DataFrame) -> pd.Series | None:
    """Weights of months 1-12 for one series, or None when the data has none for it."""
    if method == "equal":
        return pd.Series(1.0, index=range(1, 13))
    if method == "working_days":
        per = days.drop_duplicates("calendar_month").groupby("month_of_year")["month_working_days"].mean()
        return per.reindex(range(1, 13), fill_value=per.mean()).astype(float)
    if method == "seasonal":
        rows = forecasts[(forecasts["unique_id"] == uid) & forecasts["ds"].isin(fy_months)]
        weights = rows.groupby(rows["ds"].dt.month)["yhat"].sum().clip(lower=0)
    else:
        rows = history[history["unique_id"] == uid]
        fiscal_year = rows["ds"].dt.year + (rows["ds"].dt.month >= start_month).astype(int) * (start_month > 1)
        complete = rows.groupby(fiscal_year)["ds"].transform("size") == 12
        plan_fy = fy_months[-1].year
        rows = rows[complete & (fiscal_year < plan_fy) & (fiscal_year >= plan_fy - years)]
        fy = fiscal_year[rows.index]
        year_total = rows.groupby(fy)["y"].transform("sum")
        share = (rows["y"] / year_total.where(year_total > 0)).clip(lower=0)
        weights = share.groupby(rows["ds"].dt.month).mean()
    weights = weights.reindex(range(1, 13)).fillna(0.0)
    return weights if weights.sum() > 0 else None


def _plan_year_totals(forecasts: pd.DataFrame, fy_months) -> pd.Series:
    rows = forecasts[forecasts["ds"].isin(fy_months)]
    return rows.groupby("unique_id")["yhat"].sum().clip(lower=0)


def _trailing(history: pd.DataFrame, last_month: pd.Timestamp, months: int = 12) -> pd.Series:
    start = last_month - pd.DateOffset(months=months - 1)
    rows = history[history["ds"].between(start, last_month)]
    return rows.groupby("unique_id")["y"].sum()


def _market_sizes(market: pd.DataFrame | None, year: int) -> pd.DataFrame | None:
    """Market size of each region x product in ``year`` (grown from the latest year if not given)."""
    if market is None or market.empty:
        return None
    latest = market[market["year"] <= year].sort_values("year").groupby(["region", "product"]).tail(1)
    growth = latest["market_growth"].fillna(0.0) if "market_growth" in latest else 0.0
    size = latest["market_size"] * (1 + growth) ** (year - latest["year"])
    return latest.assign(market_size=size)[["region", "product", "market_size"]]


def product_mix(sales: pd.DataFrame | None, keys: pd.Series, products: list[str], last_month: pd.Timestamp,
                months: int = 12) -> pd.DataFrame:
    """Return each entity's share of trailing sales by product (rows add to 1; no sales: all 0).

    Parameters
    ----------
    sales : DataFrame
        date, amount, rep_id, product.
    keys : Series
        rep_id -> the entity to group by (the rep itself, or its team).

    Returns
    -------
    DataFrame
        Index the entities, columns the products.
    """
    entities = sorted(set(keys.to_numpy()))
    if sales is None or sales.empty:
        return pd.DataFrame(0.0, index=entities, columns=products)
    end = last_month + pd.offsets.MonthEnd(0)
    start = last_month - pd.DateOffset(months=months - 1)
    rows = sales[(sales["date"] >= start) & (sales["date"] <= end)]
    rows = rows.assign(entity=rows["rep_id"].map(keys)).dropna(subset=["entity"])
    table = rows.pivot_table(index="entity", columns="product", values="amount", aggfunc="sum", fill_value=0.0)
    table = table.reindex(index=entities, columns=products, fill_value=0.0).clip(lower=0)
    total = table.sum(axis=1)
    return table.div(total.where(total > 0), axis=0).fillna(0.0)


def allocation_inputs(*, roster: pd.DataFrame, history: pd.DataFrame, forecasts: pd.DataFrame, days: pd.DataFrame,
                      fiscal_months, last_month, start_month: int = 1, allocation=None,
                      sales: pd.DataFrame | None = None, market: pd.DataFrame | None = None) -> AllocationInputs:
    """Build the engine's weights from the roster, history, forecast and market.

    Methods (blended with ``allocation.methods``) at each level:

    ============  =====================  ===================  ===============================
    method        region                 team (in region)     rep (in team)
    ============  =====================  ===================  ===============================
    equal         1 each                 1 each               1 per head x presence x ramp
    historical    trailing 12 months     trailing 12 months   run rate x plan-year capacity
    forecast      plan-year forecast     = historical         = historical (no rep forecast)
    market        plan-year market size  = capacity           = capacity (no territory data)
    capacity      sum of rep capacity    sum of rep capacity  FTE x ramp x months employed
    ============  =====================  ===================  ===============================

    Parameters
    ----------
    roster : DataFrame
        rep_id, team, region, hire_date, exit_date, fte (reps not there in the plan year are left out).
    history : DataFrame
        The plan's monthly panel (unique_id, ds, y, level, ...).
    forecasts : DataFrame
        unique_id, ds, yhat for company, region, product, region_product.
    days : DataFrame
        From :func:`planlib.calendar.plan_days`.
    fiscal_months : sequence of Timestamp
        The 12 month starts of the plan year.
    last_month : Timestamp
        The last closed month of history.
    allocation : planlib.config.Allocation
    sales, market : DataFrame, optional
        For product mixes of teams and reps, and market sizes.

    Returns
    -------
    AllocationInputs
        With ``notes`` saying where a method fell back.

    Raises
    ------
    AllocationError
        If no rep is in the plan year or no product is known.
    """
    from .calendar import piece_weights, pieces as piece_table
    from .config import Allocation

    allocation = allocation or Allocation()
    notes: list[str] = []
    fiscal_months = pd.DatetimeIndex(fiscal_months)
    last_month = pd.Timestamp(last_month)
    daily = rep_availability(roster, days, allocation.ramp)
    working = days["working"].to_numpy()
    present = (daily * working).sum(axis=1) > 0
    if not present.any():
        raise AllocationError("no rep on the roster works in the plan year (check hire_date and exit_date)")
    roster = roster[present].sort_values(["region", "team", "rep_id"]).reset_index(drop=True)
    daily = rep_availability(roster, days, allocation.ramp) * working
    pcs = piece_table(days)
    piece_days = np.maximum(pcs["working_days"].to_numpy(float), 1)
    availability = np.stack([np.bincount(days["piece"], weights=row, minlength=len(pcs)) for row in daily]) / piece_days
    total_working = max(int(working.sum()), 1)
    capacity = daily.sum(axis=1) / total_working * 12  # FTE-months in the plan year
    headcount = (rep_availability(roster.assign(fte=1.0), days, allocation.ramp) * working).sum(axis=1) / total_working

    regions = sorted(roster["region"].unique())
    teams = sorted(roster["team"].unique())
    team_region_name = roster.drop_duplicates("team").set_index("team")["region"]
    team_region = np.array([regions.index(team_region_name[t]) for t in teams])
    rep_team = np.array([teams.index(t) for t in roster["team"]])
    products = sorted(history.loc[history["level"] == "product", "product"].dropna().unique())
    if not products:
        raise AllocationError("the history has no product series: products cannot be split")

    trailing = _trailing(history, last_month)
    planned = _plan_year_totals(forecasts, fiscal_months)
    sizes = _market_sizes(market, fiscal_months[-1].year)
    methods = dict(allocation.methods)
    if "market" in methods and sizes is None:
        notes.append("market: no market table, so the market method uses capacity instead")

    def lookup(series, ids, fallback=None):
        values = series.reindex(ids).to_numpy(float)
        if fallback is not None:
            values = np.where(np.isnan(values), fallback, values)
        return np.nan_to_num(values)

    region_capacity = np.bincount(team_region[rep_team], weights=capacity, minlength=len(regions))
    team_capacity = np.bincount(rep_team, weights=capacity, minlength=len(teams))
    region_hist = lookup(trailing, [_uid("region", r) for r in regions])
    region_market = (sizes.groupby("region")["market_size"].sum().reindex(regions).fillna(0).to_numpy()
                     if sizes is not None else region_capacity)
    method_values = {"region": {"equal": np.ones(len(regions)), "historical": region_hist,
                                "forecast": lookup(planned, [_uid("region", r) for r in regions], region_hist),
                                "market": region_market, "capacity": region_capacity}}
    region_weight = blend(method_values["region"], methods)
    team_hist = lookup(trailing, [_uid("team", t) for t in teams])
    method_values["team"] = {"equal": np.ones(len(teams)), "historical": team_hist, "forecast": team_hist,
                             "market": team_capacity, "capacity": team_capacity}
    team_weight = blend(method_values["team"], methods, team_region, len(regions))

    # A rep's run rate per FTE-month over the trailing year's fully ramped months; reps with under
    # 6 such months take their team's pooled rate, so a new hire is planned like a typical colleague.
    rep_sales = lookup(trailing, [_uid("rep", r) for r in roster["rep_id"]])
    productivity = rep_productivity(history, roster, last_month, ramp=allocation.ramp, months=12)
    run_rate = productivity["mean"].to_numpy(float)
    employed_months = productivity["months"].to_numpy(float)
    rep_hist = run_rate * capacity
    method_values["rep"] = {"equal": headcount, "historical": rep_hist, "forecast": rep_hist,
                            "market": capacity, "capacity": capacity}
    rep_weight = blend(method_values["rep"], methods, rep_team, len(teams))

    product_hist = lookup(trailing, [_uid("product", p) for p in products])
    product_market = (sizes.groupby("product")["market_size"].sum().reindex(products).fillna(0).to_numpy()
                      if sizes is not None else product_hist)
    method_values["product"] = {"equal": np.ones(len(products)), "historical": product_hist,
                                "forecast": lookup(planned, [_uid("product", p) for p in products], product_hist),
                                "market": product_market, "capacity": product_hist}
    product_weight = blend(method_values["product"], methods)
    rp_ids = [_uid("region_product", r, p) for r in regions for p in products]
    rp_hist = lookup(trailing, rp_ids).reshape(len(regions), len(products))
    rp_market = (sizes.set_index(["region", "product"])["market_size"]
                 .reindex(pd.MultiIndex.from_product([regions, products])).fillna(0).to_numpy()
                 .reshape(len(regions), len(products)) if sizes is not None else rp_hist)
    mix = product_hist / product_hist.sum() if product_hist.sum() > 0 else np.ones(len(products)) / len(products)
    rp_seed = blend({"equal": np.ones(rp_hist.size), "historical": rp_hist.ravel(),
                     "forecast": lookup(planned, rp_ids, rp_hist.ravel()),
                     "market": rp_market.ravel(), "capacity": np.outer(region_capacity, mix).ravel()},
                    methods).reshape(len(regions), len(products))
    region_mix = rp_seed / np.maximum(rp_seed.sum(axis=1, keepdims=True), 1e-300)
    shrink = allocation.product_mix_shrinkage
    team_own = product_mix(sales, roster.set_index("rep_id")["team"], products, last_month).reindex(teams).to_numpy()
    team_mix = np.where(team_own.sum(axis=1, keepdims=True) > 0, (1 - shrink) * team_own + shrink *
                        region_mix[team_region], region_mix[team_region])
    rep_own = product_mix(sales, pd.Series(roster["rep_id"].to_numpy(), index=roster["rep_id"]), products,
                          last_month).reindex(roster["rep_id"]).to_numpy()
    rep_mix = np.where(rep_own.sum(axis=1, keepdims=True) > 0, (1 - shrink) * rep_own + shrink *
                       team_mix[rep_team], team_mix[rep_team])

    def profile(uid, fallback):
        weights = _month_weights(uid, allocation.time, forecasts, history, fiscal_months, start_month,
                                 allocation.history_years, days)
        if weights is None:
            if fallback is None:
                raise AllocationError(f"no {allocation.time} month weights for {uid}: the data has none")
            notes.append(f"time: {uid} has no {allocation.time} month weights; its parent's are used")
            return fallback
        return piece_weights(days, weights)

    company_profile = profile("company", None)
    product_profile = np.stack([profile(_uid("product", p), company_profile) for p in products])
    rp_profile = np.stack([np.stack([profile(_uid("region_product", r, p), product_profile[j])
                                     for j, p in enumerate(products)]) for r in regions])
    info = roster.assign(capacity_months=capacity, presence=headcount, run_rate=run_rate,
                         trailing_sales=rep_sales, employed_months=employed_months)
    result = AllocationInputs(
        regions=regions, teams=teams, reps=list(roster["rep_id"]), products=products, team_region=team_region,
        rep_team=rep_team, pieces=pcs, region_weight=region_weight, team_weight=team_weight,
        rep_weight=rep_weight, product_weight=product_weight, region_product_seed=rp_seed,
        team_product_seed=team_mix, rep_product_seed=rep_mix, company_profile=company_profile,
        product_profile=product_profile, region_product_profile=rp_profile, rep_availability=availability,
        notes=notes, method_values=method_values, rep_info=info)
    return result


# --------------------------------------------------------------------------- comparisons and stages
def time_split_comparison(targets: pd.DataFrame, *, level: str = "company", entity: str = "company",
                          product: str = ALL, unit: float = 1.0, mislead_at: float = 0.10) -> pd.DataFrame:
    """Compare the plan's month targets with an equal split of the same year.

    Parameters
    ----------
    targets : DataFrame
        From :func:`targets_table`.
    level, entity, product : str
        Which row of the hierarchy (default the company, all products).
    unit : float, default 1.0
        The rounding unit; the equal split is rounded to it exactly, like the plan.
    mislead_at : float, default 0.10
        An equal split misleads in a month where it is off the plan by more than this share.

    Returns
    -------
    DataFrame
        month, planned, equal, difference (equal - planned), difference_pct (of planned),
        cumulative_gap (equal - planned, year to date), misleads (bool).
    """
    rows = targets[(targets["level"] == level) & (targets["entity"] == entity) & (targets["product"] == product)
                   & (targets["period_type"] == "month")].sort_values("period")
    planned = rows["target"].to_numpy(float)
    units = np.round(planned / unit).astype(np.int64)
    equal = largest_remainder(np.ones(len(units)), int(units.sum())) * unit
    difference = equal - planned
    pct = np.divide(difference, planned, out=np.full(len(planned), np.inf), where=planned > 0)
    return pd.DataFrame({"month": rows["period"].to_numpy(), "planned": planned, "equal": equal,
                         "difference": difference, "difference_pct": pct,
                         "cumulative_gap": np.cumsum(difference), "misleads": np.abs(pct) > mislead_at})


def hierarchy(result: AllocationResult) -> dict[str, tuple[str, dict[str, str]]]:
    """Return each child level's parent level and entity map, for :func:`check_hierarchy`."""
    ins = result.inputs
    return {"region": ("company", {r: "company" for r in ins.regions}),
            "team": ("region", {t: ins.regions[ins.team_region[i]] for i, t in enumerate(ins.teams)}),
            "rep": ("team", {r: ins.teams[ins.rep_team[i]] for i, r in enumerate(ins.reps)})}


def check_targets(result: AllocationResult) -> pd.DataFrame:
    """Return every place where the allocation's targets do not add up (empty when all do).

    Children are checked against what their parent passes down (its target plus any uplift);
    periods and products against each entity's own year and "All".

    Returns
    -------
    DataFrame
        check, key, expected, found.
    """
    owed, handed = targets_table(result), targets_table(result, passed_down=True)
    problems = [check_additivity(owed)]
    for child, (parent, mapping) in hierarchy(result).items():
        parent_levels = [parent, PRODUCT_LEVELS[parent]]
        mixed = pd.concat([handed[handed["level"].isin(parent_levels)],
                           owed[owed["level"].isin([child, PRODUCT_LEVELS[child]])]])
        problems.append(check_hierarchy(mixed, {child: (parent, mapping)}))
    return pd.concat(problems, ignore_index=True)


def allocation_view(targets: pd.DataFrame, level: str, *, period_type: str = "year", by_product: bool = True,
                    entities: list[str] | None = None) -> pd.DataFrame:
    """Return one level's targets as a wide table: entity x (products and All), or entity x period.

    Parameters
    ----------
    targets : DataFrame
        From :func:`targets_table`.
    level : str
        company, region, team or rep.
    period_type : str, default "year"
        With ``by_product``: the year. Otherwise the periods become columns (e.g. "quarter").
    by_product : bool, default True
        Columns are the products and All (for the year); else the periods (all products).
    entities : list of str, optional
        Keep only these entities.

    Returns
    -------
    DataFrame
        entity, then one column per product ("All" last) or per period.
    """
    if by_product:
        rows = targets[targets["level"].isin([level, PRODUCT_LEVELS[level]]) & (targets["period_type"] == "year")]
        wide = rows.pivot_table(index="entity", columns="product", values="target", aggfunc="sum", sort=False)
        wide = wide[[c for c in wide.columns if c != ALL] + [ALL]]
    else:
        rows = targets[(targets["level"] == level) & (targets["period_type"] == period_type)]
        wide = rows.pivot_table(index="entity", columns="period", values="target", aggfunc="sum", sort=False)
        wide = wide[sorted(wide.columns)]
        wide["Total"] = wide.sum(axis=1)
    if entities is not None:
        wide = wide.reindex([e for e in entities if e in wide.index])
    wide.columns.name = None
    return wide.reset_index()


def plan_year_days(config) -> pd.DataFrame:
    """Return :func:`planlib.calendar.plan_days` for the config's fiscal year and country."""
    from .calendar import plan_days

    return plan_days(config.fiscal.year, config.fiscal.start_month, config.fiscal.calendar,
                     config.company.country, config.company.subdivision)


def fiscal_months(config) -> pd.DatetimeIndex:
    """Return the 12 month starts of the config's fiscal plan year."""
    from .calendar import fiscal_year_span

    start, _ = fiscal_year_span(config.fiscal.year, config.fiscal.start_month, "monthly")
    return pd.date_range(pd.Timestamp(start), periods=12, freq="MS")


def build_allocation(plan, total_units: int | None = None, methods: dict[str, float] | None = None) -> AllocationResult:
    """Run the allocation for a plan (its annual target unless ``total_units`` is given).

    Parameters
    ----------
    plan : planlib.Plan
    total_units : int, optional
        The annual target in rounding units; default the plan's ``annual_target``.
    methods : dict, optional
        Method weights overriding ``allocation.methods`` (for what-ifs).

    Returns
    -------
    AllocationResult
    """
    cfg = plan.config
    allocation = cfg.allocation if methods is None else cfg.allocation.model_copy(update={"methods": methods})
    tables = plan.inputs.tables
    inputs = allocation_inputs(
        roster=tables["reps"], history=plan.history, forecasts=plan.forecast.forecasts, days=plan_year_days(cfg),
        fiscal_months=fiscal_months(cfg), last_month=pd.Timestamp(cfg.last_closed_month),
        start_month=cfg.fiscal.start_month, allocation=allocation, sales=tables.get("sales"),
        market=tables.get("market"))
    units = plan.annual_target.target_units if total_units is None else int(total_units)
    return allocate(units, inputs, unit=allocation.rounding_unit, uplift=allocation.uplift)


@stage("allocation", needs=("annual_target", "forecast", "history", "inputs"),
       config=("allocation", "fiscal", "company", "as_of", "seed"))
def _allocation_stage(plan) -> AllocationResult:
    return build_allocation(plan)


@stage("targets", needs=("allocation",))
def _targets_stage(plan) -> pd.DataFrame:
    return targets_table(plan.allocation)
