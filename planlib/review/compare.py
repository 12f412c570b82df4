"""Actual against the plan of record: the review window, actual vs plan by month, region, product, team and
rep, the variance explained (by region and product, and price, volume and mix), in exact currency units.

Pure computations on tables; ``planlib.review`` puts them together and re-exports them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "ReviewWindow", "actual_vs_plan", "exact_parts", "month_table", "price_volume_mix", "review_window", "say",
    "variance_bridge",
]


def say(template: str, /, **values) -> str:
    """Fill a note's template; notes are plain text (escaped where they are shown, by text.table)."""
    return template.format(**values)


# --------------------------------------------------------------------------- the window
@dataclass(frozen=True)
class ReviewWindow:
    """Which months a review covers.

    Attributes
    ----------
    as_of : date
    fiscal_year : int
    months : DatetimeIndex, the 12 month starts of the fiscal year
    closed : DatetimeIndex, the months of the fiscal year closed by ``as_of`` (may be empty)
    closed_through : Timestamp, the last closed month (month start), inside the year or before it
    quarter : str or None, the fiscal quarter of the last closed month of the year ("2027Q1")
    quarter_months : DatetimeIndex, the closed months of that quarter
    label : str, "2027Q1" when the last closed month ends a quarter, else "2027-02" (names the review folder)
    """

    as_of: dt.date
    fiscal_year: int
    months: pd.DatetimeIndex
    closed: pd.DatetimeIndex
    closed_through: pd.Timestamp
    quarter: str | None
    quarter_months: pd.DatetimeIndex
    label: str

    @property
    def open(self) -> pd.DatetimeIndex:
        """The months of the fiscal year still open."""
        return self.months[~self.months.isin(self.closed)]


def review_window(fiscal_year: int, start_month: int, as_of) -> ReviewWindow:
    """Return the months a review on ``as_of`` covers: a month is closed when ``as_of`` is on or after its last day.

    Parameters
    ----------
    fiscal_year, start_month : int
        The plan's fiscal year (named by the year it ends in) and its first month.
    as_of : date-like

    Returns
    -------
    ReviewWindow

    Examples
    --------
    >>> w = review_window(2027, 1, "2027-03-31")
    >>> w.quarter, w.label, len(w.closed)
    ('2027Q1', '2027Q1', 3)
    """
    as_of = pd.Timestamp(as_of).normalize()
    first = pd.Timestamp(fiscal_year - (1 if start_month > 1 else 0), start_month, 1)
    months = pd.date_range(first, periods=12, freq="MS")
    closed_through = (as_of + pd.Timedelta(days=1)).to_period("M").to_timestamp() - pd.DateOffset(months=1)
    closed = months[months <= closed_through]
    if len(closed):
        index = len(closed) - 1
        quarter = f"{fiscal_year}Q{index // 3 + 1}"
        quarter_months = closed[(np.arange(len(closed)) // 3) == index // 3]
        label = quarter if len(closed) % 3 == 0 else f"{closed_through:%Y-%m}"
    else:
        quarter, quarter_months, label = None, months[:0], f"{closed_through:%Y-%m}"
    return ReviewWindow(as_of.date(), fiscal_year, months, closed, pd.Timestamp(closed_through), quarter,
                        quarter_months, label)


# --------------------------------------------------------------------------- exact money
def exact_parts(amounts, total: float | None = None) -> np.ndarray:
    """Round signed amounts to whole currency units so that they add up to the rounded total exactly.

    Each part is floored, then the units still missing go to the parts with the largest remainders
    (ties to the earlier part).

    >>> exact_parts([0.4, 0.4, 0.2]).tolist()
    [1, 0, 0]
    """
    values = np.asarray(amounts, dtype=float)
    whole = int(round(values.sum() if total is None else float(total)))
    base = np.floor(values)
    missing = whole - int(base.sum())
    order = np.argsort(-(values - base), kind="stable")
    if missing >= 0:
        base[order[:missing]] += 1
    else:
        base[order[::-1][:-missing]] -= 1
    return base.astype(np.int64)


# --------------------------------------------------------------------------- actual against plan
def _closed_labels(window: ReviewWindow) -> list[str]:
    return [f"{m:%Y-%m}" for m in window.closed]


def _target_rows(targets: pd.DataFrame, level: str, labels: list[str], product: str | None = "All") -> pd.DataFrame:
    rows = targets[(targets["level"] == level) & (targets["period_type"] == "month") & targets["period"].isin(labels)]
    if product is not None:
        rows = rows[rows["product"] == product]
    return rows


def _in_months(sales: pd.DataFrame, months: pd.DatetimeIndex) -> pd.DataFrame:
    if not len(months):
        return sales.iloc[:0].assign(month=pd.Series(dtype="str"))
    month = sales["date"].dt.to_period("M").dt.to_timestamp()
    inside = sales[month.isin(months)]
    return inside.assign(month=month[month.isin(months)].dt.strftime("%Y-%m"))


def _compare(plan: pd.Series, actual: pd.Series, keys: list[str]) -> pd.DataFrame:
    table = pd.concat([plan.rename("plan"), actual.rename("actual")], axis=1).fillna(0.0)
    table["variance"] = table["actual"] - table["plan"]
    table["attainment"] = np.divide(table["actual"], table["plan"], out=np.full(len(table), np.nan),
                                    where=table["plan"].to_numpy() > 0)
    table.index.names = keys
    return table.reset_index()


def actual_vs_plan(targets: pd.DataFrame, sales: pd.DataFrame, roster: pd.DataFrame,
                   window: ReviewWindow) -> dict[str, pd.DataFrame]:
    """Compare actual sales with the plan of record over the closed months of the fiscal year.

    Parameters
    ----------
    targets : DataFrame
        The plan's long targets table (level, entity, product, period_type, period, target).
    sales : DataFrame
        Deals: date, amount, rep_id, product, region.
    roster : DataFrame
        rep_id, name, team, region.
    window : ReviewWindow

    Returns
    -------
    dict of str to DataFrame
        ``company`` (plan, actual, variance, attainment: one row), ``region`` (region, ...),
        ``product`` (product, ...), ``team`` (team, region, ...), ``rep`` (rep_id, name, team, region, ...),
        ``month`` (month "2027-01", ..., cum_plan, cum_actual, cum_attainment). Plan is the sum of the
        closed months' targets, actual the net sales (credit notes included) of those months, variance
        actual - plan, attainment actual / plan (NaN without a plan). A rep who sold without a target shows
        plan 0; a region or product is the deal's own.
    """
    labels = _closed_labels(window)
    deals = _in_months(sales, window.closed)
    people = roster.drop_duplicates("rep_id").set_index("rep_id")
    deals = deals.assign(team=deals["rep_id"].map(people["team"]))
    out = {}
    company = _target_rows(targets, "company", labels)
    out["company"] = _compare(pd.Series([company["target"].sum()], index=["company"], dtype=float),
                              pd.Series([deals["amount"].sum()], index=["company"], dtype=float), ["entity"])
    for view, level, key in (("region", "region", "region"), ("team", "team", "team"), ("rep", "rep", "rep_id")):
        # every entity of the plan is listed, also before its first closed month
        entities = pd.unique(targets.loc[targets["level"] == level, "entity"])
        plan = _target_rows(targets, level, labels).groupby("entity")["target"].sum().astype(float)
        actual = deals.groupby(key)["amount"].sum()
        out[view] = _compare(plan.reindex(entities, fill_value=0.0), actual, [key])
    products = targets.loc[(targets["level"] == "product") & (targets["product"] != "All"), "product"]
    plan = _target_rows(targets, "product", labels, product=None)
    plan = plan[plan["product"] != "All"].groupby("product")["target"].sum().astype(float)
    out["product"] = _compare(plan.reindex(pd.unique(products), fill_value=0.0),
                              deals.groupby("product")["amount"].sum(), ["product"])
    out["team"].insert(1, "region", out["team"]["team"].map(people.drop_duplicates("team").set_index("team")["region"]))
    rep = out["rep"]
    for i, col in enumerate(("name", "team", "region"), start=1):
        rep.insert(i, col, rep["rep_id"].map(people[col]))
    out["rep"] = rep.sort_values(["region", "team", "rep_id"], kind="stable").reset_index(drop=True)
    out["month"] = month_table(targets, deals, window)
    return out


def month_table(targets: pd.DataFrame, deals: pd.DataFrame, window: ReviewWindow) -> pd.DataFrame:
    """Return plan and actual by closed month with running totals.

    Returns
    -------
    DataFrame
        month, plan, actual, variance, attainment, cum_plan, cum_actual, cum_attainment.
    """
    labels = _closed_labels(window)
    plan = _target_rows(targets, "company", labels).groupby("period")["target"].sum().astype(float)
    actual = deals.groupby("month")["amount"].sum() if "month" in deals else pd.Series(dtype=float)
    table = _compare(plan.reindex(labels, fill_value=0.0), actual.reindex(labels, fill_value=0.0), ["month"])
    table["cum_plan"] = table["plan"].cumsum()
    table["cum_actual"] = table["actual"].cumsum()
    table["cum_attainment"] = np.divide(table["cum_actual"], table["cum_plan"], out=np.full(len(table), np.nan),
                                        where=table["cum_plan"].to_numpy() > 0)
    return table


# --------------------------------------------------------------------------- the variance explained
def variance_bridge(comparison: dict[str, pd.DataFrame], by: str) -> pd.DataFrame:
    """Return the bridge from plan to actual by ``by`` (region or product), in whole currency units.

    Returns
    -------
    DataFrame
        step (the plan, each region or product, the actual), amount (the plan and the actual as totals,
        each part its variance), kind (total, increase, decrease). The parts add up to actual - plan exactly
        (rounded to whole units with the largest-remainder rule).
    """
    table = comparison[by]
    total = comparison["company"].iloc[0]
    plan_units = int(round(total["plan"]))
    actual_units = int(round(total["actual"]))
    parts = exact_parts(table["variance"].to_numpy(float), actual_units - plan_units) if len(table) else []
    rows = [{"step": "plan to date", "amount": plan_units, "kind": "total"}]
    rows += [{"step": str(name), "amount": int(v), "kind": "increase" if v >= 0 else "decrease"}
             for name, v in zip(table[by], parts)]
    rows.append({"step": "actual to date", "amount": actual_units, "kind": "total"})
    return pd.DataFrame(rows)


def price_volume_mix(sales: pd.DataFrame, targets: pd.DataFrame, window: ReviewWindow,
                     price_months: pd.DatetimeIndex) -> tuple[pd.DataFrame | None, str]:
    """Split the variance to date into price, volume and mix by product, where deals carry quantities.

    The plan has no quantities: its price per product is the average price (sales / quantity) of
    ``price_months`` (the year before the plan), and its quantity the product's plan to date at that price.
    Units differ between products (an instrument is not a box of consumables), so quantities are compared
    at plan prices: with R the plan and RQ the actual quantities at plan prices,

    - price = (actual price - plan price) x actual quantity;
    - volume = the product's plan x (RQ / R - 1): what it would have added had every product's quantity
      moved like the total;
    - mix = RQ of the product - its plan x RQ / R: how far it moved apart from the total (mix nets to zero
      over the products; it shows where the volume went).

    price + volume + mix = actual - plan, for each product and in total.

    Returns
    -------
    (DataFrame or None, str)
        product, plan, actual, plan_qty, actual_qty, plan_price, actual_price, price, volume, mix; and a
        note (why it is missing, or how it was made). None where a deal of the window lacks a quantity.
    """
    if "quantity" not in sales or not len(window.closed):
        return None, "no closed month or no quantity column: price, volume and mix cannot be told apart"
    now = _in_months(sales, window.closed)
    before = _in_months(sales, price_months)
    missing = int(now["quantity"].isna().sum() + before["quantity"].isna().sum())
    if missing and missing == len(now) + len(before):  # no quantity column in the data at all
        return None, ("the deals carry no quantity (data.sales maps no quantity column): price, volume and mix "
                      "cannot be told apart")
    if missing:
        return None, f"{missing} deal(s) lack a quantity: price, volume and mix are not split"
    plan = _target_rows(targets, "product", _closed_labels(window), product=None)
    plan = plan[plan["product"] != "All"].groupby("product")["target"].sum().astype(float)
    qty_before = before.groupby("product")["quantity"].sum().astype(float)
    price = before.groupby("product")["amount"].sum() / qty_before.where(qty_before > 0)
    products = [p for p in plan.index if pd.notna(price.get(p))]
    if not products:
        return None, "no product sold a positive quantity in the year before the plan"
    table = pd.DataFrame(index=pd.Index(products, name="product"))
    table["plan"] = plan.reindex(products)
    table["actual"] = now.groupby("product")["amount"].sum().reindex(products, fill_value=0.0)
    table["plan_price"] = price.reindex(products)
    table["plan_qty"] = table["plan"] / table["plan_price"]
    table["actual_qty"] = now.groupby("product")["quantity"].sum().astype(float).reindex(products, fill_value=0.0)
    table["actual_price"] = np.divide(table["actual"], table["actual_qty"], out=table["plan_price"].to_numpy(copy=True),
                                      where=table["actual_qty"].to_numpy() != 0)
    at_plan_prices = table["actual_qty"] * table["plan_price"]
    growth = at_plan_prices.sum() / table["plan"].sum() if table["plan"].sum() else 1.0
    table["price"] = table["actual"] - at_plan_prices
    table["volume"] = table["plan"] * (growth - 1)
    table["mix"] = at_plan_prices - table["plan"] * growth
    table = table[["plan", "actual", "plan_qty", "actual_qty", "plan_price", "actual_price", "price", "volume", "mix"]]
    note = (f"plan prices are each product's average price in {price_months[0]:%Y-%m}..{price_months[-1]:%Y-%m}; "
            f"quantities are compared at those prices, where they moved {growth - 1:+.1%} in all")
    return table.reset_index(), note
