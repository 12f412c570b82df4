"""Altair chart builders with one theme, rendered as static SVG so every chart shows offline.

Importing this package registers and enables the ``planlib`` renderer: a chart
displayed in a notebook becomes an ``image/svg+xml`` output drawn by
vl-convert (no script, no CDN; text in the SVG is escaped by the XML writer).
Generic builders (line, bars, stacked_share, heatmap, waterfall, gantt) live
here; topic charts in submodules (``planlib.charts.market``, ``.forecast``).
"""
from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd
import vl_convert as vlc

from planlib.core.errors import DataError

FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, Helvetica, Arial, sans-serif"
PALETTE = ["#1f5f8b", "#e07b39", "#3a9a5b", "#b8434b", "#7a5ea8", "#8c6d46", "#d16ba5", "#6b6b6b"]
# Waterfall steps: the same three colours in every bridge chart of the plan.
STEP_COLORS = {"increase": "#3a9a5b", "decrease": "#b8434b", "total": "#1f5f8b"}
WIDTH = 640
HEIGHT = 280
AXIS_MONEY = ",.2~f"  # d3 format: thousands separators, at most two decimals, no trailing zeros


def _vl_version() -> str:
    major_minor = alt.SCHEMA_VERSION.lstrip("v").split(".")[:2]
    return "v" + "_".join(major_minor)


def to_svg(chart: alt.TopLevelMixin) -> str:
    """Return the chart drawn as an SVG document.

    The same spec gives the same bytes: data sets are named by a hash of their
    content and vl-convert draws without clocks or random ids.
    """
    return vlc.vegalite_to_svg(chart.to_dict(), vl_version=_vl_version())


def _svg_renderer(spec: dict, **metadata) -> dict:
    svg = vlc.vegalite_to_svg(spec, vl_version=_vl_version())
    return {"image/svg+xml": svg, "text/plain": "<chart>"}


def theme() -> dict:
    """Return the planlib Altair theme: one font with CJK glyphs, one palette, readable titles."""
    return {
        "config": {
            "font": FONT,
            "view": {"continuousWidth": WIDTH, "continuousHeight": HEIGHT, "stroke": None},
            "range": {"category": PALETTE},
            "mark": {"color": PALETTE[0]},
            "bar": {"color": PALETTE[0]},
            "line": {"color": PALETTE[0], "strokeWidth": 2},
            "title": {"fontSize": 14, "anchor": "start", "fontWeight": "bold", "subtitleFontSize": 11,
                      "subtitleColor": "#555", "limit": WIDTH},
            "axis": {"labelFontSize": 11, "titleFontSize": 11, "gridColor": "#e6e6e6", "labelLimit": 180},
            "legend": {"labelFontSize": 11, "titleFontSize": 11, "labelLimit": 200},
        }
    }


# --------------------------------------------------------------------------- helpers
def field(name: str) -> str:
    """Return a column name as a Vega-Lite field reference.

    Vega-Lite reads ``.`` and ``[]`` in a field as nested access, so a column
    such as ``"sales.amount"`` is escaped to mean that one column.
    """
    out = str(name)
    for ch in ("\\", ".", "[", "]"):
        out = out.replace(ch, "\\" + ch)
    return out


def require_columns(frame: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    """Raise DataError naming the chart and every missing column of ``frame``.

    Raises
    ------
    DataError
        If any of ``columns`` is missing.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{where}: the table lacks column(s) {missing}; it has {list(frame.columns)}; "
                        f"expected {list(columns)}")


def make_title(title: str, subtitle: str | None = None) -> alt.Title:
    """Return a chart title; ``title`` should say what the reader is meant to see."""
    if not str(title).strip():
        raise ValueError("a chart needs a title that says what to see, got an empty title")
    return alt.Title(str(title), subtitle=subtitle) if subtitle else alt.Title(str(title))


def with_unit(label: str, unit_label: str) -> str:
    """Return an axis title with the display unit, e.g. ``"Revenue (k CNY)"``."""
    return f"{label} ({unit_label})" if unit_label else label


def label_format(values: pd.Series, value_format: str | None = None) -> str:
    """Return a d3 format for value labels: fewer decimals for larger numbers."""
    if value_format:
        return value_format
    finite = pd.to_numeric(values, errors="coerce").abs().replace([np.inf], np.nan).dropna()
    top = float(finite.max()) if len(finite) else 0.0
    return ",.0f" if top >= 100 else (",.1~f" if top >= 10 else ",.2~f")


def _python_label(amount: float, d3_format: str, *, signed: bool) -> str:
    """Format ``amount`` in Python as the d3 format would ("~" trims trailing zeros), minus as U+2212."""
    trim = "~" in d3_format
    spec = d3_format.replace("~", "")
    if signed:
        spec = spec.replace(",", "+,", 1)
    text = format(amount, spec)
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace("-", "\u2212")


def category_axis(count: int) -> alt.Axis:
    """Return an axis for ``count`` categories: level labels when they fit, slanted when many."""
    return alt.Axis(labelAngle=0 if count <= 8 else -40)


def as_categories(series: pd.Series) -> pd.Series:
    """Return dates as readable category labels ("2027-03" for month starts); other values unchanged."""
    if not pd.api.types.is_datetime64_any_dtype(series):
        return series
    month_starts = bool((series.dropna().dt.day == 1).all())
    return series.dt.strftime("%Y-%m" if month_starts else "%Y-%m-%d")


def month_labels(months: pd.Series, periods: pd.DataFrame | None = None) -> pd.Series:
    """Return month starts as axis labels: "2027-03", or the period ("P03") in a week-based calendar.

    ``periods`` is the plan's fiscal months (month, period, weeks) from
    :func:`planlib.core.calendar.fiscal_month_starts`; a week-based period is keyed by the month it stands
    for, which is not its dates, so the axis names the period. A month outside the plan year keeps its date.
    """
    shown = pd.to_datetime(months).dt.strftime("%Y-%m")
    if periods is None or not periods["weeks"].notna().any():
        return shown
    names = pd.Series(periods["period"].str[-3:].to_numpy(), index=periods["month"].dt.strftime("%Y-%m"))
    return shown.map(names).fillna(shown)


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_datetime64_any_dtype(series):
        return "temporal"
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return "quantitative"
    return "nominal"


def _shown(frame: pd.DataFrame, columns: Sequence[str], unit: float) -> pd.DataFrame:
    """Copy ``frame`` with money ``columns`` divided by the display unit (the input keeps exact values)."""
    if unit <= 0:
        raise ValueError(f"unit must be positive (1000 = thousands), got {unit}")
    out = frame.copy()
    for col in columns:
        out[col] = out[col].astype(float) / unit
    return out


def _axis_format(y_format: str | None) -> str:
    return y_format or AXIS_MONEY


def _color(color: str | None, frame: pd.DataFrame, title: str | None = None) -> dict:
    if color is None:
        return {}
    order = list(pd.unique(frame[color].dropna()))
    return {"color": alt.Color(field=field(color), type="nominal", sort=order, title=title or color)}


# --------------------------------------------------------------------------- builders
def line(frame: pd.DataFrame, x: str, y: str, color: str | None = None, *, title: str,
         subtitle: str | None = None, unit: float = 1.0, unit_label: str = "", x_title: str | None = None,
         y_title: str | None = None, y_format: str | None = None, points: bool = False) -> alt.Chart:
    """Return a line chart of ``y`` over ``x``, one line per ``color`` value.

    Parameters
    ----------
    frame : DataFrame
        Long table with columns ``x``, ``y`` and optionally ``color``.
    x, y : str
        Columns on the axes; ``y`` is money shown divided by ``unit`` unless ``y_format`` is given.
    color : str, optional
        Column splitting the lines (in order of first appearance).
    title : str
        What the reader should see, e.g. "Revenue grew every year since 2023".
    unit, unit_label : float, str
        Display unit of money (1000, "k CNY"); ignored for a percent ``y_format``.
    y_format : str, optional
        d3 format of the y axis (e.g. ".0%"); the values are then not divided by ``unit``.

    Returns
    -------
    alt.Chart

    Raises
    ------
    DataError
        If a named column is missing.
    """
    require_columns(frame, [x, y] + ([color] if color else []), "line chart")
    shown = frame if y_format else _shown(frame, [y], unit)
    y_axis_title = (y_title or y) if y_format else with_unit(y_title or y, unit_label)
    x_kind = _kind(frame[x])
    x_enc = alt.X(field=field(x), type=x_kind, title=x_title or x,
                  sort=None if x_kind == "nominal" else "ascending")
    return alt.Chart(shown, title=make_title(title, subtitle)).mark_line(point=points).encode(
        x=x_enc,
        y=alt.Y(field=field(y), type="quantitative", title=y_axis_title, axis=alt.Axis(format=_axis_format(y_format))),
        **_color(color, frame),
    )


def bars(frame: pd.DataFrame, x: str, y: str, color: str | None = None, *, title: str,
         subtitle: str | None = None, horizontal: bool = False, stack: bool = False, labels: bool = False,
         unit: float = 1.0, unit_label: str = "", x_title: str | None = None, y_title: str | None = None,
         y_format: str | None = None, labels_format: str | None = None) -> alt.Chart | alt.LayerChart:
    """Return a bar chart of ``y`` per category ``x``: grouped (or stacked) by ``color``.

    Categories keep the order of ``frame`` (sort it first for a ranking).

    Parameters
    ----------
    frame : DataFrame
        Columns ``x`` (category), ``y`` (value) and optionally ``color``.
    horizontal : bool, default False
        Categories down the side (long names, rankings).
    stack : bool, default False
        With ``color``: stack the parts instead of placing them side by side.
    labels : bool, default False
        Write each bar's value at its end.
    unit, unit_label : float, str
        Display unit of money; ignored when ``y_format`` is given (e.g. ".0%" for growth).
    labels_format : str, optional
        d3 format of the labels; by default one chosen from the size of the values.

    Returns
    -------
    alt.Chart, or alt.LayerChart when ``labels`` is true.

    Raises
    ------
    DataError
        If a named column is missing.
    """
    require_columns(frame, [x, y] + ([color] if color else []), "bar chart")
    shown = frame.copy() if y_format else _shown(frame, [y], unit)
    value_title = (y_title or y) if y_format else with_unit(y_title or y, unit_label)
    shown[x] = as_categories(shown[x])
    order = list(pd.unique(shown[x]))
    category = dict(field=field(x), type="nominal", sort=order, title=x_title or x,
                    axis=alt.Axis() if horizontal else category_axis(len(order)))
    value = dict(field=field(y), type="quantitative", title=value_title,
                 axis=alt.Axis(format=_axis_format(y_format)), stack="zero" if stack else None)
    enc = {"y": alt.Y(**category), "x": alt.X(**value)} if horizontal else \
          {"x": alt.X(**category), "y": alt.Y(**value)}
    enc.update(_color(color, frame))
    if color and not stack:
        offset = dict(field=field(color), type="nominal", sort=list(pd.unique(frame[color].dropna())))
        enc["yOffset" if horizontal else "xOffset"] = alt.YOffset(**offset) if horizontal else alt.XOffset(**offset)
    base = alt.Chart(shown, title=make_title(title, subtitle)).properties(width=WIDTH)
    chart = base.mark_bar().encode(**enc)
    if not labels:
        return chart
    fmt = label_format(shown[y], labels_format or y_format)
    text_enc = {k: v for k, v in enc.items() if k != "color"}
    text_enc["text"] = alt.Text(field=field(y), type="quantitative", format=fmt)
    mark = (dict(align="left", dx=3, baseline="middle") if horizontal else dict(baseline="bottom", dy=-2))
    text = base.mark_text(fontSize=10, color="#333", **mark).encode(**text_enc)
    return alt.layer(chart, text)


def stacked_share(frame: pd.DataFrame, x: str, category: str, value: str, *, title: str,
                  subtitle: str | None = None, x_title: str | None = None, legend_title: str | None = None,
                  min_label_share: float = 0.04) -> alt.LayerChart:
    """Return 100% stacked bars: each ``category``'s share of ``value`` per ``x`` (e.g. year).

    Shares are computed here from ``value`` so the parts of every bar add to
    exactly 100%; segments stack in the order categories first appear.

    Parameters
    ----------
    frame : DataFrame
        Columns ``x``, ``category``, ``value`` (one row per x and category; values not negative).
    min_label_share : float, default 0.04
        Segments smaller than this carry no percentage label (it would not fit).

    Returns
    -------
    alt.LayerChart
        Bars with share labels.

    Raises
    ------
    DataError
        If a column is missing or a value is negative (a share of a negative total means nothing).
    """
    require_columns(frame, [x, category, value], "stacked share chart")
    negative = frame.loc[frame[value] < 0, [x, category, value]]
    if len(negative):
        rows = "; ".join(f"{r[x]}/{r[category]}: {r[value]}" for r in negative.to_dict("records"))
        raise DataError(f"stacked share chart: {value} must not be negative to show shares, found {rows}")
    order = list(pd.unique(frame[category].dropna()))
    parts = frame[[x, category, value]].copy()
    parts[x] = as_categories(parts[x])
    parts["_order"] = parts[category].map({c: i for i, c in enumerate(order)})
    parts = parts.sort_values([x, "_order"], kind="stable")
    totals = parts.groupby(x, sort=False)[value].transform("sum")
    parts["share"] = np.where(totals > 0, parts[value] / totals.where(totals > 0, 1.0), 0.0)
    parts["share_end"] = parts.groupby(x, sort=False)["share"].cumsum()
    parts["share_start"] = parts["share_end"] - parts["share"]
    parts["share_mid"] = (parts["share_start"] + parts["share_end"]) / 2
    parts["label"] = [f"{s:.0%}" if s >= min_label_share else "" for s in parts["share"]]
    parts = parts.drop(columns="_order")
    x_enc = alt.X(field=field(x), type="ordinal", title=x_title or x, axis=category_axis(parts[x].nunique()))
    base = alt.Chart(parts, title=make_title(title, subtitle)).properties(width=WIDTH)
    segments = base.mark_bar().encode(
        x=x_enc,
        y=alt.Y("share_start:Q", title="Share", axis=alt.Axis(format=".0%"), scale=alt.Scale(domain=[0, 1])),
        y2="share_end:Q",
        color=alt.Color(field=field(category), type="nominal", sort=order, title=legend_title or category),
        order=alt.Order("share_start:Q"),
    )
    text = base.mark_text(fontSize=10, color="white").encode(x=x_enc, y="share_mid:Q", text="label:N")
    return alt.layer(segments, text)


def heatmap(frame: pd.DataFrame, x: str, y: str, value: str, *, title: str, subtitle: str | None = None,
            unit: float = 1.0, unit_label: str = "", value_format: str | None = None, labels: bool = True,
            scheme: str = "blues", x_title: str | None = None,
            y_title: str | None = None) -> alt.Chart | alt.LayerChart:
    """Return a heatmap of ``value`` over ``x`` by ``y`` (e.g. month by region), with value labels.

    Parameters
    ----------
    frame : DataFrame
        Columns ``x``, ``y``, ``value`` (one row per cell); axes keep the order of first appearance.
    value_format : str, optional
        d3 format of values (e.g. ".0%"); then values are not divided by ``unit``.
    scheme : str, default "blues"
        Vega colour scheme; "redyellowgreen" for attainment-like values.

    Returns
    -------
    alt.Chart, or alt.LayerChart when ``labels`` is true.

    Raises
    ------
    DataError
        If a named column is missing.
    """
    require_columns(frame, [x, y, value], "heatmap")
    shown = frame if value_format else _shown(frame, [value], unit)
    legend_title = value if value_format else with_unit(value, unit_label)
    fmt = label_format(shown[value], value_format)
    vals = pd.to_numeric(shown[value], errors="coerce")
    low, high = (float(vals.min()), float(vals.max())) if vals.notna().any() else (0.0, 0.0)
    # dark cells get white text: the upper 40% of the colour range
    cut = low + 0.6 * (high - low)
    shown = shown.assign(_ink=np.where(vals > cut, "white", "#222"))
    shown[x] = as_categories(shown[x])
    shown[y] = as_categories(shown[y])
    x_order, y_order = list(pd.unique(shown[x])), list(pd.unique(shown[y]))
    base = alt.Chart(shown, title=make_title(title, subtitle)).properties(width=WIDTH)
    enc = dict(
        x=alt.X(field=field(x), type="ordinal", sort=x_order, title=x_title or x, axis=category_axis(len(x_order))),
        y=alt.Y(field=field(y), type="ordinal", sort=y_order, title=y_title or y),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(field=field(value), type="quantitative", title=legend_title,
                        scale=alt.Scale(scheme=scheme), legend=alt.Legend(format=fmt)),
        **enc,
    )
    if not labels:
        return cells
    text = base.mark_text(fontSize=10).encode(
        text=alt.Text(field=field(value), type="quantitative", format=fmt),
        color=alt.Color("_ink:N", scale=None, legend=None), **enc)
    # the label ink is a literal colour, not a second colour scale
    return alt.layer(cells, text).resolve_scale(color="independent")


def waterfall(frame: pd.DataFrame, label: str, amount: str, *, title: str, subtitle: str | None = None,
              total_label: str = "Total", unit: float = 1.0, unit_label: str = "",
              y_title: str = "Amount") -> alt.LayerChart:
    """Return a waterfall (bridge): each step from where the last ended, then a total bar.

    The first row usually is the starting point (e.g. last year's revenue):
    it rises from zero like any step, and the total bar shows the exact sum.

    Parameters
    ----------
    frame : DataFrame
        Columns ``label`` (unique step names, in order) and ``amount`` (signed).
    total_label : str, default "Total"
        Name of the closing bar; must not repeat a step name.

    Returns
    -------
    alt.LayerChart
        Bars (columns start, end, kind in the chart's data) with signed value labels.

    Raises
    ------
    DataError
        If a column is missing or step names repeat.
    """
    require_columns(frame, [label, amount], "waterfall")
    names = [str(v) for v in frame[label]]
    repeated = sorted({n for n in names if names.count(n) > 1 or n == total_label})
    if repeated:
        raise DataError(f"waterfall: step names must be unique and differ from the total bar "
                        f"{total_label!r}; repeated: {repeated}")
    amounts = frame[amount].astype(float).to_numpy()
    end = np.cumsum(amounts)
    start = end - amounts
    steps = pd.DataFrame({
        "step": names + [total_label],
        "amount": np.append(amounts, amounts.sum()) / unit,
        "start": np.append(start, 0.0) / unit,
        "end": np.append(end, amounts.sum()) / unit,
        "kind": ["increase" if a >= 0 else "decrease" for a in amounts] + ["total"],
    })
    steps["top"] = steps[["start", "end"]].max(axis=1)
    fmt = label_format(steps["amount"])
    # signed like d3's labels elsewhere: a true minus sign (U+2212), not a hyphen
    steps["label"] = [_python_label(a, fmt, signed=k != "total") for a, k in zip(steps["amount"], steps["kind"])]
    order = names + [total_label]
    base = alt.Chart(steps, title=make_title(title, subtitle)).properties(width=WIDTH)
    x_enc = alt.X("step:N", sort=order, title=None, axis=category_axis(len(order)))
    bars_ = base.mark_bar().encode(
        x=x_enc,
        y=alt.Y("start:Q", title=with_unit(y_title, unit_label), axis=alt.Axis(format=AXIS_MONEY)),
        y2="end:Q",
        color=alt.Color("kind:N", title=None, scale=alt.Scale(domain=list(STEP_COLORS),
                                                                range=list(STEP_COLORS.values()))),
    )
    text = base.mark_text(baseline="bottom", dy=-2, fontSize=10, color="#333").encode(
        x=x_enc, y="top:Q", text="label:N")
    return alt.layer(bars_, text)


def gantt(frame: pd.DataFrame, task: str, start: str, end: str, color: str | None = None, *, title: str,
          subtitle: str | None = None, today: pd.Timestamp | None = None) -> alt.Chart | alt.LayerChart:
    """Return a Gantt chart: one bar per ``task`` from ``start`` to ``end`` (tasks in frame order).

    Parameters
    ----------
    frame : DataFrame
        Columns ``task``, ``start``, ``end`` (dates) and optionally ``color`` (e.g. owner or status).
    today : Timestamp, optional
        Draw a vertical rule at this date (e.g. the plan's as-of day).

    Returns
    -------
    alt.Chart, or alt.LayerChart with the ``today`` rule.

    Raises
    ------
    DataError
        If a column is missing, a date does not parse, or a task ends before it starts (all such rows named).
    """
    require_columns(frame, [task, start, end] + ([color] if color else []), "gantt chart")
    shown = frame.copy()
    for col in (start, end):
        parsed = pd.to_datetime(shown[col], errors="coerce")
        bad = shown.loc[parsed.isna(), task].tolist()
        if bad:
            raise DataError(f"gantt chart: column {col!r} is not a date for task(s) {bad}")
        shown[col] = parsed
    backwards = shown.loc[shown[end] < shown[start], task].tolist()
    if backwards:
        raise DataError(f"gantt chart: task(s) {backwards} end before they start ({end} < {start})")
    base = alt.Chart(shown, title=make_title(title, subtitle)).properties(width=WIDTH)
    chart = base.mark_bar(cornerRadius=2).encode(
        x=alt.X(field=field(start), type="temporal", title=None, axis=alt.Axis(format="%b %Y")),
        x2=alt.X2(field=field(end)),
        y=alt.Y(field=field(task), type="nominal", sort=list(pd.unique(shown[task])), title=None),
        **_color(color, shown),
    )
    if today is None:
        return chart
    rule = alt.Chart(pd.DataFrame({"today": [pd.Timestamp(today)]})).mark_rule(
        color="#b8434b", strokeDash=[4, 3]).encode(x="today:T")
    return alt.layer(chart, rule)


alt.renderers.register("planlib", _svg_renderer)
alt.renderers.enable("planlib")
alt.theme.register("planlib", enable=True)(theme)
alt.data_transformers.disable_max_rows()

__all__ = [
    "AXIS_MONEY", "FONT", "HEIGHT", "PALETTE", "STEP_COLORS", "WIDTH", "bars", "commits", "field", "forecast", "gantt",
    "goals",
    "heatmap", "label_format", "line", "make_title", "market", "month_labels", "plan", "require_columns", "resources",
    "review",
    "risk", "stacked_share", "theme", "to_svg", "waterfall", "with_unit",
]

# The charts of each page; last, since each builds on the theme and helpers above.
from planlib.report.charts import commits, forecast, goals, market, plan, resources, review, risk  # noqa: E402
