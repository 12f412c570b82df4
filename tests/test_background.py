"""Work in a forked process beside the notebooks: its files, its errors and its death reach the parent."""
import errno
import os
import signal
import time

import pytest

from planlib.report.background import Background


def _write(path, text):
    path.write_text(text + f" by {os.getpid()}")


def _full_disk(path):
    raise OSError(errno.ENOSPC, "No space left on device", str(path))


def _killed():
    os.kill(os.getpid(), signal.SIGKILL)


def _sleep_then_write(path):
    time.sleep(30)
    path.write_text("too late")


def test_the_work_runs_in_another_process_with_the_parents_memory(tmp_path):
    task = Background(_write, tmp_path / "targets.csv", "written")
    task.wait()
    text = (tmp_path / "targets.csv").read_text()
    assert text.startswith("written by ") and text != f"written by {os.getpid()}"


def test_an_error_in_the_child_is_raised_by_wait_as_it_was(tmp_path):
    task = Background(_full_disk, tmp_path / "plan.xlsx")
    with pytest.raises(OSError, match="No space left on device") as info:
        task.wait()
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(tmp_path / "plan.xlsx")
    assert "in the process writing the tables beside the notebooks" in "".join(info.value.__notes__)
    task.wait()  # raised once; nothing more to wait for


def test_a_child_killed_without_a_word_is_an_error_naming_its_exit():
    with pytest.raises(RuntimeError, match=r"ended with exit code -9 \(killed, or out of memory\)"):
        Background(_killed).wait()


def test_cancel_stops_the_work_before_it_writes(tmp_path):
    task = Background(_sleep_then_write, tmp_path / "late.csv")
    task.cancel()
    time.sleep(0.2)
    assert not (tmp_path / "late.csv").exists()
    task.wait()  # nothing to raise after a cancel


def _bad_config():
    from planlib.core.errors import ConfigError
    raise ConfigError([("budget.base_salary", "required when the plan prices pay, found nothing")], "plan.yaml")


def _bad_rows():
    from planlib.core.errors import DataError, RowProblem
    raise DataError("2 bad rows in sales.csv", [RowProblem("sales.csv", 3, "amount", "x", "a number"),
                                                RowProblem("sales.csv", 9, "date", "32/13", "a date")])


def test_planlibs_own_errors_cross_from_the_child_whole():
    # A ConfigError is built from (problems, source): pickled as a plain exception it came back as
    # "ValueError: not enough values to unpack" and the user lost the key and the message.
    from planlib.core.errors import ConfigError, DataError

    with pytest.raises(ConfigError) as info:
        Background(_bad_config).wait()
    assert info.value.problems == [("budget.base_salary", "required when the plan prices pay, found nothing")]
    assert str(info.value) == ("1 problem(s) in plan.yaml:\n"
                               "  - budget.base_salary: required when the plan prices pay, found nothing")
    assert any("in the process writing the tables" in note for note in info.value.__notes__)
    with pytest.raises(DataError) as rows:
        Background(_bad_rows).wait()
    assert [p.line for p in rows.value.problems] == [3, 9]
    assert str(rows.value) == ("2 bad rows in sales.csv\n  - sales.csv, line 3, column 'amount': found 'x', "
                               "expected a number\n  - sales.csv, line 9, column 'date': found '32/13', "
                               "expected a date")


def test_without_a_fork_to_be_had_the_work_runs_here(tmp_path, monkeypatch):
    import multiprocessing.context

    def no_fork(self):
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(multiprocessing.context.ForkProcess, "start", no_fork)
    task = Background(_write, tmp_path / "targets.csv", "written")
    assert (tmp_path / "targets.csv").read_text() == f"written by {os.getpid()}"  # done inline, at once
    task.wait()
    with pytest.raises(OSError, match="No space left on device"):
        Background(_full_disk, tmp_path / "plan.xlsx").wait()


class _Unrebuildable(Exception):
    def __init__(self, a, b):
        super().__init__(f"{a}/{b}")


def _raise_unrebuildable():
    raise _Unrebuildable("x", "y")


def test_an_error_that_cannot_be_rebuilt_in_the_parent_says_so():
    # pickled as Exception("x/y"), rebuilt as _Unrebuildable("x/y"): a TypeError in the parent, not a hang or a crash
    with pytest.raises(RuntimeError, match=r"its error could not be passed back whole \(TypeError: .*missing 1 "
                                           r"required positional argument"):
        Background(_raise_unrebuildable).wait()
