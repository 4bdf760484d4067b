"""`dagster dev` through `ci-metrics dev`, driven through the webserver's GraphQL API: the
location loads with every asset, check, job, schedule and sensor; a ranged backfill
completes with its KPI checks evaluated; both sensors launch their runs through the
daemon; after a restart their cursors hold, so they launch nothing twice; and SIGTERM
stops the session within a minute, leaving no process behind.

Every session is started with SIGINT and SIGQUIT ignored, as `cmd &` in a script or a CI
runner starts it: plain `dagster dev` then ignores SIGTERM too and never stops."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from pipelines import store
from pipelines.definitions import defs
from pipelines.fake_github.generator import FakeConfig, generate
from pipelines.fake_github.server import FakeGitHubServer
from tests.conftest import END, ROOT, TOKEN, dagster_home, free_port, server_env
from tests.dagster_session import (
    DagsterDev,
    wait,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

REPORT = (
    b'<?xml version="1.0"?><testsuite name="pytest" timestamp="2025-05-01T08:00:00">'
    b'<testcase classname="tests.test_x" name="test_a" time="0.1"/>'
    b'<testcase classname="tests.test_x" name="test_b" time="0.2"><failure message="no"/>'
    b"</testcase></testsuite>"
)
BACKFILL = """
mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }
"""
BACKFILL_STATUS = """
query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  ... on PartitionBackfill { status runs(limit: 10) { runId status tags { key value } } } } }
"""
CHECK_RUNS = """
query($key: AssetKeyInput!, $name: String!) { assetCheckExecutions(assetKey: $key,
  checkName: $name, limit: 20) { runId status partition evaluation { success severity } } }
"""


def _succeeded(runs: list[dict]) -> bool:
    return bool(runs) and all(r["status"] == "SUCCESS" for r in runs)


def _done(runs: list[dict]) -> bool:
    finished = {"SUCCESS", "FAILURE", "CANCELED"}
    return bool(runs) and all(r["status"] in finished for r in runs)


def _ignored(pid: int) -> set[str]:
    """Names of the signals among INT, QUIT and TERM that process ``pid`` ignores."""
    status = Path(f"/proc/{pid}/status").read_text()
    mask = int(
        next(line for line in status.splitlines() if line.startswith("SigIgn:")).split()[1], 16
    )
    wanted = (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM)
    return {s.name for s in wanted if mask >> (s - 1) & 1}


def test_dev_started_in_background_stops_on_kill_pid(tmp_path):
    """Started as `cmd &` starts it, `ci-metrics dev` and everything it runs still take
    SIGTERM; `kill PID` stops the whole session within the bound."""
    world = generate(FakeConfig(seed=3, repos=1, days=1, end_date=END, runs_per_day=2))
    with FakeGitHubServer(world, token=TOKEN) as server:
        env = server_env(
            server, home=dagster_home(tmp_path / "home"), db=tmp_path / "dev.duckdb",
            out=tmp_path / "reports",
        )  # fmt: skip
        dev = DagsterDev(env)
        try:
            wait(dev.location, 300, "the webserver to load the code location")
            family = dev.family()
            commands = [" ".join(p.cmdline()) for p in family]
            for part in ("dagster_webserver", "dagster._daemon", "code-server", "api grpc"):
                assert any(part in c for c in commands), (part, commands)
            # the launcher's process became dagster dev, so `kill PID` reaches it
            assert Path(family[0].cmdline()[1]).name == "dagster", commands
            ignoring = {p.pid: _ignored(p.pid) & {"SIGINT", "SIGTERM"} for p in family}
            assert not any(ignoring.values()), (ignoring, commands)
        finally:
            dev.stop(group=False)
        assert dev.proc.returncode == 0  # dagster dev's own status, on a clean shutdown


def test_dagster_dev_end_to_end(tmp_path):
    world = generate(FakeConfig(seed=3, repos=1, days=3, end_date=END, runs_per_day=8))
    home = dagster_home(tmp_path / "home")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    report = inbox / "report.xml"
    report.write_bytes(REPORT)
    past = time.time() - 60
    os.utime(report, (past, past))
    db = tmp_path / "dev.duckdb"
    with FakeGitHubServer(world, token=TOKEN) as server:
        env = {
            **server_env(server, home=home, db=db, out=tmp_path / "reports"),
            "CI_METRICS_JUNIT_DIR": str(inbox),
            "CI_METRICS_POLL_GITHUB": "on",
            "CI_METRICS_POLL_INTERVAL_S": "5",
        }
        dev = DagsterDev(env)
        try:
            _first_start(dev, world)
        finally:
            dev.stop()
        # a restart: the sensors go on from their stored cursors and launch nothing again
        dev = DagsterDev(env)
        try:
            wait(dev.location, 300, "the webserver to load the code location again")
            for sensor in ("junit_drop_folder", "github_runs_sensor"):
                wait(lambda s=sensor: dev.ticks_since(s, dev.started), 300, f"a tick of {sensor}")
                assert len(dev.runs("dagster/sensor_name", sensor)) == 1, sensor
        finally:
            dev.stop()
    with store.connect(db, read_only=True) as con:
        outcomes = con.execute(
            "SELECT outcome, count(*) FROM raw.test_results WHERE source_kind = 'junit' "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall()
        runs = con.execute("SELECT count(DISTINCT run_id) FROM raw.workflow_runs").fetchone()[0]
    assert outcomes == [("failed", 1), ("passed", 1)]  # the dropped report, once
    # the runs sensor's run covered every day with completed runs (all of this world's)
    assert runs == len(world.runs_created_between(END - timedelta(days=2), END))


def _first_start(dev: DagsterDev, world) -> None:
    entry = wait(dev.location, 300, "the webserver to load the code location")
    assert entry["name"] == "ci_metrics"
    loaded = entry["locationOrLoadError"]
    assert loaded["__typename"] == "RepositoryLocation", loaded
    [repo] = loaded["repositories"]
    nodes = {"/".join(n["assetKey"]["path"]): n for n in repo["assetNodes"]}
    graph = defs.resolve_asset_graph()
    assert set(nodes) == {k.to_user_string() for k in graph.get_all_asset_keys()}
    listed_checks = {
        (key, c["name"]) for key, n in nodes.items() for c in n["assetChecksOrError"]["checks"]
    }
    assert listed_checks == {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert {j["name"] for j in repo["jobs"]} >= {
        "daily_pipeline", "extract_github", "window_reports", "ingest_test_files_job"
    }  # fmt: skip
    schedules = {s["name"]: s["scheduleState"]["status"] for s in repo["schedules"]}
    assert schedules == {s.name: "STOPPED" for s in defs.schedules}
    sensors = {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]}
    assert sensors == {s.name: "RUNNING" for s in defs.sensors}  # polling asked for here

    # a ranged backfill of the whole graph over two days, launched as the UI does
    days = [str(END - timedelta(days=1)), str(END)]
    keys = [{"path": list(k.path)} for k in graph.get_all_asset_keys()]
    launched = dev.gql(BACKFILL, params={"partitionNames": days, "assetSelection": keys})
    result = launched["launchPartitionBackfill"]
    assert result["__typename"] == "LaunchBackfillSuccess", result
    backfill_id = result["backfillId"]

    def backfill_done():
        b = dev.gql(BACKFILL_STATUS, id=backfill_id)["partitionBackfillOrError"]
        return b if b["status"] not in ("REQUESTED", "CANCELING", "FAILING") else None

    backfill = wait(backfill_done, 900, "the backfill to finish")
    assert backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), backfill
    assert _succeeded(backfill["runs"]), backfill["runs"]
    ranged = [
        r for r in backfill["runs"]
        if {"key": "dagster/asset_partition_range_end", "value": days[-1]} in r["tags"]
    ]  # fmt: skip
    assert len(ranged) == 1, "the partitioned assets should run as one ranged run"
    backfill_runs = {r["runId"] for r in backfill["runs"]}

    # the KPI target checks ran in the backfill and their evaluations are visible
    targets = [k for k in defs.resolve_asset_graph().asset_check_keys if k.name.endswith("_target")]
    assert targets
    for check in targets:
        executions = dev.gql(CHECK_RUNS, key={"path": list(check.asset_key.path)}, name=check.name)[
            "assetCheckExecutions"
        ]
        evaluated = [
            e for e in executions if e["runId"] in backfill_runs and e["evaluation"] is not None
        ]
        assert evaluated, (check.name, executions)
        assert all(e["status"] in ("SUCCEEDED", "FAILED") for e in evaluated), evaluated

    # both sensors launch a run through the daemon, and it succeeds
    for sensor in ("junit_drop_folder", "github_runs_sensor"):
        runs = wait(
            lambda s=sensor: (r := dev.runs("dagster/sensor_name", s)) and _done(r) and r,
            900,
            f"the run of {sensor}",
        )
        assert len(runs) == 1 and _succeeded(runs), (sensor, runs)


def test_dev_passes_on_dagster_dev_exit_status(tmp_path):
    """`ci-metrics dev` becomes `dagster dev`: a usage error is its status 2 and message."""
    missing = tmp_path / "missing.yaml"
    launcher = Path(sys.executable).with_name("ci-metrics")
    done = subprocess.run(
        [str(launcher), "dev", "-w", str(missing), "-p", str(free_port())],
        cwd=ROOT,
        env={**os.environ, "DAGSTER_HOME": str(dagster_home(tmp_path / "home"))},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert str(missing) in done.stderr


@pytest.mark.parametrize(
    ("options", "default_added"),
    [
        ([], True),
        (["-p", "3001"], True),
        (["-w", "other.yaml"], False),
        (["-wother.yaml"], False),
        (["--workspace=other.yaml"], False),
        (["-m", "pipelines.definitions"], False),
        (["-f", "defs.py"], False),
        (["--help"], False),
    ],
)
def test_dev_adds_the_workspace_only_when_no_code_is_named(options, default_added, monkeypatch):
    from pipelines.dev import dev_command

    monkeypatch.chdir(ROOT)
    command = dev_command(options)
    assert (command[-2:] == ["-w", "workspace.yaml"]) is default_added, command
    assert command[command.index("dev") + 1 :][: len(options)] == options
