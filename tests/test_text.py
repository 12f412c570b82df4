"""Escaped prose and tables: values from the data render as the same text through nbconvert's Markdown."""
from __future__ import annotations

import re

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
    left, right = 'style="text-align:left;white-space:nowrap"', 'style="text-align:right;white-space:nowrap"'
    assert f"<td {left}>&lt;b&gt;x&lt;/b&gt;</td>" in html and f"<td {left}>张三</td>" in html
    assert f"<td {right}>1,234</td>" in html and f"<td {right}>-20</td>" in html and f"<td {right}>50.0%</td>" in html


def test_table_shows_money_in_the_unit_and_percentages_in_their_own_column():
    frame = pd.DataFrame({"region": ["East", "West"], "cumulative_gap": [1_234_567.0, float("nan")],
                          "difference_pct": [0.1234, -0.05], "misleads": [True, False], "rows": [37_605_000, 3]})
    html = text.table(frame, money=["cumulative_gap"], unit=1000, unit_label="k CNY", percent=["difference_pct"],
                      caption="Months (k CNY)").data
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    # 1,234,567 / 1000 rounds to 1,235; NaN is blank; 12.34% rounds to 12%; True/False read as marks
    assert cells == ["East", "1,235", "12%", "✓", "37,605,000", "West", "", "-5%", "✗", "3"]
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", html)
    assert headers == ["Region", "Cumulative gap", "Difference %", "Misleads", "Rows"]
    assert html.count("(k CNY)") == 1  # the caption says the unit once, though it was given twice


def test_table_keeps_names_on_one_line_and_lets_long_text_wrap():
    frame = pd.DataFrame({"name": ["陈一鸣"], "note": ["a sentence long enough that it has to wrap in a table cell"]})
    html = text.table(frame).data
    assert '<td style="text-align:left;white-space:nowrap">陈一鸣</td>' in html
    assert '<td style="text-align:left">a sentence long' in html


def test_a_long_table_folds_into_a_closed_details_block():
    frame = pd.DataFrame({"step": range(5)})
    folded = text.table(frame, caption="Every step", collapse_above=3).data
    assert folded.startswith("<details><summary>Every step · 5 rows</summary>") and "<details open" not in folded
    assert not text.table(frame, caption="Every step", collapse_above=5).data.startswith("<details>")


def test_folded_puts_tables_in_one_closed_block():
    one, two = text.table(pd.DataFrame({"a": [1]})), text.table(pd.DataFrame({"b": [2]}))
    out = text.folded("The <tables>", one, None, two).data
    assert out == f"<details><summary>The &lt;tables&gt;</summary>\n{one.data}\n{two.data}\n</details>"


def test_table_refuses_a_money_column_it_does_not_have():
    with pytest.raises(ValueError, match=r"money/percent column\(s\) \['amount'\] not in the table \['region'\]"):
        text.table(pd.DataFrame({"region": ["East"]}), money=["amount"])


def test_a_table_without_rows_says_so_instead_of_a_bare_header():
    empty = pd.DataFrame({"bonus": pd.Series([], dtype=str), "expected": pd.Series([], dtype=float)})
    html = text.table(empty, money=["expected"], unit=1000, unit_label="k EUR", caption="Bonuses <paid>").data
    assert html == '<p class="planlib-empty"><em>Bonuses &lt;paid&gt;: none.</em></p>'
    with pytest.raises(ValueError, match=r"money/percent column\(s\) \['payout'\] not in the table"):
        text.table(empty, money=["payout"])  # a wrong column is still an error, rows or not


def test_an_open_bound_reads_no_limit_and_a_column_blank_in_every_row_is_left_out():
    tiers = pd.DataFrame({"tier": [1, 2], "attainment_to": [1.0, float("inf")], "customer": [None, ""],
                          "note": ["", "top tier"]})
    html = text.table(tiers, percent=["attainment_to"]).data
    right = 'style="text-align:right;white-space:nowrap"'
    assert f"<td {right}>100%</td>" in html and f"<td {right}>no limit</td>" in html and "inf" not in html
    assert "Customer" not in html and "<th style=\"text-align:left\">Note</th>" in html  # the note has a value


def test_numbers_written_as_text_are_right_aligned_like_numbers():
    frame = pd.DataFrame({"figure": ["Target", "Chance"], "value": ["3,023,000 EUR", "37%"],
                          "growth": ["+5.0%", ""], "start": ["2026-12", "2027-01"], "ids": ["A0166", "R1"]})
    html = text.table(frame).data
    right, left = 'style="text-align:right;white-space:nowrap"', 'style="text-align:left;white-space:nowrap"'
    assert f"<td {right}>3,023,000 EUR</td>" in html and f"<td {right}>37%</td>" in html
    assert f"<td {right}>+5.0%</td>" in html
    assert f"<td {left}>2026-12</td>" in html and f"<td {left}>A0166</td>" in html and f"<td {left}>Target</td>" in html


def test_labels_read_as_words():
    assert text.label("difference_pct") == "Difference %"
    assert text.label("risk_id") == "Risk ID"
    assert text.label("P(attain)") == "P(attain)" and text.label("2027Q1") == "2027Q1"
    assert text.with_unit("Budget (k CNY) (k CNY)", "k CNY") == "Budget (k CNY)"


def test_shown_formats_what_a_widget_returns_and_keeps_the_signature():
    import inspect

    def what_if(growth: float = 0.1):
        return pd.DataFrame({"entity": ["company"], "target": [366_268_000.0], "probability": [0.336714]})

    shown = text.shown(what_if, money=["target"], unit=1000, unit_label="k CNY", percent=["probability"])
    assert list(inspect.signature(shown).parameters) == ["growth"] and shown.__name__ == "what_if"
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", shown(0.2).data)
    assert cells == ["company", "366,268", "34%"]
    assert text.shown(lambda: "At **100%**").__call__().data == "At **100%**"


def test_money_in_the_display_unit():
    assert text.money(1_234_000, 1000, "k CNY") == "1,234 k CNY"
    assert text.money(-1500, 1000, digits=1) == "-1.5"
