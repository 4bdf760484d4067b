"""Completed runs whose jobs were never read: no KPI is built over them.

The runs and the jobs of a day range are two steps. When GitHub fails between them (an
outage, a rate limit that does not reset in time), the range's runs are stored without
their jobs until a healthy re-run; KPIs built meanwhile would count those runs without
their jobs (compute minutes, job outcomes). A blocking check of the jobs asset
(``jobs_read_for_completed_runs`` in ``assets/raw_checks.py``) finds such runs in the
run's day range, and the facts every KPI table reads refuse such a range.
"""

from datetime import date

import duckdb
from dagster import Failure

from assets.raw_checks import violations


def count_jobs_not_read(con: duckdb.DuckDBPyConnection, first: date, last: date) -> int:
    """How many completed runs created on ``first`` … ``last`` have no jobs read."""
    return violations(con, "jobs_read_for_completed_runs", first, last)[0]


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
