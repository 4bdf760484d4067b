"""The explorer's listings (runs, jobs, runners, a run's attempts, jobs and tests, filter
choices): rows of the raw tables, selected with the KPI layer's own filter, never a KPI.

Their SQL lives in ``reports/explorer/sql``; every value is a bound parameter. The only
text put into a query is the layer's filter file and an ORDER BY chosen from a fixed list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import duckdb

from pipelines.kpi import facts, query, sqlfiles
from pipelines.kpi.filters import Filters, Period
from pipelines.store import table_exists
from reports.data import _plain
from reports.explorer.pricing import IMAGE

BRANCH_CHOICES = 100


@cache
def _sql(name: str) -> str:
    path = resources.files("reports.explorer").joinpath("sql", f"{name}.sql")
    return path.read_text().strip().rstrip(";")


def _rows(
    con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    cur = con.execute(sql, sqlfiles.bind(sql, params))
    cols = [d[0] for d in cur.description]
    return [{c: _plain(v) for c, v in zip(cols, row, strict=True)} for row in cur.fetchall()]


def _over_runs(name: str) -> str:
    """``name``'s SQL reading ``runs_f``: the filtered ``kpi.run_facts``."""
    facts = sqlfiles.load("filter").replace("{facts}", "kpi.run_facts")
    return f"WITH runs_f AS ({facts}) SELECT * FROM ({_sql(name)})"


def _over_jobs(name: str) -> str:
    """``name``'s SQL reading ``jobs_f``: the filtered ``kpi.job_facts``."""
    facts = sqlfiles.load("filter").replace("{facts}", "kpi.job_facts")
    return f"WITH jobs_f AS ({facts}) SELECT * FROM ({_sql(name)})"


def _period(filters: Filters, period: Period) -> dict[str, Any]:
    return {**filters.sql_params(), "start_day": period.start, "end_day": period.end}


# sort key → ORDER BY list; run_id last so pages never overlap
RUN_ORDERS: dict[str, str] = {
    "created_at": "p.created_at {dir}, p.repo, p.run_id",
    "run_number": "w.run_number {dir}, p.repo, p.run_id",
    "event": "p.event {dir}, p.created_at DESC, p.repo, p.run_id",
    "head_branch": "p.head_branch {dir}, p.created_at DESC, p.repo, p.run_id",
    "conclusion": "p.final_conclusion {dir}, p.created_at DESC, p.repo, p.run_id",
    "attempts": "p.attempts {dir}, p.created_at DESC, p.repo, p.run_id",
    "duration_s": "p.duration_s {dir} NULLS LAST, p.repo, p.run_id",
    "queue_s": "p.queue_s {dir} NULLS LAST, p.repo, p.run_id",
    "compute_minutes": "p.compute_minutes {dir}, p.repo, p.run_id",
}


def runs(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    period: Period,
    *,
    sort: str = "created_at",
    descending: bool = True,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """One page of the filtered runs of the period, and how many there are in all."""
    if not table_exists(con, "kpi", "run_facts"):
        return [], 0
    order = RUN_ORDERS[sort].replace("{dir}", "DESC" if descending else "ASC")
    sql = _over_runs("runs").replace("{order}", order)
    rows = _rows(con, sql, {**_period(filters, period), "limit": limit, "offset": offset})
    total = rows[0]["total"] if rows else 0
    if not rows and offset:
        count_sql = _over_runs("runs").replace("{order}", "1")
        got = _rows(con, count_sql, {**_period(filters, period), "limit": 1, "offset": 0})
        total = got[0]["total"] if got else 0
    return [{k: v for k, v in r.items() if k != "total"} for r in rows], total


def jobs(con: duckdb.DuckDBPyConnection, filters: Filters, period: Period) -> list[dict[str, Any]]:
    """One row per job name of the filtered runs of the period."""
    if not table_exists(con, "kpi", "job_facts"):
        return []
    return _rows(con, _over_jobs("jobs"), _period(filters, period))


def job_steps(
    con: duckdb.DuckDBPyConnection, filters: Filters, period: Period, jobs: Sequence[str]
) -> list[dict[str, Any]]:
    """The steps of the job names ``jobs`` among the filtered runs of the period: one row
    per job and step name, with its durations."""
    if not jobs or not table_exists(con, "kpi", "run_facts"):
        return []
    return _rows(con, _over_runs("job_steps"), {**_period(filters, period), "jobs": list(jobs)})


def runners(
    con: duckdb.DuckDBPyConnection, filters: Filters, period: Period
) -> list[dict[str, Any]]:
    """The jobs of the filtered runs of the period by runner label set and by runner group
    (``grouping_set`` says which): jobs, queue percentiles, compute minutes."""
    if not table_exists(con, "kpi", "job_facts"):
        return []
    params = {**_period(filters, period), "image_pattern": IMAGE.pattern}
    return _rows(con, _over_jobs("runners"), params)


def run_attempts(con: duckdb.DuckDBPyConnection, repo: str, run_id: int) -> list[dict[str, Any]]:
    return _rows(con, _sql("run_attempts"), {"repo": repo, "run_id": run_id})


def run_jobs(con: duckdb.DuckDBPyConnection, repo: str, run_id: int) -> list[dict[str, Any]]:
    return _rows(con, _sql("run_jobs"), {"repo": repo, "run_id": run_id})


def run_steps(con: duckdb.DuckDBPyConnection, repo: str, run_id: int) -> list[dict[str, Any]]:
    return _rows(con, _sql("run_steps"), {"repo": repo, "run_id": run_id})


def run_tests(
    con: duckdb.DuckDBPyConnection,
    repo: str,
    run_id: int,
    attempt: int | None,
    *,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """One page of a run's test results (failures first), and how many there are."""
    params = {"repo": repo, "run_id": run_id, "attempt": attempt, "limit": limit}
    rows = _rows(con, _sql("run_tests"), {**params, "offset": offset})
    total = rows[0]["total"] if rows else 0
    if not rows and offset:
        got = _rows(con, _sql("run_tests"), {**params, "offset": 0})
        total = got[0]["total"] if got else 0
    return [{k: v for k, v in r.items() if k != "total"} for r in rows], total


# sort key → ORDER BY list of the tests listing; repo and test id last so pages never overlap
TEST_ORDERS: dict[str, str] = {
    "test_id": "test_id {dir}, repo",
    "repo": "repo {dir}, test_id",
    "executions": "executions {dir}, repo, test_id",
    "failures": "failures {dir}, repo, test_id",
    "failure_rate": "failure_rate {dir} NULLS LAST, repo, test_id",
    "flaky_commits": "flaky_commits {dir}, failures DESC, repo, test_id",
    "duration_p50_s": "duration_p50_s {dir} NULLS LAST, repo, test_id",
    "duration_p95_s": "duration_p95_s {dir} NULLS LAST, repo, test_id",
    "last_day": "last_day {dir}, repo, test_id",
}
_DURATION_SORTS = {"duration_p50_s", "duration_p95_s"}
MESSAGE_CHARS = 4000


# Listings of test rows that show none of the run dimensions (workflow, event, branch).
_WITHOUT_DIMENSIONS = {"tests", "test_daily", "test_messages", "test_flaky_commits"}


def _over_tests(
    con: duckdb.DuckDBPyConnection, name: str, sql: str, filters: Filters, period: Period
) -> tuple[str, dict[str, Any]] | None:
    """``sql`` (listing ``name``) reading ``test_rows_f`` and ``test_flakiness_units`` of
    the KPI layer (:func:`pipelines.kpi.query.test_ctes`); None before any test facts."""
    dimensions = name not in _WITHOUT_DIMENSIONS
    got = query.test_ctes(con, filters, period, dimensions=dimensions)
    if got is None:
        return None
    ctes, params = got
    return f"WITH {', '.join(ctes)} SELECT * FROM ({sql})", params


def _test_rows(
    con: duckdb.DuckDBPyConnection,
    name: str,
    filters: Filters,
    period: Period,
    params: Mapping[str, Any],
    sql: str | None = None,
) -> list[dict[str, Any]]:
    """Listing ``name``'s rows (its SQL, or ``sql`` made from it) over the filtered tests."""
    over = _over_tests(con, name, sql or _sql(name), filters, period)
    if over is None:
        return []
    return _rows(con, over[0], {**over[1], **params})


def tests(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    period: Period,
    *,
    test_id: str | None = None,
    sort: str = "flaky_commits",
    descending: bool = True,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """One page of the tests of the filtered test rows of the period (or of ``test_id``'s
    rows alone, one per repository), and how many there are in all."""
    order = "ORDER BY " + TEST_ORDERS[sort].replace("{dir}", "DESC" if descending else "ASC")
    paging = f"{order} LIMIT $limit OFFSET $offset"
    # durations are taken from every row of the page's tests: of every test only when
    # the order is by duration
    by_duration = sort in _DURATION_SORTS
    sql = _sql("tests").replace("{page}", "" if by_duration else paging)
    sql = sql.replace("{paged}", paging if by_duration else order)

    def page(at: int) -> list[dict[str, Any]]:
        params = {"test_id": test_id, "limit": limit, "offset": at}
        return _test_rows(con, "tests", filters, period, params, sql)

    rows = page(offset)
    total = rows[0]["total"] if rows else 0
    if not rows and offset:
        got = page(0)
        total = got[0]["total"] if got else 0
    return [{k: v for k, v in r.items() if k != "total"} for r in rows], total


def test_repos(con: duckdb.DuckDBPyConnection, test_id: str) -> list[str | None]:
    """The repositories whose results hold ``test_id`` (any period): empty when unknown.
    Read from the test facts when they know the test, else from the raw results."""
    if facts.ready(con, "test_units_daily"):  # by the test's key: fewer rows
        repos = _repos_of(con, "kpi.test_units_daily", "test_key = md5_number($test_id)", test_id)
        if repos:
            return repos
    if table_exists(con, "raw", "test_results"):  # results the facts do not hold yet
        return _repos_of(con, "raw.test_results", "test_id = $test_id", test_id)
    return []


def _repos_of(
    con: duckdb.DuckDBPyConnection, table: str, match: str, test_id: str
) -> list[str | None]:
    sql = _sql("test_repos").replace("{tests}", table).replace("{match}", match)
    return [r["repo"] for r in _rows(con, sql, {"test_id": test_id})]


# The listings of one test's rows, and their parameters besides its id.
TEST_LISTINGS: dict[str, dict[str, Any]] = {
    "test_daily": {},  # per day with rows: executions by outcome, median duration
    "test_messages": {"message_chars": MESSAGE_CHARS},  # failure messages by first line
    "test_flaky_commits": {},  # the commits (flaky units of the KPI layer) proving it flaky
    "test_where": {},  # per repository, workflow and job: executions, failures, p50
}


def test_listing(
    con: duckdb.DuckDBPyConnection, name: str, test_id: str, filters: Filters, period: Period
) -> list[dict[str, Any]]:
    """Listing ``name`` (:data:`TEST_LISTINGS`) of ``test_id``'s filtered rows of the period."""
    return _test_rows(con, name, filters, period, {"test_id": test_id, **TEST_LISTINGS[name]})


def choices(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """The filter bar's options per dimension (repo, workflow, event, branch)."""
    out: dict[str, list[str]] = {"repo": [], "workflow": [], "event": [], "branch": []}
    if not table_exists(con, "kpi", "run_facts"):
        return out
    for row in _rows(con, _sql("options"), {"branch_limit": BRANCH_CHOICES}):
        out[row["dimension"]].append(row["value"])
    return out


def last_extracted(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Per repo, when its runs were last extracted (max ``extracted_at``)."""
    got = con.execute(
        "SELECT repo, max(extracted_at) FROM raw.workflow_runs GROUP BY repo ORDER BY repo"
    ).fetchall()
    return {repo: at for repo, at in got if at is not None}


def sorted_rows(rows: Sequence[dict[str, Any]], key: str, descending: bool) -> list[dict[str, Any]]:
    """``rows`` by ``key``, missing values last whichever the direction."""
    present = [r for r in rows if r.get(key) is not None]
    missing = [r for r in rows if r.get(key) is None]
    present.sort(key=lambda r: r[key], reverse=descending)
    return present + missing
