"""Someone else's company, from the README's ten-line config, with nothing borrowed from the sample.

A small made-up USD company (6 reps in 2 regions, about three years of monthly deals, English headers
that are not planlib's names, only the sales and reps tables) is written to a temporary folder outside
the project with exactly the config block of the README's "Planning on your own data", and
``planlib plan`` runs on it from yet another folder. The bundle must hold the five pages, add up, and
say nothing of the sample company: not its name, its currency or its money amounts.
"""
from __future__ import annotations

import csv
import html
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planlib.core.config import load_config, parse_config
from planlib.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
PAGES = ["01_market_analysis", "02_goal_setting", "03_resources", "04_risk_review", "05_annual_plan"]
# What only the sample company says: its name, its currency, and its stated money amounts in any formatting
# (3,000,000 marketing; 180,000 base pay; 120,000 target incentive; also with or without separators, in thousands).
SAMPLE_WORDS = ["CNY", "Sample", "东岳", "Dongyue"]
SAMPLE_AMOUNTS = re.compile(r"(?<![\d.,])(3,000,000|3000000|3,000 ?k\b|180,000|180000|180 ?k\b|120,000|120000|120 ?k\b)"
                            r"(?![\d,])")


def readme_config() -> str:
    """The README's ten-line config: the yaml block between its ten-line-config markers."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- ten-line-config -->", 1)[1].split("<!-- /ten-line-config -->", 1)[0]
    return block.split("```yaml\n", 1)[1].split("```", 1)[0]


def make_company(folder: Path, seed: int = 7) -> None:
    """Write deals.csv and people.csv of a made-up company: 6 reps, 2 regions, 2023-11..2026-10, USD."""
    rng = np.random.default_rng(seed)
    people = pd.DataFrame({
        "Employee": [f"E{i:02d}" for i in range(1, 7)],
        "Full Name": ["Ann Baker", "Bob Cruz", "Cara Diaz", "Dan Evans", "Eve Fox", "Finn Gray"],
        "Territory": ["North", "North", "North", "South", "South", "South"],
        "Start Date": ["2019-03-01", "2020-06-15", "2025-02-01", "2018-01-08", "2021-09-01", "2024-07-01"],
    })
    months = pd.date_range("2023-11-01", "2026-10-01", freq="MS")
    rows, n = [], 0
    for month in months:
        season = 1 + 0.15 * np.sin(2 * np.pi * (month.month - 3) / 12)
        growth = 1.06 ** ((month - months[0]).days / 365)
        for rep in people.itertuples():
            start = pd.Timestamp(rep[4])
            if month < start + pd.offsets.MonthBegin(1):
                continue
            ramp = min(1.0, 0.3 + 0.7 * (month - start).days / 30 / 6)
            for _ in range(rng.poisson(8)):
                n += 1
                amount = rng.lognormal(np.log(4500), 0.6) * season * growth * ramp
                rows.append({"Deal No": f"Q{n:05d}", "Close Date": f"{month:%Y-%m}-{int(rng.integers(1, 28)):02d}",
                             "Deal Amount": f"{amount:.2f}", "Owner": rep.Employee,
                             "Account": f"A{int(rng.integers(1, 400)):04d}",
                             "Product Line": rng.choice(["Widgets", "Gadgets", "Support"], p=[0.5, 0.3, 0.2])})
    pd.DataFrame(rows).to_csv(folder / "deals.csv", index=False)
    people.to_csv(folder / "people.csv", index=False)


def page_text(path: Path) -> str:
    """The words of a page: prose and tables, without style, script or chart drawings (axis ticks)."""
    raw = re.sub(r"<(style|script|svg)\b.*?</\1>", " ", path.read_text(encoding="utf-8"), flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", raw))


@pytest.fixture(scope="module")
def own_bundle(tmp_path_factory) -> Path:
    company = tmp_path_factory.mktemp("acme")
    elsewhere = tmp_path_factory.mktemp("someone")
    assert REPO not in company.parents and REPO not in elsewhere.parents
    make_company(company)
    (company / "plan.yaml").write_text(readme_config(), encoding="utf-8")
    planlib = Path(sys.executable).with_name("planlib")
    run = subprocess.run([str(planlib), "plan", "--config", str(company / "plan.yaml")], cwd=elsewhere,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return company / "reports" / "FY2027" / "v001"


def test_the_readme_config_is_at_most_ten_lines_with_company_year_and_two_tables():
    text = readme_config()
    assert len(text.strip().splitlines()) <= 10
    cfg = parse_config(__import__("yaml").safe_load(text))
    assert (cfg.company.name, cfg.company.currency) == ("Acme Tools Inc.", "USD")
    assert cfg.data.market is None and cfg.data.risks is None and cfg.data.pipeline is None
    assert cfg.report.notebooks == [f"{p}.ipynb" for p in PAGES]


def test_a_config_without_company_name_or_currency_names_both_keys():
    raw = __import__("yaml").safe_load(readme_config())
    raw.pop("company")
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    assert {key for key, _ in info.value.problems} == {"company.name", "company.currency"}


def test_the_ten_line_config_writes_the_whole_plan_from_another_folder(own_bundle):
    names = {p.name for p in own_bundle.iterdir()}
    assert {f"{p}.html" for p in PAGES} <= names and {"index.html", "targets.csv", "plan.xlsx"} <= names


def test_targets_add_up(own_bundle):
    with (own_bundle / "targets.csv").open(encoding="utf-8-sig", newline="") as fh:
        t = pd.DataFrame(list(csv.DictReader(fh))).astype({"target": float})
    year = t[(t["period_type"] == "year") & (t["product"] == "All")].groupby("level")["target"].sum()
    assert year["company"] > 0
    for level in ("region", "team", "rep"):
        assert year[level] == year["company"], level
    months = t[(t["level"] == "company") & (t["period_type"] == "month") & (t["product"] == "All")]["target"]
    assert len(months) == 12 and months.sum() == year["company"]


def test_no_page_says_anything_of_the_sample_company(own_bundle):
    for page in [*PAGES, "index"]:
        text = page_text(own_bundle / f"{page}.html")
        for word in SAMPLE_WORDS:
            assert word not in text, (page, word, text[max(0, text.find(word) - 200):text.find(word) + 100])
    # The sample's money defaults would show as the amounts the plan assumes; a plan figure that happens to
    # round to 120,000 is no leak, so the amounts are read where the pages list what was assumed.
    # The resources page lists them; the executive summary only says how many there are (issue 17: a short page).
    text = page_text(own_bundle / "03_resources.html")
    assumed = re.findall(r"\b((?:budget|incentives)\.[\w.]+):?\s+([\d,]+(?:\.\d+)?)", text)
    assert assumed
    leaked = [(key, value) for key, value in assumed if SAMPLE_AMOUNTS.fullmatch(value)]
    assert leaked == [], leaked
    assert re.search(r"The budget rests on \d+ values the config does not state",
                     page_text(own_bundle / "05_annual_plan.html"))


def test_every_assumed_value_is_listed_and_the_missing_tables_are_said(own_bundle):
    resources = page_text(own_bundle / "03_resources.html")
    assert "Assumed, not from your data" in resources
    for key in ("budget.base_salary.rep", "incentives.target_incentive.rep", "budget.hiring_cost_per_hire",
                "budget.on_cost_rate", "budget.lines", "incentives.bonuses", "incentives.commission"):
        assert key in resources, key
    assert "One team per region, named after the region" in resources
    market_page = " ".join(page_text(own_bundle / "01_market_analysis.html").split())
    assert "No market table is configured (data.market), so market share is not shown." in market_page
    assert "No competitor table is configured (data.competitors)." in market_page
    plan_page = " ".join(page_text(own_bundle / "05_annual_plan.html").split())
    assert ("No kpis table (data.kpis) is in the config: the measures are those the deals give; satisfaction, "
            "activity and other measures of a kpis table are left out.") in plan_page
    risk_page = page_text(own_bundle / "04_risk_review.html")
    assert "no risk register" in risk_page and "No pipeline table" in risk_page
    assert "no risk register" in page_text(own_bundle / "05_annual_plan.html")


def test_the_template_states_every_amount_so_the_sample_assumes_nothing():
    from planlib.resources.assumptions import assumed_values

    cfg = load_config(REPO / "templates" / "plan.yaml")
    assert assumed_values(cfg).empty


# --------------------------------------------------------------------------- the quarterly review, from the CRM
def _review(config: Path, bundle: Path, actuals: Path, cwd: Path) -> Path:
    planlib = Path(sys.executable).with_name("planlib")
    run = subprocess.run([str(planlib), "review", "--config", str(config), "--plan", str(bundle), "--as-of",
                          "2027-03-31", "--actuals", str(actuals)], cwd=cwd, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return bundle.parent / f"{bundle.name}-review-2027Q1"


@pytest.fixture(scope="module")
def crm_reviews(own_bundle, tmp_path_factory) -> dict:
    """The FY2027 Q1 review of the own company's plan, once on a Salesforce report export (with its footer) and
    once on a HubSpot deals export of the same deals, each run from a folder outside the project."""
    import shutil

    from review_actuals import quarter_deals, write_hubspot, write_salesforce

    company = own_bundle.parents[2]
    deals = quarter_deals()
    elsewhere = tmp_path_factory.mktemp("reviewer")
    copy = tmp_path_factory.mktemp("second") / "FY2027" / "v001"  # a review of a quarter is never overwritten
    shutil.copytree(own_bundle, copy)
    config = company / "plan.yaml"
    return {"deals": deals, "salesforce": _review(config, own_bundle, write_salesforce(company, deals), elsewhere),
            "hubspot": _review(config, copy, write_hubspot(company, deals), elsewhere), "plan": own_bundle}


def _sheet(review: Path, name: str) -> pd.DataFrame:
    return pd.read_excel(review / "review.xlsx", sheet_name=name)


def test_review_on_crm_exports_counts_every_row_and_the_salesforce_footer_apart(crm_reviews):
    deals = crm_reviews["deals"]
    n_won, n_lost, n_open = ((deals["outcome"] == k).sum() for k in ("won", "lost", "open"))
    for crm, footer in (("salesforce", 6), ("hubspot", 0)):
        manifest = __import__("json").loads((crm_reviews[crm] / "manifest.json").read_text(encoding="utf-8"))
        actuals = next(r for r in manifest["inputs"] if r["table"] == "actuals")
        # rows in = used + rejected + not data: lost and open deals rejected, the footer's 6 lines not data
        assert (actuals["rows_in"], actuals["rows_used"], actuals["rows_rejected"], actuals.get("rows_not_data", 0)) \
            == (len(deals) + footer, n_won, n_lost + n_open, footer), crm
        rejects = pd.read_csv(crm_reviews[crm] / "rejects.csv", encoding="utf-8-sig")
        rejects = rejects[rejects["table"] == "actuals"]
        assert sorted(rejects["line"]) == sorted(deals.index[deals["outcome"] != "won"] + 2), crm  # header: line 1
        assert set(rejects["reason"].str.extract(r"^(lost deal|open deal)")[0]) == {"lost deal", "open deal"}
        text = page_text(crm_reviews[crm] / "06_quarterly_review.html")
        said = (f"The actuals: {len(deals) + footer:,} rows read from {actuals['file']}: {n_won:,} used as deals of "
                f"the review, {n_lost + n_open:,} rejected ({n_lost:,} lost deal(s), {n_open:,} open deal(s))")
        assert said in " ".join(text.split()), crm
        assert ("6 line(s) of the report's footer, not data" in " ".join(text.split())) == (footer > 0)


def test_review_on_crm_exports_gives_the_figures_computed_by_hand(crm_reviews):
    deals = crm_reviews["deals"]
    won = deals[deals["outcome"] == "won"]
    quarter = won[(won["closed"] >= pd.Timestamp("2027-01-01").date()) & (won["closed"] <= pd.Timestamp(
        "2027-03-31").date())]
    actual = quarter.groupby("region")["amount"].sum()
    with (crm_reviews["plan"] / "targets.csv").open(encoding="utf-8-sig", newline="") as fh:
        t = pd.DataFrame(list(csv.DictReader(fh))).astype({"target": float})
    region = t[(t["level"] == "region") & (t["product"] == "All")]
    plan_q1 = region[region["period"].isin(["2027-01", "2027-02", "2027-03"])].groupby("entity")["target"].sum()
    annual = region[region["period_type"] == "year"].set_index("entity")["target"]
    unit = 1000  # allocation.rounding_unit's default
    for crm in ("salesforce", "hubspot"):
        by_region = _sheet(crm_reviews[crm], "By region").set_index("region")
        assert by_region["actual (USD)"].round(2).to_dict() == actual.round(2).to_dict(), crm
        assert by_region["plan (USD)"].to_dict() == plan_q1.to_dict(), crm
        # carry: each region's rest of year is its annual target less its actual to date, in whole units that add
        # up to the company's rest (the regions' needs together, rounded), months adding up to each region
        need = (annual - actual).clip(lower=0)
        months = _sheet(crm_reviews[crm], "Option targets")
        carry = months[months["option"] == "carry"].groupby("region")["target (USD)"].sum()
        options = _sheet(crm_reviews[crm], "Options").set_index("option")
        assert carry.sum() == options.loc["carry", "rest_target (USD)"] == round(need.sum() / unit) * unit, crm
        assert ((carry - need).abs() < unit).all() and (carry % unit == 0).all(), crm
        assert options.loc["carry", "annual_target (USD)"] == annual.sum()
    # the same deals from either CRM give the same review
    pd.testing.assert_frame_equal(_sheet(crm_reviews["salesforce"], "Summary"), _sheet(crm_reviews["hubspot"],
                                                                                       "Summary"))


def test_review_page_reads_cleanly_and_scores_only_people(crm_reviews):
    text = page_text(crm_reviews["salesforce"] / "06_quarterly_review.html")
    assert not re.search(r"\b(nan|NaN|None|NaT)\b", text)
    assert "USD" in text and not any(word in text for word in SAMPLE_WORDS)
    scores = pd.read_csv(crm_reviews["salesforce"] / "scorecards.csv", encoding="utf-8-sig")
    assert sorted(scores["rep_id"].unique()) == ["E01", "E02", "E03", "E04", "E05", "E06"]  # no planned seat
    assert "Not scored (planned seats with no one on the roster yet; their targets count for their team and " \
           "region): North TBH 1, South TBH 1." in " ".join(text.split())
