"""Materializing the pipeline from Python: a day range as one run, outside the daemon.

Used by the CLI, the demo, tests and benchmarks. Runs go to the local Dagster
instance (``DAGSTER_HOME``, else an ephemeral one), so they show up in the UI.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date

from dagster import DagsterInstance, ExecuteInProcessResult, materialize

from pipelines.schedules import RANGE_END_TAG, RANGE_START_TAG


def local_instance() -> DagsterInstance:
    """The instance under ``DAGSTER_HOME`` when set, else a throwaway one."""
    if os.environ.get("DAGSTER_HOME"):
        return DagsterInstance.get()
    return DagsterInstance.ephemeral()


def range_tags(first: date, last: date) -> dict[str, str]:
    """Run tags that make one run cover the partitions ``first`` … ``last``."""
    return {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}


def materialize_range(
    first: date,
    last: date,
    *,
    resources: Mapping[str, object] | None = None,
    instance: DagsterInstance | None = None,
    assets: list | None = None,
    raise_on_error: bool = True,
) -> ExecuteInProcessResult:
    """Materialize ``assets`` (default: the raw GitHub assets) for ``first`` … ``last``
    as a single ranged run."""
    from assets.github import github_workflow_jobs, github_workflow_runs
    from pipelines.definitions import resources as configured

    if assets is None:
        assets = [github_workflow_runs, github_workflow_jobs]
    return materialize(
        assets,
        instance=instance or local_instance(),
        resources=dict(resources or configured()),
        tags=range_tags(first, last),
        raise_on_error=raise_on_error,
    )


def run_pipeline(
    first: date,
    last: date,
    *,
    resources: Mapping[str, object],
    instance: DagsterInstance,
) -> list[ExecuteInProcessResult]:
    """What the two daily schedules do, for ``first`` … ``last``: one ranged run of the
    per-day assets (raw data, test results, per-day KPIs, with their checks), then one
    run of the window tables and the dashboard as of ``last``."""
    from assets.dashboard import dashboard
    from assets.github import github_workflow_jobs, github_workflow_runs
    from assets.kpi import kpi_assets
    from assets.kpi_checks import kpi_asset_checks
    from assets.test_results import test_results
    from pipelines.jobs import PER_DAY_KPIS, WINDOW_KPIS
    from pipelines.schedules import as_of_config

    ranged = materialize_range(
        first,
        last,
        resources=resources,
        instance=instance,
        assets=[
            github_workflow_runs,
            github_workflow_jobs,
            test_results,
            *(a for a in kpi_assets if a.key in PER_DAY_KPIS),
            *kpi_asset_checks,
        ],
    )
    reports = materialize(
        [*(a for a in kpi_assets if a.key in WINDOW_KPIS), dashboard],
        instance=instance,
        resources=dict(resources),
        run_config=as_of_config(last.isoformat()),
    )
    return [ranged, reports]
