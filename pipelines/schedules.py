"""Schedules: every night the last few days, every week the last month, as ranged runs.

Runs can be re-run (and late jobs complete) for days after they start, so each tick
re-reads a trailing range rather than only yesterday; a range is one run because the
assets have a single-run backfill policy.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from dagster import (
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from pipelines.jobs import daily_pipeline_job
from pipelines.partitions import range_tags


def lookback_range(tick: datetime, days: int, first_day: date) -> tuple[date, date]:
    """The ``days`` complete UTC days before ``tick``, clipped to ``first_day`` (the first
    partition)."""
    last = (tick - timedelta(days=1)).date()
    first = max(last - timedelta(days=max(1, days) - 1), first_day)
    return first, last


def range_request(first: date, last: date, origin: str) -> RunRequest | SkipReason:
    """A run of the whole graph over ``first`` … ``last``; the key makes repeats no-ops."""
    if first > last:
        return SkipReason(f"{last} is before the first partition {first}")
    return RunRequest(run_key=f"{origin}:{first}..{last}", tags=range_tags(first, last))


def build_schedules(
    first_day: date, *, lookback_days: int, reread_days: int
) -> list[ScheduleDefinition]:
    """The daily run (yesterday and ``lookback_days`` days before it) and the weekly re-read
    (the last ``reread_days`` days), never before ``first_day``."""

    @schedule(
        job=daily_pipeline_job,
        cron_schedule="0 2 * * *",
        execution_timezone="UTC",
        name="daily_pipeline_schedule",
        description=(
            f"02:00 UTC: the whole graph for yesterday and the {lookback_days} days before it "
            "(CI_METRICS_LOOKBACK_DAYS), as one ranged run."
        ),
    )
    def daily_pipeline_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        tick = context.scheduled_execution_time
        first, last = lookback_range(tick, lookback_days + 1, first_day)
        return range_request(first, last, "daily")

    @schedule(
        job=daily_pipeline_job,
        cron_schedule="0 3 * * 0",
        execution_timezone="UTC",
        name="weekly_reread_schedule",
        description=(
            f"Sundays 03:00 UTC: the whole graph for the last {reread_days} days "
            "(CI_METRICS_REREAD_DAYS), catching re-runs and late completions older than the "
            "daily lookback."
        ),
    )
    def weekly_reread_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        first, last = lookback_range(context.scheduled_execution_time, reread_days, first_day)
        return range_request(first, last, "weekly")

    return [daily_pipeline_schedule, weekly_reread_schedule]
