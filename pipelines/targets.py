"""The KPI targets of the definitions: the one place their numbers live.

The targets model (``assets/sql/kpi_targets.sql``) receives them as parameters and the
reports read them from here, so a target changes in one line.
"""

from __future__ import annotations

# kpi name -> (comparator, target); rates and reductions are fractions.
KPI_TARGETS: dict[str, tuple[str, float]] = {
    "pr_validation_avg_s": ("<", 120.0),
    "developer_wait_reduction": (">=", 0.8),
    "full_suite_p95_s": ("<", 600.0),
    "compute_minutes_reduction": (">=", 0.6),
    "run_flakiness_rate": ("<", 0.01),
    "test_flakiness_rate": ("<", 0.01),
}


def sql_params() -> dict[str, object]:
    """``$target_<kpi>`` and ``$comparator_<kpi>`` for the targets model."""
    params: dict[str, object] = {}
    for kpi, (comparator, target) in KPI_TARGETS.items():
        params[f"target_{kpi}"] = target
        params[f"comparator_{kpi}"] = comparator
    return params
