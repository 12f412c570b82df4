"""The ground floor: the config schema, the stage graph and its cache, the calendar, errors and text.

Every other sub-package may import from here; ``core`` imports no other part of planlib (the
graph finds the stage modules by name when a plan first asks for a stage).
"""
from planlib.core import cache, calendar, text
from planlib.core.config import PlanConfig, find_config, load_config, parse_config
from planlib.core.errors import (AllocationError, BundleExistsError, ConfigError, DataError, ForecastError,
                                 NotebookFailed, ParameterError, PlanlibError, RowProblem, StageInputError)
from planlib.core.graph import Plan, StageInputs, describe_stages, stage, stages

__all__ = [
    "AllocationError", "BundleExistsError", "ConfigError", "DataError", "ForecastError", "NotebookFailed",
    "ParameterError", "Plan", "PlanConfig", "PlanlibError", "RowProblem", "StageInputError", "StageInputs", "cache",
    "calendar", "describe_stages", "find_config", "load_config", "parse_config", "stage", "stages", "text",
]
