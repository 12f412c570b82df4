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
