"""Inline SVG charts made in Python, so the dashboard needs no script library or network.

Every chart is plain SVG markup: lines are one ``<path>`` per series, bars one ``<rect>``
per value. Each series carries its values in ``data-values`` (bars in ``data-value``), so a
test (or a curious reader) can check what is drawn against the KPI tables. Every string
that comes from the data goes through :func:`markupsafe.escape`; colours come from CSS
classes (``s0`` … ``s7``) so the page's light and dark themes apply.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 12, 26
PALETTE_SIZE = 8
SPARK_BARS = "▁▂▃▄▅▆▇█"

Formatter = Callable[[float], str]


def fmt_value(value: float | None) -> str:
    """A compact, exact-enough number for ``data-*`` attributes (empty for no value)."""
    if value is None:
        return ""
    return f"{value:.6g}"


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values covering ``low`` … ``high`` (1, 2, 2.5 or 5 times a power of ten)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))
    first = math.floor(low / step + 1e-9) * step  # 0.6 / 0.1 is 5.999…: still 6 steps
    ticks = []
    value = first
    while value < high + step * 0.5 and len(ticks) < 12:
        ticks.append(round(value, 10))
        if value >= high:
            break
        value += step
    return ticks


TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)


def nice_time_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Ticks at round durations (30 s, 1 min, 5 min, 1 h …) so axis labels read cleanly."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    step = next((t for t in TIME_STEPS if t >= raw), None)
    if step is None:
        step = math.ceil(raw / 21600) * 21600
    first = math.floor(low / step) * step
    ticks = [float(first)]
    while ticks[-1] < high and len(ticks) < 12:
        ticks.append(ticks[-1] + step)
    return ticks


def _x_positions(n: int) -> list[float]:
    inner = WIDTH - LEFT - RIGHT
    if n == 1:
        return [LEFT + inner / 2]
    return [LEFT + inner * i / (n - 1) for i in range(n)]


def _y(value: float, lo: float, hi: float) -> float:
    inner = HEIGHT - TOP - BOTTOM
    return TOP + inner * (1 - (value - lo) / (hi - lo))


def _date_labels(days: Sequence[str], xs: Sequence[float], bars: bool = False) -> list[str]:
    """About six evenly spaced ``MM-DD`` labels under the x axis."""
    n = len(days)
    step = max(1, math.ceil(n / 6))
    out = []
    for i in range(0, n, step):
        out.append(
            f'<text class="tick" x="{xs[i]:.1f}" y="{HEIGHT - 8}" '
            f'text-anchor="middle">{escape(days[i][5:])}</text>'
        )
    return out


def _y_axis(ticks: Sequence[float], lo: float, hi: float, fmt: Formatter) -> list[str]:
    out = []
    for t in ticks:
        y = _y(t, lo, hi)
        out.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        out.append(
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(fmt(t))}</text>"
        )
    return out


def _open(chart_id: str, title: str, desc: str, kind: str) -> str:
    return (
        f'<svg class="chart" data-chart="{escape(chart_id)}" data-kind="{kind}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" preserveAspectRatio="xMidYMid meet" '
        f'aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d">'
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-d">{escape(desc)}</desc>'
    )


def _empty(chart_id: str, title: str) -> Markup:
    return Markup(  # noqa: S704 - every data string inside went through escape()
        _open(chart_id, title, "No data for this window.", "empty")
        + f'<text class="nodata" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
        "No data</text></svg>"
    )


def line_chart(
    chart_id: str,
    title: str,
    days: Sequence[str],
    series: Sequence[dict[str, Any]],
    *,
    fmt: Formatter = fmt_value,
    y_min: float | None = None,
    y_max: float | None = None,
    time_axis: bool = False,
) -> Markup:
    """One line per series over ``days``; ``None`` values leave a gap."""
    values = [v for s in series for v in s["values"] if v is not None]
    if not days or not values:
        return _empty(chart_id, title)
    lo = min(values) if y_min is None else y_min
    hi = max(values) if y_max is None else y_max
    tick_fn = nice_time_ticks if time_axis else nice_ticks
    ticks = tick_fn(min(lo, 0.0) if y_min is None and lo > 0 else lo, hi)
    lo, hi = ticks[0], ticks[-1]
    if hi <= lo:
        hi = lo + 1
    xs = _x_positions(len(days))
    parts = [
        _open(
            chart_id,
            title,
            f"Line chart of {len(series)} series over {len(days)} days, "
            f"{days[0]} to {days[-1]}. The data table follows the chart.",
            "line",
        )
    ]
    parts += _y_axis(ticks, lo, hi, fmt)
    parts += _date_labels(days, xs)
    for i, s in enumerate(series):
        d, pen = [], "M"
        for x, v in zip(xs, s["values"], strict=True):
            if v is None:
                pen = "M"
                continue
            d.append(f"{pen}{x:.1f} {_y(v, lo, hi):.1f}")
            pen = "L"
        dots = "".join(
            f'<circle cx="{x:.1f}" cy="{_y(v, lo, hi):.1f}" r="2.2"/>'
            for x, v in zip(xs, s["values"], strict=True)
            if v is not None and len(days) <= 31
        )
        parts.append(
            f'<g class="series s{i % PALETTE_SIZE}" data-series="{escape(s["label"])}" '
            f'data-values="{",".join(fmt_value(v) for v in s["values"])}">'
            f"<title>{escape(s['label'])}</title>"
            f'<path class="line" d="{"".join(d)}"/>{dots}</g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - data strings escaped above


def stacked_bar_chart(
    chart_id: str,
    title: str,
    days: Sequence[str],
    series: Sequence[dict[str, Any]],
    *,
    fmt: Formatter = fmt_value,
) -> Markup:
    """Bars per day, the series stacked in order; one ``<rect>`` per non-zero value."""
    totals = [sum((s["values"][i] or 0) for s in series) for i in range(len(days))]
    if not days or not series or not any(totals):
        return _empty(chart_id, title)
    ticks = nice_ticks(0.0, max(totals))
    lo, hi = ticks[0], ticks[-1]
    inner = WIDTH - LEFT - RIGHT
    slot = inner / len(days)
    bar_w = max(1.0, slot * 0.72)
    xs = [LEFT + slot * (i + 0.5) for i in range(len(days))]
    parts = [
        _open(
            chart_id,
            title,
            f"Stacked bar chart of {len(series)} series over {len(days)} days, "
            f"{days[0]} to {days[-1]}. The data table follows the chart.",
            "bar",
        )
    ]
    parts += _y_axis(ticks, lo, hi, fmt)
    parts += _date_labels(days, xs, bars=True)
    base = [0.0] * len(days)
    for si, s in enumerate(series):
        label = escape(s["label"])
        rects = []
        for i, v in enumerate(s["values"]):
            if not v:
                continue
            y_top = _y(base[i] + v, lo, hi)
            y_bottom = _y(base[i], lo, hi)
            base[i] += v
            rects.append(
                f'<rect x="{xs[i] - bar_w / 2:.1f}" y="{y_top:.1f}" width="{bar_w:.1f}" '
                f'height="{max(0.5, y_bottom - y_top):.1f}" data-day="{escape(days[i])}" '
                f'data-value="{fmt_value(v)}"><title>{escape(days[i])} · {label}: '
                f"{escape(fmt(v))}</title></rect>"
            )
        parts.append(
            f'<g class="series s{si % PALETTE_SIZE}" data-series="{label}" '
            f'data-values="{",".join(fmt_value(v) for v in s["values"])}">{"".join(rects)}</g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - data strings escaped above


def legend(series: Sequence[dict[str, Any]]) -> Markup:
    """The colour key of a chart, as an HTML list (readable text, not SVG)."""
    items = "".join(
        f'<li><span class="swatch s{i % PALETTE_SIZE}" aria-hidden="true"></span>'
        f"{escape(s['label'])}</li>"
        for i, s in enumerate(series)
    )
    return Markup(f'<ul class="legend">{items}</ul>')  # noqa: S704 - labels escaped


def sparkline(values: Sequence[float | None]) -> str:
    """A text sparkline (``▁▂▃…█``) for terminals and Markdown; blanks where no value."""
    present = [v for v in values if v is not None]
    if not present:
        return ""
    lo, hi = min(present), max(present)
    span = hi - lo
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        else:
            idx = 0 if span == 0 else round((v - lo) / span * (len(SPARK_BARS) - 1))
            out.append(SPARK_BARS[idx])
    return "".join(out)


def svg_sparkline(values: Sequence[float | None], *, label: str) -> Markup:
    """A small inline trend line for a KPI card."""
    pts = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(pts) < 2:
        return Markup("")
    w, h = 120, 28
    lo = min(v for _, v in pts)
    hi = max(v for _, v in pts)
    span = (hi - lo) or 1.0
    n = max(1, len(values) - 1)
    d = "".join(
        f"{'M' if k == 0 else 'L'}{i / n * (w - 4) + 2:.1f} {h - 3 - (v - lo) / span * (h - 6):.1f}"
        for k, (i, v) in enumerate(pts)
    )
    return Markup(  # noqa: S704 - every data string inside went through escape()
        f'<svg class="spark" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        f'aria-label="{escape(label)}" data-values="{",".join(fmt_value(v) for v in values)}">'
        f'<path d="{d}"/></svg>'
    )


def rate_floor(series: list[dict[str, Any]]) -> float | None:
    """The lowest value a rate chart's axis needs: a round 10 % step at least 5 points
    under the lowest rate, and never above 80 % (a 20-point span does not exaggerate)."""
    values = [v for s in series for v in s["values"] if v is not None]
    if not values:
        return None
    return max(0.0, min(0.8, math.floor((min(values) - 0.05) * 10) / 10))
