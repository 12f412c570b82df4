"""The engine's figures on public real series, as stored by ``benchmarks/forecast_real.py``, and a table that
puts them beside a plan's own backtest.

The figures live in ``real_benchmark.json`` next to this module; only the benchmark writes that file (after a
full run: every data set, both history lengths), and it ships with the package, so that a page can say how the
engine has done on series this project never wrote without running the benchmark again.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from planlib.core.errors import ForecastError

__all__ = ["BENCHMARK_FILE", "benchmark_beside_backtest", "real_benchmark"]

BENCHMARK_FILE = Path(__file__).with_name("real_benchmark.json")
# Every figure a history length's run must carry for planlib and each peer.
_FIGURES = ("n", "mase", "cov80", "cov95", "reach_q60", "in80", "below_q10", "above_q90", "pit_error",
            "seconds_per_series")
_TOP_KEYS = ("command", "date", "levels", "target_quantile", "runs")
_RUN_KEYS = ("cycles", "series", "series_origins", "best_peer", "mase_vs_best_peer", "seconds_vs_autoets", "methods")


def real_benchmark(path: str | Path | None = None) -> dict:
    """Return the stored figures of the real-series benchmark (``benchmarks/forecast_real.py``).

    Parameters
    ----------
    path : str or Path, optional
        Another stored result file; default the one shipped with the package (:data:`BENCHMARK_FILE`).

    Returns
    -------
    dict
        ``command`` (what produced it), ``date``, ``data``, ``levels`` (the interval levels, [80, 95]),
        ``target_quantile`` (0.6: the year-total quantile whose reach is counted), ``goals`` and ``runs``: one dict per history length
        with cycles, series, series_origins, best_peer, mase_vs_best_peer, seconds_vs_autoets and ``methods``
        ({method: {n, mase, cov80, cov95, reach_q60, in80, below_q10, above_q90, pit_error,
        seconds_per_series}}), shares as fractions (0.8 = 80%).

    Raises
    ------
    ForecastError
        If the file is missing, is not JSON, or lacks a figure (naming the file and what is missing).
    """
    file = Path(path) if path is not None else BENCHMARK_FILE
    try:
        stored = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ForecastError(f"{file}: no stored benchmark figures; run python benchmarks/forecast_real.py") from None
    except json.JSONDecodeError as exc:
        raise ForecastError(f"{file}: line {exc.lineno}, column {exc.colno}: not JSON ({exc.msg})") from None
    problems = [f"top-level key {k!r} missing" for k in _TOP_KEYS if k not in stored]
    for i, run in enumerate(stored.get("runs", [])):
        problems += [f"runs[{i}]: key {k!r} missing" for k in _RUN_KEYS if k not in run]
        for method, figs in run.get("methods", {}).items():
            missing = [k for k in _FIGURES if k not in figs]
            if missing:
                problems.append(f"runs[{i}] ({run.get('cycles')} cycles) {method}: {', '.join(missing)} missing")
        if "methods" in run and "planlib" not in run["methods"]:
            problems.append(f"runs[{i}] ({run.get('cycles')} cycles): no planlib figures")
    if "runs" in stored and not stored["runs"]:
        problems.append("runs is empty")
    if problems:
        raise ForecastError(f"{file}: not a stored benchmark result: " + "; ".join(problems))
    return stored


def benchmark_beside_backtest(result, stored: dict | None = None) -> pd.DataFrame:
    """Return a plan's own backtest beside the stored real-series benchmark, one row each, as a table.

    Parameters
    ----------
    result : ForecastResult
        The plan's forecast; its backtest gives the first row.
    stored : dict, optional
        Benchmark figures as :func:`real_benchmark` returns them (default: the shipped file).

    Returns
    -------
    DataFrame
        Columns: "Judged on", "Series" and "Held-out years" (counts; the plan's backtest holds out no
        whole years of its own: NaN), "Error removed against seasonal naive" (1 - MASE / seasonal
        naive's MASE), "Error against the best other method" (planlib's MASE / the best peer's - 1; benchmark
        rows only), "Inside the 80% range" and "Inside the 95% range" (share of periods), "Year total reached the
        40% target" and "Year total inside its 80% range" (share of held-out years; benchmark rows only); the
        levels and the target's chance are the stored file's ``levels`` and 1 - ``target_quantile``.
        Shares are fractions; a figure that does not apply is NaN.
    """
    from planlib.forecast.diagnostics import trust_assessment

    stored = real_benchmark() if stored is None else stored
    inner, outer = (int(v) for v in stored["levels"])
    chance = 1 - float(stored["target_quantile"])
    cols = {"cov80": f"Inside the {inner}% range", "cov95": f"Inside the {outer}% range",
            "reach": f"Year total reached the {chance:.0%} target", "in80": f"Year total inside its {inner}% range"}
    own = trust_assessment(result)
    scored = result.backtest.loc[result.backtest["chosen"], "unique_id"].nunique() if len(result.backtest) else 0
    rows = [{"Judged on": "This plan's own backtest", "Series": int(scored), "Held-out years": math.nan,
             "Error removed against seasonal naive": own["improvement_vs_snaive"],
             "Error against the best other method": math.nan, cols["cov80"]: own["coverage_80"],
             cols["cov95"]: math.nan, cols["reach"]: math.nan, cols["in80"]: math.nan}]
    for run in stored["runs"]:
        p = run["methods"]["planlib"]
        naive = run["methods"].get("SeasonalNaive", {}).get("mase", math.nan)
        rows.append({"Judged on": f"Public real series, at most {run['cycles']} seasonal cycles of history",
                     "Series": int(run["series"]), "Held-out years": int(p["n"]),
                     "Error removed against seasonal naive": 1 - p["mase"] / naive if naive else math.nan,
                     "Error against the best other method": run["mase_vs_best_peer"],
                     cols["cov80"]: p["cov80"], cols["cov95"]: p["cov95"], cols["reach"]: p["reach_q60"],
                     cols["in80"]: p["in80"]})
    return pd.DataFrame(rows)

