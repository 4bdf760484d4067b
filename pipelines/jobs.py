"""Jobs: named selections of assets that schedules, sensors and people launch."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from assets.github import JOBS_KEY, RUNS_KEY

extract_github_job = define_asset_job(
    "extract_github",
    selection=AssetSelection.assets(RUNS_KEY, JOBS_KEY),
    description="Read GitHub Actions runs, attempts and jobs for the selected days.",
)
