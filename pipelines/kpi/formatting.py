"""How numbers read in every report: durations, percentages, changes and status names.

Shared so the dashboard, the Markdown summary and the terminal view never disagree on how
a value is shown.
"""

from __future__ import annotations

from pipelines.kpi.catalogue import MEASURES, Kpi

NO_VALUE = "–"

STATUS_LABELS = {
    "ok": "On target",
    "breach": "Off target",
    "no_data": "No data",
    "no_baseline": "No baseline",
}


def duration(seconds: float | None) -> str:
    """``42 s``, ``3m 05s``, ``2h 10m``."""
    if seconds is None:
        return NO_VALUE
    s = float(seconds)
    if abs(s) < 60:
        return f"{s:.1f} s" if abs(s) < 10 else f"{s:.0f} s"
    if abs(s) < 3600:
        m, sec = divmod(round(abs(s)), 60)
        return f"{'-' if s < 0 else ''}{m}m {sec:02d}s"
    h, rest = divmod(round(abs(s)), 3600)
    return f"{'-' if s < 0 else ''}{h}h {rest // 60:02d}m"


def percent(fraction: float | None, digits: int = 1) -> str:
    """A fraction as a percentage (``0.0468`` → ``4.7 %``)."""
    if fraction is None:
        return NO_VALUE
    return f"{fraction * 100:.{digits}f} %"


def number(value: float | None, digits: int = 0) -> str:
    """A count or amount with thousands separators."""
    if value is None:
        return NO_VALUE
    return f"{value:,.{digits}f}"


def kpi_value(value: float | None, unit: str) -> str:
    """A KPI value in its unit: seconds as a duration, fractions as a percentage."""
    return duration(value) if unit == "s" else percent(value)


def measured(value: float | None, unit: str) -> tuple[str, str]:
    """What a window measured, in its measure's unit (a reduction card shows it when there
    is no baseline to reduce from), and the unit to show beside it, smaller:
    ``("3m 05s", "")``, ``("1,234", "min/day")``."""
    if unit == "s":
        return duration(value), ""
    if unit == "fraction":
        return percent(value), ""
    return number(value), "min/day" if unit == "minutes" and value is not None else ""


def shows_measured(kpi: Kpi, value: float | None, window_value: float | None) -> bool:
    """Whether a KPI card shows what its window measured instead of the KPI's value: a
    reduction with no baseline to reduce from."""
    return kpi.reduction and value is None and window_value is not None


def measured_target(kpi: Kpi) -> str:
    """The line under a card that shows what was measured (:func:`shows_measured`)."""
    target = kpi_target(kpi.comparator, kpi.target, kpi.unit)
    return f"{MEASURES[kpi.measure].label}, measured · target {target} reduction"


def kpi_target(comparator: str, target: float, unit: str) -> str:
    """``< 2m 00s``, ``≥ 80.0 %``."""
    sign = "<" if comparator == "<" else "≥"
    return f"{sign} {kpi_value(target, unit)}"


def change(delta: float | None, unit: str) -> str:
    """A signed change: seconds as a duration, fractions in percentage points."""
    if delta is None:
        return NO_VALUE
    sign = "+" if delta > 0 else "−" if delta < 0 else "±"
    if unit == "s":
        return f"{sign}{duration(abs(delta))}"
    return f"{sign}{abs(delta) * 100:.1f} pp"


def relative(delta: float | None) -> str:
    """A relative change (``0.25`` → ``+25 %``)."""
    if delta is None:
        return NO_VALUE
    sign = "+" if delta > 0 else "−" if delta < 0 else "±"
    return f"{sign}{abs(delta) * 100:.0f} %"


def trend(delta: float | None, lower_is_better: bool) -> str:
    """``better``, ``worse`` or ``same`` for a change, given which way is good."""
    if delta is None or abs(delta) < 1e-12:
        return "same"
    return "better" if (delta < 0) == lower_is_better else "worse"
