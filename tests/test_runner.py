"""Tests of planlib.report.runner on a tiny project (a few seconds per run) and one full run on the sample.

The full run is the session fixture ``sample_bundle`` (tests/sample_bundle.py): the sample
company with hostile names, built once and shared with test_browser.py and test_escaping.py.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from sample_bundle import FORMULA_AMOUNT, sample_bundle  # noqa: F401  (the session fixture of the one full run)
from tiny_project import (
    BAD_SALES_ROWS,
    CHART_NOTEBOOK,
    GOOD_ROWS,
    MONTHS,
    OPEN_PLAN,
    PRODUCTS,
    REGIONS,
    SECOND_NOTEBOOK,
    file_hashes,
    make_project,
    notebook,
    restrict_to_data_stages,
    sales_amount,
)

from planlib.core.config import load_config
from planlib.core.errors import BundleExistsError, ConfigError, NotebookFailed, ParameterError
from planlib.core.graph import stages
from planlib.report.bundle import fiscal_year_months
from planlib.report.runner import _publish, next_version, normalise_notebook, run_plan

CDN_MARKERS = ("cdn", "https://cdn", "require.js", "<script src=")


@pytest.fixture
def data_stages_only(monkeypatch):
    restrict_to_data_stages(monkeypatch)


def _quiet_lines():
    lines: list[str] = []
    return lines, lines.append


# --------------------------------------------------------------------------- parameters
def test_unknown_parameter_names_are_rejected_before_any_run(tmp_path):
    old_style = notebook(OPEN_PLAN)
    old_style.cells[1].source = 'config: str = "plan.yaml"  # the config\ncache_dir: str = ""  # the cache'
    config = make_project(tmp_path, {"a.ipynb": CHART_NOTEBOOK, "old.ipynb": old_style})
    with pytest.raises(ParameterError, match=r"old\.ipynb: unknown parameter\(s\) 'interactive'; "
                                             r"old\.ipynb declares: config, cache_dir"):
        run_plan(config, progress=None)
    with pytest.raises(ParameterError, match=r"a\.ipynb: unknown parameter\(s\) 'colour', 'x; import os'; "
                                             r"a\.ipynb declares: config, cache_dir, interactive"):
        run_plan(config, parameters={"colour": "red", "x; import os": 1}, progress=None)
    assert not (tmp_path / "reports" / "FY2027").exists()


def test_wrong_parameter_types_and_runner_owned_names_are_rejected(tmp_path):
    config = make_project(tmp_path)
    with pytest.raises(ParameterError, match=r"a\.ipynb: interactive expects bool, got 'yes'"):
        run_plan(config, parameters={"interactive": "yes"}, progress=None)
    with pytest.raises(ParameterError, match=r"config cannot be given as parameters: the runner sets them"):
        run_plan(config, parameters={"config": "other.yaml"}, progress=None)
    assert not (tmp_path / "reports" / "FY2027").exists()


def test_missing_notebook_is_a_config_error(tmp_path):
    config = make_project(tmp_path)
    config.write_text(config.read_text().replace("- b.ipynb", "- c.ipynb"))
    with pytest.raises(ConfigError, match=r"report\.notebooks: not found in .*notebooks: c\.ipynb"):
        run_plan(config, progress=None)


# --------------------------------------------------------------------------- failure
def test_a_failing_cell_names_notebook_and_cell_and_publishes_nothing(tmp_path):
    failing = notebook(OPEN_PLAN, "raise ValueError('boom 42')", "print('never')", title="Failing")
    config = make_project(tmp_path, {"a.ipynb": SECOND_NOTEBOOK, "b.ipynb": failing})
    lines, say = _quiet_lines()
    with pytest.raises(NotebookFailed, match=r"notebook b\.ipynb failed in cell 3: ValueError: boom 42") as info:
        run_plan(config, progress=say)
    assert info.value.cell_index == 3  # index in b.ipynb as written: heading, parameters, open, raise
    fy = tmp_path / "reports" / "FY2027"
    assert sorted(p.name for p in fy.iterdir()) == ["failed"]  # no version folder, no staging left behind
    kept = fy / "failed" / "b.ipynb"
    assert info.value.kept_at == str(kept)
    assert str(kept) in str(info.value)
    executed = nbformat.read(str(kept), as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert [(e.ename, e.evalue) for e in errors] == [("ValueError", "boom 42")]
    assert (fy / "failed" / "b.html").is_file()
    # the shared stages first, then both notebooks side by side (two workers): their lines may interleave
    assert lines[0] == "stages: history"
    assert sorted(lines[1:]) == ["notebook 1 of 2: a.ipynb", "notebook 2 of 2: b.ipynb",
                                 f"notebook b.ipynb failed in cell 3; kept at {kept}"]


# --------------------------------------------------------------------------- versions
def test_versions_count_up_and_are_never_overwritten(tmp_path, data_stages_only):
    config = make_project(tmp_path, {"a.ipynb": SECOND_NOTEBOOK})
    lines, say = _quiet_lines()
    first = run_plan(config, progress=say)
    assert first == tmp_path / "reports" / "FY2027" / "v001"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(first.stat().st_mode) == 0o777 & ~umask  # readable by others, like any new folder
    assert lines == ["stages: history", "notebook 1 of 1: a.ipynb", "tables, workbook, index and manifest",
                     f"plan bundle: {first}"]
    before = file_hashes(first)
    second = run_plan(config, progress=None)
    assert second.name == "v002"
    assert file_hashes(first) == before
    # The version is not written inside the bundle, so a rerun is checked by comparing the two folders.
    assert file_hashes(second) == before
    with pytest.raises(BundleExistsError, match=r"FY2027/v001 exists; a plan of record is never overwritten "
                                                r"\(leave out --version to write v003\)"):
        run_plan(config, version="v001", progress=None)
    assert file_hashes(first) == before
    with pytest.raises(ConfigError, match=r"--version: expected v and three or more digits, e\.g\. v003; got '7'"):
        run_plan(config, version="7", progress=None)
    assert run_plan(config, version="v007", progress=None).name == "v007"
    assert next_version(tmp_path / "reports" / "FY2027") == "v008"
    assert sorted(p.name for p in (tmp_path / "reports" / "FY2027").iterdir()) == ["v001", "v002", "v007"]


def test_a_corrupt_cache_file_is_recomputed_and_the_run_says_so(tmp_path, data_stages_only):
    config = make_project(tmp_path, {"a.ipynb": SECOND_NOTEBOOK})
    first = run_plan(config, progress=None)
    cache = tmp_path / "reports" / ".cache"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700  # the cache is the user's own
    (history,) = cache.glob("history-*")
    (history / "value.json").write_text("{", encoding="utf-8")
    lines, say = _quiet_lines()
    second = run_plan(config, progress=say)
    said = [line for line in lines if line.startswith("stage ")]
    assert len(said) == 1 and said[0].startswith("stage history: cache unreadable, recomputed (") and \
        str(history / "value.json") in said[0], lines
    assert file_hashes(second) == file_hashes(first)


def test_publish_takes_the_next_version_when_another_run_published_first(tmp_path):
    fy = tmp_path / "FY2027"
    (fy / "v001").mkdir(parents=True)
    (fy / "v001" / "manifest.json").write_text("theirs")
    for auto, name in ((True, "mine"), (False, "again")):
        staging = fy / f".staging-{name}"
        staging.mkdir()
        (staging / "manifest.json").write_text(name)
        if auto:
            assert _publish(staging, fy, "v001", auto=True) == fy / "v002"
            assert (fy / "v002" / "manifest.json").read_text() == "mine"
        else:
            with pytest.raises(BundleExistsError, match=r"FY2027/v001 exists; a plan of record is never overwritten"):
                _publish(staging, fy, "v001", auto=False)
            assert staging.is_dir()
    assert (fy / "v001" / "manifest.json").read_text() == "theirs"


# --------------------------------------------------------------------------- the bundle
@pytest.fixture(scope="module")
def two_bundles(tmp_path_factory):
    """The tiny project built in two folders (different absolute paths), one bundle each."""
    bundles = []
    with pytest.MonkeyPatch.context() as monkeypatch:
        restrict_to_data_stages(monkeypatch)
        for copy in ("first", "second"):
            root = tmp_path_factory.mktemp(copy)
            bundles.append(run_plan(make_project(root), progress=None))
    return bundles


def test_reruns_are_byte_identical_in_every_file(two_bundles):
    first, second = two_bundles
    hashes = file_hashes(first)
    assert sorted(hashes) == ["a.html", "a.ipynb", "b.html", "b.ipynb", "index.html", "manifest.json",
                              "plan.xlsx", "rejects.csv"]
    assert file_hashes(second) == hashes


def test_bundle_holds_no_absolute_path_and_no_cdn(two_bundles):
    for bundle in two_bundles:
        root = bundle.parents[2]
        for path in bundle.iterdir():
            if path.suffix in (".html", ".ipynb", ".json", ".csv"):
                text = path.read_text(encoding="utf-8-sig")
                assert str(root) not in text, path.name
                assert str(Path.home()) + "/" not in text, path.name
                for marker in CDN_MARKERS:
                    assert marker not in text.lower(), (path.name, marker)


def test_executed_notebook_is_normalised_with_relative_parameters(two_bundles):
    executed = nbformat.read(str(two_bundles[0] / "a.ipynb"), as_version=4)
    injected = executed.cells[2]
    assert injected.id == "injected-parameters"
    assert injected.source == ('# Parameters\nconfig = "../plan.yaml"\ncache_dir = "../reports/.cache"\n'
                               "interactive = False\n")
    meta = executed.metadata["papermill"]
    assert meta["input_path"] == meta["output_path"] == "a.ipynb"
    assert meta["parameters"] == {"config": "../plan.yaml", "cache_dir": "../reports/.cache",
                                  "interactive": False}
    assert not {"start_time", "end_time", "duration"} & set(meta)
    for cell in executed.cells:
        assert "execution" not in cell.metadata
        assert not {"start_time", "end_time", "duration"} & set(cell.metadata.get("papermill", {}))
    outputs = [o for c in executed.cells for o in c.get("outputs", [])]
    assert sum("image/svg+xml" in o.get("data", {}) for o in outputs) == 1
    markdown = [o["data"]["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {})]
    assert markdown == [f"History holds {34} months."]  # 2024-01 .. 2026-10


def test_manifest_counts_inputs_and_hashes_every_other_file(two_bundles):
    bundle = two_bundles[0]
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    inputs = {row["table"]: row for row in manifest["inputs"]}
    assert inputs["sales"]["file"] == "data/sales.csv"
    assert (inputs["sales"]["rows_in"], inputs["sales"]["rows_used"], inputs["sales"]["rows_rejected"]) == (
        GOOD_ROWS + BAD_SALES_ROWS, GOOD_ROWS, BAD_SALES_ROWS)
    assert (inputs["reps"]["rows_in"], inputs["reps"]["rows_rejected"]) == (2, 0)
    for row in manifest["inputs"]:
        assert row["rows_in"] == row["rows_used"] + row["rows_rejected"]
    assert inputs["sales"]["sha256"] == hashlib.sha256(
        (bundle.parents[2] / "data" / "sales.csv").read_bytes()).hexdigest()
    on_disk = file_hashes(bundle)
    on_disk.pop("manifest.json")
    assert manifest["files"] == on_disk
    assert manifest["config"]["data"]["sales"]["path"] == "data/sales.csv"
    assert manifest["config"]["report"]["output_dir"] == "reports"
    assert manifest["notebooks"] == [
        {"notebook": "a.ipynb", "html": "a.html",
         "parameters": {"config": "../plan.yaml", "cache_dir": "../reports/.cache", "interactive": False}},
        {"notebook": "b.ipynb", "html": "b.html",
         "parameters": {"config": "../plan.yaml", "cache_dir": "../reports/.cache", "interactive": False}},
    ]
    assert manifest["packages"]["python"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert set(manifest["packages"]) == {"planlib", "pandas", "numpy", "statsmodels", "altair", "papermill",
                                         "vl-convert-python", "python"}


def test_rejects_csv_lists_the_bad_row_neutralised(two_bundles):
    rejects = pd.read_csv(two_bundles[0] / "rejects.csv", encoding="utf-8-sig", dtype=str)
    assert list(rejects.columns) == ["table", "file", "line", "column", "value", "reason"]
    assert len(rejects) == BAD_SALES_ROWS
    row = rejects.iloc[0]
    assert (row["table"], row["line"], row["column"]) == ("sales", str(GOOD_ROWS + 2), "amount")
    assert row["value"] == "'=1+2"  # a formula in a CSV cell opens as text in Excel


def test_history_sheet_adds_up_by_region_and_month(two_bundles):

    sheet = pd.read_excel(two_bundles[0] / "plan.xlsx", sheet_name="History by region")
    # Money columns are labelled with the display unit; the cells keep exact amounts.
    assert list(sheet.columns) == ["Month", "East (k CNY)", "West (k CNY)", "Total (k CNY)"]
    assert len(sheet) == len(MONTHS)
    last = sheet.iloc[-1]
    i = len(MONTHS) - 1
    east = sales_amount(i, "East", "Instruments") + sales_amount(i, "East", "Services")
    west = sales_amount(i, "West", "Instruments") + sales_amount(i, "West", "Services")
    assert (sheet.iloc[0]["Month"], last["Month"]) == ("2024-01", "2026-10")
    assert last["East (k CNY)"] == pytest.approx(east)
    assert last["West (k CNY)"] == pytest.approx(west)
    assert last["Total (k CNY)"] == pytest.approx(east + west)
    assert sheet["Total (k CNY)"].sum() == pytest.approx(
        sum(sales_amount(k, r, p) for k in range(len(MONTHS)) for r in REGIONS for p in PRODUCTS))


def test_fiscal_year_months():
    assert fiscal_year_months(2027, 1) == (pd.Timestamp("2027-01-01"), pd.Timestamp("2027-12-01"))
    assert fiscal_year_months(2027, 4) == (pd.Timestamp("2026-04-01"), pd.Timestamp("2027-03-01"))


def test_normalise_drops_widget_views_and_fixes_banner_ids():
    nb = notebook("x = 1")
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.cells[2].outputs = [nbformat.v4.new_output(
        "display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "abc"},
                              "text/plain": "IntSlider(value=1)"})]
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("An Exception was encountered",
                                                     metadata={"tags": ["papermill-error-cell-tag"]}))
    normalise_notebook(nb, "x.ipynb")
    assert "widgets" not in nb.metadata
    assert nb.cells[3].outputs[0]["data"] == {"text/plain": "IntSlider(value=1)"}
    assert nb.cells[0].id == "papermill-error-1"


# --------------------------------------------------------------------------- plain papermill
def test_plain_papermill_runs_a_notebook_without_the_runner(tmp_path):
    config = make_project(tmp_path, {"a.ipynb": SECOND_NOTEBOOK})
    papermill = Path(sys.executable).parent / "papermill"
    done = subprocess.run([str(papermill), "notebooks/a.ipynb", str(tmp_path / "out.ipynb"), "-p", "config",
                           config.name, "-k", "python3", "--no-progress-bar"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    executed = nbformat.read(str(tmp_path / "out.ipynb"), as_version=4)
    total = executed.cells[-1].outputs[0]["data"]["text/plain"]
    expected = sum(sales_amount(i, r, p) for i in range(len(MONTHS)) for r in REGIONS for p in PRODUCTS)
    assert float(total.replace("np.float64(", "").rstrip(")")) == pytest.approx(expected)


# --------------------------------------------------------------------------- the sample, end to end
@pytest.mark.slow
def test_sample_bundle_end_to_end(sample_bundle):
    """The single full run of the suite: the notebooks of templates/plan.yaml on the sample company."""
    bundle, expected = sample_bundle.bundle, sample_bundle
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    names = [n["notebook"] for n in manifest["notebooks"]]
    assert names == expected.notebooks
    for name in names:
        stem = Path(name).stem
        assert (bundle / name).is_file() and (bundle / f"{stem}.html").is_file()
    for required in ("index.html", "plan.xlsx", "rejects.csv", "manifest.json"):
        assert (bundle / required).is_file()
    for row in manifest["inputs"]:
        assert row["rows_in"] == row["rows_used"] + row["rows_rejected"], row
    sales = next(r for r in manifest["inputs"] if r["table"] == "sales")
    assert sales["rows_in"] == expected.sales_rows
    assert sales["rows_rejected"] >= 1  # the row with a formula for an amount
    index = (bundle / "index.html").read_text(encoding="utf-8")
    for name in names:
        assert f'href="{Path(name).stem}.html"' in index
    cfg = load_config(expected.root / "templates" / "plan.yaml")
    if "annual_target" in stages():
        # The headline's last year (the year before the plan year, calendar in the sample): its closed months
        # added up independently from the CSV (the formula row is rejected), plus the forecast of its open ones.
        import planlib

        year, last_closed = cfg.fiscal.year - 1, pd.Timestamp(cfg.last_closed_month)
        with (expected.root / "data" / "sample" / "sales.csv").open(encoding="utf-8") as fh:
            actual = sum(float(r["amount"]) for r in csv.DictReader(fh) if r["amount"] != FORMULA_AMOUNT
                         and r["date"].startswith(str(year)) and pd.Timestamp(r["date"][:7] + "-01") <= last_closed)
        forecasts = planlib.Plan.from_config(expected.root / "templates" / "plan.yaml")["forecast"].forecasts
        open_months = forecasts[(forecasts["unique_id"] == "company") & (forecasts["ds"] > last_closed)
                                & (pd.DatetimeIndex(forecasts["ds"]).year == year)]
        assert len(open_months) == 12 - last_closed.month
        last_year = actual + float(open_months["yhat"].sum())
        assert (f'Last year: FY{year} (actual + outlook)</div><div class="value">{last_year / 1000:,.0f} k CNY</div>'
                in index)
    if "targets" in stages():
        targets = pd.read_csv(bundle / "targets.csv", encoding="utf-8-sig")
        company = targets[(targets["level"] == "company") & (targets["period_type"] == "year")
                          & (targets["product"] == "All")]["target"]
        assert len(company) == 1
        assert f'FY{cfg.fiscal.year} target</div><div class="value">{company.iloc[0] / 1000:,.0f} k CNY</div>' in index
        assert "Targets" in pd.ExcelFile(bundle / "plan.xlsx").sheet_names
    for path in bundle.iterdir():
        if path.suffix in (".html", ".ipynb", ".json", ".csv"):
            text = path.read_text(encoding="utf-8-sig")
            assert str(expected.root) not in text and str(Path.cwd()) not in text, path.name
            for marker in CDN_MARKERS:
                assert marker not in text.lower(), (path.name, marker)


def test_notebook_stages_are_the_stages_the_code_reads(tmp_path):
    from planlib.report.runner import notebook_stages

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell('plan["forecast"] in prose does not count'),
        nbformat.v4.new_code_cell("x = plan['targets']\ny = plan.config.fiscal\nz = other['market']\n"
                                  'w = plan.get("history")\nv = plan["no_such_stage"]\nu = plan [ "budget" ]'),
    ])
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    # stages only, by name: config is an attribute, not a stage; other['market'] is not the plan
    assert notebook_stages([path]) == ["budget", "history", "targets"]


def test_index_states_the_chance_of_reaching_the_target_of_the_monte_carlo(sample_bundle):  # noqa: F811
    import html as html_module

    import planlib

    plan = planlib.Plan.from_config(sample_bundle.root / "templates" / "plan.yaml")  # the run's cache: no recompute
    chance = plan["monte_carlo"].summary["p_target"]
    page = html_module.unescape((sample_bundle.bundle / "index.html").read_text(encoding="utf-8"))
    assert f'<div class="label">Chance of reaching the target</div><div class="value">{chance:.0%}</div>' in page
    assert 0 < chance < 1


# --------------------------------------------------------------------------- faults: full or read-only folders, killed runs
def _dead_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


def test_stale_staging_folders_of_ended_runs_are_swept_and_live_ones_kept(tmp_path, data_stages_only):
    from planlib.report.runner import sweep_staging

    config = make_project(tmp_path, {"a.ipynb": SECOND_NOTEBOOK})
    fy = tmp_path / "reports" / "FY2027"
    cache = tmp_path / "reports" / ".cache"
    dead = _dead_pid()
    stale = fy / f".v001.staging-{dead}-abc123"
    live = fy / f".v002.staging-{os.getppid()}-def456"  # a run still going (the process that started the tests)
    old_cache = cache / f"history-0123.tmp-{dead}"
    for folder in (stale, live, old_cache):
        folder.mkdir(parents=True)
        (folder / "a.ipynb").write_text("{}")
    os.chmod(cache, 0o700)
    lines, say = _quiet_lines()
    bundle = run_plan(config, progress=say)
    assert bundle == fy / "v001"
    assert lines[0] == f"removed 2 unfinished folder(s) of runs that were stopped: {stale.name}, {old_cache.name}" \
        or lines[0] == f"removed 2 unfinished folder(s) of runs that were stopped: {old_cache.name}, {stale.name}"
    assert sorted(p.name for p in fy.iterdir()) == sorted([live.name, "v001"])
    assert not old_cache.exists()
    assert sweep_staging(fy) == []  # the live one stays


def test_staging_folder_names_its_process(tmp_path, data_stages_only, monkeypatch):
    import planlib.report.runner as runner

    seen = []
    real = runner.write_tables
    monkeypatch.setattr(runner, "write_tables", lambda plan, folder, pages, **kw: (seen.append(folder.name),
                                                                                   real(plan, folder, pages, **kw)))
    config = make_project(tmp_path, {"a.ipynb": SECOND_NOTEBOOK})
    run_plan(config, progress=None)
    assert len(seen) == 1 and seen[0].startswith(f".v001.staging-{os.getpid()}-")


@pytest.mark.parametrize("code, cause", [(28, "the disk is full"), (30, "it is on a read-only file system")])
def test_a_full_or_read_only_output_folder_is_one_message_and_leaves_nothing(tmp_path, data_stages_only,
                                                                             monkeypatch, code, cause):
    import errno

    import xlsxwriter.exceptions

    import planlib.report.bundle as bundle
    from planlib.report.runner import OutputError

    assert (errno.ENOSPC, errno.EROFS) == (28, 30)

    def failing_excel(path, *args, **kwargs):  # as xlsxwriter fails when the zip cannot be written
        raise xlsxwriter.exceptions.FileCreateError(OSError(code, os.strerror(code)))

    monkeypatch.setattr(bundle, "write_excel", failing_excel)
    config = make_project(tmp_path, {"a.ipynb": SECOND_NOTEBOOK})
    fy = tmp_path / "reports" / "FY2027"
    with pytest.raises(OutputError, match=rf"^cannot write the plan bundle in {fy}: {cause} \(.*\); nothing was "
                                          r"published: .*report\.output_dir") as info:
        run_plan(config, progress=None)
    assert info.value.errno is None and "\n" not in str(info.value)
    assert list(fy.iterdir()) == []  # the staging folder is removed
    assert not list((tmp_path / "reports" / ".cache").glob("*.tmp*"))


def test_an_output_folder_that_cannot_be_created_is_one_message(tmp_path, monkeypatch):
    import errno

    import planlib.report.runner as runner

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(kwargs.get("dir")))

    monkeypatch.setattr(runner.tempfile, "mkdtemp", read_only)
    config = make_project(tmp_path, {"a.ipynb": SECOND_NOTEBOOK})
    fy = tmp_path / "reports" / "FY2027"
    with pytest.raises(runner.OutputError, match=rf"^cannot write the plan bundle in {fy}: it is on a read-only "
                                                 r"file system \(Read-only file system\); nothing was published"):
        run_plan(config, progress=None)


def test_a_missing_kernel_is_named_before_anything_runs(tmp_path):
    from planlib.report.runner import KernelError

    config = make_project(tmp_path, {"a.ipynb": SECOND_NOTEBOOK})
    config.write_text(config.read_text().replace("report:\n", "report:\n  kernel: no-such-kernel\n"))
    with pytest.raises(KernelError, match=r"^no Jupyter kernel named 'no-such-kernel' \(report\.kernel\); "
                                          r"installed: .*python3.*ipykernel install --user --name no-such-kernel"):
        run_plan(config, progress=None)
    assert not (tmp_path / "reports" / "FY2027").exists()


def test_a_killed_kernel_is_reported_and_publishes_nothing(tmp_path):
    from planlib.report.runner import KernelDied

    killer = notebook("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", title="Killed")
    config = make_project(tmp_path, {"a.ipynb": killer})
    fy = tmp_path / "reports" / "FY2027"
    with pytest.raises(KernelDied, match=r"^the kernel running a\.ipynb died \(Kernel died\): it was killed or ran "
                                         r"out of memory; no bundle was published") as info:
        run_plan(config, progress=None)
    assert isinstance(info.value, NotebookFailed) and info.value.cell_index is None
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in fy.iterdir()) == ["failed"]


def test_a_kernel_being_shut_down_is_not_interrupted_first_but_a_running_one_is(monkeypatch):
    """jupyter_client sends SIGINT before a shutdown; under load it printed "KeyboardInterrupt caught in kernel"."""
    import asyncio

    from jupyter_client.manager import AsyncKernelManager

    from planlib.report.runner import _kernel_manager_class

    sent = []

    async def interrupt(self):
        sent.append(self.shutting_down)

    monkeypatch.setattr(AsyncKernelManager, "_async_interrupt_kernel", interrupt)
    km = _kernel_manager_class()()
    km.shutting_down = True
    asyncio.run(km._async_interrupt_kernel())
    assert sent == []  # the shutdown's interrupt is dropped
    km.shutting_down = False
    asyncio.run(km._async_interrupt_kernel())
    assert sent == [False]  # a timeout's interrupt goes through
