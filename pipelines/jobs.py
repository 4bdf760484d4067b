"""Jobs: named selections of assets that schedules, sensors and people launch."""

from __future__ import annotations

from dagster import AssetKey, AssetSelection, define_asset_job

from assets.github import JOBS_KEY, RUNS_KEY
from assets.kpi import TABLES, kpi_key
from assets.test_results import TESTS_KEY

PER_DAY_KPIS = [kpi_key(t.name) for t in TABLES if t.per_day]
WINDOW_KPIS = [kpi_key(t.name) for t in TABLES if not t.per_day]

extract_github_job = define_asset_job(
    "extract_github",
    selection=AssetSelection.assets(RUNS_KEY, JOBS_KEY),
    description="Read GitHub Actions runs, attempts and jobs for the selected days.",
)

daily_pipeline_job = define_asset_job(
    "daily_pipeline",
    selection=AssetSelection.assets(RUNS_KEY, JOBS_KEY, TESTS_KEY, *PER_DAY_KPIS),
    description=(
        "Everything per day for a day range, in one run: runs, jobs, test results from "
        "artifacts, and the per-day KPI tables with their checks."
    ),
)

window_reports_job = define_asset_job(
    "window_reports",
    selection=AssetSelection.assets(*WINDOW_KPIS, AssetKey("dashboard")),
    description="The 7-day window tables as of yesterday, then the dashboard and summaries.",
)
