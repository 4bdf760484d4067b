"""Shared by the explorer's tests: the world they read (hostile names in it), a store built
by the real pipeline from the fake GitHub server, the explorer served by a real uvicorn on
127.0.0.1 in a thread, and helpers to read its pages and exports."""

from __future__ import annotations

import csv
import html
import io
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import uvicorn

from pipelines.fake_github.generator import HOSTILE_SQL, FakeConfig, FakeWorld, generate
from pipelines.fake_github.server import FakeGitHubServer
from pipelines.kpi.config import KpiConfig
from pipelines.kpi.filters import Period
from reports.explorer.app import create_app
from reports.explorer.config import ExplorerConfig
from tests.conftest import dagster_home, free_port, server_env

END = date(2025, 3, 10)
DAYS = 9
BASELINE = Period(END - timedelta(days=DAYS - 1), END - timedelta(days=DAYS - 3))
KPI_CONFIG = KpiConfig(HOSTILE_SQL, BASELINE)  # both repos' CI workflow carries this name


def hostile_world() -> FakeWorld:
    """Two repositories over DAYS days ending on END, every name hostile."""
    return generate(
        FakeConfig(seed=31, repos=2, days=DAYS, end_date=END, runs_per_day=18, hostile_names=True)
    )


def hrefs(page: str, pattern: str) -> list[str]:
    """The links of ``page`` whose (unescaped) target matches ``pattern``."""
    return [html.unescape(h) for h in re.findall(r'href="([^"]+)"', page) if re.match(pattern, h)]


def csv_rows(text: str) -> tuple[list[str], list[list[str]]]:
    """A CSV export's header and rows."""
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def build_store(world: FakeWorld, root: Path, config: KpiConfig) -> tuple[Path, dict[str, str]]:
    """``ci-metrics materialize`` over every day of ``world`` into ``root/store.duckdb``
    (which publishes its snapshot); the store's path and the environment used."""
    db = root / "store.duckdb"
    token = "ghp_explorer_test_token"
    with FakeGitHubServer(world, token=token) as server:
        env = server_env(server, home=dagster_home(root / "home"), db=db, out=root / "out")
        env["GITHUB_TOKEN"] = token
        env["CI_METRICS_FULL_SUITE_WORKFLOW"] = config.full_suite_workflow
        if config.baseline is not None:
            env["CI_METRICS_BASELINE_START"] = config.baseline.start.isoformat()
            env["CI_METRICS_BASELINE_END"] = config.baseline.end.isoformat()
        end = world.config.end_date
        start = end - timedelta(days=world.config.days - 1)
        done = subprocess.run(
            [
                *(sys.executable, "-m", "pipelines.cli", "materialize"),
                *("--start", str(start)),
                *("--end", str(end)),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    return db, env


@contextmanager
def serving(config: ExplorerConfig) -> Iterator[str]:
    """The explorer for ``config`` on a real uvicorn server on 127.0.0.1; yields its URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
