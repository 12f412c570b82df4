"""planlib: turn a company's sales history into a reproducible annual sales plan.

The notebooks in notebooks/ only call this package; ``planlib plan`` runs them
into a plan bundle. Start with :class:`planlib.Plan`; the sub-packages follow the flow
(core, data, forecast, planning, resources, risk, review, report: see the README's
"How the code is laid out").
"""
from planlib.core.config import PlanConfig, load_config
from planlib.core.errors import (
    AllocationError,
    BundleExistsError,
    ConfigError,
    DataError,
    ForecastError,
    NotebookFailed,
    ParameterError,
    PlanlibError,
    StageInputError,
)
from planlib.core.graph import Plan, stage

__version__ = "0.1.0"

__all__ = [
    "AllocationError",
    "BundleExistsError",
    "ConfigError",
    "DataError",
    "ForecastError",
    "NotebookFailed",
    "ParameterError",
    "Plan",
    "PlanConfig",
    "PlanlibError",
    "StageInputError",
    "load_config",
    "stage",
    "__version__",
]
