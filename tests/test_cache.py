"""The stage cache stores results as data: exact round trips, clear refusals, and no code run on read."""
import dataclasses
import datetime as dt
import enum
import json
import math
import os
import pickle
import stat
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

import planlib.core.cache as cache_mod
from planlib.core.cache import CacheUnreadable, CacheUnsupported, read_value, write_value
from planlib.core.config import load_config
from planlib.core.errors import RowProblem
from planlib.core.folders import process_alive

ROOT = Path(__file__).resolve().parents[1]
# stages whose result holds something that is not data: not cached, recomputed
NOT_CACHEABLE: dict[str, str] = {}  # every stage of the sample stores


# --------------------------------------------------------------------------- an independent deep compare
def assert_same(a, b, where="value"):
    """Assert ``b`` is an exact copy of ``a``: same types, dtypes, labels, values, NaN/None and -0.0."""
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, check_freq=True, check_flags=True,
                                      check_index_type=True, check_column_type=True, obj=where)
        assert list(a.dtypes) == list(b.dtypes), where
        assert_same(a.index, b.index, f"{where}.index")
        assert_same(a.columns, b.columns, f"{where}.columns")
        assert_same(a.attrs, b.attrs, f"{where}.attrs")
        for i in range(a.shape[1]):
            assert_column(a.iloc[:, i], b.iloc[:, i], f"{where}[{a.columns[i]!r}]")
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True, check_freq=True, check_index_type=True, obj=where)
        assert_same(a.name, b.name, f"{where}.name")
        assert_same(a.index, b.index, f"{where}.index")
        assert_same(a.attrs, b.attrs, f"{where}.attrs")
        assert_column(a, b, where)
    elif isinstance(a, pd.Index):
        pd.testing.assert_index_equal(a, b, exact=True, check_exact=True, check_names=True, obj=where)
        assert a.dtype == b.dtype and list(a.names) == list(b.names), where
        assert getattr(a, "freq", None) == getattr(b, "freq", None), f"{where}.freq"
        if isinstance(a, pd.MultiIndex):
            for i, (la, lb) in enumerate(zip(a.levels, b.levels)):
                assert_same(la, lb, f"{where}.levels[{i}]")
        elif a.dtype == object:
            for i, (x, y) in enumerate(zip(a, b)):
                assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape} != {b.dtype}{b.shape}"
        if a.dtype.kind == "O":
            for i, (x, y) in enumerate(zip(a.ravel(), b.ravel())):
                assert_same(x, y, f"{where}[{i}]")
        else:
            assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fcmM"), where
        if a.dtype.kind == "f":
            assert np.array_equal(np.signbit(a), np.signbit(b)), f"{where}: sign of zero"
    elif hasattr(a, "dist") and hasattr(a, "kwds"):  # a scipy frozen distribution
        assert a.dist.name == b.dist.name and a.args == b.args and a.kwds == b.kwds, where
        q = np.array([0.001, 0.1, 0.4, 0.5, 0.9, 0.999])
        assert np.array_equal(a.ppf(q), b.ppf(q)) and a.std() == b.std(), where
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, BaseModel):
        assert a == b, where
        assert a.model_fields_set == b.model_fields_set, f"{where}: fields set"
        for name in type(a).model_fields:
            assert_same(getattr(a, name), getattr(b, name), f"{where}.{name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for (ka, va), kb in zip(a.items(), b):
            assert_same(ka, kb, f"{where} key")
            assert_same(va, b[kb], f"{where}[{ka!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, np.generic):
        assert_same(np.asarray(a), np.asarray(b), where)
    elif isinstance(a, float):
        assert (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b)), where
    elif a is pd.NaT or a is pd.NA:
        assert a is b, where
    elif isinstance(a, (pd.Timestamp, pd.Timedelta)):
        assert a == b and a.unit == b.unit and getattr(a, "tz", None) == getattr(b, "tz", None), where
    elif isinstance(a, dt.datetime):
        assert a == b and a.tzinfo == b.tzinfo and a.fold == b.fold, where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_column(a: pd.Series, b: pd.Series, where: str):
    """Values the frame compare lets pass: None vs NaN in object columns, -0.0 vs 0.0, category order."""
    assert a.dtype == b.dtype, f"{where}: {a.dtype} != {b.dtype}"
    if a.dtype == object:
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a.dtype, pd.CategoricalDtype):
        assert a.cat.ordered == b.cat.ordered, where
        assert_same(a.cat.categories, b.cat.categories, f"{where}.categories")
        assert_same(a.cat.codes.to_numpy(), b.cat.codes.to_numpy(), f"{where}.codes")
    elif a.dtype.kind == "f":
        assert_same(a.to_numpy(), b.to_numpy(), where)


def roundtrip(tmp_path: Path, value, name="v"):
    write_value(tmp_path / name, value)
    back = read_value(tmp_path / name)
    assert_same(value, back)
    return back


def objects(*values) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


@pytest.fixture
def in_planlib(monkeypatch):
    """Make a test class look as if planlib.core.cache defined it (the read side only rebuilds planlib classes)."""
    def put(cls):
        cls.__module__ = "planlib.core.cache"
        cls.__qualname__ = cls.__name__ = f"_Test{cls.__name__}"
        monkeypatch.setattr(cache_mod, cls.__name__, cls, raising=False)
        return cls
    return put


# --------------------------------------------------------------------------- plain Python and numpy values
@pytest.mark.parametrize("value", [
    None, True, False, 0, -7, 2**80, 1.5, -0.0, float("nan"), float("inf"), -float("inf"), "", "é ∑ \x00",
    b"\x00\xffbytes", [], [1, [2, [3.0]]], (), (1, "a", (None,)), {}, {"b": 1, "a": [2]},
    {3: "three", 1: "one", (1, "x"): {"nested": (2,)}, None: 0, 2.5: "f"}, {1, "a", (2, 3)}, frozenset({1.5, "b"}),
    dt.date(2027, 2, 28), dt.datetime(2026, 11, 26, 13, 5, 7, 123456), dt.timedelta(days=-1, seconds=5),
    dt.datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/Paris")),
    dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=-5), "EST")),
    dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    Path("data/sales.csv"), Path("/abs/path"),
    np.float64(-0.0), np.float32(1.1), np.float16(np.nan), np.int8(-3), np.uint64(2**64 - 1), np.bool_(True),
    np.int32(7), np.complex128(1 - 2j), np.datetime64("2027-01-01", "D"), np.datetime64("NaT", "ns"),
    np.timedelta64(5, "ms"), np.str_("abc"), np.longdouble("0.1"),
    pd.Timestamp("2026-11-26"), pd.Timestamp("2026-11-26 10:00:00.123456789"), pd.Timestamp("2026-01-01").as_unit("s"),
    pd.Timestamp("2026-03-29 03:30", tz="Europe/Paris"), pd.Timestamp("2026-01-01", tz="UTC"),
    pd.Timedelta("1 days 02:00:00.5"), pd.Timedelta(3, "s").as_unit("s"), pd.NaT, pd.NA,
], ids=repr)
def test_plain_values_round_trip(tmp_path, value):
    back = roundtrip(tmp_path, value)
    if isinstance(value, np.generic):
        assert back.dtype == value.dtype


def test_dicts_keep_key_order_and_key_types(tmp_path):
    value = {2: "b", 1: "a", "1": "str one", (1, 2): "tuple", None: "none", 1.5: "float", False: "bool"}
    back = roundtrip(tmp_path, value)
    assert [type(k) for k in back] == [int, int, str, tuple, type(None), float, bool]
    assert list(back.items()) == list(value.items())


@pytest.mark.parametrize("array", [
    np.array([1.0, -0.0, np.nan, np.inf]), np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 5,
    np.array([1, -0.0, np.nan], dtype=np.float16), np.array([-128, 127], dtype=np.int8),
    np.array([2**64 - 1], dtype=np.uint64), np.array([[True, False]]), np.array([1 + 2j]),
    np.array(["2027-01-01", "NaT"], dtype="datetime64[s]"), np.array([1, 2], dtype="timedelta64[ms]"),
    np.array(["a", "éé"]), np.array([b"x"]), np.array(3.5), np.empty((0, 3)),
    np.asfortranarray(np.arange(6.0).reshape(2, 3)), np.arange(10)[::3], np.array([1, 2], dtype=">i4"),
    objects("a", None, "b"), objects(float("nan"), None, 1, "x").reshape(2, 2),
], ids=lambda a: f"{a.dtype}{a.shape}")
def test_arrays_round_trip(tmp_path, array):
    roundtrip(tmp_path, {"array": array})


# --------------------------------------------------------------------------- pandas
def sample_frame() -> pd.DataFrame:
    idx = pd.date_range("2027-01-01", periods=4, freq="MS", name="month")
    df = pd.DataFrame({
        "float": [1.0, -0.0, np.nan, 2.5],
        "int": np.array([1, 2, 3, 4], dtype=np.int32),
        "uint": np.array([0, 1, 2, 255], dtype=np.uint8),
        "bool": [True, False, True, True],
        "str": pd.Series(["a", None, "", "é"], dtype="str", index=idx),
        "string": pd.Series(["a", None, "b", "c"], dtype="string", index=idx),
        "object": pd.Series(objects("x", None, float("nan"), dt.date(2027, 3, 1)), dtype=object, index=idx),
        "mixed": pd.Series(objects(1, "one", 1.0, (1, 2)), dtype=object, index=idx),
        "category": pd.Categorical(["low", "high", None, "low"], categories=["low", "mid", "high"], ordered=True),
        "cat_int": pd.Categorical([3, 1, 3, 2], categories=[3, 2, 1]),
        "seconds": pd.to_datetime(["2027-01-01", None, "2027-03-01", "2027-04-01"]).as_unit("s"),
        "ns": pd.to_datetime(["2027-01-01 00:00:00.000000001", "2027-02-01", None, "2027-04-01"], format="ISO8601"),
        "tz": pd.date_range("2026-03-29", periods=4, freq="h", tz="Europe/Paris"),
        "utc": pd.date_range("2026-01-01", periods=4, freq="D", tz="UTC").as_unit("ms"),
        "delta": pd.to_timedelta([1, 2, None, 4], unit="D"),
        "Int64": pd.array([1, None, 3, 4], dtype="Int64"),
        "Float64": pd.array([1.5, None, 3.0, -0.0], dtype="Float64"),
        "boolean": pd.array([True, None, False, True], dtype="boolean"),
    }, index=idx)
    df.attrs = {"source": "test", "as_of": pd.Timestamp("2026-11-26"), "levels": (80, 95)}
    return df


def test_frame_keeps_every_dtype_and_value(tmp_path):
    df = sample_frame()
    back = roundtrip(tmp_path, df)
    pd.testing.assert_frame_equal(back, df, check_exact=True, check_freq=True)
    assert back.dtypes.to_dict() == df.dtypes.to_dict()
    assert back.index.freq == pd.offsets.MonthBegin() and back.index.name == "month"
    assert [type(x) for x in back["object"]] == [str, type(None), float, dt.date]
    assert back["object"].iloc[1] is None and math.isnan(back["object"].iloc[2])
    assert [type(x) for x in back["mixed"]] == [int, str, float, tuple]
    assert math.copysign(1, back["float"].iloc[1]) == -1
    assert list(back["category"].cat.categories) == ["low", "mid", "high"] and back["category"].cat.ordered
    assert back["category"].isna().tolist() == [False, False, True, False]
    assert back["cat_int"].cat.categories.tolist() == [3, 2, 1] and not back["cat_int"].cat.ordered
    assert str(back["seconds"].dtype) == "datetime64[s]" and str(back["utc"].dtype) == "datetime64[ms, UTC]"
    assert back["tz"].dt.tz == ZoneInfo("Europe/Paris") and back["Int64"].isna().tolist() == [False, True, False, False]
    assert back["str"].dtype == pd.StringDtype("pyarrow", na_value=np.nan) and back["str"].isna().tolist()[1]
    assert back["string"].dtype == pd.StringDtype("pyarrow", na_value=pd.NA) and back["string"].iloc[1] is pd.NA
    assert back.attrs == df.attrs


@pytest.mark.parametrize("columns", [
    [0, 1, 2], [("a", 1), ("b", 2), 3], ["x", "x", "y"],
    pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1)], names=["top", "n"]),
    pd.Index(["p", "q", "r"], name="metric"), pd.date_range("2027-01-01", periods=3, freq="MS"),
    pd.Index([1.5, 2.5, np.nan]), pd.RangeIndex(10, 16, 2, name="step"),
], ids=["ints", "tuples", "duplicates", "multi", "named", "datetimes", "floats", "range"])
def test_frame_column_labels(tmp_path, columns):
    df = pd.DataFrame(np.arange(6.0).reshape(2, 3), columns=columns)
    back = roundtrip(tmp_path, df)
    assert [type(c) for c in back.columns] == [type(c) for c in df.columns]


@pytest.mark.parametrize("index", [
    pd.RangeIndex(5, 11, 2), pd.Index(["r1", "r2", "r2"], name="rep_id"),
    pd.MultiIndex.from_arrays([["East", "East", "West"], pd.to_datetime(["2027-01-01"] * 3)], names=["region", "ds"]),
    pd.date_range("2026-12-31", periods=3, freq="W-FRI", tz="America/New_York", name="week"),
    pd.DatetimeIndex(["2027-01-01", "2026-01-01", "NaT"]), pd.timedelta_range("1D", periods=3, freq="6h"),
    pd.Index([3, 1, 2], dtype=np.int16), pd.Index([True, False, True]),
    pd.Index(objects(("a", 1), None, 2), dtype=object, tupleize_cols=False),
], ids=["range", "str", "multi", "tz-freq", "no-freq", "timedelta", "int16", "bool", "object"])
def test_frame_and_series_row_index(tmp_path, index):
    df = pd.DataFrame({"v": [1.0, 2.0, 3.0], 1: ["a", "b", "c"]}, index=index)
    roundtrip(tmp_path, df, "frame")
    roundtrip(tmp_path, pd.Series([1, 2, 3], index=index, name=("total", 2027)), "series")
    roundtrip(tmp_path, index, "index")


def test_empty_frames_and_series(tmp_path):
    rejects = pd.DataFrame({c: pd.Series([], dtype=object) for c in ["table", "line", "reason"]})
    roundtrip(tmp_path, rejects, "rejects")
    roundtrip(tmp_path, pd.DataFrame(), "empty")
    roundtrip(tmp_path, pd.DataFrame(index=pd.Index(["a", "b"], name="k")), "no-columns")
    roundtrip(tmp_path, pd.DataFrame({"x": pd.Series([], dtype="str"), "y": pd.Series([], dtype="Int64")}), "typed")
    roundtrip(tmp_path, pd.Series([], dtype="float32", name=None), "series")


def test_series_keeps_name_dtype_and_attrs(tmp_path):
    s = pd.Series(pd.Categorical(["b", "a"], categories=["b", "a"]), index=pd.Index(["x", "y"], name="k"), name=5)
    s.attrs["unit"] = "EUR"
    back = roundtrip(tmp_path, {"s": s, "region_of": pd.Series(["East", "West"], index=["r1", "r2"], name="region")})
    assert back["s"].name == 5 and back["s"].attrs == {"unit": "EUR"}


# --------------------------------------------------------------------------- planlib classes
def test_frozen_dataclass(tmp_path):
    problem = RowProblem(file="sales.csv", line=3, column="amount", value=float("nan"), expected="a number")
    back = roundtrip(tmp_path, [problem, problem])
    assert back[0] is not back[1] and str(back[0]) == str(problem)
    with pytest.raises(dataclasses.FrozenInstanceError):
        back[0].line = 4


def test_dataclass_fields_are_set_without_init_or_post_init(tmp_path, in_planlib):
    calls = []

    @in_planlib
    @dataclasses.dataclass(frozen=True)
    class Result:
        table: pd.DataFrame
        scale: float = 1.0
        derived: list = dataclasses.field(init=False)

        def __post_init__(self):
            calls.append(1)
            object.__setattr__(self, "derived", [self.scale * 2])

    value = Result(sample_frame(), 3.0)
    object.__setattr__(value, "derived", ["changed after init"])
    back = roundtrip(tmp_path, value)
    assert calls == [1] and back.derived == ["changed after init"]


def test_enum_from_planlib(tmp_path, in_planlib):
    @in_planlib
    class Verdict(enum.Enum):
        STRETCH = "stretch"
        BALANCED = "balanced"

    assert roundtrip(tmp_path, {"v": Verdict.BALANCED})["v"] is Verdict.BALANCED


def test_plan_config_keeps_excluded_base_dir(tmp_path):
    cfg = load_config(ROOT / "templates" / "plan.yaml")
    back = roundtrip(tmp_path, cfg)
    assert back == cfg and back.base_dir == cfg.base_dir == ROOT / "templates"
    assert back.model_fields_set == cfg.model_fields_set and "base_dir" in back.model_fields_set
    assert back.model_dump(mode="json") == cfg.model_dump(mode="json")
    assert back.resolve("x") == cfg.resolve("x")
    sections = {name: getattr(cfg, name) for name in type(cfg).model_fields}
    back = roundtrip(tmp_path, sections, "sections")  # e.g. IncentivePlan.settings holds one section
    assert [type(v) for v in back.values()] == [type(v) for v in sections.values()]


def test_pydantic_extra_private_and_unset_fields(tmp_path, in_planlib):
    @in_planlib
    class Model(BaseModel):
        model_config = ConfigDict(extra="allow", validate_assignment=True)
        name: str = Field(alias="Name")
        hidden: Path = Field(default=Path("/x"), exclude=True)
        count: int = 0
        _cache: dict = PrivateAttr(default_factory=dict)

    m = Model(Name="a", other=[1, 2])
    m._cache["k"] = (1, [2.5])
    back = roundtrip(tmp_path, m)
    assert back.model_fields_set == {"name", "other"} and back.model_extra == {"other": [1, 2]}
    assert_same(back._cache, m._cache)
    assert back.model_dump(exclude_unset=True) == m.model_dump(exclude_unset=True)


# --------------------------------------------------------------------------- what cannot be stored
class NotPlanlib:
    pass


@dataclasses.dataclass
class OutsideDataclass:
    x: int = 1


@pytest.mark.parametrize("value, where", [
    (object(), r"value: cannot store <class 'object'>"),
    ({"f": lambda: 1}, r"value\['f'\]: cannot store <class 'function'>"),
    ([1, NotPlanlib()], r"value\[1\]: cannot store <class 'test_cache\.NotPlanlib'>"),
    (OutsideDataclass(), r"value: cannot store <class 'test_cache\.OutsideDataclass'>"),
    (pd.period_range("2027-01", periods=2, freq="M"), r"value: cannot store <class 'pandas.*PeriodIndex'>"),
    (pd.Series([1], index=pd.CategoricalIndex(["a"])), r"value\.index: cannot store <class .*CategoricalIndex'>"),
    (pd.DataFrame({"p": pd.period_range("2027-01", periods=2, freq="M")}), r"value\['p'\]: cannot store a column"),
    (pd.DataFrame({"s": pd.arrays.SparseArray([0, 1])}), r"value\['s'\]: cannot store a column of dtype Sparse"),
    (np.zeros(2, dtype=[("a", "i4")]), r"value: cannot store <class 'numpy.ndarray'>"),
    (np.ma.masked_array([1, 2], mask=[0, 1]), r"value: cannot store <class 'numpy.ma.*MaskedArray'>"),
    (bytearray(b"x"), r"value: cannot store <class 'bytearray'>"),
    (dt.time(12, 0), r"value: cannot store <class 'datetime.time'>"),
], ids=["object", "lambda", "foreign-class", "foreign-dataclass", "period-index", "categorical-index",
        "period-column", "sparse", "structured", "masked", "bytearray", "time"])
def test_unsupported_values_are_refused_and_nothing_written(tmp_path, value, where):
    with pytest.raises(CacheUnsupported, match=where):
        write_value(tmp_path / "v", value)
    assert list(tmp_path.iterdir()) == []


def test_unsupported_names_where_it_sits(tmp_path, in_planlib):
    @in_planlib
    @dataclasses.dataclass
    class Holder:
        forecasts: pd.DataFrame

    df = pd.DataFrame({"a": [1]})
    df.attrs["x"] = NotPlanlib()
    with pytest.raises(CacheUnsupported, match=r"^value\.forecasts\.attrs\['x'\]: cannot store <class 'test_cache"):
        write_value(tmp_path / "v", Holder(df))
    loop = [1]
    loop.append(loop)
    with pytest.raises(CacheUnsupported, match=r"value\[1\]: cannot store <class 'list'> \(it contains itself\)"):
        write_value(tmp_path / "loop", loop)

    def local():
        @dataclasses.dataclass
        class Local:
            x: int = 0
        return Local()
    with pytest.raises(CacheUnsupported, match=r"value: cannot store <class '.*<locals>\.Local'>"):
        write_value(tmp_path / "local", local())


# --------------------------------------------------------------------------- writing: atomic and private
def test_written_folder_is_private_and_complete(tmp_path):
    folder = tmp_path / "cache" / "forecast-abc"
    write_value(folder, {"frame": sample_frame(), "array": np.arange(3)})
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["arrays.npz", "t0.parquet", "value.json"]
    for p in folder.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    assert [p.name for p in folder.parent.iterdir()] == ["forecast-abc"]  # no temporary folder left
    assert json.loads((folder / "value.json").read_text())["format"] == "planlib-cache/1"


def test_a_large_array_is_a_file_of_its_own_and_round_trips(tmp_path):
    # 3 x 1,000 x 700 float64 = 16.8 MB, just over the limit: a0.npy; the small ones stay in arrays.npz
    large = np.random.default_rng(3).standard_normal((3, 1_000, 700))
    large[0, 0, :3] = [-0.0, np.nan, np.inf]
    small = np.arange(5, dtype=np.int32)
    stored = np.asfortranarray(large[1].astype(np.float32))  # 2.8 MB: small, and Fortran order
    folder = tmp_path / "monte_carlo-abc"
    write_value(folder, {"sales": large, "ids": small, "kept": stored})
    assert large.nbytes >= cache_mod.LARGE_ARRAY_BYTES > stored.nbytes
    assert sorted(p.name for p in folder.iterdir()) == ["a0.npy", "arrays.npz", "value.json"]
    with np.load(folder / "arrays.npz") as npz:
        assert sorted(npz.files) == ["a1", "a2"]
    assert json.loads((folder / "value.json").read_text())["npy"] == ["a0"]
    back = read_value(folder)
    assert_same({"sales": large, "ids": small, "kept": stored}, back)
    assert type(back["sales"]) is np.ndarray and back["sales"].flags.writeable
    assert np.array_equal(back["sales"].view("i8"), large.view("i8"))  # bit for bit: -0.0 and NaN too
    back["sales"][2] = 0.0  # copy on write: the cache file keeps what was stored
    assert np.array_equal(read_value(folder)["sales"][2], large[2])


def test_a_damaged_or_missing_large_array_names_its_file(tmp_path):
    folder = tmp_path / "v"
    write_value(folder, {"sales": np.zeros((2, 1_100, 1_000))})
    (folder / "a0.npy").write_bytes(pickle.dumps(np.zeros(3)))  # a pickle in its place is not opened
    with pytest.raises(CacheUnreadable, match=r"v/a0\.npy: array 'a0' cannot be read .*contains pickled"):
        read_value(folder)
    (folder / "a0.npy").unlink()
    with pytest.raises(CacheUnreadable, match=r"v/a0\.npy: array 'a0' cannot be read .*No such file"):
        read_value(folder)


def test_existing_folder_is_left_alone_and_stale_temp_replaced(tmp_path):
    folder = tmp_path / "stage"
    stale = tmp_path / f"stage.tmp-{os.getpid()}"
    stale.mkdir()
    (stale / "value.json").write_text("half written")
    write_value(folder, [1])
    assert not stale.exists() and read_value(folder) == [1]
    write_value(folder, [2])  # another process was first: its result stays
    assert read_value(folder) == [1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stage"]


# --------------------------------------------------------------------------- reading: data only, clear errors
def plant(folder: Path, value: dict, arrays: dict | None = None) -> Path:
    folder.mkdir()
    (folder / "value.json").write_text(json.dumps({"format": "planlib-cache/1", "value": value}))
    if arrays is not None:
        np.savez(folder / "arrays.npz", **arrays)
    return folder


@pytest.mark.parametrize("tag", ["dc", "pyd", "enum"])
def test_class_outside_planlib_is_not_called(tmp_path, monkeypatch, tag):
    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a))
    folder = plant(tmp_path / "v", {"$": tag, "module": "os", "qualname": "system", "name": "x",
                                    "f": {"command": "touch hacked"}, "set": [], "extra": None, "private": None})
    with pytest.raises(CacheUnreadable, match=r"value\.json: class os\.system is not allowed"):
        read_value(folder)
    assert calls == []


@pytest.mark.parametrize("module, qualname", [
    ("planlib.core.cache", "_Writer"),             # a planlib class, but not a dataclass
    ("planlib.core.graph", "os.system"),           # reached through a planlib module's import
    ("planlib.core.config", "load_config"),        # a function
    ("planlib..core", "X"), ("planlibx.evil", "X"), ("planlib.core.cache", "__class__.__base__"),
])
def test_only_planlib_dataclasses_are_rebuilt(tmp_path, monkeypatch, module, qualname):
    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a))
    folder = plant(tmp_path / "v", {"$": "dc", "module": module, "qualname": qualname, "f": {"command": "x"}})
    with pytest.raises(CacheUnreadable, match="is not allowed"):
        read_value(folder)
    assert calls == []


def test_object_array_needing_pickle_is_refused(tmp_path):
    folder = plant(tmp_path / "v", {"$": "nd", "a": "a0"}, {"a0": objects("a", {"b": 1})})
    with pytest.raises(CacheUnreadable, match=r"arrays\.npz: array 'a0' cannot be read .*allow_pickle"):
        read_value(folder)


class Marker:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return Path.touch, (self.path,)


def test_planted_pickles_are_never_opened(tmp_path, monkeypatch):
    def no_unpickling(*args, **kwargs):
        raise AssertionError("pickle used")
    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, no_unpickling)
    folder = tmp_path / "v"
    write_value(folder, {"frame": sample_frame(), "array": np.arange(3.0)})
    marker = tmp_path / "marker"
    payload = pickle.dumps(Marker(marker))
    for name in ("evil.pkl", "value.pkl", "t9.parquet"):
        (folder / name).write_bytes(payload)
    roundtrip_back = read_value(folder)
    assert_same({"frame": sample_frame(), "array": np.arange(3.0)}, roundtrip_back)
    data = (folder / "t0.parquet").read_bytes()
    (folder / "t0.parquet").write_bytes(payload)  # a pickle in place of a table
    with pytest.raises(CacheUnreadable, match=r"t0\.parquet: not a readable parquet file"):
        read_value(folder)
    (folder / "t0.parquet").write_bytes(data)
    (folder / "arrays.npz").write_bytes(payload)  # and in place of the arrays
    with pytest.raises(CacheUnreadable, match=r"arrays\.npz: array 'a\d+' cannot be read"):
        read_value(folder)
    assert not marker.exists()


@pytest.mark.parametrize("text, match", [
    ("{not json", r"value\.json: not valid JSON"),
    ("", r"value\.json: not valid JSON"),
    ('["a list"]', r"value\.json: not a planlib-cache/1 file"),
    ('{"format": "planlib-cache/0", "value": 1}', r"value\.json: not a planlib-cache/1 file"),
    ('{"format": "planlib-cache/1", "value": {"$": "pickle", "v": "gASV"}}', r"unknown type tag 'pickle'"),
    ('{"format": "planlib-cache/1", "value": {"no": "tag"}}', r"unknown type tag None"),
    ('{"format": "planlib-cache/1", "value": {"$": "tuple"}}', r"value\.json: malformed \(KeyError"),
    ('{"format": "planlib-cache/1", "value": {"$": "nd", "a": "../../etc/passwd"}}', r"bad array name"),
    ('{"format": "planlib-cache/1", "value": {"$": "nd", "a": "a0"}}', r"arrays\.npz: array 'a0' cannot be read"),
    ('{"format": "planlib-cache/1", "value": {"$": "np", "dtype": "O", "v": 1}}',
     r"malformed \(ValueError: dtype 'O' is not one of the kinds"),
    ('{"format": "planlib-cache/1", "value": {"$": "series", "table": "../t0.parquet", "cols": [{"k": "np"}], '
     '"index": {"$": "range", "start": 0, "stop": 1, "step": 1, "name": null}, "name": null, "attrs": {}}}',
     r"bad table name '\.\./t0\.parquet'"),
])
def test_damaged_value_json_names_the_file(tmp_path, text, match):
    folder = tmp_path / "v"
    folder.mkdir()
    (folder / "value.json").write_text(text)
    with pytest.raises(CacheUnreadable, match=match) as err:
        read_value(folder)
    assert str(folder) in str(err.value)


def test_missing_or_damaged_files(tmp_path):
    with pytest.raises(CacheUnreadable, match=r"nothing[/\\]value\.json: cannot be read"):
        read_value(tmp_path / "nothing")
    folder = tmp_path / "v"
    write_value(folder, {"frame": sample_frame(), "array": np.arange(3.0)})
    data = (folder / "t0.parquet").read_bytes()
    (folder / "t0.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(CacheUnreadable, match=r"t0\.parquet: not a readable parquet file"):
        read_value(folder)
    (folder / "t0.parquet").unlink()
    with pytest.raises(CacheUnreadable, match=r"t0\.parquet: not a readable parquet file"):
        read_value(folder)
    (folder / "arrays.npz").unlink()
    with pytest.raises(CacheUnreadable, match=r"arrays\.npz: array 'a\d+' cannot be read"):
        read_value(folder)


def test_table_with_wrong_column_type_is_refused(tmp_path):
    folder = tmp_path / "v"
    write_value(folder, pd.Series([1, 2], name="n"))
    doc = json.loads((folder / "value.json").read_text())
    doc["value"]["cols"][0]["dtype"] = "<f8"
    (folder / "value.json").write_text(json.dumps(doc))
    with pytest.raises(CacheUnreadable, match=r"t0\.parquet: column c0: .*found int64 with 0 nulls, expected float64"):
        read_value(folder)


def test_the_forecasts_year_total_distributions_round_trip_and_no_other_is_rebuilt(tmp_path):
    from scipy import stats

    for i, dist in enumerate([stats.norm(loc=120.5, scale=7.25),
                              stats.truncnorm(a=-120.5 / 70.0, b=np.inf, loc=120.5, scale=70.0)]):
        write_value(tmp_path / f"d{i}", {"total": dist})
        back = read_value(tmp_path / f"d{i}")["total"]
        assert_same(dist, back)
        assert back.cdf(120.5) == dist.cdf(120.5)
    write_value(tmp_path / "d2", stats.norm(loc=1.0, scale=2.0))
    doc = (tmp_path / "d2" / "value.json").read_text(encoding="utf-8").replace('"norm"', '"levy_stable"')
    (tmp_path / "d2" / "value.json").write_text(doc, encoding="utf-8")
    with pytest.raises(CacheUnreadable, match=r"distribution 'levy_stable' is not one planlib stores \(norm, truncnorm\)"):
        read_value(tmp_path / "d2")


# --------------------------------------------------------------------------- the real stage results
@pytest.mark.slow
def test_every_stage_of_the_sample_plan_round_trips(tmp_path):
    from planlib.core.graph import Plan, stages

    plan = Plan(load_config(ROOT / "templates" / "plan.yaml"))
    names = [n for n in sorted(stages()) if not n.startswith("review") and n != "reforecast"]
    assert len(names) > 15
    stored = []
    for name in names:
        value = plan.get(name)
        if name in NOT_CACHEABLE:
            with pytest.raises(CacheUnsupported, match=NOT_CACHEABLE[name]):
                write_value(tmp_path / name, value)
            continue
        write_value(tmp_path / name, value)
        assert_same(value, read_value(tmp_path / name), name)
        stored.append(name)
    assert {"history", "forecast", "targets", "capacity", "monte_carlo", "incentive_plan"} <= set(stored)


# --------------------------------------------------------------------------- full disks and killed runs
def _dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    import subprocess
    import sys

    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


def test_a_full_disk_leaves_no_temporary_folder(tmp_path, monkeypatch):
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_mod.pq, "write_table", full)
    frame = pd.DataFrame({"y": [1.0, 2.0]})
    with pytest.raises(OSError, match="No space left on device"):
        write_value(tmp_path / "history-abc", frame)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # neither history-abc nor history-abc.tmp-<pid>


def test_sweep_removes_temporary_folders_of_ended_processes_only(tmp_path):
    dead = _dead_pid()
    stale = tmp_path / f"history-abc.tmp-{dead}"
    live = tmp_path / f"forecast-def.tmp-{os.getppid()}"  # the process that started this test is alive
    mine = tmp_path / f"targets-ghi.tmp-{os.getpid()}"
    kept = tmp_path / "history-abc"  # a finished value is never swept
    for folder in (stale, live, mine, kept):
        folder.mkdir()
        (folder / "value.json").write_text("{}")
    assert cache_mod.sweep_temporary(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, mine.name, kept.name])
    assert process_alive(os.getpid()) and not process_alive(dead)
    assert cache_mod.sweep_temporary(tmp_path / "missing") == []
