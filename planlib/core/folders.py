"""Folders a run leaves behind when it is killed: which process made them, and sweeping those of ended runs.

The runner's staging folders (``.v001.staging-<pid>-*``) and the cache's unfinished values
(``<name>.tmp-<pid>``) carry the pid of their maker, so the next run can tell a dead run's leftovers
from a live run's work.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

__all__ = ["process_alive", "sweep_dead_folders"]


def process_alive(pid: int) -> bool:
    """Return whether process ``pid`` exists on this machine (one of another user counts as alive)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True  # cannot tell: keep it
    return True


def sweep_dead_folders(parent: Path, pattern: re.Pattern) -> list[Path]:
    """Remove the folders of ``parent`` whose whole name matches ``pattern`` and whose process is gone.

    ``pattern``'s first group is the pid of the process that made the folder; a live process may still
    be writing its own, so its folders stay. Returns the folders removed.
    """
    swept = []
    try:
        entries = list(Path(parent).iterdir())
    except OSError:
        return swept
    for entry in entries:
        m = pattern.fullmatch(entry.name)
        if m and entry.is_dir() and not entry.is_symlink() and not process_alive(int(m.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            if not entry.exists():
                swept.append(entry)
    return swept
