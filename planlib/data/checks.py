"""Checks of the inputs against the config that the config alone cannot make, run before any notebook.

May import ``core`` only (and its own sub-package).
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from planlib.core.errors import ConfigError, DataError

__all__ = ["check_as_of_reach", "check_goal_scopes", "discontinued", "discontinued_note", "last_closed_month",
           "negative_months", "negative_months_note", "roster_note"]


def last_closed_month(as_of: dt.date) -> dt.date:
    """First day of the last month fully before ``as_of`` (as_of 2026-11-26 -> 2026-10-01)."""
    return (as_of.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def check_as_of_reach(sales: pd.DataFrame, as_of: dt.date) -> None:
    """Check that the last closed month before ``as_of`` has sales: the history must reach ``as_of``.

    A plan whose ``as_of`` lies months after the last sale would read the empty months as sales
    of nothing: every page would show a collapse, and the customer tables of the last twelve
    months are empty.

    Parameters
    ----------
    sales : DataFrame
        The sales used (``date``), as ``planlib.data.load_inputs(...).tables["sales"]``.
    as_of : date
        The config's ``as_of``.

    Raises
    ------
    DataError
        Naming the last sale, the gap in months to the last closed month and what to do, e.g.
        "as_of 2027-11-26: the last sale is 2026-10-31, 12 months before the last closed month 2027-10; ...".
    """
    closed = last_closed_month(as_of)
    dates = pd.to_datetime(sales["date"]) if "date" in sales else pd.Series([], dtype="datetime64[ns]")
    if dates.notna().sum() == 0:
        raise DataError(f"as_of {as_of.isoformat()}: no sale has a date, so the history cannot reach the last "
                        f"closed month {closed:%Y-%m}")
    last = dates.max()
    if last >= pd.Timestamp(closed):
        return
    gap = (closed.year - last.year) * 12 + closed.month - last.month
    suggested = (last.to_period("M") + 1).to_timestamp().date()
    raise DataError(f"as_of {as_of.isoformat()}: the last sale is {last.date().isoformat()}, {gap} month(s) before "
                    f"the last closed month {closed:%Y-%m}; the plan would read the months in between as months "
                    f"without sales: set as_of to a day in {suggested:%Y-%m} (e.g. {suggested.isoformat()}), "
                    f"or give the sales through {closed:%Y-%m}")


_SCOPE_FORMS = "company, region/<name>, product/<name> or region_product/<region>/<product>"


def check_goal_scopes(history: pd.DataFrame, goals) -> None:
    """Check that each SMART goal's scope names a region, product or region-product of the sales history.

    A goal on a region the data does not hold (a typo, a region not opened yet) would otherwise reach
    page 02 as a card that cannot be measured; the run stops before any notebook instead.

    Parameters
    ----------
    history : DataFrame
        The monthly panel (``unique_id`` such as ``region/East``), as ``plan["history"]``.
    goals : sequence
        ``config.goals.smart``: objects with ``name`` and ``scope``.

    Raises
    ------
    ConfigError
        One problem per bad scope, keyed ``goals.smart[i].scope``, with the value found and the names
        the data holds, e.g. "goal 'West push': found 'region/Atlantis', expected a region of the sales
        history: East, West".
    """
    known = set(history["unique_id"].astype(str))
    problems = []
    for i, goal in enumerate(goals):
        parts = str(goal.scope).split("/")
        kind = parts[0]
        size = {"company": 1, "region": 2, "product": 2, "region_product": 3}.get(kind)
        if size != len(parts) or any(not part for part in parts):
            expected = f"one of {_SCOPE_FORMS}"
        elif kind == "company" or goal.scope in known:
            continue
        else:
            names = sorted(u.split("/", 1)[1] for u in known if u.startswith(f"{kind}/"))
            what = {"region": "a region", "product": "a product", "region_product": "a region/product pair"}[kind]
            expected = f"{what} of the sales history: {', '.join(names) or 'none'}"
        problems.append((f"goals.smart[{i}].scope", f"goal {goal.name!r}: found {goal.scope!r}, expected {expected}"))
    if problems:
        raise ConfigError(problems)


def negative_months(history: pd.DataFrame, level: str = "region") -> pd.DataFrame:
    """Return the region-months whose net sales are negative: returns and credit notes larger than the sales.

    A batch of returns booked in one month can turn a region's month negative as a whole; the
    forecast and the seasonal weights then read a month of negative demand, so the pages show
    these months rather than hide them.

    Parameters
    ----------
    history : DataFrame
        The monthly panel (the ``history`` stage): unique_id, ds, y, level, region, ...
    level : str, default "region"
        The panel level looked at (``region``, ``region_product``, ``company``, ...).

    Returns
    -------
    DataFrame
        region, month (text ``YYYY-MM``), amount (float, negative), plus ``product`` at the
        region_product level; sorted by month, then region. Empty (with the columns) when none.
    """
    keys = {"region": ["region"], "region_product": ["region", "product"], "product": ["product"],
            "company": []}.get(level, ["unique_id"])
    columns = [*(keys or ["unique_id"]), "month", "amount"]
    rows = history[(history["level"] == level) & (history["y"] < 0)]
    if rows.empty:
        return pd.DataFrame({c: pd.Series(dtype=float if c == "amount" else object) for c in columns})
    out = rows.assign(month=pd.to_datetime(rows["ds"]).dt.strftime("%Y-%m"), amount=rows["y"].astype(float))
    out = out[columns].sort_values(["month", *(keys or ["unique_id"])], kind="stable").reset_index(drop=True)
    return out


def negative_months_note(history: pd.DataFrame, limit: int = 5) -> str | None:
    """Return one line counting the region-months with negative net sales and naming the first ones, or None."""
    found = negative_months(history)
    if found.empty:
        return None
    shown = ", ".join(f"{r.region} {r.month} ({r.amount:,.2f})" for r in found.head(limit).itertuples())
    more = f" and {len(found) - limit} more" if len(found) > limit else ""
    return (f"{len(found)} region-month(s) with negative net sales (returns or credit notes larger than the "
            f"month's sales): {shown}{more}; planlib.data.negative_months(plan['history']) lists them")


DISCONTINUED_LEVELS = ("region", "product", "region_product")


def discontinued(history: pd.DataFrame, months: int) -> pd.DataFrame:
    """Return the regions, products and region-products with sales in the history but none in its last ``months``.

    A product or region that has not sold for that long is taken as discontinued: it gets no target.
    A region-product is listed only when neither its region nor its product is (the wider one says it).

    Parameters
    ----------
    history : DataFrame
        The monthly panel (the ``history`` stage): unique_id, ds, y, level, region, product.
    months : int
        Months without a sale, counted back from the last month of the history, that make an
        entity discontinued (``allocation.discontinued_months``).

    Returns
    -------
    DataFrame
        level (region, product or region_product), region, product (None where the level has none),
        last_sale (text ``YYYY-MM``: the last month with positive sales), months_without (int: months
        since then to the end of the history). Sorted by level, region, product. Empty (with the
        columns) when nothing is discontinued.
    """
    columns = ["level", "region", "product", "last_sale", "months_without"]
    rows = history[history["level"].isin(DISCONTINUED_LEVELS)]
    if rows.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "months_without" else object) for c in columns})
    end = pd.Timestamp(rows["ds"].max()).to_period("M")
    sold = rows[rows["y"] > 0]
    last = sold.groupby("unique_id")["ds"].max()
    first = rows.drop_duplicates("unique_id").set_index("unique_id")
    gone = []
    for uid, when in last.items():
        gap = (end - pd.Timestamp(when).to_period("M")).n
        if gap >= months:
            r = first.loc[uid]
            gone.append((r["level"], r["region"], r["product"], f"{pd.Timestamp(when):%Y-%m}", int(gap)))
    out = pd.DataFrame(gone, columns=columns).astype({"months_without": "int64"})
    if out.empty:
        return discontinued(history.iloc[:0], months)
    wide = out[out["level"] != "region_product"]
    covered = (out["level"] == "region_product") & (out["region"].isin(wide.loc[wide["level"] == "region", "region"])
                                                    | out["product"].isin(wide.loc[wide["level"] == "product",
                                                                                   "product"]))
    out = out[~covered]
    order = {level: i for i, level in enumerate(DISCONTINUED_LEVELS)}
    return (out.assign(_o=out["level"].map(order)).sort_values(["_o", "region", "product"], kind="stable",
                                                                na_position="first")
            .drop(columns="_o").reset_index(drop=True))


def discontinued_note(history: pd.DataFrame, months: int, limit: int = 8) -> str | None:
    """Return one line naming what gets no target because it has not sold for ``months`` months, or None."""
    found = discontinued(history, months)
    if found.empty:
        return None
    shown = ", ".join(_entity(r) + f" (last sale {r.last_sale})" for r in found.head(limit).itertuples())
    more = f" and {len(found) - limit} more" if len(found) > limit else ""
    return (f"{len(found)} discontinued (no sale in the last {months} months of the history, "
            f"allocation.discontinued_months): {shown}{more}; they get no target")


def _entity(row) -> str:
    if row.level == "region":
        return f"region {row.region}"
    if row.level == "product":
        return f"product {row.product}"
    return f"{row.product} in {row.region}"


def roster_note(reps: pd.DataFrame) -> tuple[str, dict]:
    """Return (Markdown template, values) saying whether the roster was given or inferred from the sales.

    ``planlib init`` writes the roster it infers from the deal owners with ``source`` = "inferred from the sales
    by planlib init" on each row; a user who completes a row clears it. The note counts the rows still marked.

    Parameters
    ----------
    reps : DataFrame
        The reps table as loaded (an optional text column ``source``).
    """
    from planlib.data.infer import ROSTER_SOURCE

    n = len(reps)
    marked = int((reps["source"].astype(str).str.strip() == ROSTER_SOURCE).sum()) if "source" in reps else 0
    if marked == 0:
        return "The roster of {n:,} reps is given in the reps table: none of it was inferred.", {"n": n}
    if marked == n:
        return ("**Roster inferred from the sales**: all {n:,} reps are the deal owners seen, each hired on their "
                "first deal and gone after their last when it is more than six months old; team, region, dates "
                "and FTE are guesses until the reps table is completed.", {"n": n})
    return ("**Roster partly inferred from the sales**: {marked:,} of {n:,} reps are still the deal owners as "
            "`planlib init` inferred them (their dates, team and region are guesses).", {"n": n, "marked": marked})
