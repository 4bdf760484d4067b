"""Every asset key of the code location, in one place: assets, checks, jobs, sensors and
alerts name assets through these."""

from dagster import AssetKey

RUNS = AssetKey("github_workflow_runs")
JOBS = AssetKey("github_workflow_jobs")
TESTS = AssetKey("test_results")
DASHBOARD = AssetKey("dashboard")


def kpi_key(table: str) -> AssetKey:
    """Asset key of the KPI table ``kpi.<table>``."""
    return AssetKey(["kpi", table])
