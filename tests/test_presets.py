"""Tests of planlib.data.presets: a CRM's whole deal export split into won deals (the sales), open deals (the
pipeline) and lost deals (counted as rejected, never dropped), read by the CRM's standard headers."""
from __future__ import annotations

import pandas as pd
import pytest
from crm_exports import HUBSPOT_OPEN, deals, with_outcomes, write_hubspot, write_salesforce

from planlib.core.config import load_config
from planlib.core.errors import ConfigError, DataError
from planlib.data.checks import roster_note
from planlib.data.load import load_inputs
from planlib.data.presets import detect_preset, preset_columns
from planlib.report.init import init_project

SMALL = {"owners": {"Ana Lima": "North", "Dev Patel": "South"}, "products": ("Widgets", "Gadgets"), "months": 14}


def _config(folder, export, preset, extra=""):
    (folder / "reps.csv").write_text("rep_id,name,region\nAna Lima,Ana Lima,North\nDev Patel,Dev Patel,South\n",
                                     encoding="utf-8")
    path = folder / "plan.yaml"
    path.write_text(f"company: {{name: T, currency: USD}}\nfiscal: {{year: 2026}}\nas_of: 2025-07-01\n"
                    f"data:\n  sales: {{path: {export.name}, preset: {preset}, dayfirst: false}}\n"
                    f"  reps: {{path: reps.csv}}\n{extra}", encoding="utf-8")
    return load_config(path)


def test_hubspot_export_is_split_by_stage_and_every_row_is_accounted_for(tmp_path):
    frame = with_outcomes(deals(**SMALL))
    inputs = load_inputs(_config(tmp_path, write_hubspot(tmp_path, frame), "hubspot"))
    counts = inputs.counts.set_index("table")
    won, lost, open_ = (frame[frame["outcome"] == k] for k in ("won", "lost", "open"))
    # rows in = used + rejected, per table and over the whole export
    assert counts.loc["sales", ["rows_in", "rows_used", "rows_rejected"]].tolist() == [len(won) + len(lost), len(won),
                                                                                      len(lost)]
    assert counts.loc["pipeline", ["rows_in", "rows_used"]].tolist() == [len(open_), len(open_)]
    assert counts["rows_in"].sum() - counts.loc["reps", "rows_in"] == len(frame)
    assert round(inputs.tables["sales"]["amount"].sum(), 2) == round(won["amount"].sum(), 2)
    lost_rejects = inputs.rejects[inputs.rejects["table"] == "sales"]
    assert lost_rejects["reason"].unique().tolist() == ["lost deal (Deal Stage 'Closed Lost'): counted, not a sale"]
    assert sorted(lost_rejects["line"]) == sorted(frame.index[frame["outcome"] == "lost"] + 2)
    # the open deals' win probability is HubSpot's default for their stage; the expected close is the Close Date
    pipe = inputs.tables["pipeline"].set_index("opportunity_id").sort_index()
    expected = open_.set_index("deal_id").sort_index()
    assert pipe["probability"].tolist() == [HUBSPOT_OPEN[s] / 100 for s in expected["stage"]]
    assert pipe["expected_close"].dt.date.tolist() == expected["closed"].tolist()
    assert pipe["product"].tolist() == expected["product"].tolist()  # the pipeline, taken as the product line
    assert inputs.repairs.set_index("repair").loc["lost deal in the CRM export: counted, not a sale", "rows"] \
        == len(lost)


def test_hubspot_open_deal_in_a_custom_stage_is_rejected_with_the_way_out(tmp_path):
    frame = with_outcomes(deals(**SMALL))
    custom = frame.index[frame["outcome"] == "open"][0]
    frame.loc[custom, "stage"] = "Verbal yes"
    inputs = load_inputs(_config(tmp_path, write_hubspot(tmp_path, frame), "hubspot"))
    bad = inputs.rejects[inputs.rejects["table"] == "pipeline"]
    assert bad[["line", "value"]].values.tolist() == [[custom + 2, "Verbal yes"]]
    assert bad["reason"].iloc[0].startswith("expected a win probability: the stage is not one of the HubSpot deals "
                                            "export's default stages (Appointment Scheduled,")
    assert bad["reason"].iloc[0].endswith("export the Deal probability column")
    counts = inputs.counts.set_index("table")
    assert counts.loc["pipeline", ["rows_in", "rows_used", "rows_rejected"]].tolist() == [12, 11, 1]


def test_salesforce_flags_decide_the_outcome_and_percent_probabilities_read_as_fractions(tmp_path):
    frame = with_outcomes(deals(**SMALL))
    path = write_salesforce(tmp_path, frame)
    text = pd.read_csv(path, dtype=str, keep_default_na=False)
    # a won deal whose stage was renamed: the Won flag still says it is won
    renamed = frame.index[frame["outcome"] == "won"][0]
    text.loc[renamed, "Stage"] = "Signed"
    text.to_csv(path, index=False)
    inputs = load_inputs(_config(tmp_path, path, "salesforce"))
    won = frame[frame["outcome"] == "won"]
    assert len(inputs.tables["sales"]) == len(won)
    assert round(inputs.tables["sales"]["amount"].sum(), 2) == round(won["amount"].sum(), 2)  # "USD 1,234.56"
    pipe = inputs.tables["pipeline"]
    open_ = frame[frame["outcome"] == "open"]
    assert sorted(pipe["probability"]) == sorted(open_["probability"] / 100)
    assert len(pipe) == len(open_) and pipe["stage"].unique().tolist() == ["Negotiation/Review"]


def test_a_separate_pipeline_sets_the_exports_open_deals_aside_counted(tmp_path):
    frame = with_outcomes(deals(**SMALL))
    export = write_hubspot(tmp_path, frame)
    (tmp_path / "pipe.csv").write_text("opportunity_id,rep_id,product,stage,amount,expected_close,probability\n"
                                       "P1,Ana Lima,Widgets,Proposal,100,2025-09-01,0.5\n", encoding="utf-8")
    inputs = load_inputs(_config(tmp_path, export, "hubspot", "  pipeline: {path: pipe.csv}\n"))
    assert inputs.tables["pipeline"]["opportunity_id"].tolist() == ["P1"]
    aside = inputs.rejects[inputs.rejects["reason"].str.startswith("open deal")]
    assert len(aside) == 12 and aside["reason"].iloc[0] == ("open deal: the pipeline is read from data.pipeline, "
                                                             "not from this export")
    counts = inputs.counts.set_index("table")
    assert counts.loc["sales", "rows_in"] == len(frame)


def test_detect_and_missing_headers():
    assert detect_preset(["Record ID", "Deal Name", "Deal Stage", "Close Date", "Deal owner", "Amount"]) == "hubspot"
    assert detect_preset(["opportunity name", "Account Name", "Amount", "Close Date", "Stage",
                          "Opportunity Owner"]) == "salesforce"
    assert detect_preset(["Close Date", "Amount", "Owner"]) is None
    with pytest.raises(DataError, match=r"the HubSpot deals export \(preset hubspot\) lacks the header\(s\) "
                                        r"stage: 'Deal Stage'; headers found: \['Close Date', 'Amount', 'Deal owner'\]"):
        preset_columns("hubspot", ["Close Date", "Amount", "Deal owner"])
    assert preset_columns("hubspot", ["Close Date", "Amount", "Deal owner", "Deal stage"],
                          {"product": "Line"})["product"] == "Line"


def test_preset_is_read_on_the_sales_only(tmp_path):
    (tmp_path / "plan.yaml").write_text(
        "company: {name: T, currency: USD}\nfiscal: {year: 2026}\nas_of: 2025-07-01\n"
        "data:\n  sales: {path: s.csv}\n  reps: {path: reps.csv, preset: hubspot}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="preset is read on data.sales only"):
        load_config(tmp_path / "plan.yaml")


def test_init_detects_the_preset_and_the_roster_keeps_pipeline_owners(tmp_path):
    frame = with_outcomes(deals(**SMALL))
    # an owner with open deals only and no closed one is on the roster, hired on as_of
    newcomer = frame.index[frame["outcome"] == "open"][:2]
    frame.loc[newcomer, "owner"] = "Zoe New"
    config, reps, found = init_project(write_salesforce(tmp_path, frame))
    assert found.preset == "salesforce" and found.outcomes == {"won": int((frame["outcome"] == "won").sum()),
                                                               "open": 12, "lost": int((frame["outcome"] == "lost").sum())}
    assert found.currency == "USD" and found.currency_evidence == f"{len(frame):,} amounts written with 'USD'"
    won = frame[frame["outcome"] == "won"]
    assert found.last_date == max(won["closed"])  # open deals close later: as_of comes from the won ones
    text = config.read_text(encoding="utf-8")
    assert "    preset: salesforce   # the headers of a Salesforce opportunity report" in text
    roster = pd.read_csv(reps, dtype=str, keep_default_na=False).set_index("rep_id")
    assert roster.loc["Zoe New", ["hire_date", "exit_date"]].tolist() == [found.as_of.isoformat(), ""]
    loaded = load_inputs(load_config(config))
    template, values = roster_note(loaded.tables["reps"])
    assert template.startswith("**Roster inferred from the sales**: all {n:,} reps") and values == {"n": 3}
    assert len(loaded.tables["pipeline"]) == 12  # every open deal's owner is on the inferred roster


def test_roster_note_counts_rows_still_inferred():
    reps = pd.DataFrame({"rep_id": ["a", "b", "c"], "source": ["inferred from the sales by planlib init", "", ""]})
    assert roster_note(reps) == ("**Roster partly inferred from the sales**: {marked:,} of {n:,} reps are still the "
                                 "deal owners as `planlib init` inferred them (their dates, team and region are "
                                 "guesses).", {"n": 3, "marked": 1})
    assert roster_note(reps.drop(columns="source"))[1] == {"n": 3}


def test_lines_that_hold_no_deal_and_a_deal_without_stage(tmp_path):
    frame = with_outcomes(deals(**SMALL))
    path = write_hubspot(tmp_path, frame)
    lines = path.read_text(encoding="utf-8").splitlines()
    header, body = lines[0], lines[1:]
    no_stage = body[0].split(",")
    no_stage[2] = ""  # Deal Stage
    total = "Total" + "," * (len(header.split(",")) - 1)
    blank = "," * (len(header.split(",")) - 1)
    path.write_text("\n".join([header, ",".join(no_stage), *body[1:5], blank, header, *body[5:], total]) + "\n",
                    encoding="utf-8")
    inputs = load_inputs(_config(tmp_path, path, "hubspot"))
    rejects = inputs.rejects.set_index("line")
    assert rejects.loc[2, "reason"] == ("expected a stage (the cell is empty): without it the deal is neither won, "
                                        "lost nor open")
    assert rejects.loc[8, "reason"] == "repeated header row: removed"
    assert rejects.loc[len(body) + 4, "reason"] == "total row: removed so it is not counted twice"
    counts = inputs.counts.set_index("table")
    assert len(inputs.tables["pipeline"]) == 12 and counts.loc["pipeline", "rows_rejected"] == 0
    # every line of the file but the header and the blank one is a row: used or rejected with its reason
    assert counts.loc[["sales", "pipeline"], "rows_in"].sum() == len(body) + 2
    won = frame[frame["outcome"] == "won"].drop(index=0, errors="ignore")
    assert round(inputs.tables["sales"]["amount"].sum(), 2) == round(won["amount"].sum(), 2)


# --------------------------------------------------------------------------- Salesforce's report footer
FOOTER = ['""', '""', '"Grand Totals (9 records)"', '""', '"Confidential Information - Do Not Distribute"',
          '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."']


def _with_lines(path, middle: dict[int, str] | None = None, tail: list[str] = ()) -> list[str]:
    """Rewrite ``path`` with ``middle`` lines inserted before the given 1-based line numbers and ``tail`` appended;
    return the file's lines."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for at, text in sorted((middle or {}).items(), reverse=True):
        lines.insert(at - 1, text)
    lines += list(tail)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines


def test_salesforce_report_footer_is_counted_as_not_data_and_odd_rows_are_still_rejected(tmp_path):
    frame = with_outcomes(deals(**SMALL))
    path = write_salesforce(tmp_path, frame)
    n = len(frame)
    # an odd single-cell line among the deals (line 6) and one just above the footer: both are broken rows
    lines = _with_lines(path, {6: '"Subtotal North"'}, ['"stray note"', *FOOTER])
    assert len(lines) == 1 + n + 2 + len(FOOTER)
    inputs = load_inputs(_config(tmp_path, path, "salesforce"))
    counts = inputs.counts.set_index("table")
    won, lost, open_ = (int((frame["outcome"] == k).sum()) for k in ("won", "lost", "open"))
    # rows in = used + rejected + not data: the two odd rows and the lost deals rejected, the 6 footer lines not data
    assert counts.loc["sales", ["rows_in", "rows_used", "rows_rejected", "rows_not_data"]].tolist() == [
        won + lost + 2 + 6, won, lost + 2, 6]
    assert counts.loc["pipeline", ["rows_in", "rows_not_data"]].tolist() == [open_, 0]
    broken = inputs.rejects[inputs.rejects["reason"].str.contains("fields as in the header")]
    assert broken[["line", "value", "reason"]].values.tolist() == [
        [6, '"Subtotal North"', "expected 11 fields as in the header, found 1"],
        [n + 3, '"stray note"', "expected 11 fields as in the header, found 1"]]
    assert inputs.repairs.set_index("repair").loc["report footer, not data", "rows"] == 6
    assert not inputs.rejects["line"].isin(range(n + 4, n + 10)).any()  # no footer line is listed as rejected
    won_rows = frame[frame["outcome"] == "won"]
    assert round(inputs.tables["sales"]["amount"].sum(), 2) == round(won_rows["amount"].sum(), 2)


def test_a_trailing_block_without_salesforces_fixed_lines_is_no_footer(tmp_path):
    frame = with_outcomes(deals(**SMALL))
    path = write_salesforce(tmp_path, frame)
    n = len(frame)
    _with_lines(path, tail=['""', '"Grand Totals (9 records)"', '"Prepared by the sales office"'])
    inputs = load_inputs(_config(tmp_path, path, "salesforce"))
    counts = inputs.counts.set_index("table")
    assert counts.loc["sales", "rows_not_data"] == 0
    broken = inputs.rejects[inputs.rejects["reason"].str.contains("fields as in the header")]
    assert broken["line"].tolist() == [n + 2, n + 3, n + 4]


def test_owners_given_by_name_are_read_as_the_rosters_rep_id(tmp_path):
    frame = with_outcomes(deals(**SMALL))
    path = write_salesforce(tmp_path, frame)
    cfg = _config(tmp_path, path, "salesforce")
    # the roster keys reps by employee id; the export names the owner (spacing and case differ for one)
    text = pd.read_csv(path, dtype=str, keep_default_na=False)
    text.loc[text["Opportunity Owner"] == "Dev Patel", "Opportunity Owner"] = "dev  PATEL"
    text.to_csv(path, index=False)
    (tmp_path / "reps.csv").write_text("rep_id,name,region\nE1,Ana Lima,North\nE2,Dev Patel,South\n",
                                       encoding="utf-8")
    inputs = load_inputs(cfg)
    won = frame[frame["outcome"] == "won"]
    by_rep = inputs.tables["sales"].groupby("rep_id")["amount"].sum().round(2).to_dict()
    assert by_rep == {"E1": round(won.loc[won["owner"] == "Ana Lima", "amount"].sum(), 2),
                      "E2": round(won.loc[won["owner"] == "Dev Patel", "amount"].sum(), 2)}
    assert inputs.repairs.set_index("repair").loc["owner given by name: read as the roster's rep_id", "rows"] == len(
        frame)
    # a name two reps share decides nothing: those deals stay under the name and are rejected as off the roster
    (tmp_path / "reps.csv").write_text("rep_id,name,region\nE1,Ana Lima,North\nE2,Dev Patel,South\n"
                                       "E3,Dev Patel,North\n", encoding="utf-8")
    inputs = load_inputs(cfg)
    off = inputs.rejects[(inputs.rejects["table"] == "sales") & (inputs.rejects["column"] == "Opportunity Owner")]
    assert len(off) == len(won[won["owner"] == "Dev Patel"]) and set(off["value"]) == {"dev  PATEL"}
    assert off["reason"].iloc[0].startswith("expected a rep_id on the roster (reps.csv)")
