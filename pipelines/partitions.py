"""The daily partitioning shared by every per-day asset."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from dagster import AssetExecutionContext, DailyPartitionsDefinition, FreshnessPolicy

from pipelines import settings

# Run tags that make one run cover a partition range (what single-run backfills set).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def daily_partitions_from(start: str) -> DailyPartitionsDefinition:
    """UTC days from ``start`` (YYYY-MM-DD) on."""
    return DailyPartitionsDefinition(start_date=start, timezone="UTC", fmt="%Y-%m-%d")


# What the assets are declared with; the definitions put the configured start
# (CI_METRICS_START_DATE) in its place when they are built.
daily_partitions = daily_partitions_from(settings.START_DATE.default)


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """Naive-UTC [start, end) covering the days ``first`` … ``last`` inclusive."""
    return datetime.combine(first, time()), datetime.combine(last + timedelta(days=1), time())


# Data older than 36 h means the daily schedule has stopped delivering: one policy, applied
# to every materializable asset by the definitions.
FRESHNESS_POLICY = FreshnessPolicy.time_window(fail_window=timedelta(hours=36))


def run_range_end(context: AssetExecutionContext) -> date | None:
    """Last day of the partition range the run covers, if it covers one.

    Unpartitioned assets (window tables, dashboard) that run in a ranged run describe
    the window ending on that day, so a backfill of March shows March, not today.
    """
    tag = context.run.tags.get(RANGE_END_TAG) or context.run.tags.get("dagster/partition")
    return date.fromisoformat(tag) if tag else None


def range_tags(first: date, last: date) -> dict[str, str]:
    """Run tags that make one run cover the partitions ``first`` … ``last``."""
    return {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}
