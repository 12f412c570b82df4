"""Tests of planlib.risk.simulate: moments against closed forms, estimation from residuals, seeds."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planlib.core.errors import DataError
from planlib.risk.simulate import (ShockModel, apply_risk_events, draw_risk_events, estimate_rep_noise,
                              estimate_shock_model, simulate_rep_outcomes, summarize_attainment)

MONTHS = pd.date_range("2027-01-01", periods=4, freq="MS")


def _small_case():
    expected = pd.DataFrame([[100.0, 120.0, 80.0, 110.0], [50.0, 40.0, 60.0, 70.0], [30.0, 30.0, 30.0, 30.0]],
                            index=["R1", "R2", "R3"], columns=MONTHS)
    region_of = {"R1": "East", "R2": "East", "R3": "West"}
    mix = pd.DataFrame({"A": [0.7, 0.2, 1.0], "B": [0.3, 0.8, 0.0]}, index=["R1", "R2", "R3"])
    segs = ["East/A", "East/B", "West/A", "West/B"]
    corr = np.array([[1.0, 0.5, 0.3, 0.0], [0.5, 1.0, 0.0, 0.2], [0.3, 0.0, 1.0, 0.4], [0.0, 0.2, 0.4, 1.0]])
    shocks = ShockModel(pd.DataFrame(corr, index=segs, columns=segs),
                        pd.Series([0.10, 0.20, 0.15, 0.05], index=segs), persistence=0.6)
    rep_sd = pd.Series({"R1": 0.3, "R2": 0.1, "R3": 0.2})
    return expected, region_of, mix, shocks, rep_sd


def _analytic_moments(expected, region_of, mix, shocks, rep_sd):
    """Mean and variance of the company total by summing covariances of lognormal terms one by one."""
    terms = []  # (mean, segment, month, rep)
    for r in expected.index:
        for p in mix.columns:
            w = mix.loc[r, p]
            if w == 0:
                continue
            for m in range(expected.shape[1]):
                terms.append((expected.loc[r].iloc[m] * w, f"{region_of[r]}/{p}", m, r))
    mean = sum(t[0] for t in terms)
    var = 0.0
    for ma, sa, a_month, ra in terms:
        for mb, sb, b_month, rb in terms:
            cov_log = (shocks.sd[sa] * shocks.sd[sb] * shocks.corr.loc[sa, sb]
                       * shocks.persistence ** abs(a_month - b_month))
            if ra == rb and a_month == b_month:
                cov_log += rep_sd[ra] ** 2
            var += ma * mb * (np.exp(cov_log) - 1.0)
    return mean, var


def test_company_total_moments_match_the_closed_form():
    expected, region_of, mix, shocks, rep_sd = _small_case()
    n = 200_000
    sims = simulate_rep_outcomes(expected, region_of=region_of, shocks=shocks, rep_sd=rep_sd, n_sims=n,
                                 seed=7, product_mix=mix)
    total = sims.sum(axis=(1, 2))
    mean, var = _analytic_moments(expected, region_of, mix, shocks, rep_sd)
    assert mean == pytest.approx(expected.to_numpy().sum())
    assert abs(total.mean() - mean) < 4 * np.sqrt(var / n)
    # sd of a sample variance ~ var * sqrt(2/n) for near-normal totals; lognormal tails: allow 3%
    assert total.var(ddof=1) == pytest.approx(var, rel=0.03)


def test_independent_normal_limit_gives_the_sum_of_variances():
    """With small shocks the lognormal factor is ~ 1 + sd*Z: variance -> sum of (expected * sd)^2."""
    expected = pd.DataFrame(np.full((2, 3), 1000.0), index=["A", "B"], columns=MONTHS[:3])
    shocks = ShockModel.independent({"North": 0.01, "South": 0.02})
    sims = simulate_rep_outcomes(expected, region_of={"A": "North", "B": "South"}, shocks=shocks, rep_sd=0.0,
                                 n_sims=100_000, seed=3)
    monthly = sims[:, :, 0]
    assert monthly[:, 0].std() == pytest.approx(1000 * 0.01, rel=0.02)
    assert monthly[:, 1].std() == pytest.approx(1000 * 0.02, rel=0.02)
    assert np.corrcoef(monthly[:, 0], monthly[:, 1])[0, 1] == pytest.approx(0.0, abs=0.02)


def test_same_seed_same_numbers_other_seed_other_numbers():
    expected, region_of, mix, shocks, rep_sd = _small_case()
    args = dict(region_of=region_of, shocks=shocks, rep_sd=rep_sd, n_sims=500, product_mix=mix)
    a = simulate_rep_outcomes(expected, seed=11, **args)
    b = simulate_rep_outcomes(expected, seed=11, **args)
    c = simulate_rep_outcomes(expected, seed=12, **args)
    assert a.shape == (500, 3, 4)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_zero_shocks_give_exactly_the_expected_sales():
    expected, region_of, mix, shocks, _ = _small_case()
    sims = simulate_rep_outcomes(expected, region_of=region_of, shocks=shocks.scaled(0.0), rep_sd=0.0,
                                 n_sims=5, seed=1, product_mix=mix)
    np.testing.assert_allclose(sims, np.broadcast_to(expected.to_numpy(), sims.shape))


def test_missing_segment_and_region_are_named():
    expected, region_of, mix, shocks, rep_sd = _small_case()
    with pytest.raises(DataError, match=r"no region for 1 rep.*R3"):
        simulate_rep_outcomes(expected, region_of={"R1": "East", "R2": "East"}, shocks=shocks, rep_sd=rep_sd,
                              n_sims=10, seed=1, product_mix=mix)
    east_only = ShockModel.independent({"East/A": 0.1, "East/B": 0.1})
    with pytest.raises(DataError, match=r"no segment for 1 rep/segment.*R3:West/A"):
        simulate_rep_outcomes(expected, region_of=region_of, shocks=east_only, rep_sd=rep_sd, n_sims=10, seed=1,
                              product_mix=mix)


def test_bernoulli_events_expected_loss_is_sum_of_likelihood_times_impact():
    expected = pd.DataFrame(np.full((2, 12), 100.0), index=["A", "B"], columns=pd.date_range(
        "2027-01-01", periods=12, freq="MS"))
    n = 100_000
    sales = np.broadcast_to(expected.to_numpy(), (n, 2, 12)).copy()
    likelihood = np.array([0.3, 0.1, 0.5])
    exposure = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 0.5]])  # company, rep A, half of rep B
    share = np.array([0.0, 0.0, 0.10])
    amount = np.array([120.0, 60.0, 0.0])
    hits = draw_risk_events(n, likelihood, 5)
    after, loss = apply_risk_events(sales, hits, exposure=exposure, share=share, amount=amount,
                                    expected=expected.to_numpy())
    # by hand: 0.3*120 + 0.1*60 + 0.5*(10% of half of B's 1200 = 60) = 36 + 6 + 30 = 72
    analytic = 72.0
    sd = np.sqrt(0.3 * 0.7 * 120**2 + 0.1 * 0.9 * 60**2 + 0.5 * 0.5 * 60**2)
    lost = 2400.0 - after.sum(axis=(1, 2))
    assert abs(lost.mean() - analytic) < 4 * sd / np.sqrt(n)
    np.testing.assert_allclose(loss.sum(axis=1), lost)
    assert loss.mean(axis=0) == pytest.approx([36.0, 6.0, 30.0], rel=0.03)
    # a fixed amount on the company is spread like expected sales: each rep loses 60 when it hits
    only_first = hits[:, 0] & ~hits[:, 1] & ~hits[:, 2]
    assert after[only_first].sum(axis=2)[:, 0] == pytest.approx(1200.0 - 60.0)


def test_summary_statistics_by_hand():
    summary = summarize_attainment(np.array([80.0, 90.0, 100.0, 110.0, 120.0, 70.0, 95.0, 105.0, 130.0, 100.0]),
                                   annual_target=100.0)
    assert summary["p_target"] == pytest.approx(0.6)  # 100,110,120,105,130,100
    assert summary["expected_shortfall"] == pytest.approx((20 + 10 + 30 + 5) / 10)
    assert summary["shortfall_if_missed"] == pytest.approx(65 / 4)
    assert summary["cvar_10"] == pytest.approx(70.0)
    assert summary["mean_attainment"] == pytest.approx(1.0)


def _history(series: dict[str, np.ndarray], level: str) -> pd.DataFrame:
    ds = pd.date_range("2018-01-01", periods=len(next(iter(series.values()))), freq="MS")
    prefix = {"region": "region/", "region_product": "region_product/"}[level]
    return pd.concat([pd.DataFrame({"unique_id": prefix + name, "ds": ds, "y": y, "level": level})
                      for name, y in series.items()], ignore_index=True)


def test_shock_model_recovers_correlation_and_size_of_residuals():
    rng = np.random.default_rng(0)
    n = 240
    months = np.arange(n)
    season = 1 + 0.3 * np.sin(2 * np.pi * months / 12)
    noise = rng.multivariate_normal([0, 0], [[0.01, 0.006], [0.006, 0.01]], size=n)  # corr 0.6, sd 0.1
    east = 100 * season * np.exp(0.005 * months + noise[:, 0])
    west = 50 * season * np.exp(-0.002 * months + noise[:, 1])
    model = estimate_shock_model(_history({"East": east, "West": west}, "region"), "region")
    assert model.corr.loc["East", "West"] == pytest.approx(0.6, abs=0.1)
    # the year-on-year difference of iid noise has sd sqrt(2) * 0.1
    assert model.sd["East"] == pytest.approx(np.sqrt(2) * 0.1, rel=0.12)
    assert model.persistence == pytest.approx(0.0, abs=0.15)


def test_shock_model_exact_on_mirrored_series_and_names_short_segments():
    base = np.exp(np.sin(np.arange(48) / 3.0)) * (1 + 0.2 * (np.arange(48) % 12 == 11))
    model = estimate_shock_model(_history({"East/A": base * 100, "East/B": 1000 / base},
                                          "region_product"))
    assert model.corr.loc["East/A", "East/B"] == pytest.approx(-1.0, abs=1e-6)
    assert model.sd["East/A"] == pytest.approx(model.sd["East/B"])
    short = np.r_[np.zeros(30), base[:18]] * 100
    with pytest.raises(DataError, match=r"(?s)at least 12 months.*column 'region_product:East/B': found 6"):
        estimate_shock_model(_history({"East/A": base * 100, "East/B": short}, "region_product"), fallback=False)
    # alone, with 6 year-on-year residuals (no segment to borrow from): its 17 month-on-month changes stand in
    alone = estimate_shock_model(_history({"East/B": short}, "region_product"))
    changes = np.diff(np.log(base[:18] * 100))
    assert alone.sd["East/B"] == pytest.approx(np.std(changes, ddof=1))
    assert alone.notes == ("no segment has 12 months of year-on-year changes of positive sales in the 48 months of "
                           "history: the shocks are month-on-month changes, which also hold the season's swings, so "
                           "the spread is wider than two years of history would give",)
    few = np.r_[np.zeros(44), base[:4]] * 100  # 3 changes: not even month-on-month can stand in
    with pytest.raises(DataError, match=r"(?s)^cannot estimate shocks at level 'region_product': no segment has "
                                        r"12 months of year-on-year changes of positive sales in the 48 months of "
                                        r"history, and no segment has 6 month-on-month changes.*"
                                        r"'region_product:East/B': found 3"):
        estimate_shock_model(_history({"East/B": few}, "region_product"))


def test_two_years_with_a_month_of_no_sales_in_every_segment_take_month_on_month_shocks():
    """24 months (12 year-on-year residuals at most): one empty month in each segment's second year, or a
    region opened in it, left no segment with 12, and the plan stopped (issue 16's property test found it)."""
    base = np.exp(np.sin(np.arange(24) / 3.0)) * 100
    a, b = base.copy(), base * 2
    a[20], b[14] = 0.0, 0.0  # one month without sales in each
    opened = np.r_[np.zeros(17), base[17:]]  # a region opened 7 months before the end
    model = estimate_shock_model(_history({"North/W": a, "South/W": b, "West/W": opened}, "region_product"))
    logged = np.log(np.where(a > 0, a, np.nan))
    steps = np.diff(logged)
    assert model.sd["North/W"] == pytest.approx(np.nanstd(steps, ddof=1))  # 21 changes: the two around the gap go
    assert model.sd["West/W"] == pytest.approx(np.std(np.diff(np.log(opened[17:])), ddof=1))
    assert model.notes[0].startswith("no segment has 12 months of year-on-year changes of positive sales in the 24 "
                                     "months of history: the shocks are month-on-month changes")


def test_a_product_first_sold_months_ago_borrows_its_regions_shocks():
    """A product sold for 3 months (0 year-on-year residuals) takes the shocks of its region's other products."""
    base = np.exp(np.sin(np.arange(48) / 3.0)) * (1 + 0.2 * (np.arange(48) % 12 == 11))
    new = np.r_[np.zeros(45), [500.0, 520.0, 480.0]]
    history = _history({"East/A": base * 100, "East/B": base * 50, "West/C": 1000 / base, "East/New": new},
                       "region_product")
    model = estimate_shock_model(history)
    assert model.sd["East/New"] == pytest.approx(model.sd["East/A"])  # rms of A and B, equal here
    assert model.corr.loc["East/New", "East/A"] == pytest.approx(1.0, abs=1e-6)  # as A and B move together
    assert model.corr.loc["East/New", "West/C"] == pytest.approx(-1.0, abs=1e-6)  # as A and B move against C
    assert model.corr.loc["East/A", "West/C"] == pytest.approx(-1.0, abs=1e-6)  # the others are unchanged
    assert model.notes == ("shocks of East/New: 0 of the 12 months of year-on-year history needed (first sold "
                           "recently); it takes the shocks of its region East (the size and co-movement of East/A, "
                           "East/B)",)
    assert np.all(np.linalg.eigvalsh(model.corr.to_numpy()) > -1e-9)
    assert model.scaled(2.0).notes == model.notes

    # a product alone in a new region, and a new region: the median size of the others, uncorrelated
    alone = estimate_shock_model(_history({"East/A": base * 100, "East/B": base * 50, "North/New": new},
                                          "region_product"))
    assert alone.sd["North/New"] == pytest.approx(float(alone.sd[["East/A", "East/B"]].median()))
    assert alone.corr.loc["North/New", "East/A"] == pytest.approx(0.0, abs=1e-6)
    assert "it takes the median shock size of the other region/product segments" in alone.notes[0]
    regions = estimate_shock_model(_history({"East": base * 100, "West": 1000 / base, "North": new}, "region"),
                                   "region")
    assert regions.sd["North"] == pytest.approx(float(regions.sd[["East", "West"]].median()))
    assert regions.corr.loc["North", "West"] == pytest.approx(0.0, abs=1e-6)


def test_rep_noise_from_share_of_region():
    ds = pd.date_range("2022-01-01", periods=36, freq="MS")
    wiggle = np.where(np.arange(36) % 2 == 0, 0.2, -0.2)
    a = 100 * np.exp(wiggle)
    region = a + 300.0
    rows = [pd.DataFrame({"unique_id": "region/East", "ds": ds, "y": region, "level": "region", "region": "East",
                          "rep_id": None}),
            pd.DataFrame({"unique_id": "rep/R1", "ds": ds, "y": a, "level": "rep", "region": "East", "rep_id": "R1"}),
            pd.DataFrame({"unique_id": "rep/R2", "ds": ds, "y": region - a, "level": "rep", "region": "East",
                          "rep_id": "R2"}),
            pd.DataFrame({"unique_id": "rep/R3", "ds": ds, "y": np.r_[np.zeros(30), np.full(6, 10.0)],
                          "level": "rep", "region": "East", "rep_id": "R3"})]
    history = pd.concat(rows, ignore_index=True)
    rep_sd = estimate_rep_noise(history)
    def raw_sd(y):
        share = pd.Series(np.log(y / region))
        return float((share - share.rolling(13, center=True, min_periods=6).mean()).std())

    assert rep_sd["R1"] == pytest.approx(raw_sd(a), rel=1e-9)
    assert 0.1 < rep_sd["R1"] < 0.3
    assert raw_sd(region - a) < 0.05 and rep_sd["R2"] == 0.05  # steady share: the floor
    # six positive months only: the median of the reps with enough history (before the floor)
    assert rep_sd["R3"] == pytest.approx(np.median([raw_sd(a), raw_sd(region - a)]), rel=1e-9)
