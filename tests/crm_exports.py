"""Small CRM exports written the way CRMs write them, for the tests of ``planlib init``.

A made-up company: 5 owners in 2 regions, 3 products, 30 months of won deals drawn from a seed.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

OWNERS = {"Ana Lima": "North", "Ben Okoro": "North", "Chloé Martin": "South", "Dev Patel": "South",
          "Eve Adams": "North"}
PRODUCTS = ("Widgets", "Gadgets", "Service plans")


def deals(seed: int = 7, months: int = 30, start: dt.date = dt.date(2024, 5, 1), owners: dict | None = None,
          products: tuple[str, ...] = PRODUCTS) -> pd.DataFrame:
    """Return won deals: deal_id, created, closed, owner, region, account, product, amount (cents exact)."""
    owners = owners or OWNERS
    rng = np.random.default_rng(seed)
    rows = []
    for m in range(months):
        first = (pd.Timestamp(start) + pd.DateOffset(months=m)).date()
        for owner, region in owners.items():
            for _ in range(int(rng.integers(3, 7))):
                closed = first + dt.timedelta(days=int(rng.integers(0, 27)))
                season = 1.3 if closed.month == 12 else 1.0
                rows.append({"closed": closed, "created": closed - dt.timedelta(days=int(rng.integers(10, 90))),
                             "owner": owner, "region": region, "account": f"ACC-{int(rng.integers(1, 60)):04d}",
                             "product": products[int(rng.integers(0, len(products)))],
                             "amount": round(float(rng.lognormal(8, 0.5)) * season, 2)})
    frame = pd.DataFrame(rows).sort_values(["closed", "owner"], ignore_index=True)
    frame.insert(0, "deal_id", [f"D{i:05d}" for i in range(1, len(frame) + 1)])
    return frame


def write_english(folder: Path, frame: pd.DataFrame) -> Path:
    """Unusual but recognisable English headers, a create date before the close date, $ amounts, day-first dates."""
    out = pd.DataFrame({
        "Order Number": frame["deal_id"], "Create Date": frame["created"].map(lambda d: d.strftime("%d/%m/%Y")),
        "Date Closed": frame["closed"].map(lambda d: d.strftime("%d/%m/%Y")), "Salesperson": frame["owner"],
        "Territory": frame["region"], "Account Name": frame["account"], "Product Line": frame["product"],
        "Deal Amount": frame["amount"].map(lambda a: f"${a:,.2f}")})
    path = folder / "deals_export.csv"
    out.to_csv(path, index=False, encoding="utf-8")
    return path


def write_chinese_gbk(folder: Path, frame: pd.DataFrame) -> Path:
    """The headers a company chose in a Chinese CRM form export, ￥ amounts, GBK bytes."""
    out = pd.DataFrame({
        "合同编号": frame["deal_id"], "成交日期": frame["closed"].map(lambda d: f"{d.year}/{d.month}/{d.day}"),
        "负责人": frame["owner"].map({o: n for o, n in zip(OWNERS, ("李娜", "王强", "张伟", "刘洋", "陈静"))}),
        "大区": frame["region"].map({"North": "华北", "South": "华南"}), "客户名称": frame["account"],
        "产品线": frame["product"].map(dict(zip(PRODUCTS, ("仪器", "耗材", "服务")))),
        "合同金额": frame["amount"].map(lambda a: f"￥{a:,.2f}")})
    path = folder / "成交明细.csv"
    path.write_bytes(out.to_csv(index=False).encode("gbk"))
    return path


HUBSPOT_OPEN = {"Appointment Scheduled": 20, "Qualified to Buy": 40, "Presentation Scheduled": 60,
                "Decision Maker Bought-In": 80, "Contract Sent": 90}


def with_outcomes(won: pd.DataFrame, seed: int = 3) -> pd.DataFrame:
    """Add lost deals (within the history) and open deals (closing in the months after it) to won deals.

    Returns the deals of all three outcomes with the columns of ``deals`` plus outcome (won, lost, open), stage
    (HubSpot's default stage names) and probability (percent), sorted by deal_id.
    """
    rng = np.random.default_rng(seed)
    won = won.assign(outcome="won", stage="Closed Won", probability=100)
    lost = won.sample(frac=0.25, random_state=seed).assign(outcome="lost", stage="Closed Lost", probability=0)
    lost["amount"] = (lost["amount"] * 0.9).round(2)
    last = max(won["closed"])
    owners = {o: r for o, r in zip(won["owner"], won["region"])}
    products = sorted(set(won["product"]))
    open_rows = []
    for i in range(12):
        stage = list(HUBSPOT_OPEN)[i % len(HUBSPOT_OPEN)]
        closed = last + dt.timedelta(days=int(rng.integers(20, 120)))
        owner = sorted(owners)[i % len(owners)]
        open_rows.append({"closed": closed, "created": last - dt.timedelta(days=int(rng.integers(5, 60))),
                          "owner": owner, "region": owners[owner], "account": f"ACC-{int(rng.integers(1, 60)):04d}",
                          "product": products[i % len(products)], "amount": round(float(rng.lognormal(8, 0.5)), 2),
                          "outcome": "open", "stage": stage, "probability": HUBSPOT_OPEN[stage]})
    frame = pd.concat([won, lost, pd.DataFrame(open_rows)], ignore_index=True)
    frame["deal_id"] = [f"{9000000 + i}" for i in range(len(frame))]
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # exports are not in date order


def write_hubspot(folder: Path, frame: pd.DataFrame) -> Path:
    """HubSpot's deal export: its property labels as headers, ISO date-times, plain amounts and a Currency column."""
    out = pd.DataFrame({
        "Record ID": frame["deal_id"], "Deal Name": frame["account"] + " - " + frame["product"],
        "Deal Stage": frame["stage"], "Close Date": frame["closed"].map(lambda d: f"{d.isoformat()} 17:30"),
        "Deal owner": frame["owner"], "Amount": frame["amount"].map(lambda a: f"{a:.2f}"),
        "Pipeline": frame["product"], "Create Date": frame["created"].map(lambda d: f"{d.isoformat()} 09:05"),
        "Associated Company": frame["account"], "Currency": "USD"})
    path = folder / "hubspot-crm-exports-all-deals.csv"
    out.to_csv(path, index=False, encoding="utf-8")
    return path


def write_salesforce(folder: Path, frame: pd.DataFrame) -> Path:
    """A Salesforce opportunity report exported with a US locale: 3/7/2026 dates, "USD 1,234.56", 1/0 flags."""
    stage = frame["stage"].where(frame["outcome"] != "open", "Negotiation/Review")
    out = pd.DataFrame({
        "Opportunity Owner": frame["owner"], "Account Name": frame["account"],
        "Opportunity Name": frame["account"] + " - " + frame["deal_id"], "Stage": stage,
        "Amount": frame["amount"].map(lambda a: f"USD {a:,.2f}"), "Probability (%)": frame["probability"],
        "Close Date": frame["closed"].map(lambda d: f"{d.month}/{d.day}/{d.year}"),
        "Won": (frame["outcome"] == "won").astype(int), "Closed": (frame["outcome"] != "open").astype(int),
        "Product": frame["product"], "Created Date": frame["created"].map(lambda d: f"{d.month}/{d.day}/{d.year}")})
    path = folder / "report1700000000000.csv"
    out.to_csv(path, index=False, encoding="utf-8")
    return path
