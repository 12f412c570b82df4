"""The plan calendar: fiscal years, quarters, months (or 4-4-5 periods), ISO weeks and working days.

Working days come from the ``holidays`` library for the config's country, including the
make-up working days (调休) it knows; a day table cut into pieces (one ISO week within one
month) is what targets are split over, so weeks and months both add up exactly.
"""
from __future__ import annotations

import datetime as dt
import re

import holidays
import numpy as np
import pandas as pd

from planlib.core.errors import ConfigError, DataError

__all__ = [
    "PATTERNS", "fiscal_month_starts", "fiscal_month_working_days", "fiscal_year_span", "holiday_coverage",
    "month_index", "period_month_starts", "period_working_days", "piece_weights", "pieces", "plan_days",
    "plan_months", "working_days", "year_note",
]

PATTERNS = {"4-4-5": (4, 4, 5), "4-5-4": (4, 5, 4), "5-4-4": (5, 4, 4)}


def fiscal_year_span(year: int, start_month: int = 1, calendar: str = "monthly") -> tuple[dt.date, dt.date]:
    """Return the first and last day of fiscal year ``year`` (named by the calendar year it ends in).

    Parameters
    ----------
    year : int
        The fiscal year, e.g. 2027; with ``start_month`` 4 it runs 2026-04-01 .. 2027-03-31.
    start_month : int, default 1
        The month the fiscal year starts in.
    calendar : {"monthly", "4-4-5", "4-5-4", "5-4-4"}, default "monthly"
        A week-based calendar starts on the Monday of the ISO-style week holding the 1st of
        ``start_month`` (that Monday if the 1st is Monday-Thursday, else the next Monday),
        so it has 52 or 53 whole weeks.

    Returns
    -------
    tuple of datetime.date
        (first day, last day), both inclusive.

    Raises
    ------
    ConfigError
        If ``start_month`` or ``calendar`` is not a valid choice.
    """
    if not 1 <= start_month <= 12:
        raise ConfigError([("fiscal.start_month", f"must be 1..12, found {start_month!r}")])
    if calendar not in ("monthly", *PATTERNS):
        raise ConfigError([("fiscal.calendar", f"must be monthly, 4-4-5, 4-5-4 or 5-4-4, found {calendar!r}")])
    first_year = year - 1 if start_month > 1 else year
    start = dt.date(first_year, start_month, 1)
    end = dt.date(first_year + 1, start_month, 1) - dt.timedelta(days=1)
    if calendar == "monthly":
        return start, end
    return _week_start(start), _week_start(end + dt.timedelta(days=1)) - dt.timedelta(days=1)


def _week_start(day: dt.date) -> dt.date:
    # ISO rule for week 1: the week that holds the day counts if the day falls Monday..Thursday.
    monday = day - dt.timedelta(days=day.weekday())
    return monday if day.weekday() <= 3 else monday + dt.timedelta(days=7)


def working_days(start: dt.date, end: dt.date, country: str = "CN", subdivision: str | None = None) -> pd.DataFrame:
    """Return one row per day from ``start`` to ``end`` with its working-day status.

    Parameters
    ----------
    start, end : datetime.date
        First and last day (inclusive).
    country : str or None, default "CN"
        ISO country code understood by the ``holidays`` library; None: no public holidays (working
        days are Monday to Friday).
    subdivision : str, optional
        A state or province code, where the library has one.

    Returns
    -------
    DataFrame
        date (Timestamp), weekday (0 = Monday), holiday (name, "" if none), makeup_workday
        (a weekend day worked in exchange for a holiday, where the library knows it) and
        working (bool).

    Raises
    ------
    ConfigError
        If the ``holidays`` library does not know ``country`` or ``subdivision``.
    """
    years = list(range(start.year, end.year + 1))
    calendar = _holiday_calendar(country, subdivision, years)
    dates = pd.date_range(start, end, freq="D")
    weekday = dates.day_of_week.to_numpy()
    names = np.array([calendar.get(d.date(), "") for d in dates], dtype=object)
    makeup = np.array([d.date() in calendar.weekend_workdays for d in dates], dtype=bool)
    weekend = np.isin(weekday, sorted(calendar.weekend))
    working = np.where(weekend, makeup, names == "")
    return pd.DataFrame({"date": dates, "weekday": weekday, "holiday": names,
                         "makeup_workday": makeup & weekend, "working": working})


def period_working_days(start, end, freq: str = "MS", country: str = "CN",
                        subdivision: str | None = None) -> pd.Series:
    """Return the working days of each period from the one holding ``start`` to the one holding ``end``.

    Parameters
    ----------
    start, end : date-like
        Any day of the first and of the last period.
    freq : str, default "MS"
        A period-start frequency: "MS" months, "QS" quarters (or "QS-APR" and the like).
    country, subdivision : str
        As for :func:`working_days`.

    Returns
    -------
    Series
        Working days (int) indexed by period start, named "working_days".

    Raises
    ------
    ConfigError
        If ``freq`` is neither monthly nor quarterly, or the holidays library does not know the country.
    """
    first = pd.Timestamp(start).to_period(_period_freq(freq)).start_time
    last = pd.Timestamp(end).to_period(_period_freq(freq)).end_time
    days = working_days(first.date(), last.date(), country, subdivision)
    counts = days.set_index("date")["working"].astype(int).resample(freq).sum()
    return counts.rename("working_days").rename_axis("ds")


def fiscal_month_working_days(years, start_month: int = 1, country: str = "CN",
                              subdivision: str | None = None) -> pd.DataFrame:
    """Return the working days of each calendar month of the fiscal years, to set years side by side.

    Parameters
    ----------
    years : iterable of int
        Fiscal years (named by the calendar year they end in).
    start_month : int, default 1
        The month the fiscal year starts in.
    country, subdivision : str
        As for :func:`working_days`.

    Returns
    -------
    DataFrame
        year ("FY2027"), month ("Feb"), month_start (Timestamp), working_days (int), in fiscal order.
    """
    frames = []
    for year in years:
        first, last = fiscal_year_span(int(year), start_month)
        counts = period_working_days(first, last, "MS", country, subdivision)
        frames.append(pd.DataFrame({"year": f"FY{int(year)}", "month": counts.index.strftime("%b"),
                                    "month_start": counts.index, "working_days": counts.to_numpy()}))
    return pd.concat(frames, ignore_index=True)


def _period_freq(freq: str) -> str:
    base = pd.tseries.frequencies.to_offset(freq)
    if isinstance(base, pd.offsets.MonthBegin):
        return "M"
    if isinstance(base, pd.offsets.QuarterBegin):
        month = base.startingMonth  # a quarter starting in April ends in March: Q-MAR
        return f"Q-{pd.Timestamp(2001, (month - 2) % 12 + 1, 1):%b}".upper()
    raise ConfigError([("forecast.working_days", f"working days by period need a monthly or quarterly frequency, "
                                                 f"found {freq!r}")])


def _holiday_calendar(country: str | None, subdivision: str | None, years: list[int]):
    if country is None:  # no company.country: no public holidays, Monday to Friday are working days
        return holidays.HolidayBase(years=years)
    if country not in holidays.list_supported_countries():
        raise ConfigError([("company.country", f"the holidays library does not know country {country!r}; "
                            "use an ISO code such as CN, US, DE")])
    try:
        return holidays.country_holidays(country, subdiv=subdivision, years=years)
    except ValueError as exc:
        raise ConfigError([("company.subdivision", f"{exc} (found {subdivision!r})")]) from None


def holiday_coverage(country: str, years: list[int], subdivision: str | None = None) -> pd.DataFrame:
    """Return what the holidays library knows for each year: holidays and make-up working days.

    For China the make-up working days (调休) are published by the State Council each
    November for the next year; a year without them in the library is marked so the
    planner knows its working days are an estimate.

    Returns
    -------
    DataFrame
        year, holidays (count of days off on weekdays), makeup_workdays (count), working_days,
        makeup_known (bool: the library lists make-up days for that year, or the country has none).
    """
    rows = []
    for year in years:
        days = working_days(dt.date(year, 1, 1), dt.date(year, 12, 31), country, subdivision)
        off = int(((days["holiday"] != "") & ~days["weekday"].isin([5, 6])).sum())
        makeup = int(days["makeup_workday"].sum())
        rows.append({"year": year, "holidays": off, "makeup_workdays": makeup,
                     "working_days": int(days["working"].sum())})
    table = pd.DataFrame(rows)
    # A country that trades weekend days for holidays shows it in some year; a year with none is unknown.
    uses_makeup = bool(table["makeup_workdays"].gt(0).any()) or _country_uses_makeup(country, subdivision)
    table["makeup_known"] = (table["makeup_workdays"] > 0) | (not uses_makeup)
    return table


def _country_uses_makeup(country: str, subdivision: str | None) -> bool:
    cal = _holiday_calendar(country, subdivision, list(range(2020, 2026)))
    return any(2020 <= d.year <= 2025 for d in cal.weekend_workdays)


def plan_days(year: int, start_month: int = 1, calendar: str = "monthly", country: str = "CN",
              subdivision: str | None = None) -> pd.DataFrame:
    """Return the plan year's days with their fiscal labels and the piece each belongs to.

    A piece is one ISO week within one month (or within one fiscal period of a 4-4-5
    calendar, where periods are whole weeks): the smallest slice that rolls up to weeks,
    months, quarters and the year alike.

    Parameters
    ----------
    year, start_month, calendar
        As in :func:`fiscal_year_span`.
    country, subdivision
        As in :func:`working_days`.

    Returns
    -------
    DataFrame
        date, weekday, working, holiday, makeup_workday, calendar_month ("2027-01"), month_of_year
        (1-12), month_working_days (working days of the whole calendar month),
        month (the fiscal month label: "2027-01" in a monthly calendar, "FY2027-P01" in a 4-4-5 one),
        quarter ("2027Q1", fiscal), year ("FY2027"), week (ISO, "2027-W01"), piece (0, 1, ... in
        date order).
    """
    start, end = fiscal_year_span(year, start_month, calendar)
    whole = working_days(start.replace(day=1), (pd.Timestamp(end) + pd.offsets.MonthEnd(0)).date(),
                         country, subdivision)
    per_month = whole.groupby(whole["date"].dt.strftime("%Y-%m"))["working"].sum()
    days = whole[(whole["date"] >= pd.Timestamp(start)) & (whole["date"] <= pd.Timestamp(end))].reset_index(drop=True)
    dates = days["date"]
    days["calendar_month"] = dates.dt.strftime("%Y-%m")
    days["month_of_year"] = dates.dt.month.astype(int)
    days["month_working_days"] = days["calendar_month"].map(per_month).astype(int)
    if calendar == "monthly":
        months_in = (dates.dt.year - start.year) * 12 + dates.dt.month - start.month
        days["month"] = days["calendar_month"]
    else:
        week_index = ((dates - pd.Timestamp(start)).dt.days // 7).to_numpy()
        ends = np.cumsum(np.tile(PATTERNS[calendar], 4))  # the 53rd week falls into period 12
        months_in = pd.Series(np.minimum(np.searchsorted(ends, week_index, side="right"), 11), index=days.index)
        days["month"] = [f"FY{year}-P{m + 1:02d}" for m in months_in]
    days["quarter"] = [f"{year}Q{m // 3 + 1}" for m in months_in]
    days["year"] = f"FY{year}"
    iso = dates.dt.isocalendar()
    days["week"] = iso["year"].astype(str) + "-W" + iso["week"].astype(int).map("{:02d}".format)
    key = days["month"] + "|" + days["week"]
    days["piece"] = (key != key.shift()).cumsum() - 1
    return days


def pieces(days: pd.DataFrame) -> pd.DataFrame:
    """Return one row per piece of :func:`plan_days` with its labels and working days.

    Returns
    -------
    DataFrame
        piece, start, end (Timestamps), days, working_days, month, quarter, year, week.
    """
    grouped = days.groupby("piece", sort=True)
    table = grouped.agg(start=("date", "min"), end=("date", "max"), days=("date", "size"),
                        working_days=("working", "sum"), month=("month", "first"),
                        quarter=("quarter", "first"), year=("year", "first"), week=("week", "first"))
    table["working_days"] = table["working_days"].astype(int)
    return table.reset_index()


def piece_weights(days: pd.DataFrame, month_weights: pd.Series) -> np.ndarray:
    """Spread calendar-month weights over working days and sum them into pieces.

    Parameters
    ----------
    days : DataFrame
        From :func:`plan_days`.
    month_weights : Series
        Weight of each calendar month, indexed by month of year (1-12). A month's weight
        is shared equally by its working days, so a week that straddles two months takes
        from each in proportion to its working days there.

    Returns
    -------
    ndarray
        One weight per piece, summing to 1.

    Raises
    ------
    ConfigError
        If a month of the plan year has no weight or the weights are negative or all zero.
    """
    missing = sorted(set(days["month_of_year"]) - set(month_weights.index))
    if missing:
        raise ConfigError([("allocation.time", f"no weight for month(s) {missing} of the plan year")])
    if (month_weights < 0).any() or float(month_weights.sum()) <= 0:
        raise ConfigError([("allocation.time", f"month weights must be >= 0 and not all zero, found "
                            f"{month_weights.round(4).to_dict()}")])
    # Working days of the whole calendar month (from plan_days), so a part-month at a 4-4-5
    # year's edge gets only its part of that month's weight.
    per_month = days["month_working_days"].to_numpy(float)
    weight = month_weights.reindex(days["month_of_year"]).to_numpy(float)
    daily = np.where(days["working"].to_numpy() & (per_month > 0), weight / np.maximum(per_month, 1), 0.0)
    by_piece = np.bincount(days["piece"].to_numpy(), weights=daily)
    total = by_piece.sum()
    if total <= 0:
        raise ConfigError([("allocation.time", "the plan year has no working day with a positive month weight")])
    return by_piece / total


def fiscal_month_starts(year: int, start_month: int = 1, calendar: str = "monthly") -> pd.DataFrame:
    """Return the 12 fiscal months (or week-based periods) of ``year`` with their dates and a name for people.

    In a week-based calendar the year is cut into whole weeks by the pattern (4-4-5: 4, 4 and 5 weeks a
    quarter); a year of 53 weeks gives its last week to period 12. Period n stands for the n-th month of
    the fiscal year: month-by-month stages (capacity, budget, risk) key it by that month.

    Parameters
    ----------
    year, start_month, calendar
        As in :func:`fiscal_year_span`.

    Returns
    -------
    DataFrame
        One row per period in fiscal order: period (the targets' label: "2027-01", or "FY2027-P01"),
        month (Timestamp, the first day of the calendar month it stands for), start, end (Timestamps,
        inclusive), days, weeks (whole weeks; <NA> in a monthly calendar) and name ("Jan 2027", or
        "P01 (4 weeks, 4 Jan - 31 Jan)"; the year only in a period that crosses one).

    Examples
    --------
    >>> fiscal_month_starts(2027, 1, "4-4-5")["weeks"].tolist()
    [4, 4, 5, 4, 4, 5, 4, 4, 5, 4, 4, 5]
    """
    first, last = fiscal_year_span(year, start_month, calendar)
    months = plan_months(year, start_month)
    if calendar == "monthly":
        starts = months
        ends = months + pd.offsets.MonthEnd(0)
        weeks = pd.array([pd.NA] * 12, dtype="Int64")
        periods = list(months.strftime("%Y-%m"))
        names = list(months.strftime("%b %Y"))
    else:
        counts = np.tile(PATTERNS[calendar], 4)
        counts[-1] += ((last - first).days + 1) // 7 - int(counts.sum())  # a 53rd week joins period 12
        offsets = np.concatenate([[0], np.cumsum(counts)])
        starts = pd.DatetimeIndex([pd.Timestamp(first) + pd.Timedelta(weeks=int(w)) for w in offsets[:-1]])
        ends = pd.DatetimeIndex([pd.Timestamp(first) + pd.Timedelta(weeks=int(w), days=-1) for w in offsets[1:]])
        weeks = pd.array(counts.tolist(), dtype="Int64")
        periods = [f"FY{year}-P{n:02d}" for n in range(1, 13)]
        names = [f"P{n:02d} ({int(w)} weeks, {_span(s, e)})" for n, w, s, e in zip(range(1, 13), counts, starts, ends)]
    return pd.DataFrame({"period": periods, "month": months, "start": starts, "end": ends,
                         "days": (ends - starts).days + 1, "weeks": weeks, "name": names})


def _span(start: pd.Timestamp, end: pd.Timestamp) -> str:
    # no year: the page states the fiscal year's own first and last day (see year_note)
    return f"{start.day} {start:%b} - {end.day} {end:%b}"


def year_note(year: int, start_month: int = 1, calendar: str = "monthly") -> str:
    """Return a paragraph for the plan's pages saying how the fiscal year is cut and how weeks take their target.

    A week-based year is named with its pattern, first and last day, its 52 or 53 weeks and its
    periods; a monthly one says how a week that straddles two months is split.

    Examples
    --------
    >>> year_note(2027, 1, "4-4-5").split(":")[0]
    'FY2027 is a week-based 4-4-5 year of 52 weeks, Monday 4 Jan 2027 to Sunday 2 Jan 2028'
    """
    if calendar == "monthly":
        return ("Weeks are ISO weeks; a week that straddles two months is split between them by its working days. "
                "Working days come from the `holidays` library for the config's country, with the make-up working "
                "days it knows.")
    periods = fiscal_month_starts(year, start_month, calendar)
    first, last = periods["start"].iloc[0], periods["end"].iloc[-1]
    weeks = int(periods["weeks"].sum())
    month_days = int(pd.DatetimeIndex(periods["month"]).days_in_month.to_numpy().sum())
    month_one = pd.Timestamp(2001, start_month, 1).strftime("%B")
    extra = (f" This year has 53 weeks: the 53rd joins P12, which has {int(periods['weeks'].iloc[-1])}."
             if weeks == 53 else " A year of 53 weeks gives its extra week to P12.")
    return (f"FY{year} is a week-based {calendar} year of {weeks} weeks, Monday {first.day} {first:%b %Y} to "
            f"Sunday {last.day} {last:%b %Y}: it starts on the Monday of the week that holds 1 {month_one} (that "
            f"Monday if the 1st falls Monday to Thursday, else the Monday after), so every period is whole weeks "
            f"and no week is split. Each quarter is 13 weeks in periods of {calendar.replace('-', ', ')} weeks."
            f"{extra} The target is split per week by working days: each calendar month's seasonal weight is shared "
            f"by its working days, and a week takes the share of the working days it holds, so a period's target "
            f"follows the working days of its 4 or 5 weeks. Period n stands for the n-th month of the fiscal year: "
            f"capacity, estimated by calendar month, is set against it by its days (a 5-week period standing for a "
            f"31-day month gets 35/31 of that month's capacity), and budget and risk count it as that month. "
            f"The periods: " + "; ".join(periods["name"]) + f". The annual target is read from the forecast of the "
            f"twelve calendar months the periods stand for ({month_days} days); the periods hold "
            f"{int(periods['days'].sum())} days. Working days come from the `holidays` library for the config's "
            f"country, with the make-up working days it knows.")


_WEEK_PERIOD = re.compile(r"^FY(\d{4})-P(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def period_month_starts(labels, start_month: int | None = None) -> pd.DatetimeIndex:
    """Return the calendar month each month label of the targets stands for (its first day).

    Parameters
    ----------
    labels : iterable of str
        Month periods of the targets table: "2027-01" (monthly calendar) or "FY2027-P01" (week-based).
    start_month : int, optional
        The fiscal year's start month; needed for week-based labels (period n stands for the n-th
        month of the fiscal year, as in :func:`fiscal_month_starts`).

    Returns
    -------
    DatetimeIndex
        One month start per label, in the order given.

    Raises
    ------
    DataError
        If a label is neither form, or a week-based label comes without ``start_month``.
    """
    out, bad = [], []
    for label in map(str, labels):
        month, week = _MONTH.match(label), _WEEK_PERIOD.match(label)
        if month and 1 <= int(month[2]) <= 12:
            out.append(pd.Timestamp(int(month[1]), int(month[2]), 1))
        elif week and 1 <= int(week[2]) <= 12 and start_month is not None:
            out.append(plan_months(int(week[1]), start_month)[int(week[2]) - 1])
        else:
            bad.append(label)
    if bad:
        hint = ("; week-based periods need the fiscal start month (fiscal.start_month)"
                if start_month is None and all(_WEEK_PERIOD.match(b) for b in bad) else "")
        raise DataError(f"targets: month period(s) {sorted(set(bad))[:5]} are not a month; expected "
                        f"'2027-01' (monthly calendar) or 'FY2027-P01'..'FY2027-P12' (week-based){hint}")
    return pd.DatetimeIndex(out)


def plan_months(year: int, start_month: int = 1) -> pd.DatetimeIndex:
    """Return the 12 month starts of fiscal ``year`` (named by the calendar year it ends in)."""
    first_year = year if start_month == 1 else year - 1
    return pd.date_range(pd.Timestamp(first_year, start_month, 1), periods=12, freq="MS")


def month_index(ts) -> np.ndarray | int:
    """Return months since year 0 (year x 12 + month - 1), so month differences are integer subtraction."""
    idx = pd.DatetimeIndex(np.atleast_1d(pd.to_datetime(ts)))
    out = idx.year.to_numpy() * 12 + idx.month.to_numpy() - 1
    return out if np.ndim(ts) else int(out[0])
