"""C++ test runners' JUnit reports: GoogleTest, CTest and Catch2.

The fixtures in tests/fixtures/junit/ are written by hand in the exact shape each
runner writes (the comment above each expectation says where that shape comes
from); the expected outcomes, counts and durations are the ones each fixture was
built to hold.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest

from pipelines.store import connect
from pipelines.testresults.junit import parse_junit
from pipelines.testresults.loader import ingest_files

FIXTURES = Path(__file__).parent / "fixtures" / "junit"

# GoogleTest, `--gtest_output=xml` (googletest docs/advanced.md "Generating an XML
# Report" and gtest.cc's XML printer as of 1.11+): a <testsuites name="AllTests"> root,
# one <testsuite> per test suite, <testcase> with file/line/status/result/timestamp;
# DISABLED_ tests are written as status="notrun" result="suppressed" with no child,
# GTEST_SKIP() as status="run" result="skipped" with a <skipped> child, failures as
# <failure message=... type=""> with CDATA; RecordProperty as <properties> in the case.
GTEST_SRC = "/home/runner/work/calc/calc/test/"
GOOGLETEST = {
    "file": "googletest-gtest-output-xml.xml",
    "cases": [
        # (classname, name, outcome, duration_s)
        ("MathTest", "Addition", "failed", 0.007),
        ("MathTest", "Subtraction", "passed", 0.005),
        ("MathTest", "DISABLED_Division", "skipped", 0.0),
        ("MathTest", "FusedMultiplyAdd", "skipped", 0.0),
        ("MathTest", "RecordsProperties", "passed", 0.009),
        ("Sizes/BufferTest", "Fits/0", "passed", 0.001),
        ("Sizes/BufferTest", "Fits/1", "passed", 0.002),
        ("DISABLED_NetworkTest", "Connects", "skipped", 0.0),
    ],
    "day": date(2025, 4, 2),
}

# CTest, `ctest --output-junit` (CMake's cmCTestTestHandler::WriteJUnitXML): a bare
# <testsuite> root named after the build, attributes broken over lines; every
# <testcase> has name == classname, time in seconds as a double and status run, fail,
# notrun or disabled; fail gets <failure message="Failed|Timeout|...">, notrun a
# <skipped message=CompletionStatus>, disabled no child at all; then <properties>
# (cmake_labels) and <system-out>.
CTEST = {
    "file": "ctest-output-junit.xml",
    "cases": [
        ("unit_math", "unit_math", "passed", 0.0123456),
        ("unit_io", "unit_io", "failed", 0.250931),
        ("integration_slow", "integration_slow", "failed", 10.0034),
        ("needs_gpu", "needs_gpu", "skipped", 0.00102),
        ("needs_fixture_data", "needs_fixture_data", "skipped", 0.0),
        ("legacy_parser", "legacy_parser", "skipped", 0.0),
        ("smoke", "smoke", "passed", 1.5),
    ],
    "day": date(2025, 4, 2),
}

# Catch2, `-r junit` (Catch2 docs/reporters.md and the JUnit reporter's approved output,
# tests/SelfTest/Baselines/junit.sw.approved.txt): <testsuites><testsuite> named after
# the binary with hostname="tbd", random-seed/filters properties; classname is
# "<binary>.global" (or "<binary>.<fixture class>"), sections are "case/section" names,
# every case status="run"; failures and errors carry the expansion as text; a
# [!mayfail] case writes <skipped message="TEST_CASE tagged with !mayfail"/> beside its
# <failure>; SKIP() writes <skipped type="SKIP">; suite-level system-out/err at the end.
CATCH2 = {
    "file": "catch2-reporter-junit.xml",
    "cases": [
        ("calc_tests.global", "Vectors can be sized and resized", "passed", 0.001),
        (
            "calc_tests.global",
            "Vectors can be sized and resized/resizing bigger changes size and capacity",
            "passed",
            0.002,
        ),
        (
            "calc_tests.global",
            "Vectors can be sized and resized/reserving smaller does not change size or capacity",
            "failed",
            0.003,
        ),
        ("calc_tests.Parser", "Parses numbers", "passed", 0.012),
        ("calc_tests.global", "Parser throws on garbage", "error", 0.004),
        ("calc_tests.global", "Division by zero is reported", "failed", 0.005),
        ("calc_tests.global", "Needs a network", "skipped", 0.0),
        ("calc_tests.global", "Unicode names: größe", "passed", 0.066),
    ],
    "day": date(2025, 4, 2),
}

REPORTS = {"googletest": GOOGLETEST, "ctest": CTEST, "catch2": CATCH2}
EXPECTED_COUNTS = {
    "googletest": {"passed": 4, "failed": 1, "skipped": 3},
    "ctest": {"passed": 2, "failed": 2, "skipped": 3},
    "catch2": {"passed": 4, "failed": 2, "error": 1, "skipped": 1},
}


@pytest.mark.parametrize("runner", REPORTS)
def test_outcomes_counts_and_durations(runner: str) -> None:
    spec = REPORTS[runner]
    rows = parse_junit(spec["file"], FIXTURES / spec["file"]).rows
    got = [(r.classname, r.name, r.outcome, r.duration_s) for r in rows]
    assert got == spec["cases"]
    assert Counter(r.outcome for r in rows) == EXPECTED_COUNTS[runner]


def test_googletest_ids_messages_and_suites() -> None:
    report = parse_junit("g.xml", FIXTURES / GOOGLETEST["file"])
    first = report.rows[0]
    # GoogleTest names the source file: it becomes the module and leads the test id.
    assert first.file == GTEST_SRC + "math_test.cc"
    assert first.module == first.file
    assert first.test_id == f"{GTEST_SRC}math_test.cc::MathTest::Addition"
    assert first.message.startswith(GTEST_SRC + "math_test.cc:14\nExpected equality")
    assert first.suite == "MathTest"
    skipped = {r.name: r.message for r in report.rows if r.outcome == "skipped"}
    assert skipped == {
        "DISABLED_Division": None,
        "FusedMultiplyAdd": GTEST_SRC + "math_test.cc:29\nno FMA on this CPU",
        "Connects": None,
    }
    assert report.meta.report_time == datetime(2025, 4, 2, 9, 15, 3, 512000)


def test_ctest_messages_suite_and_host() -> None:
    report = parse_junit("c.xml", FIXTURES / CTEST["file"])
    messages = {r.name: r.message for r in report.rows}
    assert messages == {
        "unit_math": None,
        "unit_io": "Failed",
        "integration_slow": "Timeout",
        "needs_gpu": "SKIP_RETURN_CODE=77",
        "needs_fixture_data": "Required Files Missing",
        "legacy_parser": None,
        "smoke": None,
    }
    assert {r.test_id for r in report.rows} == {f"{n}::{n}" for n in messages}
    assert {r.module for r in report.rows} == set(messages)  # the classname
    assert {(r.suite, r.hostname) for r in report.rows} == {("Linux-c++", "fv-az1204-512")}
    # the <property> inside a <testcase> is not run linkage
    assert report.meta.properties == {}


def test_catch2_messages_and_properties() -> None:
    report = parse_junit("c.xml", FIXTURES / CATCH2["file"])
    messages = {r.name.rsplit("/", 1)[-1]: r.message for r in report.rows if r.message}
    assert messages == {
        "reserving smaller does not change size or capacity": "v.capacity() == 5",
        "Parser throws on garbage": "FAILED:",  # no message attribute: the first text line
        "Division by zero is reported": "divide(1, 0).has_value()",  # the failure, not !mayfail
        "Needs a network": "SKIPPED",
    }
    assert report.meta.properties == {"random-seed": "3141592653", "filters": '"*" ~[.]'}
    assert report.meta.report_time == datetime(2025, 4, 2, 9, 25, 10)
    assert {r.module for r in report.rows} == {"calc_tests.global", "calc_tests.Parser"}


def test_the_loader_stores_the_same_outcomes(db_path: Path) -> None:
    paths = [FIXTURES / spec["file"] for spec in REPORTS.values()]
    with connect(db_path) as con:
        summary = ingest_files(con, paths, context_overrides={"repo": "octo/cpp"})
        assert summary.quarantined == []
        assert summary.files_read == 3
        total = Counter()
        for runner, spec in REPORTS.items():
            stored = con.execute(
                "SELECT classname, name, outcome, duration_s, day FROM raw.test_results"
                " WHERE source = ? ORDER BY seq",
                [str(FIXTURES / spec["file"])],
            ).fetchall()
            assert [r[:4] for r in stored] == spec["cases"], runner
            assert {r[4] for r in stored} == {spec["day"]}
            total.update(EXPECTED_COUNTS[runner])
    assert dict(summary.tests_by_outcome) == dict(total)
