"""Managers' bottom-up commits: read from one file or a folder of files (one per team), parsed like every
input table, then checked against the plan: the level and entity exist, the period lies in the plan year,
no duplicate, and each entity's rows cover the whole year at one grain. Rows in = rows used + rows rejected.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from planlib.core.errors import DataError
from planlib.core.graph import stage
from planlib.data import load as _load
from planlib.data import readers as _readers

__all__ = ["COMMIT_LEVELS", "CommitRows", "Commits", "check_commits", "commit_files", "read_commits"]

COMMIT_LEVELS = ("region", "team", "rep")
COMMIT_SUFFIXES = (".csv", ".tsv", ".xlsx", ".parquet")
ALL = "All"
_LINE = "\x00line"  # the column that carries each row's line through the generic cleaning
ROW_COLUMNS = ["level", "entity", "product", "period", "amount", "submitted_by", "note", "file", "line"]


@dataclass(frozen=True)
class CommitRows:
    """Commit rows parsed, before they are checked against the plan.

    Attributes
    ----------
    rows : DataFrame
        level, entity, product, period, amount (float, NaN where blank), submitted_by, note, file, line.
    rejects : DataFrame
        table, file, line, column, value, reason (rows the parsing already rejected).
    counts : DataFrame
        file, rows_in (data rows of each file).
    """

    rows: pd.DataFrame
    rejects: pd.DataFrame
    counts: pd.DataFrame


@dataclass(frozen=True)
class Commits:
    """Commits checked against the plan.

    Attributes
    ----------
    rows : DataFrame
        The rows used: level, entity, product, period_type, period, amount, submitted_by, note, file, line.
    annual : DataFrame
        One row per committed entity: level, entity, commit (the plan year), submitted_by, grain
        (e.g. "4 quarters"), files.
    rejects : DataFrame
        table, file, line, column, value, reason: every row not used, with why.
    counts : DataFrame
        file, rows_in, rows_used, rows_rejected (rows_in = rows_used + rows_rejected).
    """

    rows: pd.DataFrame
    annual: pd.DataFrame
    rejects: pd.DataFrame
    counts: pd.DataFrame


def commit_files(source, resolve) -> list[Path]:
    """Return the files of ``data.commits``: its path, or every .csv/.tsv/.xlsx/.parquet file of its folder.

    Raises
    ------
    DataError
        The path does not exist, or the folder holds no commit file.
    """
    if source.path is None:
        return []
    path = resolve(source.path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in COMMIT_SUFFIXES and not p.name.startswith(("~$", ".")))
        if not files:
            raise DataError(f"{path}: data.commits.path is a folder with no commit file (expected "
                            f"{', '.join(COMMIT_SUFFIXES)} files, one per team)")
        return files
    if not path.is_file():
        raise DataError(f"{path.name}: file not found at {path} (data.commits.path)")
    return [path]


def _sources(config):
    source = config.data.commits
    if source is None:
        return []
    if source.sql is not None:
        return [source]
    return [source.model_copy(update={"path": p}) for p in commit_files(source, config.resolve)]


def read_commits(config) -> CommitRows:
    """Read and parse every commits file of ``config.data.commits`` (nothing checked against the plan yet).

    Cells are parsed by the rules of every input table (amounts with thousands separators, blank lines,
    total rows, repeated headers); a blank amount is kept here and rejected by :func:`check_commits`.
    """
    frames, rejects, counts = [], [], []
    for source in _sources(config):
        raw = _readers.read_source(source, "commits", config.resolve)
        frame = raw.frame.copy()
        width = frame.shape[1]
        blank = np.ones(len(frame), dtype=bool)
        header = np.ones(len(frame), dtype=bool)
        for i in range(width):
            blank &= (frame[i] == "").to_numpy(bool)
            header &= (frame[i] == raw.header[i]).to_numpy(bool) if i < len(raw.header) else False
        # The line rides along as one more column; blank and header-again rows keep theirs blank / as header.
        line = pd.Series(raw.lines.astype(str), dtype="str")
        frame[width] = line.where(~blank, "").where(~header, _LINE).to_numpy()
        raw = replace(raw, header=[*raw.header, _LINE], frame=frame)
        cleaned = _load._clean("commits", raw, source, config.data, config.as_of, None)
        out = cleaned.frame
        if len(out):
            out = out.assign(file=raw.label, line=out[_LINE].astype("int64"))
        else:
            out = out.assign(file=pd.Series(dtype="str"), line=pd.Series(dtype="int64"))
        frames.append(out[ROW_COLUMNS])
        rejects.append(cleaned.rejects[_load.REJECT_COLUMNS].assign(
            column=cleaned.rejects["column"].replace({_LINE: None})))
        counts.append((raw.label, cleaned.rows_in))
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ROW_COLUMNS)
    rej = pd.concat(rejects, ignore_index=True) if rejects else pd.DataFrame(columns=_load.REJECT_COLUMNS)
    return CommitRows(rows.reset_index(drop=True), rej.reset_index(drop=True),
                      pd.DataFrame(counts, columns=["file", "rows_in"]))


def _fingerprint(config) -> str:
    sources = _sources(config)
    return json.dumps([_readers.source_fingerprint(s, "commits", config.resolve) for s in sources])


@stage("commit_rows", config=("data", "as_of"), fingerprint=_fingerprint)
def _commit_rows_stage(plan) -> CommitRows:
    return read_commits(plan.config)


# --------------------------------------------------------------------------- checks against the plan
def _listing(values, limit: int = 8) -> str:
    values = list(values)
    shown = ", ".join(map(str, values[:limit]))
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


def check_commits(parsed: CommitRows, *, entities: dict[str, list[str]], periods: dict[str, str],
                  products: list[str], fiscal_year: str) -> Commits:
    """Check parsed commit rows against the plan and total each entity's commit over the plan year.

    Parameters
    ----------
    parsed : CommitRows
        From :func:`read_commits`.
    entities : dict
        Level (region, team, rep) -> the plan's entities of that level.
    periods : dict
        Period label of the plan year ("FY2027", "2027Q1", "2027-01") -> period type (year, quarter, month).
    products : list of str
        The plan's products; a blank product (or "All") means all products.
    fiscal_year : str
        The plan year's label, for messages.

    Returns
    -------
    Commits

    Rules, each rejected row listed with its file, line, column, value and reason: the level is region, team
    or rep; the entity is one of the plan's at that level; the product is the plan's (or blank); the period is
    the year, a quarter or a month of the plan year ("2027" is read as the year); the amount is given and not
    negative; one row per level, entity, product and period; an entity's rows share one period type and one
    product grain (all products, or every product) and cover the whole year (every quarter, or every month).
    """
    rows = parsed.rows.copy()
    rows["product"] = rows["product"].fillna("").astype(str).replace({"": ALL})
    rows["level"] = rows["level"].astype(str).str.strip().str.casefold()
    year_alias = {fiscal_year.removeprefix("FY"): fiscal_year}
    rows["period"] = rows["period"].astype(str).replace(year_alias)
    reasons: list[tuple[int, str, object, str]] = []  # (row position, column, value, reason)
    bad = np.zeros(len(rows), dtype=bool)

    def reject(mask, column, values, reason, *, only_live=True):
        mask = np.asarray(mask, dtype=bool) & (~bad if only_live else True)
        for pos in np.flatnonzero(mask):
            why = reason(pos) if callable(reason) else reason
            reasons.append((pos, column, values.iloc[pos] if hasattr(values, "iloc") else values[pos], why))
        bad[mask] = True

    level_ok = rows["level"].isin(COMMIT_LEVELS).to_numpy(bool)
    reject(~level_ok, "level", parsed.rows["level"], f"expected a level {', '.join(COMMIT_LEVELS)}")
    known = np.array([e in set(entities.get(lv, ())) for lv, e in zip(rows["level"], rows["entity"])], dtype=bool)
    reject(~known, "entity", rows["entity"], lambda p: (
        f"expected a {rows['level'].iloc[p]} of the plan ({_listing(entities.get(rows['level'].iloc[p], []))}): "
        f"this {rows['level'].iloc[p]} is not in the plan"))
    reject(~rows["product"].isin([ALL, *products]).to_numpy(bool), "product", rows["product"],
           f"expected a product of the plan ({_listing(products)}) or blank for all products")
    quarters = sorted(p for p, t in periods.items() if t == "quarter")
    months = sorted(p for p, t in periods.items() if t == "month")
    reject(~rows["period"].isin(list(periods)).to_numpy(bool), "period", parsed.rows["period"],
           f"expected a period of the plan year {fiscal_year}: the year ({fiscal_year}), a quarter "
           f"({quarters[0]}..{quarters[-1]}) or a month ({months[0]}..{months[-1]}); this is outside the plan year"
           if quarters and months else f"expected a period of the plan year {fiscal_year}")
    amount = rows["amount"].to_numpy(float)
    reject(np.isnan(amount), "amount", pd.Series([""] * len(rows)),
           "expected a commit amount (the cell is empty): a row without an amount commits nothing")
    reject(amount < 0, "amount", rows["amount"], "expected a commit of 0 or more")

    key = ["level", "entity", "product", "period"]
    dup = rows[key].duplicated(keep=False).to_numpy(bool) & ~bad
    for _, group in rows[dup].groupby(key, sort=False):
        lines = ", ".join(f"{f} line {ln}" for f, ln in zip(group["file"], group["line"]))
        reject(rows.index.isin(group.index), "period", rows["period"],
               f"expected one commit per level/entity/product/period: the same is given on {lines}")

    rows["period_type"] = rows["period"].map(periods)
    per_type = {"year": 1, "quarter": len(quarters), "month": len(months)}
    for (level, entity), group in rows[~bad].groupby(["level", "entity"], sort=False):
        types = sorted(set(group["period_type"]))
        by_product = sorted(set(group["product"]))
        mixed_grain = ALL in by_product and len(by_product) > 1
        if len(types) > 1 or mixed_grain:
            what = f"period types {types}" if len(types) > 1 else "rows for all products and rows by product"
            reject(rows.index.isin(group.index), "period", rows["period"],
                   f"expected one grain per {level}: {entity} mixes {what}, which would count the commit twice; "
                   f"give the year, or every quarter, or every month, for all products or for each product")
            continue
        missing = [p for p in products if p not in by_product] if ALL not in by_product else []
        if missing:
            reject(rows.index.isin(group.index), "product", rows["product"],
                   f"expected every product when committing by product: {entity} commits {len(by_product)} of "
                   f"{len(products)} (none for {_listing(missing)}); give each product, or one row for all products")
            continue
        need = per_type[types[0]]
        short = {p: len(g) for p, g in group.groupby("product") if len(g) < need}
        if short:
            first = next(iter(short))
            reject(rows.index.isin(group.index), "period", rows["period"],
                   f"expected the whole plan year: {entity} commits {short[first]} of {need} {types[0]}s"
                   + (f" for {first}" if first != ALL else "") + f"; give every {types[0]} (or the year)")

    used = rows[~bad].reset_index(drop=True)
    annual = (used.groupby(["level", "entity"], sort=False)
              .agg(commit=("amount", "sum"), submitted_by=("submitted_by", lambda s: ", ".join(sorted(set(s.dropna().astype(str)) - {""}))),
                   grain=("period_type", lambda s: f"{len(s)} {s.iloc[0]}{'s' if len(s) > 1 else ''}"),
                   files=("file", lambda s: ", ".join(sorted(set(s)))))
              .reset_index()) if len(used) else pd.DataFrame(columns=["level", "entity", "commit", "submitted_by",
                                                                       "grain", "files"])
    order = {lv: i for i, lv in enumerate(COMMIT_LEVELS)}
    annual = annual.sort_values(["level", "entity"], key=lambda s: s.map(order) if s.name == "level" else s,
                                kind="stable").reset_index(drop=True)
    checked = pd.DataFrame([("commits", rows["file"].iloc[p], int(rows["line"].iloc[p]), c, "" if pd.isna(v) else str(v), r)
                            for p, c, v, r in reasons], columns=_load.REJECT_COLUMNS)
    rejects = pd.concat([parsed.rejects, checked], ignore_index=True).sort_values(
        ["file", "line"], kind="stable").reset_index(drop=True)
    rejected_lines = rejects.groupby("file")["line"].nunique()
    used_by_file = used.groupby("file").size()
    counts = parsed.counts.assign(
        rows_used=parsed.counts["file"].map(used_by_file).fillna(0).astype("int64"),
        rows_rejected=parsed.counts["file"].map(rejected_lines).fillna(0).astype("int64"))
    broken = counts[counts["rows_in"] != counts["rows_used"] + counts["rows_rejected"]]
    if len(broken):  # a bug, never a user's error: say which file did not add up
        raise AssertionError(f"commit rows do not add up: {broken.to_dict('records')}")
    return Commits(used[["level", "entity", "product", "period_type", "period", "amount", "submitted_by", "note",
                         "file", "line"]], annual, rejects, counts)
