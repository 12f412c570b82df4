"""The risk review: the register, scenarios, Monte Carlo attainment, sensitivity, concentration.

Pure functions on tables; the plan stages at the bottom wire them to the data, the
forecast, the targets and the incentive plan. The simulation model is :mod:`planlib.simulate`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import ConfigError, DataError, RowProblem
from .simulate import (ShockModel, apply_risk_events, draw_risk_events, estimate_rep_noise, estimate_shock_model,
                       simulate_rep_outcomes, summarize_attainment)

__all__ = [
    "DRIVER_KINDS",
    "MonteCarloResult",
    "PlanYear",
    "assumption_moves",
    "concentration_flags",
    "mitigation_table",
    "build_plan_year",
    "calibrate_shock_scale",
    "concentration",
    "driver_exposure",
    "headlines",
    "heat_map",
    "parse_impact",
    "pipeline_coverage",
    "quantify_register",
    "run_monte_carlo",
    "scenarios",
    "sensitivity",
    "validate_register",
    "what_if",
]

REGISTER_FIELDS = ("risk_id", "title", "category", "likelihood", "impact", "driver", "owner", "mitigation", "status")
DRIVER_KINDS = ("region", "product", "customer", "team", "rep")


# --------------------------------------------------------------------------- the register
def parse_impact(value: object) -> tuple[str, float] | None:
    """Read an impact: ``"8%"`` -> ("share", 0.08), ``"3000000"`` or 3e6 -> ("amount", 3e6); None if invalid."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip().replace(",", "").replace("，", "")
    try:
        if text.endswith("%"):
            pct = float(text[:-1])
            return ("share", pct / 100) if 0 < pct <= 100 else None
        amount = float(text)
    except ValueError:
        return None
    return ("amount", amount) if amount > 0 and np.isfinite(amount) else None


def _parse_likelihood(value: object) -> float | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    try:
        p = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        return None
    return p if 0 <= p <= 1 else None


def _parse_driver(value: object, drivers: Mapping[str, Iterable[str]]) -> tuple[str, str] | str:
    """Return (kind, key) or the expectation text when the driver is not valid."""
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value).strip()
    if text.lower() == "company":
        return ("company", "company")
    kind, sep, key = text.partition(":")
    kind, key = kind.strip().lower(), key.strip()
    if not sep or kind not in DRIVER_KINDS or not key:
        return f"'company' or one of {', '.join(k + ':<name>' for k in DRIVER_KINDS)}"
    known = set(drivers.get(kind, ()))
    if key not in known:
        examples = ", ".join(sorted(known)[:5]) or "none in the data"
        return f"a {kind} that exists in the data (e.g. {examples})"
    return (kind, key)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == ""


def validate_register(table: pd.DataFrame, *, drivers: Mapping[str, Iterable[str]],
                      statuses: Iterable[str] = ("open", "monitoring", "mitigating", "accepted", "closed"),
                      source: str = "risks.csv", lines: Iterable[int] | None = None,
                      config_path: str | None = None) -> pd.DataFrame:
    """Check every field of a risk register and return it parsed.

    Parameters
    ----------
    table : DataFrame
        risk_id, title, category, likelihood (0-1, or "35%"), impact (an amount, or "8%" of
        the driver), driver ("company", "region:East", "product:Instruments",
        "customer:C00042", "team:East-1", "rep:R001"), owner, mitigation, status.
    drivers : mapping
        Kind -> the names that exist (regions, products, customers, teams, reps).
    statuses : iterable of str
        The allowed statuses (compared in lower case).
    source : str, default "risks.csv"
        Named in error messages.
    lines : iterable of int, optional
        The file line of each row; default: row position + 2 (a header line, then rows).
    config_path : str, optional
        When the risks come from the config (e.g. "risk.register"), problems raise
        ConfigError with key paths ``risk.register[2].likelihood`` instead of DataError.

    Returns
    -------
    DataFrame
        The fields above (likelihood as float, status lower case) plus impact_kind
        ("share" or "amount"), impact_value (the share as a fraction, or the amount),
        driver_kind, driver_key and source.

    Raises
    ------
    DataError or ConfigError
        Every problem at once, each naming the risk id, the field, the value found and
        what was expected.
    """
    allowed = [s.lower() for s in statuses]
    rows = table.reset_index(drop=True)
    line_of = list(lines) if lines is not None else [i + 2 for i in range(len(rows))]
    problems: list[tuple[int, str, str, object, str]] = []  # row, risk id, field, value, expected
    missing = [c for c in REGISTER_FIELDS if c not in rows.columns]
    for col in missing:
        problems.append((-1, "(all)", col, None, "the column to be present"))
    if config_path is not None:
        for i, row in rows.iterrows():
            for col in sorted(set(rows.columns) - set(REGISTER_FIELDS)):
                if not _blank(row[col]):
                    problems.append((i, str(row.get("risk_id", "?")), col, row[col],
                                     f"no such field; fields are {', '.join(REGISTER_FIELDS)}"))
    parsed = []
    seen: dict[str, int] = {}
    for i, row in rows.iterrows():
        get = (lambda c: row[c] if c in rows.columns else None)
        rid = "" if _blank(get("risk_id")) else str(get("risk_id")).strip()
        shown = rid or f"(row {i + 1})"
        if not missing:
            if not rid:
                problems.append((i, shown, "risk_id", get("risk_id"), "a risk id"))
            elif rid in seen:
                problems.append((i, shown, "risk_id", rid, f"a unique risk id (also on line {line_of[seen[rid]]})"))
            else:
                seen[rid] = i
            for col in ("title", "category", "owner", "mitigation"):
                if _blank(get(col)):
                    problems.append((i, shown, col, get(col), f"a {col}; every risk needs one"))
        likelihood = _parse_likelihood(get("likelihood"))
        if likelihood is None and "likelihood" not in missing:
            problems.append((i, shown, "likelihood", get("likelihood"),
                             "a probability between 0 and 1 (write 35% as 0.35 or '35%')"))
        impact = parse_impact(get("impact"))
        if impact is None and "impact" not in missing:
            problems.append((i, shown, "impact", get("impact"),
                             "a positive amount (3000000) or a share of the driver ('8%', above 0 up to 100%)"))
        driver = _parse_driver(get("driver"), drivers)
        if isinstance(driver, str) and "driver" not in missing:
            problems.append((i, shown, "driver", get("driver"), driver))
        status = "" if _blank(get("status")) else str(get("status")).strip().lower()
        if status not in allowed and "status" not in missing:
            problems.append((i, shown, "status", get("status"), f"one of {', '.join(allowed)}"))
        if not missing:
            parsed.append({
                "risk_id": rid, "title": str(get("title")).strip(), "category": str(get("category")).strip(),
                "likelihood": likelihood, "impact": str(get("impact")).strip(),
                "impact_kind": impact[0] if impact else None, "impact_value": impact[1] if impact else None,
                "driver": str(get("driver")).strip(),
                "driver_kind": driver[0] if isinstance(driver, tuple) else None,
                "driver_key": driver[1] if isinstance(driver, tuple) else None,
                "owner": str(get("owner")).strip(), "mitigation": str(get("mitigation")).strip(),
                "status": status, "source": source,
            })
    if problems:
        if config_path is not None:
            raise ConfigError([(f"{config_path}[{i}].{col}" if i >= 0 else f"{config_path}.{col}",
                                f"risk {rid}: found {value!r}, expected {expected}")
                               for i, rid, col, value, expected in problems], source)
        raise DataError(f"{source}: {len(problems)} problem(s) in the risk register",
                        [RowProblem(source, line_of[i] if i >= 0 else None, col, value, f"{expected} (risk {rid})")
                         for i, rid, col, value, expected in problems])
    columns = [*REGISTER_FIELDS, "impact_kind", "impact_value", "driver_kind", "driver_key", "source"]
    out = pd.DataFrame(parsed, columns=columns)
    return out.astype({"likelihood": float, "impact_value": float})


def driver_exposure(register: pd.DataFrame, *, reps: pd.DataFrame, product_mix: pd.DataFrame,
                    customer_mix: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the part of each rep's sales that each risk's driver covers.

    Parameters
    ----------
    register : DataFrame
        From :func:`validate_register` (risk_id, driver_kind, driver_key).
    reps : DataFrame
        Index rep_id, columns region and team: the reps of the plan, in plan order.
    product_mix : DataFrame
        Index rep_id, one column per product: each rep's share of sales by product.
    customer_mix : DataFrame, optional
        Index rep_id, one column per customer named by a risk: the customer's share of
        the rep's sales. Needed if a risk has a customer driver.

    Returns
    -------
    DataFrame
        Index risk_id, columns rep_id, values in [0, 1].
    """
    out = pd.DataFrame(0.0, index=pd.Index(register["risk_id"], name="risk_id"), columns=reps.index)
    for rid, kind, key in register[["risk_id", "driver_kind", "driver_key"]].itertuples(index=False):
        if kind == "company":
            row = np.ones(len(reps))
        elif kind in ("region", "team"):
            row = (reps[kind] == key).to_numpy(dtype=float)
        elif kind == "rep":
            row = (reps.index == key).astype(float)
        elif kind == "product":
            row = product_mix.reindex(reps.index)[key].fillna(0.0).to_numpy() if key in product_mix else 0.0
        else:
            has = customer_mix is not None and key in customer_mix.columns
            row = customer_mix.reindex(reps.index)[key].fillna(0.0).to_numpy() if has else 0.0
        out.loc[rid] = row
    return out


def _band_labels(edges: list[float], prefix: str, fmt: str) -> list[str]:
    labels = [f"{prefix}1 <{format(edges[0], fmt)}"]
    labels += [f"{prefix}{i + 2} {format(a, fmt)}-{format(b, fmt)}" for i, (a, b) in enumerate(zip(edges, edges[1:]))]
    labels.append(f"{prefix}{len(edges) + 1} ≥{format(edges[-1], fmt)}")
    return labels


def quantify_register(register: pd.DataFrame, exposure: pd.DataFrame, expected_by_rep: pd.Series, *,
                      annual_target: float, likelihood_bands: list[float] = (0.1, 0.3, 0.5, 0.7),
                      impact_bands: list[float] = (0.005, 0.01, 0.02, 0.05),
                      closed_statuses: Iterable[str] = ("closed",)) -> pd.DataFrame:
    """Put an amount on every risk and place it on the heat map.

    Parameters
    ----------
    register : DataFrame
        From :func:`validate_register`.
    exposure : DataFrame
        From :func:`driver_exposure` (risk_id x rep_id).
    expected_by_rep : Series
        Expected plan-year sales by rep_id.
    annual_target : float
    likelihood_bands, impact_bands : list of float
        Upper band edges: likelihood as a probability, impact as a share of annual_target.
    closed_statuses : iterable of str
        Risks with these statuses get ``simulated`` False.

    Returns
    -------
    DataFrame
        The register plus driver_revenue (expected plan-year sales of the driver),
        impact_amount, expected_loss (likelihood x impact_amount), impact_share (of the
        annual target), likelihood_band, impact_band (labels), likelihood_level and
        impact_level (1 = lowest), score (their product), simulated; sorted by expected_loss.
    """
    out = register.copy()
    base = exposure.reindex(columns=expected_by_rep.index).to_numpy() @ expected_by_rep.to_numpy(dtype=float)
    out["driver_revenue"] = base
    out["impact_amount"] = np.where(out["impact_kind"] == "share", out["impact_value"] * base, out["impact_value"])
    out["expected_loss"] = out["likelihood"] * out["impact_amount"]
    out["impact_share"] = out["impact_amount"] / annual_target
    lb, ib = list(likelihood_bands), list(impact_bands)
    out["likelihood_level"] = np.searchsorted(lb, out["likelihood"].to_numpy(), side="right") + 1
    out["impact_level"] = np.searchsorted(ib, out["impact_share"].to_numpy(), side="right") + 1
    out["likelihood_band"] = np.array(_band_labels(lb, "L", ".0%"))[out["likelihood_level"] - 1]
    out["impact_band"] = np.array(_band_labels(ib, "I", ".1%"))[out["impact_level"] - 1]
    out["score"] = out["likelihood_level"] * out["impact_level"]
    out["simulated"] = ~out["status"].isin([s.lower() for s in closed_statuses])
    return out.sort_values(["expected_loss", "risk_id"], ascending=[False, True], ignore_index=True)


def heat_map(quantified: pd.DataFrame, likelihood_bands: list[float] = (0.1, 0.3, 0.5, 0.7),
             impact_bands: list[float] = (0.005, 0.01, 0.02, 0.05)) -> pd.DataFrame:
    """Count the risks in each likelihood x impact cell of the heat map (every cell listed).

    Returns
    -------
    DataFrame
        likelihood_band, impact_band, likelihood_level, impact_level, score, risks (count),
        risk_ids (comma-separated), expected_loss (sum).
    """
    lb, ib = _band_labels(list(likelihood_bands), "L", ".0%"), _band_labels(list(impact_bands), "I", ".1%")
    grid = pd.DataFrame([(li + 1, ii + 1, l, i) for li, l in enumerate(lb) for ii, i in enumerate(ib)],
                        columns=["likelihood_level", "impact_level", "likelihood_band", "impact_band"])
    agg = quantified.groupby(["likelihood_level", "impact_level"]).agg(
        risks=("risk_id", "size"), risk_ids=("risk_id", lambda s: ", ".join(sorted(s))),
        expected_loss=("expected_loss", "sum")).reset_index()
    out = grid.merge(agg, on=["likelihood_level", "impact_level"], how="left")
    out["risks"] = out["risks"].fillna(0).astype(int)
    out["risk_ids"] = out["risk_ids"].fillna("")
    out["expected_loss"] = out["expected_loss"].fillna(0.0)
    out["score"] = out["likelihood_level"] * out["impact_level"]
    return out[["likelihood_band", "impact_band", "likelihood_level", "impact_level", "score", "risks", "risk_ids",
                "expected_loss"]]


# --------------------------------------------------------------------------- the plan year
@dataclass
class PlanYear:
    """What each rep is expected to sell in each plan month, and who they are.

    Attributes
    ----------
    months : DatetimeIndex
        The plan months.
    expected : DataFrame
        Index rep_id, one column per month: expected sales (the forecast split over reps).
    reps : DataFrame
        Index rep_id: region, team, hire_date.
    product_mix : DataFrame
        Index rep_id, one column per product: share of the rep's expected sales.
    customer_share : DataFrame
        Index rep_id, one column per customer of the trailing window: share of the rep's sales.
    notes : list of str
        Forecast that no rep could carry, and other soft problems.
    """

    months: pd.DatetimeIndex
    expected: pd.DataFrame
    reps: pd.DataFrame
    product_mix: pd.DataFrame
    customer_share: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _trailing(sales: pd.DataFrame, as_of, months: int) -> pd.DataFrame:
    end = pd.Timestamp(as_of).to_period("M").to_timestamp()  # first day of the as_of month: excluded
    start = end - pd.DateOffset(months=months)
    return sales[(sales["date"] >= start) & (sales["date"] < end)]


def build_plan_year(forecast_rp: pd.DataFrame, sales: pd.DataFrame, reps: pd.DataFrame, months: pd.DatetimeIndex,
                    *, as_of, rep_targets: pd.DataFrame | None = None, window_months: int = 12) -> PlanYear:
    """Split the region x product forecast of the plan year over the reps who will be there.

    A rep's part of a region x product is their share of it in the trailing
    ``window_months`` of deals; with rep targets, that share is tilted month by month
    towards the targets (so ramping hires and planned changes count).

    Parameters
    ----------
    forecast_rp : DataFrame
        region, product, ds (month start), yhat for the plan months.
    sales : DataFrame
        Deals: date, amount, rep_id, customer_id, product.
    reps : DataFrame
        The roster: rep_id, region, team, hire_date, exit_date.
    months : DatetimeIndex
        The plan months.
    as_of : date
        Deals before the month of as_of are the trailing window.
    rep_targets : DataFrame, optional
        rep_id, month, target.
    window_months : int, default 12

    Returns
    -------
    PlanYear
    """
    months = pd.DatetimeIndex(months)
    roster = reps.copy()
    exit_date = pd.to_datetime(roster["exit_date"]) if "exit_date" in roster else pd.Series(pd.NaT, index=roster.index)
    hire = pd.to_datetime(roster["hire_date"]) if "hire_date" in roster else pd.Series(pd.NaT, index=roster.index)
    stays = (exit_date.isna() | (exit_date >= months[0])) & (hire.isna() | (hire <= months[-1] + pd.offsets.MonthEnd()))
    roster = roster[stays.to_numpy()].assign(hire_date=hire[stays.to_numpy()]).set_index("rep_id").sort_index()
    recent = _trailing(sales, as_of, window_months)
    recent = recent[recent["rep_id"].isin(roster.index)]
    rep_product = recent.groupby(["rep_id", "product"])["amount"].sum().clip(lower=0).unstack(fill_value=0.0)
    products = sorted(set(forecast_rp["product"]))
    rep_product = rep_product.reindex(index=roster.index, columns=products, fill_value=0.0)
    region_of = roster["region"]
    target_w = None
    if rep_targets is not None and len(rep_targets):
        target_w = (rep_targets.pivot_table(index="rep_id", columns="month", values="target", aggfunc="sum")
                    .reindex(index=roster.index, columns=months).fillna(0.0).clip(lower=0))
    fc = forecast_rp.pivot_table(index=["region", "product"], columns="ds", values="yhat", aggfunc="sum")
    fc = fc.reindex(columns=months).fillna(0.0)
    expected = pd.DataFrame(0.0, index=roster.index, columns=months)
    by_product = {p: pd.DataFrame(0.0, index=roster.index, columns=months) for p in products}
    notes = []
    for (region, product), row in fc.iterrows():
        members = region_of.index[region_of == region]
        if len(members) == 0:
            notes.append(f"no rep in {region}: its {product} forecast ({row.sum():,.0f}) is left out of the simulation")
            continue
        share = rep_product.loc[members, product]
        if share.sum() <= 0:  # nobody sold it lately: the region's overall shares
            share = rep_product.loc[members].sum(axis=1)
        if share.sum() <= 0:
            share = pd.Series(1.0, index=members)
        weight = np.outer(share.to_numpy(), np.ones(len(months)))
        if target_w is not None:
            tilt = target_w.loc[members].to_numpy() * weight
            has = tilt.sum(axis=0) > 0
            weight[:, has] = tilt[:, has]
        weight = weight / weight.sum(axis=0, keepdims=True)
        part = weight * row.to_numpy()[None, :]
        expected.loc[members] += part
        by_product[product].loc[members] += part
    annual = expected.sum(axis=1)
    mix = pd.DataFrame({p: by_product[p].sum(axis=1) for p in products})
    region_mix = mix.groupby(region_of).sum()
    region_mix = region_mix.div(region_mix.sum(axis=1).where(lambda s: s > 0, 1.0), axis=0)
    mix = mix.div(annual.where(annual > 0, 1.0), axis=0)
    idle = annual <= 0
    if idle.any():
        mix.loc[idle] = region_mix.reindex(region_of[idle]).to_numpy()
    rep_total = recent.groupby("rep_id")["amount"].sum()
    cust = recent.groupby(["rep_id", "customer_id"])["amount"].sum().clip(lower=0).unstack(fill_value=0.0)
    cust = cust.reindex(index=roster.index, fill_value=0.0)
    customer_share = cust.div(rep_total.reindex(roster.index).where(lambda s: s > 0, np.inf), axis=0).fillna(0.0)
    cols = [c for c in ("region", "team", "hire_date") if c in roster.columns]
    return PlanYear(months, expected, roster[cols], mix, customer_share, notes)


# --------------------------------------------------------------------------- Monte Carlo
@dataclass
class MonteCarloResult:
    """Simulated plan years after the risks.

    Attributes
    ----------
    months, rep_ids : index
    region_of : Series  rep_id -> region
    risk_ids : list of str  the simulated risks
    rep_sales : ndarray (n_sims, reps, months), float32  sales after the risks
    company_total : ndarray (n_sims,)
    loss : ndarray (n_sims, risks)  each risk's loss (0 where it did not happen)
    annual_target : float
    summary : Series  see :func:`planlib.simulate.summarize_attainment`
    shock_scale : float  the factor on historical shock sizes (forecast calibration)
    seed : int
    rep_targets : ndarray (reps, months) or None  the rep targets in rep order, for the incentive cost
    hits : ndarray of bool (n_sims, risks) or None  which risks happened in each simulated year
    """

    months: pd.DatetimeIndex
    rep_ids: pd.Index
    region_of: pd.Series
    risk_ids: list
    rep_sales: np.ndarray
    company_total: np.ndarray
    loss: np.ndarray
    annual_target: float
    summary: pd.Series
    shock_scale: float = 1.0
    seed: int = 0
    rep_targets: np.ndarray | None = None
    hits: np.ndarray | None = None

    @property
    def attainment(self) -> np.ndarray:
        """Company attainment of each simulated year."""
        return self.company_total / self.annual_target

    def region_totals(self) -> pd.DataFrame:
        """Return simulated plan-year revenue by region (one row per simulation)."""
        annual = self.rep_sales.sum(axis=2, dtype=np.float64)
        regions = self.region_of.reindex(self.rep_ids).to_numpy()
        return pd.DataFrame(annual, columns=self.rep_ids).T.groupby(regions).sum().T

    def histogram(self, width: float = 0.02) -> pd.DataFrame:
        """Return bin_start, bin_end, share (of simulated years) and met (bin at or above 100%) of attainment."""
        att = self.attainment
        lo = np.floor(np.quantile(att, 0.001) / width) * width
        hi = np.ceil(np.quantile(att, 0.999) / width) * width
        edges = np.arange(round((hi - lo) / width) + 1) * width + lo
        counts, _ = np.histogram(np.clip(att, lo, hi), bins=edges)
        return pd.DataFrame({"bin_start": edges[:-1], "bin_end": edges[1:], "share": counts / att.size,
                             "met": edges[:-1] >= 1.0 - 1e-9})

    def risk_losses(self) -> pd.DataFrame:
        """Return risk_id, hit_rate, mean_loss (over all years), mean_loss_if_hit, p95_loss."""
        hit = self.hits if self.hits is not None else self.loss > 0
        with np.errstate(invalid="ignore"):
            if_hit = np.where(hit.any(axis=0), (self.loss * hit).sum(axis=0) / hit.sum(axis=0), 0.0)
        return pd.DataFrame({"risk_id": self.risk_ids, "hit_rate": hit.mean(axis=0),
                             "mean_loss": self.loss.mean(axis=0),
                             "mean_loss_if_hit": if_hit, "p95_loss": np.quantile(self.loss, 0.95, axis=0)})


def _event_arrays(register: pd.DataFrame, exposure: pd.DataFrame, rep_ids: pd.Index):
    live = register[register["simulated"]] if "simulated" in register else register
    expo = exposure.reindex(index=live["risk_id"], columns=rep_ids).fillna(0.0).to_numpy()
    share = np.where(live["impact_kind"] == "share", live["impact_value"], 0.0)
    amount = np.where(live["impact_kind"] == "amount", live["impact_value"], 0.0)
    return list(live["risk_id"]), live["likelihood"].to_numpy(dtype=float), expo, share, amount


def run_monte_carlo(expected: pd.DataFrame, *, region_of: pd.Series, shocks: ShockModel, rep_sd,
                    register: pd.DataFrame, exposure: pd.DataFrame, annual_target: float, n_sims: int, seed: int,
                    product_mix: pd.DataFrame | None = None, shock_scale: float = 1.0) -> MonteCarloResult:
    """Simulate plan years with correlated shocks, rep noise and the register's risks as random events.

    Parameters
    ----------
    expected : DataFrame
        Index rep_id, one column per plan month.
    region_of, shocks, rep_sd, product_mix
        As :func:`planlib.simulate.simulate_rep_outcomes`.
    register : DataFrame
        From :func:`quantify_register` (risks with ``simulated`` False are left out).
    exposure : DataFrame
        From :func:`driver_exposure`.
    annual_target : float
    n_sims : int
    seed : int
        One generator: rep outcomes first, then the risk draws.
    shock_scale : float, default 1.0
        Multiplies every segment's shock sd (see :func:`calibrate_shock_scale`).

    Returns
    -------
    MonteCarloResult
    """
    rng = np.random.default_rng(seed)
    sales = simulate_rep_outcomes(expected, region_of=region_of, shocks=shocks.scaled(shock_scale), rep_sd=rep_sd,
                                  n_sims=n_sims, seed=rng, product_mix=product_mix)
    risk_ids, likelihood, expo, share, amount = _event_arrays(register, exposure, expected.index)
    hits = draw_risk_events(n_sims, likelihood, rng)
    sales, loss = apply_risk_events(sales, hits, exposure=expo, share=share, amount=amount,
                                    expected=expected.to_numpy(dtype=float))
    total = sales.sum(axis=(1, 2))
    return MonteCarloResult(pd.DatetimeIndex(expected.columns), expected.index, region_of, risk_ids,
                            sales.astype(np.float32), total, loss, float(annual_target),
                            summarize_attainment(total, annual_target), float(shock_scale), int(seed), hits=hits)


def calibrate_shock_scale(expected: pd.DataFrame, *, region_of: pd.Series, shocks: ShockModel, rep_sd,
                          target_sd: float, seed: int, product_mix: pd.DataFrame | None = None,
                          n_pilot: int = 2000, iterations: int = 3) -> float:
    """Find the factor on segment shock sizes that gives the company total the spread ``target_sd``.

    The historical residuals say how segments move together; the forecast's interval
    says how far the plan-year total may land from its mean. Scaling the first to
    match the second keeps the Monte Carlo and the forecast telling one story.

    Returns
    -------
    float
        The factor, between 0.05 and 20.
    """
    scale = 1.0
    for _ in range(iterations):
        sims = simulate_rep_outcomes(expected, region_of=region_of, shocks=shocks.scaled(scale), rep_sd=rep_sd,
                                     n_sims=n_pilot, seed=seed, product_mix=product_mix)
        sd = sims.sum(axis=(1, 2)).std(ddof=1)
        if not sd > 0:
            break
        scale = float(np.clip(scale * target_sd / sd, 0.05, 20.0))
    return scale


# --------------------------------------------------------------------------- scenarios
def scenarios(quantified: pd.DataFrame, forecast_total, *, annual_target: float,
              settings: Mapping[str, tuple[float, str]], likely_threshold: float = 0.3,
              expected: pd.DataFrame | None = None,
              payout: Callable[[np.ndarray], float] | None = None) -> pd.DataFrame:
    """Return downside, base and upside: a forecast quantile less the register's losses under a rule.

    Parameters
    ----------
    quantified : DataFrame
        From :func:`quantify_register` (only ``simulated`` risks count).
    forecast_total : scipy frozen distribution
        Of the plan-year company total (``ForecastResult.total_distribution``), with ``ppf``.
    annual_target : float
    settings : mapping
        Scenario name -> (forecast quantile, risk rule): "none" (no risk hits), "expected"
        (every risk at likelihood x impact) or "likely" (risks at or above
        ``likely_threshold`` hit in full, the others at expected).
    likely_threshold : float, default 0.3
    expected : DataFrame, optional
        Rep x month expected sales: scaled to each scenario's revenue for ``payout``.
    payout : callable, optional
        ``payout(sales)`` with sales of shape (1, reps, months) -> the total incentive
        payout (:mod:`planlib.incentives`). Without it payout and cost_of_sales are NaN.

    Returns
    -------
    DataFrame
        scenario, forecast_quantile, risk_rule, forecast_revenue, risk_loss, revenue,
        attainment, payout, cost_of_sales (payout / revenue).
    """
    live = quantified[quantified["simulated"]] if "simulated" in quantified else quantified
    rows = []
    for name, (quantile, rule) in settings.items():
        if rule == "none":
            loss = 0.0
        elif rule == "expected":
            loss = float(live["expected_loss"].sum())
        elif rule == "likely":
            sure = live["likelihood"] >= likely_threshold
            loss = float(live.loc[sure, "impact_amount"].sum() + live.loc[~sure, "expected_loss"].sum())
        else:
            raise ConfigError([(f"risk.scenarios.{name}.risks", f"found {rule!r}, expected none, expected or likely")])
        fc = float(forecast_total.ppf(quantile))
        revenue = max(fc - loss, 0.0)
        paid = np.nan
        if payout is not None and expected is not None and expected.to_numpy().sum() > 0:
            scaled = expected.to_numpy(dtype=float) * (revenue / expected.to_numpy().sum())
            paid = float(payout(scaled[None, :, :]))
        rows.append({"scenario": name, "forecast_quantile": quantile, "risk_rule": rule, "forecast_revenue": fc,
                     "risk_loss": loss, "revenue": revenue, "attainment": revenue / annual_target,
                     "payout": paid, "cost_of_sales": paid / revenue if revenue > 0 else np.nan})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- sensitivity
def assumption_moves(expected: pd.DataFrame, steps: Mapping[str, float], *, growth_base: float,
                     hire_date: pd.Series | None = None, ramp_months: float = 6.0,
                     pipeline_weighted: pd.DataFrame | None = None,
                     ) -> dict[str, tuple[str, pd.DataFrame, pd.DataFrame]]:
    """Return the expected rep x month sales with each assumption moved down and up by its step.

    * growth: plan-year growth over the trailing year ``growth_base`` moved by the step
      (points): sales x (1 + g ± step) / (1 + g).
    * price: sales x (1 ± step), volume held.
    * attrition: a further ``step`` of the reps leave, spread evenly over the year, and are
      not replaced in it: month m (0-based) keeps 1 - step x (m + 0.5) / 12 (up is worse).
    * ramp_months: reps still ramping (hired less than ``ramp_months`` before a plan month)
      reach full productivity ``step`` months sooner or later (linear ramp, up is worse).
    * pipeline_conversion: the probability-weighted pipeline closing in each month converts
      ``step`` (relative) worse or better.

    Returns
    -------
    dict
        Assumption -> (step text, expected when moved the unfavourable way, expected when moved
        the favourable way).
    """
    months = pd.DatetimeIndex(expected.columns)
    out = {}
    for name, step in steps.items():
        if name == "growth":
            low = expected * (1 + growth_base - step) / (1 + growth_base)
            high = expected * (1 + growth_base + step) / (1 + growth_base)
            text = f"±{step * 100:.1f} pts of growth (base {growth_base:+.1%})"
        elif name == "price":
            low, high = expected * (1 - step), expected * (1 + step)
            text = f"±{step:.1%} price"
        elif name == "attrition":
            lost = step * (np.arange(len(months)) + 0.5) / len(months)
            low = expected * (1 - lost)[None, :]
            high = expected * (1 + lost)[None, :]
            text = f"±{step:.0%} of reps leaving"
        elif name == "ramp_months":
            low, high = expected.copy(), expected.copy()
            if hire_date is not None:
                from .capacity import ramp_curve

                hired = pd.to_datetime(hire_date.reindex(expected.index))
                tenure = ((months.year.to_numpy()[None, :] - hired.dt.year.to_numpy()[:, None]) * 12
                          + months.month.to_numpy()[None, :] - hired.dt.month.to_numpy()[:, None] + 1)
                tenure = np.where(np.isnan(tenure), 10_000, tenure)
                base = ramp_curve(tenure, ramp_months)
                slow = ramp_curve(tenure, ramp_months + step)
                fast = ramp_curve(tenure, max(ramp_months - step, 0))
                ramping = base > 0  # months before the start stay at what was expected
                ratio_slow = np.where(ramping, slow / np.where(ramping, base, 1.0), 1.0)
                ratio_fast = np.where(ramping, fast / np.where(ramping, base, 1.0), 1.0)
                low, high = expected * ratio_slow, expected * ratio_fast
            text = f"±{step:g} months of ramp (base {ramp_months:g})"
        elif name == "pipeline_conversion":
            pipe = (pipeline_weighted.reindex(index=expected.index, columns=months).fillna(0.0)
                    if pipeline_weighted is not None else expected * 0.0)
            low, high = expected - step * pipe, expected + step * pipe
            low = low.clip(lower=0)
            text = f"±{step:.0%} pipeline conversion"
        else:
            raise ConfigError([(f"risk.sensitivity.{name}", "unknown assumption; known: growth, attrition, "
                                "ramp_months, pipeline_conversion, price")])
        out[name] = (text, low, high)
    return out


def sensitivity(factors: np.ndarray, hits: np.ndarray, *, expected: pd.DataFrame, moves: Mapping,
                exposure: np.ndarray, share: np.ndarray, amount: np.ndarray, annual_target: float) -> pd.DataFrame:
    """Return the tornado: P(attainment) and mean revenue with each assumption moved down and up.

    Every variant reuses the same simulated shocks and risk draws (common random
    numbers), so a difference between variants is the assumption, not noise. Sales are
    ``factors * expected`` (the simulation is linear in expected sales), less the risks.

    Parameters
    ----------
    factors : ndarray (n_sims, reps, months)
        Simulated outcomes for expected sales of 1 (``simulate_rep_outcomes`` of ones).
    hits : ndarray of bool (n_sims, risks)
    expected : DataFrame
        The base expected sales (rep x month).
    moves : mapping
        From :func:`assumption_moves`.
    exposure, share, amount : ndarray
        As :func:`planlib.simulate.apply_risk_events`.
    annual_target : float

    Returns
    -------
    DataFrame
        assumption, step, revenue_low, revenue_base, revenue_high, p_target_low, p_target_base,
        p_target_high, swing (p_target_high - p_target_low); sorted by swing, largest first.
        "low" is the unfavourable move.
    """
    hits_f = hits.astype(float)
    keep = 1.0 - np.clip(hits_f @ (share[:, None] * exposure), 0.0, 1.0)  # (sims, reps)
    fixed_loss = hits_f @ amount  # (sims,)

    def totals(exp: pd.DataFrame) -> np.ndarray:
        rep_annual = np.einsum("nrm,rm->nr", factors, exp.to_numpy(dtype=float))
        return (keep * rep_annual).sum(axis=1) - fixed_loss

    base = totals(expected)
    rows = []
    for name, (step, low, high) in moves.items():
        t_low, t_high = totals(low), totals(high)
        rows.append({"assumption": name, "step": step, "revenue_low": t_low.mean(), "revenue_base": base.mean(),
                     "revenue_high": t_high.mean(), "p_target_low": (t_low >= annual_target).mean(),
                     "p_target_base": (base >= annual_target).mean(),
                     "p_target_high": (t_high >= annual_target).mean()})
    out = pd.DataFrame(rows)
    out["swing"] = out["p_target_high"] - out["p_target_low"]
    out["revenue_swing"] = out["revenue_high"] - out["revenue_low"]
    return out.sort_values(["revenue_swing", "assumption"], ascending=[False, True], ignore_index=True)


# --------------------------------------------------------------------------- concentration and coverage
def _hhi(amounts: pd.Series) -> float:
    total = amounts.sum()
    return float(((amounts / total) ** 2).sum()) if total > 0 else np.nan


def concentration(sales: pd.DataFrame, *, top_reps: int = 3) -> dict[str, pd.DataFrame]:
    """Measure how much revenue hangs on a few customers and a few reps.

    Parameters
    ----------
    sales : DataFrame
        Deals of the window to measure: amount, customer_id, rep_id, region; customer_name if known.
    top_reps : int, default 3

    Returns
    -------
    dict of DataFrame
        ``customers``: the top 10 customers (rank, customer_id, customer_name, revenue, share,
        cumulative_share); ``by_region``: region, revenue, customers, top_customer_share,
        top10_share, hhi (Herfindahl of customer shares), and a "Total" row; ``reps``:
        rep_id, revenue, share, cumulative_share, sorted; ``summary``: metric, value.
    """
    net = sales.groupby("customer_id")["amount"].sum().clip(lower=0).sort_values(ascending=False, kind="stable")
    total = float(net.sum())
    top = net.head(10)
    names = (sales.drop_duplicates("customer_id").set_index("customer_id")["customer_name"]
             if "customer_name" in sales else pd.Series(dtype=str))
    customers = pd.DataFrame({"rank": np.arange(1, len(top) + 1), "customer_id": top.index,
                              "customer_name": names.reindex(top.index).fillna("").to_numpy(),
                              "revenue": top.to_numpy(), "share": top.to_numpy() / total})
    customers["cumulative_share"] = customers["share"].cumsum()
    regions = []
    for region, part in [*sales.groupby("region"), ("Total", sales)]:
        by_cust = part.groupby("customer_id")["amount"].sum().clip(lower=0).sort_values(ascending=False)
        rev = float(by_cust.sum())
        regions.append({"region": region, "revenue": rev, "customers": int((by_cust > 0).sum()),
                        "top_customer_share": by_cust.iloc[0] / rev if rev > 0 else np.nan,
                        "top10_share": by_cust.head(10).sum() / rev if rev > 0 else np.nan,
                        "hhi": _hhi(by_cust)})
    by_rep = sales.groupby("rep_id")["amount"].sum().clip(lower=0).sort_values(ascending=False, kind="stable")
    reps = pd.DataFrame({"rep_id": by_rep.index, "revenue": by_rep.to_numpy(), "share": by_rep.to_numpy() / total})
    reps["cumulative_share"] = reps["share"].cumsum()
    reps_for_half = int(np.searchsorted(reps["cumulative_share"].to_numpy(), 0.5) + 1)
    summary = pd.DataFrame([
        ("top_customer_share", float(customers["share"].iloc[0]) if len(customers) else np.nan),
        ("top10_share", float(top.sum() / total) if total > 0 else np.nan),
        ("customer_hhi", _hhi(net)),
        ("customers", float((net > 0).sum())),
        (f"top{top_reps}_reps_share", float(reps["share"].head(top_reps).sum())),
        ("reps_for_half_of_revenue", float(reps_for_half)),
        ("rep_hhi", _hhi(by_rep)),
        ("reps", float(len(reps))),
    ], columns=["metric", "value"])
    return {"customers": customers, "by_region": pd.DataFrame(regions), "reps": reps, "summary": summary}


def pipeline_coverage(pipeline: pd.DataFrame, *, remaining_target: pd.Series, region_of: pd.Series,
                      start, end, exclude_stages: Iterable[str] = ()) -> pd.DataFrame:
    """Compare the open pipeline closing in the plan year with the target still to win.

    Parameters
    ----------
    pipeline : DataFrame
        opportunity_id, rep_id, stage, amount, expected_close, probability.
    remaining_target : Series
        By region: annual target less what is already booked in the plan year.
    region_of : Series
        rep_id -> region.
    start, end : Timestamp
        The plan year (expected_close inclusive).
    exclude_stages : iterable of str
        Stages that are not open (won, lost).

    Returns
    -------
    DataFrame
        region (and "Total"), opportunities, open_pipeline, weighted_pipeline, remaining_target,
        coverage (open / remaining), weighted_coverage (weighted / remaining).
    """
    close = pd.to_datetime(pipeline["expected_close"])
    live = pipeline[(close >= pd.Timestamp(start)) & (close <= pd.Timestamp(end))
                    & ~pipeline["stage"].isin(list(exclude_stages))].copy()
    live["region"] = live["rep_id"].map(region_of).fillna("(unknown rep)")
    live["weighted"] = live["amount"] * live["probability"]
    agg = live.groupby("region").agg(opportunities=("amount", "size"), open_pipeline=("amount", "sum"),
                                     weighted_pipeline=("weighted", "sum"))
    regions = sorted(set(remaining_target.index) | set(agg.index))
    out = agg.reindex(regions).fillna(0.0)
    out["remaining_target"] = remaining_target.reindex(regions).fillna(0.0)
    out.loc["Total"] = out.sum()
    out["opportunities"] = out["opportunities"].astype(int)
    rem = out["remaining_target"].where(out["remaining_target"] > 0)
    out["coverage"] = out["open_pipeline"] / rem
    out["weighted_coverage"] = out["weighted_pipeline"] / rem
    return out.rename_axis("region").reset_index()


def mitigation_table(quantified: pd.DataFrame, monte_carlo: MonteCarloResult | None = None) -> pd.DataFrame:
    """Return what is done about each risk, largest expected loss first.

    Returns
    -------
    DataFrame
        risk_id, title, owner, status, mitigation, likelihood, impact_amount, expected_loss, and
        simulated_loss (mean loss in the Monte Carlo, NaN for risks not simulated) when given.
    """
    cols = ["risk_id", "title", "owner", "status", "mitigation", "likelihood", "impact_amount", "expected_loss"]
    out = quantified[cols].copy()
    if monte_carlo is not None:
        sim = monte_carlo.risk_losses().set_index("risk_id")["mean_loss"]
        out["simulated_loss"] = out["risk_id"].map(sim).astype(float)
    return out.sort_values(["expected_loss", "risk_id"], ascending=[False, True], ignore_index=True)


def concentration_flags(result: Mapping[str, pd.DataFrame], coverage: pd.DataFrame, settings) -> pd.DataFrame:
    """Compare concentration and coverage with the thresholds sales leaders use.

    Parameters
    ----------
    result : mapping
        From :func:`concentration`.
    coverage : DataFrame
        From :func:`pipeline_coverage`; with a ``horizon`` column, the first horizon is checked
        (the rule of thumb is about the quarter ahead).
    settings : planlib.config.Risk
        top_customer_warn, top10_warn, hhi_warn, top_reps, top_reps_warn, coverage_weighted_min,
        coverage_unweighted_min.

    Returns
    -------
    DataFrame
        check, value, threshold, rule (the threshold in words), status ("ok" or "watch").
    """
    summary = result["summary"].set_index("metric")["value"]
    first = coverage[coverage["horizon"] == coverage["horizon"].iloc[0]] if "horizon" in coverage else coverage
    total = first.set_index("region").loc["Total"]
    horizon = f" ({first['horizon'].iloc[0]})" if "horizon" in first else ""
    checks = [
        ("largest customer's share of revenue", summary["top_customer_share"], settings.top_customer_warn,
         "above", f"one customer above {settings.top_customer_warn:.0%} of revenue is a single point of failure"),
        ("top-10 customers' share of revenue", summary["top10_share"], settings.top10_warn, "above",
         f"ten customers above {settings.top10_warn:.0%} of revenue make the year hang on a few negotiations"),
        ("customer Herfindahl index (company)", summary["customer_hhi"], settings.hhi_warn, "above",
         "HHI 0.15-0.25 is moderately, above 0.25 highly concentrated (the US merger guidelines' bands)"),
        (f"top {settings.top_reps} reps' share of revenue", summary[f"top{settings.top_reps}_reps_share"],
         settings.top_reps_warn, "above",
         f"the top {settings.top_reps} reps carrying over {settings.top_reps_warn:.0%} means losing one hurts"),
        (f"weighted pipeline / remaining target{horizon}", total["weighted_coverage"],
         settings.coverage_weighted_min, "below",
         f"probability-weighted pipeline should cover at least {settings.coverage_weighted_min:g}x what is left"),
        (f"open pipeline / remaining target{horizon}", total["coverage"], settings.coverage_unweighted_min, "below",
         f"the rule of thumb is {settings.coverage_unweighted_min:g}x unweighted pipeline for the quota ahead"),
    ]
    regions = result["by_region"].set_index("region")
    for region, hhi in regions["hhi"].items():
        if region != "Total":
            checks.append((f"customer Herfindahl index, {region}", hhi, settings.hhi_warn, "above",
                           "HHI above the moderate band within a region"))
    rows = []
    for check, value, threshold, side, rule in checks:
        bad = value > threshold if side == "above" else value < threshold
        rows.append({"check": check, "value": float(value), "threshold": float(threshold), "rule": rule,
                     "status": "watch" if bad else "ok"})
    return pd.DataFrame(rows)


def headlines(monte_carlo: MonteCarloResult, register: pd.DataFrame, scenario_table: pd.DataFrame,
              tornado: pd.DataFrame) -> dict:
    """Return the numbers the risk review's prose quotes.

    Returns
    -------
    dict
        p_target, mean_attainment, p10, p90 (attainment), expected_shortfall, shortfall_if_missed,
        cvar_10, annual_target, risks, simulated_risks, expected_loss, top_risk (id), top_risk_title,
        top_risk_loss, <scenario>_revenue and <scenario>_attainment for each scenario,
        top_assumption, top_assumption_step, top_assumption_swing (P(target) points between its moves).
    """
    summary = monte_carlo.summary
    live = register[register["simulated"]] if "simulated" in register else register
    top = register.sort_values(["expected_loss", "risk_id"], ascending=[False, True]).iloc[0] if len(register) else None
    out = {k: float(summary[k]) for k in ("p_target", "mean_attainment", "p10", "p90", "expected_shortfall",
                                          "shortfall_if_missed", "cvar_10")}
    out.update(annual_target=monte_carlo.annual_target, risks=len(register), simulated_risks=len(live),
               expected_loss=float(live["expected_loss"].sum()),
               top_risk=None if top is None else top["risk_id"], top_risk_title=None if top is None else top["title"],
               top_risk_loss=0.0 if top is None else float(top["expected_loss"]))
    for row in scenario_table.itertuples(index=False):
        out[f"{row.scenario}_revenue"] = float(row.revenue)
        out[f"{row.scenario}_attainment"] = float(row.attainment)
    biggest = tornado.assign(abs_swing=tornado["swing"].abs()).sort_values(
        ["abs_swing", "assumption"], ascending=[False, True]).iloc[0]
    out.update(top_assumption=biggest["assumption"], top_assumption_step=biggest["step"],
               top_assumption_swing=float(biggest["swing"]))
    return out


# --------------------------------------------------------------------------- plan stages
from .plan import stage  # noqa: E402  (stages register last, after the pure functions)


@dataclass
class RiskModel:
    """Everything the simulations share: the plan year, shock model, rep noise, target and scale."""

    plan_year: PlanYear
    shocks: ShockModel
    rep_sd: pd.Series
    shock_scale: float
    annual_target: float
    forecast_total: object
    rep_targets: np.ndarray | None
    growth_base: float
    pipeline_weighted: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _company_annual_target(targets: pd.DataFrame, months: pd.DatetimeIndex) -> float:
    """The company's plan-year target: its year row of the targets table, else its months added up."""
    rows = targets[targets["level"] == "company"]
    if "product" in rows:
        rows = rows[rows["product"].isna() | rows["product"].astype(str).isin(["", "all", "All", "total", "Total"])]
    year = rows[rows["period_type"].isin(["year", "annual"])]
    if len(year):
        return float(year["target"].sum())
    month = rows[(rows["period_type"] == "month") & rows["period"].astype(str).isin(months.strftime("%Y-%m"))]
    if len(month):
        return float(month["target"].sum())
    raise DataError("targets have no company row for the plan year (level 'company', period_type 'year' or "
                    "'month'); the risk review measures attainment against it")


def _open_pipeline(pipeline: pd.DataFrame, settings) -> pd.DataFrame:
    return pipeline[~pipeline["stage"].isin(settings.open_stages_exclude)]


def _drivers(tables: Mapping[str, pd.DataFrame]) -> dict[str, set]:
    reps, sales = tables["reps"], tables["sales"]
    return {"region": set(reps["region"].dropna()), "team": set(reps["team"].dropna()),
            "rep": set(reps["rep_id"].dropna()), "product": set(sales["product"].dropna()),
            "customer": set(sales["customer_id"].dropna())}


@stage("risk_model", needs=("inputs", "history", "forecast", "targets"),
       config=("risk", "fiscal", "as_of", "seed", "capacity"))
def _risk_model_stage(plan) -> RiskModel:
    from .capacity import plan_months, rep_month_targets

    cfg, settings = plan.config, plan.config.risk
    tables = plan.inputs.tables
    months = plan_months(cfg.fiscal.year, cfg.fiscal.start_month)
    fc = plan.forecast.forecasts
    rp = fc[fc["unique_id"].str.startswith("region_product/") & fc["ds"].isin(months)].copy()
    parts = rp["unique_id"].str.split("/", n=2, expand=True)
    rp["region"], rp["product"] = parts[1], parts[2]
    targets = rep_month_targets(plan.targets)
    year = build_plan_year(rp, tables["sales"], tables["reps"], months, as_of=cfg.as_of,
                           rep_targets=targets.rename(columns={"rep_id": "rep_id"}))
    level = settings.shock_level
    shocks = estimate_shock_model(plan.history, level)
    rep_sd = estimate_rep_noise(plan.history).reindex(year.expected.index)
    rep_sd = rep_sd.fillna(float(rep_sd.median()) if rep_sd.notna().any() else 0.3)
    mix = year.product_mix if level == "region_product" else None
    forecast_total = plan.forecast.total_distribution("company", months[0], months[-1])
    scale = 1.0
    if settings.calibrate_to_forecast:
        scale = calibrate_shock_scale(year.expected, region_of=year.reps["region"], shocks=shocks, rep_sd=rep_sd,
                                      target_sd=float(forecast_total.std()), seed=cfg.seed, product_mix=mix)
    rep_targets = (targets.pivot_table(index="rep_id", columns="month", values="target", aggfunc="sum")
                   .reindex(index=year.expected.index, columns=months).fillna(0.0).to_numpy())
    hist = plan.history
    company = hist[hist["level"] == "company"].sort_values("ds")
    trailing = float(company["y"].tail(12).sum())
    growth_base = float(year.expected.to_numpy().sum() / trailing - 1) if trailing > 0 else 0.0
    pipe = _open_pipeline(tables.get("pipeline", pd.DataFrame(columns=["stage"])), settings)
    if len(pipe):
        pipe = pipe.assign(month=pd.to_datetime(pipe["expected_close"]).dt.to_period("M").dt.to_timestamp(),
                           weighted=pipe["amount"] * pipe["probability"])
        weighted = pipe.pivot_table(index="rep_id", columns="month", values="weighted", aggfunc="sum")
    else:
        weighted = pd.DataFrame()
    weighted = weighted.reindex(index=year.expected.index, columns=months).fillna(0.0)
    return RiskModel(year, shocks, rep_sd, scale, _company_annual_target(plan.targets, months), forecast_total,
                     rep_targets, growth_base, weighted, list(year.notes))


@dataclass
class RiskRegister:
    """The validated, quantified register with its exposure matrix and heat map."""

    register: pd.DataFrame
    exposure: pd.DataFrame
    heat_map: pd.DataFrame


@stage("risk_register", needs=("inputs", "risk_model"), config=("risk",))
def _risk_register_stage(plan) -> RiskRegister:
    settings = plan.config.risk
    tables = plan.inputs.tables
    drivers = _drivers(tables)
    rejects = plan.inputs.rejects
    rejected = rejects[rejects["table"] == "risks"]
    # a register with a row left out would understate the risk: rows rejected on reading are errors here
    problems = [RowProblem(str(r.file), None if pd.isna(r.line) else int(r.line), str(r.column), r.value,
                           str(r.reason).removeprefix("expected ")) for r in rejected.itertuples(index=False)]
    parts = []
    table = tables.get("risks")
    if table is not None and len(table):
        counts = plan.inputs.counts.set_index("table")
        source = str(counts.loc["risks", "file"]) if "risks" in counts.index else "risks.csv"
        rows_in = int(counts.loc["risks", "rows_in"]) if "risks" in counts.index else len(table)
        # the table keeps file order without the rejected rows: its lines are the others (header = line 1)
        lines = [ln for ln in range(2, rows_in + 2) if ln not in set(rejected["line"].dropna().astype(int))]
        try:
            parts.append(validate_register(table, drivers=drivers, statuses=settings.statuses, source=source,
                                           lines=lines[:len(table)]))
        except DataError as exc:
            problems += exc.problems
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.column or ""))
        raise DataError(f"{len(problems)} problem(s) in the risk register; every risk counts, so fix them", problems)
    if settings.risks:
        parts.append(validate_register(pd.DataFrame(settings.risks), drivers=drivers, statuses=settings.statuses,
                                       source="config", config_path="risk.risks"))
    register = pd.concat(parts, ignore_index=True) if parts else validate_register(
        pd.DataFrame(columns=list(REGISTER_FIELDS)), drivers=drivers)
    dupes = register["risk_id"][register["risk_id"].duplicated()]
    if len(dupes):
        raise ConfigError([("risk.risks", f"risk {rid}: found a risk_id that is also in risks.csv, expected ids "
                            "unique across the file and the config") for rid in dupes])
    model = plan.risk_model
    year = model.plan_year
    exposure = driver_exposure(register, reps=year.reps, product_mix=year.product_mix,
                               customer_mix=year.customer_share)
    quantified = quantify_register(register, exposure, year.expected.sum(axis=1), annual_target=model.annual_target,
                                   likelihood_bands=settings.likelihood_bands, impact_bands=settings.impact_bands,
                                   closed_statuses=settings.closed_statuses)
    return RiskRegister(quantified, exposure,
                        heat_map(quantified, settings.likelihood_bands, settings.impact_bands))


@stage("monte_carlo", needs=("risk_model", "risk_register"), config=("risk", "seed"))
def _monte_carlo_stage(plan) -> MonteCarloResult:
    model, reg = plan.risk_model, plan.risk_register
    year = model.plan_year
    mix = year.product_mix if plan.config.risk.shock_level == "region_product" else None
    result = run_monte_carlo(year.expected, region_of=year.reps["region"], shocks=model.shocks, rep_sd=model.rep_sd,
                             register=reg.register, exposure=reg.exposure, annual_target=model.annual_target,
                             n_sims=plan.config.risk.n_sims, seed=plan.config.seed, product_mix=mix,
                             shock_scale=model.shock_scale)
    result.rep_targets = model.rep_targets
    return result


def _payout_function(plan, model: RiskModel):
    """Total incentive payout of one rep x month sales array, by planlib.incentives' own cost model."""
    from .incentives import incentive_cost

    reps = plan.inputs.tables["reps"].set_index("rep_id").reindex(model.plan_year.expected.index).reset_index()
    if model.rep_targets is None or not model.rep_targets.sum() > 0:
        return None
    return lambda sales: incentive_cost(sales, model.rep_targets, reps, plan.config.incentives).summary[
        "expected_payout"]


@stage("scenarios", needs=("inputs", "risk_model", "risk_register"), config=("risk", "incentives"))
def _scenarios_stage(plan) -> pd.DataFrame:
    settings, model = plan.config.risk, plan.risk_model
    chosen = {name: (s.quantile, s.risks) for name, s in settings.scenarios.items()}
    return scenarios(plan.risk_register.register, model.forecast_total, annual_target=model.annual_target,
                     settings=chosen, likely_threshold=settings.likely_threshold,
                     expected=model.plan_year.expected, payout=_payout_function(plan, model))


def _ramp_months(config) -> float:
    if config.risk.ramp_months is not None:
        return float(config.risk.ramp_months)
    cap = config.capacity
    value = getattr(cap, "ramp_months", None)
    return float(value if value is not None else getattr(cap, "default_ramp_months", 6))


def _draws(plan, n_sims: int):
    """Outcomes for expected sales of one and risk draws, shared by the tornado and the what-if."""
    settings, model, reg = plan.config.risk, plan.risk_model, plan.risk_register
    year = model.plan_year
    ones = pd.DataFrame(1.0, index=year.expected.index, columns=year.expected.columns)
    mix = year.product_mix if settings.shock_level == "region_product" else None
    rng = np.random.default_rng(plan.config.seed)
    factors = simulate_rep_outcomes(ones, region_of=year.reps["region"], shocks=model.shocks.scaled(model.shock_scale),
                                    rep_sd=model.rep_sd, n_sims=n_sims, seed=rng, product_mix=mix)
    _, likelihood, expo, share, amount = _event_arrays(reg.register, reg.exposure, year.expected.index)
    hits = draw_risk_events(n_sims, likelihood, rng)
    return factors, hits, dict(exposure=expo, share=share, amount=amount)


@stage("sensitivity", needs=("risk_model", "risk_register"), config=("risk", "seed", "capacity"))
def _sensitivity_stage(plan) -> pd.DataFrame:
    settings, model = plan.config.risk, plan.risk_model
    year = model.plan_year
    factors, hits, events = _draws(plan, settings.sensitivity_sims)
    moves = assumption_moves(year.expected, settings.sensitivity, growth_base=model.growth_base,
                             hire_date=year.reps.get("hire_date"), ramp_months=_ramp_months(plan.config),
                             pipeline_weighted=model.pipeline_weighted)
    return sensitivity(factors, hits, expected=year.expected, moves=moves, annual_target=model.annual_target,
                       **events)


def what_if(plan, growth: float = 0.0, price: float = 0.0, attrition: float = 0.0):
    """Return, as Markdown, P(attainment) and revenue with growth, price and attrition moved (what-if widgets).

    Parameters
    ----------
    plan : planlib.Plan
    growth, price, attrition : float
        Points of growth added, price change, and further share of reps leaving (0.02 = 2%).
        Money is shown in the config's display unit.

    Returns
    -------
    IPython Markdown
        One sentence with the numbers, escaped.
    """
    from .text import md, money

    model = plan.risk_model
    company = plan.config.company
    factors, hits, events = _draws(plan, plan.config.risk.sensitivity_sims)
    expected = model.plan_year.expected * (1 + model.growth_base + growth) / (1 + model.growth_base) * (1 + price)
    if attrition:
        expected = assumption_moves(expected, {"attrition": attrition}, growth_base=0.0)["attrition"][1]
    row = sensitivity(factors, hits, expected=model.plan_year.expected, moves={"what-if": ("", expected, expected)},
                      annual_target=model.annual_target, **events).iloc[0]
    change = row["revenue_low"] - row["revenue_base"]
    return md("With growth {g:+.1f} points, price {p:+.1%} and {a:.0%} more reps leaving: expected revenue "
              "**{rev}** ({sign}{d} against the plan's assumptions), P(reaching the annual target) **{pt:.0%}** "
              "(was {pb:.0%}).", g=100 * growth, p=price, a=attrition,
              rev=money(row["revenue_low"], company.display_unit, company.display_unit_label),
              sign="+" if change >= 0 else "-", d=money(abs(change), company.display_unit, company.display_unit_label),
              pt=row["p_target_low"], pb=row["p_target_base"])


@dataclass
class ConcentrationResult:
    """Customer and rep concentration of the trailing window, pipeline coverage and the flags."""

    customers: pd.DataFrame
    by_region: pd.DataFrame
    reps: pd.DataFrame
    summary: pd.DataFrame
    coverage: pd.DataFrame
    flags: pd.DataFrame
    window: tuple


@stage("concentration", needs=("inputs", "history", "targets", "risk_model"), config=("risk", "fiscal", "as_of"))
def _concentration_stage(plan) -> ConcentrationResult:
    from .capacity import region_month_targets

    cfg, settings, model = plan.config, plan.config.risk, plan.risk_model
    tables = plan.inputs.tables
    window = _trailing(tables["sales"], cfg.as_of, settings.concentration_months)
    region_of = tables["reps"].set_index("rep_id")["region"]
    if "region" not in window or window["region"].isna().any():
        window = window.assign(region=window["rep_id"].map(region_of))
    result = concentration(window, top_reps=settings.top_reps)
    pipeline = tables.get("pipeline")
    if pipeline is None:
        pipeline = pd.DataFrame(columns=["opportunity_id", "rep_id", "stage", "amount", "expected_close",
                                         "probability"])
    month_targets = region_month_targets(plan.targets)
    expected_by_region = model.plan_year.expected.groupby(model.plan_year.reps["region"]).sum()
    hist = plan.history
    parts = []
    # the 3x rule is about the period ahead: the first quarter; the plan year is shown beside it
    for horizon, months in (("first quarter", model.plan_year.months[:3]), ("plan year", model.plan_year.months)):
        region_target = month_targets[month_targets["month"].isin(months)].groupby("region")["target"].sum()
        if not region_target.sum() > 0:  # no regional targets: the company target split like the forecast
            share = expected_by_region[months].sum(axis=1) / model.plan_year.expected.to_numpy().sum()
            region_target = model.annual_target * share
        # sales already booked in the plan year count against the target when the plan is re-run mid-year
        booked = hist[(hist["level"] == "region") & hist["ds"].isin(months)].groupby("region")["y"].sum()
        remaining = (region_target - booked.reindex(region_target.index).fillna(0.0)).clip(lower=0)
        part = pipeline_coverage(pipeline, remaining_target=remaining, region_of=region_of, start=months[0],
                                 end=months[-1] + pd.offsets.MonthEnd(), exclude_stages=settings.open_stages_exclude)
        parts.append(part.assign(horizon=horizon))
    coverage = pd.concat(parts, ignore_index=True)
    flags = concentration_flags(result, coverage, settings)
    span = (window["date"].min(), window["date"].max()) if len(window) else (None, None)
    return ConcentrationResult(result["customers"], result["by_region"], result["reps"], result["summary"], coverage,
                               flags, span)
