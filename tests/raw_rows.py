"""Hand-built raw rows for KPI tests: attempts, jobs and test rows with sensible defaults,
and the small readers the tests share."""

from datetime import date, datetime, timedelta

import duckdb

from pipelines.kpi import build

RUN_COLS = (
    "repo run_id run_attempt workflow_id workflow_name event status conclusion head_sha "
    "created_at run_started_at updated_at"
).split()
JOB_COLS = "repo job_id run_id run_attempt name status conclusion started_at completed_at".split()
TEST_COLS = (
    "day source source_kind content_hash seq repo run_id run_attempt head_sha workflow "
    "test_id module outcome duration_s"
).split()

T0 = datetime(2025, 3, 10, 12, 0, 0)


def build_days(con, table: str, first, last, config=build.DEFAULT_CONFIG) -> int:
    """``table`` over the days, after the fact tables it reads, as a pipeline run builds it."""
    for fact in build.TABLES_BY_NAME[table].reads:
        if build.TABLES_BY_NAME[fact].kind == "facts":
            build.build_days(con, fact, first, last, config)
    return build.build_days(con, table, first, last, config)


def run(
    run_id: int,
    attempt: int = 1,
    *,
    created: datetime = T0,
    queue_s: float = 0,
    duration_s: float = 60,
    conclusion: str | None = "success",
    status: str = "completed",
    event: str = "push",
    workflow: str = "CI",
    workflow_id: int = 1,
    sha: str | None = "sha",
    repo: str = "o/r",
    start_offset_s: float | None = None,
) -> dict:
    """One attempt; it starts ``start_offset_s`` after created (default: ``queue_s``)."""
    started = created + timedelta(seconds=queue_s if start_offset_s is None else start_offset_s)
    return {
        "repo": repo,
        "run_id": run_id,
        "run_attempt": attempt,
        "workflow_id": workflow_id,
        "workflow_name": workflow,
        "event": event,
        "status": status,
        "conclusion": conclusion,
        "head_sha": sha,
        "created_at": created,
        "run_started_at": started,
        "updated_at": started + timedelta(seconds=duration_s),
    }


def job(
    job_id: int,
    run_id: int,
    attempt: int = 1,
    *,
    seconds: float | None = 60,
    conclusion: str = "success",
    repo: str = "o/r",
    start: datetime = T0,
) -> dict:
    return {
        "repo": repo,
        "job_id": job_id,
        "run_id": run_id,
        "run_attempt": attempt,
        "name": f"job{job_id}",
        "status": "completed",
        "conclusion": conclusion,
        "started_at": start,
        "completed_at": None if seconds is None else start + timedelta(seconds=seconds),
    }


def result_row(
    test_id: str,
    outcome: str,
    *,
    day: date | None = None,
    sha: str | None = "sha",
    file: str = "f1",
    seq: int = 0,
    duration_s: float | None = 0.01,
    module: str = "tests.test_m",
    repo: str | None = "o/r",
    run_id: int | None = None,
) -> dict:
    return {
        "day": day or T0.date(),
        "source": file,
        "source_kind": "junit",
        "content_hash": file,
        "seq": seq,
        "repo": repo,
        "run_id": run_id,
        "run_attempt": None,
        "head_sha": sha,
        "workflow": "CI",
        "test_id": test_id,
        "module": module,
        "outcome": outcome,
        "duration_s": duration_s,
    }


def insert(con: duckdb.DuckDBPyConnection, table: str, cols: list[str], rows: list[dict]) -> None:
    if rows:
        con.executemany(
            f"INSERT INTO raw.{table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            [[r[c] for c in cols] for r in rows],
        )


def rows_as_dicts(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list:
    cur = con.execute(sql, params or [])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def one(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> dict:
    rows = rows_as_dicts(con, sql, params)
    assert len(rows) == 1, rows
    return rows[0]
