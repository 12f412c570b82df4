"""Altair chart builders with one theme, rendered as static SVG so every chart shows offline.

Importing this package registers and enables the ``planlib`` renderer: a chart
displayed in a notebook becomes an ``image/svg+xml`` output drawn by
vl-convert (no script, no CDN; text in the SVG is escaped by the XML writer).
Topic chart builders live in submodules (``planlib.charts.market``, ...).
"""
from __future__ import annotations

import altair as alt
import vl_convert as vlc

FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, Helvetica, Arial, sans-serif"
PALETTE = ["#1f5f8b", "#e07b39", "#3a9a5b", "#b8434b", "#7a5ea8", "#8c6d46", "#d16ba5", "#6b6b6b"]
WIDTH = 640
HEIGHT = 280


def _vl_version() -> str:
    major_minor = alt.SCHEMA_VERSION.lstrip("v").split(".")[:2]
    return "v" + "_".join(major_minor)


def to_svg(chart: alt.TopLevelMixin) -> str:
    """Return the chart drawn as an SVG document (deterministic for the same spec)."""
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
            "title": {"fontSize": 14, "anchor": "start", "fontWeight": "bold", "subtitleFontSize": 11,
                      "subtitleColor": "#555"},
            "axis": {"labelFontSize": 11, "titleFontSize": 11, "gridColor": "#e6e6e6"},
            "legend": {"labelFontSize": 11, "titleFontSize": 11},
        }
    }


alt.renderers.register("planlib", _svg_renderer)
alt.renderers.enable("planlib")
alt.theme.register("planlib", enable=True)(theme)
alt.data_transformers.disable_max_rows()

__all__ = ["FONT", "HEIGHT", "PALETTE", "WIDTH", "theme", "to_svg"]
