"""Tests of planlib.data.load: readers, encodings, parsing, cleaning with rejects, strict mode, the panel."""
from __future__ import annotations

import datetime as dt
import sqlite3

import numpy as np
import pandas as pd
import pytest

from planlib.core.config import parse_config
from planlib.core.errors import ConfigError, DataError
from planlib.data.load import customer_table, input_fingerprints, load_inputs, monthly_panel

ROSTER = """rep_id,name,team,region,role,hire_date,exit_date,fte
R001,张伟,East-1,East,rep,2020-01-06,,1
R002,李娜,South-1,South,rep,2021-03-01,,0.5
R003,王芳,NA-1,NA,rep,2022-07-01,2025-12-31,
"""
HEADER = "deal_id,date,amount,rep_id,customer_id,product,region\n"


def write(folder, name, text, encoding="utf-8"):
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def config_for(folder, *, sales=None, reps=None, as_of="2026-11-26", **data):
    """A config whose sales/reps default to sales.csv / reps.csv in ``folder``."""
    if not (folder / "reps.csv").exists():
        write(folder, "reps.csv", ROSTER)
    raw = {"company": {"name": "Test Co", "currency": "CNY", "country": "CN"},
           "fiscal": {"year": 2027}, "as_of": as_of,
           "data": {"sales": {"path": "sales.csv", **(sales or {})},
                    "reps": {"path": "reps.csv", **(reps or {})}, **data}}
    return parse_config(raw, base_dir=folder)


def load(folder, sales_text, *, encoding="utf-8", strict=False, sales=None, **data):
    write(folder, "sales.csv", sales_text, encoding)
    return load_inputs(config_for(folder, sales=sales, **data), strict=strict)


def rejects_of(inputs, table="sales"):
    return inputs.rejects[inputs.rejects["table"] == table]


def count(inputs, table="sales"):
    return inputs.counts.set_index("table").loc[table]


def repairs(inputs, table="sales"):
    rep = inputs.repairs[inputs.repairs["table"] == table]
    return dict(zip(rep["repair"], rep["rows"]))


def assert_balanced(inputs):
    for row in inputs.counts.itertuples():
        assert row.rows_in == row.rows_used + row.rows_rejected
        assert row.rows_used == len(inputs.tables[row.table])


# --------------------------------------------------------------------------- encodings
def test_gbk_file_with_chinese_headers_mapped_through_config(tmp_path):
    text = ("成交编号,成交日期,金额,销售代表,客户编号,产品,区域,客户名称\n"
            "D1,2026-01-05,100.50,R001,C001,仪器,华东,北京仪器有限公司\n"
            "D2,2026-02-05,200,R002,C002,耗材,华南,广州科技有限公司\n")
    columns = {"deal_id": "成交编号", "date": "成交日期", "amount": "金额", "rep_id": "销售代表",
               "customer_id": "客户编号", "product": "产品", "region": "区域", "customer_name": "客户名称"}
    inputs = load(tmp_path, text, encoding="gbk", sales={"columns": columns})
    sales = inputs.tables["sales"]
    assert sales["customer_name"].tolist() == ["北京仪器有限公司", "广州科技有限公司"]
    assert sales["region"].tolist() == ["华东", "华南"]
    assert sales["amount"].tolist() == [100.5, 200.0]
    assert sales["date"].tolist() == [pd.Timestamp("2026-01-05"), pd.Timestamp("2026-02-05")]


def test_character_outside_gbk_needs_and_gets_gb18030(tmp_path):
    name = "𠮷野家仪器"  # U+20BB7 is in GB18030 but not in GBK
    with pytest.raises(UnicodeEncodeError):
        name.encode("gbk")
    text = HEADER.rstrip("\n") + ",customer_name\nD1,2026-01-05,10,R001,C1,A,East," + name + "\n"
    inputs = load(tmp_path, text, encoding="gb18030")
    assert inputs.tables["sales"]["customer_name"].tolist() == [name]


def test_utf8_bom_keeps_the_first_header_intact(tmp_path):
    write(tmp_path, "sales.csv", "")
    (tmp_path / "sales.csv").write_bytes(b"\xef\xbb\xbf" + (HEADER + "D1,2026-01-05,10,R001,C1,A,East\n").encode())
    inputs = load_inputs(config_for(tmp_path))
    assert inputs.tables["sales"]["deal_id"].tolist() == ["D1"]  # not '\ufeffdeal_id' -> a missing column


def test_explicit_encoding_is_used_as_given_and_never_lossy(tmp_path):
    text = HEADER + "D1,2026-01-05,10,R001,C1,仪器,East\n"
    raw = text.encode("gbk")
    offset = raw.index("仪".encode("gbk"))
    with pytest.raises(DataError, match=rf"sales\.csv: cannot be decoded as utf-8: byte offset {offset}"):
        load(tmp_path, text, encoding="gbk", sales={"encoding": "utf-8"})


def test_undecodable_file_names_the_byte_offset(tmp_path):
    (tmp_path / "sales.csv").write_bytes(HEADER.encode() + b"D1,2026-01-05,10,R001,C1,\xff\xfe\xff,East\n")
    offset = len(HEADER) + len("D1,2026-01-05,10,R001,C1,")
    with pytest.raises(DataError, match=rf"sales\.csv: cannot be decoded: not UTF-8 \(byte offset {offset}.*"
                                        rf"not GB18030/GBK \(byte offset {offset}"):
        load_inputs(config_for(tmp_path))


# --------------------------------------------------------------------------- values
def test_quoted_and_currency_amounts(tmp_path):
    text = HEADER + ('D1,2026-01-05,"1,234.50",R001,C1,A,East\n'
                     'D2,2026-01-06,"¥1,234",R001,C1,A,East\n'
                     'D3,2026-01-07,RMB 2 000.25,R001,C1,A,East\n'
                     'D4,2026-01-08,(50.00),R001,C1,A,East\n'
                     'D5,2026-01-09,12.3.4,R001,C1,A,East\n'
                     'D6,2026-01-10,1.5E+03,R001,C1,A,East\n')
    inputs = load(tmp_path, text)
    sales = inputs.tables["sales"].set_index("deal_id")
    assert sales["amount"].to_dict() == {"D1": 1234.5, "D2": 1234.0, "D3": 2000.25, "D4": -50.0}
    rej = rejects_of(inputs)
    assert rej["line"].tolist() == [6, 7]
    assert rej["value"].tolist() == ["12.3.4", "1.5E+03"]
    assert rej["reason"].str.startswith("expected an amount such as 1,234.50").all()
    assert repairs(inputs)["amount: amount written with a currency symbol, separators or parentheses"] == 4


def test_european_number_format_per_config(tmp_path):
    text = HEADER + 'D1,2026-01-05,"1.234,50",R001,C1,A,East\nD2,2026-01-06,"7,5",R001,C1,A,East\n'
    inputs = load(tmp_path, text, sales={"thousands": ".", "decimal": ","})
    assert inputs.tables["sales"]["amount"].tolist() == [1234.5, 7.5]


def test_extra_and_missing_field_rejected_with_line_and_nothing_shifts(tmp_path):
    text = HEADER + ("D1,2026-01-05,10,R001,C1,A,East,surprise\n"
                     "D2,2026-01-06,20,R001,C1,A\n"
                     "D3,2026-01-07,30,R002,C2,B,South\n")
    inputs = load(tmp_path, text)
    sales = inputs.tables["sales"]
    assert sales[["deal_id", "amount", "rep_id", "region"]].values.tolist() == [["D3", 30.0, "R002", "South"]]
    rej = rejects_of(inputs)
    assert rej["line"].tolist() == [2, 3]
    assert rej["reason"].tolist() == ["expected 7 fields as in the header, found 8",
                                      "expected 7 fields as in the header, found 6"]
    assert rej["value"].iloc[0] == "D1,2026-01-05,10,R001,C1,A,East,surprise"
    assert_balanced(inputs)


def test_line_numbers_count_physical_lines_of_quoted_line_breaks_and_blank_lines(tmp_path):
    text = HEADER + ('D1,2026-01-05,10,R001,C1,"A\nB",East\n'
                     "\n"
                     "D2,2026-01-06,oops,R001,C1,A,East\r\n")
    inputs = load(tmp_path, text)
    assert inputs.tables["sales"]["product"].tolist() == ["A\nB"]
    assert rejects_of(inputs)["line"].tolist() == [5]
    assert repairs(inputs)["blank line skipped"] == 1


def test_stray_quote_inside_a_field_is_read_as_the_csv_module_reads_it(tmp_path):
    text = HEADER + 'D1,2026-01-05,10,R001,C1,5" screen,East\nD2,2026-01-06,x,R001,C1,A,East\n'
    inputs = load(tmp_path, text)
    assert inputs.tables["sales"]["product"].tolist() == ['5" screen']
    assert rejects_of(inputs)["line"].tolist() == [3]


def test_mixed_date_forms_parse_per_value(tmp_path):
    text = HEADER + ("D1,2024-03-05,1,R001,C1,A,East\n"
                     "D2,2024/3/6,1,R001,C1,A,East\n"
                     "D3,07.03.2024,1,R001,C1,A,East\n"
                     "D4,25/03/2024,1,R001,C1,A,East\n"
                     "D5,03/26/2024,1,R001,C1,A,East\n"
                     "D6,2024年3月27日,1,R001,C1,A,East\n"
                     "D7,04/04/2024,1,R001,C1,A,East\n"
                     "D8,2024-03-28 14:30:00,1,R001,C1,A,East\n"
                     "D9,03/04/2024,1,R001,C1,A,East\n"
                     "D10,2024-02-30,1,R001,C1,A,East\n")
    inputs = load(tmp_path, text)
    got = inputs.tables["sales"].set_index("deal_id")["date"].dt.strftime("%Y-%m-%d").to_dict()
    assert got == {"D1": "2024-03-05", "D2": "2024-03-06", "D3": "2024-03-07", "D4": "2024-03-25",
                   "D5": "2024-03-26", "D6": "2024-03-27", "D7": "2024-04-04", "D8": "2024-03-28"}
    rej = rejects_of(inputs).set_index("line")
    assert rej.loc[10, "value"] == "03/04/2024"
    assert "day and month could be either way round; set the table's dayfirst" in rej.loc[10, "reason"]
    assert rej.loc[11, "reason"] == "expected a real calendar date (no such day)"
    # the table's dayfirst decides only the ambiguous value
    inputs = load(tmp_path, text, sales={"dayfirst": True})
    dates = inputs.tables["sales"].set_index("deal_id")["date"]
    assert dates["D9"] == pd.Timestamp("2024-04-03") and dates["D5"] == pd.Timestamp("2024-03-26")


def test_two_digit_years_are_rejected_unless_a_window_is_configured(tmp_path):
    text = HEADER + "D1,05.03.24,1,R001,C1,A,East\nD2,01.01.68,1,R001,C1,A,East\nD3,2026-01-02,1,R001,C1,A,East\n"
    inputs = load(tmp_path, text)
    assert inputs.tables["sales"]["deal_id"].tolist() == ["D3"]
    rej = rejects_of(inputs)
    assert rej["line"].tolist() == [2, 3]
    assert rej["reason"].str.contains("a two-digit year is ambiguous \\(is 68 1968 or 2068\\?\\)").all()
    inputs = load(tmp_path, text, sales={"two_digit_years": 1950})
    assert inputs.tables["sales"]["date"].tolist() == [pd.Timestamp("2024-03-05"), pd.Timestamp("1968-01-01"),
                                                       pd.Timestamp("2026-01-02")]
    assert repairs(inputs)["date: two-digit year read by the two_digit_years rule"] == 2


def test_a_two_digit_year_format_needs_a_window_in_the_config(tmp_path):
    with pytest.raises(ConfigError, match=r"data\.sales.*two-digit year \(%y\): set two_digit_years"):
        config_for(tmp_path, sales={"date_format": "%d/%m/%y"})
    text = HEADER + "D1,05/03/68,1,R001,C1,A,East\n"
    inputs = load(tmp_path, text, sales={"date_format": "%d/%m/%y", "two_digit_years": 1950})
    assert inputs.tables["sales"]["date"].tolist() == [pd.Timestamp("1968-03-05")]


def test_ids_keep_leading_zeros_and_scientific_notation_is_rejected(tmp_path):
    text = HEADER + "D1,2026-01-05,1,R001,00123,A,East\nD2,2026-01-05,1,R001,1.23E+05,A,East\n"
    inputs = load(tmp_path, text)
    assert inputs.tables["sales"]["customer_id"].tolist() == ["00123"]
    rej = rejects_of(inputs)
    assert rej[["line", "column", "value"]].values.tolist() == [[3, "customer_id", "1.23E+05"]]
    assert "scientific notation" in rej["reason"].iloc[0] and "export the column as text" in rej["reason"].iloc[0]


def test_a_region_named_na_stays_na(tmp_path):
    text = HEADER + "D1,2026-01-05,1,R003,C1,A,NA\nD2,2026-01-06,1,R003,C1,A,\n"
    inputs = load(tmp_path, text)
    assert inputs.tables["sales"]["region"].tolist() == ["NA", "NA"]  # the second from R003's roster row
    assert inputs.tables["reps"].set_index("rep_id").loc["R003", "region"] == "NA"
    assert repairs(inputs)["region blank: taken from the rep roster"] == 1


# --------------------------------------------------------------------------- rows removed or rejected
def test_repeated_header_row_is_removed_and_counted(tmp_path):
    text = HEADER + "D1,2026-01-05,10,R001,C1,A,East\n" + HEADER + "D2,2026-01-06,20,R001,C1,A,East\n"
    inputs = load(tmp_path, text)
    assert inputs.tables["sales"]["amount"].tolist() == [10.0, 20.0]
    rej = rejects_of(inputs)
    assert rej[["line", "reason"]].values.tolist() == [[3, "repeated header row: removed"]]
    assert repairs(inputs)["repeated header row removed"] == 1
    assert_balanced(inputs)


def test_trailing_total_rows_are_removed_and_counted(tmp_path):
    text = HEADER + "D1,2026-01-05,10,R001,C1,A,East\nD2,2026-01-06,20,R001,C1,A,East\n,合计,30,,,,\nTotal,,30,,,,\n"
    inputs = load(tmp_path, text)
    assert inputs.tables["sales"]["amount"].sum() == 30.0
    rej = rejects_of(inputs)
    assert rej[["line", "value"]].values.tolist() == [[4, "合计"], [5, "Total"]]
    assert (rej["reason"] == "total row: removed so it is not counted twice").all()
    assert repairs(inputs)["total row removed"] == 2
    assert count(inputs)[["rows_in", "rows_used", "rows_rejected"]].tolist() == [4, 2, 2]


def test_empty_and_header_only_files_are_errors_for_a_required_table(tmp_path):
    with pytest.raises(DataError, match=r"sales\.csv has no data rows \(the file is empty\)"):
        load(tmp_path, "")
    with pytest.raises(DataError, match=r"sales\.csv has no data rows \(the file has only a header\)"):
        load(tmp_path, HEADER + "\n\n")


def test_an_empty_optional_table_is_an_empty_typed_table(tmp_path):
    write(tmp_path, "market.csv", "region,product,year,market_size\n")
    inputs = load(tmp_path, HEADER + "D1,2026-01-05,10,R001,C1,A,East\n", market={"path": "market.csv"})
    market = inputs.tables["market"]
    assert market.empty and market["year"].dtype == "Int64" and market["market_size"].dtype == "float64"
    assert count(inputs, "market")[["rows_in", "rows_used", "rows_rejected"]].tolist() == [0, 0, 0]


def test_duplicate_deal_ids_name_both_lines(tmp_path):
    text = HEADER + ("D1,2026-01-05,10,R001,C1,A,East\n"
                     "D2,2026-01-06,20,R001,C1,A,East\n"
                     "D1,2026-01-07,99,R001,C1,A,East\n"
                     "D2,2026-01-06,20,R001,C1,A,East\n"
                     "D3,2026-01-08,30,R001,C1,A,East\n")
    inputs = load(tmp_path, text)
    assert inputs.tables["sales"]["deal_id"].tolist() == ["D2", "D3"]  # the identical repeat keeps its first
    rej = rejects_of(inputs)
    assert rej["line"].tolist() == [2, 4, 5]
    assert rej["reason"].iloc[0] == ("expected a unique deal_id: the same deal_id is on lines 2, 4 "
                                     "with different values")
    assert rej["reason"].iloc[2].startswith("duplicate of line 3 (identical row; deal_id on lines 3, 5)")
    assert_balanced(inputs)


def test_unknown_rep_is_rejected_with_the_roster_named(tmp_path):
    inputs = load(tmp_path, HEADER + "D1,2026-01-05,10,R001,C1,A,East\nD2,2026-01-05,10,R999,C1,A,East\n")
    rej = rejects_of(inputs)
    assert rej[["line", "column", "value"]].values.tolist() == [[3, "rep_id", "R999"]]
    assert rej["reason"].iloc[0] == "expected a rep_id on the roster (reps.csv): this rep is not on it"


def test_credit_notes_kept_and_counted_or_rejected_by_config(tmp_path):
    text = HEADER + "D1,2026-01-05,100,R001,C1,A,East\nD2,2026-01-06,-40,R001,C1,A,East\n"
    kept = load(tmp_path, text)
    assert kept.tables["sales"]["amount"].tolist() == [100.0, -40.0]
    assert repairs(kept)["credit note (negative amount) kept as a return"] == 1
    rejected = load(tmp_path, text, credit_notes="reject")
    assert rejected.tables["sales"]["amount"].tolist() == [100.0]
    rej = rejects_of(rejected)
    assert rej[["line", "value"]].values.tolist() == [[3, "-40"]]
    assert "rejected by data.credit_notes" in rej["reason"].iloc[0]


def test_sales_after_as_of_are_rejected(tmp_path):
    text = HEADER + "D1,2026-11-26,10,R001,C1,A,East\nD2,2026-11-27,10,R001,C1,A,East\n"
    inputs = load(tmp_path, text)
    assert inputs.tables["sales"]["deal_id"].tolist() == ["D1"]
    assert rejects_of(inputs)["reason"].tolist() == ["dated after as_of 2026-11-26: left out of the plan"]


def test_a_roster_without_teams_has_one_team_per_region_named_after_it(tmp_path):
    write(tmp_path, "reps.csv", "rep_id,name,region\nR001,张伟,East\nR002,李娜,South\n")
    inputs = load(tmp_path, HEADER + "D1,2026-01-05,10,R001,C1,A,East\n")
    assert inputs.tables["reps"][["rep_id", "team", "region"]].values.tolist() == [["R001", "East", "East"],
                                                                                   ["R002", "South", "South"]]
    assert repairs(inputs, "reps")["team not given: one team per region, named after the region"] == 2
    assert_balanced(inputs)
    # a roster that lacks a required column is told so with an example of that table's own column
    write(tmp_path, "reps.csv", "rep_id,name\nR001,张伟\n")
    with pytest.raises(DataError, match=r"reps\.csv: missing required column\(s\) 'region'; headers found: "
                                        r"'rep_id', 'name'\. Map your headers in data\.reps\.columns, e\.g\. "
                                        r"\{region: <your header for region>\}"):
        load(tmp_path, HEADER + "D1,2026-01-05,10,R001,C1,A,East\n")


def test_missing_required_column_names_file_column_and_headers(tmp_path):
    text = "成交日期,金额,销售代表,客户编号\n2026-01-05,10,R001,C1\n"
    columns = {"date": "成交日期", "amount": "金额", "rep_id": "销售代表", "customer_id": "客户编号",
               "product": "产品"}
    with pytest.raises(DataError, match=r"sales\.csv: missing required column\(s\) 'product' \(mapped to header "
                                        r"'产品'\); headers found: '成交日期', '金额', '销售代表', '客户编号'"):
        load(tmp_path, text, sales={"columns": columns})
    with pytest.raises(DataError, match=r"'客户编号'\. Map your headers in data\.sales\.columns, e\.g\. "
                                        r"\{product: <your header for product>\}"):
        load(tmp_path, text, sales={"columns": columns})
    with pytest.raises(DataError, match=r"data\.sales\.columns names \['amout'\], which sales does not have"):
        load(tmp_path, text, sales={"columns": {"amout": "金额"}})
    with pytest.raises(DataError, match=r"sales\.csv: the header 'amount' \(amount\) appears 2 times, in columns \[3, 8\]"):
        load(tmp_path, HEADER.rstrip("\n") + ",amount\nD1,2026-01-05,10,R001,C1,A,East,12\n")


def test_a_table_with_no_usable_row_is_an_error_listing_why(tmp_path):
    text = HEADER + "D1,2026-01-05,x,R001,C1,A,East\nD2,2027-01-05,5,R001,C1,A,East\n"
    with pytest.raises(DataError, match=r"(?s)sales\.csv has no usable rows: all 2 data rows were rejected \(1 removed "
                                        r"by rule: \['dated after as_of 2026-11-26: left out of the plan'\]\)\n"
                                        r"  - sales\.csv, line 2, column 'amount': found 'x', expected an amount"):
        load(tmp_path, text)


def test_empty_required_value_is_rejected(tmp_path):
    inputs = load(tmp_path, HEADER + "D1,2026-01-05,,R001,C1,A,East\nD2,2026-01-05,5,R001,C1,A,East\n")
    rej = rejects_of(inputs)
    assert rej[["line", "column", "reason"]].values.tolist() == [[2, "amount", "expected a value (the cell is empty)"]]


def test_strict_mode_lists_every_bad_row_at_once(tmp_path):
    text = HEADER + ("D1,2026-01-05,ten,R001,C1,A,East\n"
                     "D2,2026-01-05,10,R001,C1,A,East\n"
                     "D3,not a date,10,R001,C1,A,East\n"
                     "D4,2026-01-05,10,R009,C1,A,East\n"
                     "D5,2026-01-05,10,R001,C1,A\n"
                     "Total,,40,,,,\n")
    with pytest.raises(DataError) as info:
        load(tmp_path, text, strict=True)
    message = str(info.value)
    assert message.startswith("4 bad row(s) in the inputs")
    for line, column, found in [(2, "amount", "'ten'"), (4, "date", "'not a date'"), (5, "rep_id", "'R009'")]:
        assert f"sales.csv, line {line}, column '{column}': found {found}, expected" in message
    assert "sales.csv, line 6: found 'D5,2026-01-05,10,R001,C1,A', expected 7 fields as in the header, found 6" in message
    assert "line 7" not in message  # a total row is removed by rule, never an error
    assert [p.line for p in info.value.problems] == [2, 4, 5, 6]


def test_rows_in_equals_rows_used_plus_rows_rejected(tmp_path):
    text = HEADER + ("D1,2026-01-05,10,R001,C1,A,East\n"
                     "\n"
                     "D2,2026-01-05,bad,R001,C1,A,East\n"
                     "D3,2026-01-05,10,R001,C1,A,East,x\n"
                     + HEADER +
                     "D4,bad,bad,R001,C1,A,East\n"
                     "D5,2026-01-05,10,R009,C1,A,East\n"
                     "D6,2026-01-05,10,R002,C1,B,South\n"
                     "合计,,30,,,,\n")
    inputs = load(tmp_path, text)
    assert count(inputs)[["rows_in", "rows_used", "rows_rejected"]].tolist() == [8, 2, 6]
    assert len(rejects_of(inputs)) == 7  # line 7 has two bad cells: listed twice, counted once
    assert_balanced(inputs)


# --------------------------------------------------------------------------- other formats
def test_excel_round_trip_with_line_numbers_as_excel_rows(tmp_path):
    import openpyxl
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Deals"
    sheet.append(["deal_id", "date", "amount", "rep_id", "customer_id", "product", "region"])
    sheet.append(["D1", dt.datetime(2026, 1, 5), 1234.5, "R001", "00123", "A", "NA"])
    sheet.append(["D2", "yesterday", 10, "R001", "C2", "A", "East"])
    sheet.append([None] * 7)
    sheet.append(["D3", dt.date(2026, 2, 7), 12, "R002", 456, "B", None])
    book.save(tmp_path / "sales.xlsx")
    inputs = load_inputs(config_for(tmp_path, sales={"path": "sales.xlsx", "sheet": "Deals"}))
    sales = inputs.tables["sales"]
    assert sales[["deal_id", "amount", "customer_id", "region"]].values.tolist() == [
        ["D1", 1234.5, "00123", "NA"], ["D3", 12.0, "456", "South"]]
    assert sales["date"].tolist() == [pd.Timestamp("2026-01-05"), pd.Timestamp("2026-02-07")]
    rej = rejects_of(inputs)
    assert rej[["file", "line", "column", "value"]].values.tolist() == [["sales.xlsx[Deals]", 3, "date", "yesterday"]]
    with pytest.raises(DataError, match=r"no sheet named 'Missing'; sheets: \['Deals'\]"):
        load_inputs(config_for(tmp_path, sales={"path": "sales.xlsx", "sheet": "Missing"}))


def test_parquet_round_trip_with_typed_columns(tmp_path):
    frame = pd.DataFrame({
        "deal_id": ["D1", "D2", "D3"],
        "date": pd.to_datetime(["2026-01-05", "2026-02-06", "2026-03-07"]),
        "amount": [1234.5, 0.1, -20.0],
        "rep_id": ["R001", "R002", "R001"],
        "customer_id": ["00123", "C2", None],
        "product": ["A", "B", "A"],
        "quantity": [3, 4, 5],
    })
    frame.to_parquet(tmp_path / "sales.parquet", index=False)
    inputs = load_inputs(config_for(tmp_path, sales={"path": "sales.parquet"}))
    sales = inputs.tables["sales"]
    assert sales["amount"].tolist() == [1234.5, 0.1]
    assert sales["date"].tolist() == [pd.Timestamp("2026-01-05"), pd.Timestamp("2026-02-06")]
    assert sales["quantity"].tolist() == [3, 4] and sales["customer_id"].tolist() == ["00123", "C2"]
    assert sales["region"].tolist() == ["East", "South"]  # no region column: from the roster
    assert rejects_of(inputs)[["line", "column"]].values.tolist() == [[4, "customer_id"]]


def test_sqlite_source_binds_params_so_quotes_stay_data(tmp_path):
    db = tmp_path / "crm.db"
    nasty = "O'Brien'; DROP TABLE deals; --"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE deals (deal_id TEXT, date TEXT, amount REAL, rep_id TEXT, customer_id TEXT, "
                     "product TEXT, region TEXT)")
        conn.executemany("INSERT INTO deals VALUES (?, ?, ?, ?, ?, ?, ?)", [
            ("D1", "2026-01-05", 100.0, "R001", "00123", "A", nasty),
            ("D2", "2026-01-06", 200.0, "R001", "C2", "A", "East"),
            ("D3", "2026-01-07", 300.0, "R002", "C3", "B", nasty),
        ])
    sql = {"url": f"sqlite:///{db}", "query": "SELECT * FROM deals WHERE region = :region ORDER BY deal_id",
           "params": {"region": nasty}}
    config = config_for(tmp_path, sales={"path": None, "sql": sql})
    inputs = load_inputs(config)
    sales = inputs.tables["sales"]
    assert sales["deal_id"].tolist() == ["D1", "D3"] and sales["region"].tolist() == [nasty, nasty]
    assert sales["customer_id"].tolist() == ["00123", "C3"] and sales["amount"].tolist() == [100.0, 300.0]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM deals").fetchone() == (3,)
    assert count(inputs)["file"] == f"sql:sqlite:///{db}"
    # the fingerprint follows the query's result, so a changed database invalidates the cache
    before = input_fingerprints(config)["sales"]
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE deals SET amount = 301 WHERE deal_id = 'D3'")
    assert input_fingerprints(config)["sales"] != before
    listed = {"url": f"sqlite:///{db}", "query": "SELECT * FROM deals WHERE region IN :regions AND amount > :least",
              "params": {"regions": ["East", nasty], "least": 150}}
    chosen = load_inputs(config_for(tmp_path, sales={"path": None, "sql": listed})).tables["sales"]
    assert chosen["deal_id"].tolist() == ["D2", "D3"]
    bad = {"url": f"sqlite:///{db}", "query": "SELECT * FROM nowhere", "params": {}}
    with pytest.raises(DataError, match=r"sql:sqlite:///.*crm\.db: the query failed: .*no such table: nowhere"):
        load_inputs(config_for(tmp_path, sales={"path": None, "sql": bad}))


def test_optional_tables_parse_rates_percents_and_check_the_roster(tmp_path):
    write(tmp_path, "pipeline.csv", "opportunity_id,rep_id,customer_id,product,stage,amount,expected_close,probability\n"
                                    "OP1,R001,C1,A,Propose,\"10,000\",2027-01-15,60%\n"
                                    "OP2,R001,,A,Propose,500,2027-02-15,1.5\n"
                                    "OP3,R777,C1,A,Propose,500,2027-02-15,0.2\n")
    write(tmp_path, "market.csv", "region,product,year,market_size,market_growth\nEast,A,2026,1000000,3.5%\n")
    inputs = load(tmp_path, HEADER + "D1,2026-01-05,10,R001,C1,A,East\n",
                  pipeline={"path": "pipeline.csv"}, market={"path": "market.csv"})
    pipeline = inputs.tables["pipeline"]
    assert pipeline[["opportunity_id", "amount", "probability"]].values.tolist() == [["OP1", 10000.0, 0.6]]
    assert inputs.tables["market"]["market_growth"].iloc[0] == pytest.approx(0.035)
    rej = rejects_of(inputs, "pipeline")
    assert rej[["line", "column"]].values.tolist() == [[3, "probability"], [4, "rep_id"]]
    assert rej["reason"].iloc[0] == "expected a fraction between 0 and 1 or a percent such as 35%"
    reps = inputs.tables["reps"].set_index("rep_id")
    assert reps["fte"].tolist() == [1.0, 0.5, 1.0]  # R003's blank fte: full time, counted
    assert repairs(inputs, "reps")["fte blank: taken as 1.0"] == 1
    assert reps.loc["R003", "exit_date"] == pd.Timestamp("2025-12-31") and pd.isna(reps.loc["R001", "exit_date"])


def test_file_not_found_names_the_config_key(tmp_path):
    write(tmp_path, "reps.csv", ROSTER)
    with pytest.raises(DataError, match=r"sales\.csv: file not found at .*sales\.csv \(data\.sales\.path\)"):
        load_inputs(config_for(tmp_path))


# --------------------------------------------------------------------------- the panel
def _random_sales(seed=3, n=600):
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 365 * 2 + 60, n)
    frame = pd.DataFrame({
        "deal_id": [f"D{i:05d}" for i in range(n)],
        "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D"),
        "amount": np.round(rng.normal(500, 300, n), 2),
        "rep_id": rng.choice(["R001", "R002", "R003"], n),
        "customer_id": rng.choice(["C1", "C2", "C3", "C4"], n),
        "product": rng.choice(["A", "B"], n),
    })
    frame["region"] = np.where(rng.random(n) < 0.3, "", frame["rep_id"].map({"R001": "East", "R002": "South",
                                                                             "R003": "NA"}))
    # no sale at all in 2024-05: the gap month
    return frame[frame["date"].dt.strftime("%Y-%m") != "2024-05"].reset_index(drop=True)


def test_panel_totals_add_up_by_an_independent_groupby(tmp_path):
    raw = _random_sales()
    text = raw.assign(date=raw["date"].dt.strftime("%Y-%m-%d"), amount=raw["amount"].map("{:.2f}".format))
    write(tmp_path, "sales.csv", text.to_csv(index=False))
    config = config_for(tmp_path, as_of="2026-02-10")  # the last closed month: 2026-01
    inputs = load_inputs(config)
    panel = monthly_panel(inputs.tables["sales"], inputs.tables["reps"], config.last_closed_month)

    months = pd.date_range("2024-01-01", "2026-01-01", freq="MS")
    roster_region = {"R001": "East", "R002": "South", "R003": "NA"}
    kept = raw[raw["date"] < "2026-02-01"].assign(ds=lambda f: f["date"].dt.to_period("M").dt.to_timestamp())
    kept = kept.assign(region=kept["region"].where(kept["region"] != "", kept["rep_id"].map(roster_region)))
    company = kept.groupby("ds")["amount"].sum().reindex(months, fill_value=0.0)
    by_region = kept.pivot_table(index="ds", columns="region", values="amount", aggfunc="sum").reindex(months)
    by_product = kept.pivot_table(index="ds", columns="product", values="amount", aggfunc="sum").reindex(months)

    series = panel.pivot(index="ds", columns="unique_id", values="y")
    assert list(series.index) == list(months)  # full calendar, partial February 2026 left out
    assert series.loc["2024-05-01", "company"] == 0.0  # the gap month
    np.testing.assert_allclose(series["company"], company.to_numpy(), rtol=0, atol=1e-6)
    for region in ["East", "South", "NA"]:
        np.testing.assert_allclose(series[f"region/{region}"], by_region[region].fillna(0).to_numpy(), atol=1e-6)
    regions = series[[c for c in series if c.startswith("region/")]].sum(axis=1)
    products = series[[c for c in series if c.startswith("product/")]].sum(axis=1)
    teams = series[[c for c in series if c.startswith("team/")]].sum(axis=1)
    reps = series[[c for c in series if c.startswith("rep/")]].sum(axis=1)
    cells = series[[c for c in series if c.startswith("region_product/")]].sum(axis=1)
    for total in (regions, products, teams, reps, cells):
        np.testing.assert_allclose(total.to_numpy(), company.to_numpy(), atol=1e-6)
    np.testing.assert_allclose(series["product/A"], by_product["A"].fillna(0).to_numpy(), atol=1e-6)


def test_panel_columns_ids_and_hierarchy_labels():
    sales = pd.DataFrame({
        "date": pd.to_datetime(["2026-01-10", "2026-03-02", "2026-03-20", "2026-04-01"]),
        "amount": [100.0, 50.0, -20.0, 999.0],
        "rep_id": ["R1", "R2", "R1", "R1"],
        "product": ["Services", "Instruments", "Services", "Services"],
        "region": ["East", None, "", "East"],
    })
    reps = pd.DataFrame({"rep_id": ["R1", "R2", "R9"], "region": ["East", "South", "South"],
                         "team": ["East-1", "South-1", "South-1"]})
    panel = monthly_panel(sales, reps, dt.date(2026, 3, 31))
    assert list(panel.columns) == ["unique_id", "ds", "y", "level", "region", "team", "rep_id", "product"]
    assert panel["ds"].dtype == "datetime64[ns]" and panel["y"].dtype == "float64"
    ids = list(dict.fromkeys(panel["unique_id"]))
    assert ids == ["company", "region/East", "region/South", "product/Instruments", "product/Services",
                   "region_product/East/Services", "region_product/South/Instruments",
                   "team/East-1", "team/South-1", "rep/R1", "rep/R2"]
    company = panel[panel["unique_id"] == "company"]
    assert company["y"].tolist() == [100.0, 0.0, 30.0]  # April (after end) left out; credit note nets
    rep = panel[panel["unique_id"] == "rep/R2"].iloc[0]
    assert (rep["level"], rep["region"], rep["team"], rep["rep_id"], rep["product"]) == ("rep", "South", "South-1", "R2", None)
    team = panel[panel["unique_id"] == "team/East-1"].iloc[0]
    assert (team["region"], team["team"], team["rep_id"]) == ("East", "East-1", None)
    cell = panel[panel["unique_id"] == "region_product/South/Instruments"]
    assert cell["y"].tolist() == [0.0, 0.0, 50.0]  # region from R2's roster row
    with pytest.raises(DataError, match=r"no sales on or before 2025-12"):
        monthly_panel(sales, reps, "2025-12-31")
    with pytest.raises(DataError, match=r"sales by rep\(s\) not on the roster: \['R2'\]"):
        monthly_panel(sales, reps[reps["rep_id"] != "R2"], "2026-03-31")


def test_customer_table_marks_new_and_existing_by_year():
    sales = pd.DataFrame({
        "customer_id": ["C1", "C1", "C1", "C2", "C2"],
        "customer_name": ["Old name", "New name", "New name", "Beta", "Beta"],
        "date": pd.to_datetime(["2024-03-01", "2025-06-01", "2025-07-01", "2024-12-01", "2025-01-05"]),
        "amount": [100.0, 200.0, -50.0, -10.0, 80.0],
    })
    table = customer_table(sales)
    assert table[["customer_id", "year", "revenue", "deals", "status"]].values.tolist() == [
        ["C1", 2024, 100.0, 1, "new"], ["C1", 2025, 150.0, 1, "existing"],
        ["C2", 2024, -10.0, 0, "before first purchase"], ["C2", 2025, 80.0, 1, "new"]]
    assert table["customer_name"].tolist() == ["New name", "New name", "Beta", "Beta"]
    assert table["first_purchase"].tolist() == [pd.Timestamp("2024-03-01")] * 2 + [pd.Timestamp("2025-01-05")] * 2


# --------------------------------------------------------------------------- stages
def test_stages_cache_and_a_changed_file_invalidates_inputs(tmp_path):
    from planlib.core.graph import Plan

    write(tmp_path, "sales.csv", HEADER + "D1,2026-01-05,10,R001,C1,A,East\nD2,2026-10-05,5,R002,C1,B,South\n")
    config = config_for(tmp_path)
    plan = Plan(config, cache_dir=tmp_path / "cache")
    history = plan["history"]
    assert history[history["unique_id"] == "company"]["y"].sum() == 15.0
    key = plan.key("inputs")
    assert Plan(config, cache_dir=tmp_path / "cache").key("inputs") == key
    write(tmp_path, "sales.csv", HEADER + "D1,2026-01-05,10,R001,C1,A,East\nD2,2026-10-05,7,R002,C1,B,South\n")
    fresh = Plan(config, cache_dir=tmp_path / "cache")
    assert fresh.key("inputs") != key and fresh.key("history") != plan.key("history")
    assert fresh["history"][fresh["history"]["unique_id"] == "company"]["y"].sum() == 17.0


def test_a_relative_sqlite_url_is_read_from_the_config_files_folder(tmp_path, monkeypatch):
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    (project / "db").mkdir(parents=True)
    elsewhere.mkdir()
    with sqlite3.connect(project / "db" / "crm.db") as conn:
        conn.execute("CREATE TABLE deals (deal_id TEXT, date TEXT, amount REAL, rep_id TEXT, customer_id TEXT, "
                     "product TEXT, region TEXT)")
        conn.execute("INSERT INTO deals VALUES ('D1', '2026-01-05', 125.5, 'R001', 'C1', 'A', 'East')")
    monkeypatch.chdir(elsewhere)  # the working folder holds no crm.db: SQLite would create an empty one here
    sql = {"url": "sqlite:///db/crm.db", "query": "SELECT * FROM deals", "params": {}}
    config = config_for(project, sales={"path": None, "sql": sql})
    inputs = load_inputs(config)
    assert inputs.tables["sales"]["amount"].tolist() == [125.5]
    assert count(inputs)["file"] == "sql:sqlite:///db/crm.db"  # as written: the manifest holds no absolute path
    assert list(elsewhere.iterdir()) == []
    missing = {"url": "sqlite:///crm2.db", "query": "SELECT * FROM deals", "params": {}}
    with pytest.raises(DataError, match=rf"sql:sqlite:///crm2\.db: the SQLite file was not found at "
                                        rf"{project / 'crm2.db'} \(data\.sales\.sql\.url; a relative path is read "
                                        r"from the config file's folder\)"):
        load_inputs(config_for(project, sales={"path": None, "sql": missing}))
    assert not (project / "crm2.db").exists() and list(elsewhere.iterdir()) == []
    memory = {"url": "sqlite://", "query": "SELECT 'D1' AS deal_id, '2026-01-05' AS date, 9.5 AS amount, "
                                           "'R001' AS rep_id, 'C1' AS customer_id, 'A' AS product", "params": {}}
    assert load_inputs(config_for(project, sales={"path": None, "sql": memory})).tables["sales"]["amount"].tolist() \
        == [9.5]


def test_control_characters_of_rejected_values_are_written_out(tmp_path):
    from planlib.data.parsers import escape_control
    from planlib.report.tables import write_csv

    assert escape_control("12\x003") == "12\\x003"
    assert escape_control("a\tb\r\nc\x1b[2J\x7f\x85\u2028") == "a\\tb\\r\\nc\\x1b[2J\\x7f\\x85\\u2028"
    assert escape_control("张三 O'Brien") == "张三 O'Brien" and escape_control(None) is None
    write(tmp_path, "sales.csv", HEADER + "D1,2026-01-05,12\x003,R001,C1,A,East\n"
                                          "D2,2026-01-06,\x1b[31m5,R001,C1,A,East\n"
                                          "D3,2026-01-07,100,R001,C1,A,East\n")
    inputs = load_inputs(config_for(tmp_path))
    rejected = rejects_of(inputs)
    assert rejected[["line", "column", "value"]].values.tolist() == [[2, "amount", "12\\x003"],
                                                                    [3, "amount", "\\x1b[31m5"]]
    assert (count(inputs)["rows_in"], count(inputs)["rows_used"], count(inputs)["rows_rejected"]) == (3, 1, 2)
    raw = write_csv(inputs.rejects, tmp_path / "rejects.csv").read_bytes()
    assert b"\x00" not in raw and b"\x1b" not in raw and b"12\\x003" in raw
