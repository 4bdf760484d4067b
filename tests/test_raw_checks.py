"""Data-quality rules each catch the defect they are named after, and pass on clean rows."""

from datetime import date, timedelta

import pytest
from dagster import AssetCheckSeverity

from assets.raw_checks import RAW_CHECKS, results, violations
from pipelines import store
from pipelines.resources import DuckDBStore
from tests.raw_rows import JOB_COLS, RUN_COLS, T0, TEST_COLS, insert, job, result_row, run

# every rule but the volume warning, which needs days of runs, and the jobs-read rule,
# which any run added here would break (tests/reliability/test_jobs_outage.py covers it)
RULES = {r.name: r for r in RAW_CHECKS if r.blocking and r.name != "jobs_read_for_completed_runs"}
FIRST, LAST = date(2000, 1, 1), date(2100, 1, 1)  # days wider than any row's


def failing(db: DuckDBStore) -> set[str]:
    with db.connect(read_only=True) as con:
        return {r.name for r in RULES.values() if violations(con, r.name, FIRST, LAST)[0]}


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
        con.execute(
            "INSERT INTO meta.jobs_fetched VALUES ('o/r', 1, 2, ?)", [T0 + timedelta(hours=1)]
        )
    return DuckDBStore(path=str(path))


def test_clean_rows_pass_every_rule(db) -> None:
    assert failing(db) == set()
    with db.connect(read_only=True) as con:
        for asset in {r.asset for r in RULES.values()}:
            for result in results(con, asset, FIRST, LAST):
                assert result.passed, result.check_name
                blocking = result.check_name != "runs_volume_anomaly"
                assert result.severity == (
                    AssetCheckSeverity.ERROR if blocking else AssetCheckSeverity.WARN
                )


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_each_rule_fails_on_its_defect_only(db, name: str) -> None:
    table, cols, rows = BROKEN[name]
    with store.connect(db.path) as con:
        for column in {c for r in rows for c, v in r.items() if v is None and c in cols}:
            # the schema forbids most NULL keys; the rule guards stores written otherwise
            con.execute(f"ALTER TABLE raw.{table} ALTER COLUMN {column} DROP NOT NULL")
        insert(con, table, cols, rows)
    assert failing(db) == {name}
    with db.connect(read_only=True) as con:
        count, sample = violations(con, name, FIRST, LAST)
        # outside the days of the broken rows, the rule holds
        outside = violations(con, name, date(1990, 1, 1), date(1990, 1, 2))[0]
    assert count == 1 and sample
    # rows of no known day (a run without created_at; these hand-built jobs without
    # run_created_at) are checked in every range
    assert outside == (1 if name.startswith(("runs_no_null", "jobs_")) else 0)


def test_volume_anomaly_warns_on_a_silent_day_after_busy_days(db) -> None:
    with store.connect(db.path) as con:
        con.execute("DELETE FROM raw.workflow_runs")
        busy = [
            run(100 * d + i, created=T0 + timedelta(days=d)) for d in range(7) for i in range(10)
        ]
        # day 7 has no run, day 8 has one again
        insert(con, "workflow_runs", RUN_COLS, [*busy, run(999, created=T0 + timedelta(days=8))])
    silent = (T0 + timedelta(days=7)).date()
    with db.connect(read_only=True) as con:
        assert violations(con, "runs_volume_anomaly", FIRST, LAST)[0] == 1
        # a range without the silent day finds nothing
        assert violations(con, "runs_volume_anomaly", FIRST, silent - timedelta(days=1))[0] == 0
        (result,) = [
            r
            for r in results(con, RULES["runs_unique_key"].asset, silent, silent)
            if r.check_name == "runs_volume_anomaly"
        ]
    assert not result.passed and result.severity == AssetCheckSeverity.WARN
    with store.connect(db.path) as con:  # fill the gap: no anomaly
        insert(con, "workflow_runs", RUN_COLS, [run(998, created=T0 + timedelta(days=7))])
    with db.connect(read_only=True) as con:
        assert violations(con, "runs_volume_anomaly", FIRST, LAST)[0] == 0


def test_one_freshness_policy_fails_every_asset_after_36_hours() -> None:
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    policies = {graph.get(k).freshness_policy for k in graph.materializable_asset_keys}
    assert len(policies) == 1  # one policy covers every materializable asset
    (policy,) = policies
    assert policy.fail_window.to_timedelta() == timedelta(hours=36)
