"""``/metrics``: the KPIs of the latest day of ``kpi.targets`` and each repository's last
extraction time, in Prometheus' text format. A fresh registry per scrape, so a KPI or a
repository that is gone is gone from the next scrape too; NULL values are left out."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from pipelines.store import table_exists
from reports.explorer.source import Origin

CONTENT_TYPE = CONTENT_TYPE_LATEST


def _seconds(ts: datetime) -> float:
    return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).timestamp()


def exposition(con: duckdb.DuckDBPyConnection, origin: Origin) -> bytes:
    registry = CollectorRegistry(auto_describe=True)
    value = Gauge(
        "ci_metrics_kpi_value",
        "KPI value over the 7 days ending on the latest day of kpi.targets",
        ["repo", "kpi"],
        registry=registry,
    )
    target = Gauge(
        "ci_metrics_kpi_target", "KPI target (kpi.targets)", ["repo", "kpi"], registry=registry
    )
    breach = Gauge(
        "ci_metrics_kpi_breach",
        "1 when the KPI misses its target on the latest day, 0 when it meets it",
        ["repo", "kpi"],
        registry=registry,
    )
    day = Gauge(
        "ci_metrics_kpi_day_timestamp_seconds",
        "Start (00:00 UTC) of the latest day of kpi.targets",
        registry=registry,
    )
    extracted = Gauge(
        "ci_metrics_last_extraction_timestamp_seconds",
        "Latest extracted_at of raw.workflow_runs per repository",
        ["repo"],
        registry=registry,
    )
    if table_exists(con, "kpi", "targets"):
        rows = con.execute(
            "SELECT repo, kpi, value, target, status, day FROM kpi.targets "
            "WHERE day = (SELECT max(day) FROM kpi.targets) ORDER BY repo, kpi"
        ).fetchall()
        for repo, kpi, v, t, status, d in rows:
            if v is not None:
                value.labels(repo=repo, kpi=kpi).set(v)
            if t is not None:
                target.labels(repo=repo, kpi=kpi).set(t)
            if status in ("ok", "breach"):
                breach.labels(repo=repo, kpi=kpi).set(1 if status == "breach" else 0)
            day.set(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())
    for repo, at in con.execute(
        "SELECT repo, max(extracted_at) FROM raw.workflow_runs GROUP BY repo ORDER BY repo"
    ).fetchall():
        if at is not None:
            extracted.labels(repo=repo).set(_seconds(at))
    if origin.modified_at is not None:
        Gauge(
            "ci_metrics_data_timestamp_seconds",
            f"When the {origin.kind} the explorer reads was last written",
            registry=registry,
        ).set(origin.modified_at.timestamp())
    return generate_latest(registry)
