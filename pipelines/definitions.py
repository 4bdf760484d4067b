"""The ci-metrics code location: every asset, check, job, schedule, sensor and resource."""

from __future__ import annotations

import warnings

from dagster import Definitions, EnvVar, PreviewWarning, in_process_executor

from assets.dashboard import dashboard
from assets.github import github_workflow_jobs, github_workflow_runs
from assets.kpi import kpi_assets
from assets.target_checks import kpi_target_checks
from assets.test_results import test_results
from pipelines import settings
from pipelines.alerts import alert_sensors
from pipelines.dead_runs_sensor import dead_runs_sensor
from pipelines.drop_folder import ingest_test_files_job, junit_drop_folder
from pipelines.jobs import daily_pipeline_job, extract_github_job, window_reports_job
from pipelines.partitions import FRESHNESS_POLICY
from pipelines.resources import DuckDBStore, GitHubAPI
from pipelines.runs_sensor import github_runs_sensor
from pipelines.schedules import daily_pipeline_schedule, weekly_reread_schedule


def _str(setting: settings.Setting) -> str | EnvVar:
    """``EnvVar`` when the key is set (resolved at run time, never shown), else the default."""
    return EnvVar(setting.key) if settings.get(setting) != setting.default else setting.default


def _int(setting: settings.Setting) -> int | EnvVar:
    return (
        EnvVar.int(setting.key)
        if settings.get(setting) != setting.default
        else int(setting.default)
    )


def resources() -> dict[str, object]:
    """Resources configured from the environment (see ``pipelines.settings``)."""
    return {
        "duckdb": DuckDBStore(path=_str(settings.DB)),
        "github": GitHubAPI(
            api_url=_str(settings.GITHUB_API_URL),
            token=_str(settings.GITHUB_TOKEN),
            repos=_str(settings.REPOS),
            max_rate_limit_wait_s=_int(settings.MAX_RATE_LIMIT_WAIT_S),
            concurrency=_int(settings.CONCURRENCY),
        ),
    }


def build() -> Definitions:
    """The code location, with one freshness policy applied to every materializable asset
    (``map_asset_specs`` is a preview API: its warning is silenced here only)."""
    definitions = Definitions(
        assets=[github_workflow_runs, github_workflow_jobs, test_results, *kpi_assets, dashboard],
        asset_checks=kpi_target_checks,
        jobs=[extract_github_job, daily_pipeline_job, window_reports_job, ingest_test_files_job],
        schedules=[daily_pipeline_schedule, weekly_reread_schedule],
        sensors=[github_runs_sensor, junit_drop_folder, *alert_sensors, dead_runs_sensor],
        resources=resources(),
        # Steps run one at a time anyway (one DuckDB writer: pool `duckdb`, limit 1), so a
        # run executes them in its own process rather than paying a subprocess per step.
        executor=in_process_executor,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)
        return definitions.map_asset_specs(
            func=lambda spec: spec.replace_attributes(freshness_policy=FRESHNESS_POLICY)
        )


defs = build()
