"""The plan runner: papermill runs the notebooks into a new, versioned plan bundle.

``run_plan`` checks each notebook's parameters, executes the notebooks in a staging
folder, normalises them so a rerun gives the same bytes, adds the tables, workbook,
index page and manifest, and renames the folder to ``<output_dir>/FY<year>/vNNN``.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Mapping

import nbformat
import pandas as pd

from .calendar import fiscal_year_span
from .config import PlanConfig, find_config, load_config
from .errors import BundleExistsError, ConfigError, NotebookFailed, ParameterError
from .notebook_params import check_parameters, declared_parameters, parameters_cell
from .plan import Plan, stages
from .report import (
    FORMULA_PREFIXES,
    Sheet,
    bundle_files_hash,
    export_notebook_html,
    write_csv,
    write_excel,
    write_index,
    write_manifest,
)

VERSION_RE = re.compile(r"^v(\d{3,})$")
RUNNER_PARAMETERS = ("config", "cache_dir")  # set by the runner only; the config is chosen with --config
INJECTED_CELL_ID = "injected-parameters"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

Progress = Callable[[str], Any]


def run_plan(config_path: str | Path, *, version: str | None = None,
             parameters: Mapping[str, Any] | None = None, progress: Progress | None = print) -> Path:
    """Run the config's notebooks into a new plan bundle and return the bundle's folder.

    Parameters
    ----------
    config_path : str or Path
        The plan config (found from the working folder or its parents).
    version : str, optional
        The bundle's folder name, ``v`` and three or more digits (``v003``); default: the next free one.
    parameters : mapping, optional
        Extra notebook parameters, given to every notebook (each must declare them).
        ``config`` and ``cache_dir`` are set by the runner.
    progress : callable, default print
        Called with one line per step ("notebook 1 of 3: 01_market_analysis.ipynb"); None is silent.

    Returns
    -------
    Path
        ``<report.output_dir>/FY<fiscal.year>/<version>``, holding each executed notebook
        (.ipynb and .html), index.html, plan.xlsx, rejects.csv, targets.csv (once the plan
        has targets) and manifest.json.

    Raises
    ------
    ConfigError
        The config is invalid, a listed notebook is missing, or ``version`` is malformed.
    ParameterError
        A notebook does not declare a parameter given to it, or a value has the wrong type.
    BundleExistsError
        ``version`` names a bundle that exists: a plan of record is never overwritten.
    NotebookFailed
        A cell raised; no bundle is published and the failed notebook is kept under
        ``FY<year>/failed/`` for reading.
    """
    say = progress or (lambda line: None)
    config_file = find_config(config_path)
    cfg = load_config(config_file)
    output_dir = cfg.resolve(cfg.report.output_dir)
    fy_dir = output_dir / f"FY{cfg.fiscal.year}"
    cache_dir = output_dir / ".cache"
    chosen = _check_version(fy_dir, version)
    nb_dir, notebooks = notebook_paths(cfg)

    runner_values = {"config": _relative(config_file, nb_dir), "cache_dir": _relative(cache_dir, nb_dir),
                     "interactive": False}
    runs = checked_runs(notebooks, runner_values, parameters, RUNNER_PARAMETERS, "choose the config with --config")

    staging = _staging_folder(fy_dir, chosen)
    try:
        plan = Plan.from_config(config_file, cache_dir=cache_dir)
        warm_stages(plan, notebook_stages(notebooks), say)
        pages = execute_all(runs, staging, kernel=cfg.report.kernel, cwd=nb_dir, failed_dir=fy_dir / "failed",
                            progress=say, workers=cfg.report.workers)
        say("tables, workbook, index and manifest")
        write_tables(plan, staging, pages)
        final = _publish(staging, fy_dir, chosen, auto=version is None)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    say(f"plan bundle: {final}")
    return final


def checked_runs(notebooks: list[Path], runner_values: Mapping[str, Any], parameters: Mapping[str, Any] | None,
                 owned: tuple[str, ...], how: str) -> list[tuple[Path, dict[str, Any]]]:
    """Check every notebook's parameters before the first one runs; return (notebook, parameters) pairs.

    Raises
    ------
    ParameterError
        A parameter the runner sets (``owned``) is given, a notebook does not declare one, or a type is wrong.
    """
    given = dict(parameters or {})
    taken = [n for n in owned if n in given]
    if taken:
        raise ParameterError(f"{', '.join(taken)} cannot be given as parameters: the runner sets them ({how})")
    return [(path, check_parameters({**runner_values, **given}, declared_parameters(path), path.name))
            for path in notebooks]


def _staging_folder(parent: Path, name: str) -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.staging-", dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it private; a published bundle is for readers
    return staging


def execute_all(runs: list[tuple[Path, dict[str, Any]]], staging: Path, *, kernel: str, cwd: Path,
                failed_dir: Path, progress: Progress, workers: int = 1) -> list[dict]:
    """Execute each notebook into ``staging`` with its HTML page; return the pages for the index and manifest.

    With ``workers`` > 1 that many notebooks run at once (each in its own kernel); run the stages
    they share first (:func:`warm_stages`) so no two kernels compute the same stage. The pages
    come back in run order whatever order the notebooks finish in; if several fail, the error
    names the first in run order.

    Returns
    -------
    list of dict
        title, html, notebook, parameters, lead (see :func:`leads_index`), in run order.
    """
    def run_one(item):
        i, (path, params) = item
        progress(f"notebook {i} of {len(runs)}: {path.name}")
        nb = execute_notebook(path, staging / path.name, params, kernel=kernel, cwd=cwd, failed_dir=failed_dir,
                              progress=progress)
        title = notebook_title(nb, path.stem)
        export_notebook_html(nb, staging / f"{path.stem}.html", title)
        return {"title": title, "html": f"{path.stem}.html", "notebook": path.name,
                "parameters": params, "lead": leads_index(nb)}

    items = list(enumerate(runs, 1))
    if workers <= 1 or len(runs) <= 1:
        return [run_one(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(runs))) as pool:
        futures = [pool.submit(run_one, item) for item in items]
        return [future.result() for future in futures]


def notebook_stages(paths: list[Path]) -> list[str]:
    """Return the plan stages the notebooks read (``plan.<stage>`` in their code), sorted by name."""
    used: set[str] = set()
    for path in paths:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                used.update(re.findall(r"\bplan\.([A-Za-z_]\w*)", cell.source))
    return sorted(used & set(stages()))


def warm_stages(plan: Plan, names: list[str], progress: Progress) -> None:
    """Compute (or load) ``names`` once in this process, so notebooks running side by side only read them."""
    if names:
        progress(f"stages: {', '.join(names)}")
    for name in names:
        plan.get(name)


# --------------------------------------------------------------------------- versions and folders
def next_version(fy_dir: Path) -> str:
    """Return the next free version name in ``fy_dir`` (``v001`` when there is none)."""
    taken = []
    if fy_dir.is_dir():
        taken = [int(m.group(1)) for p in fy_dir.iterdir() if (m := VERSION_RE.match(p.name))]
    return f"v{max(taken, default=0) + 1:03d}"


def _check_version(fy_dir: Path, version: str | None) -> str:
    if version is None:
        return next_version(fy_dir)
    if not VERSION_RE.match(version):
        raise ConfigError([("--version", f"expected v and three or more digits, e.g. v003; got {version!r}")])
    if (fy_dir / version).exists():
        raise BundleExistsError(f"{fy_dir / version} exists; a plan of record is never overwritten "
                                f"(leave out --version to write {next_version(fy_dir)})")
    return version


def _publish(staging: Path, fy_dir: Path, version: str, *, auto: bool, what: str = "a plan of record") -> Path:
    """Rename the staging folder to ``fy_dir/version``; with an automatic version, take the next
    free one if another run published this one meanwhile."""
    while True:
        final = fy_dir / version
        if not final.exists():
            try:
                staging.rename(final)  # fails on a non-empty target: a published bundle is never replaced
                return final
            except OSError:
                if not final.exists():
                    raise
        if not auto:
            raise BundleExistsError(f"{final} exists; {what} is never overwritten")
        version = next_version(fy_dir)


def notebook_paths(cfg: PlanConfig, names: list[str] | None = None,
                   key: str = "report.notebooks") -> tuple[Path, list[Path]]:
    """Return the notebooks folder and the notebooks that ``report.notebooks`` (or ``names``) lists, in order.

    With no ``report.notebooks_dir`` the folder is the first ``notebooks/`` found in the
    config's folder or its parents that holds the listed notebooks.

    Raises
    ------
    ConfigError
        A listed notebook does not exist.
    """
    names = cfg.report.notebooks if names is None else names
    if cfg.report.notebooks_dir is not None:
        nb_dir = cfg.resolve(cfg.report.notebooks_dir)
    else:
        candidates = [d / "notebooks" for d in (cfg.base_dir, *cfg.base_dir.parents)]
        nb_dir = next((d for d in candidates if all((d / n).is_file() for n in names)),
                      next((d for d in candidates if d.is_dir()), candidates[0]))
    missing = [n for n in names if not (nb_dir / n).is_file()]
    if missing:
        raise ConfigError([(key, f"not found in {nb_dir}: {', '.join(missing)}")])
    if not names:
        raise ConfigError([(key, "lists no notebook to run")])
    return nb_dir, [nb_dir / n for n in names]


def _relative(path: Path, start: Path) -> str:
    """``path`` relative to ``start`` (posix), so executed notebooks hold no absolute path of this machine."""
    try:
        return Path(os.path.relpath(path, start)).as_posix()
    except ValueError:  # another drive on Windows
        return str(path)


# --------------------------------------------------------------------------- execution
def _kernel_manager_class():
    """A kernel manager whose ``python3`` is this interpreter, with CurveZMQ transport when available."""
    import zmq
    from ipykernel.kernelspec import RESOURCES, get_kernel_dict
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import KernelManager
    from traitlets import default

    class ThisPythonSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            if kernel_name == "python3":
                return KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())
            return super().get_kernel_spec(kernel_name)

    class ThisPythonKernelManager(KernelManager):
        @default("kernel_spec_manager")
        def _specs(self):
            return ThisPythonSpecs(parent=self)

        @default("transport_encryption")
        def _encryption(self):
            # Encrypted kernel sockets also silence ipykernel's "running over TCP without encryption".
            return "auto" if zmq.has("curve") else "disabled"

    return ThisPythonKernelManager


def execute_notebook(path: Path, out_path: Path, params: Mapping[str, Any], *, kernel: str, cwd: Path,
                     failed_dir: Path, progress: Progress = print) -> nbformat.NotebookNode:
    """Execute one notebook with papermill into ``out_path`` and return it normalised.

    Raises
    ------
    NotebookFailed
        Naming the notebook, the index of the failing cell in the source notebook and the error;
        the executed notebook (and its HTML) are kept in ``failed_dir``.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    params_index, _ = parameters_cell(nbformat.read(str(path), as_version=4), path.name)
    try:
        pm.execute_notebook(str(path), str(out_path), parameters=dict(params), kernel_name=kernel,
                            language="python", progress_bar=False, log_output=False,
                            # the kernel starts in ``cwd``; papermill's own cwd= would chdir this whole
                            # process, which notebooks running side by side in threads cannot share
                            resources={"metadata": {"path": str(cwd)}},
                            record_timing=False, kernel_manager_class=_kernel_manager_class())
    except PapermillExecutionError as exc:
        # papermill counts its injected cell; the author counts cells of the notebook as written.
        index = exc.cell_index - 1 if exc.cell_index > params_index else exc.cell_index
        kept = _keep_failed(path, out_path, failed_dir)
        progress(f"notebook {path.name} failed in cell {index}; kept at {kept}")
        raise NotebookFailed(path.name, index, exc.ename, exc.evalue, str(kept)) from None
    except Exception as exc:  # a dead kernel or a timeout: no cell output names the error
        kept = _keep_failed(path, out_path, failed_dir)
        raise NotebookFailed(path.name, None, type(exc).__name__, str(exc), str(kept)) from exc
    nb = nbformat.read(str(out_path), as_version=4)
    normalise_notebook(nb, path.name)
    nbformat.write(nb, str(out_path))
    return nb


def _keep_failed(path: Path, out_path: Path, failed_dir: Path) -> Path:
    failed_dir.mkdir(parents=True, exist_ok=True)
    kept = failed_dir / path.name
    if not out_path.exists():
        return failed_dir
    nb = nbformat.read(str(out_path), as_version=4)
    normalise_notebook(nb, path.name)
    nbformat.write(nb, str(kept))
    try:
        export_notebook_html(nb, failed_dir / f"{path.stem}.html", f"FAILED: {notebook_title(nb, path.stem)}")
    except Exception:  # the .ipynb is what matters; an HTML page of a broken run is a convenience
        pass
    return kept


def normalise_notebook(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """Remove what differs between two runs of the same notebook on the same inputs (in place).

    Drops papermill's start/end times and durations (notebook and cells), nbclient's
    execution timestamps and widget state; gives the injected-parameters cell and
    papermill's error banners fixed ids; records paths as file names.
    """
    pm_meta = nb.metadata.get("papermill", {})
    for key in ("start_time", "end_time", "duration"):
        pm_meta.pop(key, None)
    if pm_meta:
        pm_meta["input_path"] = name
        pm_meta["output_path"] = name
    nb.metadata.pop("widgets", None)
    banners = 0
    for cell in nb.cells:
        meta = cell.metadata
        for key in ("start_time", "end_time", "duration"):
            meta.get("papermill", {}).pop(key, None)
        meta.pop("execution", None)
        tags = meta.get("tags", [])
        if "injected-parameters" in tags:
            cell.id = INJECTED_CELL_ID
        elif "papermill-error-cell-tag" in tags:
            banners += 1
            cell.id = f"papermill-error-{banners}"
        for output in cell.get("outputs", []):
            # Widget views hold random model ids and draw nothing offline; their text/plain stays.
            if WIDGET_MIME in output.get("data", {}):
                del output["data"][WIDGET_MIME]
    return nb


def notebook_title(nb: nbformat.NotebookNode, fallback: str) -> str:
    """Return the text of the notebook's first Markdown heading, else ``fallback``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return fallback


def leads_index(nb: nbformat.NotebookNode) -> bool:
    """Return whether a notebook asks to head the index page (metadata ``planlib: {lead: true}``)."""
    return bool(nb.metadata.get("planlib", {}).get("lead", False))


def index_order(pages: list[dict]) -> list[dict]:
    """Return the pages in the order of the index page: those that lead (the executive summary) first,
    then the rest, each group in the order the notebooks ran (which the config's list decides)."""
    return sorted(pages, key=lambda page: not page.get("lead", False))


# --------------------------------------------------------------------------- the other files
def write_tables(plan: Plan, folder: Path, pages: list[dict]) -> None:
    """Write targets.csv, rejects.csv, plan.xlsx, index.html and manifest.json into ``folder``."""
    cfg = plan.config
    if "targets" in stages():
        write_csv(plan.targets, folder / "targets.csv")
    write_csv(plan.inputs.rejects, folder / "rejects.csv")
    created = dt.datetime.combine(cfg.as_of, dt.time())  # a fixed document date keeps the workbook's bytes
    write_excel(folder / "plan.xlsx", bundle_sheets(plan), unit=cfg.company.display_unit,
                unit_label=cfg.company.display_unit_label, created=created)
    write_index(folder, cfg.report.title, [{"title": p["title"], "file": p["html"]} for p in index_order(pages)],
                headline(plan), notes=["The workbook plan.xlsx holds the tables of this plan; rejects.csv lists "
                                       "every input row that was not used, with its file, line and reason."])
    write_manifest(folder / "manifest.json", manifest(plan, folder, pages, package_versions()))


def package_versions() -> dict[str, str]:
    """Return the versions of the packages that shape a bundle, and Python's major.minor."""
    names = ("planlib", "pandas", "numpy", "statsmodels", "altair", "papermill", "vl-convert-python")
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["python"] = f"{sys.version_info.major}.{sys.version_info.minor}"
    return versions


# --------------------------------------------------------------------------- plan.xlsx sheets
SheetBuilder = Callable[[Plan], Sheet]
_SHEETS: list[tuple[str, tuple[str, ...], SheetBuilder]] = []


def bundle_sheet(name: str, *, needs: tuple[str, ...]):
    """Register ``func(plan) -> report.Sheet`` as a sheet of plan.xlsx, built when the stages ``needs`` exist.

    Sheets appear in the order registered; a topic module adds its view by decorating a function.
    """
    if len(name) > 31:
        raise ValueError(f"an Excel sheet name has at most 31 characters; {name!r} has {len(name)}")

    def register(func: SheetBuilder) -> SheetBuilder:
        _SHEETS[:] = [s for s in _SHEETS if s[0] != name] + [(name, tuple(needs), func)]
        return func

    return register


def bundle_sheets(plan: Plan) -> dict[str, Sheet]:
    """Return the sheets of plan.xlsx (name -> :class:`planlib.report.Sheet`) whose stages the plan has."""
    available = stages()  # imports the topic modules, which register their sheets
    return {name: func(plan) for name, needs, func in _SHEETS if all(n in available for n in needs)}


# The views a sales manager opens first come first; the long tables for machines follow.
@bundle_sheet("Rep targets by month", needs=("targets", "inputs"))
def _rep_month_sheet(plan: Plan) -> Sheet:
    from .initiatives import rep_month_view

    view = rep_month_view(plan.targets, plan.inputs.tables["reps"])
    return Sheet(view, money=[c for c in view.columns if c not in ("rep_id", "name", "team", "region")])


@bundle_sheet("Region targets by quarter", needs=("targets",))
def _region_quarter_sheet(plan: Plan) -> Sheet:
    from .initiatives import period_view

    view = period_view(plan.targets, "region", "quarter")
    return Sheet(view, money=[c for c in view.columns if c != "region"])


@bundle_sheet("Product targets by quarter", needs=("targets",))
def _product_quarter_sheet(plan: Plan) -> Sheet:
    from .initiatives import period_view

    view = period_view(plan.targets, "product", "quarter")
    return Sheet(view, money=[c for c in view.columns if c != "product"])


@bundle_sheet("Goal cards", needs=("goal_cards",))
def _goal_cards_sheet(plan: Plan) -> Sheet:
    # A goal's target and baseline are money, counts or fractions by metric: shown as given, not in the unit.
    return Sheet(plan.goal_cards, percent=["probability"],
                 formats={"target": "#,##0.###", "baseline": "#,##0.###"})


@bundle_sheet("Initiatives", needs=("initiatives",))
def _initiatives_sheet(plan: Plan) -> Sheet:
    return Sheet(plan.initiatives.summary, money=["plan_year_effect"], formats={"months_active": "0.0"})


@bundle_sheet("Bridge to target", needs=("bridge",))
def _bridge_sheet(plan: Plan) -> Sheet:
    bridge = plan.bridge
    target = pd.DataFrame([{"step": f"FY{plan.config.fiscal.year} target", "kind": "target", "strategy": None,
                            "amount": bridge.target, "running_total": bridge.target}])
    return Sheet(pd.concat([bridge.steps, target], ignore_index=True), money=["amount", "running_total"])


@bundle_sheet("Hiring plan", needs=("hiring_plan",))
def _hiring_sheet(plan: Plan) -> Sheet:
    hires = plan.hiring_plan.hires.copy()
    for col in ("start_month", "start_by"):
        hires[col] = pd.to_datetime(hires[col]).dt.strftime("%Y-%m")
    return Sheet(hires, money=["contribution"])


@bundle_sheet("Capacity and hires", needs=("hiring_plan",))
def _capacity_sheet(plan: Plan) -> Sheet:
    summary = plan.hiring_plan.summary
    return Sheet(summary, money=[c for c in summary.columns if c not in ("region", "hires")])


@bundle_sheet("Budget", needs=("budget",))
def _budget_sheet(plan: Plan) -> Sheet:
    table = plan.budget.table
    return Sheet(table, money=[c for c in table.columns if c != "line"])


@bundle_sheet("Incentive tiers", needs=("incentive_plan",))
def _incentive_tiers_sheet(plan: Plan) -> Sheet:
    tiers = plan.incentive_plan.tiers.copy()
    # The last tier has no upper end: a blank cell reads "and above", where inf would be an Excel error.
    tiers["attainment_to"] = tiers["attainment_to"].mask(tiers["attainment_to"] == float("inf"))
    return Sheet(tiers, percent=["attainment_from", "attainment_to", "payout_from", "payout_to"],
                 formats={"rate": "0.00"})


@bundle_sheet("Bonuses", needs=("incentive_plan",))
def _bonuses_sheet(plan: Plan) -> Sheet:
    settings = plan.incentive_plan.settings
    rows = [{"bonus": b.name, "kind": b.kind, "period": b.period, "amount": b.amount, "winners": b.winners,
             "min_attainment": b.min_attainment} for b in settings.bonuses]
    roles = [{"bonus": f"target incentive: {role}", "kind": "commission", "period": settings.commission.period,
              "amount": amount, "winners": None, "min_attainment": settings.commission.threshold}
             for role, amount in settings.target_incentive.items()]
    columns = ["bonus", "kind", "period", "amount", "winners", "min_attainment"]
    # Bonuses are a few thousand each: shown in full currency units, not in the display unit.
    amount = f"amount ({plan.config.company.currency})"
    table = pd.DataFrame(roles + rows, columns=columns).rename(columns={"amount": amount})
    return Sheet(table, percent=["min_attainment"], formats={amount: "#,##0", "winners": "0"})


@bundle_sheet("Scorecard", needs=("scorecard_definition",))
def _scorecard_sheet(plan: Plan) -> Sheet:
    return Sheet(plan.scorecard_definition.kpis, percent=["weight"])


@bundle_sheet("Targets", needs=("targets",))
def _targets_sheet(plan: Plan) -> Sheet:
    return Sheet(plan.targets, money=["target"])


@bundle_sheet("Forecast", needs=("forecast",))
def _forecast_sheet(plan: Plan) -> Sheet:
    forecasts = plan.forecast.forecasts
    keep = forecasts[(forecasts["unique_id"] == "company") | forecasts["unique_id"].str.startswith("region/")]
    table = keep.rename(columns={"unique_id": "series", "yhat": "forecast"}).copy()
    table["ds"] = pd.to_datetime(table["ds"]).dt.strftime("%Y-%m")
    table = table.rename(columns={"ds": "month"}).reset_index(drop=True)
    bounds = [c for c in table.columns if c.startswith(("lo_", "hi_"))]
    return Sheet(table, money=["forecast", *bounds])


@bundle_sheet("History by region", needs=("history",))
def _history_sheet(plan: Plan) -> Sheet:
    history = plan.history
    company = history[history["level"] == "company"].set_index("ds")["y"]
    regions = history[history["level"] == "region"].pivot(index="ds", columns="region", values="y")
    table = regions.reindex(company.index).assign(Total=company)
    table.index = pd.DatetimeIndex(table.index).strftime("%Y-%m")
    table.index.name = "month"
    table.columns.name = None
    table.columns = [str(c) for c in table.columns]
    return Sheet(table.reset_index(), money=list(table.columns))


@bundle_sheet("Inputs", needs=("inputs",))
def _inputs_sheet(plan: Plan) -> Sheet:
    return Sheet(pd.DataFrame(input_counts(plan)))


@bundle_sheet("Rejected rows", needs=("inputs",))
def _rejects_sheet(plan: Plan) -> Sheet:
    return Sheet(plan.inputs.rejects)


# --------------------------------------------------------------------------- headline and manifest
def fiscal_year_months(year: int, start_month: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return the first and last month (month starts) of fiscal year ``year`` (named by the year it ends in)."""
    first, last = fiscal_year_span(year, start_month)  # monthly: history is a monthly panel
    return pd.Timestamp(first), pd.Timestamp(last).replace(day=1)


def headline(plan: Plan) -> dict[str, str]:
    """Return the headline figures of the index page, label -> formatted value.

    Last full fiscal year's revenue and its growth over the year before, the plan year's
    forecast revenue (closed months as booked, the rest forecast) and target where the
    plan has them, and the rows read, used and rejected.
    """
    from .text import money

    cfg = plan.config
    unit, label = cfg.company.display_unit, cfg.company.display_unit_label
    history = plan.history
    company = history[history["level"] == "company"].set_index("ds")["y"].sort_index()
    last_closed = pd.Timestamp(cfg.last_closed_month)
    figures: dict[str, str] = {}

    def booked(year: int) -> float | None:
        first, last = fiscal_year_months(year, cfg.fiscal.start_month)
        if len(company) == 0 or first < company.index.min() or last > last_closed:
            return None
        return float(company.loc[first:last].sum())

    start = cfg.fiscal.start_month
    year = last_closed.year + (1 if start > 1 and last_closed.month >= start else 0)
    if fiscal_year_months(year, start)[1] != last_closed:  # the year of the last closed month is not over
        year -= 1
    revenue, before = booked(year), booked(year - 1)
    if revenue is not None:
        figures[f"FY{year} revenue"] = money(revenue, unit, label)
        if before:
            figures[f"FY{year} growth over FY{year - 1}"] = f"{revenue / before - 1:+.1%}"
    if "forecast" in stages():
        forecast = plan_year_forecast(plan, company)
        if forecast is not None:
            figures[f"FY{cfg.fiscal.year} forecast revenue"] = money(forecast, unit, label)
    if "targets" in stages():
        target = company_annual_target(plan.targets)
        if target is not None:
            figures[f"FY{cfg.fiscal.year} target"] = money(target, unit, label)
    counts = input_counts(plan)
    for key, text in (("rows_in", "Input rows read"), ("rows_used", "Input rows used"),
                      ("rows_rejected", "Input rows rejected")):
        figures[text] = f"{sum(c[key] for c in counts):,}"
    return figures


def plan_year_forecast(plan: Plan, company: pd.Series) -> float | None:
    """Return the plan year's revenue: booked months as booked, later months as forecast (None if uncovered)."""
    cfg = plan.config
    first, last = fiscal_year_months(cfg.fiscal.year, cfg.fiscal.start_month)
    months = pd.date_range(first, last, freq="MS")
    forecasts = plan.forecast.forecasts
    yhat = forecasts[forecasts["unique_id"] == "company"].set_index("ds")["yhat"]
    yhat.index = pd.DatetimeIndex(yhat.index)
    last_closed = pd.Timestamp(cfg.last_closed_month)
    total = 0.0
    for month in months:
        source = company if month <= last_closed else yhat
        if month not in source.index:
            return None
        total += float(source.loc[month])
    return total


def company_annual_target(targets: pd.DataFrame) -> float | None:
    """Return the company's annual target from the long targets table (None if it has no such row)."""
    rows = targets[(targets["level"] == "company") & (targets["period_type"].isin(["year", "annual"]))]
    if "product" in rows:
        rows = rows[rows["product"].isna() | rows["product"].isin(["", "all", "All", "total", "Total"])]
    return float(rows["target"].sum()) if len(rows) else None


def _portable(value: Any, base: Path) -> Any:
    """Make paths relative to ``base`` and hide passwords in database URLs, recursively."""
    if isinstance(value, Path):
        return _relative((base / value).resolve() if not value.is_absolute() else value, base)
    if isinstance(value, dict):
        return {k: (_hide_password(v) if k == "url" and isinstance(v, str) else _portable(v, base))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_portable(v, base) for v in value]
    return value


def _hide_password(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can read: keep only the scheme
        return url.split("://", 1)[0] + "://***" if "://" in url else url


def portable_config(cfg: PlanConfig) -> dict:
    """Return the resolved config as JSON-able data, paths relative to the config's folder."""
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(_portable(cfg.model_dump(mode="python"), cfg.base_dir))


def input_counts(plan: Plan, counts: pd.DataFrame | None = None) -> list[dict]:
    """Return one record per input table: table, file (relative to the config), sha256, rows in/used/rejected.

    ``counts`` defaults to the plan's inputs; a review passes its own, where the table ``actuals`` is the
    file ``review.actuals``.
    """
    cfg = plan.config
    records = []
    for row in (plan.inputs.counts if counts is None else counts).to_dict("records"):
        # The counts name the file; the config says where it is (or which database it came from).
        source = getattr(cfg.data, str(row["table"]), None)
        if row["table"] == "actuals" and cfg.review.actuals is not None:
            file = _relative(cfg.resolve(cfg.review.actuals), cfg.base_dir)
        elif source is not None and source.path is not None:
            file = _relative(cfg.resolve(source.path), cfg.base_dir)
        elif source is not None and source.sql is not None:
            file = _hide_password(source.sql.url)
        else:
            file = str(row["file"])
        records.append({"table": str(row["table"]), "file": file, "sha256": str(row["sha256"]),
                        "rows_in": int(row["rows_in"]), "rows_used": int(row["rows_used"]),
                        "rows_rejected": int(row["rows_rejected"])})
    return records


def manifest(plan: Plan, folder: Path, pages: list[dict], packages: dict[str, str]) -> dict:
    """Return the bundle's manifest: inputs, config, package versions, notebooks and file hashes.

    Holds no time, absolute path or random id, so the same inputs give the same manifest.
    """
    cfg = plan.config
    return {
        "title": cfg.report.title,
        "fiscal_year": cfg.fiscal.year,
        "as_of": cfg.as_of.isoformat(),
        "inputs": input_counts(plan),
        "config": portable_config(cfg),
        "packages": packages,
        "notebooks": [{"notebook": p["notebook"], "html": p["html"], "parameters": dict(p["parameters"])}
                      for p in pages],
        "files": bundle_files_hash(folder),
    }


# --------------------------------------------------------------------------- quarterly reviews
REVIEW_PARAMETERS = ("config", "cache_dir", "plan_dir", "as_of", "actuals")
_TARGET_TEXT = ("level", "entity", "product", "period_type", "period")


def plan_bundle_fingerprint(folder: str | Path) -> str:
    """Return the sha256 of a plan bundle's manifest.json (which lists the hash of every other file).

    Raises
    ------
    ConfigError
        If the folder holds no manifest.json.
    """
    from .report import file_sha256

    manifest_file = Path(folder) / "manifest.json"
    if not manifest_file.is_file():
        raise ConfigError([("review.plan", f"{folder} is not a plan bundle: it has no manifest.json")])
    return file_sha256(manifest_file)


def read_plan_bundle(folder: str | Path, *, base_dir: Path):
    """Read a published plan bundle as the plan of record of a review, checking it was not changed.

    Parameters
    ----------
    folder : str or Path
        The bundle, e.g. ``reports/FY2027/v001``.
    base_dir : Path
        The folder the bundle's config paths are relative to (the folder of the config file).

    Returns
    -------
    planlib.review.PlanOfRecord
        name (the folder's name), config (the resolved config of the manifest), targets (targets.csv with
        text cells as written before CSV neutralising), fingerprint (sha256 of manifest.json).

    Raises
    ------
    ConfigError
        Not a bundle, no targets.csv, or a manifest config that no longer validates.
    DataError
        targets.csv differs from the hash in manifest.json (the plan of record was edited).
    """
    import json

    from .config import parse_config
    from .errors import DataError
    from .report import file_sha256
    from .review import PlanOfRecord

    folder = Path(folder)
    fingerprint = plan_bundle_fingerprint(folder)
    manifest_data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    targets_file = folder / "targets.csv"
    if not targets_file.is_file():
        raise ConfigError([("review.plan", f"{folder} has no targets.csv: the plan of record has no targets")])
    recorded = manifest_data.get("files", {}).get("targets.csv")
    if recorded != file_sha256(targets_file):
        raise DataError(f"{targets_file} does not match the sha256 in its manifest.json ({recorded}): the plan of "
                        f"record was changed after it was published; review an unchanged bundle")
    targets = pd.read_csv(targets_file, encoding="utf-8-sig", dtype={c: str for c in _TARGET_TEXT},
                          keep_default_na=False, na_values={"target": [""]})
    for col in _TARGET_TEXT:
        # write_csv put a ' before text that Excel would run; the plan's own text is without it
        quoted = targets[col].str.startswith("'") & targets[col].str[1:2].isin(list(FORMULA_PREFIXES))
        targets.loc[quoted, col] = targets.loc[quoted, col].str[1:]
    targets["target"] = targets["target"].astype(float)
    config = parse_config(manifest_data["config"], base_dir=base_dir, source=str(folder / "manifest.json"))
    return PlanOfRecord(folder.name, config, targets, fingerprint)


def run_review(config_path: str | Path, plan_dir: str | Path, as_of: str, *, actuals: str | Path | None = None,
               parameters: Mapping[str, Any] | None = None, progress: Progress | None = print) -> Path:
    """Run the quarterly review of a plan of record into a new folder beside it and return that folder.

    Parameters
    ----------
    config_path : str or Path
        The config (its data sources, review settings and report settings; found from the working folder
        or its parents). The plan's own settings (fiscal year, scorecard, forecast) come from the bundle.
    plan_dir : str or Path
        The plan of record's bundle, e.g. ``reports/FY2027/v001``; it is read, never written. ``latest``:
        the newest version in ``<report.output_dir>/FY<fiscal.year>``.
    as_of : str
        The review date (ISO); months ending on or before it are closed.
    actuals : str or Path, optional
        A file of the deals after the plan's history (read like ``data.sales``); default: the config's
        sales source holds them.
    parameters : mapping, optional
        Extra notebook parameters, given to every review notebook (each must declare them).
    progress : callable, default print

    Returns
    -------
    Path
        ``<plan_dir>-review-<2027Q1 or 2027-02>`` beside the plan, holding the executed notebook (.ipynb and
        .html), index.html, review.xlsx, scorecards.csv, rejects.csv and manifest.json.

    Raises
    ------
    ConfigError
        A bad date, a missing plan bundle or actuals file, a review date not after the plan's.
    BundleExistsError
        The review folder exists: a review is never overwritten.
    NotebookFailed
        A cell raised; nothing is published and the notebook is kept under ``failed/`` beside the plan.
    """
    from .review import review_window

    say = progress or (lambda line: None)
    config_file = find_config(config_path)
    cfg = load_config(config_file)
    if str(plan_dir) == "latest":
        fy_dir = cfg.resolve(cfg.report.output_dir) / f"FY{cfg.fiscal.year}"
        newest = next_version(fy_dir)
        if newest == "v001":
            raise ConfigError([("--plan", f"latest: {fy_dir} holds no plan bundle yet; run `planlib plan` first")])
        plan_dir = fy_dir / f"v{int(newest[1:]) - 1:03d}"
    plan_dir = Path(plan_dir).expanduser().resolve()
    problems = []
    try:
        review_date = dt.date.fromisoformat(str(as_of))
    except ValueError:
        problems.append(("--as-of", f"expected an ISO date such as 2027-03-31, got {as_of!r}"))
    if not (plan_dir / "manifest.json").is_file():
        problems.append(("--plan", f"{plan_dir} is not a plan bundle: it has no manifest.json"))
    actuals_file = Path(actuals).expanduser().resolve() if actuals else None
    if actuals_file is not None and not actuals_file.is_file():
        problems.append(("--actuals", f"file not found: {actuals_file}"))
    if problems:
        raise ConfigError(problems)
    record = read_plan_bundle(plan_dir, base_dir=cfg.base_dir)
    if review_date <= record.config.as_of:
        raise ConfigError([("--as-of", f"the review date {review_date} must come after the plan's as_of "
                                       f"{record.config.as_of}")])
    window = review_window(record.config.fiscal.year, record.config.fiscal.start_month, review_date)
    target = plan_dir.parent / f"{plan_dir.name}-review-{window.label}"
    if target.exists():
        raise BundleExistsError(f"{target} exists; a review is never overwritten")
    cache_dir = cfg.resolve(cfg.report.output_dir) / ".cache"
    nb_dir, notebooks = notebook_paths(cfg, cfg.review.notebooks, "review.notebooks")
    runner_values = {"config": _relative(config_file, nb_dir), "cache_dir": _relative(cache_dir, nb_dir),
                     "interactive": False, "plan_dir": _relative(plan_dir, nb_dir), "as_of": review_date.isoformat(),
                     "actuals": _relative(actuals_file, nb_dir) if actuals_file else ""}
    runs = checked_runs(notebooks, runner_values, parameters, REVIEW_PARAMETERS,
                        "choose them with --config, --plan, --as-of and --actuals")
    overrides = {"review.plan": str(plan_dir), "review.as_of": review_date.isoformat()}
    if actuals_file is not None:
        overrides["review.actuals"] = str(actuals_file)
    before = bundle_files_hash(plan_dir)
    staging = _staging_folder(plan_dir.parent, target.name)
    try:
        plan = Plan.from_config(config_file, cache_dir=cache_dir, overrides=overrides)
        warm_stages(plan, notebook_stages(notebooks), say)
        pages = execute_all(runs, staging, kernel=cfg.report.kernel, cwd=nb_dir,
                            failed_dir=plan_dir.parent / "failed", progress=say, workers=cfg.report.workers)
        say("tables, workbook, index and manifest")
        write_review_tables(plan, staging, pages)
        if bundle_files_hash(plan_dir) != before:
            raise BundleExistsError(f"{plan_dir} changed while it was reviewed; the review is not published")
        final = _publish(staging, plan_dir.parent, target.name, auto=False, what="a review")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    say(f"review: {final}")
    return final


def write_review_tables(plan: Plan, folder: Path, pages: list[dict]) -> None:
    """Write review.xlsx, scorecards.csv, rejects.csv, index.html and manifest.json of a review into ``folder``."""
    result = plan.review
    cfg = plan.config
    record_cfg = plan.review_record.config
    write_csv(plan.review_inputs.rejects, folder / "rejects.csv")
    write_csv(result.scorecards.sheet, folder / "scorecards.csv")
    created = dt.datetime.combine(result.window.as_of, dt.time())
    write_excel(folder / "review.xlsx", review_sheets(result), unit=record_cfg.company.display_unit,
                unit_label=record_cfg.company.display_unit_label, created=created)
    title = f"{cfg.report.title}: review of {result.plan_name} as of {result.window.as_of.isoformat()}"
    write_index(folder, title, [{"title": p["title"], "file": p["html"]} for p in index_order(pages)],
                review_headline(result, record_cfg),
                notes=[f"The plan of record {result.plan_name} is read and left unchanged; this review sits beside it.",
                       "review.xlsx holds the review's tables; scorecards.csv every step of every rep's score; "
                       "rejects.csv every input row that was not used, with its file, line and reason."])
    packages = package_versions()
    document = {
        "title": title,
        "fiscal_year": record_cfg.fiscal.year,
        "as_of": result.window.as_of.isoformat(),
        "plan_of_record": {"bundle": result.plan_name, "manifest_sha256": plan.review_record.fingerprint},
        "inputs": input_counts(plan, plan.review_inputs.counts),
        "config": portable_config(cfg),
        "packages": packages,
        "notebooks": [{"notebook": p["notebook"], "html": p["html"], "parameters": dict(p["parameters"])}
                      for p in pages],
        "files": bundle_files_hash(folder),
    }
    write_manifest(folder / "manifest.json", document)


def review_headline(result, cfg: PlanConfig) -> dict[str, str]:
    """Return the review's headline figures for its index page, label -> formatted value."""
    from .text import money

    unit, label = cfg.company.display_unit, cfg.company.display_unit_label
    h = result.headline()
    figures = {"months closed": f"{h['months_closed']} of 12",
               "plan to date": money(h["plan_to_date"], unit, label),
               "actual to date": money(h["actual_to_date"], unit, label)}
    if h["plan_to_date"] > 0:
        figures["attainment to date"] = f"{h['attainment']:.1%}"
    figures[f"FY{cfg.fiscal.year} target"] = money(h["annual_target"], unit, label)
    figures["year-end outlook"] = money(h["year_end"], unit, label)
    figures["P(reaching the target) now"] = f"{h['p_reach']:.0%}"
    return figures


def review_sheets(result) -> dict[str, Sheet]:
    """Return the sheets of review.xlsx (name -> :class:`planlib.report.Sheet`)."""
    compare = ["plan", "actual", "variance"]
    c = result.comparison
    summary = pd.DataFrame([{"measure": k, "value": float(v)} for k, v in result.headline().items()])
    sheets = {
        "Summary": Sheet(summary, formats={"value": "#,##0.00"}),
        "By month": Sheet(c["month"], money=[*compare, "cum_plan", "cum_actual"],
                          percent=["attainment", "cum_attainment"]),
        "By region": Sheet(c["region"], money=compare, percent=["attainment"]),
        "By product": Sheet(c["product"], money=compare, percent=["attainment"]),
        "By team": Sheet(c["team"], money=compare, percent=["attainment"]),
        "By rep": Sheet(c["rep"], money=compare, percent=["attainment"]),
        "Variance by region": Sheet(result.bridge_region, formats={"amount": "#,##0"}),
        "Variance by product": Sheet(result.bridge_product, formats={"amount": "#,##0"}),
    }
    if result.price_volume_mix is not None:
        sheets["Price volume mix"] = Sheet(result.price_volume_mix,
                                           money=["plan", "actual", "price", "volume", "mix"],
                                           formats={"plan_qty": "#,##0", "actual_qty": "#,##0",
                                                    "plan_price": "#,##0.00", "actual_price": "#,##0.00"})
    bounds = [col for col in result.reforecast_months.columns if col.startswith(("lo_", "hi_"))]
    sheets.update({
        "Year-end outlook": Sheet(result.outlook, money=["annual_target", "actual_to_date", "rest_mean", "year_end",
                                                         "year_end_lo", "year_end_hi"],
                                  percent=["attainment_outlook", "p_reach"]),
        "Re-forecast": Sheet(result.reforecast_months, money=["plan", "actual", "forecast", *bounds]),
        "Options": Sheet(result.options, money=["annual_target", "change_vs_plan", "rest_target", "rest_forecast"],
                         percent=["needed_vs_forecast", "p_reach"]),
        "Option targets": Sheet(result.option_months, money=["target"]),
        "Targets to review": Sheet(result.to_review, money=["annual_target", "actual_to_date", "needed_rest",
                                                             "own_pace_target", "change"],
                                   percent=["attainment_to_date", "needed_pace", "p_reach"]),
        "Scorecards": Sheet(result.scorecards.scores),
        "Scorecard steps": Sheet(result.scorecards.sheet, percent=["effective_weight"]),
        "Scorecard spread": Sheet(result.scorecards.spread),
        "Feedback": Sheet(result.feedback),
    })
    return sheets
