"""Charts of the forecast: the fan chart of one series and the backtest accuracy per series.

Inputs follow the ``forecast`` stage's tables (``ForecastResult.forecasts`` and
``.backtest``); money is shown in the display unit.
"""
from __future__ import annotations

import re

import altair as alt
import pandas as pd

from planlib.report.charts import AXIS_MONEY, PALETTE, WIDTH, make_title, require_columns, with_unit
from planlib.core.errors import DataError
from planlib.forecast.diagnostics import model_name, series_name

# One legend for lines and bands: the reader learns the colours once.
FAN_DOMAIN = ["History", "Forecast", "80% interval", "95% interval"]
FAN_RANGE = [PALETTE[0], PALETTE[1], "#f0a06c", "#f7d2b8"]


def interval_levels(frame: pd.DataFrame) -> list[int]:
    """Return the interval levels whose ``lo_<level>`` and ``hi_<level>`` columns ``frame`` holds (with a value),
    ascending: the forecast's ``forecast.levels``, whatever they are."""
    found = set()
    for column in frame.columns:
        m = re.fullmatch(r"lo_(\d+)", str(column))
        if m and f"hi_{m.group(1)}" in frame and frame[column].notna().any():
            found.add(int(m.group(1)))
    return sorted(found)


def _bands(levels: list[int]) -> list[int]:
    """The widest and the narrowest level (one when there is one), widest first: it is drawn under the other."""
    return sorted({levels[0], levels[-1]}, reverse=True)


def _one_series(frame: pd.DataFrame, name: str) -> None:
    if "unique_id" in frame and frame["unique_id"].nunique() > 1:
        raise DataError(f"fan chart: the {name} table holds several series {sorted(frame['unique_id'].unique())[:5]}; "
                        "filter it to one unique_id first")


def fan_chart(history: pd.DataFrame, forecast: pd.DataFrame, *, title: str, subtitle: str | None = None,
              unit: float = 1.0, unit_label: str = "", history_months: int | None = 36) -> alt.LayerChart:
    """Return a fan chart: actual history, the forecast, and its narrowest and widest bands (80% and 95% by default).

    The forecast line starts from the last actual month so the two lines join.

    Parameters
    ----------
    history : DataFrame
        ds (month start), y, optionally unique_id (one value only).
    forecast : DataFrame
        ds, yhat, lo_80, hi_80, lo_95, hi_95, optionally unique_id (the same one series).
    history_months : int or None, default 36
        Show only the last this many months of history (None: all).
    unit, unit_label : float, str
        Display unit of money.

    Returns
    -------
    alt.LayerChart

    Raises
    ------
    DataError
        If a column is missing, a table holds several series, or the series differ.
    """
    require_columns(history, ["ds", "y"], "fan chart (history)")
    require_columns(forecast, ["ds", "yhat"], "fan chart (forecast)")
    levels = interval_levels(forecast)
    if not levels:
        raise DataError("fan chart (forecast): no interval columns lo_<level>, hi_<level> (forecast.levels) with a "
                        f"value; found {list(forecast.columns)}")
    shown = _bands(levels)
    _one_series(history, "history")
    _one_series(forecast, "forecast")
    if "unique_id" in history and "unique_id" in forecast and len(history) and len(forecast) and \
            set(history["unique_id"]) != set(forecast["unique_id"]):
        raise DataError(f"fan chart: history is {history['unique_id'].iloc[0]!r} but the forecast is "
                        f"{forecast['unique_id'].iloc[0]!r}")
    hist = history[["ds", "y"]].assign(ds=lambda d: pd.to_datetime(d["ds"])).sort_values("ds")
    if history_months is not None:
        hist = hist.tail(history_months)
    fc = forecast[["ds", "yhat", *[c for lv in sorted(shown) for c in (f"lo_{lv}", f"hi_{lv}")]]].assign(
        ds=lambda d: pd.to_datetime(d["ds"])).sort_values("ds")
    lines = pd.concat([
        pd.DataFrame({"ds": hist["ds"], "value": hist["y"].astype(float), "what": "History"}),
        pd.DataFrame({"ds": hist["ds"].tail(1), "value": hist["y"].tail(1).astype(float), "what": "Forecast"}),
        pd.DataFrame({"ds": fc["ds"], "value": fc["yhat"].astype(float), "what": "Forecast"}),
    ], ignore_index=True)
    lines["value"] = lines["value"] / unit
    bands = pd.concat([
        pd.DataFrame({"ds": fc["ds"], "lo": fc[f"lo_{lv}"].astype(float) / unit,
                      "hi": fc[f"hi_{lv}"].astype(float) / unit, "what": f"{lv}% interval"})
        for lv in shown
    ], ignore_index=True)
    domain = ["History", "Forecast", *[f"{lv}% interval" for lv in sorted(shown)]]
    color = alt.Color("what:N", title=None, scale=alt.Scale(domain=domain, range=FAN_RANGE[:len(domain)]))
    x = alt.X("ds:T", title=None, axis=alt.Axis(format="%Y-%m"))
    y_title = with_unit("Revenue per month", unit_label)
    # the widest band (95%) is drawn first so the narrowest (80%) sits on top of it
    band_layers = [
        alt.Chart(bands).transform_filter(alt.datum.what == name).mark_area(opacity=0.9).encode(
            x=x, y=alt.Y("lo:Q", title=y_title, axis=alt.Axis(format=AXIS_MONEY)), y2="hi:Q", color=color)
        for name in [f"{lv}% interval" for lv in shown]
    ]
    line_layer = alt.Chart(lines).mark_line(strokeWidth=2).encode(
        x=x, y=alt.Y("value:Q", title=y_title), color=color,
        strokeDash=alt.StrokeDash("what:N", legend=None, scale=alt.Scale(domain=["History", "Forecast"],
                                                                           range=[[1, 0], [6, 3]])))
    return alt.layer(*band_layers, line_layer, title=make_title(title, subtitle)).properties(width=WIDTH)


def backtest_accuracy(backtest: pd.DataFrame, *, title: str, subtitle: str | None = None,
                      baseline: str = "snaive") -> alt.LayerChart:
    """Return MASE per series: the chosen model beside the seasonal naive baseline, with the 1.0 line.

    MASE below 1 means the model beat a naive in-sample benchmark; the chosen
    model's name is written at the end of its bar. Series and models are named in words
    (``planlib.forecast.series_name``, ``model_name``), not by their ids.

    Parameters
    ----------
    backtest : DataFrame
        unique_id, model, mase, chosen (bool; one chosen row per series), one row per series and
        model, as ``ForecastResult.backtest``.
    baseline : str, default "snaive"
        The model compared against.

    Returns
    -------
    alt.LayerChart

    Raises
    ------
    DataError
        If a column is missing, a series has no chosen model or no baseline row, or rows repeat.
    """
    require_columns(backtest, ["unique_id", "model", "mase", "chosen"], "backtest accuracy chart")
    dup = backtest.loc[backtest.duplicated(["unique_id", "model"]), ["unique_id", "model"]]
    if len(dup):
        raise DataError(f"backtest accuracy chart: one row per series and model expected, repeated: "
                        f"{dup.to_dict('records')[:5]}")
    series = list(pd.unique(backtest["unique_id"]))
    chosen = backtest.loc[backtest["chosen"].astype(bool)].set_index("unique_id")
    base_rows = backtest.loc[backtest["model"] == baseline].set_index("unique_id")
    no_choice = [s for s in series if s not in chosen.index]
    no_base = [s for s in series if s not in base_rows.index]
    if no_choice or no_base:
        raise DataError(f"backtest accuracy chart: series without a chosen model {no_choice}, "
                        f"series without a {baseline!r} row {no_base}")
    rows, named = [], {s: series_name(s)[:1].upper() + series_name(s)[1:] for s in series}  # words, not ids
    for s in series:
        rows.append({"unique_id": named[s], "which": "Chosen model", "mase": float(chosen.loc[s, "mase"]),
                     "label": f"{model_name(chosen.loc[s, 'model'])} {float(chosen.loc[s, 'mase']):.2f}"})
        rows.append({"unique_id": named[s], "which": "Seasonal naive", "mase": float(base_rows.loc[s, "mase"]),
                     "label": f"{float(base_rows.loc[s, 'mase']):.2f}"})
    table = pd.DataFrame(rows)
    which = ["Chosen model", "Seasonal naive"]
    enc = dict(
        y=alt.Y("unique_id:N", sort=[named[s] for s in series], title=None),
        yOffset=alt.YOffset("which:N", sort=which),
        x=alt.X("mase:Q", title="MASE in backtest (below 1 beats the naive benchmark)"),
    )
    base = alt.Chart(table).properties(width=WIDTH)
    bars_ = base.mark_bar().encode(color=alt.Color("which:N", title=None, sort=which, scale=alt.Scale(
        domain=which, range=[PALETTE[0], "#b5b5b5"])), **enc)
    text = base.mark_text(align="left", dx=3, fontSize=10, color="#333").encode(text="label:N", **enc)
    rule = alt.Chart(pd.DataFrame({"one": [1.0]})).mark_rule(color="#b8434b", strokeDash=[4, 3]).encode(x="one:Q")
    return alt.layer(bars_, text, rule, title=make_title(title, subtitle))


__all__ = ["FAN_DOMAIN", "FAN_RANGE", "backtest_accuracy", "fan_chart", "interval_levels"]
