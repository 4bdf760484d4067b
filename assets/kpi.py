"""The KPI tables of schema ``kpi``, one Dagster asset per SQL file in ``assets/sql``.

Each ``kpi_<table>.sql`` file is a single SELECT with named parameters. Per-day tables are
daily partitioned: materializing a day range deletes and reinserts exactly those days in one
transaction, so a re-run (or a backfill over days that gained re-run attempts) is
idempotent. Window tables (test statistics over the trailing 7 days) are unpartitioned and
rebuilt whole for one window end (``as_of``, default: the last complete UTC day), because
their rows describe one window, not one day. The build functions take a plain DuckDB
connection so the benchmark and tests can run them without Dagster.
"""

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any

import duckdb
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.jobs_read import require_jobs_read
from pipelines import settings, store, targets
from pipelines.partitions import daily_partitions, run_range_end
from pipelines.resources import DuckDBStore

RUNS = AssetKey("github_workflow_runs")
JOBS = AssetKey("github_workflow_jobs")
TESTS = AssetKey("test_results")

PREVIEW_ROWS = 10
# Length of the window tables' window; their SQL takes it as ``$window_days`` so the reports
# can run the same rules over longer windows.
WINDOW_DAYS = 7
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def kpi_key(table: str) -> AssetKey:
    """Asset key of the KPI table ``kpi.<table>``."""
    return AssetKey(["kpi", table])


@dataclass(frozen=True)
class KpiTable:
    """One table of schema ``kpi``: its SQL file, whether it is per day, what it reads."""

    name: str
    per_day: bool
    deps: tuple[AssetKey, ...]
    description: str


# In build order: a table comes after the KPI tables it reads.
TABLES: tuple[KpiTable, ...] = (
    KpiTable(
        "workflow_daily",
        True,
        (RUNS, JOBS),
        "Per repo, workflow, day: runs, attempts, outcome counts, success rates, "
        "durations, queue time, compute minutes and seconds.",
    ),
    KpiTable(
        "workflow_event_daily",
        True,
        (RUNS,),
        "Daily run volume per repo, workflow and event, attempts beside.",
    ),
    KpiTable(
        "pr_validation_daily",
        True,
        (RUNS,),
        "PR validation time per repo and day (final attempts of pull_request runs).",
    ),
    KpiTable(
        "developer_wait_commits",
        True,
        (RUNS,),
        "Developer wait per PR commit, on the day its first run was created.",
    ),
    KpiTable(
        "developer_wait",
        True,
        (kpi_key("developer_wait_commits"),),
        "Developer wait per repo and day: mean over complete PR commits.",
    ),
    KpiTable(
        "full_suite_daily",
        True,
        (RUNS,),
        "Full-suite workflow duration (successful final attempts) per repo and day.",
    ),
    KpiTable(
        "run_flakiness",
        True,
        (RUNS,),
        "Run flakiness per unit (repo, workflow_id, head_sha) on its first run's day.",
    ),
    KpiTable(
        "run_flakiness_daily",
        True,
        (kpi_key("run_flakiness"),),
        "Run flakiness rate per repo and day.",
    ),
    KpiTable(
        "test_units_daily",
        True,
        (TESTS,),
        "Per test, commit and day: the outcome facts test flakiness is computed from.",
    ),
    KpiTable(
        "targets",
        True,
        (
            RUNS,
            kpi_key("workflow_daily"),
            kpi_key("pr_validation_daily"),
            kpi_key("developer_wait"),
            kpi_key("run_flakiness"),
            kpi_key("test_units_daily"),
        ),
        "One row per repo, day and KPI target over the 7-day window ending that day.",
    ),
    KpiTable(
        "workflow_trends",
        True,
        (kpi_key("workflow_daily"),),
        "7-day rolling success rate and duration per workflow, change versus the previous 7 days.",
    ),
    KpiTable(
        "test_flaky_units",
        False,
        (TESTS,),
        "Test flakiness units (repo, test id, head_sha) over the window, with their runs.",
    ),
    KpiTable(
        "test_stats",
        False,
        (TESTS, kpi_key("test_flaky_units")),
        "Per test over the window: executions, outcomes, durations, slow, flaky, "
        "duration regression.",
    ),
    KpiTable(
        "flaky_tests",
        False,
        (kpi_key("test_flaky_units"),),
        "Flaky tests over the window with the commits and runs that prove them.",
    ),
    KpiTable(
        "slow_tests",
        False,
        (kpi_key("test_stats"),),
        "Slow and consistently slow tests over the window.",
    ),
    KpiTable(
        "module_stats",
        False,
        (TESTS,),
        "Per module over the window: tests, executions, durations, failure rate.",
    ),
)
TABLES_BY_NAME: dict[str, KpiTable] = {t.name: t for t in TABLES}


def load_sql(table: str) -> str:
    """The SELECT of ``kpi.<table>`` (from the packaged ``assets/sql/kpi_<table>.sql``)."""
    if table not in TABLES_BY_NAME:
        raise KeyError(f"unknown KPI table {table!r}")
    text = resources.files("assets").joinpath("sql", f"kpi_{table}.sql").read_text()
    return text.strip().rstrip(";")


def configured_params() -> dict[str, Any]:
    """The configuration the SQL reads: full-suite workflow name and baseline days."""
    start = settings.get_day(settings.BASELINE_START)
    end = settings.get_day(settings.BASELINE_END)
    if start and end and end < start:
        raise ValueError(
            f"{settings.BASELINE_END.key} ({end}) is before {settings.BASELINE_START.key} ({start})"
        )
    return {
        "full_suite_workflow": settings.get(settings.FULL_SUITE_WORKFLOW),
        "baseline_start": start,
        "baseline_end": end,
        **targets.sql_params(),
    }


def bind_params(sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Only the parameters ``sql`` names: DuckDB rejects unused ones."""
    names = set(_PARAM.findall(sql))
    missing = names - params.keys()
    if missing:
        raise KeyError(f"SQL parameters without a value: {sorted(missing)}")
    return {k: v for k, v in params.items() if k in names}


def build_days(
    con: duckdb.DuckDBPyConnection,
    table: str,
    start_day: date,
    end_day: date,
    params: Mapping[str, Any] | None = None,
) -> int:
    """Recompute ``kpi.<table>`` for the days ``start_day`` … ``end_day``; rows written.

    Deletes and reinserts exactly those days in one transaction, so it is idempotent and a
    reader never sees a half-written range.
    """
    if not TABLES_BY_NAME[table].per_day:
        raise ValueError(f"kpi.{table} is a window table: use build_window")
    sql = load_sql(table)
    bound = bind_params(
        sql, {**configured_params(), **(params or {}), "start_day": start_day, "end_day": end_day}
    )
    con.execute("CREATE SCHEMA IF NOT EXISTS kpi")
    with store.transaction(con):
        if not store.table_exists(con, "kpi", table):
            con.execute(f"CREATE TABLE kpi.{table} AS SELECT * FROM ({sql}) LIMIT 0", bound)
        con.execute(f"DELETE FROM kpi.{table} WHERE day BETWEEN ? AND ?", [start_day, end_day])
        written = con.execute(f"INSERT INTO kpi.{table} BY NAME SELECT * FROM ({sql})", bound)
        return int(written.fetchone()[0])


def build_window(
    con: duckdb.DuckDBPyConnection,
    table: str,
    as_of: date,
    params: Mapping[str, Any] | None = None,
) -> int:
    """Rebuild ``kpi.<table>`` whole for the window ending on ``as_of``; rows written.

    The window is ``WINDOW_DAYS`` long unless ``params`` gives another ``window_days``.
    """
    if TABLES_BY_NAME[table].per_day:
        raise ValueError(f"kpi.{table} is a per-day table: use build_days")
    sql = load_sql(table)
    bound = bind_params(
        sql,
        {"window_days": WINDOW_DAYS, **configured_params(), **(params or {}), "as_of": as_of},
    )
    con.execute("CREATE SCHEMA IF NOT EXISTS kpi")
    with store.transaction(con):
        con.execute(f"CREATE OR REPLACE TABLE kpi.{table} AS {sql}", bound)
        return int(con.execute(f"SELECT count(*) FROM kpi.{table}").fetchone()[0])


def build_all(
    con: duckdb.DuckDBPyConnection,
    start_day: date,
    end_day: date,
    as_of: date | None = None,
    params: Mapping[str, Any] | None = None,
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
            build_days(con, spec.name, start_day, end_day, params)
        else:
            build_window(con, spec.name, as_of or end_day, params)
        timings[spec.name] = time.perf_counter() - began
    return timings


def last_complete_day(now: datetime | None = None) -> date:
    """The last complete UTC day: yesterday, in UTC."""
    return ((now or datetime.now(UTC)) - timedelta(days=1)).date()


class WindowConfig(Config):
    """Window end for the window tables: ``YYYY-MM-DD``; empty for the last day of the run's
    partition range, or the last complete day outside a ranged run."""

    as_of: str = ""


def _day_metadata(
    con: duckdb.DuckDBPyConnection, table: str, first: date, last: date, written: int
) -> dict[str, Any]:
    total = con.execute(f"SELECT count(*) FROM kpi.{table}").fetchone()[0]
    days = (last - first).days + 1
    preview = store.markdown_table(
        con,
        f"SELECT * FROM kpi.{table} WHERE day BETWEEN ? AND ? LIMIT {PREVIEW_ROWS}",
        [first, last],
    )
    return {
        "table": f"kpi.{table}",
        "rows": written,
        "days": days,
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "dagster/row_count": int(total),
        "preview": MetadataValue.md(preview),
    }


def _make_asset(spec: KpiTable) -> AssetsDefinition:
    # a table over raw runs waits for their jobs too: never built over runs whose jobs
    # were not read (assets/jobs_read.py), even when it does not read the jobs itself
    reads_runs = RUNS in spec.deps
    jobs = [JOBS] if reads_runs and JOBS not in spec.deps else []
    common: dict[str, Any] = {
        "name": spec.name,
        "key_prefix": "kpi",
        "deps": [*spec.deps, *jobs],
        "group_name": "kpi",
        "kinds": {"duckdb", "sql"},
        "pool": "duckdb",
        "description": f"kpi.{spec.name}: {spec.description}",
        # window tables too, so a ranged run (`dagster asset materialize --partition-range`)
        # may include them: they run once, as of the range's last day
        "backfill_policy": BackfillPolicy.single_run(),
    }
    if spec.per_day:

        @asset(**common, partitions_def=daily_partitions)
        def _per_day(context: AssetExecutionContext, duckdb: DuckDBStore) -> MaterializeResult:
            window = context.partition_time_window
            first, last = window.start.date(), (window.end - timedelta(days=1)).date()
            with duckdb.connect() as con:
                if reads_runs:
                    require_jobs_read(con, spec.name, first, last)
                written = build_days(con, spec.name, first, last)
                metadata = _day_metadata(con, spec.name, first, last, written)
            context.log.info(f"kpi.{spec.name}: {written} rows for {first} … {last}")
            return MaterializeResult(metadata=metadata)

        return _per_day

    @asset(**common)
    def _window(
        context: AssetExecutionContext, duckdb: DuckDBStore, config: WindowConfig
    ) -> MaterializeResult:
        as_of = (
            settings.parse_day(config.as_of, "config as_of")
            or run_range_end(context)
            or last_complete_day()
        )
        with duckdb.connect() as con:
            written = build_window(con, spec.name, as_of)
            preview = store.markdown_table(
                con, f"SELECT * FROM kpi.{spec.name} LIMIT {PREVIEW_ROWS}"
            )
        context.log.info(f"kpi.{spec.name}: {written} rows as of {as_of}")
        return MaterializeResult(
            metadata={
                "table": f"kpi.{spec.name}",
                "rows": written,
                "as_of": as_of.isoformat(),
                "window_start": (as_of - timedelta(days=WINDOW_DAYS - 1)).isoformat(),
                "dagster/row_count": written,
                "preview": MetadataValue.md(preview),
            }
        )

    return _window


kpi_assets: list[AssetsDefinition] = [_make_asset(spec) for spec in TABLES]
