"""The ci-metrics code location: every asset, check, job, schedule, sensor and resource."""

from __future__ import annotations

import warnings

from dagster import (
    AssetCheckKey,
    AssetSpec,
    DailyPartitionsDefinition,
    Definitions,
    EnvVar,
    PreviewWarning,
    in_process_executor,
)

from assets.dashboard import dashboard
from assets.github import github_workflow_jobs, github_workflow_runs
from assets.kpi import kpi_assets
from assets.raw_checks import RAW_CHECKS
from assets.target_checks import check_keys, kpi_target_checks
from assets.test_results import test_results
from pipelines import settings
from pipelines.alerts import build_alert_sensors
from pipelines.dead_runs_sensor import dead_runs_sensor
from pipelines.drop_folder import ingest_test_files_job, junit_drop_folder
from pipelines.jobs import (
    daily_pipeline_job,
    extract_github_job,
    kpi_target_checks_job,
    window_reports_job,
)
from pipelines.partitions import FRESHNESS_POLICY, daily_partitions_from
from pipelines.resources import (
    AlertWebhook,
    DuckDBStore,
    GitHubAPI,
    KpiSettings,
    ReportOutput,
    TestReportSources,
)
from pipelines.runs_sensor import build_runs_sensor
from pipelines.schedules import build_schedules
from pipelines.target_checks_sensor import kpi_target_checks_after_runs


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
        "duckdb": DuckDBStore(
            path=_str(settings.DB), memory_limit=_str(settings.DUCKDB_MEMORY_LIMIT)
        ),
        "github": GitHubAPI(
            api_url=_str(settings.GITHUB_API_URL),
            token=_str(settings.GITHUB_TOKEN),
            repos=_str(settings.REPOS),
            max_rate_limit_wait_s=_int(settings.MAX_RATE_LIMIT_WAIT_S),
            concurrency=_int(settings.CONCURRENCY),
        ),
        "test_reports": TestReportSources(
            artifact_patterns=_str(settings.ARTIFACT_PATTERNS), junit_dir=_str(settings.JUNIT_DIR)
        ),
        "kpi_settings": KpiSettings(
            full_suite_workflow=_str(settings.FULL_SUITE_WORKFLOW),
            baseline_start=_str(settings.BASELINE_START),
            baseline_end=_str(settings.BASELINE_END),
        ),
        "reports": ReportOutput(
            output_dir=_str(settings.OUTPUT_DIR), explorer_url=_str(settings.EXPLORER_URL)
        ),
        "alerts": AlertWebhook(
            url=_str(settings.ALERT_WEBHOOK_URL),
            dagster_url=_str(settings.DAGSTER_URL),
            explorer_url=_str(settings.EXPLORER_URL),
        ),
    }


def partitions() -> DailyPartitionsDefinition:
    """The daily partitions from the configured first day (``CI_METRICS_START_DATE``)."""
    return daily_partitions_from(settings.get(settings.START_DATE))


def configure(
    definitions: Definitions, days: DailyPartitionsDefinition | None = None
) -> Definitions:
    """``definitions`` with ``days`` (default: the configured partitions) on every
    partitioned asset and one freshness policy on every materializable one
    (``map_asset_specs`` is a preview API: its warning is silenced here only)."""
    days = days or partitions()

    def spec_of(spec: AssetSpec) -> AssetSpec:
        if spec.partitions_def is not None:
            spec = spec.replace_attributes(partitions_def=days)
        return spec.replace_attributes(freshness_policy=FRESHNESS_POLICY)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)
        return definitions.map_asset_specs(func=spec_of)


def alerted_checks() -> list[AssetCheckKey]:
    """Every check of the code location, which the check alert sensor watches."""
    return [*check_keys(kpi_target_checks), *(c.spec().key for c in RAW_CHECKS)]


def build() -> Definitions:
    """The code location, every setting read from the environment now, at load."""
    days = partitions()
    sensors = [
        build_runs_sensor(
            days,
            running=settings.get_flag(settings.POLL_GITHUB),
            interval_s=settings.get_int(settings.POLL_INTERVAL_S, minimum=5),
        ),
        junit_drop_folder,
        *build_alert_sensors(alerted_checks()),
        dead_runs_sensor,
        kpi_target_checks_after_runs,
    ]
    schedules = build_schedules(
        days.start.date(),
        lookback_days=settings.get_int(settings.LOOKBACK_DAYS, minimum=0),
        reread_days=settings.get_int(settings.REREAD_DAYS, minimum=1),
    )
    definitions = Definitions(
        assets=[github_workflow_runs, github_workflow_jobs, test_results, *kpi_assets, dashboard],
        asset_checks=kpi_target_checks,
        jobs=[
            extract_github_job,
            daily_pipeline_job,
            window_reports_job,
            kpi_target_checks_job,
            ingest_test_files_job,
        ],
        schedules=schedules,
        sensors=sensors,
        resources=resources(),
        # Steps run one at a time anyway (one DuckDB writer: pool `duckdb`, limit 1), so a
        # run executes them in its own process rather than paying a subprocess per step.
        executor=in_process_executor,
    )
    return configure(definitions, days)


defs = build()
