"""Simulated plan years: rep x month sales with correlated region/product shocks and rep noise.

One model, shared by the risk review (attainment, risk events) and the incentive
cost model (payouts computed on the same simulated rep outcomes).

The model
---------
For simulation ``n``, rep ``r`` (region ``g(r)``) and plan month ``m``::

    sales[n, r, m] = expected[r, m]
                     * sum_p mix[r, p] * exp(sd_s * Z[n, s, m] - sd_s**2 / 2),   s = (g(r), p)
                     * exp(rep_sd[r] * e[n, r, m] - rep_sd[r]**2 / 2)

* ``expected`` is what the plan expects of each rep each month (targets or the
  forecast split to reps); every shock has mean one, so the simulated mean is
  exactly ``expected``.
* ``s`` runs over the *segments*: region x product when a product mix is given
  (``mix[r, p]`` = the rep's share of sales in product ``p``), else regions
  (mix = 1 on the rep's region).
* ``Z[n, :, m]`` is standard normal with correlation ``corr`` across segments,
  and AR(1) over months with coefficient ``persistence`` (stationary, so each
  month keeps variance one): a bad spring tends to be followed by a weak summer.
* ``corr``, ``sd`` and ``persistence`` are *estimated from history* by
  :func:`estimate_shock_model`: the residual of a segment's monthly series after
  removing seasonality and trend is its log ratio to the same month a year
  earlier minus that series' mean log growth. ``corr`` is the correlation of
  those residuals across segments (made positive semi-definite), ``sd`` their
  standard deviation, ``persistence`` their pooled lag-one autocorrelation.
* ``e`` is independent standard normal noise per rep and month; ``rep_sd`` comes
  from :func:`estimate_rep_noise`: how much the rep's monthly share of their
  region moves around its own 13-month centred average.

All draws come from one ``numpy.random.Generator(seed)`` in a fixed order
(segment shocks, then rep noise), so the same seed gives the same numbers.

Risk events (:func:`draw_risk_events`, :func:`apply_risk_events`) come on top:
each risk of the register happens in a simulated year with its likelihood
(independent draws) and takes its impact off the reps its driver touches, a share
of their sales or an amount spread like expected sales. :func:`summarize_attainment`
turns the company totals into P(target), the expected shortfall and attainment quantiles.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planlib.core.errors import DataError
from planlib.risk.events import apply_risk_events, draw_risk_events  # moved; still offered here

__all__ = [
    "ShockModel",
    "apply_risk_events",
    "draw_risk_events",
    "estimate_rep_noise",
    "estimate_shock_correlation",
    "estimate_shock_model",
    "segment_labels",
    "sim_blocks",
    "simulate_rep_outcomes",
    "summarize_attainment",
]

BLOCK_CELLS = 4_000_000  # cells of a block of simulations (sims x reps x months) worked on at once
SHORT_HISTORY_MONTHS = 6  # month-on-month changes a segment needs when the history is under two years
_LEVEL_PREFIX = {"region": "region/", "product": "product/", "region_product": "region_product/"}


@dataclass(frozen=True)
class ShockModel:
    """Correlated monthly shocks of the segments (regions, or region/product pairs).

    Attributes
    ----------
    corr : DataFrame
        Correlation matrix, index and columns the segment labels ("East" or "East/Services").
    sd : Series
        Standard deviation of a segment's monthly log shock, by segment label.
    persistence : float
        AR(1) coefficient of the shocks from one month to the next, in [0, 1).
    residuals : DataFrame or None
        The historical residuals the estimates came from (ds x segment), for charts and checks.
    notes : tuple of str
        What the estimate could not take from a segment's own history and what it used instead
        (a product sold for a few months borrows its region's shocks).
    """

    corr: pd.DataFrame
    sd: pd.Series
    persistence: float = 0.0
    residuals: pd.DataFrame | None = None
    notes: tuple[str, ...] = ()

    @classmethod
    def independent(cls, sd: Mapping[str, float] | pd.Series, persistence: float = 0.0) -> "ShockModel":
        """Return a model whose segments are uncorrelated, with the given standard deviations."""
        sd = pd.Series(sd, dtype=float)
        corr = pd.DataFrame(np.eye(len(sd)), index=sd.index, columns=sd.index)
        return cls(corr, sd, persistence)

    def scaled(self, factor: float) -> "ShockModel":
        """Return the same model with every segment's standard deviation multiplied by ``factor``."""
        return ShockModel(self.corr, self.sd * float(factor), self.persistence, self.residuals, self.notes)


def segment_labels(region: str, product: str | None = None) -> str:
    """Return the segment label used in shock models: ``"East"`` or ``"East/Services"``."""
    return region if product is None else f"{region}/{product}"


def _wide(history: pd.DataFrame, level: str) -> pd.DataFrame:
    if level not in _LEVEL_PREFIX:
        raise ValueError(f"level must be one of {sorted(_LEVEL_PREFIX)}, got {level!r}")
    rows = history[history["level"] == level]
    if rows.empty:
        raise DataError(f"history has no rows at level {level!r}; levels present: "
                        f"{sorted(history['level'].unique())}")
    wide = rows.pivot_table(index="ds", columns="unique_id", values="y", aggfunc="sum").sort_index()
    prefix = _LEVEL_PREFIX[level]
    wide.columns = [c[len(prefix):] if c.startswith(prefix) else c for c in wide.columns]
    return wide


def _nearest_correlation(corr: np.ndarray) -> np.ndarray:
    """Clip negative eigenvalues (pairwise estimates need not be PSD) and renormalise the diagonal."""
    sym = (corr + corr.T) / 2
    vals, vecs = np.linalg.eigh(sym)
    fixed = (vecs * np.clip(vals, 1e-10, None)) @ vecs.T
    d = np.sqrt(np.diag(fixed))
    return fixed / np.outer(d, d)


def estimate_shock_model(history: pd.DataFrame, level: str = "region_product", *,
                         min_months: int = 12, fallback: bool = True) -> ShockModel:
    """Estimate segment shock correlation, size and persistence from historical residuals.

    Parameters
    ----------
    history : DataFrame
        The monthly panel (``unique_id, ds, y, level, ...``) of :mod:`planlib.data`.
    level : {"region_product", "region", "product"}, default "region_product"
        Which series are the segments.
    min_months : int, default 12
        Fewest residual months a pair of segments needs for its correlation to be
        estimated; a pair with fewer is taken as uncorrelated.
    fallback : bool, default True
        A segment with fewer than ``min_months`` residuals (a product first sold a few months
        ago, a new region) borrows its shocks: a region/product pair takes its region's, the size
        of the region's other products' shocks (root mean square) and their co-movement with the
        rest (mean correlation), else the size of the region's own; a region (or product) takes the
        median size of the others, uncorrelated with them. Each borrowing is said in ``notes``.
        False: such a segment is an error.

    Returns
    -------
    ShockModel
        ``corr`` and ``sd`` labelled by segment ("East/Services" for region_product),
        ``persistence``, the ``residuals`` (ds x segment) and ``notes``.

    Raises
    ------
    DataError
        If the level is absent, or no segment has ``min_months`` year-on-year residuals nor
        ``SHORT_HISTORY_MONTHS`` month-on-month changes of positive sales; with ``fallback=False``,
        if any segment has fewer than ``min_months`` year-on-year residuals.
    """
    wide = _wide(history, level)
    # the log ratio to the same month a year earlier removes seasonality, minus its mean the trend
    residuals = _residuals(wide)
    counts = residuals.notna().sum()
    short = counts[counts < min_months]
    if fallback and len(short) == len(counts):  # under two years, or two years with a month of no sales anywhere
        return _month_on_month(history, level, wide, min_months)
    if len(short) and (not fallback or len(short) == len(counts)):
        raise DataError(
            f"cannot estimate shocks at level {level!r}: a segment needs at least {min_months} months "
            "with positive sales in two consecutive years",
            [_problem(level, seg, int(n), min_months) for seg, n in short.items()],
        )
    if len(short):
        return _with_borrowed_shocks(history, level, residuals, list(short.index), counts, min_months)
    return _shock_model(residuals, min_months)


def _month_on_month(history: pd.DataFrame, level: str, wide: pd.DataFrame, min_months: int) -> ShockModel:
    """Shocks from month-on-month changes when no segment has a year of year-on-year history.

    That is so under two years of history, and also with two years or more when every segment has a
    month without sales in the way (two years of a sparse company, a region opened in the second).
    A change from one month to the next is, like a change from a year before, the difference of two
    months' shocks, but it also carries the season's swing: the spread is wider than with two years,
    on the side of caution. Segments need ``SHORT_HISTORY_MONTHS`` changes (else they borrow).
    """
    residuals = _residuals(wide, lag=1)
    counts = residuals.notna().sum()
    need = min(min_months, SHORT_HISTORY_MONTHS)
    short = counts[counts < need]
    why = (f"under two years of history ({len(wide)} months)" if len(wide) < 24 else
           f"no segment has {min_months} months of year-on-year changes of positive sales in the {len(wide)} months "
           "of history")
    if len(short) == len(counts):
        raise DataError(
            f"cannot estimate shocks at level {level!r}: {why}, and no segment has {need} month-on-month changes "
            "of positive sales to stand in for year-on-year ones",
            [_problem(level, seg, int(n), need) for seg, n in short.items()])
    model = (_with_borrowed_shocks(history, level, residuals, list(short.index), counts, need) if len(short)
             else _shock_model(residuals, need))
    note = (f"{why}: the shocks are month-on-month changes, which also hold the season's swings, so the spread is "
            "wider than two years of history would give")
    return ShockModel(model.corr, model.sd, model.persistence, model.residuals, (note, *model.notes))


def _shock_model(residuals: pd.DataFrame, min_months: int, notes: tuple[str, ...] = ()) -> ShockModel:
    corr = np.array(residuals.corr(min_periods=min_months).fillna(0.0), dtype=float)
    np.fill_diagonal(corr, 1.0)
    corr = _nearest_correlation(corr)
    labels = list(residuals.columns)
    lag1 = [residuals[c].autocorr(1) for c in labels]
    lag1 = [x for x in lag1 if np.isfinite(x)]
    persistence = float(np.clip(np.mean(lag1) if lag1 else 0.0, 0.0, 0.95))
    return ShockModel(
        corr=pd.DataFrame(corr, index=labels, columns=labels),
        sd=residuals.std(ddof=1).rename("sd"),
        persistence=persistence,
        residuals=residuals,
        notes=notes,
    )


def _with_borrowed_shocks(history: pd.DataFrame, level: str, residuals: pd.DataFrame, short: list[str],
                          counts: pd.Series, min_months: int) -> ShockModel:
    """The model of the segments with enough history, and borrowed shocks for the ``short`` ones."""
    long = [c for c in residuals.columns if c not in short]
    base = _shock_model(residuals[long], min_months)
    labels = list(residuals.columns)
    sd = base.sd.reindex(labels)
    corr = base.corr.reindex(index=labels, columns=labels)
    pooled = float(base.sd.median())
    region_sd = pd.Series(dtype=float)
    if level == "region_product" and (history["level"] == "region").any():
        regions = _residuals(_wide(history, "region"))
        region_sd = regions.loc[:, regions.notna().sum() >= min_months].std(ddof=1).dropna()
    notes = []
    for seg in short:
        region = seg.split("/", 1)[0] if level == "region_product" else None
        siblings = [c for c in long if region is not None and c.split("/", 1)[0] == region]
        if siblings:  # the region's own series moves with the launch itself: its other products are cleaner
            sd[seg] = float(np.sqrt(np.mean(np.square(base.sd[siblings].to_numpy(float)))))
            source = f"the shocks of its region {region} (the size and co-movement of {', '.join(siblings)})"
        elif region in region_sd.index:
            sd[seg], source = float(region_sd[region]), f"the shocks of its region {region}"
        else:
            sd[seg], source = pooled, f"the median shock size of the other {level.replace('_', '/')} segments"
        # it moves with the others as its region's products do (on average); with no sibling, on its own
        row = corr.loc[siblings, long].mean(axis=0) if siblings else pd.Series(0.0, index=long)
        if siblings:
            within = corr.loc[siblings, siblings].to_numpy()
            pair = within[~np.eye(len(siblings), dtype=bool)]
            row[siblings] = float(pair.mean()) if pair.size else 1.0
        corr.loc[seg, long] = row.to_numpy()
        corr.loc[long, seg] = row.to_numpy()
        notes.append(f"shocks of {seg}: {int(counts[seg])} of the {min_months} months of year-on-year history needed "
                     f"(first sold recently); it takes {source}")
    corr = corr.fillna(0.0)
    for seg in short:
        corr.loc[seg, short] = 0.0
        corr.loc[seg, seg] = 1.0
    fixed = _nearest_correlation(corr.to_numpy(dtype=float))
    return ShockModel(corr=pd.DataFrame(fixed, index=labels, columns=labels), sd=sd.rename("sd"),
                      persistence=base.persistence, residuals=residuals, notes=tuple(notes))


def _residuals(wide: pd.DataFrame, lag: int = 12) -> pd.DataFrame:
    """Year-on-year (``lag`` 12) or month-on-month (1) log residuals of the columns of ``wide``."""
    logged = np.log(wide.where(wide > 0))
    yoy = logged - logged.shift(lag)
    return (yoy - yoy.mean()).dropna(how="all").reindex(columns=list(wide.columns))


def _problem(level: str, segment: str, n: int, need: int):
    from planlib.core.errors import RowProblem

    return RowProblem(file="history", line=None, column=f"{level}:{segment}", value=n,
                      expected=f"at least {need} months of year-on-year residuals")


def estimate_shock_correlation(history: pd.DataFrame, level: str = "region_product") -> pd.DataFrame:
    """Return the correlation of historical residuals across segments (see :func:`estimate_shock_model`)."""
    return estimate_shock_model(history, level).corr


def estimate_rep_noise(history: pd.DataFrame, *, min_months: int = 12, floor: float = 0.05,
                       cap: float = 1.5) -> pd.Series:
    """Estimate each rep's idiosyncratic monthly noise (sd of a log) from their share of region sales.

    The residual is the log of the rep's monthly share of their region minus its
    13-month centred moving average (which follows ramp-up and territory changes),
    so what is left is the rep's own month-to-month luck, not the region's.

    Parameters
    ----------
    history : DataFrame
        The monthly panel with ``rep`` and ``region`` levels (``rep_id`` and ``region`` set on rep rows).
    min_months : int, default 12
        Reps with fewer positive months get the median of the others.
    floor, cap : float, default 0.05 and 1.5
        Bounds of the estimate (a rep with a handful of months can show almost any spread).

    Returns
    -------
    Series
        ``rep_sd`` by ``rep_id``.
    """
    reps = history[history["level"] == "rep"]
    regions = history[history["level"] == "region"][["region", "ds", "y"]].rename(columns={"y": "region_y"})
    if reps.empty or regions.empty:
        raise DataError("history needs rep and region levels to estimate rep noise")
    merged = reps[["rep_id", "region", "ds", "y"]].merge(regions, on=["region", "ds"], how="left")
    merged = merged[(merged["y"] > 0) & (merged["region_y"] > 0)].sort_values(["rep_id", "ds"])
    merged["log_share"] = np.log(merged["y"] / merged["region_y"])
    smooth = merged.groupby("rep_id")["log_share"].transform(
        lambda s: s.rolling(13, center=True, min_periods=6).mean())
    merged["resid"] = merged["log_share"] - smooth
    stats = merged.groupby("rep_id")["resid"].agg(["std", "count"])
    all_reps = pd.Index(sorted(reps["rep_id"].dropna().unique()), name="rep_id")
    stats = stats.reindex(all_reps)
    good = stats["count"] >= min_months
    fallback = float(stats.loc[good, "std"].median()) if good.any() else 0.3
    rep_sd = stats["std"].where(good, fallback).fillna(fallback).clip(floor, cap)
    return rep_sd.rename("rep_sd")


def _as_series(values, index: pd.Index, name: str) -> pd.Series:
    if isinstance(values, Mapping) and not isinstance(values, pd.Series):
        values = pd.Series(values)
    if np.isscalar(values):
        return pd.Series(float(values), index=index, name=name)
    series = pd.Series(values)
    missing = [r for r in index if r not in series.index]
    if missing:
        raise DataError(f"{name} is missing for {len(missing)} rep(s): {missing[:20]}")
    return series.reindex(index).astype(float)


def _mixing_matrix(reps: pd.Index, region_of: pd.Series, product_mix: pd.DataFrame | None,
                   segments: list[str]) -> np.ndarray:
    """Return W (reps x segments): the weight of each segment's shock in a rep's sales."""
    col = {s: i for i, s in enumerate(segments)}
    weights = np.zeros((len(reps), len(segments)))
    missing = []
    for i, rep in enumerate(reps):
        region = region_of[rep]
        if product_mix is None:
            parts = {segment_labels(region): 1.0}
        else:
            row = product_mix.loc[rep]
            total = float(row.sum())
            if not total > 0:
                raise DataError(f"product_mix of rep {rep} adds up to {total}, expected shares adding to 1")
            parts = {segment_labels(region, p): float(v) / total for p, v in row.items() if v > 0}
        for seg, w in parts.items():
            if seg not in col:
                missing.append(f"{rep}:{seg}")
                continue
            weights[i, col[seg]] += w
    if missing:
        raise DataError(f"the shock model has no segment for {len(missing)} rep/segment pair(s) "
                        f"(segments known: {segments}): {missing[:20]}")
    return weights


def simulate_rep_outcomes(expected: pd.DataFrame, *, region_of: Mapping[str, str] | pd.Series,
                          shocks: ShockModel, rep_sd: pd.Series | Mapping[str, float] | float,
                          n_sims: int, seed: int | np.random.Generator,
                          product_mix: pd.DataFrame | None = None) -> np.ndarray:
    """Simulate plan years of rep x month sales (see the module docstring for the model).

    Parameters
    ----------
    expected : DataFrame
        Expected sales, index ``rep_id``, one column per plan month (in order).
    region_of : mapping or Series
        ``rep_id`` -> region.
    shocks : ShockModel
        Segment correlation, sd and persistence (:func:`estimate_shock_model`). Its
        segments are regions when ``product_mix`` is None, else "region/product".
    rep_sd : Series, mapping or float
        Each rep's idiosyncratic monthly log noise sd (:func:`estimate_rep_noise`); 0 for none.
    n_sims : int
        Number of simulated plan years.
    seed : int or numpy Generator
        Seed of the one generator every draw comes from (the config ``seed``).
    product_mix : DataFrame, optional
        Index ``rep_id``, one column per product, each rep's share of sales by product.

    Returns
    -------
    ndarray of shape (n_sims, reps, months)
        Simulated sales, reps and months in the order of ``expected``.

    Raises
    ------
    DataError
        A rep without region, noise or product mix, or a segment the shock model does not know.
    """
    if n_sims < 1:
        raise ValueError(f"n_sims must be at least 1, got {n_sims}")
    reps = pd.Index(expected.index)
    region_of = pd.Series(dict(region_of)) if not isinstance(region_of, pd.Series) else region_of
    missing = [r for r in reps if r not in region_of.index]
    if missing:
        raise DataError(f"region_of has no region for {len(missing)} rep(s): {missing[:20]}")
    if product_mix is not None:
        absent = [r for r in reps if r not in product_mix.index]
        if absent:
            raise DataError(f"product_mix has no row for {len(absent)} rep(s): {absent[:20]}")
    noise_sd = _as_series(rep_sd, reps, "rep_sd").to_numpy()
    segments = list(shocks.corr.index)
    weights = _mixing_matrix(reps, region_of, product_mix, segments)
    used = weights.any(axis=0)  # only draw shocks for segments some rep sells in
    seg_sd = shocks.sd.reindex(segments).to_numpy(dtype=float)[used]
    corr = shocks.corr.to_numpy(dtype=float)[np.ix_(used, used)]
    weights = weights[:, used]
    vals, vecs = np.linalg.eigh((corr + corr.T) / 2)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))  # root @ root.T == corr, also when singular

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    exp_values = expected.to_numpy(dtype=float)
    n_months = exp_values.shape[1]
    phi = float(shocks.persistence)
    innov = np.sqrt(1.0 - phi * phi)

    eps = rng.standard_normal((n_months, n_sims, corr.shape[0]))
    z = np.empty_like(eps)
    z[0] = eps[0] @ root.T
    for m in range(1, n_months):
        z[m] = phi * z[m - 1] + innov * (eps[m] @ root.T)
    seg_factor = np.exp(z * seg_sd - seg_sd**2 / 2)  # (months, sims, segments), mean 1
    seg_factor = np.ascontiguousarray(np.transpose(seg_factor, (1, 2, 0)))  # (sims, segments, months)
    sales = np.empty((n_sims, len(reps), n_months))
    # A rep sells in a few segments (its region's products): reps are grouped by the segments they sell
    # in, and each group multiplies only those, not the zeros of every other region.
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, row in enumerate(weights):
        groups.setdefault(tuple(np.flatnonzero(row)), []).append(i)
    groups_ix = [(np.array(rows), np.array(cols, dtype=np.int64)) for cols, rows in groups.items()]
    # In blocks of simulations, so the temporaries stay small with thousands of reps; the noise is drawn
    # block after block from the one generator, which gives the same numbers as one draw of the whole.
    for part in sim_blocks(n_sims, len(reps) * n_months):
        block = np.empty((part.stop - part.start, len(reps), n_months))  # (sims, reps, months)
        for rows, cols in groups_ix:
            block[:, rows, :] = np.matmul(weights[np.ix_(rows, cols)], seg_factor[part][:, cols, :])
        noise = rng.standard_normal(block.shape)
        noise *= noise_sd[None, :, None]
        noise -= (noise_sd**2 / 2)[None, :, None]
        np.exp(noise, out=noise)
        block *= noise
        block *= exp_values[None, :, :]
        sales[part] = block
    return sales


def sim_blocks(n_sims: int, cells_per_sim: int, cells: int = BLOCK_CELLS) -> list[slice]:
    """Return slices of the simulations in blocks of about ``cells`` array cells each."""
    step = max(1, cells // max(1, cells_per_sim))
    return [slice(start, min(n_sims, start + step)) for start in range(0, n_sims, step)]


def summarize_attainment(company_total: np.ndarray, annual_target: float) -> pd.Series:
    """Summarise the distribution of simulated company revenue against the annual target.

    Parameters
    ----------
    company_total : ndarray (n_sims,)
        Simulated plan-year company revenue.
    annual_target : float

    Returns
    -------
    Series
        ``mean_revenue``, ``sd_revenue``, ``mean_attainment``, ``p_target`` (P(revenue >= target)),
        ``expected_shortfall`` (E[max(target - revenue, 0)], the gap averaged over all years),
        ``shortfall_if_missed`` (the average gap in the years that miss), ``cvar_10`` (mean
        revenue of the worst 10% of years), and attainment quantiles ``p05``, ``p10``, ``p25``,
        ``p50``, ``p75``, ``p90``, ``p95``.
    """
    total = np.asarray(company_total, dtype=float)
    if not annual_target > 0:
        raise ValueError(f"annual_target must be positive, got {annual_target}")
    attainment = total / annual_target
    gap = np.clip(annual_target - total, 0.0, None)
    missed = gap > 0
    worst = np.sort(total)[: max(1, int(np.floor(0.1 * total.size)))]
    out = {
        "mean_revenue": total.mean(),
        "sd_revenue": total.std(ddof=1) if total.size > 1 else 0.0,
        "mean_attainment": attainment.mean(),
        "p_target": float((total >= annual_target).mean()),
        "expected_shortfall": gap.mean(),
        "shortfall_if_missed": gap[missed].mean() if missed.any() else 0.0,
        "cvar_10": worst.mean(),
    }
    for q in (5, 10, 25, 50, 75, 90, 95):
        out[f"p{q:02d}"] = float(np.quantile(attainment, q / 100))
    return pd.Series(out, dtype=float)
