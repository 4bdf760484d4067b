"""The self-contained HTML dashboard: one file, inline CSS, SVG and a small script.

Rendered with Jinja2 autoescape, so every string from the data is escaped; the data the
script reads is JSON with ``<``, ``>`` and ``&`` escaped. The page carries a
Content-Security-Policy that allows no network at all and only its own inline script (by
hash), so even a missed escape could not run code or fetch anything. All windows are
rendered into the page; a radio group switches between them with CSS alone.
"""

from __future__ import annotations

import base64
import hashlib
import json
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from pipelines.kpi import formatting
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
        change=formatting.change,
        relative=formatting.relative,
        trend=formatting.trend,
        sort_value=lambda v: "" if v is None else charts.fmt_value(v),
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
    return [
        _figure(
            f"success-{w}",
            "Success rate, 7-day rolling",
            days,
            _top(s["success_rate_7d"], order),
            kind="line",
            fmt=_pct,
            note=note,
            y_max=1.0,
        ),
        _figure(
            f"duration-mean-{w}",
            "Average duration per workflow",
            days,
            _top(s["duration_mean_s"], order),
            kind="line",
            fmt=formatting.duration,
            note=note,
        ),
        _figure(
            f"duration-p95-{w}",
            "p95 duration per workflow",
            days,
            _top(s["duration_p95_s"], order),
            kind="line",
            fmt=formatting.duration,
            note=note,
        ),
        _figure(
            f"volume-{w}",
            "Daily run volume by event",
            days,
            s["volume_by_event"],
            kind="bar",
            fmt=lambda v: formatting.number(v),
        ),
        _figure(
            f"compute-{w}",
            "Compute minutes per day",
            days,
            s["compute_minutes"],
            kind="bar",
            fmt=lambda v: formatting.number(v),
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


def _cards(window: dict[str, Any], repos: list[str]) -> list[dict[str, Any]]:
    groups = []
    for repo in repos:
        cards = []
        for card in window["kpis"]:
            if card["repo"] != repo:
                continue
            spark = charts.svg_sparkline(
                card.get("history", []), label=f"{card['label']}, daily 7-day values"
            )
            cards.append({**card, "spark": spark})
        groups.append({"repo": repo, "cards": cards})
    return groups


def render_html(report: dict[str, Any], *, default_window: int = 30) -> str:
    """The dashboard page for ``report`` (from :func:`reports.data.load_report`)."""
    windows = sorted(report["windows"].values(), key=lambda w: w["days"])
    if str(default_window) not in report["windows"]:
        default_window = windows[-1]["days"]
    views = [
        {
            **w,
            "figures": _figures(w),
            "card_groups": _cards(w, report["repos"]),
        }
        for w in windows
    ]
    script = _asset("dashboard.js")
    css = _asset("dashboard.css")
    labels = sorted({wf["label"] for w in windows for wf in w["workflows"]})
    config = {
        "windows": [w["days"] for w in windows],
        "defaultWindow": default_window,
        "asOf": report["as_of"],
        "workflows": labels,
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
    )
