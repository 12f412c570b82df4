"""From forecast to targets: the annual target and P(attainment), SMART goals, fairness, allocation
weights, the allocation over time, organisation and product, exact rounding, initiatives, market.

May import ``forecast``, ``data`` and ``core``.
"""
