"""KPI target checks: one WARN check per KPI of the catalogue on ``kpi.target_status``.

Each reads ``kpi.target_status``, the targets as of the last run's last day. They run in a
``kpi_target_checks`` run of their own after that run (``pipelines/jobs.py``), so each is
evaluated once however many days the range had. A check warns when a repo breaches the
target; it never blocks, since a slow CI is news, not broken data. The raw tables' rules
are in ``assets/raw_checks.py``.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    MetadataValue,
    asset_check,
)

from pipelines.asset_keys import kpi_key
from pipelines.kpi import query
from pipelines.kpi.catalogue import KPIS, TARGET_WINDOW_DAYS
from pipelines.kpi.config import DEFAULT_CONFIG, KpiConfig
from pipelines.kpi.filters import Period
from pipelines.resources import DuckDBStore, KpiSettings
from pipelines.store import markdown_rows, markdown_table

WORST_LIMIT = 5
SAMPLE_ROWS = 10


@dataclass(frozen=True)
class Target:
    """One KPI target of ``kpi.targets`` and how to rank workflows for it: by a measure of
    the KPI layer broken down by workflow, or (test flakiness) by ``worst_sql``."""

    kpi: str
    worst_measure: str | None = None
    worst_sql: str | None = None  # parameters: window start and end day; {limit} formatted in

    @property
    def description(self) -> str:
        """E.g. ``average PR validation time < 120 s``."""
        return KPIS[self.kpi].description


TARGETS: tuple[Target, ...] = (
    Target("pr_validation_avg_s", "pr_validation_avg_s"),
    Target("developer_wait_reduction", "pr_validation_avg_s"),
    Target("full_suite_p95_s", "duration_p95_s"),
    Target("compute_minutes_reduction", "compute_minutes"),
    Target("run_flakiness_rate", "run_flakiness_rate"),
    Target(
        "test_flakiness_rate",
        worst_sql="""
        SELECT t.repo, t.workflow AS workflow_name,
               count(DISTINCT t.test_id) FILTER (WHERE u.has_failed OR u.has_rerun_then_pass)
                   AS tests_failing_or_rerun
        FROM raw.test_results t
        JOIN kpi.test_units_daily u
            ON u.repo = t.repo AND u.test_id = t.test_id AND u.head_sha = t.head_sha
            AND u.day = t.day
        WHERE t.day BETWEEN ? AND ?
        GROUP BY ALL HAVING tests_failing_or_rerun > 0
        ORDER BY tests_failing_or_rerun DESC LIMIT {limit}
        """,
    ),
)


def worst_workflows(
    con: duckdb.DuckDBPyConnection, target: Target, period: Period, config: KpiConfig
) -> list[tuple[str, str | None, float | None]]:
    """The workflows that weigh most on ``target`` over ``period``: (repo, workflow, value)."""
    if target.worst_sql is not None:
        sql = target.worst_sql.format(limit=WORST_LIMIT)
        return [tuple(r) for r in con.execute(sql, [period.start, period.end]).fetchall()]
    name = target.worst_measure
    got = query.values(con, [name], period=period, by=["workflow"], config=config)
    ranked = sorted(
        ((repo, wf, v[name]) for (repo, wf, _), v in got.items() if v.get(name) is not None),
        key=lambda r: (-r[2], r[0], r[1] or ""),
    )
    return ranked[:WORST_LIMIT]


def _target_check(target: Target) -> AssetChecksDefinition:
    @asset_check(
        asset=kpi_key("target_status"),
        name=f"{target.kpi}_target",
        description=f"KPI target: {target.description} (7 days to the run's last day).",
        blocking=False,
    )
    def _check(
        context: AssetCheckExecutionContext, duckdb: DuckDBStore, kpi_settings: KpiSettings
    ) -> AssetCheckResult:
        return evaluate_target(duckdb, target, kpi_settings.config())

    return _check


def evaluate_target(
    duckdb: DuckDBStore, target: Target, config: KpiConfig = DEFAULT_CONFIG
) -> AssetCheckResult:
    """Warn when any repo breaches ``target`` in ``kpi.target_status``."""
    with duckdb.connect(read_only=True) as con:
        (day,) = con.execute(
            "SELECT max(day) FROM kpi.target_status WHERE kpi = ?", [target.kpi]
        ).fetchone()
        if day is None:
            return AssetCheckResult(
                passed=True,
                severity=AssetCheckSeverity.WARN,
                metadata={"status": "no_data", "kpi": target.kpi},
            )
        rows = con.execute(
            "SELECT repo, value, target, comparator, baseline_value, window_value, status "
            "FROM kpi.target_status WHERE kpi = ? AND day = ? "
            "ORDER BY status = 'breach' DESC, "
            "CASE WHEN comparator = '<' THEN value ELSE -value END DESC NULLS LAST, repo",
            [target.kpi, day],
        ).fetchall()
        window_start: date = day - timedelta(days=TARGET_WINDOW_DAYS - 1)
        per_repo = markdown_table(
            con,
            "SELECT repo, value, target, comparator, baseline_value, window_value, status "
            "FROM kpi.target_status WHERE kpi = ? AND day = ? ORDER BY repo",
            [target.kpi, day],
        )
        worst_rows = worst_workflows(con, target, Period(window_start, day), config)
    measure = target.worst_measure or "tests_failing_or_rerun"
    worst = markdown_rows(["repo", "workflow_name", measure], worst_rows)
    breaches = [r for r in rows if r[6] == "breach"]
    repo, value, goal, comparator, baseline, _, status = rows[0]
    metadata = {
        "kpi": target.kpi,
        "value": MetadataValue.float(float(value)) if value is not None else None,
        "target": float(goal),
        "comparator": comparator,
        "status": status,
        "repo": repo,
        "baseline_value": float(baseline) if baseline is not None else None,
        "window": f"{window_start.isoformat()} .. {day.isoformat()}",
        "day": day.isoformat(),
        "breached_repos": [r[0] for r in breaches],
        "per_repo": MetadataValue.md(per_repo),
        "worst_workflows": MetadataValue.md(worst),
        # the same rows as data, for alerts: (repo, workflow, the ranking's first measure)
        "worst": MetadataValue.json(
            [
                {"repo": r[0], "workflow": r[1], "value": None if r[2] is None else float(r[2])}
                for r in worst_rows
            ]
        ),
    }
    return AssetCheckResult(
        passed=not breaches,
        severity=AssetCheckSeverity.WARN,
        metadata={k: v for k, v in metadata.items() if v is not None},
        description=(f"{len(breaches)} repo(s) breach {target.description}" if breaches else None),
    )


kpi_target_checks: list[AssetChecksDefinition] = [_target_check(t) for t in TARGETS]


def check_keys(checks: Sequence[AssetChecksDefinition]) -> list[AssetCheckKey]:
    """Every check key the given definitions hold (what the alert sensor watches)."""
    return [key for c in checks for key in c.check_keys]
