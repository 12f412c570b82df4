"""CRM presets: the standard headers of a HubSpot deal export and a Salesforce opportunity report, and the split
of one such export into won deals (the sales), open deals (the pipeline) and lost deals (counted, not used).

The split works on the raw text (a ``RawTable``), before any value is parsed, so that each part is then read and
checked as its own table; every row of the export ends in exactly one part or is rejected with its reason.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from planlib.core.errors import DataError

__all__ = ["PRESETS", "Preset", "Split", "detect_preset", "outcome_of", "owners_on_roster", "preset_columns",
           "report_footer", "set_aside", "split_export"]


def _fold(text: str) -> str:
    return re.sub(r"[\s_\-()（）\[\]%]+", "", unicodedata.normalize("NFKC", str(text)).lower())


@dataclass(frozen=True)
class Preset:
    """A CRM's export: planlib field -> the headers it may carry (first present wins), and how deals end.

    Fields beyond the sales table's: ``stage``, ``probability`` (percent when ``probability_percent``),
    ``won`` and ``closed`` (check-box columns that decide the outcome when present). ``signature`` is the set of
    headers that tells the export apart; ``stage_probability`` the CRM's default probability per open stage,
    used when the export has no probability column.
    """

    name: str
    label: str
    columns: dict[str, tuple[str, ...]]
    signature: tuple[str, ...]
    won_stages: tuple[str, ...]
    lost_stages: tuple[str, ...]
    probability_percent: bool = False
    stage_probability: dict[str, float] | None = None
    notes: dict[str, str] | None = None
    footer: tuple[str, ...] = ()
    footer_marks: tuple[str, ...] = ()


# HubSpot: the export of the deals index page writes each property under its label. Labels checked on
# HubSpot's knowledge base, "HubSpot's default deal properties" (knowledge.hubspot.com/crm-deals/
# hubspots-default-deal-properties): Deal name, Deal stage, Pipeline, Close date ("the day the deal is expected
# to close, or was closed"), Create date, Deal owner, Amount, Deal probability; the export adds Record ID and,
# with associations, Associated Company. The default sales pipeline's stages and their probabilities (Appointment
# Scheduled 20%, Qualified to Buy 40%, Presentation Scheduled 60%, Decision Maker Bought-In 80%, Contract Sent
# 90%, Closed Won 100%, Closed Lost 0%) and the pipelines API's rule "probability 0.0 is Closed Lost and 1.0 is
# Closed Won" (developers.hubspot.com/docs/api/crm/pipelines). Headers are matched ignoring case and spaces, so
# "Deal Stage" and "Deal stage" are the same header.
HUBSPOT = Preset(
    name="hubspot", label="HubSpot deals export",
    columns={"deal_id": ("Record ID", "Deal ID"), "date": ("Close Date",), "amount": ("Amount",),
             "rep_id": ("Deal owner",), "customer_id": ("Associated Company", "Associated Company (Primary)",
                                                         "Company name"),
             "product": ("Product", "Product line", "Pipeline"), "region": ("Region", "Territory"),
             "stage": ("Deal Stage",), "probability": ("Deal probability",)},
    signature=("Record ID", "Deal Name", "Deal Stage", "Close Date", "Deal owner", "Amount"),
    won_stages=("Closed Won", "closedwon", "Won"), lost_stages=("Closed Lost", "closedlost", "Lost"),
    stage_probability={"Appointment Scheduled": 0.2, "Qualified to Buy": 0.4, "Presentation Scheduled": 0.6,
                       "Decision Maker Bought-In": 0.8, "Contract Sent": 0.9},
    notes={"product": "HubSpot's deal export has no product column (products are line items): each pipeline "
                      "is taken as a product line unless a Product column is exported"},
)

# Salesforce: report columns carry the field labels. Labels checked on the Salesforce field reference, object
# Opportunity (developer.salesforce.com/docs/atlas.en-us.sfFieldRef.meta/sfFieldRef/
# salesforce_field_reference_Opportunity.htm): Amount, Close Date, Closed (IsClosed), Probability (%), Stage
# (StageName), Account Name, Opportunity ID; OpportunityStage gives Won (IsWon) and Closed (IsClosed); Salesforce
# Help "Opportunity Fields" (help.salesforce.com, sales.opp_fields) names Opportunity Name and Opportunity Owner.
# Probability (%) is exported as a whole percent (75, not 0.75); the standard stages end in Closed Won and
# Closed Lost. Dates and amounts follow the user's locale (3/7/2026, "USD 1,234.56" in a multi-currency org).
SALESFORCE = Preset(
    name="salesforce", label="Salesforce opportunity report",
    columns={"deal_id": ("Opportunity ID", "Opportunity Name"), "date": ("Close Date",), "amount": ("Amount",),
             "rep_id": ("Opportunity Owner",), "customer_id": ("Account ID", "Account Name"),
             "product": ("Product", "Product Name", "Product Family"), "region": ("Region", "Territory",
                                                                                  "Billing State/Province"),
             "stage": ("Stage",), "probability": ("Probability (%)",), "won": ("Won",), "closed": ("Closed",)},
    signature=("Opportunity Name", "Account Name", "Amount", "Close Date", "Stage", "Opportunity Owner"),
    won_stages=("Closed Won",), lost_stages=("Closed Lost",), probability_percent=True,
    # The footer Salesforce writes under a report exported as CSV or Excel ("Details Only"), each line one cell
    # after blank lines: the grand total ("Grand Totals (123 records)"), the report's title, "Confidential
    # Information - Do Not Distribute", "Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved.", and
    # in some orgs "Generated By: <user> <date>" and the org's name. The title and the org's name are free text:
    # they count as footer only inside a block that starts with a blank line or a grand total and holds one of
    # the two fixed lines.
    footer=(r"grand totals? \([0-9][0-9,.]* records?\)", r"generated by:.*"),
    footer_marks=(r"confidential information\s*-\s*do not distribute",
                  r"copyright \(c\) [0-9]{4}(?:\s*-\s*[0-9]{4})? salesforce\.com,? inc\.? all rights reserved\.?"),
)

PRESETS: dict[str, Preset] = {p.name: p for p in (HUBSPOT, SALESFORCE)}
_TRUE = {"1", "true", "yes", "y", "x"}
_FALSE = {"0", "false", "no", "n", ""}


def detect_preset(header: list[str]) -> str | None:
    """Return the preset whose signature headers are all in ``header`` (case and spaces ignored), else None."""
    folded = {_fold(h) for h in header}
    for preset in PRESETS.values():
        if all(_fold(h) in folded for h in preset.signature):
            return preset.name
    return None


def preset_columns(preset: str, header: list[str], columns: dict[str, str] | None = None) -> dict[str, str]:
    """Return planlib field -> the export's header: the preset's first header present, overridden by ``columns``.

    Raises
    ------
    DataError
        If a field the split needs (date, amount, rep_id, stage) has no header in the export.
    """
    spec = PRESETS[preset]
    by_fold = {}
    for h in header:
        by_fold.setdefault(_fold(h), h)
    found = {}
    for field_name, names in spec.columns.items():
        for name in names:
            if _fold(name) in by_fold:
                found[field_name] = by_fold[_fold(name)]
                break
    found.update(columns or {})
    missing = [f for f in ("date", "amount", "rep_id", "stage") if f not in found]
    if missing:
        wanted = "; ".join(f"{f}: {' or '.join(repr(n) for n in spec.columns[f])}" for f in missing)
        raise DataError(f"the {spec.label} (preset {preset}) lacks the header(s) {wanted}; headers found: "
                        f"{header}. Export those columns, or map them in data.sales.columns")
    return found


@dataclass
class Split:
    """One export split by outcome.

    ``won`` is the sales table's raw text and ``won_source`` the source to read it with; ``open`` and
    ``open_source`` the pipeline's (None when ``data.pipeline`` is given on its own); ``set_aside`` lists the
    rows of the export that are neither (lost deals, and open deals when the pipeline comes from elsewhere) as
    soft rejects of the sales table; ``open_rejects`` lists open deals refused before reading (no probability).
    Each DataFrame has the columns table, file, line, column, value, reason, soft.
    """

    won: object
    won_source: object
    open: object | None
    open_source: object | None
    set_aside: pd.DataFrame
    open_rejects: pd.DataFrame
    outcome: pd.Series  # won / open / lost per row of the export
    footer_lines: np.ndarray | None = None  # lines of the CRM's report footer: counted, not data
    owners_named: int = 0  # rows whose owner was given by name and read as the roster's rep_id


def _flag(values: pd.Series) -> pd.Series:
    """True/False for a check-box column as exported (1/0, true/false, yes/no), NA for anything else."""
    low = values.str.strip().str.lower()
    return pd.Series(np.where(low.isin(_TRUE), True, np.where(low.isin(_FALSE), False, None)), index=values.index,
                     dtype=object)


def outcome_of(frame: pd.DataFrame, header: list[str], preset: str, columns: dict[str, str]) -> pd.Series:
    """Return "won", "lost" or "open" for each row: by the Won/Closed flags where exported, else by the stage;
    "" where neither says (no flags and an empty stage)."""
    spec = PRESETS[preset]
    stage = frame[header.index(columns["stage"])].map(_fold)
    won = stage.isin({_fold(s) for s in spec.won_stages})
    lost = stage.isin({_fold(s) for s in spec.lost_stages})
    out = pd.Series(np.where(won, "won", np.where(lost, "lost", np.where(stage == "", "", "open"))),
                    index=frame.index)
    if "won" in columns and "closed" in columns:
        is_won = _flag(frame[header.index(columns["won"])])
        is_closed = _flag(frame[header.index(columns["closed"])])
        known = is_won.notna() & is_closed.notna()
        by_flag = np.where(is_won == True, "won", np.where(is_closed == True, "lost", "open"))  # noqa: E712
        out = out.where(~known, pd.Series(by_flag, index=frame.index))
    return out


def _part(raw, rows: np.ndarray, label: str | None = None, broken: bool = True):
    part = replace(raw, frame=raw.frame.iloc[rows].reset_index(drop=True), lines=raw.lines[rows],
                   broken=list(raw.broken) if broken else [], blank_lines=raw.blank_lines if broken else 0)
    if label:
        part.label = label
    return part


def _rejects(table: str, label: str, lines, column: str, values, reasons) -> pd.DataFrame:
    lines = np.asarray(lines, dtype="int64")
    reasons = [reasons] * len(lines) if isinstance(reasons, str) else list(reasons)
    return pd.DataFrame({"table": table, "file": label, "line": lines, "column": column,
                         "value": pd.Series(list(values), dtype=object).to_numpy(),
                         "reason": pd.Series(reasons, dtype=object).to_numpy(), "soft": True})


def _not_a_deal(raw, total_labels) -> pd.Series:
    """Rows that hold no deal: blank, the header again, or a total row (its first filled cell a total label)."""
    frame = raw.frame
    filled = frame != ""
    blank = ~filled.any(axis=1)
    header_again = (frame == pd.Series(raw.header, index=frame.columns)).all(axis=1)
    first = frame.where(filled).bfill(axis=1).iloc[:, 0].fillna("") if len(frame.columns) else frame.index
    total = pd.Series(first, index=frame.index).astype(str).str.lower().isin({x.lower() for x in total_labels})
    return blank | header_again | total


def _cells(text: str) -> list[str]:
    return [c.strip() for c in next(csv.reader(io.StringIO(text)), [])]


def report_footer(raw, preset: str):
    """Return ``raw`` without the report footer the CRM wrote under its data, and the footer's line numbers.

    The footer is the run of lines at the end of the export that are blank, a grand total, or a single cell; it
    starts at its first blank line, grand total or fixed footer line, and it is taken as the footer only when it
    holds one of the preset's ``footer_marks`` (for Salesforce, "Confidential Information - Do Not Distribute" or
    its copyright line). A single-cell line above that start, or any odd line among the data, stays in ``raw``
    and is rejected with its line and reason like any broken row.

    Returns
    -------
    (RawTable, numpy.ndarray of int64)
    """
    spec = PRESETS[preset]
    none = np.empty(0, np.int64)
    if not spec.footer_marks:
        return raw, none
    fixed = re.compile("|".join(f"(?:{p})" for p in spec.footer), re.I)
    marks = re.compile("|".join(f"(?:{p})" for p in spec.footer_marks), re.I)
    order = sorted(range(len(raw.broken)), key=lambda k: raw.broken[k][0])
    i, j, block = len(raw.frame) - 1, len(order) - 1, []
    while i >= 0 or j >= 0:  # from the last line up, until a line that is no footer's
        if j >= 0 and (i < 0 or raw.broken[order[j]][0] > raw.lines[i]):
            line, cells, where = raw.broken[order[j]][0], _cells(raw.broken[order[j]][1]), ("broken", order[j])
            j -= 1
        else:
            line, cells, where = int(raw.lines[i]), [str(c) for c in raw.frame.iloc[i]], ("row", i)
            i -= 1
        filled = [c for c in cells if c]
        kind = ("blank" if not filled else "fixed" if fixed.fullmatch(filled[0]) else None if len(filled) > 1
                else "mark" if marks.fullmatch(filled[0]) else "text")
        if kind is None:
            break
        block.append((int(line), kind, where))
    block.reverse()
    start = next((k for k, b in enumerate(block) if b[1] != "text"), len(block))
    footer = block[start:]
    if not any(b[1] == "mark" for b in footer):
        return raw, none
    rows = [b[2][1] for b in footer if b[2][0] == "row"]
    dropped = {b[2][1] for b in footer if b[2][0] == "broken"}
    keep = np.ones(len(raw.frame), dtype=bool)
    keep[rows] = False
    out = replace(raw, frame=raw.frame.iloc[np.flatnonzero(keep)].reset_index(drop=True), lines=raw.lines[keep],
                  broken=[b for k, b in enumerate(raw.broken) if k not in dropped])
    return out, np.array(sorted(b[0] for b in footer), dtype=np.int64)


def _name_key(values: pd.Series) -> pd.Series:
    return values.map(lambda v: " ".join(unicodedata.normalize("NFKC", str(v)).casefold().split()))


def owners_on_roster(raw, rep_header: str, roster: pd.DataFrame | None):
    """Return ``raw`` with each owner given by name read as the roster's rep_id, and how many rows that was.

    A CRM names a deal's owner ("Ann Baker") where the roster may key its reps by an employee id ("E01"): an
    owner that is no rep_id on the roster but the name of exactly one rep on it (case and spacing ignored) is
    read as that rep's rep_id. Any other owner stays as written, and the roster check rejects it if it is not on
    the roster.
    """
    if roster is None or "name" not in roster or raw.frame.empty:
        return raw, 0
    pos = raw.header.index(rep_header)
    owners = raw.frame[pos]
    named = roster[roster["name"].notna()].drop_duplicates("rep_id")
    by_name = pd.Series(named["rep_id"].astype(str).to_numpy(), index=_name_key(named["name"]).to_numpy())
    by_name = by_name[~by_name.index.duplicated(keep=False)]  # a name two reps share decides nothing
    off = ~owners.isin(set(roster["rep_id"].astype(str)))
    if not off.any() or by_name.empty:
        return raw, 0
    ids = _name_key(owners[off]).map(by_name).dropna()
    if ids.empty:
        return raw, 0
    frame = raw.frame.copy()
    frame.loc[ids.index, pos] = ids.to_numpy()
    return replace(raw, frame=frame), len(ids)


def split_export(raw, source, *, pipeline_given: bool, total_labels=(), roster: pd.DataFrame | None = None,
                 actuals: bool = False) -> Split:
    """Split a CRM export (``source.preset``) into won, open and lost deals, before any value is parsed.

    Parameters
    ----------
    raw : RawTable
        The export as read by :func:`planlib.data.readers.read_source`.
    source : DataSource
        data.sales, with ``preset`` set; its ``columns`` override the preset's headers.
    pipeline_given : bool
        ``data.pipeline`` is configured on its own: the export's open deals are then set aside (counted), not
        read as the pipeline.
    total_labels : sequence of str
        data.total_row_labels: a row that starts with one is a total, not a deal (the sales table removes it).
    roster : DataFrame, optional
        The reps table as read: owners given by name are read as its rep_id (:func:`owners_on_roster`).
    actuals : bool, default False
        The export is a review's actuals: its open deals are set aside (counted, not yet a sale), never read
        as a pipeline.

    Returns
    -------
    Split
    """
    spec = PRESETS[source.preset]
    columns = preset_columns(spec.name, raw.header, dict(source.columns))
    raw, footer = report_footer(raw, spec.name)
    raw, owners_named = owners_on_roster(raw, columns["rep_id"], roster)
    outcome = outcome_of(raw.frame, raw.header, spec.name, columns)
    stage_header = columns["stage"]
    stage_text = raw.frame[raw.header.index(stage_header)]
    sales_fields = ("date", "amount", "rep_id", "customer_id", "product", "deal_id", "region", "quantity",
                    "customer_name")
    won_source = source.model_copy(update={"columns": {k: v for k, v in columns.items() if k in sales_fields},
                                           "preset": None})
    # Blank lines, a header repeated mid-file and total rows are no deal: the sales table removes them by its rules.
    structural = _not_a_deal(raw, total_labels)
    won_rows = np.flatnonzero(((outcome == "won") | structural).to_numpy())
    lost_rows = np.flatnonzero(((outcome == "lost") & ~structural).to_numpy())
    open_rows = np.flatnonzero(((outcome == "open") & ~structural).to_numpy())
    unknown = np.flatnonzero(((outcome == "") & ~structural).to_numpy())
    aside = [_rejects("sales", raw.label, raw.lines[lost_rows], stage_header, stage_text.iloc[lost_rows],
                      [f"lost deal ({stage_header} {v!r}): counted, not a sale" for v in stage_text.iloc[lost_rows]]),
             _rejects("sales", raw.label, raw.lines[unknown], stage_header, [""] * len(unknown),
                      "expected a stage (the cell is empty): without it the deal is neither won, lost nor open")
             .assign(soft=False)]
    open_part = open_source = None
    open_rejects = _rejects("pipeline", raw.label, [], stage_header, [], [])
    if pipeline_given or actuals:
        aside.append(_rejects("sales", raw.label, raw.lines[open_rows], stage_header, stage_text.iloc[open_rows],
                              "open deal: not won by the review date, so not an actual" if actuals else
                              "open deal: the pipeline is read from data.pipeline, not from this export"))
    else:
        open_part = _part(raw, open_rows, label=f"{raw.label} (open deals)", broken=False)
        pipe = {"opportunity_id": columns.get("deal_id"), "rep_id": columns["rep_id"], "stage": stage_header,
                "amount": columns["amount"], "expected_close": columns["date"],
                "customer_id": columns.get("customer_id"), "product": columns.get("product"),
                "probability": columns.get("probability")}
        if "probability" in columns:
            pos = open_part.header.index(columns["probability"])
            if spec.probability_percent:  # "75" means 75 percent in this export
                text = open_part.frame[pos]
                plain = text.str.fullmatch(r"[0-9]+(?:\.[0-9]+)?")
                open_part.frame[pos] = text.where(~plain, text + "%")
        elif spec.stage_probability:
            defaults = {_fold(k): f"{v:.0%}" for k, v in spec.stage_probability.items()}
            stages = open_part.frame[open_part.header.index(stage_header)]
            header = f"{stage_header} probability (the {spec.label}'s default)"
            open_part.header = [*open_part.header, header]
            open_part.frame[len(open_part.header) - 1] = stages.map(_fold).map(defaults).fillna("")
            unknown = stages.map(_fold).map(defaults).isna().to_numpy()
            known = ", ".join(spec.stage_probability)
            open_rejects = _rejects("pipeline", open_part.label, open_part.lines[unknown], stage_header,
                                    stages[unknown], f"expected a win probability: the stage is not one of the "
                                    f"{spec.label}'s default stages ({known}); export the Deal probability column")
            open_rejects["soft"] = False
            open_part = _part(open_part, np.flatnonzero(~unknown), broken=False)
            pipe["probability"] = header
        open_source = source.model_copy(update={"columns": {k: v for k, v in pipe.items() if v}, "preset": None})
    set_aside = pd.concat(aside, ignore_index=True)
    return Split(_part(raw, won_rows), won_source, open_part, open_source, set_aside, open_rejects, outcome,
                 footer, owners_named)


def set_aside(cleaned, split: Split, table: str = "sales"):
    """Return ``cleaned`` (the sales or pipeline table as load cleaned it) with what the split kept out of it.

    For the sales, the rows set aside (lost deals, open deals read elsewhere) are added as rejected, counted in
    rows_in and rows_rejected (rows in = used + rejected + not data holds over the whole export), each soft kind
    counted among the repairs; the report footer's lines are counted in rows_in and rows_not_data and as the
    repair "report footer, not data"; owners read by name are counted as a repair. For the pipeline, the open
    deals refused before reading are added as rejected.
    """
    extra = split.set_aside if table == "sales" else split.open_rejects
    repairs = dict(cleaned.repairs)
    footer = len(split.footer_lines) if table == "sales" and split.footer_lines is not None else 0
    if table == "sales" and split.owners_named:
        repairs["owner given by name: read as the roster's rep_id"] = split.owners_named
    if footer:
        repairs["report footer, not data"] = footer
    rejects, n = cleaned.rejects, 0
    if not extra.empty:
        rejects = pd.concat([cleaned.rejects, extra[cleaned.rejects.columns]], ignore_index=True)
        rejects = rejects.sort_values(["line", "column"], kind="stable", na_position="first").reset_index(drop=True)
        soft = extra[extra["soft"].astype(bool)]
        for kind, k in soft.groupby(soft["reason"].str.extract(r"^(lost deal|open deal)")[0])["line"].nunique().items():
            repairs[f"{kind} in the CRM export: counted, not a sale"] = int(k)
        n = int(extra["line"].nunique())
    return replace(cleaned, rejects=rejects, repairs=repairs, rows_in=cleaned.rows_in + n + footer,
                   rows_rejected=cleaned.rows_rejected + n, rows_not_data=cleaned.rows_not_data + footer)
