"""The JUnit drop folder: a sensor notices new or changed report files and a run ingests them.

The sensor's cursor maps each file to (mtime, size), so a file is picked up
when it appears or changes; files still being written (modified in the last
few seconds) wait for the next tick. The run ingests exactly the files the
sensor named, through the same loader ``ci-metrics ingest`` uses; content
hashes make a file that merely got touched add nothing.

The cursor also remembers each batch until its run ends: the files of a run
that failed or was cancelled are offered again (up to ``MAX_ATTEMPTS`` runs),
so a transient failure (a locked store, a full disk) loses nothing.
"""

import hashlib
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from dagster import (
    AssetCheckEvaluation,
    AssetMaterialization,
    Config,
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    OpExecutionContext,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    job,
    op,
    sensor,
)

from assets import raw_checks
from pipelines.asset_keys import TESTS, kpi_key
from pipelines.kpi.build import refresh_test_facts
from pipelines.kpi.filters import Period
from pipelines.resources import DuckDBStore, TestReportSources
from pipelines.store import BUILD_MEMORY_LIMIT, LOAD_MEMORY_LIMIT
from pipelines.testresults.loader import IngestSummary, ingest_files

REPORT_SUFFIXES = (".xml", ".zip", ".jsonl", ".json")
SETTLE_S = 2.0  # a file modified more recently than this may still be being written
MAX_FILES_PER_RUN = 500
MAX_ATTEMPTS = 3  # runs per file before the sensor gives up on it (until it changes)
LOST_AFTER_S = 6 * 3600  # a batch whose run has not ended by then is offered again
BATCH_TAG = "ci-metrics/drop-batch"
_FAILED = (DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)


def report_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files named, and report files inside folders named (recursively, sorted)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in REPORT_SUFFIXES
            )
        else:
            yield path


def scan(
    folder: Path, cursor: dict[str, list[int]], *, now: float | None = None
) -> tuple[list[str], dict[str, list[int]]]:
    """Files new or changed since ``cursor`` (settled ones only), and the updated cursor.

    The updated cursor forgets deleted files, so a new file of the same name is new.
    """
    now = time.time() if now is None else now
    changed: list[str] = []
    if not folder.is_dir():  # unmounted, perhaps: keep what is known
        return changed, dict(cursor)
    paths = list(report_files([folder]))
    present = {str(p) for p in paths}
    updated = {p: sig for p, sig in cursor.items() if p in present}
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue  # vanished between listing and stat
        if now - stat.st_mtime < SETTLE_S:
            continue
        signature = [stat.st_mtime_ns, stat.st_size]
        key = str(path)
        if updated.get(key) != signature:
            changed.append(key)
            updated[key] = signature
        if len(changed) >= MAX_FILES_PER_RUN:
            break
    return changed, updated


class IngestFilesConfig(Config):
    """The report files (or folders) one run ingests."""

    paths: list[str]


def summary_lines(summary: IngestSummary) -> list[str]:
    """What an ingestion did, in a few lines for logs and the CLI."""
    outcomes = ", ".join(f"{n} {k}" for k, n in sorted(summary.tests_by_outcome.items()))
    lines = [
        f"{summary.files_read} files read, {summary.files_skipped_duplicate} already ingested, "
        f"{summary.tests} tests ({outcomes or 'none'})"
    ]
    lines += [f"quarantined {source}: {reason}" for source, reason in summary.quarantined]
    return lines


@dataclass(frozen=True)
class Settled:
    """What follows an ingest: the table's rules over the days written, the blocking ones
    that failed, and the ranges of test facts rebuilt."""

    evaluations: list[AssetCheckEvaluation]
    blocked: list[str]
    refreshed: list[Period]


def settle(con: duckdb.DuckDBPyConnection, days: Iterable[date]) -> Settled:
    """After an ingest outside a pipeline run (the drop folder, ``ci-metrics ingest``):
    evaluate the ``test_results`` rules over the days written, then, as a pipeline run
    would, rebuild the test facts of those days unless a blocking rule failed, so every
    view counts the new rows at once."""
    days = sorted(set(days))
    if not days:
        return Settled([], [], [])
    evaluations = list(raw_checks.evaluations(con, TESTS, days[0], days[-1]))
    blocked = raw_checks.blocking_failures(evaluations)
    return Settled(evaluations, blocked, [] if blocked else refresh_test_facts(con, days))


@op(
    description="Ingest the named JUnit XML / plugin files into raw.test_results.",
    pool="duckdb",  # one writer of the DuckDB file at a time, as for the assets
)
def ingest_test_files(
    context: OpExecutionContext, config: IngestFilesConfig, duckdb: DuckDBStore
) -> None:
    files = list(report_files(config.paths))
    with duckdb.connect(memory_limit=LOAD_MEMORY_LIMIT) as con:
        summary = ingest_files(con, files, dagster_run_id=context.run_id)
    for line in summary_lines(summary):
        (context.log.warning if line.startswith("quarantined") else context.log.info)(line)
    for day in sorted(summary.days):
        context.log_event(
            AssetMaterialization(
                asset_key=TESTS,
                partition=day.isoformat(),
                metadata={"source": "drop folder", "files": summary.files_read},
            )
        )
    with duckdb.connect(memory_limit=BUILD_MEMORY_LIMIT) as con:
        settled = settle(con, summary.days)
    for evaluation in settled.evaluations:  # a failed one alerts (asset_check_alerts)
        context.log_event(evaluation)
    if settled.blocked:
        context.log.warning(f"test facts not refreshed: {', '.join(settled.blocked)} failed")
    for period in settled.refreshed:
        for day in period.day_list():
            context.log_event(
                AssetMaterialization(
                    asset_key=kpi_key("test_units_daily"),
                    partition=day.isoformat(),
                    metadata={"source": "drop folder"},
                )
            )


@job(description="Ingest report files from the drop folder (launched by its sensor).")
def ingest_test_files_job() -> None:
    ingest_test_files()


@dataclass
class DropCursor:
    """What the sensor knows: files seen, batches whose runs have not ended, failures."""

    files: dict[str, list[int]] = field(default_factory=dict)  # path -> [mtime_ns, size]
    # batch id -> {"files": {path: signature when requested}, "at": request time (epoch s)}
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)  # path -> failed runs in a row
    batches: int = 0

    @classmethod
    def load(cls, text: str | None) -> "DropCursor":
        data = json.loads(text) if text else {}
        if data and "files" not in data:  # the earlier cursor: only the files map
            return cls(files=data)
        return cls(**data)

    def dump(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)

    def request(self, paths: list[str], now: float) -> str:
        """Record a new batch of ``paths``; returns its id (the run key and tag)."""
        files = {p: self.files[p] for p in paths}
        digest = hashlib.sha256(json.dumps(sorted(files.items())).encode()).hexdigest()[:16]
        batch = f"{self.batches}-{digest}"
        self.batches += 1
        self.pending[batch] = {"files": files, "at": now}
        return batch

    def settle(self, instance: DagsterInstance, now: float) -> tuple[list[str], set[str]]:
        """Forget batches whose runs ended; offer again the files of failed ones.

        A batch whose run never shows up or never ends within ``LOST_AFTER_S``
        (deleted, stuck) counts as failed. A file that changed since its batch
        was requested is left to the newer batch. Returns the paths given up on
        after ``MAX_ATTEMPTS`` failed runs, and the paths offered again.
        """
        given_up: list[str] = []
        offered: set[str] = set()
        for batch, info in list(self.pending.items()):
            runs = instance.get_runs(RunsFilter(tags={BATCH_TAG: batch}), limit=1)
            finished = bool(runs) and runs[0].is_finished
            if not finished and now - info["at"] < LOST_AFTER_S:
                continue  # not launched yet, or still running
            del self.pending[batch]
            failed = not finished or runs[0].status in _FAILED
            for path, signature in info["files"].items():
                if self.files.get(path) != signature:
                    continue
                attempts = self.failures.get(path, 0) + 1
                if not failed:
                    self.failures.pop(path, None)
                elif attempts < MAX_ATTEMPTS:
                    self.failures[path] = attempts
                    del self.files[path]  # seen as new by this tick's scan
                    offered.add(path)
                else:
                    self.failures.pop(path, None)
                    given_up.append(path)
        return given_up, offered

    def forget_missing(self) -> None:
        """Drop the failure counts of deleted files (the scan forgets their signatures)."""
        for path in [p for p in self.failures if not Path(p).exists()]:
            del self.failures[path]


@sensor(
    job=ingest_test_files_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,  # it only reads a local folder
    description="Watches CI_METRICS_JUNIT_DIR for new or changed JUnit XML and plugin files.",
)
def junit_drop_folder(
    context: SensorEvaluationContext, test_reports: TestReportSources
) -> Iterator[RunRequest | SkipReason]:
    folder = Path(test_reports.junit_dir)
    cursor = DropCursor.load(context.cursor)
    now = time.time()
    given_up, offered = cursor.settle(context.instance, now)
    for path in given_up:
        context.log.warning(
            f"{path}: not ingested after {MAX_ATTEMPTS} failed runs; "
            "it is offered again when it changes (or use `ci-metrics ingest`)"
        )
    changed, cursor.files = scan(folder, cursor.files)
    cursor.forget_missing()
    for path in changed:
        if path not in offered:
            cursor.failures.pop(path, None)  # new content starts afresh
    if changed:
        batch = cursor.request(changed, now)
        yield RunRequest(
            run_key=batch,
            run_config={"ops": {"ingest_test_files": {"config": {"paths": changed}}}},
            tags={"ci-metrics/files": str(len(changed)), BATCH_TAG: batch},
        )
    else:
        yield SkipReason(f"no new or changed report files in {folder}")
    context.update_cursor(cursor.dump())
