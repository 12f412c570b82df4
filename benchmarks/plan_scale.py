"""Time a full `planlib plan` on a large generated company: 2,000 reps and 20 products, three years of deals.

    .venv/bin/python benchmarks/plan_scale.py [--reps 2000] [--products 20] [--stages-only]

8 regions x 25 teams x 10 reps (10% joined within the history, 4% left), 20 products with their own
weights per region, about 3 deals per rep and month from 2023-11 to 2026-10 (some 215,000 rows),
written as CSV with a user's own headers. Setup (generating and writing the files) is not timed.
Prints the wall seconds and CPU seconds of the plan (all five notebooks), the peak memory of the
largest process, and the machine's load. ``--stages-only`` times each stage the notebooks read in
this process instead, to find the slow one. Goal: under 3 minutes on 2 cores after setup.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 180.0


def write_company(folder: Path, n_reps: int, n_products: int, seed: int = 2027) -> Path:
    """Write deals.csv, people.csv and plan.yaml of the generated company; return the config path."""
    rng = np.random.default_rng(seed)
    n_regions, per_team = 8, 10
    n_teams = max(1, n_reps // per_team)
    reps = [f"R{i:05d}" for i in range(n_reps)]
    team_of = np.minimum(np.arange(n_reps) // per_team, n_teams - 1)
    region_of_team = np.arange(n_teams) % n_regions
    regions = [f"Region {r + 1}" for r in range(n_regions)]
    months = pd.date_range("2023-11-01", "2026-10-01", freq="MS")
    new = rng.random(n_reps) < 0.10
    start = np.where(new, rng.integers(0, len(months) - 3, n_reps), -60)
    left = rng.random(n_reps) < 0.04
    stop = np.where(left, rng.integers(6, len(months) - 2, n_reps), len(months) + 60)
    stop = np.maximum(stop, start + 3)
    hire = [(months[0] + pd.DateOffset(months=int(s))).strftime("%Y-%m-%d") for s in start]
    exit_ = [(months[0] + pd.DateOffset(months=int(s))).strftime("%Y-%m-%d") if s < len(months) else ""
             for s in stop]
    people = pd.DataFrame({"Employee": reps, "Name": [f"Rep {i}" for i in range(n_reps)],
                           "Team": [f"T{t:03d}" for t in team_of],
                           "Region": [regions[region_of_team[t]] for t in team_of],
                           "Hired": hire, "Left": exit_})
    people.to_csv(folder / "people.csv", index=False)
    products = [f"Product {p + 1:02d}" for p in range(n_products)]
    mix = rng.dirichlet(np.ones(n_products) * 2, n_regions)  # each region its own product mix
    skill = rng.lognormal(0, 0.3, n_reps)
    parts = []
    for m, month in enumerate(months):
        active = (start <= m) & (m < stop)
        ids = np.flatnonzero(active)
        counts = rng.poisson(3 * np.minimum(1.0, (m - start[ids] + 1) / 6), len(ids))
        who = np.repeat(ids, counts)
        region = region_of_team[team_of[who]]
        cum = mix.cumsum(axis=1)[region]
        product = (rng.random(len(who))[:, None] > cum).sum(axis=1).clip(0, n_products - 1)
        season = 1 + 0.2 * np.sin(2 * np.pi * (month.month - 3) / 12)
        amount = rng.lognormal(np.log(3000), 0.6, len(who)) * skill[who] * season * 1.05 ** (m / 12)
        days = rng.integers(1, 28, len(who))
        parts.append(pd.DataFrame({"Closed": [f"{month:%Y-%m}-{d:02d}" for d in days], "Owner": np.array(reps)[who],
                                   "Account": [f"A{c:05d}" for c in rng.integers(0, 20_000, len(who))],
                                   "Line": np.array(products)[product], "Value": np.round(amount, 2)}))
    deals = pd.concat(parts, ignore_index=True)
    deals.insert(0, "Deal", [f"D{i:07d}" for i in range(len(deals))])
    deals.to_csv(folder / "deals.csv", index=False)
    config = {
        "company": {"name": "Scale Co", "currency": "USD", "country": "US"},
        "fiscal": {"year": 2027, "start_month": 11},
        "as_of": "2026-11-20",
        "data": {"sales": {"path": "deals.csv", "columns": {"deal_id": "Deal", "date": "Closed", "amount": "Value",
                                                            "rep_id": "Owner", "customer_id": "Account",
                                                            "product": "Line"}},
                 "reps": {"path": "people.csv", "columns": {"rep_id": "Employee", "name": "Name", "team": "Team",
                                                            "region": "Region", "hire_date": "Hired",
                                                            "exit_date": "Left"}}},
        "report": {"output_dir": str(folder / "reports")},
    }
    path = folder / "plan.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path, len(deals)


def time_plan(config: Path) -> tuple[float, float, float]:
    """Run `planlib plan` once; return (wall seconds, CPU seconds, peak RSS in MB of the largest process)."""
    planlib = Path(sys.executable).parent / "planlib"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([str(planlib), "plan", "--config", str(config), "--quiet"], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"planlib plan failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, after.ru_maxrss / 1024


def time_stages(config: Path) -> None:
    """Compute the stages the notebooks read, in this process, printing each one's seconds."""
    import planlib
    from planlib.core.graph import stages
    from planlib.report.runner import notebook_paths, notebook_stages

    plan = planlib.Plan.from_config(config)
    wanted = set(notebook_stages(notebook_paths(plan.config)[1]))
    registered = stages()
    order: list[str] = []

    def visit(name):  # upstream stages first, so each line times one stage's own work
        if name not in order:
            for need in registered[name].needs:
                visit(need)
            order.append(name)

    for name in sorted(wanted):
        visit(name)
    for name in order:
        start = time.perf_counter()
        plan.get(name)
        print(f"  {name:<22} {time.perf_counter() - start:7.1f} s")
    print(f"  peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--products", type=int, default=20)
    parser.add_argument("--stages-only", action="store_true", help="time the stages in this process, no notebooks")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="planlib-scale-") as tmp:
        folder = Path(tmp)
        config, rows = write_company(folder, args.reps, args.products)
        print(f"company: {args.reps:,} reps, {args.products} products, {rows:,} deals (setup, not timed)")
        load_before = os.getloadavg()[0]
        if args.stages_only:
            time_stages(config)
            return 0
        wall, cpu, peak = time_plan(config)
        bundles = sorted(p.name for p in (folder / "reports").glob("FY*/v*"))
        print(f"  full plan, 5 notebooks: {wall:6.1f} s wall, {cpu:6.1f} s CPU, peak {peak:,.0f} MB in the largest "
              f"process   (goal: under {GOAL_SECONDS:.0f} s wall: {'met' if wall < GOAL_SECONDS else 'NOT met'})")
        print(f"  machine: {os.cpu_count()} core(s), load average {load_before:.1f} before and "
              f"{os.getloadavg()[0]:.1f} after; bundle {bundles[-1] if bundles else '(none)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
