"""Staging files left by a killed extraction are removed by the next load; a live one stays.

The staging files are real ones written by real processes; the owner is killed with
SIGKILL, so it cleans nothing up, as under the OOM killer.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.github.load import staged
from pipelines.github.rows import RUN_COLUMNS
from tests.conftest import ROOT

WRITER = """
import sys, time
from pipelines.github.load import RowStage
stage = RowStage({"name": "VARCHAR"})
stage.write([{"name": "a row"}])
print(stage.path, flush=True)
time.sleep(600)
"""


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp dir of its own for this process and the writers it starts."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


@pytest.fixture
def writers(temp_dir: Path) -> Iterator[list[subprocess.Popen]]:
    procs: list[subprocess.Popen] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=30)


def start_writer(temp_dir: Path, procs: list[subprocess.Popen]) -> tuple[subprocess.Popen, Path]:
    """A process that stages a row and keeps its staging file open; and that file."""
    env = {**os.environ, "TMPDIR": str(temp_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    procs.append(proc)
    path = Path(proc.stdout.readline().strip())
    assert path.parent == temp_dir and path.exists(), path
    return proc, path


def stage_files(directory: Path) -> set[Path]:
    return set(directory.glob("ci-metrics-stage-*.parquet"))


def test_a_load_removes_the_stage_of_a_killed_run_and_keeps_a_live_one(temp_dir, writers):
    victim, left = start_writer(temp_dir, writers)
    live, writing = start_writer(temp_dir, writers)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(timeout=30) == -signal.SIGKILL  # reaped: its pid is gone
    assert stage_files(temp_dir) == {left, writing}

    with staged(RUN_COLUMNS) as stage:  # the start of the next load
        assert stage_files(temp_dir) == {writing, stage.path}
    assert live.poll() is None
    assert stage_files(temp_dir) == {writing}


def test_a_reused_pid_or_an_old_unowned_file_is_stale(temp_dir):
    """A pid now held by another process (this one, started at another time) does not
    keep a file; files named before they carried an owner go once a day untouched."""
    me = os.getpid()
    with open(f"/proc/{me}/stat") as f:
        my_start = f.read().rpartition(")")[2].split()[19]
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait(timeout=30)
    reused = temp_dir / f"ci-metrics-stage-{me}-{int(my_start) + 1}-abc123.parquet"
    mine = temp_dir / f"ci-metrics-stage-{me}-{my_start}-def456.parquet"
    dead = temp_dir / f"ci-metrics-stage-{ended.pid}-{my_start}-ghi789.parquet"
    old_unowned = temp_dir / "ci-metrics-stage-k3j2h1.parquet"
    new_unowned = temp_dir / "ci-metrics-stage-x9y8z7.parquet"
    for path in (reused, mine, dead, old_unowned, new_unowned):
        path.write_bytes(b"PAR1")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old_unowned, (two_days_ago, two_days_ago))

    with staged(RUN_COLUMNS) as stage:
        assert stage_files(temp_dir) == {mine, new_unowned, stage.path}
