"""From forecast to targets: the annual target and P(attainment), SMART goals, fairness, allocation
weights, the allocation over time, organisation and product, exact rounding, initiatives, market.

May import ``forecast``, ``data`` and ``core``.
"""

from planlib.planning.allocate import (ALL, AllocationInputs, AllocationResult, LEVELS, NEW_REP_MONTHS,
                                       PRODUCT_LEVELS, allocation_inputs, allocation_view, blend, block_sums,
                                       build_allocation, check_additivity, check_hierarchy, check_targets,
                                       explicit_ramp, fiscal_months, fiscal_periods, hierarchy, largest_remainder,
                                       plan_ramp, plan_year_days, product_mix, rake, rep_availability, rep_productivity,
                                       split_two_way, targets_table, time_split_comparison, uplift_table)
from planlib.planning.bridge import (BASELINE_STEP, Bridge, HIRES_STEP, hire_credit, plan_year_baseline)
from planlib.planning.commits import (CommitReview, commit_summary, entity_draws, entity_odds, reconcile)
from planlib.planning.fairness import (Fairness, fairness_of, gini)
from planlib.planning.odds import (BASIS, Outcomes, outcome_odds, outcomes_of, share_reaching)
from planlib.planning.initiatives import (InitiativePlan, active_share, check_initiatives, effect_summary,
                                          initiatives_table, monthly_effects, period_view,
                                          rep_month_view, rep_product_view, scope_of, strategy_summary)
from planlib.planning.negotiate import (MOVE_RULE, Negotiation, commits_view, fairness_comparison, negotiated_allocation,
                                        negotiation_level, talking_points)
from planlib.planning.market import (MarketAnalysis, analyse, company_trend, competitor_table, concentration,
                                     concentration_summary, customer_mix, growth_by, headlines, market_share, mix_by,
                                     seasonal_profile, share_by_region)
from planlib.planning.productivity import (CapacityModel, RampEstimate, attrition_rate, capacity_by_month,
                                           estimate_capacity, estimate_ramp, productivity_by_region, ramp_curve,
                                           rep_run_rates, seasonal_index)
from planlib.planning.smart import (KNOWN_METRICS, goal_card_view, goal_cards, metric_history, trend_probability)
from planlib.planning.target import (AnnualTarget, MODES, annual_target_for, attainment_curve, last_year_figures,
                                     monthly_fan_table, set_annual_target, verdict_of, what_if, what_if_for)
from planlib.planning import allocate, bridge, commits, fairness, initiatives, market, negotiate, odds, smart, target

__all__ = [
    "ALL", "AllocationInputs", "BASIS", "Outcomes", "entity_draws", "fairness_of", "odds", "outcome_odds",
    "outcomes_of", "share_reaching", "AllocationResult", "AnnualTarget", "BASELINE_STEP", "Bridge", "CapacityModel",
    "CommitReview", "MOVE_RULE", "Negotiation", "commit_summary", "commits", "commits_view", "entity_odds",
    "fairness_comparison", "negotiate", "negotiated_allocation", "negotiation_level", "reconcile", "talking_points",
    "Fairness", "HIRES_STEP", "InitiativePlan", "KNOWN_METRICS", "LEVELS", "MODES", "MarketAnalysis",
    "NEW_REP_MONTHS", "PRODUCT_LEVELS", "RampEstimate", "active_share", "allocate", "allocation_inputs",
    "allocation_view", "analyse", "annual_target_for", "attainment_curve", "attrition_rate", "blend", "block_sums",
    "bridge", "build_allocation", "capacity_by_month", "check_additivity", "check_hierarchy", "check_initiatives",
    "check_targets", "company_trend", "competitor_table", "concentration", "concentration_summary", "customer_mix",
    "effect_summary", "estimate_capacity", "estimate_ramp", "explicit_ramp", "fairness", "fiscal_months",
    "fiscal_periods", "gini", "goal_card_view", "goal_cards", "growth_by", "headlines", "hierarchy", "hire_credit",
    "initiatives",
    "initiatives_table", "largest_remainder", "last_year_figures", "market", "market_share",
    "metric_history", "mix_by", "monthly_effects", "monthly_fan_table", "period_view", "plan_ramp",
    "plan_year_baseline", "plan_year_days", "product_mix", "productivity_by_region", "rake", "ramp_curve",
    "rep_availability", "rep_month_view", "rep_product_view", "rep_productivity", "rep_run_rates", "scope_of",
    "seasonal_index", "seasonal_profile", "set_annual_target", "share_by_region", "smart", "split_two_way",
    "strategy_summary", "target", "targets_table", "time_split_comparison", "trend_probability", "uplift_table",
    "verdict_of", "what_if", "what_if_for",
]
