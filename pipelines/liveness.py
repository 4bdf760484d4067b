"""Whether the process that left something behind (a staging file, an unfinished run) is gone.

A process killed outright (SIGKILL, the OOM killer) cleans nothing up; what it left is
judged later by a living process from the owner's pid and start time. The start time
tells a pid reused by a newer process from the owner: on Linux it is read from
``/proc/PID/stat``; elsewhere it is unknown ("0") and the pid alone decides.
"""

from __future__ import annotations

import os
from pathlib import Path

UNKNOWN = "0"


def start_mark(pid: int) -> str:
    """When ``pid`` started, in clock ticks since boot (Linux), else :data:`UNKNOWN`."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return UNKNOWN
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after it;
    # starttime is field 22, the 20th after the closing parenthesis
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 and fields[19].isdigit() else UNKNOWN


def own_mark() -> tuple[int, str]:
    """This process's pid and start mark, to be recorded with what it leaves around."""
    pid = os.getpid()
    return pid, start_mark(pid)


def process_alive(pid: int, mark: str = UNKNOWN) -> bool:
    """Whether the process ``pid`` that started at ``mark`` still exists (a zombie counts
    as alive until reaped). A different start mark means the pid was reused: gone."""
    if pid <= 0:  # 0 and negatives name process groups to os.kill, never one owner
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        pass
    except OSError:  # pid out of range and the like: no such process
        return False
    if mark == UNKNOWN:
        return True
    now = start_mark(pid)
    return now == UNKNOWN or now == mark
