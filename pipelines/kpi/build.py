"""The tables of schema ``kpi``: how each is built, in build order.

Four kinds:

- **facts** (``run_facts``, ``run_daily``, ``job_facts``, ``test_units_daily``): SQL over
  the raw tables, one row per run, per day and run dimensions, per job, or per test,
  commit and day, with the dimensions every filter needs.
  Every KPI and every listing of jobs is an aggregation of them.
- **per-day tables** (``workflow_daily``, ``targets``, …): the layer's measures
  (:mod:`pipelines.kpi.query`) for each day or 7-day window, written down for the tools
  that read tables. They compute nothing themselves.
- **window tables** (``test_stats``, ``slow_tests``, …): one window ending ``as_of``, SQL
  over ``raw.test_results``.
- **as-of tables** (``target_status``): the rows of a per-day table on one day, so what
  reads "the latest" (the target checks) reads a table of its own, unpartitioned.

Per-day tables are rebuilt for a range of days by deleting and reinserting exactly those
days in one transaction, so re-running is idempotent and a reader never sees half a range.
The build functions take a plain DuckDB connection so benchmarks and tests run them
without Dagster.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import duckdb
import pyarrow as pa

from pipelines import store
from pipelines.kpi import facts, query, sqlfiles
from pipelines.kpi.catalogue import TARGET_WINDOW_DAYS
from pipelines.kpi.config import DEFAULT_CONFIG, KpiConfig
from pipelines.kpi.filters import ALL_RUNS, Filters, Period, Windows

Kind = Literal["facts", "per_day", "window", "as_of"]
Source = Literal["runs", "jobs", "tests"]

_TYPES = {
    "VARCHAR": pa.string(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
}


@dataclass(frozen=True)
class KpiTable:
    """One table of schema ``kpi``: its kind, the raw data and KPI tables it reads."""

    name: str
    kind: Kind
    sources: tuple[Source, ...]
    reads: tuple[str, ...]
    description: str

    @property
    def per_day(self) -> bool:
        """Partitioned by day; the rest ("window", "as_of") are rebuilt whole as of a day."""
        return self.kind not in ("window", "as_of")


def _t(name: str, kind: Kind, sources: str, reads: str, description: str) -> KpiTable:
    return KpiTable(
        name,
        kind,
        tuple(sources.split()),  # type: ignore[arg-type]
        tuple(reads.split()),
        description,
    )


# In build order: a table comes after the KPI tables it reads.
TABLES: tuple[KpiTable, ...] = (
    _t(
        "run_facts",
        "facts",
        "runs jobs",
        "",
        "One row per run on its day: dimensions, final and first attempt, compute "
        "(and kpi.sha_spans: the days each commit's runs span; kpi.run_flakiness_units and "
        "kpi.developer_wait_units: every unit of every commit, over all its runs).",
    ),
    _t(
        "run_daily",
        "facts",
        "",
        "run_facts",
        "Per repo, day, workflow, event and branch: the run counts and sums every run "
        "measure adds up (kpi.run_facts summed), so a filtered window reads few rows.",
    ),
    _t(
        "job_facts",
        "facts",
        "runs jobs",
        "run_facts",
        "One row per job of every attempt of the runs, on its run's day, with the run's "
        "dimensions, duration, queue and compute minutes: what job listings aggregate.",
    ),
    _t(
        "workflow_daily",
        "per_day",
        "",
        "run_facts run_daily",
        "Per repo, workflow, day: runs, attempts, outcome counts, success rates, "
        "durations, queue time, compute minutes and seconds.",
    ),
    _t(
        "workflow_event_daily",
        "per_day",
        "",
        "run_facts run_daily",
        "Daily run volume per repo, workflow and event, attempts beside.",
    ),
    _t(
        "pr_validation_daily",
        "per_day",
        "",
        "run_facts run_daily",
        "PR validation time per repo and day (final attempts of pull_request runs).",
    ),
    _t(
        "developer_wait_commits",
        "per_day",
        "",
        "run_facts run_daily",
        "Developer wait per PR commit, on the day its first run was created.",
    ),
    _t(
        "developer_wait",
        "per_day",
        "",
        "run_facts run_daily",
        "Developer wait per repo and day: mean over complete PR commits.",
    ),
    _t(
        "full_suite_daily",
        "per_day",
        "",
        "run_facts run_daily",
        "Full-suite workflow duration (successful final attempts) per repo and day.",
    ),
    _t(
        "run_flakiness",
        "per_day",
        "",
        "run_facts run_daily",
        "Run flakiness per unit (repo, workflow_id, head_sha) on its first run's day.",
    ),
    _t(
        "run_flakiness_daily",
        "per_day",
        "",
        "run_facts run_daily",
        "Run flakiness rate per repo and day.",
    ),
    _t(
        "test_units_daily",
        "facts",
        "tests",
        "run_facts",
        "Per test, commit, day and run dimensions: the outcome facts of test flakiness.",
    ),
    _t(
        "targets",
        "per_day",
        "",
        "run_facts run_daily test_units_daily",
        "One row per repo, day and KPI target over the 7-day window ending that day.",
    ),
    _t(
        "target_status",
        "as_of",
        "",
        "targets",
        "Each KPI target per repo as of the run's last day (the latest day of kpi.targets "
        "up to it); the target checks read it.",
    ),
    _t(
        "workflow_trends",
        "per_day",
        "",
        "run_facts run_daily",
        "7-day rolling success rate and duration per workflow, change versus the previous 7 days.",
    ),
    _t(
        "test_flaky_units",
        "window",
        "tests",
        "",
        "Test flakiness units (repo, test id, head_sha) over the window, with their runs.",
    ),
    _t(
        "test_stats",
        "window",
        "tests",
        "test_flaky_units",
        "Per test over the window: executions, outcomes, durations, slow, flaky, "
        "duration regression.",
    ),
    _t(
        "flaky_tests",
        "window",
        "",
        "test_flaky_units",
        "Flaky tests over the window with the commits and runs that prove them.",
    ),
    _t(
        "slow_tests",
        "window",
        "",
        "test_stats",
        "Slow and consistently slow tests over the window.",
    ),
    _t(
        "module_stats",
        "window",
        "tests",
        "",
        "Per module over the window: tests, executions, durations, failure rate.",
    ),
)
TABLES_BY_NAME: dict[str, KpiTable] = {t.name: t for t in TABLES}
WINDOW_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES if t.kind == "window")


# ---- per-day tables: columns, and the measures they hold


def _cols(spec: str) -> list[tuple[str, str]]:
    return [tuple(c.split(":")) for c in spec.split()]  # type: ignore[misc]


_RUN_COUNTS = (
    "runs:BIGINT attempts:BIGINT successes:BIGINT failures:BIGINT excluded:BIGINT "
    "not_completed:BIGINT success_rate:DOUBLE first_attempt_successes:BIGINT "
    "first_attempt_failures:BIGINT first_attempt_success_rate:DOUBLE duration_p50_s:DOUBLE "
    "duration_p95_s:DOUBLE duration_mean_s:DOUBLE duration_sum_s:DOUBLE duration_count:BIGINT "
    "queue_mean_s:DOUBLE queue_p95_s:DOUBLE pr_runs:BIGINT pr_duration_sum_s:DOUBLE "
    "pr_duration_count:BIGINT compute_minutes:BIGINT compute_seconds:DOUBLE"
)
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "workflow_daily": _cols(f"repo:VARCHAR workflow_name:VARCHAR day:DATE {_RUN_COUNTS}"),
    "workflow_event_daily": _cols(
        "repo:VARCHAR workflow_name:VARCHAR event:VARCHAR day:DATE runs:BIGINT attempts:BIGINT"
    ),
    "pr_validation_daily": _cols(
        "repo:VARCHAR day:DATE pr_runs:BIGINT validated_runs:BIGINT duration_sum_s:DOUBLE "
        "duration_mean_s:DOUBLE duration_p50_s:DOUBLE duration_p95_s:DOUBLE"
    ),
    "developer_wait_commits": _cols(
        "repo:VARCHAR head_sha:VARCHAR day:DATE runs:BIGINT first_created_at:TIMESTAMP "
        "last_updated_at:TIMESTAMP complete:BOOLEAN wait_s:DOUBLE"
    ),
    "developer_wait": _cols(
        "repo:VARCHAR day:DATE commits:BIGINT incomplete_commits:BIGINT wait_sum_s:DOUBLE "
        "wait_mean_s:DOUBLE wait_p50_s:DOUBLE wait_p95_s:DOUBLE"
    ),
    "full_suite_daily": _cols(
        "repo:VARCHAR day:DATE workflow_name:VARCHAR runs:BIGINT successful_runs:BIGINT "
        "duration_p50_s:DOUBLE duration_p95_s:DOUBLE duration_mean_s:DOUBLE"
    ),
    "run_flakiness": _cols(
        "repo:VARCHAR workflow_id:BIGINT workflow_name:VARCHAR head_sha:VARCHAR day:DATE "
        "runs:BIGINT attempts:BIGINT success_attempts:BIGINT failure_attempts:BIGINT "
        "flaky:BOOLEAN"
    ),
    "run_flakiness_daily": _cols(
        "repo:VARCHAR day:DATE units:BIGINT flaky_units:BIGINT flakiness_rate:DOUBLE"
    ),
    "targets": _cols(
        "repo:VARCHAR day:DATE kpi:VARCHAR value:DOUBLE target:DOUBLE comparator:VARCHAR "
        "baseline_value:DOUBLE window_value:DOUBLE window_start:DATE window_end:DATE "
        "status:VARCHAR"
    ),
    "workflow_trends": _cols(
        "repo:VARCHAR workflow_name:VARCHAR day:DATE runs_7d:BIGINT success_rate_7d:DOUBLE "
        "duration_mean_7d_s:DOUBLE runs_prev_7d:BIGINT success_rate_prev_7d:DOUBLE "
        "duration_mean_prev_7d_s:DOUBLE success_rate_change:DOUBLE "
        "duration_mean_change:DOUBLE"
    ),
}

Rows = Iterator[dict[str, Any]]


def _daily(
    con: duckdb.DuckDBPyConnection,
    measures: Sequence[str],
    period: Period,
    config: KpiConfig,
    *,
    by: Sequence[str] = (),
    filters: Filters = ALL_RUNS,
) -> dict[tuple[str, str | None, str | None, date], dict[str, Any]]:
    return query.series(con, measures, filters, Windows.each_day(period), by=by, config=config)


def _workflow_daily(con: duckdb.DuckDBPyConnection, period: Period, config: KpiConfig) -> Rows:
    measures = [c for c, _ in COLUMNS["workflow_daily"][3:]]
    for (repo, wf, _, day), v in _daily(con, measures, period, config, by=["workflow"]).items():
        yield {"repo": repo, "workflow_name": wf, "day": day, **v}


def _workflow_event_daily(
    con: duckdb.DuckDBPyConnection, period: Period, config: KpiConfig
) -> Rows:
    got = _daily(con, ["runs", "attempts"], period, config, by=["workflow", "event"])
    for (repo, wf, event, day), v in got.items():
        yield {"repo": repo, "workflow_name": wf, "event": event, "day": day, **v}


def _pr_validation_daily(con: duckdb.DuckDBPyConnection, period: Period, config: KpiConfig) -> Rows:
    measures = ["runs", "duration_count", "duration_sum_s", "duration_mean_s"]
    measures += ["duration_p50_s", "duration_p95_s"]
    got = _daily(con, measures, period, config, filters=Filters(branches=("pr",)))
    for (repo, _, _, day), v in got.items():
        yield {
            "repo": repo,
            "day": day,
            "pr_runs": v.get("runs"),
            "validated_runs": v.get("duration_count"),
            "duration_sum_s": v.get("duration_sum_s"),
            "duration_mean_s": v.get("duration_mean_s"),
            "duration_p50_s": v.get("duration_p50_s"),
            "duration_p95_s": v.get("duration_p95_s"),
        }


def _developer_wait(con: duckdb.DuckDBPyConnection, period: Period, config: KpiConfig) -> Rows:
    names = ("commits", "incomplete_commits", "wait_sum_s", "wait_mean_s")
    names += ("wait_p50_s", "wait_p95_s")
    measures = [
        "developer_wait_commits",
        "developer_wait_incomplete_commits",
        "developer_wait_sum_s",
        "developer_wait_mean_s",
        "developer_wait_p50_s",
        "developer_wait_p95_s",
    ]
    for (repo, _, _, day), v in _daily(con, measures, period, config).items():
        yield {"repo": repo, "day": day} | {
            n: v.get(m) for n, m in zip(names, measures, strict=True)
        }


def _full_suite_daily(con: duckdb.DuckDBPyConnection, period: Period, config: KpiConfig) -> Rows:
    wf = config.full_suite_workflow
    measures = ["runs", "full_suite_runs", "full_suite_p50_s", "full_suite_p95_s"]
    measures.append("full_suite_mean_s")
    got = _daily(con, measures, period, config, filters=Filters(workflows=(wf,)))
    for (repo, _, _, day), v in got.items():
        yield {
            "repo": repo,
            "day": day,
            "workflow_name": wf,
            "runs": v.get("runs"),
            "successful_runs": v.get("full_suite_runs", 0),
            "duration_p50_s": v.get("full_suite_p50_s"),
            "duration_p95_s": v.get("full_suite_p95_s"),
            "duration_mean_s": v.get("full_suite_mean_s"),
        }


def _run_flakiness_daily(con: duckdb.DuckDBPyConnection, period: Period, config: KpiConfig) -> Rows:
    measures = ["run_flakiness_units", "run_flaky_units", "run_flakiness_rate"]
    for (repo, _, _, day), v in _daily(con, measures, period, config).items():
        yield {
            "repo": repo,
            "day": day,
            "units": v["run_flakiness_units"],
            "flaky_units": v["run_flaky_units"],
            "flakiness_rate": v["run_flakiness_rate"],
        }


def _targets(con: duckdb.DuckDBPyConnection, period: Period, config: KpiConfig) -> Rows:
    repos = query.known_repos(con)
    windows = Windows.each_day(period, TARGET_WINDOW_DAYS)
    got = query.kpi_series(con, repos, windows, config=config)
    for (repo, day), cards in sorted(got.items()):
        for name in sorted(cards):
            card = cards[name]
            yield {
                "repo": repo,
                "day": day,
                **card.as_dict(),
                "window_start": day - timedelta(days=TARGET_WINDOW_DAYS - 1),
                "window_end": day,
            }


def _workflow_trends(con: duckdb.DuckDBPyConnection, period: Period, config: KpiConfig) -> Rows:
    measures = ["runs", "success_rate", "duration_mean_s"]
    days = TARGET_WINDOW_DAYS

    def rolling(p: Period) -> dict:
        windows = Windows.each_day(p, days)
        return query.series(con, measures, ALL_RUNS, windows, by=["workflow"], config=config)

    shift = timedelta(days=days)
    cur = rolling(period)
    prev = rolling(Period(period.start - shift, period.end - shift))
    for (repo, wf, _, day), c in cur.items():
        p = prev.get((repo, wf, None, day - shift), {})
        rate, prev_rate = c.get("success_rate"), p.get("success_rate")
        mean, prev_mean = c.get("duration_mean_s"), p.get("duration_mean_s")
        yield {
            "repo": repo,
            "workflow_name": wf,
            "day": day,
            "runs_7d": c.get("runs"),
            "success_rate_7d": rate,
            "duration_mean_7d_s": mean,
            "runs_prev_7d": p.get("runs"),
            "success_rate_prev_7d": prev_rate,
            "duration_mean_prev_7d_s": prev_mean,
            "success_rate_change": (
                None if rate is None or prev_rate is None else rate - prev_rate
            ),
            "duration_mean_change": (
                None if mean is None or not prev_mean else mean / prev_mean - 1
            ),
        }


# Tables of the units the layer forms, one row per unit.
_UNIT_TABLES = {
    "developer_wait_commits": "developer_wait_units",
    "run_flakiness": "run_flakiness_units",
}

_PER_DAY: dict[str, Callable[[duckdb.DuckDBPyConnection, Period, KpiConfig], Rows]] = {
    "workflow_daily": _workflow_daily,
    "workflow_event_daily": _workflow_event_daily,
    "pr_validation_daily": _pr_validation_daily,
    "developer_wait": _developer_wait,
    "full_suite_daily": _full_suite_daily,
    "run_flakiness_daily": _run_flakiness_daily,
    "targets": _targets,
    "workflow_trends": _workflow_trends,
}


def _update_commits(con: duckdb.DuckDBPyConnection, start_day: date, end_day: date) -> None:
    """Rewrite what ``kpi`` keeps per commit for the commits with runs in the range, inside
    the caller's transaction: ``kpi.sha_spans`` (the bounds unit queries read run_facts
    within) and the stored units (:data:`pipelines.kpi.facts.STORED_UNITS`)."""
    sql = sqlfiles.load("sha_spans")
    con.execute(
        "CREATE TABLE IF NOT EXISTS kpi.sha_spans "
        "(repo VARCHAR, head_sha VARCHAR, first_day DATE, last_day DATE)"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE new_spans AS {sql}",
        sqlfiles.bind(sql, {"start_day": start_day, "end_day": end_day}),
    )
    con.execute(
        "DELETE FROM kpi.sha_spans s USING new_spans n "
        "WHERE s.repo = n.repo AND s.head_sha = n.head_sha"
    )
    con.execute("INSERT INTO kpi.sha_spans SELECT * FROM new_spans")
    for units in facts.STORED_UNITS:
        _update_units(con, units)
    con.execute("DROP TABLE new_spans")


def _update_units(con: duckdb.DuckDBPyConnection, units: str) -> None:
    """``kpi.<units>``: every unit of every commit, unfiltered, formed by the layer's SQL.
    The units of the commits in ``new_spans`` are formed again from all their runs; a table
    new to the store (or from an earlier version) is formed whole, so it never holds only
    part of the history."""
    if not facts.ready(con, units):
        con.execute(f"DROP TABLE IF EXISTS kpi.{units}")
        lo, hi = con.execute("SELECT min(day), max(day) FROM kpi.run_facts").fetchone()
        sql = facts.units_sql(units, "SELECT * FROM kpi.run_facts")
        con.execute(f"CREATE TABLE kpi.{units} AS {sql}", facts.units_params(sql, lo, hi))
        return
    con.execute(
        f"DELETE FROM kpi.{units} u USING new_spans n "
        "WHERE u.repo = n.repo AND u.head_sha = n.head_sha"
    )
    lo, hi = con.execute("SELECT min(first_day), max(last_day) FROM new_spans").fetchone()
    if lo is None:
        return
    runs = (
        "SELECT f.* FROM kpi.run_facts f SEMI JOIN (SELECT repo, md5_number(head_sha) "
        "AS sha_key FROM new_spans) n ON n.repo = f.repo AND n.sha_key = f.sha_key"
    )
    sql = facts.units_sql(units, runs)
    con.execute(f"INSERT INTO kpi.{units} BY NAME {sql}", facts.units_params(sql, lo, hi))


def _arrow(table: str, rows: list[dict[str, Any]]) -> pa.Table:
    cols = COLUMNS[table]
    return pa.table(
        {name: pa.array([r.get(name) for r in rows], _TYPES[kind]) for name, kind in cols}
    )


# A range is built a week at a time (in its one transaction), so a backfill's memory is
# bounded by what a week holds, not by the range.
CHUNK_DAYS = 7


def build_days(
    con: duckdb.DuckDBPyConnection,
    table: str,
    start_day: date,
    end_day: date,
    config: KpiConfig = DEFAULT_CONFIG,
) -> int:
    """Recompute ``kpi.<table>`` for the days ``start_day`` … ``end_day``; rows written.

    Deletes and reinserts exactly those days in one transaction.
    """
    spec = TABLES_BY_NAME[table]
    if not spec.per_day:
        raise ValueError(f"kpi.{table} is a window table: use build_window")
    con.execute("CREATE SCHEMA IF NOT EXISTS kpi")
    written = 0
    with store.transaction(con):
        _create(con, spec, Period(start_day, end_day))
        con.execute(f"DELETE FROM kpi.{table} WHERE day BETWEEN ? AND ?", [start_day, end_day])
        for chunk in Period(start_day, end_day).chunks(CHUNK_DAYS):
            written += _insert(con, spec, chunk, config)
    return written


def refresh_test_facts(con: duckdb.DuckDBPyConnection, days: Iterable[date]) -> list[Period]:
    """Bring ``kpi.test_units_daily`` up to date with test results just written for
    ``days`` (an ingest outside a pipeline run), so every view of the store counts the new
    rows at once; nothing on a store whose facts were never built. The ranges rebuilt."""
    if not store.table_exists(con, "kpi", "test_units_daily"):
        return []
    ranges: list[Period] = []
    for day in sorted(set(days)):
        if ranges and day == ranges[-1].end + timedelta(days=1):
            ranges[-1] = Period(ranges[-1].start, day)
        else:
            ranges.append(Period(day, day))
    for period in ranges:
        build_days(con, "test_units_daily", period.start, period.end)
    return ranges


def _create(con: duckdb.DuckDBPyConnection, spec: KpiTable, building: Period | None = None) -> None:
    """Create ``kpi.<spec>`` if missing; a facts table new to a store is filled over the
    days it can be built for (but ``building``, which the caller builds next), and one from
    an earlier version is rebuilt, so no day of history reads as empty."""
    if store.table_exists(con, "kpi", spec.name):
        if spec.kind == "facts":
            _upgrade_facts(con, spec, building)
        return
    _create_empty(con, spec)
    if spec.kind == "facts":
        _fill(con, spec, _source_days(con, spec), building)


def _create_empty(con: duckdb.DuckDBPyConnection, spec: KpiTable) -> None:
    if spec.kind == "facts":
        sql = facts.facts_sql(spec.name)
        bound = sqlfiles.bind(sql, {"start_day": date.min, "end_day": date.min})
        con.execute(f"CREATE TABLE kpi.{spec.name} AS SELECT * FROM ({sql}) LIMIT 0", bound)
    else:
        columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS[spec.name])
        con.execute(f"CREATE TABLE kpi.{spec.name} ({columns})")


def _days(con: duckdb.DuckDBPyConnection, tables: Sequence[str]) -> Period | None:
    """The first to the last day of ``kpi.<table>`` rows over ``tables``; None when empty."""
    spans = [
        con.execute(f"SELECT min(day), max(day) FROM kpi.{t}").fetchone()
        for t in tables
        if store.table_exists(con, "kpi", t)
    ]
    firsts = [a for a, _ in spans if a is not None]
    lasts = [b for _, b in spans if b is not None]
    return Period(min(firsts), max(lasts)) if firsts else None


def _source_days(con: duckdb.DuckDBPyConnection, spec: KpiTable) -> Period | None:
    """The days the facts ``spec`` reads hold: the days it can be built for from them."""
    return _days(con, [t for t in spec.reads if TABLES_BY_NAME[t].kind == "facts"])


def _fill(
    con: duckdb.DuckDBPyConnection, spec: KpiTable, days: Period | None, skip: Period | None
) -> None:
    """Insert ``spec``'s rows of ``days``, but those of ``skip``."""
    if days is None:
        return
    bounds = [(days.start, days.end)]
    if skip is not None:
        one = timedelta(days=1)
        bounds = [
            (days.start, min(days.end, skip.start - one)),
            (max(days.start, skip.end + one), days.end),
        ]
    for part in (Period(a, b) for a, b in bounds if a <= b):
        for chunk in part.chunks(CHUNK_DAYS):
            _insert(con, spec, chunk, DEFAULT_CONFIG)


def _upgrade_facts(con: duckdb.DuckDBPyConnection, spec: KpiTable, building: Period | None) -> None:
    """Rebuild a facts table written by an earlier version whose columns differ from its
    SQL's (say, a key column added), over the days it held or can be built for."""
    if facts.ready(con, spec.name):
        return
    held = _days(con, [spec.name])
    sources = _source_days(con, spec)
    spans = [p for p in (held, sources) if p is not None]
    days = Period(min(p.start for p in spans), max(p.end for p in spans)) if spans else None
    con.execute(f"DROP TABLE kpi.{spec.name}")
    _create_empty(con, spec)
    _fill(con, spec, days, building)


def _insert(
    con: duckdb.DuckDBPyConnection, spec: KpiTable, period: Period, config: KpiConfig
) -> int:
    """Insert ``spec``'s rows of ``period`` (deleted before, in the caller's transaction)."""
    table = spec.name
    if spec.kind == "facts":
        sql = facts.facts_sql(table)
        bound = sqlfiles.bind(sql, {"start_day": period.start, "end_day": period.end})
        written = con.execute(f"INSERT INTO kpi.{table} BY NAME SELECT * FROM ({sql})", bound)
        count = int(written.fetchone()[0])
        if table == "run_facts":
            _update_commits(con, period.start, period.end)
        if table == "test_units_daily":
            marks = sqlfiles.load("test_unit_marks")
            con.execute(
                marks, sqlfiles.bind(marks, {"start_day": period.start, "end_day": period.end})
            )
        return count
    if table in _UNIT_TABLES:  # many rows: straight from the layer's query into the table
        units = query.units_query(con, _UNIT_TABLES[table], period)
        if units is None:
            return 0
        names = ", ".join(name for name, _ in COLUMNS[table])
        written = con.execute(
            f"INSERT INTO kpi.{table} BY NAME SELECT {names} FROM ({units[0]})", units[1]
        )
        return int(written.fetchone()[0])
    rows = list(_PER_DAY[table](con, period, config))
    con.register("kpi_rows", _arrow(table, rows))
    try:
        con.execute(f"INSERT INTO kpi.{table} BY NAME SELECT * FROM kpi_rows")
    finally:
        con.unregister("kpi_rows")
    return len(rows)


# The CTEs a window table's SQL reads by name, built before it.
_WINDOW_READS: dict[str, tuple[str, ...]] = {
    "test_stats": ("test_flaky_units",),
    "flaky_tests": ("test_flaky_units",),
    "slow_tests": ("test_flaky_units", "test_stats"),
}


def window_sql(table: str, source: Callable[[str], str] | None = None) -> str:
    """The query of window table ``table``. The window tables it reads come from
    ``source(name)`` (default: their own SQL, so the query stands alone)."""
    reads = _WINDOW_READS.get(table, ())
    ctes = [f"{name} AS ({source(name) if source else sqlfiles.load(name)})" for name in reads]
    body = sqlfiles.load(table)
    return f"WITH {', '.join(ctes)} SELECT * FROM ({body})" if ctes else body


def build_window(
    con: duckdb.DuckDBPyConnection,
    table: str,
    as_of: date,
    window_days: int = TARGET_WINDOW_DAYS,
) -> int:
    """Rebuild ``kpi.<table>`` whole for the window of ``window_days`` ending ``as_of``."""
    if TABLES_BY_NAME[table].per_day:
        raise ValueError(f"kpi.{table} is a per-day table: use build_days")
    sql = window_sql(table, lambda name: f"SELECT * FROM kpi.{name}")
    bound = sqlfiles.bind(sql, {"as_of": as_of, "window_days": window_days})
    con.execute("CREATE SCHEMA IF NOT EXISTS kpi")
    with store.transaction(con):
        for name in TABLES_BY_NAME[table].reads:  # a per-day table not built yet: empty
            if TABLES_BY_NAME[name].per_day:
                _create(con, TABLES_BY_NAME[name])
        con.execute(f"CREATE OR REPLACE TABLE kpi.{table} AS {sql}", bound)
        return int(con.execute(f"SELECT count(*) FROM kpi.{table}").fetchone()[0])


def build_all(
    con: duckdb.DuckDBPyConnection,
    start_day: date,
    end_day: date,
    as_of: date | None = None,
    config: KpiConfig = DEFAULT_CONFIG,
    tables: Sequence[str] | None = None,
) -> dict[str, float]:
    """Build every KPI table (per-day ones over the range, window ones as of ``as_of``).

    Returns the seconds each table took, in build order.
    """
    timings: dict[str, float] = {}
    for spec in TABLES:
        if tables is not None and spec.name not in tables:
            continue
        began = time.perf_counter()
        if spec.per_day:
            build_days(con, spec.name, start_day, end_day, config)
        else:
            build_window(con, spec.name, as_of or end_day)
        timings[spec.name] = time.perf_counter() - began
    return timings
