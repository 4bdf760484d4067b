"""A Gantt-style SVG timeline of one attempt's jobs: a bar per job from ``started_at`` to
``completed_at``, its queue time (``created_at`` to ``started_at``) drawn lighter before
it. Plain SVG with classes for colours (no inline style, which the page's CSP forbids);
every string from the data goes through :func:`markupsafe.escape`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape

from pipelines.kpi import formatting
from reports.charts import nice_time_ticks

WIDTH = 960
LABEL_W = 280
RIGHT = 40
ROW_H = 22
TOP = 8
AXIS_H = 24
MAX_LABEL = 44


def _ts(value: Any) -> datetime | None:
    if value is None:
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _state(job: dict[str, Any]) -> str:
    if job.get("status") != "completed":
        return "running"
    return {"success": "ok", "failure": "bad", "timed_out": "bad"}.get(
        job.get("conclusion") or "", "other"
    )


def timeline(chart_id: str, jobs: Sequence[dict[str, Any]]) -> Markup:
    """The jobs of one attempt on a shared time axis starting at the first job's
    creation; jobs that never started are listed without a bar."""
    times = [
        t
        for j in jobs
        for t in (_ts(j.get("created_at")), _ts(j.get("started_at")), _ts(j.get("completed_at")))
        if t is not None
    ]
    height = TOP + ROW_H * max(1, len(jobs)) + AXIS_H
    head = (
        f'<svg class="gantt" data-chart="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label="Timeline of {len(jobs)} jobs">'
    )
    if not times:
        return Markup(  # noqa: S704 - no data string inside
            head + f'<text class="nodata" x="{WIDTH / 2}" y="{height / 2}" '
            'text-anchor="middle">No job timings</text></svg>'
        )
    t0 = min(times)
    span = max(1.0, (max(times) - t0).total_seconds())
    ticks = nice_time_ticks(0.0, span)
    span = max(span, ticks[-1])
    inner = WIDTH - LABEL_W - RIGHT

    def x(t: datetime) -> float:
        return LABEL_W + inner * (t - t0).total_seconds() / span

    parts = [head]
    bottom = TOP + ROW_H * len(jobs)
    for tick in ticks:
        tx = LABEL_W + inner * tick / span
        parts.append(
            f'<line class="grid" x1="{tx:.1f}" x2="{tx:.1f}" y1="{TOP}" y2="{bottom}"/>'
            f'<text class="tick" x="{tx:.1f}" y="{bottom + 16}" text-anchor="middle">'
            f"{escape(formatting.duration(tick))}</text>"
        )
    for i, job in enumerate(jobs):
        y = TOP + i * ROW_H
        name = str(job.get("name") or "")
        short = name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 1] + "…"
        created, started = _ts(job.get("created_at")), _ts(job.get("started_at"))
        completed = _ts(job.get("completed_at"))
        state = _state(job)
        title = (
            f"{name}: {job.get('conclusion') or job.get('status') or 'unknown'}, "
            f"ran {formatting.duration(job.get('duration_s'))}, "
            f"queued {formatting.duration(job.get('queue_s'))}"
        )
        parts.append(
            f'<g class="job {state}" data-job="{escape(name)}" '
            f'data-started="{escape(str(job.get("started_at") or ""))}" '
            f'data-completed="{escape(str(job.get("completed_at") or ""))}">'
            f"<title>{escape(title)}</title>"
            f'<text class="label" x="{LABEL_W - 8}" y="{y + ROW_H * 0.68:.1f}" '
            f'text-anchor="end">{escape(short)}</text>'
        )
        if created and started and started >= created:
            parts.append(
                f'<rect class="queue" x="{x(created):.1f}" y="{y + 6}" '
                f'width="{max(0.5, x(started) - x(created)):.1f}" height="{ROW_H - 12}"/>'
            )
        if started:
            end = completed if completed and completed >= started else max(times)
            parts.append(
                f'<rect class="bar" x="{x(started):.1f}" y="{y + 3}" '
                f'width="{max(1.0, x(end) - x(started)):.1f}" height="{ROW_H - 6}"/>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - data strings escaped above
