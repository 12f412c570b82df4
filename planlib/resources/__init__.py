"""What the targets need: capacity with ramp and attrition, the hiring plan, the budget, and the
incentive plan with what it costs.

May import ``planning``, ``forecast``, ``data`` and ``core``.
"""
