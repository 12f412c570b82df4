"""What the targets need: capacity with ramp and attrition, the hiring plan, the budget, and the
incentive plan with what it costs.

May import ``planning``, ``forecast``, ``data`` and ``core``.
"""

from planlib.resources.assumptions import (ASSUMED_SHARES, assumed_values, fill_money, revenue_per_rep_year,
                                          target_incentives)
from planlib.resources.budget import (BudgetResult, allocate_exact, build_budget, line_weights)
from planlib.resources.capacity import (CapacityResult, build_capacity, capacity_against_target, period_scale,
                                        region_month_targets, rep_month_targets, rep_target_array)
from planlib.resources.hiring import (HiringPlanResult, hire_contribution, hiring_plan, plan_hiring)
from planlib.resources.incentives import (IncentivePlan, bonus_payouts, cap_attainment, commission_payouts,
                                          describe_plan, payout_curve, payout_example, payout_examples,
                                          payout_factor, period_attainment, period_of_months, tier_table)
from planlib.resources.outcomes import IncentiveCost, incentive_cost
from planlib.resources import assumptions, budget, capacity, hiring, incentives, outcomes

__all__ = [
    "ASSUMED_SHARES", "BudgetResult", "CapacityResult", "HiringPlanResult", "IncentiveCost", "IncentivePlan",
    "allocate_exact", "assumed_values", "assumptions", "bonus_payouts", "budget", "build_budget", "build_capacity",
    "cap_attainment", "capacity", "capacity_against_target", "commission_payouts", "describe_plan", "fill_money",
    "hire_contribution", "hiring", "hiring_plan", "incentive_cost", "incentives", "line_weights", "outcomes", "payout_curve",
    "payout_example", "payout_examples", "payout_factor", "period_attainment", "period_of_months", "plan_hiring",
    "period_scale", "region_month_targets", "rep_month_targets", "rep_target_array", "revenue_per_rep_year",
    "target_incentives", "tier_table",
]
