"""Vectorised parsers that turn text columns into typed ones, explaining every value they refuse.

Each parser takes a str Series of non-blank, stripped values and returns a
``Parsed``: the typed values, a reason for each refused value, and counts of
soft repairs (a currency symbol stripped, a two-digit year read by the rule).
The common form of a column (ISO dates, plain numbers) takes a fast path over
the whole column; only the rest goes through the general rules.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "DATE_FORMS", "Parsed", "date_order", "escape_control", "parse_amount", "parse_date", "parse_id", "parse_int", "parse_number",
    "parse_rate", "parse_text", "window_year",
]

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def escape_control(value: object) -> object:
    """Return text with each control character written out as an escape (NUL as the four characters ``\\x00``).

    A rejected value is shown as the file has it, but a raw NUL, escape sequence or line break in
    rejects.csv would break the tools that read it (and a terminal that shows it); tab, LF and CR
    become ``\\t``, ``\\n``, ``\\r``, the rest of C0, DEL and C1 ``\\xNN``, and U+2028/U+2029
    ``\\u2028``/``\\u2029``. Anything that is not text is returned as it is.

    >>> escape_control("12\x003"), escape_control("a\tb"), escape_control(5)
    ('12\\x003', 'a\\tb', 5)
    """
    if not isinstance(value, str) or not _CONTROL.search(value):
        return value
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(), f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                                            else f"\\u{ord(m.group()):04x}"), value)


DATE_FORMS = "YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD, YYYY年M月D日, DD.MM.YYYY, DD/MM/YYYY or MM/DD/YYYY"
MIN_YEAR, MAX_YEAR = 1900, 2199


@dataclass
class Parsed:
    """Result of parsing one column: values (same index), reasons for refused values, repair counts."""

    values: pd.Series
    bad: pd.Series
    repairs: dict[str, int] = field(default_factory=dict)


def _no_bad(index=None) -> pd.Series:
    return pd.Series([], index=pd.Index([], dtype=index.dtype if index is not None else "int64"), dtype=object)


# --------------------------------------------------------------------------- text and ids
def parse_text(s: pd.Series) -> Parsed:
    """Keep text as written (already stripped): "NA" stays "NA", "00123" stays "00123"."""
    return Parsed(s, _no_bad(s.index))


_SCIENTIFIC = r"[-+]?[0-9]+(?:[.,][0-9]+)?[eE][-+]?[0-9]+"


def parse_id(s: pd.Series) -> Parsed:
    """Keep identifiers as text; refuse ones in scientific notation, whose digits are already lost."""
    sci = s.str.fullmatch(_SCIENTIFIC)
    bad = pd.Series("an identifier as text: this one is in scientific notation, so a spreadsheet has "
                    "already dropped digits; export the column as text", index=s.index[sci.to_numpy(bool)],
                    dtype=object)
    return Parsed(s, bad)


# --------------------------------------------------------------------------- numbers
def _number_regex(thousands: str, decimal: str) -> str:
    dec = re.escape(decimal)
    if thousands and not thousands.isspace():
        th = re.escape(thousands)
        return rf"(?:[0-9]{{1,3}}(?:{th}[0-9]{{3}})+|[0-9]+)(?:{dec}[0-9]+)?"
    return rf"[0-9]+(?:{dec}[0-9]+)?"


_AMOUNT = re.compile(
    r"^(?P<open>\()?\s*(?P<sign>[-+\u2212])?\s*(?P<pre>[¥￥$€£]|RMB|CNY|USD|EUR|GBP)?\s*(?P<sign2>[-+\u2212])?\s*"
    r"(?P<num>[0-9][0-9\s.,'\u00a0\u202f]*?)\s*(?P<post>[¥￥$€£元]|RMB|CNY|USD|EUR|GBP)?\s*(?P<pct>%)?\s*"
    r"(?P<close>\))?$",
    re.IGNORECASE,
)
_SPACES = re.compile(r"[\s\u00a0\u202f]")


def _to_float(s: pd.Series, thousands: str, decimal: str, *, percent: bool, currency: bool,
              expected: str) -> tuple[pd.Series, pd.Series, int]:
    """Parse numbers; return (values, reasons for refused, number repaired by the general rules)."""
    dec = re.escape(decimal)
    plain = s.str.fullmatch(rf"[-+]?[0-9]+(?:{dec}[0-9]+)?").to_numpy(bool)
    values = pd.Series(np.nan, index=s.index, dtype="float64")
    fast = s[plain]
    if decimal != ".":
        fast = fast.str.replace(decimal, ".", regex=False)
    values[plain] = fast.astype("float64").to_numpy()
    rest = s[~plain]
    if rest.empty:
        return values, _no_bad(s.index), 0
    number = re.compile(rf"^{_number_regex(thousands, decimal)}$")
    out, reasons = {}, {}
    for idx, text in rest.astype(object).items():
        m = _AMOUNT.match(text)
        num = _SPACES.sub("", m["num"]) if m else ""
        ok = (m is not None and bool(m["open"]) == bool(m["close"]) and not (m["sign"] and m["sign2"])
              and not (m["open"] and (m["sign"] or m["sign2"])) and number.match(num) is not None
              and (currency or not (m["pre"] or m["post"])) and (percent or not m["pct"])
              and not (m["pct"] and (m["pre"] or m["post"])))
        if not ok:
            reasons[idx] = expected
            continue
        value = float((num.replace(thousands, "") if thousands else num).replace(decimal, "."))
        if m["open"] or (m["sign"] or m["sign2"]) in ("-", "\u2212"):
            value = -value
        out[idx] = value / 100.0 if m["pct"] else value
    if out:
        values.loc[list(out)] = list(out.values())
    return values, pd.Series(reasons, dtype=object), len(out)


def parse_amount(s: pd.Series, *, thousands: str = ",", decimal: str = ".") -> Parsed:
    """Parse money: currency symbols and codes (Salesforce writes "USD 1,234.56"), spaces, thousands separators
    and (parentheses) are understood."""
    expected = (f"an amount such as 1{thousands}234{decimal}50 (¥ ￥ $ € £ RMB CNY USD EUR GBP, thousands separator "
                f"{thousands!r}, decimal {decimal!r} and (parentheses) for negatives are understood)")
    values, bad, repaired = _to_float(s, thousands, decimal, percent=False, currency=True, expected=expected)
    return Parsed(values, bad, {"amount written with a currency symbol, separators or parentheses": repaired})


def parse_number(s: pd.Series, *, thousands: str = ",", decimal: str = ".") -> Parsed:
    """Parse a plain number (thousands separators allowed, no currency, no percent)."""
    expected = f"a number such as 1{thousands}234{decimal}5"
    values, bad, repaired = _to_float(s, thousands, decimal, percent=False, currency=False, expected=expected)
    return Parsed(values, bad, {"number written with thousands separators": repaired})


def parse_rate(s: pd.Series, *, thousands: str = ",", decimal: str = ".", bounded: bool = False) -> Parsed:
    """Parse a rate written as a fraction (0.35) or a percent (35%); ``bounded`` requires 0..1."""
    expected = (f"a fraction between 0 and 1 or a percent such as 35%" if bounded
                else f"a rate as a fraction such as 0{decimal}05 or a percent such as 5%")
    values, bad, repaired = _to_float(s, thousands, decimal, percent=True, currency=False, expected=expected)
    if bounded:
        out = (values < 0) | (values > 1)
        out_idx = values.index[out.to_numpy(bool)].difference(bad.index)
        bad = pd.concat([bad, pd.Series(expected, index=out_idx, dtype=object)])
    return Parsed(values, bad, {"rate written as a percent": repaired})


def parse_int(s: pd.Series, *, thousands: str = ",", decimal: str = ".") -> Parsed:
    """Parse whole numbers; "1,200" and "12.0" are accepted, "12.5" and "1.2E+03" are not."""
    expected = "a whole number such as 12"
    plain = s.str.fullmatch(r"[-+]?[0-9]{1,18}").to_numpy(bool)
    values = pd.Series(pd.NA, index=s.index, dtype="Int64")
    values[plain] = pc.cast(pa.array(s[plain]), pa.int64()).to_numpy()
    rest = s[~plain]
    if rest.empty:
        return Parsed(values, _no_bad(s.index))
    floats, bad, _ = _to_float(rest, thousands, decimal, percent=False, currency=False, expected=expected)
    ok = floats.notna() & (floats == floats.round()) & (floats.abs() < 1e15)
    bad = pd.concat([bad, pd.Series(expected, index=floats.index[(floats.notna() & ~ok).to_numpy(bool)],
                                    dtype=object)])
    values.loc[ok[ok].index] = floats[ok].astype("int64").to_numpy()
    return Parsed(values, bad, {"whole number written with separators or .0": int(ok.sum())})


# --------------------------------------------------------------------------- dates
_TIME = r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
_YEAR_FIRST = (
    rf"^(?P<y>[0-9]{{4}})(?P<sep>[-/.])(?P<m>[0-9]{{1,2}})(?P=sep)(?P<d>[0-9]{{1,2}}){_TIME}$",
    r"^(?P<y>[0-9]{4})\s*年\s*(?P<m>[0-9]{1,2})\s*月\s*(?P<d>[0-9]{1,2})\s*日?$",
    r"^(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})$",
)
_YEAR_LAST = rf"^(?P<a>[0-9]{{1,2}})(?P<sep>[-/.])(?P<b>[0-9]{{1,2}})(?P=sep)(?P<y>[0-9]{{4}}|[0-9]{{2}}){_TIME}$"


def window_year(two_digit: np.ndarray, window_start: int) -> np.ndarray:
    """Map two-digit years into the 100 years from ``window_start`` (1950: 24 -> 2024, 68 -> 1968)."""
    return window_start + (two_digit - window_start) % 100


def parse_date(s: pd.Series, *, date_format: str | None = None, dayfirst: bool | None = None,
               two_digit_years: int | None = None) -> Parsed:
    """Parse dates value by value, accepting every unambiguous form in one column.

    Rules, in order: ``date_format`` when given; then year-first forms (ISO,
    YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD, 2024年3月5日); then day/month forms:
    DD.MM.YYYY is day-first; with / or - a part above 12 decides the order, and
    when both could be the month the table's ``dayfirst`` (or the order of %d
    and %m in ``date_format``) decides, else the value is refused as ambiguous.
    A two-digit year is refused unless ``two_digit_years`` names the first year
    of a 100-year window (1950: 24 -> 2024, 68 -> 1968); it is never guessed.
    Times of day are dropped. Years outside 1900-2199 are refused.
    """
    values = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    repairs: dict[str, int] = {}
    reasons = [pd.Series([], dtype=object)]
    first = pd.to_datetime(s, format=date_format or "%Y-%m-%d", errors="coerce")
    hit = first.notna().to_numpy()
    year = first.dt.year.to_numpy(dtype="float64")
    if date_format and "%y" in date_format and hit.any():
        # strptime reads %y as 1969-2068; the configured window decides instead
        wanted = window_year(year[hit].astype(np.int64) % 100, two_digit_years)
        shift = wanted - year[hit].astype(np.int64)
        first = first.copy()
        first[hit] = [t.replace(year=t.year + int(k)) for t, k in zip(first[hit], shift)]
        year[hit] = wanted
        repairs["two-digit year read by the two_digit_years rule"] = int(hit.sum())
    out = hit & ((year < MIN_YEAR) | (year > MAX_YEAR))
    if out.any():
        reasons.append(pd.Series(f"a year between {MIN_YEAR} and {MAX_YEAR}", index=s.index[out], dtype=object))
    ok = hit & ~out
    values[ok] = first[ok].dt.normalize().astype("datetime64[ns]").to_numpy()
    if date_format and dayfirst is None:
        dayfirst = date_format.find("%d") < date_format.find("%m")
    rest = s[~hit].astype(object)
    if not rest.empty:
        general, bad, more = _parse_general_dates(rest, dayfirst, two_digit_years, date_format)
        good = general.notna().to_numpy()
        values.loc[general.index[good]] = general[good].to_numpy()
        reasons.append(bad)
        for k, v in more.items():
            repairs[k] = repairs.get(k, 0) + v
    return Parsed(values, pd.concat(reasons), repairs)


def _parse_general_dates(rest: pd.Series, dayfirst, two_digit_years, date_format):
    """Parse values that are not in the main form; return (values, reasons, repairs)."""
    n = len(rest)
    year, month, day = (np.zeros(n, np.int64) for _ in range(3))
    matched = np.zeros(n, bool)
    reason = np.full(n, "", dtype=object)
    for pattern in _YEAR_FIRST:
        parts = rest.str.extract(pattern)
        m = parts["y"].notna().to_numpy() & ~matched
        if m.any():
            year[m], month[m], day[m] = (parts[k][m].astype(int).to_numpy() for k in ("y", "m", "d"))
            matched |= m
    repairs = {}
    parts = rest.str.extract(_YEAR_LAST)
    m = parts["y"].notna().to_numpy() & ~matched
    if m.any():
        a = parts["a"].fillna("0").astype(int).to_numpy()
        b = parts["b"].fillna("0").astype(int).to_numpy()
        ytext = parts["y"].fillna("").astype(object).to_numpy()
        dot = (parts["sep"] == ".").to_numpy(bool)
        day_first = m & (dot | ((a > 12) & (b <= 12)))
        month_first = m & ~dot & (b > 12) & (a <= 12)
        either = m & ~day_first & ~month_first & (a <= 12) & (b <= 12)
        same = either & (a == b)
        ambiguous = either & ~same
        if dayfirst is not None:
            (day_first if dayfirst else month_first)[ambiguous] = True
        else:
            reason[ambiguous] = ("an unambiguous date: day and month could be either way round; set the "
                                 "table's dayfirst (true or false) or date_format")
        neither = m & ~day_first & ~month_first & ~either
        reason[neither] = "a real calendar date (neither part can be the month)"
        for mask, d_src, m_src in ((day_first, a, b), (month_first, b, a), (same, a, a)):
            day[mask], month[mask] = d_src[mask], m_src[mask]
        two = m & np.array([len(v) == 2 for v in ytext], dtype=bool)
        full = np.array([int(v) if v else 0 for v in ytext], dtype=np.int64)
        if two.any():
            if two_digit_years is None:
                reason[two & (reason == "")] = (
                    "a four-digit year: a two-digit year is ambiguous (is 68 1968 or 2068?); write years "
                    "in full or set the table's two_digit_years (e.g. 1950 reads 24 as 2024, 68 as 1968)")
            else:
                full[two] = window_year(full[two], two_digit_years)
                repairs["two-digit year read by the two_digit_years rule"] = int((two & (reason == "")).sum())
        year[m] = full[m]
        matched |= m
    unmatched = ~matched
    expected = f"a date such as {DATE_FORMS}" + (f" or {date_format!r}" if date_format else "")
    reason[unmatched] = expected
    in_range = (year >= MIN_YEAR) & (year <= MAX_YEAR)
    reason[matched & (reason == "") & ~in_range] = f"a year between {MIN_YEAR} and {MAX_YEAR}"
    todo = reason == ""
    built = pd.to_datetime(pd.DataFrame({"year": np.where(todo, year, 2000), "month": np.where(todo, month, 1),
                                         "day": np.where(todo, day, 1)}), errors="coerce")
    built_ok = built.notna().to_numpy()
    reason[todo & ~built_ok] = "a real calendar date (no such day)"
    ok = todo & built_ok
    values = pd.Series(np.datetime64("NaT", "ns"), index=rest.index, dtype="datetime64[ns]")
    values[ok] = built[ok].astype("datetime64[ns]").to_numpy()
    repairs["date not in ISO form read by rule (day/month order, year-first, 年月日)"] = int(ok.sum())
    bad = reason != ""
    return values, pd.Series(reason[bad], index=rest.index[bad], dtype=object), repairs


def date_order(values: pd.Series, column: str) -> tuple[bool | None, str]:
    """Return whether dd/mm dates are day-first, from the values whose day is above 12, and why."""
    parts = values.astype(str).str.extract(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-]\d{2,4}").dropna().astype(int)
    if parts.empty:
        return None, ""
    day_first, month_first = int((parts[0] > 12).sum()), int((parts[1] > 12).sum())
    if day_first and not month_first:
        return True, f"dates in {column} are day-first: {day_first:,} have a first part above 12, none a second"
    if month_first and not day_first:
        return False, f"dates in {column} are month-first: {month_first:,} have a second part above 12, none a first"
    return None, (f"dates in {column} could be either order ({day_first:,} day-first, {month_first:,} month-first "
                  "by their parts above 12): set dayfirst")
