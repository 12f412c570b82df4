"""The monthly sales panel (long form, every level of the hierarchy) and the customer table.

Both are pure: tables in, tables out. ``planlib.data`` re-exports them and
registers the ``history`` stage.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from planlib.core.errors import DataError

__all__ = ["LEVELS", "PANEL_COLUMNS", "customer_table", "monthly_panel"]

LEVELS = ("company", "region", "product", "region_product", "team", "rep")
PANEL_COLUMNS = ["unique_id", "ds", "y", "level", "region", "team", "rep_id", "product"]

# level -> the columns that identify its series
_KEYS = {
    "company": [],
    "region": ["region"],
    "product": ["product"],
    "region_product": ["region", "product"],
    "team": ["team"],
    "rep": ["rep_id"],
}


def monthly_panel(sales: pd.DataFrame, reps: pd.DataFrame, end, teams: pd.DataFrame | None = None) -> pd.DataFrame:
    """Sum sales by month for every series of the hierarchy, on a full calendar.

    Parameters
    ----------
    sales : DataFrame
        Columns date (datetime64), amount (float, negative = credit note),
        rep_id, product, and optionally region. A blank or missing region is
        taken from the rep's roster row.
    reps : DataFrame
        The roster: rep_id, region, team.
    end : date-like
        The last month to include (any day in it), normally
        ``config.last_closed_month``; later sales (the partial current month)
        are left out.
    teams : DataFrame, optional
        row (position in ``sales``), team, share: the team each sale counts to, for the team level
        (a rep who moved: the team of the day; a team split by a reorg: one row per new team with its
        share; see :func:`planlib.data.org.sale_teams`). Default: the rep's team on the roster.

    Returns
    -------
    DataFrame
        unique_id ("company", "region/East", "product/Services",
        "region_product/East/Services", "team/East-1", "rep/R001"),
        ds (datetime64[ns], month start), y (float64, net sales of the month;
        0.0 in a month without sales), level (one of ``LEVELS``), region, team,
        rep_id, product (object; None where the level does not have it; a team
        carries its region, a rep its region and team from the roster). Every
        series runs from the first month with any sale to ``end``; sorted by
        level (in ``LEVELS`` order), unique_id, ds.

    Raises
    ------
    DataError
        No sale on or before ``end``, or a sale by a rep who is not on the roster.

    Examples
    --------
    >>> sales = pd.DataFrame({"date": pd.to_datetime(["2026-01-05", "2026-03-02"]), "amount": [100.0, 50.0],
    ...                       "rep_id": ["R1", "R1"], "product": ["A", "A"]})
    >>> reps = pd.DataFrame({"rep_id": ["R1"], "region": ["East"], "team": ["East-1"]})
    >>> monthly_panel(sales, reps, "2026-03-31").query("level == 'company'")["y"].tolist()
    [100.0, 0.0, 50.0]
    """
    end_month = pd.Timestamp(end).to_period("M").to_timestamp().to_datetime64()
    month = np.asarray(sales["date"], dtype="datetime64[ns]").astype("datetime64[M]")
    keep = month <= end_month.astype("datetime64[M]")
    if not keep.any():
        raise DataError(f"no sales on or before {pd.Timestamp(end_month):%Y-%m}: the history would be empty")
    roster = reps.drop_duplicates("rep_id")
    roster_ids = pd.Index(roster["rep_id"].astype(object))
    roster_region = roster["region"].astype(object).to_numpy()
    roster_team = roster["team"].astype(object).to_numpy()
    kept = (lambda col: col) if keep.all() else (lambda col: col[keep])
    # Factorise the (long) columns and look up only their few distinct values.
    rep_code, rep_values = pd.factorize(kept(sales["rep_id"]))
    row_of_value = roster_ids.get_indexer(np.asarray(rep_values, dtype=object))
    if (row_of_value < 0).any():
        missing = sorted(np.asarray(rep_values, dtype=object)[row_of_value < 0])
        raise DataError(f"sales by rep(s) not on the roster: {missing[:20]}; add them to the reps table")
    rep_row = row_of_value[rep_code]
    if "region" in sales:
        own_code, own_values = pd.factorize(kept(sales["region"]))
        own_values = np.asarray(own_values, dtype=object)
        regions = np.array(sorted(set(own_values[own_values != ""]) | set(roster_region)), dtype=object)
        own_code = np.where(own_code >= 0, pd.Index(regions).get_indexer(own_values)[own_code], -1)
        region_code = np.where(own_code >= 0, own_code, pd.Index(regions).get_indexer(roster_region)[rep_row])
    else:
        regions = np.array(sorted(set(roster_region)), dtype=object)
        region_code = pd.Index(regions).get_indexer(roster_region)[rep_row]
    month = month[keep]
    first = month.min()
    months = np.arange(first, end_month.astype("datetime64[M]") + 1)
    month_idx = (month - first).astype(np.int64)
    amount = sales["amount"].to_numpy(dtype="float64")[keep]
    product_code, products = pd.factorize(kept(sales["product"]), sort=True)
    products = np.asarray(products, dtype=object)
    team_of_rep, team_names = pd.factorize(roster_team, sort=True)
    rep_order = np.argsort(roster_ids.to_numpy(dtype=object))  # reps sorted by id
    rep_rank = np.empty(len(rep_order), np.int64)
    rep_rank[rep_order] = np.arange(len(rep_order))
    team_region = _team_regions(roster)
    levels = {
        "company": (np.zeros(len(amount), np.int64), [()]),
        "region": (region_code, [(r,) for r in regions]),
        "product": (product_code, [(p,) for p in products]),
        "region_product": (region_code * len(products) + product_code,
                           [(r, p) for r in regions for p in products]),
        "team": (team_of_rep[rep_row], [(t,) for t in team_names]),
        "rep": (rep_rank[rep_row], [(roster_ids[i],) for i in rep_order]),
    }
    weighted = {level: (month_idx, amount) for level in LEVELS}
    if teams is not None:  # sales counted to the team of their day, split teams by share
        kept_row = np.cumsum(keep) - 1
        use = keep[teams["row"].to_numpy(np.int64)]
        rows = kept_row[teams["row"].to_numpy(np.int64)[use]]
        code, names = pd.factorize(teams["team"].astype(object).to_numpy()[use], sort=True)
        levels["team"] = (code, [(t,) for t in names])
        weighted["team"] = (month_idx[rows], amount[rows] * teams["share"].to_numpy(float)[use])
    parts = []
    for level in LEVELS:
        code, names = levels[level]
        idx, weights = weighted[level]
        sums = np.bincount(code * len(months) + idx, weights=weights,
                           minlength=len(names) * len(months)).reshape(len(names), len(months))
        present = np.bincount(code, minlength=len(names)) > 0  # only series with a sale in the window
        parts.append(_level_frame(level, [names[i] for i in np.flatnonzero(present)], sums[present],
                                  months, roster.set_index("rep_id"), team_region))
    return pd.concat(parts, ignore_index=True)[PANEL_COLUMNS]


def _team_regions(roster: pd.DataFrame) -> dict:
    """A team's region when all its reps share one (a team that spans regions gets None)."""
    regions = roster.groupby(roster["team"].astype(object))["region"].agg(lambda r: set(r.astype(object)))
    return {team: next(iter(rs)) if len(rs) == 1 else None for team, rs in regions.items()}


def _level_frame(level, entities, sums, months, roster, team_region) -> pd.DataFrame:
    keys = _KEYS[level]
    n_series, n_months = sums.shape
    cols = {c: [None] * n_series for c in ("region", "team", "rep_id", "product")}
    uid = []
    for i, parts in enumerate(entities):
        for k, v in zip(keys, parts):
            cols[k][i] = str(v)
        if level == "team":
            cols["region"][i] = team_region.get(parts[0])
        elif level == "rep":
            cols["region"][i] = str(roster.at[parts[0], "region"])
            cols["team"][i] = str(roster.at[parts[0], "team"])
        uid.append("/".join([level] + [str(p) for p in parts]) if level != "company" else "company")
    out = pd.DataFrame({
        "unique_id": pd.Series(np.repeat(np.array(uid, dtype=object), n_months), dtype=object),
        "ds": np.tile(months.astype("datetime64[ns]"), n_series),
        "y": sums.reshape(-1).astype("float64"),
        "level": pd.Series([level] * (n_series * n_months), dtype=object),
    })
    for c, values in cols.items():
        out[c] = pd.Series(np.repeat(np.array(values, dtype=object), n_months), dtype=object)
    return out


def customer_table(sales: pd.DataFrame) -> pd.DataFrame:
    """Summarise each customer's purchases by calendar year, marking new and existing customers.

    Parameters
    ----------
    sales : DataFrame
        Columns customer_id, date (datetime64), amount; customer_name is used when present.

    Returns
    -------
    DataFrame
        One row per customer and calendar year with any sale: customer_id,
        customer_name (the name on the customer's latest row; None without the
        column), year (int), revenue (float, net of credit notes), deals (rows
        with a positive amount), first_purchase (datetime64: the first positive
        sale, or the first row if there is none), first_year (int), status
        ("new" in the year of the first purchase, "existing" after it, "before
        first purchase" for credit notes dated earlier). Sorted by customer_id, year.
    """
    cid = sales["customer_id"].astype(object)
    frame = pd.DataFrame({"customer_id": cid, "date": sales["date"], "amount": sales["amount"].astype("float64")})
    frame["year"] = frame["date"].dt.year.astype("int64")
    frame["positive"] = frame["amount"] > 0
    first_any = frame.groupby("customer_id")["date"].min()
    first_pos = frame[frame["positive"]].groupby("customer_id")["date"].min()
    first = first_pos.reindex(first_any.index).fillna(first_any)
    by_year = frame.groupby(["customer_id", "year"]).agg(revenue=("amount", "sum"), deals=("positive", "sum"))
    out = by_year.reset_index()
    out["deals"] = out["deals"].astype("int64")
    out["first_purchase"] = out["customer_id"].map(first).astype("datetime64[ns]")
    out["first_year"] = out["first_purchase"].dt.year.astype("int64")
    out["status"] = np.select([out["year"] == out["first_year"], out["year"] > out["first_year"]],
                              ["new", "existing"], "before first purchase").astype(object)
    if "customer_name" in sales:
        latest = (pd.DataFrame({"customer_id": cid, "date": sales["date"],
                                "name": sales["customer_name"].astype(object)})
                  .sort_values(["customer_id", "date"], kind="stable").groupby("customer_id")["name"].last())
        out["customer_name"] = out["customer_id"].map(latest).astype(object)
    else:
        out["customer_name"] = None
    columns = ["customer_id", "customer_name", "year", "revenue", "deals", "first_purchase", "first_year", "status"]
    return out[columns].sort_values(["customer_id", "year"], kind="stable").reset_index(drop=True)
