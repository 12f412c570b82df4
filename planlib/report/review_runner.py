"""The quarterly review runner: ``planlib review`` runs the review notebooks into a new folder beside
the plan of record (``vNNN-review-2027Q1``), never into it, checking the plan's bytes before and after.
"""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from planlib.report.bundle import _relative, index_order, input_counts, package_versions, portable_config
from planlib.core.config import PlanConfig, find_config, load_config
from planlib.core.errors import BundleExistsError, ConfigError
from planlib.data.bundle import read_plan_bundle
from planlib.core.graph import Plan
from planlib.report.writers import (
    Sheet,
    bundle_files_hash,
    write_csv,
    write_excel,
    write_index,
    write_manifest,
)
from planlib.report.runner import (
    Progress,
    _publish,
    _staging_folder,
    _sweep,
    check_kernel,
    output_error,
    checked_runs,
    execute_all,
    next_version,
    notebook_paths,
    notebook_stages,
    warm_stages,
)

__all__ = ["REVIEW_PARAMETERS", "review_headline", "review_sheets", "run_review", "write_review_tables"]

# --------------------------------------------------------------------------- quarterly reviews
REVIEW_PARAMETERS = ("config", "cache_dir", "plan_dir", "as_of", "actuals")


def run_review(config_path: str | Path, plan_dir: str | Path, as_of: str, *, actuals: str | Path | None = None,
               parameters: Mapping[str, Any] | None = None, progress: Progress | None = print) -> Path:
    """Run the quarterly review of a plan of record into a new folder beside it and return that folder.

    Parameters
    ----------
    config_path : str or Path
        The config (its data sources, review settings and report settings; found from the working folder
        or its parents). The plan's own settings (fiscal year, scorecard, forecast) come from the bundle.
    plan_dir : str or Path
        The plan of record's bundle, e.g. ``reports/FY2027/v001``; it is read, never written. ``latest``:
        the newest version in ``<report.output_dir>/FY<fiscal.year>``.
    as_of : str
        The review date (ISO); months ending on or before it are closed.
    actuals : str or Path, optional
        A file of the deals after the plan's history (read like ``data.sales``); default: the config's
        sales source holds them.
    parameters : mapping, optional
        Extra notebook parameters, given to every review notebook (each must declare them).
    progress : callable, default print

    Returns
    -------
    Path
        ``<plan_dir>-review-<2027Q1 or 2027-02>`` beside the plan, holding the executed notebook (.ipynb and
        .html), index.html, review.xlsx, scorecards.csv, rejects.csv and manifest.json.

    Raises
    ------
    ConfigError
        A bad date, a missing plan bundle or actuals file, a review date not after the plan's.
    BundleExistsError
        The review folder exists: a review is never overwritten.
    NotebookFailed
        A cell raised; nothing is published and the notebook is kept under ``failed/`` beside the plan.
    """
    from planlib.review.quarter import review_window

    say = progress or (lambda line: None)
    config_file = find_config(config_path)
    cfg = load_config(config_file)
    if str(plan_dir) == "latest":
        fy_dir = cfg.resolve(cfg.report.output_dir) / f"FY{cfg.fiscal.year}"
        newest = next_version(fy_dir)
        if newest == "v001":
            raise ConfigError([("--plan", f"latest: {fy_dir} holds no plan bundle yet; run `planlib plan` first")])
        plan_dir = fy_dir / f"v{int(newest[1:]) - 1:03d}"
    plan_dir = Path(plan_dir).expanduser().resolve()
    problems = []
    try:
        review_date = dt.date.fromisoformat(str(as_of))
    except ValueError:
        problems.append(("--as-of", f"expected an ISO date such as 2027-03-31, got {as_of!r}"))
    if not (plan_dir / "manifest.json").is_file():
        problems.append(("--plan", f"{plan_dir} is not a plan bundle: it has no manifest.json"))
    actuals_file = Path(actuals).expanduser().resolve() if actuals else None
    if actuals_file is not None and not actuals_file.is_file():
        problems.append(("--actuals", f"file not found: {actuals_file}"))
    if problems:
        raise ConfigError(problems)
    record = read_plan_bundle(plan_dir, base_dir=cfg.base_dir)
    if review_date <= record.config.as_of:
        raise ConfigError([("--as-of", f"the review date {review_date} must come after the plan's as_of "
                                       f"{record.config.as_of}")])
    window = review_window(record.config.fiscal.year, record.config.fiscal.start_month, review_date)
    target = plan_dir.parent / f"{plan_dir.name}-review-{window.label}"
    if target.exists():
        raise BundleExistsError(f"{target} exists; a review is never overwritten")
    cache_dir = cfg.resolve(cfg.report.output_dir) / ".cache"
    nb_dir, notebooks = notebook_paths(cfg, cfg.review.notebooks, "review.notebooks")
    runner_values = {"config": _relative(config_file, nb_dir), "cache_dir": _relative(cache_dir, nb_dir),
                     "interactive": False, "plan_dir": _relative(plan_dir, nb_dir), "as_of": review_date.isoformat(),
                     "actuals": _relative(actuals_file, nb_dir) if actuals_file else ""}
    runs = checked_runs(notebooks, runner_values, parameters, REVIEW_PARAMETERS,
                        "choose them with --config, --plan, --as-of and --actuals")
    overrides = {"review.plan": str(plan_dir), "review.as_of": review_date.isoformat()}
    if actuals_file is not None:
        overrides["review.actuals"] = str(actuals_file)
    before = bundle_files_hash(plan_dir)
    check_kernel(cfg.report.kernel)
    _sweep(plan_dir.parent, cache_dir, say)
    try:
        staging = _staging_folder(plan_dir.parent, target.name)
    except OSError as exc:
        raise output_error(exc, plan_dir.parent, "the review") or exc
    try:
        plan = Plan.from_config(config_file, cache_dir=cache_dir, overrides=overrides)
        warm_stages(plan, notebook_stages(notebooks), say)
        pages = execute_all(runs, staging, kernel=cfg.report.kernel, cwd=nb_dir,
                            failed_dir=plan_dir.parent / "failed", progress=say, workers=cfg.report.workers)
        say("tables, workbook, index and manifest")
        write_review_tables(plan, staging, pages)
        if bundle_files_hash(plan_dir) != before:
            raise BundleExistsError(f"{plan_dir} changed while it was reviewed; the review is not published")
        final = _publish(staging, plan_dir.parent, target.name, auto=False, what="a review")
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        fault = output_error(exc, plan_dir.parent, "the review")
        if fault is not None:
            raise fault from exc
        raise
    say(f"review: {final}")
    return final


def write_review_tables(plan: Plan, folder: Path, pages: list[dict]) -> None:
    """Write review.xlsx, scorecards.csv, rejects.csv, index.html and manifest.json of a review into ``folder``."""
    result = plan["review"]
    cfg = plan.config
    record_cfg = plan["review_record"].config
    write_csv(plan["review_inputs"].rejects, folder / "rejects.csv")
    write_csv(result.scorecards.sheet, folder / "scorecards.csv")
    created = dt.datetime.combine(result.window.as_of, dt.time())
    write_excel(folder / "review.xlsx", review_sheets(result), unit=record_cfg.company.display_unit,
                unit_label=record_cfg.company.display_unit_label, created=created)
    title = f"{cfg.report.title}: review of {result.plan_name} as of {result.window.as_of.isoformat()}"
    write_index(folder, title, [{"title": p["title"], "file": p["html"]} for p in index_order(pages)],
                review_headline(result, record_cfg),
                notes=[f"The plan of record {result.plan_name} is read and left unchanged; this review sits beside it.",
                       "review.xlsx holds the review's tables; scorecards.csv every step of every rep's score; "
                       "rejects.csv every input row that was not used, with its file, line and reason."])
    packages = package_versions()
    document = {
        "title": title,
        "fiscal_year": record_cfg.fiscal.year,
        "as_of": result.window.as_of.isoformat(),
        "plan_of_record": {"bundle": result.plan_name, "manifest_sha256": plan["review_record"].fingerprint},
        "inputs": input_counts(plan, plan["review_inputs"].counts),
        "config": portable_config(cfg),
        "packages": packages,
        "notebooks": [{"notebook": p["notebook"], "html": p["html"], "parameters": dict(p["parameters"])}
                      for p in pages],
        "files": bundle_files_hash(folder),
    }
    write_manifest(folder / "manifest.json", document)


def review_headline(result, cfg: PlanConfig) -> dict[str, str]:
    """Return the review's headline figures for its index page, label -> formatted value."""
    from planlib.core.text import money

    unit, label = cfg.company.display_unit, cfg.company.display_unit_label
    h = result.headline()
    figures = {"months closed": f"{h['months_closed']} of 12",
               "plan to date": money(h["plan_to_date"], unit, label),
               "actual to date": money(h["actual_to_date"], unit, label)}
    if h["plan_to_date"] > 0:
        figures["attainment to date"] = f"{h['attainment']:.1%}"
    figures[f"FY{cfg.fiscal.year} target"] = money(h["annual_target"], unit, label)
    figures["year-end outlook"] = money(h["year_end"], unit, label)
    figures["P(reaching the target) now"] = f"{h['p_reach']:.0%}"
    return figures


def review_sheets(result) -> dict[str, Sheet]:
    """Return the sheets of review.xlsx (name -> :class:`planlib.report.Sheet`)."""
    compare = ["plan", "actual", "variance"]
    c = result.comparison
    summary = pd.DataFrame([{"measure": k, "value": float(v)} for k, v in result.headline().items()])
    sheets = {
        "Summary": Sheet(summary, formats={"value": "#,##0.00"}),
        "By month": Sheet(c["month"], money=[*compare, "cum_plan", "cum_actual"],
                          percent=["attainment", "cum_attainment"]),
        "By region": Sheet(c["region"], money=compare, percent=["attainment"]),
        "By product": Sheet(c["product"], money=compare, percent=["attainment"]),
        "By team": Sheet(c["team"], money=compare, percent=["attainment"]),
        "By rep": Sheet(c["rep"], money=compare, percent=["attainment"]),
        "Variance by region": Sheet(result.bridge_region, formats={"amount": "#,##0"}),
        "Variance by product": Sheet(result.bridge_product, formats={"amount": "#,##0"}),
    }
    if result.price_volume_mix is not None:
        sheets["Price volume mix"] = Sheet(result.price_volume_mix,
                                           money=["plan", "actual", "price", "volume", "mix"],
                                           formats={"plan_qty": "#,##0", "actual_qty": "#,##0",
                                                    "plan_price": "#,##0.00", "actual_price": "#,##0.00"})
    bounds = [col for col in result.reforecast_months.columns if col.startswith(("lo_", "hi_"))]
    sheets.update({
        "Year-end outlook": Sheet(result.outlook, money=["annual_target", "actual_to_date", "rest_mean", "year_end",
                                                         "year_end_lo", "year_end_hi"],
                                  percent=["attainment_outlook", "p_reach"]),
        "Re-forecast": Sheet(result.reforecast_months, money=["plan", "actual", "forecast", *bounds]),
        "Options": Sheet(result.options, money=["annual_target", "change_vs_plan", "rest_target", "rest_forecast"],
                         percent=["needed_vs_forecast", "p_reach"]),
        "Option targets": Sheet(result.option_months, money=["target"]),
        "Targets to review": Sheet(result.to_review, money=["annual_target", "actual_to_date", "needed_rest",
                                                             "own_pace_target", "change"],
                                   percent=["attainment_to_date", "needed_pace", "p_reach"]),
        "Scorecards": Sheet(result.scorecards.scores),
        "Scorecard steps": Sheet(result.scorecards.sheet, percent=["effective_weight"]),
        "Scorecard spread": Sheet(result.scorecards.spread),
        "Feedback": Sheet(result.feedback),
    })
    return sheets
