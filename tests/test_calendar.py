"""Tests of planlib.core.calendar: fiscal spans, working days with make-up days, pieces and their weights."""
import datetime as dt

import pandas as pd
import pytest

from planlib.core import calendar
from planlib.core.errors import ConfigError, DataError


def test_fiscal_year_span_monthly_and_shifted_start():
    assert calendar.fiscal_year_span(2027) == (dt.date(2027, 1, 1), dt.date(2027, 12, 31))
    # An April year is named by the calendar year it ends in.
    assert calendar.fiscal_year_span(2027, 4) == (dt.date(2026, 4, 1), dt.date(2027, 3, 31))


def test_fiscal_year_span_week_based_starts_on_a_monday_and_has_whole_weeks():
    # 2027-01-01 is a Friday, so the week holding it belongs to the year before.
    start, end = calendar.fiscal_year_span(2027, 1, "4-4-5")
    assert (start, end) == (dt.date(2027, 1, 4), dt.date(2028, 1, 2))
    assert (end - start).days + 1 == 364
    # 2026-01-01 is a Thursday: that week counts, and FY2026 gets a 53rd week.
    start, end = calendar.fiscal_year_span(2026, 1, "4-4-5")
    assert start == dt.date(2025, 12, 29) and (end - start).days + 1 == 371


def test_fiscal_year_span_rejects_unknown_calendar():
    with pytest.raises(ConfigError, match=r"fiscal.calendar: must be monthly, 4-4-5.*found '4-4-4'"):
        calendar.fiscal_year_span(2027, 1, "4-4-4")


def test_working_days_spring_festival_2027():
    days = calendar.working_days(dt.date(2027, 2, 1), dt.date(2027, 2, 28), "CN")
    # 20 weekdays; Feb 5 (eve) and Feb 8-10 (festival and its observed days) are off.
    assert days["working"].sum() == 16
    off = days.loc[~days["working"] & (days["weekday"] < 5), "date"].dt.day.tolist()
    assert off == [5, 8, 9, 10]


def test_working_days_know_chinese_make_up_days():
    days = calendar.working_days(dt.date(2026, 2, 9), dt.date(2026, 3, 1), "CN").set_index("date")
    # Saturday 2026-02-14 and 2026-02-28 are worked in exchange for the festival week.
    assert days.loc["2026-02-14", "working"] and days.loc["2026-02-14", "makeup_workday"]
    assert days.loc["2026-02-28", "working"]
    assert not days.loc["2026-02-17", "working"]  # the festival itself
    assert not days.loc["2026-02-21", "working"]  # an ordinary Saturday


def test_working_days_other_country_and_unknown_country():
    us = calendar.working_days(dt.date(2027, 7, 1), dt.date(2027, 7, 9), "US").set_index("date")
    assert not us.loc["2027-07-05", "working"]  # Independence Day observed on the Monday
    assert us["working"].sum() == 6
    with pytest.raises(ConfigError, match="company.country: the holidays library does not know country 'XX'"):
        calendar.working_days(dt.date(2027, 1, 1), dt.date(2027, 1, 31), "XX")


def test_holiday_coverage_says_2027_make_up_days_are_not_published_yet():
    table = calendar.holiday_coverage("CN", [2026, 2027]).set_index("year")
    assert table.loc[2026, "makeup_workdays"] == 6 and table.loc[2026, "makeup_known"]
    assert table.loc[2027, "makeup_workdays"] == 0 and not table.loc[2027, "makeup_known"]


def test_plan_days_pieces_split_a_week_that_straddles_two_months():
    days = calendar.plan_days(2027, country="CN")
    pieces = calendar.pieces(days)
    week13 = pieces[pieces["week"] == "2027-W13"]
    assert week13["month"].tolist() == ["2027-03", "2027-04"]
    # Mar 29-31 are Mon-Wed; Apr 1-2 Thu-Fri (Apr 5 is Tomb-Sweeping Day, the next week).
    assert week13["working_days"].tolist() == [3, 2]
    assert pieces["week"].nunique() == 53  # 2026-W53 (Jan 1-3) to 2027-W52 (Dec 27-31)
    assert pieces.iloc[0][["week", "working_days"]].tolist() == ["2026-W53", 0]
    assert pieces["working_days"].sum() == days["working"].sum() == 248
    assert set(days["quarter"]) == {"2027Q1", "2027Q2", "2027Q3", "2027Q4"}


def test_piece_weights_spread_each_month_over_its_working_days():
    days = calendar.plan_days(2027, country="CN")
    pieces = calendar.pieces(days)
    weights = calendar.piece_weights(days, pd.Series(1.0, index=range(1, 13)))
    assert weights.sum() == pytest.approx(1.0)
    march = days[days["calendar_month"] == "2027-03"]["working"].sum()
    april = days[days["calendar_month"] == "2027-04"]["working"].sum()
    w13 = weights[pieces.index[pieces["week"] == "2027-W13"]]
    assert w13 == pytest.approx([3 / march / 12, 2 / april / 12])
    # A month's pieces add to its weight whatever its working days.
    feb = weights[(pieces["month"] == "2027-02").to_numpy()].sum()
    assert feb == pytest.approx(1 / 12)


def test_piece_weights_reject_missing_and_negative_months():
    days = calendar.plan_days(2027, country="CN")
    with pytest.raises(ConfigError, match=r"no weight for month\(s\) \[12\]"):
        calendar.piece_weights(days, pd.Series(1.0, index=range(1, 12)))
    with pytest.raises(ConfigError, match="must be >= 0"):
        calendar.piece_weights(days, pd.Series([-1.0] + [1.0] * 11, index=range(1, 13)))


def test_four_four_five_periods_and_a_53rd_week():
    days = calendar.plan_days(2026, 1, "4-4-5", "CN")
    pieces = calendar.pieces(days)
    weeks = pieces.groupby("month")["week"].nunique()
    assert weeks.tolist() == [4, 4, 5, 4, 4, 5, 4, 4, 5, 4, 4, 6]
    assert pieces.groupby("quarter")["week"].nunique().tolist() == [13, 13, 13, 14]
    assert len(pieces) == 53  # whole weeks: no week is cut
    shifted = calendar.plan_days(2027, 1, "5-4-4", "CN")
    assert calendar.pieces(shifted).groupby("month")["week"].nunique().tolist()[:3] == [5, 4, 4]


def test_four_four_five_edge_months_share_their_weight_by_days():
    # FY2027 (4-4-5) runs 2027-01-04 .. 2028-01-02. P01 is Jan 4-31, which holds all of
    # January's working days (Jan 1 is New Year's Day), so it takes exactly January's weight;
    # Jan 1-2 2028 at the far edge have no working day and take none of next January's.
    days = calendar.plan_days(2027, 1, "4-4-5", "CN")
    pieces = calendar.pieces(days)
    weights = calendar.piece_weights(days, pd.Series(1.0, index=range(1, 13)))
    assert pieces.loc[pieces["month"] == "FY2027-P01", "start"].min() == pd.Timestamp("2027-01-04")
    assert weights[(pieces["month"] == "FY2027-P01").to_numpy()].sum() == pytest.approx(1 / 12)
    assert days[days["calendar_month"] == "2028-01"]["working"].sum() == 0
    assert weights.sum() == pytest.approx(1.0)


def test_period_working_days_by_month_and_quarter():
    months = calendar.period_working_days("2026-01-20", "2026-03-02", "MS", "CN")
    # January: 22 weekdays - New Year (Thu 1st, Fri 2nd) + make-up Sunday 4th = 21.
    # February: 20 weekdays - Feb 16-20 and 23 off + make-up Saturdays 14th and 28th = 16.
    # March: 22 weekdays, no holiday.
    assert months.index.tolist() == list(pd.date_range("2026-01-01", periods=3, freq="MS"))
    assert months.tolist() == [21, 16, 22]
    by_day = calendar.working_days(dt.date(2026, 1, 1), dt.date(2026, 12, 31), "CN")
    quarters = calendar.period_working_days("2026-02-01", "2026-12-31", "QS", "CN")
    assert quarters.tolist() == [int(by_day.loc[by_day["date"].dt.quarter == q, "working"].sum()) for q in (1, 2, 3, 4)]
    # A fiscal quarter starting in April: 2026-04..06 is its first.
    april = calendar.period_working_days("2026-04-01", "2026-06-30", "QS-APR", "CN")
    assert april.index.tolist() == [pd.Timestamp("2026-04-01")] and april.tolist() == [quarters.iloc[1]]
    with pytest.raises(ConfigError, match="monthly or quarterly frequency, found 'W'"):
        calendar.period_working_days("2026-01-01", "2026-02-01", "W", "CN")


def test_fiscal_month_working_days_set_years_side_by_side():
    table = calendar.fiscal_month_working_days([2026, 2027], 1, "CN")
    assert table["year"].tolist() == ["FY2026"] * 12 + ["FY2027"] * 12
    assert table["month"].tolist()[:3] == ["Jan", "Feb", "Mar"]
    feb = table[table["month"] == "Feb"].set_index("year")["working_days"]
    # 2026: 16 (see above); 2027: 20 weekdays less Feb 5 and Feb 8-10, no make-up days published yet.
    assert feb.to_dict() == {"FY2026": 16, "FY2027": 16}
    april = calendar.fiscal_month_working_days([2027], 4, "CN")
    assert april["month_start"].iloc[0] == pd.Timestamp("2026-04-01")
    assert april["month"].tolist()[-1] == "Mar" and len(april) == 12


def test_fiscal_month_starts_cut_a_four_four_five_year_into_whole_weeks():
    # FY2027 from Monday 4 Jan 2027 (1 Jan is a Friday, so week 1 starts the Monday after) to Sunday 2 Jan 2028:
    # 4+4+5 weeks a quarter, 52 weeks; P03 runs 1 Mar .. 4 Apr (35 days), P12 29 Nov 2027 .. 2 Jan 2028.
    periods = calendar.fiscal_month_starts(2027, 1, "4-4-5")
    assert periods["period"].tolist() == [f"FY2027-P{n:02d}" for n in range(1, 13)]
    assert periods["weeks"].tolist() == [4, 4, 5] * 4
    assert periods["start"].iloc[0] == pd.Timestamp("2027-01-04")
    assert (periods.loc[2, "start"], periods.loc[2, "end"]) == (pd.Timestamp("2027-03-01"), pd.Timestamp("2027-04-04"))
    assert periods["end"].iloc[-1] == pd.Timestamp("2028-01-02")
    assert periods["days"].tolist() == [w * 7 for w in periods["weeks"]]
    assert (periods["start"].iloc[1:].to_numpy() == (periods["end"].iloc[:-1] + pd.Timedelta(days=1)).to_numpy()).all()
    assert periods["month"].tolist() == list(pd.date_range("2027-01-01", periods=12, freq="MS"))
    assert periods["name"].iloc[2] == "P03 (5 weeks, 1 Mar - 4 Apr)"
    assert periods["name"].iloc[11] == "P12 (5 weeks, 29 Nov - 2 Jan)"


def test_fiscal_month_starts_give_a_53rd_week_to_period_twelve_and_follow_the_pattern():
    # FY2026 runs Monday 29 Dec 2025 .. Sunday 3 Jan 2027 (1 Jan 2026 is a Thursday): 371 days, 53 weeks
    fy2026 = calendar.fiscal_month_starts(2026, 1, "4-4-5")
    assert fy2026["weeks"].tolist() == [4, 4, 5] * 3 + [4, 4, 6]
    assert int(fy2026["days"].sum()) == (dt.date(2027, 1, 3) - dt.date(2025, 12, 29)).days + 1 == 371
    # 5-4-4 from April: FY2028 starts Monday 29 Mar 2027 (1 Apr 2027 is a Thursday); P01 is 5 weeks
    shifted = calendar.fiscal_month_starts(2028, 4, "5-4-4")
    assert shifted["weeks"].tolist()[:11] == ([5, 4, 4] * 4)[:11]
    assert shifted["start"].iloc[0] == pd.Timestamp("2027-03-29")
    assert shifted["month"].iloc[0] == pd.Timestamp("2027-04-01") and shifted["period"].iloc[0] == "FY2028-P01"
    assert calendar.fiscal_month_starts(2027, 1, "4-5-4")["weeks"].tolist() == [4, 5, 4] * 4
    # the same periods as the day table the targets are split over
    days = calendar.plan_days(2026, 1, "4-4-5", None)
    spans = days.groupby("month")["date"].agg(["min", "max"])
    assert spans["min"].tolist() == fy2026["start"].tolist() and spans["max"].tolist() == fy2026["end"].tolist()


def test_fiscal_month_starts_of_a_monthly_year_are_its_calendar_months():
    periods = calendar.fiscal_month_starts(2027, 4)
    assert periods["period"].tolist()[:2] == ["2026-04", "2026-05"] and periods["period"].iloc[-1] == "2027-03"
    assert periods["days"].tolist()[:3] == [30, 31, 30] and periods["weeks"].isna().all()
    assert periods["name"].iloc[0] == "Apr 2026"


def test_period_month_starts_key_labels_by_the_month_they_stand_for():
    assert list(calendar.period_month_starts(["2027-01", "2027-12"])) == [pd.Timestamp("2027-01-01"),
                                                                          pd.Timestamp("2027-12-01")]
    # FY2028 starting in April: P01 stands for April 2027, P10 for January 2028
    assert list(calendar.period_month_starts(["FY2028-P01", "FY2028-P10"], 4)) == [pd.Timestamp("2027-04-01"),
                                                                                   pd.Timestamp("2028-01-01")]
    with pytest.raises(DataError, match=r"\['FY2028-P01'\] are not a month.*need the fiscal start month"):
        calendar.period_month_starts(["FY2028-P01"])
    with pytest.raises(DataError, match=r"\['2027-13', 'FY2027-P13', 'Q1'\] are not a month; expected '2027-01'"):
        calendar.period_month_starts(["2027-13", "Q1", "FY2027-P13"], 1)


def test_year_note_states_the_week_based_year_and_its_periods():
    note = calendar.year_note(2026, 1, "4-4-5")
    assert note.startswith("FY2026 is a week-based 4-4-5 year of 53 weeks, Monday 29 Dec 2025 to Sunday 3 Jan 2027")
    assert "the 53rd joins P12, which has 6" in note and "P12 (6 weeks, 23 Nov - 3 Jan)" in note
    # the target is set on the forecast of Jan-Dec 2026 (365 days); the 53 weeks hold 371
    assert "forecast of the twelve calendar months the periods stand for (365 days); the periods hold 371 days" in note
    fy2027 = calendar.year_note(2027, 1, "4-4-5")
    assert "year of 52 weeks" in fy2027 and "53rd joins" not in fy2027
    assert calendar.year_note(2027, 1).startswith("Weeks are ISO weeks; a week that straddles two months is split")
