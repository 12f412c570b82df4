"""Tests of the ``planlib`` command (planlib.report.cli): arguments in, library calls, exit status and messages."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tiny_project import SECOND_NOTEBOOK, file_hashes, make_project, restrict_to_data_stages

from planlib.report.cli import build_parser, main


def test_plan_writes_bundles_quietly_or_with_progress(tmp_path, capfd, monkeypatch):
    restrict_to_data_stages(monkeypatch)
    config = make_project(tmp_path, {"a.ipynb": SECOND_NOTEBOOK})
    assert main(["plan", "--config", str(config), "--quiet"]) == 0
    # capfd also sees what the kernel process writes (e.g. ipykernel's unencrypted-TCP warning)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    first = tmp_path / "reports" / "FY2027" / "v001"
    assert (first / "manifest.json").is_file()

    assert main(["plan", "--config", str(config), "--version", "v004"]) == 0
    out, _ = capfd.readouterr()
    bundle = tmp_path / "reports" / "FY2027" / "v004"
    assert out.splitlines() == ["stages: history", "notebook 1 of 1: a.ipynb", "tables, workbook, index and manifest",
                                f"plan bundle: {bundle}"]
    assert file_hashes(bundle) == file_hashes(first)

    assert main(["plan", "--config", str(config), "--version", "v004"]) == 1
    _, err = capfd.readouterr()
    assert err.startswith("planlib plan: error: ") and "FY2027/v004 exists" in err


def test_plan_reports_bad_parameters_and_missing_config(tmp_path, capsys):
    config = make_project(tmp_path, {"a.ipynb": SECOND_NOTEBOOK})
    assert main(["plan", "--config", str(config), "-p", "interactive", "yes"]) == 1
    _, err = capsys.readouterr()
    assert err == "planlib plan: error: a.ipynb: interactive expects bool, got 'yes'\n"
    assert main(["plan", "--config", str(config), "-p", "colour", "red", "-p", "interactive", "false"]) == 1
    _, err = capsys.readouterr()
    assert "unknown parameter(s) 'colour'; a.ipynb declares: config, cache_dir, interactive" in err
    assert main(["plan", "--config", str(tmp_path / "nope.yaml")]) == 1
    _, err = capsys.readouterr()
    assert "config file not found" in err and "nope.yaml" in err
    assert not (tmp_path / "reports").exists()


def test_params_lists_declared_parameters(tmp_path, capsys):
    make_project(tmp_path, {"a.ipynb": SECOND_NOTEBOOK})
    assert main(["params", str(tmp_path / "notebooks" / "a.ipynb")]) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines() == [
        "Parameters of a.ipynb:",
        "  config       str    (default 'plan.yaml')  the plan config, found from the working folder or its parents",
        "  cache_dir    str    (default '')  where plan stages are cached; empty: <output_dir>/.cache",
        "  interactive  bool   (default True)  show ipywidgets what-ifs (False under the runner: static results)",
    ]
    assert main(["params", str(tmp_path / "missing.ipynb")]) == 1
    _, err = capsys.readouterr()
    assert "notebook not found" in err


def test_parser_needs_a_command_and_defaults_the_config():
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([])
    assert info.value.code == 2
    args = build_parser().parse_args(["plan", "-p", "a", "1", "-p", "b", "x"])
    assert args.config == "templates/plan.yaml"
    assert args.parameter == [["a", "1"], ["b", "x"]]
    assert args.version is None and args.quiet is False


def test_console_script_is_installed(tmp_path):
    make_project(tmp_path, {"a.ipynb": SECOND_NOTEBOOK})
    planlib = Path(sys.executable).parent / "planlib"
    done = subprocess.run([str(planlib), "params", "notebooks/a.ipynb"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Parameters of a.ipynb:\n  config ")


# --------------------------------------------------------------------------- faults as one line, --debug for the traceback
def _full_disk(monkeypatch):
    import errno

    import xlsxwriter.exceptions

    import planlib.report.bundle

    def failing_excel(path, *args, **kwargs):
        raise xlsxwriter.exceptions.FileCreateError(OSError(errno.ENOSPC, "No space left on device"))

    monkeypatch.setattr(planlib.report.bundle, "write_excel", failing_excel)


def test_a_full_disk_is_one_line_naming_the_folder_and_what_to_do(tmp_path, capsys, monkeypatch):
    restrict_to_data_stages(monkeypatch)
    _full_disk(monkeypatch)
    config = make_project(tmp_path, {"a.ipynb": SECOND_NOTEBOOK})
    fy = tmp_path / "reports" / "FY2027"
    assert main(["plan", "--config", str(config), "--quiet"]) == 1
    _, err = capsys.readouterr()
    assert err == (f"planlib plan: error: cannot write the plan bundle in {fy}: the disk is full (No space left on "
                   "device); nothing was published: free space there or set report.output_dir to a folder on another "
                   "disk\n")
    assert list(fy.iterdir()) == []

    assert main(["--debug", "plan", "--config", str(config), "--quiet"]) == 1
    _, err = capsys.readouterr()
    assert err.startswith("Traceback (most recent call last):\n") and "FileCreateError" in err
    assert err.endswith(f"planlib plan: error: cannot write the plan bundle in {fy}: the disk is full (No space left "
                        "on device); nothing was published: free space there or set report.output_dir to a folder on "
                        "another disk\n")


def test_a_read_only_output_folder_and_a_missing_kernel_are_one_line(tmp_path, capsys, monkeypatch):
    import errno

    import planlib.report.runner as runner

    config = make_project(tmp_path, {"a.ipynb": SECOND_NOTEBOOK})
    config.write_text(config.read_text().replace("report:\n", "report:\n  kernel: gone\n"))
    assert main(["plan", "--config", str(config)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("planlib plan: error: no Jupyter kernel named 'gone' (report.kernel); installed: ")

    config.write_text(config.read_text().replace("  kernel: gone\n", ""))
    monkeypatch.setattr(runner.tempfile, "mkdtemp",
                        lambda **kw: (_ for _ in ()).throw(OSError(errno.EROFS, "Read-only file system", kw["dir"])))
    assert main(["plan", "--config", str(config), "--quiet"]) == 1
    _, err = capsys.readouterr()
    fy = tmp_path / "reports" / "FY2027"
    assert err == (f"planlib plan: error: cannot write the plan bundle in {fy}: it is on a read-only file system "
                   "(Read-only file system); nothing was published: set report.output_dir to a folder you can write\n")
    assert main(["--debug", "plan", "--config", str(config), "--quiet"]) == 1  # --debug: the traceback, then the line
    _, err = capsys.readouterr()
    assert err.startswith("Traceback (most recent call last):\n") and "OSError: [Errno 30] Read-only file system" in err
    assert err.endswith(f"planlib plan: error: cannot write the plan bundle in {fy}: it is on a read-only file "
                        "system (Read-only file system); nothing was published: set report.output_dir to a folder you "
                        "can write\n")


def test_a_stopped_run_says_so_and_leaves_no_staging_folder(tmp_path, capsys, monkeypatch):
    import planlib.report.runner as runner
    from planlib.report.cli import Stopped

    restrict_to_data_stages(monkeypatch)

    def killed(runs, staging, **kwargs):
        assert staging.is_dir()
        raise Stopped("SIGTERM")

    monkeypatch.setattr(runner, "execute_all", killed)
    config = make_project(tmp_path, {"a.ipynb": SECOND_NOTEBOOK})
    assert main(["plan", "--config", str(config), "--quiet"]) == 130
    _, err = capsys.readouterr()
    assert err == ("planlib plan: stopped by SIGTERM; nothing was published and the unfinished bundle was removed: "
                   "run the command again\n")
    assert list((tmp_path / "reports" / "FY2027").iterdir()) == []


def test_an_unexpected_error_is_one_line_pointing_to_debug(tmp_path, capsys, monkeypatch):
    import planlib.report.runner as runner

    monkeypatch.setattr(runner, "run_plan", lambda *a, **k: (_ for _ in ()).throw(KeyError("ds")))
    assert main(["plan", "--config", "x.yaml"]) == 1
    _, err = capsys.readouterr()
    assert err == "planlib plan: error: KeyError: 'ds' (run `planlib --debug ...` to see where it came from)\n"


def test_sigterm_stops_a_run_like_ctrl_c(tmp_path):
    make_project(tmp_path, {"a.ipynb": SECOND_NOTEBOOK})
    script = ("import os, signal, sys\n"
              "import planlib.report.runner as r\n"
              "def run(*a, **k):\n    os.kill(os.getpid(), signal.SIGTERM)\n"
              "r.run_plan = run\n"
              "from planlib.report.cli import main\nsys.exit(main(['plan', '--config', 'plan.yaml']))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 130
    assert done.stderr == ("planlib plan: stopped by SIGTERM; nothing was published and the unfinished bundle was "
                           "removed: run the command again\n")
