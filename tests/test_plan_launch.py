"""A region opened a few months before as_of (issue 16, item 4): the forecast of the established series must not
change, and the new series are forecast from their short history by a stated method.

One generated USD company sells Widgets and Gadgets in North (2023-11..2026-10); a South rep starts on 2026-05-01.
The same deals without the South rep (the deals of North are the very same rows) are the "no new region" run.
Before the fix, the South series' backtest errors on a near-zero scale (months before the launch read as zero
sales) made the pooled year-total calibration shift every series: North/Gadgets ~20k a month became 24.9M.
"""
from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import pytest

import planlib
from company_factory import Company, Rep, run_plan
from planlib.forecast import forecast
from planlib.forecast.launch import LAUNCH_METHOD

REPS = [Rep("E1", "North", "N1"), Rep("E2", "North", "N1"), Rep("E3", "South", "S1", start="2026-05-01")]
COMPANY = Company(REPS, ["Widgets", "Gadgets"], deals_per_month=5)
NG = "region_product/North/Gadgets"
SOUTH = ["region/South", "region_product/South/Gadgets", "region_product/South/Widgets"]


def _plan(folder, without_south: bool):
    config = COMPANY.write(folder, extra={"forecast": {"n_jobs": 1}})
    if without_south:
        deals = pd.read_csv(folder / "deals.csv", dtype=str, keep_default_na=False)
        deals[deals["Owner"] != "E3"].to_csv(folder / "deals.csv", index=False)
        people = pd.read_csv(folder / "people.csv", dtype=str, keep_default_na=False)
        people[people["Employee"] != "E3"].to_csv(folder / "people.csv", index=False)
    return planlib.Plan.from_config(config)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    with_south = _plan(tmp_path_factory.mktemp("with_south"), False)
    without = _plan(tmp_path_factory.mktemp("without_south"), True)
    return with_south, without


def test_a_launch_takes_the_established_series_season_and_moves_none_of_them():
    # By hand: A and B repeat the season s exactly for three years (100 s and 50 s a month); C sells 10 s from
    # its launch six months before the end. The profile of the established series is s / mean(s), C's level
    # since launch 10 mean(s), so C's forecast is 10 s again; A and B are forecast as without C.
    months = pd.date_range("2023-11-01", "2026-10-01", freq="MS")
    season = {m: 1 + 0.1 * m for m in range(1, 13)}
    s = months.month.map(season).to_numpy(dtype=float)
    rows = [("A", d, 100 * v) for d, v in zip(months, s)] + [("B", d, 50 * v) for d, v in zip(months, s)]
    launched = [("C", d, 10 * v if d >= pd.Timestamp("2026-05-01") else 0.0) for d, v in zip(months, s)]
    panel = pd.DataFrame(rows + launched, columns=["unique_id", "ds", "y"])
    both = forecast(panel, 12)
    alone = forecast(panel[panel["unique_id"] != "C"], 12)
    ahead = pd.date_range("2026-11-01", periods=12, freq="MS")
    c = both.forecasts[both.forecasts["unique_id"] == "C"]
    assert c["ds"].tolist() == list(ahead)
    np.testing.assert_allclose(c["yhat"], [10 * season[d.month] for d in ahead], rtol=1e-9)
    assert (c["model"] == "launch").all()
    assert both.launches == {"C": {"first_sale": pd.Timestamp("2026-05-01"), "months": 6, "method": LAUNCH_METHOD}}
    established = both.forecasts[both.forecasts["unique_id"] != "C"].reset_index(drop=True)
    pd.testing.assert_frame_equal(established, alone.forecasts)
    assert (both.shift, both.widening) == (alone.shift, alone.widening)
    assert set(both.backtest["unique_id"]) == {"A", "B"}


def _year(result, uid):
    f = result.forecasts
    return float(f.loc[f["unique_id"] == uid, "yhat"].sum())


def test_the_generated_deals_are_what_the_test_says(runs):
    # The two runs share every North deal; South sells only from 2026-05.
    deals = COMPANY.deals()
    south = deals[deals["_region"] == "South"]
    assert pd.to_datetime(south["Closed"]).min() >= pd.Timestamp("2026-05-01")
    assert len(south) > 0
    with_south, without = runs
    h1, h0 = with_south["history"], without["history"]
    north = lambda h: h[h["unique_id"] == NG].set_index("ds")["y"]  # noqa: E731
    pd.testing.assert_series_equal(north(h1), north(h0))


def test_an_established_series_is_not_moved_by_a_new_region(runs):
    with_south, without = runs
    f1, f0 = with_south["forecast"], without["forecast"]
    # The plan year is the 12 forecast months (as_of 2026-11-21, fiscal year from November).
    assert f0.forecasts["ds"].nunique() == 12
    sold = float(without["history"].query("unique_id == @NG")["y"].tail(12).sum())
    base = _year(f0, NG)
    assert 0.5 * sold < base < 2 * sold  # the no-new-region forecast is of the order of last year's sales
    # The new region's sales reach North/Gadgets only through the company and product series (reconciliation, and
    # the pooled calibration's shrinkage, which counts fewer backtest totals): a small part of the no-new-region
    # run's own uncertainty, a quarter of the sd of its plan-year total (before the fix: 334M against 266k).
    sd = without["forecast"].total_distribution(NG, "2026-11-01", "2027-10-01").std()
    assert 0 < sd < base
    assert abs(_year(f1, NG) - base) <= 0.25 * sd, (_year(f1, NG), base, sd)
    # and the calibration learned from the established series' backtests is the same kind of correction
    assert abs(f1.shift - f0.shift) < 0.1 and abs(f1.widening / f0.widening - 1) < 0.1, \
        (f1.shift, f0.shift, f1.widening, f0.widening)


def test_the_new_region_is_a_launch_forecast_from_its_short_history(runs):
    with_south, _ = runs
    f1 = with_south["forecast"]
    launches = f1.launches
    assert sorted(launches) == SOUTH
    hist = with_south["history"]
    deals = COMPANY.deals()
    deals = deals[deals["_region"] == "South"].assign(month=lambda d: pd.to_datetime(d["Closed"]).dt.to_period("M"))
    first = {SOUTH[0]: deals["month"].min(), SOUTH[1]: deals.loc[deals["Line"] == "Gadgets", "month"].min(),
             SOUTH[2]: deals.loc[deals["Line"] == "Widgets", "month"].min()}
    for uid in SOUTH:
        info = launches[uid]
        months = (pd.Period("2026-10", "M") - first[uid]).n + 1
        assert info["first_sale"] == first[uid].to_timestamp()
        assert info["months"] == months < 24
        note = f1.notes[(f1.notes["unique_id"] == uid) & (f1.notes["kind"] == "launch")]["reason"]
        assert list(note.str.startswith(f"first sale {first[uid]}, {months} months of sales: too short")) == [True]
        assert "seasonal profile" in info["method"]
        # left out of the backtest and its model choice
        assert uid not in set(f1.backtest["unique_id"])
        assert set(f1.forecasts.loc[f1.forecasts["unique_id"] == uid, "model"]) == {"launch"}
    # Before reconciliation, a launch's plan year is 12 x its deseasonalised level; the profile of a year adds
    # up to 12, so its year is near 12 x its mean month since launch (the season here is +-15%).
    gadgets = hist[(hist["unique_id"] == SOUTH[1]) & (hist["ds"] >= "2026-05-01")]["y"]
    year = _year(f1, SOUTH[1])
    assert 0.7 * 12 * gadgets.mean() < year < 1.3 * 12 * gadgets.mean(), (year, 12 * gadgets.mean())
    assert sorted(f1.notes.loc[f1.notes["kind"] == "launch", "unique_id"]) == SOUTH


def test_page_01_names_the_launched_series_and_their_method(tmp_path_factory):
    folder = tmp_path_factory.mktemp("full")
    config = COMPANY.write(folder)
    done = run_plan(config, tmp_path_factory.mktemp("elsewhere"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    page = (folder / "reports" / "FY2027" / "v001" / "01_market_analysis.html").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))
    assert "3 series launched too recently to backtest" in text
    assert "forecast from their " + LAUNCH_METHOD in text
    for uid in SOUTH:
        assert re.search(re.escape(uid) + r" \(first sale 2026-0[56], [56] months of sales\)", text), uid
