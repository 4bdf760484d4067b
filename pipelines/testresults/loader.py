"""Write test reports into ``raw.test_results``, once per file content.

A batch of files is one transaction: a crash half-way leaves no half-written
file behind, and ``meta.ingested_files`` (sha256 of each file's bytes) only
ever lists files whose rows are all there, which is what makes re-running an
ingestion harmless. A file that cannot be read is quarantined in
``raw.ingest_errors`` and the rest of the batch still goes in.

Rows reach DuckDB as Arrow record batches. Small files (most artifacts hold
a few hundred tests) are read whole and many go in with one ``INSERT``: a
statement per file cost more than parsing it. A large file is a stream of
batches consumed by its own ``INSERT``, which keeps memory flat however
large the file.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from pipelines.store import transaction
from pipelines.testresults.archive import ArchiveError, read_members
from pipelines.testresults.junit import DEFAULT_MAX_BYTES, JUnitParseError, stream_junit
from pipelines.testresults.rows import RERUN, ROW_COLUMNS, RunContext, context_from_mapping

BATCH_ROWS = 10_000
WHOLE_FILE_BYTES = 4 * 1024 * 1024
"""Files up to this size are read whole and inserted together with others."""
PENDING_ROWS = 20_000  # rows of whole files held before they go in
GROUP_FILES = 256  # files whose hashes are looked up in one query
GROUP_BYTES = 64 * 1024 * 1024  # ... or fewer, when they hold this many bytes
_HASH_READ_BYTES = 1 << 20

Source = str | Path | tuple[str, bytes]
Overrides = RunContext | Mapping[str, Any] | Callable[[str], RunContext | Mapping | None] | None
DayFor = Callable[[RunContext], date | None]

_ARROW_SCHEMA = pa.schema(
    [
        ("test_id", pa.string()),
        ("outcome", pa.string()),
        ("module", pa.string()),
        ("classname", pa.string()),
        ("name", pa.string()),
        ("file", pa.string()),
        ("duration_s", pa.float64()),
        ("message", pa.string()),
        ("suite", pa.string()),
        ("report_time", pa.timestamp("us")),
        ("hostname", pa.string()),
    ]
)
assert tuple(_ARROW_SCHEMA.names) == ROW_COLUMNS
_ROW_STRUCT = pa.struct(list(_ARROW_SCHEMA))
_STREAM_SCHEMA = _ARROW_SCHEMA.append(pa.field("seq", pa.int32()))

_FILE_FIELDS = [
    ("day", pa.date32()),
    ("source", pa.string()),
    ("source_kind", pa.string()),
    ("content_hash", pa.string()),
    ("repo", pa.string()),
    ("run_id", pa.int64()),
    ("run_attempt", pa.int32()),
    ("head_sha", pa.string()),
    ("branch", pa.string()),
    ("workflow", pa.string()),
]
_WHOLE_SCHEMA = pa.schema([*_FILE_FIELDS, *_STREAM_SCHEMA])
_COLUMNS = (
    "day, source, source_kind, content_hash, seq, repo, run_id, run_attempt, "
    f"head_sha, branch, workflow, {', '.join(ROW_COLUMNS)}"
)
_INSERT = f"""
INSERT INTO raw.test_results ({_COLUMNS}, ingested_at)
SELECT ?, ?, ?, ?, seq, ?, ?, ?, ?, ?, ?, {", ".join(ROW_COLUMNS)}, ?
FROM _rows_stream
"""
_INSERT_WHOLE = f"""
INSERT INTO raw.test_results ({_COLUMNS}, ingested_at)
SELECT {_COLUMNS}, ? FROM _rows_whole
"""


@dataclass
class IngestSummary:
    """What one call to :func:`ingest_files` did."""

    files_read: int = 0
    files_skipped_duplicate: int = 0
    tests_by_outcome: Counter[str] = field(default_factory=Counter)
    quarantined: list[tuple[str, str]] = field(default_factory=list)
    days: set[date] = field(default_factory=set)

    @property
    def tests(self) -> int:
        return sum(self.tests_by_outcome.values())


@dataclass
class _File:
    source: str
    kind: str  # 'junit', 'artifact' or 'plugin' (the source_kind column)
    data: bytes | Path
    modified: datetime | None
    content_hash: str = ""


class IngestError(RuntimeError):
    """A file the store refused for a reason no check caught; the batch is rolled back."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class _Quarantine(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def run_created_day(con: duckdb.DuckDBPyConnection) -> DayFor:
    """A ``day_for`` that looks the run up in ``raw.workflow_runs`` (its created_at day)."""

    def day_for(context: RunContext) -> date | None:
        if context.repo is None or context.run_id is None:
            return None
        row = con.execute(
            "SELECT min(created_at)::DATE FROM raw.workflow_runs WHERE repo = ? AND run_id = ?",
            [context.repo, context.run_id],
        ).fetchall()
        return row[0][0] if row else None

    return day_for


def ingest_files(
    con: duckdb.DuckDBPyConnection,
    sources: Iterable[Source],
    *,
    context_overrides: Overrides = None,
    day_for: DayFor | None = None,
    dagster_run_id: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    batch_rows: int = BATCH_ROWS,
    whole_file_bytes: int = WHOLE_FILE_BYTES,
) -> IngestSummary:
    """Ingest report files (paths or ``(name, bytes)``; zips are opened) in one transaction.

    ``context_overrides`` (a RunContext, a mapping, or a function of the source
    name) wins over the run linkage found in a report. A row's ``day`` is
    ``day_for(context)`` (default: the run's created day in raw.workflow_runs),
    else the report's timestamp day, else the file's modification day. Files up
    to ``whole_file_bytes`` are read whole and inserted together; larger ones
    stream in batches of ``batch_rows``.
    """
    summary = IngestSummary()
    day_for = day_for or run_created_day(con)
    now = datetime.now(UTC).replace(tzinfo=None)
    pending = _Pending()
    with transaction(con):
        seen: set[str] = set()
        for group in _groups(_expand(sources, summary, max_bytes)):
            files = [item for item in group if isinstance(item, _File)]
            for item in files:
                item.content_hash = _sha256(item.data)
            seen |= _known_hashes(con, [item.content_hash for item in files])
            for item in group:
                if isinstance(item, tuple):  # (source, reason, hash) of an unreadable container
                    _quarantine(con, summary, *item, now=now, dagster_run_id=dagster_run_id)
                    continue
                if item.content_hash in seen:
                    summary.files_skipped_duplicate += 1
                    continue
                seen.add(item.content_hash)
                overrides = context_overrides
                if callable(overrides):
                    overrides = overrides(item.source)
                try:
                    if _size(item.data) <= whole_file_bytes:
                        whole = _read_whole(item, overrides, day_for, max_bytes)
                        outcomes, day = whole.outcomes, whole.day
                        pending.add(whole)
                        if pending.rows >= PENDING_ROWS:
                            pending.flush(con, now)
                    else:
                        outcomes, day = _load_file(
                            con,
                            item,
                            overrides,
                            day_for,
                            now,
                            max_bytes=max_bytes,
                            batch_rows=batch_rows,
                        )
                        _mark_ingested(
                            con, [item.content_hash], [item.source], [day], [outcomes.total()], now
                        )
                except _Quarantine as exc:
                    _quarantine(
                        con,
                        summary,
                        item.source,
                        exc.reason,
                        item.content_hash,
                        now=now,
                        dagster_run_id=dagster_run_id,
                    )
                    continue
                except duckdb.Error as exc:  # the transaction is void: roll the batch back
                    raise IngestError(item.source, f"{type(exc).__name__}: {exc}") from exc
                summary.files_read += 1
                summary.tests_by_outcome.update(outcomes)
                if outcomes:
                    summary.days.add(day)
        pending.flush(con, now)
    return summary


def _groups(items: Iterator[_File | tuple]) -> Iterator[list[_File | tuple]]:
    """``items`` a few hundred files (at most ``GROUP_BYTES`` of them) at a time."""
    group: list[_File | tuple] = []
    size = 0
    for item in items:
        group.append(item)
        if isinstance(item, _File) and isinstance(item.data, bytes):
            size += len(item.data)
        if len(group) >= GROUP_FILES or size >= GROUP_BYTES:
            yield group
            group, size = [], 0
    if group:
        yield group


def _known_hashes(con: duckdb.DuckDBPyConnection, hashes: list[str]) -> set[str]:
    """Which of ``hashes`` are ingested already (one query, not the whole table)."""
    if not hashes:
        return set()
    return {
        r[0]
        for r in con.execute(
            "SELECT content_hash FROM meta.ingested_files "
            "WHERE content_hash IN (SELECT unnest(?::VARCHAR[]))",
            [hashes],
        ).fetchall()
    }


def _mark_ingested(
    con: duckdb.DuckDBPyConnection,
    hashes: list[str],
    sources: list[str],
    days: list[date],
    tests: list[int],
    now: datetime,
) -> None:
    """Record files in ``meta.ingested_files`` with one statement."""
    con.execute(
        "INSERT INTO meta.ingested_files SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
        "unnest(?::DATE[]), unnest(?::INTEGER[]), ?::TIMESTAMP",
        [hashes, sources, days, tests, now],
    )


def _size(data: bytes | Path) -> int:
    if isinstance(data, bytes):
        return len(data)
    try:
        return data.stat().st_size
    except OSError:
        return 0  # read whole: the reader reports why it cannot open the file


@dataclass
class _Whole:
    """A small file read to the end: final outcomes applied, its day and linkage known."""

    item: _File
    rows: list[tuple]
    day: date
    context: RunContext
    outcomes: Counter[str]


def _read_whole(
    item: _File, overrides: RunContext | Mapping | None, day_for: DayFor, max_bytes: int
) -> _Whole:
    try:
        reader = (
            _PluginRows(item, max_bytes) if item.kind == "plugin" else _JUnitRows(item, max_bytes)
        )
        rows = [row for batch in reader for row in batch]
    except (_Quarantine, OSError, MemoryError):
        raise  # a reason of our own, or trouble worth a retry rather than a quarantine
    except Exception as exc:  # a parse error, a malformed plugin line, an unforeseen shape
        raise _Quarantine(_reason(exc)) from None
    for seq in reader.rerun_seqs:
        rows[seq] = (rows[seq][0], RERUN, *rows[seq][2:])
    day, ctx = _placement(reader, item, overrides, day_for)
    return _Whole(item, rows, day, ctx, Counter(row[1] for row in rows))


class _Pending:
    """Whole files waiting to go in together: one INSERT of their rows, one statement
    recording them in ``meta.ingested_files``."""

    def __init__(self) -> None:
        self.files: list[_Whole] = []
        self.rows = 0

    def add(self, whole: _Whole) -> None:
        self.files.append(whole)
        self.rows += len(whole.rows)

    def flush(self, con: duckdb.DuckDBPyConnection, now: datetime) -> None:
        if not self.files:
            return
        files, self.files, self.rows = self.files, [], 0
        table = _whole_table(files)
        con.register("_rows_whole", table)
        try:
            con.execute(_INSERT_WHOLE, [now])
        except duckdb.Error as exc:  # the transaction is void: roll the batch back
            names = f"{files[0].item.source} and {len(files) - 1} other files"
            raise IngestError(names, f"{type(exc).__name__}: {exc}") from exc
        finally:
            with contextlib.suppress(duckdb.Error):
                con.unregister("_rows_whole")
        _mark_ingested(
            con,
            [w.item.content_hash for w in files],
            [w.item.source for w in files],
            [w.day for w in files],
            [len(w.rows) for w in files],
            now,
        )


def _whole_table(files: list[_Whole]) -> pa.Table:
    """Every file's rows with its placement repeated on each (``_WHOLE_SCHEMA``).

    Built column by column for the whole batch: the placement columns are each
    one ``take`` from a per-file array, not an array per file and column.
    """
    rows = [row for w in files for row in w.rows]
    index = pa.array([i for i, w in enumerate(files) for _ in range(len(w.rows))], pa.int32())
    per_file = [
        [w.day for w in files],
        [w.item.source for w in files],
        [w.item.kind for w in files],
        [w.item.content_hash for w in files],
        *zip(*(_context_values(w.context) for w in files), strict=True),
    ]
    columns = [
        pa.array(values, type=f[1]).take(index)
        for values, f in zip(per_file, _FILE_FIELDS, strict=True)
    ]
    seq = pa.array([seq for w in files for seq in range(len(w.rows))], pa.int32())
    tests = pa.RecordBatch.from_struct_array(pa.array(rows, type=_ROW_STRUCT)).columns
    return pa.Table.from_arrays([*columns, *tests, seq], schema=_WHOLE_SCHEMA)


def _quarantine(
    con: duckdb.DuckDBPyConnection,
    summary: IngestSummary,
    source: str,
    reason: str,
    content_hash: str | None,
    *,
    now: datetime,
    dagster_run_id: str | None,
) -> None:
    """Record a bad file once per (content, reason): a sensor re-reading it adds nothing."""
    source, reason = storable(source), storable(reason)
    summary.quarantined.append((source, reason))
    if content_hash is not None:
        known = con.execute(
            "SELECT 1 FROM raw.ingest_errors WHERE content_hash = ? AND reason = ? LIMIT 1",
            [content_hash, reason],
        ).fetchall()
        if known:
            return
    con.execute(
        "INSERT INTO raw.ingest_errors VALUES (?, ?, ?, ?, ?)",
        [source, reason, content_hash, now, dagster_run_id],
    )


def _sha256(data: bytes | Path) -> str:
    if isinstance(data, bytes):
        return hashlib.sha256(data).hexdigest()
    digest = hashlib.sha256()
    with open(data, "rb") as f:
        while chunk := f.read(_HASH_READ_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _expand(
    sources: Iterable[Source], summary: IngestSummary, max_bytes: int
) -> Iterator[_File | tuple[str, str, str | None]]:
    """Each report file of ``sources``; zips opened in memory; bad containers as tuples."""
    for src in sources:
        if isinstance(src, tuple):
            name, data = storable(src[0]), src[1]
            path = None
            modified = None
        else:
            path = Path(src)
            name, data = storable(str(src)), path
            try:
                modified = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None)
            except OSError as exc:
                yield (name, f"cannot read file ({exc.strerror})", None)
                continue
        if name.lower().endswith(".zip"):
            yield from _expand_zip(name, data, max_bytes)
        else:
            yield _File(name, _kind_of(name, "junit"), data, modified)


def _expand_zip(
    name: str, data: bytes | Path, max_bytes: int
) -> Iterator[_File | tuple[str, str, str | None]]:
    content_hash = _sha256(data)
    try:
        # All members are held at once (so a bad archive loads nothing): cap the total too.
        members = list(
            read_members(name, data, max_member_bytes=max_bytes, max_total_bytes=max_bytes)
        )
    except ArchiveError as exc:
        yield (name, exc.reason, content_hash)
        return
    for member in members:
        source = storable(f"{name}!{member.name}")
        if member.error is not None:
            yield (source, member.error, None)
        else:
            yield _File(source, _kind_of(member.name, "artifact"), member.data, member.modified)


def _kind_of(name: str, default: str) -> str:
    """JSON files are the pytest plugin's; everything else is read as JUnit XML."""
    return "plugin" if name.lower().endswith((".jsonl", ".json")) else default


def _load_file(
    con: duckdb.DuckDBPyConnection,
    item: _File,
    overrides: RunContext | Mapping | None,
    day_for: DayFor,
    now: datetime,
    *,
    max_bytes: int,
    batch_rows: int,
) -> tuple[Counter[str], date]:
    """Insert one file's rows; returns its outcome counts and partition day.

    The whole file goes in as ONE ``INSERT … SELECT`` over an Arrow stream that
    parses as DuckDB pulls: memory stays at a few batches (DuckDB writes full
    row groups straight to the file), where appending batch after batch in one
    transaction kept every row in memory until commit.
    """
    failure: list[BaseException] = []
    try:
        reader = (
            _PluginRows(item, max_bytes) if item.kind == "plugin" else _JUnitRows(item, max_bytes)
        )
        rows = iter(reader)
        first = next(rows, [])  # run linkage and report time are usually known by now
    except (JUnitParseError, ArchiveError) as exc:
        raise _Quarantine(exc.reason) from None
    except (_Quarantine, OSError, MemoryError):
        raise  # a reason of our own, or trouble worth a retry rather than a quarantine
    except Exception as exc:  # the plugin reader's malformed line, or a shape nobody foresaw
        raise _Quarantine(_reason(exc)) from None
    placed = _placement(reader, item, overrides, day_for)

    def batches() -> Iterator[pa.RecordBatch]:
        seq = 0
        pending: list[tuple] = list(first)
        try:
            for batch in rows:
                pending.extend(batch)
                if len(pending) >= batch_rows:
                    yield _record_batch(pending, seq)
                    seq += len(pending)
                    pending = []
            if pending:
                yield _record_batch(pending, seq)
        except Exception as exc:
            # End the stream cleanly: an error raised into DuckDB would abort the
            # whole batch's transaction; this file's rows are deleted below instead.
            failure.append(exc)

    stream = pa.RecordBatchReader.from_batches(_STREAM_SCHEMA, batches())
    day, ctx = placed
    con.register("_rows_stream", stream)
    try:
        con.execute(
            _INSERT,
            [day, item.source, item.kind, item.content_hash, *_context_values(ctx), now],
        )
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # an aborted transaction: keep the real error
            con.unregister("_rows_stream")
        raise
    con.unregister("_rows_stream")
    if failure:
        if isinstance(failure[0], OSError | MemoryError):
            raise failure[0]  # not the file's fault: the batch rolls back, a retry may pass
        # the rows streamed before the error are this file's only ones: take them out
        con.execute("DELETE FROM raw.test_results WHERE content_hash = ?", [item.content_hash])
        raise _Quarantine(_reason(failure[0]))
    final = _placement(reader, item, overrides, day_for)
    if final != placed:  # linkage or timestamp seen after the first rows went in
        day, ctx = final
        con.execute(
            "UPDATE raw.test_results SET day = ?, repo = ?, run_id = ?, run_attempt = ?,"
            " head_sha = ?, branch = ?, workflow = ? WHERE content_hash = ?",
            [day, *_context_values(ctx), item.content_hash],
        )
    if reader.rerun_seqs:
        con.execute(
            "UPDATE raw.test_results SET outcome = 'rerun'"
            " WHERE content_hash = ? AND list_contains(?, seq)",
            [item.content_hash, reader.rerun_seqs],
        )
    outcomes: Counter[str] = Counter()
    for row in con.execute(
        "SELECT outcome, count(*) FROM raw.test_results WHERE content_hash = ? GROUP BY ALL",
        [item.content_hash],
    ).fetchall():
        outcomes[row[0]] = row[1]
    return outcomes, final[0]


def _reason(exc: Exception) -> str:
    """Why a file was refused: our readers' own reasons, else the error's type and text."""
    if isinstance(exc, JUnitParseError | ArchiveError):
        return exc.reason
    if isinstance(exc, ValueError) and not isinstance(exc, pa.ArrowException):
        return str(exc)  # the plugin reader's messages name the file and line
    return f"unexpected content ({type(exc).__name__}: {exc})"


def _record_batch(rows: list[tuple], first_seq: int) -> pa.RecordBatch:
    columns = pa.RecordBatch.from_struct_array(pa.array(rows, type=_ROW_STRUCT)).columns
    seq = pa.array(range(first_seq, first_seq + len(rows)), type=pa.int32())
    return pa.RecordBatch.from_arrays([*columns, seq], schema=_STREAM_SCHEMA)


def _context_values(ctx: RunContext) -> list:
    values = [ctx.repo, ctx.run_id, ctx.run_attempt, ctx.head_sha, ctx.branch, ctx.workflow]
    return [storable(v) if isinstance(v, str) else v for v in values]


def storable(text: str) -> str:
    """``text`` as valid UTF-8: lone surrogates (from JSON escapes or undecodable file
    names) become backslash escapes instead of an error that voids the transaction."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _placement(reader, item: _File, overrides, day_for: DayFor) -> tuple[date, RunContext]:
    ctx = reader.context.merged(overrides)
    day = day_for(ctx)
    if day is None and reader.report_time is not None:
        day = reader.report_time.date()
    if day is None:
        day = (item.modified or datetime.now(UTC)).date()
    return day, ctx


class _JUnitRows:
    """Batches of a JUnit report plus what is known about it so far."""

    def __init__(self, item: _File, max_bytes: int) -> None:
        self._stream = stream_junit(item.source, item.data, max_bytes=max_bytes)

    def __iter__(self) -> Iterator[list[tuple]]:
        return iter(self._stream)

    @property
    def context(self) -> RunContext:
        return self._stream.meta.context

    @property
    def report_time(self) -> datetime | None:
        return self._stream.meta.report_time

    @property
    def rerun_seqs(self) -> list[int]:
        return self._stream.meta.rerun_seqs


class _PluginRows:
    """Batches of a pytest plugin file (JSON Lines), read by the plugin's own reader."""

    rerun_seqs: list[int] = []  # the plugin writes reruns as their own records

    def __init__(self, item: _File, max_bytes: int) -> None:
        try:
            from pipelines.testresults.plugin_reader import read_plugin_file
        except ImportError:
            raise _Quarantine("no reader for pytest plugin files is installed") from None

        size = len(item.data) if isinstance(item.data, bytes) else item.data.stat().st_size
        if size > max_bytes:  # read whole, unlike XML: refuse before reading
            raise _Quarantine(f"plugin file is larger than the {max_bytes} byte limit")
        data = item.data if isinstance(item.data, bytes) else item.data.read_bytes()
        info, self._rows = read_plugin_file(item.source, data)
        info = dict(info)
        self.report_time: datetime | None = info.get("report_time")
        self.context = context_from_mapping(info)

    def __iter__(self) -> Iterator[list[tuple]]:
        batch: list[tuple] = []
        for row in self._rows:
            batch.append(tuple(row))
            if len(batch) >= 10_000:
                yield batch
                batch = []
        if batch:
            yield batch
