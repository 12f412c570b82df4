"""Charts drawn to SVG and read back: titles, mark counts, labels in the display unit, escaping, same bytes."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from planlib import DataError
from planlib.report import charts
from planlib.report.charts import forecast as fc_charts
from planlib.report.charts import market as mk_charts

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = ["</script><script>alert(1)</script>", "<img src=x onerror=alert(1)>", "张三 & 李四"]


def draw(chart) -> ET.Element:
    """Render and parse: a parse error would mean the SVG is not well-formed XML."""
    return ET.fromstring(charts.to_svg(chart))


def mark_groups(root: ET.Element, kind: str) -> list[ET.Element]:
    """The mark containers of one kind ("rect", "text", "line", "area", "rule", ...)."""
    return [g for g in root.iter(f"{SVG}g") if f"mark-{kind} role-mark" in g.get("class", "")]


def marks(root: ET.Element, kind: str) -> list[ET.Element]:
    return [child for g in mark_groups(root, kind) for child in g]


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def mark_texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in marks(root, "text")]


def dataset(chart) -> list[dict]:
    """The rows of a chart's one data set (as the spec carries them)."""
    (values,) = chart.to_dict()["datasets"].values()
    return values


# --------------------------------------------------------------------------- base: renderer and escaping
def test_hostile_names_stay_text_in_the_svg():
    frame = pd.DataFrame({"rep": HOSTILE, "revenue": [3000.0, 2000.0, 1000.0]})
    chart = charts.bars(frame, "rep", "revenue", title="Top reps </script><b>x</b>", labels=True)
    svg = charts.to_svg(chart)
    root = ET.fromstring(svg)
    tags = {el.tag.replace(SVG, "") for el in root.iter()}
    assert not tags & {"script", "img", "foreignObject", "iframe", "style"}
    assert "<script" not in svg.lower() and "<img" not in svg.lower()
    assert "onerror=alert" not in svg.replace("&lt;img src=x onerror=alert(1)&gt;", "")
    # the names are drawn, exactly, as text
    shown = texts(root)
    for name in HOSTILE:
        assert name in shown
    assert "Top reps </script><b>x</b>" in shown


def test_same_spec_gives_the_same_bytes():
    def build():
        frame = pd.DataFrame({"month": pd.date_range("2026-01-01", periods=6, freq="MS"),
                              "revenue": [1.5e6, 1.2e6, 1.9e6, 2.0e6, 1.7e6, 2.2e6]})
        return charts.line(frame, "month", "revenue", title="Revenue rose in spring", unit=1000, unit_label="k CNY")

    first, second = charts.to_svg(build()), charts.to_svg(build())
    assert first == second
    assert first.encode() == charts.to_svg(build()).encode()


def test_renderer_emits_static_svg_for_notebooks():
    import altair as alt

    assert alt.renderers.active == "planlib"
    frame = pd.DataFrame({"x": ["a", "b"], "y": [1.0, 2.0]})
    bundle = alt.renderers.get()(charts.bars(frame, "x", "y", title="Two bars").to_dict())
    assert set(bundle) == {"image/svg+xml", "text/plain"}
    assert bundle["image/svg+xml"].startswith("<svg")
    assert "<script" not in bundle["image/svg+xml"]


def test_a_dotted_column_name_is_one_field_not_a_path():
    frame = pd.DataFrame({"sales.region": ["East", "West"], "sales.amount": [10.0, 20.0]})
    root = draw(charts.bars(frame, "sales.region", "sales.amount", title="Dotted names", labels=True))
    assert len(marks(root, "rect")) == 2
    assert mark_texts(root) == ["10", "20"]


def test_missing_column_names_the_chart_and_the_columns():
    with pytest.raises(DataError, match=r"bar chart: the table lacks column\(s\) \['revenue'\]; it has \['rep'\]"):
        charts.bars(pd.DataFrame({"rep": ["a"]}), "rep", "revenue", title="x")


def test_a_chart_needs_a_title():
    with pytest.raises(ValueError, match="needs a title that says what to see"):
        charts.bars(pd.DataFrame({"x": ["a"], "y": [1.0]}), "x", "y", title="  ")


# --------------------------------------------------------------------------- generic builders
def test_bars_draw_one_mark_per_row_with_labels_in_the_display_unit():
    frame = pd.DataFrame({"region": ["East", "South", "North", "West", "Online"],
                          "revenue": [1_234_000.0, 987_600.0, 2_000_400.0, 15_500.0, -40_000.0]})
    chart = charts.bars(frame, "region", "revenue", title="East leads", labels=True, unit=1000, unit_label="k CNY")
    root = draw(chart)
    assert len(marks(root, "rect")) == 5
    assert mark_texts(root) == ["1,234", "988", "2,000", "16", "\u221240"]  # d3 writes a true minus
    assert "revenue (k CNY)" in texts(root)
    assert "East leads" in texts(root)
    assert frame["revenue"].iloc[0] == 1_234_000.0  # the caller's table keeps exact values


def test_grouped_bars_place_each_colour_beside_the_other():
    frame = pd.DataFrame({"region": ["East", "East", "West", "West"], "year": ["2025", "2026"] * 2,
                          "revenue": [10.0, 12.0, 8.0, 9.0]})
    chart = charts.bars(frame, "region", "revenue", "year", title="Both regions grew")
    root = draw(chart)
    bars = marks(root, "rect")
    assert len(bars) == 4
    spec = chart.to_dict()
    assert spec["encoding"]["xOffset"]["field"] == "year"
    assert spec["encoding"]["y"]["stack"] is None


def test_line_divides_money_by_the_unit_and_names_it():
    frame = pd.DataFrame({"month": pd.date_range("2026-01-01", periods=3, freq="MS"),
                          "region": ["East"] * 3, "revenue": [1000.0, 2500.0, 4000.0]})
    chart = charts.line(frame, "month", "revenue", "region", title="Revenue climbs", unit=1000, unit_label="k CNY")
    assert [row["revenue"] for row in dataset(chart)] == [1.0, 2.5, 4.0]
    root = draw(chart)
    assert "revenue (k CNY)" in texts(root)
    assert len(marks(root, "line")) == 1  # one region, one line


def test_line_with_a_percent_format_keeps_fractions():
    frame = pd.DataFrame({"year": [2024, 2025], "growth": [0.05, 0.125]})
    chart = charts.line(frame, "year", "growth", title="Growth doubled", y_format=".0%", unit=1000)
    assert [row["growth"] for row in dataset(chart)] == [0.05, 0.125]
    assert chart.to_dict()["encoding"]["y"]["axis"]["format"] == ".0%"


def test_stacked_share_adds_to_one_per_bar_and_labels_shares():
    frame = pd.DataFrame({"year": [2025, 2025, 2025, 2026, 2026],
                          "region": ["East", "West", "North", "East", "West"],
                          "revenue": [50.0, 30.0, 20.0, 3.0, 1.0]})
    chart = charts.stacked_share(frame, "year", "region", "revenue", title="East holds half")
    rows = pd.DataFrame(dataset(chart))
    assert rows.groupby("year")["share"].sum().tolist() == pytest.approx([1.0, 1.0])
    assert rows["share"].tolist() == pytest.approx([0.5, 0.3, 0.2, 0.75, 0.25])
    root = draw(chart)
    assert len(marks(root, "rect")) == 5
    assert mark_texts(root) == ["50%", "30%", "20%", "75%", "25%"]


def test_stacked_share_refuses_negative_parts():
    frame = pd.DataFrame({"year": [2025, 2025], "region": ["East", "West"], "revenue": [10.0, -2.0]})
    with pytest.raises(DataError, match=r"must not be negative.*2025/West: -2.0"):
        charts.stacked_share(frame, "year", "region", "revenue", title="x")


def test_heatmap_draws_a_cell_and_a_label_per_row():
    frame = pd.DataFrame({"month": pd.date_range("2026-01-01", periods=3, freq="MS").repeat(2),
                          "region": ["East", "West"] * 3,
                          "revenue": [1000.0, 2000.0, 3000.0, 4000.0, 5000.0, 6000.0]})
    root = draw(charts.heatmap(frame, "month", "region", "revenue", title="West sells more", unit=1000,
                               unit_label="k"))
    assert len(marks(root, "rect")) == 6
    assert mark_texts(root) == ["1", "2", "3", "4", "5", "6"]
    assert {"2026-01", "2026-02", "2026-03"} <= set(texts(root))
    ink = [t.get("fill") for t in marks(root, "text")]
    assert ink == ["#222", "#222", "#222", "#222", "white", "white"]  # dark cells (top 40%) get white text


def test_waterfall_steps_from_the_last_end_and_closes_with_the_exact_total():
    frame = pd.DataFrame({"step": ["FY2026 revenue", "New customers", "Price", "Churn"],
                          "amount": [10_000_000.0, 1_500_000.0, 250_000.0, -750_000.0]})
    chart = charts.waterfall(frame, "step", "amount", title="Churn eats half of the new business",
                             unit=1000, unit_label="k CNY", total_label="FY2027 target")
    steps = pd.DataFrame(dataset(chart))
    assert steps["step"].tolist() == ["FY2026 revenue", "New customers", "Price", "Churn", "FY2027 target"]
    assert steps["start"].tolist() == [0.0, 10_000.0, 11_500.0, 11_750.0, 0.0]
    assert steps["end"].tolist() == [10_000.0, 11_500.0, 11_750.0, 11_000.0, 11_000.0]
    assert steps["kind"].tolist() == ["increase", "increase", "increase", "decrease", "total"]
    root = draw(chart)
    bars = marks(root, "rect")
    assert len(bars) == 5
    assert [b.get("fill") for b in bars] == [charts.STEP_COLORS[k] for k in steps["kind"]]
    assert mark_texts(root) == ["+10,000", "+1,500", "+250", "\u2212750", "11,000"]
    assert "Amount (k CNY)" in texts(root)


def test_waterfall_refuses_repeated_step_names():
    frame = pd.DataFrame({"step": ["Start", "Total", "Start"], "amount": [1.0, 2.0, 3.0]})
    with pytest.raises(DataError, match=r"step names must be unique.*repeated: \['Start', 'Total'\]"):
        charts.waterfall(frame, "step", "amount", title="x")


def test_gantt_draws_one_bar_per_task_and_names_backward_tasks():
    frame = pd.DataFrame({"task": ["Hire 2 reps", "Launch Services push", "Price review"],
                          "start": ["2027-01-01", "2027-03-01", "2027-06-01"],
                          "end": ["2027-03-31", "2027-09-30", "2027-06-30"],
                          "owner": ["HR", "Sales", "Finance"]})
    chart = charts.gantt(frame, "task", "start", "end", "owner", title="Hiring comes first",
                         today=pd.Timestamp("2027-02-01"))
    root = draw(chart)
    assert len(marks(root, "rect")) == 3
    assert len(marks(root, "rule")) == 1
    assert {"Hire 2 reps", "Launch Services push", "Price review"} <= set(texts(root))
    backwards = frame.assign(end=["2026-12-01", "2027-09-30", "2027-05-01"])
    with pytest.raises(DataError, match=r"\['Hire 2 reps', 'Price review'\] end before they start"):
        charts.gantt(backwards, "task", "start", "end", title="x")


# --------------------------------------------------------------------------- market charts
def test_market_trend_has_a_bar_per_month_and_the_rolling_line_from_month_12():
    ds = pd.date_range("2025-01-01", periods=24, freq="MS")
    revenue = np.arange(1, 25) * 1000.0
    rolling = pd.Series(revenue).rolling(12).sum()
    frame = pd.DataFrame({"ds": ds, "revenue": revenue, "rolling_12m": rolling})
    chart = mk_charts.trend(frame, title="Rolling revenue keeps rising", unit=1000, unit_label="k CNY")
    root = draw(chart)
    assert len(marks(root, "rect")) == 24
    line_path = marks(root, "line")
    assert len(line_path) == 1 and line_path[0].get("d").count("L") == 12  # 13 points: months 12..24
    assert "Rolling 12-month revenue (line) (k CNY)" in texts(root)


def test_growth_chart_labels_a_partial_year_and_each_bar():
    frame = pd.DataFrame({"year": [2024, 2025, 2025, 2026, 2026], "region": ["East", "East", "West", "East", "West"],
                          "months": [12, 12, 12, 10, 10], "growth": [np.nan, 0.1, -0.05, 0.08, 0.02]})
    root = draw(mk_charts.growth(frame, "region", title="East grows fastest"))
    assert len(marks(root, "rect")) == 4  # 2024 has no growth figure
    assert "2026 (Jan-Oct)" in texts(root)
    assert sorted(mark_texts(root)) == sorted(["+10.0%", "\u22125.0%", "+8.0%", "+2.0%"])
    with pytest.raises(DataError, match="no growth figures to show for years \\[2024\\]"):
        mk_charts.growth(frame, "region", title="x", years=[2024])


def test_seasonality_bars_start_at_an_average_month():
    index = [0.8, 0.9, 1.2, 1.1, 1.0, 1.0, 0.95, 0.85, 1.05, 1.1, 1.2, 0.85]
    frame = pd.DataFrame({"month": range(1, 13), "seasonal_index": index})
    root = draw(mk_charts.seasonality(frame, title="March and November peak"))
    assert len(marks(root, "rect")) == 12
    assert mark_texts(root)[:3] == ["+20%", "+10%", "+0%"]  # labels of the months at or above average first
    assert "\u221220%" in mark_texts(root) and "Jan" in texts(root) and "Dec" in texts(root)
    with pytest.raises(DataError, match=r"month must be 1-12, found \[13\]"):
        mk_charts.seasonality(pd.DataFrame({"month": [13], "seasonal_index": [1.0]}), title="x")


def test_customer_mix_shows_new_and_existing_shares():
    frame = pd.DataFrame({"year": [2025, 2025, 2026, 2026], "customer_type": ["new", "existing"] * 2,
                          "revenue": [25.0, 75.0, 10.0, 90.0]})
    root = draw(mk_charts.mix(frame, "customer_type", title="New customers bring a tenth"))
    assert mark_texts(root) == ["25%", "75%", "10%", "90%"]


def test_pareto_marks_where_the_curve_reaches_80_percent():
    # revenues 60, 20, 10, 6, 4: the top 2 of 5 customers (40%) bring 80%
    frame = pd.DataFrame({"customer_rank_share": [0.2, 0.4, 0.6, 0.8, 1.0],
                          "cum_revenue_share": [0.6, 0.8, 0.9, 0.96, 1.0],
                          "abc_class": ["A", "A", "B", "B", "C"]})
    root = draw(mk_charts.pareto(frame, title="Two customers carry the business"))
    shown = texts(root)
    assert "40% of customers bring 80% of revenue" in shown
    assert {"A: 40% of customers", "B: 40% of customers", "C: 20% of customers"} <= set(shown)
    assert len(marks(root, "rect")) == 3  # one band per class
    with pytest.raises(DataError, match="customer table is empty"):
        mk_charts.pareto(frame.iloc[0:0], title="x")


def test_market_share_draws_market_and_our_part_with_share_labels():
    frame = pd.DataFrame({"region": ["East", "West"], "market_size": [50_000_000.0, 20_000_000.0],
                          "revenue": [5_000_000.0, 3_000_000.0], "our_share": [0.1, 0.15]})
    root = draw(mk_charts.market_share(frame, title="West is small but ours", unit=1000, unit_label="k CNY"))
    assert len(marks(root, "rect")) == 4
    assert mark_texts(root) == ["50,000", "20,000", "our share 10.0%", "our share 15.0%"]
    with pytest.raises(DataError, match=r"market_size must be positive, not for region\(s\) \['West'\]"):
        mk_charts.market_share(frame.assign(market_size=[1.0, 0.0]), title="x")


# --------------------------------------------------------------------------- forecast charts
def _fan_inputs():
    history = pd.DataFrame({"unique_id": "company", "ds": pd.date_range("2026-01-01", periods=10, freq="MS"),
                            "y": np.arange(10, 20) * 1000.0})
    yhat = np.array([20.0, 21.0, 22.0]) * 1000
    forecast = pd.DataFrame({"unique_id": "company", "ds": pd.date_range("2026-11-01", periods=3, freq="MS"),
                             "yhat": yhat, "lo_80": yhat - 1000, "hi_80": yhat + 1000, "lo_95": yhat - 2000,
                             "hi_95": yhat + 2000})
    return history, forecast


def test_fan_chart_joins_the_forecast_to_history_and_draws_both_bands():
    history, forecast = _fan_inputs()
    chart = fc_charts.fan_chart(history, forecast, title="FY2027 is likely 60-70 k", unit=1000, unit_label="k CNY")
    spec = chart.to_dict()
    data = {name: pd.DataFrame(rows) for name, rows in spec["datasets"].items()}
    lines = next(d for d in data.values() if "value" in d)
    fcst = lines[lines["what"] == "Forecast"]
    assert fcst["value"].tolist() == [19.0, 20.0, 21.0, 22.0]  # starts at the last actual month
    bands = next(d for d in data.values() if "lo" in d)
    assert bands.loc[bands["what"] == "80% interval", "lo"].tolist() == [19.0, 20.0, 21.0]
    assert bands.loc[bands["what"] == "95% interval", "hi"].tolist() == [22.0, 23.0, 24.0]
    root = draw(chart)
    assert len(marks(root, "area")) == 2 and len(marks(root, "line")) == 2
    assert set(fc_charts.FAN_DOMAIN) <= set(texts(root))


def test_fan_chart_refuses_several_series():
    history, forecast = _fan_inputs()
    two = pd.concat([history, history.assign(unique_id="region/East")])
    with pytest.raises(DataError, match=r"history table holds several series \['company', 'region/East'\]"):
        fc_charts.fan_chart(two, forecast, title="x")
    with pytest.raises(DataError, match="history is 'company' but the forecast is 'region/East'"):
        fc_charts.fan_chart(history, forecast.assign(unique_id="region/East"), title="x")


def test_backtest_chart_puts_the_chosen_model_beside_seasonal_naive():
    backtest = pd.DataFrame({"unique_id": ["company", "company", "region/East", "region/East"],
                             "model": ["ets", "snaive", "snaive", "combination"],
                             "mase": [0.7, 1.0, 0.9, 0.8], "chosen": [True, False, False, True]})
    root = draw(fc_charts.backtest_accuracy(backtest, title="Models beat the naive benchmark"))
    assert len(marks(root, "rect")) == 4
    assert mark_texts(root) == ["ETS 0.70", "1.00", "combination 0.80", "0.90"]
    assert {"The company", "Region East"} <= set(texts(root))  # series named in words, not "region/East"
    with pytest.raises(DataError, match=r"series without a 'snaive' row \['company'\]"):
        fc_charts.backtest_accuracy(backtest.iloc[[0, 2, 3]], title="x")


def test_waterfall_labels_small_amounts_like_d3():
    # amounts under 10 display units take the ",.2~f" format, which Python's format() does not know
    import planlib.report.charts as charts
    frame = pd.DataFrame({"step": ["a", "b"], "amount": [1.5, -2.25]})
    chart = charts.waterfall(frame, "step", "amount", title="small steps")
    labels = list(chart.to_dict()["datasets"].values())[0]
    shown = sorted(row["label"] for row in labels)
    assert shown == ["+1.5", "\u22120.75", "\u22122.25"]


def test_fan_charts_draw_the_configured_levels():
    """forecast.levels [80, 90] (or any): the bands are the narrowest and widest level the forecast holds."""
    from planlib.report.charts import goals as goal_charts

    history, forecast = _fan_inputs()
    yhat = forecast["yhat"]
    other = forecast.drop(columns=["lo_95", "hi_95"]).assign(lo_90=yhat - 1500, hi_90=yhat + 1500,
                                                            lo_85=yhat - 1200, hi_85=yhat + 1200)
    assert fc_charts.interval_levels(other) == [80, 85, 90]
    chart = fc_charts.fan_chart(history, other, title="x", unit=1000)
    bands = next(pd.DataFrame(rows) for rows in chart.to_dict()["datasets"].values() if "lo" in rows[0])
    assert sorted(set(bands["what"])) == ["80% interval", "90% interval"]
    assert bands.loc[bands["what"] == "90% interval", "lo"].tolist() == [18.5, 19.5, 20.5]
    root = draw(chart)
    assert len(marks(root, "area")) == 2
    assert {"80% interval", "90% interval"} <= set(texts(root)) and "95% interval" not in texts(root)

    one = fc_charts.fan_chart(history, forecast.drop(columns=["lo_80", "hi_80"]), title="x")
    assert len(marks(draw(one), "area")) == 1
    with pytest.raises(DataError, match=r"fan chart \(forecast\): no interval columns lo_<level>, hi_<level>"):
        fc_charts.fan_chart(history, forecast[["ds", "yhat"]], title="x")

    frame = pd.DataFrame({"ds": forecast["ds"], "actual": np.nan, "yhat": yhat, "lo_80": yhat - 1000,
                          "hi_80": yhat + 1000, "lo_90": yhat - 1500, "hi_90": yhat + 1500,
                          "lo_95": np.nan, "hi_95": np.nan, "target": yhat})  # 95 absent: NaN columns
    spec = goal_charts.monthly_fan(frame, title="x", unit=1000).to_dict()
    assert [layer["encoding"]["y"]["field"] for layer in spec["layer"][:2]] == ["lo_90", "lo_80"]
    assert len(marks(draw(goal_charts.monthly_fan(frame, title="x")), "area")) == 2


def test_capacity_chart_has_a_legend_for_target_and_both_capacities():
    from planlib.report.charts.resources import capacity_vs_target

    months = pd.date_range("2027-01-01", periods=3, freq="MS")
    by_month = pd.DataFrame({"region": ["North"] * 3 + ["South"] * 3, "month": list(months) * 2,
                             "target": [3.0, 3, 3] * 2, "capacity_without_hires": [2.0, 2, 2] * 2,
                             "capacity_with_hires": [3.5, 3.5, 3.5] * 2})
    root = draw(capacity_vs_target(by_month, title="Capacity against target"))
    # three lines per region and a legend that says which is which (a dash-only legend used to hide it)
    assert len(marks(root, "line")) == 6
    assert {"Target", "Capacity, no hires", "Capacity with hires"} <= set(texts(root))


def test_month_axis_charts_of_a_week_based_plan_label_periods_not_dates():
    from planlib.core.calendar import fiscal_month_starts
    from planlib.report.charts import goals as goal_charts
    from planlib.report.charts import resources as res_charts

    periods = fiscal_month_starts(2027, 1, "4-4-5")
    months = periods["month"]
    by_month = pd.DataFrame({"region": "North", "month": months, "target": 100.0, "capacity_without_hires": 80.0,
                             "capacity_with_hires": 95.0})
    root = draw(res_charts.capacity_vs_target(by_month, title="Capacity against target", periods=periods))
    labels = texts(root)
    assert [f"P{n:02d}" for n in range(1, 13)] == [t for t in labels if t.startswith("P") and len(t) == 3]
    assert not [t for t in labels if "1970" in t or "NaT" in t or t.startswith("2027-")]
    monthly = texts(draw(res_charts.capacity_vs_target(by_month, title="Capacity against target")))
    assert "2027-01" in monthly and "P01" not in monthly  # a monthly plan keeps its months
    assert charts.month_labels(pd.Series(pd.to_datetime(["2026-12-01", "2027-03-01"])), periods).tolist() == [
        "2026-12", "P03"]  # a month outside the plan year keeps its date

    yhat = np.full(12, 100.0)
    frame = pd.DataFrame({"ds": months, "actual": np.nan, "yhat": yhat, "lo_80": yhat - 10, "hi_80": yhat + 10,
                          "lo_95": yhat - 20, "hi_95": yhat + 20, "target": yhat, "period": periods["name"]})
    fan = draw(goal_charts.monthly_fan(frame, title="Targets inside the band", subtitle="Actuals, forecast"))
    fan_texts = texts(fan)
    # the note is the subtitle's second line (one <text> of two <tspan> lines)
    note = "Each 4- or 5-week period's target sits at its month, scaled to the month's days"
    assert f"Actuals, forecast{note}" in fan_texts
    assert "2027-01" in fan_texts and not [t for t in fan_texts if "1970" in t or "NaT" in t]
    plain = texts(draw(goal_charts.monthly_fan(frame.assign(period=""), title="x", subtitle="Actuals, forecast")))
    assert not [t for t in plain if "4- or 5-week" in t]
