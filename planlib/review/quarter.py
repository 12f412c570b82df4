"""The quarterly review: actuals against the plan of record, the variance explained, a re-forecast of the
rest of the year, re-allocation options, targets to reconsider, the quarter's scorecards and team feedback.

The plan of record is read, never rewritten; the computations are pure (tables in, tables out) and the
``review`` stage puts them together for notebooks/06_quarterly_review.ipynb and ``planlib review``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from planlib.review.compare import (
    ReviewWindow,
    _in_months,
    _target_rows,
    actual_vs_plan,
    exact_parts,
    month_table,
    price_volume_mix,
    review_window,
    say,
    variance_bridge,
)
from planlib.review.outlook import (
    allocation_options,
    annual_targets,
    feedback_notes,
    reforecast_months,
    reforecast_panel,
    targets_to_review,
    team_products,
    year_end_outlook,
)
from planlib.core.errors import ConfigError, DataError
from planlib.core.graph import CONFIG_SECTIONS, stage
from planlib.data.bundle import PlanOfRecord
from planlib.review.scorecard import Scorecards, scorecards

__all__ = [
    "PlanOfRecord", "ReviewResult", "ReviewWindow", "actual_vs_plan", "actuals_note", "actuals_source",
    "allocation_options",
    "annual_targets",
    "build_review", "check_continuity", "exact_parts", "feedback_notes", "load_review_inputs", "month_table",
    "notes_table", "option_targets_table", "overrides", "percent", "price_volume_mix", "pvm_table",
    "reforecast_months", "reforecast_panel", "review_history", "review_window", "targets_to_review",
    "team_products", "variance_bridge", "what_if", "what_if_for", "year_end_outlook",
]


# --------------------------------------------------------------------------- what is reviewed
def overrides(plan_dir: str = "", as_of: str = "", actuals: str = "") -> dict[str, object]:
    """Return config overrides for a review from notebook parameters; empty values leave the config as is.

    Paths are made absolute from the working folder (a notebook runs in its own folder), so the config
    resolves them to the same files.
    """
    out: dict[str, object] = {}
    if plan_dir:
        out["review.plan"] = str(Path(plan_dir).expanduser().resolve())
    if as_of:
        out["review.as_of"] = as_of
    if actuals:
        out["review.actuals"] = str(Path(actuals).expanduser().resolve())
    return out


# --------------------------------------------------------------------------- everything together
@dataclass
class ReviewResult:
    """A quarterly review (see :func:`build_review`); every table is documented where it is made."""

    plan_name: str
    window: ReviewWindow
    annual_target: float
    comparison: dict[str, pd.DataFrame]
    bridge_region: pd.DataFrame
    bridge_product: pd.DataFrame
    price_volume_mix: pd.DataFrame | None
    price_volume_mix_note: str
    outlook: pd.DataFrame
    reforecast_months: pd.DataFrame
    options: pd.DataFrame
    option_months: pd.DataFrame
    to_review: pd.DataFrame
    scorecards: Scorecards
    team_products: pd.DataFrame
    feedback: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def headline(self) -> dict[str, float]:
        """Return the review's headline figures: plan_to_date, actual_to_date, variance, attainment,
        annual_target, year_end, p_reach, months_closed."""
        company = self.comparison["company"].iloc[0]
        outlook = self.outlook[self.outlook["level"] == "company"].iloc[0]
        return {"plan_to_date": float(company["plan"]), "actual_to_date": float(company["actual"]),
                "variance": float(company["variance"]), "attainment": float(company["attainment"]),
                "annual_target": self.annual_target, "year_end": float(outlook["year_end"]),
                "year_end_lo": float(outlook["year_end_lo"]), "year_end_hi": float(outlook["year_end_hi"]),
                "p_reach": float(outlook["p_reach"]), "months_closed": len(self.window.closed)}


def build_review(record: PlanOfRecord, sales: pd.DataFrame, roster: pd.DataFrame, kpis: pd.DataFrame | None,
                 forecast, window: ReviewWindow, review_config) -> ReviewResult:
    """Put a review together from the plan of record, the deals to date and the re-forecast.

    Parameters
    ----------
    record : PlanOfRecord
    sales : DataFrame
        Every deal through the review date (history and actuals).
    roster, kpis : DataFrame
    forecast : ForecastResult or None
        Re-forecast of the company, region, product and region x product series from the month after the
        last closed one to the end of the fiscal year (None when the year is over).
    window : ReviewWindow
    review_config : planlib.config.Review

    Returns
    -------
    ReviewResult
    """
    cfg = record.config
    targets = record.targets
    comparison = actual_vs_plan(targets, sales, roster, window)
    annual = annual_targets(targets)
    company_annual = float(annual.loc[annual["level"] == "company", "annual_target"].sum())
    outlook = year_end_outlook(comparison, annual, forecast, window, level=min(cfg.forecast.levels))
    min_p = review_config.min_probability if review_config.min_probability is not None else cfg.goals.min_probability
    options, option_months = allocation_options(targets, comparison, forecast, window,
                                                rounding_unit=cfg.allocation.rounding_unit,
                                                reset_quantile=review_config.reset_quantile)
    to_review = targets_to_review(targets, comparison, outlook, window,
                                  unreasonable_above=review_config.unreasonable_above, min_probability=min_p,
                                  easy_probability=review_config.easy_probability)
    notes = []
    if window.quarter is not None:
        q_targets = _target_rows(targets, "rep", [f"{m:%Y-%m}" for m in window.quarter_months])
        rep_targets = q_targets.groupby("entity", sort=False)["target"].sum().astype(float)
        rep_targets = rep_targets[rep_targets > 0]
        # A planned hire's seat ("North TBH 1") is no one yet: its target counts for its team and region, but
        # there is no person to score (a vacant seat would rank "below" with no tenure).
        seats = sorted(set(rep_targets.index) - set(roster["rep_id"]))
        rep_targets = rep_targets.drop(seats)
        if seats:
            notes.append(say("Not scored (planned seats with no one on the roster yet; their targets count for "
                             "their team and region): {seats}.", seats=", ".join(seats)))
        start = window.quarter_months[0]
        end = window.closed_through + pd.offsets.MonthEnd(0)
        cards = scorecards(cfg.scorecard, sales=sales, roster=roster, rep_targets=rep_targets, kpis=kpis,
                           start=start, end=end, quarter=window.quarter)
        sold = set(_in_months(sales, window.quarter_months)["rep_id"])
        unscored = sorted(sold - set(rep_targets.index))
        if unscored:
            notes.append(say("Not scored (sold in {q} without a target in the plan): {reps}.", q=window.quarter,
                             reps=", ".join(unscored)))
        if len(window.quarter_months) < 3:
            notes.append(say("{q} is not over: its scorecards cover {n} closed month(s).", q=window.quarter,
                             n=len(window.quarter_months)))
    else:
        empty = pd.Series(dtype=float)
        cards = scorecards(cfg.scorecard, sales=sales, roster=roster, rep_targets=empty, kpis=kpis,
                           start=window.months[0], end=window.months[0], quarter=f"{window.fiscal_year}Q1")
        notes.append(say("No month of FY{y} is closed as of {d}: there is nothing to compare or score yet; "
                         "the outlook is the forecast of the whole year.", y=window.fiscal_year, d=window.as_of))
    price_months = pd.date_range(window.months[0] - pd.DateOffset(months=12), periods=12, freq="MS")
    pvm, pvm_note = price_volume_mix(sales, targets, window, price_months)
    products_by_team = team_products(targets, sales, roster, window)
    feedback = feedback_notes(comparison, products_by_team, cards, unit=cfg.company.display_unit,
                              unit_label=cfg.company.display_unit_label)
    return ReviewResult(
        plan_name=record.name, window=window, annual_target=company_annual, comparison=comparison,
        bridge_region=variance_bridge(comparison, "region"), bridge_product=variance_bridge(comparison, "product"),
        price_volume_mix=pvm, price_volume_mix_note=pvm_note, outlook=outlook,
        reforecast_months=reforecast_months(targets, comparison, forecast, window, cfg.forecast.levels),
        options=options, option_months=option_months, to_review=to_review, scorecards=cards,
        team_products=products_by_team, feedback=feedback, notes=notes)


# --------------------------------------------------------------------------- stages
def load_review_inputs(config, actuals: Path | str | None = None, history_end: dt.date | None = None):
    """Load the inputs through the review date, with a file of new deals appended to the sales.

    Parameters
    ----------
    config : PlanConfig
        Its ``as_of`` is the review date: deals after it are left out (and listed in the rejects).
    actuals : Path, optional
        A file of the deals after the plan's history, read like ``data.sales`` (columns mapping, formats,
        the same checks); its rows are counted and rejected under the table name "actuals". Its deals
        dated after the review date, or (with ``history_end``) inside the plan's history, are rejected
        with the reason, never counted twice.
    history_end : date, optional
        The first day of the plan of record's last closed month.

    Returns
    -------
    planlib.data.Inputs

    Raises
    ------
    DataError
        A source breaks its contract, or the actuals repeat a deal_id of the sales source.
    """
    from planlib.data.load import Inputs, load_inputs

    inputs = load_inputs(config)
    if actuals is None:
        return inputs
    data = config.data
    source = actuals_source(data.sales, config.resolve(actuals), config.resolve)
    only_sales = data.model_copy(update={"sales": source, "market": None, "competitors": None, "pipeline": None,
                                         "kpis": None, "risks": None})
    through = None
    if history_end is not None:
        through = (pd.Timestamp(history_end).to_period("M").to_timestamp("M")).date()
    extra = load_inputs(config.model_copy(update={"data": only_sales}), sales_after=through)
    history, new = inputs.tables["sales"], extra.tables["sales"]
    if "deal_id" in new and new["deal_id"].notna().any():
        repeated = sorted(set(new["deal_id"].dropna()) & set(history["deal_id"].dropna()))
        if repeated:
            label = extra.counts.loc[extra.counts["table"] == "sales", "file"].iloc[0]
            raise DataError(f"{label} repeats {len(repeated)} deal(s) of the sales source "
                            f"({', '.join(map(str, repeated[:10]))}{' ...' if len(repeated) > 10 else ''}): "
                            f"give only the deals after the plan's history in the actuals, or none and update "
                            f"the sales source")
    tables = dict(inputs.tables)
    tables["sales"] = pd.concat([history, new], ignore_index=True)

    def renamed(frame):
        part = frame[frame["table"] == "sales"].copy()
        part["table"] = "actuals"
        return part

    return Inputs(tables=tables, rejects=pd.concat([inputs.rejects, renamed(extra.rejects)], ignore_index=True),
                  counts=pd.concat([inputs.counts, renamed(extra.counts)], ignore_index=True),
                  repairs=pd.concat([inputs.repairs, renamed(extra.repairs)], ignore_index=True))


def actuals_source(sales, path: Path, resolve):
    """Return the data source to read a review's actuals file with: ``data.sales`` pointed at the file, or, when
    the file's headers are a CRM export's (a HubSpot deals export, a Salesforce opportunity report) that
    ``data.sales`` is not, that CRM's preset with its own headers.

    The plan may have been made from a plain file while the quarter's deals come straight from the CRM. The
    preset then splits the export (won deals are the actuals; lost and open deals are counted, not used; the
    report footer is counted, not data) and reads owners given by name as the roster's rep_id. The plain file's
    ``columns`` do not apply to it; its number formats do, and an unset ``dayfirst`` is taken from the dates whose
    day is above 12 (else ambiguous dates are rejected, as always).
    """
    from planlib.data.parsers import date_order
    from planlib.data.presets import detect_preset, preset_columns
    from planlib.data.readers import read_source

    source = sales.model_copy(update={"path": path, "sql": None})
    raw = read_source(source, "sales", resolve)
    preset = detect_preset(raw.header)
    if preset is None or preset == sales.preset:
        return source
    update = {"preset": preset, "columns": {}}
    if source.dayfirst is None and source.date_format is None:
        column = preset_columns(preset, raw.header)["date"]
        update["dayfirst"] = date_order(raw.frame[raw.header.index(column)], column)[0]
    return source.model_copy(update=update)


def _review_as_of(plan) -> dt.date:
    return plan.config.review.as_of or plan.config.as_of


def _record_files(config) -> str:
    """The published bundle's fingerprint (review.plan); without one, the record is this config's plan,
    whose every section (declared) and targets (needed) are in the key already."""
    if config.review.plan is None:
        return ""
    from planlib.data.bundle import plan_bundle_fingerprint

    return "bundle:" + plan_bundle_fingerprint(config.resolve(config.review.plan))


# Without review.plan the plan of record is the plan this whole config makes: every section is read.
@stage("review_record", needs=("targets",), config=CONFIG_SECTIONS, fingerprint=_record_files)
def _record_stage(plan) -> PlanOfRecord:
    """The plan of record: a published bundle (review.plan), else the plan the config's stages make."""
    review = plan.config.review
    if review.plan is None:
        return PlanOfRecord("the plan of this config", plan.config.whole(), plan["targets"], plan.key("targets"))
    from planlib.data.bundle import read_plan_bundle

    return read_plan_bundle(plan.config.resolve(review.plan), base_dir=plan.config.base_dir)


def _actuals_files(config) -> str:
    from planlib.data.load import input_fingerprints

    prints = input_fingerprints(config)
    if config.review.actuals is not None:
        file = config.resolve(config.review.actuals)
        prints["review.actuals"] = hashlib.sha256(file.read_bytes()).hexdigest() if file.is_file() else "missing"
    return json.dumps(prints, sort_keys=True)


@stage("review_inputs", needs=("review_record",), config=("data", "review", "as_of"), fingerprint=_actuals_files)
def _inputs_stage(plan):
    """The inputs through the review date: the config's tables, plus review.actuals appended to sales
    (its deals inside the plan's history rejected)."""
    cfg = plan.config.model_copy(update={"as_of": _review_as_of(plan)})
    history_end = plan["review_record"].config.last_closed_month if cfg.review.actuals is not None else None
    return load_review_inputs(cfg, cfg.review.actuals, history_end)


def _window_of(plan) -> ReviewWindow:
    record = plan["review_record"]
    cfg = record.config
    if cfg.fiscal.calendar != "monthly":
        raise ConfigError([("fiscal.calendar", f"the quarterly review compares calendar months; the plan of "
                                               f"record uses a {cfg.fiscal.calendar} calendar")])
    return review_window(cfg.fiscal.year, cfg.fiscal.start_month, _review_as_of(plan))


def review_history(plan) -> pd.DataFrame:
    """Return the monthly panel of the review's deals through the last closed month, checked for gaps.

    Raises
    ------
    DataError
        If a month between the plan's history and the review date has no deal at all (the actuals are
        incomplete).
    """
    from planlib.data.load import monthly_panel

    record = plan["review_record"]
    window = _window_of(plan)
    tables = plan["review_inputs"].tables
    check_continuity(tables["sales"], record.config.last_closed_month, window)
    return monthly_panel(tables["sales"], tables["reps"], window.closed_through)


def check_continuity(sales: pd.DataFrame, history_end, window: ReviewWindow) -> None:
    """Check that every month from the plan's history end to the review's last closed month has deals.

    Parameters
    ----------
    sales : DataFrame
        The deals (date).
    history_end : date-like
        The plan's last closed month.
    window : ReviewWindow

    Raises
    ------
    DataError
        Naming every month without a single deal: the actuals are incomplete, and a re-forecast on them
        would read the gap as a collapse of sales.
    """
    after = pd.Timestamp(history_end).to_period("M").to_timestamp()
    months = pd.date_range(after + pd.DateOffset(months=1), window.closed_through, freq="MS")
    sold = set(sales["date"].dt.to_period("M").dt.to_timestamp())
    empty = [m for m in months if m not in sold]
    if empty:
        raise DataError(f"no deal at all in {', '.join(f'{m:%Y-%m}' for m in empty)}: the actuals must hold every "
                        f"deal after the plan's history ({after:%Y-%m}) up to the review date {window.as_of}; "
                        f"give them in review.actuals (or --actuals) or in the sales source")


# Nothing new since the plan (no bundle, no actuals): the plan's own forecast is the re-forecast.
@stage("reforecast", needs=("review_record", "review_inputs", "forecast"), config=("review", "as_of"))
def _reforecast_stage(plan):
    """The re-forecast of the rest of the fiscal year on history plus actuals (None when the year is over)."""
    from planlib.forecast.stage import forecast_with_config

    record = plan["review_record"]
    window = _window_of(plan)
    if not len(window.open):
        return None
    cfg = record.config
    same_data = (plan.config.review.plan is None and plan.config.review.actuals is None
                 and window.closed_through == pd.Timestamp(cfg.last_closed_month))
    if same_data:
        return plan["forecast"]  # nothing new since the plan: its forecast is the re-forecast
    panel = reforecast_panel(review_history(plan))
    h = (window.months[-1].to_period("M") - window.closed_through.to_period("M")).n
    return forecast_with_config(panel, h, cfg)  # the plan's own settings, as its forecast stage uses them


def percent(value: float, digits: int = 1) -> str:
    """Return a fraction as a percentage ("97.3%"), or "n/a" when there is none (no plan to date)."""
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.{digits}%}"


def notes_table(result: ReviewResult) -> pd.DataFrame:
    """Return the review's caveats as a one-column table (note), or one line saying there are none."""
    notes = list(result.notes) or ["No caveat: the closed months are complete and every rep who sold in the "
                                   "quarter had a target."]
    return pd.DataFrame({"note": notes})


def actuals_note(inputs) -> tuple[str, dict]:
    """Return (Markdown template, values) accounting for every row of the review's actuals file.

    Rows read = used + rejected + lines of a CRM report's footer (not data); the rejected rows are told apart
    as lost deals, open deals and others (each with its line and reason in rejects.csv). Without an actuals
    file (the deals come from the sales source) the template says so.

    Parameters
    ----------
    inputs : planlib.data.Inputs
        The review's inputs (the stage ``review_inputs``): the table "actuals" is the actuals file.
    """
    counts = inputs.counts[inputs.counts["table"] == "actuals"]
    if counts.empty:
        return "The deals to the review date are read from the plan's sales source; no separate actuals file.", {}
    row = counts.iloc[0]
    reasons = inputs.rejects.loc[inputs.rejects["table"] == "actuals"].drop_duplicates("line")["reason"]
    lost = int(reasons.str.startswith("lost deal").sum())
    open_ = int(reasons.str.startswith("open deal").sum())
    later = int(reasons.str.startswith("dated after the review date").sum())
    earlier = int(reasons.str.startswith("dated inside the plan's history").sum())
    other = int(row["rows_rejected"]) - lost - open_ - later - earlier
    parts = [f"{n:,} {what}" for n, what in ((lost, "lost deal(s)"), (open_, "open deal(s)"),
                                            (earlier, "dated inside the plan's history"),
                                            (later, "dated after the review date"), (other, "other(s)")) if n]
    footer = int(row.get("rows_not_data", 0))
    template = ("The actuals: {rows_in:,} rows read from {file}: **{used:,} used** as deals of the review, "
                "{rejected:,} rejected" + (" ({why})" if parts else "")
                + (", and {footer:,} line(s) of the report's footer, not data" if footer else "")
                + ". Every rejected row is in rejects.csv with its line and reason.")
    return template, {"rows_in": int(row["rows_in"]), "file": str(row["file"]), "used": int(row["rows_used"]),
                      "rejected": int(row["rows_rejected"]), "why": ", ".join(parts), "footer": footer}


def pvm_table(result: ReviewResult) -> pd.DataFrame:
    """Return the price, volume and mix table (empty, with its columns, where it could not be made)."""
    columns = ["product", "plan", "actual", "plan_qty", "actual_qty", "plan_price", "actual_price", "price",
               "volume", "mix"]
    return result.price_volume_mix if result.price_volume_mix is not None else pd.DataFrame(columns=columns)


def option_targets_table(result: ReviewResult) -> pd.DataFrame:
    """Return the open months' region targets under each option, one row per option and region.

    Returns
    -------
    DataFrame
        option, region, one column per open month ("2027-04"), rest_of_year (their sum).
    """
    months = result.option_months
    if months.empty:
        return pd.DataFrame(columns=["option", "region", "rest_of_year"])
    wide = months.pivot_table(index=["option", "region"], columns="month", values="target", aggfunc="sum",
                              sort=False)
    wide["rest_of_year"] = wide.sum(axis=1)
    wide.columns.name = None
    return wide.reset_index()


def what_if(plan, reset_quantile: float = 0.5) -> pd.DataFrame:
    """Return the re-allocation options' effects with the reset option at another quantile of the re-forecast.

    Returns
    -------
    DataFrame
        As the first table of :func:`allocation_options`.
    """
    record = plan["review_record"]
    result = plan["review"]
    options, _ = allocation_options(record.targets, result.comparison, plan["reforecast"], result.window,
                                    rounding_unit=record.config.allocation.rounding_unit,
                                    reset_quantile=reset_quantile)
    return options


def what_if_for(plan):
    """Return ``what_if`` bound to ``plan``, as a named function (``ipywidgets.interact`` needs a name)."""

    def reset_at(reset_quantile: float = 0.5) -> pd.DataFrame:
        return what_if(plan, reset_quantile)

    return reset_at


@stage("review", needs=("review_record", "review_inputs", "reforecast"), config=("review", "as_of"))
def _review_stage(plan) -> ReviewResult:
    """The quarterly review of the plan of record (see :func:`build_review`)."""
    record = plan["review_record"]
    window = _window_of(plan)
    tables = plan["review_inputs"].tables
    if window.open.size and window.closed.size:
        review_history(plan)  # the gap check, also when the re-forecast came from the cache
    return build_review(record, tables["sales"], tables["reps"], tables.get("kpis"), plan["reforecast"], window,
                        plan.config.review)
