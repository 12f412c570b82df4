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
from typing import Any

import typing

import yaml
from pydantic import BaseModel, Field, ValidationError

from planlib.core.config_operating import Budget, Capacity, Incentives, Report, Review, Risk, Scorecard
from planlib.core.config_targets import Allocation, Company, Data, Fiscal, Forecast, Goals, Initiative, Section
from planlib.core.errors import ConfigError

# The sections are defined in config_targets and config_operating; those PlanConfig holds are
# imported here, where most callers look for them.
__all__ = [
    "Allocation", "Budget", "Capacity", "Company", "Data", "Fiscal", "Forecast", "Goals", "Incentives",
    "Initiative", "PlanConfig", "Report", "Review", "Risk", "Scorecard", "Section", "find_config", "load_config",
    "config_keys", "key_reference", "parse_config",
]


class PlanConfig(Section):
    company: Company = Field(..., description="name, currency (both required) and country of the company")
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
    initiatives: list[Initiative] = Field(default_factory=list, description="the action plan (planlib.initiatives)")
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


# What a required key holds, said when it is missing (a plan never borrows the sample company's values).
REQUIRED_HINTS = {
    "company.name": "the company's name, shown on every page (company: {name: Acme Tools Inc., ...})",
    "company.currency": "the currency of the amounts in your data, e.g. USD (company: {currency: USD, ...})",
}


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
    if raw.get("company") is None:  # so a missing section is reported as the keys it must hold
        raw = {**raw, "company": {}}
    try:
        cfg = PlanConfig.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = f"unknown key (value {err.get('input')!r}); check the spelling against templates/plan.yaml"
            elif err["type"] == "missing" and _loc(err["loc"]) in REQUIRED_HINTS:
                msg = f"required, no default: {REQUIRED_HINTS[_loc(err['loc'])]}"
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


def config_keys(model: type[BaseModel] = PlanConfig, prefix: str = "") -> list[str]:
    """Return every key of the config schema as a dotted path, in the schema's order, each once.

    >>> [k for k in config_keys() if k.startswith("fiscal.")]
    ['fiscal.year', 'fiscal.start_month', 'fiscal.calendar']
    """
    out: list[str] = []
    for name, field in model.model_fields.items():
        if name == "base_dir":  # set by the loader from the file's folder, never written
            continue
        out.append(prefix + name)
        for kind in (field.annotation, *typing.get_args(field.annotation)):
            models = [t for t in (kind, *typing.get_args(kind)) if isinstance(t, type) and issubclass(t, BaseModel)]
            inner = models[0] if models else None
            if inner is not None:
                out.extend(config_keys(inner, f"{prefix}{name}."))
                break
    return list(dict.fromkeys(out))


def key_reference() -> str:
    """Return the README's list of every config key: one line per section, a data table's own keys said once.

    tests/test_config.py checks that the README holds exactly this text, so the list cannot go stale.
    """
    keys = config_keys()
    tables = [k.split(".")[1] for k in keys if k.count(".") == 1 and k.startswith("data.")
              and any(j.startswith(k + ".") for j in keys)]
    lines = []
    for section in dict.fromkeys(k.split(".")[0] for k in keys):
        inside = [k[len(section) + 1:] for k in keys if k.startswith(section + ".")]
        if section == "data":
            table_keys = [k.split(".", 2)[2] for k in keys if k.startswith(f"data.{tables[0]}.")]
            other = [k for k in inside if k.split(".")[0] not in tables]
            lines.append(f"- `data`: the tables {', '.join(tables)}; each table: {', '.join(table_keys)}"
                         + (f"; and {', '.join(other)}" if other else ""))
        else:
            lines.append(f"- `{section}`" + (f": {', '.join(inside)}" if inside else ""))
    return "\n".join(lines)
