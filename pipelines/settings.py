"""Every configuration key of ci-metrics, its default, and how it is read.

One place for configuration: Dagster resources read these keys through
``EnvVar``; code that runs outside Dagster (CLI, benchmarks) reads them with
:func:`get`. Secrets (``GITHUB_TOKEN``, webhook URLs) are only ever read, never
logged or stored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date

from pipelines.kpi.config import KpiConfig
from pipelines.kpi.config import kpi_config as _kpi_config
from pipelines.kpi.filters import parse_day


@dataclass(frozen=True)
class Setting:
    """A configuration key, its default and whether it is a secret."""

    key: str
    default: str
    help: str
    secret: bool = False


GITHUB_TOKEN = Setting("GITHUB_TOKEN", "", "GitHub token (optional; 60 req/h without)", secret=True)
REPOS = Setting("CI_METRICS_REPOS", "", "comma-separated owner/name repositories")
GITHUB_API_URL = Setting(
    "CI_METRICS_GITHUB_API_URL",
    "https://api.github.com",
    "REST API root; Enterprise Server is https://HOST/api/v3",
)
DB = Setting("CI_METRICS_DB", "data/ci_metrics.duckdb", "DuckDB file")
START_DATE = Setting("CI_METRICS_START_DATE", "2025-01-01", "first daily partition")
LOOKBACK_DAYS = Setting("CI_METRICS_LOOKBACK_DAYS", "3", "days the daily schedule re-reads")
REREAD_DAYS = Setting("CI_METRICS_REREAD_DAYS", "30", "days the weekly schedule re-reads")
POLL_GITHUB = Setting(
    "CI_METRICS_POLL_GITHUB", "off", "on: the GitHub runs sensor starts running by default"
)
POLL_INTERVAL_S = Setting("CI_METRICS_POLL_INTERVAL_S", "300", "seconds between runs-list polls")
MAX_RATE_LIMIT_WAIT_S = Setting(
    "CI_METRICS_MAX_RATE_LIMIT_WAIT_S",
    "900",
    "longest wait for a primary rate-limit reset before failing",
)
CONCURRENCY = Setting("CI_METRICS_CONCURRENCY", "4", "parallel per-run requests")
ARTIFACT_PATTERNS = Setting(
    "CI_METRICS_ARTIFACT_PATTERNS",
    "*junit*,*test-results*,*pytest*",
    "artifact name patterns that hold test reports",
)
JUNIT_DIR = Setting("CI_METRICS_JUNIT_DIR", "data/junit-inbox/", "drop folder for JUnit XML")
FULL_SUITE_WORKFLOW = Setting("CI_METRICS_FULL_SUITE_WORKFLOW", "CI", "full-suite workflow name")
BASELINE_START = Setting("CI_METRICS_BASELINE_START", "", "baseline first day (inclusive)")
BASELINE_END = Setting("CI_METRICS_BASELINE_END", "", "baseline last day (inclusive)")
ALERT_WEBHOOK_URL = Setting(
    "CI_METRICS_ALERT_WEBHOOK_URL", "", "Slack-compatible webhook", secret=True
)
DAGSTER_URL = Setting("CI_METRICS_DAGSTER_URL", "", "Dagster UI link in alerts")
EXPLORER_URL = Setting(
    "CI_METRICS_EXPLORER_URL", "", "explorer address the dashboard and alerts link to"
)
DUCKDB_MEMORY_LIMIT = Setting(
    "CI_METRICS_DUCKDB_MEMORY_LIMIT", "", "DuckDB memory_limit, e.g. 512MB (default: DuckDB's)"
)
SERVE_TOKEN = Setting(
    "CI_METRICS_SERVE_TOKEN", "", "token every explorer request must carry", secret=True
)
OUTPUT_DIR = Setting("CI_METRICS_OUTPUT_DIR", "data/reports", "where reports are written")
RUNNER_RATES = Setting(
    "CI_METRICS_RUNNER_RATES",
    "",
    "per-minute USD rates by billing SKU over GitHub's, e.g. linux=0.006,macos=0.062 or JSON",
)

ALL: tuple[Setting, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Setting))


def get(setting: Setting) -> str:
    """The value of ``setting`` from the environment, or its default when unset or empty."""
    value = os.environ.get(setting.key, "")
    return value if value.strip() else setting.default


def get_flag(setting: Setting) -> bool:
    """``setting`` as on/off: ``on``, ``1``, ``true`` or ``yes`` (any case) mean on."""
    return get(setting).strip().lower() in ("on", "1", "true", "yes")


def get_int(setting: Setting, *, minimum: int = 0) -> int:
    """``setting`` as a whole number ≥ ``minimum``; the error names the key."""
    value = get(setting)
    try:
        number = int(value.strip())
    except ValueError:
        raise ValueError(f"{setting.key}: {value!r} is not a whole number") from None
    if number < minimum:
        raise ValueError(f"{setting.key}: {number} is below {minimum}")
    return number


def get_day(setting: Setting) -> date | None:
    """``setting`` as a YYYY-MM-DD day, or None when unset; the error names the key."""
    return parse_day(get(setting), setting.key)


def repos_from(value: str) -> list[str]:
    """Split a comma-separated repository list, rejecting names that are not owner/name."""
    repos = [r.strip() for r in value.split(",") if r.strip()]
    for repo in repos:
        owner, _, name = repo.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"{REPOS.key}: {repo!r} is not of the form owner/name")
    return repos


def kpi_config() -> KpiConfig:
    """The KPI configuration: full-suite workflow and baseline days (both or neither)."""
    return _kpi_config(
        get(FULL_SUITE_WORKFLOW),
        get(BASELINE_START),
        get(BASELINE_END),
        (BASELINE_START.key, BASELINE_END.key),
    )
