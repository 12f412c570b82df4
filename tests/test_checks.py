"""Tests of planlib.data.checks: the inputs against the config, before any notebook runs."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from tiny_project import SECOND_NOTEBOOK, make_project

from planlib.core.errors import DataError
from planlib.data.checks import check_as_of_reach, last_closed_month
from planlib.report.runner import run_plan


def _sales(*dates: str) -> pd.DataFrame:
    return pd.DataFrame({"date": pd.to_datetime(list(dates)), "amount": 1.0})


def test_last_closed_month():
    assert last_closed_month(dt.date(2026, 11, 26)) == dt.date(2026, 10, 1)
    assert last_closed_month(dt.date(2027, 1, 1)) == dt.date(2026, 12, 1)


def test_as_of_within_reach_of_the_data_passes():
    check_as_of_reach(_sales("2026-09-03", "2026-10-31"), dt.date(2026, 11, 26))
    check_as_of_reach(_sales("2026-10-01"), dt.date(2026, 11, 1))  # one sale in the closed month is enough
    check_as_of_reach(_sales("2026-10-01", "2026-11-20"), dt.date(2026, 11, 26))


def test_as_of_past_the_last_sale_names_the_gap():
    with pytest.raises(DataError, match=r"^as_of 2027-11-26: the last sale is 2026-10-31, 12 month\(s\) before the "
                                        r"last closed month 2027-10; .*set as_of to a day in 2026-11 \(e\.g\. "
                                        r"2026-11-01\), or give the sales through 2027-10$"):
        check_as_of_reach(_sales("2025-01-15", "2026-10-31"), dt.date(2027, 11, 26))
    with pytest.raises(DataError, match=r"the last sale is 2026-09-30, 1 month\(s\) before the last closed month "
                                        r"2026-10"):
        check_as_of_reach(_sales("2026-09-30"), dt.date(2026, 11, 1))
    with pytest.raises(DataError, match=r"no sale has a date"):
        check_as_of_reach(_sales(), dt.date(2026, 11, 1))


def test_the_runner_checks_as_of_before_any_notebook_runs(tmp_path):
    config = make_project(tmp_path, {"a.ipynb": SECOND_NOTEBOOK})  # sales 2024-01 .. 2026-10
    config.write_text(config.read_text().replace("as_of: 2026-11-26", "as_of: 2027-11-26"))
    lines = []
    with pytest.raises(DataError, match=r"^as_of 2027-11-26: the last sale is 2026-10-15, 12 month\(s\) before the "
                                        r"last closed month 2027-10"):
        run_plan(config, progress=lines.append)
    assert not any(line.startswith("notebook") for line in lines)
    assert list((tmp_path / "reports" / "FY2027").iterdir()) == []


# --------------------------------------------------------------------------- returns: negative region-months
def test_negative_months_lists_region_months_below_zero():
    from planlib.data import negative_months
    from planlib.data.checks import negative_months_note

    ds = pd.to_datetime(["2026-01-01", "2026-02-01", "2026-01-01", "2026-02-01", "2026-02-01"])
    history = pd.DataFrame({"unique_id": ["region/East", "region/East", "region/West", "region/West", "company"],
                            "ds": ds, "y": [100.0, -40.5, -3.0, 20.0, -20.5],
                            "level": ["region", "region", "region", "region", "company"],
                            "region": ["East", "East", "West", "West", None]})
    found = negative_months(history)
    assert found.values.tolist() == [["West", "2026-01", -3.0], ["East", "2026-02", -40.5]]
    assert list(found.columns) == ["region", "month", "amount"]
    assert negative_months(history, "company").values.tolist() == [["company", "2026-02", -20.5]]
    assert negative_months(history.assign(y=1.0)).empty
    assert negative_months_note(history) == (
        "2 region-month(s) with negative net sales (returns or credit notes larger than the month's sales): "
        "West 2026-01 (-3.00), East 2026-02 (-40.50); planlib.data.negative_months(plan['history']) lists them")
    assert negative_months_note(history.assign(y=1.0)) is None


def test_the_run_flags_a_region_month_made_negative_by_returns(tmp_path, monkeypatch):
    from tiny_project import restrict_to_data_stages

    restrict_to_data_stages(monkeypatch)
    config = make_project(tmp_path, {"a.ipynb": SECOND_NOTEBOOK})
    sales = tmp_path / "data" / "sales.csv"
    # East sells 1,510 + 1,610 in 2026-03; a batch of returns of 5,000 turns the month to -1,880
    sales.write_text(sales.read_text() + "RET1,2026-03-20,-5000.00,-10,R001,C00001,Customer East,Instruments,East\n")
    lines = []
    run_plan(config, progress=lines.append)
    assert ("1 region-month(s) with negative net sales (returns or credit notes larger than the month's sales): "
            "East 2026-03 (-1,880.00); planlib.data.negative_months(plan['history']) lists them") in lines


# --------------------------------------------------------------------------- goal scopes the data holds
def test_goal_scopes_must_name_what_the_history_holds():
    from types import SimpleNamespace as Goal

    from planlib.core.errors import ConfigError
    from planlib.data.checks import check_goal_scopes

    history = pd.DataFrame({"unique_id": ["company", "region/East", "region/West", "product/Widgets",
                                          "region_product/East/Widgets"]})
    fine = [Goal(name="All", scope="company"), Goal(name="E", scope="region/East"),
            Goal(name="W", scope="product/Widgets"), Goal(name="EW", scope="region_product/East/Widgets")]
    check_goal_scopes(history, fine)  # every scope is in the history: nothing raised
    bad = fine + [Goal(name="Atlantis push", scope="region/Atlantis"), Goal(name="G", scope="product/Gadgets"),
                  Goal(name="WW", scope="region_product/West/Widgets"), Goal(name="Team", scope="team/East-1"),
                  Goal(name="Slash", scope="region/")]
    with pytest.raises(ConfigError) as info:
        check_goal_scopes(history, bad)
    assert info.value.problems == [
        ("goals.smart[4].scope", "goal 'Atlantis push': found 'region/Atlantis', expected a region of the sales "
                                 "history: East, West"),
        ("goals.smart[5].scope", "goal 'G': found 'product/Gadgets', expected a product of the sales history: "
                                 "Widgets"),
        ("goals.smart[6].scope", "goal 'WW': found 'region_product/West/Widgets', expected a region/product pair "
                                 "of the sales history: East/Widgets"),
        ("goals.smart[7].scope", "goal 'Team': found 'team/East-1', expected one of company, region/<name>, "
                                 "product/<name> or region_product/<region>/<product>"),
        ("goals.smart[8].scope", "goal 'Slash': found 'region/', expected one of company, region/<name>, "
                                 "product/<name> or region_product/<region>/<product>")]


def test_the_runner_refuses_a_goal_on_a_region_the_data_lacks_before_any_notebook(tmp_path, monkeypatch):
    from tiny_project import restrict_to_data_stages

    from planlib.core.errors import ConfigError

    restrict_to_data_stages(monkeypatch)
    config = make_project(tmp_path, {"a.ipynb": SECOND_NOTEBOOK})
    config.write_text(config.read_text() + "goals:\n  smart:\n    - {name: Atlantis push, metric: revenue, "
                                           "scope: region/Atlantis, target: 100000, deadline: 2027-12-31}\n")
    lines = []
    with pytest.raises(ConfigError, match=r"goals\.smart\[0\]\.scope: goal 'Atlantis push': found 'region/Atlantis', "
                                          r"expected a region of the sales history: East, West$"):
        run_plan(config, progress=lines.append)
    assert not any(line.startswith("notebook") for line in lines)
    assert list((tmp_path / "reports" / "FY2027").iterdir()) == []
    config.write_text(config.read_text().replace("region/Atlantis", "region/West"))
    assert run_plan(config, progress=lines.append) == tmp_path / "reports" / "FY2027" / "v001"
