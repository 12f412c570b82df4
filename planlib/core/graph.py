"""The Plan: one object that carries a plan through its stages.

Each stage (``history``, ``forecast``, ``targets``, ...) is a function registered
with ``@stage`` in the module that owns the topic. A stage is computed on first
use and cached on disk under ``cache_dir``, keyed by a hash of the config
sections it reads and of the stages it needs, so each notebook runs on its own
and no stage is computed twice in one run.

    plan = Plan.from_config("templates/plan.yaml")
    plan.history          # computed (or read from the cache) on first use
"""
from __future__ import annotations

import hashlib
import importlib
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from planlib.core.config import PlanConfig, load_config

# Modules that register stages; imported on first stage look-up.
STAGE_MODULES = (
    "planlib.data.load",
    "planlib.planning.market",
    "planlib.forecast.engine",
    "planlib.planning.goals",
    "planlib.planning.allocate",
    "planlib.resources.capacity",
    "planlib.resources.hiring",
    "planlib.resources.budget",
    "planlib.resources.incentives",
    "planlib.risk.plan_year",
    "planlib.risk.register",
    "planlib.risk.montecarlo",
    "planlib.risk.scenarios",
    "planlib.risk.concentration",
    "planlib.risk",
    "planlib.review.scorecard",
    "planlib.review.quarter",
    "planlib.planning.initiatives",
)

CACHE_FORMAT = "1"


@dataclass(frozen=True)
class Stage:
    name: str
    func: Callable[["Plan"], Any]
    needs: tuple[str, ...]
    config: tuple[str, ...]
    module: str


_STAGES: dict[str, Stage] = {}


def stage(name: str, *, needs: tuple[str, ...] = (), config: tuple[str, ...] = ()):
    """Register ``func(plan) -> result`` as the stage ``name``.

    Parameters
    ----------
    name : str
        The attribute under which the plan exposes the result.
    needs : tuple of str
        Stages the function reads (their keys feed this stage's key).
    config : tuple of str
        Config sections the function reads (e.g. ``("forecast", "fiscal", "as_of")``).
    """

    def register(func):
        _STAGES[name] = Stage(name, func, tuple(needs), tuple(config), func.__module__)
        return func

    return register


def _load_stage_modules() -> None:
    for mod in STAGE_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            # A topic module not written yet is simply absent; a missing dependency is a real error.
            if exc.name != mod:
                raise


def stages() -> dict[str, Stage]:
    """Return the registered stages by name."""
    _load_stage_modules()
    return dict(_STAGES)


@dataclass
class Plan:
    """A plan under construction: the config, its stages, and the run report."""

    config: PlanConfig
    cache_dir: Path | None = None
    _results: dict[str, Any] = field(default_factory=dict, repr=False)
    _keys: dict[str, str] = field(default_factory=dict, repr=False)

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

    # ------------------------------------------------------------------ stages
    def key(self, name: str) -> str:
        """The cache key of a stage: its name, config sections, input keys and code version."""
        if name in self._keys:
            return self._keys[name]
        st = self._stage(name)
        h = hashlib.sha256()
        h.update(f"{CACHE_FORMAT}|{name}|{st.module}|{code_digest()}".encode())
        h.update(self.config.section_hash(*st.config).encode())
        for dep in st.needs:
            h.update(self.key(dep).encode())
        extra = getattr(st.func, "extra_key", None)
        if extra is not None:
            h.update(str(extra(self)).encode())
        self._keys[name] = h.hexdigest()
        return self._keys[name]

    def _stage(self, name: str) -> Stage:
        registered = stages()
        if name not in registered:
            raise AttributeError(f"the plan has no stage {name!r}; stages: {sorted(registered)}")
        return registered[name]

    def get(self, name: str) -> Any:
        """Return the result of stage ``name``, computing it (and what it needs) on first use."""
        if name in self._results:
            return self._results[name]
        st = self._stage(name)
        path = None
        if self.cache_dir is not None:
            path = self.cache_dir / f"{name}-{self.key(name)[:24]}.pkl"
            if path.exists():
                with path.open("rb") as fh:
                    self._results[name] = pickle.load(fh)
                return self._results[name]
        result = st.func(self)
        self._results[name] = result
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # a name of its own per process: two notebooks may compute the same stage at once
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as fh:
                pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(path)
        return result

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get(name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(stages()))


_CODE_DIGEST: list[str] = []


def code_digest() -> str:
    """sha256 of every source file of planlib, so any code change invalidates cached stages.

    Per-module digests would miss a change in a private helper a stage calls into; a
    recomputed stage costs seconds, a stale one a wrong plan.
    """
    if not _CODE_DIGEST:
        h = hashlib.sha256()
        root = Path(__file__).resolve().parent
        for path in sorted(root.rglob("*.py")):
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
        _CODE_DIGEST.append(h.hexdigest())
    return _CODE_DIGEST[0]
