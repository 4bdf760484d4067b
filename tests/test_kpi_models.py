"""KPI models against small hand-built raw rows whose expected values are worked out by hand."""

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines import store
from pipelines.kpi import query
from pipelines.kpi.build import build_all, build_window
from pipelines.kpi.config import KpiConfig
from pipelines.kpi.filters import Filters, Period
from tests.raw_rows import (
    JOB_COLS,
    RUN_COLS,
    T0,
    TEST_COLS,
    build_days,
    insert,
    job,
    one,
    result_row,
    rows_as_dicts,
    run,
)


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with store.connect(tmp_path / "store.duckdb") as c:
        yield c


def test_workflow_daily_rates_durations_queue_and_day_boundaries(con) -> None:
    midnight = datetime(2025, 3, 11)
    insert(
        con,
        "workflow_runs",
        RUN_COLS,
        [
            # run 1: attempt 1 fails (queue 10 s), attempt 2 succeeds in 200 s: final success
            run(1, 1, queue_s=10, duration_s=100, conclusion="failure"),
            run(1, 2, start_offset_s=400, duration_s=200, conclusion="success"),
            run(2, queue_s=20, duration_s=300),  # success first time
            run(3, queue_s=30, duration_s=50, conclusion="cancelled"),  # excluded
            run(4, queue_s=40, duration_s=70, conclusion="timed_out"),  # failure
            run(5, status="in_progress", conclusion=None, queue_s=5),  # volume only
            run(6, duration_s=10, conclusion="success", created=midnight),  # next day
            run(7, duration_s=10, created=midnight - timedelta(microseconds=1)),  # 10 Mar
            run(8, duration_s=90, workflow="Lint", conclusion="failure", event="pull_request"),
        ],
    )
    build_days(con, "workflow_daily", date(2025, 3, 10), date(2025, 3, 11))
    ci = one(
        con,
        "SELECT * FROM kpi.workflow_daily WHERE workflow_name = 'CI' AND day = '2025-03-10'",
    )
    assert ci["runs"] == 6  # runs 1, 2, 3, 4, 5, 7
    assert ci["attempts"] == 7
    assert (ci["successes"], ci["failures"], ci["excluded"], ci["not_completed"]) == (3, 1, 1, 1)
    assert ci["success_rate"] == pytest.approx(3 / 4)
    # attempt 1: run 1 failure, 2 success, 3 excluded, 4 failure, 5 not completed, 7 success
    assert ci["first_attempt_success_rate"] == pytest.approx(2 / 4)
    # durations of final success/failure attempts: 200, 300, 70, 10 -> sorted 10, 70, 200, 300
    assert ci["duration_mean_s"] == pytest.approx(580 / 4)
    assert ci["duration_p50_s"] == pytest.approx(135.0)  # halfway between 70 and 200
    assert ci["duration_p95_s"] == pytest.approx(200 + 0.85 * 100)  # rank 2.85
    # queue of completed attempt 1: 10, 20, 30, 40, 0 (run 7); run 5 is not completed
    assert ci["queue_mean_s"] == pytest.approx(100 / 5)
    nxt = one(con, "SELECT * FROM kpi.workflow_daily WHERE day = '2025-03-11'")
    assert (nxt["workflow_name"], nxt["runs"], nxt["success_rate"]) == ("CI", 1, 1.0)
    lint = one(con, "SELECT * FROM kpi.workflow_daily WHERE workflow_name = 'Lint'")
    assert (lint["success_rate"], lint["pr_runs"], lint["pr_duration_sum_s"]) == (0.0, 1, 90.0)


def test_workflow_trends_roll_seven_days_and_compare_with_the_seven_before(con) -> None:
    # previous window (T0-13 .. T0-7): 100 s runs, one failure in seven;
    # current window (T0-6 .. T0): 200 s runs, two failures in seven
    rows = []
    for back in range(14):
        current = back < 7
        failed = back in (0, 3) if current else back == 10
        rows.append(
            run(
                100 + back,
                created=T0 - timedelta(days=back),
                duration_s=200 if current else 100,
                conclusion="failure" if failed else "success",
            )
        )
    insert(con, "workflow_runs", RUN_COLS, rows)
    first = T0.date() - timedelta(days=13)
    build_days(con, "workflow_daily", first, T0.date())
    build_days(con, "workflow_trends", first, T0.date())
    today = one(con, "SELECT * FROM kpi.workflow_trends WHERE day = ?", [T0.date()])
    assert (today["runs_7d"], today["runs_prev_7d"]) == (7, 7)
    assert today["success_rate_7d"] == pytest.approx(5 / 7)
    assert today["success_rate_prev_7d"] == pytest.approx(6 / 7)
    assert today["success_rate_change"] == pytest.approx(-1 / 7)
    assert (today["duration_mean_7d_s"], today["duration_mean_prev_7d_s"]) == (200, 100)
    assert today["duration_mean_change"] == pytest.approx(1.0)
    # the first day has nothing before it: no change to report
    oldest = one(con, "SELECT * FROM kpi.workflow_trends WHERE day = ?", [first])
    assert (oldest["runs_7d"], oldest["runs_prev_7d"], oldest["success_rate_change"]) == (
        1,
        None,
        None,
    )


def test_compute_minutes_round_up_per_job_and_skip_what_the_contract_leaves_out(con) -> None:
    insert(
        con,
        "workflow_runs",
        RUN_COLS,
        [
            run(1, 1, conclusion="failure"),
            run(1, 2),
            run(2, 1, status="in_progress", conclusion=None),
        ],
    )
    insert(
        con,
        "workflow_jobs",
        JOB_COLS,
        [
            job(10, 1, 1, seconds=61),  # 2 min (attempt 1 counts too)
            job(11, 1, 2, seconds=60),  # 1 min
            job(12, 1, 2, seconds=0.5),  # 1 min
            job(13, 1, 2, seconds=120.000001),  # 3 min
            job(14, 1, 2, seconds=300, conclusion="skipped"),  # left out
            job(15, 1, 2, seconds=None),  # no completed_at: left out
            job(16, 2, 1, seconds=600),  # attempt not completed: left out
        ],
    )
    build_days(con, "workflow_daily", T0.date(), T0.date())
    row = one(con, "SELECT compute_minutes, compute_seconds FROM kpi.workflow_daily")
    assert row["compute_minutes"] == 2 + 1 + 1 + 3
    assert row["compute_seconds"] == pytest.approx(61 + 60 + 0.5 + 120.000001)
    # the job facts bill each job by the same rule, so a run's jobs add up to the run
    build_days(con, "job_facts", T0.date(), T0.date())
    jobs = {
        r["job_id"]: r for r in rows_as_dicts(con, "SELECT * FROM kpi.job_facts ORDER BY job_id")
    }
    billed = {job_id: r["compute_minutes"] for job_id, r in jobs.items()}
    assert billed == {10: 2, 11: 1, 12: 1, 13: 3, 14: 0, 15: 0, 16: 0}
    assert jobs[10]["duration_s"] == pytest.approx(61) and jobs[15]["duration_s"] is None
    assert {r["day"] for r in jobs.values()} == {T0.date()}
    per_run = rows_as_dicts(
        con,
        "SELECT f.run_id, f.compute_minutes, sum(j.compute_minutes) AS jobs FROM kpi.run_facts f "
        "JOIN kpi.job_facts j USING (repo, run_id) GROUP BY ALL ORDER BY f.run_id",
    )
    assert [(r["run_id"], r["compute_minutes"], r["jobs"]) for r in per_run] == [
        (1, 7, 7),
        (2, 0, 0),
    ]


def test_pr_validation_and_developer_wait_per_commit(con) -> None:
    pr = {"event": "pull_request"}
    insert(
        con,
        "workflow_runs",
        RUN_COLS,
        [
            # commit a: two PR runs; run 1 re-run, final attempt ends at T0 + 1800 s
            run(1, 1, sha="a", duration_s=100, conclusion="failure", **pr),
            run(1, 2, sha="a", start_offset_s=1000, duration_s=800, **pr),
            run(2, sha="a", created=T0 + timedelta(seconds=300), duration_s=600,
                workflow="Lint", workflow_id=2, **pr),
            # commit b: one run cancelled in 30 s (final attempt completed, excluded)
            run(3, sha="b", duration_s=30, conclusion="cancelled", event="pull_request_target"),
            # commit c: still running: no wait
            run(4, sha="c", status="in_progress", conclusion=None, **pr),
            # a push run of commit a does not count
            run(5, sha="a", duration_s=5000, event="push"),
        ],
    )  # fmt: skip
    for table in ("pr_validation_daily", "developer_wait_commits", "developer_wait"):
        build_days(con, table, T0.date(), T0.date())
    prv = one(con, "SELECT * FROM kpi.pr_validation_daily")
    assert prv["pr_runs"] == 4
    assert prv["validated_runs"] == 2  # final attempts of runs 1 and 2
    assert prv["duration_mean_s"] == pytest.approx((800 + 600) / 2)
    commits = {
        r["head_sha"]: r for r in rows_as_dicts(con, "SELECT * FROM kpi.developer_wait_commits")
    }
    assert commits["a"]["wait_s"] == pytest.approx(1800)  # max(T0+1800, T0+900) - T0
    assert commits["b"]["wait_s"] == pytest.approx(30)
    assert commits["c"]["wait_s"] is None and not commits["c"]["complete"]
    daily = one(con, "SELECT * FROM kpi.developer_wait")
    assert (daily["commits"], daily["incomplete_commits"]) == (2, 1)
    assert daily["wait_mean_s"] == pytest.approx((1800 + 30) / 2)


def test_full_suite_uses_configured_workflow_and_successful_final_attempts(con) -> None:
    durations = [100, 200, 300, 400, 500]
    rows = [run(i, duration_s=d, workflow="Full") for i, d in enumerate(durations, 1)]
    rows += [run(10, duration_s=9000, workflow="Full", conclusion="failure")]
    rows += [run(11, duration_s=9000, workflow="CI")]
    insert(con, "workflow_runs", RUN_COLS, rows)
    build_days(con, "full_suite_daily", T0.date(), T0.date(), KpiConfig(full_suite_workflow="Full"))
    row = one(con, "SELECT * FROM kpi.full_suite_daily")
    assert (row["workflow_name"], row["runs"], row["successful_runs"]) == ("Full", 6, 5)
    assert row["duration_p50_s"] == pytest.approx(300)
    assert row["duration_p95_s"] == pytest.approx(400 + 0.8 * 100)  # rank 0.95 * 4 = 3.8


def test_run_flakiness_units(con) -> None:
    insert(
        con,
        "workflow_runs",
        RUN_COLS,
        [
            # unit (wf 1, x): failure then a separate run succeeds -> flaky
            run(1, sha="x", conclusion="failure"),
            run(2, sha="x", created=T0 + timedelta(hours=1)),
            # unit (wf 2, x): same sha, other workflow, only failures -> not flaky
            run(3, sha="x", workflow="Lint", workflow_id=2, conclusion="failure"),
            # unit (wf 1, y): re-run attempt succeeds after a failed attempt -> flaky
            run(4, 1, sha="y", conclusion="startup_failure"),
            run(4, 2, sha="y"),
            # unit (wf 1, z): only cancelled -> no unit
            run(5, sha="z", conclusion="cancelled"),
            # unit (wf 1, w): success, then a later day's failure: bucketed on its first day
            run(6, sha="w"),
            run(7, sha="w", conclusion="failure", created=T0 + timedelta(days=1)),
            run(8, sha=None, conclusion="failure"),  # unknown sha: no unit
        ],
    )
    for table in ("run_flakiness", "run_flakiness_daily"):
        build_days(con, table, T0.date(), T0.date() + timedelta(days=1))
    units = {
        (r["workflow_id"], r["head_sha"]): r["flaky"]
        for r in rows_as_dicts(con, "SELECT * FROM kpi.run_flakiness")
    }
    assert units == {(1, "x"): True, (2, "x"): False, (1, "y"): True, (1, "w"): True}
    daily = rows_as_dicts(con, "SELECT day, units, flaky_units FROM kpi.run_flakiness_daily")
    assert daily == [{"day": T0.date(), "units": 4, "flaky_units": 3}]


def test_test_stats_slow_consistently_slow_regression_and_flaky(con) -> None:
    as_of = date(2025, 1, 2)  # window 2024-12-27 .. 2025-01-02 crosses the year
    prev = as_of - timedelta(days=7)
    rows = []
    # slow: median of 0.5, 1.5, 2.5 = 1.5 > 1.0; only 3 executions: not consistently slow
    rows += [
        result_row("t::slow", "passed", duration_s=d, seq=i, file=f"s{i}")
        for i, d in enumerate([0.5, 1.5, 2.5])
    ]
    # consistently slow: 5 executions, 4 of them > 1.0 s (80 %); median 1.2
    rows += [
        result_row("t::cslow", "passed", duration_s=d, seq=i, file=f"c{i}")
        for i, d in enumerate([1.1, 1.2, 1.3, 1.4, 0.2])
    ]
    # regression: window median 0.4 vs 0.2 before (> 1.5x, both >= 3 executions, >= 0.1 s)
    rows += [
        result_row("t::reg", "passed", day=as_of, duration_s=d, file=f"r{i}")
        for i, d in enumerate([0.3, 0.4, 0.5])
    ]
    rows += [
        result_row("t::reg", "passed", day=prev, duration_s=d, file=f"q{i}")
        for i, d in enumerate([0.1, 0.2, 0.3])
    ]
    # not a regression: previous median is below 0.1 s
    rows += [
        result_row("t::tiny", "passed", day=as_of, duration_s=d, file=f"u{i}")
        for i, d in enumerate([0.3, 0.3, 0.3])
    ]
    rows += [
        result_row("t::tiny", "passed", day=prev, duration_s=d, file=f"v{i}")
        for i, d in enumerate([0.05, 0.05, 0.05])
    ]
    # flaky: passed and failed on the same sha, on days at both ends of the window
    rows += [
        result_row("t::pf", "passed", day=date(2024, 12, 27), sha="a", file="p1"),
        result_row("t::pf", "failed", day=as_of, sha="a", file="p2"),
    ]
    # flaky: a rerun followed by a pass in one report
    rows += [
        result_row("t::rr", "rerun", sha="b", file="rr", seq=0, day=as_of),
        result_row("t::rr", "passed", sha="b", file="rr", seq=1, day=as_of),
    ]
    # not flaky: pass and fail on different shas; rerun then fail in one report
    rows += [
        result_row("t::diff", "passed", sha="c", file="d1", day=as_of),
        result_row("t::diff", "failed", sha="d", file="d2", day=as_of),
        result_row("t::rf", "rerun", sha="e", file="rf", seq=0, day=as_of),
        result_row("t::rf", "failed", sha="e", file="rf", seq=1, day=as_of),
    ]
    # not flaky: unknown sha; outside the window (2024-12-26)
    rows += [
        result_row("t::nosha", "passed", sha=None, file="n1", day=as_of),
        result_row("t::nosha", "failed", sha=None, file="n2", day=as_of),
        result_row("t::old", "passed", sha="f", file="o1", day=date(2024, 12, 26)),
        result_row("t::old", "failed", sha="f", file="o2", day=as_of),
        result_row("t::skip", "skipped", file="k1", day=as_of),
    ]
    for r in rows:
        if r["day"] == T0.date():
            r["day"] = as_of
    insert(con, "test_results", TEST_COLS, rows)  # fmt: skip
    for table in ("test_flaky_units", "test_stats", "flaky_tests", "slow_tests", "module_stats"):
        build_window(con, table, as_of)
    stats = {r["test_id"]: r for r in rows_as_dicts(con, "SELECT * FROM kpi.test_stats")}
    assert stats["t::slow"]["slow"] and not stats["t::slow"]["consistently_slow"]
    assert stats["t::slow"]["median_duration_s"] == pytest.approx(1.5)
    assert stats["t::cslow"]["consistently_slow"] and stats["t::cslow"]["slow"]
    assert stats["t::reg"]["duration_regression"]
    assert not stats["t::tiny"]["duration_regression"]
    flaky = {r["test_id"] for r in rows_as_dicts(con, "SELECT * FROM kpi.flaky_tests")}
    assert flaky == {"t::pf", "t::rr"}
    slow = {r["test_id"] for r in rows_as_dicts(con, "SELECT * FROM kpi.slow_tests")}
    assert slow == {"t::slow", "t::cslow"}
    pf = one(con, "SELECT * FROM kpi.flaky_tests WHERE test_id = 't::pf'")
    assert (pf["flaky_units"], pf["last_seen_sha"], pf["head_shas"]) == (1, "a", ["a"])
    module = one(con, "SELECT * FROM kpi.module_stats")
    window = [r for r in rows if date(2024, 12, 27) <= r["day"] <= as_of]
    assert module["tests"] == len({r["test_id"] for r in window}) == 11
    failures = sum(r["outcome"] in ("failed", "error") for r in window)
    non_skipped = sum(r["outcome"] != "skipped" for r in window)
    assert (failures, non_skipped) == (5, 25)
    assert module["failure_rate"] == pytest.approx(failures / non_skipped)


def _pr_runs_on(day: date, first_id: int, durations: list[float]) -> list[dict]:
    created = datetime.combine(day, datetime.min.time()) + timedelta(hours=9)
    return [
        run(
            first_id + i,
            created=created,
            duration_s=d,
            event="pull_request",
            sha=f"s{first_id + i}",
        )
        for i, d in enumerate(durations)
    ]


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_stored_units_follow_a_commit_whose_runs_come_on_later_days(con, order: str) -> None:
    day = timedelta(days=1)
    runs = [
        # commit a: a PR run succeeds on day 0, a re-run of its workflow fails on day 2
        run(1, sha="a", event="pull_request", duration_s=60),
        run(2, sha="a", event="pull_request", conclusion="failure", created=T0 + 2 * day),
        # commit b: one push run on day 1, one on day 2, both succeed
        run(3, sha="b", created=T0 + day),
        run(4, sha="b", created=T0 + 2 * day),
    ]
    insert(con, "workflow_runs", RUN_COLS, runs)
    insert(
        con,
        "workflow_jobs",
        JOB_COLS,
        [job(i, i, start=r["created_at"]) for i, r in enumerate(runs, 1)],
    )
    days = [T0.date() + i * day for i in range(3)]
    for d in days if order == "forward" else days[::-1]:  # as daily partitions run
        build_days(con, "run_facts", d, d)
    flaky = {
        r["head_sha"]: (r["day"], r["runs"], r["flaky"])
        for r in rows_as_dicts(con, "SELECT * FROM kpi.run_flakiness_units")
    }
    assert flaky == {"a": (days[0], 2, True), "b": (days[1], 2, False)}
    waits = rows_as_dicts(con, "SELECT head_sha, day, runs, wait_s FROM kpi.developer_wait_units")
    # from the first run's creation to the last run's end: two days and a minute
    assert waits == [{"head_sha": "a", "day": days[0], "runs": 2, "wait_s": 2 * 86400 + 60}]
    # a filter that keeps the units whole reads them; one that does not forms them: same values
    period = Period(days[0], days[-1])
    stored = query.values(con, ["run_flakiness_rate", "developer_wait_mean_s"], period=period)
    formed = query.values(
        con,
        ["run_flakiness_rate", "developer_wait_mean_s"],
        Filters.of(workflows=["CI"]),
        period,
    )
    assert stored == formed
    assert stored[("o/r", None, None)]["run_flakiness_rate"] == pytest.approx(1 / 2)
    assert stored[("o/r", None, None)]["developer_wait_mean_s"] == pytest.approx(2 * 86400 + 60)


def test_targets_window_baseline_and_empty_days(con) -> None:
    day = date(2025, 1, 3)  # window 2024-12-28 .. 2025-01-03
    rows = _pr_runs_on(date(2024, 12, 27), 1, [5000])  # just outside the window
    rows += _pr_runs_on(date(2024, 12, 28), 10, [100, 50])
    rows += _pr_runs_on(day, 20, [90])
    # baseline 2024-12-01 .. 2024-12-10: two commits waiting 1000 s each
    rows += _pr_runs_on(date(2024, 12, 2), 30, [1000, 1000])
    insert(con, "workflow_runs", RUN_COLS, rows)
    # compute: baseline 100 minutes in 10 days (10/day); window 14 minutes (2/day)
    jobs = [job(100, 30, seconds=60 * 60), job(101, 31, seconds=40 * 60)]
    jobs += [job(102, 10, seconds=10 * 60), job(103, 20, seconds=4 * 60)]
    insert(con, "workflow_jobs", JOB_COLS, jobs)
    config = KpiConfig(baseline=Period(date(2024, 12, 1), date(2024, 12, 10)))
    build_all(con, date(2024, 11, 25), date(2025, 1, 5), config=config)
    t = {
        (r["day"], r["kpi"]): r
        for r in rows_as_dicts(con, "SELECT * FROM kpi.targets WHERE repo = 'o/r'")
    }
    pr = t[(day, "pr_validation_avg_s")]
    assert pr["value"] == pytest.approx((100 + 50 + 90) / 3) and pr["status"] == "ok"
    assert t[(date(2024, 12, 27), "pr_validation_avg_s")]["status"] == "breach"
    cm = t[(day, "compute_minutes_reduction")]
    assert cm["baseline_value"] == pytest.approx(10.0)
    assert cm["window_value"] == pytest.approx(2.0)
    assert cm["value"] == pytest.approx(0.8) and cm["status"] == "ok"
    dw = t[(day, "developer_wait_reduction")]
    assert dw["baseline_value"] == pytest.approx(1000)
    assert dw["value"] == pytest.approx(1 - 80 / 1000) and dw["status"] == "ok"
    # no run in 2024-12-11 .. 2024-12-17: no data
    assert t[(date(2024, 12, 17), "pr_validation_avg_s")]["status"] == "no_data"
    assert t[(day, "test_flakiness_rate")]["status"] == "no_data"
    assert t[(day, "run_flakiness_rate")]["value"] == 0.0
    # without a baseline, reductions are null with status no_baseline
    build_days(con, "targets", day, day, KpiConfig(baseline=None))
    nb = one(
        con,
        "SELECT * FROM kpi.targets WHERE day = ? AND kpi = 'compute_minutes_reduction'",
        [day],
    )
    assert nb["value"] is None and nb["status"] == "no_baseline"


def test_recomputing_days_is_idempotent_and_touches_only_those_days(con) -> None:
    insert(con, "workflow_runs", RUN_COLS, [run(1), run(2, created=T0 + timedelta(days=1))])
    first, second = T0.date(), T0.date() + timedelta(days=1)
    build_days(con, "workflow_daily", first, second)
    before = rows_as_dicts(con, "SELECT * FROM kpi.workflow_daily ORDER BY day")
    build_days(con, "workflow_daily", first, second)
    assert rows_as_dicts(con, "SELECT * FROM kpi.workflow_daily ORDER BY day") == before
    # a re-run attempt appears for day 1 and a run is added on day 2: recompute day 1 only
    insert(
        con,
        "workflow_runs",
        RUN_COLS,
        [run(1, 2, conclusion="failure"), run(3, created=T0 + timedelta(days=1))],
    )
    build_days(con, "workflow_daily", first, first)
    after = {r["day"]: r for r in rows_as_dicts(con, "SELECT * FROM kpi.workflow_daily")}
    assert (after[first]["attempts"], after[first]["success_rate"]) == (2, 0.0)
    assert after[second] == before[1]  # day 2 untouched until it is recomputed
    build_days(con, "workflow_daily", first, second)
    assert con.execute("SELECT count(*) FROM kpi.workflow_daily").fetchone()[0] == 2


def test_a_fact_table_from_an_earlier_version_is_rebuilt_with_its_new_columns(con) -> None:
    # a store whose fact tables predate the commit and test keys: the next build of any day
    # rebuilds each over every day it holds, so no row lacks them
    days = [T0.date() + timedelta(days=i) for i in range(3)]
    runs = [run(i + 1, created=T0 + timedelta(days=i), sha=f"s{i}") for i in range(3)]
    insert(con, "workflow_runs", RUN_COLS, runs)
    tests = [result_row(f"t{i}", "passed", day=d, sha=f"s{i}") for i, d in enumerate(days)]
    insert(con, "test_results", TEST_COLS, tests)
    build_days(con, "test_units_daily", days[0], days[-1])
    for table in ("run_facts", "test_units_daily"):
        keys = [c for c in ("sha_key", "test_key") if c in _columns(con, table)]
        con.execute(
            f"CREATE TABLE kpi.old AS SELECT * EXCLUDE ({', '.join(keys)}) FROM kpi.{table}"
        )
        con.execute(f"DROP TABLE kpi.{table}")
        con.execute(f"ALTER TABLE kpi.old RENAME TO {table}")
    build_days(con, "test_units_daily", days[-1], days[-1])
    for table, n in (("run_facts", 3), ("test_units_daily", 3)):
        assert {"sha_key"} <= set(_columns(con, table))
        got = rows_as_dicts(con, f"SELECT * FROM kpi.{table} ORDER BY day")
        assert [r["day"] for r in got] == days and len(got) == n
        assert all(r["sha_key"] is not None for r in got)
    units = rows_as_dicts(con, "SELECT test_id, test_key FROM kpi.test_units_daily")
    assert len({r["test_key"] for r in units}) == 3 and all(r["test_key"] for r in units)


def test_facts_from_an_earlier_version_read_as_not_built_until_the_next_build(con) -> None:
    # a store upgraded but not rebuilt yet: what needs the new columns shows no data (no
    # error); what reads other facts still answers
    day = T0.date()
    insert(con, "workflow_runs", RUN_COLS, [run(1, sha="s")])
    insert(con, "workflow_jobs", JOB_COLS, [job(1, 1)])
    insert(con, "test_results", TEST_COLS, [result_row("t", "failed", day=day, sha="s")])
    build_days(con, "test_units_daily", day, day)
    build_days(con, "run_daily", day, day)
    period = Period(day, day)
    measures = ["runs", "test_flakiness_rate"]
    assert query.values(con, measures, period=period)[("o/r", None, None)].keys() == {
        "runs",
        "test_flakiness_rate",
    }
    con.execute("CREATE TABLE kpi.old AS SELECT * EXCLUDE (may_flake) FROM kpi.test_units_daily")
    con.execute("DROP TABLE kpi.test_units_daily")
    con.execute("ALTER TABLE kpi.old RENAME TO test_units_daily")
    got = query.values(con, measures, period=period)
    assert got == {("o/r", None, None): {"runs": 1}}
    assert query.test_ctes(con, Filters(), period) is None  # test listings: not built yet
    build_days(con, "test_units_daily", day, day)
    assert query.values(con, measures, period=period)[("o/r", None, None)].keys() == {
        "runs",
        "test_flakiness_rate",
    }


def test_a_fact_table_new_to_a_store_is_filled_over_the_days_its_facts_hold(con) -> None:
    # a store built before kpi.run_daily and kpi.job_facts existed: building one day of
    # either fills every day kpi.run_facts holds, as building them from scratch would
    days = [T0.date() + timedelta(days=i) for i in range(4)]
    runs = [run(i + 1, created=T0 + timedelta(days=i)) for i in range(4)]
    insert(con, "workflow_runs", RUN_COLS, runs)
    jobs = [job(10 + i, i + 1, start=T0 + timedelta(days=i)) for i in range(4)]
    insert(con, "workflow_jobs", JOB_COLS, jobs)
    build_days(con, "run_daily", days[0], days[-1])
    build_days(con, "job_facts", days[0], days[-1])
    fresh = {
        t: rows_as_dicts(con, f"SELECT * FROM kpi.{t} ORDER BY day")
        for t in ("run_daily", "job_facts")
    }
    con.execute("DROP TABLE kpi.run_daily")
    con.execute("DROP TABLE kpi.job_facts")
    for table in ("run_daily", "job_facts"):
        build_days(con, table, days[2], days[2])
        got = rows_as_dicts(con, f"SELECT * FROM kpi.{table} ORDER BY day")
        assert [r["day"] for r in got] == days
        assert got == fresh[table]


def _columns(con, table: str) -> list[str]:
    return [d[0] for d in con.execute(f"SELECT * FROM kpi.{table} LIMIT 0").description]


def test_targets_test_flakiness_rate_moves_with_the_window(con) -> None:
    d = date
    rows = [
        result_row("t1", "passed", day=d(2024, 12, 28), sha="a", file="a1"),
        result_row("t1", "failed", day=d(2025, 1, 3), sha="a", file="a2"),
        result_row("t2", "passed", day=d(2024, 12, 30), sha="b", file="b1"),
        result_row("t3", "skipped", day=d(2025, 1, 2), sha="c", file="c1"),
        result_row("t4", "rerun", day=d(2025, 1, 1), sha="e", file="e1", seq=0),
        result_row("t4", "passed", day=d(2025, 1, 1), sha="e", file="e1", seq=1),
        result_row("t5", "failed", day=d(2025, 1, 1), sha="f", file="f1", repo=None),
        result_row("t5", "passed", day=d(2025, 1, 1), sha="f", file="f2", repo=None),
    ]
    insert(con, "test_results", TEST_COLS, rows)
    build_all(con, d(2024, 12, 20), d(2025, 1, 12))
    got = {
        r["day"]: (r["value"], r["status"])
        for r in rows_as_dicts(
            con, "SELECT * FROM kpi.targets WHERE kpi = 'test_flakiness_rate' AND repo = 'o/r'"
        )
    }
    # window D-6 .. D: tests with a non-skipped row / those with a flaky unit
    assert got[d(2024, 12, 27)] == (None, "no_data")
    assert got[d(2025, 1, 3)][0] == pytest.approx(2 / 3)  # t1, t2, t4; flaky t1, t4
    assert got[d(2025, 1, 4)][0] == pytest.approx(1 / 3)  # t1 only failed in 12-29 .. 01-04
    assert got[d(2025, 1, 7)][0] == pytest.approx(1 / 2)  # t1, t4; flaky t4
    assert got[d(2025, 1, 8)] == (0.0, "ok")  # t1 alone, not flaky in 01-02 .. 01-08
    assert got[d(2025, 1, 10)] == (None, "no_data")
    assert got[d(2025, 1, 3)][1] == "breach"


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_a_unit_whose_failure_comes_on_another_day_is_flaky_whatever_order_days_are_built(
    con, order: str
) -> None:
    d = date
    rows = [
        result_row("t1", "passed", day=d(2025, 1, 1), sha="a", file="a1"),
        result_row("t1", "failed", day=d(2025, 1, 3), sha="a", file="a2"),  # flaky: a pass, then
        result_row("t2", "passed", day=d(2025, 1, 1), sha="b", file="b1"),
        result_row("t2", "failed", day=d(2025, 1, 3), sha="c", file="c1"),  # two commits: not
        result_row("t3", "passed", day=d(2025, 1, 2), sha="a", file="a3"),
    ]
    insert(con, "test_results", TEST_COLS, rows)
    days = [d(2025, 1, 1), d(2025, 1, 2), d(2025, 1, 3)]
    for day in days if order == "forward" else days[::-1]:  # as daily partitions run
        build_days(con, "test_units_daily", day, day)
    marked = rows_as_dicts(
        con, "SELECT test_id, head_sha, day FROM kpi.test_units_daily WHERE may_flake ORDER BY day"
    )
    # every row of a unit with a failure on some day, whichever day was built first
    assert sorted((r["test_id"], r["head_sha"], r["day"]) for r in marked) == [
        ("t1", "a", d(2025, 1, 1)),
        ("t1", "a", d(2025, 1, 3)),
        ("t2", "c", d(2025, 1, 3)),
    ]
    got = query.values(
        con, ["test_flakiness_rate", "flaky_tests"], period=Period(days[0], days[-1])
    )
    assert got[("o/r", None, None)]["flaky_tests"] == 1  # t1 of t1, t2, t3
    assert got[("o/r", None, None)]["test_flakiness_rate"] == pytest.approx(1 / 3)


def test_window_assets_materialize_through_dagster_for_a_configured_day(tmp_path) -> None:
    from dagster import DagsterInstance, materialize

    from assets.kpi import kpi_assets
    from pipelines.kpi.build import TABLES_BY_NAME
    from pipelines.resources import DuckDBStore

    path = tmp_path / "store.duckdb"
    as_of = date(2025, 2, 1)
    with store.connect(path) as c:
        rows = [
            result_row("t::a", "passed", day=as_of, sha="a", file="x1", duration_s=2.0),
            result_row("t::a", "failed", day=as_of, sha="a", file="x2", duration_s=2.0),
        ]
        insert(c, "test_results", TEST_COLS, rows)
    window = [a for a in kpi_assets if not TABLES_BY_NAME[a.key.path[-1]].per_day]
    config = {"ops": {a.op.name: {"config": {"as_of": as_of.isoformat()}} for a in window}}
    result = materialize(
        window,
        run_config=config,
        instance=DagsterInstance.ephemeral(),
        resources={"duckdb": DuckDBStore(path=str(path))},
    )
    metadata = result.asset_materializations_for_node("kpi__flaky_tests")[0].metadata
    assert metadata["rows"].value == 1 and metadata["as_of"].value == "2025-02-01"
    assert "t::a" in metadata["preview"].value
    with store.connect(path) as c:
        assert c.execute("SELECT test_id, slow FROM kpi.slow_tests").fetchall() == [("t::a", True)]
