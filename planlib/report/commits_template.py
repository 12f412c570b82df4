"""The commits template: the Excel file a manager fills in with their commit beside today's target.

``write_commits_template`` takes a published plan's targets.csv and writes one row per entity and period
(level, entity, product, period, target, then an empty commit column with data validation); the filled
file is read back as ``data.commits`` (the target column is ignored on reading).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from planlib.core.errors import ConfigError

__all__ = ["COMMIT_SHEET", "commit_rows", "write_commits_template"]

COMMIT_SHEET = "Commits"
HEADERS = ["level", "entity", "product", "period", "target", "amount", "submitted_by", "note"]
LABELS = {"target": "today's target (not read back)", "amount": "your commit (fill in)"}


def commit_rows(targets: pd.DataFrame, *, level: str = "team", period_type: str = "quarter",
                teams: list[str] | None = None) -> pd.DataFrame:
    """Return the template's rows: one per entity of ``level`` and period of ``period_type``, all products.

    Parameters
    ----------
    targets : DataFrame
        The long targets table (targets.csv): level, entity, product, period_type, period, target.
    level : str, default "team"
        region, team or rep.
    period_type : str, default "quarter"
        year, quarter or month.
    teams : list of str, optional
        Keep only these teams (level team only: targets.csv does not say which team a rep is in).

    Returns
    -------
    DataFrame
        level, entity, product (blank: all products), period, target, amount (empty), submitted_by, note.

    Raises
    ------
    ConfigError
        An unknown level or period type, a team not in the plan, or teams with a level other than team.
    """
    if level not in ("region", "team", "rep"):
        raise ConfigError([("--level", f"expected region, team or rep, found {level!r}")])
    if period_type not in ("year", "quarter", "month"):
        raise ConfigError([("--periods", f"expected year, quarter or month, found {period_type!r}")])
    rows = targets[(targets["level"] == level) & (targets["product"] == "All")
                   & (targets["period_type"] == period_type)]
    if teams:
        known = set(targets.loc[targets["level"] == "team", "entity"])
        unknown = [t for t in teams if t not in known]
        if unknown:
            raise ConfigError([("--team", f"{', '.join(unknown)} is not a team of the plan; its teams: "
                                          f"{', '.join(sorted(known))}")])
        if level != "team":
            raise ConfigError([("--team", f"choosing teams needs --level team (found {level!r})")])
        rows = rows[rows["entity"].isin(teams)]
    return pd.DataFrame({"level": rows["level"].to_numpy(), "entity": rows["entity"].to_numpy(), "product": "",
                         "period": rows["period"].to_numpy(), "target": rows["target"].to_numpy(float),
                         "amount": float("nan"), "submitted_by": "", "note": ""})


def write_commits_template(rows: pd.DataFrame, out: str | Path, *, title: str, currency: str) -> Path:
    """Write ``rows`` (from :func:`commit_rows`) as the commits workbook a manager fills in.

    The first sheet holds the table (header on row 1, so the filled file is read as ``data.commits``);
    only the commit, submitted_by and note cells are unlocked, and the commit cells accept only a number
    of 0 or more. A second sheet says how to fill it. Text is written as text (never a formula) and the
    document date is fixed, so the same rows give the same bytes.
    """
    import xlsxwriter

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(out), {"strings_to_formulas": False, "strings_to_urls": False,
                                          "strings_to_numbers": False})
    book.set_properties({"title": title, "created": dt.datetime(2000, 1, 1)})
    head = book.add_format({"bold": True, "bg_color": "#dde6ee", "border": 1, "locked": True})
    locked_text = book.add_format({"locked": True})
    money = book.add_format({"num_format": "#,##0", "locked": True, "font_color": "#555555"})
    open_money = book.add_format({"num_format": "#,##0", "locked": False, "bg_color": "#fff7d6", "border": 1})
    open_text = book.add_format({"locked": False})
    sheet = book.add_worksheet(COMMIT_SHEET)
    for col, name in enumerate(HEADERS):
        sheet.write_string(0, col, name, head)
        if name in LABELS:
            sheet.write_comment(0, col, f"{LABELS[name]}, {currency}")
    for r, row in enumerate(rows.itertuples(index=False), start=1):
        for col, name in enumerate(("level", "entity", "product", "period")):
            sheet.write_string(r, col, str(getattr(row, name)), locked_text)
        sheet.write_number(r, 4, float(row.target), money)
        sheet.write_blank(r, 5, None, open_money)
        sheet.write_blank(r, 6, None, open_text)
        sheet.write_blank(r, 7, None, open_text)
    last = max(len(rows), 1)
    sheet.data_validation(1, 5, last, 5, {
        "validate": "decimal", "criteria": ">=", "value": 0, "ignore_blank": True,
        "input_title": "Your commit", "input_message": f"What you commit to sell in this period, in {currency}",
        "error_title": "Not a commit", "error_message": f"Enter an amount of 0 or more in {currency}"})
    sheet.set_column(0, 3, 12)
    sheet.set_column(4, 5, 18)
    sheet.set_column(6, 7, 28)
    sheet.freeze_panes(1, 0)
    sheet.protect("", {"format_columns": True, "autofilter": True, "sort": False})
    guide = book.add_worksheet("How to fill")
    lines = [title, "",
             f"Fill in column F (amount): what you commit to sell in each period, in {currency}.",
             "Column E is today's top-down target, for reference; it is not read back.",
             "Leave the other columns as they are; add who submits and a note if you wish.",
             "Every period of the year is needed: an entity whose periods are incomplete is rejected.",
             "Save the file and list it (or its folder) as data.commits.path in the plan config."]
    for r, line in enumerate(lines):
        guide.write_string(r, 0, line)
    guide.set_column(0, 0, 100)
    book.close()
    return out
