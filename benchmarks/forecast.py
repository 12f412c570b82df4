"""Benchmark of the forecast engine: accuracy against seasonal naive, the best single statsmodels model
and statsforecast's AutoETS/AutoTheta; speed on 1 core and 2 workers; fit time of each model family.

    python benchmarks/forecast.py                  # everything (about 15-30 minutes on 2 cores)
    python benchmarks/forecast.py --quick          # smaller panels, no 1,000-series single-core run
    python benchmarks/forecast.py --accuracy-only  # (a), (d), (e), (f): no speed or fit-time runs

Accuracy is out of sample: the last 12 months of each panel are held back, every method forecasts
them from the rest, and MASE is scaled by each series' in-sample seasonal-naive error. planlib and
its single models get China's working days (as the plan does; "auto" decides whether to use them);
seasonal naive and the statsforecast peers get the sales as recorded.
(d) repeats the sample company's test on five more simulations of it, holding out the last year and
the year before in turn: one year of 20 related series says little about 80% coverage on its own.
(e) forecasts the sample company from each of its last 13 origins, the year before (a)'s to (a)'s.
(f) splits each simulated year's growth into demand, sales force and deal noise.
statsforecast is a benchmark-only extra (pip install statsforecast).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planlib.forecast import models as _models
from planlib.data import sample  # noqa: E402
from planlib.core.calendar import period_working_days  # noqa: E402
from planlib.forecast.calibration import _bias  # noqa: E402
from planlib.forecast.engine import DEFAULT_MODELS, forecast  # noqa: E402
from planlib.forecast.reconcile import hierarchy_from_panel  # noqa: E402

HOLDOUT = 12
LEVELS = {"company": [], "region": ["region"], "product": ["product"], "region_product": ["region", "product"]}


def china_days() -> pd.Series:
    """Working days per month in China, 2020-2027 (the sample company's calendar)."""
    return period_working_days("2020-01-01", "2027-12-31", "MS", "CN")


def generated_panel(n_series: int, n_months: int, seed: int = 7) -> pd.DataFrame:
    """Return a monthly panel with known trend, seasonality and noise.

    Half the series grow with seasonal swings proportional to their level (multiplicative), a third
    have linear trends with fixed swings (additive), the rest decline; noise from 3% to 20%.
    """
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2021-01-01", periods=n_months, freq="MS")
    t = np.arange(n_months)
    frames = []
    for i in range(n_series):
        level = rng.uniform(50, 5000)
        amp, phase, noise = rng.uniform(0.05, 0.45), rng.uniform(0, 2 * np.pi), rng.uniform(0.03, 0.2)
        season = amp * np.sin(2 * np.pi * t / 12 + phase) + 0.4 * amp * np.cos(4 * np.pi * t / 12 + phase)
        kind = i % 6
        if kind < 3:
            y = level * (1 + rng.uniform(-0.005, 0.03)) ** t * (1 + season) * np.exp(rng.normal(0, noise, n_months))
        elif kind < 5:
            y = level * (1 + rng.uniform(-0.005, 0.02) * t + season + rng.normal(0, noise, n_months))
        else:
            y = level * (1 - rng.uniform(0.005, 0.015) * t) * (1 + season) * (1 + rng.normal(0, noise, n_months))
        frames.append(pd.DataFrame({"unique_id": f"g{i:04d}", "ds": ds, "y": np.maximum(y, 0.0)}))
    return pd.concat(frames, ignore_index=True)


def simulated_panel(seed: int, last_month: str) -> pd.DataFrame:
    """Return the company, region, product and region x product months of the sample simulation."""
    deals = sample.generate(seed)["sales"]
    deals = deals.assign(ds=pd.to_datetime(deals["date"]).dt.to_period("M").dt.to_timestamp())
    deals = deals[deals["ds"] <= pd.Timestamp(last_month)]
    frames = []
    for level, keys in LEVELS.items():
        g = deals.groupby([*keys, "ds"], as_index=False)["amount"].sum().rename(columns={"amount": "y"})
        g["unique_id"] = level + ("/" + g[keys].astype(str).agg("/".join, axis=1) if keys else "")
        frames.append(g.assign(level=level).reindex(columns=["unique_id", "ds", "y", "level", "region", "product"]))
    return pd.concat(frames, ignore_index=True)


def sample_panel():
    """Return (panel, hierarchy) of the sample company, or (None, reason)."""
    try:
        import planlib

        plan = planlib.Plan.from_config(ROOT / "templates" / "plan.yaml", cache_dir=None)
        hist = plan["history"]
    except Exception as exc:  # the benchmark reports what is missing instead of stopping
        return None, f"{type(exc).__name__}: {exc}"
    panel = hist[hist["level"].isin(["company", "region", "product", "region_product"])]
    return panel, hierarchy_from_panel(panel)


def split(panel, years_back: int = 0):
    """Return (train, test): the last HOLDOUT months held out, after dropping ``years_back`` years."""
    panel = panel[panel["ds"] <= panel["ds"].max() - pd.DateOffset(years=years_back)]
    cut = panel["ds"].max() - pd.DateOffset(months=HOLDOUT - 1)
    train = panel[panel["ds"] < cut][["unique_id", "ds", "y"]].reset_index(drop=True)
    test = panel[panel["ds"] >= cut][["unique_id", "ds", "y"]].reset_index(drop=True)
    return train, test


def score(pred: pd.DataFrame, train, test, col="yhat", lo="lo_80", hi="hi_80") -> dict:
    scales = {u: _models.mase_scale(g["y"].to_numpy(), 12) for u, g in train.groupby("unique_id")}
    m = test.merge(pred, on=["unique_id", "ds"], how="left")
    if m[col].isna().any():
        raise RuntimeError(f"{col}: missing forecasts")
    err = (m["y"] - m[col]).abs()
    mase = (err / m["unique_id"].map(scales)).groupby(m["unique_id"]).mean().mean()
    denom = m["y"].abs() + m[col].abs()
    smape = float(np.mean(np.where(denom > 0, 200 * err / denom.where(denom > 0, 1), 0)))
    cover = float(((m["y"] >= m[lo]) & (m["y"] <= m[hi])).mean()) if lo in m else float("nan")
    # The plan stands on year totals: how far each series' held-out year total was forecast above (+)
    # or below (-) what happened, by the same measure as planlib's backtest bias, averaged over series.
    bias = float(np.mean([_bias(g["y"].to_numpy(), g[col].to_numpy()) for _, g in m.groupby("unique_id")]))
    # How wide the 80% intervals were: the median half-width as a share of the forecast.
    width = float(np.median((m[hi] - m[lo]) / 2 / m[col].where(m[col] > 0))) if lo in m else float("nan")
    return {"mase": float(mase), "smape": smape, "coverage_80": cover, "year_bias": bias, "width_80": width}


def peers(train, h):
    """statsforecast AutoETS and AutoTheta forecasts with 80% intervals, or None if not installed."""
    try:
        from statsforecast import StatsForecast
        from statsforecast.models import AutoETS, AutoTheta
    except ImportError:
        return None, 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sf = StatsForecast(models=[AutoETS(season_length=12), AutoTheta(season_length=12)], freq="MS", n_jobs=1)
        start = time.perf_counter()
        out = sf.forecast(df=train, h=h, level=[80])
        took = time.perf_counter() - start
    return out.reset_index(drop=True), took


def accuracy(name, panel, hierarchy, n_jobs, days):
    train, test = split(panel)
    rows = []
    start = time.perf_counter()
    ours = forecast(train, HOLDOUT, n_jobs=n_jobs, hierarchy=hierarchy, progress=False, working_days=days)
    rows.append(("planlib (default)", score(ours.forecasts, train, test), time.perf_counter() - start))
    adjusted = ours.calendar["adjusted"]
    if adjusted:
        start = time.perf_counter()
        off = forecast(train, HOLDOUT, n_jobs=n_jobs, hierarchy=hierarchy, progress=False)
        rows.append(("planlib, working days off", score(off.forecasts, train, test), time.perf_counter() - start))
    singles = []
    for model in _models.MODELS:
        start = time.perf_counter()
        one = forecast(train, HOLDOUT, models=(model,), combine=False, n_jobs=n_jobs, progress=False,
                       working_days=days, working_day_adjust=adjusted)
        singles.append((model, score(one.forecasts, train, test), time.perf_counter() - start))
    start = time.perf_counter()
    plain = forecast(train, HOLDOUT, models=("snaive",), combine=False, n_jobs=n_jobs, progress=False)
    naive = ("snaive", score(plain.forecasts, train, test), time.perf_counter() - start)
    rows.append(("seasonal naive", naive[1], naive[2]))
    if adjusted:
        per_day = next(s for s in singles if s[0] == "snaive")
        rows.append(("seasonal naive per working day", per_day[1], per_day[2]))
    best = min((s for s in singles if s[0] not in ("snaive", "drift")), key=lambda s: s[1]["mase"])
    rows.append((f"best single: {best[0]} (picked on the holdout)", best[1], best[2]))
    out, took = peers(train, HOLDOUT)
    if out is not None:
        for model in ("AutoETS", "AutoTheta"):
            rows.append((f"statsforecast {model}", score(out, train, test, model, f"{model}-lo-80", f"{model}-hi-80"),
                         took))
    print(f"\n(a) accuracy on {name}: {train['unique_id'].nunique()} series, {train.groupby('unique_id').size().median():.0f}"
          f" months of history, last {HOLDOUT} held out")
    cal = ours.calendar
    print(f"    working days: {'adjusted' if adjusted else 'not adjusted'} (per working day, year-on-year changes "
          f"{abs(1 - cal['error_ratio']):.1%} {'smaller' if cal['error_ratio'] < 1 else 'larger'}; "
          f"{cal['helped']} of {cal['n_series']} series smaller)")
    print(f"    {'method':48s} {'MASE':>6s} {'sMAPE':>7s} {'cov80':>6s} {'year bias':>10s} {'seconds':>8s}")
    for label, s, took in rows:
        print(f"    {label:48s} {s['mase']:6.3f} {s['smape']:7.2f} {s['coverage_80']:6.1%} {s['year_bias']:+10.1%} "
              f"{took:8.1f}")
    base = rows[0][1]["mase"]
    peer_best = min(r[1]["mase"] for r in rows if r[0].startswith("statsforecast")) if out is not None else float("nan")
    print(f"    planlib vs seasonal naive: {1 - base / naive[1]['mase']:.1%} lower MASE; "
          f"vs best peer: {base - peer_best:+.3f} MASE")
    print("    all single models: " + ", ".join(f"{m} {s['mase']:.3f}" for m, s, _ in singles))
    return rows


def robustness(seeds, n_jobs, days):
    """(d) The sample company's test on more simulations of it and on the year before as well."""
    print(f"\n(d) the sample company simulated with seeds {seeds}, each holding out the last 12 months "
          f"(to 2026-10) and the 12 before them (to 2025-10); mean over the {2 * len(seeds)} company-years")
    results = {"planlib (default)": [], "planlib, working days off": [], "seasonal naive": []}
    for seed in seeds:
        panel = simulated_panel(seed, "2026-10-01")
        for back in (0, 1):
            train, test = split(panel, back)
            hierarchy = hierarchy_from_panel(panel[panel["ds"] <= train["ds"].max()])
            runs = {"planlib (default)": dict(hierarchy=hierarchy, working_days=days),
                    "planlib, working days off": dict(hierarchy=hierarchy),
                    "seasonal naive": dict(models=("snaive",), combine=False)}
            for label, kwargs in runs.items():
                out = forecast(train, HOLDOUT, n_jobs=n_jobs, progress=False, **kwargs)
                results[label].append((seed, back, score(out.forecasts, train, test)))
    naive = np.mean([s["mase"] for _, _, s in results["seasonal naive"]])
    print(f"    {'method':30s} {'MASE':>6s} {'vs naive':>9s} {'cov80':>6s} {'cov80 min-max':>14s} "
          f"{'MASE last / prior year':>23s} {'cov80 last / prior':>19s} {'year bias last / prior':>23s}")
    for label, rows in results.items():
        mase = np.mean([s["mase"] for _, _, s in rows])
        cover = [s["coverage_80"] for _, _, s in rows]
        by_year = [np.mean([s["mase"] for _, b, s in rows if b == back]) for back in (0, 1)]
        cover_by_year = [np.mean([s["coverage_80"] for _, b, s in rows if b == back]) for back in (0, 1)]
        bias_by_year = [np.mean([s["year_bias"] for _, b, s in rows if b == back]) for back in (0, 1)]
        print(f"    {label:30s} {mase:6.3f} {1 - mase / naive:9.1%} {np.mean(cover):6.1%} "
              f"{min(cover):6.1%}-{max(cover):.1%} {by_year[0]:14.3f} / {by_year[1]:.3f} "
              f"{cover_by_year[0]:10.1%} / {cover_by_year[1]:.1%} {bias_by_year[0]:+14.1%} / {bias_by_year[1]:+.1%}")
    per_year = [(seed, back, s["mase"], s["coverage_80"], s["width_80"])
                for seed, back, s in results["planlib (default)"]]
    print("    planlib per company-year (seed, year held out, MASE, cov80, median 80% half-width / forecast): "
          + "; ".join(f"{seed} {'last' if b == 0 else 'prior'} {m:.3f} {c:.1%} {w:.1%}"
                      for seed, b, m, c, w in per_year))
    # The control for the years before: is 34 months of history itself the trouble, or those years?
    short = []
    for seed in (7, 8, 9, 10):
        train, test = split(generated_panel(100, 46, seed=seed))
        short.append(score(forecast(train, HOLDOUT, n_jobs=n_jobs, progress=False, working_days=days).forecasts,
                           train, test))
    print(f"    control: generated panels with 34 months of history (seeds 7-10, 100 series each): planlib MASE "
          f"{np.mean([s['mase'] for s in short]):.3f}, cov80 {np.mean([s['coverage_80'] for s in short]):.1%}, "
          f"year bias {np.mean([s['year_bias'] for s in short]):+.1%}")


def rolling(panel, n_jobs, days, origins: int = 13):
    """(e) The sample company from each of its last ``origins`` origins: one year at a time, in turn.

    Each origin forecasts the 12 months after it from the history before it; the last origin is (a)'s
    held-out year, the first the year before it. Neighbouring years share 11 of their 12 months, so
    this is not 13 independent years: it shows how a single year's coverage moves with the origin.
    """
    print(f"\n(e) the sample company (seed {sample.DEFAULT_SEED}) from each of its last {origins} origins, "
          f"12 months ahead each")
    rows = []
    for back in range(origins - 1, -1, -1):
        cut = panel["ds"].max() - pd.DateOffset(months=back)
        part = panel[panel["ds"] <= cut]
        train, test = split(part)
        hierarchy = hierarchy_from_panel(part[part["ds"] <= train["ds"].max()])
        out = forecast(train, HOLDOUT, n_jobs=n_jobs, hierarchy=hierarchy, progress=False, working_days=days)
        rows.append((train["ds"].max(), score(out.forecasts, train, test)))
    cover = [s["coverage_80"] for _, s in rows]
    print(f"    planlib: MASE {np.mean([s['mase'] for _, s in rows]):.3f}, cov80 {np.mean(cover):.1%} "
          f"(range {min(cover):.1%}-{max(cover):.1%}), year bias {np.mean([s['year_bias'] for _, s in rows]):+.1%}")
    print("    by last month of history (MASE, cov80, year bias): "
          + "; ".join(f"{end:%Y-%m} {s['mase']:.3f} {s['coverage_80']:.1%} {s['year_bias']:+.1%}" for end, s in rows))


def _growth(x: np.ndarray, stop: int) -> float:
    """Growth of the 12 values before ``stop`` over the 12 before them."""
    return x[stop - 12:stop].sum() / x[stop - 24:stop - 12].sum() - 1


def growth_sources(seeds):
    """(f) Where the simulated company's growth in each held-out year of (d) came from.

    The simulation draws deals around an expected level (``sample.expected_sales``): the demand of
    each region and product, shared over the customers' wallets and scaled by the factor of the
    rep who owns each wallet (skill, new-hire ramp, slump before leaving). So a year's growth is the
    demand's growth, plus what the sales force changed, plus deal noise (actual against expected).
    Company totals only: inside a region, moves of key accounts between reps weigh more.
    """
    print("\n(f) company growth of the simulated held-out years over the 12 months before each, in points: "
          "demand, + sales force (ramp, leavers, skill of who owns the key accounts), + deal noise = actual")
    print(f"    {'seed':>9s} {'year':>6s} {'demand':>7s} {'+ force':>8s} {'+ noise':>8s} {'= actual':>9s}")
    noise = []
    for seed in seeds:
        months = sample.company_months(seed)
        for back, label in ((0, "last"), (1, "prior")):
            stop = int(np.searchsorted(months["month"], sample.HISTORY_END - pd.DateOffset(years=back)))
            demand, expected, actual = (_growth(months[c].to_numpy(), stop) for c in ("demand", "expected", "actual"))
            noise.append(actual - expected)
            print(f"    {seed:>9d} {label:>6s} {100 * demand:+7.1f} {100 * (expected - demand):+8.1f} "
                  f"{100 * (actual - expected):+8.1f} {100 * actual:+9.1f}")
    print(f"    deal noise in a year's growth: standard deviation {100 * np.std(noise, ddof=1):.1f} points over the "
          f"{len(noise)} company-years")


def speed_case(n_series, n_jobs):
    """One timed run in this (fresh) process; prints JSON with seconds and peak memory."""
    panel = generated_panel(n_series, 48, seed=11)
    start = time.perf_counter()
    forecast(panel, 12, n_jobs=n_jobs, progress=False)
    took = time.perf_counter() - start
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"seconds": took, "peak_mb": peak_self, "peak_worker_mb": peak_child}))


def speed(sizes, quick):
    print("\n(b) speed: generated monthly series, 4 years of history, h=12, default models "
          f"{list(DEFAULT_MODELS)}")
    print(f"    {'series':>7s} {'workers':>7s} {'seconds':>8s} {'series/s':>9s} {'peak MB (main / worker)':>24s}")
    for n in sizes:
        for jobs in (1, 2):
            if quick and n >= 1000 and jobs == 1:
                continue
            run = subprocess.run([sys.executable, __file__, "--speed-case", str(n), str(jobs)],
                                 capture_output=True, text=True, check=True)
            res = json.loads(run.stdout.strip().splitlines()[-1])
            print(f"    {n:7d} {jobs:7d} {res['seconds']:8.1f} {n / res['seconds']:9.2f} "
                  f"{res['peak_mb']:12.0f} / {res['peak_worker_mb']:.0f}")


def fit_times(n_series=20):
    print(f"\n(c) fit time per series and model family (1 core, 48 months, {n_series} series, one fit each)")
    panel = generated_panel(n_series, 48, seed=3)
    groups = [(u, g["y"].to_numpy()) for u, g in panel.groupby("unique_id")]
    _models.fit_batch([_models.SeriesTask("warm", groups[0][1], pd.Timestamp("2021-01-01"), "MS", 12, 12,
                                          _models.MODELS, 2)])
    with _models._one_blas_thread():
        for model in _models.MODELS:
            start = time.perf_counter()
            for uid, y in groups:
                series = pd.Series(y, index=pd.date_range("2021-01-01", periods=len(y), freq="MS"))
                _models._fit_one(model, series, 12, 12, True, {})
            ms = (time.perf_counter() - start) / len(groups) * 1000
            print(f"    {model:14s} {ms:8.1f} ms")
    print(f"    a series costs (origins + 1) fits of each candidate: 4 x the sum above with 3 origins")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller panels; skip 1,000 series on 1 core")
    parser.add_argument("--accuracy-only", action="store_true",
                        help="(a), (d), (e), (f) only: no fit times or speed runs")
    parser.add_argument("--speed-case", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.speed_case:
        speed_case(*args.speed_case)
        return
    print(f"forecast benchmark: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    total = time.perf_counter()
    days = china_days()
    panel, hierarchy = sample_panel()
    if panel is None:
        print(f"\n(a) sample company: not available ({hierarchy})")
    else:
        accuracy("the sample company (company, regions, products, region x product; MinT)", panel, hierarchy, 2, days)
    accuracy("a generated panel", generated_panel(100 if args.quick else 200, 60), None, 2, days)
    robustness([sample.DEFAULT_SEED, 1, 2] if args.quick else [sample.DEFAULT_SEED, 1, 2, 3, 4, 5], 2, days)
    if panel is not None:
        rolling(panel, 2, days, 4 if args.quick else 13)
    growth_sources([sample.DEFAULT_SEED, 1, 2] if args.quick else [sample.DEFAULT_SEED, 1, 2, 3, 4, 5])
    if not args.accuracy_only:
        fit_times()
        speed([100] if args.quick else [100, 1000], args.quick)
    print(f"\nbenchmark done in {time.perf_counter() - total:.0f} s; load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
