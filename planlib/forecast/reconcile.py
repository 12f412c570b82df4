"""Coherent hierarchies: the summing matrix and bottom-up, top-down and MinT reconciliation.

Forecasts for a company, its regions, products and region x product cells are made to add up
exactly, and the error covariance is carried through the same projection so that the intervals
of the totals account for how the parts move together.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from planlib.core.errors import ForecastError

__all__ = [
    "ATTRIBUTES", "METHODS", "hierarchy_from_panel", "projection", "reconcile", "shrink_correlation",
    "summing_matrix",
]

METHODS = ("bottom_up", "top_down", "mint")
ATTRIBUTES = ("region", "team", "rep_id", "product")


def hierarchy_from_panel(panel: pd.DataFrame, *, id_col: str = "unique_id",
                         attributes: tuple[str, ...] = ATTRIBUTES) -> pd.DataFrame:
    """Return which bottom series each series of a panel adds up.

    A series contains the series whose attributes (region, product, ...) agree with all of its
    own non-missing attributes; the bottom series are those containing only themselves.

    Parameters
    ----------
    panel : DataFrame
        Rows with ``id_col`` and any of ``attributes`` (None/NaN where not applicable),
        e.g. the ``history`` stage filtered to company, region, product and region_product.
    id_col : str, default "unique_id"
    attributes : tuple of str
        The hierarchy columns.

    Returns
    -------
    DataFrame
        Columns unique_id, bottom_id: one row per (series, bottom series it contains).
    """
    cols = [c for c in attributes if c in panel.columns]
    nodes = panel[[id_col, *cols]].drop_duplicates(id_col).set_index(id_col).sort_index()
    keys = {uid: {c: v for c, v in row.items() if pd.notna(v)} for uid, row in nodes.iterrows()}

    def contains(parent: dict, child: dict) -> bool:
        return all(child.get(c) == v for c, v in parent.items())

    bottoms = [u for u, k in keys.items() if not any(o != u and contains(k, keys[o]) and len(keys[o]) > len(k)
                                                     for o in keys)]
    rows = [(u, b) for u, k in keys.items() for b in bottoms if contains(k, keys[b])]
    return pd.DataFrame(rows, columns=["unique_id", "bottom_id"])


def summing_matrix(hierarchy: pd.DataFrame) -> pd.DataFrame:
    """Return the summing matrix S (series x bottom series, 0/1) of a hierarchy table.

    Parameters
    ----------
    hierarchy : DataFrame
        Columns unique_id, bottom_id (as from :func:`hierarchy_from_panel`).

    Returns
    -------
    DataFrame
        Index unique_id (sorted), columns the bottom ids (sorted), 1 where the series contains the bottom.

    Raises
    ------
    ForecastError
        If a bottom series is not listed as containing itself.
    """
    s = pd.crosstab(hierarchy["unique_id"], hierarchy["bottom_id"]).clip(upper=1).astype(float)
    s = s.sort_index().sort_index(axis=1)
    missing = [b for b in s.columns if b not in s.index or s.loc[b].sum() != 1 or s.loc[b, b] != 1]
    if missing:
        raise ForecastError(f"hierarchy: bottom series {missing} must each be listed as containing only itself")
    return s


def _top_down_tree(s: np.ndarray) -> list[list[int]] | None:
    """For each bottom series, the chain of row indices from the top to that bottom (largest first)."""
    n_all, n_bottom = s.shape
    sizes = s.sum(axis=1)
    tops = np.flatnonzero(sizes == n_bottom)
    if len(tops) == 0:
        return None
    chains = []
    for b in range(n_bottom):
        chain, current = [int(tops[0])], s[tops[0]]
        while sizes[chain[-1]] > 1:
            inside = [r for r in range(n_all) if s[r, b] == 1 and sizes[r] < sizes[chain[-1]]
                      and np.all(s[r] <= current)]
            nxt = min(inside, key=lambda r: (-sizes[r], r))
            chain.append(nxt)
            current = s[nxt]
        chains.append(chain)
    return chains


def projection(s: np.ndarray, method: str, base: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Return P (bottom x series) so that ``s @ P @ base`` is the reconciled forecast of one step.

    Parameters
    ----------
    s : ndarray (n_series, n_bottom)
    method : {"bottom_up", "top_down", "mint"}
        top_down splits the top series by forecast proportions down its tree; mint is the
        minimum-trace projection with the error covariance ``cov``.
    base : ndarray (n_series,)
        Base forecasts (used by top_down's proportions).
    cov : ndarray (n_series, n_series)
        Base forecast error covariance (used by mint).
    """
    n_all, n_bottom = s.shape
    if method == "bottom_up":
        p = np.zeros((n_bottom, n_all))
        for b in range(n_bottom):
            p[b, int(np.flatnonzero((s[:, b] == 1) & (s.sum(axis=1) == 1))[0])] = 1.0
        return p
    if method == "top_down":
        chains = _top_down_tree(s)
        if chains is None:
            raise ForecastError("top_down reconciliation needs a series that contains all others (a total)")
        children: dict[int, set[int]] = {}
        for chain in chains:
            for parent, child in zip(chain, chain[1:]):
                children.setdefault(parent, set()).add(child)
        positive = np.clip(base, 0, None)
        p = np.zeros((n_bottom, n_all))
        for b, chain in enumerate(chains):
            share = 1.0
            for parent, child in zip(chain, chain[1:]):
                kids = sorted(children[parent])
                total = positive[kids].sum()
                # No positive forecast below this parent: split it evenly rather than not at all.
                share *= positive[child] / total if total > 0 else 1.0 / len(kids)
            p[b, chain[0]] = share
        return p
    if method == "mint":
        w = np.asarray(cov, dtype=float)
        ridge = 1e-9 * max(float(np.trace(w)) / n_all, 1e-12)
        w_inv = np.linalg.pinv(w + ridge * np.eye(n_all), hermitian=True)
        return np.linalg.solve(s.T @ w_inv @ s, s.T @ w_inv)
    raise ForecastError(f"reconciliation must be one of {METHODS}, got {method!r}")


def shrink_correlation(z: np.ndarray) -> np.ndarray:
    """Return a correlation matrix of the columns of ``z`` shrunk toward the identity.

    Uses the Schafer-Strimmer intensity, so a few backtest windows for many series still give a
    well-conditioned matrix. Columns with no spread get zero correlation with the others.
    """
    z = np.asarray(z, dtype=float)
    n, k = z.shape
    sd = np.sqrt(np.mean(z ** 2, axis=0))
    ok = sd > 0
    x = np.zeros_like(z)
    x[:, ok] = z[:, ok] / sd[ok]
    r = (x.T @ x) / max(n, 1)
    if n < 2:
        return np.eye(k)
    w = np.einsum("ti,tj->tij", x, x)
    var_r = w.var(axis=0, ddof=1) * n / (n - 1) ** 2
    off = ~np.eye(k, dtype=bool)
    denom = float(np.sum(r[off] ** 2))
    lam = 1.0 if denom == 0 else float(np.clip(np.sum(var_r[off]) / denom, 0, 1))
    out = (1 - lam) * r
    np.fill_diagonal(out, 1.0)
    out[~ok, :] = 0
    out[:, ~ok] = 0
    np.fill_diagonal(out, 1.0)
    return out


def reconcile(base: np.ndarray, sd: np.ndarray, corr: np.ndarray, s: np.ndarray,
              method: str) -> tuple[np.ndarray, np.ndarray]:
    """Reconcile forecasts and their standard deviations step by step.

    Parameters
    ----------
    base : ndarray (n_series, h)
        Base forecasts, rows in the order of the rows of ``s``.
    sd : ndarray (n_series, h)
        Standard deviation of each base forecast's error.
    corr : ndarray (n_series, n_series)
        Correlation of the base errors across series.
    s : ndarray (n_series, n_bottom)
        Summing matrix.
    method : {"bottom_up", "top_down", "mint"}

    Returns
    -------
    (bottom, sd_reconciled)
        bottom : ndarray (n_bottom, h), the reconciled bottom forecasts (``s @ bottom`` is coherent);
        sd_reconciled : ndarray (n_series, h), the standard deviation of each reconciled series.
    """
    n_all, h = base.shape
    bottom = np.zeros((s.shape[1], h))
    sd_out = np.zeros((n_all, h))
    for j in range(h):
        cov = corr * np.outer(sd[:, j], sd[:, j])
        p = projection(s, method, base[:, j], cov)
        bottom[:, j] = p @ base[:, j]
        sp = s @ p
        sd_out[:, j] = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", sp, cov, sp), 0, None))
    return bottom, sd_out
