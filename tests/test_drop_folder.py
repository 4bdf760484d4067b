"""The drop-folder sensor on a real Dagster instance, and `ci-metrics ingest` by hand."""

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from dagster import AssetCheckKey, AssetKey, DagsterInstance, build_sensor_context

from pipelines import store
from pipelines.asset_keys import kpi_key
from pipelines.drop_folder import (
    LOST_AFTER_S,
    MAX_ATTEMPTS,
    DropCursor,
    ingest_test_files_job,
    junit_drop_folder,
    scan,
)
from pipelines.kpi.build import build_days
from pipelines.resources import DuckDBStore, TestReportSources


def junit(name: str, cases: list[tuple[str, str]], sha: str = "abc123") -> bytes:
    """A small pytest-style report; ``cases`` are (test name, outcome)."""
    body = []
    for test, outcome in cases:
        inner = {"passed": "", "failed": '<failure message="boom"/>', "skipped": "<skipped/>"}
        body.append(
            f'<testcase classname="tests.test_{name}" name="{test}" time="0.5">'
            f"{inner[outcome]}</testcase>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" '
        'timestamp="2025-04-02T10:00:00" hostname="ci-1"><properties>'
        f'<property name="GITHUB_REPOSITORY" value="acme/app"/>'
        f'<property name="GITHUB_SHA" value="{sha}"/></properties>'
        + "".join(body)
        + "</testsuite></testsuites>"
    ).encode()


def settle(path: Path) -> None:
    """Date a file back past the sensor's settle time, as if written a while ago."""
    past = time.time() - 60
    os.utime(path, (past, past))


def tick(instance, cursor, db_path, monkeypatch, inbox) -> tuple[list, str | None]:
    """One sensor evaluation, and a real run for each request it makes."""
    sources = {"test_reports": TestReportSources(junit_dir=str(inbox))}
    context = build_sensor_context(instance=instance, cursor=cursor, resources=sources)
    requests = [r for r in junit_drop_folder(context) if hasattr(r, "run_config")]
    for request in requests:
        result = ingest_test_files_job.execute_in_process(
            run_config=request.run_config,
            instance=instance,
            resources={"duckdb": DuckDBStore(path=str(db_path))},
            tags=request.tags,
        )
        assert result.success
    return requests, context.cursor


def counts(db_path) -> dict[str, int]:
    with store.connect(db_path, read_only=True) as con:
        return dict(
            con.execute("SELECT outcome, count(*) FROM raw.test_results GROUP BY 1").fetchall()
        )


def test_sensor_ingests_each_batch_once(tmp_path, db_path, monkeypatch):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.xml").write_bytes(junit("a", [("t1", "passed"), ("t2", "failed")]))
    (inbox / "notes.txt").write_text("not a report")
    settle(inbox / "a.xml")
    with DagsterInstance.ephemeral() as instance:
        requests, cursor = tick(instance, None, db_path, monkeypatch, inbox)
        assert len(requests) == 1
        assert requests[0].run_config["ops"]["ingest_test_files"]["config"]["paths"] == [
            str(inbox / "a.xml")
        ]
        assert counts(db_path) == {"passed": 1, "failed": 1}

        # nothing new: no run
        requests, cursor = tick(instance, cursor, db_path, monkeypatch, inbox)
        assert requests == []

        # two new files and one just being written: one run for the settled two
        (inbox / "sub").mkdir()
        (inbox / "sub" / "b.xml").write_bytes(junit("b", [("t1", "skipped")]))
        (inbox / "c.xml").write_bytes(junit("c", [("t1", "passed"), ("t3", "passed")]))
        (inbox / "fresh.xml").write_bytes(junit("f", [("t9", "failed")]))
        settle(inbox / "sub" / "b.xml")
        settle(inbox / "c.xml")
        requests, cursor = tick(instance, cursor, db_path, monkeypatch, inbox)
        assert len(requests) == 1
        assert counts(db_path) == {"passed": 3, "failed": 1, "skipped": 1}

        # a touched file with the same bytes is seen again but adds nothing
        settle(inbox / "fresh.xml")
        (inbox / "a.xml").write_bytes((inbox / "a.xml").read_bytes())
        os.utime(inbox / "a.xml", (time.time() - 30, time.time() - 30))
        requests, cursor = tick(instance, cursor, db_path, monkeypatch, inbox)
        assert len(requests) == 1
        paths = requests[0].run_config["ops"]["ingest_test_files"]["config"]["paths"]
        assert sorted(paths) == sorted([str(inbox / "a.xml"), str(inbox / "fresh.xml")])
        assert counts(db_path) == {"passed": 3, "failed": 2, "skipped": 1}
        runs = instance.get_runs()
        assert len(runs) == 3
        mats = instance.fetch_materializations(AssetKey("test_results"), limit=10).records
        assert {m.partition_key for m in mats} == {"2025-04-02"}


def test_a_dropped_report_reaches_the_test_facts_of_a_built_store_at_once(
    tmp_path, db_path, monkeypatch
):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with store.connect(db_path) as con:  # a store whose KPI facts were built before
        build_days(con, "run_facts", date(2025, 4, 2), date(2025, 4, 2))
        build_days(con, "test_units_daily", date(2025, 4, 2), date(2025, 4, 2))
    (inbox / "a.xml").write_bytes(
        junit("a", [("t1", "passed"), ("t2", "failed"), ("t3", "skipped")])
    )
    settle(inbox / "a.xml")
    with DagsterInstance.ephemeral() as instance:
        tick(instance, None, db_path, monkeypatch, inbox)
        mats = instance.fetch_materializations(kpi_key("test_units_daily"), limit=10).records
    with store.connect(db_path, read_only=True) as con:
        facts = con.execute(
            "SELECT test_id, executions, passed, failures, skipped FROM kpi.test_units_daily "
            "WHERE day = DATE '2025-04-02' ORDER BY test_id"
        ).fetchall()
    assert facts == [
        ("tests.test_a::t1", 1, 1, 0, 0),
        ("tests.test_a::t2", 1, 0, 1, 0),
        ("tests.test_a::t3", 1, 0, 0, 1),
    ]
    assert {m.partition_key for m in mats} == {"2025-04-02"}


def test_a_dropped_report_that_breaks_a_blocking_rule_leaves_the_test_facts_as_they_were(
    tmp_path, db_path, monkeypatch
):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with store.connect(db_path) as con:
        build_days(con, "run_facts", date(2025, 4, 2), date(2025, 4, 2))
        build_days(con, "test_units_daily", date(2025, 4, 2), date(2025, 4, 2))
    report = junit("a", [("t1", "passed")]).replace(  # a run the store does not hold
        b"</properties>", b'<property name="GITHUB_RUN_ID" value="999"/></properties>'
    )
    (inbox / "a.xml").write_bytes(report)
    settle(inbox / "a.xml")
    with DagsterInstance.ephemeral() as instance:
        tick(instance, None, db_path, monkeypatch, inbox)
        key = AssetCheckKey(AssetKey("test_results"), "test_results_linked_to_run")
        [check] = instance.event_log_storage.get_asset_check_execution_history(key, limit=5)
        facts = instance.fetch_materializations(kpi_key("test_units_daily"), limit=5).records
    assert counts(db_path) == {"passed": 1}  # the rows are stored
    assert check.status.value == "FAILED" and facts == []
    with store.connect(db_path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM kpi.test_units_daily").fetchone() == (0,)


def test_files_of_failed_runs_are_offered_again(tmp_path, db_path, monkeypatch):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    a, b = inbox / "a.xml", inbox / "b.xml"
    a.write_bytes(junit("a", [("t1", "passed")]))
    b.write_bytes(junit("b", [("t2", "failed")]))
    settle(a)
    settle(b)
    broken = tmp_path / "a-folder"  # DuckDB cannot open a folder: every run fails
    broken.mkdir()
    sources = {"test_reports": TestReportSources(junit_dir=str(inbox))}

    def tick_with(instance, cursor, store_path) -> tuple[list[str], str | None]:
        context = build_sensor_context(instance=instance, cursor=cursor, resources=sources)
        requests = [r for r in junit_drop_folder(context) if hasattr(r, "run_config")]
        for request in requests:
            ingest_test_files_job.execute_in_process(
                run_config=request.run_config,
                instance=instance,
                resources={"duckdb": DuckDBStore(path=str(store_path))},
                tags=request.tags,
                raise_on_error=False,
            )
        paths = [
            p for r in requests for p in r.run_config["ops"]["ingest_test_files"]["config"]["paths"]
        ]
        return sorted(paths), context.cursor

    with DagsterInstance.ephemeral() as instance:
        paths, cursor = tick_with(instance, None, broken)
        assert paths == [str(a), str(b)]
        paths, cursor = tick_with(instance, cursor, db_path)  # failed once: offered again
        assert paths == [str(a), str(b)]
        assert counts(db_path) == {"passed": 1, "failed": 1}
        paths, cursor = tick_with(instance, cursor, db_path)
        assert paths == []

        c = inbox / "c.xml"
        c.write_bytes(junit("c", [("t3", "skipped")]))
        settle(c)
        for _ in range(MAX_ATTEMPTS):  # offered once per failed run, up to the limit
            paths, cursor = tick_with(instance, cursor, broken)
            assert paths == [str(c)]
        paths, cursor = tick_with(instance, cursor, db_path)
        assert paths == []  # given up on until it changes
        c.write_bytes(junit("c", [("t3", "skipped"), ("t4", "passed")]))
        settle(c)
        paths, cursor = tick_with(instance, cursor, db_path)
        assert paths == [str(c)]
        assert counts(db_path) == {"passed": 2, "failed": 1, "skipped": 1}


def test_batches_whose_runs_never_end_are_offered_again(tmp_path):
    report = tmp_path / "a.xml"
    report.write_bytes(junit("a", [("t1", "passed")]))
    cursor = DropCursor()
    _, cursor.files = scan(tmp_path, cursor.files, now=time.time() + 60)
    cursor.request([str(report)], now=1000.0)
    with DagsterInstance.ephemeral() as instance:  # its run never shows up
        assert cursor.settle(instance, now=1000.0 + LOST_AFTER_S - 1) == ([], set())
        assert list(cursor.pending) and str(report) in cursor.files
        assert cursor.settle(instance, now=1000.0 + LOST_AFTER_S) == ([], {str(report)})
        assert cursor.pending == {} and cursor.failures == {str(report): 1}
        # the file changed meanwhile: a stale batch of it counts nothing
        cursor.files[str(report)] = [1, 2]
        cursor.request([str(report)], now=0.0)
        cursor.files[str(report)] = [3, 4]
        assert cursor.settle(instance, now=LOST_AFTER_S) == ([], set())
        assert cursor.files[str(report)] == [3, 4] and cursor.failures == {str(report): 1}
    report.unlink()
    _, cursor.files = scan(tmp_path, cursor.files)
    cursor.forget_missing()
    assert cursor.files == {} and cursor.failures == {}


def test_scan_skips_files_still_being_written(tmp_path):
    (tmp_path / "x.xml").write_bytes(b"<testsuite/>")
    changed, cursor = scan(tmp_path, {})
    assert changed == [] and cursor == {}
    changed, cursor = scan(tmp_path, {}, now=time.time() + 10)
    assert changed == [str(tmp_path / "x.xml")]


def test_cli_ingest_summary_quarantine_and_exit_code(tmp_path):
    good = tmp_path / "good.xml"
    good.write_bytes(junit("g", [("t1", "passed"), ("t2", "failed"), ("t3", "skipped")]))
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<testsuite><testcase name='x'>")  # truncated
    cli = Path(sys.executable).with_name("ci-metrics")
    env = {**os.environ, "CI_METRICS_DB": str(tmp_path / "cli.duckdb")}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(cli), "ingest", *args], env=env, capture_output=True, text=True, timeout=120
        )

    out = run(str(good), str(bad), "--repo", "acme/other", "--run-id", "77", "--sha", "f00d")
    # stored, but run 77 is not in the store: the table's blocking rule says so (exit 3)
    assert out.returncode == 3, out.stderr
    assert "1 files read" in out.stdout and "3 tests" in out.stdout
    assert f"quarantined {bad}" in out.stdout
    assert "check test_results_linked_to_run failed" in out.stdout
    with store.connect(tmp_path / "cli.duckdb", read_only=True) as con:
        rows = con.execute(
            "SELECT DISTINCT repo, run_id, head_sha FROM raw.test_results"
        ).fetchall()
        errors = con.execute("SELECT source FROM raw.ingest_errors").fetchall()
    assert rows == [("acme/other", 77, "f00d")]  # the flags win over the report's properties
    assert errors == [(str(bad),)]

    assert run(str(bad)).returncode == 1  # nothing readable
    again = run(str(tmp_path))  # a folder; the good file is already in
    assert again.returncode == 0 and "1 already ingested" in again.stdout
