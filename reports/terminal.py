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

from pipelines.kpi import formatting
from reports.charts import sparkline

STATUS_STYLE = {"ok": "bold green", "breach": "bold red", "no_data": "dim", "no_baseline": "yellow"}
TREND_STYLE = {"better": "green", "worse": "red", "same": "dim"}
TOP = 10
SPARK_POINTS = 14


def _kpi_table(window: dict[str, Any], repo: str, width: int) -> Table:
    """KPI cards as rows; trend and change give way first on narrow screens."""
    columns: list[tuple[str, str, int, Any]] = [  # (header, justify, narrowest width, cell)
        ("Value", "right", 0, lambda c, _: Text(kpi_value(c), style="bold")),
        ("Target", "right", 0, lambda c, _: Text(kpi_target(c))),
        ("Status", "left", 0, lambda c, _: Text(status(c), style=STATUS_STYLE[c["status"]])),
        (f"vs prev {window['days']}d", "right", 72, lambda c, t: Text(change(c), style=t)),
        ("Trend", "left", 80, lambda c, _: Text(history(c), style="cyan")),
    ]
    shown = [c for c in columns if width >= c[2]]
    table = Table(title=Text(f"KPI targets · {repo}"), title_justify="left", expand=False)
    table.add_column("KPI", min_width=12, ratio=1, overflow="fold")
    for name, justify, _, _ in shown:
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for c in window["kpis"]:
        if c["repo"] != repo:
            continue
        style = TREND_STYLE[formatting.trend(c["change"], c["lower_is_better"])]
        table.add_row(Text(c["label"]), *(cell(c, style) for _, _, _, cell in shown))
    return table


def kpi_value(c: dict[str, Any]) -> str:
    return formatting.kpi_value(c["value"], c["unit"])


def kpi_target(c: dict[str, Any]) -> str:
    return formatting.kpi_target(c["comparator"], c["target"], c["unit"])


def status(c: dict[str, Any]) -> str:
    return formatting.STATUS_LABELS[c["status"]]


def change(c: dict[str, Any]) -> str:
    return formatting.change(c["change"], c["unit"])


def history(c: dict[str, Any]) -> str:
    return sparkline(c.get("history", [])[-SPARK_POINTS:])


def _workflow_table(window: dict[str, Any], width: int) -> Table:
    """The busiest workflows; on narrow screens the least telling columns go first,
    so that workflow names are never squeezed out."""
    trend = {(s["repo"], s["workflow"]): s["values"] for s in window["series"]["success_rate_7d"]}

    def sparkline_of(w: dict[str, Any]) -> Text:
        values = trend.get((w["repo"], w["workflow_name"]), [])[-SPARK_POINTS:]
        return Text(sparkline(values), style="cyan")

    def change_of(w: dict[str, Any]) -> Text:
        t = formatting.trend(w["success_rate_change"], False)
        return Text(formatting.change(w["success_rate_change"], "fraction"), style=TREND_STYLE[t])

    columns: list[tuple[str, int, Any]] = [  # (header, narrowest screen that shows it, cell)
        ("Runs", 0, lambda w: formatting.number(w["runs"])),
        ("Success", 0, lambda w: formatting.percent(w["success_rate"])),
        ("Change", 80, change_of),
        ("Mean", 0, lambda w: formatting.duration(w["duration_mean_s"])),
        ("p95", 0, lambda w: formatting.duration(w["duration_p95_s"])),
        ("Compute min", 80, lambda w: formatting.number(w["compute_minutes"])),
        ("Success trend", 100, sparkline_of),
    ]
    shown = [c for c in columns if width >= c[1]]
    table = Table(title="Workflows", title_justify="left")
    table.add_column("Workflow", min_width=12, ratio=1, overflow="fold")
    for name, _, _ in shown:
        table.add_column(name, justify="left" if name == "Success trend" else "right", no_wrap=True)
    for w in window["workflows"][:TOP]:
        table.add_row(Text(w["label"]), *(cell(w) for _, _, cell in shown))
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


def _tests_table(window: dict[str, Any]) -> Table | Text:
    tests = window["tests"]
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


def _window(report: dict[str, Any], days: int) -> dict[str, Any]:
    return report["windows"].get(str(days)) or next(iter(report["windows"].values()))


def render_kpis(report: dict[str, Any], *, window: int = 7, console: Console | None = None) -> None:
    """Only the KPI tables of :func:`render_terminal`, one per repository: how the demo
    ends, so its KPIs read as they do in ``ci-metrics report`` and the dashboard."""
    console = console or Console()
    w = _window(report, window)
    for repo in report["repos"]:
        console.print(_kpi_table(w, repo, console.width))


def render_terminal(
    report: dict[str, Any], *, window: int = 7, console: Console | None = None
) -> None:
    """Print the report for one window to ``console`` (default: stdout)."""
    console = console or Console()
    w = _window(report, window)
    header = Text(f"CI metrics · last {w['days']} days ({w['start']} – {w['end']})", style="bold")
    header.append(f"\n{', '.join(report['repos']) or 'no repositories'}", style="dim")
    failed = [c for c in report["checks"] if not c["passed"]]
    parts: list[Any] = [
        *(_kpi_table(w, repo, console.width) for repo in report["repos"]),
        _workflow_table(w, console.width)
        if w["workflows"]
        else Text("No workflow runs in this window."),
        _volume(w),
        _tests_table(w),
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
