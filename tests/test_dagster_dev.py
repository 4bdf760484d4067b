"""`dagster dev` on the workspace file: the code location loads in the webserver, and the
daemon runs the drop-folder sensor, whose run ingests a report into DuckDB."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from pipelines import store

ROOT = Path(__file__).resolve().parents[1]
REPORT = (
    b'<?xml version="1.0"?><testsuite name="pytest" timestamp="2025-05-01T08:00:00">'
    b'<testcase classname="tests.test_x" name="test_a" time="0.1"/>'
    b'<testcase classname="tests.test_x" name="test_b" time="0.2"><failure message="no"/>'
    b"</testcase></testsuite>"
)
QUERY = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name
    locationOrLoadError {
      __typename
      ... on RepositoryLocation { repositories { name assetNodes { assetKey { path } } } }
      ... on PythonError { message }
    } } } } }
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def test_dagster_dev_loads_the_location_and_the_daemon_ingests_dropped_files(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    report = inbox / "report.xml"
    report.write_bytes(REPORT)
    past = time.time() - 60
    os.utime(report, (past, past))
    db = tmp_path / "dev.duckdb"
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CI_METRICS_", "DAGSTER_"))},
        "DAGSTER_HOME": str(home),
        "CI_METRICS_DB": str(db),
        "CI_METRICS_JUNIT_DIR": str(inbox),
    }
    dagster = Path(sys.executable).with_name("dagster")
    proc = subprocess.Popen(
        [str(dagster), "dev", "-w", str(ROOT / "workspace.yaml"), "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:

        def location():
            try:
                r = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": QUERY}, timeout=5)
            except httpx.HTTPError:
                return None
            entries = r.json()["data"]["workspaceOrError"]["locationEntries"]
            loaded = [e for e in entries if e["locationOrLoadError"]]
            return loaded[0] if loaded else None

        entry = _wait(location, 180, "the webserver to load the code location")
        assert entry["name"] == "ci_metrics"
        loaded = entry["locationOrLoadError"]
        assert loaded["__typename"] == "RepositoryLocation", loaded
        keys = {"/".join(n["assetKey"]["path"]) for n in loaded["repositories"][0]["assetNodes"]}
        assert {"github_workflow_runs", "test_results", "kpi/targets", "dashboard"} <= keys

        def ingested():
            if not db.exists():
                return None
            try:
                with store.connect(db, read_only=True, retry_s=1) as con:
                    return con.execute(
                        "SELECT outcome, count(*) FROM raw.test_results GROUP BY 1 ORDER BY 1"
                    ).fetchall()
            except Exception:
                return None

        rows = _wait(ingested, 240, "the daemon's sensor run to ingest the dropped report")
        assert rows == [("failed", 1), ("passed", 1)]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
