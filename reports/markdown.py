"""``summary.md``: the KPIs against their targets and the top offenders, in plain Markdown.

Written for a GitHub job summary or a PR comment, which strip most HTML: only tables,
emphasis and emoji-free status words. Every string from the data is escaped so a workflow
or test name can neither break a table nor inject markup or links.
"""

from __future__ import annotations

import re
from typing import Any

from pipelines.kpi import formatting
from reports.charts import sparkline

TOP = 5
STATUS_MARK = {"ok": "✅ on target", "breach": "❌ off target", "no_data": "⚪ no data"} | {
    "no_baseline": "⚪ no baseline"
}
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|<>&~])")


def md_escape(text: object) -> str:
    """Text that Markdown shows literally: specials backslash-escaped, no line breaks."""
    flat = " ".join(str(text).split())
    return _SPECIAL.sub(r"\\\1", flat)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def render_markdown(report: dict[str, Any], *, window: int = 7) -> str:
    """The summary for one window (7, 30 or 90 days)."""
    w = report["windows"].get(str(window)) or next(iter(report["windows"].values()))
    multi = len(report["repos"]) > 1
    out = [
        f"## CI metrics: last {w['days']} days ({w['start']} – {w['end']})",
        "",
        f"Repositories: {', '.join(md_escape(r) for r in report['repos']) or 'none'}. "
        f"Generated {report['generated_at'].replace('T', ' ')} UTC.",
        "",
        "### KPI targets",
        "",
    ]
    rows = []
    for c in w["kpis"]:
        name = f"{md_escape(c['repo'])}: {c['label']}" if multi else c["label"]
        rows.append(
            [
                name,
                formatting.kpi_value(c["value"], c["unit"]),
                formatting.kpi_target(c["comparator"], c["target"], c["unit"]),
                STATUS_MARK[c["status"]],
                formatting.change(c["change"], c["unit"]),
            ]
        )
    out += _table(["KPI", "Value", "Target", "Status", f"vs previous {w['days']} days"], rows)
    breaches = [c for c in w["kpis"] if c["status"] == "breach"]
    out += ["", f"**{len(breaches)} of {len(w['kpis'])} targets missed.**", ""]

    wfs = w["workflows"]
    if wfs:
        out += ["### Top offenders", "", "Lowest success rate:", ""]
        worst = sorted(
            (x for x in wfs if x["success_rate"] is not None), key=lambda x: x["success_rate"]
        )[:TOP]
        trend = {(s["repo"], s["workflow"]): s["values"] for s in w["series"]["success_rate_7d"]}
        out += _table(
            ["Workflow", "Success", "Runs", "Trend (7-day rolling)"],
            [
                [
                    md_escape(x["label"]),
                    formatting.percent(x["success_rate"]),
                    formatting.number(x["runs"]),
                    sparkline(trend.get((x["repo"], x["workflow_name"]), [])) or "–",
                ]
                for x in worst
            ],
        )
        out += ["", "Slowest (p95 duration):", ""]
        slow = sorted(
            (x for x in wfs if x["duration_p95_s"] is not None),
            key=lambda x: -x["duration_p95_s"],
        )[:TOP]
        out += _table(
            ["Workflow", "p95", "Mean", "Compute min"],
            [
                [
                    md_escape(x["label"]),
                    formatting.duration(x["duration_p95_s"]),
                    formatting.duration(x["duration_mean_s"]),
                    formatting.number(x["compute_minutes"]),
                ]
                for x in slow
            ],
        )
        out.append("")
    else:
        out += ["No workflow runs in this window.", ""]

    tests = w["tests"]
    out += ["### Tests", ""]
    if tests["flaky"]:
        out += ["Flaky tests:", ""]
        out += _table(
            ["Test", "Flaky commits", "Last commit"],
            [
                [
                    md_escape(t["test_id"]),
                    str(t["flaky_units"]),
                    md_escape((t["last_seen_sha"] or "")[:10]) or "–",
                ]
                for t in tests["flaky"][:TOP]
            ],
        )
        out.append("")
    if tests["slow"]:
        out += ["Slowest tests:", ""]
        out += _table(
            ["Test", "Median", "Consistently slow"],
            [
                [
                    md_escape(t["test_id"]),
                    formatting.duration(t["median_duration_s"]),
                    "yes" if t["consistently_slow"] else "no",
                ]
                for t in tests["slow"][:TOP]
            ],
        )
        out.append("")
    if not tests["flaky"] and not tests["slow"]:
        out += ["No data: no flaky or slow tests in the test window.", ""]
    failed = [c for c in report["checks"] if not c["passed"]]
    if failed:
        out += ["### Failed data-quality checks", ""]
        out += [f"- {md_escape(c['check'])}: {c['violations']} row(s)" for c in failed]
        out.append("")
    return "\n".join(out).rstrip() + "\n"
