"""What a plan bundle holds besides the executed notebooks: targets.csv, rejects.csv, the plan.xlsx
sheets (a registry later stages extend with ``@bundle_sheet``), the index page's headline and order,
and manifest.json. Used by ``planlib.runner`` for plans and ``planlib.review_runner`` for reviews.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import nbformat
import pandas as pd

from planlib.core.calendar import fiscal_year_span
from planlib.core.config import PlanConfig
from planlib.core.graph import Plan, stages
from planlib.report.tables import MAX_ROWS
from planlib.report.writers import Sheet, bundle_files_hash, write_csv, write_excel, write_index, write_manifest

__all__ = [
    "BUNDLE_FILES", "bundle_sheet", "bundle_sheets", "company_annual_target", "fiscal_year_months", "headline", "index_order",
    "input_counts", "leads_index", "manifest", "package_versions", "plan_year_forecast", "portable_config",
    "with_total_row", "write_data_files", "write_tables",
]


def _relative(path: Path, start: Path) -> str:
    """``path`` relative to ``start`` (posix), so executed notebooks hold no absolute path of this machine."""
    try:
        return Path(os.path.relpath(path, start)).as_posix()
    except ValueError:  # another drive on Windows
        return str(path)


def leads_index(nb: nbformat.NotebookNode) -> bool:
    """Return whether a notebook asks to head the index page (metadata ``planlib: {lead: true}``)."""
    return bool(nb.metadata.get("planlib", {}).get("lead", False))


def index_order(pages: list[dict]) -> list[dict]:
    """Return the pages in the order of the index page: those that lead (the executive summary) first,
    then the rest, each group in the order the notebooks ran (which the config's list decides)."""
    return sorted(pages, key=lambda page: not page.get("lead", False))


# --------------------------------------------------------------------------- the other files
def write_tables(plan: Plan, folder: Path, pages: list[dict], *, data_files: bool = True) -> None:
    """Write targets.csv, rejects.csv, plan.xlsx (unless ``data_files`` is False: :func:`write_data_files`
    wrote them already), index.html and manifest.json into ``folder``."""
    if data_files:
        write_data_files(plan, folder)
    cfg = plan.config
    # the front page says whose plan and which year it is before any figure
    title = f"{cfg.company.name}: {cfg.report.title} FY{cfg.fiscal.year}"
    write_index(folder, title, [{"title": p["title"], "file": p["html"]} for p in index_order(pages)],
                headline(plan), files=BUNDLE_FILES)
    write_manifest(folder / "manifest.json", manifest(plan, folder, pages, package_versions()))


def write_data_files(plan: Plan, folder: Path) -> None:
    """Write targets.csv, rejects.csv and plan.xlsx into ``folder``: what needs no executed notebook."""
    cfg = plan.config
    if "targets" in stages():
        write_csv(plan["targets"], folder / "targets.csv")
    rejects = plan["inputs"].rejects
    if cfg.data.commits is not None:  # the commits' rejects too, so rows in = used + rejected holds for every file
        rejects = pd.concat([rejects, plan["commits"].commits.rejects], ignore_index=True)
    write_csv(rejects, folder / "rejects.csv")
    created = dt.datetime.combine(cfg.as_of, dt.time())  # a fixed document date keeps the workbook's bytes
    write_excel(folder / "plan.xlsx", bundle_sheets(plan), unit=cfg.company.display_unit,
                unit_label=cfg.company.display_unit_label, created=created, words=True)


def package_versions() -> dict[str, str]:
    """Return the versions of the packages that shape a bundle, and Python's major.minor."""
    names = ("planlib", "pandas", "numpy", "statsmodels", "altair", "papermill", "vl-convert-python")
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["python"] = f"{sys.version_info.major}.{sys.version_info.minor}"
    return versions


# The downloads the index links, beside the pages.
BUNDLE_FILES = (
    {"title": "plan.xlsx", "href": "plan.xlsx",
     "summary": "the plan's tables for sales managers: targets by rep, month, quarter and product, hires, budget"},
    {"title": "targets.csv", "href": "targets.csv", "summary": "every target, one row per entity, product and period"},
    {"title": "rejects.csv", "href": "rejects.csv",
     "summary": "every input row that was not used, with its file, line, column and reason"},
)


# --------------------------------------------------------------------------- plan.xlsx sheets
SheetBuilder = Callable[[Plan], Sheet]
_SHEETS: list[tuple[str, tuple[str, ...], SheetBuilder]] = []


def bundle_sheet(name: str, *, needs: tuple[str, ...]):
    """Register ``func(plan) -> report.Sheet`` as a sheet of plan.xlsx, built when the stages ``needs`` exist.

    A builder returns None when the plan has nothing for its sheet (e.g. no commits were given).

    Sheets appear in the order registered; a topic module adds its view by decorating a function.
    """
    if len(name) > 31:
        raise ValueError(f"an Excel sheet name has at most 31 characters; {name!r} has {len(name)}")

    def register(func: SheetBuilder) -> SheetBuilder:
        _SHEETS[:] = [s for s in _SHEETS if s[0] != name] + [(name, tuple(needs), func)]
        return func

    return register


def bundle_sheets(plan: Plan) -> dict[str, Sheet]:
    """Return the sheets of plan.xlsx (name -> :class:`planlib.report.Sheet`) whose stages the plan has."""
    available = stages()  # imports the topic modules, which register their sheets
    built = {name: func(plan) for name, needs, func in _SHEETS if all(n in available for n in needs)}
    return {name: sheet for name, sheet in built.items() if sheet is not None}


def with_total_row(view: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Return ``view`` with a last row "Total" that adds up every column but ``labels`` (the first label says Total).

    >>> with_total_row(pd.DataFrame({"rep": ["a", "b"], "Jan": [1, 2]}), ["rep"])["Jan"].tolist()
    [1, 2, 3]
    """
    total = {col: ("Total" if col == labels[0] else None) if col in labels else view[col].sum() for col in view.columns}
    return pd.concat([view, pd.DataFrame([total], columns=view.columns).astype(view.dtypes.to_dict(), errors="ignore")],
                     ignore_index=True)


# The views a sales manager opens first come first; the long tables for machines follow.
_REP_LABELS = ["rep_id", "name", "team", "region"]


def _reps_and_hires(plan: Plan) -> pd.DataFrame:
    """The reps table and the planned hires ("East TBH 1"), who carry targets from their start month."""
    from planlib.resources.hiring import roster_with_hires

    return roster_with_hires(plan["inputs"].tables["reps"], plan["planned_hires"])


@bundle_sheet("Rep targets by month", needs=("targets", "inputs", "planned_hires"))
def _rep_month_sheet(plan: Plan) -> Sheet:
    from planlib.planning.initiatives import rep_month_view

    view = with_total_row(rep_month_view(plan["targets"], _reps_and_hires(plan)), _REP_LABELS)
    return Sheet(view, money=[c for c in view.columns if c not in _REP_LABELS])


@bundle_sheet("Fiscal periods", needs=("targets",))
def _fiscal_periods_sheet(plan: Plan) -> Sheet | None:
    """A week-based year's periods with their weeks and dates, beside the sheets whose columns name them."""
    from planlib.planning.allocate import fiscal_periods

    periods = fiscal_periods(plan.config)
    if not periods["weeks"].notna().any():  # a monthly year: the month columns say their dates
        return None
    table = pd.DataFrame({"period": periods["period"], "weeks": periods["weeks"].astype(int),
                          "first_day": periods["start"].dt.strftime("%Y-%m-%d"),
                          "last_day": periods["end"].dt.strftime("%Y-%m-%d"),
                          "stands_for": periods["month"].dt.strftime("%b %Y")})
    return Sheet(table, formats={"weeks": "0"})


@bundle_sheet("Rep targets by product", needs=("targets", "inputs", "planned_hires"))
def _rep_product_sheet(plan: Plan) -> Sheet:
    from planlib.planning.initiatives import rep_product_view

    view = with_total_row(rep_product_view(plan["targets"], _reps_and_hires(plan)), _REP_LABELS)
    return Sheet(view, money=[c for c in view.columns if c not in _REP_LABELS])


@bundle_sheet("Region targets by quarter", needs=("targets",))
def _region_quarter_sheet(plan: Plan) -> Sheet:
    from planlib.planning.initiatives import period_view

    view = period_view(plan["targets"], "region", "quarter")
    return Sheet(view, money=[c for c in view.columns if c != "region"])


@bundle_sheet("Product targets by quarter", needs=("targets",))
def _product_quarter_sheet(plan: Plan) -> Sheet:
    from planlib.planning.initiatives import period_view

    view = period_view(plan["targets"], "product", "quarter")
    return Sheet(view, money=[c for c in view.columns if c != "product"])


@bundle_sheet("Goal cards", needs=("goal_cards",))
def _goal_cards_sheet(plan: Plan) -> Sheet:
    # A goal's target and baseline are money, counts or fractions by metric: shown as given, not in the unit.
    # The SMART checks read as ticks and crosses, not TRUE/FALSE.
    cards = plan["goal_cards"].copy()
    for col in cards.columns[cards.dtypes == bool]:
        cards[col] = cards[col].map({True: "✓", False: "✗"})
    return Sheet(cards, percent=["probability"],
                 formats={"target": "#,##0.###", "baseline": "#,##0.###"})


@bundle_sheet("Initiatives", needs=("initiatives",))
def _initiatives_sheet(plan: Plan) -> Sheet:
    return Sheet(plan["initiatives"].summary, money=["plan_year_effect"], formats={"months_active": "0.0"})


@bundle_sheet("Bridge to target", needs=("bridge",))
def _bridge_sheet(plan: Plan) -> Sheet:
    bridge = plan["bridge"]
    target = pd.DataFrame([{"step": f"FY{plan.config.fiscal.year} target", "kind": "target", "strategy": None,
                            "amount": bridge.target, "running_total": bridge.target}])
    return Sheet(pd.concat([bridge.steps, target], ignore_index=True), money=["amount", "running_total"])


@bundle_sheet("Hiring plan", needs=("hiring_plan", "planned_hires", "targets"))
def _hiring_sheet(plan: Plan) -> Sheet:
    # each hire under the rep id its targets carry (targets.csv, the rep sheets), with its team, ramp and target
    placed = plan["planned_hires"].roster[["rep_id", "region", "hire_no", "team", "ramp_months"]]
    hires = placed.merge(plan["hiring_plan"].hires, on=["region", "hire_no"], how="right")
    targets = plan["targets"]
    year = targets[(targets["level"] == "rep") & (targets["period_type"] == "year")].set_index("entity")["target"]
    hires["target"] = hires["rep_id"].map(year)
    for col in ("start_month", "start_by"):
        hires[col] = pd.to_datetime(hires[col]).dt.strftime("%Y-%m")
    columns = ["rep_id", "region", "team", "hire_no", "start_month", "start_by", "ramp_months", "contribution",
               "target"]
    return Sheet(hires[columns], money=["contribution", "target"])


@bundle_sheet("Capacity and hires", needs=("hiring_plan",))
def _capacity_sheet(plan: Plan) -> Sheet:
    summary = plan["hiring_plan"].summary
    return Sheet(summary, money=[c for c in summary.columns if c not in ("region", "hires")])


@bundle_sheet("Budget", needs=("budget",))
def _budget_sheet(plan: Plan) -> Sheet:
    table = plan["budget"].table
    return Sheet(table, money=[c for c in table.columns if c != "line"])


@bundle_sheet("Incentive tiers", needs=("incentive_plan",))
def _incentive_tiers_sheet(plan: Plan) -> Sheet:
    tiers = plan["incentive_plan"].tiers.copy()
    # The last tier has no upper end: a blank cell reads "and above", where inf would be an Excel error.
    tiers["attainment_to"] = tiers["attainment_to"].mask(tiers["attainment_to"] == float("inf"))
    return Sheet(tiers, percent=["attainment_from", "attainment_to", "payout_from", "payout_to"],
                 formats={"rate": "0.00"})


@bundle_sheet("Bonuses", needs=("incentive_plan",))
def _bonuses_sheet(plan: Plan) -> Sheet:
    settings = plan["incentive_plan"].settings
    rows = [{"bonus": b.name, "kind": b.kind, "period": b.period, "amount": b.amount, "winners": b.winners,
             "min_attainment": b.min_attainment} for b in settings.bonuses]
    roles = [{"bonus": f"target incentive: {role}", "kind": "commission", "period": settings.commission.period,
              "amount": amount, "winners": None, "min_attainment": settings.commission.threshold}
             for role, amount in settings.target_incentive.items()]
    columns = ["bonus", "kind", "period", "amount", "winners", "min_attainment"]
    # Bonuses are a few thousand each: shown in full currency units, not in the display unit.
    amount = f"Amount ({plan.config.company.currency})"
    table = pd.DataFrame(roles + rows, columns=columns).rename(columns={"amount": amount})
    return Sheet(table, percent=["min_attainment"], formats={amount: "#,##0", "winners": "0"})


@bundle_sheet("Scorecard", needs=("scorecard_definition",))
def _scorecard_sheet(plan: Plan) -> Sheet:
    kpis = plan["scorecard_definition"].kpis  # the measure by name; its config key ("metric") is for the config
    return Sheet(kpis.drop(columns=[c for c in ("metric",) if c in kpis and "kpi" in kpis]), percent=["weight"])


@bundle_sheet("Commits", needs=("commits", "negotiation"))
def _commits_sheet(plan: Plan) -> Sheet | None:
    if plan.config.data.commits is None:
        return None
    from planlib.planning.negotiate import commits_view

    view = commits_view(plan["commits"], plan["negotiation"])
    return Sheet(view, money=["Target (top-down)", "Commit", "Gap", "Likely outcome", "Negotiated target", "Move"],
                 percent=["Gap %", "P(commit)", "P(target)"])


@bundle_sheet("Targets", needs=("targets",))
def _targets_sheet(plan: Plan) -> Sheet:
    targets = plan["targets"]
    if len(targets) >= MAX_ROWS:  # past what a sheet holds (2,000 reps x 20 products): weeks are in targets.csv
        targets = targets[targets["period_type"] != "week"].reset_index(drop=True)
    # the levels in words ("region × product"); targets.csv keeps the contract's names ("region_product")
    targets = targets.assign(level=targets["level"].str.replace("_", " × ", regex=False))
    return Sheet(targets, money=["target"])


@bundle_sheet("Forecast", needs=("forecast",))
def _forecast_sheet(plan: Plan) -> Sheet:
    forecasts = plan["forecast"].forecasts
    keep = forecasts[(forecasts["unique_id"] == "company") | forecasts["unique_id"].str.startswith("region/")]
    table = keep.rename(columns={"unique_id": "series", "yhat": "forecast"}).copy()
    table["ds"] = pd.to_datetime(table["ds"]).dt.strftime("%Y-%m")
    table = table.rename(columns={"ds": "month"}).reset_index(drop=True)
    from planlib.forecast.diagnostics import model_name, series_name

    table["series"] = [series_name(u)[:1].upper() + series_name(u)[1:] for u in table["series"]]
    table["model"] = table["model"].map(model_name)
    bounds = {c: f"{'Low' if c.startswith('lo_') else 'High'} of the {c[3:]}% range"
              for c in table.columns if c.startswith(("lo_", "hi_"))}
    table = table.rename(columns=bounds)
    return Sheet(table, money=["forecast", *bounds.values()])


@bundle_sheet("History by region", needs=("history",))
def _history_sheet(plan: Plan) -> Sheet:
    history = plan["history"]
    company = history[history["level"] == "company"].set_index("ds")["y"]
    regions = history[history["level"] == "region"].pivot(index="ds", columns="region", values="y")
    table = regions.reindex(company.index).assign(Total=company)
    table.index = pd.DatetimeIndex(table.index).strftime("%Y-%m")
    table.index.name = "month"
    table.columns.name = None
    table.columns = [str(c) for c in table.columns]
    return Sheet(table.reset_index(), money=list(table.columns))


@bundle_sheet("Inputs", needs=("inputs",))
def _inputs_sheet(plan: Plan) -> Sheet:
    return Sheet(pd.DataFrame(input_counts(plan)))


@bundle_sheet("Rejected rows", needs=("inputs", "commits"))
def _rejects_sheet(plan: Plan) -> Sheet:
    if plan.config.data.commits is None:
        return Sheet(plan["inputs"].rejects)
    return Sheet(pd.concat([plan["inputs"].rejects, plan["commits"].commits.rejects], ignore_index=True))


# --------------------------------------------------------------------------- headline and manifest
def fiscal_year_months(year: int, start_month: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return the first and last month (month starts) of fiscal year ``year`` (named by the year it ends in)."""
    first, last = fiscal_year_span(year, start_month)  # monthly: history is a monthly panel
    return pd.Timestamp(first), pd.Timestamp(last).replace(day=1)


def headline(plan: Plan) -> dict[str, str]:
    """Return the headline figures of the index page, label -> formatted value.

    Last year (``planlib.report.story.last_year``: last fiscal year's actual plus outlook, the figure every
    page states), the plan year's forecast revenue (closed months as booked, the rest forecast), the target and
    its growth on last year, the chance of reaching it (``story.chance_of_target``) where the plan has them,
    and the rows read, used and rejected.
    """
    from planlib.core.text import money

    from planlib.report.story import chance_of_target, last_year

    cfg = plan.config
    unit, label = cfg.company.display_unit, cfg.company.display_unit_label
    history = plan["history"]
    company = history[history["level"] == "company"].set_index("ds")["y"].sort_index()
    figures: dict[str, str] = {}
    if "annual_target" in stages():
        # the one "last year" of every page: last fiscal year's actual plus the forecast of its open months
        last = last_year(plan)
        if math.isfinite(last.amount):
            figures[f"Last year: {last.label}"] = money(last.amount, unit, label)
    if "forecast" in stages():
        forecast = plan_year_forecast(plan, company)
        if forecast is not None:
            figures[f"FY{cfg.fiscal.year} forecast revenue"] = money(forecast, unit, label)
    if "targets" in stages():
        target = company_annual_target(plan["targets"])
        if target is not None:
            figures[f"FY{cfg.fiscal.year} target"] = money(target, unit, label)
            if "annual_target" in stages() and math.isfinite(last.amount) and last.amount > 0:
                figures[f"Target growth on {last.fiscal_year}"] = f"{target / last.amount - 1:+.1%}"
    if "monte_carlo" in stages():
        figures["Chance of reaching the target"] = f"{chance_of_target(plan):.0%}"
    counts = input_counts(plan)
    for key, text in (("rows_in", "Input rows read"), ("rows_used", "Input rows used"),
                      ("rows_rejected", "Input rows rejected")):
        figures[text] = f"{sum(c[key] for c in counts):,}"
    if any(c.get("rows_not_data") for c in counts):
        figures["Input lines of report footers (not data)"] = f"{sum(c.get('rows_not_data', 0) for c in counts):,}"
    return figures


def plan_year_forecast(plan: Plan, company: pd.Series) -> float | None:
    """Return the plan year's revenue: booked months as booked, later months as forecast (None if uncovered)."""
    cfg = plan.config
    first, last = fiscal_year_months(cfg.fiscal.year, cfg.fiscal.start_month)
    months = pd.date_range(first, last, freq="MS")
    forecasts = plan["forecast"].forecasts
    yhat = forecasts[forecasts["unique_id"] == "company"].set_index("ds")["yhat"]
    yhat.index = pd.DatetimeIndex(yhat.index)
    last_closed = pd.Timestamp(cfg.last_closed_month)
    total = 0.0
    for month in months:
        source = company if month <= last_closed else yhat
        if month not in source.index:
            return None
        total += float(source.loc[month])
    return total


def company_annual_target(targets: pd.DataFrame) -> float | None:
    """Return the company's annual target from the long targets table (None if it has no such row)."""
    rows = targets[(targets["level"] == "company") & (targets["period_type"].isin(["year", "annual"]))]
    if "product" in rows:
        rows = rows[rows["product"].isna() | rows["product"].isin(["", "all", "All", "total", "Total"])]
    return float(rows["target"].sum()) if len(rows) else None


def _portable(value: Any, base: Path) -> Any:
    """Make paths relative to ``base`` and hide passwords in database URLs, recursively."""
    if isinstance(value, Path):
        return _relative((base / value).resolve() if not value.is_absolute() else value, base)
    if isinstance(value, dict):
        return {k: (_hide_password(v) if k == "url" and isinstance(v, str) else _portable(v, base))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_portable(v, base) for v in value]
    return value


def _hide_password(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can read: keep only the scheme
        return url.split("://", 1)[0] + "://***" if "://" in url else url


def portable_config(cfg: PlanConfig) -> dict:
    """Return the resolved config as JSON-able data, paths relative to the config's folder."""
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(_portable(cfg.model_dump(mode="python"), cfg.base_dir))


def input_counts(plan: Plan, counts: pd.DataFrame | None = None) -> list[dict]:
    """Return one record per input table: table, file (relative to the config), sha256, rows in/used/rejected,
    and rows_not_data where a CRM export's report footer was counted.

    ``counts`` defaults to the plan's inputs; a review passes its own, where the table ``actuals`` is the
    file ``review.actuals``.
    """
    cfg = plan.config
    records = []
    for row in (plan["inputs"].counts if counts is None else counts).to_dict("records"):
        # The counts name the file; the config says where it is (or which database it came from).
        source = getattr(cfg.data, str(row["table"]), None)
        if row["table"] == "actuals" and cfg.review.actuals is not None:
            file = _relative(cfg.resolve(cfg.review.actuals), cfg.base_dir)
        elif source is not None and source.path is not None:
            file = _relative(cfg.resolve(source.path), cfg.base_dir)
        elif source is not None and source.sql is not None:
            file = _hide_password(source.sql.url)
        else:
            file = str(row["file"])
        record = {"table": str(row["table"]), "file": file, "sha256": str(row["sha256"]),
                  "rows_in": int(row["rows_in"]), "rows_used": int(row["rows_used"]),
                  "rows_rejected": int(row["rows_rejected"])}
        if int(row.get("rows_not_data", 0)):  # a CRM's report footer: rows_in = used + rejected + not data
            record["rows_not_data"] = int(row["rows_not_data"])
        records.append(record)
    return records


def manifest(plan: Plan, folder: Path, pages: list[dict], packages: dict[str, str]) -> dict:
    """Return the bundle's manifest: inputs, config, package versions, notebooks and file hashes.

    Holds no time, absolute path or random id, so the same inputs give the same manifest.
    """
    cfg = plan.config
    return {
        "title": cfg.report.title,
        "fiscal_year": cfg.fiscal.year,
        "as_of": cfg.as_of.isoformat(),
        "inputs": input_counts(plan),
        "config": portable_config(cfg),
        "packages": packages,
        "notebooks": [{"notebook": p["notebook"], "html": p["html"], "parameters": dict(p["parameters"])}
                      for p in pages],
        "files": bundle_files_hash(folder),
    }
