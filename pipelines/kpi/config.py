"""What the KPI definitions leave to the user."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.kpi.filters import Period


@dataclass(frozen=True)
class KpiConfig:
    """The full-suite workflow (whose p95 is the full test suite time) and the baseline
    days the reductions compare with (none: the reductions have status ``no_baseline``)."""

    full_suite_workflow: str = "CI"
    baseline: Period | None = None


DEFAULT_CONFIG = KpiConfig()
