"""Tests of planlib.report.params: parsing a parameters cell and checking values against it."""
from __future__ import annotations

import nbformat
import pytest

from planlib.core.errors import ParameterError
from planlib.report.params import (
    check_parameters,
    declared_parameters,
    describe,
    parameters_cell,
    parse_cli_value,
    parse_parameters,
)

CELL = '''config: str = "templates/plan.yaml"  # the plan config, found from the working folder or its parents
cache_dir: str = ""  # where plan stages are cached; empty: <output_dir>/.cache
interactive: bool = True  # show ipywidgets what-ifs (False under the runner: static results)
# a comment line is ignored
horizon: int = 12
share = 0.25  # the type follows the default
'''


def _notebook(source: str, tags=("parameters",)) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = list(tags)
    nb.cells = [nbformat.v4.new_markdown_cell("# T"), cell, nbformat.v4.new_code_cell("x = 1")]
    return nb


def test_parse_reads_name_type_default_and_doc():
    declared = parse_parameters(CELL)
    assert list(declared) == ["config", "cache_dir", "interactive", "horizon", "share"]
    assert declared["config"].type == "str"
    assert declared["config"].default == "templates/plan.yaml"
    assert declared["config"].doc == "the plan config, found from the working folder or its parents"
    assert declared["interactive"].type == "bool" and declared["interactive"].default is True
    assert declared["horizon"].type == "int" and declared["horizon"].default == 12
    assert declared["horizon"].doc == ""
    assert declared["share"].type == "float" and declared["share"].default == 0.25
    assert declared["share"].doc == "the type follows the default"


def test_parse_rejects_unsupported_types_and_code():
    with pytest.raises(ParameterError,
                       match=r"(?s)nb1: .*line 1: when has type date; use one of bool, int, float, str"):
        parse_parameters('when: date = "2026-01-01"', "nb1")
    with pytest.raises(ParameterError, match=r"line 2: the default of n is not a literal"):
        parse_parameters("a: int = 1\nn: int = len('x')")
    with pytest.raises(ParameterError, match=r"line 1: 'import os' is not `name: type = default`"):
        parse_parameters("import os")
    with pytest.raises(ParameterError, match=r"default of flag expects bool, got 'yes'"):
        parse_parameters('flag: bool = "yes"')


def test_parameters_cell_must_be_exactly_one():
    assert parameters_cell(_notebook("a: int = 1"))[0] == 1
    with pytest.raises(ParameterError, match=r"t.ipynb: expected exactly one code cell tagged 'parameters', found 0"):
        parameters_cell(_notebook("a: int = 1", tags=()), "t.ipynb")
    nb = _notebook("a: int = 1")
    nb.cells.append(nbformat.v4.new_code_cell("b: int = 2", metadata={"tags": ["parameters"]}))
    with pytest.raises(ParameterError, match=r"found 2 \(cells: 1, 3\)"):
        parameters_cell(nb, "t.ipynb")


def test_check_rejects_unknown_names_listing_declared_ones():
    declared = parse_parameters(CELL)
    with pytest.raises(ParameterError, match=r"nb\.ipynb: unknown parameter\(s\) 'colour', 'x=1;import os'; "
                                              r"nb\.ipynb declares: config, cache_dir, interactive, horizon, share"):
        check_parameters({"colour": "red", "x=1;import os": 1, "horizon": 3}, declared, "nb.ipynb")


def test_check_rejects_wrong_types_naming_each():
    declared = parse_parameters(CELL)
    with pytest.raises(ParameterError, match=r"interactive expects bool, got 'yes'; horizon expects int, got 2\.5"):
        check_parameters({"interactive": "yes", "horizon": 2.5}, declared)
    with pytest.raises(ParameterError, match=r"horizon expects int, got True"):
        check_parameters({"horizon": True}, declared)
    with pytest.raises(ParameterError, match=r"config expects str, got 3"):
        check_parameters({"config": 3}, declared)


def test_check_coerces_int_to_float_and_keeps_declared_order():
    declared = parse_parameters(CELL)
    checked = check_parameters({"share": 1, "interactive": False, "config": "a.yaml"}, declared)
    assert checked == {"config": "a.yaml", "interactive": False, "share": 1.0}
    assert list(checked) == ["config", "interactive", "share"]
    assert isinstance(checked["share"], float)


def test_cli_values_keep_yes_as_text():
    assert parse_cli_value("true") is True
    assert parse_cli_value("False") is False
    assert parse_cli_value("12") == 12 and isinstance(parse_cli_value("12"), int)
    assert parse_cli_value("-0.5") == -0.5
    assert parse_cli_value("1e3") == 1000.0
    assert parse_cli_value("yes") == "yes"
    assert parse_cli_value("templates/plan.yaml") == "templates/plan.yaml"


def test_declared_parameters_and_describe_read_a_file(tmp_path):
    path = tmp_path / "nb.ipynb"
    nbformat.write(_notebook(CELL), str(path))
    assert list(declared_parameters(path)) == ["config", "cache_dir", "interactive", "horizon", "share"]
    text = describe(path)
    assert text.splitlines()[0] == "Parameters of nb.ipynb:"
    assert "interactive  bool   (default True)  show ipywidgets what-ifs" in text
    assert "horizon      int    (default 12)" in text
    with pytest.raises(ParameterError, match=r"notebook not found: .*missing\.ipynb"):
        declared_parameters(tmp_path / "missing.ipynb")
