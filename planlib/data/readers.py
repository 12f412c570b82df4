"""Raw readers behind planlib.data: every source (CSV, Excel, Parquet, SQL) read as text.

Each reader returns a ``RawTable``: the header as written, every data row as
strings, the line a user sees each row on, and the rows that are broken as a
whole (wrong number of fields). Parsing values is the job of planlib._parsers.
"""
from __future__ import annotations

import csv
import datetime as dt
import decimal
import gc
import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from planlib.core.errors import DataError

__all__ = [
    "CSV_SUFFIXES", "EXCEL_SUFFIXES", "PARQUET_SUFFIXES", "RawTable", "cell_text", "decode", "file_sha256",
    "read_csv_bytes", "read_source", "source_fingerprint", "source_label", "sql_url",
]

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")


@dataclass
class RawTable:
    """One source read as text.

    ``frame`` has one str column per header field, named by position (0, 1, ...),
    already stripped of surrounding whitespace; ``lines`` gives for each of its
    rows the line a user sees it on (header = line 1 in a CSV, Excel row number,
    record number + 1 for Parquet and SQL). ``broken`` lists rows that could not
    be split into the header's fields: (line, text, reason).
    """

    label: str
    sha256: str
    header: list[str]
    frame: pd.DataFrame
    lines: np.ndarray
    broken: list[tuple[int, str, str]] = field(default_factory=list)
    blank_lines: int = 0
    empty_reason: str = ""


# --------------------------------------------------------------------------- entry points
def source_label(source, table: str) -> str:
    """Return the name a user knows a source by: the file name, or ``sql:<url>`` (password hidden)."""
    if source.sql is not None:
        from sqlalchemy.engine import make_url

        try:
            url = make_url(source.sql.url).render_as_string(hide_password=True)
        except Exception:  # an unparsable URL is reported when it is used
            url = "(invalid url)"
        return f"sql:{url}"
    name = Path(source.path).name
    return f"{name}[{source.sheet}]" if source.sheet is not None else name


def read_source(source, table: str, resolve) -> RawTable:
    """Read the table ``table`` from ``source`` (a config DataSource) as text.

    ``resolve`` turns a config path into an absolute one. Raises DataError for
    problems of the whole source: not found, undecodable, unknown format.
    """
    label = source_label(source, table)
    if source.sql is not None:
        return _read_sql(source.sql, label, resolve, table)
    path = resolve(source.path)
    if not path.is_file():
        raise DataError(f"{label}: file not found at {path} (data.{table}.path)")
    fmt = _format_of(source, path, label, table)
    if fmt == "excel":
        return _read_excel(path, source.sheet, label, file_sha256(path))
    if fmt == "parquet":
        return _read_parquet(path, label, file_sha256(path))
    raw = path.read_bytes()
    delimiter = "\t" if (source.delimiter == "," and path.suffix.lower() == ".tsv") else source.delimiter
    return read_csv_bytes(raw, label, encoding=source.encoding, delimiter=delimiter)


def source_fingerprint(source, table: str, resolve) -> str:
    """Return the sha256 of what ``source`` holds now (file bytes, or the query's result)."""
    if source.sql is not None:
        return _read_sql(source.sql, source_label(source, table), resolve, table).sha256
    path = resolve(source.path)
    if not path.is_file():
        raise DataError(f"{source_label(source, table)}: file not found at {path} (data.{table}.path)")
    return file_sha256(path)


_SHA_CACHE: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, remembered per (path, mtime, size) within the process."""
    st = os.stat(path)
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key not in _SHA_CACHE:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                h.update(block)
        _SHA_CACHE[key] = h.hexdigest()
    return _SHA_CACHE[key]


def _format_of(source, path: Path, label: str, table: str) -> str:
    if source.format != "auto":
        return source.format
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in EXCEL_SUFFIXES:
        return "excel"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix == ".xls":
        raise DataError(f"{label}: the legacy .xls format cannot be read; save it as .xlsx or CSV")
    raise DataError(f"{label}: cannot tell the format from the suffix {suffix!r}; "
                    f"set data.{table}.format to csv, excel or parquet")


# --------------------------------------------------------------------------- decoding
def decode(raw: bytes, encoding: str, label: str) -> tuple[str, str]:
    """Decode ``raw`` strictly and return (text, codec used).

    ``auto`` tries UTF-8 (a BOM is dropped) and then GB18030, a superset of GBK
    and GB2312. Nothing is ever replaced: an undecodable byte is a DataError that
    names its offset.
    """
    if encoding.lower().replace("_", "-") != "auto":
        try:
            return raw.decode(encoding, errors="strict").removeprefix("\ufeff"), encoding
        except LookupError:
            raise DataError(f"{label}: unknown encoding {encoding!r}; use auto or a Python codec name "
                            f"such as utf-8, gb18030, big5, cp1252") from None
        except UnicodeDecodeError as exc:
            raise DataError(f"{label}: cannot be decoded as {encoding}: byte offset {exc.start} "
                            f"(bytes {raw[exc.start:exc.start + 4]!r}) is not valid {encoding}") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(f"{label}: the file is UTF-16 (it starts with a UTF-16 byte order mark); "
                        f"set its encoding to utf-16 or save it as UTF-8")
    try:
        return raw.decode("utf-8-sig", errors="strict"), "utf-8"
    except UnicodeDecodeError as exc_utf8:
        if raw.startswith(b"\xef\xbb\xbf"):
            raise DataError(f"{label}: starts with a UTF-8 byte order mark but byte offset "
                            f"{exc_utf8.start} is not valid UTF-8") from None
        try:
            return raw.decode("gb18030", errors="strict"), "gb18030"
        except UnicodeDecodeError as exc_gb:
            raise DataError(
                f"{label}: cannot be decoded: not UTF-8 (byte offset {exc_utf8.start}, "
                f"{raw[exc_utf8.start:exc_utf8.start + 4]!r}) and not GB18030/GBK (byte offset "
                f"{exc_gb.start}, {raw[exc_gb.start:exc_gb.start + 4]!r}); set the table's encoding "
                f"to the codec the file was saved in") from None


# --------------------------------------------------------------------------- CSV
def read_csv_bytes(raw: bytes, label: str, *, encoding: str = "auto", delimiter: str = ",",
                   quotechar: str = '"') -> RawTable:
    """Read CSV bytes as text with each record's line number; rows with the wrong field count are broken.

    A vectorised scan of the bytes finds each record's start line and field
    count; pyarrow then splits the fields. If the two disagree (a stray quote
    inside an unquoted field, say) the file is read again with the csv module,
    which is slower but is the reference.
    """
    sha = hashlib.sha256(raw).hexdigest()
    text, codec = decode(raw, encoding, label)
    data = raw.removeprefix(b"\xef\xbb\xbf") if codec == "utf-8" else text.encode("utf-8")
    del text
    if len(delimiter.encode()) != 1:
        raise DataError(f"{label}: the delimiter must be one ASCII character, got {delimiter!r}")
    scan = _scan_records(data, delimiter.encode(), quotechar.encode())
    fast = _split_with_pyarrow(data, scan, label, sha, delimiter, quotechar) if scan.regular else None
    return fast if fast is not None else _read_csv_module(data, label, sha, delimiter, quotechar)


@dataclass
class _Scan:
    starts: np.ndarray      # byte offset where each record starts
    ends: np.ndarray        # byte offset where each record's content ends (terminator excluded)
    lines: np.ndarray       # physical line (1-based) on which each record starts
    fields: np.ndarray      # number of fields of each record
    quoted_newlines: bool   # some field holds a line break
    regular: bool = True    # every quote opens or closes a quoted field (no stray quote inside a field)


def _scan_records(data: bytes, delim: bytes, quote: bytes) -> _Scan:
    a = np.frombuffer(data, dtype=np.uint8)
    n = len(a)
    lf = np.flatnonzero(a == 10)
    # bytes.find is a memchr: far cheaper than a full comparison pass when the byte is absent
    cr = np.flatnonzero(a == 13) if b"\r" in data else np.empty(0, np.int64)
    if len(cr):  # "\r\n" ends a line at its "\n"; a lone "\r" ends one too (the csv module agrees)
        after = np.minimum(cr + 1, n - 1)
        lone = cr[(cr + 1 >= n) | (a[after] != 10)]
        terms = np.union1d(lf, lone)
    else:
        terms = lf
    delims = np.flatnonzero(a == delim[0])
    quotes = np.flatnonzero(a == quote[0]) if quote in data else np.empty(0, np.int64)
    quoted_newlines = False
    if len(quotes):
        # Quote chars pair up into quoted spans ("" escapes make an empty span between them, which
        # holds nothing); delimiters and line breaks inside a span are data, not structure.
        span_start = quotes[0::2]
        span_end = np.append(quotes[1::2], n) if len(quotes) % 2 else quotes[1::2]
        # A span opens at a field start and closes at a field end; next to a quote is a "" escape.
        edges = np.array([delim[0], 10, 13, quote[0]], dtype=np.uint8)
        before = a[np.maximum(span_start - 1, 0)]
        after = a[np.minimum(span_end + 1, n - 1)]
        regular = bool(np.all((span_start == 0) | np.isin(before, edges))
                       and np.all((span_end < n) & ((span_end + 1 >= n) | np.isin(after, edges))))
        inside_t = _inside(terms, span_start, span_end)
        quoted_newlines = bool(inside_t.any())
        rec_terms = terms[~inside_t]
        delims = delims[~_inside(delims, span_start, span_end)]
    else:
        rec_terms, regular = terms, True
    starts = np.concatenate(([0], rec_terms + 1)).astype(np.int64)
    ends = np.concatenate((rec_terms, [n])).astype(np.int64)
    if len(cr):
        crlf = (ends > starts) & (ends < n) & (a[np.minimum(ends, n - 1)] == 10) & (a[np.maximum(ends - 1, 0)] == 13)
        ends = ends - crlf.astype(np.int64)
    if starts[-1] >= n:  # the text after the final line break is not a record
        starts, ends = starts[:-1], ends[:-1]
    lines = np.searchsorted(terms, starts) + 1
    # delimiters before each record start; a record's count is the difference to the next start
    before = np.searchsorted(delims, np.append(starts, n))
    fields = np.diff(before) + 1
    return _Scan(starts, ends, lines.astype(np.int64), fields.astype(np.int64), quoted_newlines, regular)


def _inside(positions: np.ndarray, span_start: np.ndarray, span_end: np.ndarray) -> np.ndarray:
    """Mask of the sorted ``positions`` that fall strictly inside one of the spans (sorted, disjoint)."""
    lo = np.searchsorted(positions, span_start, side="right")
    hi = np.searchsorted(positions, span_end, side="left")
    marks = np.zeros(len(positions) + 1, dtype=np.int32)
    np.add.at(marks, lo, 1)
    np.add.at(marks, hi, -1)
    return np.cumsum(marks[:-1]) > 0


def _is_blank(data: bytes, start: int, end: int, delim: bytes) -> bool:
    return not data[start:end].replace(delim, b"").strip()


def _parse_header(data: bytes, start: int, end: int, delimiter: str, quotechar: str) -> list[str]:
    text = data[start:end].decode("utf-8")
    row = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quotechar), [])
    return [h.strip().removeprefix("\ufeff").strip() for h in row]


def _split_with_pyarrow(data, scan: _Scan, label, sha, delimiter, quotechar) -> RawTable | None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    delim = delimiter.encode()
    # Records with a single field may be whitespace-only lines: blank to a reader.
    candidates = np.flatnonzero(scan.fields == 1)
    blank = scan.ends == scan.starts
    for i in candidates[~blank[candidates]]:
        blank[i] = _is_blank(data, scan.starts[i], scan.ends[i], delim)
    nonblank = np.flatnonzero(~blank)
    if not len(nonblank):
        return RawTable(label, sha, [], _empty_frame(0), np.empty(0, np.int64), [], int(len(blank)),
                        "the file is empty")
    h = nonblank[0]
    header = _parse_header(data, scan.starts[h], scan.ends[h], delimiter, quotechar)
    ncols = len(header)
    body = np.arange(h + 1, len(scan.starts))
    body_blank = blank[body]
    good = body[(scan.fields[body] == ncols) & ~body_blank]
    bad = body[(scan.fields[body] != ncols) & ~body_blank]
    broken = [(int(scan.lines[i]), _record_text(data, scan, i),
               f"{ncols} fields as in the header, found {int(scan.fields[i])}") for i in bad]
    n_blank = int(body_blank.sum()) + int(blank[:h].sum())
    if not len(body) or len(good) == 0:
        frame = _empty_frame(ncols)
        return RawTable(label, sha, header, frame, np.empty(0, np.int64), broken, n_blank,
                        "" if len(bad) else "the file has only a header")
    invalid = []
    names = [f"c{i}" for i in range(ncols)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(memoryview(data)[int(scan.starts[h + 1]):]),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, quote_char=quotechar, double_quote=True, escape_char=False,
                newlines_in_values=scan.quoted_newlines, ignore_empty_lines=True,
                invalid_row_handler=lambda row: invalid.append(row.actual_columns) or "skip"),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in names}, null_values=[], strings_can_be_null=False,
                quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    # pyarrow also skips whitespace-only lines as invalid rows: those are blank to the scan.
    ws_blank = int((body_blank & (scan.ends[body] > scan.starts[body])).sum())
    if table.num_rows != len(good) or len(invalid) != len(bad) + ws_blank:
        return None
    frame = pd.DataFrame({i: _strip(table.column(i)) for i in range(ncols)})
    return RawTable(label, sha, header, frame, scan.lines[good], broken, n_blank)


def _strip(column) -> pd.Series:
    import pyarrow.compute as pc

    trimmed = pc.utf8_trim_whitespace(column)
    return pd.Series(trimmed.combine_chunks() if hasattr(trimmed, "combine_chunks") else trimmed, dtype="str")


def _record_text(data: bytes, scan: _Scan, i: int, limit: int = 200) -> str:
    text = data[scan.starts[i]:scan.ends[i]].decode("utf-8", errors="replace")
    return text if len(text) <= limit else text[:limit] + "..."


def _empty_frame(ncols: int) -> pd.DataFrame:
    return pd.DataFrame({i: pd.Series([], dtype="str") for i in range(ncols)})


def _read_csv_module(data: bytes, label, sha, delimiter, quotechar) -> RawTable:
    """Read with the csv module, tracking where each record starts (the reference reader)."""
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline=""),
                        delimiter=delimiter, quotechar=quotechar)
    header, rows, lines, broken, n_blank, prev = None, [], [], [], 0, 0
    enabled = gc.isenabled()
    gc.disable()  # a million small lists make the cyclic collector dominate the run time
    try:
        for row in reader:
            start, prev = prev + 1, reader.line_num
            if not any(f.strip() for f in row):
                n_blank += 1
            elif header is None:
                header = [h.strip().removeprefix("\ufeff").strip() for h in row]
            elif len(row) != len(header):
                text = delimiter.join(row)
                broken.append((start, text if len(text) <= 200 else text[:200] + "...",
                               f"{len(header)} fields as in the header, found {len(row)}"))
            else:
                rows.append(row)
                lines.append(start)
    finally:
        if enabled:
            gc.enable()
    if header is None:
        return RawTable(label, sha, [], _empty_frame(0), np.empty(0, np.int64), [], n_blank, "the file is empty")
    columns = list(zip(*rows)) if rows else [()] * len(header)
    frame = pd.DataFrame({i: pd.Series(col, dtype="str").str.strip() for i, col in enumerate(columns)})
    empty = "" if rows or broken else "the file has only a header"
    return RawTable(label, sha, header, frame, np.asarray(lines, dtype=np.int64), broken, n_blank, empty)


# --------------------------------------------------------------------------- Excel, Parquet, SQL
def cell_text(value) -> str:
    """Return a cell value as the text a user would type for it (dates ISO, no float noise)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if value != value:  # NaN is an empty cell
            return ""
        if float(value).is_integer() and abs(value) < 1e15:
            return str(int(value))
        return np.format_float_positional(float(value), trim="-")
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        if pd.isna(value):
            return ""
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value).strip()


def _from_rows(label, sha, header_row, rows, first_line, ncols_from_header=True) -> RawTable:
    """Build a RawTable from rows of Python values (Excel, SQL); row i is on line first_line + i."""
    header = [cell_text(h).removeprefix("\ufeff").strip() for h in header_row]
    if ncols_from_header:
        while header and header[-1] == "":
            header.pop()
    ncols = len(header)
    kept, lines, broken, n_blank = [], [], [], 0
    for offset, row in enumerate(rows):
        cells = [cell_text(v) for v in row]
        if not any(cells):
            n_blank += 1
            continue
        if any(cells[ncols:]):
            broken.append((first_line + offset, " | ".join(c for c in cells if c)[:200],
                           f"values only under the {ncols} header columns, found some beyond them"))
            continue
        kept.append(cells[:ncols] + [""] * (ncols - len(cells)))
        lines.append(first_line + offset)
    columns = list(zip(*kept)) if kept else [()] * ncols
    frame = pd.DataFrame({i: pd.Series(col, dtype="str") for i, col in enumerate(columns)})
    empty = "" if kept or broken else "the table has only a header"
    return RawTable(label, sha, header, frame, np.asarray(lines, dtype=np.int64), broken, n_blank, empty)


def _read_excel(path: Path, sheet, label: str, sha: str) -> RawTable:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a damaged file
        raise DataError(f"{label}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    try:
        if sheet is None:
            ws = book.worksheets[0]
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(book.worksheets):
                raise DataError(f"{label}: sheet index {sheet} out of range; the workbook has "
                                f"{len(book.worksheets)} sheet(s): {book.sheetnames}")
            ws = book.worksheets[sheet]
        elif sheet in book.sheetnames:
            ws = book[sheet]
        else:
            raise DataError(f"{label}: no sheet named {sheet!r}; sheets: {book.sheetnames}")
        rows = ws.iter_rows(min_row=1, values_only=True)
        n_lead = 0
        for header_row in rows:
            n_lead += 1
            if any(cell_text(v) for v in header_row):
                break
        else:
            return RawTable(label, sha, [], _empty_frame(0), np.empty(0, np.int64), [], n_lead,
                            "the sheet is empty")
        raw = _from_rows(label, sha, header_row, rows, n_lead + 1)
    finally:
        book.close()
    raw.blank_lines += n_lead - 1
    return raw


def _read_parquet(path: Path, label: str, sha: str) -> RawTable:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for a damaged file
        raise DataError(f"{label}: not a readable Parquet file ({type(exc).__name__}: {exc})") from None
    columns = {}
    for i, name in enumerate(table.column_names):
        col = table.column(i)
        if pa.types.is_timestamp(col.type):
            col = pc.strftime(col, format="%Y-%m-%d %H:%M:%S")
        elif pa.types.is_floating(col.type):
            # through Python so that 12.0 reads "12" and 0.1 reads "0.1", as a user would type them
            col = pa.array([cell_text(v) for v in col.to_pylist()], type=pa.string())
        elif not pa.types.is_string(col.type):
            col = pc.cast(col, pa.string())
        columns[i] = _strip(pc.fill_null(col, ""))
    frame = pd.DataFrame(columns) if columns else _empty_frame(0)
    n = table.num_rows
    header = [str(h).strip() for h in table.column_names]
    return RawTable(label, sha, header, frame, np.arange(2, n + 2, dtype=np.int64), [], 0,
                    "" if n else "the table has only a header")


def sql_url(url: str, resolve=None, table: str = "sales"):
    """Return the SQLAlchemy URL of ``url`` with a relative SQLite file resolved by ``resolve``.

    ``sqlite:///crm.db`` names ``crm.db`` in the config file's folder (as every relative path of a
    config does), not in the working folder; ``sqlite://`` and ``:memory:`` stay in memory.

    Raises
    ------
    DataError
        The URL cannot be parsed, or a SQLite file does not exist (SQLite would create an empty one).
    """
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy: ArgumentError
        raise DataError(f"sql:(invalid url): cannot use the database URL of data.{table}.sql.url "
                        f"({type(exc).__name__}: {exc})") from None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" \
            or database.startswith("file:") or parsed.query.get("uri"):
        return parsed
    path = Path(database).expanduser()
    if not path.is_absolute() and resolve is not None:
        path = Path(resolve(database))
    if not path.is_file():
        label = parsed.render_as_string(hide_password=True)
        raise DataError(f"sql:{label}: the SQLite file was not found at {path} (data.{table}.sql.url; "
                        f"a relative path is read from the config file's folder)")
    return parsed.set(database=str(path))


def _read_sql(sql, label: str, resolve=None, table: str = "sales") -> RawTable:
    import sqlalchemy as sa

    url = sql_url(sql.url, resolve, table)
    try:
        engine = sa.create_engine(url)
    except Exception as exc:  # sqlalchemy: ArgumentError, NoSuchModuleError, ...
        raise DataError(f"{label}: cannot use the database URL ({type(exc).__name__}: {exc})") from None
    try:
        with engine.connect() as conn:
            # Values are bound by the driver, never formatted into the SQL text; a list value
            # binds as an expanding parameter, for ``WHERE region IN :regions``.
            statement = sa.text(sql.query).bindparams(
                *[sa.bindparam(k, expanding=True) for k, v in sql.params.items() if isinstance(v, (list, tuple))])
            result = conn.execute(statement, dict(sql.params))
            header = list(result.keys())
            rows = [tuple(r) for r in result.fetchall()]
    except sa.exc.SQLAlchemyError as exc:
        detail = str(exc).split("\n")[0]
        raise DataError(f"{label}: the query failed: {detail}") from None
    finally:
        engine.dispose()
    h = hashlib.sha256(json.dumps({"source": label, "query": sql.query, "params": sql.params},
                                  sort_keys=True, default=str).encode())
    h.update(json.dumps(header).encode())
    for row in rows:
        h.update(("\x1e" + "\x1f".join(cell_text(v) for v in row)).encode())
    raw = _from_rows(label, h.hexdigest(), header, rows, 2, ncols_from_header=False)
    if not rows:
        raw.empty_reason = "the query returned no rows"
    return raw
