"""Where the explorer reads: the published snapshot if there is one, else the store.

The snapshot (:mod:`pipelines.snapshot`) is attached read-only to a private in-memory
database and reopened when the file changes (a new one was renamed into place), so a
pipeline run can write the store the whole time. DuckDB caches one database per path in a
process, so a plain second ``connect`` to the renamed path would keep the old copy; the
in-memory database holding the attachment avoids that. Requests in flight keep the copy
they started with; it is closed when the last of them ends.

Without a snapshot each request opens the store read-only and closes it at once, so the
explorer never blocks a writer for longer than a page takes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from pipelines import store
from pipelines.snapshot import snapshot_path

STORE_RETRY_S = 2.0
T = TypeVar("T")


class StoreUnavailableError(RuntimeError):
    """Neither a snapshot nor the store can be read just now."""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class _Generation:
    """One opened copy of the snapshot and the requests using it."""

    key: tuple[int, int, int]
    con: duckdb.DuckDBPyConnection
    users: int = 0
    retired: bool = False
    memo: dict[str, Any] = field(default_factory=dict)
    opened_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Origin:
    """What a page was read from, for the freshness line."""

    kind: str  # "snapshot" or "store"
    path: str
    modified_at: datetime | None


class Source:
    """Hands out read-only connections for the store at ``db_path``."""

    def __init__(self, db_path: str | Path, memory_limit: str | None = None) -> None:
        self.db_path = Path(db_path)
        self.snapshot = snapshot_path(db_path)
        self.memory_limit = memory_limit
        self._lock = threading.Lock()
        self._gen: _Generation | None = None
        self._gen_of: dict[int, _Generation] = {}  # id of a handed-out cursor: its copy

    def _open_snapshot(self, key: tuple[int, int, int]) -> _Generation:
        con = duckdb.connect(":memory:")
        try:
            if self.memory_limit:
                store.set_memory_limit(con, self.memory_limit)
            con.execute(f"ATTACH {_literal(str(self.snapshot))} AS snapshot (READ_ONLY)")
        except BaseException:
            con.close()
            raise
        return _Generation(key, con)

    def _current(self) -> _Generation | None:
        """The open snapshot, reopened if the file changed; None without a snapshot."""
        try:
            st = self.snapshot.stat()
        except FileNotFoundError:
            return None
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            gen = self._gen
            if gen is None or gen.key != key:
                new = self._open_snapshot(key)
                if gen is not None:
                    gen.retired = True
                    if gen.users == 0:
                        gen.con.close()
                self._gen = gen = new
            gen.users += 1
            return gen

    def _release(self, gen: _Generation) -> None:
        with self._lock:
            gen.users -= 1
            if gen.retired and gen.users == 0:
                gen.con.close()

    def origin(self) -> Origin:
        for kind, path in (("snapshot", self.snapshot), ("store", self.db_path)):
            try:
                mtime = path.stat().st_mtime
            except FileNotFoundError:
                continue
            return Origin(kind, str(path), datetime.fromtimestamp(mtime, UTC))
        return Origin("store", str(self.db_path), None)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection for one request, closed when the block ends."""
        gen = self._current()
        if gen is not None:
            cur = gen.con.cursor()
            self._gen_of[id(cur)] = gen
            try:
                cur.execute("SET TimeZone = 'UTC'")
                cur.execute("USE snapshot")
                yield cur
            finally:
                del self._gen_of[id(cur)]
                cur.close()
                self._release(gen)
            return
        try:
            opened = store.connect(
                self.db_path, read_only=True, retry_s=STORE_RETRY_S, memory_limit=self.memory_limit
            )
            con = opened.__enter__()
        except FileNotFoundError as exc:
            raise StoreUnavailableError(
                f"no store at {self.db_path} yet: run the pipeline (ci-metrics materialize "
                "or ci-metrics demo) first"
            ) from exc
        except store.StoreLockedError as exc:
            raise StoreUnavailableError(
                f"the store {self.db_path} is being written and no snapshot "
                f"({self.snapshot.name}) has been published yet; try again when the run ends"
            ) from exc
        try:
            yield con
        finally:
            opened.__exit__(None, None, None)

    def memo(self, con: duckdb.DuckDBPyConnection, name: str, compute: Callable[[], T]) -> T:
        """``compute()``, kept with the snapshot copy ``con`` reads, so it runs once per
        published snapshot; run every time when ``con`` reads the store itself."""
        gen = self._gen_of.get(id(con))
        if gen is None:
            return compute()
        with self._lock:
            if name in gen.memo:
                return gen.memo[name]
        value = compute()
        with self._lock:
            return gen.memo.setdefault(name, value)

    def close(self) -> None:
        with self._lock:
            if self._gen is not None:
                self._gen.retired = True
                if self._gen.users == 0:
                    self._gen.con.close()
                self._gen = None
