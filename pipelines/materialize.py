"""Materializing the pipeline from Python: a day range as one run, outside the daemon.

Used by the CLI, the demo, tests and benchmarks. Runs go to the local Dagster
instance (``DAGSTER_HOME``, else an ephemeral one), so they show up in the UI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from dagster import DagsterInstance, ExecuteInProcessResult, materialize

from pipelines.partitions import range_tags


def local_instance() -> DagsterInstance:
    """The instance under ``DAGSTER_HOME`` when set, else a throwaway one.

    Opening an instance for the first time creates its SQLite storage, which two
    processes started together (two ``ci-metrics materialize``) race on ("table
    alembic_version already exists"); a lock file in ``DAGSTER_HOME`` takes turns.
    """
    home = os.environ.get("DAGSTER_HOME")
    if home:
        with _opening_lock(Path(home)):
            return DagsterInstance.get()
    return DagsterInstance.ephemeral()


@contextmanager
def _opening_lock(home: Path) -> Iterator[None]:
    """An exclusive lock on ``home/.ci-metrics-open.lock`` while the block runs (POSIX)."""
    try:
        import fcntl
    except ImportError:  # no flock: open unguarded, as Dagster itself does
        yield
        return
    home.mkdir(parents=True, exist_ok=True)
    with (home / ".ci-metrics-open.lock").open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


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
    """What the daily schedule does, for ``first`` … ``last``: one ranged run of the whole
    graph (raw data, test results, per-day KPIs, then the window tables and the dashboard
    as of ``last``), with every check. A list, one result per run launched."""
    from assets.dashboard import dashboard
    from assets.github import github_workflow_jobs, github_workflow_runs
    from assets.kpi import kpi_assets
    from assets.kpi_checks import kpi_asset_checks
    from assets.test_results import test_results

    assets = [github_workflow_runs, github_workflow_jobs, test_results, *kpi_assets, dashboard]
    return [
        materialize_range(
            first,
            last,
            resources=resources,
            instance=instance,
            assets=[*assets, *kpi_asset_checks],
        )
    ]
