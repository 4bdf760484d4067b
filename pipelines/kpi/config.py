"""What the KPI definitions leave to the user."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.kpi.filters import Period, parse_day


@dataclass(frozen=True)
class KpiConfig:
    """The full-suite workflow (whose p95 is the full test suite time) and the baseline
    days the reductions compare with (none: the reductions have status ``no_baseline``)."""

    full_suite_workflow: str = "CI"
    baseline: Period | None = None


DEFAULT_CONFIG = KpiConfig()


def kpi_config(
    full_suite_workflow: str,
    baseline_start: str,
    baseline_end: str,
    names: tuple[str, str] = ("baseline_start", "baseline_end"),
) -> KpiConfig:
    """A configuration from its text form: the baseline is both days or none; an error
    names the offending setting (``names``: what the two days are called where they are set)."""
    start, end = parse_day(baseline_start, names[0]), parse_day(baseline_end, names[1])
    if start and end and end < start:
        raise ValueError(f"{names[1]} ({end}) is before {names[0]} ({start})")
    baseline = Period(start, end) if start and end else None
    return KpiConfig(full_suite_workflow.strip() or DEFAULT_CONFIG.full_suite_workflow, baseline)
