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
    assert "No market table is configured" in page_text(own_bundle / "01_market_analysis.html")
    risk_page = page_text(own_bundle / "04_risk_review.html")
    assert "no risk register" in risk_page and "No pipeline table" in risk_page
    assert "no risk register" in page_text(own_bundle / "05_annual_plan.html")


def test_the_template_states_every_amount_so_the_sample_assumes_nothing():
    from planlib.resources.assumptions import assumed_values

    cfg = load_config(REPO / "templates" / "plan.yaml")
    assert assumed_values(cfg).empty
