"""The plan runner: papermill runs the notebooks into a new, versioned plan bundle.

``run_plan`` checks each notebook's parameters, executes the notebooks in a staging
folder, normalises them so a rerun gives the same bytes, adds the tables, workbook,
index page and manifest, and renames the folder to ``<output_dir>/FY<year>/vNNN``.
"""
from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Mapping

import nbformat

from planlib.report.background import Background
from planlib.report.bundle import _relative, leads_index, write_data_files, write_tables
from planlib.core.config import PlanConfig, find_config, load_config
from planlib.core.cache import sweep_temporary
from planlib.core.folders import sweep_dead_folders
from planlib.core.errors import BundleExistsError, ConfigError, NotebookFailed, ParameterError, PlanlibError
from planlib.report.params import check_parameters, declared_parameters, parameters_cell
from planlib.core.graph import Plan, stages
from planlib.report.writers import export_notebook_html

__all__ = [
    "INJECTED_CELL_ID", "RUNNER_PARAMETERS", "STAGING_RE", "VERSION_RE", "WIDGET_MIME", "KernelDied", "KernelError",
    "OutputError", "check_inputs", "check_kernel", "checked_runs", "data_notes", "execute_all", "execute_notebook",
    "COMMITS_NOTEBOOK", "next_version", "normalise_notebook", "notebook_paths", "notebook_stages", "notebook_title",
    "output_error", "plan_notebooks",
    "run_plan", "sweep_staging", "warm_stages",
]

VERSION_RE = re.compile(r"^v(\d{3,})$")
STAGING_RE = re.compile(r"^\..+\.staging-(\d+)-[^/]*$")  # .v001.staging-<pid>-<random>: an unpublished bundle
RUNNER_PARAMETERS = ("config", "cache_dir")  # set by the runner only; the config is chosen with --config
INJECTED_CELL_ID = "injected-parameters"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

Progress = Callable[[str], Any]


# --------------------------------------------------------------------------- faults as messages
class OutputError(PlanlibError, OSError):
    """An output folder cannot be written (read-only, full, not permitted): one line naming it and what to do."""


class KernelError(PlanlibError, RuntimeError):
    """The notebooks' Jupyter kernel is missing or cannot start: one line naming it and what to do."""


class KernelDied(NotebookFailed):
    """The kernel running a notebook died (killed, or out of memory); no bundle is published."""

    def __init__(self, notebook: str, detail: str, kept_at: str):
        super().__init__(notebook, None, "DeadKernelError", detail, kept_at)
        self.args = (f"the kernel running {notebook} died ({detail}): it was killed or ran out of memory; "
                     f"no bundle was published (the unfinished notebook is kept at {kept_at}); run again, "
                     "with report.workers: 1 if memory is short",)


_WRITE_FAULTS = {
    errno.ENOSPC: ("the disk is full", "free space there or set report.output_dir to a folder on another disk"),
    errno.EDQUOT: ("the disk quota is used up", "free space there or set report.output_dir to another folder"),
    errno.EROFS: ("it is on a read-only file system", "set report.output_dir to a folder you can write"),
    errno.EACCES: ("permission denied", "make it writable (chmod u+w) or set report.output_dir to a folder "
                                        "you can write"),
    errno.EPERM: ("operation not permitted", "set report.output_dir to a folder you can write"),
}


def output_error(exc: BaseException, folder: Path, what: str = "the plan bundle") -> OutputError | None:
    """Return ``exc`` as a one-line :class:`OutputError` naming ``folder`` if it is a failed write, else None.

    A write fails as an ``OSError`` with errno ENOSPC, EDQUOT, EROFS, EACCES or EPERM, or as xlsxwriter's
    ``FileCreateError`` wrapping one; planlib's own errors are never rewritten.
    """
    if isinstance(exc, PlanlibError):
        return None
    os_exc = exc
    if not isinstance(exc, OSError):  # xlsxwriter's FileCreateError(OSError) and the like carry it as their argument
        os_exc = next((a for a in getattr(exc, "args", ()) if isinstance(a, OSError)), None)
        if os_exc is None:
            os_exc = exc.__cause__ if isinstance(exc.__cause__, OSError) else None
    if os_exc is None or os_exc.errno not in _WRITE_FAULTS:
        return None
    cause, todo = _WRITE_FAULTS[os_exc.errno]
    where = Path(os_exc.filename) if os_exc.filename else None
    named = f" ({where})" if where is not None and not _is_within(where, folder) else ""
    return OutputError(f"cannot write {what} in {folder}{named}: {cause} ({os_exc.strerror or os_exc}); "
                       f"nothing was published: {todo}")


def _is_within(path: Path, folder: Path) -> bool:
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
        return True
    except (ValueError, OSError):
        return False


def sweep_staging(parent: Path) -> list[Path]:
    """Remove the unpublished bundles (``.v001.staging-<pid>-*``) whose run is gone from ``parent``; return them.

    A run that was killed cannot remove its staging folder; the next run does. A folder of a live
    process (a run still going) is kept.
    """
    return sweep_dead_folders(parent, STAGING_RE)


def check_kernel(name: str) -> None:
    """Raise :class:`KernelError` unless the Jupyter kernel ``name`` (``report.kernel``) is installed."""
    from jupyter_client.kernelspec import NoSuchKernel

    specs = _kernel_manager_class()().kernel_spec_manager
    try:
        specs.get_kernel_spec(name)
    except NoSuchKernel:
        try:
            found = sorted({"python3", *specs.find_kernel_specs()})
        except Exception:
            found = ["python3"]
        raise KernelError(f"no Jupyter kernel named {name!r} (report.kernel); installed: {', '.join(found)}: "
                          f"set report.kernel to one of them, or install it with `python -m ipykernel install "
                          f"--user --name {name}` in the environment that has planlib") from None


def _sweep(fy_dir: Path, cache_dir: Path, say: Progress) -> None:
    swept = sweep_staging(fy_dir) + sweep_temporary(cache_dir)
    if swept:
        say(f"removed {len(swept)} unfinished folder(s) of runs that were stopped: "
            f"{', '.join(p.name for p in swept)}")


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
    nb_dir, notebooks = notebook_paths(cfg, plan_notebooks(cfg))

    runner_values = {"config": _relative(config_file, nb_dir), "cache_dir": _relative(cache_dir, nb_dir),
                     "interactive": False}
    runs = checked_runs(notebooks, runner_values, parameters, RUNNER_PARAMETERS, "choose the config with --config")

    check_kernel(cfg.report.kernel)
    _sweep(fy_dir, cache_dir, say)
    try:
        staging = _staging_folder(fy_dir, chosen)
    except OSError as exc:
        raise output_error(exc, fy_dir) or exc
    tables = None
    try:
        plan = Plan.from_config(config_file, cache_dir=cache_dir)
        check_inputs(plan)
        warm_stages(plan, notebook_stages(notebooks), say)
        for line in data_notes(plan):
            say(line)
        tables = Background(write_data_files, plan, staging)  # targets, rejects and plan.xlsx beside the notebooks
        pages = execute_all(runs, staging, kernel=cfg.report.kernel, cwd=nb_dir, failed_dir=fy_dir / "failed",
                            progress=say, workers=cfg.report.workers)
        say("tables, workbook, index and manifest")
        tables.wait()
        write_tables(plan, staging, pages, data_files=False)
        final = _publish(staging, fy_dir, chosen, auto=version is None)
    except BaseException as exc:
        if tables is not None:
            tables.cancel()  # before the staging folder goes: the child must not write into it afterwards
        shutil.rmtree(staging, ignore_errors=True)
        fault = output_error(exc, fy_dir)
        if fault is not None:
            raise fault from exc
        raise
    say(f"plan bundle: {final}")
    return final


def check_inputs(plan: Plan) -> None:
    """Check the inputs against the config before any notebook runs (what validating the config alone cannot).

    Raises
    ------
    DataError
        ``as_of`` lies past the data: the last closed month before it has no sale.
    ConfigError
        A SMART goal's scope names a region or product the sales history does not hold.
    """
    from planlib.data.checks import check_as_of_reach, check_goal_scopes

    check_as_of_reach(plan["inputs"].tables["sales"], plan.config.as_of)
    if plan.config.goals.smart and "history" in stages():
        check_goal_scopes(plan["history"], plan.config.goals.smart)


def data_notes(plan: Plan) -> list[str]:
    """Return what the run says about the data before the notebooks: region-months with negative net sales,
    and what is discontinued (no target)."""
    from planlib.data.checks import discontinued_note, negative_months_note

    if "history" not in stages():
        return []
    notes = [negative_months_note(plan["history"]),
             discontinued_note(plan["history"], plan.config.allocation.discontinued_months)]
    return [note for note in notes if note]


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
    """Create ``parent/.<name>.staging-<pid>-<random>``: the pid lets a later run sweep it once this one is gone."""
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.staging-{os.getpid()}-", dir=parent))
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
    lock = threading.Lock()

    def say(message):  # print writes the text and the newline apart: two threads would run lines together
        with lock:
            progress(message)

    def run_one(item):
        i, (path, params) = item
        say(f"notebook {i} of {len(runs)}: {path.name}")
        nb = execute_notebook(path, staging / path.name, params, kernel=kernel, cwd=cwd, failed_dir=failed_dir,
                              progress=say)
        title = notebook_title(nb, path.stem)
        export_notebook_html(nb, staging / f"{path.stem}.html", title)
        return {"title": title, "html": f"{path.stem}.html", "notebook": path.name,
                "parameters": params, "lead": leads_index(nb)}

    items = list(enumerate(runs, 1))
    if workers <= 1 or len(runs) <= 1:
        return [run_one(item) for item in items]
    pool = ThreadPoolExecutor(max_workers=min(workers, len(runs)))
    try:
        futures = [pool.submit(run_one, item) for item in items]
        return [future.result() for future in futures]
    except BaseException:  # a failed notebook, Ctrl-C or SIGTERM: start no further notebook
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)


def notebook_stages(paths: list[Path]) -> list[str]:
    """Return the plan stages the notebooks read (``plan["stage"]`` or ``plan.get("stage")``), sorted by name."""
    used: set[str] = set()
    for path in paths:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                used.update(re.findall(r"""\bplan\s*(?:\.get\s*\(|\[)\s*["']([A-Za-z_]\w*)["']""", cell.source))
    return sorted(used & set(stages()))


def warm_stages(plan: Plan, names: list[str], progress: Progress) -> None:
    """Compute (or load) ``names`` once in this process, so notebooks running side by side only read them."""
    if names:
        progress(f"stages: {', '.join(names)}")
    for name in names:
        plan.get(name)
    for event in plan.cache_events:  # an unreadable cache file was recomputed: say so
        progress(event)


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


COMMITS_NOTEBOOK = "07_commits.ipynb"


def plan_notebooks(cfg: PlanConfig) -> list[str]:
    """Return the notebooks ``planlib plan`` runs: ``report.notebooks``, then 07_commits when commits are given
    (``data.commits``) and the list does not name it already; a page of commits needs commits."""
    names = list(cfg.report.notebooks)
    if cfg.data.commits is not None and COMMITS_NOTEBOOK not in names:
        names.append(COMMITS_NOTEBOOK)
    return names


def notebook_paths(cfg: PlanConfig, names: list[str] | None = None,
                   key: str = "report.notebooks") -> tuple[Path, list[Path]]:
    """Return the notebooks folder and the notebooks that ``report.notebooks`` (or ``names``) lists, in order.

    ``report.notebooks_dir`` names the folder of custom notebooks. Without it the folder is the first
    ``notebooks/`` in the config's folder or its parents that holds every listed notebook (a project
    with its own copies), else the notebooks that ship with planlib (``planlib/notebooks``, the
    project's ``notebooks/`` folder in a source checkout), so a config in any folder runs the plan.

    Raises
    ------
    ConfigError
        A listed notebook does not exist, or none is listed.
    """
    names = cfg.report.notebooks if names is None else names
    if not names:
        raise ConfigError([(key, "lists no notebook to run")])
    # resolved: a kernel's working folder is the physical one, so paths made relative to it must be too
    shipped = (Path(__file__).resolve().parents[1] / "notebooks").resolve()
    if cfg.report.notebooks_dir is not None:
        nb_dir = cfg.resolve(cfg.report.notebooks_dir)
    else:
        candidates = [d / "notebooks" for d in (cfg.base_dir, *cfg.base_dir.parents)]
        nb_dir = next((d for d in candidates if all((d / n).is_file() for n in names)), shipped)
    missing = [n for n in names if not (nb_dir / n).is_file()]
    if missing:
        hint = "" if cfg.report.notebooks_dir is not None else "; custom notebooks: set report.notebooks_dir"
        raise ConfigError([(key, f"not found in {nb_dir}: {', '.join(missing)}{hint}")])
    return nb_dir, [nb_dir / n for n in names]


# --------------------------------------------------------------------------- execution
def _kernel_manager_class():
    """A kernel manager whose ``python3`` is this interpreter, with CurveZMQ transport when available."""
    import zmq
    from ipykernel.kernelspec import RESOURCES, get_kernel_dict
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class ThisPythonSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            if kernel_name == "python3":
                return KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())
            return super().get_kernel_spec(kernel_name)

    # Async, as nbclient expects: with a blocking client its wait for output blocks the event loop, so a
    # kernel that dies mid-cell is never noticed and the run hangs.
    class ThisPythonKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _specs(self):
            return ThisPythonSpecs(parent=self)

        @default("transport_encryption")
        def _encryption(self):
            # Encrypted kernel sockets also silence ipykernel's "running over TCP without encryption".
            return "auto" if zmq.has("curve") else "disabled"

        async def _async_interrupt_kernel(self):
            # jupyter_client interrupts a kernel before it asks it to shut down. Papermill only shuts down an
            # idle kernel, so that SIGINT stops nothing; on a busy machine it lands while the kernel is
            # exiting and prints "KeyboardInterrupt caught in kernel" to the run's stderr. Interrupts
            # outside a shutdown (a cell's timeout) go through.
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

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
        if isinstance(exc, OSError) and exc.errno in _WRITE_FAULTS:
            raise  # the output folder cannot be written: the run says which and what to do
        kept = _keep_failed(path, out_path, failed_dir)
        if type(exc).__name__ == "DeadKernelError":
            raise KernelDied(path.name, str(exc) or "no reply", str(kept)) from exc
        raise NotebookFailed(path.name, None, type(exc).__name__, str(exc), str(kept)) from exc
    nb = nbformat.read(str(out_path), as_version=4)
    normalise_notebook(nb, path.name)
    nbformat.write(nb, str(out_path))
    return nb


def _keep_failed(path: Path, out_path: Path, failed_dir: Path) -> Path:
    try:
        failed_dir.mkdir(parents=True, exist_ok=True)
        kept = failed_dir / path.name
        if not out_path.exists():
            return failed_dir
        nb = nbformat.read(str(out_path), as_version=4)
        normalise_notebook(nb, path.name)
        nbformat.write(nb, str(kept))
    except (OSError, ValueError):  # a full disk, or a notebook cut short: the error itself is what matters
        return failed_dir
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
