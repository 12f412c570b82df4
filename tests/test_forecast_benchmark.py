"""The stored real-series benchmark: the file the benchmark writes, the function that reads it, the table beside a
plan's own backtest."""
from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planlib.core.errors import ForecastError
from planlib.forecast import BENCHMARK_FILE, benchmark_beside_backtest, forecast, real_benchmark

ROOT = Path(__file__).resolve().parents[1]
FIGS = ("n", "mase", "cov80", "cov95", "reach_q60", "in80", "below_q10", "above_q90", "pit_error",
        "seconds_per_series")


def _bench_module():
    spec = importlib.util.spec_from_file_location("forecast_real", ROOT / "benchmarks" / "forecast_real.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stored(planlib_mase=1.2, naive_mase=1.5, theta_mase=1.25):
    def figs(mase, n=10):
        return {"n": n, "mase": mase, "cov80": 0.8, "cov95": 0.94, "reach_q60": 0.41, "in80": 0.79, "below_q10": 0.1,
                "above_q90": 0.11, "pit_error": 0.03, "seconds_per_series": 0.2}
    run = {"cycles": 10, "series": 3, "series_origins": 10, "best_peer": "AutoTheta",
           "mase_vs_best_peer": planlib_mase / theta_mase - 1, "seconds_vs_autoets": 2.0,
           "methods": {"planlib": figs(planlib_mase), "AutoTheta": figs(theta_mase), "SeasonalNaive": figs(naive_mase)}}
    return {"command": "python benchmarks/forecast_real.py", "date": "2026-12-07", "levels": [80, 95],
            "target_quantile": 0.6, "runs": [run]}


def test_the_shipped_file_holds_both_history_lengths_with_every_figure():
    stored = real_benchmark()
    assert stored["command"] == "python benchmarks/forecast_real.py"
    assert sorted(run["cycles"] for run in stored["runs"]) == [4, 10]
    for run in stored["runs"]:
        assert {"planlib", "HW (statsmodels)", "AutoETS", "AutoARIMA", "AutoTheta",
                "SeasonalNaive"} <= set(run["methods"])
        peers = {k: v["mase"] for k, v in run["methods"].items() if k != "planlib"}
        # the stored gap is the planlib MASE over the best peer's, recomputed here from the stored MASEs
        assert run["best_peer"] == min(peers, key=peers.get)
        assert run["mase_vs_best_peer"] == pytest.approx(run["methods"]["planlib"]["mase"] / min(peers.values()) - 1,
                                                         abs=1e-3)
        for figs in run["methods"].values():
            assert set(FIGS) <= set(figs)
            assert figs["below_q10"] + figs["in80"] + figs["above_q90"] == pytest.approx(1.0, abs=2e-4)


def test_the_shipped_file_is_package_data():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"forecast/real_benchmark.json"' in text
    assert BENCHMARK_FILE == ROOT / "planlib" / "forecast" / "real_benchmark.json"


def test_a_missing_file_names_itself_and_the_command(tmp_path):
    with pytest.raises(ForecastError, match=r"nothere\.json: no stored benchmark figures; run python "
                                            r"benchmarks/forecast_real\.py"):
        real_benchmark(tmp_path / "nothere.json")


def test_a_file_that_is_not_json_says_where(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"command": "x",\n  "runs": [oops]}', encoding="utf-8")
    with pytest.raises(ForecastError, match=r"bad\.json: line 2, column 12: not JSON"):
        real_benchmark(bad)


def test_every_missing_figure_is_named_at_once(tmp_path):
    stored = _stored()
    del stored["runs"][0]["methods"]["AutoTheta"]["cov95"]
    del stored["runs"][0]["methods"]["planlib"]["pit_error"]
    del stored["runs"][0]["best_peer"]
    del stored["date"]
    path = tmp_path / "partial.json"
    path.write_text(json.dumps(stored), encoding="utf-8")
    with pytest.raises(ForecastError) as err:
        real_benchmark(path)
    message = str(err.value)
    assert "top-level key 'date' missing" in message
    assert "runs[0]: key 'best_peer' missing" in message
    assert "runs[0] (10 cycles) planlib: pit_error missing" in message
    assert "runs[0] (10 cycles) AutoTheta: cov95 missing" in message


def test_the_table_puts_the_plans_backtest_beside_the_stored_figures():
    rng = np.random.default_rng(3)
    t = np.arange(48)
    values = {f"s{i}": 100 * (1 + 0.01 * i) ** t * (1 + 0.3 * np.sin(2 * np.pi * t / 12)) * np.exp(rng.normal(0, 0.05, 48))
              for i in range(3)}
    panel = pd.concat([pd.DataFrame({"unique_id": u, "ds": pd.date_range("2020-01-01", periods=48, freq="MS"), "y": v})
                       for u, v in values.items()], ignore_index=True)
    result = forecast(panel, 12, models=("snaive", "drift", "theta"), n_jobs=1)
    table = benchmark_beside_backtest(result, _stored(planlib_mase=1.2, naive_mase=1.5, theta_mase=1.25))
    assert list(table["Judged on"]) == ["This plan's own backtest",
                                        "Public real series, at most 10 seasonal cycles of history"]
    bt = result.backtest
    chosen = bt[bt["chosen"]].set_index("unique_id")["mase"]
    naive = bt[bt["model"] == "snaive"].set_index("unique_id")["mase"]
    own, bench = table.iloc[0], table.iloc[1]
    assert own["Error removed against seasonal naive"] == pytest.approx(1 - chosen.mean() / naive.mean())
    assert own["Inside the 80% range"] == pytest.approx(bt[bt["chosen"]]["coverage_80"].mean())
    assert own["Series"] == 3 and math.isnan(own["Held-out years"]) and math.isnan(own["Year total reached the 40% target"])
    assert bench["Error removed against seasonal naive"] == pytest.approx(1 - 1.2 / 1.5)
    assert bench["Error against the best other method"] == pytest.approx(1.2 / 1.25 - 1)
    assert (bench["Series"], bench["Held-out years"]) == (3, 10)
    assert bench["Year total reached the 40% target"] == pytest.approx(0.41)


def test_the_benchmark_writes_what_the_reader_reads(tmp_path, monkeypatch):
    bench = _bench_module()
    rows = []
    # two methods, two series-origins each: MASE, coverage and PIT figures by hand below
    for method, mases, pits in (("planlib", (1.0, 2.0), (0.05, 0.65)), ("AutoETS", (1.5, 2.5), (0.5, 0.95)),
                                ("SeasonalNaive", (2.0, 2.0), (0.3, 0.3))):
        for i, (mase, pit) in enumerate(zip(mases, pits)):
            rows.append({"method": method, "uid": f"s{i}", "mase": mase, "pit": pit,
                         "in80": np.array([True, False]), "in95": np.array([True, True]), "seconds": 0.1 * (i + 1)})
    df = pd.DataFrame(rows)
    run = bench.run_figures(df, ["planlib", "AutoETS", "SeasonalNaive"], 2.0, 10)
    assert run["best_peer"] == "AutoETS" and run["mase_vs_best_peer"] == pytest.approx(1.5 / 2.0 - 1)
    p = run["methods"]["planlib"]
    assert (p["mase"], p["cov80"], p["cov95"]) == (1.5, 0.5, 1.0)
    assert (p["reach_q60"], p["in80"], p["below_q10"], p["above_q90"]) == (0.5, 0.5, 0.5, 0.0)
    assert run["seconds_vs_autoets"] == pytest.approx(1.0)
    monkeypatch.setattr(bench, "STORE", tmp_path / "real_benchmark.json")
    other = dict(run, cycles=4)
    bench.store([other, run], {"models": ["theta"], "backtest_origins": 3, "combine": True, "calibrate": True,
                               "nonnegative": True, "levels": [80, 95]}, [])
    stored = real_benchmark(tmp_path / "real_benchmark.json")
    assert [r["cycles"] for r in stored["runs"]] == [10, 4]
    assert stored["runs"][0]["methods"]["planlib"] == p


def test_the_plan_uses_what_the_benchmark_measured():
    # The stored figures judge the settings they were run with: the engine's defaults, the config schema's and the
    # annotated template's must all be those settings, or the README and page 01 quote figures of another method.
    import inspect

    import yaml

    from planlib.core.config_targets import Forecast
    from planlib.forecast import DEFAULT_MODELS

    measured = real_benchmark()["planlib_settings"]
    template = yaml.safe_load((ROOT / "templates" / "plan.yaml").read_text(encoding="utf-8"))["forecast"]
    schema = Forecast()
    engine = {k: v.default for k, v in inspect.signature(forecast).parameters.items()}
    for key in ("models", "backtest_origins", "combine", "calibrate", "nonnegative", "levels"):
        assert template[key] == measured[key], key
        assert getattr(schema, key) == measured[key], key
    assert list(DEFAULT_MODELS) == measured["models"]
    assert list(engine["models"]) == measured["models"]
    assert (engine["origins"], engine["combine"], engine["calibrate"], engine["nonnegative"]) == \
        (measured["backtest_origins"], measured["combine"], measured["calibrate"], measured["nonnegative"])
    assert list(engine["levels"]) == measured["levels"]
