"""`dagster dev` sessions for end-to-end tests: started through `ci-metrics dev` in a
session of their own, as a background start does (SIGINT ignored), driven through the
webserver's GraphQL API, and stopped with SIGTERM within a bound, leaving nothing behind."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from tests.conftest import ROOT, free_port

STOP_WAIT_S = 60
LOCATION = {"repositoryLocationName": "ci_metrics", "repositoryName": "__repository__"}
LISTING = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name
    locationOrLoadError {
      __typename
      ... on PythonError { message }
      ... on RepositoryLocation { repositories {
        name
        assetNodes {
          assetKey { path }
          assetChecksOrError { ... on AssetChecks { checks { name } } }
        }
        jobs { name }
        schedules { name scheduleState { status } }
        sensors { name sensorState { status } }
      } }
    } } } } }
"""
RUNS = """
query($key: String!, $value: String!) { runsOrError(filter: {tags: [{key: $key, value: $value}]}) {
  ... on Runs { results { runId status } } } }
"""
TICKS = """
query($selector: SensorSelector!, $after: Float) { sensorOrError(sensorSelector: $selector) {
  ... on Sensor { sensorState {
    ticks(limit: 20, afterTimestamp: $after) { status timestamp } } } } }
"""


def wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def as_in_background() -> None:
    """What `cmd &` in a non-interactive shell does to the command it starts."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)


class DagsterDev:
    """`ci-metrics dev` (dagster dev: webserver, daemon, code server) in its own session on
    a free port, started with SIGINT ignored."""

    def __init__(self, env: dict[str, str], log: Path | None = None) -> None:
        self.env = env
        self.port = free_port()
        launcher = Path(sys.executable).with_name("ci-metrics")
        out = log.open("wb") if log is not None else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(
                [str(launcher), "dev", "-p", str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=as_in_background,
            )
        finally:
            if log is not None:
                out.close()
        self.started = time.time()

    def gql(self, query: str, **variables: object) -> dict:
        r = httpx.post(
            f"http://127.0.0.1:{self.port}/graphql",
            json={"query": query, "variables": variables},
            timeout=60,
        )
        body = r.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def location(self) -> dict | None:
        try:
            entries = self.gql(LISTING)["workspaceOrError"]["locationEntries"]
        except (httpx.HTTPError, ValueError):
            return None
        loaded = [e for e in entries if e["locationOrLoadError"]]
        return loaded[0] if loaded else None

    def loaded(self) -> bool:
        """Whether the code location has loaded (and not with an error)."""
        location = self.location()
        if location is None:
            return False
        kind = location["locationOrLoadError"]["__typename"]
        assert kind != "PythonError", location
        return kind == "RepositoryLocation"

    def runs(self, key: str, value: str) -> list[dict]:
        return self.gql(RUNS, key=key, value=value)["runsOrError"]["results"]

    def ticks_since(self, sensor: str, since: float) -> list[dict]:
        selector = {**LOCATION, "sensorName": sensor}
        data = self.gql(TICKS, selector=selector, after=since)["sensorOrError"]
        return [t for t in data["sensorState"]["ticks"] if t["status"] != "STARTED"]

    def family(self) -> list[psutil.Process]:
        """`dagster dev` (the launcher's own process, replaced) and all it started."""
        try:
            top = psutil.Process(self.proc.pid)
            return [top, *top.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self, *, group: bool = True) -> None:
        """SIGTERM to the whole session (or to `dagster dev` alone, as `kill PID`), then check
        that it stopped within STOP_WAIT_S and every process it had is gone."""
        family = self.family()
        (os.killpg if group else os.kill)(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_WAIT_S)
            stopped = True
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            stopped = False
        # raised outside the handler: an error of the test body that led here stays visible
        assert stopped, f"dagster dev did not stop within {STOP_WAIT_S} s of SIGTERM"
        _, alive = psutil.wait_procs(family, timeout=30)
        assert not alive, f"processes left behind: {[p.pid for p in alive]}"
