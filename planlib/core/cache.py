"""Stage results on disk as data, never as pickle: ``write_value`` and ``read_value``.

A value is a folder: ``value.json`` (the structure, with type tags), ``t<n>.parquet`` (the columns of
frames and series), ``arrays.npz`` (numpy arrays) and ``a<n>.npy`` (each array of 16 MB or more, mapped
on read instead of unzipped whole); reading rebuilds only data and planlib classes.
"""
from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import importlib
import json
import os
import re
import shutil
from pathlib import Path, PosixPath, WindowsPath
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pandas.tseries.frequencies import to_offset
from pydantic import BaseModel

from planlib.core.errors import PlanlibError
from planlib.core.folders import sweep_dead_folders

__all__ = ["CacheUnreadable", "CacheUnsupported", "read_value", "sweep_temporary", "write_value"]

FORMAT = "planlib-cache/1"
_PLAIN = (type(None), bool, int, float, str)  # stored as JSON itself (floats with repr: exact, -0.0, NaN)
_MASKED = {"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "Float32", "Float64", "boolean"}
_TABLE, _ARRAY = re.compile(r"t\d+\.parquet"), re.compile(r"a\d+")
_TEMPORARY = re.compile(r".+\.tmp-(\d+)")  # a folder write_value had not finished: <name>.tmp-<pid>
LARGE_ARRAY_BYTES = 16 * 2**20  # an array this large is a file of its own (a<n>.npy), not a member of arrays.npz


class CacheUnsupported(PlanlibError, TypeError):
    """The value holds something that cannot be stored exactly; the message says what and where."""


class CacheUnreadable(PlanlibError, ValueError):
    """A cache folder cannot be read back; the message names the file and what is wrong with it."""


def _tz_enc(tz, where: str):
    if tz is None or tz is dt.timezone.utc or type(tz) is ZoneInfo:
        return tz and ("UTC" if tz is dt.timezone.utc else {"zone": tz.key})
    if type(tz) is dt.timezone:
        return {"offset": tz.utcoffset(None).total_seconds(), "name": tz.tzname(None)}
    raise CacheUnsupported(f"{where}: cannot store time zone {tz!r} ({type(tz)}); use zoneinfo or datetime.timezone")


def _tz_dec(spec):
    if spec is None or spec == "UTC":
        return spec and dt.timezone.utc
    if "zone" in spec:
        return ZoneInfo(spec["zone"])
    return dt.timezone(dt.timedelta(seconds=spec["offset"]), spec["name"])


def _local(utc, tz):
    """Naive values as they are; tz-aware ones, stored as UTC, back in their zone."""
    return utc if tz is None else utc.tz_localize(dt.timezone.utc).tz_convert(_tz_dec(tz))


def _lookup(module, qualname):
    """Return the class ``module.qualname`` if a planlib module defines it, else None."""
    if not (isinstance(module, str) and isinstance(qualname, str) and module.startswith("planlib.")
            and all(p.isidentifier() and p[:2] != "__" for p in module.split(".") + qualname.split("."))):
        return None
    try:
        obj = importlib.import_module(module)
    except ImportError:
        return None
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    ok = isinstance(obj, type) and obj.__module__ == module and obj.__qualname__ == qualname
    return obj if ok else None


def _utc_i8(values) -> np.ndarray:
    """int64 view of datetime-like values (tz-aware ones as UTC)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = pd.DatetimeIndex(values).tz_convert(None)
    return np.asarray(values).view("i8")


def _objects(items: list) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    for i, x in enumerate(items):
        out[i] = x
    return out


class _Writer:
    """Turns a value into a JSON tree, parquet tables and numpy arrays, or raises CacheUnsupported."""

    def __init__(self):
        self.arrays, self.tables = {}, {}  # name -> numpy array for arrays.npz, file name -> arrow table
        self.large = {}  # name -> numpy array of LARGE_ARRAY_BYTES or more, written as <name>.npy
        self._active = set()  # ids of the values being encoded, to refuse a value that contains itself

    def array(self, arr: np.ndarray) -> str:
        key = f"a{len(self.arrays) + len(self.large)}"
        (self.large if arr.nbytes >= LARGE_ARRAY_BYTES else self.arrays)[key] = arr
        return key

    def enc(self, v, where: str):
        if type(v) in _PLAIN:
            return v
        if id(v) in self._active:
            raise CacheUnsupported(f"{where}: cannot store {type(v)} (it contains itself)")
        self._active.add(id(v))
        try:
            return self._enc(v, type(v), where)
        finally:
            self._active.discard(id(v))

    def _enc(self, v, t, where):
        if t is list:
            return [self.enc(x, f"{where}[{i}]") for i, x in enumerate(v)]
        if t in (tuple, set, frozenset):
            return {"$": t.__name__, "v": [self.enc(x, f"{where}[{i}]") for i, x in enumerate(v)]}
        if t is dict:
            if all(type(k) is str for k in v):
                return {"$": "dict", "s": {k: self.enc(x, f"{where}[{k!r}]") for k, x in v.items()}}
            return {"$": "dict", "kv": [[self.enc(k, f"{where} key {k!r}"), self.enc(x, f"{where}[{k!r}]")]
                                        for k, x in v.items()]}
        if t is bytes:
            return {"$": "bytes", "v": base64.b64encode(v).decode("ascii")}
        if v is pd.NA or v is pd.NaT:
            return {"$": "NA" if v is pd.NA else "NaT"}
        if t is pd.Timestamp:  # the integer in the Timestamp's own unit, UTC when it has a time zone
            return {"$": "ts", "v": int(np.asarray(v.to_datetime64()).view("i8")), "unit": v.unit,
                    "tz": _tz_enc(v.tz, where)}
        if t is pd.Timedelta:
            return {"$": "td", "v": int(np.asarray(v.to_timedelta64()).view("i8")), "unit": v.unit}
        if t is dt.datetime:
            return {"$": "datetime", "v": [*v.timetuple()[:6], v.microsecond], "fold": v.fold,
                    "tz": _tz_enc(v.tzinfo, where)}
        if t is dt.date:
            return {"$": "date", "v": v.isoformat()}
        if t is dt.timedelta:
            return {"$": "timedelta", "v": [v.days, v.seconds, v.microseconds]}
        if t in (PosixPath, WindowsPath):
            return {"$": "path", "v": str(v)}
        if t is np.ndarray and v.dtype.kind in "biufcMmUS":
            return {"$": "nd", "a": self.array(v)}
        if t is np.ndarray and v.dtype.kind == "O":
            return {"$": "ndo", "shape": list(v.shape),
                    "v": [self.enc(x, f"{where}[{i}]") for i, x in enumerate(v.ravel())]}
        if isinstance(v, np.generic) and t.__module__ == "numpy" and v.dtype.kind in "biufcMmUS":
            if v.dtype.kind in "biuf" and v.dtype.itemsize <= 8:
                return {"$": "np", "dtype": v.dtype.str, "v": v.item()}
            return {"$": "np0", "a": self.array(np.asarray(v))}
        if isinstance(v, pd.Index):
            return self.index(v, where)
        if t is pd.Series:
            table, specs = self.table([(v.dtype, v.array)], [where])
            return {"$": "series", "index": self.index(v.index, f"{where}.index"), "name": self.enc(v.name, where),
                    "table": table, "cols": specs, "attrs": self.enc(v.attrs, f"{where}.attrs")}
        if t is pd.DataFrame:
            if not v.flags.allows_duplicate_labels:
                raise CacheUnsupported(f"{where}: cannot store a DataFrame with allows_duplicate_labels=False")
            cols = [(v.dtypes.iloc[i], v.iloc[:, i].array) for i in range(v.shape[1])]
            table, specs = self.table(cols, [f"{where}[{c!r}]" for c in v.columns])
            return {"$": "df", "index": self.index(v.index, f"{where}.index"), "table": table, "cols": specs,
                    "columns": self.index(v.columns, f"{where}.columns"), "attrs": self.enc(v.attrs, f"{where}.attrs")}
        if getattr(getattr(v, "dist", None), "name", None) in _DISTRIBUTIONS and hasattr(v, "kwds"):
            # a scipy frozen distribution (the forecast's year total): its name and parameters are the whole of it
            return {"$": "dist", "name": v.dist.name, "args": self.enc(tuple(v.args), f"{where}.args"),
                    "kwds": self.enc(dict(v.kwds), f"{where}.kwds")}
        head = {"module": t.__module__, "qualname": t.__qualname__}
        if _lookup(t.__module__, t.__qualname__) is not t:
            pass  # classes are rebuilt only from planlib modules, by module and name
        elif isinstance(v, enum.Enum):
            return {"$": "enum", **head, "name": v.name}
        elif dataclasses.is_dataclass(v):
            names = [f.name for f in dataclasses.fields(v)]
            if extra := set(getattr(v, "__dict__", {})) - set(names):
                raise CacheUnsupported(f"{where}: cannot store {t}: attributes that are not fields {sorted(extra)}")
            return {"$": "dc", **head, "f": {n: self.enc(getattr(v, n), f"{where}.{n}") for n in names}}
        elif isinstance(v, BaseModel):  # every field, excluded ones too, and which fields were set
            return {"$": "pyd", **head, "f": {n: self.enc(getattr(v, n), f"{where}.{n}") for n in t.model_fields},
                    "set": sorted(v.model_fields_set), "extra": self.enc(v.__pydantic_extra__, f"{where}.<extra>"),
                    "private": self.enc(v.__pydantic_private__, f"{where}.<private>")}
        raise CacheUnsupported(f"{where}: cannot store {t}")

    def index(self, idx: pd.Index, where: str) -> dict:
        t, dtype, name = type(idx), idx.dtype, self.enc(idx.name, f"{where}.name")
        if t is pd.RangeIndex:
            return {"$": "range", "start": idx.start, "stop": idx.stop, "step": idx.step, "name": name}
        if t is pd.MultiIndex:
            return {"$": "multi", "levels": [self.index(lv, f"{where}.levels[{i}]") for i, lv in enumerate(idx.levels)],
                    "codes": [self.array(np.asarray(c)) for c in idx.codes], "sortorder": idx.sortorder,
                    "names": [self.enc(n, f"{where}.names") for n in idx.names]}
        if t in (pd.DatetimeIndex, pd.TimedeltaIndex):
            if idx.freq is not None and to_offset(idx.freq.freqstr) != idx.freq:
                raise CacheUnsupported(f"{where}: cannot store frequency {idx.freq!r}")
            tz = _tz_enc(idx.tz, where) if t is pd.DatetimeIndex else None
            return {"$": "dti" if t is pd.DatetimeIndex else "tdi", "a": self.array(_utc_i8(idx)),
                    "dtype": str(dtype if tz is None else np.dtype(f"M8[{idx.unit}]")), "tz": tz,
                    "freq": None if idx.freq is None else idx.freq.freqstr, "name": name}
        if t is pd.Index and isinstance(dtype, np.dtype) and dtype.kind in "biuf":
            return {"$": "index", "a": self.array(idx.to_numpy()), "name": name}
        if t is pd.Index and isinstance(dtype, pd.StringDtype):
            return {"$": "index", "str": [dtype.storage, dtype.na_value is np.nan], "name": name,
                    "v": [x if type(x) is str else None for x in idx]}
        if t is pd.Index and dtype == object:
            return {"$": "index", "o": [self.enc(x, f"{where}[{i}]") for i, x in enumerate(idx)], "name": name}
        raise CacheUnsupported(f"{where}: cannot store {t} of dtype {dtype}")

    def table(self, cols: list, wheres: list[str]):
        """Put the 1-D columns in one parquet table (object columns in JSON); return its name and the specs."""
        specs, arrays = [], {}
        for i, ((dtype, values), where) in enumerate(zip(cols, wheres)):
            try:
                spec, data = self.column(dtype, values, where)
            except (pa.ArrowException, ValueError) as exc:
                raise CacheUnsupported(f"{where}: cannot store a column of dtype {dtype} ({exc})") from None
            if data is not None:
                arrays[f"c{i}"] = data
            specs.append(spec)
        if not arrays:
            return None, specs
        self.tables[name := f"t{len(self.tables)}.parquet"] = pa.table(arrays)
        return name, specs

    def column(self, dtype, values, where: str):
        if isinstance(dtype, np.dtype) and dtype.isnative and dtype.kind in "biufMmO":
            nd = values.to_numpy()
            if dtype.kind == "O":
                return {"k": "obj", "v": [self.enc(x, f"{where}[{i}]") for i, x in enumerate(nd)]}, None
            return {"k": "np", "dtype": dtype.str}, pa.array(nd.view("i8") if dtype.kind in "Mm" else nd)
        if isinstance(dtype, pd.DatetimeTZDtype):
            return {"k": "dtz", "unit": dtype.unit, "tz": _tz_enc(dtype.tz, where)}, pa.array(_utc_i8(values))
        if isinstance(dtype, pd.StringDtype) and pd.StringDtype(dtype.storage, na_value=dtype.na_value) == dtype:
            return {"k": "str", "storage": dtype.storage, "nan": dtype.na_value is np.nan}, pa.array(values)
        if isinstance(dtype, pd.CategoricalDtype):  # codes in the table, categories (in order) as an index
            return ({"k": "cat", "categories": self.index(dtype.categories, f"{where}.categories"),
                     "ordered": bool(dtype.ordered), "dtype": values.codes.dtype.str}, pa.array(values.codes))
        if str(dtype) in _MASKED:
            return {"k": "masked", "dtype": str(dtype)}, pa.array(values)
        raise CacheUnsupported(f"{where}: cannot store a column of dtype {dtype}")


def _dtype(text, kinds: str) -> np.dtype:
    dtype = np.dtype(text) if isinstance(text, str) else None
    if dtype is None or dtype.kind not in kinds or dtype.hasobject:
        raise ValueError(f"dtype {text!r} is not one of the kinds {kinds!r}")
    return dtype


class _Reader:
    """Rebuilds a value from a folder; every problem becomes CacheUnreadable naming the file."""

    def __init__(self, folder: Path):
        self.folder, self.npz, self.tables = folder, None, {}
        self.large: set[str] = set()  # the arrays stored as <name>.npy (value.json lists them)

    def bad(self, what: str, file: str = "value.json") -> CacheUnreadable:
        return CacheUnreadable(f"{self.folder / file}: {what}")

    def array(self, key) -> np.ndarray:
        if not (isinstance(key, str) and _ARRAY.fullmatch(key)):
            raise self.bad(f"bad array name {key!r}")
        if key in self.large:
            try:  # copy-on-write map: pages are read when used, and writing to the array never touches the file
                return np.asarray(np.load(self.folder / f"{key}.npy", mmap_mode="c", allow_pickle=False))
            except Exception as exc:
                raise self.bad(f"array {key!r} cannot be read ({type(exc).__name__}: {exc})", f"{key}.npy") from None
        try:
            if self.npz is None:
                npz = np.load(self.folder / "arrays.npz", allow_pickle=False)  # never unpickles
                if not isinstance(npz, np.lib.npyio.NpzFile):
                    raise ValueError("not an .npz archive")
                self.npz = npz
            return self.npz[key]
        except Exception as exc:
            raise self.bad(f"array {key!r} cannot be read ({type(exc).__name__}: {exc})", "arrays.npz") from None

    def table(self, name, n: int) -> pa.Table:
        if not (isinstance(name, str) and _TABLE.fullmatch(name)):
            raise self.bad(f"bad table name {name!r}")
        if name not in self.tables:
            try:
                self.tables[name] = pq.read_table(self.folder / name)
            except Exception as exc:
                raise self.bad(f"not a readable parquet file ({type(exc).__name__}: {exc})", name) from None
        if self.tables[name].num_rows != n:
            raise self.bad(f"{self.tables[name].num_rows} rows, expected {n}", name)
        return self.tables[name]

    def cls(self, v, kind):
        cls = _lookup(v["module"], v["qualname"])
        if cls is None or not kind(cls):
            raise self.bad(f"class {v['module']}.{v['qualname']} is not allowed (only dataclasses, pydantic models "
                           "and enums that planlib modules define are rebuilt)")
        return cls

    def dec(self, v):
        if type(v) in _PLAIN:
            return v
        if type(v) is list:
            return [self.dec(x) for x in v]
        if (tag := v.get("$") if type(v) is dict else None) not in _DECODERS:
            raise self.bad(f"unknown type tag {tag!r}")
        return _DECODERS[tag](self, v)

    def plain_index(self, v):
        name = self.dec(v["name"])
        if "a" in v:
            return pd.Index(arr := self.array(v["a"]), dtype=arr.dtype, name=name)
        if "str" in v:
            storage, nan = v["str"]
            return pd.Index(v["v"], dtype=pd.StringDtype(storage, na_value=np.nan if nan else pd.NA), name=name)
        return pd.Index(_objects([self.dec(x) for x in v["o"]]), dtype=object, name=name, tupleize_cols=False)

    def datetime_index(self, v):
        values, name = self.array(v["a"]).view(_dtype(v["dtype"], "Mm")), self.dec(v["name"])
        freq = None if v["freq"] is None else to_offset(v["freq"])
        if v["$"] == "tdi":
            return pd.TimedeltaIndex(values, freq=freq, name=name)
        idx = _local(pd.DatetimeIndex(values, name=name), v["tz"])
        return idx if freq is None else pd.DatetimeIndex(idx, freq=freq)

    def columns(self, v, n: int) -> list:
        table, out = None if v["table"] is None else self.table(v["table"], n), []
        for i, spec in enumerate(v["cols"]):
            if spec["k"] == "obj":
                out.append(_objects([self.dec(x) for x in spec["v"]]))
                continue
            try:
                out.append(self.column(spec, table.column(f"c{i}")))
            except Exception as exc:
                raise self.bad(f"column c{i}: {type(exc).__name__}: {exc}", v["table"] or "value.json") from None
            if len(out[-1]) != n:
                raise self.bad(f"column c{i} has {len(out[-1])} values, expected {n}")
        return out

    def column(self, spec, col: pa.ChunkedArray):
        k = spec["k"]
        if k in ("np", "cat"):
            dtype = _dtype(spec["dtype"], "biufMm" if k == "np" else "i")
            raw = np.dtype("i8") if dtype.kind in "Mm" else dtype
            if col.null_count or col.type != pa.from_numpy_dtype(raw):
                raise ValueError(f"found {col.type} with {col.null_count} nulls, expected {raw}")
            nd = np.array(col.to_numpy(), dtype=raw).view(dtype)
            if k == "np":
                return nd
            return pd.Categorical.from_codes(nd, dtype=pd.CategoricalDtype(self.dec(spec["categories"]),
                                                                           ordered=spec["ordered"]))
        if k == "dtz":
            utc = np.array(col.to_numpy(), dtype="i8").view(f"M8[{spec['unit']}]")
            return _local(pd.DatetimeIndex(utc), spec["tz"]).array
        if k == "str":
            dtype = pd.StringDtype(spec["storage"], na_value=np.nan if spec["nan"] else pd.NA)
        elif k == "masked" and spec["dtype"] in _MASKED:
            dtype = pd.api.types.pandas_dtype(spec["dtype"])
        else:
            raise ValueError(f"unknown column kind {k!r}")
        if (out := col.to_pandas(types_mapper=lambda _: dtype).array).dtype != dtype:
            raise ValueError(f"read back as {out.dtype}, expected {dtype}")
        return out

    def frame(self, v):
        index = self.dec(v["index"])
        data = self.columns(v, len(index))
        if v["$"] == "series":
            out = pd.Series(data[0], index=index, dtype=data[0].dtype, name=self.dec(v["name"]), copy=False)
        else:  # columns as Series with an explicit dtype, so object columns stay object (no str inference)
            out = pd.DataFrame({i: pd.Series(d, index=index, dtype=d.dtype, copy=False) for i, d in enumerate(data)},
                               index=index)
            out.columns = self.dec(v["columns"])
        out.attrs = self.dec(v["attrs"])
        return out

    def dataclass(self, v):
        cls = self.cls(v, dataclasses.is_dataclass)
        if set(v["f"]) != (names := {f.name for f in dataclasses.fields(cls)}):
            raise self.bad(f"fields of {cls.__qualname__} differ from the class: {sorted(set(v['f']) ^ names)}")
        obj = object.__new__(cls)  # no __init__, no __post_init__: the fields as they were
        for name, x in v["f"].items():
            object.__setattr__(obj, name, self.dec(x))
        return obj

    def model(self, v):
        cls = self.cls(v, lambda c: issubclass(c, BaseModel))
        if set(v["f"]) != set(cls.model_fields):
            raise self.bad(f"fields of {cls.__qualname__} differ from the class: {sorted(set(v['f']))}")
        # no validators re-run: the fields (excluded ones too) and the set of fields given, as they were
        obj = cls.model_construct(_fields_set=set(v["set"]), **{n: self.dec(x) for n, x in v["f"].items()})
        object.__setattr__(obj, "__pydantic_extra__", self.dec(v["extra"]))
        object.__setattr__(obj, "__pydantic_private__", self.dec(v["private"]))
        return obj


_DECODERS = {
    "tuple": lambda r, v: tuple(r.dec(x) for x in v["v"]),
    "set": lambda r, v: {r.dec(x) for x in v["v"]},
    "frozenset": lambda r, v: frozenset(r.dec(x) for x in v["v"]),
    "dict": lambda r, v: ({k: r.dec(x) for k, x in v["s"].items()} if "s" in v
                          else {r.dec(k): r.dec(x) for k, x in v["kv"]}),
    "bytes": lambda r, v: base64.b64decode(v["v"], validate=True),
    "NA": lambda r, v: pd.NA,
    "NaT": lambda r, v: pd.NaT,
    "ts": lambda r, v: _local(pd.Timestamp(np.datetime64(v["v"], v["unit"])), v["tz"]),
    "td": lambda r, v: pd.Timedelta(np.timedelta64(v["v"], v["unit"])),
    "datetime": lambda r, v: dt.datetime(*v["v"], tzinfo=_tz_dec(v["tz"]), fold=v["fold"]),
    "date": lambda r, v: dt.date.fromisoformat(v["v"]),
    "timedelta": lambda r, v: dt.timedelta(*v["v"]),
    "path": lambda r, v: Path(v["v"]),
    "nd": lambda r, v: r.array(v["a"]),
    "ndo": lambda r, v: _objects([r.dec(x) for x in v["v"]]).reshape(v["shape"]),
    "np": lambda r, v: _dtype(v["dtype"], "biuf").type(v["v"]),
    "np0": lambda r, v: r.array(v["a"])[()],
    "range": lambda r, v: pd.RangeIndex(v["start"], v["stop"], v["step"], name=r.dec(v["name"])),
    "multi": lambda r, v: pd.MultiIndex(levels=[r.dec(x) for x in v["levels"]], sortorder=v["sortorder"],
                                        codes=[r.array(c) for c in v["codes"]], names=[r.dec(n) for n in v["names"]]),
    "dti": _Reader.datetime_index,
    "tdi": _Reader.datetime_index,
    "index": _Reader.plain_index,
    "series": _Reader.frame,
    "df": _Reader.frame,
    "enum": lambda r, v: r.cls(v, lambda c: issubclass(c, enum.Enum))[v["name"]],
    "dc": _Reader.dataclass,
    "pyd": _Reader.model,
    "dist": lambda r, v: _distribution(v["name"])(*r.dec(v["args"]), **r.dec(v["kwds"])),
}

# scipy distributions a stage result may hold, rebuilt by name from this list only
_DISTRIBUTIONS = ("norm", "truncnorm")


def _distribution(name: str):
    if name not in _DISTRIBUTIONS:
        raise CacheUnreadable(f"distribution {name!r} is not one planlib stores ({', '.join(_DISTRIBUTIONS)})")
    from scipy import stats

    return getattr(stats, name)


def _create(path: Path):
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def write_value(folder: Path, value: Any) -> None:
    """Store ``value`` as data in the new folder ``folder`` (mode 0o700, files 0o600).

    Parameters
    ----------
    folder : Path
        Written as ``<name>.tmp-<pid>`` next to it, then renamed into place; an existing ``folder``
        (another process was first) is left as it is.
    value : object
        Python data, numpy and pandas values, and dataclasses, enums and pydantic models of planlib.

    Raises
    ------
    CacheUnsupported
        If ``value`` holds something that cannot be stored exactly; nothing is written then.
    """
    folder, w = Path(folder), _Writer()
    doc = {"format": FORMAT, "value": w.enc(value, "value")}
    if w.large:
        doc["npy"] = sorted(w.large)
    text = json.dumps(doc, ensure_ascii=False)
    if folder.exists():
        return
    folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)  # left by a crashed run of a process with the same id
    os.mkdir(tmp, 0o700)
    try:
        for name, table in w.tables.items():
            with _create(tmp / name) as fh:
                pq.write_table(table, fh)
        if w.arrays:
            with _create(tmp / "arrays.npz") as fh:
                np.savez(fh, **w.arrays)
        for name, arr in w.large.items():
            with _create(tmp / f"{name}.npy") as fh:
                np.save(fh, arr, allow_pickle=False)
        with _create(tmp / "value.json") as fh:
            fh.write(text.encode("utf-8"))
        try:
            os.rename(tmp, folder)
        except OSError:
            if not folder.exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def sweep_temporary(cache_dir: Path) -> list[Path]:
    """Remove the ``<name>.tmp-<pid>`` folders that a killed process left in ``cache_dir``; return them."""
    return sweep_dead_folders(cache_dir, _TEMPORARY)


def read_value(folder: Path) -> Any:
    """Rebuild the value that :func:`write_value` stored in ``folder``, running no code from it.

    No pickle, no ``eval``, ``np.load(allow_pickle=False)``; classes are found only in planlib
    modules and rebuilt without ``__init__``, ``__post_init__`` or validators.

    Parameters
    ----------
    folder : Path
        A folder written by :func:`write_value`.

    Returns
    -------
    object
        A value equal to the one written, with the same types, dtypes, indexes and labels.

    Raises
    ------
    CacheUnreadable
        If a file is missing or damaged, or names a class that is not allowed.
    """
    r = _Reader(Path(folder))
    file = r.folder / "value.json"
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CacheUnreadable(f"{file}: cannot be read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise CacheUnreadable(f"{file}: not valid JSON ({exc})") from None
    if type(doc) is not dict or doc.get("format") != FORMAT or "value" not in doc:
        raise CacheUnreadable(f"{file}: not a {FORMAT} file")
    try:
        r.large = set(doc.get("npy", []))
        return r.dec(doc["value"])
    except CacheUnreadable:
        raise
    except Exception as exc:
        raise CacheUnreadable(f"{file}: malformed ({type(exc).__name__}: {exc})") from None
    finally:
        if r.npz is not None:
            r.npz.close()
