"""The strategy and action plan: initiatives checked against the plan, what each brings in the plan year,
and the plan's targets laid out for people (rep x month, region x quarter, product x quarter) for the
executive summary and plan.xlsx. The bridge from the baseline forecast to the target: ``planlib.planning.bridge``.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planlib.core.config import Initiative
from planlib.core.errors import ConfigError, DataError
from planlib.core.graph import stage
from planlib.planning.bridge import RESERVED_STEPS, _whole, plan_year_baseline

__all__ = [
    "InitiativePlan", "active_share", "check_initiatives", "effect_summary", "initiatives_table", "monthly_effects",
    "period_view", "rep_month_view", "rep_product_view", "scope_of", "strategy_summary",
]

ALL = "All"  # the product of a target row that covers every product


# --------------------------------------------------------------------------- checking against the plan
def scope_of(region: str | None, product: str | None) -> str:
    """Return the forecast series an initiative works on ("company", "region/West", "region_product/West/Services").

    >>> scope_of(None, None), scope_of("West", None), scope_of(None, "Services"), scope_of("West", "Services")
    ('company', 'region/West', 'product/Services', 'region_product/West/Services')
    """
    if region and product:
        return f"region_product/{region}/{product}"
    if region:
        return f"region/{region}"
    if product:
        return f"product/{product}"
    return "company"


def check_initiatives(initiatives: Sequence[Initiative], *, goal_names: Iterable[str], regions: Iterable[str],
                      products: Iterable[str], plan_start: pd.Timestamp, plan_end: pd.Timestamp,
                      fiscal_year: str = "the plan year") -> None:
    """Check initiatives against the rest of the plan; raise listing every problem with its key path.

    Parameters
    ----------
    initiatives : sequence of planlib.config.Initiative
        As read from the config (each already checked on its own: fields, dates, effect).
    goal_names : iterable of str
        The names of the config's SMART goals (``goals.smart``).
    regions, products : iterable of str
        The regions and products of the data.
    plan_start, plan_end : Timestamp
        First and last day of the plan year; an initiative must run at least one day in it.
    fiscal_year : str
        Its name in messages ("FY2027").

    Raises
    ------
    ConfigError
        Listing, as ``initiatives[i].field``: a goal that is not a SMART goal, a region or product
        not in the data, an initiative that does not touch the plan year, a repeated name or a
        name the bridge uses for its own steps.
    """
    goals, regions, products = list(dict.fromkeys(goal_names)), set(regions), set(products)
    plan_start, plan_end = pd.Timestamp(plan_start), pd.Timestamp(plan_end)
    problems: list[tuple[str, str]] = []
    first_seen: dict[str, int] = {}
    for i, item in enumerate(initiatives):
        where = f"initiatives[{i}]"
        key = item.name.casefold()
        if key in first_seen:
            problems.append((f"{where}.name", f"{item.name!r} repeats initiatives[{first_seen[key]}]; "
                                              "each initiative needs its own name"))
        else:
            first_seen[key] = i
        if item.name in RESERVED_STEPS:
            problems.append((f"{where}.name", f"{item.name!r} is a step of the bridge itself; choose another name"))
        if item.goal not in goals:
            known = ", ".join(repr(g) for g in goals) if goals else "none: goals.smart is empty"
            problems.append((f"{where}.goal", f"{item.goal!r} is not a SMART goal of goals.smart (known: {known})"))
        if item.region is not None and item.region not in regions:
            problems.append((f"{where}.region", f"{item.region!r} is not a region of the data "
                                                f"({', '.join(sorted(regions)) or 'none'})"))
        if item.product is not None and item.product not in products:
            problems.append((f"{where}.product", f"{item.product!r} is not a product of the data "
                                                 f"({', '.join(sorted(products)) or 'none'})"))
        if pd.Timestamp(item.end) < plan_start:
            problems.append((f"{where}.end", f"{item.end} is before {fiscal_year} starts ({plan_start:%Y-%m-%d}); "
                                             "an initiative of the plan runs at least one day in the plan year"))
        if pd.Timestamp(item.start) > plan_end:
            problems.append((f"{where}.start", f"{item.start} is after {fiscal_year} ends ({plan_end:%Y-%m-%d}); "
                                               "an initiative of the plan runs at least one day in the plan year"))
    if problems:
        raise ConfigError(problems)


# --------------------------------------------------------------------------- effects
def initiatives_table(initiatives: Sequence[Initiative]) -> pd.DataFrame:
    """Return the initiatives as a table, in config order.

    Returns
    -------
    DataFrame
        initiative, strategy, owner, start, end (Timestamps), goal, region, product (None when not
        given), scope (the forecast series, see :func:`scope_of`), expected_effect (as written, text),
        effect_kind ("amount" or "share"), effect_value (currency, or a fraction), description.
    """
    rows = []
    for item in initiatives:
        kind, value = Initiative.parse_effect(item.expected_effect)
        written = f"{value:,.0f}" if kind == "amount" else str(item.expected_effect).strip()
        rows.append({"initiative": item.name, "strategy": item.strategy, "owner": item.owner,
                     "start": pd.Timestamp(item.start), "end": pd.Timestamp(item.end), "goal": item.goal,
                     "region": item.region, "product": item.product, "scope": scope_of(item.region, item.product),
                     "expected_effect": written, "effect_kind": kind, "effect_value": float(value),
                     "description": item.description})
    columns = ["initiative", "strategy", "owner", "start", "end", "goal", "region", "product", "scope",
               "expected_effect", "effect_kind", "effect_value", "description"]
    table = pd.DataFrame(rows, columns=columns)
    for col in ("start", "end"):
        table[col] = pd.to_datetime(table[col])
    return table


def active_share(start, end, months: pd.DatetimeIndex) -> np.ndarray:
    """Return the share of each month's days that fall within ``start`` .. ``end`` (both days included).

    >>> active_share("2027-01-16", "2027-02-28", pd.date_range("2027-01-01", periods=3, freq="MS")).round(4).tolist()
    [0.5161, 1.0, 0.0]
    """
    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    months = pd.DatetimeIndex(months)
    first = months.to_numpy(dtype="datetime64[D]")
    after = (months + pd.offsets.MonthBegin(1)).to_numpy(dtype="datetime64[D]")
    lo = np.maximum(first, np.datetime64(start.date(), "D"))
    hi = np.minimum(after, np.datetime64((end + pd.Timedelta(days=1)).date(), "D"))
    days = np.maximum((hi - lo).astype(np.int64), 0)
    return days / (after - first).astype(np.int64)


def monthly_effects(table: pd.DataFrame, baseline: pd.DataFrame, months: pd.DatetimeIndex,
                    last_closed: pd.Timestamp) -> pd.DataFrame:
    """Return what each initiative adds in each plan month.

    An amount is the initiative's effect over its whole run, spread evenly over its days, so the
    plan year gets the part of it that runs in the plan year. A share is extra sales on its scope's
    baseline while it runs: share x baseline of the month x the share of the month it runs. Months
    up to ``last_closed`` add nothing: what an initiative did there is in the actuals already.

    Parameters
    ----------
    table : DataFrame
        From :func:`initiatives_table` (initiative, start, end, scope, effect_kind, effect_value).
    baseline : DataFrame
        unique_id, ds (month starts), y: the baseline sales of every scope in every plan month
        (see :func:`plan_year_baseline`).
    months : DatetimeIndex
        The plan months.
    last_closed : Timestamp
        The last month with actuals.

    Returns
    -------
    DataFrame
        initiative, month, active (share of the month's days it runs), open (bool: after the
        last closed month), base (the scope's baseline that month), effect (currency, unrounded).

    Raises
    ------
    DataError
        If a share initiative's scope has no baseline in some plan month.
    """
    months = pd.DatetimeIndex(months)
    last_closed = pd.Timestamp(last_closed)
    is_open = months > last_closed
    base = baseline.pivot_table(index="ds", columns="unique_id", values="y", aggfunc="sum").reindex(months)
    frames, missing = [], []
    for row in table.itertuples(index=False):
        active = active_share(row.start, row.end, months)
        if row.scope in base.columns and base[row.scope].notna().all():
            scope_base = base[row.scope].to_numpy(float)
        elif row.effect_kind == "share":
            missing.append(f"{row.initiative} ({row.scope})")
            continue
        else:
            scope_base = np.full(len(months), np.nan)
        if row.effect_kind == "share":
            effect = row.effect_value * scope_base * active
        else:
            run_days = (pd.Timestamp(row.end) - pd.Timestamp(row.start)).days + 1
            days = active * np.asarray(months.days_in_month, dtype=float)
            effect = row.effect_value * days / run_days
        frames.append(pd.DataFrame({"initiative": row.initiative, "month": months, "active": active,
                                    "open": is_open, "base": scope_base, "effect": np.where(is_open, effect, 0.0)}))
    if missing:
        raise DataError("initiatives given as a share of sales need a baseline forecast of their scope in every "
                        "plan month; none for: " + ", ".join(missing))
    columns = ["initiative", "month", "active", "open", "base", "effect"]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            columns, ["str", "datetime64[ns]", "float", "bool", "float", "float"])})
    return pd.concat(frames, ignore_index=True)[columns]


def effect_summary(table: pd.DataFrame, monthly: pd.DataFrame) -> pd.DataFrame:
    """Return one row per initiative with what it adds in the plan year.

    Returns
    -------
    DataFrame
        initiative, strategy, owner, goal, start, end, scope, expected_effect (as written),
        months_active (plan months it runs, after the last closed month, partial months as
        fractions), plan_year_effect (whole currency units), description.
    """
    opened = monthly[monthly["open"]]
    months = opened.groupby("initiative", sort=False)["active"].sum()
    effect = monthly.groupby("initiative", sort=False)["effect"].sum()
    out = table[["initiative", "strategy", "owner", "goal", "start", "end", "scope", "expected_effect",
                 "description"]].copy()
    out.insert(8, "months_active", out["initiative"].map(months).fillna(0.0).astype(float))
    out.insert(9, "plan_year_effect", _whole(out["initiative"].map(effect).fillna(0.0)))
    return out.reset_index(drop=True)


def strategy_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """Return the initiatives' plan-year effect by strategy, largest first, with a Total row.

    Returns
    -------
    DataFrame
        strategy, initiatives (count), plan_year_effect (whole currency units; the Total is the sum).
    """
    grouped = summary.groupby("strategy", sort=True).agg(initiatives=("initiative", "size"),
                                                         plan_year_effect=("plan_year_effect", "sum"))
    grouped = grouped.sort_values(["plan_year_effect"], ascending=False, kind="stable").reset_index()
    total = pd.DataFrame([{"strategy": "Total", "initiatives": int(grouped["initiatives"].sum()),
                           "plan_year_effect": int(grouped["plan_year_effect"].sum())}])
    return pd.concat([grouped, total], ignore_index=True).astype({"initiatives": int, "plan_year_effect": np.int64})


# --------------------------------------------------------------------------- stage
@dataclass
class InitiativePlan:
    """The action plan of the config.

    Attributes
    ----------
    table : DataFrame
        From :func:`initiatives_table`.
    monthly : DataFrame
        From :func:`monthly_effects`.
    summary : DataFrame
        From :func:`effect_summary`.
    by_strategy : DataFrame
        From :func:`strategy_summary`.
    baseline : DataFrame
        From :func:`plan_year_baseline` (every forecast series).
    notes : list of str
    """

    table: pd.DataFrame
    monthly: pd.DataFrame
    summary: pd.DataFrame
    by_strategy: pd.DataFrame
    baseline: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _plan_year(cfg) -> tuple[pd.DatetimeIndex, pd.Timestamp, pd.Timestamp]:
    from planlib.planning.allocate import fiscal_months

    months = fiscal_months(cfg)
    return months, months[0], months[-1] + pd.offsets.MonthEnd(0)


@stage("initiatives", needs=("inputs", "history", "forecast"), config=("initiatives", "goals", "fiscal", "as_of"))
def _initiatives_stage(plan) -> InitiativePlan:
    cfg = plan.config
    months, first_day, last_day = _plan_year(cfg)
    tables = plan["inputs"].tables
    regions = set(tables["reps"]["region"].dropna()) | set(tables["sales"].get("region", pd.Series()).dropna())
    check_initiatives(cfg.initiatives, goal_names=[g.name for g in cfg.goals.smart], regions=regions,
                      products=set(tables["sales"]["product"].dropna()), plan_start=first_day, plan_end=last_day,
                      fiscal_year=f"FY{cfg.fiscal.year}")
    last_closed = pd.Timestamp(cfg.last_closed_month)
    baseline = plan_year_baseline(plan["history"], plan["forecast"].forecasts, months, last_closed)
    table = initiatives_table(cfg.initiatives)
    monthly = monthly_effects(table, baseline, months, last_closed)
    summary = effect_summary(table, monthly)
    notes = [f"{row.initiative}: runs {row.start:%Y-%m-%d} to {row.end:%Y-%m-%d}; only its days in the plan year "
             "after the last closed month count" for row in table.itertuples()
             if row.start < first_day or row.end > last_day or row.start <= last_closed]
    return InitiativePlan(table, monthly, summary, strategy_summary(summary), baseline, notes)


# --------------------------------------------------------------------------- targets laid out for people
def _select(targets: pd.DataFrame, level: str, period_type: str, product: str | None = ALL) -> pd.DataFrame:
    rows = targets[(targets["level"] == level) & (targets["period_type"] == period_type)]
    if product is not None:
        rows = rows[rows["product"] == product]
    if rows.empty:
        raise DataError(f"the targets table has no {level} rows by {period_type}; expected the long table of "
                        "planlib.allocate.targets_table (level, entity, product, period_type, period, target)")
    return rows


def _wide(rows: pd.DataFrame, index: str) -> pd.DataFrame:
    """Pivot ``rows`` to one row per ``index`` value (first-seen order) and one column per period, plus Total."""
    order = list(dict.fromkeys(rows[index]))
    periods = sorted(rows["period"].unique())
    wide = rows.pivot_table(index=index, columns="period", values="target", aggfunc="sum").reindex(
        index=order, columns=periods)
    wide = wide.fillna(0).astype(rows["target"].dtype)
    wide["Total"] = wide.sum(axis=1)
    wide.columns.name = None
    return wide


def rep_month_view(targets: pd.DataFrame, roster: pd.DataFrame) -> pd.DataFrame:
    """Return each rep's targets by month: one row per rep with name, team and region, one column per month.

    Parameters
    ----------
    targets : DataFrame
        The long targets table (rows of level "rep", product "All", period_type "month" are used).
    roster : DataFrame
        rep_id, name, team, region (the reps table).

    Returns
    -------
    DataFrame
        rep_id, name, team, region, one column per month ("2027-01", ...), Total; reps in plan order
        (region, team, rep). The months add up to Total, and Total to the rep's annual target.
    """
    wide = _wide(_select(targets, "rep", "month"), "entity")
    info = roster.drop_duplicates("rep_id").set_index("rep_id").reindex(wide.index)[["name", "team", "region"]]
    out = pd.concat([info, wide], axis=1).rename_axis("rep_id").reset_index()
    return out


def rep_product_view(targets: pd.DataFrame, roster: pd.DataFrame) -> pd.DataFrame:
    """Return each rep's annual target by product: one row per rep with name, team and region, one column per product.

    Parameters
    ----------
    targets : DataFrame
        The long targets table (rows of level "rep_product", period_type "year" are used).
    roster : DataFrame
        rep_id, name, team, region (the reps table).

    Returns
    -------
    DataFrame
        rep_id, name, team, region, one column per product (sorted), Total; reps in plan order. The products
        add up to Total, which is the rep's annual target.
    """
    rows = _select(targets, "rep_product", "year", product=None)
    order = list(dict.fromkeys(rows["entity"]))
    products = sorted(rows["product"].unique())
    wide = rows.pivot_table(index="entity", columns="product", values="target", aggfunc="sum").reindex(
        index=order, columns=products).fillna(0).astype(rows["target"].dtype)
    wide["Total"] = wide.sum(axis=1)
    wide.columns.name = None
    info = roster.drop_duplicates("rep_id").set_index("rep_id").reindex(wide.index)[["name", "team", "region"]]
    return pd.concat([info, wide], axis=1).rename_axis("rep_id").reset_index()


def period_view(targets: pd.DataFrame, by: str, period_type: str = "quarter") -> pd.DataFrame:
    """Return targets by region or by product, one column per period, with the company as the last row.

    Parameters
    ----------
    targets : DataFrame
        The long targets table.
    by : {"region", "product"}
    period_type : {"quarter", "month", "year"}, default "quarter"

    Returns
    -------
    DataFrame
        region (or product), one column per period ("2027Q1", ...), Total; then a row "Total" (the
        company), which is the sum of the rows above it.
    """
    if by == "region":
        wide = _wide(_select(targets, "region", period_type), "entity")
    elif by == "product":
        wide = _wide(_select(targets, "product", period_type, product=None), "product")
    else:
        raise ValueError(f"by must be 'region' or 'product', got {by!r}")
    company = _wide(_select(targets, "company", period_type), "entity").rename(index={"company": "Total"})
    out = pd.concat([wide, company.reindex(columns=wide.columns)])
    return out.rename_axis(by).reset_index()
