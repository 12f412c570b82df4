"""plan.xlsx, the workbook sales managers open: its views read back with the numbers of targets.csv, formatted
for people, formula-safe, and byte-identical when written again.

The sample bundle is the suite's one full plan run (the session fixture of tests/sample_bundle.py); the formula
rep name is checked on the same sheet builders with a stubbed plan, so no second run is needed.
"""
from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pandas as pd
import pytest
from sample_bundle import HOSTILE_REP, sample_bundle  # noqa: F401  (the session fixture of the one full run)

from planlib.core.config import parse_config
from planlib.core.graph import Plan
from planlib.report.writers import write_csv, write_excel
from planlib.report.bundle import bundle_sheets, index_order, leads_index, write_tables

FORMULA_REP = '=HYPERLINK("http://x","y")'
MONEY_K = "#,##0,"  # thousands: the sample's display unit is 1000


def _targets(bundle: Path) -> pd.DataFrame:
    return pd.read_csv(bundle / "targets.csv", encoding="utf-8-sig", dtype={"period": str, "entity": str})


def _sheet(bundle: Path, name: str) -> pd.DataFrame:
    return pd.read_excel(bundle / "plan.xlsx", sheet_name=name, dtype={"Rep ID": str})


def _sheet_xml(path: Path) -> dict[str, str]:
    """The XML of every worksheet, by sheet name."""
    with zipfile.ZipFile(path) as book:
        workbook = book.read("xl/workbook.xml").decode("utf-8")
        rels = book.read("xl/_rels/workbook.xml.rels").decode("utf-8")
        targets = dict(re.findall(r'Id="(rId\d+)"[^>]*Target="([^"]+)"', rels))
        targets.update({rid: target for target, rid in re.findall(r'Target="([^"]+)"[^>]*Id="(rId\d+)"', rels)})
        sheets = re.findall(r'<sheet name="([^"]+)" sheetId="\d+" r:id="(rId\d+)"', workbook)
        return {name: book.read("xl/" + targets[rid].lstrip("/").removeprefix("xl/")).decode("utf-8")
                for name, rid in sheets}


# --------------------------------------------------------------------------- the sample bundle
@pytest.mark.slow
def test_rep_month_sheet_reads_back_the_numbers_of_targets_csv(sample_bundle):
    bundle = sample_bundle.bundle
    targets = _targets(bundle)
    rows = targets[(targets["level"] == "rep") & (targets["product"] == "All") & (targets["period_type"] == "month")]
    expected = rows.pivot(index="entity", columns="period", values="target")
    sheet = _sheet(bundle, "Rep targets by month").set_index("Rep ID")
    months = list(expected.columns)
    assert [c.removesuffix(" (k CNY)") for c in sheet.columns] == ["Name", "Team", "Region", *months, "Total"]
    shown = sheet.rename(columns=lambda c: c.removesuffix(" (k CNY)"))
    # the last row adds the reps up, and they add up to the company's months and year
    total = shown.iloc[-1]
    assert shown.index[-1] == "Total" and total[["Name", "Team", "Region"]].isna().all()
    company = targets[(targets["level"] == "company") & (targets["product"] == "All")]
    by_month = company[company["period_type"] == "month"].set_index("period")["target"]
    assert total[months].tolist() == by_month[months].tolist() == shown.iloc[:-1][months].sum().tolist()
    assert total["Total"] == company.loc[company["period_type"] == "year", "target"].item()
    shown = shown.iloc[:-1]
    assert sorted(shown.index) == sorted(expected.index)
    # exact currency in every cell (the display unit is only a number format)
    assert shown[months].to_numpy().tolist() == expected.reindex(shown.index)[months].to_numpy().tolist()
    annual = targets[(targets["level"] == "rep") & (targets["product"] == "All") & (targets["period_type"] == "year")]
    assert shown["Total"].to_dict() == annual.set_index("entity")["target"].to_dict()
    # names as the reps file has them: Chinese intact, the hostile one as plain text
    reps = pd.read_csv(sample_bundle.root / "data" / "sample" / "reps.csv", dtype=str).set_index("rep_id")
    planned = shown.index.str.contains(" TBH ")  # the hiring plan's hires carry targets under their own label
    assert shown.loc[~planned, "Name"].to_dict() == reps.loc[shown.index[~planned], "name"].to_dict()
    assert planned.any() and (shown.loc[planned, "Name"] == shown.index[planned]).all()
    assert shown.loc[sample_bundle.rep_id, "Name"] == HOSTILE_REP
    assert any(re.search(r"[\u4e00-\u9fff]", name) for name in shown["Name"])


@pytest.mark.slow
def test_rep_product_sheet_holds_each_reps_products_and_adds_up(sample_bundle):
    bundle = sample_bundle.bundle
    targets = _targets(bundle)
    rows = targets[(targets["level"] == "rep_product") & (targets["period_type"] == "year")]
    expected = rows.pivot(index="entity", columns="product", values="target")
    sheet = _sheet(bundle, "Rep targets by product").rename(columns=lambda c: c.removesuffix(" (k CNY)"))
    sheet = sheet.set_index("Rep ID")
    products = sorted(expected.columns)
    assert list(sheet.columns) == ["Name", "Team", "Region", *products, "Total"]
    reps, total = sheet.iloc[:-1], sheet.iloc[-1]
    assert reps[products].to_dict() == expected.loc[reps.index, products].to_dict()
    annual = targets[(targets["level"] == "rep") & (targets["product"] == "All") & (targets["period_type"] == "year")]
    assert reps["Total"].to_dict() == annual.set_index("entity")["target"].to_dict()
    company = targets[(targets["level"] == "product") & (targets["period_type"] == "year")].set_index("product")
    assert sheet.index[-1] == "Total" and total[products].to_dict() == company["target"].to_dict()


@pytest.mark.slow
def test_goal_cards_show_the_smart_checks_as_ticks(sample_bundle):
    sheet = _sheet(sample_bundle.bundle, "Goal cards")
    checks = ["Specific", "Measurable", "Achievable", "Relevant", "Time bound", "Owned", "SMART"]
    assert set(sheet[checks].to_numpy().ravel()) <= {"✓", "✗"}
    # a goal is SMART exactly when every check holds
    assert (sheet["SMART"] == "✓").tolist() == (sheet[checks[:-1]] == "✓").all(axis=1).tolist()


@pytest.mark.slow
def test_region_and_product_sheets_add_up_to_the_company(sample_bundle):
    bundle = sample_bundle.bundle
    targets = _targets(bundle)
    company = targets[(targets["level"] == "company") & (targets["product"] == "All")
                      & (targets["period_type"] == "quarter")].set_index("period")["target"]
    for name, level, key in (("Region targets by quarter", "region", "Region"),
                             ("Product targets by quarter", "product", "Product")):
        sheet = _sheet(bundle, name).rename(columns=lambda c: c.removesuffix(" (k CNY)")).set_index(key)
        assert sheet.loc["Total", company.index].to_dict() == company.to_dict()
        parts = sheet.drop(index="Total")
        assert parts[list(company.index)].sum().to_dict() == company.to_dict()
        rows = targets[(targets["level"] == level) & (targets["period_type"] == "quarter")]
        rows = rows[rows["product"] == "All"] if level == "region" else rows
        expected = rows.pivot_table(index="entity" if level == "region" else "product", columns="period",
                                    values="target", aggfunc="sum")
        assert parts[list(company.index)].to_dict() == expected.loc[parts.index].to_dict()


@pytest.mark.slow
def test_workbook_is_formatted_for_people_and_holds_no_formula(sample_bundle):
    path = sample_bundle.bundle / "plan.xlsx"
    book = openpyxl.load_workbook(path)
    for name in ("Rep targets by month", "Rep targets by product", "Region targets by quarter", "Product targets by quarter", "Goal cards",
                 "Initiatives", "Bridge to target", "Hiring plan", "Budget", "Incentive tiers", "Bonuses",
                 "Scorecard", "Targets"):
        assert name in book.sheetnames, name
    assert book.sheetnames[0] == "Rep targets by month"  # the manager's view comes first
    reps = book["Rep targets by month"]
    assert reps.freeze_panes == "A2"
    header = [c.value for c in reps[1]]
    month = header.index("2027-01 (k CNY)") + 1
    assert reps.cell(row=2, column=month).number_format == MONEY_K
    assert reps.cell(row=1, column=1).font.bold
    # the name column is as wide as the longest name (CJK characters count double), not Excel's default
    assert reps.column_dimensions["B"].width >= len(HOSTILE_REP)
    hostile = next(r for r in reps.iter_rows(min_row=2) if r[0].value == sample_bundle.rep_id)
    assert hostile[1].value == HOSTILE_REP and hostile[1].data_type == "s"
    tiers = book["Incentive tiers"]
    tier_header = [c.value for c in tiers[1]]
    assert tiers.cell(row=2, column=tier_header.index("Attainment from") + 1).number_format == "0.0%"
    last = tiers.max_row
    assert tiers.cell(row=last, column=tier_header.index("Attainment to") + 1).value is None  # "and above"
    # planlib's names read as words; the data's own headers (months, regions, products) as the data has them
    assert [c.value for c in book["Capacity and hires"][1]][:3] == ["Region", "Target (k CNY)",
                                                                  "Capacity without hires (k CNY)"]
    levels = {row[0] for row in book["Targets"].iter_rows(min_row=2, values_only=True)}
    assert {"rep × product", "region × product"} <= levels and not any("_" in str(v) for v in levels)
    for name, xml in _sheet_xml(path).items():
        assert "<f>" not in xml and "<f " not in xml, name


@pytest.mark.slow
def test_bridge_sheet_adds_up_to_the_target_of_targets_csv(sample_bundle):
    targets = _targets(sample_bundle.bundle)
    annual = targets[(targets["level"] == "company") & (targets["product"] == "All")
                     & (targets["period_type"] == "year")]["target"].iloc[0]
    sheet = _sheet(sample_bundle.bundle, "Bridge to target").rename(columns=lambda c: c.removesuffix(" (k CNY)"))
    steps, total = sheet.iloc[:-1], sheet.iloc[-1]
    assert steps["Kind"].iloc[0] == "baseline" and steps["Kind"].iloc[-1] == "gap"
    assert steps["Amount"].sum() == annual == total["Amount"] == steps["Running total"].iloc[-1]
    assert total["Kind"] == "target"


@pytest.mark.slow
def test_workbook_and_tables_are_byte_identical_when_written_again(sample_bundle, tmp_path):
    """The cached stages of the run rebuild plan.xlsx, targets.csv and rejects.csv to the same bytes."""
    bundle = sample_bundle.bundle
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    plan = Plan.from_config(sample_bundle.root / "templates" / "plan.yaml")
    pages = [{"title": p["notebook"], "html": p["html"], "notebook": p["notebook"], "parameters": p["parameters"]}
             for p in manifest["notebooks"]]
    write_tables(plan, tmp_path, pages)
    for name in ("plan.xlsx", "targets.csv", "rejects.csv"):
        assert (tmp_path / name).read_bytes() == (bundle / name).read_bytes(), name
        if name.endswith(".csv"):
            assert (bundle / name).read_bytes().startswith(b"\xef\xbb\xbf"), name  # Excel reads UTF-8


# --------------------------------------------------------------------------- a rep named as a formula
def _stub_plan(tmp_path: Path) -> Plan:
    cfg = parse_config({"fiscal": {"year": 2027}, "as_of": "2026-11-26",
                        "company": {"name": "Test Co", "currency": "CNY", "country": "CN", "display_unit": 1000,
                                    "display_unit_label": "k CNY"},
                        "data": {"sales": {"path": "sales.csv"}, "reps": {"path": "reps.csv"}}},
                       base_dir=tmp_path)
    plan = Plan(cfg, None)
    targets = pd.DataFrame({
        "level": ["rep"] * 4, "entity": ["R001", "R001", "R002", "R002"], "product": ["All"] * 4,
        "period_type": ["month"] * 4, "period": ["2027-01", "2027-02"] * 2,
        "target": [12_000, 13_000, 20_000, 21_000]})
    reps = pd.DataFrame({"rep_id": ["R001", "R002"], "name": [FORMULA_REP, "李娜"], "team": ["East-1", "=cmd|x"],
                         "region": ["East", "East"]})
    from planlib.resources.hiring import PlannedHires

    no_hires = PlannedHires(pd.DataFrame(columns=["rep_id", "name", "team", "region"]), pd.DataFrame())
    plan._results.update({"targets": targets, "inputs": SimpleNamespace(tables={"reps": reps}),
                          "planned_hires": no_hires})
    return plan


def test_a_rep_named_as_a_formula_stays_text_in_excel_and_csv(tmp_path, monkeypatch):
    import planlib.report.bundle

    plan = _stub_plan(tmp_path)
    # only the rep x month view: the stubbed plan has no other stage
    monkeypatch.setattr(planlib.report.bundle, "_SHEETS", [s for s in planlib.report.bundle._SHEETS
                                                    if s[0] == "Rep targets by month"])
    sheets = bundle_sheets(plan)
    assert list(sheets) == ["Rep targets by month"]
    view = sheets["Rep targets by month"].frame
    path = write_excel(tmp_path / "plan.xlsx", sheets, unit=1000, unit_label="k CNY", created=plan.config.as_of)
    cells = openpyxl.load_workbook(path)["Rep targets by month"]
    assert [c.value for c in cells[1]] == ["rep_id", "name", "team", "region", "2027-01 (k CNY)",
                                           "2027-02 (k CNY)", "Total (k CNY)"]
    assert [c.value for c in cells[2]] == ["R001", FORMULA_REP, "East-1", "East", 12_000, 13_000, 25_000]
    # the bundle writes it for people: planlib's names as words, the months as the data has them
    words = write_excel(tmp_path / "words.xlsx", sheets, unit=1000, unit_label="k CNY", created=plan.config.as_of,
                        words=True)
    assert [c.value for c in openpyxl.load_workbook(words)["Rep targets by month"][1]] == [
        "Rep ID", "Name", "Team", "Region", "2027-01 (k CNY)", "2027-02 (k CNY)", "Total (k CNY)"]
    assert cells["B2"].data_type == "s" and cells["B2"].quotePrefix
    assert cells["C3"].value == "=cmd|x" and cells["C3"].data_type == "s"
    xml = _sheet_xml(path)["Rep targets by month"]
    assert "<f>" not in xml and "<f " not in xml
    csv = write_csv(view, tmp_path / "reps.csv").read_bytes()
    assert csv.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads 李娜 as UTF-8
    lines = csv.decode("utf-8-sig").splitlines()
    assert lines[1] == 'R001,"\'=HYPERLINK(""http://x"",""y"")",East-1,East,12000,13000,25000'
    assert lines[2] == "R002,李娜,'=cmd|x,East,20000,21000,41000"


def test_the_annual_plan_leads_the_index_while_notebooks_run_in_order():
    repo = Path(__file__).resolve().parents[1]
    import nbformat

    assert leads_index(nbformat.read(str(repo / "notebooks" / "05_annual_plan.ipynb"), as_version=4))
    assert not leads_index(nbformat.read(str(repo / "notebooks" / "01_market_analysis.ipynb"), as_version=4))
    pages = [{"notebook": "01.ipynb", "lead": False}, {"notebook": "02.ipynb"}, {"notebook": "05.ipynb", "lead": True},
             {"notebook": "06.ipynb", "lead": False}]
    assert [p["notebook"] for p in index_order(pages)] == ["05.ipynb", "01.ipynb", "02.ipynb", "06.ipynb"]
    assert [p["notebook"] for p in pages] == ["01.ipynb", "02.ipynb", "05.ipynb", "06.ipynb"]  # run order kept


def test_with_total_row_adds_up_every_number_column_and_labels_the_row():
    from planlib.report.bundle import with_total_row

    view = pd.DataFrame({"rep_id": ["R1", "R2"], "name": ["甲", "乙"], "2027-01": [10, 5], "Total": [30, 7]})
    out = with_total_row(view, ["rep_id", "name"])
    assert out.iloc[:2].equals(view)
    assert out.iloc[2].tolist()[:1] == ["Total"] and pd.isna(out.iloc[2]["name"])
    assert out.iloc[2][["2027-01", "Total"]].tolist() == [15, 37]
    assert out["2027-01"].dtype == view["2027-01"].dtype  # exact integers stay integers
