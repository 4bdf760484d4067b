"""Jobs: named selections of assets that schedules, sensors and people launch."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from assets.github import JOBS_KEY, RUNS_KEY
from assets.test_results import TESTS_KEY
from pipelines import asset_keys
from pipelines.asset_keys import kpi_key
from pipelines.kpi.build import TABLES

PER_DAY_KPIS = [kpi_key(t.name) for t in TABLES if t.per_day]
WINDOW_KPIS = [kpi_key(t.name) for t in TABLES if not t.per_day]
DASHBOARD_KEY = asset_keys.DASHBOARD
TARGET_STATUS_KEY = kpi_key("target_status")

extract_github_job = define_asset_job(
    "extract_github",
    selection=AssetSelection.assets(RUNS_KEY, JOBS_KEY),
    description="Read GitHub Actions runs, attempts and jobs for the selected days.",
)

# The KPI target checks (on kpi.target_status) run in a run of their own, after the run
# that built the table: Dagster plans every check of a ranged run once per day of the range,
# and an unpartitioned run evaluates each exactly once.
TARGET_CHECKS = AssetSelection.checks_for_assets(TARGET_STATUS_KEY)

# One ranged run over the whole graph: the per-day assets cover the range, and the window
# tables and the dashboard then describe the window ending on the range's last day.
daily_pipeline_job = define_asset_job(
    "daily_pipeline",
    selection=AssetSelection.assets(
        RUNS_KEY, JOBS_KEY, TESTS_KEY, *PER_DAY_KPIS, *WINDOW_KPIS, DASHBOARD_KEY
    )
    - TARGET_CHECKS,
    description=(
        "The whole graph for a day range, in one run: runs, jobs, test results from "
        "artifacts, the per-day KPI tables with the raw data checks, then the window tables "
        "and the dashboard as of the range's last day. The KPI target checks follow in a "
        "kpi_target_checks run."
    ),
)

kpi_target_checks_job = define_asset_job(
    "kpi_target_checks",
    selection=TARGET_CHECKS,
    description=(
        "The KPI target checks over kpi.target_status (the 7 days to the last run's last "
        "day), once each; launched after each successful daily_pipeline or window_reports run."
    ),
)

window_reports_job = define_asset_job(
    "window_reports",
    selection=AssetSelection.assets(*WINDOW_KPIS, DASHBOARD_KEY) - TARGET_CHECKS,
    description="Only the window tables and the dashboard (as of yesterday, or config as_of).",
)
