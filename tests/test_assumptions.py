"""Money the config leaves out: set from the company's own sales per rep, by hand; stated values kept."""
import pandas as pd
import pytest

from planlib.core.calendar import working_days
from planlib.core.config import parse_config
from planlib.core.errors import DataError
from planlib.resources.assumptions import ASSUMED_SHARES, assumed_values, fill_money, revenue_per_rep_year

RAW = {"company": {"name": "Acme", "currency": "USD"}, "fiscal": {"year": 2027}, "as_of": "2026-11-20",
       "data": {"sales": {"path": "s.csv"}, "reps": {"path": "r.csv"}}}


def _tables():
    # 1.2m sold in 2025-11..2026-10 (and 1m before it, outside the window); rep A all year, B half a year, C left
    sales = pd.DataFrame({"date": pd.to_datetime(["2025-10-31", "2025-11-01", "2026-10-31"]),
                          "amount": [1_000_000.0, 700_000.0, 500_000.0]})
    reps = pd.DataFrame({"rep_id": ["A", "B", "C", "M"], "role": ["rep", "rep", "rep", "manager"],
                         "fte": [1.0, 1.0, 0.5, 1.0],
                         "hire_date": pd.to_datetime(["2020-01-01", "2026-05-15", "2019-01-01", "2019-01-01"]),
                         "exit_date": pd.to_datetime([None, None, "2025-10-31", None])})
    return sales, reps


def test_sales_per_rep_year_counts_quota_fte_month_by_month():
    sales, reps = _tables()
    basis = revenue_per_rep_year(sales, reps, pd.Timestamp("2026-10-01"), ["rep"])
    # A: 12 months, B: 2026-05..2026-10 = 6 months, C left before the window, M carries no quota
    assert basis["fte_years"] == pytest.approx(18 / 12)
    assert basis["revenue"] == 1_200_000
    assert basis["per_rep_year"] == pytest.approx(800_000)
    assert basis["window"] == "2025-11..2026-10"
    with pytest.raises(DataError, match="give budget.base_salary"):
        revenue_per_rep_year(sales.iloc[:1], reps, pd.Timestamp("2026-10-01"), ["rep"])


def test_left_out_amounts_are_shares_of_sales_per_rep_and_every_assumption_is_listed():
    cfg = parse_config(RAW)
    filled = fill_money(cfg, {"per_rep_year": 800_000.0, "revenue": 1_200_000.0, "fte_years": 1.5,
                              "window": "2025-11..2026-10"})
    rep_pay = ASSUMED_SHARES["rep_base_pay"] * 800_000
    assert cfg.budget.base_salary == {"rep": rep_pay, "manager": ASSUMED_SHARES["manager_base_pay"] * rep_pay}
    ti = ASSUMED_SHARES["rep_target_incentive"] * 800_000
    assert cfg.incentives.target_incentive == {"rep": ti, "manager": ASSUMED_SHARES["manager_target_incentive"] * ti}
    assert cfg.budget.hiring_cost_per_hire == ASSUMED_SHARES["hiring_cost"] * rep_pay
    listed = assumed_values(cfg, filled).set_index("key")["value"]
    assert listed["budget.base_salary.rep"] == f"{rep_pay:,.0f} USD"
    assert {"budget.on_cost_rate", "budget.lines", "budget.extra_headcount", "incentives.commission",
            "incentives.bonuses"} <= set(listed.index)
    assert listed["budget.lines"] == "none" and cfg.budget.lines == [] and cfg.incentives.bonuses == []


def test_stated_amounts_are_kept_and_not_listed():
    cfg = parse_config({**RAW, "budget": {"base_salary": {"rep": 1.0, "manager": 2.0}, "hiring_cost_per_hire": 3.0,
                                          "on_cost_rate": 0.2, "extra_headcount": [], "lines": [],
                                          "new_hire_paid_on_target": False},
                        "incentives": {"target_incentive": {"rep": 4.0}, "commission": {}, "bonuses": []}})
    assert fill_money(cfg, {"per_rep_year": 1e6, "revenue": 1e6, "fte_years": 1.0, "window": "x"}).empty
    assert cfg.budget.base_salary == {"rep": 1.0, "manager": 2.0}
    assert assumed_values(cfg).empty


def test_no_country_means_no_public_holidays_and_monday_to_friday():
    days = working_days(pd.Timestamp("2027-01-01").date(), pd.Timestamp("2027-12-31").date(), None)
    assert days["working"].sum() == 261 and (days["holiday"] == "").all()
    assert parse_config(RAW).company.country is None


def test_assumed_amounts_are_shown_in_the_display_unit_with_the_config_figure_beside_them():
    raw = {**RAW, "company": {**RAW["company"], "display_unit": 1000}}
    cfg = parse_config(raw)
    filled = fill_money(cfg, {"per_rep_year": 800_000.0, "revenue": 1_200_000.0, "fte_years": 1.5,
                              "window": "2025-11..2026-10"})
    rep_pay = ASSUMED_SHARES["rep_base_pay"] * 800_000  # a share of 800,000 USD: shown in thousands
    shown = filled.set_index("key")["value"]
    assert shown["budget.base_salary.rep"] == f"{rep_pay / 1000:,.0f} k USD (in the config: {rep_pay:,.0f})"
    basis = filled.set_index("key")["basis"]["budget.base_salary.rep"]
    assert "of 800 k USD, the sales of one full-time rep in a year (2025-11..2026-10: 1,200 k USD over" in basis
