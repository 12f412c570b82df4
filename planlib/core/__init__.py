"""The ground floor: the config schema, the stage graph and its cache, the calendar, errors and text.

Every other sub-package may import from here; ``core`` imports no other part of planlib (the
graph finds the stage modules by name when a plan first asks for a stage).
"""
