"""A quarter of actuals for the made-up company of test_own_company, written three ways: a plain CSV with the
plan's own headers, a Salesforce opportunity report (with the footer Salesforce writes under it) and a HubSpot
deals export. Each holds the same won deals, so a review on any of them gives the same figures.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

# test_own_company's people.csv: Employee -> (Full Name, Territory)
PEOPLE = {"E01": ("Ann Baker", "North"), "E02": ("Bob Cruz", "North"), "E03": ("Cara Diaz", "North"),
          "E04": ("Dan Evans", "South"), "E05": ("Eve Fox", "South"), "E06": ("Finn Gray", "South")}
PRODUCTS = ("Widgets", "Gadgets", "Support")
SALESFORCE_FOOTER = ['""', '""', '"Grand Totals ({n} records)"', '""',
                     '"Confidential Information - Do Not Distribute"',
                     '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."']


def quarter_deals(start: str = "2026-11-01", end: str = "2027-03-31", seed: int = 11, per_rep: int = 8,
                  lost: int = 4, open_: int = 3) -> pd.DataFrame:
    """Return deals closed from ``start`` to ``end``: per rep and month ``per_rep`` won deals (amounts in whole
    cents), then ``lost`` lost and ``open_`` open deals.

    Columns: deal_id, closed (date), rep_id, name, region, account, product, amount, outcome (won, lost, open).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for month in pd.date_range(start, end, freq="MS"):
        for rep_id, (name, region) in PEOPLE.items():
            for _ in range(per_rep):
                rows.append({"closed": (month + pd.Timedelta(days=int(rng.integers(0, 27)))).date(),
                             "rep_id": rep_id, "name": name, "region": region,
                             "account": f"A{int(rng.integers(1, 400)):04d}",
                             "product": PRODUCTS[int(rng.integers(0, 3))],
                             "amount": round(float(rng.lognormal(np.log(5200), 0.6)), 2), "outcome": "won"})
    frame = pd.DataFrame(rows)
    extra = frame.sample(n=lost + open_, random_state=seed).reset_index(drop=True)
    extra["outcome"] = ["lost"] * lost + ["open"] * open_
    extra.loc[extra["outcome"] == "open", "closed"] = dt.date.fromisoformat(end) + dt.timedelta(days=30)
    frame = pd.concat([frame, extra], ignore_index=True)
    frame.insert(0, "deal_id", [f"R{i:05d}" for i in range(1, len(frame) + 1)])
    return frame


def write_plain(folder: Path, frame: pd.DataFrame) -> Path:
    """The won deals with the plan's own headers (deals.csv of test_own_company)."""
    won = frame[frame["outcome"] == "won"]
    out = pd.DataFrame({"Deal No": won["deal_id"], "Close Date": won["closed"].map(dt.date.isoformat),
                        "Deal Amount": won["amount"].map(lambda a: f"{a:.2f}"), "Owner": won["rep_id"],
                        "Account": won["account"], "Product Line": won["product"]})
    path = folder / "actuals_plain.csv"
    out.to_csv(path, index=False)
    return path


def write_salesforce(folder: Path, frame: pd.DataFrame, footer: bool = True) -> Path:
    """A Salesforce opportunity report as exported with a US locale (3/7/2027 dates, "USD 1,234.56", 1/0 flags,
    the owner's full name), with Salesforce's footer lines under the data when ``footer``."""
    stage = frame["outcome"].map({"won": "Closed Won", "lost": "Closed Lost", "open": "Negotiation/Review"})
    out = pd.DataFrame({
        "Opportunity Owner": frame["name"], "Account Name": frame["account"],
        "Opportunity Name": frame["account"] + " - " + frame["deal_id"], "Stage": stage,
        "Amount": frame["amount"].map(lambda a: f"USD {a:,.2f}"),
        "Probability (%)": frame["outcome"].map({"won": 100, "lost": 0, "open": 75}),
        "Close Date": frame["closed"].map(lambda d: f"{d.month}/{d.day}/{d.year}"),
        "Won": (frame["outcome"] == "won").astype(int), "Closed": (frame["outcome"] != "open").astype(int),
        "Product": frame["product"]})
    text = out.to_csv(index=False, quoting=1, lineterminator="\n")
    if footer:
        text += "\n".join(line.format(n=len(out)) for line in SALESFORCE_FOOTER) + "\n"
    path = folder / "report1798675200000.csv"
    path.write_text(text, encoding="utf-8")
    return path


def write_hubspot(folder: Path, frame: pd.DataFrame) -> Path:
    """HubSpot's deal export: property labels as headers, ISO date-times, plain amounts, the owner's full name,
    one pipeline per product line."""
    stage = frame["outcome"].map({"won": "Closed Won", "lost": "Closed Lost", "open": "Contract Sent"})
    out = pd.DataFrame({
        "Record ID": frame["deal_id"].str[1:], "Deal Name": frame["account"] + " - " + frame["product"],
        "Deal Stage": stage, "Close Date": frame["closed"].map(lambda d: f"{d.isoformat()} 17:30"),
        "Deal owner": frame["name"], "Amount": frame["amount"].map(lambda a: f"{a:.2f}"),
        "Pipeline": frame["product"], "Create Date": frame["closed"].map(lambda d: f"{d.isoformat()} 09:05"),
        "Associated Company": frame["account"], "Currency": "USD"})
    path = folder / "hubspot-crm-exports-all-deals-2027-03-31.csv"
    out.to_csv(path, index=False)
    return path
