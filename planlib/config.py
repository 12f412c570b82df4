"""The plan config: its schema (pydantic models, unknown keys are errors) and the loader.

Relative paths in a config file are relative to the folder of that file, so a
config and its data can move together. ``load_config`` lists every problem at
once, each with its key path (``forecast.levels[1]: ...``).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError

TABLES = ("sales", "reps", "market", "competitors", "pipeline", "kpis", "risks")


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are checked strictly."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# --------------------------------------------------------------------------- company, calendar
class Company(Section):
    name: str = "Sample Company"
    currency: str = "CNY"
    display_unit: float = Field(1.0, gt=0, description="divide money by this for display (1000 = thousands)")
    display_unit_label: str = ""
    country: str = Field("CN", description="ISO country code for public holidays and working days")
    subdivision: str | None = None


class Fiscal(Section):
    year: int = Field(..., ge=1900, le=2200, description="the plan year, named by the calendar year it ends in")
    start_month: int = Field(1, ge=1, le=12)
    calendar: Literal["monthly", "4-4-5", "4-5-4", "5-4-4"] = "monthly"


# --------------------------------------------------------------------------- data sources
class SqlSource(Section):
    url: str = Field(..., description="SQLAlchemy URL, e.g. sqlite:///crm.db or postgresql://user@host/db")
    query: str = Field(..., description="SQL text; values go in params as :name, never formatted in")
    params: dict[str, Any] = Field(default_factory=dict)


class DataSource(Section):
    path: Path | None = None
    sql: SqlSource | None = None
    format: Literal["auto", "csv", "excel", "parquet"] = "auto"
    encoding: str = Field("auto", description="auto: UTF-8 (with or without BOM), else GB18030; or a codec name")
    sheet: str | int | None = None
    columns: dict[str, str] = Field(default_factory=dict, description="planlib name -> the file's own header")
    date_format: str | None = Field(None, description="strftime format of dates, if not ISO / unambiguous")
    dayfirst: bool = False
    thousands: str = ","
    decimal: str = "."

    @model_validator(mode="after")
    def _one_source(self):
        if (self.path is None) == (self.sql is None):
            raise ValueError("give exactly one of path or sql")
        return self


class Data(Section):
    sales: DataSource
    reps: DataSource
    market: DataSource | None = None
    competitors: DataSource | None = None
    pipeline: DataSource | None = None
    kpis: DataSource | None = None
    risks: DataSource | None = None
    credit_notes: Literal["keep", "reject"] = Field("keep", description="negative amounts: keep as returns, or reject")
    total_row_labels: list[str] = Field(default_factory=lambda: ["合计", "总计", "Total", "Grand Total", "Sum"])


# --------------------------------------------------------------------------- forecast
class Forecast(Section):
    levels: list[int] = Field(default_factory=lambda: [80, 95])
    models: list[str] = Field(
        default_factory=lambda: ["ets", "holt_winters", "stl_ets", "sarima", "snaive", "drift"]
    )
    backtest_origins: int = Field(3, ge=2)
    combine: bool = True
    calibrate: bool = True
    reconciliation: Literal["bottom_up", "top_down", "mint"] = "mint"
    n_jobs: int = Field(2, ge=1)
    scheduler: str | None = Field(None, description="dask.distributed scheduler address; none = local processes")
    progress: bool = False

    @field_validator("levels")
    @classmethod
    def _levels(cls, v):
        bad = [x for x in v if not 0 < x < 100]
        if bad:
            raise ValueError(f"levels must be between 0 and 100 (percent), got {bad}")
        return sorted(set(v))


# --------------------------------------------------------------------------- later sections
# Each planning topic owns one section; its module documents the meaning of each key.
class Goals(Section):
    model_config = ConfigDict(extra="allow")


class Allocation(Section):
    model_config = ConfigDict(extra="allow")


class Capacity(Section):
    model_config = ConfigDict(extra="allow")


class Budget(Section):
    model_config = ConfigDict(extra="allow")


class Incentives(Section):
    model_config = ConfigDict(extra="allow")


class Risk(Section):
    model_config = ConfigDict(extra="allow")


class Scorecard(Section):
    model_config = ConfigDict(extra="allow")


class Review(Section):
    model_config = ConfigDict(extra="allow")


class Report(Section):
    title: str = "Annual sales plan"
    output_dir: Path = Path("reports")
    notebooks: list[str] = Field(
        default_factory=lambda: ["01_market_analysis.ipynb"],
        description="notebooks run in order by `planlib plan`, from notebooks_dir",
    )
    notebooks_dir: Path | None = Field(None, description="default: the notebooks/ folder of the project")
    kernel: str = "python3"


class PlanConfig(Section):
    company: Company = Field(default_factory=Company)
    fiscal: Fiscal
    as_of: dt.date = Field(..., description="the day the plan is made; history ends at the last closed month")
    seed: int = Field(20270101, description="seed of every random draw")
    data: Data
    forecast: Forecast = Field(default_factory=Forecast)
    goals: Goals = Field(default_factory=Goals)
    allocation: Allocation = Field(default_factory=Allocation)
    capacity: Capacity = Field(default_factory=Capacity)
    budget: Budget = Field(default_factory=Budget)
    incentives: Incentives = Field(default_factory=Incentives)
    risk: Risk = Field(default_factory=Risk)
    scorecard: Scorecard = Field(default_factory=Scorecard)
    initiatives: list[dict[str, Any]] = Field(default_factory=list)
    review: Review = Field(default_factory=Review)
    report: Report = Field(default_factory=Report)

    # set by the loader, not by the file
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)

    def resolve(self, path: Path | str) -> Path:
        """Return ``path`` made absolute against the config file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p).resolve()

    @property
    def last_closed_month(self) -> "dt.date":
        """First day of the last month fully before ``as_of`` (e.g. as_of 2026-11-26 -> 2026-10-01)."""
        first = self.as_of.replace(day=1)
        return (first - dt.timedelta(days=1)).replace(day=1)

    def section_hash(self, *names: str) -> str:
        """sha256 of the named sections (resolved), used to key cached stages."""
        dumped = self.model_dump(mode="json")
        payload = {n: dumped.get(n) for n in names}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top)"


def parse_config(raw: dict[str, Any], *, base_dir: Path | str | None = None, source: str | None = None) -> PlanConfig:
    """Validate a config mapping; raise ConfigError listing every problem with its key path."""
    if not isinstance(raw, dict):
        raise ConfigError([("(top)", f"expected a mapping of sections, got {type(raw).__name__}")], source)
    try:
        cfg = PlanConfig.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = f"unknown key (value {err.get('input')!r}); check the spelling against templates/plan.yaml"
            elif "input" in err and err["type"] != "missing":
                msg = f"{msg} (found {err['input']!r})"
            problems.append((_loc(err["loc"]), msg))
        raise ConfigError(problems, source) from None
    cfg.base_dir = Path(base_dir).resolve() if base_dir else Path.cwd()
    return cfg


def find_config(path: str | Path) -> Path:
    """Find a config path given relative to the working folder or to any of its parents.

    A notebook opened in JupyterLab runs in notebooks/, papermill from the project
    root: both find ``templates/plan.yaml`` this way.
    """
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        if not p.exists():
            raise ConfigError([("(file)", f"config file not found: {p}")])
        return p.resolve()
    for parent in [Path.cwd(), *Path.cwd().parents]:
        if (parent / p).exists():
            return (parent / p).resolve()
    raise ConfigError([("(file)", f"config file not found: {p} (looked in {Path.cwd()} and its parents)")])


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> PlanConfig:
    """Read and validate a YAML config file.

    Parameters
    ----------
    path : str or Path
        The YAML file; relative paths inside it are relative to its folder.
    overrides : dict, optional
        Dotted keys to set after reading, e.g. ``{"fiscal.year": 2028}``.

    Raises
    ------
    ConfigError
        Listing every problem with its key path.
    """
    file = find_config(path)
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError([("(file)", f"not valid YAML: {exc}")], str(file)) from None
    for dotted, value in (overrides or {}).items():
        node = raw
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return parse_config(raw, base_dir=file.parent, source=str(file))
