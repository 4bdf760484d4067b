"""Dagster resources: every setting an asset, check or sensor reads at run time.

The definitions build them from the environment (``pipelines/definitions.py``); they show
in the UI, and tests pass them directly. Secrets are ``repr=False`` fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

import duckdb
from dagster import ConfigurableResource
from pydantic import Field

from pipelines import settings, store
from pipelines.github.client import GitHubClient, ResponseCache
from pipelines.kpi.config import KpiConfig, kpi_config
from pipelines.testresults.artifacts import patterns_from


class DuckDBStore(ConfigurableResource):
    """The DuckDB file every asset reads and writes (``CI_METRICS_DB``)."""

    path: str = settings.DB.default
    # DuckDB's memory_limit for every connection (e.g. 512MB); empty: each use's own bound
    memory_limit: str = settings.DUCKDB_MEMORY_LIMIT.default

    @contextmanager
    def connect(
        self, *, read_only: bool = False, memory_limit: str | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection that is always closed; read-only where the caller only reads. The
        configured limit, when set, wins over the caller's ``memory_limit``."""
        limit = self.memory_limit or memory_limit
        with store.connect(self.path, read_only=read_only, memory_limit=limit) as con:
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


class TestReportSources(ConfigurableResource):
    """Where test reports come from: the runs' artifacts whose names match
    ``artifact_patterns`` (comma-separated globs), and the drop folder ``junit_dir``."""

    __test__: ClassVar[bool] = False  # a resource, not a pytest test class

    artifact_patterns: str = settings.ARTIFACT_PATTERNS.default
    junit_dir: str = settings.JUNIT_DIR.default

    def patterns(self) -> list[str]:
        """The artifact name patterns (lower-case globs)."""
        return patterns_from(self.artifact_patterns)


class KpiSettings(ConfigurableResource):
    """What the KPI definitions leave to the user: the full-suite workflow and the baseline
    days (YYYY-MM-DD, both or neither) the reductions compare with."""

    full_suite_workflow: str = settings.FULL_SUITE_WORKFLOW.default
    baseline_start: str = ""
    baseline_end: str = ""

    def config(self) -> KpiConfig:
        """The configuration every KPI is computed with; an error names a bad field."""
        return kpi_config(self.full_suite_workflow, self.baseline_start, self.baseline_end)


class ReportOutput(ConfigurableResource):
    """The folder the dashboard, ``summary.md`` and ``metrics-report.json`` are written to,
    and the explorer address the dashboard links to (empty: no explorer links)."""

    output_dir: str = settings.OUTPUT_DIR.default
    explorer_url: str = settings.EXPLORER_URL.default


class AlertWebhook(ConfigurableResource):
    """Where alerts go: a Slack-compatible webhook (a secret; empty: alerts are only logged)
    and the Dagster UI and explorer addresses alerts link to (empty: no such link)."""

    url: str = Field(default="", repr=False)
    dagster_url: str = settings.DAGSTER_URL.default
    explorer_url: str = settings.EXPLORER_URL.default
