"""The risk register: every field checked, each risk put in money and on the heat map.

Pure functions on tables, then the ``risk_register`` stage that reads risks.csv and the
config's ``risk.risks`` and prices them with the plan year's expected sales.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from planlib.core.errors import ConfigError, DataError, RowProblem
from planlib.core.graph import stage

if TYPE_CHECKING:
    from planlib.risk.montecarlo import MonteCarloResult

__all__ = ["DRIVER_KINDS", "REGISTER_FIELDS", "RiskRegister", "driver_exposure", "driver_in_words", "heat_map",
           "mitigation_table", "parse_impact", "quantify_register", "validate_register"]

REGISTER_FIELDS = ("risk_id", "title", "category", "likelihood", "impact", "driver", "owner", "mitigation", "status")
DRIVER_KINDS = ("region", "product", "customer", "team", "rep")


def driver_in_words(driver: object) -> str:
    """Return a register's driver as a reader says it: "region:West" -> "region West", "company" -> "whole company".

    >>> driver_in_words("region:Süd"), driver_in_words("company"), driver_in_words("customer:C00042")
    ('region Süd', 'whole company', 'customer C00042')
    """
    text = str(driver).strip()
    kind, sep, name = text.partition(":")
    if not sep:
        return "whole company" if text.lower() in ("", "company") else text
    return f"{kind.strip().lower()} {name.strip()}" if kind.strip().lower() in DRIVER_KINDS else text


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
        rep_id, customer_id, share: the customer's share of the rep's sales, one row per rep and
        customer (``PlanYear.customer_share``); a rep without a row has none. Needed if a risk has a
        customer driver.

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
            row = _customer_exposure(customer_mix, key, reps.index)
        out.loc[rid] = row
    return out


def _customer_exposure(customer_mix: pd.DataFrame | None, customer: str, rep_ids: pd.Index) -> np.ndarray | float:
    """Each rep's share of sales with ``customer``, from the long (rep_id, customer_id, share) table."""
    if customer_mix is None:
        return 0.0
    rows = customer_mix[customer_mix["customer_id"] == customer]
    if not len(rows):
        return 0.0
    return rows.groupby("rep_id")["share"].sum().reindex(rep_ids).fillna(0.0).to_numpy()


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



# --------------------------------------------------------------------------- stage
def _drivers(tables: Mapping[str, pd.DataFrame]) -> dict[str, set]:
    reps, sales = tables["reps"], tables["sales"]
    return {"region": set(reps["region"].dropna()), "team": set(reps["team"].dropna()),
            "rep": set(reps["rep_id"].dropna()), "product": set(sales["product"].dropna()),
            "customer": set(sales["customer_id"].dropna())}


@dataclass
class RiskRegister:
    """The validated, quantified register with its exposure matrix and heat map."""

    register: pd.DataFrame
    exposure: pd.DataFrame
    heat_map: pd.DataFrame


@stage("risk_register", needs=("inputs", "risk_model"), config=("risk",))
def _risk_register_stage(plan) -> RiskRegister:
    settings = plan.config.risk
    tables = plan["inputs"].tables
    drivers = _drivers(tables)
    rejects = plan["inputs"].rejects
    rejected = rejects[rejects["table"] == "risks"]
    # a register with a row left out would understate the risk: rows rejected on reading are errors here
    problems = [RowProblem(str(r.file), None if pd.isna(r.line) else int(r.line), str(r.column), r.value,
                           str(r.reason).removeprefix("expected ")) for r in rejected.itertuples(index=False)]
    parts = []
    table = tables.get("risks")
    if table is not None and len(table):
        counts = plan["inputs"].counts.set_index("table")
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
    model = plan["risk_model"]
    year = model.plan_year
    exposure = driver_exposure(register, reps=year.reps, product_mix=year.product_mix,
                               customer_mix=year.customer_share)
    quantified = quantify_register(register, exposure, year.expected.sum(axis=1), annual_target=model.annual_target,
                                   likelihood_bands=settings.likelihood_bands, impact_bands=settings.impact_bands,
                                   closed_statuses=settings.closed_statuses)
    return RiskRegister(quantified, exposure,
                        heat_map(quantified, settings.likelihood_bands, settings.impact_bands))
