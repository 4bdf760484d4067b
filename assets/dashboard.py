"""The ``dashboard`` asset: the HTML dashboard, Markdown summary and JSON report.

Downstream of every KPI table, so materializing the KPIs and then this asset (or
``make demo``) leaves an up-to-date, self-contained report in the ``reports`` resource's
folder (``CI_METRICS_OUTPUT_DIR``).
It only reads the store; the files are the output.
"""

from pathlib import Path

from dagster import (
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
)

from assets.raw_checks import RAW_CHECKS
from pipelines import settings
from pipelines.asset_keys import kpi_key
from pipelines.dagster_adapter import latest_check_results, single_run_asset
from pipelines.kpi.build import TABLES
from pipelines.kpi.filters import parse_day
from pipelines.links import Explorer
from pipelines.partitions import run_range_end
from pipelines.resources import DuckDBStore, KpiSettings, ReportOutput
from pipelines.snapshot import publish as publish_snapshot
from pipelines.store import DASHBOARD_MEMORY_FLOOR_MB, set_memory_limit
from reports.data import WINDOWS, load_report, memory_for_tests
from reports.files import write_reports


class DashboardConfig(Config):
    """``window``: the window shown first (7, 30 or 90; the targets' 7 by default);
    ``as_of``: YYYY-MM-DD, empty for the last day of the run's partition range, else the
    last day the KPI tables cover."""

    window: int = 7
    as_of: str = ""


@single_run_asset(
    name="dashboard",
    group_name="reports",
    deps=[kpi_key(t.name) for t in TABLES],
    kinds={"html", "duckdb"},
    description=(
        "Self-contained HTML dashboard, summary.md and metrics-report.json in "
        f"{settings.OUTPUT_DIR.key} (default {settings.OUTPUT_DIR.default})."
    ),
)
def dashboard(
    context: AssetExecutionContext,
    duckdb: DuckDBStore,
    kpi_settings: KpiSettings,
    reports: ReportOutput,
    config: DashboardConfig,
) -> MaterializeResult:
    if config.window not in WINDOWS:
        raise ValueError(f"window must be one of {WINDOWS}, not {config.window}")
    as_of = parse_day(config.as_of, "config as_of") or run_range_end(context)
    floor = f"{DASHBOARD_MEMORY_FLOOR_MB}MB"
    with duckdb.connect(read_only=True, memory_limit=floor) as con:
        if not duckdb.memory_limit:  # none configured: what the windows' test rows need
            set_memory_limit(con, memory_for_tests(con, DASHBOARD_MEMORY_FLOOR_MB, as_of))
        report = load_report(
            con,
            as_of=as_of,
            config=kpi_settings.config(),
            checks=latest_check_results(context.instance, [c.spec().key for c in RAW_CHECKS]),
        )
    paths = write_reports(
        report, reports.output_dir, window=config.window, explorer_url=reports.explorer_url
    )
    context.log.info(f"dashboard written to {paths['dashboard'].resolve()}")
    metadata: dict[str, object] = {
        "as_of": report["as_of"],
        "repos": ", ".join(report["repos"]),
        "breaches_7d": sum(c["status"] == "breach" for c in report["windows"]["7"]["kpis"]),
    }
    overview = Explorer(reports.explorer_url).overview(
        report["repos"], report["windows"][str(config.window)]["start"], report["as_of"]
    )
    if overview:  # the window shown first, in the explorer
        metadata["explorer"] = MetadataValue.url(overview)
    for kind, path in paths.items():
        resolved = Path(path).resolve()
        metadata[f"{kind}_path"] = MetadataValue.path(str(resolved))
        metadata[f"{kind}_bytes"] = resolved.stat().st_size
    metadata["summary"] = MetadataValue.md(paths["summary"].read_text(encoding="utf-8"))
    snapshot = publish_snapshot(duckdb.path)  # what ci-metrics serve reads during the next run
    if snapshot is not None:
        metadata["snapshot_path"] = MetadataValue.path(str(snapshot.resolve()))
    return MaterializeResult(metadata=metadata)
