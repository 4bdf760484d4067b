"""Crash consistency: the whole pipeline killed with SIGKILL at 20 seeded points.

Each run is ``run_pipeline`` over 14 days, as ``ci-metrics materialize`` does it, in a
child process (``tests/reliability/crash_child.py``) against the fake GitHub server of
this process, and is killed:

- during fetch: the server kills the child when its N-th request arrives, unanswered;
- during a raw write transaction (runs, jobs, a test-result batch) or a KPI build: the
  child's hook kills it in its K-th transaction of that phase, a few milliseconds in, just
  before ``COMMIT`` or just after it (the commit only in the write-ahead log).

The kills come in pairs: a run is killed, the run that would recover is killed too, then
the same command runs to completion. Half the pairs start from an empty file (a first
load), half from a copy of the clean store (a re-load, whose promise is that the stored
rows survive). After every kill the file must open read-write and pass every blocking
data-quality rule of ``assets/raw_checks.py`` (re-loads: and still hold the clean rows);
after the completing run it must equal the clean store, table by table and row by row.
One more case kills a run on a Dagster home with the project's ``dagster.yaml`` and
expects the next run on that home to complete.
"""

import multiprocessing
import os
import random
import re
import shutil
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from dagster import DagsterInstance

from assets.raw_checks import RAW_CHECKS, violations
from pipelines import store
from pipelines.fake_github.generator import FakeConfig, generate
from pipelines.fake_github.server import FakeGitHubServer
from pipelines.resources import DuckDBStore
from tests.reliability import crash_child
from tests.snapshot import Rows, snapshot

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ghp_CRASHTESTTOKEN_0b1c2d3e4f"
SEED = 20250310
LAST = date(2025, 3, 10)
FIRST = LAST - timedelta(days=13)
# Small on purpose: a run's cost is mostly Dagster's per-step and per-partition
# bookkeeping, which does not shrink with the world; 34 runs must fit in minutes.
WORLD = FakeConfig(seed=SEED % 1000, repos=2, days=14, end_date=LAST, runs_per_day=3)
# The 20 kill points, in pairs: a run is killed, the run that recovers is killed too,
# then a third run completes. Phases: 7 fetch, 7 write, 6 kpi; points drawn per case.
PAIRS = (
    ("fetch", "write"),
    ("write", "kpi"),
    ("kpi", "fetch"),
    ("fetch", "kpi"),
    ("write", "fetch"),
    ("kpi", "write"),
    ("fetch", "write"),
    ("write", "kpi"),
    ("kpi", "fetch"),
    ("fetch", "write"),
)
MAX_DELAY_S = 0.05  # how far into the transaction the timer kill lands, at most
RUN_TIMEOUT_S = 240  # hang guard for one child run (a clean run takes ~10-30 s)
# Children are forked from a process that imported the pipeline once (see crash_child).
FORKS = multiprocessing.get_context("forkserver")
FORKS.set_forkserver_preload(crash_child.PRELOAD)

# Every table of these schemas is compared, but for the columns that record when (or by
# which Dagster run) a row was written: tests/snapshot.py leaves those out.
SCHEMAS = ("raw", "meta", "kpi")


class KillingServer(FakeGitHubServer):
    """The fake API, which SIGKILLs ``victim`` when the ``kill_at``-th request (API or
    artifact blob) of the current child arrives, and leaves that request unanswered."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._count_lock = threading.Lock()
        self.seen = 0
        self.kill_at = 0
        self.victim: int | None = None
        self.killed_on: str | None = None

    def arm(self, victim: int | None, kill_at: int = 0) -> None:
        with self._count_lock:
            self.seen, self.kill_at, self.victim, self.killed_on = 0, kill_at, victim, None

    def disarm(self) -> int:
        """Stop killing; the number of requests since :meth:`arm`."""
        with self._count_lock:
            self.victim = None
            return self.seen

    def _count(self, path: str) -> bool:
        with self._count_lock:
            self.seen += 1
            if self.victim is None or self.seen != self.kill_at:
                return False
            os.kill(self.victim, signal.SIGKILL)
            self.killed_on = re.sub(r"\d{4,}", "N", path.split("?", 1)[0])
            return True

    def handle_api(self, h: BaseHTTPRequestHandler) -> None:
        if not self._count(h.path):
            super().handle_api(h)

    def handle_blob(self, h: BaseHTTPRequestHandler) -> None:
        if not self._count(h.path):
            super().handle_blob(h)


@dataclass
class ChildRun:
    exitcode: int | None
    log: Path
    seconds: float
    requests: int  # what the server answered (or was asked, for the killing one)

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    @property
    def killed(self) -> bool:
        return self.exitcode == -signal.SIGKILL

    @property
    def done(self) -> bool:
        return self.exitcode == 0 and crash_child.DONE in self.output

    def transactions(self) -> dict[str, int]:
        """``{"write": n, "kpi": m}`` from the last line of a run that was not killed."""
        line = re.search(f"{crash_child.DONE}: transactions ([^;]*)", self.output)
        assert line, f"no transaction counts in {self.log}"
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line.group(1))}

    @property
    def cpu_s(self) -> float | None:
        """CPU seconds the child reported at its end (a killed child reports none)."""
        found = re.search(f"{crash_child.DONE}: .*; cpu ([0-9.]+) s", self.output)
        return float(found.group(1)) if found else None

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


@dataclass
class Bench:
    """What every case shares: the server, the clean store and what a clean run costs."""

    server: KillingServer
    repos: list[str]
    work: Path
    clean: Path
    want: Rows = field(default_factory=dict)  # the clean store's rows
    first_pass: dict[str, int] = field(default_factory=dict)  # requests, transactions
    second_pass: dict[str, int] = field(default_factory=dict)  # same, on a loaded range
    clean_s: float = 0.0

    def run(
        self,
        db: Path,
        name: str,
        *,
        first: date = FIRST,
        home: Path | None = None,
        hook: str = "",
        kill_at_request: int = 0,
    ) -> ChildRun:
        """One child run into ``db``; killed at the hook or at the server's request."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CI_METRICS_", "DAGSTER_", "PYTEST_"))
        }
        env.update(GITHUB_TOKEN=TOKEN, CI_METRICS_OUTPUT_DIR=str(self.work / "reports"))
        if home is not None:
            env["DAGSTER_HOME"] = str(home)
        if hook:
            env[crash_child.HOOK_ENV] = hook
        log = self.work / f"{name}.log"
        argv = [str(db), self.server.url, ",".join(self.repos), str(first), str(LAST)]
        go = FORKS.Event()
        child = FORKS.Process(target=crash_child.child_main, args=(str(log), env, go, argv))
        began = time.perf_counter()
        child.start()
        self.server.arm(child.pid if kill_at_request else None, kill_at_request)
        go.set()
        child.join(RUN_TIMEOUT_S)
        if child.exitcode is None:  # hung: the finding is the hang, not the timeout
            child.kill()
            child.join()
            with log.open("a") as out:
                out.write(f"\nHUNG: killed after {RUN_TIMEOUT_S}s\n")
        requests = self.server.disarm()
        return ChildRun(child.exitcode, log, time.perf_counter() - began, requests)


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    """The clean store, built once without crashes, and a second pass over it."""
    work = tmp_path_factory.mktemp("crash")
    world = generate(WORLD)
    with KillingServer(world, token=TOKEN) as server:
        bench = Bench(server, world.repos, work, work / "clean.duckdb")
        first = bench.run(bench.clean, "clean")
        assert first.done, f"clean run failed:\n{first.tail()}"
        bench.first_pass = {"requests": first.requests, **first.transactions()}
        # every phase must have points to kill at (a hook that counts nothing kills nothing)
        assert all(bench.first_pass.values()), bench.first_pass
        bench.clean_s = first.seconds
        bench.want = snapshot(bench.clean, schemas=SCHEMAS)
        again = work / "again.duckdb"
        shutil.copy(bench.clean, again)
        second = bench.run(again, "again")
        assert second.done, f"second pass failed:\n{second.tail()}"
        bench.second_pass = {"requests": second.requests, **second.transactions()}
        # the premise of the re-load cases: a run over a loaded range changes no row
        assert differences(snapshot(again, schemas=SCHEMAS), bench.want) == []
        yield bench


@dataclass
class Kill:
    """One kill and what the file looked like right after it."""

    phase: str
    point: str
    run: ChildRun
    opened: bool | str = False
    wal_left: bool = False
    failed_rules: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # re-load: rows the crash changed


def kill(
    bench: Bench, db: Path, name: str, phase: str, rng: random.Random, counts, of: str
) -> Kill:
    """Run the pipeline into ``db`` and kill it at a point of ``phase`` drawn from ``rng``
    within ``counts`` (what a run from that state does at least), then look at the file;
    ``of`` says how exact ``counts`` is ("of" or "of at least")."""
    if phase == "fetch":
        n = rng.randint(1, counts["requests"])
        run = bench.run(db, name, kill_at_request=n)
        point = f"request {n} {of} {counts['requests']} ({bench.server.killed_on})"
    else:
        k = rng.randint(1, counts[phase])
        when = rng.choice(["before", "after", f"{rng.uniform(0, MAX_DELAY_S):.4f}"])
        run = bench.run(db, name, hook=f"{phase}:{k}:{when}")
        if crash_child.BEFORE_COMMIT in run.output:
            late = "" if when == "before" else f", the {float(when) * 1000:.0f} ms timer not due"
            where = "before COMMIT" + late
        elif crash_child.AFTER_COMMIT in run.output:
            where = "just after COMMIT"
        else:
            where = f"{float(when) * 1000:.0f} ms in"
        point = f"transaction {k} {of} {counts[phase]}, {where}"
    assert run.killed, f"the child was not killed at {point}: exit {run.exitcode}\n{run.tail()}"
    result = Kill(phase, point, run)
    result.opened, result.wal_left = _open_read_write(db)
    result.failed_rules = _failed_quality_rules(db) if result.opened is True else ["not opened"]
    return result


@pytest.mark.parametrize(
    "pair",
    range(len(PAIRS)),
    ids=[f"kills{2 * i + 1:02d}-{2 * i + 2:02d}-{a}-{b}" for i, (a, b) in enumerate(PAIRS)],
)
def test_kills_leave_a_consistent_store_that_a_rerun_completes(
    bench: Bench, pair: int, record
) -> None:
    reload = pair % 2 == 1  # alternate: first load / re-load of a stored range
    rng = random.Random(SEED * 100 + pair)
    db = bench.work / f"pair{pair}.duckdb"
    if reload:
        shutil.copy(bench.clean, db)
    # The first kill's point is drawn from what a run from this state does; the second's
    # from a run over a loaded range, the least any run from a crashed state does.
    first_counts = bench.second_pass if reload else bench.first_pass
    kills = []
    for n, phase in enumerate(PAIRS[pair]):
        counts, of = (first_counts, "of") if n == 0 else (bench.second_pass, "of at least")
        kills.append(kill(bench, db, f"pair{pair}-kill{n + 1}", phase, rng, counts, of))
        if reload and kills[-1].opened is True:
            kills[-1].changed = differences(snapshot(db, schemas=SCHEMAS), bench.want)

    rerun = bench.run(db, f"pair{pair}-rerun")
    diff = differences(snapshot(db, schemas=SCHEMAS), bench.want) if rerun.done else ["no re-run"]

    start = "re-load of a stored range" if reload else "first load"
    for n, k in enumerate(kills):
        record(
            "crash",
            f"kill {2 * pair + n + 1}: {k.phase} at {k.point}",
            f"SIGKILL of run_pipeline over 14 days ({start}"
            + (", the first kill's recovery run" if n else "")
            + "); open read-write, data-quality rules; after both kills of the pair, "
            "re-run to completion and compare raw/meta/kpi with the clean store",
            ", ".join(
                [
                    f"opened={'yes' if k.opened is True else k.opened}",
                    "DQ=" + ("pass" if not k.failed_rules else "FAIL " + " ".join(k.failed_rules)),
                    *([f"rows unchanged by the crash={'no' if k.changed else 'yes'}"] * reload),
                    f"re-run={'completed' if rerun.done else 'FAILED'}",
                    f"equal to clean after re-run={'yes' if rerun.done and not diff else 'NO'}",
                ]
            ),
            wal_left=k.wal_left,
            kill_run_s=round(k.run.seconds, 1),
            rerun_s=round(rerun.seconds, 1),
            rerun_cpu_s=rerun.cpu_s,
            clean_run_s=round(bench.clean_s, 1),
        )
    for k in kills:
        assert k.opened is True, k.opened
        assert k.failed_rules == [], f"{k.point}: {k.failed_rules}"
        assert k.changed == [], f"a crashed re-load at {k.point} changed stored rows: {k.changed}"
    assert rerun.done, f"re-run after the crashes failed:\n{rerun.tail()}"
    assert diff == [], diff


def test_kill_does_not_block_the_next_run_on_a_dagster_home(
    bench: Bench, tmp_path: Path, record
) -> None:
    """On the project's Dagster home, whose ``duckdb`` pool has one slot, a run killed
    inside a step keeps that slot as far as the instance knows: the next run must still
    start and finish, with the killed run marked failed."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    db = tmp_path / "store.duckdb"
    # one day keeps this case cheap: the first step holds the slot whatever the range
    killed = bench.run(db, "home-kill", first=LAST, home=home, kill_at_request=1)
    assert killed.killed, killed.tail()
    rerun = bench.run(db, "home-rerun", first=LAST, home=home)
    with DagsterInstance.from_config(str(home)) as instance:
        statuses = sorted(r.dagster_run.status.value for r in instance.get_run_records())
    record(
        "crash",
        "kill inside a step, then the same command on the same Dagster home",
        "SIGKILL at the first GitHub request of a one-day run_pipeline on a home with the "
        "project's dagster.yaml (duckdb pool limit 1); run again on that home",
        f"re-run {'completed' if rerun.done else 'did not complete'}; runs: {statuses}",
        rerun_s=round(rerun.seconds, 1),
    )
    assert rerun.done, rerun.tail()
    # the killed run failed; the re-run's range and its target checks succeeded
    assert statuses == ["FAILURE", "SUCCESS", "SUCCESS"]


def test_the_checks_see_a_broken_store(bench: Bench, tmp_path: Path) -> None:
    """What the kill cases rely on can fail: a duplicated attempt breaks the unique-key rule
    and shows as one extra row, a changed KPI value as one row missing and one extra."""
    db = tmp_path / "broken.duckdb"
    shutil.copy(bench.clean, db)
    with store.connect(db) as con:
        con.execute("INSERT INTO raw.workflow_runs SELECT * FROM raw.workflow_runs LIMIT 1")
        con.execute(
            "UPDATE kpi.workflow_daily SET runs = runs + 1 "
            "WHERE rowid = (SELECT min(rowid) FROM kpi.workflow_daily)"
        )
    assert _failed_quality_rules(db) == ["runs_unique_key"]
    found = differences(snapshot(db, schemas=SCHEMAS), bench.want)
    assert [p.split(";")[0] for p in found] == [
        "kpi.workflow_daily: 1 extra, 1 missing",
        "raw.workflow_runs: 1 extra, 0 missing",
    ]


def differences(got: Rows, want: Rows) -> list[str]:
    """Tables and row counts by which ``got`` differs from ``want`` (none when equal):
    :func:`tests.snapshot.assert_same_store`'s comparison, as a list instead of a failure."""
    problems = [f"missing table {t}" for t in sorted(want.keys() - got.keys())]
    problems += [f"extra table {t}" for t in sorted(got.keys() - want.keys())]
    for table in sorted(want.keys() & got.keys()):
        (got_cols, got_rows), (want_cols, want_rows) = got[table], want[table]
        if got_cols != want_cols:
            problems.append(f"{table}: columns {got_cols} != {want_cols}")
            continue
        got_n, want_n = Counter(got_rows), Counter(want_rows)
        extra, missing = got_n - want_n, want_n - got_n
        if extra or missing:
            problems.append(
                f"{table}: {extra.total()} extra, {missing.total()} missing; "
                f"e.g. extra {list(extra)[:1]}, missing {list(missing)[:1]}"
            )
    return problems


def _open_read_write(db: Path) -> tuple[bool | str, bool]:
    """Whether the file opens read-write as a fresh run opens it (schema ensured), and
    whether the crash left a write-ahead log to replay."""
    wal = db.with_name(db.name + ".wal").exists()
    try:
        with store.connect(db, retry_s=5) as con:
            con.execute("SELECT count(*) FROM raw.workflow_runs").fetchone()
    except Exception as exc:  # what a user would see is the finding
        return f"{type(exc).__name__}: {exc}", wal
    return True, wal


# A kill between the runs' commit and the jobs' commit leaves completed runs whose jobs are
# not read yet: a consistent store, not a complete one. That rule exists to hold the KPIs
# back until a run reads them (the re-run does: it must then equal the clean store).
COMPLETENESS_RULES = {"jobs_read_for_completed_runs"}


def _failed_quality_rules(db: Path) -> list[str]:
    """Names of the blocking integrity rules the file breaks, by the checks' own code."""
    with DuckDBStore(path=str(db)).connect(read_only=True) as con:
        return [
            r.name
            for r in RAW_CHECKS
            if r.blocking
            and r.name not in COMPLETENESS_RULES
            and violations(con, r.name, date(1970, 1, 1), date(9999, 12, 30))[0]
        ]
