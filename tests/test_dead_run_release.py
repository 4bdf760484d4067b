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
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from dagster import DagsterInstance, DagsterRunStatus

from pipelines.fake_github.generator import FakeConfig, generate
from pipelines.fake_github.server import FakeGitHubServer
from tests.conftest import END, ROOT, TOKEN, dagster_home, free_port, server_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

LOCATION = {"repositoryLocationName": "ci_metrics", "repositoryName": "__repository__"}
STOP_WAIT_S = 180
RUN_WAIT_S = 420  # the released run itself takes well under a minute
LOADED = """
{ workspaceOrError { ... on Workspace { locationEntries {
  locationOrLoadError { __typename } } } } }
"""
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

T = TypeVar("T")


def _wait(predicate: Callable[[], T], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


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


class DagsterDev:
    """`dagster dev` in a session of its own, SIGINT and SIGTERM at their defaults."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        dagster = Path(sys.executable).with_name("dagster")
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(dagster), "dev", "-w", str(ROOT / "workspace.yaml"), "-p", str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=lambda: (
                    signal.signal(signal.SIGINT, signal.SIG_DFL),
                    signal.signal(signal.SIGTERM, signal.SIG_DFL),
                ),
            )

    def gql(self, query: str, **variables: object) -> dict:
        r = httpx.post(
            f"http://127.0.0.1:{self.port}/graphql",
            json={"query": query, "variables": variables},
            timeout=60,
        )
        body = r.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def loaded(self) -> bool:
        try:
            entries = self.gql(LOADED)["workspaceOrError"]["locationEntries"]
        except (httpx.HTTPError, ValueError):
            return False
        kinds = [(e["locationOrLoadError"] or {}).get("__typename") for e in entries]
        assert "PythonError" not in kinds, kinds
        return kinds == ["RepositoryLocation"]

    def stop(self) -> None:
        """SIGTERM to the whole session; SIGKILL to whatever is left of it after a while."""
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=STOP_WAIT_S)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group: children of dagster dev too
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)


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
            _wait(dev.loaded, 300, "the webserver to load the code location")
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

            assert _wait(finished, RUN_WAIT_S, "the schedule's run to finish") == "SUCCESS"
            killed_status = dev.gql(RUN, id=killed_id)["runOrError"]["status"]
        finally:
            dev.stop()
    assert killed_status == "FAILURE"
