"""Reading extraction state from DuckDB and writing extracted rows back in one transaction.

Extraction talks to GitHub for minutes; the store is only opened briefly
before (to learn what it already holds) and after (to swap in the new rows),
so readers are not locked out meanwhile. A range of days is replaced in a
single transaction: a crash leaves the previous rows exactly as they were.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.github.client import CachedResponse, compress, decompress
from pipelines.github.extract import RunForJobs
from pipelines.github.rows import JOB_COLUMNS, RUN_COLUMNS
from pipelines.liveness import own_mark, process_alive
from pipelines.partitions import day_bounds
from pipelines.store import transaction

log = logging.getLogger(__name__)


class StoredResponseCache:
    """ETags and bodies of earlier answers, preloaded for one extraction; new ones kept
    (compressed) in memory until :meth:`persist` writes them inside the load transaction."""

    def __init__(self, entries: dict[str, CachedResponse] | None = None) -> None:
        # bodies are held zlib-compressed: a 30-day listing is ~100 MB of JSON otherwise
        self._entries = {url: _packed(r) for url, r in (entries or {}).items()}
        self._new: dict[str, CachedResponse] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_run_listings(
        cls, con: duckdb.DuckDBPyConnection, first_day: date, last_day: date
    ) -> StoredResponseCache:
        """Load the cached run-listing pages whose ``created`` window lies in the range, and
        the repositories' own answers (``/repos/{owner}/{name}``)."""
        rows = con.execute(
            "SELECT url, url LIKE '%/actions/runs?%' FROM meta.http_cache "
            "WHERE url LIKE '%/actions/runs?%' OR regexp_matches(url, '/repos/[^/]+/[^/?]+$')"
        ).fetchall()
        lo, hi = (d.strftime("%Y-%m-%d") for d in (first_day, last_day))
        urls = [url for url, listing in rows if not listing or _window_within(url, lo, hi)]
        return cls.for_urls(con, urls)

    @classmethod
    def for_urls(cls, con: duckdb.DuckDBPyConnection, urls: list[str]) -> StoredResponseCache:
        """Load the cached answers of exactly these URLs."""
        cache = cls()
        for chunk in _chunks(urls, 500):
            for url, etag, link, body, fetched_at in con.execute(
                "SELECT url, etag, link, body, fetched_at FROM meta.http_cache "
                "WHERE list_contains(?, url)",
                [chunk],
            ).fetchall():
                cache._entries[url] = CachedResponse(etag, link, body, fetched_at)
        return cache

    def get(self, url: str) -> CachedResponse | None:
        with self._lock:
            packed = self._new.get(url) or self._entries.get(url)
        return _unpacked(packed) if packed else None

    def put(self, url: str, response: CachedResponse) -> None:
        packed = _packed(response)
        with self._lock:
            self._new[url] = packed

    def persist(self, con: duckdb.DuckDBPyConnection) -> int:
        """Write the answers seen in this extraction (call inside the load transaction)."""
        if not self._new:
            return 0
        rows = [(url, r.etag, r.link, r.body, r.fetched_at) for url, r in self._new.items()]
        con.execute("DELETE FROM meta.http_cache WHERE list_contains(?, url)", [list(self._new)])
        con.executemany("INSERT INTO meta.http_cache VALUES (?, ?, ?, ?, ?)", rows)
        return len(rows)


def _packed(r: CachedResponse) -> CachedResponse:
    return CachedResponse(r.etag, r.link, compress(r.body), r.fetched_at)


def _unpacked(r: CachedResponse) -> CachedResponse:
    return CachedResponse(r.etag, r.link, decompress(r.body), r.fetched_at)


def _window_within(url: str, lo: str, hi: str) -> bool:
    created = parse_qs(urlsplit(url).query).get("created", [""])[0]
    start, sep, end = created.partition("..")
    return bool(sep) and lo <= start[:10] and end[:10] <= hi


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def stored_attempts(
    con: duckdb.DuckDBPyConnection, repos: list[str], first_day: date, last_day: date
) -> set[tuple[str, int, int]]:
    """Keys of the completed attempts already stored for runs created in the range."""
    start, end = day_bounds(first_day, last_day)
    rows = con.execute(
        "SELECT repo, run_id, run_attempt FROM raw.workflow_runs "
        "WHERE list_contains(?, repo) AND created_at >= ? AND created_at < ? "
        "AND status = 'completed'",
        [repos, start, end],
    ).fetchall()
    return {(r, int(i), int(a)) for r, i, a in rows}


_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "TIMESTAMP": pa.string(),  # ISO text, cast by DuckDB on the way in
    "JSON": pa.string(),
    "INTEGER[]": pa.list_(pa.int32()),
    "VARCHAR[]": pa.list_(pa.string()),
}


STAGE_PREFIX = "ci-metrics-stage-"
# ci-metrics-stage-{owner pid}-{owner start mark}-{mkstemp's random part}.parquet
_OWNED_STAGE = re.compile(r"ci-metrics-stage-(\d+)-(\d+)-[A-Za-z0-9_]+\.parquet")
# Staging files named before they carried their owner: removed once this long untouched.
UNOWNED_STAGE_MAX_AGE_S = 24 * 3600


def sweep_stale_stages(directory: Path | None = None) -> list[Path]:
    """Remove the staging files whose owning process is gone; return what was removed.

    A run killed outright (SIGKILL, the OOM killer) leaves its staging file behind, up to
    gigabytes for a long range, and nothing else would ever remove it. A file whose owner
    is alive (a concurrent run still writing it) is never touched.
    """
    directory = Path(directory or tempfile.gettempdir())
    removed = []
    try:
        candidates = list(directory.glob(f"{STAGE_PREFIX}*.parquet"))
    except OSError as exc:  # an unreadable temp dir must not stop the load
        log.warning("could not list %s for stale staging files: %s", directory, exc)
        return removed
    for path in candidates:
        owned = _OWNED_STAGE.fullmatch(path.name)
        if owned:
            stale = not process_alive(int(owned.group(1)), owned.group(2))
        else:
            try:
                stale = time.time() - path.stat().st_mtime > UNOWNED_STAGE_MAX_AGE_S
            except OSError:
                continue
        if not stale:
            continue
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:  # another user's file in a shared temp dir
            log.warning("could not remove stale staging file %s: %s", path, exc)
            continue
        log.warning("removed staging file %s left by a process that is gone", path)
        removed.append(path)
    return removed


class RowStage:
    """Rows streamed to a temporary Parquet file, loaded by DuckDB in one scan.

    Parquet rather than JSON Lines: DuckDB scans it with a fraction of the
    memory, and rows leave Python a few thousand at a time. The file is named for
    the process writing it, so that a later load can remove it if that process
    dies without cleaning up (:func:`sweep_stale_stages`).
    """

    BATCH_ROWS = 5000
    # Each flush is one Parquet row group, which DuckDB reads whole: kept small in bytes
    # too (jobs carry their steps as JSON), so loads fit under LOAD_MEMORY_LIMIT.
    BATCH_BYTES = 8 << 20

    def __init__(self, columns: dict[str, str]) -> None:
        self.columns = columns
        self.schema = pa.schema([(name, _ARROW_TYPES[kind]) for name, kind in columns.items()])
        pid, mark = own_mark()
        fd, name = tempfile.mkstemp(prefix=f"{STAGE_PREFIX}{pid}-{mark}-", suffix=".parquet")
        os.close(fd)
        self.path = Path(name)
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(
            self.path, self.schema, compression="snappy"
        )
        self._pending: list[dict[str, Any]] = []
        self._pending_bytes = 0
        self.count = 0

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self._pending.append(row)
            self._pending_bytes += sum(len(v) for v in row.values() if isinstance(v, str))
            self.count += 1
        if len(self._pending) >= self.BATCH_ROWS or self._pending_bytes >= self.BATCH_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._pending and self._writer is not None:
            self._writer.write_batch(pa.RecordBatch.from_pylist(self._pending, schema=self.schema))
            self._pending = []
            self._pending_bytes = 0

    def close(self) -> None:
        if self._writer is not None:
            self._flush()
            self._writer.close()
            self._writer = None

    def select_sql(self) -> str:
        """``SELECT`` over the staged file with the table's exact column types."""
        self.close()
        cols = ", ".join(
            f"CAST({name} AS {kind}) AS {name}" if kind in ("TIMESTAMP", "JSON") else name
            for name, kind in self.columns.items()
        )
        # The path is ours (mkstemp), not user input; it is passed as a parameter anyway.
        return f"SELECT {cols} FROM read_parquet(?)"

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


@contextmanager
def staged(columns: dict[str, str]) -> Iterator[RowStage]:
    """A fresh stage, removed afterwards; stale ones of dead processes are swept first."""
    sweep_stale_stages()
    stage = RowStage(columns)
    try:
        yield stage
    finally:
        stage.discard()


def replace_runs(
    con: duckdb.DuckDBPyConnection,
    repos: list[str],
    first_day: date,
    last_day: date,
    stage: RowStage,
    cache: StoredResponseCache | None,
) -> int:
    """Swap in the range's attempts: fetched rows, plus stored earlier attempts of listed runs.

    Runs no longer listed (deleted on GitHub) leave the range; stored earlier
    attempts of runs still listed are kept since attempts never change once done.
    """
    start, end = day_bounds(first_day, last_day)
    names = ", ".join(RUN_COLUMNS)
    with transaction(con):
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE stage_runs AS {stage.select_sql()}", [str(stage.path)]
        )
        con.execute(
            f"""
            INSERT INTO stage_runs
            SELECT {names} FROM raw.workflow_runs r
            WHERE list_contains(?, r.repo) AND r.created_at >= ? AND r.created_at < ?
              AND EXISTS (SELECT 1 FROM stage_runs s WHERE s.repo = r.repo AND s.run_id = r.run_id)
              AND NOT EXISTS (
                SELECT 1 FROM stage_runs s
                WHERE s.repo = r.repo AND s.run_id = r.run_id AND s.run_attempt = r.run_attempt)
            """,
            [repos, start, end],
        )
        con.execute(
            "DELETE FROM raw.workflow_runs "
            "WHERE list_contains(?, repo) AND created_at >= ? AND created_at < ?",
            [repos, start, end],
        )
        con.execute(f"INSERT INTO raw.workflow_runs ({names}) SELECT {names} FROM stage_runs")
        if cache is not None:
            cache.persist(con)
        count = con.execute("SELECT count(*) FROM stage_runs").fetchone()[0]
        con.execute("DROP TABLE stage_runs")
    return int(count)


def runs_needing_jobs(
    con: duckdb.DuckDBPyConnection, repos: list[str], first_day: date, last_day: date
) -> tuple[list[RunForJobs], int]:
    """Runs in the range whose jobs must be read, and how many were skipped as final.

    A run's jobs are final once they were read while every attempt up to its
    latest had completed; anything else (new attempts, runs still going) is read.
    """
    start, end = day_bounds(first_day, last_day)
    rows = con.execute(
        """
        WITH runs AS (
            SELECT repo, run_id, max(run_attempt) AS latest, min(created_at) AS created_at,
                   bool_and(status = 'completed') AS completed
            FROM raw.workflow_runs
            WHERE list_contains(?, repo) AND created_at >= ? AND created_at < ?
            GROUP BY repo, run_id
        )
        SELECT r.repo, r.run_id, r.latest, strftime(r.created_at, '%Y-%m-%d %H:%M:%S'),
               f.run_id IS NOT NULL AS final, r.completed
        FROM runs r
        LEFT JOIN meta.jobs_fetched f
          ON f.repo = r.repo AND f.run_id = r.run_id AND f.run_attempt = r.latest
        ORDER BY r.repo, r.run_id
        """,
        [repos, start, end],
    ).fetchall()
    todo = [
        RunForJobs(repo, int(rid), int(latest), created, bool(completed))
        for repo, rid, latest, created, final, completed in rows
        if not final
    ]
    return todo, len(rows) - len(todo)


def replace_jobs(
    con: duckdb.DuckDBPyConnection,
    repos: list[str],
    first_day: date,
    last_day: date,
    fetched_runs: list[RunForJobs],
    stage: RowStage,
    cache: StoredResponseCache | None = None,
) -> int:
    """Swap in the jobs of the runs just read; drop jobs of runs that left the range.

    A run's jobs are marked final when all its stored attempts are completed.
    """
    start, end = day_bounds(first_day, last_day)
    names = ", ".join(JOB_COLUMNS)
    fetched = [(r.repo, r.run_id) for r in fetched_runs]
    with transaction(con):
        con.execute("CREATE OR REPLACE TEMP TABLE fetched_runs (repo VARCHAR, run_id BIGINT)")
        if fetched:
            con.execute(
                "INSERT INTO fetched_runs SELECT unnest(?), unnest(?)",
                [[r for r, _ in fetched], [i for _, i in fetched]],
            )
        con.execute(
            """
            DELETE FROM raw.workflow_jobs j
            WHERE list_contains(?, j.repo) AND j.run_created_at >= ? AND j.run_created_at < ?
              AND (EXISTS (SELECT 1 FROM fetched_runs f
                           WHERE f.repo = j.repo AND f.run_id = j.run_id)
                   OR NOT EXISTS (SELECT 1 FROM raw.workflow_runs r
                                  WHERE r.repo = j.repo AND r.run_id = j.run_id))
            """,
            [repos, start, end],
        )
        # straight from the staged file: no copy of every job (and its steps) in memory
        con.execute(
            f"INSERT INTO raw.workflow_jobs ({names}) {stage.select_sql()}", [str(stage.path)]
        )
        con.execute(
            "DELETE FROM meta.jobs_fetched f WHERE EXISTS "
            "(SELECT 1 FROM fetched_runs x WHERE x.repo = f.repo AND x.run_id = f.run_id)"
        )
        con.execute(
            """
            INSERT INTO meta.jobs_fetched
            SELECT r.repo, r.run_id, max(r.run_attempt), now()::TIMESTAMP
            FROM raw.workflow_runs r
            JOIN fetched_runs f ON f.repo = r.repo AND f.run_id = r.run_id
            GROUP BY r.repo, r.run_id
            HAVING bool_and(r.status = 'completed')
            """
        )
        if cache is not None:
            cache.persist(con)
        # runs made final here are never read again: their cached pages are dead weight
        con.execute(
            """
            DELETE FROM meta.http_cache c
            WHERE c.url LIKE '%/actions/runs/%/jobs%' AND EXISTS (
                SELECT 1 FROM meta.jobs_fetched f
                WHERE f.run_id = TRY_CAST(regexp_extract(c.url, '/actions/runs/(\\d+)/jobs', 1)
                                          AS BIGINT))
            """
        )
        con.execute("DROP TABLE fetched_runs")
    return stage.count


def replace_repositories(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """Store each repository's metadata (default branch, address), replacing what was."""
    with transaction(con):
        for row in rows:
            con.execute("DELETE FROM raw.repositories WHERE repo = ?", [row["repo"]])
            con.execute(
                "INSERT INTO raw.repositories (repo, default_branch, html_url, fetched_at) "
                "VALUES (?, ?, ?, ?)",
                [row["repo"], row["default_branch"], row["html_url"], row["fetched_at"]],
            )
