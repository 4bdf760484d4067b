"""Dagster resources: the DuckDB store and the GitHub API, configured from the environment."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
from dagster import ConfigurableResource
from pydantic import Field

from pipelines import settings, store
from pipelines.github.client import GitHubClient, ResponseCache


class DuckDBStore(ConfigurableResource):
    """The DuckDB file every asset reads and writes (``CI_METRICS_DB``)."""

    path: str = settings.DB.default

    @contextmanager
    def connect(
        self, *, read_only: bool = False, memory_limit: str | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection that is always closed; read-only where the caller only reads."""
        with store.connect(self.path, read_only=read_only, memory_limit=memory_limit) as con:
            yield con


class GitHubAPI(ConfigurableResource):
    """Where and as whom to read GitHub Actions data (``CI_METRICS_*``, ``GITHUB_TOKEN``)."""

    api_url: str = settings.GITHUB_API_URL.default
    token: str = Field(default="", repr=False)  # never shown in reprs, logs or errors
    repos: str = ""
    max_rate_limit_wait_s: int = int(settings.MAX_RATE_LIMIT_WAIT_S.default)  # whole seconds
    concurrency: int = int(settings.CONCURRENCY.default)

    def repo_list(self) -> list[str]:
        """The configured repositories; a clear error when there are none."""
        repos = settings.repos_from(self.repos)
        if not repos:
            raise ValueError(
                f"No repositories configured: set {settings.REPOS.key} to owner/name[,owner/name]"
            )
        return repos

    def client(
        self, cache: ResponseCache | None = None, *, max_rate_limit_wait_s: float | None = None
    ) -> GitHubClient:
        """A new client; close it (or use it as a context manager) when done."""
        wait = max_rate_limit_wait_s
        if wait is None:
            wait = self.max_rate_limit_wait_s
        return GitHubClient(
            self.api_url,
            self.token or None,
            cache=cache,
            max_rate_limit_wait_s=wait,
            pool_size=max(2, self.concurrency * 2),
        )
