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
