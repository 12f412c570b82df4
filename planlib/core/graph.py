"""The stage graph: one Plan object that carries a plan through its stages.

Each stage (``history``, ``forecast``, ``targets``, ...) is a plain function registered with ``@stage``
in the module that owns the topic, declared with the config sections and upstream stages it reads. It
receives only those: a read-only view of the declared sections (reading another raises
:class:`StageInputError` naming the stage and the section) and the declared stages. So its cache key,
made of exactly those inputs, the versions of the packages that change numbers and planlib's own
source, cannot go stale. Results are cached on disk as data (:mod:`planlib.core.cache`), never pickle.

    plan = Plan.from_config("templates/plan.yaml")
    plan["history"]          # computed (or read from the cache) on first use
"""
from __future__ import annotations

import copy
import hashlib
import importlib
import importlib.metadata
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from planlib.core.config import PlanConfig, load_config
from planlib.core.errors import ConfigError, StageInputError

__all__ = ["CONFIG_SECTIONS", "ConfigView", "NUMERIC_PACKAGES", "Plan", "Stage", "StageInputs", "code_digest",
           "config_filler", "describe_stages", "stage", "stages"]

# Modules that register stages; imported (by name, so core imports nothing above it) on first look-up.
STAGE_MODULES = (
    "planlib.data.commits",
    "planlib.data.load",
    "planlib.forecast.stage",
    "planlib.planning.allocate",
    "planlib.planning.bridge",
    "planlib.planning.commits",
    "planlib.planning.fairness",
    "planlib.planning.initiatives",
    "planlib.planning.market",
    "planlib.planning.negotiate",
    "planlib.planning.smart",
    "planlib.planning.target",
    "planlib.resources.assumptions",
    "planlib.resources.budget",
    "planlib.resources.capacity",
    "planlib.resources.hiring",
    "planlib.resources.incentives",
    "planlib.risk.concentration",
    "planlib.risk.montecarlo",
    "planlib.risk.plan_year",
    "planlib.risk.register",
    "planlib.risk.scenarios",
    "planlib.review.quarter",
    "planlib.review.scorecard",
)

# Packages whose version can change a stage's numbers: part of every stage's key.
NUMERIC_PACKAGES = ("pandas", "numpy", "statsmodels", "scipy", "holidays")

CACHE_FORMAT = "2"

# Every section of the config, for a stage that reads the whole of it (the review's plan of record).
CONFIG_SECTIONS = tuple(name for name, spec in PlanConfig.model_fields.items() if not spec.exclude)


@dataclass(frozen=True)
class Stage:
    """A registered stage: its function and what it reads.

    ``config`` holds section names (``"forecast"``) or one field of a section (``"company.country"``);
    ``fingerprint``, when given, returns a text that stands for what the stage reads from outside the
    config (the bytes of its input files), computed from the same restricted view.
    """

    name: str
    func: Callable[["StageInputs"], Any]
    needs: tuple[str, ...]
    config: tuple[str, ...]
    module: str
    fingerprint: Callable[[Any], str] | None = None


_STAGES: dict[str, Stage] = {}


def stage(name: str, *, needs: tuple[str, ...] = (), config: tuple[str, ...] = (),
          fingerprint: Callable[[Any], str] | None = None):
    """Register ``func(inputs) -> result`` as the stage ``name``.

    Parameters
    ----------
    name : str
        The name under which the plan gives the result (``plan[name]``).
    needs : tuple of str
        Stages the function reads (``inputs[stage]``); their keys feed this stage's key.
    config : tuple of str
        Config sections the function reads, e.g. ``("forecast", "fiscal", "as_of")``, or single
        fields such as ``"company.country"``.
    fingerprint : callable, optional
        ``fingerprint(config_view) -> str`` for what the stage reads outside the config (file bytes).
    """

    def register(func):
        _STAGES[name] = Stage(name, func, tuple(needs), tuple(config), func.__module__, fingerprint)
        return func

    return register


# Config sections a plan completes from its own data when the config leaves values out (the money
# amounts of budget and incentives): section -> ``fill(plan) -> table of assumed values``.
_FILLERS: dict[tuple[str, ...], Callable[["Plan"], Any]] = {}


def config_filler(sections: tuple[str, ...]):
    """Register ``fill(plan)`` as the one that completes ``sections`` of the config in place.

    It runs once per plan, before the first stage reading one of ``sections`` is keyed or computed,
    so every such stage (and its cache key) sees the completed values; it may read stages that do
    not read those sections. What it returns is kept as ``plan.assumed``.
    """

    def register(func):
        _FILLERS[tuple(sections)] = func
        return func

    return register


def stages() -> dict[str, Stage]:
    """Return the registered stages by name (importing the modules that declare them)."""
    for module in STAGE_MODULES:
        importlib.import_module(module)
    return dict(_STAGES)


def describe_stages() -> list[dict[str, str]]:
    """Return one row per stage: its name, module, the config it reads, the stages it needs and its readers."""
    registered = stages()
    readers: dict[str, list[str]] = {name: [] for name in registered}
    for st in registered.values():
        for dep in st.needs:
            readers.setdefault(dep, []).append(st.name)
    rows = []
    for name in _topological(registered):
        st = registered[name]
        rows.append({"stage": name, "module": st.module, "config": ", ".join(st.config) or "-",
                     "needs": ", ".join(st.needs) or "-", "read by": ", ".join(sorted(readers[name])) or "-",
                     "outside the config": "files" if st.fingerprint else "-"})
    return rows


def _topological(registered: dict[str, Stage]) -> list[str]:
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise StageInputError(f"stage graph has a cycle: {' -> '.join(path + (name,))}")
        if name in seen:
            return
        for dep in registered[name].needs:
            if dep not in registered:
                raise StageInputError(f"stage {name!r} needs {dep!r}, which is no stage; stages: {sorted(registered)}")
            visit(dep, path + (name,))
        seen.add(name)
        order.append(name)

    for name in sorted(registered):
        visit(name, ())
    return order


# --------------------------------------------------------------------------- what a stage may read
_ALWAYS = {"base_dir", "resolve"}  # where the config lives: what is read there is in the stage's fingerprint
_DERIVED = {"last_closed_month": "as_of"}


class _SectionView:
    """One config section of which only some fields were declared."""

    __slots__ = ("_section", "_path", "_fields", "_stage")

    def __init__(self, section, path: str, fields: set[str], stage_name: str):
        object.__setattr__(self, "_section", section)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_fields", fields)
        object.__setattr__(self, "_stage", stage_name)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._fields:
            raise StageInputError(f"stage {self._stage!r} read config '{self._path}.{name}', which it does not "
                                  f"declare (it declares {sorted(self._path + '.' + f for f in self._fields)}); "
                                  f"add it to the stage's config=(...) so its cache key follows it")
        return copy.deepcopy(getattr(self._section, name))

    def __setattr__(self, name, value):
        raise StageInputError(f"stage {self._stage!r} tried to change config '{self._path}.{name}': the config "
                              "is read-only inside a stage")


class ConfigView:
    """The config as a stage sees it: the declared sections, read-only (each a copy of the plan's)."""

    __slots__ = ("_config", "_allowed", "_fields", "_stage", "_copies")

    def __init__(self, config: PlanConfig, declared: Iterable[str], stage_name: str):
        allowed, fields = set(), {}
        for item in declared:
            section, _, sub = item.partition(".")
            if section not in PlanConfig.model_fields:
                raise StageInputError(f"stage {stage_name!r} declares config {item!r}, which is no config section; "
                                      f"sections: {sorted(PlanConfig.model_fields)}")
            if sub:
                fields.setdefault(section, set()).add(sub)
            else:
                allowed.add(section)
        for name, value in (("_config", config), ("_allowed", allowed), ("_fields", fields),
                            ("_stage", stage_name), ("_copies", {})):
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._copies:
            return self._copies[name]
        if name in PlanConfig.model_fields and name not in _ALWAYS:
            if name in self._allowed:
                value = copy.deepcopy(getattr(self._config, name))
            elif name in self._fields:
                value = _SectionView(getattr(self._config, name), name, self._fields[name], self._stage)
            else:
                raise StageInputError(f"stage {self._stage!r} read config section {name!r}, which it does not "
                                      f"declare (it declares {sorted(self._allowed | set(self._fields)) or 'none'}); "
                                      "add it to the stage's config=(...) so its cache key follows it")
            self._copies[name] = value
            return value
        if name in _DERIVED:
            needed = _DERIVED[name]
            if needed not in self._allowed:
                raise StageInputError(f"stage {self._stage!r} read config.{name}, which derives from {needed!r}, "
                                      "a section it does not declare")
            return getattr(self._config, name)
        if name in _ALWAYS:
            return getattr(self._config, name)
        raise StageInputError(f"stage {self._stage!r} read config.{name}: a stage may read its declared sections "
                              f"only ({sorted(self._allowed | set(self._fields))})")

    def __setattr__(self, name, value):
        raise StageInputError(f"stage {self._stage!r} tried to change config.{name}: the config is read-only "
                              "inside a stage")

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> "ConfigView":
        """Return a view of a copy of the config with ``update`` applied (declared sections only)."""
        for key in update or {}:
            getattr(self, key)  # an undeclared section cannot be changed either
        changed = self._config.model_copy(update=update, deep=deep)
        declared = [*self._allowed, *(f"{s}.{f}" for s, fs in self._fields.items() for f in fs)]
        return ConfigView(changed, declared, self._stage)

    def whole(self) -> PlanConfig:
        """Return a copy of the whole config; only for a stage that declares every section."""
        missing = [name for name in CONFIG_SECTIONS if name not in self._allowed]
        if missing:
            raise StageInputError(f"stage {self._stage!r} asked for the whole config but does not declare "
                                  f"{missing}")
        return self._config.model_copy(deep=True)

    def section_hash(self) -> str:
        """sha256 of the declared sections and fields (resolved)."""
        dumped = self._config.model_dump(mode="json")
        payload: dict[str, Any] = {name: dumped.get(name) for name in sorted(self._allowed)}
        for section, names in sorted(self._fields.items()):
            payload[section] = {f: (dumped.get(section) or {}).get(f) for f in sorted(names)}
        return _sha(payload)


class StageInputs:
    """What one stage receives: ``config`` (its declared sections) and its declared upstream stages.

    ``inputs["forecast"]`` (or ``inputs.get("forecast")``) returns a declared stage's result, computing it
    on first use; any other name raises :class:`StageInputError` naming the stage.
    """

    def __init__(self, plan: "Plan", st: Stage):
        self._plan = plan
        self._stage = st
        self.config = ConfigView(plan.config, st.config, st.name)

    def _check(self, name: str) -> None:
        if name not in self._stage.needs:
            raise StageInputError(f"stage {self._stage.name!r} read stage {name!r}, which it does not declare "
                                  f"(it needs {list(self._stage.needs) or 'none'}); add it to needs=(...)")

    def __getitem__(self, name: str) -> Any:
        self._check(name)
        return self._plan.get(name)

    def get(self, name: str) -> Any:
        """Return the result of the declared upstream stage ``name``."""
        return self[name]

    def key(self, name: str) -> str:
        """Return the cache key of the declared upstream stage ``name``."""
        self._check(name)
        return self._plan.key(name)


def _sha(payload: Any) -> str:
    import json

    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _versions() -> dict[str, str]:
    out = {}
    for name in NUMERIC_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


# --------------------------------------------------------------------------- the plan
@dataclass
class Plan:
    """A plan under construction: the config, its stages, and what the cache did.

    ``plan["forecast"]`` (or ``plan.get("forecast")``) returns a stage's result; ``plan.cache_events``
    lists cache files that could not be read and were recomputed.
    """

    config: PlanConfig
    cache_dir: Path | None = None
    cache_events: list[str] = field(default_factory=list)
    _results: dict[str, Any] = field(default_factory=dict, repr=False)
    _keys: dict[str, str] = field(default_factory=dict, repr=False)
    _filled: dict[tuple[str, ...], Any] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if self.cache_dir is not None:
            self.cache_dir = Path(self.cache_dir)
            _prepare_cache_dir(self.cache_dir)

    @classmethod
    def from_config(cls, path: str | Path = "templates/plan.yaml", *, cache_dir: str | Path | None = None,
                    overrides: dict[str, Any] | None = None) -> "Plan":
        """Load the config at ``path`` and return a Plan whose stages cache under ``cache_dir``.

        With no ``cache_dir`` the cache lives in ``<output_dir>/.cache`` next to the bundles.
        """
        cfg = load_config(path, overrides)
        if cache_dir in (None, ""):
            cache_dir = cfg.resolve(cfg.report.output_dir) / ".cache"
        return cls(cfg, Path(cache_dir))

    @property
    def assumed(self) -> Any:
        """The values of the plan not stated in the config (see :func:`config_filler`), completing them first."""
        stages()
        for sections in _FILLERS:
            self._fill(sections)
        import pandas as pd

        tables = [t for t in self._filled.values() if t is not None]
        return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=["key", "value", "basis"])

    def _fill(self, sections: tuple[str, ...]) -> None:
        if sections not in self._filled:
            self._filled[sections] = None  # marks it running: the filler's own stages must not re-enter
            self._filled[sections] = _FILLERS[sections](self)

    def _fill_for(self, st: Stage) -> None:
        read = {c.split(".")[0] for c in st.config}
        for sections in _FILLERS:
            if read & set(sections):
                self._fill(sections)

    # ------------------------------------------------------------------ stages
    def key(self, name: str) -> str:
        """The cache key of a stage: its declared config and files, its upstream keys, code and versions."""
        if name in self._keys:
            return self._keys[name]
        st = self._stage(name)
        self._fill_for(st)
        view = ConfigView(self.config, st.config, st.name)
        payload = {"format": CACHE_FORMAT, "stage": name, "module": st.module, "code": code_digest(),
                   "versions": _versions(), "config": view.section_hash(),
                   "needs": {dep: self.key(dep) for dep in st.needs},
                   "files": st.fingerprint(view) if st.fingerprint else None}
        self._keys[name] = _sha(payload)
        return self._keys[name]

    def _stage(self, name: str) -> Stage:
        registered = stages()
        if name not in registered:
            raise KeyError(f"the plan has no stage {name!r}; stages: {sorted(registered)}")
        return registered[name]

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def get(self, name: str) -> Any:
        """Return the result of stage ``name``, computing it (and what it needs) on first use."""
        if name in self._results:
            return self._results[name]
        st = self._stage(name)
        self._fill_for(st)
        folder = None
        if self.cache_dir is not None:
            from planlib.core import cache

            folder = self.cache_dir / f"{name}-{self.key(name)[:24]}"
            if folder.exists():
                try:
                    self._results[name] = cache.read_value(folder)
                    return self._results[name]
                except cache.CacheUnreadable as exc:
                    self.cache_events.append(f"stage {name}: cache unreadable, recomputed ({exc})")
                    shutil.rmtree(folder, ignore_errors=True)
        result = st.func(StageInputs(self, st))
        self._results[name] = result
        if folder is not None:
            from planlib.core import cache

            try:
                cache.write_value(folder, result)
            except cache.CacheUnsupported as exc:
                self.cache_events.append(f"stage {name}: not cached ({exc})")
            except OSError as exc:
                self.cache_events.append(f"stage {name}: not cached, {folder.parent} could not be written ({exc})")
        return result


def _prepare_cache_dir(folder: Path) -> None:
    """Create the cache folder for this user only; refuse one that another user can write or owns."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError as exc:
        raise ConfigError([("cache_dir", f"{folder} cannot be created or read ({exc.strerror}); choose a folder "
                                         "you can write")]) from None
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise ConfigError([("cache_dir", f"{folder} belongs to another user (uid {info.st_uid}); a cache that "
                                         "another user can fill could feed this plan wrong results: use a folder "
                                         "of your own")])
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigError([("cache_dir", f"{folder} can be written by other users (mode "
                                         f"{stat.S_IMODE(info.st_mode):o}); a cache that another user can fill "
                                         f"could feed this plan wrong results: run `chmod go-w {folder}` or use a "
                                         "folder of your own")])


_CODE_DIGEST: list[str] = []


def code_digest() -> str:
    """sha256 of every source file of planlib, so any code change invalidates cached stages.

    Per-module digests would miss a change in a private helper a stage calls into; a
    recomputed stage costs seconds, a stale one a wrong plan.
    """
    if not _CODE_DIGEST:
        h = hashlib.sha256()
        root = Path(__file__).resolve().parents[1]
        for path in sorted(root.rglob("*.py")):
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
        _CODE_DIGEST.append(h.hexdigest())
    return _CODE_DIGEST[0]
