"""What leaves planlib: charts (one theme, offline SVG), HTML, Excel and CSV writers, plan bundles
and their manifest, the papermill runner and review runner, notebook parameters, the CLI.

May import every other sub-package; none imports ``report``.
"""

from planlib.report.bundle import (bundle_sheet, bundle_sheets, company_annual_target, fiscal_year_months, headline,
                                   index_order, input_counts, leads_index, manifest, package_versions,
                                   plan_year_forecast, portable_config, write_tables)
from planlib.report.pages import (ALLOWED_ATTRIBUTES, ALLOWED_TAGS, KEEP_MIME, PAGE_CSS, SVG_TAGS,
                                  export_notebook_html, inline_svg, sanitize_html, write_index)
from planlib.report.params import (Parameter, check_parameters, coerce, declared_parameters, describe,
                                   parameters_cell, parse_cli_value, parse_parameters)
from planlib.report.review_runner import (REVIEW_PARAMETERS, review_headline, review_sheets, run_review,
                                          write_review_tables)
from planlib.report.runner import (INJECTED_CELL_ID, RUNNER_PARAMETERS, VERSION_RE, WIDGET_MIME, checked_runs,
                                   execute_all, execute_notebook, next_version, normalise_notebook, notebook_paths,
                                   notebook_stages, notebook_title, run_plan, warm_stages)
from planlib.report.story import (LastYear, chance_of_target, chance_source, cover_and_chance, goal_cards, last_year,
                                  plan_on_a_page, verdict)
from planlib.report.tables import (MAX_ROWS, Sheet, display_width, money_format, neutralise, write_csv, write_excel)
from planlib.report.writers import (FORMULA_PREFIXES, bundle_files_hash, file_sha256, write_manifest)
from planlib.report import charts, story

__all__ = [
    "ALLOWED_ATTRIBUTES", "ALLOWED_TAGS", "FORMULA_PREFIXES", "INJECTED_CELL_ID", "KEEP_MIME", "LastYear",
    "MAX_ROWS", "PAGE_CSS", "Parameter", "REVIEW_PARAMETERS", "RUNNER_PARAMETERS", "SVG_TAGS", "Sheet",
    "VERSION_RE", "WIDGET_MIME", "bundle_files_hash", "bundle_sheet", "bundle_sheets", "chance_of_target",
    "chance_source", "charts", "cover_and_chance", "check_parameters", "checked_runs", "coerce", "company_annual_target",
    "declared_parameters", "describe", "display_width", "execute_all", "execute_notebook", "export_notebook_html",
    "file_sha256", "fiscal_year_months", "goal_cards", "headline", "index_order", "inline_svg", "input_counts", "last_year",
    "leads_index", "manifest", "money_format", "neutralise", "next_version", "normalise_notebook", "notebook_paths",
    "notebook_stages", "notebook_title", "package_versions", "parameters_cell", "parse_cli_value",
    "parse_parameters", "plan_on_a_page", "plan_year_forecast", "portable_config", "review_headline",
    "review_sheets", "run_plan", "run_review", "sanitize_html", "story", "verdict", "warm_stages", "write_csv",
    "write_excel", "write_index", "write_manifest", "write_review_tables", "write_tables",
]
