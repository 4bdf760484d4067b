"""The one way the code location touches DuckDB.

Every connection is closed in ``finally``; readers open read-only so they never
block a writer longer than needed; a lock held by another process (a second
Dagster run, ``ci-metrics report`` during a load) is retried briefly before
giving up with a clear error.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import duckdb

T = TypeVar("T")

LOCK_RETRY_S = 30.0
# Raw loads are long streaming inserts: capped, DuckDB writes to disk rather than holding
# an uncommitted day range in memory (a 30-day jobs load grows RSS by ~210 MB at 256MB,
# under 60 MB at 64MB, for ~0.5 s more). Their inputs come in small row groups, so no
# single allocation needs more than this.
LOAD_MEMORY_LIMIT = "64MB"
# Reports rebuild the test tables of each window (up to 90 days of raw.test_results) in
# temporary tables. Uncapped, DuckDB kept 2.7 GB for two weeks of 6,000 runs a day; at
# 1GB it spills and the read takes 24 s instead of 18 s.
REPORT_MEMORY_LIMIT = "1GB"
# The dashboard asset runs in the pipeline's process at the end of a backfill, when its
# 90-day window covers the whole range: at 1GB, 28 days of 600 runs a day took the process
# from 340 MB to 865 MB. It reads under this floor, raised only as far as its per-test
# percentiles need for the test rows of its windows (reports.data.memory_for_tests):
# they cannot spill, and a year-scale store needs about 512MB for them.
DASHBOARD_MEMORY_FLOOR_MB = 128
# KPI builds: bounded, so a long backfill spills rather than grows (the per-day tables of a
# range are built in one statement each). Every table over 28 days of 600 runs a day peaks
# at 322 MB at 512MB and 266 MB at 128MB, in the same time.
BUILD_MEMORY_LIMIT = "128MB"


class StoreLockedError(RuntimeError):
    """Another process holds the DuckDB file's write lock for too long."""


def _is_lock_error(exc: duckdb.Error) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text or "being used by another" in text


@contextmanager
def connect(
    path: str | Path,
    *,
    read_only: bool = False,
    retry_s: float = LOCK_RETRY_S,
    memory_limit: str | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open ``path`` (creating the schema when writable), yield it, always close it.

    ``path`` is a local file, or ``md:<database>`` for MotherDuck (its token comes from
    ``motherduck_token`` in the environment, as DuckDB reads it).

    ``memory_limit`` caps DuckDB for this connection (e.g. :data:`LOAD_MEMORY_LIMIT`
    for bulk loads, which spill instead); where it is configured, the caller passes
    ``CI_METRICS_DUCKDB_MEMORY_LIMIT`` instead.
    """
    remote = str(path).startswith("md:")  # MotherDuck: a database name, not a local file
    if not remote:
        path = Path(path)
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.exists():
            raise FileNotFoundError(
                f"DuckDB store {path} does not exist yet: materialize assets first"
            )
    deadline = time.monotonic() + retry_s
    delay = 0.05
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if not _is_lock_error(exc) or time.monotonic() >= deadline:
                if _is_lock_error(exc):
                    raise StoreLockedError(
                        f"DuckDB store {path} is locked by another process "
                        f"(waited {retry_s:.0f}s): {exc}"
                    ) from exc
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
    try:
        con.execute("SET TimeZone = 'UTC'")
        if memory_limit:
            set_memory_limit(con, memory_limit)
        if not read_only:
            ensure_schema(con)
        yield con
    finally:
        con.close()


def set_memory_limit(con: duckdb.DuckDBPyConnection, size: str) -> None:
    """Cap DuckDB's memory on ``con``'s database at ``size`` (e.g. ``512MB``)."""
    # a SET takes no parameters: the value is validated instead
    con.execute(f"SET memory_limit = '{_checked_size(size)}'")


@contextmanager
def one_thread(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run DuckDB on one thread inside the block (the setting is its database's), then as
    before. Aggregates that cannot spill, such as percentiles per group, then hold one
    partial state per group instead of one per thread, so they fit a smaller limit."""
    (threads,) = con.execute("SELECT current_setting('threads')").fetchone()
    con.execute("SET threads = 1")
    try:
        yield
    finally:
        con.execute(f"SET threads = {int(threads)}")


def _checked_size(value: str) -> str:
    """A DuckDB size such as ``512MB`` or ``2GB``; anything else is refused."""
    if not re.fullmatch(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", value.strip()):
        raise ValueError(f"CI_METRICS_DUCKDB_MEMORY_LIMIT: {value!r} is not a size like 512MB")
    return value.strip()


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every raw and meta table that does not exist yet (idempotent)."""
    con.execute(resources.files("pipelines").joinpath("schema.sql").read_text())


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One transaction: committed when the block ends, rolled back on any error."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def parallel(
    con: duckdb.DuckDBPyConnection, *calls: Callable[[duckdb.DuckDBPyConnection], T]
) -> list[T]:
    """``call(c)`` for each of ``calls``, side by side on threads, each ``c`` a connection to
    ``con``'s database in its catalog, schema and time zone (a connection runs one query at
    a time); their results in order. For pages whose queries are independent of each other."""
    if len(calls) <= 1:
        return [call(con) for call in calls]
    catalog, schema, zone = con.execute(
        "SELECT current_database(), current_schema(), current_setting('TimeZone')"
    ).fetchone()

    def run(call: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        cur = con.cursor()
        try:
            cur.execute(f"USE {_quoted(catalog)}.{_quoted(schema)}")
            cur.execute("SET TimeZone = ?", [zone])
            return call(cur)
        finally:
            cur.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether ``schema.table`` exists (readers run before any model was built)."""
    return bool(
        con.execute(  # duckdb_tables(): half the cost of information_schema, asked per query
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def markdown_table(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
) -> str:
    """A Markdown table of the rows ``sql`` returns (for materialization metadata)."""
    cur = con.execute(sql, dict(params) if isinstance(params, Mapping) else list(params))
    return markdown_rows([d[0] for d in cur.description], cur.fetchall())


def markdown_rows(cols: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table of ``rows`` under ``cols``: one line per row, pipes escaped."""

    def cell(v: object) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:.4g}"
        # one line per row (a line break ends it); backslashes escaped so they show as written
        return " ".join(str(v).split()).replace("\\", "\\\\").replace("|", "\\|")

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
