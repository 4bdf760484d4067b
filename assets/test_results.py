"""Test results from the runs' artifacts: JUnit XML and our pytest plugin's JSON Lines.

Daily partitioned on the run's ``created_at``, like the raw runs. Each file is
ingested once by content (``meta.ingested_files``) and each artifact is
downloaded once (``meta.artifacts_seen``), so re-materializing a range adds
nothing; runs re-run later bring new artifacts, which the next pass picks up.
"""

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from functools import partial

import duckdb
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets import raw_checks
from assets.github import JOBS_KEY, RUNS_KEY, partition_days, raw_asset
from pipelines import asset_keys, settings
from pipelines.partitions import day_bounds
from pipelines.resources import DuckDBStore, GitHubAPI
from pipelines.store import LOAD_MEMORY_LIMIT
from pipelines.testresults.artifacts import (
    attempt_for,
    batches,
    context_for,
    download_all,
    list_artifacts,
    patterns_from,
)
from pipelines.testresults.loader import IngestSummary, ingest_files
from pipelines.testresults.rows import RunContext

TESTS_KEY = asset_keys.TESTS
# Artifacts per download-then-load round, by count and by listed size. The next round
# downloads while one loads, so at most two rounds' archives are in memory; each round
# opens the store once.
DOWNLOAD_BATCH = 512
DOWNLOAD_BATCH_BYTES = 64 * 1024 * 1024


def summary_metadata(summary: IngestSummary) -> dict:
    """Materialization metadata shared by the artifact asset and drop-folder runs."""
    quarantined = "\n".join(f"- `{src}`: {reason}" for src, reason in summary.quarantined[:50])
    return {
        "files_read": summary.files_read,
        "files_already_ingested": summary.files_skipped_duplicate,
        "tests": summary.tests,
        "outcomes": MetadataValue.json(dict(sorted(summary.tests_by_outcome.items()))),
        "quarantined_files": len(summary.quarantined),
        "quarantined": MetadataValue.md(quarantined or "none"),
    }


def merge(total: IngestSummary, part: IngestSummary) -> None:
    total.files_read += part.files_read
    total.files_skipped_duplicate += part.files_skipped_duplicate
    total.tests_by_outcome.update(part.tests_by_outcome)
    total.quarantined.extend(part.quarantined)
    total.days |= part.days


@asset(
    key=TESTS_KEY,
    deps=[RUNS_KEY, JOBS_KEY],
    **raw_asset("tests"),
    check_specs=raw_checks.specs(TESTS_KEY),
    description="raw.test_results: one row per test execution, from the runs' artifacts.",
)
def test_results(
    context: AssetExecutionContext, duckdb: DuckDBStore, github: GitHubAPI
) -> MaterializeResult:
    first, last = partition_days(context)
    start, end = day_bounds(first, last)
    repos = github.repo_list()
    patterns = patterns_from(settings.get(settings.ARTIFACT_PATTERNS))
    with duckdb.connect() as con:
        runs = con.execute(
            "SELECT repo, run_id, run_attempt, run_started_at, workflow_name, created_at::DATE "
            "FROM raw.workflow_runs WHERE list_contains(?, repo) "
            "AND created_at >= ? AND created_at < ?",
            [repos, start, end],
        ).fetchall()
        seen = {
            (r, int(a))
            for r, a in con.execute(
                "SELECT repo, artifact_id FROM meta.artifacts_seen WHERE list_contains(?, repo)",
                [repos],
            ).fetchall()
        }
    attempts: dict[tuple[str, int], list[tuple[int, datetime | None]]] = {}
    workflow: dict[tuple[str, int], str | None] = {}
    created: dict[tuple[str, int], date] = {}
    for repo, run_id, attempt, started, wf, day in runs:
        attempts.setdefault((repo, run_id), []).append((attempt, started))
        workflow[(repo, run_id)] = wf
        created[(repo, run_id)] = min(day, created.get((repo, run_id), day))

    def day_for(run: RunContext) -> date | None:
        """The run's created day, from the rows read above rather than a query per file."""
        return created.get((run.repo or "", run.run_id or 0))

    total = IngestSummary()
    statuses: Counter[str] = Counter()
    with github.client() as client:
        todo = []
        for repo in repos:
            for ref in list_artifacts(client, repo, start, patterns):
                if (repo, ref.run_id) in attempts and (repo, ref.artifact_id) not in seen:
                    todo.append(ref)
        rounds = batches(todo, max_count=DOWNLOAD_BATCH, max_bytes=DOWNLOAD_BATCH_BYTES)
        for downloads in _downloaded_ahead(client, rounds, github.concurrency):
            contexts = {}
            for d in downloads:
                key = (d.ref.repo, d.ref.run_id)
                contexts[d.ref.source] = context_for(
                    d.ref, attempt_for(d.ref, attempts[key]), workflow[key]
                )
            files = [(d.ref.source, d.data) for d in downloads if d.data is not None]
            with duckdb.connect(memory_limit=LOAD_MEMORY_LIMIT) as con:
                part = ingest_files(
                    con,
                    files,
                    context_overrides=lambda source, c=contexts: c[source.split("!", 1)[0]],
                    day_for=day_for,
                    dagster_run_id=context.run.run_id,
                )
                for d in downloads:
                    statuses[d.status] += 1
                    if d.status == "failed":
                        context.log.warning(f"artifact {d.ref.source}: {d.detail}")
                _mark_seen(con, [d for d in downloads if d.status != "failed"])
            merge(total, part)
        context.log.info(f"GitHub cost for artifacts {first}…{last}: {client.stats.summary()}")
        requests = client.stats.requests
    for source, reason in total.quarantined:
        context.log.warning(f"quarantined {source}: {reason}")
    return MaterializeResult(
        metadata={
            **summary_metadata(total),
            "days": f"{first} … {last}",
            "artifacts_matching_new": len(todo),
            "artifacts_by_status": MetadataValue.json(dict(statuses)),
            "requests": requests,
            "rows_in_range": _rows_in_range(duckdb, first, last),
        },
        check_results=_checked(duckdb, first, last),
    )


def _checked(duckdb: DuckDBStore, first: date, last: date) -> list:
    with duckdb.connect(read_only=True) as con:
        return raw_checks.results(con, TESTS_KEY, first, last)


def _downloaded_ahead(client, batches: list[list], concurrency: int) -> Iterator[list]:
    """Each batch's downloads, the next batch fetched in the background while the caller
    loads this one: the network and DuckDB work at the same time."""
    with ThreadPoolExecutor(max_workers=1) as ahead:
        fetch = partial(download_all, client, concurrency=concurrency)
        pending = ahead.submit(fetch, batches[0]) if batches else None
        for k in range(len(batches)):
            downloads = pending.result()
            pending = ahead.submit(fetch, batches[k + 1]) if k + 1 < len(batches) else None
            yield downloads


def _mark_seen(con: duckdb.DuckDBPyConnection, downloads: list) -> None:
    """Record the batch's artifacts in ``meta.artifacts_seen`` with one statement."""
    if not downloads:
        return
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    con.execute(
        "INSERT INTO meta.artifacts_seen SELECT unnest(?::VARCHAR[]), unnest(?::BIGINT[]), "
        "unnest(?::BIGINT[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
        "unnest(?::VARCHAR[]), ?::TIMESTAMP",
        [
            [d.ref.repo for d in downloads],
            [d.ref.artifact_id for d in downloads],
            [d.ref.run_id for d in downloads],
            [d.ref.name for d in downloads],
            ["ingested" if d.status == "downloaded" else d.status for d in downloads],
            [d.detail for d in downloads],
            now,
        ],
    )


def _rows_in_range(duckdb: DuckDBStore, first, last) -> int:
    with duckdb.connect(read_only=True) as con:
        return int(
            con.execute(
                "SELECT count(*) FROM raw.test_results WHERE day BETWEEN ? AND ?", [first, last]
            ).fetchone()[0]
        )
