"""Shared fixtures: a generated GitHub world, the real fake server, a DuckDB file, Dagster."""

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from dagster import DagsterInstance

from pipelines.fake_github.generator import FakeConfig, FakeWorld, generate
from pipelines.fake_github.server import FakeGitHubServer
from pipelines.resources import DuckDBStore, GitHubAPI

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
