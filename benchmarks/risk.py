"""Benchmark: the risk Monte Carlo, 10,000 simulated plan years x 45 reps x 12 months.

Builds a seeded plan year (4 regions x 3 products, correlated shocks, rep noise, a
register of 10 risks), then times ``planlib.risk.run_monte_carlo`` (rep outcomes, risk
draws and losses, attainment summary) and reports wall time, CPU time and peak memory
(traced numpy/Python allocations of the run, and the process's maximum resident set
size). Goal: under 5 s on 2 cores. It also checks that a second run with the same seed
gives the same company totals.

    .venv/bin/python benchmarks/risk.py [--sims 10000] [--reps 45] [--months 12] [--seed 20270101]
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from planlib.risk import driver_exposure, quantify_register, run_monte_carlo, validate_register  # noqa: E402
from planlib.risk.simulate import ShockModel  # noqa: E402

REGIONS = ["East", "South", "North", "West"]
PRODUCTS = ["Instruments", "Consumables", "Services"]


def plan_year(n_reps: int, n_months: int, seed: int):
    """Return expected sales, reps, product mix, a correlated shock model and a quantified register."""
    rng = np.random.default_rng(seed)
    rep_ids = pd.Index([f"R{i:03d}" for i in range(1, n_reps + 1)], name="rep_id")
    reps = pd.DataFrame({"region": np.array(REGIONS)[np.arange(n_reps) % 4],
                         "team": [f"{REGIONS[i % 4]}-{1 + (i // 4) % 2}" for i in range(n_reps)]}, index=rep_ids)
    months = pd.date_range("2027-01-01", periods=n_months, freq="MS")
    expected = pd.DataFrame(rng.uniform(400_000, 1_200_000, (n_reps, n_months)), index=rep_ids, columns=months)
    mix = pd.DataFrame(rng.dirichlet([4, 3, 2], n_reps), index=rep_ids, columns=PRODUCTS)
    segments = [f"{r}/{p}" for r in REGIONS for p in PRODUCTS]
    loadings = rng.normal(size=(len(segments), 3))
    cov = loadings @ loadings.T + np.eye(len(segments))
    corr = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    shocks = ShockModel(pd.DataFrame(corr, index=segments, columns=segments),
                        pd.Series(rng.uniform(0.1, 0.4, len(segments)), index=segments), persistence=0.4)
    risks = pd.DataFrame({
        "risk_id": [f"R-{i:02d}" for i in range(1, 11)], "title": "benchmark risk", "category": "market",
        "likelihood": rng.uniform(0.1, 0.5, 10).round(2),
        "impact": ["6%", "3000000", "4%", "8%", "5%", "2500000", "7%", "3%", "6%", "1500000"],
        "driver": ["region:West", "company", "region:East", "product:Instruments", "product:Consumables",
                   "company", "region:North", "team:East-1", "product:Services", "rep:R001"],
        "owner": "owner", "mitigation": "mitigation", "status": "open"})
    drivers = {"region": set(REGIONS), "product": set(PRODUCTS), "team": set(reps["team"]), "rep": set(rep_ids)}
    register = validate_register(risks, drivers=drivers)
    exposure = driver_exposure(register, reps=reps, product_mix=mix)
    quantified = quantify_register(register, exposure, expected.sum(axis=1), annual_target=expected.to_numpy().sum())
    return expected, reps, mix, shocks, quantified, exposure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=45)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=20270101)
    args = parser.parse_args(argv)
    expected, reps, mix, shocks, register, exposure = plan_year(args.reps, args.months, args.seed)
    target = float(expected.to_numpy().sum())

    def run():
        return run_monte_carlo(expected, region_of=reps["region"], shocks=shocks, rep_sd=0.35, register=register,
                               exposure=exposure, annual_target=target, n_sims=args.sims, seed=args.seed,
                               product_mix=mix)

    tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    again = run()
    same = bool(np.array_equal(result.company_total, again.company_total))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"risk Monte Carlo: {args.sims:,} sims x {args.reps} reps x {args.months} months, "
          f"{len(register)} risks")
    print(f"  wall time      {wall:6.2f} s   (goal: under 5 s on 2 cores)")
    print(f"  CPU time       {cpu:6.2f} s")
    print(f"  peak memory    {traced_peak / 2**20:6.0f} MiB traced in the run; {rss:,.0f} MiB max RSS of the process")
    print(f"  P(target)      {result.summary['p_target']:.3f}   same seed, same totals: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
