"""Bundle tables column-wise: widths and cells as the per-cell route gave them, to the byte of the files."""
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import planlib.report.tables as tables
from planlib.report.tables import Sheet, column_width, display_width, neutralise, write_csv, write_excel


def per_cell_width(series, number_format=None, unit=1.0, is_money=False):
    """The route the workbook took before: each cell's shown text, measured one by one."""
    return max((display_width(tables._shown_text(v, number_format, unit, is_money)) for v in series.tolist()), default=0)


COLUMNS = {
    "float": pd.Series([3.0, -12.5, 1234.0, np.nan]),
    "float_edges": pd.Series([0.0, -0.0, 0.004, -0.004, np.inf, 1e15, -1e3]),
    "float_only_negative_zero": pd.Series([-0.0, np.nan]),
    "float_inf_widest": pd.Series([-np.inf, 1.0]),
    "float32": pd.Series([1.5, -2.25, 99999.5], dtype="float32"),
    "int": pd.Series([7, -1_234_567, 0, 42]),
    "uint": pd.Series([7, 12_345], dtype="uint32"),
    "bool": pd.Series([True, False]),
    "dates": pd.Series(pd.to_datetime(["2027-01-01", None])),
    "dates_tz": pd.Series(pd.to_datetime(["2027-01-01"]).tz_localize("Asia/Shanghai")),
    "nat_only": pd.Series(pd.to_datetime([None, None])),
    "text": pd.Series(["East", "华东区", None, "=SUM(A1)", "x" * 70]),
    "text_str_nan": pd.Series(["North", np.nan], dtype="str"),
    "text_pd_na": pd.Series(["North", pd.NA], dtype="string"),
    "mixed": pd.Series(["a", 1, 1.0, True, dt.date(2027, 1, 1), None, -0.0, pd.NA], dtype=object),
    "categorical": pd.Series(pd.Categorical(["华北", "South", "South"])),
    "nullable_int": pd.Series([1, None, -300], dtype="Int64"),
    "empty": pd.Series([], dtype=float),
}


@pytest.mark.parametrize("name", COLUMNS)
@pytest.mark.parametrize("fmt, unit, is_money", [(None, 1.0, False), ("#,##0,", 1e3, True), ("0!.0,", 1e4, True),
                                                   ("0.0%", 1.0, False), ("#,##0.00", 1.0, False)])
def test_column_width_equals_the_per_cell_route(name, fmt, unit, is_money):
    series = COLUMNS[name]
    assert column_width(series, fmt, unit, is_money) == per_cell_width(series, fmt, unit, is_money)


def test_column_widths_by_hand():
    assert column_width(COLUMNS["float"]) == len("1,234.00")
    assert column_width(pd.Series([-0.0])) == len("-0.00")
    assert column_width(pd.Series([-1e6, 5.0]), "#,##0,", 1e3, True) == len("-1,000")
    assert column_width(pd.Series([0.125, -0.5]), "0.0%") == len("-50.0%")
    assert column_width(pd.Series(["华东区", "East"])) == 6  # CJK characters count double
    assert column_width(pd.Series(["a", pd.NA], dtype="string")) == len("<NA>")  # as the cell route measured it
    assert column_width(COLUMNS["dates"]) == len("2027-12-31") and column_width(COLUMNS["nat_only"]) == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=30),
       st.sampled_from([(None, 1.0, False), ("#,##0", 1.0, True), ("0!.00,,", 1e8, True), ("0.0%", 1.0, False)]))
def test_float_column_width_equals_the_per_cell_route_for_any_values(values, how):
    series = pd.Series(values, dtype=float)
    assert column_width(series, *how) == per_cell_width(series, *how)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=-2**62, max_value=2**62), max_size=30))
def test_int_column_width_equals_the_per_cell_route_for_any_values(values):
    series = pd.Series(values, dtype="int64")
    assert column_width(series) == per_cell_width(series)


def _sheets():
    frame = pd.DataFrame({name: series.reset_index(drop=True) for name, series in COLUMNS.items()
                          if name not in ("empty", "dates_tz")})
    return {"All kinds": Sheet(frame, money=["int"], percent=["float32"], formats={"uint": "0"}),
            "Targets": pd.DataFrame({"level": ["rep"] * 3, "entity": ["R1", "=cmd|' /C calc'!A0", "张三"],
                                     "target": [1200.0, np.nan, -0.0]})}


def test_workbook_bytes_equal_the_per_cell_route(tmp_path, monkeypatch):
    fast = write_excel(tmp_path / "fast.xlsx", _sheets(), unit=1e3, unit_label="k USD", created=dt.date(2026, 11, 20))

    def per_cell(ws, col, values, col_fmt, number_fmt, text_fmt, quoted_fmt):
        for row, value in enumerate(values, start=1):
            tables._write_cell(ws, row, col, value, col_fmt, number_fmt, text_fmt, quoted_fmt)

    monkeypatch.setattr(tables, "_write_column", per_cell)
    monkeypatch.setattr(tables, "column_width", per_cell_width)
    slow = write_excel(tmp_path / "slow.xlsx", _sheets(), unit=1e3, unit_label="k USD", created=dt.date(2026, 11, 20))
    assert fast.read_bytes() == slow.read_bytes()


def test_csv_bytes_equal_the_per_cell_route(tmp_path, monkeypatch):
    frame = pd.DataFrame({"text": ["=1+1", "plain", None, "-5", "@x"], "str": pd.Series(["+a", "b", np.nan, "c", "d"],
                                                                                         dtype="str"),
                          "mixed": pd.Series(["=x", 3, -4.5, None, "ok"], dtype=object),
                          "number": [-1.0, 2.0, 3.0, np.nan, 5.0]})
    fast = write_csv(frame, tmp_path / "fast.csv").read_bytes()
    assert fast.decode("utf-8-sig").splitlines()[1] == "'=1+1,'+a,'=x,-1.0"  # text neutralised, numbers not
    monkeypatch.setattr(tables, "_neutralised", lambda series: series.map(neutralise, na_action="ignore"))
    assert write_csv(frame, tmp_path / "slow.csv").read_bytes() == fast
