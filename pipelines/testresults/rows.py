"""The shape of one test execution and the rules that name and classify it.

Shared by the JUnit parser and the pytest plugin reader so that both sources
produce identical test ids, modules and outcomes (see kpi-definitions.md,
"Test results").
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import NamedTuple

PASSED = "passed"
FAILED = "failed"
ERROR = "error"
SKIPPED = "skipped"
RERUN = "rerun"
OUTCOMES: tuple[str, ...] = (PASSED, FAILED, ERROR, SKIPPED, RERUN)

MESSAGE_MAX_CHARS = 1000
"""Messages are a hint for a human, not a log: longer ones are cut."""

MAX_NAME_CHARS = 1024
"""Names, classnames, files, suites and hosts longer than this are cut (see bounded)."""

MAX_DURATION_S = 35 * 24 * 3600.0
"""GitHub cancels a workflow run after 35 days: a longer duration is garbage, not data."""

# Column order of raw.test_results (pipelines/schema.sql).
TABLE_COLUMNS: tuple[str, ...] = (
    "day",
    "source",
    "source_kind",
    "content_hash",
    "seq",
    "repo",
    "run_id",
    "run_attempt",
    "head_sha",
    "branch",
    "workflow",
    "test_id",
    "module",
    "classname",
    "name",
    "file",
    "outcome",
    "duration_s",
    "message",
    "suite",
    "report_time",
    "hostname",
    "ingested_at",
)


class TestRow(NamedTuple):
    """One execution of one test, as read from a report (run linkage lives in RunContext).

    A tuple so that the parser can build rows as plain tuples in this field
    order (a million of them per large report) and the loader can transpose
    batches without per-row attribute access.
    """

    test_id: str
    outcome: str
    module: str | None = None
    classname: str | None = None
    name: str | None = None
    file: str | None = None
    duration_s: float | None = None
    message: str | None = None
    suite: str | None = None
    report_time: datetime | None = None
    hostname: str | None = None


TestRow.__test__ = False  # type: ignore[attr-defined]  # a data type, not a pytest test class
ROW_COLUMNS: tuple[str, ...] = TestRow._fields


@dataclass(frozen=True, slots=True)
class RunContext:
    """What links a report to a workflow run; every field is None when unknown."""

    repo: str | None = None
    run_id: int | None = None
    run_attempt: int | None = None
    head_sha: str | None = None
    branch: str | None = None
    workflow: str | None = None

    def merged(self, overrides: RunContext | dict | None) -> RunContext:
        """This context with every non-None field of ``overrides`` taking precedence."""
        if overrides is None:
            return self
        if isinstance(overrides, dict):
            overrides = context_from_mapping(overrides)
        changes = {
            f.name: getattr(overrides, f.name)
            for f in fields(RunContext)
            if getattr(overrides, f.name) is not None
        }
        return replace(self, **changes)


# Keys that tools and CI setups use for the same piece of run linkage.
_CONTEXT_KEYS: dict[str, str] = {
    "repo": "repo",
    "repository": "repo",
    "github_repository": "repo",
    "run_id": "run_id",
    "github_run_id": "run_id",
    "run_attempt": "run_attempt",
    "github_run_attempt": "run_attempt",
    "sha": "head_sha",
    "head_sha": "head_sha",
    "commit": "head_sha",
    "github_sha": "head_sha",
    "branch": "branch",
    "head_branch": "branch",
    "github_ref_name": "branch",
    "github_head_ref": "branch",
    "workflow": "workflow",
    "github_workflow": "workflow",
}


def context_field(key: str) -> str | None:
    """The RunContext field a property/metadata key stands for, or None."""
    return _CONTEXT_KEYS.get(key.strip().lower().replace("-", "_").replace(".", "_"))


# What the store's columns hold: run_id BIGINT, run_attempt INTEGER.
INT_LIMITS = {"run_id": 2**63 - 1, "run_attempt": 2**31 - 1}


def as_count(value: object, field: str) -> int | None:
    """A positive int that fits ``field``'s column, else None (garbage never reaches DuckDB)."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= INT_LIMITS[field] else None


def context_from_mapping(values: dict) -> RunContext:
    """A RunContext from loosely named keys (``GITHUB_RUN_ID``, ``repository``, ``sha``…).

    The first value seen for a field wins; empty values and ints that do not
    parse or do not fit the store are ignored rather than failing a whole report.
    """
    found: dict[str, object] = {}
    for key, value in values.items():
        name = context_field(str(key))
        if name is None or name in found or value is None or str(value).strip() == "":
            continue
        if name in INT_LIMITS:
            value = as_count(value, name)
            if value is None:
                continue
        else:
            value = str(value).strip()
        found[name] = value
    return RunContext(**found)


def make_test_id(classname: str | None, name: str | None, file: str | None = None) -> str:
    """``classname::name``, prefixed by ``file::`` when the report names the file."""
    base = f"{classname or ''}::{name or ''}"
    return f"{file}::{base}" if file else base


def module_for(classname: str | None, file: str | None, *, pytest_report: bool) -> str | None:
    """The file when known; for pytest the classname without its class segments."""
    if file:
        return file
    if not classname:
        return None
    if pytest_report:
        parts = classname.split(".")
        while len(parts) > 1 and parts[-1][:1].isupper():
            parts.pop()
        return ".".join(parts)
    return classname


_SPACES = re.compile(r"[\s_]")


def parse_duration(text: str | None) -> float | None:
    """Seconds from a ``time`` attribute; ``1,234.5`` is 1234.5; junk or empty is None."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        cleaned = _SPACES.sub("", text).replace(",", "")
        if not cleaned:
            return None
        try:
            value = float(cleaned)
        except ValueError:
            return None
    return clean_duration(value)


def clean_duration(value: float) -> float | None:
    """``value`` seconds, or None for NaN, infinities, negatives and over MAX_DURATION_S
    (one such value in a KPI sum would make the whole sum NaN or infinite)."""
    return value if 0 <= value <= MAX_DURATION_S else None


def bounded(text: str) -> str:
    """``text``, or when longer than MAX_NAME_CHARS its start, an ellipsis and 16 hex
    digits of its SHA-256: distinct names stay distinct, and a row stays small enough
    for the store (one 50 MB name fails DuckDB under the load memory limit)."""
    if len(text) <= MAX_NAME_CHARS:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{text[: MAX_NAME_CHARS - 17]}\u2026{digest}"


def clip_message(text: str | None) -> str | None:
    """The first non-blank line of ``text``, cut to MESSAGE_MAX_CHARS; None when blank."""
    if not text:
        return None
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line[:MESSAGE_MAX_CHARS]
    return None
