"""Data-quality rules each catch the defect they are named after, and pass on clean rows."""

from datetime import timedelta

import pytest
from dagster import AssetCheckSeverity

from assets.kpi_checks import QUALITY_RULES, evaluate_rule
from assets.kpi_checks import runs_volume_anomaly as volume_check
from pipelines import store
from pipelines.partitions import RAW_FRESHNESS_POLICY
from pipelines.resources import DuckDBStore
from tests.test_kpi_models import JOB_COLS, RUN_COLS, T0, TEST_COLS, insert, job, result_row, run

RULES = {r.name: r for r in QUALITY_RULES}


def nulled(row: dict, column: str) -> dict:
    """``row`` with ``column`` set to NULL."""
    return {**row, column: None}


# rule name -> (table, columns, rows that break only that rule)
BROKEN = {
    "runs_no_null_keys": ("workflow_runs", RUN_COLS, [nulled(run(9), "created_at")]),
    "jobs_no_null_keys": ("workflow_jobs", JOB_COLS, [nulled(job(8, 1), "run_id")]),
    "test_results_no_null_keys": (
        "test_results",
        TEST_COLS,
        [nulled(result_row("t::n", "passed", file="y"), "seq")],
    ),
    "runs_unique_key": ("workflow_runs", RUN_COLS, [run(9), run(9)]),
    "runs_timestamps_ordered": ("workflow_runs", RUN_COLS, [run(9, start_offset_s=-5)]),
    "runs_conclusion_known": ("workflow_runs", RUN_COLS, [run(9, conclusion="exploded")]),
    "jobs_unique_key": ("workflow_jobs", JOB_COLS, [job(5, 1), job(5, 1)]),
    "jobs_timestamps_ordered": ("workflow_jobs", JOB_COLS, [job(6, 1, seconds=-1)]),
    "jobs_conclusion_known": ("workflow_jobs", JOB_COLS, [job(7, 1, conclusion="meh")]),
    "test_results_unique_key": (
        "test_results",
        TEST_COLS,
        [result_row("t::a", "passed", file="x"), result_row("t::b", "passed", file="x")],
    ),
    "test_results_outcome_known": ("test_results", TEST_COLS, [result_row("t::a", "xfail")]),
    "test_results_linked_to_run": (
        "test_results",
        TEST_COLS,
        [result_row("t::a", "passed", run_id=424242)],
    ),
}


@pytest.fixture
def db(tmp_path) -> DuckDBStore:
    path = tmp_path / "store.duckdb"
    with store.connect(path) as con:  # clean rows every rule accepts
        insert(con, "workflow_runs", RUN_COLS, [run(1), run(1, 2)])
        insert(con, "workflow_jobs", JOB_COLS, [job(1, 1)])
        insert(
            con,
            "test_results",
            TEST_COLS,
            [result_row("t::ok", "passed", run_id=1, file="clean")],
        )
    return DuckDBStore(path=str(path))


def test_clean_rows_pass_every_rule(db) -> None:
    for rule in QUALITY_RULES:
        result = evaluate_rule(db, rule)
        assert result.passed, rule.name
        assert result.severity == AssetCheckSeverity.ERROR


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_each_rule_fails_on_its_defect_only(db, name: str) -> None:
    table, cols, rows = BROKEN[name]
    with store.connect(db.path) as con:
        for column in {c for r in rows for c, v in r.items() if v is None and c in cols}:
            # the schema forbids most NULL keys; the rule guards stores written otherwise
            con.execute(f"ALTER TABLE raw.{table} ALTER COLUMN {column} DROP NOT NULL")
        insert(con, table, cols, rows)
    failing = {r.name for r in QUALITY_RULES if not evaluate_rule(db, r).passed}
    assert failing == {name}
    result = evaluate_rule(db, RULES[name])
    assert result.metadata["violations"].value == 1
    assert "sample" in result.metadata


def test_volume_anomaly_warns_on_a_silent_day_after_busy_days(db) -> None:
    with store.connect(db.path) as con:
        con.execute("DELETE FROM raw.workflow_runs")
        busy = [
            run(100 * d + i, created=T0 + timedelta(days=d)) for d in range(7) for i in range(10)
        ]
        # day 7 has no run, day 8 has one again
        insert(con, "workflow_runs", RUN_COLS, [*busy, run(999, created=T0 + timedelta(days=8))])
    result = volume_check(duckdb=db)
    assert not result.passed and result.severity == AssetCheckSeverity.WARN
    assert result.metadata["anomalous_days"].value == 1
    with store.connect(db.path) as con:  # fill the gap: no anomaly
        insert(con, "workflow_runs", RUN_COLS, [run(998, created=T0 + timedelta(days=7))])
    assert volume_check(duckdb=db).passed


def test_freshness_policy_fails_after_36_hours() -> None:
    assert RAW_FRESHNESS_POLICY.fail_window.to_timedelta() == timedelta(hours=36)
