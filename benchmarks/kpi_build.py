"""Benchmark: build every KPI table over a large synthetic store.

Generates (straight into DuckDB, with SQL ``range()``) 1,000,000 attempts over a year,
4,000,000 jobs and 20,000,000 test rows, then prints the time to rebuild all KPI tables,
to recompute one day of the per-day tables, and the peak RSS of the build process.
Goal: full rebuild <= 20 s, one day <= 1 s, RSS <= 4 GB.

    .venv/bin/python benchmarks/kpi_build.py [--db PATH] [--scale 0.1] [--reuse] [--render]

``--render`` then reads the store as the dashboard asset does (``load_report``) and
writes the dashboard, summary and JSON report, timing each. ``--scale 2.2`` is about
the volume of a year of 3 repositories at 2,000 runs a day each (2.2 M attempts,
8.8 M jobs, 44 M test rows).

Shape of the synthetic store, chosen to look like a real organisation's CI:

- Runs: 10 repos, 5 workflows. A commit (repo, head_sha) is pushed once and gets two runs
  of one workflow within two minutes (a push and a pull_request run); 40 % of the
  attempts pair into 2-attempt runs (re-runs).
- Test results come from report files (JUnit artifacts) of completed ``CI`` attempts,
  whole commits at a time. Every such attempt writes one report per job of a 2 x 2
  (Python x OS) matrix, each holding the repo's whole suite of 2,000 tests, so each test
  runs 8-16 times per commit and a few thousand distinct tests make up the 20 M rows.
  Without this, random test ids made almost one flakiness unit per row, which no real
  suite produces.
- 90 % of the report files hold no rerun. In the others about 0.5 % of the tests have a
  ``rerun`` row followed by their final row (mostly ``passed``: a flaky test). Failures are
  rare and either sporadic (one execution) or a commit that breaks a test everywhere;
  2 % of the tests are always skipped; 4 % are slow (1-10 s), the rest take 5-400 ms.
- Rows are appended in time order, as daily extraction and ingestion write them.

Generation runs in a child process so the RSS printed is the build's alone.
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from pipelines import store
from pipelines.kpi import query
from pipelines.kpi.build import TABLES, build_all
from pipelines.kpi.config import KpiConfig
from pipelines.kpi.filters import Filters, Period

FIRST_DAY = date(2025, 1, 1)
DAYS = 365
SUITE_TESTS = 2_000  # distinct tests of one repo's suite
FILES_PER_ATTEMPT = 4  # a 2 x 2 (Python x OS) matrix: one report per job

GENERATE_SQL = """
CREATE OR REPLACE TEMP TABLE gen AS
SELECT
    r AS i,
    CASE WHEN r < $multi THEN r // 2 ELSE r - $multi // 2 END AS run_id,
    CASE WHEN r < $multi THEN r % 2 + 1 ELSE 1 END AS run_attempt
FROM range($attempts) t(r);

INSERT INTO raw.workflow_runs
    (repo, run_id, run_attempt, run_number, workflow_id, workflow_name, event, status,
     conclusion, head_branch, head_sha, created_at, run_started_at, updated_at)
SELECT
    'org/repo' || (run_id % 10) AS repo,
    run_id,
    run_attempt,
    run_id,
    run_id % 5 AS workflow_id,
    ['CI', 'Lint', 'Docs', 'Release', 'Nightly'][run_id % 5 + 1] AS workflow_name,
    ['push', 'pull_request', 'pull_request', 'pull_request_target', 'schedule']
        [(hash(run_id) % 5 + 1)::BIGINT],
    CASE WHEN hash(run_id, run_attempt) % 100 = 0 THEN 'in_progress' ELSE 'completed' END,
    CASE WHEN hash(run_id, run_attempt) % 100 = 0 THEN NULL
         ELSE ['success', 'success', 'success', 'success', 'success', 'success', 'failure',
               'cancelled', 'timed_out', 'skipped'][(hash(run_id, run_attempt, 7) % 10 + 1)::BIGINT]
         END,
    CASE WHEN hash(run_id) % 5 IN (1, 2, 3) THEN 'feature/f' || (run_id // 20 % 50)
         ELSE 'main' END,
    'sha' || (run_id // 20),
    created,
    created + to_seconds((hash(run_id, 1) % 300 + (run_attempt - 1) * 3600)::BIGINT),
    created + to_seconds((hash(run_id, 1) % 300 + (run_attempt - 1) * 3600
                          + 30 + hash(run_id, run_attempt, 2) % 1800)::BIGINT)
FROM (
    -- a commit (repo, run_id // 20) is pushed at one moment, its two runs follow within 2 min
    SELECT *, TIMESTAMP '{first}'
        + to_seconds((hash(run_id // 20, run_id % 10) % ({days} * 86400))::BIGINT)
        + to_seconds((hash(run_id) % 120)::BIGINT) AS created
    FROM gen
)
ORDER BY created, run_id, run_attempt;

INSERT INTO raw.workflow_jobs
    (repo, job_id, run_id, run_attempt, run_created_at, workflow_name, name, status,
     conclusion, started_at, completed_at)
SELECT
    r.repo, row_number() OVER () AS job_id, r.run_id, r.run_attempt, r.created_at,
    r.workflow_name, 'job' || k, 'completed',
    CASE WHEN hash(r.run_id, r.run_attempt, k) % 10 = 0 THEN 'skipped' ELSE 'success' END,
    r.run_started_at,
    r.run_started_at + to_seconds((hash(r.run_id, r.run_attempt, k, 3) % 1200)::BIGINT)
FROM raw.workflow_runs r, range($jobs_per_attempt) j(k)
ORDER BY r.created_at, r.run_id, r.run_attempt, k;

-- the completed CI attempts that upload reports, whole commits at a time
CREATE OR REPLACE TEMP TABLE reporting AS
SELECT repo, run_id, run_attempt, head_sha, workflow_name, created_at,
       row_number() OVER (ORDER BY hash(repo, head_sha), run_id, run_attempt) - 1 AS a
FROM raw.workflow_runs
WHERE workflow_name = 'CI' AND status = 'completed'
QUALIFY a < $report_attempts;

CREATE OR REPLACE TEMP TABLE executions AS
SELECT
    r.*, r.a * $files_per_attempt + j.k AS file, t.test,
    hash(r.a * $files_per_attempt + j.k) % 10 = 0 AS file_has_reruns,
    hash(r.a * $files_per_attempt + j.k, t.test) AS h,
    -- a test's typical duration: 0.005 .. 0.4 s, except 4 % of tests taking 1 .. 10 s
    CASE WHEN hash(t.test, 5) % 100 < 4 THEN 1 + hash(t.test, 6) % 9000 / 1000.0
         ELSE 0.005 + hash(t.test, 6) % 395 / 1000.0 END AS typical_s
FROM reporting r, range($files_per_attempt) j(k), range($suite_tests) t(test);

INSERT INTO raw.test_results
    (day, source, source_kind, content_hash, seq, repo, run_id, run_attempt, head_sha,
     workflow, test_id, module, outcome, duration_s)
SELECT
    created_at::DATE, 'junit-' || file || '.xml', 'artifact', 'h' || file, seq,
    repo, run_id, run_attempt, head_sha, workflow_name,
    'tests/test_m' || (test // 20) || '.py::TestCase' || (test % 4) || '::test_' || test,
    'tests/test_m' || (test // 20) || '.py',
    outcome, duration_s
FROM (
    -- the final row of every test of the file
    SELECT *, 2 * test + 1 AS seq,
        CASE WHEN hash(test) % 50 = 0 THEN 'skipped'
             WHEN hash(head_sha, test) % 2000 = 0 THEN 'failed'   -- broken on this commit
             WHEN h % 2000 = 1 THEN 'failed'                      -- fails once, passes elsewhere
             WHEN h % 5000 = 2 THEN 'error'
             WHEN file_has_reruns AND h % 400 = 3 THEN 'failed'   -- failed after its rerun
             ELSE 'passed' END AS outcome,
        CASE WHEN hash(test) % 50 = 0 THEN 0.0
             ELSE round(typical_s * (0.8 + (h % 400) / 1000.0), 3) END AS duration_s
    FROM executions
    UNION ALL
    -- a rerun row before the final row, only in the few files that hold reruns
    SELECT *, 2 * test AS seq, 'rerun' AS outcome,
        round(typical_s, 3) AS duration_s
    FROM executions
    WHERE file_has_reruns AND (h % 1000 < 3 OR h % 400 = 3)
)
ORDER BY created_at, file, seq;

INSERT INTO raw.repositories (repo, default_branch, fetched_at)
SELECT DISTINCT repo, 'main', TIMESTAMP '2026-01-01' FROM raw.workflow_runs;
"""


def generate(db: Path, scale: float) -> None:
    """Write the synthetic raw tables into a fresh store at ``db``."""
    db.unlink(missing_ok=True)
    attempts = int(1_000_000 * scale)
    params = {
        "attempts": attempts,
        "multi": int(400_000 * scale) // 2 * 2,  # these attempts pair into 2-attempt runs
        "jobs_per_attempt": 4,
        # every reporting attempt writes one report per matrix job, each with the whole suite
        "report_attempts": int(20_000_000 * scale) // (FILES_PER_ATTEMPT * SUITE_TESTS),
        "files_per_attempt": FILES_PER_ATTEMPT,
        "suite_tests": SUITE_TESTS,
    }
    sql = GENERATE_SQL.format(first=FIRST_DAY.isoformat(), days=DAYS)
    began = time.perf_counter()
    with store.connect(db) as con:
        for statement in filter(str.strip, sql.split(";")):
            names = {k: v for k, v in params.items() if f"${k}" in statement}
            con.execute(statement, names)
        counts = {
            t: con.execute(f"SELECT count(*) FROM raw.{t}").fetchone()[0]
            for t in ("workflow_runs", "workflow_jobs", "test_results")
        }
    print(f"generated {counts} in {time.perf_counter() - began:.1f} s")
    print(json.dumps({"generated": counts, "generate_s": round(time.perf_counter() - began, 1)}))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("data/bench/kpi_bench.duckdb"))
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full sizes")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--reuse", action="store_true", help="keep an existing store")
    parser.add_argument("--render", action="store_true", help="also read and render reports")
    parser.add_argument("--record", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args()
    if args.generate_only:
        generate(args.db, args.scale)
        return
    figures: dict = {"scale": args.scale}
    if not (args.reuse and args.db.exists()):
        args.db.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, __file__, "--db", str(args.db), "--scale", str(args.scale)]
        out = subprocess.run([*cmd, "--generate-only"], check=True, capture_output=True, text=True)
        print(out.stdout.splitlines()[0])
        figures.update(json.loads(out.stdout.splitlines()[-1]))

    last = FIRST_DAY + timedelta(days=DAYS - 1)
    config = KpiConfig(baseline=Period(FIRST_DAY, FIRST_DAY + timedelta(days=29)))
    # under the limit the KPI assets build with, as a pipeline run does
    with store.connect(args.db, memory_limit=store.BUILD_MEMORY_LIMIT) as con:
        con.execute("DROP SCHEMA IF EXISTS kpi CASCADE")
        began = time.perf_counter()
        timings = build_all(con, FIRST_DAY, last, as_of=last, config=config)
        full = time.perf_counter() - began
        day = FIRST_DAY + timedelta(days=200)
        per_day = [t.name for t in TABLES if t.per_day]
        began = time.perf_counter()
        day_timings = build_all(con, day, day, config=config, tables=per_day)
        one_day = time.perf_counter() - began
    print(f"  {'table':<28} {'full':>7}   one day")
    for name, seconds in timings.items():
        one = f"{day_timings[name]:7.3f} s" if name in day_timings else ""
        print(f"  kpi.{name:<24} {seconds:7.2f} s {one}")
    print(f"full rebuild of all KPI tables: {full:.2f} s (goal <= 20 s)")
    print(f"recompute one day ({day}):     {one_day:.2f} s (goal <= 1 s)")
    print(f"peak RSS of the build:          {peak_rss_mb():.0f} MB (goal <= 4096 MB)")
    figures.update(
        full_rebuild_s=round(full, 2),
        one_day_s=round(one_day, 2),
        build_peak_rss_mb=round(peak_rss_mb()),
        duckdb_mb=round(args.db.stat().st_size / 2**20, 1),
    )
    figures.update(card_sets(args.db, last, config))
    if args.render:
        figures.update(render(args.db, last, config))
    if args.record:
        from record import record  # benchmarks/ is on the path: the script's own folder

        record(args.record, "kpi_build", figures)


# A spread of the filters a team asks with: none, a repo, a workflow, a branch class, a
# branch name, an event, and combinations.
FILTERS: tuple[Filters, ...] = (
    Filters(),
    Filters.of(repos=["org/repo3"]),
    Filters.of(workflows=["CI"]),
    Filters.of(branches=["default"]),
    Filters.of(branches=["pr"]),
    Filters.of(branches=["other"]),
    Filters.of(branches=["feature/f7"]),
    Filters.of(events=["push"]),
    Filters.of(repos=["org/repo1", "org/repo2"], branches=["pr"]),
    Filters.of(repos=["org/repo4"], workflows=["CI"], events=["pull_request"]),
    Filters.of(workflows=["Lint", "Docs"], branches=["default", "pr"]),
    Filters.of(repos=["org/none"]),
)


def card_sets(db: Path, last: date, config: KpiConfig) -> dict:
    """Time the KPI card set (every KPI of every repo) for each filter over two 90-day
    periods, on a read-only connection as the reports and the explorer use."""
    periods = (Period.ending(last, 90), Period.ending(last - timedelta(days=150), 90))
    times: list[float] = []
    with store.connect(db, read_only=True, memory_limit=store.REPORT_MEMORY_LIMIT) as con:
        repos = query.known_repos(con)
        query.kpis(con, repos, Filters(), periods[0], config=config)  # warm the file cache
        for filters in FILTERS:
            for period in periods:
                began = time.perf_counter()
                query.kpis(con, query.known_repos(con, filters), filters, period, config=config)
                times.append(time.perf_counter() - began)
    p50, p95 = statistics.median(times), statistics.quantiles(times, n=20, method="inclusive")[18]
    print(
        f"KPI card set, 90 days, {len(FILTERS)} filters x 2 periods: p50 {p50 * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {max(times) * 1000:.0f} ms (goal <= 300 ms)"
    )
    return {"cards_p50_ms": round(p50 * 1000), "cards_p95_ms": round(p95 * 1000)}


def render(db: Path, as_of: date, config: KpiConfig) -> dict:
    """Read the store as the dashboard asset does and write every report."""
    from reports.data import load_report, memory_for_tests
    from reports.files import write_reports

    began = time.perf_counter()
    floor = store.DASHBOARD_MEMORY_FLOOR_MB
    with store.connect(db, read_only=True, memory_limit=f"{floor}MB") as con:
        # as the dashboard asset sizes it
        store.set_memory_limit(con, memory_for_tests(con, floor, as_of))
        report = load_report(con, as_of=as_of, config=config)
    read = time.perf_counter() - began
    began = time.perf_counter()
    paths = write_reports(report, db.parent / "reports")
    written = time.perf_counter() - began
    sizes = ", ".join(f"{kind} {Path(p).stat().st_size:,} bytes" for kind, p in paths.items())
    print(f"read the report (load_report):  {read:.2f} s")
    print(f"write the reports:              {written:.2f} s ({sizes})")
    print(f"peak RSS with the reports:      {peak_rss_mb():.0f} MB")
    return {
        "load_report_s": round(read, 2),
        "write_reports_s": round(written, 2),
        "report_bytes": {kind: Path(p).stat().st_size for kind, p in paths.items()},
        "peak_rss_with_reports_mb": round(peak_rss_mb()),
    }


if __name__ == "__main__":
    main()
