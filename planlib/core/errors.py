"""One exception tree for planlib.

    PlanlibError
    ├── ConfigError          (ValueError) the config file: unknown keys, wrong types, bad values
    ├── DataError            (ValueError) input tables: every bad row, with file, line, column, value, expectation
    ├── ForecastError        (ValueError) a series that cannot be forecast (NaN/inf, no data)
    ├── AllocationError      (ValueError) a split that cannot add up (negative weights, empty hierarchy)
    ├── ParameterError       (ValueError) notebook parameters that the notebook does not declare or of the wrong type
    ├── BundleExistsError    (FileExistsError) a plan of record would be overwritten
    ├── NotebookFailed       (RuntimeError) a notebook failed under the runner (names the notebook and the cell)
    └── StageInputError      (RuntimeError) a stage read a config section or stage it does not declare

Each also derives from the built-in exception a caller would catch for that kind of fault, so
``except ValueError`` around a call that validates input catches planlib's validation errors too.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AllocationError", "BundleExistsError", "ConfigError", "DataError", "ForecastError", "NotebookFailed",
    "ParameterError", "PlanlibError", "RowProblem", "StageInputError",
]


class PlanlibError(Exception):
    """Base class of every error planlib raises on purpose."""


class ConfigError(PlanlibError, ValueError):
    """The config has problems; ``problems`` lists each as (key path, message)."""

    def __init__(self, problems: list[tuple[str, str]], source: str | None = None):
        self.problems = list(problems)
        self.source = source
        where = f" in {source}" if source else ""
        lines = [f"{len(self.problems)} problem(s){where}:"]
        lines += [f"  - {path}: {msg}" for path, msg in self.problems]
        super().__init__("\n".join(lines))

    def __reduce__(self):  # rebuilt from what it was made of, so it crosses a process whole (notes included)
        return type(self), (self.problems, self.source), self.__dict__


@dataclass(frozen=True)
class RowProblem:
    """One bad value in one row of an input file."""

    file: str
    line: int | None
    column: str | None
    value: object
    expected: str

    def __str__(self) -> str:
        where = f"{self.file}"
        if self.line is not None:
            where += f", line {self.line}"
        if self.column is not None:
            where += f", column {self.column!r}"
        return f"{where}: found {self.value!r}, expected {self.expected}"


class DataError(PlanlibError, ValueError):
    """Input data breaks its contract; ``problems`` lists every bad row at once."""

    def __init__(self, message: str, problems: list[RowProblem] | None = None, limit: int = 50):
        self.message, self.limit = message, limit
        self.problems = list(problems or [])
        lines = [message]
        for p in self.problems[:limit]:
            lines.append(f"  - {p}")
        if len(self.problems) > limit:
            lines.append(f"  ... and {len(self.problems) - limit} more")
        super().__init__("\n".join(lines))

    def __reduce__(self):
        return type(self), (self.message, self.problems, self.limit), self.__dict__


class ForecastError(PlanlibError, ValueError):
    """A series cannot be forecast as given (names the series and the dates)."""


class AllocationError(PlanlibError, ValueError):
    """A target cannot be split as asked."""


class ParameterError(PlanlibError, ValueError):
    """Notebook parameters that the notebook does not declare, or of the wrong type."""


class BundleExistsError(PlanlibError, FileExistsError):
    """A plan bundle already exists at that path; a plan of record is never overwritten."""


class NotebookFailed(PlanlibError, RuntimeError):
    """A notebook failed under the runner."""

    def __init__(self, notebook: str, cell_index: int | None, ename: str, evalue: str, kept_at: str):
        self.notebook = notebook
        self.cell_index = cell_index
        self.ename = ename
        self.evalue = evalue
        self.kept_at = kept_at
        cell = f"cell {cell_index}" if cell_index is not None else "an unknown cell"
        super().__init__(
            f"notebook {notebook} failed in {cell}: {ename}: {evalue}\n"
            f"The failed notebook is kept for reading at {kept_at}; no bundle was published."
        )

    def __reduce__(self):
        return type(self), (self.notebook, self.cell_index, self.ename, self.evalue, self.kept_at), self.__dict__


class StageInputError(PlanlibError, RuntimeError):
    """A stage read a config section or an upstream stage that it does not declare (names both)."""
