"""Data-quality rules of the raw tables, declared as check specs of the assets that write
them and evaluated by every path that writes them, over the days written.

A duplicate attempt or a conclusion the definitions do not classify would silently skew
every rate, so these rules are ERROR and blocking: a failed one stops the KPI tables from
reading the range. The volume rule only warns: a silent day is news, not broken data.
Each rule's SQL (``assets/sql/checks/<name>.sql``) returns the offending rows of the days
``$start_day`` … ``$end_day``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

import duckdb
from dagster import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
)

from pipelines.asset_keys import JOBS, RUNS, TESTS
from pipelines.store import markdown_table

SAMPLE_ROWS = 10
# A day with zero runs is an anomaly when the 7 days before it averaged at least this many.
MANY_RUNS_PER_DAY = 10


@dataclass(frozen=True)
class RawCheck:
    """One rule of a raw table: its asset, name (= SQL file), description, severity."""

    asset: AssetKey
    name: str
    description: str
    blocking: bool = True

    @property
    def severity(self) -> AssetCheckSeverity:
        return AssetCheckSeverity.ERROR if self.blocking else AssetCheckSeverity.WARN

    def spec(self) -> AssetCheckSpec:
        return AssetCheckSpec(
            self.name, asset=self.asset, description=self.description, blocking=self.blocking
        )


RAW_CHECKS: tuple[RawCheck, ...] = (
    RawCheck(RUNS, "runs_unique_key", "one row per (repo, run_id, run_attempt)"),
    RawCheck(RUNS, "runs_no_null_keys", "repo, run_id, run_attempt and created_at are never null"),
    RawCheck(
        RUNS,
        "runs_timestamps_ordered",
        "created_at <= run_started_at <= updated_at where present",
    ),
    RawCheck(RUNS, "runs_conclusion_known", "conclusion is null or one of the known conclusions"),
    RawCheck(
        RUNS,
        "runs_volume_anomaly",
        f"no day with zero runs after 7 days averaging >= {MANY_RUNS_PER_DAY} runs",
        blocking=False,
    ),
    RawCheck(JOBS, "jobs_unique_key", "one row per (repo, job_id)"),
    RawCheck(JOBS, "jobs_no_null_keys", "repo, job_id and run_id are never null"),
    RawCheck(JOBS, "jobs_timestamps_ordered", "started_at <= completed_at where present"),
    RawCheck(JOBS, "jobs_conclusion_known", "conclusion is null or one of the known conclusions"),
    RawCheck(
        JOBS,
        "jobs_read_for_completed_runs",
        "every completed run of the range (but startup failures) has its jobs read "
        "(meta.jobs_fetched): no KPI counts runs without their jobs",
    ),
    RawCheck(
        TESTS,
        "test_results_unique_key",
        "one row per (content_hash, seq): a report file is stored once",
    ),
    RawCheck(
        TESTS,
        "test_results_no_null_keys",
        "day, source, content_hash, seq, test_id and outcome are never null",
    ),
    RawCheck(
        TESTS,
        "test_results_outcome_known",
        "outcome is one of passed, failed, error, skipped, rerun",
    ),
    RawCheck(
        TESTS,
        "test_results_linked_to_run",
        "a test row that claims a run id belongs to a stored run (and attempt, when given)",
    ),
)


def specs(asset: AssetKey) -> list[AssetCheckSpec]:
    """The check specs of ``asset``'s rules, for its ``check_specs``."""
    return [c.spec() for c in RAW_CHECKS if c.asset == asset]


@cache
def check_sql(name: str) -> str:
    """The offending rows' query of rule ``name``."""
    text = resources.files("assets").joinpath("sql", "checks", f"{name}.sql").read_text()
    return text.strip().rstrip(";")


def violations(
    con: duckdb.DuckDBPyConnection, name: str, first: date, last: date
) -> tuple[int, str | None]:
    """How many rows of ``first`` … ``last`` break rule ``name``, and a Markdown sample."""
    sql = check_sql(name)
    params = {"start_day": first, "end_day": last}
    if "$many_runs" in sql:
        params["many_runs"] = MANY_RUNS_PER_DAY
    (count,) = con.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()
    sample = markdown_table(con, f"SELECT * FROM ({sql}) LIMIT {SAMPLE_ROWS}", params)
    return int(count), sample if count else None


def _evaluation(check: RawCheck, count: int, sample: str | None, first: date, last: date):
    metadata: dict[str, object] = {
        "violations": count,
        "rule": check.description,
        "days": f"{first} … {last}",
    }
    if sample:
        metadata["sample"] = MetadataValue.md(sample)
    return {
        "passed": count == 0,
        "severity": check.severity,
        "metadata": metadata,
        "description": None if count == 0 else f"{count} row(s) break: {check.description}",
    }


def results(
    con: duckdb.DuckDBPyConnection, asset: AssetKey, first: date, last: date
) -> list[AssetCheckResult]:
    """Every rule of ``asset`` over the days written, as the asset's check results."""
    out = []
    for check in RAW_CHECKS:
        if check.asset == asset:
            count, sample = violations(con, check.name, first, last)
            out.append(
                AssetCheckResult(
                    asset_key=asset,
                    check_name=check.name,
                    **_evaluation(check, count, sample, first, last),
                )
            )
    return out


def evaluations(
    con: duckdb.DuckDBPyConnection, asset: AssetKey, first: date, last: date
) -> Iterator[AssetCheckEvaluation]:
    """The same, as events an op that writes the table logs (the drop-folder ingestion)."""
    for check in RAW_CHECKS:
        if check.asset == asset:
            count, sample = violations(con, check.name, first, last)
            e = _evaluation(check, count, sample, first, last)
            yield AssetCheckEvaluation(
                asset_key=asset,
                check_name=check.name,
                passed=e["passed"],
                severity=e["severity"],
                metadata=e["metadata"],
                description=e["description"],
            )


def blocking_failures(evaluations: Iterable[AssetCheckEvaluation]) -> list[str]:
    """The names of the blocking rules that failed: what stops the tables built from it."""
    return [
        e.check_name for e in evaluations if not e.passed and e.severity == AssetCheckSeverity.ERROR
    ]
