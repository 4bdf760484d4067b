"""``ci-metrics report``: the KPIs, workflows and tests in a terminal, with colours and
sparklines, read straight from the DuckDB store (no Dagster needed).

Every string from the data is printed as text, never as Rich markup, so a name like
``[bold]x[/]`` shows literally.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from reports import formatting
from reports.charts import sparkline

STATUS_STYLE = {"ok": "bold green", "breach": "bold red", "no_data": "dim", "no_baseline": "yellow"}
TREND_STYLE = {"better": "green", "worse": "red", "same": "dim"}
TOP = 10
SPARK_POINTS = 14


def _kpi_table(window: dict[str, Any], repo: str) -> Table:
    table = Table(title=f"KPI targets · {repo}", title_justify="left", expand=False)
    for name, justify in (
        ("KPI", "left"),
        ("Value", "right"),
        ("Target", "right"),
        ("Status", "left"),
        (f"vs prev {window['days']}d", "right"),
        ("Trend", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=name != "KPI")  # type: ignore[arg-type]
    for c in window["kpis"]:
        if c["repo"] != repo:
            continue
        trend = formatting.trend(c["change"], c["lower_is_better"])
        cells = [
            Text(c["label"]),
            Text(formatting.kpi_value(c["value"], c["unit"]), style="bold"),
            Text(formatting.kpi_target(c["comparator"], c["target"], c["unit"])),
            Text(formatting.STATUS_LABELS[c["status"]], style=STATUS_STYLE[c["status"]]),
            Text(formatting.change(c["change"], c["unit"]), style=TREND_STYLE[trend]),
            Text(sparkline(c.get("history", [])[-SPARK_POINTS:]), style="cyan"),
        ]
        table.add_row(*cells)
    return table


def _workflow_table(window: dict[str, Any]) -> Table:
    table = Table(title="Workflows", title_justify="left")
    table.add_column("Workflow", min_width=12)
    for name in ("Runs", "Success", "Change", "Mean", "p95", "Compute min"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("Success trend", no_wrap=True)
    trend = {(s["repo"], s["workflow"]): s["values"] for s in window["series"]["success_rate_7d"]}
    for w in window["workflows"][:TOP]:
        t = formatting.trend(w["success_rate_change"], False)
        table.add_row(
            Text(w["label"]),
            formatting.number(w["runs"]),
            formatting.percent(w["success_rate"]),
            Text(formatting.change(w["success_rate_change"], "fraction"), style=TREND_STYLE[t]),
            formatting.duration(w["duration_mean_s"]),
            formatting.duration(w["duration_p95_s"]),
            formatting.number(w["compute_minutes"]),
            Text(
                sparkline(trend.get((w["repo"], w["workflow_name"]), [])[-SPARK_POINTS:]),
                style="cyan",
            ),
        )
    return table


def _volume(window: dict[str, Any]) -> Text:
    series = window["series"]["volume_by_event"]
    totals = [
        sum(s["values"][i] or 0 for s in series) for i in range(len(window["series"]["days"]))
    ]
    text = Text("Runs per day  ")
    text.append(sparkline(totals) if any(totals) else "no data", style="magenta")
    minutes = window["series"]["compute_minutes"]
    cm = [sum(s["values"][i] or 0 for s in minutes) for i in range(len(totals))]
    text.append("\nCompute min   ")
    text.append(sparkline(cm) if any(cm) else "no data", style="magenta")
    return text


def _tests_table(report: dict[str, Any]) -> Table | Text:
    tests = report["tests"]
    if not tests["flaky"] and not tests["slow"]:
        return Text("Tests: no data (no flaky or slow tests in the test window).", style="dim")
    table = Table(title=f"Tests ({tests['window_start']} – {tests['as_of']})", title_justify="left")
    table.add_column("Test")
    table.add_column("Why")
    table.add_column("Detail", justify="right")
    for t in tests["flaky"][:TOP]:
        table.add_row(Text(t["test_id"]), Text("flaky", style="red"), f"{t['flaky_units']} commits")
    for t in tests["slow"][:TOP]:
        why = "consistently slow" if t["consistently_slow"] else "slow"
        table.add_row(
            Text(t["test_id"]),
            Text(why, style="yellow"),
            formatting.duration(t["median_duration_s"]),
        )
    return table


def render_terminal(
    report: dict[str, Any], *, window: int = 7, console: Console | None = None
) -> None:
    """Print the report for one window to ``console`` (default: stdout)."""
    console = console or Console()
    w = report["windows"].get(str(window)) or next(iter(report["windows"].values()))
    header = Text(f"CI metrics · last {w['days']} days ({w['start']} – {w['end']})", style="bold")
    header.append(f"\n{', '.join(report['repos']) or 'no repositories'}", style="dim")
    failed = [c for c in report["checks"] if not c["passed"]]
    parts: list[Any] = [
        *(_kpi_table(w, repo) for repo in report["repos"]),
        _workflow_table(w) if w["workflows"] else Text("No workflow runs in this window."),
        _volume(w),
        _tests_table(report),
    ]
    if failed:
        parts.append(
            Text(
                "Failed checks: " + ", ".join(f"{c['check']} ({c['violations']})" for c in failed),
                style="bold red",
            )
        )
    console.print(Panel(header, expand=False))
    console.print(Group(*parts))
