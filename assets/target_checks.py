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
from pipelines.kpi import query, sqlfiles
from pipelines.kpi.catalogue import KPIS, TARGET_WINDOW_DAYS
from pipelines.kpi.config import DEFAULT_CONFIG, KpiConfig
from pipelines.kpi.filters import Period
from pipelines.resources import DuckDBStore, KpiSettings
from pipelines.store import markdown_rows, markdown_table

WORST_LIMIT = 5
SAMPLE_ROWS = 10


@dataclass(frozen=True)
class Target:
    """One KPI target of the catalogue, checked on ``kpi.target_status``."""

    kpi: str

    @property
    def description(self) -> str:
        """E.g. ``average PR validation time < 120 s``."""
        return KPIS[self.kpi].description

    @property
    def ranked_by(self) -> str:
        """The measure its worst workflows are ranked by (shown in the check's table)."""
        return KPIS[self.kpi].ranked_by or "tests_failing_or_rerun"


TARGETS: tuple[Target, ...] = tuple(Target(name) for name in KPIS)


def worst_workflows(
    con: duckdb.DuckDBPyConnection, target: Target, period: Period, config: KpiConfig
) -> list[tuple[str, str | None, float | None]]:
    """The workflows that weigh most on ``target`` over ``period``: (repo, workflow, value)."""
    name = KPIS[target.kpi].ranked_by
    if name is None:
        sql = sqlfiles.load("worst_test_workflows")
        params = {"start_day": period.start, "end_day": period.end, "limit": WORST_LIMIT}
        return [tuple(r) for r in con.execute(sql, sqlfiles.bind(sql, params)).fetchall()]
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
    worst = markdown_rows(["repo", "workflow_name", target.ranked_by], worst_rows)
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
