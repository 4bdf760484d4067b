"""The daily schedule: re-read the last few days, because runs can be re-run for 30 days."""

from __future__ import annotations

from datetime import timedelta

from dagster import RunRequest, ScheduleEvaluationContext, schedule

from pipelines import settings
from pipelines.jobs import extract_github_job
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
    job=extract_github_job,
    cron_schedule="30 2 * * *",
    execution_timezone="UTC",
    name="daily_github_extract",
    description="Every day at 02:30 UTC: one ranged run over the last CI_METRICS_LOOKBACK_DAYS.",
)
def daily_github_extract(context: ScheduleEvaluationContext) -> RunRequest:
    first, last = lookback_range(context, int(settings.get(settings.LOOKBACK_DAYS)))
    return RunRequest(
        run_key=f"{first}..{last}",
        tags={RANGE_START_TAG: first, RANGE_END_TAG: last},
    )
