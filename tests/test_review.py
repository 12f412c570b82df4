"""Tests of planlib.review.quarter and ``planlib review``: hand-computed figures on a small plan, then the sample
company's Q1 review end to end, cross-checked against the raw deals, with the plan of record unchanged."""
from __future__ import annotations

import hashlib
import html
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from sample_bundle import HOSTILE_REP, sample_bundle  # noqa: F401  (the session fixture of the one full plan run)
from scipy import stats
from tiny_project import file_hashes, make_project

from planlib.report.cli import main
from planlib.core.errors import BundleExistsError, ConfigError, DataError
from planlib.core import text
from planlib.review.quarter import (
    actual_vs_plan,
    actuals_note,
    allocation_options,
    annual_targets,
    check_continuity,
    exact_parts,
    option_targets_table,
    price_volume_mix,
    review_window,
    targets_to_review,
    variance_bridge,
    year_end_outlook,
)
from planlib.data.bundle import read_plan_bundle
from planlib.report.review_runner import run_review

MONTHS = [f"2027-{m:02d}" for m in range(1, 13)]
EAST, WEST = 100, 50  # monthly targets of the two regions (and of their one rep and team each)
PRODUCT = {"A": 90, "B": 60}  # monthly targets of the two products


def _targets() -> pd.DataFrame:
    rows = []

    def add(level, entity, product, monthly):
        rows.extend({"level": level, "entity": entity, "product": product, "period_type": "month", "period": m,
                     "target": float(monthly)} for m in MONTHS)
        rows.append({"level": level, "entity": entity, "product": product, "period_type": "year",
                     "period": "FY2027", "target": float(12 * monthly)})

    add("company", "company", "All", EAST + WEST)
    for product, monthly in PRODUCT.items():
        add("product", "company", product, monthly)
    for region, team, rep, monthly in (("East", "E1", "R1", EAST), ("West", "W1", "R2", WEST)):
        add("region", region, "All", monthly)
        add("team", team, "All", monthly)
        add("rep", rep, "All", monthly)
        for product, share in (("A", 0.6), ("B", 0.4)):
            add("team_product", team, product, monthly * share)
    return pd.DataFrame(rows)


def _sales() -> pd.DataFrame:
    rows = [  # date, amount, quantity, rep, region, product, customer
        ("2026-05-01", 100, 10, "R1", "East", "A", "C1"), ("2026-06-01", 100, 5, "R2", "West", "B", "C2"),
        ("2027-01-10", 120, 12, "R1", "East", "A", "C1"), ("2027-02-10", 60, 2, "R1", "East", "B", "C3"),
        ("2027-01-20", 40, 4, "R2", "West", "A", "C2"), ("2027-02-20", 270, 30, "R2", "West", "A", "C4"),
        ("2027-03-01", 999, 1, "R1", "East", "A", "C1"),  # after the review date's last closed month
    ]
    frame = pd.DataFrame(rows, columns=["date", "amount", "quantity", "rep_id", "region", "product", "customer_id"])
    return frame.assign(date=pd.to_datetime(frame["date"]), amount=frame["amount"].astype(float))


ROSTER = pd.DataFrame({"rep_id": ["R1", "R2"], "name": ["Ann", "Bo"], "team": ["E1", "W1"],
                       "region": ["East", "West"], "hire_date": pd.to_datetime(["2020-01-01", "2020-01-01"])})
WINDOW = review_window(2027, 1, "2027-02-28")


class NormalForecast:
    """A stand-in re-forecast: each series' open months total is normal (mean, sd), spread evenly by month."""

    def __init__(self, totals: dict[str, tuple[float, float]], months: pd.DatetimeIndex):
        self.totals, self.months = totals, months
        self.forecasts = pd.DataFrame([{"unique_id": uid, "ds": m, "yhat": mean / len(months)}
                                       for uid, (mean, _) in totals.items() for m in months])

    def total_distribution(self, uid, start, end):
        mean, sd = self.totals[uid]
        return stats.norm(mean, sd)


FORECAST = NormalForecast({"company": (1400, 100), "region/East": (900, 60), "region/West": (500, 40),
                           "product/A": (800, 50), "product/B": (600, 50)}, WINDOW.open)


# --------------------------------------------------------------------------- the window and exact money
def test_review_window_closes_months_ending_by_the_review_date():
    q1 = review_window(2027, 1, "2027-03-31")
    assert [f"{m:%Y-%m}" for m in q1.closed] == ["2027-01", "2027-02", "2027-03"]
    assert (q1.quarter, q1.label, len(q1.open)) == ("2027Q1", "2027Q1", 9)
    mid = review_window(2027, 1, "2027-03-30")  # March is not over
    assert (mid.quarter, mid.label, len(mid.quarter_months)) == ("2027Q1", "2027-02", 2)
    april = review_window(2027, 4, "2026-06-30")  # FY2027 runs 2026-04 .. 2027-03
    assert (april.quarter, april.label, f"{april.months[0]:%Y-%m}") == ("2027Q1", "2027Q1", "2026-04")
    early = review_window(2027, 1, "2026-11-26")
    assert (len(early.closed), early.quarter, early.label) == (0, None, "2026-10")


def test_exact_parts_add_up_to_the_rounded_total():
    # floors 10, -21, 5, 0 make -6 of -4: the two largest remainders (0.7 of -20.3, then 0.45) get a unit
    assert exact_parts([10.4, -20.3, 5.45, 0.45]).tolist() == [10, -20, 6, 0]
    assert exact_parts([2.6, 2.6, -0.2], 5).tolist() == [3, 2, 0]
    assert exact_parts([1 / 3] * 3, 1).tolist() == [1, 0, 0]


def test_a_gap_between_the_plan_history_and_the_actuals_is_refused():
    q1 = review_window(2027, 1, "2027-03-31")
    deals = pd.DataFrame({"date": pd.to_datetime(["2026-10-30", "2027-01-05", "2027-02-05", "2027-03-05"])})
    with pytest.raises(DataError, match=r"no deal at all in 2026-11, 2026-12: the actuals must hold every deal after "
                                        r"the plan's history \(2026-10\) up to the review date 2027-03-31"):
        check_continuity(deals, "2026-10-01", q1)
    check_continuity(deals, "2026-12-01", q1)  # a plan made in January needs January on


# --------------------------------------------------------------------------- hand-computed review
def test_actual_against_plan_by_hand():
    c = actual_vs_plan(_targets(), _sales(), ROSTER, WINDOW)
    company = c["company"].iloc[0]
    assert (company["plan"], company["actual"], company["variance"]) == (300, 490, 190)
    assert company["attainment"] == pytest.approx(490 / 300)
    region = c["region"].set_index("region")
    assert region.loc["East", ["plan", "actual", "variance"]].tolist() == [200, 180, -20]
    assert region.loc["West", ["plan", "actual", "variance"]].tolist() == [100, 310, 210]
    product = c["product"].set_index("product")
    assert product.loc["A", ["plan", "actual"]].tolist() == [180, 430]
    assert product.loc["B", ["plan", "actual"]].tolist() == [120, 60]
    rep = c["rep"].set_index("rep_id")
    assert rep.loc["R2", ["name", "team", "region", "actual"]].tolist() == ["Bo", "W1", "West", 310]
    month = c["month"]
    assert month[["month", "plan", "actual", "cum_actual"]].values.tolist() == [
        ["2027-01", 150, 160, 160], ["2027-02", 150, 330, 490]]
    assert c["team"].set_index("team").loc["E1", "region"] == "East"


def test_variance_bridges_add_up_exactly():
    c = actual_vs_plan(_targets(), _sales(), ROSTER, WINDOW)
    by_region = variance_bridge(c, "region")
    assert by_region[["step", "amount"]].values.tolist() == [["plan to date", 300], ["East", -20], ["West", 210],
                                                              ["actual to date", 490]]
    by_product = variance_bridge(c, "product")
    assert by_product["amount"].tolist() == [300, 250, -60, 490]
    assert by_product["kind"].tolist() == ["total", "increase", "decrease", "total"]


def test_price_volume_mix_by_hand():
    pvm, note = price_volume_mix(_sales(), _targets(), WINDOW, pd.date_range("2026-01-01", periods=12, freq="MS"))
    table = pvm.set_index("product")
    # Plan prices from 2026: A 100 / 10 = 10, B 100 / 5 = 20; plan qty A 180 / 10 = 18, B 120 / 20 = 6.
    assert table["plan_price"].tolist() == [10, 20] and table["plan_qty"].tolist() == [18, 6]
    assert table["actual_qty"].tolist() == [46, 2]
    # At plan prices the actual quantities are worth 460 + 40 = 500 against the plan's 300.
    assert table["price"].tolist() == pytest.approx([430 - 460, 60 - 40])
    assert table["volume"].tolist() == pytest.approx([180 * (500 / 300 - 1), 120 * (500 / 300 - 1)])
    assert table["mix"].tolist() == pytest.approx([460 - 180 * 500 / 300, 40 - 120 * 500 / 300])
    assert (table["price"] + table["volume"] + table["mix"]).tolist() == pytest.approx([430 - 180, 60 - 120])
    assert note.endswith("where they moved +66.7% in all")
    no_qty = _sales().assign(quantity=pd.array([1, 1, 1, None, 1, 1, 1], dtype="Int64"))
    assert price_volume_mix(no_qty, _targets(), WINDOW, pd.date_range("2026-01-01", periods=12, freq="MS")) == (
        None, "1 deal(s) lack a quantity: price, volume and mix are not split")


def test_options_for_the_rest_of_the_year_by_hand():
    c = actual_vs_plan(_targets(), _sales(), ROSTER, WINDOW)
    effects, months = allocation_options(_targets(), c, FORECAST, WINDOW, rounding_unit=10, reset_quantile=0.5)
    effects = effects.set_index("option")
    # keep: the ten open months as planned; carry: East needs 1200 - 180, West 600 - 310.
    assert effects["rest_target"].to_dict() == {"keep": 1500, "carry": 1020 + 290, "reset": 1400}
    assert effects["annual_target"].to_dict() == {"keep": 1800, "carry": 1800, "reset": 490 + 1400}
    assert effects.loc["reset", "change_vs_plan"] == 490 + 1400 - 1800
    assert effects["p_reach"].to_dict() == pytest.approx(
        {"keep": stats.norm.sf(1), "carry": stats.norm.sf(-0.9), "reset": 0.5})
    carry = months[months["option"] == "carry"].set_index(["region", "month"])["target"]
    assert carry["East"].tolist() == [110, 110] + [100] * 8  # 102 units of 10 over 10 equal months
    assert carry["West"].tolist() == [30] * 9 + [20]
    reset = months[months["option"] == "reset"].groupby("region")["target"].sum()
    assert reset.to_dict() == {"East": 900, "West": 500}
    wide = option_targets_table(type("R", (), {"option_months": months})())
    assert wide.set_index(["option", "region"]).loc[("carry", "West"), "rest_of_year"] == 290


def test_carry_shares_the_companys_rounded_need_so_regions_add_up_to_it():
    c = actual_vs_plan(_targets(), _sales(), ROSTER, WINDOW)
    # East needs 1200 - 180 = 1020 (2.55 units of 400), West 600 - 310 = 290 (0.725 units): together 1310, 3.275
    # units, so 3 units. Rounded one by one they would be 3 + 1 = 4 units (1600, 290 more than needed); shared by
    # largest remainder, each gets its floor (2 and 0) and the last unit goes to West's larger remainder.
    effects, months = allocation_options(_targets(), c, FORECAST, WINDOW, rounding_unit=400, reset_quantile=0.5)
    carry = months[months["option"] == "carry"].groupby("region")["target"].sum()
    assert carry.to_dict() == {"East": 800, "West": 400}
    assert effects.set_index("option").loc["carry", "rest_target"] == 1200 == carry.sum()
    assert abs(1200 - 1310) <= 400 / 2


def test_targets_that_became_unreasonable_or_too_easy():
    targets = _targets()
    c = actual_vs_plan(targets, _sales(), ROSTER, WINDOW)
    outlook = year_end_outlook(c, annual_targets(targets), FORECAST, WINDOW)
    east = outlook.set_index("entity").loc["East"]
    assert east["p_reach"] == pytest.approx(stats.norm.sf(2))  # needs 1020 of N(900, 60)
    assert east["year_end"] == 180 + 900
    flagged = targets_to_review(targets, c, outlook, WINDOW, unreasonable_above=1.25, min_probability=0.2,
                                easy_probability=0.95)
    assert flagged[["level", "entity", "verdict"]].values.tolist() == [
        ["region", "East", "unreasonable"], ["region", "West", "too easy"], ["rep", "R2", "too easy"]]
    r2 = flagged.set_index("entity").loc["R2"]
    assert r2["needed_pace"] == pytest.approx(290 / 500)
    assert r2["own_pace_target"] == pytest.approx(310 + 500 * 3.1)
    assert r2["reason"] == "needs only 58% of the plan's pace for the rest of the year"
    assert flagged.set_index("entity").loc["East", "reason"] == "the re-forecast gives it a 2% chance"


# --------------------------------------------------------------------------- the sample, end to end
@pytest.fixture(scope="session")
def sample_review(sample_bundle):  # noqa: F811
    """FY2027 Q1 actuals of the sample company and one review of the sample plan (built once)."""
    from planlib.data.sample import _write_csv, generate_actuals

    root = sample_bundle.root
    actuals = root / "data" / "actuals_2027Q1.csv"
    deals = generate_actuals("2026-11-01", "2027-03-31")
    _write_csv(deals, actuals)
    before = file_hashes(sample_bundle.bundle)
    folder = run_review(root / "templates" / "plan.yaml", sample_bundle.bundle, "2027-03-31", actuals=actuals,
                        progress=None)
    return {"folder": folder, "before": before, "actuals": actuals, "deals": deals, "plan": sample_bundle.bundle,
            "root": root}


@pytest.mark.slow
def test_review_sits_beside_the_plan_which_is_unchanged(sample_review):
    folder, plan = sample_review["folder"], sample_review["plan"]
    assert folder == plan.parent / f"{plan.name}-review-2027Q1"
    assert file_hashes(plan) == sample_review["before"]  # the plan of record, byte for byte
    assert sorted(p.name for p in folder.iterdir()) == [
        "06_quarterly_review.html", "06_quarterly_review.ipynb", "index.html", "manifest.json", "rejects.csv",
        "review.xlsx", "scorecards.csv"]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["plan_of_record"] == {"bundle": plan.name, "manifest_sha256": hashlib.sha256(
        (plan / "manifest.json").read_bytes()).hexdigest()}
    actuals = next(r for r in manifest["inputs"] if r["table"] == "actuals")
    assert actuals["rows_in"] == len(sample_review["deals"]) and actuals["rows_rejected"] == 0
    with pytest.raises(BundleExistsError, match=r"v001-review-2027Q1 exists; a review is never overwritten"):
        run_review(sample_review["root"] / "templates" / "plan.yaml", plan, "2027-03-31",
                   actuals=sample_review["actuals"], progress=None)
    assert file_hashes(plan) == sample_review["before"]


@pytest.mark.slow
def test_review_figures_match_the_raw_deals(sample_review):
    folder, plan = sample_review["folder"], sample_review["plan"]
    deals = pd.read_csv(sample_review["actuals"], dtype={"rep_id": str, "customer_id": str})
    q1 = deals[(deals["date"] >= "2027-01-01") & (deals["date"] <= "2027-03-31")]
    targets = pd.read_csv(plan / "targets.csv", encoding="utf-8-sig", keep_default_na=False)
    months = ["2027-01", "2027-02", "2027-03"]
    monthly = targets[(targets["period_type"] == "month") & targets["period"].isin(months)
                      & (targets["product"] == "All")]

    by_region = pd.read_excel(folder / "review.xlsx", sheet_name="By region").set_index("region")
    unit = [c for c in by_region.columns if c.startswith("actual")][0]
    for region, amount in q1.groupby("region")["amount"].sum().items():
        assert by_region.loc[region, unit] == pytest.approx(amount, abs=0.01)
        plan_col = [c for c in by_region.columns if c.startswith("plan")][0]
        expected_plan = monthly[(monthly["level"] == "region") & (monthly["entity"] == region)]["target"].sum()
        assert by_region.loc[region, plan_col] == pytest.approx(expected_plan)

    by_month = pd.read_excel(folder / "review.xlsx", sheet_name="By month")
    actual_col = [c for c in by_month.columns if c.startswith("actual")][0]
    raw_months = q1.assign(month=q1["date"].str[:7]).groupby("month")["amount"].sum()
    assert by_month[actual_col].tolist() == pytest.approx(raw_months.reindex(months).tolist(), abs=0.01)

    steps = pd.read_csv(folder / "scorecards.csv", encoding="utf-8-sig", dtype={"rep_id": str})
    revenue = steps[steps["metric"] == "revenue_attainment"].set_index("rep_id")
    raw_rep = q1.groupby("rep_id")["amount"].sum()
    rep_q1 = monthly[monthly["level"] == "rep"].groupby("entity")["target"].sum()
    for rep_id in revenue.index[:8]:
        assert revenue.loc[rep_id, "numerator"] == pytest.approx(raw_rep.get(rep_id, 0.0), abs=0.01)
        assert revenue.loc[rep_id, "denominator"] == pytest.approx(rep_q1[rep_id])
    # Every step is on the sheet: weighted scores add up to each rep's composite.
    sums = steps.groupby("rep_id")["weighted_score"].sum()
    assert sums.to_numpy() == pytest.approx(steps.groupby("rep_id")["composite"].first().reindex(sums.index))

    bridge = pd.read_excel(folder / "review.xlsx", sheet_name="Variance by region")
    assert bridge["amount"].iloc[1:-1].sum() == bridge["amount"].iloc[-1] - bridge["amount"].iloc[0]
    assert bridge["amount"].iloc[-1] == round(q1["amount"].sum())


@pytest.mark.slow
def test_review_rerun_is_byte_identical_and_escapes_names(sample_review):
    folder = sample_review["folder"]
    first = file_hashes(folder)
    moved = folder.with_name(folder.name + "-first")
    folder.rename(moved)
    try:
        again = run_review(sample_review["root"] / "templates" / "plan.yaml", sample_review["plan"], "2027-03-31",
                           actuals=sample_review["actuals"], progress=None)
        assert file_hashes(again) == first
    finally:
        if folder.exists():
            shutil.rmtree(moved)
        else:
            moved.rename(folder)
    page = (folder / "06_quarterly_review.html").read_text(encoding="utf-8")
    assert HOSTILE_REP not in page and "<script" not in page.lower()
    assert str(sample_review["root"]) not in page


@pytest.mark.slow
def test_a_changed_plan_of_record_is_refused(sample_review, tmp_path):
    copy = tmp_path / "FY2027" / "v009"
    shutil.copytree(sample_review["plan"], copy)
    with (copy / "targets.csv").open("a", encoding="utf-8") as fh:
        fh.write("rep,R001,All,month,2027-01,1000\n")
    with pytest.raises(DataError, match=r"targets\.csv does not match the sha256 in its manifest\.json"):
        read_plan_bundle(copy, base_dir=sample_review["root"] / "templates")


# --------------------------------------------------------------------------- arguments
def test_review_command_reports_bad_arguments(tmp_path, capsys):
    config = Path(__file__).resolve().parents[1] / "templates" / "plan.yaml"
    assert main(["review", "--config", str(config), "--plan", str(tmp_path / "v001"), "--as-of", "31/03/2027",
                 "--actuals", str(tmp_path / "none.csv")]) == 1
    _, err = capsys.readouterr()
    assert err.startswith("planlib review: error: 3 problem(s):")
    assert "--as-of: expected an ISO date such as 2027-03-31, got '31/03/2027'" in err
    assert f"--plan: {tmp_path / 'v001'} is not a plan bundle: it has no manifest.json" in err
    assert f"--actuals: file not found: {tmp_path / 'none.csv'}" in err
    with pytest.raises(ConfigError, match=r"review\.plan: .* is not a plan bundle"):
        read_plan_bundle(tmp_path, base_dir=tmp_path)
    tiny = make_project(tmp_path / "tiny")
    with pytest.raises(ConfigError, match=r"--plan: latest: .*reports/FY2027 holds no plan bundle yet; run `planlib "
                                          r"plan` first"):
        run_review(tiny, "latest", "2027-03-31", progress=None)


# --------------------------------------------------------------------------- actuals: only deals after the history
def test_actuals_inside_the_plans_history_or_after_the_review_date_are_rejected(tmp_path):
    from planlib.core.config import load_config
    from planlib.review.quarter import load_review_inputs

    config = make_project(tmp_path)  # history of the tiny plan: 2024-01 .. 2026-10 (as_of 2026-11-26)
    actuals = tmp_path / "data" / "actuals.csv"
    actuals.write_text(
        "deal_id,date,amount,quantity,rep_id,customer_id,customer_name,product,region\n"
        "A1,2026-10-31,500.00,1,R001,C00001,Customer East,Instruments,East\n"  # the plan's last month: counted
        "A2,2026-11-02,700.00,1,R001,C00001,Customer East,Instruments,East\n"
        "A3,2027-03-31,300.00,1,R002,C00002,Customer West,Services,West\n"
        "A4,2027-04-01,900.00,1,R002,C00002,Customer West,Services,West\n"  # after the review date
        "A5,2025-06-15,100.00,1,R002,C00002,Customer West,Services,West\n", encoding="utf-8")
    cfg = load_config(config)
    plan_history_end = cfg.last_closed_month
    cfg = cfg.model_copy(update={"as_of": pd.Timestamp("2027-03-31").date()})
    inputs = load_review_inputs(cfg, actuals, plan_history_end)

    counts = inputs.counts.set_index("table").loc["actuals"]
    assert (counts["rows_in"], counts["rows_used"], counts["rows_rejected"]) == (5, 2, 3)
    rejected = inputs.rejects[inputs.rejects["table"] == "actuals"]
    assert rejected[["line", "column", "value"]].values.tolist() == [
        [2, "date", "2026-10-31"], [5, "date", "2027-04-01"], [6, "date", "2025-06-15"]]
    history = "dated inside the plan's history (through 2026-10-31): the plan of record counted it already"
    assert rejected["reason"].tolist()[0].startswith(history)
    assert rejected["reason"].tolist()[2].startswith(history)
    assert rejected["reason"].tolist()[1] == "dated after the review date 2027-03-31: left out of this review"
    template, values = actuals_note(inputs)  # the review page's account of the file
    assert html.unescape(text.fmt(template, **values)) == (
        "The actuals: 5 rows read from actuals.csv: **2 used** as deals of the review, 3 rejected (2 dated inside "
        "the plan's history, 1 dated after the review date). Every rejected row is in rejects.csv with its line "
        "and reason.")
    sales = inputs.tables["sales"]
    assert sorted(sales.loc[sales["deal_id"].str.startswith("A"), "deal_id"]) == ["A2", "A3"]
    assert sales["amount"].sum() == pytest.approx(inputs.tables["sales"]["amount"].iloc[:-2].sum() + 1000.0)

    # without a history end (the config's sales source holds everything) nothing before as_of is rejected
    plain = load_review_inputs(cfg, actuals)
    assert plain.counts.set_index("table").loc["actuals", "rows_used"] == 4
