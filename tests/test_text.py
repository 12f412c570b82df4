"""Escaped prose and tables: values from the data render as the same text through nbconvert's Markdown."""
from __future__ import annotations

import pandas as pd
import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from planlib.core import text


def rendered(markdown: str) -> str:
    """The HTML that nbconvert makes of a Markdown output (as in the exported page)."""
    return markdown2html_mistune(markdown).strip()


@pytest.mark.parametrize("value, shown", [
    ("O'Brien", "O'Brien"),  # was shown as the literal "&#x27;" when '#' was escaped after HTML escaping
    ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
    ("</script><script>alert(1)</script>", "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("R&D_team *star*", "R&amp;D_team *star*"),
    ("[link](javascript:alert(1))", "[link](javascript:alert(1))"),
    ("# 1 | x ~y~ `code`", "# 1 | x ~y~ `code`"),
])
def test_a_value_renders_as_itself(value, shown):
    assert rendered(text.fmt("Rep {name}.", name=value)) == f"<p>Rep {shown}.</p>"


def test_dollar_signs_do_not_start_math():
    out = rendered(text.fmt("Costs {a} and {b} for {c}.", a="$5", b="$6", c="a_b"))
    assert out == "<p>Costs $5 and $6 for a_b.</p>"


def test_a_line_break_in_a_value_cannot_start_a_heading_or_list():
    out = rendered(text.fmt("Top customer: {c}", c="Acme\n# Owned\n- item"))
    assert "<h1" not in out and "<li" not in out
    assert out == "<p>Top customer: Acme # Owned - item</p>"


def test_numbers_take_format_specs():
    assert text.fmt("{g:.1%} of {t:,.0f}", g=0.1234, t=1234567.8) == "12.3% of 1,234,568"
    assert text.fmt("{x}", x=True) == "True"


def test_table_escapes_cells_and_keeps_its_caption():
    frame = pd.DataFrame({"rep": ["<b>x</b>", "张三"], "revenue": [1234.5, -20.0], "share": [0.5, 0.25]})
    html = text.table(frame, formats={"share": "{:.1%}"}, caption="Top <reps>").data
    assert "<caption>Top &lt;reps&gt;</caption>" in html
    assert html.index("<caption>") < html.index("<thead>")
    assert "<td>&lt;b&gt;x&lt;/b&gt;</td>" in html and "<td>张三</td>" in html
    assert "<td>1,234</td>" in html and "<td>-20</td>" in html and "<td>50.0%</td>" in html


def test_money_in_the_display_unit():
    assert text.money(1_234_000, 1000, "k CNY") == "1,234 k CNY"
    assert text.money(-1500, 1000, digits=1) == "-1.5"
