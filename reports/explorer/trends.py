"""The daily charts of the overview and workflow pages, from the KPI layer's series
(windows of one day), drawn by :mod:`reports.charts`."""

from __future__ import annotations

from typing import Any

import duckdb

from pipelines.kpi import formatting, query
from pipelines.kpi.config import KpiConfig
from pipelines.kpi.filters import Filters, Period, Windows
from reports import charts

MEASURES = ("runs", "success_rate", "duration_p50_s", "duration_p95_s")


def _per_repo(
    got: dict, measure: str, days: list, repos: list[str], label: str = ""
) -> list[dict[str, Any]]:
    out = []
    for repo in repos:
        values = [got.get((repo, None, None, d), {}).get(measure) for d in days]
        if any(v is not None for v in values):
            parts = [repo] if len(repos) > 1 or not label else []
            name = " · ".join([*parts, label] if label else parts)
            out.append({"label": name, "values": values})
    return out


def daily(
    con: duckdb.DuckDBPyConnection,
    repos: list[str],
    filters: Filters,
    period: Period,
    config: KpiConfig,
) -> dict[str, Any]:
    """Per day: runs per event (the repos added up), success rate and duration p50/p95 per
    repo, as JSON-ready series and as SVG figures."""
    windows = Windows.each_day(period)
    days = period.day_list()
    got = query.series(con, MEASURES, filters, windows, config=config)
    by_event = query.series(con, ["runs"], filters, windows, by=["event"], config=config)
    volume: dict[str, list[float]] = {}
    index = {d: i for i, d in enumerate(days)}
    for (_, _, event, day), v in sorted(by_event.items(), key=lambda kv: str(kv[0])):
        label = "(none)" if event is None else event
        volume.setdefault(label, [0] * len(days))[index[day]] += v["runs"]
    names = [d.isoformat() for d in days]
    series = {
        "days": names,
        "runs_by_event": [{"label": k, "values": v} for k, v in sorted(volume.items())],
        "success_rate": _per_repo(got, "success_rate", days, repos),
        "duration": [
            *_per_repo(got, "duration_p50_s", days, repos, "p50"),
            *_per_repo(got, "duration_p95_s", days, repos, "p95"),
        ],
    }
    figures = [
        _figure(
            "runs",
            "Runs per day by event",
            charts.stacked_bar_chart(
                "runs",
                "Runs per day by event",
                names,
                series["runs_by_event"],
                fmt=lambda v: formatting.number(v),
            ),
            series["runs_by_event"],
        ),
        _figure(
            "success",
            "Success rate per day",
            charts.line_chart(
                "success",
                "Success rate per day",
                names,
                series["success_rate"],
                fmt=lambda v: formatting.percent(v, 0),
                y_min=charts.rate_floor(series["success_rate"]),
                y_max=1.0,
            ),
            series["success_rate"],
        ),
        _figure(
            "duration",
            "Run duration per day (p50, p95)",
            charts.line_chart(
                "duration",
                "Run duration per day (p50, p95)",
                names,
                series["duration"],
                fmt=formatting.duration,
                time_axis=True,
            ),
            series["duration"],
        ),
    ]
    return {"series": series, "figures": figures}


def _figure(chart_id: str, title: str, svg: Any, series: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": chart_id, "title": title, "svg": svg, "legend": charts.legend(series)}
