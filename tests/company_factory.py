"""Small generated companies for full-plan tests: deals, a roster and optionally moves, written as a user would.

Each company is described by its reps (id, region, team on the roster, start), its products and its
months; a rep's deals follow a gentle season and growth with Poisson counts, all from one seed. Rules
can stop a product, a region or a product in a region some months before the end (a discontinuation).
The config written is the README's minimal one plus what a test adds.
"""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml


@dataclass
class Rep:
    rep_id: str
    region: str
    team: str
    start: str = "2018-01-01"


@dataclass
class Company:
    reps: list[Rep]
    products: list[str]
    first_month: str = "2023-11-01"
    last_month: str = "2026-10-01"
    deals_per_month: float = 6.0
    seed: int = 11
    # (region or None, product or None, months before the end it stops): no deal of it in those last months
    stops: list[tuple[str | None, str | None, int]] = field(default_factory=list)
    # rep_id -> region of each deal before a date: (date, region then); the sales file has no region column
    region_before: dict[str, tuple[str, str]] = field(default_factory=dict)

    def months(self) -> pd.DatetimeIndex:
        return pd.date_range(self.first_month, self.last_month, freq="MS")

    def deals(self) -> pd.DataFrame:
        """Every deal: deal_id, date, amount, rep_id, customer_id, product, region (the rep's region then)."""
        rng = np.random.default_rng(self.seed)
        months = self.months()
        rows, n = [], 0
        for month in months:
            season = 1 + 0.15 * np.sin(2 * np.pi * (month.month - 3) / 12)
            growth = 1.05 ** ((month - months[0]).days / 365)
            left = (months[-1].year - month.year) * 12 + months[-1].month - month.month  # months to the end
            for rep in self.reps:
                if month < pd.Timestamp(rep.start):
                    continue
                before = self.region_before.get(rep.rep_id)
                region = before[1] if before and month < pd.Timestamp(before[0]) else rep.region
                for _ in range(rng.poisson(self.deals_per_month)):
                    product = self.products[int(rng.integers(len(self.products)))]
                    stopped = any((r is None or r == region) and (p is None or p == product) and left < k
                                  for r, p, k in self.stops)
                    amount = rng.lognormal(np.log(4000), 0.5) * season * growth
                    if stopped:
                        continue
                    n += 1
                    rows.append({"Deal": f"D{n:06d}", "Closed": f"{month:%Y-%m}-{int(rng.integers(1, 28)):02d}",
                                 "Value": round(float(amount), 2), "Owner": rep.rep_id,
                                 "Account": f"A{int(rng.integers(1, 300)):04d}", "Line": product, "_region": region})
        return pd.DataFrame(rows)

    def write(self, folder: Path, *, transfers: list[dict] | None = None, extra: dict | None = None,
              roster_team: bool = True) -> Path:
        """Write deals.csv, people.csv (and moves.csv) and plan.yaml into ``folder``; return the config path."""
        folder.mkdir(parents=True, exist_ok=True)
        deals = self.deals()
        deals.drop(columns="_region").to_csv(folder / "deals.csv", index=False)
        people = pd.DataFrame({"Employee": [r.rep_id for r in self.reps],
                               "Full Name": [f"Person {r.rep_id}" for r in self.reps],
                               "Territory": [r.region for r in self.reps],
                               "Start Date": [r.start for r in self.reps]})
        if roster_team:
            people["Group"] = [r.team for r in self.reps]
        people.to_csv(folder / "people.csv", index=False)
        last = pd.Timestamp(self.last_month)
        as_of = (last + pd.offsets.MonthBegin(1) + pd.Timedelta(days=20)).date()
        fiscal_year = as_of.year + 1 if as_of.month >= 11 else as_of.year
        reps_columns = {"rep_id": "Employee", "name": "Full Name", "region": "Territory", "hire_date": "Start Date"}
        if roster_team:
            reps_columns["team"] = "Group"
        config = {
            "company": {"name": "Generated Co", "currency": "USD", "country": "US"},
            "fiscal": {"year": fiscal_year, "start_month": 11},
            "as_of": as_of.isoformat(),
            "data": {"sales": {"path": "deals.csv", "columns": {"deal_id": "Deal", "date": "Closed", "amount": "Value",
                                                                "rep_id": "Owner", "customer_id": "Account",
                                                                "product": "Line"}},
                     "reps": {"path": "people.csv", "columns": reps_columns}},
        }
        if transfers is not None:
            pd.DataFrame(transfers).to_csv(folder / "moves.csv", index=False)
            config["data"]["transfers"] = {"path": "moves.csv"}
        for section, values in (extra or {}).items():
            if isinstance(values, dict) and isinstance(config.get(section), dict):
                config[section].update(values)
            else:
                config[section] = values
        path = folder / "plan.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
        return path


def run_plan(config: Path, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run ``planlib plan --config`` from ``cwd``, as a user would; return the finished process."""
    planlib = Path(sys.executable).with_name("planlib")
    return subprocess.run([str(planlib), "plan", "--config", str(config)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def read_targets(bundle: Path) -> pd.DataFrame:
    """targets.csv of a bundle, with entities and products as text and targets as numbers."""
    return pd.read_csv(bundle / "targets.csv", dtype=str, keep_default_na=False,
                       encoding="utf-8-sig").astype({"target": float})
