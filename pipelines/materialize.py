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
    """Everything for ``first`` … ``last``: one ranged run of the per-day assets (raw data,
    then per-day KPIs, with their checks), then one run of the window tables as of ``last``."""
    from assets.github import github_workflow_jobs, github_workflow_runs
    from assets.kpi import TABLES, kpi_assets
    from assets.kpi_checks import kpi_asset_checks
    from assets.test_results import test_results

    per_day = {spec.name for spec in TABLES if spec.per_day}
    daily = [a for a in kpi_assets if a.key.path[-1] in per_day]
    window = [a for a in kpi_assets if a.key.path[-1] not in per_day]
    ranged = materialize_range(
        first,
        last,
        resources=resources,
        instance=instance,
        assets=[
            github_workflow_runs,
            github_workflow_jobs,
            test_results,
            *daily,
            *kpi_asset_checks,
        ],
    )
    config = {"ops": {a.op.name: {"config": {"as_of": last.isoformat()}} for a in window}}
    whole = materialize(window, instance=instance, resources=dict(resources), run_config=config)
    from assets.dashboard import dashboard

    page = materialize(
        [dashboard],
        instance=instance,
        resources=dict(resources),
        run_config={"ops": {dashboard.op.name: {"config": {"as_of": last.isoformat()}}}},
    )
    return [ranged, whole, page]
