"""The quarterly review: actuals against the plan of record, the re-forecast and re-allocation of
what is left, and the scorecards.

May import ``risk``, ``resources``, ``planning``, ``forecast``, ``data`` and ``core``.
"""

from planlib.review.quarter import (PlanOfRecord, ReviewResult, ReviewWindow, actual_vs_plan, actuals_note,
                                    actuals_source, allocation_options,
                                    annual_targets, build_review, check_continuity, exact_parts, feedback_notes,
                                    load_review_inputs, month_table, notes_table, option_targets_table, overrides,
                                    percent, price_volume_mix, pvm_table, reforecast_months, reforecast_panel,
                                    review_history, review_window, targets_to_review, team_products, variance_bridge,
                                    what_if, what_if_for, year_end_outlook)
from planlib.review.scorecard import (SALES_METRICS, ScorecardDefinition, Scorecards, band_of, definition, measure,
                                      resolved, score, score_value, scorecards, spread, tenure_group, tenure_labels,
                                      validate_scorecard)
from planlib.review import quarter, scorecard

__all__ = [
    "PlanOfRecord", "ReviewResult", "ReviewWindow", "SALES_METRICS", "ScorecardDefinition", "Scorecards",
    "actual_vs_plan", "actuals_note", "actuals_source", "allocation_options", "annual_targets", "band_of", "build_review", "check_continuity",
    "definition", "exact_parts", "feedback_notes", "load_review_inputs", "measure", "month_table", "notes_table",
    "option_targets_table", "overrides", "percent", "price_volume_mix", "pvm_table", "quarter", "reforecast_months",
    "reforecast_panel", "resolved", "review_history", "review_window", "score", "score_value", "scorecard",
    "scorecards", "spread", "targets_to_review", "team_products", "tenure_group", "tenure_labels",
    "validate_scorecard", "variance_bridge", "what_if", "what_if_for", "year_end_outlook",
]
