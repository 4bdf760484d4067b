"""Fuzz: whatever bytes arrive, the readers answer with rows or their own refusal.

The JUnit parser is fed arbitrary bytes and JUnit-shaped XML trees (random tags,
attributes, text, declarations) that are then mutated byte by byte; the only
acceptable outcomes are parsed rows or ``JUnitParseError``, which is what the loader
turns into a quarantine row. Zips and plugin files get a shorter run of the same.
Examples are derandomized, so CI explores the same inputs every time.
"""

import io
import json
import math
import time
import zipfile
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.testresults.archive import ArchiveError, read_members
from pipelines.testresults.junit import JUnitParseError, parse_junit
from pipelines.testresults.plugin_reader import read_plugin_file
from pipelines.testresults.rows import MAX_DURATION_S, MAX_NAME_CHARS, OUTCOMES

JUNIT_EXAMPLES = 10_000
OTHER_EXAMPLES = 1_000


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


# -- JUnit-shaped trees -------------------------------------------------------------

TAGS = [
    "testcase", "testcase", "testcase", "testcase", "testsuite", "testsuite",
    "testsuites", "failure", "error", "skipped", "properties",
    "property", "system-out", "system-err", "flakyFailure", "flakyError", "rerunFailure",
    "rerunError", "stackTrace", "x", "html",
]  # fmt: skip
ATTRS = [
    "name", "classname", "class", "file", "time", "timestamp", "message", "hostname",
    "value", "type", "tests", "GITHUB_RUN_ID",
]  # fmt: skip
VALUES = [
    "NaN", "inf", "-1", "1e308", "1e-320", "1,234.5", " 2 ", "0x10", "", "0.25", "\u2028",
    "2025-03-04T23:30:00-02:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-14:00",
    "Tue, 15 Nov 1994 08:12:31 +0200", "Mon, 99 Foo 0 99:99:99", "pytest", "tests.a.TestB",
    "99999999999999999999", "octo/app", "caf\u00e9 \u65e5\u672c", "\U0001f600", "line\nnext",
    "&amp;", "&lt;", "&#x1F600;", "a" * (MAX_NAME_CHARS + 5),
]  # fmt: skip
# Never well-formed: at most one per tree, spliced in at a drawn place.
BAD = ["&undefined;", "&#0;", "]]>", "\x01", "\ufffe", "<", "&", "</x>", "<a b='1' b='2'/>"]
# Plain choices are repeated, so that most trees are readable before their mutations.
ROOTS = ["testsuites", "testsuite"] * 3 + ["testcase", "html"]
DECLS = [
    *[""] * 6, '<?xml version="1.0" encoding="utf-8"?>', '<?xml version="1.0"?>',
    '<?xml version="1.0" encoding="utf-8"?>', '<?xml version="1.0" encoding="UTF-16"?>',
    '<?xml version="1.0" encoding="latin-1"?>', '<?xml version="1.0" encoding="x-klingon"?>',
    '<?xml version="1.0" encoding="shift_jis"?>', '<?xml version="1.0" encoding="rot13"?>',
    '<?xml version="1.1"?>', '<!DOCTYPE t [<!ENTITY a "aa">]>', "\ufeff",
]  # fmt: skip
EXTRAS = ["", "<![CDATA[x<y]]>", "<!-- c -->", "<?pi x?>", "text", "<!DOCTYPE x>"]
OPS = ["flip", "insert", "delete", "cut"]
ENCODINGS = ["utf-8", "utf-8", "utf-8", "utf-16", "utf-16-be", "latin-1"]

# One element per step, coded in one integer (cheap to draw, and shrinking towards 0
# gives plainer elements): its tag, up to three attributes, the text before it and
# what it does to the depth (>0 opens it, 0 makes it empty, <0 first closes that many).
STEPS = st.lists(st.integers(0, 2**62), max_size=16)
# (where as a fraction of the length, operation, byte)
MUTATIONS = st.lists(
    st.tuples(st.floats(0, 1), st.sampled_from(OPS), st.integers(0, 255)), max_size=3
)
TEXTS = EXTRAS + VALUES


def _pick(code: int, options: list) -> tuple[object, int]:
    return options[code % len(options)], code // len(options)


def build_tree(root: str, steps: list[int]) -> str:
    """JUnit-shaped XML from coded ``steps``; what is still open at the end is closed."""
    out, stack = [f"<{root}>"], [root]
    for code in steps:
        tag, code = _pick(code, TAGS)
        move, code = _pick(code, [0, 1, -1, 2, -2])
        text, code = _pick(code, TEXTS)
        attrs = {}
        for _ in range(3):
            code, pair = divmod(code, len(ATTRS) * len(VALUES) + 1)
            if pair:
                attrs[ATTRS[(pair - 1) % len(ATTRS)]] = VALUES[(pair - 1) // len(ATTRS)]
        head = tag + "".join(f' {k}="{v}"' for k, v in attrs.items())
        out.append(text)
        if move < 0:
            for _ in range(min(-move, len(stack) - 1)):
                out.append(f"</{stack.pop()}>")
        if move > 0:
            out.append(f"<{head}>")
            stack.append(tag)
        else:
            out.append(f"<{head}/>")
    out.extend(f"</{tag}>" for tag in reversed(stack))
    return "".join(out)


@st.composite
def junit_like(draw: st.DrawFn) -> bytes:
    root = draw(st.sampled_from(ROOTS))
    text = draw(st.sampled_from(DECLS)) + build_tree(root, draw(STEPS))
    bad = draw(st.sampled_from([""] * 3 * len(BAD) + BAD))
    if bad:
        where = draw(st.integers(0, len(text)))
        text = text[:where] + bad + text[where:]
    data = text.encode(draw(st.sampled_from(ENCODINGS)), "replace")
    mutated = draw(st.integers(0, 2)) == 0
    return mutate(data, draw(MUTATIONS)) if mutated else data


def mutate(data: bytes, mutations: list[tuple[float, str, int]]) -> bytes:
    buf = bytearray(data)
    for where, op, byte in mutations:
        i = min(int(where * len(buf)), max(len(buf) - 1, 0))
        if op == "insert":
            buf.insert(i, byte)
        elif not buf:
            continue
        elif op == "flip":
            buf[i] ^= byte or 1
        elif op == "delete":
            del buf[i]
        else:
            del buf[i:]
    return bytes(buf)


def _check_rows(report) -> int:
    for row in report.rows:
        assert row.outcome in OUTCOMES
        assert row.duration_s is None or 0 <= row.duration_s <= MAX_DURATION_S
        assert not (isinstance(row.duration_s, float) and math.isnan(row.duration_s))
        for text in (row.name, row.classname, row.file, row.suite, row.hostname):
            assert text is None or len(text) <= MAX_NAME_CHARS
    return len(report.rows)


def run_fuzz(
    strategy: st.SearchStrategy, examples: int, check: Callable[[object], str]
) -> tuple[dict[str, int], dict[str, float]]:
    """Run ``check`` over ``examples`` derandomized inputs: outcome counts, and seconds."""
    outcomes: dict[str, int] = {}

    @fuzz_settings(examples)
    @given(strategy)
    def fuzz(data) -> None:
        outcome = check(data)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1

    cpu, wall = time.process_time(), time.perf_counter()
    fuzz()
    seconds = {
        "cpu_s": round(time.process_time() - cpu, 1),
        "wall_s": round(time.perf_counter() - wall, 1),
    }
    return outcomes, seconds


@pytest.mark.slow
def test_junit_parser_answers_any_bytes_with_rows_or_its_refusal(record) -> None:
    def check(data: bytes) -> str:
        try:
            report = parse_junit("fuzz.xml", data)
        except JUnitParseError as exc:
            assert exc.source == "fuzz.xml" and exc.reason
            assert str(exc) == f"fuzz.xml: {exc.reason}"
            return "refused"
        return "parsed with rows" if _check_rows(report) else "parsed, no rows"

    # two parts JUnit-shaped trees to one part arbitrary bytes
    strategy = st.one_of(st.binary(max_size=512), junit_like(), junit_like())
    counts, seconds = run_fuzz(strategy, JUNIT_EXAMPLES, check)
    examples = sum(counts.values())
    # hypothesis stops early only if it runs out of distinct inputs, which it cannot here
    assert examples >= JUNIT_EXAMPLES
    assert counts.get("parsed with rows", 0) > examples // 20  # the row path is exercised
    assert counts.get("refused", 0) > examples // 10
    record(
        "hostile",
        "fuzz-junit-parser",
        "arbitrary bytes and mutated JUnit-shaped XML trees into parse_junit",
        f"{examples} examples: "
        + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        + "; no exception but JUnitParseError",
        examples=examples,
        **seconds,
    )


# -- zips -----------------------------------------------------------------------------


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, (2024, 1, 2, 3, 4, 6)), data)
    return buf.getvalue()


SEED_ZIP = _zip(
    {
        "a/report.xml": b'<testsuite name="s"><testcase classname="c" name="t"/></testsuite>' * 3,
        "b.jsonl": b'{"type": "session", "schema": 1}\n',
        "inner.zip": b"PK\x05\x06" + bytes(18),
        "notes.txt": b"skip me",
    }
)
ZIP_MUTATIONS = st.lists(
    st.tuples(st.floats(0, 1), st.sampled_from(OPS), st.integers(0, 255)), min_size=1, max_size=4
)


def test_zip_reader_answers_any_mutation_with_members_or_its_refusal(record) -> None:
    def check(mutations) -> str:
        data = mutate(SEED_ZIP, mutations)
        try:
            members = list(read_members("fuzz.zip", data))
        except ArchiveError as exc:
            assert exc.archive == "fuzz.zip" and exc.reason
            return "refused"
        assert all((m.error is None) or (m.data == b"" and m.error) for m in members)
        return "member errors" if any(m.error for m in members) else "read"

    seen, seconds = run_fuzz(ZIP_MUTATIONS, OTHER_EXAMPLES, check)
    examples = sum(seen.values())
    assert examples >= OTHER_EXAMPLES and seen.get("refused", 0) > 0 and seen.get("read", 0) > 0
    record(
        "hostile",
        "fuzz-zip-reader",
        "byte flips, inserts, deletions and cuts of a four-member zip into read_members",
        ", ".join(f"{v} {k}" for k, v in sorted(seen.items())) + ": no exception but ArchiveError",
        examples=examples,
        **seconds,
    )


# -- plugin files -----------------------------------------------------------------------

SESSION = {
    "type": "session",
    "schema": 1,
    "start": "2025-05-06T07:08:09Z",
    "context": {"run_id": 5, "repository": "o/r"},
}
TEST = {"type": "test", "file": "t/x.py", "name": "a", "outcome": "failed"}
PLUGIN_SEED = "\n".join(
    json.dumps(r)
    for r in (
        SESSION,
        {**TEST, "durations": {"call": 1.5, "setup": None}},
        {**TEST, "class": "K", "name": "b", "outcome": "xfailed", "message": "why"},
        {"type": "session_end"},
    )
).encode()


def test_plugin_reader_answers_any_mutation_with_rows_or_a_named_value_error(record) -> None:
    def check(mutations) -> str:
        data = mutate(PLUGIN_SEED, mutations)
        try:
            _, rows = read_plugin_file("fuzz.jsonl", data)
            rows = list(rows)
        except ValueError as exc:
            assert str(exc).startswith("fuzz.jsonl")  # names the file (and mostly the line)
            return "refused"
        for row in rows:
            assert row.outcome in OUTCOMES
            assert row.duration_s is None or 0 <= row.duration_s <= MAX_DURATION_S
        return "read"

    seen, seconds = run_fuzz(ZIP_MUTATIONS, OTHER_EXAMPLES, check)
    examples = sum(seen.values())
    assert examples >= OTHER_EXAMPLES and seen.get("refused", 0) > 0 and seen.get("read", 0) > 0
    record(
        "hostile",
        "fuzz-plugin-reader",
        "byte flips, inserts, deletions and cuts of a plugin JSON Lines file",
        f"{seen.get('read', 0)} read, {seen.get('refused', 0)} refused with a ValueError"
        " naming the file: no other exception",
        examples=examples,
        **seconds,
    )
