"""The quarterly review: actuals against the plan of record, the re-forecast and re-allocation of
what is left, and the scorecards.

May import ``risk``, ``resources``, ``planning``, ``forecast``, ``data`` and ``core``.
"""
