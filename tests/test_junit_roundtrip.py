"""Property: random results written as JUnit XML read back as the contract says.

The writer and the expected rows below are built from kpi-definitions.md
("Test results"), not from the parser: ids, modules, outcomes, durations,
messages and the placement of reruns (Surefire retries and repeated testcases).
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from xml.sax.saxutils import escape, quoteattr

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.testresults.junit import parse_junit
from pipelines.testresults.rows import MESSAGE_MAX_CHARS

# XML-safe text without line breaks (controls, surrogates, non-characters and
# Unicode line/paragraph separators excluded).
TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Cn", "Zl", "Zp")), min_size=0, max_size=12
)
MESSAGE = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Cn", "Zl", "Zp")), min_size=1, max_size=1200
).filter(lambda s: s.strip())
SEGMENT_LOWER = st.from_regex(r"[a-z_][a-z0-9_]{0,5}", fullmatch=True)
SEGMENT_ANY = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,5}", fullmatch=True)
CLASSNAME = st.one_of(
    st.none(),
    st.just(""),
    st.builds(lambda a, b: ".".join([a, *b]), SEGMENT_LOWER, st.lists(SEGMENT_ANY, max_size=3)),
)
FILE = st.one_of(st.none(), st.from_regex(r"[a-z]{1,6}/[a-zé]{1,6}\.py", fullmatch=True))
TIME = st.one_of(
    st.none(), st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
)
RETRY = st.tuples(
    st.sampled_from(["flakyFailure", "flakyError", "rerunFailure", "rerunError"]), MESSAGE
)


@dataclass(frozen=True)
class Case:
    classname: str | None
    name: str
    file: str | None
    time: float | None
    outcome: str  # passed, failed, error, skipped
    message: str | None
    message_in_text: bool
    retries: tuple[tuple[str, str], ...]


@st.composite
def suites(draw):
    result = []
    for _ in range(draw(st.integers(1, 3))):
        suite_name = draw(st.sampled_from(["pytest", "unit tests", None]))
        # a small pool of identities so that ids repeat within a suite
        pool = draw(st.lists(st.tuples(CLASSNAME, TEXT, FILE), min_size=1, max_size=4))
        cases = []
        for _ in range(draw(st.integers(0, 8))):
            classname, name, file = draw(st.sampled_from(pool))
            outcome = draw(st.sampled_from(["passed", "failed", "error", "skipped"]))
            message = None if outcome == "passed" else draw(st.one_of(st.none(), MESSAGE))
            cases.append(
                Case(
                    classname,
                    name,
                    file,
                    draw(TIME),
                    outcome,
                    message,
                    draw(st.booleans()),
                    tuple(draw(st.lists(RETRY, max_size=2))) if outcome != "skipped" else (),
                )
            )
        result.append((suite_name, cases))
    return result


FIELDS = attrgetter(
    "test_id", "outcome", "module", "duration_s", "message", "classname", "name", "file", "suite"
)
OUTCOME_TAG = {"failed": "failure", "error": "error", "skipped": "skipped"}


def write_xml(data) -> str:
    out = ['<?xml version="1.0" encoding="utf-8"?>\n<testsuites>']
    for suite_name, cases in data:
        attrs = f" name={quoteattr(suite_name)}" if suite_name is not None else ""
        out.append(f"<testsuite{attrs}>")
        for c in cases:
            attrs = ""
            if c.classname is not None:
                attrs += f" classname={quoteattr(c.classname)}"
            attrs += f" name={quoteattr(c.name)}"
            if c.file is not None:
                attrs += f" file={quoteattr(c.file)}"
            if c.time is not None:
                attrs += f' time="{c.time!r}"'
            out.append(f"<testcase{attrs}>")
            if c.outcome != "passed":
                tag = OUTCOME_TAG[c.outcome]
                if c.message is None:
                    out.append(f"<{tag}/>")
                elif c.message_in_text:
                    out.append(f"<{tag}>\n  {escape(c.message)}\nsecond line</{tag}>")
                else:
                    out.append(f"<{tag} message={quoteattr(c.message)}>body</{tag}>")
                out.append("<system-out>captured\nlines</system-out>")
            for tag, msg in c.retries:
                out.append(
                    f'<{tag} message={quoteattr(msg)} type="E"><stackTrace>st</stackTrace>'
                    f"<system-out>o</system-out></{tag}>"
                )
            out.append("</testcase>")
        out.append("</testsuite>")
    out.append("</testsuites>")
    return "".join(out)


def pytest_module(classname: str) -> str:
    parts = classname.split(".")
    while parts[-1][:1].isupper():  # the first segment is lower-case by construction
        parts.pop()
    return ".".join(parts)


def expected_rows(data) -> list[tuple]:
    rows: list[tuple] = []
    for suite_name, cases in data:
        finals: list[tuple[str, int]] = []  # (test id, index in rows) of final entries
        for c in cases:
            base = f"{c.classname or ''}::{c.name}"
            test_id = f"{c.file}::{base}" if c.file else base
            if c.file:
                module = c.file
            elif not c.classname:
                module = None
            elif suite_name == "pytest":
                module = pytest_module(c.classname)
            else:
                module = c.classname
            same = (c.classname, c.name, c.file, suite_name)
            for _tag, msg in c.retries:
                rows.append(
                    (test_id, "rerun", module, None, msg.strip()[:MESSAGE_MAX_CHARS], *same)
                )
            message = None if c.message is None else c.message.strip()[:MESSAGE_MAX_CHARS]
            finals.append((test_id, len(rows)))
            rows.append((test_id, c.outcome, module, c.time, message, *same))
        last_index = {test_id: index for test_id, index in finals}
        for test_id, index in finals:
            if index != last_index[test_id] and rows[index][1] in ("failed", "error"):
                rows[index] = (test_id, "rerun", *rows[index][2:])
    return rows


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(suites())
def test_written_results_read_back_the_same(data) -> None:
    xml = write_xml(data)
    for encoding in ("utf-8", "utf-16"):
        text = xml.replace('encoding="utf-8"', f'encoding="{encoding}"')
        report = parse_junit("gen.xml", text.encode(encoding))
        got = [FIELDS(r) for r in report.rows]
        assert got == expected_rows(data)
