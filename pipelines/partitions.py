"""The daily partitioning shared by every per-day asset."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from dagster import DailyPartitionsDefinition, FreshnessPolicy

from pipelines import settings

daily_partitions = DailyPartitionsDefinition(
    start_date=settings.get(settings.START_DATE), timezone="UTC", fmt="%Y-%m-%d"
)


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """Naive-UTC [start, end) covering the days ``first`` … ``last`` inclusive."""
    return datetime.combine(first, time()), datetime.combine(last + timedelta(days=1), time())


# Raw data older than 36 h means the daily schedule has stopped delivering.
RAW_FRESHNESS_POLICY = FreshnessPolicy.time_window(fail_window=timedelta(hours=36))
