"""From a CRM export to a config: profile each column, map it onto planlib's fields with the evidence,
and guess what can be guessed (encoding, date order, currency, fiscal year, as_of, the roster).

``planlib init SALES_FILE`` writes the result as an annotated plan.yaml; nothing here writes a file.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from planlib.core.errors import DataError
from planlib.data.parsers import date_order, parse_amount, parse_date
from planlib.data.presets import PRESETS, detect_preset, outcome_of, preset_columns
from planlib.data.readers import decode, read_source

__all__ = ["Guess", "Inference", "ROSTER_SOURCE", "SYNONYMS", "infer_config", "infer_roster", "profile_columns",
           "render_config"]

# planlib field -> header names that mean it, in English and Chinese, most specific first. Matching is on
# the header folded to lower case without spaces, underscores, dashes or brackets.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "date": ("close date", "closed date", "date closed", "closedate", "won date", "order date", "invoice date",
             "成交日期", "签约日期", "下单日期", "成交时间", "签约时间", "订单日期", "日期", "date", "closed"),
    "amount": ("amount", "deal amount", "revenue", "sales", "value", "金额", "合同金额", "成交金额", "订单金额",
               "销售额", "收入"),
    "rep_id": ("deal owner", "opportunity owner", "owner", "sales rep", "salesperson", "rep", "负责人", "销售代表",
               "销售", "业务员", "销售人员", "跟进人"),
    "customer_id": ("customer id", "account id", "customer", "account", "account name", "company", "associated company",
                    "客户编号", "客户", "客户名称", "公司", "客户id"),
    "product": ("product", "product line", "product name", "产品线", "产品", "产品名称", "品类"),
    "region": ("region", "territory", "大区", "区域", "地区", "片区"),
    "deal_id": ("deal id", "record id", "opportunity id", "order id", "order number", "合同编号", "订单号", "订单编号",
                "合同号", "单号"),
    "quantity": ("quantity", "qty", "units", "数量"),
    "stage": ("deal stage", "stage", "阶段", "销售阶段"),
    "probability": ("probability", "probability (%)", "win probability", "赢率", "成交概率"),
}
# Among date columns, these say a deal was won on that day; these only that it was opened.
_CLOSE_WORDS = ("close", "closed", "won", "成交", "签约", "下单", "order", "invoice")
_OPEN_WORDS = ("create", "created", "open", "创建", "录入")
_CURRENCIES = (("￥", "CNY"), ("¥", "CNY"), ("rmb", "CNY"), ("cny", "CNY"), ("元", "CNY"), ("€", "EUR"),
               ("eur", "EUR"), ("£", "GBP"), ("gbp", "GBP"), ("us$", "USD"), ("usd", "USD"), ("$", "USD"))
REQUIRED = ("date", "amount", "rep_id", "customer_id", "product")
# The reps.csv that init writes marks each row with this in a column "source"; page 01 says so while rows keep it.
ROSTER_SOURCE = "inferred from the sales by planlib init"
_CURRENCY_HEADERS = ("currency", "currency code", "deal currency code", "opportunity currency", "币种", "货币")
_DATE_FIELDS = ("date",)
_AMOUNT_FIELDS = ("amount",)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text)).lower()
    return re.sub(r"[\s_\-()（）\[\]]+", "", text)


@dataclass(frozen=True)
class Guess:
    """One planlib field mapped onto a column of the file, and why."""

    field: str
    column: str
    evidence: str


@dataclass
class Inference:
    """What ``infer_config`` found: the mapping with its evidence, the formats, and what it could not guess."""

    path: Path
    encoding: str
    rows: int
    mapping: list[Guess]
    dayfirst: bool | None
    currency: str | None
    currency_evidence: str
    first_date: dt.date
    last_date: dt.date
    as_of: dt.date
    fiscal_year: int
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    preset: str | None = None
    outcomes: dict[str, int] = field(default_factory=dict)

    @property
    def columns(self) -> dict[str, str]:
        """planlib field -> the file's header."""
        return {g.field: g.column for g in self.mapping}


def profile_columns(frame: pd.DataFrame, header: list[str]) -> pd.DataFrame:
    """Return one row per column: how much of it reads as a date or an amount, distinct values, examples.

    Parameters
    ----------
    frame : DataFrame
        The file as text, columns by position (as :func:`planlib.data.readers.read_source` gives it).
    header : list of str
        The file's headers, by position.

    Returns
    -------
    DataFrame
        column, filled, distinct, date_share, date_share_dayfirst, amount_share, examples (up to three),
        last_date (the latest value that reads as a date, or NaT).
    """
    rows = []
    for pos, name in enumerate(header):
        text = frame[pos].astype(str)
        filled = text[text.str.strip() != ""]
        n = max(len(filled), 1)
        monthfirst = parse_date(filled, dayfirst=False).values
        dayfirst = parse_date(filled, dayfirst=True).values
        amounts = parse_amount(filled).values
        best = dayfirst if dayfirst.notna().sum() > monthfirst.notna().sum() else monthfirst
        rows.append({"column": name, "filled": len(filled), "distinct": int(filled.nunique()),
                     "date_share": monthfirst.notna().sum() / n, "date_share_dayfirst": dayfirst.notna().sum() / n,
                     "amount_share": amounts.notna().sum() / n, "examples": list(dict.fromkeys(filled))[:3],
                     "last_date": best.max() if best.notna().any() else pd.NaT})
    return pd.DataFrame(rows)


def _score(header: str, field_name: str) -> tuple[int, int]:
    """How well a header names a field: (2 exact, 1 contains, 0 no), and how specific the synonym is."""
    folded = _fold(header)
    best = (0, 0)
    for rank, word in enumerate(SYNONYMS[field_name]):
        w = _fold(word)
        kind = 2 if folded == w else (1 if w and (w in folded) else 0)
        if kind:
            best = max(best, (kind, len(SYNONYMS[field_name]) - rank))
    return best


def _fits(field_name: str, row: pd.Series) -> tuple[bool, str]:
    """Whether a column's content fits a field, and the evidence in words."""
    n = int(row["filled"])
    if field_name in _DATE_FIELDS:
        share = max(row["date_share"], row["date_share_dayfirst"])
        return share >= 0.95, (f"{round(share * n):,} of {n:,} values read as dates, written like "
                               f"{row['examples'][0] if row['examples'] else '-'}")
    if field_name in _AMOUNT_FIELDS:
        return row["amount_share"] >= 0.95, f"{round(row['amount_share'] * n):,} of {n:,} values read as amounts"
    return n > 0, f"{int(row['distinct']):,} distinct values, e.g. {', '.join(map(str, row['examples']))}"


def _choose(profile: pd.DataFrame) -> tuple[list[Guess], list[str]]:
    taken: set[str] = set()
    guesses, missing = [], []
    for field_name in SYNONYMS:
        candidates = []
        for _, row in profile.iterrows():
            if row["column"] in taken:
                continue
            kind, specific = _score(row["column"], field_name)
            fits, evidence = _fits(field_name, row)
            if kind and fits:
                candidates.append((kind, specific, row, evidence))
        if not candidates:
            if field_name in REQUIRED:
                missing.append(field_name)
            continue
        candidates.sort(key=lambda c: (c[0], c[1]), reverse=True)
        kind, specific, row, evidence = candidates[0]
        why = f"{row['column']} -> {field_name}: {evidence}"
        if field_name == "date" and len(candidates) > 1:
            others = [c[2]["column"] for c in candidates[1:]]
            closing = [c for c in candidates if any(w in _fold(c[2]["column"]) for w in map(_fold, _CLOSE_WORDS))
                       and not any(w in _fold(c[2]["column"]) for w in map(_fold, _OPEN_WORDS))]
            if closing:
                kind, specific, row, evidence = closing[0]
                why = f"{row['column']} -> date: {evidence}; chosen over {', '.join(c for c in others + [candidates[0][2]['column']] if c != row['column'])} because a sale counts on the day it closes, not the day it was opened"
            else:
                why += f"; other date columns {others} name no closing"
        taken.add(row["column"])
        guesses.append(Guess(field_name, row["column"], why))
    return guesses, missing


def _currency(values: pd.Series) -> tuple[str | None, str]:
    text = " ".join(values.astype(str).head(2000)).lower()
    for symbol, code in _CURRENCIES:
        count = text.count(symbol)
        if count:
            return code, f"{count:,} amounts written with {symbol.upper() if symbol.isalpha() else symbol!r}"
    return None, "no currency symbol in the amounts"


def _currency_column(frame: pd.DataFrame, header: list[str]) -> tuple[str | None, str]:
    """A column of ISO currency codes (HubSpot's Currency), when every filled value is one code."""
    for pos, name in enumerate(header):
        if _fold(name) in map(_fold, _CURRENCY_HEADERS):
            codes = frame[pos][frame[pos].str.fullmatch(r"[A-Za-z]{3}")].str.upper()
            if codes.nunique() == 1 and len(codes) == (frame[pos] != "").sum():
                return codes.iloc[0], f"every one of {len(codes):,} deals says {codes.iloc[0]} in {name}"
    return None, ""


def _month_after(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def infer_config(path: str | Path, *, sheet: str | int | None = None) -> Inference:
    """Read a sales export and infer how planlib should read it.

    Parameters
    ----------
    path : str or Path
        A CSV or Excel file of deals (any encoding the readers accept).
    sheet : str or int, optional
        The Excel sheet; default the first.

    Returns
    -------
    Inference
        The mapping with evidence, encoding, date order, currency, the first and last deal, ``as_of`` (the
        first day of the month after the last deal, so that month is the last closed one) and the fiscal
        year (the calendar year after ``as_of``'s when the last deal is in September or later, else its own).

    Raises
    ------
    DataError
        If the file cannot be read or holds no column that reads as dates or as amounts.
    """
    from planlib.core.config_targets import DataSource

    path = Path(path).resolve()
    source = DataSource(path=path, sheet=sheet)
    raw = read_source(source, "sales", lambda p: Path(p))
    encoding = decode(path.read_bytes(), "auto", str(path))[1] if path.suffix.lower() in (".csv", ".txt", ".tsv") \
        else "auto"
    preset = detect_preset(raw.header)
    won = raw.frame
    outcomes: dict[str, int] = {}
    if preset:
        preset_map = preset_columns(preset, raw.header)
        outcome = outcome_of(raw.frame, raw.header, preset, preset_map)
        outcomes = {k: int((outcome == k).sum()) for k in ("won", "open", "lost")}
        won = raw.frame[(outcome == "won").to_numpy()].reset_index(drop=True)
        mapping, missing = _preset_guesses(preset, preset_map, profile_columns(won, raw.header),
                                           profile_columns(raw.frame, raw.header))
    else:
        mapping, missing = _choose(profile_columns(raw.frame, raw.header))
    notes = []
    columns = {g.field: g.column for g in mapping}
    if "date" not in columns:
        raise DataError(f"{path.name}: no column reads as dates (headers: {raw.header}); expected the deals' close "
                        f"date under a header such as 'Close Date' or '成交日期'")
    dayfirst, order_note = date_order(raw.frame[raw.header.index(columns["date"])], columns["date"])
    if order_note:
        notes.append(order_note)
    dates = parse_date(won[raw.header.index(columns["date"])], dayfirst=dayfirst).values.dropna()
    first, last = dates.min().date(), dates.max().date()
    as_of = _month_after(last)
    fiscal_year = as_of.year + 1 if last.month >= 9 else as_of.year
    currency, currency_evidence = (None, "no amount column")
    if "amount" in columns:
        currency, currency_evidence = _currency(raw.frame[raw.header.index(columns["amount"])])
    if currency is None:
        currency, evidence = _currency_column(raw.frame, raw.header)
        currency_evidence = evidence or currency_evidence
    return Inference(path, encoding, len(raw.frame), mapping, dayfirst, currency, currency_evidence, first, last,
                     as_of, fiscal_year, missing, notes, preset, outcomes)


def _preset_guesses(preset: str, columns: dict[str, str], profile: pd.DataFrame,
                    profile_all: pd.DataFrame) -> tuple[list[Guess], list[str]]:
    """The preset's headers as guesses, each with the evidence of the won deals' content (the stage's and the
    probability's: of every deal)."""
    spec = PRESETS[preset]
    won_rows, all_rows = profile.set_index("column"), profile_all.set_index("column")
    guesses = []
    for field_name, header in columns.items():
        if field_name in ("won", "closed"):
            continue
        rows = all_rows if field_name in ("stage", "probability") else won_rows
        fits, evidence = _fits(field_name, rows.loc[header]) if field_name in SYNONYMS else (True, "")
        why = f"{header} -> {field_name}: the {spec.label}'s header" + (f"; {evidence}" if evidence else "")
        if spec.notes and field_name in spec.notes and header in spec.columns[field_name][-1:]:
            why += f" ({spec.notes[field_name]})"
        if not fits:
            why += " - check it: the content does not read as expected"
        guesses.append(Guess(field_name, header, why))
    return guesses, [f for f in REQUIRED if f not in columns]


def infer_roster(sales: pd.DataFrame, *, as_of: dt.date, leaver_months: int = 6,
                 pipeline_owners: tuple[str, ...] | list[str] = ()) -> pd.DataFrame:
    """Build a reps table from the deal owners seen: hire date = first deal, leaver = no deal for months.

    Parameters
    ----------
    sales : DataFrame
        rep_id, date (datetime), and region where known: the closed deals up to ``as_of``.
    as_of : date
        The plan date; an owner with no deal in the ``leaver_months`` before it has left on their last deal,
        unless they own an open deal.
    leaver_months : int, default 6
    pipeline_owners : sequence of str
        Owners of open deals: never leavers; one with no closed deal yet is taken as hired on ``as_of``.

    Returns
    -------
    DataFrame
        rep_id, name (the owner as written), team and region (the owner's most common region, else "All"),
        hire_date (first deal), exit_date (last deal for leavers, else blank), fte 1, source (``ROSTER_SOURCE``),
        one row per owner, sorted.
    """
    cutoff = pd.Timestamp(as_of) - pd.DateOffset(months=leaver_months)
    active = set(pipeline_owners)
    rows = []
    for rep, deals in sales.groupby("rep_id", sort=True):
        region = "All"
        if "region" in deals and deals["region"].notna().any():
            counts = deals["region"].dropna().astype(str).value_counts()
            region = sorted(counts[counts == counts.max()].index)[0]  # ties by name: never by position in the file
        last = deals["date"].max()
        rows.append({"rep_id": rep, "name": rep, "team": region, "region": region,
                     "hire_date": deals["date"].min().date().isoformat(),
                     "exit_date": last.date().isoformat() if last < cutoff and rep not in active else "", "fte": 1,
                     "source": ROSTER_SOURCE})
    for rep in sorted(active - set(sales["rep_id"])):
        rows.append({"rep_id": rep, "name": rep, "team": "All", "region": "All", "hire_date": as_of.isoformat(),
                     "exit_date": "", "fte": 1, "source": ROSTER_SOURCE})
    columns = ["rep_id", "name", "team", "region", "hire_date", "exit_date", "fte", "source"]
    return pd.DataFrame(rows, columns=columns).sort_values("rep_id", kind="stable", ignore_index=True)


def render_config(found: Inference, *, config_dir: Path, reps_path: Path | None, roster_inferred: bool) -> str:
    """Return the annotated plan.yaml for what ``infer_config`` found (every guess with its evidence)."""
    def rel(p: Path) -> str:  # relative to the config, as config paths are read
        return Path(os.path.relpath(p.resolve(), config_dir.resolve())).as_posix()

    def q(text: str) -> str:
        return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f"# planlib config inferred by `planlib init` from {found.path.name} ({found.rows:,} rows).",
             "# Every guess says why; check each, then run: planlib plan --config <this file>", "",
             "company:", f"  name: {q(found.path.stem)}   # a guess from the file name: put your company's name"]
    if found.currency:
        lines.append(f"  currency: {found.currency}   # {found.currency_evidence}")
    else:
        lines.append(f"  # currency: USD   # not guessed ({found.currency_evidence}): give yours")
    country = {"CNY": "CN", "USD": "US", "EUR": "DE", "GBP": "GB"}.get(found.currency or "", "US")
    lines += [f"  # country: {country}   # public holidays of this country shape the working-day split; none when "
              "left out", "",
              "fiscal:", f"  year: {found.fiscal_year}   # the year after the data's last deal ({found.last_date})",
              "", f"as_of: {found.as_of.isoformat()}   # the month of the last deal is the last closed month", "",
              "data:", "  sales:", f"    path: {q(rel(found.path))}",
              f"    encoding: {found.encoding}   # as read"]
    if found.dayfirst is not None:
        lines.append(f"    dayfirst: {str(found.dayfirst).lower()}   # " + found.notes[0])
    elif found.notes:
        lines.append("    # dayfirst: true   # " + found.notes[0])
    if found.preset:
        spec = PRESETS[found.preset]
        o = found.outcomes
        lines += [f"    preset: {found.preset}   # the headers of a {spec.label} ({', '.join(spec.signature)}): "
                  f"{o['won']:,} won deals are the sales, {o['open']:,} open deals the pipeline, {o['lost']:,} "
                  "lost deals are counted, not used",
                  "    # The preset reads these headers; to read another, name it under columns: (e.g. "
                  "columns: {product: \"Product line\"})"]
        for guess in found.mapping:
            lines.append(f"    #   {guess.field}: {q(guess.column)}   # {guess.evidence}")
        for missing in found.missing:
            lines.append(f"    # columns: {{{missing}: ???}}   # no header of the export holds {missing}: name it")
    else:
        lines.append("    columns:")
        for guess in found.mapping:
            if guess.field in ("stage", "probability"):
                continue  # the sales table has no such column; a pipeline export would
            lines.append(f"      {guess.field}: {q(guess.column)}   # {guess.evidence}")
        for missing in found.missing:
            lines.append(f"      # {missing}: ???   # no column reads as {missing}: name the header that holds it")
    lines += ["  reps:", f"    path: {q(rel(reps_path))}" if reps_path else "    # path: reps.csv"]
    if roster_inferred:
        lines.append("    # roster inferred from the sales: one rep per owner, hired on their first deal, left on their "
                     "last when it is over six months before as_of and they own no open deal; complete team, region "
                     "and dates in that file, and clear a row's source once it is right (page 01 says how many "
                     "rows are still inferred)")
    return "\n".join(lines) + "\n"
