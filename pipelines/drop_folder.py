"""The JUnit drop folder: a sensor notices new or changed report files and a run ingests them.

The sensor's cursor maps each file to (mtime, size), so a file is picked up
when it appears or changes; files still being written (modified in the last
few seconds) wait for the next tick. The run ingests exactly the files the
sensor named, through the same loader ``ci-metrics ingest`` uses; content
hashes make a file that merely got touched add nothing.
"""

import hashlib
import json
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from dagster import (
    AssetMaterialization,
    Config,
    DefaultSensorStatus,
    OpExecutionContext,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    job,
    op,
    sensor,
)

from pipelines import settings
from pipelines.resources import DuckDBStore
from pipelines.store import LOAD_MEMORY_LIMIT
from pipelines.testresults.loader import IngestSummary, ingest_files

REPORT_SUFFIXES = (".xml", ".zip", ".jsonl", ".json")
SETTLE_S = 2.0  # a file modified more recently than this may still be being written
MAX_FILES_PER_RUN = 500


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
    """Files new or changed since ``cursor`` (settled ones only), and the updated cursor."""
    now = time.time() if now is None else now
    changed: list[str] = []
    updated = dict(cursor)
    if not folder.is_dir():
        return changed, updated
    for path in report_files([folder]):
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


@op(description="Ingest the named JUnit XML / plugin files into raw.test_results.")
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
                asset_key="test_results",
                partition=day.isoformat(),
                metadata={"source": "drop folder", "files": summary.files_read},
            )
        )


@job(description="Ingest report files from the drop folder (launched by its sensor).")
def ingest_test_files_job() -> None:
    ingest_test_files()


@sensor(
    job=ingest_test_files_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,  # it only reads a local folder
    description="Watches CI_METRICS_JUNIT_DIR for new or changed JUnit XML and plugin files.",
)
def junit_drop_folder(context: SensorEvaluationContext) -> Iterator[RunRequest | SkipReason]:
    folder = Path(settings.get(settings.JUNIT_DIR))
    cursor = json.loads(context.cursor) if context.cursor else {}
    changed, updated = scan(folder, cursor)
    if not changed:
        yield SkipReason(f"no new or changed report files in {folder}")
        return
    signature = json.dumps([[p, updated[p]] for p in changed])
    yield RunRequest(
        run_key=hashlib.sha256(signature.encode()).hexdigest()[:32],
        run_config={"ops": {"ingest_test_files": {"config": {"paths": changed}}}},
        tags={"ci-metrics/files": str(len(changed))},
    )
    context.update_cursor(json.dumps(updated))
