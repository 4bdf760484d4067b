"""Turn a ci-metrics pytest plugin file (JSON Lines) into test-result rows.

The plugin knows more than the definitions keep, so the reader folds it down:

* Outcomes: the definitions know ``passed``, ``failed``, ``error``, ``skipped``
  and ``rerun``. ``xfailed`` becomes ``skipped`` (as pytest's JUnit XML writes
  it) and a non-strict ``xpassed`` becomes ``passed`` (a strict one is already
  ``failed``). A failing setup or teardown is ``error``; a collection error is
  ``error`` and a module-level skip ``skipped``.
* Test id: ``classname::name`` with pytest's JUnit classname and name, so that
  the same test read from this plugin and from pytest's default (xunit2) JUnit
  report gets the same id. Node id ``tests/test_x.py::TestA::test_b[p]`` gives
  classname ``tests.test_x.TestA``, name ``test_b[p]`` and test id
  ``tests.test_x.TestA::test_b[p]``. The file is *not* part of the id even
  though it is known (it is kept in the ``file`` column): xunit1 reports, which
  carry a ``file`` attribute, get ``file::classname::name`` ids instead and
  cannot match either way.
* Module: the file's dotted module (``tests/test_x.py`` → ``tests.test_x``),
  what the definitions' rule derives from a pytest classname, but exact even
  for module names that begin with an upper-case letter.
* Duration: setup + call + teardown seconds (the test's wall time, as pytest's
  JUnit ``time``); None when no phase was timed (collection records).
* Message: ``Type: first line`` for failures, errors and reruns (pytest's
  JUnit failure message), the reason for skips and xfails, None otherwise.

Only the standard library and ``rows`` are imported: this runs inside Dagster,
where pytest need not be installed.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pipelines.testresults.rows import (
    ERROR,
    FAILED,
    MAX_NAME_CHARS,
    PASSED,
    RERUN,
    SKIPPED,
    TestRow,
    as_count,
    bounded,
    clean_duration,
    clip_message,
    make_test_id,
)

SUPPORTED_SCHEMA = 1
MAX_LINE_BYTES = 16 * 1024 * 1024
"""The plugin writes short lines (messages and parameters are clipped): a longer one
is not its output, and decoding it would cost memory out of proportion."""
PLUGIN_OUTCOMES: dict[str, str] = {
    "passed": PASSED,
    "failed": FAILED,
    "error": ERROR,
    "skipped": SKIPPED,
    "rerun": RERUN,
    "xfailed": SKIPPED,
    "xpassed": PASSED,
}


def read_plugin_file(name: str, data: bytes) -> tuple[dict[str, Any], Iterator[TestRow]]:
    """The run context of a plugin file and an iterator over its test rows, in file order.

    ``name`` only labels errors. The session line is checked at once; later lines
    are decoded and parsed as the iterator advances, and a malformed one raises
    ValueError naming ``name`` and the line number. A file without its
    ``session_end`` line (a crashed session) still yields every test line it has.
    A UTF-8 byte-order mark and CRLF line ends are accepted.
    """
    lines = _lines(name, data)
    first = _parse_line(name, *next(lines))
    if first is None or first.get("type") != "session":
        raise ValueError(f"{name}, line 1: expected the plugin's session record")
    schema = first.get("schema")
    if not isinstance(schema, int) or not 1 <= schema <= SUPPORTED_SCHEMA:
        raise ValueError(f"{name}, line 1: unsupported schema version {schema!r}")
    context = _context(name, first)
    return context, _rows(name, lines, context["report_time"], context["hostname"])


def _lines(name: str, data: bytes) -> Iterator[tuple[int, str]]:
    """(number, text) of each line, decoded one at a time: no second copy of the file."""
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    number = 0
    while start <= len(data):
        end = data.find(b"\n", start)
        if end < 0:
            end = len(data)
        number += 1
        if end - start > MAX_LINE_BYTES:
            raise ValueError(f"{name}, line {number}: longer than {MAX_LINE_BYTES} bytes")
        try:
            text = data[start:end].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{name}: not UTF-8 ({exc.reason} at byte {start + exc.start}, line {number})"
            ) from None
        yield number, text
        start = end + 1


def _context(name: str, session: dict[str, Any]) -> dict[str, Any]:
    ctx = session.get("context") or {}
    if not isinstance(ctx, dict):
        raise ValueError(f"{name}, line 1: context is not an object")
    start = session.get("start")
    try:
        report_time = datetime.fromisoformat(start) if isinstance(start, str) else None
    except ValueError as exc:
        raise ValueError(f"{name}, line 1: bad start time {start!r}") from exc
    if report_time is not None and report_time.tzinfo is not None:
        report_time = report_time.astimezone(UTC).replace(tzinfo=None)
    host = _text(session.get("hostname"))
    return {
        "repo": _linkage(ctx.get("repository")),
        "run_id": as_count(ctx.get("run_id"), "run_id"),
        "run_attempt": as_count(ctx.get("run_attempt"), "run_attempt"),
        "head_sha": _linkage(ctx.get("sha")),
        # A pull request's GITHUB_REF_NAME is "123/merge"; its head branch is
        # what the GitHub API calls the run's head_branch.
        "branch": _linkage(ctx.get("head_ref")) or _linkage(ctx.get("ref_name")),
        "workflow": _linkage(ctx.get("workflow")),
        "report_time": report_time,
        "hostname": None if host is None else bounded(host),
    }


def _rows(
    name: str,
    lines: Iterator[tuple[int, str]],
    report_time: datetime | None,
    hostname: str | None,
) -> Iterator[TestRow]:
    for number, line in lines:
        record = _parse_line(name, number, line)
        if record is None or record.get("type") != "test":
            continue  # blank line, session_end, or a record type of a later minor version
        yield _row(name, number, record, report_time, hostname)


def _row(
    name: str,
    number: int,
    record: dict[str, Any],
    report_time: datetime | None,
    hostname: str | None,
) -> TestRow:
    raw_outcome = record.get("outcome")
    outcome = PLUGIN_OUTCOMES.get(raw_outcome) if isinstance(raw_outcome, str) else None
    if outcome is None:
        raise ValueError(f"{name}, line {number}: unknown outcome {record.get('outcome')!r}")
    file, cls, test_name = record.get("file"), record.get("class"), record.get("name")
    if not isinstance(file, str) or not file or not isinstance(test_name, str):
        raise ValueError(f"{name}, line {number}: test record without file and name")
    if cls is not None and not isinstance(cls, str):
        raise ValueError(f"{name}, line {number}: class is not a string")
    classname, junit_name = junit_names(file, cls, test_name)
    # cut as the JUnit parser cuts its attributes, so both sources keep one id
    classname, junit_name = bounded(classname), bounded(junit_name)
    return TestRow(
        test_id=make_test_id(classname, junit_name),
        outcome=outcome,
        module=bounded(dotted_module(file)),
        classname=classname or None,
        name=junit_name,
        file=bounded(file),
        duration_s=_duration(name, number, record.get("durations")),
        message=_message(record),
        report_time=report_time,
        hostname=hostname,
    )


def dotted_module(file: str) -> str:
    """``tests/test_x.py`` → ``tests.test_x``, as pytest's JUnit report names modules."""
    return file.replace("/", ".").removesuffix(".py")


def junit_names(file: str, cls: str | None, name: str) -> tuple[str, str]:
    """pytest's JUnit ``classname`` and ``name`` for a node's file, class and name.

    Mirrors ``_pytest.junitxml.mangle_test_address``: the dotted module and the
    classes make the classname. A collector's node id (a collection error of a
    module) has no name, and pytest then writes the module as the name with an
    empty classname.
    """
    module = dotted_module(file)
    if not name:
        return "", module
    return (f"{module}.{cls}" if cls else module), name


def _duration(name: str, number: int, durations: Any) -> float | None:
    if durations is None:
        return None
    if not isinstance(durations, dict):
        raise ValueError(f"{name}, line {number}: durations is not an object")
    values = [v for v in durations.values() if v is not None]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{name}, line {number}: a duration is not a number")
    if not values:
        return None
    # JSON here may hold NaN, Infinity or huge numbers: such a sum is cleaned to None
    try:
        total = clean_duration(float(sum(values)))
    except OverflowError:  # an integer of hundreds of digits
        return None
    return None if total is None else round(total, 6)


def _message(record: dict[str, Any]) -> str | None:
    outcome = record.get("outcome")
    if outcome in ("passed", "xpassed"):
        return None
    exc_type, message = _text(record.get("exc_type")), _text(record.get("message"))
    if outcome in ("skipped", "xfailed"):
        return clip_message(message)
    if exc_type and message:
        return clip_message(f"{exc_type}: {message}")
    return clip_message(exc_type or message)


def _parse_line(name: str, number: int, line: str) -> dict[str, Any] | None:
    if not line.strip():
        if number == 1:
            raise ValueError(f"{name}, line 1: empty, expected the plugin's session record")
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{name}, line {number}: not valid JSON ({exc.msg})") from exc
    except ValueError as exc:  # an integer of more digits than Python converts
        raise ValueError(f"{name}, line {number}: not valid JSON ({exc})") from None
    except RecursionError:
        raise ValueError(f"{name}, line {number}: nested too deeply") from None
    if not isinstance(record, dict):
        raise ValueError(f"{name}, line {number}: not a JSON object")
    return record


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _linkage(value: Any) -> str | None:
    """Run linkage text; a value too long to be a repo, sha, branch or workflow is dropped."""
    text = _text(value)
    return text if text is None or len(text) <= MAX_NAME_CHARS else None
