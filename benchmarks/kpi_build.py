"""Benchmark: build every KPI table over a large synthetic store.

Generates (straight into DuckDB, with SQL ``range()``) 1,000,000 attempts over a year,
4,000,000 jobs and 20,000,000 test rows, then prints the time to rebuild all KPI tables,
to recompute one day of the per-day tables, and the peak RSS of the build process.
Goal: full rebuild <= 20 s, one day <= 1 s, RSS <= 4 GB.

    .venv/bin/python benchmarks/kpi_build.py [--db PATH] [--scale 0.1]

Generation runs in a child process so the RSS printed is the build's alone.
"""

import argparse
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from assets.kpi import TABLES, build_all
from pipelines import store

FIRST_DAY = date(2025, 1, 1)
DAYS = 365

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
    'main',
    'sha' || (run_id // 3),
    created,
    created + to_seconds((hash(run_id, 1) % 300 + (run_attempt - 1) * 3600)::BIGINT),
    created + to_seconds((hash(run_id, 1) % 300 + (run_attempt - 1) * 3600
                          + 30 + hash(run_id, run_attempt, 2) % 1800)::BIGINT)
FROM (
    SELECT *, TIMESTAMP '{first}' + to_seconds((hash(run_id) % ({days} * 86400))::BIGINT) AS created
    FROM gen
);

INSERT INTO raw.workflow_jobs
    (repo, job_id, run_id, run_attempt, run_created_at, workflow_name, name, status,
     conclusion, started_at, completed_at)
SELECT
    r.repo, row_number() OVER () AS job_id, r.run_id, r.run_attempt, r.created_at,
    r.workflow_name, 'job' || k, 'completed',
    CASE WHEN hash(r.run_id, r.run_attempt, k) % 10 = 0 THEN 'skipped' ELSE 'success' END,
    r.run_started_at,
    r.run_started_at + to_seconds((hash(r.run_id, r.run_attempt, k, 3) % 1200)::BIGINT)
FROM raw.workflow_runs r, range($jobs_per_attempt) j(k);

INSERT INTO raw.test_results
    (day, source, source_kind, content_hash, seq, repo, run_id, run_attempt, head_sha,
     workflow, test_id, module, outcome, duration_s)
SELECT
    r.created_at::DATE, 'junit-' || f.file, 'artifact', 'h' || f.file, f.seq,
    r.repo, r.run_id, r.run_attempt, r.head_sha, r.workflow_name,
    'tests.test_m' || (f.test % 200) || '::test_' || f.test,
    'tests.test_m' || (f.test % 200),
    CASE WHEN hash(f.file, f.seq) % 500 = 0 THEN 'failed'
         WHEN hash(f.file, f.seq) % 500 = 1 THEN 'rerun'
         WHEN hash(f.file, f.seq) % 50 = 2 THEN 'skipped'
         ELSE 'passed' END,
    (hash(f.test, f.file) % 3000) / 1000.0
FROM (
    SELECT t // $tests_per_file AS file, t % $tests_per_file AS seq,
           (t // $tests_per_file % 20) * $tests_per_file + t % $tests_per_file AS test
    FROM range($test_rows) x(t)
) f
JOIN raw.workflow_runs r ON r.run_id = f.file AND r.run_attempt = 1;
"""


def generate(db: Path, scale: float) -> None:
    """Write the synthetic raw tables into a fresh store at ``db``."""
    db.unlink(missing_ok=True)
    attempts = int(1_000_000 * scale)
    params = {
        "attempts": attempts,
        "multi": int(400_000 * scale) // 2 * 2,  # these attempts pair into 2-attempt runs
        "jobs_per_attempt": 4,
        "test_rows": int(20_000_000 * scale),
        "tests_per_file": 100,
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


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("data/bench/kpi_bench.duckdb"))
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full sizes")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--reuse", action="store_true", help="keep an existing store")
    args = parser.parse_args()
    if args.generate_only:
        generate(args.db, args.scale)
        return
    if not (args.reuse and args.db.exists()):
        args.db.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, __file__, "--db", str(args.db), "--scale", str(args.scale)]
        subprocess.run([*cmd, "--generate-only"], check=True)

    last = FIRST_DAY + timedelta(days=DAYS - 1)
    params = {"baseline_start": FIRST_DAY, "baseline_end": FIRST_DAY + timedelta(days=29)}
    with store.connect(args.db) as con:
        con.execute("DROP SCHEMA IF EXISTS kpi CASCADE")
        began = time.perf_counter()
        timings = build_all(con, FIRST_DAY, last, as_of=last, params=params)
        full = time.perf_counter() - began
        day = FIRST_DAY + timedelta(days=200)
        per_day = [t.name for t in TABLES if t.per_day]
        began = time.perf_counter()
        build_all(con, day, day, params=params, tables=per_day)
        one_day = time.perf_counter() - began
    for name, seconds in timings.items():
        print(f"  kpi.{name:<24} {seconds:7.2f} s")
    print(f"full rebuild of all KPI tables: {full:.2f} s (goal <= 20 s)")
    print(f"recompute one day ({day}):     {one_day:.2f} s (goal <= 1 s)")
    print(f"peak RSS of the build:          {peak_rss_mb():.0f} MB (goal <= 4096 MB)")


if __name__ == "__main__":
    main()
