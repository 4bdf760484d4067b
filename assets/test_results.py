"""Test results from the runs' artifacts: JUnit XML and our pytest plugin's JSON Lines.

Daily partitioned on the run's ``created_at``, like the raw runs. Each file is
ingested once by content (``meta.ingested_files``) and each artifact is
downloaded once (``meta.artifacts_seen``), so re-materializing a range adds
nothing; runs re-run later bring new artifacts, which the next pass picks up.
"""

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial

import duckdb
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
)

from assets import raw_checks
from assets.github import JOBS_KEY, RUNS_KEY, partition_days, raw_asset
from pipelines import asset_keys
from pipelines.dagster_adapter import single_run_asset
from pipelines.partitions import day_bounds
from pipelines.resources import DuckDBStore, GitHubAPI, TestReportSources
from pipelines.store import LOAD_MEMORY_LIMIT
from pipelines.testresults.artifacts import (
    ArtifactRef,
    attempt_for,
    batches,
    context_for,
    download_all,
    list_artifacts,
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


@single_run_asset(
    key=TESTS_KEY,
    deps=[RUNS_KEY, JOBS_KEY],
    **raw_asset("tests"),
    check_specs=raw_checks.specs(TESTS_KEY),
    description="raw.test_results: one row per test execution, from the runs' artifacts.",
)
def test_results(
    context: AssetExecutionContext,
    duckdb: DuckDBStore,
    github: GitHubAPI,
    test_reports: TestReportSources,
) -> MaterializeResult:
    first, last = partition_days(context)
    start, end = day_bounds(first, last)
    repos = github.repo_list()
    patterns = test_reports.patterns()
    total = IngestSummary()
    statuses: Counter[str] = Counter()
    new_artifacts = 0
    with github.client() as client, ThreadPoolExecutor(max_workers=1) as ahead:
        # The listing is read lazily and cut into rounds: what a round holds, and what
        # links it to its runs, is looked up per round, so memory does not grow with the
        # range. The next round downloads while one loads.
        listing = (ref for repo in repos for ref in list_artifacts(client, repo, start, patterns))
        candidates = batches(listing, max_count=DOWNLOAD_BATCH, max_bytes=DOWNLOAD_BATCH_BYTES)
        fetch = partial(download_all, client, concurrency=github.concurrency)
        with duckdb.connect() as con:
            current = _next_round(con, candidates, start, end)
        pending = ahead.submit(fetch, current.refs) if current else None
        while current is not None and pending is not None:
            downloads = pending.result()
            new_artifacts += len(current.refs)
            with duckdb.connect(memory_limit=LOAD_MEMORY_LIMIT) as con:
                following = _next_round(con, candidates, start, end)
                pending = ahead.submit(fetch, following.refs) if following else None
                part = ingest_files(
                    con,
                    [(d.ref.source, d.data) for d in downloads if d.data is not None],
                    context_overrides=current.contexts(downloads),
                    day_for=current.day_for,
                    dagster_run_id=context.run.run_id,
                )
                for d in downloads:
                    statuses[d.status] += 1
                    if d.status == "failed":
                        context.log.warning(f"artifact {d.ref.source}: {d.detail}")
                _mark_seen(con, [d for d in downloads if d.status != "failed"])
            merge(total, part)
            current = following
        context.log.info(f"GitHub cost for artifacts {first}…{last}: {client.stats.summary()}")
        requests = client.stats.requests
    for source, reason in total.quarantined:
        context.log.warning(f"quarantined {source}: {reason}")
    return MaterializeResult(
        metadata={
            **summary_metadata(total),
            "days": f"{first} … {last}",
            "artifacts_matching_new": new_artifacts,
            "artifacts_by_status": MetadataValue.json(dict(statuses)),
            "requests": requests,
            "rows_in_range": _rows_in_range(duckdb, first, last),
        },
        check_results=_checked(duckdb, first, last),
    )


def _checked(duckdb: DuckDBStore, first: date, last: date) -> list:
    """The raw checks over the range. Their groupings hold a key per test execution of the
    range, so they are capped as the loads are and spill: at 512MB the check of 28 days
    (1.2 million rows) grew the process by ~200 MB, at 64MB by ~80 MB, 0.2 s slower."""
    with duckdb.connect(read_only=True, memory_limit=LOAD_MEMORY_LIMIT) as con:
        return raw_checks.results(con, TESTS_KEY, first, last)


@dataclass
class _Round:
    """Artifacts downloaded and loaded together, with the runs they belong to."""

    refs: list[ArtifactRef]
    attempts: dict[tuple[str, int], list[tuple[int, datetime | None]]]
    workflow: dict[tuple[str, int], str | None]
    created: dict[tuple[str, int], date]

    def day_for(self, run: RunContext) -> date | None:
        """The run's created day, from the rows read for the round, not a query per file."""
        return self.created.get((run.repo or "", run.run_id or 0))

    def contexts(self, downloads: list) -> Callable[[str], RunContext]:
        """Run linkage of each downloaded artifact's files (``source!member`` names)."""
        by_source = {}
        for d in downloads:
            key = (d.ref.repo, d.ref.run_id)
            by_source[d.ref.source] = context_for(
                d.ref, attempt_for(d.ref, self.attempts[key]), self.workflow[key]
            )
        return lambda source: by_source[source.split("!", 1)[0]]


def _next_round(
    con: duckdb.DuckDBPyConnection,
    candidates: Iterator[list[ArtifactRef]],
    start: datetime,
    end: datetime,
) -> _Round | None:
    """The next listed artifacts not seen before whose runs were created in the range."""
    for refs in candidates:
        keys = list({(r.repo, r.run_id) for r in refs})
        runs = con.execute(
            "SELECT repo, run_id, run_attempt, run_started_at, workflow_name, created_at::DATE "
            "FROM raw.workflow_runs JOIN (SELECT unnest(?::VARCHAR[]) AS repo, "
            "unnest(?::BIGINT[]) AS run_id) USING (repo, run_id) "
            "WHERE created_at >= ? AND created_at < ?",
            [[k[0] for k in keys], [k[1] for k in keys], start, end],
        ).fetchall()
        seen = set(
            con.execute(
                "SELECT repo, artifact_id FROM meta.artifacts_seen JOIN (SELECT "
                "unnest(?::VARCHAR[]) AS repo, unnest(?::BIGINT[]) AS artifact_id) "
                "USING (repo, artifact_id)",
                [[r.repo for r in refs], [r.artifact_id for r in refs]],
            ).fetchall()
        )
        found = _Round([], {}, {}, {})
        for repo, run_id, attempt, started, wf, day in runs:
            found.attempts.setdefault((repo, run_id), []).append((attempt, started))
            found.workflow[(repo, run_id)] = wf
            found.created[(repo, run_id)] = min(day, found.created.get((repo, run_id), day))
        found.refs = [
            r
            for r in refs
            if (r.repo, r.run_id) in found.attempts and (r.repo, r.artifact_id) not in seen
        ]
        if found.refs:
            return found
    return None


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
