"""A command-line run killed inside a step does not block the runs `dagster dev` launches.

``ci-metrics materialize`` is SIGKILLed while its first step holds the one slot of the
``duckdb`` pool; the run stays STARTED in the instance with the slot claimed. Then
``dagster dev`` starts on that Dagster home, the daily schedule is evaluated through the
webserver (as "Test schedule" in the UI does) and its run is launched: it must complete,
and the killed run must end up failed. Nothing but the daemon's side (no command-line
run) is there to notice the dead run.
"""

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus

from pipelines.fake_github.generator import FakeConfig, generate
from pipelines.fake_github.server import FakeGitHubServer
from tests.conftest import END, ROOT, TOKEN, dagster_home, server_env
from tests.dagster_session import LOCATION, DagsterDev, wait

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

RUN_WAIT_S = 420  # the released run itself takes well under a minute
DRY_RUN = """
mutation($selector: ScheduleSelector!, $timestamp: Float!) {
  scheduleDryRun(selectorData: $selector, timestamp: $timestamp) {
    __typename
    ... on DryRunInstigationTick { evaluationResult {
      skipReason error { message } runRequests { runKey runConfigYaml tags { key value } } } }
    ... on PythonError { message } } }
"""
LAUNCH = """
mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }
"""
RUN = """
query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }
"""


class KillsOnFirstRequest(FakeGitHubServer):
    """The fake API, which SIGKILLs ``victim`` when its first request arrives, unanswered:
    the run is then inside its first step, holding the ``duckdb`` slot."""

    victim: int | None = None
    killed = threading.Event()

    def handle_api(self, h: BaseHTTPRequestHandler) -> None:
        if self.victim is not None and not self.killed.is_set():
            os.kill(self.victim, signal.SIGKILL)
            self.killed.set()
            return
        super().handle_api(h)


def test_a_killed_command_line_run_does_not_block_the_schedules_run(tmp_path: Path) -> None:
    world = generate(FakeConfig(seed=5, repos=1, days=2, end_date=END, runs_per_day=4))
    home = dagster_home(tmp_path / "home")
    db = tmp_path / "store.duckdb"
    with KillsOnFirstRequest(world, token=TOKEN) as server:
        env = {
            **server_env(server, home=home, db=db, out=tmp_path / "reports"),
            "CI_METRICS_LOOKBACK_DAYS": "0",  # the schedule's run covers one day
        }
        cli = subprocess.Popen(
            [str(Path(sys.executable).with_name("ci-metrics")), "materialize", "--end", str(END)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server.victim = cli.pid
        try:
            assert cli.wait(timeout=300) == -signal.SIGKILL, "the run was not killed in a step"
        finally:
            if cli.poll() is None:
                cli.kill()
                cli.wait()
        server.victim = None  # the pid is reaped: gone, as after any SIGKILL

        # the premise: the instance still thinks the run holds the pool's one slot
        with DagsterInstance.from_config(str(home)) as instance:
            [killed] = instance.get_run_records()
            assert killed.dagster_run.status == DagsterRunStatus.STARTED
            slots = instance.event_log_storage.get_concurrency_info("duckdb")
            assert [s.run_id for s in slots.claimed_slots] == [killed.dagster_run.run_id]
        killed_id = killed.dagster_run.run_id

        dev = DagsterDev(env, tmp_path / "dagster-dev.log")
        try:
            wait(dev.loaded, 300, "the webserver to load the code location")
            tick = datetime.combine(END + timedelta(days=1), dtime(2), tzinfo=UTC)
            selector = {**LOCATION, "scheduleName": "daily_pipeline_schedule"}
            dry = dev.gql(DRY_RUN, selector=selector, timestamp=tick.timestamp())["scheduleDryRun"]
            assert dry["__typename"] == "DryRunInstigationTick", dry
            [request] = dry["evaluationResult"]["runRequests"]
            tags = {t["key"]: t["value"] for t in request["tags"]}
            assert tags["dagster/asset_partition_range_end"] == str(END)
            tags["dagster/schedule_name"] = "daily_pipeline_schedule"  # as its tick would
            launched = dev.gql(
                LAUNCH,
                params={
                    "selector": {**LOCATION, "jobName": "daily_pipeline"},
                    "runConfigData": request["runConfigYaml"],
                    "executionMetadata": {
                        "tags": [{"key": k, "value": v} for k, v in tags.items()]
                    },
                },
            )["launchRun"]
            assert launched["__typename"] == "LaunchRunSuccess", launched
            run_id = launched["run"]["runId"]

            def finished() -> str | None:
                status = dev.gql(RUN, id=run_id)["runOrError"]["status"]
                return status if status in ("SUCCESS", "FAILURE", "CANCELED") else None

            assert wait(finished, RUN_WAIT_S, "the schedule's run to finish") == "SUCCESS"
            killed_status = dev.gql(RUN, id=killed_id)["runOrError"]["status"]
        finally:
            dev.stop()
    assert killed_status == "FAILURE"
