"""Splitting the annual target over time, the organisation and products, rounded exactly.

Top down: company -> region -> team -> rep, each level by product, each cell over the
pieces of the calendar (an ISO week within a month). Every split is a two-way table
(children x products, or children x pieces) raked to both margins and rounded so that
rows and columns add up to the last unit (planlib.rounding); the weights come from
planlib.weights. This module holds the engine, the long targets table and their checks.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from planlib.core.errors import AllocationError
from planlib.core.graph import stage
# Re-exported: callers have always imported the rounding primitives and the weights from here.
from planlib.planning.rounding import block_sums, largest_remainder, rake, split_two_way
from planlib.planning.productivity import NEW_REP_MONTHS, explicit_ramp, plan_ramp
from planlib.planning.target_views import ALL, LEVELS, PRODUCT_LEVELS, allocation_view, time_split_comparison
from planlib.planning.weights import (AllocationInputs, allocation_inputs, blend, product_mix, rep_availability,
                                      rep_productivity)

__all__ = ["ALL", "LEVELS", "NEW_REP_MONTHS", "PRODUCT_LEVELS", "AllocationInputs", "AllocationResult", "allocate",
           "allocate_reps", "allocate_teams", "allocation_inputs", "allocation_view", "blend", "block_sums", "build_allocation", "build_team_allocation", "check_additivity",
           "check_hierarchy", "check_targets", "explicit_ramp", "fiscal_months", "fiscal_periods", "hierarchy",
           "largest_remainder",
           "plan_ramp", "plan_year_days", "product_mix", "rake", "rep_availability", "rep_productivity",
           "split_two_way", "targets_table", "time_split_comparison", "uplift_table"]



# --------------------------------------------------------------------------- the allocation engine
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
    seed, blocks = table.reshape(-1, n).astype(float), np.repeat(np.arange(entities), k)
    try:
        lifted = split_two_way(seed, product_totals.reshape(-1), piece_totals, blocks, block_names=names)
    except AllocationError:
        # A small table's zero cells can leave a lifted product total no room (4 units, 2 of them in
        # one week, lifted to 3): then the rows short of room (all, if none is short alone) may take a unit in
        # any week open to their entity; every other row keeps the weeks it had.
        need, rows_room = product_totals.reshape(-1), ((seed > 0) * piece_totals[blocks]).sum(axis=1)
        short = (need > rows_room) if (need > rows_room).any() else np.ones(len(need), dtype=bool)
        open_cells = short[:, None] & (need[:, None] > 0) & (piece_totals[blocks] > 0)
        lifted = split_two_way(seed + open_cells, need, piece_totals, blocks, block_names=names)
    return lifted.reshape(entities, k, n)


def allocate_teams(total_units: int, inputs: AllocationInputs, *, unit: float = 1.0,
                   uplift: dict[str, float] | None = None) -> AllocationResult:
    """Split ``total_units`` over regions, teams, products and pieces, exactly (no rep level yet).

    The region and team targets come from the forecast, the seasonality and the people there
    (``inputs``): capacity and the hiring plan read them, and :func:`allocate_reps` then splits each
    team over its reps, planned hires included. Parameters as :func:`allocate`.

    Returns
    -------
    AllocationResult
        ``tables`` and ``passed_down`` of the levels company, region and team.
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
    region_avail = block_sums(ins.rep_availability, rep_region, len(ins.regions))
    team_avail = block_sums(ins.rep_availability, ins.rep_team, len(ins.teams))
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
    return AllocationResult(ins, unit, tables, passed, notes)


def allocate_reps(teams: AllocationResult, inputs: AllocationInputs) -> AllocationResult:
    """Split each team's targets (what it passes down) over its reps, planned hires included, exactly.

    Parameters
    ----------
    teams : AllocationResult
        From :func:`allocate_teams`.
    inputs : AllocationInputs
        The rep weights, product seeds and availability of everyone who carries a target (for a
        planned hire: nothing before its start month, then the ramp); its regions, teams and
        products must be those of ``teams``.

    Returns
    -------
    AllocationResult
        ``teams``' tables with the rep level added, and ``inputs`` as its inputs.

    Raises
    ------
    AllocationError
        If the names differ from ``teams``' or a team has no rep to carry its target.
    """
    ins, before = inputs, teams.inputs
    for name in ("regions", "teams", "products"):
        if list(getattr(ins, name)) != list(getattr(before, name)):
            raise AllocationError(f"the rep split's {name} {list(getattr(ins, name))} differ from the team "
                                  f"split's {list(getattr(before, name))}: a planned hire must join a team "
                                  "that is in the plan")
    tables, passed, notes = dict(teams.tables), dict(teams.passed_down), list(teams.notes)
    rep_region = ins.team_region[ins.rep_team]
    rep_annual = _split_annual_by_product(
        passed["team"], ins.rep_team, ins.rep_weight, ins.rep_product_seed,
        {"parents": ins.teams, "children": ins.reps}, ins.products)
    seed = ins.region_product_profile[rep_region] * ins.rep_availability[:, None, :]
    tables["rep"] = _split_pieces(rep_annual, ins.rep_team, passed["team"], seed,
                                  {"parents": ins.teams, "children": ins.reps}, ins, notes)
    passed["rep"] = tables["rep"]
    return AllocationResult(ins, teams.unit, tables, passed, notes)


def allocate(total_units: int, inputs: AllocationInputs, *, unit: float = 1.0,
             uplift: dict[str, float] | None = None) -> AllocationResult:
    """Split ``total_units`` over regions, teams, reps, products and pieces, exactly.

    :func:`allocate_teams` then :func:`allocate_reps` with the same ``inputs``.

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
    return allocate_reps(allocate_teams(total_units, inputs, unit=unit, uplift=uplift), inputs)


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
    for level in [lv for lv in LEVELS if lv in source]:
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
    # by level too (region_product rows belong to the region's "All"): a team may carry its region's name
    keys = ["level", "entity", "period_type", "period"]
    by_level = targets.assign(level=targets["level"].replace({v: k for k, v in PRODUCT_LEVELS.items()}))
    products = by_level[by_level["product"] != ALL].groupby(keys)["target"].sum()
    alls = by_level[by_level["product"] == ALL].set_index(keys)["target"]
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



# --------------------------------------------------------------------------- comparisons and stages
def hierarchy(result: AllocationResult) -> dict[str, tuple[str, dict[str, str]]]:
    """Return each child level's parent level and entity map, for :func:`check_hierarchy`."""
    ins = result.inputs
    out = {"region": ("company", {r: "company" for r in ins.regions}),
           "team": ("region", {t: ins.regions[ins.team_region[i]] for i, t in enumerate(ins.teams)}),
           "rep": ("team", {r: ins.teams[ins.rep_team[i]] for i, r in enumerate(ins.reps)})}
    return {child: parents for child, parents in out.items() if child in result.tables}


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


def plan_year_days(config) -> pd.DataFrame:
    """Return :func:`planlib.calendar.plan_days` for the config's fiscal year and country."""
    from planlib.core.calendar import plan_days

    return plan_days(config.fiscal.year, config.fiscal.start_month, config.fiscal.calendar,
                     config.company.country, config.company.subdivision)


def fiscal_months(config) -> pd.DatetimeIndex:
    """Return the 12 month starts of the config's fiscal plan year."""
    from planlib.core.calendar import plan_months

    return plan_months(config.fiscal.year, config.fiscal.start_month)


def fiscal_periods(config) -> pd.DataFrame:
    """Return the config's 12 fiscal months or week-based periods with their dates and names.

    See :func:`planlib.core.calendar.fiscal_month_starts` for the columns.
    """
    from planlib.core.calendar import fiscal_month_starts

    return fiscal_month_starts(config.fiscal.year, config.fiscal.start_month, config.fiscal.calendar)


def _plan_inputs(plan, roster: pd.DataFrame, methods: dict[str, float] | None, ramp=None) -> AllocationInputs:
    cfg = plan.config
    allocation = cfg.allocation if methods is None else cfg.allocation.model_copy(update={"methods": methods})
    tables = plan["inputs"].tables
    return allocation_inputs(
        roster=roster, history=plan["history"], forecasts=plan["forecast"].forecasts, days=plan_year_days(cfg),
        fiscal_months=fiscal_months(cfg), last_month=pd.Timestamp(cfg.last_closed_month),
        start_month=cfg.fiscal.start_month, allocation=allocation, sales=tables.get("sales"),
        market=tables.get("market"), capacity=cfg.capacity, ramp=ramp)


def build_team_allocation(plan, total_units: int | None = None,
                          methods: dict[str, float] | None = None) -> AllocationResult:
    """Split a plan's annual target (or ``total_units``) over regions, teams, products and pieces.

    The weights are the roster's (the reps there today and the signed offers); planned hires do not
    move the region and team targets, which the capacity and hiring plan read.

    Returns
    -------
    AllocationResult
        Levels company, region and team (see :func:`allocate_teams`).
    """
    cfg = plan.config
    inputs = _plan_inputs(plan, plan["inputs"].tables["reps"], methods)
    units = plan["annual_target"].target_units if total_units is None else int(total_units)
    return allocate_teams(units, inputs, unit=cfg.allocation.rounding_unit, uplift=cfg.allocation.uplift)


def build_allocation(plan, total_units: int | None = None, methods: dict[str, float] | None = None) -> AllocationResult:
    """Run the allocation for a plan (its annual target unless ``total_units`` is given), planned hires included.

    The teams' targets come from :func:`build_team_allocation`; each team is then split over its reps
    and the hires the hiring plan places in it (``plan["planned_hires"]``, rep ids such as "East TBH 1"),
    a hire carrying nothing before its start month and, while ramping, the capacity ramp's share of
    what a ramped colleague carries (the ramp the capacity model plans with, unless
    ``allocation.ramp`` is given).

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
    if total_units is None and methods is None:
        teams = plan["team_allocation"]
    else:
        teams = build_team_allocation(plan, total_units, methods)
    hires = plan["planned_hires"].roster
    roster = plan["inputs"].tables["reps"]
    if len(hires):
        roster = pd.concat([roster, hires.reindex(columns=roster.columns)], ignore_index=True)
    ramp = plan["capacity"].ramp if plan.config.allocation.ramp is None else None
    return allocate_reps(teams, _plan_inputs(plan, roster, methods, ramp=ramp))


@stage("team_allocation", needs=("annual_target", "forecast", "history", "inputs"),
       config=("allocation", "capacity", "fiscal", "company", "as_of", "seed"))
def _team_allocation_stage(plan) -> AllocationResult:
    return build_team_allocation(plan)


@stage("team_targets", needs=("team_allocation",))
def _team_targets_stage(plan) -> pd.DataFrame:
    return targets_table(plan["team_allocation"])


@stage("allocation", needs=("team_allocation", "planned_hires", "capacity", "forecast", "history", "inputs"),
       config=("allocation", "capacity", "fiscal", "company", "as_of", "seed"))
def _allocation_stage(plan) -> AllocationResult:
    return build_allocation(plan)


@stage("targets", needs=("negotiated_allocation",))
def _targets_stage(plan) -> pd.DataFrame:
    # the top-down allocation unless allocation.commits negotiates it with managers' commits (planning.negotiate)
    return targets_table(plan["negotiated_allocation"])
