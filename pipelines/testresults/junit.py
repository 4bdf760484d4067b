"""Streaming, hostile-input-safe reader of JUnit/xUnit XML test reports.

Built on ``pyexpat`` callbacks: it is the fastest parser in the standard
library, keeps memory flat (rows leave in batches as the file is fed in
chunks), and lets us refuse any DTD before a single entity could be declared,
so billion-laughs and external-entity files never expand or fetch anything.

One dialect-tolerant pass covers pytest (xunit1/xunit2, rerunfailures),
Surefire (``flaky*``/``rerun*``), Gradle, JUnit 5, jest, mocha, Go, PHPUnit,
GoogleTest, CTest, Catch2, Bazel and Nette Tester: they differ only in which
attributes they fill.
"""

from __future__ import annotations

import io
import pyexpat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import BinaryIO

from pipelines.testresults.rows import (
    ERROR,
    FAILED,
    MAX_DURATION_S,
    MAX_NAME_CHARS,
    MESSAGE_MAX_CHARS,
    PASSED,
    RERUN,
    SKIPPED,
    RunContext,
    TestRow,
    bounded,
    clip_message,
    context_from_mapping,
    module_for,
    parse_duration,
)

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
CHUNK_BYTES = 1 << 20
MAX_TOKEN_BYTES = 16 * 1024 * 1024
"""Expat re-scans a token (a tag with its attributes, a comment, a processing
instruction) from its start on every chunk until it ends: a token this large is
refused, because a 200 MB attribute would otherwise take minutes and gigabytes."""
_TEXT_CAP = 8 * MESSAGE_MAX_CHARS  # enough text to find a first line; bodies can be MBs

# Direct children of <testcase> that decide its outcome; failure beats error beats skip.
_FINAL_TAGS = {"failure": FAILED, "error": ERROR, "skipped": SKIPPED}
_RANK = {PASSED: 0, SKIPPED: 1, ERROR: 2, FAILED: 3}
# A testcase without such a child is still `skipped` when its `status` attribute says it
# never ran (GoogleTest `notrun`, CTest `disabled`/`notrun`, and the like), any case.
_NOT_RUN_STATUSES = frozenset({"disabled", "notrun", "skipped", "ignored"})
# Surefire's retries: each one is an earlier execution, stored as its own `rerun` row.
_RERUN_TAGS = frozenset({"flakyFailure", "flakyError", "rerunFailure", "rerunError"})
_ROOTS = frozenset({"testsuites", "testsuite"})
_EARLIEST_REAL_YEAR = 1971  # Go writes 0001-01-01 when it has no time: treat as unknown


class JUnitParseError(ValueError):
    """A report that cannot be read, with the file it came from and why."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


@dataclass
class ReportMeta:
    """Report-level facts, complete once the rows have been read to the end."""

    properties: dict[str, str] = field(default_factory=dict)
    report_time: datetime | None = None
    hostname: str | None = None
    rows: int = 0
    rerun_seqs: list[int] = field(default_factory=list)
    """Rows already handed out whose outcome later turned out to be ``rerun``."""

    @property
    def context(self) -> RunContext:
        """Run linkage found in suite ``<properties>`` (repo, run_id, sha…)."""
        return context_from_mapping(self.properties)


@dataclass
class ParsedReport:
    """A whole report in memory: its rows in file order, final outcomes applied."""

    rows: list[TestRow]
    meta: ReportMeta

    @property
    def context(self) -> RunContext:
        return self.meta.context


def parse_timestamp(text: str | None) -> datetime | None:
    """A suite ``timestamp`` as naive UTC: ISO 8601 (naive = UTC) or RFC 1123."""
    if not text or not text.strip():
        return None
    text = text.strip()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        try:
            value = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if value.tzinfo is not None:
        try:
            value = value.astimezone(UTC).replace(tzinfo=None)
        except (OverflowError, ValueError):  # e.g. year 1 with a positive offset
            return None
    if value.year < _EARLIEST_REAL_YEAR:
        return None
    return value


def _message(attrs: dict[str, str], text: list[str] | None) -> str | None:
    msg = attrs.get("message")
    if msg and msg.strip():
        return msg.strip()[:MESSAGE_MAX_CHARS]
    return clip_message("".join(text)) if text else None


class _Suite:
    __slots__ = ("hostname", "ids", "name", "pending", "pytest", "report_time")

    def __init__(self, name, pytest, report_time, hostname):
        self.name = name
        self.pytest = pytest
        self.report_time = report_time
        self.hostname = hostname
        # classname as read -> (classname as stored, its module, test id prefix "classname::")
        self.ids: dict[str | None, tuple[str | None, str | None, str]] = {}
        self.pending: dict[str, int] = {}  # test id -> seq of its last failed/errored entry


_OUTPUT_TAGS = frozenset({"system-out", "system-err"})


class _Reader:
    """Expat callbacks that turn one report into row tuples (TestRow field order).

    The testcase path runs once per test (a million times for a large report),
    so its state lives in closure variables; everything rarer is a method.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.meta = ReportMeta()
        self.batch: list[tuple] = []
        self.no_suite = _Suite(None, False, None, None)
        self.suites: list[_Suite] = [self.no_suite]  # the innermost open suite last
        self.root_name: str | None = None
        self.seen_root = False
        self.child: str | None = None  # the open outcome/rerun child of the testcase
        self.text: list[str] | None = None  # collector while a message may come from text
        self.text_len = 0
        self.text_for: str | None = None  # "outcome", "rerun" or "property"
        self.outcome_text: list[str] | None = None
        self.reruns: list[list] = []  # [attrs, text] per Surefire retry of the open testcase
        self.prop_name: str | None = None
        self.parser = p = pyexpat.ParserCreate()
        p.buffer_text = True
        p.buffer_size = 1 << 16
        p.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
        p.StartDoctypeDeclHandler = self._refuse_doctype
        p.EntityDeclHandler = self._refuse_entity
        p.UnparsedEntityDeclHandler = self._refuse_entity
        p.ExternalEntityRefHandler = self._refuse_entity
        p.StartElementHandler, p.EndElementHandler, self.count = self._handlers()

    # -- refusals -------------------------------------------------------------
    def _refuse_doctype(self, *_args: object) -> None:
        raise JUnitParseError(self.source, "DOCTYPE/DTD declarations are refused (entity attacks)")

    def _refuse_entity(self, *_args: object) -> None:
        raise JUnitParseError(self.source, "entity declarations are refused (entity attacks)")

    # -- the hot path -----------------------------------------------------------
    def _handlers(self):
        reader = self
        suites = self.suites
        append = self.batch.append
        reruns = self.reruns
        rerun_seqs = self.meta.rerun_seqs
        case: dict[str, str] | None = None
        depth = 0
        outcome = PASSED
        oattrs: dict[str, str] | None = None
        n = 0

        def start(name: str, attrs: dict[str, str]) -> None:
            nonlocal case, depth, outcome, oattrs
            if case is not None:
                depth += 1
                if depth == 1:
                    kind = _FINAL_TAGS.get(name)
                    if kind is not None:
                        reader.child = name
                        if _RANK[kind] > _RANK[outcome]:
                            outcome, oattrs = kind, attrs
                            reader.outcome_text = None
                            if not (attrs.get("message") or "").strip():
                                reader._collect_text("outcome")
                    elif name in _RERUN_TAGS:
                        reader.child = name
                        reader.reruns.append([attrs, None])
                        if not (attrs.get("message") or "").strip():
                            reader._collect_text("rerun")
                elif reader.text is not None and name in _OUTPUT_TAGS:
                    reader.parser.CharacterDataHandler = None
                return
            if name == "testcase":
                case, depth, outcome, oattrs = attrs, 0, PASSED, None
                return
            reader._other_start(name, attrs)

        def end(name: str) -> None:
            nonlocal case, depth, n, outcome
            if case is None:
                if name == "testsuite" or name == "property":
                    reader._other_end(name)
                return
            if depth:
                if depth == 1 and name == reader.child:
                    reader._child_end(name)
                elif reader.text is not None and name in _OUTPUT_TAGS:
                    reader.parser.CharacterDataHandler = reader._on_text
                depth -= 1
                return
            attrs, case = case, None
            if outcome is PASSED:
                status = attrs.get("status")
                # "run" is what GoogleTest, CTest and Catch2 write for every test that ran.
                if (
                    status is not None
                    and status != "run"
                    and status.strip().lower() in _NOT_RUN_STATUSES
                ):
                    outcome = SKIPPED
            suite = suites[-1]
            classname = attrs.get("classname")
            if classname is None:
                classname = attrs.get("class")
            try:
                classname, module, prefix = suite.ids[classname]
            except KeyError:
                classname, module, prefix = reader._class_ids(suite, classname)
            tname = attrs.get("name")
            if tname is None:
                test_id = prefix
            else:
                if len(tname) > MAX_NAME_CHARS:
                    tname = bounded(tname)
                test_id = prefix + tname
            file = attrs.get("file")
            if file:
                if len(file) > MAX_NAME_CHARS:
                    file = bounded(file)
                module = file
                test_id = f"{file}::{test_id}"
            else:
                file = None
            t = attrs.get("time")
            if t:
                try:
                    duration = float(t)
                except ValueError:
                    duration = parse_duration(t)
                else:
                    if not 0 <= duration <= MAX_DURATION_S:  # NaN, inf, negative, absurd
                        duration = None
            else:
                duration = None
            if reruns:
                n += reader._emit_reruns(test_id, module, classname, tname, file, suite)
            append(
                (
                    test_id,
                    outcome,
                    module,
                    classname,
                    tname,
                    file,
                    duration,
                    None if oattrs is None else _message(oattrs, reader.outcome_text),
                    suite.name,
                    suite.report_time,
                    suite.hostname,
                )
            )
            pending = suite.pending
            if pending:
                earlier = pending.pop(test_id, None)
                if earlier is not None:  # pytest-rerunfailures: that entry was retried
                    rerun_seqs.append(earlier)
            if outcome is FAILED or outcome is ERROR:
                pending[test_id] = n
            n += 1

        def count() -> int:
            return n

        return start, end, count

    # -- rarer elements -------------------------------------------------------
    def _class_ids(self, suite: _Suite, raw: str | None) -> tuple[str | None, str | None, str]:
        """A classname's stored form, module and test id prefix, kept per suite."""
        classname = raw if raw is None or len(raw) <= MAX_NAME_CHARS else bounded(raw)
        ids = suite.ids[raw] = (
            classname,
            module_for(classname, None, pytest_report=suite.pytest),
            f"{classname or ''}::",
        )
        return ids

    def _other_start(self, name: str, attrs: dict[str, str]) -> None:
        if not self.seen_root:
            self.seen_root = True
            if name not in _ROOTS:
                raise JUnitParseError(
                    self.source, f"root element is <{name}>, not <testsuites> or <testsuite>"
                )
            if name == "testsuites":
                self.root_name = attrs.get("name")
                self.no_suite.pytest = (self.root_name or "").startswith("pytest")
                return
        if name == "testsuite":
            self._suite_start(attrs)
        elif name == "property":
            prop = attrs.get("name")
            if not prop:
                return
            if "value" in attrs:
                self._property(prop, attrs["value"])
            else:  # <property name="x">value</property>
                self.prop_name = prop
                self._collect_text("property")

    def _suite_start(self, attrs: dict[str, str]) -> None:
        parent = self.suites[-1]
        name = attrs.get("name")
        if name is not None:
            name = bounded(name)
        report_time = parse_timestamp(attrs.get("timestamp"))
        hostname = attrs.get("hostname") or None
        if hostname is not None:
            hostname = bounded(hostname)
        if report_time is not None and self.meta.report_time is None:
            self.meta.report_time = report_time
        if hostname is not None and self.meta.hostname is None:
            self.meta.hostname = hostname
        self.suites.append(
            _Suite(
                name,
                name == "pytest" or parent.pytest,
                report_time or parent.report_time,
                hostname or parent.hostname,
            )
        )

    def _other_end(self, name: str) -> None:
        if name == "testsuite":
            if len(self.suites) > 1:  # the bottom one stands for "no suite"
                self.suites.pop()
        elif self.text_for == "property":
            text = self._stop_text()
            self._property(self.prop_name or "", "".join(text or ()).strip())

    def _property(self, name: str, value: str) -> None:
        # The first value wins; one too long to be run linkage is not kept at all.
        if len(value) <= MAX_NAME_CHARS:
            self.meta.properties.setdefault(name, value)

    def _child_end(self, name: str) -> None:
        self.child = None
        if self.text is None:
            return
        kind = self.text_for
        text = self._stop_text()
        if kind == "rerun":
            self.reruns[-1][1] = text
        elif kind == "outcome":
            self.outcome_text = text

    def _emit_reruns(self, test_id, module, classname, name, file, suite) -> int:
        for attrs, text in self.reruns:
            self.batch.append(
                (
                    test_id,
                    RERUN,
                    module,
                    classname,
                    name,
                    file,
                    parse_duration(attrs.get("time")),
                    _message(attrs, text),
                    suite.name,
                    suite.report_time,
                    suite.hostname,
                )
            )
        count = len(self.reruns)
        self.reruns.clear()  # the same list: the testcase path holds it
        return count

    # -- text -----------------------------------------------------------------
    def _collect_text(self, kind: str) -> None:
        self.text = []
        self.text_len = 0
        self.text_for = kind
        self.parser.CharacterDataHandler = self._on_text

    def _on_text(self, data: str) -> None:
        if self.text_len < _TEXT_CAP:
            self.text.append(data)  # type: ignore[union-attr]
            self.text_len += len(data)

    def _stop_text(self) -> list[str] | None:
        text, self.text, self.text_for = self.text, None, None
        self.parser.CharacterDataHandler = None
        return text


def _open(data: bytes | bytearray | memoryview | str | Path | BinaryIO) -> BinaryIO:
    if isinstance(data, bytes | bytearray | memoryview):
        return io.BytesIO(data)
    if isinstance(data, str | Path):
        return open(data, "rb")
    return data


class JUnitStream:
    """Rows of one report, yielded in batches of tuples (TestRow field order).

    Iterate once. ``meta`` is complete when iteration ends; rows listed in
    ``meta.rerun_seqs`` were yielded with their first outcome and are ``rerun``.
    """

    def __init__(
        self,
        source: str,
        data: bytes | str | Path | BinaryIO,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        self.source = source
        self._data = data
        self.max_bytes = max_bytes
        self.chunk_bytes = chunk_bytes
        self._reader = _Reader(source)
        self.meta = self._reader.meta

    def __iter__(self) -> Iterator[list[tuple]]:
        reader = self._reader
        parse = reader.parser.Parse
        stream = _open(self._data)
        total = 0
        try:
            while True:
                chunk = stream.read(self.chunk_bytes)
                if not chunk:
                    break
                total += len(chunk)
                if total > self.max_bytes:
                    raise JUnitParseError(
                        self.source, f"report is larger than the {self.max_bytes} byte limit"
                    )
                self._feed(parse, chunk, False)
                if total - reader.parser.CurrentByteIndex > MAX_TOKEN_BYTES:
                    raise JUnitParseError(
                        self.source,
                        "an XML token (a tag, comment or processing instruction) is larger"
                        f" than {MAX_TOKEN_BYTES} bytes",
                    )
                if reader.batch:
                    yield self._take()
            if total == 0:
                raise JUnitParseError(self.source, "empty file")
            self._feed(parse, b"", True)
            if not reader.seen_root:
                raise JUnitParseError(self.source, "no <testsuites> or <testsuite> element")
            if reader.batch:
                yield self._take()
        finally:
            if stream is not self._data:
                stream.close()

    def _take(self) -> list[tuple]:
        batch = self._reader.batch
        rows = batch[:]
        batch.clear()
        self.meta.rows = self._reader.count()
        return rows

    def _feed(self, parse: Callable[[bytes, bool], int], chunk: bytes, final: bool) -> None:
        try:
            parse(chunk, final)
        except pyexpat.ExpatError as exc:
            reason = pyexpat.ErrorString(exc.code) if exc.code else str(exc)
            raise JUnitParseError(
                self.source,
                f"malformed XML ({reason}) at line {exc.lineno}, column {exc.offset}",
            ) from None
        except RecursionError:
            raise JUnitParseError(self.source, "elements nested too deeply") from None
        except (LookupError, ValueError) as exc:
            # Before the root element only expat's handler of declared encodings raises
            # these (an unknown name, a multi-byte or non-text codec); later, a bug.
            if isinstance(exc, JUnitParseError) or self._reader.seen_root:
                raise
            raise JUnitParseError(
                self.source, f"unsupported encoding declared ({type(exc).__name__}: {exc})"
            ) from None


def stream_junit(
    source: str,
    data: bytes | str | Path | BinaryIO,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> JUnitStream:
    """Stream the rows of the report in ``data`` (bytes, a path or a binary file)."""
    return JUnitStream(source, data, max_bytes=max_bytes)


def parse_junit(
    source: str,
    data: bytes | str | Path | BinaryIO,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ParsedReport:
    """Read a whole report into memory (small files, tests): rows with final outcomes."""
    stream = stream_junit(source, data, max_bytes=max_bytes)
    rows = [TestRow._make(t) for batch in stream for t in batch]
    for seq in stream.meta.rerun_seqs:
        rows[seq] = rows[seq]._replace(outcome=RERUN)
    return ParsedReport(rows, stream.meta)
