"""Tests of ``planlib init`` (planlib.data.infer, planlib.report.init): a config inferred from a CRM export, with
the evidence of every guess, a roster from the deal owners, and never a file written over."""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from crm_exports import OWNERS, deals, with_outcomes, write_chinese_gbk, write_english, write_hubspot, write_salesforce

from planlib.core.config import load_config
from planlib.core.errors import ConfigError
from planlib.data.infer import infer_config, infer_roster
from planlib.data.load import load_inputs
from planlib.report.init import init_project


def test_english_export_maps_every_field_and_picks_the_close_date_over_the_create_date(tmp_path):
    frame = deals()
    found = infer_config(write_english(tmp_path, frame))
    assert found.columns == {"date": "Date Closed", "amount": "Deal Amount", "rep_id": "Salesperson",
                             "customer_id": "Account Name", "product": "Product Line", "region": "Territory",
                             "deal_id": "Order Number"}
    why = next(g.evidence for g in found.mapping if g.field == "date")
    first = frame["closed"].iloc[0].strftime("%d/%m/%Y")
    assert why.startswith(f"Date Closed -> date: {len(frame):,} of {len(frame):,} values read as dates, written like "
                          f"{first}; chosen over "
                          "Create Date because a sale counts on the day it closes")
    assert found.dayfirst is True and found.currency == "USD" and found.encoding == "utf-8"
    last = frame["closed"].max()
    assert found.last_date == last and found.as_of == (last.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    assert found.fiscal_year == (found.as_of.year + 1 if last.month >= 9 else found.as_of.year)
    assert found.missing == []


def test_chinese_gbk_export_with_chosen_headers(tmp_path):
    found = infer_config(write_chinese_gbk(tmp_path, deals()))
    assert found.encoding == "gb18030" and found.currency == "CNY" and found.dayfirst is None
    assert found.columns == {"date": "成交日期", "amount": "合同金额", "rep_id": "负责人", "customer_id": "客户名称",
                             "product": "产品线", "region": "大区", "deal_id": "合同编号"}
    assert "amounts written with '￥'" in found.currency_evidence


def test_a_column_is_mapped_by_its_header_and_content_never_by_its_position(tmp_path):
    frame = deals()
    path = write_english(tmp_path, frame)
    shuffled = pd.read_csv(path, dtype=str)
    shuffled[list(reversed(shuffled.columns))].to_csv(tmp_path / "reversed.csv", index=False)
    assert infer_config(tmp_path / "reversed.csv").columns == infer_config(path).columns
    # a header that names an amount but holds text is not taken as the amount
    broken = shuffled.assign(**{"Deal Amount": "call me"})
    broken.to_csv(tmp_path / "broken.csv", index=False)
    found = infer_config(tmp_path / "broken.csv")
    assert "amount" not in found.columns and found.missing == ["amount"]


def test_roster_from_owners_hire_on_first_deal_and_leave_after_six_quiet_months():
    sales = pd.DataFrame({"rep_id": ["a", "a", "b", "b", "c"],
                          "date": pd.to_datetime(["2024-01-05", "2026-09-30", "2024-03-01", "2025-12-31", "2026-10-02"]),
                          "region": ["N", "N", "S", None, "S"]})
    roster = infer_roster(sales, as_of=dt.date(2026, 11, 1)).set_index("rep_id")
    assert roster.loc["a", ["hire_date", "exit_date", "region", "team"]].tolist() == ["2024-01-05", "", "N", "N"]
    # b's last deal is 10 months before as_of: left on it
    assert roster.loc["b", ["hire_date", "exit_date", "region"]].tolist() == ["2024-03-01", "2025-12-31", "S"]
    assert roster.loc["c", "hire_date"] == "2026-10-02" and roster["fte"].tolist() == [1, 1, 1]


def test_init_writes_a_config_and_roster_that_load_every_row_and_never_writes_over(tmp_path):
    frame = deals()
    export = write_english(tmp_path, frame)
    config, reps, found = init_project(export)
    assert config == tmp_path / "plan.yaml" and reps == tmp_path / "reps.csv"
    text = config.read_text(encoding="utf-8")
    assert "# Date Closed -> date:" in text and "currency: USD" in text and "dayfirst: true" in text
    raw = yaml.safe_load(text)
    assert raw["data"]["sales"]["columns"]["amount"] == "Deal Amount"
    roster = pd.read_csv(reps, dtype=str, keep_default_na=False)
    assert sorted(roster["rep_id"]) == sorted(OWNERS)
    cfg = load_config(config, {"company.country": "US"} if "country" in raw.get("company", {}) else None)
    inputs = load_inputs(cfg)
    counts = inputs.counts.set_index("table")
    assert counts.loc["sales", "rows_in"] == len(frame) and counts.loc["sales", "rows_rejected"] == 0
    # the sales total equals the export's to the cent
    assert round(inputs.tables["sales"]["amount"].sum(), 2) == round(frame["amount"].sum(), 2)
    with pytest.raises(ConfigError, match=r"plan.yaml exists; planlib init never writes over a config"):
        init_project(export)
    with pytest.raises(ConfigError, match=r"reps.csv exists; pass it with --reps"):
        init_project(export, out=tmp_path / "other.yaml")


def test_the_init_command_prints_each_guess_and_the_next_command(tmp_path, capsys):
    from planlib.report.cli import main

    export = write_chinese_gbk(tmp_path, deals())
    assert main(["init", str(export), "--out", str(tmp_path / "cfg" / "plan.yaml")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"wrote {tmp_path / 'cfg' / 'plan.yaml'}: 7 columns mapped, each with its evidence"
    assert "  负责人 -> rep_id: 5 distinct values, e.g." in "\n".join(out)
    assert out[-2] == f"wrote {tmp_path / 'cfg' / 'reps.csv'}: the roster inferred from the deal owners; complete it"
    assert out[-1] == f"next: planlib plan --config {tmp_path / 'cfg' / 'plan.yaml'}"
    # the config sits in another folder than the export: its path to the export is relative to the config
    raw = yaml.safe_load((tmp_path / "cfg" / "plan.yaml").read_text(encoding="utf-8"))
    assert raw["data"]["sales"]["path"] == "../成交明细.csv" and raw["data"]["reps"]["path"] == "reps.csv"
    assert main(["init", str(export), "--out", str(tmp_path / "cfg" / "plan.yaml")]) == 1
    assert "never writes over a config" in capsys.readouterr().err


# --------------------------------------------------------------------------- init -> plan, no hand edit
E2E = {"owners": {"Ana Lima": "North", "Dev Patel": "South"}, "products": ("Widgets", "Gadgets"), "months": 26,
       "start": dt.date(2024, 9, 1)}


def _hubspot(folder):
    frame = with_outcomes(deals(**E2E))
    return write_hubspot(folder, frame), frame[frame["outcome"] == "won"]["amount"], "USD", "hubspot"


def _salesforce(folder):
    frame = with_outcomes(deals(**E2E))
    path = write_salesforce(folder, frame)
    with path.open("a", encoding="utf-8") as fh:  # the footer Salesforce writes under a report's data
        fh.write(f'""\n""\n"Grand Totals ({len(frame)} records)"\n""\n"Confidential Information - Do Not Distribute"\n'
                 '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."\n')
    return path, frame[frame["outcome"] == "won"]["amount"], "USD", "salesforce"


def _chinese(folder):
    frame = deals(**E2E)
    return write_chinese_gbk(folder, frame), frame["amount"], "CNY", None


@pytest.mark.parametrize("export", [_hubspot, _salesforce, _chinese], ids=["hubspot", "salesforce", "chinese-gbk"])
def test_init_then_plan_with_no_edit_writes_a_whole_bundle_with_the_exports_won_deals(tmp_path, capsys, export):
    import openpyxl

    from planlib.core.config_operating import PLAN_NOTEBOOKS
    from planlib.report.cli import main

    path, won_amounts, currency, preset = export(tmp_path)
    assert main(["init", str(path)]) == 0
    config = yaml.safe_load((tmp_path / "plan.yaml").read_text(encoding="utf-8"))
    assert config["company"]["currency"] == currency and config["data"]["sales"].get("preset") == preset
    assert main(["plan", "--config", str(tmp_path / "plan.yaml"), "--quiet"]) == 0, capsys.readouterr().err
    bundle = tmp_path / "reports" / f"FY{config['fiscal']['year']}" / "v001"
    expected = {f"{Path(n).stem}.{ext}" for n in PLAN_NOTEBOOKS for ext in ("ipynb", "html")}
    expected |= {"index.html", "manifest.json", "plan.xlsx", "targets.csv", "rejects.csv"}
    assert expected <= {p.name for p in bundle.iterdir()}
    # the bundle's sales, month by month, add up to the export's won deals to the cent
    sheet = openpyxl.load_workbook(bundle / "plan.xlsx", read_only=True)["History by region"]
    rows = list(sheet.iter_rows(values_only=True))
    total = rows[0].index(f"Total ({currency})")
    months = [r for r in rows[1:] if re.fullmatch(r"\d{4}-\d{2}", str(r[0]))]
    assert len(months) == E2E["months"]
    assert round(sum(r[total] for r in months), 2) == round(float(sum(won_amounts)), 2)
    page = (bundle / "01_market_analysis.html").read_text(encoding="utf-8")
    assert "Roster inferred from the sales" in page
    # Salesforce's footer: 6 lines counted apart, not rejected (rows in = used + rejected + not data)
    sales = next(r for r in json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))["inputs"]
                 if r["table"] == "sales")
    assert sales.get("rows_not_data", 0) == (6 if preset == "salesforce" else 0)
    assert sales["rows_in"] == sales["rows_used"] + sales["rows_rejected"] + sales.get("rows_not_data", 0)
    assert ("6 lines of a CRM report&#x27;s footer (not data)" in page or
            "6 lines of a CRM report's footer (not data)" in page) == (preset == "salesforce")
