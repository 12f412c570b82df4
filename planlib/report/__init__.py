"""What leaves planlib: charts (one theme, offline SVG), HTML, Excel and CSV writers, plan bundles
and their manifest, the papermill runner and review runner, notebook parameters, the CLI.

May import every other sub-package; none imports ``report``.
"""
