"""Input data: read every configured table, map its columns, clean it, and build the monthly panel.

Every row read is used, listed in ``rejects`` with its file, line and reason, or a line of a CRM's report footer
(rows in = used + rejected + not data); soft repairs are counted. Problems of a whole file raise DataError.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from planlib.data import org as _org
from planlib.data import panel as _panel
from planlib.data import parsers as _parsers
from planlib.data import presets as _presets
from planlib.data import readers as _readers
from planlib.data.panel import LEVELS, customer_table, monthly_panel
from planlib.core.errors import DataError, RowProblem
from planlib.core.graph import stage

__all__ = ["Column", "TableSchema", "SCHEMAS", "LEVELS", "Inputs", "load_inputs", "input_fingerprints",
           "monthly_panel", "customer_table"]

REJECT_COLUMNS = ["table", "file", "line", "column", "value", "reason"]
COUNT_COLUMNS = ["table", "file", "sha256", "rows_in", "rows_used", "rows_rejected", "rows_not_data"]
REPAIR_COLUMNS = ["table", "file", "repair", "rows"]


# --------------------------------------------------------------------------- schemas
@dataclass(frozen=True)
class Column:
    """One column of an input table.

    ``kind`` names the parser: text, id, date, amount, number, int, rate (fraction
    or percent), fraction (0..1 or percent). ``required``: the file must have the
    column. ``nullable``: a blank cell is allowed. ``default``: the value of a
    blank cell or of the whole column when an optional column is absent.
    """

    name: str
    kind: str = "text"
    required: bool = True
    nullable: bool = False
    default: object = None


@dataclass(frozen=True)
class TableSchema:
    """An input table: its columns, the columns that identify a row, and whether rep_id must be on the roster."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    rep_on_roster: bool = False

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _opt(name, kind="text", default=None):
    return Column(name, kind, required=False, nullable=True, default=default)


SCHEMAS: dict[str, TableSchema] = {s.name: s for s in (
    TableSchema("sales", (
        Column("date", "date"), Column("amount", "amount"), Column("rep_id", "id"), Column("customer_id", "id"),
        Column("product"), Column("deal_id", "id", required=False), _opt("region"), _opt("quantity", "int"),
        _opt("customer_name"),
    ), key=("deal_id",), rep_on_roster=True),
    TableSchema("reps", (
        Column("rep_id", "id"), Column("name"), Column("team", required=False), Column("region"),
        _opt("role", default="rep"),
        _opt("hire_date", "date"), _opt("exit_date", "date"), _opt("fte", "fraction", default=1.0),
    ), key=("rep_id",)),
    TableSchema("market", (
        Column("region"), Column("product"), Column("year", "int"), Column("market_size", "amount"),
        _opt("market_growth", "rate"),
    ), key=("region", "product", "year")),
    TableSchema("competitors", (
        Column("competitor"), Column("region"), Column("share", "fraction"), _opt("notes"),
    ), key=("competitor", "region")),
    TableSchema("pipeline", (
        Column("opportunity_id", "id"), Column("rep_id", "id"), _opt("customer_id", "id"), Column("product"),
        Column("stage"), Column("amount", "amount"), Column("expected_close", "date"),
        Column("probability", "fraction"),
    ), key=("opportunity_id",), rep_on_roster=True),
    TableSchema("kpis", (
        Column("rep_id", "id"), Column("period"), Column("metric"), Column("value", "rate"),
    ), key=("rep_id", "period", "metric"), rep_on_roster=True),
    TableSchema("risks", (
        Column("risk_id", "id"), Column("title"), _opt("category"), Column("likelihood", "fraction"),
        Column("impact"), _opt("driver"), _opt("owner"), _opt("mitigation"), _opt("status"),
    ), key=("risk_id",)),
    # commits (planlib.data.commits checks entities and periods) and transfers (moves of reps: planlib.data.org)
    TableSchema("commits", (Column("level"), Column("entity", "id"), _opt("product"), Column("period"),
                            Column("amount", "amount"), _opt("submitted_by"), _opt("note"))),
    TableSchema("transfers", (Column("rep_id", "id"), Column("date", "date"), _opt("from_team"), _opt("from_region"),
                              _opt("to_team"), _opt("to_region")), rep_on_roster=True),
)}
REQUIRED_TABLES = ("reps", "sales")  # reps first: sales, pipeline and kpis are checked against the roster
TABLE_ORDER = ("reps", "sales", "transfers", "market", "competitors", "pipeline", "kpis", "risks")


# --------------------------------------------------------------------------- results
@dataclass
class Inputs:
    """Every input table, cleaned, with the account of what was read.

    Attributes
    ----------
    tables : dict of str to DataFrame
        Table name -> rows used, canonical column names (see ``SCHEMAS``), dates
        datetime64[ns], amounts float64, whole numbers Int64, ids and text str.
        Columns of the file outside the schema are kept as text under their own headers.
    rejects : DataFrame
        table, file, line, column, value, reason: one row per problem (a row with
        two bad cells is listed twice). ``line`` is where a text editor shows the
        row (header = line 1; Excel row number; record number + 1 for Parquet and SQL).
    counts : DataFrame
        table, file, sha256, rows_in, rows_used, rows_rejected, rows_not_data, where rows_in = rows_used +
        rows_rejected + rows_not_data (lines of a CRM's report footer). Blank lines are not rows.
    repairs : DataFrame
        table, file, repair, rows: soft repairs and removals, counted.
    """

    tables: dict[str, pd.DataFrame]
    rejects: pd.DataFrame
    counts: pd.DataFrame
    repairs: pd.DataFrame


@dataclass
class _Cleaned:
    frame: pd.DataFrame
    rejects: pd.DataFrame  # REJECT_COLUMNS + soft
    repairs: dict[str, int]
    rows_in: int
    rows_rejected: int
    rows_not_data: int = 0  # lines of a CRM export's report footer


class _Rejects:
    """Collects rejected rows of one table, vectorised."""

    def __init__(self, table: str, label: str, lines: np.ndarray):
        self.table, self.label, self.lines, self.parts = table, label, lines, []
        self.positions = np.zeros(len(lines), dtype=bool)

    def add(self, positions, column, values, reasons, soft=False):
        """Reject rows at ``positions``; a hard reason is what was expected, a soft one says what was done."""
        positions = np.asarray(positions, dtype=np.int64)
        if not len(positions):
            return
        if not soft:
            reasons = "expected " + reasons if isinstance(reasons, str) else ["expected " + r for r in reasons]
        self.positions[positions] = True
        self.parts.append(pd.DataFrame({
            "line": self.lines[positions], "column": column,
            "value": pd.Series(values, dtype=object).to_numpy(),
            "reason": pd.Series(reasons, dtype=object).to_numpy() if not isinstance(reasons, str) else reasons,
            "soft": soft}))

    def frame(self, broken) -> pd.DataFrame:
        parts = list(self.parts)
        if broken:
            parts.append(pd.DataFrame({"line": [b[0] for b in broken], "column": None,
                                       "value": [b[1] for b in broken],
                                       "reason": ["expected " + b[2] for b in broken],
                                       "soft": False}))
        if not parts:
            return pd.DataFrame(columns=REJECT_COLUMNS + ["soft"])
        out = pd.concat(parts, ignore_index=True)
        out.insert(0, "file", self.label)
        out.insert(0, "table", self.table)
        out["line"] = out["line"].astype("int64")
        return out.sort_values(["line", "column"], kind="stable", na_position="first").reset_index(drop=True)


# --------------------------------------------------------------------------- loading
def load_inputs(config, *, strict: bool = False, sales_after: dt.date | None = None) -> Inputs:
    """Read, map, parse and clean every configured input table.

    Parameters
    ----------
    config : PlanConfig
        Uses ``config.data`` (the sources and cleaning rules), ``config.as_of``
        (sales dated after it are rejected) and ``config.resolve`` for paths.
    strict : bool, default False
        False: bad rows are rejected and listed in ``rejects``. True: raise one
        DataError listing every bad row of every table at once. Rows removed by
        rule (total rows, repeated headers, identical duplicates, sales after
        as_of, credit notes under ``credit_notes: reject``) never raise.
    sales_after : date, optional
        Sales dated on or before it are rejected, with the reason: a review's actuals hold only the
        deals after the plan's history (its last closed month ends on this day).

    Returns
    -------
    Inputs
        tables, rejects [table, file, line, column, value, reason],
        counts [table, file, sha256, rows_in, rows_used, rows_rejected], repairs [table, file, repair, rows].

    Raises
    ------
    DataError
        A whole source breaks its contract: not found, undecodable, a required
        column missing, a required table with no data rows or no usable row; or,
        with ``strict``, any bad row.
    """
    data = config.data
    tables, rejects, counts, repairs = {}, [], [], []
    split = None  # a CRM export (data.sales.preset) split into won, open and lost deals
    for name in TABLE_ORDER:
        source = getattr(data, name)
        if source is None and not (name == "pipeline" and split is not None and split.open is not None):
            continue
        if source is None:
            raw, source = split.open, split.open_source
        else:
            raw = _readers.read_source(source, name, config.resolve)
        if name == "sales" and source.preset:
            split = _presets.split_export(raw, source, pipeline_given=data.pipeline is not None,
                                          total_labels=data.total_row_labels, roster=tables.get("reps"),
                                          actuals=sales_after is not None)
            raw, source = split.won, split.won_source
        roster_label = counts[0][1] if counts and counts[0][0] == "reps" else "the reps table"
        cleaned = _clean(name, raw, source, data, config.as_of, tables.get("reps"), roster_label,
                         sales_after=sales_after, sales=tables.get("sales"))
        if split is not None and name in ("sales", "pipeline"):
            cleaned = _presets.set_aside(cleaned, split, name)
        if name in REQUIRED_TABLES and cleaned.frame.empty and not strict:
            soft = cleaned.rejects["soft"].astype(bool)
            raise DataError(f"{raw.label} has no usable rows: all {cleaned.rows_in} data rows were rejected"
                            + (f" ({int(soft.sum())} removed by rule: {sorted(set(cleaned.rejects['reason'][soft]))})"
                               if soft.any() else ""), _problems(cleaned.rejects[~soft]))
        tables[name] = cleaned.frame
        if name == "reps" and data.reorg:  # renamed teams take their new names (a split names each rep's team)
            tables[name], renamed = _org.apply_reorg_to_roster(cleaned.frame, data.reorg, raw.label)
            cleaned.repairs["team renamed by data.reorg"] = renamed
        if name == "transfers":  # sales without a region of their own: the rep's region then
            tables["sales"] = _org.regions_after_moves(tables["sales"], tables["reps"], cleaned.frame)
        rejects.append(cleaned.rejects)
        counts.append((name, raw.label, raw.sha256, cleaned.rows_in, len(cleaned.frame), cleaned.rows_rejected,
                       cleaned.rows_not_data))
        repairs += [(name, raw.label, k, v) for k, v in cleaned.repairs.items() if v]
    all_rejects = pd.concat(rejects, ignore_index=True) if rejects else pd.DataFrame(columns=REJECT_COLUMNS + ["soft"])
    if strict:
        hard = all_rejects[~all_rejects["soft"].astype(bool)]
        if len(hard):
            raise DataError(f"{hard[['table', 'line']].drop_duplicates().shape[0]} bad row(s) in the inputs "
                            f"(strict mode lists every one)", _problems(hard), limit=max(50, len(hard)))
        for name in REQUIRED_TABLES:
            if tables[name].empty:
                label = counts[[c[0] for c in counts].index(name)][1]
                raise DataError(f"{label} has no usable rows: every data row was removed by rule")
    shown = all_rejects[REJECT_COLUMNS].reset_index(drop=True)
    for col in ("column", "value"):  # a raw NUL or escape sequence of the file is written out, not passed on
        shown[col] = shown[col].map(_parsers.escape_control)
    return Inputs(
        tables=tables,
        rejects=shown,
        counts=pd.DataFrame(counts, columns=COUNT_COLUMNS),
        repairs=pd.DataFrame(repairs, columns=REPAIR_COLUMNS),
    )


def _problems(rejects: pd.DataFrame) -> list[RowProblem]:
    return [RowProblem(r.file, int(r.line), r.column, r.value, r.reason.removeprefix("expected "))
            for r in rejects.itertuples(index=False)]


def _map_columns(raw, schema: TableSchema, source, label: str, table: str) -> dict[str, int]:
    """Return planlib column name -> position in the file, per ``columns`` and the headers."""
    unknown = sorted(set(source.columns) - set(schema.names))
    if unknown:
        raise DataError(f"{label}: data.{table}.columns names {unknown}, which {table} does not have; "
                        f"its columns are {schema.names}")
    exact: dict[str, list[int]] = {}
    folded: dict[str, list[int]] = {}
    for pos, h in enumerate(raw.header):
        exact.setdefault(h, []).append(pos)
        folded.setdefault(h.casefold(), []).append(pos)
    found, missing, first = {}, [], None
    for col in schema.columns:
        wanted = source.columns.get(col.name, col.name)
        hits = exact.get(wanted) or folded.get(wanted.casefold()) or []
        if len(hits) > 1:
            raise DataError(f"{label}: the header {wanted!r} ({col.name}) appears {len(hits)} times, in columns "
                            f"{[h + 1 for h in hits]}; rename all but one so it is clear which to read")
        if hits:
            found[col.name] = hits[0]
        elif col.required:
            missing.append(f"{col.name!r}" + (f" (mapped to header {wanted!r})" if wanted != col.name else ""))
            first = first or col.name
    if missing:
        headers = ", ".join(repr(h) for h in raw.header) or "(none)"
        raise DataError(f"{label}: missing required column(s) {', '.join(missing)}; headers found: {headers}. "
                        f"Map your headers in data.{table}.columns, e.g. {{{first}: <your header for {first}>}}")
    return found


def _parse(col: Column, text: pd.Series, source) -> _parsers.Parsed:
    fmt = dict(thousands=source.thousands, decimal=source.decimal)
    if col.kind == "date":
        return _parsers.parse_date(text, date_format=source.date_format, dayfirst=source.dayfirst,
                                   two_digit_years=source.two_digit_years)
    if col.kind == "amount":
        return _parsers.parse_amount(text, **fmt)
    if col.kind == "number":
        return _parsers.parse_number(text, **fmt)
    if col.kind == "int":
        return _parsers.parse_int(text, **fmt)
    if col.kind in ("rate", "fraction"):
        return _parsers.parse_rate(text, bounded=col.kind == "fraction", **fmt)
    if col.kind == "id":
        return _parsers.parse_id(text)
    return _parsers.parse_text(text)


def _clean(table: str, raw, source, data, as_of: dt.date, roster: pd.DataFrame | None,
           roster_label: str = "the reps table", sales_after: dt.date | None = None,
           sales: pd.DataFrame | None = None) -> _Cleaned:
    schema = SCHEMAS[table]
    label = raw.label
    positions = _map_columns(raw, schema, source, label, table) if raw.header else {}
    frame, lines = raw.frame, raw.lines
    nonblank = ~_rows_where(frame, [""] * frame.shape[1])
    repairs = {"blank line skipped": raw.blank_lines + int((~nonblank).sum())}
    rows_in = int(nonblank.sum()) + len(raw.broken)
    if rows_in == 0:
        if table in REQUIRED_TABLES:
            reason = raw.empty_reason or "every line is blank"
            raise DataError(f"{label} has no data rows ({reason}); the {table} table is required")
        return _Cleaned(_empty_table(schema), pd.DataFrame(columns=REJECT_COLUMNS + ["soft"]), repairs, 0, 0)
    rej = _Rejects(table, label, lines)
    alive = nonblank.copy()

    # A header repeated mid-file (exports glued together) and total rows are not data.
    repeated = alive & _rows_where(frame, raw.header)
    rej.add(np.flatnonzero(repeated), None, "(the header again)", "repeated header row: removed", soft=True)
    alive &= ~repeated
    total, total_label = _total_rows(frame, data.total_row_labels)
    total &= alive
    rej.add(np.flatnonzero(total), None, total_label[total],
            "total row: removed so it is not counted twice", soft=True)
    alive &= ~total
    repairs["repeated header row removed"] = int(repeated.sum())
    repairs["total row removed"] = int(total.sum())

    # Parse each column of the schema over the live rows.
    live = np.flatnonzero(alive)
    parsed: dict[str, pd.Series] = {}
    for col in schema.columns:
        if col.name not in positions:
            parsed[col.name] = _absent(col, len(live))
            continue
        header = raw.header[positions[col.name]]
        shown = header if header == col.name else f"{header} ({col.name})"
        text = frame[positions[col.name]]
        text = text if len(live) == len(frame) else text.iloc[live].reset_index(drop=True)
        blank = (text == "").to_numpy(bool)
        result = _parse(col, text[~blank], source)
        values = result.values.reindex(range(len(live)))
        if col.default is not None:
            values = values.fillna(col.default)
            if blank.any():
                repairs[f"{col.name} blank: taken as {col.default!r}"] = int(blank.sum())
        elif blank.any() and not col.nullable:
            rej.add(live[blank], shown, "", "a value (the cell is empty)")
        bad = result.bad.index.to_numpy(dtype=np.int64)
        rej.add(live[bad], shown, text.iloc[bad].to_numpy(), result.bad.to_numpy())
        for k, v in result.repairs.items():
            repairs[f"{col.name}: {k}"] = repairs.get(f"{col.name}: {k}", 0) + v
        parsed[col.name] = values
    table_frame = pd.DataFrame(parsed)
    if table == "reps" and "team" not in positions:  # no teams given: one team per region, named after it
        table_frame["team"] = table_frame["region"]
        repairs["team not given: one team per region, named after the region"] = len(table_frame)
    extras = [(p, h) for p, h in enumerate(raw.header)
              if p not in positions.values() and h and h not in table_frame.columns]
    for p, h in extras:
        table_frame[h] = frame[p].iloc[live].reset_index(drop=True)

    ok = ~rej.positions[live]
    if schema.rep_on_roster and roster is not None and "rep_id" in table_frame:
        unknown = ok & ~table_frame["rep_id"].isin(roster["rep_id"]).to_numpy(bool)
        shown = raw.header[positions["rep_id"]]
        rej.add(live[unknown], shown, table_frame["rep_id"][unknown].to_numpy(),
                f"a rep_id on the roster ({roster_label}): this rep is not on it")
        ok &= ~unknown
    if table == "sales":
        ok = _sales_rules(table_frame, ok, live, rej, raw, positions, data, as_of, roster, repairs, sales_after)
    if table == "transfers" and sales is not None and roster is not None:
        ok = _org.reject_bad_moves(table_frame, ok, live, rej, raw, positions, roster, sales, as_of, data.reorg)
    key = list(schema.key)
    if key and all(k in positions for k in key):
        ok = _duplicates(table_frame, ok, live, rej, raw, positions, key, repairs)

    used = ~rej.positions[live]
    out = table_frame[used].reset_index(drop=True)
    rejects = rej.frame(raw.broken)
    rows_rejected = int(rej.positions.sum()) + len(raw.broken)
    assert rows_in == len(out) + rows_rejected, (rows_in, len(out), rows_rejected)
    return _Cleaned(out, rejects, repairs, rows_in, rows_rejected)


def _rows_where(frame: pd.DataFrame, cells) -> np.ndarray:
    """Rows whose every cell equals ``cells`` (narrowed column by column: the first usually decides)."""
    rows = np.flatnonzero((frame[0] == cells[0]).to_numpy(bool)) if len(cells) else np.empty(0, np.int64)
    for i in range(1, len(cells)):
        if not len(rows):
            break
        rows = rows[(frame[i].iloc[rows] == cells[i]).to_numpy(bool)]
    out = np.zeros(len(frame), dtype=bool)
    out[rows] = True
    return out


def _total_rows(frame: pd.DataFrame, labels) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose first non-empty cell is a total label (合计, Total, ...), and that label."""
    wanted = {x.lower() for x in labels}
    total = np.zeros(len(frame), dtype=bool)
    found = np.full(len(frame), "", dtype=object)
    undecided = np.arange(len(frame))  # rows whose cells so far are all empty
    for i in frame.columns:
        if not len(undecided):
            break
        col = frame[i] if len(undecided) == len(frame) else frame[i].iloc[undecided]
        empty = (col == "").to_numpy(bool)
        hit = ~empty & col.str.lower().isin(wanted).to_numpy(bool)
        total[undecided[hit]] = True
        found[undecided[hit]] = col[hit].to_numpy()
        undecided = undecided[empty]
    return total, found


def _absent(col: Column, n: int) -> pd.Series:
    if col.kind == "date":
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    if col.kind in ("amount", "number", "rate", "fraction"):
        return pd.Series(np.nan if col.default is None else col.default, index=range(n), dtype="float64")
    if col.kind == "int":
        return pd.Series(pd.NA, index=range(n), dtype="Int64")
    return pd.Series(col.default, index=range(n), dtype="str")


def _empty_table(schema: TableSchema) -> pd.DataFrame:
    return pd.DataFrame({c.name: _absent(c, 0) for c in schema.columns})


def _sales_rules(sales, ok, live, rej, raw, positions, data, as_of, roster, repairs, sales_after=None):
    """After as_of, on or before sales_after (a review's actuals), credit notes, region from the roster."""
    def written(column, mask):  # the cells as the file has them
        return raw.frame[positions[column]].iloc[live[mask]].to_numpy()
    date_header = raw.header[positions["date"]]
    if sales_after is not None:
        earlier = ok & (sales["date"] < pd.Timestamp(sales_after) + pd.Timedelta(days=1)).to_numpy(bool)
        rej.add(live[earlier], date_header, written("date", earlier),
                f"dated inside the plan's history (through {sales_after.isoformat()}): the plan of record counted "
                f"it already; give only later deals", soft=True)
        repairs["sale dated inside the plan's history removed"] = int(earlier.sum())
        ok = ok & ~earlier
    later = ok & (sales["date"] > pd.Timestamp(as_of)).to_numpy(bool)
    rej.add(live[later], date_header, written("date", later),
            f"dated after the review date {as_of.isoformat()}: left out of this review" if sales_after is not None
            else f"dated after as_of {as_of.isoformat()}: left out of the plan", soft=True)
    repairs["sale dated after as_of removed"] = int(later.sum())
    ok = ok & ~later
    negative = ok & (sales["amount"] < 0).to_numpy(bool)
    if data.credit_notes == "reject":
        rej.add(live[negative], raw.header[positions["amount"]], written("amount", negative),
                "credit note (negative amount): rejected by data.credit_notes: reject", soft=True)
        repairs["credit note (negative amount) rejected"] = int(negative.sum())
        ok = ok & ~negative
    else:
        repairs["credit note (negative amount) kept as a return"] = int(negative.sum())
    if roster is not None:
        region = sales["region"]
        blank = region.isna() | (region == "")
        if blank.any():
            home = sales["rep_id"].map(roster.drop_duplicates("rep_id").set_index("rep_id")["region"])
            sales["region"] = region.where(~blank, home).astype("str")
            repairs["region blank: taken from the rep roster"] = int((blank.to_numpy(bool) & ok).sum())
        if data.transfers is not None:  # the rep's region on the sale's date, once the transfers are read
            sales[_org.FILLED] = blank.to_numpy(bool)
    return ok


def _duplicates(frame, ok, live, rej, raw, positions, key, repairs):
    """Reject rows sharing a key; an identical repeat keeps its first line, differing ones go entirely."""
    keys = frame[key]
    candidates = np.flatnonzero(ok)
    dup = np.zeros(len(ok), dtype=bool)
    dup[candidates] = keys.iloc[candidates].duplicated(keep=False).to_numpy(bool)
    if not dup.any():
        return ok
    shown = ", ".join(raw.header[positions[k]] for k in key)
    rows = np.flatnonzero(dup)
    text = raw.frame.iloc[live[rows]].astype(object)
    groups: dict[tuple, list[int]] = {}
    for r, k in zip(rows, map(tuple, keys.iloc[rows].to_numpy())):
        groups.setdefault(k, []).append(r)
    identical = 0
    for k, members in groups.items():
        member_lines = [int(raw.lines[live[r]]) for r in members]
        value = k[0] if len(k) == 1 else " / ".join(map(str, k))
        cells = {tuple(text.loc[live[r]]) for r in members}
        listed = ", ".join(map(str, member_lines))
        if len(cells) == 1:
            rej.add(live[members[1:]], shown, [value] * (len(members) - 1),
                    f"duplicate of line {member_lines[0]} (identical row; {'/'.join(key)} on lines {listed}): "
                    f"the first is kept", soft=True)
            identical += len(members) - 1
            ok[members[1:]] = False
        else:
            rej.add(live[members], shown, [value] * len(members),
                    f"a unique {'/'.join(key)}: the same {'/'.join(key)} is on lines {listed} with different values")
            ok[members] = False
    repairs["identical duplicate row removed"] = identical
    return ok


# --------------------------------------------------------------------------- fingerprints and stages
def input_fingerprints(config) -> dict[str, str]:
    """Return table -> sha256 of what its source holds now.

    A changed input file (or query result) changes the ``inputs`` stage key, so
    the cached stage is not reused.
    """
    out = {}
    for name in TABLE_ORDER:
        source = getattr(config.data, name)
        if source is not None:
            out[name] = _readers.source_fingerprint(source, name, config.resolve)
    return out


def _files_read(config) -> str:
    return json.dumps(input_fingerprints(config), sort_keys=True)


@stage("inputs", config=("data", "as_of"), fingerprint=_files_read)
def inputs_stage(plan) -> Inputs:
    """Load every input table of the plan (see ``load_inputs``)."""
    return load_inputs(plan.config)


@stage("history", needs=("inputs",), config=("as_of", "fiscal", "data.reorg"))
def history_stage(plan) -> pd.DataFrame:
    """Build the monthly panel up to the last closed month (see ``monthly_panel``); a team's series keeps the
    sales made in it (the transfers table) and is re-keyed by ``data.reorg``."""
    tables = plan.get("inputs").tables
    return monthly_panel(tables["sales"], tables["reps"], plan.config.last_closed_month,
                         _org.history_teams(tables, plan.config.data.reorg))
