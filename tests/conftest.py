"""Shared fixtures: a generated GitHub world, the real fake server, a DuckDB file, Dagster."""

import os
import shutil
import socket
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from dagster import DagsterInstance

from pipelines.fake_github.generator import FakeConfig, FakeWorld, generate
from pipelines.fake_github.server import FakeGitHubServer
from pipelines.resources import DuckDBStore, GitHubAPI

ROOT = Path(__file__).resolve().parents[1]
END = date(2025, 3, 10)
TOKEN = "ghp_TESTTOKEN_4f1d2c9e8b7a"


@pytest.fixture
def small_world() -> FakeWorld:
    """Two repos, five days ending 2025-03-10, ~25 runs a day each."""
    return generate(FakeConfig(seed=11, repos=2, days=5, end_date=END, runs_per_day=25))


@pytest.fixture
def fake_github(small_world: FakeWorld) -> Iterator[FakeGitHubServer]:
    with FakeGitHubServer(small_world, token=TOKEN) as server:
        yield server


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ci_metrics.duckdb"


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with DagsterInstance.ephemeral() as inst:
        yield inst


def raw_resources(server: FakeGitHubServer, db_path: Path, **github: object) -> dict:
    """The pipeline's resources pointed at the fake server and a test DuckDB file."""
    return {
        "duckdb": DuckDBStore(path=str(db_path)),
        "github": GitHubAPI(
            api_url=server.url, token=TOKEN, repos=",".join(server.world.repos), **github
        ),
    }


def free_port() -> int:
    """A loopback port free just now (nothing listens on it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dagster_home(path: Path) -> Path:
    """A fresh Dagster home at ``path`` with the shipped ``dagster_home/dagster.yaml``."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", path / "dagster.yaml")
    return path


def server_env(server: FakeGitHubServer, *, home: Path, db: Path, out: Path) -> dict[str, str]:
    """Environment for a ci-metrics or dagster process reading ``server`` into ``db``, with
    Dagster home ``home`` and reports in ``out``; the caller's own settings are left out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CI_METRICS_", "DAGSTER_"))}
    return {
        **env,
        "DAGSTER_HOME": str(home),
        "CI_METRICS_DB": str(db),
        "CI_METRICS_GITHUB_API_URL": server.url,
        "GITHUB_TOKEN": TOKEN,
        "CI_METRICS_REPOS": ",".join(server.world.repos),
        "CI_METRICS_OUTPUT_DIR": str(out),
    }
