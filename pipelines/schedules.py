"""Daily schedules: re-read the last few days (runs can be re-run for 30 days), then
rebuild the window tables and the dashboard."""

from __future__ import annotations

from datetime import timedelta

from dagster import RunRequest, ScheduleEvaluationContext, schedule

from assets.dashboard import dashboard
from assets.kpi import kpi_assets
from pipelines import settings
from pipelines.jobs import WINDOW_KPIS, daily_pipeline_job, window_reports_job
from pipelines.partitions import daily_partitions

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def lookback_range(context: ScheduleEvaluationContext, days: int) -> tuple[str, str]:
    """The ``days`` complete UTC days before the tick, clipped to the first partition."""
    tick = context.scheduled_execution_time
    last = (tick - timedelta(days=1)).date()
    first = max(last - timedelta(days=max(1, days) - 1), daily_partitions.start.date())
    return first.isoformat(), last.isoformat()


@schedule(
    job=daily_pipeline_job,
    cron_schedule="30 2 * * *",
    execution_timezone="UTC",
    name="daily_pipeline_schedule",
    description="02:30 UTC: one ranged run over the last CI_METRICS_LOOKBACK_DAYS days.",
)
def daily_pipeline_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    first, last = lookback_range(context, settings.get_int(settings.LOOKBACK_DAYS, minimum=1))
    return RunRequest(
        run_key=f"{first}..{last}",
        tags={RANGE_START_TAG: first, RANGE_END_TAG: last},
    )


@schedule(
    job=window_reports_job,
    cron_schedule="30 4 * * *",
    execution_timezone="UTC",
    name="daily_reports_schedule",
    description="04:30 UTC: window tables as of yesterday, then the dashboard.",
)
def daily_reports_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    day = (context.scheduled_execution_time - timedelta(days=1)).date().isoformat()
    return RunRequest(run_key=day, run_config=as_of_config(day))


def as_of_config(day: str) -> dict:
    """Run config pinning every window table and the dashboard to the window ending ``day``."""
    window = [a for a in kpi_assets if a.key in WINDOW_KPIS]
    return {"ops": {a.op.name: {"config": {"as_of": day}} for a in [*window, dashboard]}}
