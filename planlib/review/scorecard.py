"""Performance scorecards: weighted measures from the deals and the kpis table, scored by a stated rule.

The plan carries the definition (the ``scorecard_definition`` stage); the quarterly review carries the
scores. Every step is on the per-rep sheet, so anyone can recompute their own score by hand.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planlib.core.errors import ConfigError, DataError
from planlib.core.graph import stage

__all__ = [
    "SALES_METRICS", "ScorecardDefinition", "Scorecards", "band_of", "definition", "measure", "resolved", "score",
    "score_value", "scorecards", "spread", "tenure_group", "tenure_labels", "validate_scorecard",
]

SALES_METRICS = {
    "revenue_attainment": "net sales of the quarter / the rep's target for the quarter's closed months",
    "new_customers": "customers whose first ever purchase (from anyone) was made with the rep in the quarter",
    "retention": "share of the rep's customers of the {months} months before the quarter who bought from the "
                 "rep again in the quarter",
}
RULE = "score = min(max((value - threshold) / (target - threshold), 0), cap)"
DAYS_PER_MONTH = 365.25 / 12


# --------------------------------------------------------------------------- the definition
def resolved(scorecard, tables: dict[str, pd.DataFrame] | None = None):
    """Return the scorecard with its measures spelled out.

    With no ``kpis`` in the config the default measures are used (``DEFAULT_SCORECARD_KPIS``): the sales
    ones always, those of the kpis table only where the table has their metric, weights scaled to add to 1.
    Measures given in the config are kept as they are.

    Parameters
    ----------
    scorecard : planlib.config.Scorecard
    tables : dict of str to DataFrame, optional
        The input tables; only ``kpis`` is looked at.

    Returns
    -------
    planlib.config.Scorecard
    """
    from planlib.core.config_operating import DEFAULT_SCORECARD_KPIS, ScorecardKpi

    if scorecard.kpis is not None:
        return scorecard
    kpis = (tables or {}).get("kpis")
    known = set(kpis["metric"].astype(str)) if kpis is not None else set()
    chosen = [k for k in DEFAULT_SCORECARD_KPIS if k["source"] == "sales" or k["metric"] in known]
    total = sum(k["weight"] for k in chosen)
    measures = [ScorecardKpi(**{**k, "weight": k["weight"] / total}) for k in chosen]
    return scorecard.model_copy(update={"kpis": measures})


@dataclass(frozen=True)
class ScorecardDefinition:
    """The scorecard as the plan states it.

    Attributes
    ----------
    kpis : DataFrame
        kpi, metric, source, weight, threshold, target, cap, measured (how the value is measured).
    bands : DataFrame
        band, from_score, below_score (None for the top band), highest first.
    rule : str
        The scoring rule in words.
    """

    kpis: pd.DataFrame
    bands: pd.DataFrame
    rule: str = RULE


def definition(scorecard, tables: dict[str, pd.DataFrame] | None = None) -> ScorecardDefinition:
    """Return the scorecard's measures, bands and rule as tables.

    Parameters
    ----------
    scorecard : planlib.config.Scorecard
    tables : dict of str to DataFrame, optional
        The input tables, which decide the default measures (see :func:`resolved`).

    Returns
    -------
    ScorecardDefinition
        ``kpis`` (kpi, metric, source, weight, threshold, target, cap, measured) and ``bands``
        (band, from_score, below_score).
    """
    scorecard = resolved(scorecard, tables)
    rows = []
    for k in scorecard.kpis:
        if k.source == "sales":
            measured = SALES_METRICS.get(k.metric, "").format(months=scorecard.retention_months)
        else:
            measured = (f"the quarter's {k.metric} in the kpis table (or the latest within "
                        f"{scorecard.kpis_max_age} quarters before it)")
        rows.append({"kpi": k.name, "metric": k.metric, "source": k.source, "weight": k.weight,
                     "threshold": k.threshold, "target": k.target, "cap": k.cap, "measured": measured})
    ordered = sorted(scorecard.bands.items(), key=lambda item: -item[1])
    bands = pd.DataFrame({"band": [b for b, _ in ordered], "from_score": [float(v) for _, v in ordered],
                          "below_score": [None] + [float(v) for _, v in ordered[:-1]]})
    return ScorecardDefinition(pd.DataFrame(rows), bands)


def validate_scorecard(scorecard, tables: dict[str, pd.DataFrame]) -> None:
    """Check that every measure of the scorecard can be measured from the data.

    Parameters
    ----------
    scorecard : planlib.config.Scorecard
        Weights adding to 1 and the bands are checked when the config is read.
    tables : dict of str to DataFrame
        The input tables (``Inputs.tables``); a kpis measure needs the kpis table with its metric.

    Raises
    ------
    ConfigError
        Listing every measure that cannot be measured, with its key path.
    """
    scorecard = resolved(scorecard, tables)
    problems = []
    kpis = tables.get("kpis")
    known = sorted(set(kpis["metric"].astype(str))) if kpis is not None else []
    for i, k in enumerate(scorecard.kpis):
        where = f"scorecard.kpis[{i}]"
        if k.source == "sales" and k.metric not in SALES_METRICS:
            problems.append((f"{where}.metric", f"{k.metric!r} is not a sales metric; sales metrics are "
                                                f"{', '.join(sorted(SALES_METRICS))} (or use source: kpis)"))
        elif k.source == "kpis" and kpis is None:
            problems.append((f"{where}.source", f"{k.name!r} is measured from the kpis table, but the config "
                                                f"has no data.kpis source"))
        elif k.source == "kpis" and k.metric not in known:
            problems.append((f"{where}.metric", f"{k.metric!r} is not a metric of the kpis table (it has: "
                                                f"{', '.join(known) or 'no rows'})"))
    if problems:
        raise ConfigError(problems)


@stage("scorecard_definition", needs=("inputs",), config=("scorecard",))
def _definition_stage(plan) -> ScorecardDefinition:
    """The plan's scorecard, checked against its data."""
    validate_scorecard(plan.config.scorecard, plan["inputs"].tables)
    return definition(plan.config.scorecard, plan["inputs"].tables)


# --------------------------------------------------------------------------- measuring
def _quarter(label: str) -> pd.Period:
    return pd.Period(label, freq="Q")


def _positive(sales: pd.DataFrame) -> pd.DataFrame:
    # A credit note is not a purchase: customers are counted on deals of a positive amount.
    return sales[sales["amount"] > 0]


def measure(scorecard, *, sales: pd.DataFrame, rep_targets: pd.Series, kpis: pd.DataFrame | None,
            start, end, quarter: str) -> pd.DataFrame:
    """Measure every scorecard measure for every rep with a target in the period.

    Parameters
    ----------
    scorecard : planlib.config.Scorecard
    sales : DataFrame
        Every deal up to ``end`` at least (date, amount, rep_id, customer_id); the whole history is
        needed to tell a new customer from a returning one.
    rep_targets : Series
        rep_id -> the rep's target for the period's closed months (reps without one are not scored).
    kpis : DataFrame or None
        rep_id, period ("2027Q1"), metric, value.
    start, end : date-like
        First and last day of the period measured (inclusive).
    quarter : str
        The period's quarter label, for the kpis table ("2027Q1").

    Returns
    -------
    DataFrame
        rep_id, kpi, metric, source, basis (where the value comes from), numerator, denominator,
        value (NaN when not measurable for the rep), one row per rep and measure, reps in
        ``rep_targets`` order and measures in scorecard order.

    Raises
    ------
    DataError
        If a kpis period is not a quarter label such as 2026Q3.
    """
    scorecard = resolved(scorecard, {"kpis": kpis} if kpis is not None else {})
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    reps = pd.Index(rep_targets.index.astype(str), name="rep_id")
    dated = sales[sales["date"] <= end + pd.Timedelta(hours=23, minutes=59, seconds=59)]
    inside = dated[dated["date"] >= start]
    revenue = inside.groupby("rep_id")["amount"].sum().reindex(reps, fill_value=0.0)
    positive = _positive(dated).sort_values("date", kind="stable")
    first = positive.drop_duplicates("customer_id", keep="first")
    new = first[first["date"] >= start].groupby("rep_id")["customer_id"].nunique().reindex(reps, fill_value=0)
    lookback = start - pd.DateOffset(months=scorecard.retention_months)
    before = positive[(positive["date"] >= lookback) & (positive["date"] < start)][["rep_id", "customer_id"]]
    again = positive[positive["date"] >= start][["rep_id", "customer_id"]].drop_duplicates()
    base = before.drop_duplicates()
    kept = base.merge(again, on=["rep_id", "customer_id"])
    base_n = base.groupby("rep_id").size().reindex(reps, fill_value=0)
    kept_n = kept.groupby("rep_id").size().reindex(reps, fill_value=0)
    kpi_values = _kpi_values(kpis, quarter, scorecard.kpis_max_age) if kpis is not None else None

    parts = []
    for k in scorecard.kpis:
        part = pd.DataFrame({"rep_id": reps, "kpi": k.name, "metric": k.metric, "source": k.source})
        if k.source == "sales" and k.metric == "revenue_attainment":
            targets = rep_targets.to_numpy(float)
            part["basis"] = f"{quarter} deals"
            part["numerator"] = revenue.to_numpy(float)
            part["denominator"] = targets
            part["value"] = np.divide(part["numerator"], targets, out=np.full(len(reps), np.nan), where=targets > 0)
        elif k.source == "sales" and k.metric == "new_customers":
            part["basis"] = f"{quarter} deals"
            part["numerator"] = new.to_numpy(float)
            part["denominator"] = np.nan
            part["value"] = part["numerator"]
        elif k.source == "sales" and k.metric == "retention":
            part["basis"] = f"customers of {lookback:%Y-%m}..{start - pd.Timedelta(days=1):%Y-%m}"
            part["numerator"] = kept_n.to_numpy(float)
            part["denominator"] = base_n.to_numpy(float)
            part["value"] = np.divide(part["numerator"], part["denominator"], out=np.full(len(reps), np.nan),
                                      where=part["denominator"].to_numpy() > 0)
        else:
            found = (kpi_values.get(k.metric) if kpi_values is not None else None)
            found = found.reindex(reps) if found is not None else pd.DataFrame(index=reps, columns=["value", "basis"])
            part["basis"] = found["basis"].fillna("no value in range").to_numpy()
            part["numerator"] = np.nan
            part["denominator"] = np.nan
            part["value"] = pd.to_numeric(found["value"], errors="coerce").to_numpy(float)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _kpi_values(kpis: pd.DataFrame, quarter: str, max_age: int) -> dict[str, pd.DataFrame]:
    """metric -> DataFrame indexed by rep_id with value and basis: the quarter's value, else the latest
    within ``max_age`` quarters before it."""
    periods = kpis["period"].astype(str)
    parsed = {}
    bad = []
    for label in periods.unique():
        # pandas would read "2027-01" as a quarter too; only "2027Q1" is one.
        if re.fullmatch(r"\d{4}Q[1-4]", label):
            parsed[label] = _quarter(label)
        else:
            bad.append(label)
    if bad:
        raise DataError(f"kpis table: period must be a quarter such as 2026Q3; found {sorted(bad)[:10]}")
    target = _quarter(quarter)
    table = kpis.assign(age=[(target - parsed[p]).n for p in periods])
    table = table[(table["age"] >= 0) & (table["age"] <= max_age)]
    table = table.sort_values(["metric", "rep_id", "age"], kind="stable").drop_duplicates(["metric", "rep_id"])
    out = {}
    for metric, rows in table.groupby("metric", sort=True):
        basis = [f"{p}" if age == 0 else f"{p} (latest within {max_age} quarters)"
                 for p, age in zip(rows["period"].astype(str), rows["age"])]
        out[str(metric)] = pd.DataFrame({"value": rows["value"].to_numpy(float), "basis": basis},
                                        index=pd.Index(rows["rep_id"].astype(str), name="rep_id"))
    return out


# --------------------------------------------------------------------------- scoring
def score_value(value, threshold: float, target: float, cap: float):
    """Score a value: 0 at ``threshold``, 1 at ``target``, linear between, never below 0 nor above ``cap``.

    Works for measures where lower is better too (``threshold`` above ``target``).

    >>> float(score_value(0.8, 0.6, 1.0, 1.5))
    0.5
    """
    raw = (np.asarray(value, dtype=float) - threshold) / (target - threshold)
    return np.clip(raw, 0.0, cap)


def band_of(composite, bands: dict[str, float]) -> np.ndarray:
    """Return the rating band of each composite score: the highest band whose start it reaches."""
    ordered = sorted(bands.items(), key=lambda item: -item[1])
    values = np.asarray(composite, dtype=float)
    out = np.full(values.shape, ordered[-1][0], dtype=object)
    for name, start in reversed(ordered):
        out[values >= start - 1e-12] = name
    out[np.isnan(values)] = None
    return out


def tenure_labels(edges: list[int]) -> list[str]:
    """Return the tenure group labels for month ``edges`` [6, 12, 36]: "< 6 months" ... "36+ months"."""
    return ([f"< {edges[0]} months"] + [f"{a}-{b} months" for a, b in zip(edges, edges[1:])]
            + [f"{edges[-1]}+ months"])


def tenure_group(months, edges: list[int]) -> np.ndarray:
    """Return tenure group labels ("< 6 months", "6-12 months", ..., "36+ months") for tenure in months."""
    labels = tenure_labels(edges)
    index = np.searchsorted(np.asarray(edges, dtype=float), np.asarray(months, dtype=float), side="right")
    return np.asarray(labels, dtype=object)[index]


@dataclass(frozen=True)
class Scorecards:
    """The scores of one period.

    Attributes
    ----------
    sheet : DataFrame
        One row per rep and measure, every step: rep_id, name, team, region, kpi, metric, source, basis,
        numerator, denominator, value, threshold, target, cap, raw_score, score, weight, effective_weight,
        weighted_score, composite, band.
    scores : DataFrame
        One row per rep: rep_id, name, team, region, tenure_months, tenure_group, one column per measure
        (its score), measured (measures with a value), composite, band; best composite first.
    spread : DataFrame
        group_type (region, tenure), group, reps, mean, median, min, max, gap (mean - everyone's mean),
        flagged (|gap| > fairness_gap), then the share of the group's reps in each band.
    period : str
    """

    sheet: pd.DataFrame
    scores: pd.DataFrame
    spread: pd.DataFrame
    period: str


def score(scorecard, measures: pd.DataFrame, roster: pd.DataFrame, *, end, period: str) -> Scorecards:
    """Score measured values, weigh them into a composite and give each rep a band.

    A measure that cannot be measured for a rep (no customers a year ago, no survey) does not count
    against them: its weight is shared over the rep's other measures (``effective_weight``).

    Parameters
    ----------
    scorecard : planlib.config.Scorecard
        With its measures spelled out (:func:`resolved`).
    measures : DataFrame
        From :func:`measure`.
    roster : DataFrame
        rep_id, name, team, region, hire_date.
    end : date-like
        Last day of the period (tenure is measured to it).
    period : str

    Returns
    -------
    Scorecards
    """
    spec = pd.DataFrame([{"kpi": k.name, "threshold": k.threshold, "target": k.target, "cap": k.cap,
                          "weight": k.weight} for k in scorecard.kpis])
    sheet = measures.merge(spec, on="kpi", how="left", validate="many_to_one")
    sheet["raw_score"] = (sheet["value"] - sheet["threshold"]) / (sheet["target"] - sheet["threshold"])
    sheet["score"] = np.clip(sheet["raw_score"], 0.0, sheet["cap"])
    measured = sheet["value"].notna()
    weight_measured = sheet["weight"].where(measured, 0.0).groupby(sheet["rep_id"]).transform("sum")
    sheet["effective_weight"] = np.where(measured, sheet["weight"] / weight_measured.where(weight_measured > 0), 0.0)
    sheet["weighted_score"] = sheet["score"].fillna(0.0) * sheet["effective_weight"]
    composite = sheet.groupby("rep_id", sort=False)["weighted_score"].sum()
    composite[sheet.groupby("rep_id", sort=False)["value"].count() == 0] = np.nan
    sheet["composite"] = sheet["rep_id"].map(composite)
    sheet["band"] = band_of(sheet["composite"], scorecard.bands)
    people = roster.drop_duplicates("rep_id").set_index("rep_id")
    for col in ("name", "team", "region"):
        sheet[col] = sheet["rep_id"].map(people[col])
    sheet = sheet[["rep_id", "name", "team", "region", "kpi", "metric", "source", "basis", "numerator",
                   "denominator", "value", "threshold", "target", "cap", "raw_score", "score", "weight",
                   "effective_weight", "weighted_score", "composite", "band"]]

    wide = sheet.pivot(index="rep_id", columns="kpi", values="score").reindex(columns=[k.name for k in scorecard.kpis])
    reps = pd.Index(pd.unique(sheet["rep_id"]), name="rep_id")
    scores = pd.DataFrame(index=reps)
    scores["name"] = people["name"].reindex(reps)
    scores["team"] = people["team"].reindex(reps)
    scores["region"] = people["region"].reindex(reps)
    hired = pd.to_datetime(people["hire_date"].reindex(reps))
    scores["tenure_months"] = ((pd.Timestamp(end) - hired).dt.days / DAYS_PER_MONTH).round(1)
    scores["tenure_group"] = tenure_group(scores["tenure_months"].fillna(np.inf), scorecard.tenure_bands)
    scores = scores.join(wide.reindex(reps))
    scores["measured"] = sheet.groupby("rep_id")["value"].count().reindex(reps).astype(int)
    scores["composite"] = composite.reindex(reps)
    scores["band"] = band_of(scores["composite"], scorecard.bands)
    scores = scores.reset_index().sort_values(["composite", "rep_id"], ascending=[False, True],
                                              kind="stable").reset_index(drop=True)
    return Scorecards(sheet.reset_index(drop=True), scores, spread(scores, scorecard), period)


def spread(scores: pd.DataFrame, scorecard) -> pd.DataFrame:
    """Return the spread of composite scores by region and by tenure group, flagging groups far from the rest.

    A scorecard that is fair scores people of every region and tenure alike on average; a group whose
    mean differs from everyone's by more than ``scorecard.fairness_gap`` is flagged for a look (the
    target split or a measure may favour some groups).

    Parameters
    ----------
    scores : DataFrame
        ``Scorecards.scores``: region, tenure_group, composite, band.
    scorecard : planlib.config.Scorecard

    Returns
    -------
    DataFrame
        group_type, group, reps, mean, median, min, max, gap, flagged, share_<band> for each band.
    """
    scored = scores[scores["composite"].notna()]
    overall = float(scored["composite"].mean()) if len(scored) else np.nan
    bands = [b for b, _ in sorted(scorecard.bands.items(), key=lambda item: -item[1])]
    orders = {"region": sorted(scored["region"].dropna().unique()),
              "tenure": [g for g in tenure_labels(scorecard.tenure_bands) if g in set(scored["tenure_group"])]}
    rows = []
    for group_type, column in (("region", "region"), ("tenure", "tenure_group")):
        for group in orders[group_type]:
            values = scored.loc[scored[column] == group]
            gap = float(values["composite"].mean()) - overall
            row = {"group_type": group_type, "group": group, "reps": len(values),
                   "mean": float(values["composite"].mean()), "median": float(values["composite"].median()),
                   "min": float(values["composite"].min()), "max": float(values["composite"].max()),
                   "gap": gap, "flagged": bool(abs(gap) > scorecard.fairness_gap)}
            for band in bands:
                row[f"share_{band}"] = float((values["band"] == band).mean())
            rows.append(row)
    columns = ["group_type", "group", "reps", "mean", "median", "min", "max", "gap", "flagged",
               *[f"share_{b}" for b in bands]]
    return pd.DataFrame(rows, columns=columns)


def scorecards(scorecard, *, sales: pd.DataFrame, roster: pd.DataFrame, rep_targets: pd.Series,
               kpis: pd.DataFrame | None, start, end, quarter: str) -> Scorecards:
    """Measure and score every rep with a target in the period (see :func:`measure` and :func:`score`).

    Raises
    ------
    ConfigError
        If a measure cannot be measured from the data (see :func:`validate_scorecard`).
    """
    tables = {"sales": sales, "kpis": kpis} if kpis is not None else {"sales": sales}
    validate_scorecard(scorecard, tables)
    scorecard = resolved(scorecard, tables)
    measures = measure(scorecard, sales=sales, rep_targets=rep_targets, kpis=kpis, start=start, end=end,
                       quarter=quarter)
    return score(scorecard, measures, roster, end=end, period=quarter)
