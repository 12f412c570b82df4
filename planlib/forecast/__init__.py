"""The forecast: the engine that backtests statsmodels seasonal models per series, the models,
interval calibration, reconciliation over the hierarchy, and diagnostics (accuracy, trust).

May import ``data`` and ``core``.
"""

from planlib.forecast.benchmark import BENCHMARK_FILE, benchmark_beside_backtest, real_benchmark
from planlib.forecast.calibration import (MIN_POOLED_ERRORS, PRIOR_ORIGINS, Z80, total_distribution)
from planlib.forecast.diagnostics import (accuracy_for_reader, accuracy_table, fan_chart_table, model_name,
                                          series_name, trust_assessment)
from planlib.forecast.engine import (DEFAULT_MODELS, ForecastResult, forecast, season_length_of)
from planlib.forecast.reconcile import (ATTRIBUTES, METHODS, hierarchy_from_panel, projection, reconcile,
                                        shrink_correlation, summing_matrix)
from planlib.forecast.stage import (PLAN_LEVELS, forecast_stage, forecast_with_config, plan_horizon)

__all__ = [
    "ATTRIBUTES", "BENCHMARK_FILE", "DEFAULT_MODELS", "ForecastResult", "METHODS", "MIN_POOLED_ERRORS", "PLAN_LEVELS",
    "PRIOR_ORIGINS", "Z80", "accuracy_for_reader", "accuracy_table", "benchmark_beside_backtest", "fan_chart_table",
    "forecast", "forecast_stage", "forecast_with_config", "hierarchy_from_panel", "model_name", "plan_horizon",
    "projection", "real_benchmark", "reconcile",
    "season_length_of", "series_name",
    "shrink_correlation", "summing_matrix", "total_distribution", "trust_assessment",
]
