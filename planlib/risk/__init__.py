"""The risk review: the names the notebooks use, gathered from the modules that hold them.

The register is in :mod:`planlib.risk_register`, the plan year in :mod:`planlib.plan_year`,
the simulation in :mod:`planlib.montecarlo`, scenarios and the tornado in
:mod:`planlib.scenarios`, concentration and coverage in :mod:`planlib.concentration`;
:func:`headlines` gathers the numbers the review's prose quotes.
"""
from __future__ import annotations

import pandas as pd

from planlib.risk.concentration import ConcentrationResult, concentration, concentration_flags, pipeline_coverage
from planlib.risk.montecarlo import (MonteCarloResult, calibrate_shock_scale, run_monte_carlo,
                                     simulated_risks)
from planlib.risk.plan_year import PlanYear, RiskModel, build_plan_year
from planlib.risk.register import (DRIVER_KINDS, REGISTER_FIELDS, RiskRegister, driver_exposure, driver_in_words,
                                   heat_map, mitigation_table, parse_impact, quantify_register, validate_register)
from planlib.risk.scenarios import (ASSUMPTION_NAMES, assumption_moves, scenarios, sensitivity, what_if,
                                   what_if_figures, what_if_for)

__all__ = [
    "ASSUMPTION_NAMES",
    "DRIVER_KINDS",
    "REGISTER_FIELDS",
    "ConcentrationResult",
    "MonteCarloResult",
    "PlanYear",
    "RiskModel",
    "RiskRegister",
    "assumption_moves",
    "build_plan_year",
    "calibrate_shock_scale",
    "concentration",
    "concentration_flags",
    "driver_exposure",
    "driver_in_words",
    "headlines",
    "heat_map",
    "mitigation_table",
    "parse_impact",
    "pipeline_coverage",
    "quantify_register",
    "run_monte_carlo",
    "scenarios",
    "sensitivity",
    "simulated_risks",
    "validate_register",
    "what_if",
    "what_if_figures",
    "what_if_for",
]


def headlines(monte_carlo: MonteCarloResult, register: pd.DataFrame, scenario_table: pd.DataFrame,
              tornado: pd.DataFrame) -> dict:
    """Return the numbers the risk review's prose quotes.

    Returns
    -------
    dict
        p_target, mean_attainment, p10, p90 (attainment), expected_shortfall, shortfall_if_missed,
        cvar_10, annual_target, risks, simulated_risks, expected_loss, top_risk (id), top_risk_title,
        top_risk_loss, <scenario>_revenue and <scenario>_attainment for each scenario,
        top_assumption, top_assumption_step, top_assumption_swing (P(target) points between its moves).
    """
    summary = monte_carlo.summary
    live = simulated_risks(register)
    top = register.sort_values(["expected_loss", "risk_id"], ascending=[False, True]).iloc[0] if len(register) else None
    out = {k: float(summary[k]) for k in ("p_target", "mean_attainment", "p10", "p90", "expected_shortfall",
                                          "shortfall_if_missed", "cvar_10")}
    out.update(annual_target=monte_carlo.annual_target, risks=len(register), simulated_risks=len(live),
               expected_loss=float(live["expected_loss"].sum()),
               top_risk=None if top is None else top["risk_id"], top_risk_title=None if top is None else top["title"],
               top_risk_loss=0.0 if top is None else float(top["expected_loss"]))
    for row in scenario_table.itertuples(index=False):
        out[f"{row.scenario}_revenue"] = float(row.revenue)
        out[f"{row.scenario}_attainment"] = float(row.attainment)
    biggest = tornado.assign(abs_swing=tornado["swing"].abs()).sort_values(
        ["abs_swing", "assumption"], ascending=[False, True]).iloc[0]
    out.update(top_assumption=biggest["assumption"], top_assumption_step=biggest["step"],
               top_assumption_swing=float(biggest["swing"]))
    return out
