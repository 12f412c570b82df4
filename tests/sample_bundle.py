"""The one full plan run of the test suite: the sample company, with hostile names, built once per session.

A copy of data/sample in which one rep is named ``</script><script>alert(1)</script>``, the top
customer is named ``<img src=x onerror=alert(1)>`` and one sales row has the formula ``=1+2`` for
an amount, run through the notebooks that templates/plan.yaml lists. test_runner.py (end to end),
test_browser.py and test_escaping.py import the ``sample_bundle`` fixture from here.
"""
from __future__ import annotations

import csv
import datetime as dt
import shutil
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from planlib.core.config import load_config
from planlib.report.runner import run_plan

REPO = Path(__file__).resolve().parents[1]
HOSTILE_REP = "</script><script>alert(1)</script>"
HOSTILE_CUSTOMER = "<img src=x onerror=alert(1)>"
FORMULA_AMOUNT = "=1+2"


@dataclass(frozen=True)
class SampleBundle:
    bundle: Path
    root: Path  # the throwaway project folder (templates/, data/sample/, notebooks/, reports/)
    notebooks: list[str]
    sales_rows: int  # data rows of sales.csv, the hostile row included
    rep_id: str
    customer_id: str


_BUILT: dict[str, SampleBundle] = {}


def _rewrite(path: Path, change) -> int:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    body = change(header, body)
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([header, *body])
    return len(body)


def build(tmp_path_factory) -> SampleBundle:
    """Copy the project's config, sample data and notebooks to a temporary folder, plant the hostile
    names, and run the plan once (cached for the session)."""
    if "bundle" in _BUILT:
        return _BUILT["bundle"]
    root = tmp_path_factory.mktemp("sample-project")
    shutil.copytree(REPO / "data" / "sample", root / "data" / "sample")
    (root / "templates").mkdir()
    shutil.copy(REPO / "templates" / "plan.yaml", root / "templates" / "plan.yaml")
    (root / "notebooks").mkdir()
    for nb in sorted((REPO / "notebooks").glob("*.ipynb")):
        shutil.copy(nb, root / "notebooks" / nb.name)

    rep_id = "R001"
    last_closed = load_config(root / "templates" / "plan.yaml").last_closed_month
    first_day = last_closed.replace(year=last_closed.year - 1, month=last_closed.month % 12 + 1).isoformat() \
        if last_closed.month < 12 else last_closed.replace(month=1).isoformat()
    last_day = (last_closed.replace(day=28) + dt.timedelta(days=4)).replace(day=1).isoformat()

    def rename_rep(header, body):
        for row in body:
            if row[header.index("rep_id")] == rep_id:
                row[header.index("name")] = HOSTILE_REP
        return body

    _rewrite(root / "data" / "sample" / "reps.csv", rename_rep)
    top: dict[str, str] = {}

    def rename_top_customer(header, body):
        # The largest customer of the last twelve closed months heads the market analysis's
        # customer table, so its name is shown for sure.
        revenue: dict[str, float] = defaultdict(float)
        cid, amount, date = header.index("customer_id"), header.index("amount"), header.index("date")
        for row in body:
            if first_day <= row[date] < last_day:
                revenue[row[cid]] += float(row[amount])
        top["id"] = max(sorted(revenue), key=revenue.__getitem__)
        for row in body:
            if row[cid] == top["id"]:
                row[header.index("customer_name")] = HOSTILE_CUSTOMER
        formula = list(body[-1])
        formula[header.index("deal_id")] = "D999999"
        formula[amount] = FORMULA_AMOUNT
        return [*body, formula]

    sales_rows = _rewrite(root / "data" / "sample" / "sales.csv", rename_top_customer)
    from planlib.report.runner import plan_notebooks

    listed = plan_notebooks(load_config(root / "templates" / "plan.yaml"))  # with 07_commits: the sample commits
    bundle = run_plan(root / "templates" / "plan.yaml", progress=None)
    _BUILT["bundle"] = SampleBundle(bundle, root, list(listed), sales_rows, rep_id, top["id"])
    return _BUILT["bundle"]


@pytest.fixture(scope="session")
def sample_bundle(tmp_path_factory) -> SampleBundle:
    """The sample plan bundle with hostile names (built once per test session)."""
    return build(tmp_path_factory)
