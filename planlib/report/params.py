"""Notebook parameters: read the cell tagged "parameters" and check values against it.

A notebook declares each parameter as ``name: type = default  # what it means``
(bool, int, float or str). papermill pastes parameter names into code unchecked,
so the runner injects only names declared here, with values of the declared type.
"""
from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import nbformat

from planlib.core.errors import ParameterError

__all__ = [
    "Parameter", "check_parameters", "coerce", "declared_parameters", "describe", "parameters_cell",
    "parse_cli_value", "parse_parameters",
]

TYPES: dict[str, type] = {"bool": bool, "int": int, "float": float, "str": str}
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$|^[+-]?(inf|nan)$", re.IGNORECASE)


@dataclass(frozen=True)
class Parameter:
    """One declared notebook parameter: its name, type name, default value and help text."""

    name: str
    type: str
    default: Any
    doc: str

    def __str__(self) -> str:
        doc = f"  # {self.doc}" if self.doc else ""
        return f"{self.name}: {self.type} = {self.default!r}{doc}"


def parameters_cell(nb: nbformat.NotebookNode, notebook: str = "notebook") -> tuple[int, str]:
    """Return the index and source of the one code cell tagged "parameters".

    Raises
    ------
    ParameterError
        If no cell, or more than one, is tagged "parameters".
    """
    found = [(i, cell) for i, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", [])]
    if len(found) != 1:
        where = ", ".join(str(i) for i, _ in found) or "none"
        raise ParameterError(
            f"{notebook}: expected exactly one code cell tagged 'parameters', found {len(found)} "
            f"(cells: {where}); tag the cell that declares `name: type = default  # doc` lines"
        )
    index, cell = found[0]
    return index, cell.source


def _comments(source: str) -> dict[int, str]:
    """Map line number -> text of the comment on that line."""
    out: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.start[0]] = tok.string.lstrip("#").strip()
    return out


# Not papermill.inspect_notebook: it agrees on the notebooks' names, types and help, but it gives each
# default as source text ('"templates/plan.yaml"', not the value), infers no type from an untyped default
# (`share = 0.25` -> "None", where the runner needs float), skips with only a log line what it cannot read
# (`import os`; `s = 'a=b'`, a line with a second `=`) and accepts any type or expression
# (`when: date = "2026-01-01"`, `n: int = len('x')`), all of which the runner must refuse, not inject.
def parse_parameters(source: str, notebook: str = "notebook") -> dict[str, Parameter]:
    """Parse the declarations of a parameters cell.

    Parameters
    ----------
    source : str
        The cell's code: ``name: type = default  # doc`` lines (``name = default`` infers
        the type from the default). Comment-only and blank lines are ignored.
    notebook : str
        Named in error messages.

    Returns
    -------
    dict
        Parameter name -> :class:`Parameter`, in the order declared.

    Raises
    ------
    ParameterError
        A line that is not a simple declaration, a type other than bool/int/float/str,
        a default that is not a literal of that type.
    """
    try:
        tree = ast.parse(source)
        comments = _comments(source)
    except (SyntaxError, tokenize.TokenError) as exc:
        raise ParameterError(f"{notebook}: the parameters cell is not valid Python: {exc}") from None
    declared: dict[str, Parameter] = {}
    problems = []
    for node in tree.body:
        line = node.lineno
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name = node.target.id
            type_name = ast.unparse(node.annotation).strip("'\"")
            value_node = node.value
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1
              and isinstance(node.targets[0], ast.Name)):
            name = node.targets[0].id
            type_name = None
            value_node = node.value
        else:
            problems.append(f"line {line}: {ast.get_source_segment(source, node)!r} is not `name: type = default`")
            continue
        try:
            default = ast.literal_eval(value_node)
        except ValueError:
            problems.append(f"line {line}: the default of {name} is not a literal")
            continue
        if type_name is None:
            type_name = type(default).__name__
        if type_name not in TYPES:
            problems.append(f"line {line}: {name} has type {type_name}; use one of {', '.join(TYPES)}")
            continue
        try:
            default = coerce(name, type_name, default)
        except ParameterError as exc:
            problems.append(f"line {line}: default of {exc}")
            continue
        declared[name] = Parameter(name, type_name, default, comments.get(line, ""))
    if problems:
        raise ParameterError(f"{notebook}: the parameters cell has problems:\n  - " + "\n  - ".join(problems))
    return declared


def declared_parameters(notebook: str | Path | nbformat.NotebookNode) -> dict[str, Parameter]:
    """Return the parameters a notebook declares (file path or notebook node)."""
    if isinstance(notebook, nbformat.NotebookNode):
        nb, label = notebook, "notebook"
    else:
        label = Path(notebook).name
        if not Path(notebook).is_file():
            raise ParameterError(f"notebook not found: {notebook}")
        nb = nbformat.read(str(notebook), as_version=4)
    _, source = parameters_cell(nb, label)
    return parse_parameters(source, label)


def coerce(name: str, type_name: str, value: Any) -> Any:
    """Return ``value`` checked to be of ``type_name`` (an int is accepted as a float, a Path as a str).

    Raises
    ------
    ParameterError
        ``"interactive expects bool, got 'yes'"``.
    """
    ok = {
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "str": isinstance(value, (str, Path)),
    }[type_name]
    if not ok:
        raise ParameterError(f"{name} expects {type_name}, got {value!r}")
    if type_name == "float":
        return float(value)
    if type_name == "str":
        return str(value)
    return value


def parse_cli_value(text: str) -> bool | int | float | str:
    """Read a parameter value given as text: true/false, an integer, a decimal, else the text itself.

    Unlike YAML, ``yes``/``no`` stay text, so a typo for a bool is reported, not guessed.
    """
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if _INT.match(text.strip()):
        return int(text)
    if _FLOAT.match(text.strip()):
        return float(text)
    return text


def check_parameters(values: Mapping[str, Any], declared: Mapping[str, Parameter],
                     notebook: str = "notebook") -> dict[str, Any]:
    """Check ``values`` against the declared parameters and return them with declared types.

    Parameters
    ----------
    values : mapping
        Parameter name -> value to inject.
    declared : mapping
        From :func:`declared_parameters`.
    notebook : str
        Named in error messages.

    Returns
    -------
    dict
        The values, coerced (int to float for float parameters, Path to str), in declared order.

    Raises
    ------
    ParameterError
        Listing every unknown name (and the declared ones) and every value of the wrong type.
    """
    problems = []
    unknown = [n for n in values if n not in declared]
    if unknown:
        problems.append(f"unknown parameter(s) {', '.join(map(repr, unknown))}; "
                        f"{notebook} declares: {', '.join(declared) or '(none)'}")
    checked: dict[str, Any] = {}
    for name, param in declared.items():
        if name not in values:
            continue
        try:
            checked[name] = coerce(name, param.type, values[name])
        except ParameterError as exc:
            problems.append(str(exc))
    if problems:
        raise ParameterError(f"{notebook}: " + "; ".join(problems))
    # papermill pastes names into code: only names parsed from the cell (identifiers) reach it.
    return checked


def describe(notebook: str | Path) -> str:
    """Return a help text listing a notebook's parameters with types, defaults and docs."""
    declared = declared_parameters(notebook)
    width = max((len(p.name) for p in declared.values()), default=0)
    lines = [f"Parameters of {Path(notebook).name}:"]
    for p in declared.values():
        lines.append(f"  {p.name:<{width}}  {p.type:<5}  (default {p.default!r})  {p.doc}".rstrip())
    if not declared:
        lines.append("  (none)")
    return "\n".join(lines)
