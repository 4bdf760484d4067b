"""Asset checks: KPI targets (warnings) and data quality of the raw tables (blocking errors).

KPI target checks read the latest day of ``kpi.targets`` and warn when a repo breaches a
target; they never block, since a slow CI is news, not broken data. Data-quality checks
guard the raw tables every KPI is computed from: a duplicate attempt or a conclusion the
models do not know would silently skew every rate, so they are ERROR and block downstream
materializations. The raw assets are defined elsewhere; these checks target their keys.
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
    AssetKey,
    MetadataValue,
    asset_check,
)

from assets.jobs_read import jobs_read_for_completed_runs
from assets.kpi import configured
from pipelines.asset_keys import JOBS, RUNS, TESTS, kpi_key
from pipelines.kpi import query
from pipelines.kpi.catalogue import KPIS, TARGET_WINDOW_DAYS
from pipelines.kpi.filters import Period
from pipelines.resources import DuckDBStore
from pipelines.store import markdown_rows, markdown_table

KNOWN_CONCLUSIONS = (
    "success",
    "failure",
    "timed_out",
    "startup_failure",
    "cancelled",
    "skipped",
    "neutral",
    "action_required",
    "stale",
)
KNOWN_OUTCOMES = ("passed", "failed", "error", "skipped", "rerun")
# A day with zero runs is an anomaly when the 7 days before it averaged at least this many.
MANY_RUNS_PER_DAY = 10
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
    con: duckdb.DuckDBPyConnection, target: Target, period: Period
) -> list[tuple[str, str | None, float | None]]:
    """The workflows that weigh most on ``target`` over ``period``: (repo, workflow, value)."""
    if target.worst_sql is not None:
        sql = target.worst_sql.format(limit=WORST_LIMIT)
        return [tuple(r) for r in con.execute(sql, [period.start, period.end]).fetchall()]
    name = target.worst_measure
    got = query.values(con, [name], period=period, by=["workflow"], config=configured())
    ranked = sorted(
        ((repo, wf, v[name]) for (repo, wf, _), v in got.items() if v.get(name) is not None),
        key=lambda r: (-r[2], r[0], r[1] or ""),
    )
    return ranked[:WORST_LIMIT]


def _target_check(target: Target) -> AssetChecksDefinition:
    @asset_check(
        asset=kpi_key("targets"),
        name=f"{target.kpi}_target",
        description=f"KPI target: {target.description} (latest day of kpi.targets).",
        blocking=False,
    )
    def _check(context: AssetCheckExecutionContext, duckdb: DuckDBStore) -> AssetCheckResult:
        return evaluate_target(duckdb, target)

    return _check


def evaluate_target(duckdb: DuckDBStore, target: Target) -> AssetCheckResult:
    """Warn when any repo breaches ``target`` on the latest day of ``kpi.targets``."""
    with duckdb.connect(read_only=True) as con:
        (day,) = con.execute(
            "SELECT max(day) FROM kpi.targets WHERE kpi = ?", [target.kpi]
        ).fetchone()
        if day is None:
            return AssetCheckResult(
                passed=True,
                severity=AssetCheckSeverity.WARN,
                metadata={"status": "no_data", "kpi": target.kpi},
            )
        rows = con.execute(
            "SELECT repo, value, target, comparator, baseline_value, window_value, status "
            "FROM kpi.targets WHERE kpi = ? AND day = ? "
            "ORDER BY status = 'breach' DESC, "
            "CASE WHEN comparator = '<' THEN value ELSE -value END DESC NULLS LAST, repo",
            [target.kpi, day],
        ).fetchall()
        window_start: date = day - timedelta(days=TARGET_WINDOW_DAYS - 1)
        per_repo = markdown_table(
            con,
            "SELECT repo, value, target, comparator, baseline_value, window_value, status "
            "FROM kpi.targets WHERE kpi = ? AND day = ? ORDER BY repo",
            [target.kpi, day],
        )
        worst_rows = worst_workflows(con, target, Period(window_start, day))
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


@dataclass(frozen=True)
class QualityRule:
    """A data-quality rule: the SQL returns the offending rows (none when the rule holds)."""

    asset: AssetKey
    name: str
    description: str
    sql: str


_CONCLUSIONS = ", ".join(f"'{c}'" for c in KNOWN_CONCLUSIONS)
_OUTCOMES = ", ".join(f"'{o}'" for o in KNOWN_OUTCOMES)

QUALITY_RULES: tuple[QualityRule, ...] = (
    QualityRule(
        RUNS,
        "runs_unique_key",
        "one row per (repo, run_id, run_attempt)",
        "SELECT repo, run_id, run_attempt, count(*) AS copies FROM raw.workflow_runs "
        "GROUP BY ALL HAVING count(*) > 1",
    ),
    QualityRule(
        RUNS,
        "runs_no_null_keys",
        "repo, run_id, run_attempt and created_at are never null",
        "SELECT repo, run_id, run_attempt, created_at FROM raw.workflow_runs "
        "WHERE repo IS NULL OR run_id IS NULL OR run_attempt IS NULL OR created_at IS NULL",
    ),
    QualityRule(
        RUNS,
        "runs_timestamps_ordered",
        "created_at <= run_started_at <= updated_at where present",
        "SELECT repo, run_id, run_attempt, created_at, run_started_at, updated_at "
        "FROM raw.workflow_runs WHERE created_at > run_started_at "
        "OR run_started_at > updated_at OR created_at > updated_at",
    ),
    QualityRule(
        RUNS,
        "runs_conclusion_known",
        "conclusion is null or one of the known conclusions",
        "SELECT repo, run_id, run_attempt, conclusion FROM raw.workflow_runs "
        f"WHERE conclusion IS NOT NULL AND conclusion NOT IN ({_CONCLUSIONS})",
    ),
    QualityRule(
        JOBS,
        "jobs_unique_key",
        "one row per (repo, job_id)",
        "SELECT repo, job_id, count(*) AS copies FROM raw.workflow_jobs "
        "GROUP BY ALL HAVING count(*) > 1",
    ),
    QualityRule(
        JOBS,
        "jobs_no_null_keys",
        "repo, job_id and run_id are never null",
        "SELECT repo, job_id, run_id FROM raw.workflow_jobs "
        "WHERE repo IS NULL OR job_id IS NULL OR run_id IS NULL",
    ),
    QualityRule(
        JOBS,
        "jobs_timestamps_ordered",
        "started_at <= completed_at where present",
        "SELECT repo, job_id, started_at, completed_at FROM raw.workflow_jobs "
        "WHERE started_at > completed_at",
    ),
    QualityRule(
        JOBS,
        "jobs_conclusion_known",
        "conclusion is null or one of the known conclusions",
        "SELECT repo, job_id, conclusion FROM raw.workflow_jobs "
        f"WHERE conclusion IS NOT NULL AND conclusion NOT IN ({_CONCLUSIONS})",
    ),
    QualityRule(
        TESTS,
        "test_results_unique_key",
        "one row per (content_hash, seq): a report file is stored once",
        "SELECT content_hash, seq, count(*) AS copies FROM raw.test_results "
        "GROUP BY ALL HAVING count(*) > 1",
    ),
    QualityRule(
        TESTS,
        "test_results_no_null_keys",
        "day, source, content_hash, seq, test_id and outcome are never null",
        "SELECT day, source, content_hash, seq, test_id, outcome FROM raw.test_results "
        "WHERE day IS NULL OR source IS NULL OR content_hash IS NULL OR seq IS NULL "
        "OR test_id IS NULL OR outcome IS NULL",
    ),
    QualityRule(
        TESTS,
        "test_results_outcome_known",
        "outcome is one of passed, failed, error, skipped, rerun",
        "SELECT source, seq, test_id, outcome FROM raw.test_results "
        f"WHERE outcome NOT IN ({_OUTCOMES})",
    ),
    QualityRule(
        TESTS,
        "test_results_linked_to_run",
        "a test row that claims a run id belongs to a stored run (and attempt, when given)",
        "SELECT DISTINCT t.repo, t.run_id, t.run_attempt FROM raw.test_results t "
        "WHERE t.run_id IS NOT NULL AND NOT EXISTS ("
        "  SELECT 1 FROM raw.workflow_runs r WHERE r.run_id = t.run_id"
        "  AND (t.repo IS NULL OR r.repo = t.repo)"
        "  AND (t.run_attempt IS NULL OR r.run_attempt = t.run_attempt))",
    ),
)


def evaluate_rule(duckdb: DuckDBStore, rule: QualityRule) -> AssetCheckResult:
    """Pass when ``rule.sql`` returns no rows; otherwise fail with a count and a sample."""
    with duckdb.connect(read_only=True) as con:
        (violations,) = con.execute(f"SELECT count(*) FROM ({rule.sql})").fetchone()
        metadata: dict[str, object] = {"violations": int(violations), "rule": rule.description}
        if violations:
            metadata["sample"] = MetadataValue.md(
                markdown_table(con, f"SELECT * FROM ({rule.sql}) LIMIT {SAMPLE_ROWS}")
            )
    return AssetCheckResult(
        passed=violations == 0,
        severity=AssetCheckSeverity.ERROR,
        metadata=metadata,
        description=None if violations == 0 else f"{violations} row(s) break: {rule.description}",
    )


def _quality_check(rule: QualityRule) -> AssetChecksDefinition:
    @asset_check(asset=rule.asset, name=rule.name, description=rule.description, blocking=True)
    def _check(context: AssetCheckExecutionContext, duckdb: DuckDBStore) -> AssetCheckResult:
        return evaluate_rule(duckdb, rule)

    return _check


VOLUME_SQL = f"""
WITH bounds AS (
    SELECT repo, min(created_at)::DATE AS first_day FROM raw.workflow_runs GROUP BY repo
),
last AS (SELECT max(created_at)::DATE AS last_day FROM raw.workflow_runs),
days AS (
    SELECT b.repo, d.range::DATE AS day
    FROM bounds b, last l,
         range(b.first_day::TIMESTAMP, (l.last_day + 1)::TIMESTAMP, INTERVAL 1 DAY) d
),
counts AS (
    SELECT repo, created_at::DATE AS day, count(DISTINCT run_id) AS runs
    FROM raw.workflow_runs GROUP BY ALL
),
series AS (
    SELECT d.repo, d.day, coalesce(c.runs, 0) AS runs,
           avg(coalesce(c.runs, 0)) OVER (
               PARTITION BY d.repo ORDER BY d.day ROWS BETWEEN 7 PRECEDING AND 1 PRECEDING
           ) AS mean_prev_7d,
           count(*) OVER (
               PARTITION BY d.repo ORDER BY d.day ROWS BETWEEN 7 PRECEDING AND 1 PRECEDING
           ) AS prev_days
    FROM days d LEFT JOIN counts c USING (repo, day)
)
SELECT repo, day, runs, mean_prev_7d FROM series
WHERE runs = 0 AND prev_days = 7 AND mean_prev_7d >= {MANY_RUNS_PER_DAY}
ORDER BY day DESC, repo
"""


@asset_check(
    asset=RUNS,
    name="runs_volume_anomaly",
    description=(
        f"No day with zero runs after 7 days averaging >= {MANY_RUNS_PER_DAY} runs "
        "(up to the last day with data)."
    ),
    blocking=False,
)
def runs_volume_anomaly(duckdb: DuckDBStore) -> AssetCheckResult:
    """Warn on a silent day: often a broken extraction, not a quiet team."""
    with duckdb.connect(read_only=True) as con:
        (anomalies,) = con.execute(f"SELECT count(*) FROM ({VOLUME_SQL})").fetchone()
        metadata: dict[str, object] = {"anomalous_days": int(anomalies)}
        if anomalies:
            metadata["days"] = MetadataValue.md(
                markdown_table(con, f"SELECT * FROM ({VOLUME_SQL}) LIMIT {SAMPLE_ROWS}")
            )
    return AssetCheckResult(
        passed=anomalies == 0, severity=AssetCheckSeverity.WARN, metadata=metadata
    )


raw_quality_checks: list[AssetChecksDefinition] = [
    *(_quality_check(rule) for rule in QUALITY_RULES),
    runs_volume_anomaly,
    jobs_read_for_completed_runs,
]
kpi_asset_checks: list[AssetChecksDefinition] = [*kpi_target_checks, *raw_quality_checks]


def check_keys(checks: Sequence[AssetChecksDefinition]) -> list[AssetCheckKey]:
    """Every check key the given definitions hold (what the alert sensor watches)."""
    return [key for c in checks for key in c.check_keys]
