"""The JUnit parser against the real-world corpus and small hand-written reports."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from pipelines.testresults.junit import JUnitParseError, parse_junit, parse_timestamp
from pipelines.testresults.rows import MESSAGE_MAX_CHARS, RunContext
from tests import corpus
from tests.corpus import corpus_params, needs_corpus

CORPUS = corpus.JUNIT
CORPUS_FILES = sorted(CORPUS.glob("*.xml"))
RETRY_TAGS = {"flakyFailure", "flakyError", "rerunFailure", "rerunError"}
NOT_RUN_STATUSES = {"disabled", "notrun", "skipped", "ignored"}

# `tc` from junit/PROVENANCE.md: the number of <testcase> elements in each file.
PROVENANCE_TESTCASES = {
    "pytest-xunit1-horovod-gloo-standalone.xml": 97,
    "pytest-xunit1-tagreader-python-failures.xml": 135,
    "pytest-xunit2-pygithub-large.xml": 1008,
    "pytest-xunit2-lumibot-failures-xfail-nonascii.xml": 1021,
    "pytest-xunit2-mosaik-suite-properties.xml": 238,
    "pytest-legacy-2x-django-filer-testsuite-root.xml": 198,
    "pytest-collection-error-pyaedt.xml": 1,
    "pytest-empty-suite-loopy.xml": 0,
    "surefire-rerunFailure-junit-plugin-AlwaysFailTest.xml": 1,
    "surefire-flaky-and-rerun-all-kinds-publish-unit-test-result-action.xml": 4,
    "gradle-junit5-all-skipped-ckb-sdk-kotlin.xml": 31,
    "gradle-junit4-failure-skip-datadog-ci.xml": 5,
    "junit5-console-launcher-jabref-large.xml": 3375,
    "jest-junit-jest-repo-large.xml": 4239,
    "mocha-xunit-reporter-latex-utensils-rfc1123-timestamp.xml": 109,
    "go-junit-report-v2-subtests.xml": 11,
    "gotestsum-junitxml-report.xml": 60,
    "phpunit-nested-suites-phpcheckstyle.xml": 30,
    "nette-tester-junit-no-time-no-suite-name.xml": 65,
    "bazel-generated-test-xml.xml": 1,
    "tap-to-junit-spamassassin-make-test.xml": 2653,
    "fixture-comma-time-nested-jenkins-junit-plugin.xml": 8,
}

# Files whose root/suite `tests=` header equals the real number of testcases
# (PROVENANCE.md lists the others: pygithub, surefire, gotestsum, nette...).
HEADER_IS_RIGHT = [
    "pytest-xunit1-horovod-gloo-standalone.xml",
    "pytest-xunit1-tagreader-python-failures.xml",
    "pytest-xunit2-lumibot-failures-xfail-nonascii.xml",
    "pytest-xunit2-mosaik-suite-properties.xml",
    "pytest-legacy-2x-django-filer-testsuite-root.xml",
    "gradle-junit5-all-skipped-ckb-sdk-kotlin.xml",
    "junit5-console-launcher-jabref-large.xml",
    "jest-junit-jest-repo-large.xml",
    "go-junit-report-v2-subtests.xml",
]


def reference_counts(path: Path) -> tuple[int, Counter[str]]:
    """Testcases and expected outcomes, counted independently with ElementTree.

    Reruns are counted per Surefire retry element.
    """
    outcomes: Counter[str] = Counter()
    cases = 0
    for case in ET.parse(path).iter("testcase"):
        cases += 1
        tags = [child.tag for child in case]
        outcomes["rerun"] += sum(1 for t in tags if t in RETRY_TAGS)
        if "failure" in tags:
            outcomes["failed"] += 1
        elif "error" in tags:
            outcomes["error"] += 1
        elif "skipped" in tags:
            outcomes["skipped"] += 1
        elif (case.get("status") or "").strip().lower() in NOT_RUN_STATUSES:
            outcomes["skipped"] += 1
        else:
            outcomes["passed"] += 1
    return cases, +outcomes


@needs_corpus
def test_corpus_is_complete() -> None:
    assert {p.name for p in CORPUS_FILES} == set(PROVENANCE_TESTCASES)


@pytest.mark.parametrize("path", corpus_params(CORPUS_FILES), ids=lambda p: p.stem[:40])
def test_every_corpus_file_parses_to_one_row_per_execution(path: Path) -> None:
    cases, expected = reference_counts(path)
    assert cases == PROVENANCE_TESTCASES[path.name]
    report = parse_junit(path.name, path)
    got = Counter(r.outcome for r in report.rows)
    assert len(report.rows) == cases + expected["rerun"]
    # No corpus file repeats a failed test id inside one suite, so no extra reruns.
    assert got == expected
    for row in report.rows:
        assert row.outcome in {"passed", "failed", "error", "skipped", "rerun"}
        assert row.duration_s is None or row.duration_s >= 0
        assert row.message is None or 0 < len(row.message) <= MESSAGE_MAX_CHARS


@needs_corpus
@pytest.mark.parametrize("name", HEADER_IS_RIGHT)
def test_row_count_matches_the_header_where_the_header_is_right(name: str) -> None:
    root = ET.parse(CORPUS / name).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    declared = sum(int(s.get("tests")) for s in suites)
    assert len(parse_junit(name, CORPUS / name).rows) == declared


def rows_of(name: str):
    return parse_junit(name, CORPUS / name).rows


@needs_corpus
def test_surefire_rerun_failure_gives_reruns_before_the_failure() -> None:
    rows = rows_of("surefire-rerunFailure-junit-plugin-AlwaysFailTest.xml")
    assert [r.outcome for r in rows] == ["rerun", "rerun", "rerun", "failed"]
    assert {r.test_id for r in rows} == {"io.olamy.AlwaysFailTest::testApp"}


@needs_corpus
def test_surefire_all_retry_kinds() -> None:
    rows = rows_of("surefire-flaky-and-rerun-all-kinds-publish-unit-test-result-action.xml")
    by_test: dict[str, list[str]] = {}
    for r in rows:
        by_test.setdefault(r.name, []).append(r.outcome)
    root = ET.parse(
        CORPUS / "surefire-flaky-and-rerun-all-kinds-publish-unit-test-result-action.xml"
    ).getroot()
    for case in root.iter("testcase"):
        tags = [c.tag for c in case]
        retries = sum(t in RETRY_TAGS for t in tags)
        final = "failed" if "failure" in tags else "error" if "error" in tags else "passed"
        assert by_test[case.get("name")] == ["rerun"] * retries + [final]
    flaky = [o for o in by_test.values() if o[-1] == "passed"]
    assert flaky and all(len(o) >= 2 for o in flaky)


@needs_corpus
def test_pytest_modules_ids_and_xfail() -> None:
    rows = rows_of("pytest-xunit2-pygithub-large.xml")
    row = next(r for r in rows if r.classname == "tests.ApplicationOAuth.ApplicationOAuth")
    assert row.module == "tests"  # both trailing segments begin upper-case
    assert row.test_id == f"tests.ApplicationOAuth.ApplicationOAuth::{row.name}"
    rows = rows_of("pytest-xunit1-horovod-gloo-standalone.xml")
    assert all(
        r.file == "test/test_spark.py" for r in rows if r.classname.startswith("test.test_spark")
    )
    spark = next(r for r in rows if r.classname == "test.test_spark.SparkTests")
    assert spark.module == "test/test_spark.py"
    assert spark.test_id == f"test/test_spark.py::test.test_spark.SparkTests::{spark.name}"
    lumibot = CORPUS / "pytest-xunit2-lumibot-failures-xfail-nonascii.xml"
    xfails = sum(
        1 for s in ET.parse(lumibot).getroot().iter("skipped") if s.get("type") == "pytest.xfail"
    )
    assert xfails > 0
    rows = rows_of(lumibot.name)
    assert sum(r.outcome == "skipped" for r in rows) == 25


@needs_corpus
def test_non_pytest_module_is_the_classname() -> None:
    rows = rows_of("junit5-console-launcher-jabref-large.xml")
    assert all(r.module == r.classname for r in rows)
    assert rows[0].suite == "JUnit Jupiter"


@needs_corpus
def test_timestamps_become_naive_utc() -> None:
    meta = parse_junit("x", CORPUS / "mocha-xunit-reporter-latex-utensils-rfc1123-timestamp.xml")
    assert meta.meta.report_time == datetime(2022, 12, 3, 23, 10, 7)
    meta = parse_junit("x", CORPUS / "pytest-xunit2-pygithub-large.xml").meta
    assert meta.report_time == datetime(2025, 7, 31, 11, 15, 10, 12042)
    assert meta.hostname == "tuxedo-os"
    meta = parse_junit("x", CORPUS / "pytest-xunit2-lumibot-failures-xfail-nonascii.xml").meta
    assert meta.report_time == datetime(2025, 10, 5, 20, 26, 24, 143602)
    # go's zero time is "unknown", not year 1
    assert parse_junit("x", CORPUS / "gotestsum-junitxml-report.xml").meta.report_time is None
    assert parse_timestamp("2020-08-31T09:24:41.605653") == datetime(2020, 8, 31, 9, 24, 41, 605653)
    assert parse_timestamp("2022-01-01T00:00:00Z") == datetime(2022, 1, 1)
    assert parse_timestamp("not a date") is None
    assert parse_timestamp("0001-01-01T00:00:00+01:00") is None
    assert parse_timestamp("Tue, 15 Nov 1994 08:12:31 +0200") == datetime(1994, 11, 15, 6, 12, 31)
    assert parse_timestamp("") is None


@needs_corpus
def test_durations_comma_missing_and_six_decimals() -> None:
    rows = rows_of("nette-tester-junit-no-time-no-suite-name.xml")
    assert all(r.duration_s is None for r in rows)
    assert all(r.suite is None for r in rows)
    rows = rows_of("fixture-comma-time-nested-jenkins-junit-plugin.xml")
    assert sorted(r.duration_s for r in rows)[:2] == [10.0, 10.0]
    report = parse_junit(
        "t.xml",
        b'<testsuite name="s"><testcase classname="c" name="a" time="1,234.5"/>'
        b'<testcase classname="c" name="b" time=""/><testcase classname="c" name="d" time="x"/>'
        b'<testcase classname="c" name="e"/><testcase classname="c" name="f" time="-1"/>'
        b"</testsuite>",
    )
    assert [r.duration_s for r in report.rows] == [1234.5, None, None, None, None]


@needs_corpus
def test_nested_phpunit_suites_use_the_file() -> None:
    rows = rows_of("phpunit-nested-suites-phpcheckstyle.xml")
    first = rows[0]
    assert first.file == "/workspace/phpcheckstyle/test/CommentsTest.php"
    assert first.module == first.file
    assert first.test_id == f"{first.file}::CommentsTest::testGoodDoc"
    assert first.suite == "CommentsTest"
    assert sum(r.outcome == "failed" for r in rows) == 2


@needs_corpus
def test_collection_errors_and_missing_classname() -> None:
    (row,) = rows_of("pytest-collection-error-pyaedt.xml")
    assert (row.test_id, row.outcome, row.message) == ("::", "error", "collection failure")
    (row,) = rows_of("bazel-generated-test-xml.xml")
    assert row.test_id == "::bazel/failing_absl_test"
    assert row.classname is None and row.module is None
    assert row.message == "exited with error code 1"


@needs_corpus
def test_messages_come_from_attribute_or_first_text_line() -> None:
    rows = rows_of("jest-junit-jest-repo-large.xml")
    failed = [r for r in rows if r.outcome == "failed"]
    assert len(failed) == 2 and all(r.message for r in failed)
    rows = rows_of("junit5-console-launcher-jabref-large.xml")
    skipped = [r for r in rows if r.outcome == "skipped"]
    assert skipped[0].message.startswith("Re-enable if")
    long = "x" * 5000
    xml = (
        '<testsuite name="s"><testcase classname="c" name="a">'
        f'<failure message="{long}"/></testcase>'
        '<testcase classname="c" name="b"><error><![CDATA[\n\n  first line  \nsecond]]></error>'
        "</testcase>"
        '<testcase classname="c" name="c"><skipped message="  "/></testcase>'
        "</testsuite>"
    )
    rows = parse_junit("t.xml", xml.encode()).rows
    assert rows[0].message == "x" * MESSAGE_MAX_CHARS
    assert (rows[1].outcome, rows[1].message) == ("error", "first line")
    assert (rows[2].outcome, rows[2].message) == ("skipped", None)


def test_setup_and_teardown_errors() -> None:
    xml = b"""<testsuites><testsuite name="pytest">
    <testcase classname="tests.test_a.TestX" name="t1">
      <error message="failed on setup with &quot;E&quot;">trace</error></testcase>
    <testcase classname="tests.test_a.TestX" name="t2">
      <failure message="assert 0">t</failure>
      <error message="failed on teardown with X">t</error></testcase>
    <testcase classname="tests.test_a" name="t3">
      <skipped type="pytest.skip" message="s"/>
      <error message="failed on teardown with Y"/></testcase>
    </testsuite></testsuites>"""
    rows = parse_junit("t.xml", xml).rows
    assert [(r.outcome, r.message) for r in rows] == [
        ("error", 'failed on setup with "E"'),
        ("failed", "assert 0"),
        ("error", "failed on teardown with Y"),
    ]
    assert {r.module for r in rows} == {"tests.test_a"}


def test_pytest_rerunfailures_duplicates_within_a_suite() -> None:
    xml = b"""<testsuites><testsuite name="pytest">
    <testcase classname="t.m" name="a"><failure message="1"/></testcase>
    <testcase classname="t.m" name="b"/>
    <testcase classname="t.m" name="a"><error message="2"/></testcase>
    <testcase classname="t.m" name="a"/>
    <testcase classname="t.m" name="c"><failure message="3"/></testcase>
    <testcase classname="t.m" name="c"><failure message="4"/></testcase>
    <testcase classname="t.m" name="d"/>
    <testcase classname="t.m" name="d"><failure message="5"/></testcase>
    </testsuite><testsuite name="pytest">
    <testcase classname="t.m" name="c"/>
    </testsuite></testsuites>"""
    rows = parse_junit("t.xml", xml).rows
    assert [(r.name, r.outcome) for r in rows] == [
        ("a", "rerun"),
        ("b", "passed"),
        ("a", "rerun"),
        ("a", "passed"),
        ("c", "rerun"),
        ("c", "failed"),  # the last entry keeps its outcome
        ("d", "passed"),  # an earlier pass is not a rerun
        ("d", "failed"),
        ("c", "passed"),  # another suite: not a retry of the first one's c
    ]


def test_properties_give_a_run_context() -> None:
    xml = b"""<testsuites><testsuite name="s" hostname="h1" timestamp="2025-03-01T10:00:00">
    <properties>
      <property name="GITHUB_REPOSITORY" value="octo/app"/>
      <property name="GITHUB_RUN_ID" value="123456"/>
      <property name="run_attempt" value="2"/>
      <property name="sha">abc123</property>
      <property name="GITHUB_REF_NAME" value="main"/>
      <property name="workflow" value="CI"/>
      <property name="repository" value="ignored/second"/>
    </properties>
    <testcase classname="c" name="a">
      <properties><property name="run_id" value="999"/></properties>
    </testcase>
    </testsuite></testsuites>"""
    report = parse_junit("t.xml", xml)
    assert report.context == RunContext("octo/app", 123456, 2, "abc123", "main", "CI")
    merged = report.context.merged({"run_id": 7, "head_sha": None})
    assert (merged.run_id, merged.head_sha, merged.repo) == (7, "abc123", "octo/app")
    (row,) = report.rows
    assert (row.hostname, row.report_time) == ("h1", datetime(2025, 3, 1, 10))


@pytest.mark.parametrize("encoding", ["utf-16", "iso-8859-1", "utf-8-sig", "windows-1252"])
def test_declared_encodings_and_non_ascii_names(encoding: str) -> None:
    name = "prüfe_größe_é" if encoding in ("iso-8859-1", "windows-1252") else "тест_名前_😀"
    declared = "utf-8" if encoding == "utf-8-sig" else encoding
    text = (
        f'<?xml version="1.0" encoding="{declared}"?>\n'
        f'<testsuite name="s"><testcase classname="Kläss" name="{name}" time="0.5"/></testsuite>'
    )
    (row,) = parse_junit("t.xml", text.encode(encoding)).rows
    assert (row.name, row.classname, row.duration_s) == (name, "Kläss", 0.5)


@needs_corpus
def test_bare_testsuite_and_empty_suites() -> None:
    assert parse_junit("x", CORPUS / "pytest-empty-suite-loopy.xml").rows == []
    rows = rows_of("pytest-legacy-2x-django-filer-testsuite-root.xml")
    assert rows[0].module == "local.lib.python2.7.site-packages.filer.tests.__init__"


def test_wrong_root_is_refused() -> None:
    with pytest.raises(JUnitParseError, match="root element is <html>"):
        parse_junit("page.xml", b"<html><body/></html>")


@pytest.mark.parametrize(
    "status", ["disabled", "notrun", "skipped", "ignored", "NotRun", "DISABLED", " Ignored "]
)
def test_a_status_that_says_not_run_makes_a_childless_testcase_skipped(status: str) -> None:
    xml = (
        '<testsuite name="s">'
        f'<testcase classname="Suite" name="DISABLED_x" status="{status}" time="0"/>'
        f'<testcase classname="Suite" name="y" status="{status}" result="suppressed">'
        "<system-out>never started</system-out><properties/></testcase>"
        "</testsuite>"
    )
    rows = parse_junit("t.xml", xml.encode()).rows
    assert [(r.name, r.outcome, r.message) for r in rows] == [
        ("DISABLED_x", "skipped", None),
        ("y", "skipped", None),
    ]


def test_googletest_and_ctest_not_run_shapes_are_skipped() -> None:
    xml = b"""<testsuites name="AllTests"><testsuite name="MathTest">
    <testcase name="Add" file="m.cc" line="3" status="run" result="completed" time="0.007"
      classname="MathTest"/>
    <testcase name="DISABLED_Sub" file="m.cc" line="9" status="notrun" result="suppressed"
      time="0" classname="MathTest"/>
    </testsuite><testsuite name="ctest">
    <testcase name="slow" classname="slow" time="0" status="disabled">
      <properties><property name="cmake_labels" value="a;b"/></properties>
      <system-out/></testcase>
    <testcase name="ok" classname="ok" time="0.5" status="run"><system-out>ok</system-out>
    </testcase>
    </testsuite></testsuites>"""
    rows = parse_junit("t.xml", xml).rows
    assert [(r.name, r.outcome) for r in rows] == [
        ("Add", "passed"),
        ("DISABLED_Sub", "skipped"),
        ("slow", "skipped"),
        ("ok", "passed"),
    ]


@pytest.mark.parametrize("status", ["run", "fail", "completed", "", "passed", "skippedish"])
def test_other_status_values_leave_the_outcome_to_the_children(status: str) -> None:
    xml = (
        '<testsuite name="s">'
        f'<testcase classname="c" name="a" status="{status}"/>'
        f'<testcase classname="c" name="b" status="{status}"><failure message="m"/></testcase>'
        "</testsuite>"
    )
    rows = parse_junit("t.xml", xml.encode()).rows
    assert [r.outcome for r in rows] == ["passed", "failed"]


@pytest.mark.parametrize("status", ["notrun", "disabled"])
def test_an_outcome_child_beats_the_status_attribute(status: str) -> None:
    xml = (
        '<testsuite name="s">'
        f'<testcase classname="c" name="f" status="{status}"><failure message="boom"/></testcase>'
        f'<testcase classname="c" name="e" status="{status}"><error message="bang"/></testcase>'
        f'<testcase classname="c" name="s" status="{status}"><skipped message="Disabled"/>'
        "</testcase>"
        "</testsuite>"
    )
    rows = parse_junit("t.xml", xml.encode()).rows
    assert [(r.outcome, r.message) for r in rows] == [
        ("failed", "boom"),
        ("error", "bang"),
        ("skipped", "Disabled"),
    ]


# Every order of the outcome children: failure beats error beats skipped (kpi-definitions.md),
# and the message is the winning child's.
PRECEDENCE = [
    (("skipped", "failure"), "failed"),
    (("failure", "skipped"), "failed"),
    (("error", "failure"), "failed"),
    (("failure", "error"), "failed"),
    (("skipped", "error", "failure"), "failed"),
    (("failure", "error", "skipped"), "failed"),
    (("error", "skipped", "failure", "error"), "failed"),
    (("skipped", "error"), "error"),
    (("error", "skipped"), "error"),
    (("skipped", "skipped"), "skipped"),
]


@pytest.mark.parametrize(
    "children,expected", PRECEDENCE, ids=lambda v: "-".join(v) if isinstance(v, tuple) else v
)
@pytest.mark.parametrize("with_messages", [True, False], ids=["attribute", "text"])
def test_outcome_child_precedence(
    children: tuple[str, ...], expected: str, with_messages: bool
) -> None:
    winner = {"failed": "failure", "error": "error", "skipped": "skipped"}[expected]
    body = "".join(
        f'<{tag} message="{tag} {i}"/>' if with_messages else f"<{tag}>{tag} {i}\nmore</{tag}>"
        for i, tag in enumerate(children)
    )
    xml = (
        '<testsuite name="s"><testcase classname="c" name="t" status="notrun">'
        f"{body}</testcase></testsuite>"
    )
    (row,) = parse_junit("t.xml", xml.encode()).rows
    first = children.index(winner)
    assert (row.outcome, row.message) == (expected, f"{winner} {first}")


def test_ids_and_modules_per_suite_kind_and_bounded_names() -> None:
    long_class = "pkg.mod." + "K" * 2000
    long_name = "t" * 2000
    xml = (
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.test_a.TestX" name="a"/>'
        f'<testcase classname="{long_class}" name="{long_name}"/>'
        '<testcase classname="tests.test_a.TestX" file="tests/test_a.py" name="b"/>'
        '<testcase name="no_class"/><testcase classname="tests.test_a.TestX"/>'
        '</testsuite><testsuite name="other">'
        '<testcase classname="tests.test_a.TestX" name="a"/>'
        "</testsuite></testsuites>"
    )
    rows = parse_junit("t.xml", xml.encode()).rows
    got = [(r.test_id, r.module, r.classname, r.name, r.file) for r in rows]
    short_class, short_name = rows[1].classname, rows[1].name
    assert len(short_class) == len(short_name) == 1024 and short_class.startswith("pkg.mod.K")
    assert got == [
        ("tests.test_a.TestX::a", "tests.test_a", "tests.test_a.TestX", "a", None),
        (f"{short_class}::{short_name}", "pkg.mod", short_class, short_name, None),
        (
            "tests/test_a.py::tests.test_a.TestX::b",
            "tests/test_a.py",
            "tests.test_a.TestX",
            "b",
            "tests/test_a.py",
        ),
        ("::no_class", None, None, "no_class", None),
        ("tests.test_a.TestX::", "tests.test_a", "tests.test_a.TestX", None, None),
        # not a pytest suite: the module is the whole classname
        ("tests.test_a.TestX::a", "tests.test_a.TestX", "tests.test_a.TestX", "a", None),
    ]
