"""The self-contained HTML dashboard: one file, inline CSS, SVG and a small script.

Rendered with Jinja2 autoescape, so every string from the data is escaped; the data the
script reads is JSON with ``<``, ``>`` and ``&`` escaped. The page carries a
Content-Security-Policy that allows no network at all and only its own inline script (by
hash), so even a missed escape could not run code or fetch anything. All windows are
rendered into the page; a radio group switches between them with CSS alone.

Runs, commits and pull requests link to GitHub (http(s) addresses only: anything else
stays text); with the explorer's address (``CI_METRICS_EXPLORER_URL``) workflows, runs and
KPI cards also link to its pages. A workflow filter re-adds, in the browser, the per-day
sums embedded per (workflow, day); views that are not sums say they are not filtered.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from pipelines import settings
from pipelines.kpi import formatting
from pipelines.links import Explorer, commit_url, pull_url, web_url
from reports import charts

MAX_SERIES = 8


def script_json(value: Any) -> Markup:
    """JSON safe to place inside a ``<script>`` element (no ``</script>``, no ``<!--``)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)  # noqa: S704 - <, > and & are escaped above


def _asset(name: str) -> str:
    return resources.files("reports").joinpath("templates", name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    """The CSP hash of an inline element's exact text."""
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def utc_time(iso: str) -> str:
    """An ISO timestamp as ``YYYY-MM-DD HH:MM UTC`` (naive means UTC already)."""
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        duration=formatting.duration,
        percent=formatting.percent,
        number=formatting.number,
        kpi_value=formatting.kpi_value,
        kpi_target=formatting.kpi_target,
        measured=formatting.measured,
        change=formatting.change,
        relative=formatting.relative,
        trend=formatting.trend,
        sort_value=lambda v: "" if v is None else charts.fmt_value(v),
        web_url=web_url,
        utc_time=utc_time,
    )
    env.globals["status_label"] = formatting.STATUS_LABELS
    return env


def _top(series: list[dict[str, Any]], order: list[tuple[Any, Any]]) -> list[dict[str, Any]]:
    """The busiest workflows' series, in workflow-table order (charts stay readable)."""
    rank = {key: i for i, key in enumerate(order)}
    keyed = [s for s in series if (s.get("repo"), s.get("workflow")) in rank]
    keyed.sort(key=lambda s: rank[(s["repo"], s["workflow"])])
    return keyed[:MAX_SERIES]


def _figure(
    chart_id: str,
    title: str,
    days: list[str],
    series: list[dict[str, Any]],
    *,
    kind: str,
    fmt: charts.Formatter,
    note: str = "",
    filtering: str = "unfiltered",
    y_min: float | None = None,
    y_max: float | None = None,
) -> dict[str, Any]:
    time_axis = fmt is formatting.duration
    if kind == "bar":
        svg = charts.stacked_bar_chart(chart_id, title, days, series, fmt=fmt)
    else:
        svg = charts.line_chart(
            chart_id,
            title,
            days,
            series,
            fmt=fmt,
            y_min=y_min,
            y_max=y_max,
            time_axis=time_axis,
        )
    return {
        "id": chart_id,
        "title": title,
        "note": note,
        "svg": svg,
        "legend": charts.legend(series) if series else Markup(""),
        "days": days,
        "series": series,
        "fmt": fmt,
        # how the workflow filter treats it: "sum" (re-added per workflow in the page),
        # "per_workflow" (the chosen workflow's series stands out) or "unfiltered"
        "filtering": filtering,
    }


def _pct(v: float) -> str:
    return formatting.percent(v, 0)


def _figures(window: dict[str, Any]) -> list[dict[str, Any]]:
    w = window["days"]
    s = window["series"]
    days = s["days"]
    order = [(r["repo"], r["workflow_name"]) for r in window["workflows"]]
    more = len(order) - MAX_SERIES
    note = f"The {MAX_SERIES} busiest of {len(order)} workflows." if more > 0 else ""
    success = _top(s["success_rate_7d"], order)
    return [
        _figure(
            f"success-{w}",
            "Success rate, 7-day rolling",
            days,
            success,
            kind="line",
            fmt=_pct,
            note=note,
            y_min=charts.rate_floor(success),
            y_max=1.0,
            filtering="per_workflow",
        ),
        _figure(
            f"duration-mean-{w}",
            "Average duration per workflow",
            days,
            _top(s["duration_mean_s"], order),
            kind="line",
            fmt=formatting.duration,
            note=note,
            filtering="per_workflow",
        ),
        _figure(
            f"duration-p95-{w}",
            "p95 duration per workflow",
            days,
            _top(s["duration_p95_s"], order),
            kind="line",
            fmt=formatting.duration,
            note=note,
            filtering="per_workflow",
        ),
        _figure(
            f"volume-{w}",
            "Daily run volume by event",
            days,
            s["volume_by_event"],
            kind="bar",
            fmt=lambda v: formatting.number(v),
            filtering="sum",
        ),
        _figure(
            f"compute-{w}",
            "Compute minutes per day",
            days,
            s["compute_minutes"],
            kind="bar",
            fmt=lambda v: formatting.number(v),
            filtering="sum",
        ),
        _figure(
            f"prwait-{w}",
            "PR validation and developer wait (daily mean)",
            days,
            s["pr_wait_s"],
            kind="line",
            fmt=formatting.duration,
        ),
    ]


def _filter_pairs(report: dict[str, Any], *names: str) -> dict[str, list[str]]:
    """The report's own filter values of ``names``, for the explorer links to keep."""
    return {n: list(report["filters"].get(n, [])) for n in names}


def _cards(
    window: dict[str, Any], repos: list[str], explorer: Explorer, report: dict[str, Any]
) -> list[dict[str, Any]]:
    kept = _filter_pairs(report, "workflow", "branch", "event")
    groups = []
    for repo in repos:
        cards = []
        for card in window["kpis"]:
            if card["repo"] != repo:
                continue
            spark = charts.svg_sparkline(
                card.get("history", []), label=f"{card['label']}, daily 7-day values"
            )
            link = explorer.overview([repo], window["start"], window["end"], **kept)
            cards.append({**card, "spark": spark, "explorer": link})
        groups.append({"repo": repo, "cards": cards})
    return groups


def _workflow_links(
    window: dict[str, Any], explorer: Explorer, report: dict[str, Any]
) -> dict[tuple[str, str | None], str | None]:
    """The explorer page of each workflow of the window, over the window's days."""
    kept = _filter_pairs(report, "branch", "event")
    return {
        (w["repo"], w["workflow_name"]): explorer.workflow(
            w["repo"], w["workflow_name"], window["start"], window["end"], **kept
        )
        if w["workflow_name"] is not None
        else None
        for w in window["workflows"]
    }


def _run_view(
    row: dict[str, Any], explorer: Explorer, report: dict[str, Any], workflows: dict
) -> dict[str, Any]:
    """A failed run with its links: GitHub (run, commit, PRs) and the explorer's pages."""
    base = report["github"]["repo_urls"].get(row["repo"])
    return {
        **row,
        "github": web_url(row.get("html_url")),
        "commit_url": commit_url(base, row.get("head_sha")),
        "prs": [(n, pull_url(base, n)) for n in row.get("pull_request_numbers") or []],
        "explorer": explorer.run(row["repo"], row["run_id"]),
        "workflow_explorer": workflows.get((row["repo"], row.get("workflow_name"))),
    }


def _flaky_view(row: dict[str, Any], explorer: Explorer, report: dict[str, Any]) -> dict:
    """A flaky test with its commits and runs linked to GitHub (and runs to the explorer)."""
    repo = row.get("repo") or ""
    base = report["github"]["repo_urls"].get(repo)
    runs = report["github"]["run_urls"]
    return {
        **row,
        "commits": [(sha, commit_url(base, sha)) for sha in (row.get("head_shas") or [])[:5]],
        "runs": [
            (rid, runs.get(f"{repo}#{rid}"), explorer.run(repo, rid) if repo else None)
            for rid in (row.get("run_ids") or [])[:6]
        ],
    }


def render_html(report: dict[str, Any], *, default_window: int = 7, explorer_url: str = "") -> str:
    """The dashboard page for ``report`` (from :func:`reports.data.load_report`), shown
    first over ``default_window`` days (the targets' 7), linking into the explorer at
    ``explorer_url`` when given."""
    explorer = Explorer(explorer_url)
    windows = sorted(report["windows"].values(), key=lambda w: w["days"])
    if str(default_window) not in report["windows"]:
        default_window = windows[-1]["days"]
    views = []
    for w in windows:
        links = _workflow_links(w, explorer, report)
        views.append(
            {
                **w,
                "figures": _figures(w),
                "card_groups": _cards(w, report["repos"], explorer, report),
                "workflow_links": links,
                "failed": [_run_view(r, explorer, report, links) for r in w["failed_runs"]],
                "flaky": [_flaky_view(r, explorer, report) for r in w["tests"]["flaky"][:25]],
            }
        )
    script = _asset("dashboard.js")
    css = _asset("dashboard.css")
    labels = sorted({wf["label"] for w in windows for wf in w["workflows"]})
    config = {
        "windows": [w["days"] for w in windows],
        "defaultWindow": default_window,
        "asOf": report["as_of"],
        "workflows": labels,
        # per (workflow, day) sums the workflow filter adds up: see reports.data.DAILY_SUMS
        "daily": report["workflow_daily"],
    }
    template = _environment().get_template("dashboard.html.j2")
    return template.render(
        report=report,
        views=views,
        default_window=default_window,
        css=Markup(css),  # noqa: S704 - packaged file, no data
        script=Markup(script),  # noqa: S704 - packaged file, no data
        script_hash=_sha256(script),
        style_hash=_sha256(css),
        config_json=script_json(config),
        failed_checks=[c for c in report["checks"] if not c["passed"]],
        totals=_daily_totals(report),
        baseline_keys=(settings.BASELINE_START.key, settings.BASELINE_END.key),
        explorer=explorer,
        overview_url=explorer.overview(
            report["filters"]["repo"],
            windows[0]["start"] if windows else None,
            report["as_of"],
            **_filter_pairs(report, "workflow", "branch", "event"),
        ),
    )


def _daily_totals(report: dict[str, Any]) -> dict[str, list[float]]:
    """The per-day sums over every workflow (what the filter shows when nothing is
    chosen), over the embedded days; each window shows its last days."""
    daily = report["workflow_daily"]
    n = len(daily["days"])
    return {
        "days": daily["days"],
        **{
            m: [sum(w[m][i] for w in daily["workflows"]) for i in range(n)]
            for m in ("runs", "failures", "compute_minutes", "duration_sum_s", "duration_count")
        },
    }
