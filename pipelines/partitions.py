"""The daily partitioning shared by every per-day asset."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from dagster import DailyPartitionsDefinition

from pipelines import settings

daily_partitions = DailyPartitionsDefinition(
    start_date=settings.get(settings.START_DATE), timezone="UTC", fmt="%Y-%m-%d"
)


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """Naive-UTC [start, end) covering the days ``first`` … ``last`` inclusive."""
    return datetime.combine(first, time()), datetime.combine(last + timedelta(days=1), time())
