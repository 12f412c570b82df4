"""Diagnostics of a forecast for the notebooks: the fan-chart table of actuals and forecasts, each series'
backtest accuracy beside seasonal naive's, and the assessment of how far the forecast can be trusted.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from planlib.forecast.engine import ForecastResult

__all__ = ["accuracy_for_reader", "accuracy_table", "fan_chart_table", "model_name", "series_name",
           "trust_assessment"]

# The forecast models as a reader knows them (the engine's own names are code: "holt_winters").
MODEL_NAMES = {"snaive": "seasonal naive", "drift": "drift", "theta": "Theta", "stl_ets": "STL + ETS",
               "holt_winters": "damped Holt-Winters", "holt_winters_undamped": "undamped Holt-Winters", "ets": "ETS",
               "sarima": "SARIMA"}
_LEVEL_NAMES = {"region": "region", "product": "product", "team": "team", "rep": "rep"}


def fan_chart_table(result: ForecastResult, unique_ids=None, history_periods: int = 24) -> pd.DataFrame:
    """Return actuals and forecasts of some series in one table, ready for a fan chart.

    Parameters
    ----------
    result : ForecastResult
    unique_ids : sequence of str, optional
        Series to include (default all).
    history_periods : int, default 24
        Periods of history shown before the forecast.

    Returns
    -------
    DataFrame
        unique_id, ds, kind ("actual" or "forecast"), y (actuals), yhat, lo_L, hi_L per level, model.
        The last actual is repeated as a forecast row (yhat = lo = hi = y) so band and line join up.
    """
    ids = sorted(result.forecasts["unique_id"].unique()) if unique_ids is None else list(unique_ids)
    bands = [c for lv in result.levels for c in (f"lo_{lv}", f"hi_{lv}")]
    hist = result.history[result.history["unique_id"].isin(ids)]
    hist = hist.groupby("unique_id", group_keys=False).tail(history_periods).assign(kind="actual")
    bridge = hist.groupby("unique_id").tail(1).assign(kind="forecast", yhat=lambda d: d["y"])
    for col in bands:
        bridge[col] = bridge["y"]
    fc = result.forecasts[result.forecasts["unique_id"].isin(ids)].assign(kind="forecast", y=np.nan)
    bridge["model"] = bridge["unique_id"].map(fc.drop_duplicates("unique_id").set_index("unique_id")["model"])
    bridge["y"] = np.nan
    out = pd.concat([hist, bridge, fc], ignore_index=True)
    cols = ["unique_id", "ds", "kind", "y", "yhat", *bands, "model"]
    return out.reindex(columns=cols).sort_values(["unique_id", "ds", "kind"]).reset_index(drop=True)


def accuracy_table(result: ForecastResult) -> pd.DataFrame:
    """Return each series' backtest accuracy beside seasonal naive's.

    Returns
    -------
    DataFrame
        unique_id, model (chosen), mase, smape, coverage_80, bias (the backtest's forecasts added up
        against the actuals: -0.05 is 5% under), mase_snaive, smape_snaive, mase_vs_snaive
        (chosen MASE / seasonal naive MASE; below 1 is better than naive).
    """
    bt = result.backtest
    chosen = bt[bt["chosen"]].set_index("unique_id")[["model", "mase", "smape", "coverage_80", "bias"]]
    naive = bt[bt["model"] == "snaive"].set_index("unique_id")[["mase", "smape"]].add_suffix("_snaive")
    out = chosen.join(naive, how="left")
    out["mase_vs_snaive"] = np.where(out["mase_snaive"] > 0, out["mase"] / out["mase_snaive"], np.nan)
    return out.reset_index().sort_values("unique_id").reset_index(drop=True)


def series_name(unique_id: str) -> str:
    """Return a forecast series' id in a reader's words.

    >>> series_name("company"), series_name("region/Nord"), series_name("region_product/Nord/Wartung")
    ('the company', 'region Nord', 'Nord × Wartung')
    """
    parts = str(unique_id).split("/")
    if parts == ["company"]:
        return "the company"
    if len(parts) == 2 and parts[0] in _LEVEL_NAMES:
        return f"{_LEVEL_NAMES[parts[0]]} {parts[1]}"
    if len(parts) >= 3:
        return " × ".join(parts[1:])
    return str(unique_id)


def model_name(model: str) -> str:
    """Return a forecast model's name in a reader's words: a combination names the models it averages.

    >>> model_name("holt_winters"), model_name("combo(theta+holt_winters+holt_winters_undamped)")
    ('damped Holt-Winters', 'average of Theta, damped Holt-Winters and undamped Holt-Winters')
    """
    text = str(model)
    if text.startswith("combo(") and text.endswith(")"):
        names = [MODEL_NAMES.get(m, m) for m in text[len("combo("):-1].split("+")]
        return "average of " + (" and ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " and " + names[-1])
    return MODEL_NAMES.get(text, text)


def accuracy_for_reader(result: ForecastResult) -> pd.DataFrame:
    """Return :func:`accuracy_table` with the series and models named in words and the columns labelled.

    Returns
    -------
    DataFrame
        Series, Model, MASE, sMAPE (%), Inside the 80% range, Bias, MASE of seasonal naive,
        sMAPE of seasonal naive (%), MASE against seasonal naive; one row per series, company first.
    """
    acc = accuracy_table(result)
    order = acc["unique_id"].map(lambda u: (u != "company", str(u).count("/"), str(u)))
    acc = acc.iloc[sorted(range(len(acc)), key=lambda i: order.iloc[i])].reset_index(drop=True)
    return pd.DataFrame({
        "Series": [series_name(u)[:1].upper() + series_name(u)[1:] for u in acc["unique_id"]],
        "Model": [model_name(m) for m in acc["model"]], "MASE": acc["mase"], "sMAPE (%)": acc["smape"],
        "Inside the 80% range": acc["coverage_80"], "Bias": acc["bias"],
        "MASE of seasonal naive": acc["mase_snaive"], "sMAPE of seasonal naive (%)": acc["smape_snaive"],
        "MASE against seasonal naive": acc["mase_vs_snaive"]})


def trust_assessment(result: ForecastResult) -> dict:
    """Say, as data, how far the forecast can be trusted.

    Returns
    -------
    dict
        n_series, mean_mase, mean_mase_snaive, improvement_vs_snaive (share of naive's error removed),
        coverage_80 (share of backtest actuals inside the 80% intervals), worst_series, worst_mase,
        top_series (the backtested series with the most sales) and top_bias (its backtest bias),
        n_fallbacks, n_warnings, verdict ("good", "usable" or "weak") and reasons (plain sentences).
    """
    acc = accuracy_table(result)
    scored = acc.dropna(subset=["mase"])
    mean_mase = float(scored["mase"].mean()) if len(scored) else float("nan")
    mean_naive = float(scored["mase_snaive"].mean()) if scored["mase_snaive"].notna().any() else float("nan")
    improvement = 1 - mean_mase / mean_naive if mean_naive and np.isfinite(mean_naive) else float("nan")
    coverage = float(scored["coverage_80"].mean()) if len(scored) else float("nan")
    worst = scored.sort_values(["mase", "unique_id"], ascending=[False, True]).head(1)
    notes = result.notes
    n_fallbacks = int(notes.loc[notes["kind"].isin(["fallback", "failed", "no_backtest"]), "unique_id"].nunique())
    n_warnings = int((notes["kind"] == "warning").sum())
    reasons = []
    if np.isfinite(improvement):
        reasons.append(f"In backtests the forecasts' errors were {abs(improvement):.0%} "
                       f"{'smaller' if improvement >= 0 else 'larger'} than repeating last year's months "
                       f"(mean MASE {mean_mase:.2f} against {mean_naive:.2f}).")
    if np.isfinite(coverage):
        reasons.append(f"The 80% ranges held {coverage:.0%} of what actually happened in the backtests.")
    if len(worst):
        reasons.append(f"The least predictable series is {series_name(worst['unique_id'].iloc[0])} "
                       f"(MASE {worst['mase'].iloc[0]:.2f}).")
    top, top_bias = _top_series(result, scored)
    if top is not None:
        reasons.append(f"Added up over the backtests, the chosen model's forecasts of {series_name(top)} "
                       f"(before the levels "
                       f"were made to add up) came out {abs(top_bias):.1%} {'above' if top_bias >= 0 else 'below'} "
                       f"what was sold.")
    cal = result.calendar
    if cal and cal["n_series"] and cal["mode"] is not False:
        change = f"{abs(1 - cal['error_ratio']):.1%} {'smaller' if cal['error_ratio'] < 1 else 'larger'}"
        if cal["adjusted"]:
            reasons.append(f"Sales were forecast per working day and multiplied back by each period's working days: "
                           f"per working day, year-on-year changes in the history were {change} "
                           f"({cal['helped']} of {cal['n_series']} series).")
            estimated = cal.get("estimated_years") or []
            if estimated:
                reasons.append(f"The make-up working days of {', '.join(map(str, estimated))} are not published "
                               f"yet, so that year's working days are an estimate.")
        else:
            reasons.append(f"Working days did not explain the history's year-on-year changes (per working day they "
                           f"were {change}), so sales were forecast as recorded.")
    launches = result.launches or {}
    if launches:
        methods = sorted({info["method"] for info in launches.values()})
        named = "; ".join(f"{uid} (first sale {info['first_sale']:%Y-%m}, {info['months']} months of sales)"
                          for uid, info in sorted(launches.items()))
        reasons.append(f"{len(launches)} series launched too recently to backtest, left out of the backtest figures "
                       f"above and of the calibration, were forecast from their {' / '.join(methods)}, with ranges "
                       f"from the other series' errors at their own scale: {named}.")
    if n_fallbacks:
        reasons.append(f"{n_fallbacks} series fell back to simpler methods (see the notes).")
    if not np.isfinite(improvement) or improvement <= 0:
        verdict = "weak"
    elif improvement >= 0.25 and 0.7 <= coverage <= 0.9:
        verdict = "good"
    else:
        verdict = "usable"
    return {
        "n_series": int(result.forecasts["unique_id"].nunique()), "mean_mase": mean_mase, "mean_mase_snaive": mean_naive,
        "improvement_vs_snaive": improvement, "coverage_80": coverage,
        "worst_series": worst["unique_id"].iloc[0] if len(worst) else None,
        "worst_mase": float(worst["mase"].iloc[0]) if len(worst) else float("nan"),
        "top_series": top, "top_bias": top_bias,
        "n_fallbacks": n_fallbacks, "n_warnings": n_warnings, "verdict": verdict, "reasons": reasons,
    }


def _top_series(result: ForecastResult, scored: pd.DataFrame) -> tuple[str | None, float]:
    """Return the backtested series with the largest history (the company total in a plan) and its bias."""
    if scored.empty:
        return None, float("nan")
    size = result.history.groupby("unique_id")["y"].sum().abs().reindex(scored["unique_id"]).fillna(0.0)
    top = str(size.sort_index().idxmax())
    return top, float(scored.set_index("unique_id").loc[top, "bias"])
