"""Benchmark: read, validate and aggregate a 1,000,000-row sales CSV to the monthly panel.

Generates a seeded sales file and a consistent roster in a temporary folder (in
a child process, so the figures below cover only the read), then times
``load_inputs`` + ``monthly_panel`` and reports wall time and peak memory
(the process's maximum resident set size) and CPU time. Goal: under 15 s and 2 GB on 2 cores.

    .venv/bin/python benchmarks/read.py [--rows 1000000] [--seed 7]
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path

REGIONS = ["East", "South", "North", "West"]
PRODUCTS = ["Instruments", "Consumables", "Services"]


def generate(folder: str, rows: int, seed: int) -> None:
    """Write sales.csv and reps.csv: mostly clean, with the usual export mess in a small share of rows."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n_reps = 64
    rep_ids = np.array([f"R{i:03d}" for i in range(1, n_reps + 1)])
    rep_region = np.array(REGIONS)[np.arange(n_reps) % 4]
    rep_team = np.array([f"{r}-{1 + (i // 4) % 2}" for i, r in enumerate(rep_region)])
    pd.DataFrame({"rep_id": rep_ids, "name": [f"销售{i}" for i in range(n_reps)], "team": rep_team,
                  "region": rep_region, "role": "rep", "hire_date": "2020-01-01", "exit_date": "",
                  "fte": 1.0}).to_csv(Path(folder) / "reps.csv", index=False)
    start = np.datetime64("2022-01-01")
    days = int((np.datetime64("2026-11-20") - start).astype(int))
    dates = start + rng.integers(0, days, rows).astype("timedelta64[D]")
    rep = rng.integers(0, n_reps, rows)
    amount = np.round(rng.lognormal(8.5, 1.0, rows), 2)
    amount[rng.random(rows) < 0.01] *= -1  # credit notes
    amount_text = pd.Series(amount).map("{:.2f}".format)
    messy = rng.random(rows) < 0.01  # exported with a currency symbol and thousands separators
    amount_text[messy] = pd.Series(amount[messy]).map("¥{:,.2f}".format).to_numpy()
    date_text = pd.Series(np.datetime_as_string(dates, unit="D"))
    dotted = rng.random(rows) < 0.005  # a second date form in the same column
    date_text[dotted] = pd.Series(dates[dotted]).dt.strftime("%d.%m.%Y").to_numpy()
    sales = pd.DataFrame({
        "deal_id": np.char.add("D", np.char.zfill(np.arange(1, rows + 1).astype(str), 8)),
        "date": date_text,
        "amount": amount_text,
        "quantity": rng.integers(1, 50, rows),
        "rep_id": rep_ids[rep],
        "customer_id": np.char.add("C", np.char.zfill(rng.integers(1, 30000, rows).astype(str), 5)),
        "customer_name": "客户",
        "product": np.array(PRODUCTS)[rng.integers(0, 3, rows)],
        "region": rep_region[rep],
    })
    path = Path(folder) / "sales.csv"
    sales.to_csv(path, index=False)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n合计,,,,,,,,\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        child = mp.get_context("spawn").Process(target=generate, args=(folder, args.rows, args.seed))
        child.start()
        child.join()
        if child.exitcode != 0:
            print("generating the data failed", file=sys.stderr)
            return 1
        size = (Path(folder) / "sales.csv").stat().st_size

        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from planlib.core.config import parse_config
        from planlib.data.load import load_inputs, monthly_panel

        config = parse_config({
            "fiscal": {"year": 2027}, "as_of": "2026-11-26",
            "data": {"sales": {"path": "sales.csv"}, "reps": {"path": "reps.csv"}},
        }, base_dir=folder)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        c0, t0 = time.process_time(), time.perf_counter()
        inputs = load_inputs(config)
        t1 = time.perf_counter()
        panel = monthly_panel(inputs.tables["sales"], inputs.tables["reps"], config.last_closed_month)
        c2, t2 = time.process_time(), time.perf_counter()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counts = inputs.counts.set_index("table").loc["sales"]
    print(f"sales.csv: {args.rows:,} rows, {size / 1e6:.1f} MB; rows_in {counts.rows_in:,}, "
          f"used {counts.rows_used:,}, rejected {counts.rows_rejected:,}")
    print(f"panel: {len(panel):,} rows, {panel['unique_id'].nunique()} series")
    print(f"read + validate: {t1 - t0:.2f} s; monthly panel: {t2 - t1:.2f} s; total {t2 - t0:.2f} s wall, "
          f"{c2 - c0:.2f} s CPU (all threads; wall time above CPU/threads means the machine was busy)")
    print(f"peak memory (max RSS of the process): {peak:.0f} MB (after imports: {rss_before:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
