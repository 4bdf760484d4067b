"""Materializing the pipeline from Python: a day range as one run, outside the daemon.

Used by the CLI, the demo, tests and benchmarks. Runs go to the local Dagster
instance (``DAGSTER_HOME``, else an ephemeral one), so they show up in the UI.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    ExecuteInProcessResult,
    JobDefinition,
    RunsFilter,
    define_asset_job,
)

from pipelines.liveness import UNKNOWN, own_mark, process_alive
from pipelines.partitions import range_tags

if TYPE_CHECKING:
    from pipelines.progress import StepProgress

log = logging.getLogger(__name__)

# Where an in-process run executes: in the process that launched it.
HOST_TAG = "ci-metrics/host"
PID_TAG = "ci-metrics/pid"
# When that process started (pipelines.liveness): a reused pid does not keep a dead run
START_TAG = "ci-metrics/pid-start"
_UNFINISHED = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]
# The job name ``dagster.materialize`` gives its runs, kept so past and new runs list together.
RANGE_JOB = "__ephemeral_asset_job__"


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


def process_tags() -> dict[str, str]:
    """Run tags naming this host and process, so a later run can tell the run was killed."""
    pid, mark = own_mark()
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(pid), START_TAG: mark}


def release_dead_runs(instance: DagsterInstance) -> list[str]:
    """Mark failed the unfinished runs of this host whose process is gone; free their pools.

    A run killed outright (SIGKILL, the OOM killer, a power cut) never records its end: it
    stays STARTED and keeps its slot of the ``duckdb`` pool (limit 1 in ``dagster_home``),
    so every later run would wait for that slot forever. Dagster's own run monitoring does
    not see it: the run had no run launcher, and the local one cannot tell a dead worker.
    Called before each command-line run, and by the ``dead_runs_sensor`` under the daemon.
    Only runs launched here (tagged by :func:`process_tags`) on this host are judged; a run
    whose process still exists is left alone. Returns the run ids released.
    """
    host = socket.gethostname()
    released = []
    for record in instance.get_run_records(
        filters=RunsFilter(statuses=_UNFINISHED, tags={HOST_TAG: host})
    ):
        run = record.dagster_run
        pid = run.tags.get(PID_TAG, "")
        if not pid.isdigit() or process_alive(int(pid), run.tags.get(START_TAG, UNKNOWN)):
            continue
        instance.report_run_failed(
            run, message=f"The process that ran this run (pid {pid} on {host}) is gone."
        )
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        log.warning("run %s was left unfinished by a process that died: marked failed", run.run_id)
        released.append(run.run_id)
    return released


def materialize_range(
    first: date,
    last: date,
    *,
    resources: Mapping[str, object] | None = None,
    instance: DagsterInstance | None = None,
    assets: list | None = None,
    raise_on_error: bool = True,
    progress: StepProgress | None = None,
) -> ExecuteInProcessResult:
    """Materialize ``assets`` (default: the raw GitHub assets) for ``first`` … ``last``
    as a single ranged run.

    With ``progress``, Dagster's console logger is quiet and ``progress`` prints a line per
    step instead; the run's event log is stored on the instance either way."""
    from assets.github import github_workflow_jobs, github_workflow_runs

    if assets is None:
        assets = [github_workflow_runs, github_workflow_jobs]
    job = _job(define_asset_job(RANGE_JOB), assets, resources)
    tags = range_tags(first, last)
    title = f"Materializing {first} … {last}"
    return _execute(job, assets, tags, instance, raise_on_error, progress, title)


def run_target_checks(
    *,
    resources: Mapping[str, object] | None = None,
    instance: DagsterInstance | None = None,
    raise_on_error: bool = True,
    progress: StepProgress | None = None,
) -> ExecuteInProcessResult:
    """The KPI target checks over ``kpi.target_status`` as the last run left it, in a run of
    their own (the ``kpi_target_checks`` job), so each is evaluated once."""
    from assets.kpi import kpi_assets
    from assets.target_checks import kpi_target_checks
    from pipelines.jobs import kpi_target_checks_job

    job = _job(kpi_target_checks_job, [*kpi_assets, *kpi_target_checks], resources)
    title = "Checking the KPI targets"
    return _execute(job, kpi_target_checks, {}, instance, raise_on_error, progress, title)


def _job(job: Any, assets: list, resources: Mapping[str, object] | None) -> JobDefinition:
    """``job`` (a ``define_asset_job``) over ``assets`` with the configured resources,
    overridden by ``resources``."""
    from pipelines.definitions import configure
    from pipelines.definitions import resources as configured

    defs = configure(
        Definitions(jobs=[job], assets=assets, resources={**configured(), **(resources or {})})
    )
    return defs.resolve_job_def(job.name)


def _execute(
    job: JobDefinition,
    steps: list,
    tags: Mapping[str, str],
    instance: DagsterInstance | None,
    raise_on_error: bool,
    progress: StepProgress | None,
    title: str,
) -> ExecuteInProcessResult:
    """Execute ``job`` in this process, tagged with it; ``progress`` shows ``steps``."""
    instance = instance or local_instance()
    release_dead_runs(instance)
    tags = {**tags, **process_tags()}
    if progress is None:
        return job.execute_in_process(instance=instance, tags=tags, raise_on_error=raise_on_error)
    from pipelines.progress import QUIET_RUN_CONFIG, step_labels

    run_id = str(uuid4())
    with progress.watching(instance, run_id, step_labels(steps), title):
        return job.execute_in_process(
            run_config=QUIET_RUN_CONFIG,
            instance=instance,
            tags=tags,
            raise_on_error=raise_on_error,
            run_id=run_id,
        )


def run_pipeline(
    first: date,
    last: date,
    *,
    resources: Mapping[str, object],
    instance: DagsterInstance,
    progress: StepProgress | None = None,
) -> list[ExecuteInProcessResult]:
    """What the daily schedule and its checks sensor do, for ``first`` … ``last``: one
    ranged run of the whole graph (raw data, test results, per-day KPIs, then the window
    tables and the dashboard as of ``last``) with the raw data checks, then, when it
    succeeded, a run of the KPI target checks. A list, one result per run launched.
    ``progress``: see :func:`materialize_range`."""
    from assets.dashboard import dashboard
    from assets.github import github_workflow_jobs, github_workflow_runs
    from assets.kpi import kpi_assets
    from assets.test_results import test_results

    assets = [github_workflow_runs, github_workflow_jobs, test_results, *kpi_assets, dashboard]
    ranged = materialize_range(
        first, last, resources=resources, instance=instance, assets=assets, progress=progress
    )
    checks = run_target_checks(resources=resources, instance=instance, progress=progress)
    return [ranged, checks]
