"""After a run that rebuilt ``kpi.target_status``, the KPI target checks, in a run of their own.

The checks read the table as that run left it (the 7 days to its range's last day). A run of
their own is unpartitioned, so each check is evaluated once however many days the range had.
"""

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunStatusSensorContext,
    run_status_sensor,
)

from pipelines.jobs import daily_pipeline_job, kpi_target_checks_job, window_reports_job


@run_status_sensor(
    name="kpi_target_checks_after_runs",
    run_status=DagsterRunStatus.SUCCESS,
    monitored_jobs=[daily_pipeline_job, window_reports_job],
    request_job=kpi_target_checks_job,
    default_status=DefaultSensorStatus.RUNNING,
    description="Runs the KPI target checks once after each successful pipeline run.",
)
def kpi_target_checks_after_runs(context: RunStatusSensorContext) -> RunRequest:
    """One checks run per finished pipeline run (the run key makes a repeat a no-op)."""
    return RunRequest(run_key=f"targets-after:{context.dagster_run.run_id}")
