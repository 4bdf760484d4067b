"""The KPI tables of schema ``kpi`` as Dagster assets, one per table of
:mod:`pipelines.kpi.build`.

Per-day tables are daily partitioned: materializing a day range rebuilds exactly those days
in one transaction, so a re-run (or a backfill over days that gained re-run attempts) is
idempotent. Window tables (test statistics over the trailing 7 days) are unpartitioned and
rebuilt whole for one window end (``as_of``, default: the last day of the run's range, else
the last complete UTC day), because their rows describe one window, not one day.
"""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Config,
    MaterializeResult,
    MetadataValue,
)

from assets.jobs_read import require_jobs_read
from pipelines import asset_keys, store
from pipelines.asset_keys import kpi_key
from pipelines.dagster_adapter import single_run_asset
from pipelines.kpi.build import TABLES, KpiTable, build_days, build_window
from pipelines.kpi.catalogue import TARGET_WINDOW_DAYS
from pipelines.kpi.filters import parse_day
from pipelines.partitions import daily_partitions, run_range_end
from pipelines.resources import DuckDBStore, KpiSettings

PREVIEW_ROWS = 10
_SOURCES = {"runs": asset_keys.RUNS, "jobs": asset_keys.JOBS, "tests": asset_keys.TESTS}


def deps(spec: KpiTable) -> list[AssetKey]:
    """The raw assets and KPI tables ``spec`` reads."""
    return [_SOURCES[s] for s in spec.sources] + [kpi_key(t) for t in spec.reads]


def last_complete_day(now: datetime | None = None) -> date:
    """The last complete UTC day: yesterday, in UTC."""
    return ((now or datetime.now(UTC)) - timedelta(days=1)).date()


class WindowConfig(Config):
    """Window end for the window tables: ``YYYY-MM-DD``; empty for the last day of the run's
    partition range, or the last complete day outside a ranged run."""

    as_of: str = ""


def _day_metadata(
    con: duckdb.DuckDBPyConnection, table: str, first: date, last: date, written: int
) -> dict[str, Any]:
    total = con.execute(f"SELECT count(*) FROM kpi.{table}").fetchone()[0]
    days = (last - first).days + 1
    preview = store.markdown_table(
        con,
        f"SELECT * FROM kpi.{table} WHERE day BETWEEN ? AND ? LIMIT {PREVIEW_ROWS}",
        [first, last],
    )
    return {
        "table": f"kpi.{table}",
        "rows": written,
        "days": days,
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "dagster/row_count": int(total),
        "preview": MetadataValue.md(preview),
    }


def _make_asset(spec: KpiTable) -> AssetsDefinition:
    # the facts over raw runs read the jobs too, so every KPI table waits for the jobs'
    # blocking check, and refuses a range whose completed runs have no jobs read
    # (assets/jobs_read.py)
    common: dict[str, Any] = {
        "name": spec.name,
        "key_prefix": "kpi",
        "deps": deps(spec),
        "group_name": "kpi",
        "kinds": {"duckdb", "sql"},
        "pool": "duckdb",
        "description": f"kpi.{spec.name}: {spec.description}",
        # window tables too, so a ranged run (`dagster asset materialize --partition-range`)
        # may include them: they run once, as of the range's last day
    }
    if spec.per_day:

        @single_run_asset(**common, partitions_def=daily_partitions)
        def _per_day(
            context: AssetExecutionContext, duckdb: DuckDBStore, kpi_settings: KpiSettings
        ) -> MaterializeResult:
            window = context.partition_time_window
            first, last = window.start.date(), (window.end - timedelta(days=1)).date()
            with duckdb.connect(memory_limit=store.BUILD_MEMORY_LIMIT) as con:
                if "runs" in spec.sources:
                    require_jobs_read(con, spec.name, first, last)
                written = build_days(con, spec.name, first, last, kpi_settings.config())
                metadata = _day_metadata(con, spec.name, first, last, written)
            context.log.info(f"kpi.{spec.name}: {written} rows for {first} … {last}")
            return MaterializeResult(metadata=metadata)

        return _per_day

    @single_run_asset(**common)
    def _window(
        context: AssetExecutionContext, duckdb: DuckDBStore, config: WindowConfig
    ) -> MaterializeResult:
        as_of = (
            parse_day(config.as_of, "config as_of") or run_range_end(context) or last_complete_day()
        )
        with duckdb.connect(memory_limit=store.BUILD_MEMORY_LIMIT) as con:
            written = build_window(con, spec.name, as_of)
            preview = store.markdown_table(
                con, f"SELECT * FROM kpi.{spec.name} LIMIT {PREVIEW_ROWS}"
            )
        context.log.info(f"kpi.{spec.name}: {written} rows as of {as_of}")
        return MaterializeResult(
            metadata={
                "table": f"kpi.{spec.name}",
                "rows": written,
                "as_of": as_of.isoformat(),
                "window_start": (as_of - timedelta(days=TARGET_WINDOW_DAYS - 1)).isoformat(),
                "dagster/row_count": written,
                "preview": MetadataValue.md(preview),
            }
        )

    return _window


kpi_assets: list[AssetsDefinition] = [_make_asset(spec) for spec in TABLES]
