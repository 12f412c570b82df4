"""Someone else's company read as a sales director would: one story, nothing left over from the sample.

A made-up German company (EUR, country DE) whose exports carry Chinese column headers is planned from
the README's ten-line config, written with those headers, in a folder outside the project. The text of
every page (prose and tables, not chart drawings) and every cell of plan.xlsx is then read for what
must never show on such a plan: the sample company or its currency and country, the sample's money
amounts, empty values printed as None/nan/NaT, "0 hires", and planlib's code names used as words.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
import pytest

from company_factory import Company, Rep, run_plan

REPO = Path(__file__).resolve().parents[1]
PAGES = ["01_market_analysis", "02_goal_setting", "03_resources", "04_risk_review", "05_annual_plan"]
# The README's smallest config, with the headers of a Chinese CRM export mapped onto planlib's names.
TEN_LINES = """\
company: {name: Rheinwerk Antriebe GmbH, currency: EUR, country: DE}
fiscal: {year: 2027}
as_of: 2026-11-20
data:
  sales:
    path: 销售明细.csv
    columns: {deal_id: 合同编号, date: 成交日期, amount: 金额, rep_id: 销售代表, customer_id: 客户编号, product: 产品线}
  reps:
    path: 销售人员.csv
    columns: {rep_id: 工号, name: 姓名, region: 大区, team: 大区, hire_date: 入职日期}
"""
RHEINWERK = Company([Rep("M01", "Nord", "Nord", "2017-04-01"), Rep("M02", "Nord", "Nord", "2020-09-01"),
                     Rep("M03", "Nord", "Nord", "2025-03-01"), Rep("M04", "Süd", "Süd", "2016-01-04"),
                     Rep("M05", "Süd", "Süd", "2022-02-01"), Rep("M06", "West", "West", "2019-06-01"),
                     Rep("M07", "West", "West", "2024-10-01")],
                    ["Antriebe", "Getriebe", "Wartung"], deals_per_month=7, seed=49)
NAMES = {"M01": "Jonas Becker", "M02": "Lena Vogel", "M03": "Paul Schäfer", "M04": "Miriam Krüger",
         "M05": "Tobias Wolf", "M06": "Sara Neumann", "M07": "Felix Braun"}

# What only the sample company (or a broken page) says. Words are matched whole; the sample's stated money
# amounts (marketing 3,000,000; base pay 180,000; target incentive 120,000; travel 600,000; tools 240,000) in any
# separators or in thousands.
SAMPLE_WORDS = ["Sample", "CNY", "China", "Chinese", "东岳", "Dongyue", "None", "nan", "NaN", "NaT", "inf"]
SAMPLE_AMOUNTS = re.compile(r"(?<![\d.,])(?:3[,.]?000[,.]?000|180[,.]?000|120[,.]?000|600[,.]?000|240[,.]?000"
                            r"|(?:3,000|180|120|600|240) ?k)(?![\d,.]*\d)")
NO_HIRES = re.compile(r"\b0 (?:hires?|new reps?|people)\b")
# planlib's own names (snake_case) shown as words: allowed only as a config key the reader is told to set
# (``budget.base_salary.rep``), which the pages print with its section.
CODE_NAME = re.compile(r"(?<![\w.])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w.(])")


def page_text(path: Path) -> str:
    """The words of a page: prose and tables, without style, script or chart drawings (axis ticks)."""
    raw = re.sub(r"<(style|script|svg)\b.*?</\1>", " ", path.read_text(encoding="utf-8"), flags=re.S | re.I)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", raw)))


def write_company(folder: Path) -> Path:
    """The company's two exports, headed in Chinese, and the ten-line config; return the config's path."""
    deals = RHEINWERK.deals().drop(columns="_region")
    deals.columns = ["合同编号", "成交日期", "金额", "销售代表", "客户编号", "产品线"]
    deals.to_csv(folder / "销售明细.csv", index=False, encoding="utf-8-sig")
    people = pd.DataFrame({"工号": [r.rep_id for r in RHEINWERK.reps], "姓名": [NAMES[r.rep_id] for r in RHEINWERK.reps],
                           "大区": [r.region for r in RHEINWERK.reps], "入职日期": [r.start for r in RHEINWERK.reps]})
    people.to_csv(folder / "销售人员.csv", index=False, encoding="utf-8-sig")
    (folder / "plan.yaml").write_text(TEN_LINES, encoding="utf-8")
    return folder / "plan.yaml"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("rheinwerk")
    assert REPO not in folder.parents
    done = run_plan(write_company(folder), tmp_path_factory.mktemp("elsewhere"), timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return folder / "reports" / "FY2027" / "v001"
