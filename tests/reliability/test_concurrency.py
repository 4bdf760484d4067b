"""Two ``ci-metrics materialize`` processes and a looping ``ci-metrics report`` on one
DuckDB file and one Dagster instance, all at once.

DuckDB lets one process hold a file for writing, and a read-only process still needs
a shared lock, so every write and every report contends for the same file lock. The
runs' writing steps share the ``duckdb`` pool (limit 1 in ``dagster_home/dagster.yaml``);
everything else (asset checks, the dashboard, the report command) relies on the store's
lock retry. What must hold: both runs succeed, every report answers without a lock error,
and the store ends up row for row as two sequential runs leave it.
"""

import itertools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

from pipelines import store
from pipelines.fake_github.generator import FakeConfig, FakeWorld, generate
from pipelines.fake_github.server import FakeGitHubServer
from pipelines.materialize import run_pipeline
from tests.conftest import TOKEN, dagster_home, raw_resources, server_env
from tests.snapshot import assert_same_store, snapshot

REPO_ROOT = Path(__file__).resolve().parents[2]
END = date(2025, 3, 10)
# Overlapping ranges with one end day: the window tables and the dashboard are "as of"
# the same day whichever run finishes last, so the final store does not depend on order.
RANGES = ((date(2025, 3, 4), END), (date(2025, 3, 7), END))
FORMATS = (("table", "7"), ("md", "30"), ("json", "90"))
# Columns that say when a row was fetched or by which run, not what it holds.
LOCK_TEXT = ("lock", "conflicting", "traceback")
HANG_GUARD_S = 900


@dataclass
class ReportCall:
    fmt: str
    window: str
    returncode: int
    seconds: float
    output: str


@pytest.fixture(scope="module")
def world() -> FakeWorld:
    """Two repos, ten days: enough rows that each test-results load is a real transaction."""
    return generate(FakeConfig(seed=23, repos=2, days=7, end_date=END, runs_per_day=6))


@pytest.fixture
def server(world: FakeWorld) -> Iterator[FakeGitHubServer]:
    with FakeGitHubServer(world, token=TOKEN) as srv:
        yield srv


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", *args]


def _report(env: dict[str, str], fmt: str, window: str) -> ReportCall:
    """One ``ci-metrics report`` process: its exit code, time and output."""
    started = time.monotonic()
    done = subprocess.run(
        _cli("report", "--format", fmt, "--window", window),
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        cwd=REPO_ROOT,
    )
    return ReportCall(
        fmt, window, done.returncode, time.monotonic() - started, done.stdout + done.stderr
    )


def _report_loop(env: dict[str, str], stop: threading.Event, calls: list[ReportCall]) -> None:
    """``ci-metrics report`` in every format, one process after another, until ``stop``."""
    i = 0
    while not stop.is_set():
        calls.append(_report(env, *FORMATS[i % len(FORMATS)]))
        i += 1


def _pooled_steps() -> set[str]:
    """Step keys of every op in the ``duckdb`` pool (the writers)."""
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    return {
        a.op.name
        for a in graph.assets_defs
        if a.is_executable and a.node_def is not None and getattr(a.op, "pool", None) == "duckdb"
    }


def _step_intervals(
    instance: DagsterInstance, run_id: str, pooled: set[str]
) -> tuple[list[tuple[float, float, str]], int]:
    """(start, end, step) of the run's pooled steps, and how often a step reported that
    it waited for the pool."""
    starts: dict[str, float] = {}
    spans: list[tuple[float, float, str]] = []
    blocked = 0
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        step = event.step_key
        if event.event_type == DagsterEventType.ENGINE_EVENT and "blocked by limit for pool" in (
            entry.user_message or ""
        ):
            blocked += 1
        if step not in pooled:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            starts[step] = entry.timestamp
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            spans.append((starts[step], entry.timestamp, step))
    return spans, blocked


def _sequential_store(
    server: FakeGitHubServer,
    db: Path,
    out: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> int:
    """Build ``db`` from the same runs one after the other; how many Dagster runs each
    pipeline launch made."""
    monkeypatch.setenv("CI_METRICS_OUTPUT_DIR", str(out))
    with DagsterInstance.ephemeral() as instance:
        for first, last in RANGES:
            results = run_pipeline(
                first, last, resources=raw_resources(server, db), instance=instance
            )
            assert all(r.success for r in results)
    return len(results)


@pytest.mark.slow
def test_two_runs_and_reports_share_one_store(
    server: FakeGitHubServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    record: Callable[..., None],
) -> None:
    home = dagster_home(tmp_path / "dagster_home")
    db = tmp_path / "concurrent.duckdb"
    with store.connect(db):  # an existing, empty store: what a report finds before a load
        pass
    env = server_env(server, home=home, db=db, out=tmp_path / "reports")
    env["PYTHONPATH"] = str(REPO_ROOT)

    calls: list[ReportCall] = []
    stop = threading.Event()
    reporter = threading.Thread(target=_report_loop, args=(env, stop, calls), daemon=True)
    reporter.start()
    started = time.monotonic()
    runs = [
        subprocess.Popen(
            _cli("materialize", "--start", first.isoformat(), "--end", last.isoformat()),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=REPO_ROOT,
        )
        for first, last in RANGES
    ]
    outputs = [p.communicate(timeout=HANG_GUARD_S)[0] for p in runs]
    wall = time.monotonic() - started
    during = len(calls)
    stop.set()
    reporter.join(timeout=HANG_GUARD_S)
    # one more round once both runs are done: the reports read the finished store
    stop.clear()
    calls += [_report(env, fmt, window) for fmt, window in FORMATS]

    for proc, output in zip(runs, outputs, strict=True):
        assert proc.returncode == 0, output[-4000:]
    failed = [c for c in calls if c.returncode != 0]
    assert not failed, failed[0].output[-4000:]
    noisy = [c for c in calls if any(t in c.output.lower() for t in LOCK_TEXT)]
    assert not noisy, noisy[0].output[-4000:]
    assert during >= len(FORMATS), "the reports must overlap the runs"
    final_json = calls[-1].output
    assert all(repo in final_json for repo in server.world.repos)

    reference = tmp_path / "sequential.duckdb"
    runs_per_launch = _sequential_store(
        server, reference, tmp_path / "reference-reports", monkeypatch
    )

    # The runs' writing steps never overlapped: in-process runs honour the duckdb pool.
    pooled = _pooled_steps()
    with DagsterInstance.from_config(str(home)) as instance:
        dagster_runs = instance.get_runs()
        assert len(dagster_runs) == runs_per_launch * len(RANGES)
        assert {r.status for r in dagster_runs} == {DagsterRunStatus.SUCCESS}
        spans, blocked = [], 0
        for r in dagster_runs:
            s, b = _step_intervals(instance, r.run_id, pooled)
            spans += [(start, end, step, r.run_id) for start, end, step in s]
            blocked += b
    assert spans
    spans.sort()
    for (_s1, e1, step1, run1), (s2, _e2, step2, run2) in itertools.pairwise(spans):
        assert e1 <= s2, f"{step1} of {run1} overlapped {step2} of {run2}"

    concurrent_rows = snapshot(db, schemas=("raw", "kpi"))
    assert_same_store(concurrent_rows, snapshot(reference, schemas=("raw", "kpi")))
    # the ground truth reached the store: every run the world made in the range
    expected = server.world.expected_counts(RANGES[0][0], END)
    runs_stored = len({(r[0], r[1]) for r in concurrent_rows["raw.workflow_runs"][1]})
    assert runs_stored == expected["runs"]
    assert concurrent_rows["raw.workflow_runs"][1].total() == expected["attempts"]
    assert concurrent_rows["raw.workflow_jobs"][1].total() == expected["jobs"]

    seconds = sorted(c.seconds for c in calls[:during])
    record(
        "concurrency",
        "two materialize processes and a report loop on one store",
        f"`ci-metrics materialize` {RANGES[0][0]}…{END} and {RANGES[1][0]}…{END} started "
        "together on one DAGSTER_HOME (duckdb pool, limit 1) and one DuckDB file, while "
        "`ci-metrics report` looped over table/md/json; compared with the same runs in "
        "sequence",
        f"both runs succeeded; {len(calls)} reports exited 0 without lock errors; pooled "
        f"steps of different runs never overlapped; raw.* and kpi.* equal the sequential "
        f"store row for row ({sum(rows.total() for _, rows in concurrent_rows.values())} rows)",
        runs=len(dagster_runs),
        reports=len(calls),
        pool_waits=blocked,
        report_median_s=round(seconds[len(seconds) // 2], 2),
        report_max_s=round(seconds[-1], 2),
        wall_s=round(wall, 1),
    )


# A process that holds the store for writing, in one open transaction, for argv[2] seconds.
HOLDER = """
import sys, time
from pipelines import store
with store.connect(sys.argv[1]) as con:
    con.execute("BEGIN TRANSACTION")
    con.execute(
        "INSERT INTO raw.ingest_errors "
        "VALUES ('held', 'a long write', NULL, now()::TIMESTAMP, NULL)"
    )
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
    con.execute("COMMIT")
"""


def _hold(db: Path, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert holder.stdout.readline().strip() == "holding"
    return holder


def test_report_and_writer_wait_for_a_long_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], record: Callable[..., None]
) -> None:
    """A report started during another process's write transaction waits for it and
    answers; a writer queued behind it gets through and sees the committed rows."""
    from reports.cli import LOCK_WAIT_S, report_main

    db = tmp_path / "held.duckdb"
    with store.connect(db):
        pass
    hold_s = 4.0
    assert hold_s < LOCK_WAIT_S
    holder = _hold(db, hold_s)
    started = time.monotonic()
    code = report_main(["--db", str(db), "--format", "json"])
    report_s = time.monotonic() - started
    out = capsys.readouterr()
    assert code == 0, out.err
    assert holder.poll() is not None, "the report read while the write was still open"
    assert '"repos"' in out.out

    holder = _hold(db, hold_s)
    started = time.monotonic()
    with store.connect(db) as con:
        writer_s = time.monotonic() - started
        assert holder.poll() is not None
        held = con.execute("SELECT count(*) FROM raw.ingest_errors WHERE source = 'held'")
        assert held.fetchone()[0] == 2  # both holders committed before anyone else got in
    assert holder.wait(timeout=HANG_GUARD_S) == 0
    record(
        "concurrency",
        "report and writer behind a long write transaction",
        f"another process holds the store in an open write transaction for {hold_s:g}s; "
        "`ci-metrics report` and then a writer start meanwhile",
        "both waited until the transaction committed, then succeeded; the writer saw the "
        "committed rows",
        hold_s=hold_s,
        report_waited_s=round(report_s, 1),
        writer_waited_s=round(writer_s, 1),
        report_wait_bound_s=LOCK_WAIT_S,
    )


def test_report_says_the_store_is_locked_when_a_write_outlasts_its_wait(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    record: Callable[..., None],
) -> None:
    """Past its bound a report gives up with one clear line and exit code 3, no traceback."""
    import reports.cli

    db = tmp_path / "held.duckdb"
    with store.connect(db):
        pass
    monkeypatch.setattr(reports.cli, "LOCK_WAIT_S", 1.0)
    holder = _hold(db, 8.0)
    try:
        code = reports.cli.report_main(["--db", str(db)])
        err = capsys.readouterr().err
    finally:
        holder.terminate()
        holder.wait(timeout=HANG_GUARD_S)
    assert code == 3
    assert "is locked by another process" in err
    assert "try again when the load has finished" in err
    assert "Traceback" not in err
    record(
        "concurrency",
        "report behind a write that outlasts its wait",
        "a write transaction held longer than the report's wait bound (1 s here, "
        f"{store.LOCK_RETRY_S:g} s by default)",
        "the report exits 3 with one line naming the lock and the holder, no traceback",
        exit_code=code,
    )
