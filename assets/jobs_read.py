"""Completed runs whose jobs were never read: no KPI is built over them.

The runs and the jobs of a day range are two steps. When GitHub fails between them (an
outage, a rate limit that does not reset in time), the range's runs are stored without
their jobs until a healthy re-run; KPIs built meanwhile would count those runs without
their jobs (compute minutes, job outcomes). A blocking check on the jobs asset finds such
runs in the run's day range, and every per-day KPI table over raw runs waits for it.
"""

from datetime import date, timedelta
from importlib import resources

import duckdb
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    Failure,
    MetadataValue,
    asset_check,
)

from pipelines.asset_keys import JOBS
from pipelines.resources import DuckDBStore
from pipelines.store import markdown_table

SAMPLE_ROWS = 10
# the whole store, for a check run outside a ranged run
ALL_DAYS = (date(1970, 1, 1), date(9999, 12, 30))


def jobs_not_read_sql() -> str:
    """The query of ``assets/sql/jobs_not_read.sql`` (params ``start_day``, ``end_day``)."""
    text = resources.files("assets").joinpath("sql", "jobs_not_read.sql").read_text()
    return text.strip().rstrip(";")


def count_jobs_not_read(con: duckdb.DuckDBPyConnection, first: date, last: date) -> int:
    """How many completed runs created on ``first`` … ``last`` have no jobs read."""
    params = {"start_day": first, "end_day": last}
    return int(con.execute(f"SELECT count(*) FROM ({jobs_not_read_sql()})", params).fetchone()[0])


def require_jobs_read(con: duckdb.DuckDBPyConnection, table: str, first: date, last: date) -> None:
    """Refuse to build ``kpi.<table>`` over a range with completed runs whose jobs were
    never read (a run that materializes the KPI tables without the raw assets)."""
    missing = count_jobs_not_read(con, first, last)
    if missing:
        raise Failure(
            f"kpi.{table} not built for {first} … {last}: {missing} completed run(s) created "
            "then have no jobs read (the jobs extraction failed after the runs were stored). "
            "Materialize github_workflow_jobs for these days first; the table is unchanged."
        )


def evaluate_jobs_read(duckdb_store: DuckDBStore, first: date, last: date) -> AssetCheckResult:
    """Fail (ERROR, blocking) when a completed run of the range has no jobs read."""
    with duckdb_store.connect(read_only=True) as con:
        missing = count_jobs_not_read(con, first, last)
        metadata: dict[str, object] = {
            "runs_without_jobs": missing,
            "days": f"{first} … {last}" if (first, last) != ALL_DAYS else "all",
        }
        if missing:
            sample = f"SELECT * FROM ({jobs_not_read_sql()}) LIMIT {SAMPLE_ROWS}"
            params = {"start_day": first, "end_day": last}
            metadata["sample"] = MetadataValue.md(markdown_table(con, sample, params))
    return AssetCheckResult(
        passed=missing == 0,
        severity=AssetCheckSeverity.ERROR,
        metadata=metadata,
        description=(
            f"{missing} completed run(s) have no jobs read: re-run github_workflow_jobs "
            "for these days"
            if missing
            else None
        ),
    )


@asset_check(
    asset=JOBS,
    name="jobs_read_for_completed_runs",
    description=(
        "Every completed run of the day range (but startup failures) has its jobs read "
        "(meta.jobs_fetched); blocks the KPIs otherwise."
    ),
    blocking=True,
)
def jobs_read_for_completed_runs(
    context: AssetCheckExecutionContext, duckdb: DuckDBStore
) -> AssetCheckResult:
    if context.has_partition_key_range:
        window = context.partition_time_window
        first, last = window.start.date(), (window.end - timedelta(days=1)).date()
    else:
        first, last = ALL_DAYS
    return evaluate_jobs_read(duckdb, first, last)
