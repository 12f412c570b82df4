"""The forecast: the engine that backtests statsmodels seasonal models per series, the models,
interval calibration, reconciliation over the hierarchy, and diagnostics (accuracy, trust).

May import ``data`` and ``core``.
"""
