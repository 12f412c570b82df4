"""Benchmark: allocate a company of 2,000 reps x 10 products over the 53 ISO weeks of FY2027, exactly.

8 regions x 25 teams x 10 reps; 10% of reps join during the year and 5% leave. Prints wall
time per step, peak memory, and checks that every level, product and period adds up.
Goal: under 10 s and 1 GB on 2 cores. Run: ``.venv/bin/python benchmarks/allocate.py``.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
import pandas as pd

from planlib.planning import allocate as al
from planlib.core.calendar import piece_weights, pieces, plan_days


def company(n_regions: int, teams_per_region: int, reps_per_team: int, n_products: int, seed: int):
    rng = np.random.default_rng(seed)
    days = plan_days(2027, country="CN")
    table = pieces(days)
    n = len(table)
    regions = [f"Region{r:02d}" for r in range(n_regions)]
    teams = [f"{r}-T{t:02d}" for r in regions for t in range(teams_per_region)]
    team_region = np.repeat(np.arange(n_regions), teams_per_region)
    rep_team = np.repeat(np.arange(len(teams)), reps_per_team)
    reps = [f"R{i:05d}" for i in range(len(rep_team))]
    products = [f"Product{p:02d}" for p in range(n_products)]
    m, k = len(reps), len(products)
    # Hire and exit dates on the working-day calendar: availability per piece.
    start = pd.Timestamp("2027-01-01")
    hire = np.where(rng.random(m) < 0.10, rng.integers(30, 300, m), -400)
    leave = np.where(rng.random(m) < 0.05, rng.integers(120, 360, m), 10_000)
    hire_dates = start + pd.to_timedelta(hire, unit="D")
    roster = pd.DataFrame({"rep_id": reps, "hire_date": hire_dates,
                           "exit_date": (start + pd.to_timedelta(np.minimum(leave, 364), unit="D")).where(leave < 10_000),
                           "fte": np.where(rng.random(m) < 0.1, 0.5, 1.0)})
    daily = al.rep_availability(roster, days, [0.25, 0.5, 0.75]) * days["working"].to_numpy()
    per_piece = np.stack([np.bincount(days["piece"], weights=row, minlength=n) for row in daily])
    availability = per_piece / np.maximum(table["working_days"].to_numpy(float), 1)
    season = pd.Series(1 + 0.4 * np.sin(np.arange(12) / 12 * 2 * np.pi), index=range(1, 13))
    base = piece_weights(days, season)
    inputs = al.AllocationInputs(
        regions=regions, teams=teams, reps=reps, products=products, team_region=team_region, rep_team=rep_team,
        pieces=table, region_weight=rng.uniform(0.5, 2, n_regions), team_weight=rng.uniform(0.5, 2, len(teams)),
        rep_weight=availability.sum(axis=1) * rng.uniform(0.6, 1.4, m), product_weight=rng.uniform(0.2, 1, k),
        region_product_seed=rng.uniform(0.1, 1, (n_regions, k)), team_product_seed=rng.uniform(0.1, 1, (len(teams), k)),
        rep_product_seed=rng.uniform(0.05, 1, (m, k)), company_profile=base,
        product_profile=base[None, :] * rng.uniform(0.7, 1.3, (k, n)),
        region_product_profile=base[None, None, :] * rng.uniform(0.7, 1.3, (n_regions, k, n)),
        rep_availability=availability)
    parents = {"region": ("company", {r: "company" for r in regions}),
               "team": ("region", {t: regions[team_region[i]] for i, t in enumerate(teams)}),
               "rep": ("team", {r: teams[rep_team[i]] for i, r in enumerate(reps)})}
    return inputs, parents


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=8)
    parser.add_argument("--teams", type=int, default=25, help="teams per region")
    parser.add_argument("--reps", type=int, default=10, help="reps per team")
    parser.add_argument("--products", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20270101)
    parser.add_argument("--no-check", action="store_true", help="skip the (slower) additivity checks")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    inputs, parents = company(args.regions, args.teams, args.reps, args.products, args.seed)
    t1 = time.perf_counter()
    result = al.allocate(1_234_567_890, inputs, unit=1)
    t2 = time.perf_counter()
    targets = al.targets_table(result)
    t3 = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cells = result.tables["rep"].size
    weeks = targets.loc[targets["period_type"] == "week", "period"].nunique()
    print(f"reps {len(inputs.reps):,} x products {len(inputs.products)} x weeks {weeks} "
          f"({len(inputs.pieces)} week-in-month pieces): {cells:,} rep cells, {len(targets):,} target rows")
    print(f"build inputs   {t1 - t0:6.2f} s")
    print(f"allocate+round {t2 - t1:6.2f} s")
    print(f"targets table  {t3 - t2:6.2f} s")
    print(f"goal total     {t3 - t1:6.2f} s   (goal < 10 s)")
    print(f"peak memory    {peak_mb:6.0f} MB  (goal < 1024 MB)")
    ok = True
    if not args.no_check:
        t4 = time.perf_counter()
        problems = pd.concat([al.check_additivity(targets), al.check_hierarchy(targets, parents)])
        ok = problems.empty and int(targets.loc[(targets["level"] == "company")
                                                & (targets["period_type"] == "year"), "target"].item()) == 1_234_567_890
        print(f"checks         {time.perf_counter() - t4:6.2f} s   every level, product and period adds up: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
