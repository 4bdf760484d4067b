"""Loading reports into raw.test_results: idempotency, quarantine, atomicity, days."""

from __future__ import annotations

import io
import json
import os
import xml.etree.ElementTree as ET
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest

from pipelines.store import connect
from pipelines.testresults import loader
from pipelines.testresults.loader import ingest_files
from pipelines.testresults.rows import RunContext
from tests import corpus
from tests.corpus import needs_corpus

CORPUS = corpus.JUNIT
SUREFIRE = CORPUS / "surefire-rerunFailure-junit-plugin-AlwaysFailTest.xml"
JEST = CORPUS / "jest-junit-jest-repo-large.xml"  # naive timestamp 2021-01-24
LOOPY_EMPTY = CORPUS / "pytest-empty-suite-loopy.xml"

PYTEST_XML = b"""<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest"
 timestamp="2025-03-04T23:30:00-02:00" hostname="runner">
<properties><property name="GITHUB_REPOSITORY" value="octo/app"/>
<property name="GITHUB_RUN_ID" value="42"/><property name="GITHUB_SHA" value="abc"/></properties>
<testcase classname="tests.test_a.TestA" name="t1" time="0.5"/>
<testcase classname="tests.test_a.TestA" name="t2" time="1.5"><failure message="boom"/></testcase>
<testcase classname="tests.test_a.TestA" name="t2" time="1.0"/>
<testcase classname="tests.test_b" name="t3" time="0"><skipped message="later"/></testcase>
</testsuite></testsuites>"""


JUNIT_OK = b'<testsuite name="s"><testcase classname="c" name="ok"/></testsuite>'


def count(con, sql: str = "SELECT count(*) FROM raw.test_results", params=()) -> int:
    return con.execute(sql, list(params)).fetchall()[0][0]


def count_testcases(path: Path) -> int:
    return sum(1 for _ in ET.parse(path).iter("testcase"))


def test_rows_context_seq_and_days(db_path: Path) -> None:
    with connect(db_path) as con:
        summary = ingest_files(con, [("ci/pytest.xml", PYTEST_XML)], batch_rows=2)
        rows = con.execute(
            "SELECT seq, test_id, module, outcome, duration_s, message, repo, run_id, head_sha,"
            " day, report_time, hostname, source, source_kind FROM raw.test_results ORDER BY seq"
        ).fetchall()
    assert [r[:6] for r in rows] == [
        (0, "tests.test_a.TestA::t1", "tests.test_a", "passed", 0.5, None),
        (1, "tests.test_a.TestA::t2", "tests.test_a", "rerun", 1.5, "boom"),
        (2, "tests.test_a.TestA::t2", "tests.test_a", "passed", 1.0, None),
        (3, "tests.test_b::t3", "tests.test_b", "skipped", 0.0, "later"),
    ]
    # -02:00 at 23:30 is 01:30 UTC the next day: the report's day in UTC
    assert {r[6:] for r in rows} == {
        (
            "octo/app",
            42,
            "abc",
            date(2025, 3, 5),
            datetime(2025, 3, 5, 1, 30),
            "runner",
            "ci/pytest.xml",
            "junit",
        )
    }
    assert summary.files_read == 1
    assert dict(summary.tests_by_outcome) == {"passed": 2, "rerun": 1, "skipped": 1}
    assert summary.days == {date(2025, 3, 5)} and summary.quarantined == []


@needs_corpus
def test_run_created_day_wins_and_overrides_win(db_path: Path) -> None:
    with connect(db_path) as con:
        con.execute(
            "INSERT INTO raw.workflow_runs (repo, run_id, run_attempt, created_at)"
            " VALUES ('octo/app', 42, 1, TIMESTAMP '2025-03-01 08:00:00')"
        )
        ingest_files(con, [("a.xml", PYTEST_XML)])
        assert con.execute("SELECT DISTINCT day FROM raw.test_results").fetchall() == [
            (date(2025, 3, 1),)
        ]
        ingest_files(
            con,
            [SUREFIRE],
            context_overrides=RunContext(repo="o/r", run_id=7, run_attempt=2, branch="main"),
            day_for=lambda ctx: date(2024, 12, 31) if ctx.run_id == 7 else None,
        )
        got = con.execute(
            "SELECT DISTINCT day, repo, run_id, run_attempt, branch, head_sha FROM raw.test_results"
            " WHERE source = ?",
            [str(SUREFIRE)],
        ).fetchall()
    assert got == [(date(2024, 12, 31), "o/r", 7, 2, "main", None)]


def test_file_without_timestamp_uses_its_mtime_day(db_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "report.xml"
    path.write_bytes(b'<testsuite name="x"><testcase classname="c" name="n"/></testsuite>')
    mtime = datetime(2024, 2, 29, 12).timestamp()
    os.utime(path, (mtime, mtime))
    with connect(db_path) as con:
        summary = ingest_files(con, [path])
        assert count(con, "SELECT count(*) FROM raw.test_results WHERE day = '2024-02-29'") == 1
    assert summary.days == {date(2024, 2, 29)}


@needs_corpus
def test_corpus_batch_counts_and_duplicates(db_path: Path) -> None:
    files = sorted(CORPUS.glob("*.xml"))
    retries = sum(
        1
        for f in files
        for case in ET.parse(f).iter("testcase")
        for child in case
        if child.tag in {"flakyFailure", "flakyError", "rerunFailure", "rerunError"}
    )
    expected = sum(count_testcases(f) for f in files) + retries
    with connect(db_path) as con:
        summary = ingest_files(con, files, context_overrides={"repo": "o/r"})
        assert count(con) == expected == summary.tests
        assert summary.files_read == len(files) and summary.quarantined == []
        # seq is 0..n-1 within every file
        bad = con.execute(
            "SELECT source FROM raw.test_results GROUP BY source"
            " HAVING min(seq) <> 0 OR max(seq) <> count(*) - 1 OR count(DISTINCT seq) <> count(*)"
        ).fetchall()
        assert bad == []
        assert count(con, "SELECT count(*) FROM meta.ingested_files") == len(files)
        # the same bytes again, under any name, add nothing
        again = ingest_files(con, [*files, ("renamed.xml", JEST.read_bytes())])
        assert again.files_skipped_duplicate == len(files) + 1
        assert again.files_read == 0 and again.tests == 0
        assert count(con) == expected


@needs_corpus
def test_bad_files_are_quarantined_while_the_rest_load(db_path: Path) -> None:
    broken = b'<testsuite name="s"><testcase classname="c" name="a"/><testcase classname="c"'
    laughs = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><testsuite name="s"/>'
    with connect(db_path) as con:
        summary = ingest_files(
            con,
            [SUREFIRE, ("broken.xml", broken), ("laughs.xml", laughs), JEST],
            dagster_run_id="run-1",
            batch_rows=1,  # streamed: the broken file's first row is written before the error
            whole_file_bytes=0,
        )
        assert count(con) == 4 + count_testcases(JEST)
        assert {
            s for (s,) in con.execute("SELECT DISTINCT source FROM raw.test_results").fetchall()
        } == {
            str(SUREFIRE),
            str(JEST),
        }
        errors = con.execute(
            "SELECT source, reason, content_hash, dagster_run_id FROM raw.ingest_errors"
            " ORDER BY source"
        ).fetchall()
        assert [e[0] for e in errors] == ["broken.xml", "laughs.xml"]
        assert "malformed XML" in errors[0][1] and "DOCTYPE" in errors[1][1]
        assert all(len(e[2]) == 64 and e[3] == "run-1" for e in errors)
        assert [s for s, _ in summary.quarantined] == ["broken.xml", "laughs.xml"]
        # quarantined files are not marked ingested, and re-reading them adds no new error row
        again = ingest_files(con, [("broken.xml", broken)])
        assert again.quarantined and count(con, "SELECT count(*) FROM raw.ingest_errors") == 2


@needs_corpus
def test_a_crash_mid_batch_leaves_nothing(db_path: Path) -> None:
    def sources():
        yield SUREFIRE
        yield JEST
        raise RuntimeError("disk on fire")

    with connect(db_path) as con:
        with pytest.raises(RuntimeError, match="disk on fire"):
            ingest_files(con, sources(), batch_rows=500)
        assert count(con) == 0
        assert count(con, "SELECT count(*) FROM meta.ingested_files") == 0

        calls = []

        def day_for(ctx: RunContext) -> date | None:
            calls.append(ctx)
            if len(calls) > 3:  # after the second file's rows are written
                raise KeyboardInterrupt
            return None

        with pytest.raises(KeyboardInterrupt):
            ingest_files(
                con, [SUREFIRE, JEST], day_for=day_for, batch_rows=1000, whole_file_bytes=0
            )
        assert count(con) == 0
        assert count(con, "SELECT count(*) FROM meta.ingested_files") == 0
        # and a clean retry loads everything once
        ingest_files(con, [SUREFIRE, JEST])
        assert count(con) == 4 + count_testcases(JEST)


@needs_corpus
def test_whole_files_go_in_together_and_a_crash_after_a_flush_leaves_nothing(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loader, "PENDING_ROWS", 1)  # every file's rows go in at once
    placed = []

    def day_for(ctx: RunContext) -> date | None:
        placed.append(ctx)
        if len(placed) == 3:  # the first two files are inserted by now
            raise KeyboardInterrupt
        return None

    third = ("third.xml", JUNIT_OK)
    with connect(db_path) as con:
        with pytest.raises(KeyboardInterrupt):
            ingest_files(con, [SUREFIRE, JEST, third], day_for=day_for)
        assert count(con) == 0
        assert count(con, "SELECT count(*) FROM meta.ingested_files") == 0
        monkeypatch.undo()
        summary = ingest_files(con, [SUREFIRE, JEST, third])
        assert summary.files_read == 3
        assert count(con) == 4 + count_testcases(JEST) + 1
        assert count(con, "SELECT count(*) FROM meta.ingested_files") == 3
        # each file keeps its own source, hash and row order
        assert con.execute(
            "SELECT count(DISTINCT source), count(DISTINCT content_hash), "
            "bool_and(seq < tests) FROM raw.test_results JOIN meta.ingested_files "
            "USING (content_hash, source)"
        ).fetchone() == (3, 3, True)


def make_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2023, 7, 14, 10, 0, 0)), data)
    return buf.getvalue()


def test_zip_artifacts_are_expanded(db_path: Path, tmp_path: Path) -> None:
    no_time = b'<testsuite name="s"><testcase classname="c" name="z"/></testsuite>'
    archive = tmp_path / "junit-results.zip"
    archive.write_bytes(
        make_zip(
            {
                "linux/py3.12/pytest.xml": PYTEST_XML,
                "../../escape.xml": no_time,
                "coverage.txt": b"not a report",
                "bad/report.xml": b"<testsuite><oops></testsuite>",
            }
        )
    )
    with connect(db_path) as con:
        summary = ingest_files(con, [archive, ("junk.zip", b"PK\x03\x04 broken")])
        got = con.execute(
            "SELECT source, source_kind, count(*), min(day) FROM raw.test_results"
            " GROUP BY ALL ORDER BY source"
        ).fetchall()
    assert got == [
        (f"{archive}!../../escape.xml", "artifact", 1, date(2023, 7, 14)),
        (f"{archive}!linux/py3.12/pytest.xml", "artifact", 4, date(2025, 3, 5)),
    ]
    assert not (tmp_path.parent / "escape.xml").exists()
    assert [s for s, _ in summary.quarantined] == [f"{archive}!bad/report.xml", "junk.zip"]
    assert "not a readable zip" in summary.quarantined[1][1]


def test_plugin_files_go_to_the_plugin_reader(db_path: Path) -> None:
    session = {
        "type": "session",
        "schema": 1,
        "start": "2025-05-06T07:08:09+00:00",
        "hostname": "box",
        "context": {"repository": "octo/app", "run_id": "99", "sha": "def"},
    }
    test = {
        "type": "test",
        "file": "tests/test_x.py",
        "class": "TestA",
        "name": "test_b",
        "outcome": "failed",
        "exc_type": "AssertionError",
        "message": "nope",
        "durations": {"setup": 0.25, "call": 0.5, "teardown": 0.25},
    }
    data = "\n".join(json.dumps(r) for r in (session, test)).encode()
    with connect(db_path) as con:
        summary = ingest_files(con, [("results.jsonl", data), ("bad.jsonl", b"{not json")])
        got = con.execute(
            "SELECT source_kind, repo, run_id, head_sha, day, outcome, test_id, duration_s"
            " FROM raw.test_results"
        ).fetchall()
    assert got == [
        (
            "plugin",
            "octo/app",
            99,
            "def",
            date(2025, 5, 6),
            "failed",
            "tests.test_x.TestA::test_b",
            1.0,
        )
    ]
    assert [s for s, _ in summary.quarantined] == ["bad.jsonl"]


def _plugin_file(context: dict, *tests: dict) -> bytes:
    session = {"type": "session", "schema": 1, "start": "2025-05-06T07:08:09Z", "context": context}
    return "\n".join(json.dumps(r) for r in (session, *tests)).encode()


def test_odd_values_never_void_the_batch(db_path: Path) -> None:
    # each would have reached DuckDB as a value its column cannot hold, or crashed the reader
    huge_ids = PYTEST_XML.replace(b'value="42"', b'value="99999999999999999999"').replace(
        b'<property name="GITHUB_SHA"',
        b'<property name="GITHUB_RUN_ATTEMPT" value="99999999999"/><property name="GITHUB_SHA"',
    )
    test = {"type": "test", "file": "tests/test_x.py", "name": "test_b", "outcome": "passed"}
    listed = _plugin_file({"run_id": "-5"}, {**test, "outcome": ["passed"]})
    too_big = _plugin_file({}, test)
    with connect(db_path) as con:
        summary = ingest_files(
            con,
            [("huge-ids.xml", huge_ids), ("listed.jsonl", listed), ("big.xml", huge_ids + b" ")],
            max_bytes=len(huge_ids),
        )
        assert (
            count(con, "SELECT count(*) FROM raw.test_results WHERE source = ?", ["huge-ids.xml"])
            == 4
        )
        assert con.execute(
            "SELECT DISTINCT repo, run_id, run_attempt FROM raw.test_results WHERE source = ?",
            ["huge-ids.xml"],
        ).fetchall() == [("octo/app", None, None)]  # out-of-range linkage is dropped, not fatal
        quarantined = dict(summary.quarantined)
        assert "unknown outcome ['passed']" in quarantined["listed.jsonl"]
        assert "larger than" in quarantined["big.xml"]  # the byte cap holds for every file
        big = ingest_files(con, [("big.jsonl", too_big)], max_bytes=len(too_big) - 1)
        assert "plugin file is larger than" in dict(big.quarantined)["big.jsonl"]


def test_text_that_is_not_utf8_never_voids_the_batch(db_path: Path, tmp_path: Path) -> None:
    # JSON allows lone surrogates, file systems allow undecodable names: neither is UTF-8
    test = {"type": "test", "file": "tests/test_x.py", "name": "test_b", "outcome": "passed"}
    linked = _plugin_file({"repository": "o/r\ud800", "sha": "abc"}, test)
    named = _plugin_file({}, {**test, "outcome": "\ud800"})
    odd_path = tmp_path / os.fsdecode(b"report-\xff.xml")
    odd_path.write_bytes(PYTEST_XML)
    with connect(db_path) as con:
        summary = ingest_files(
            con, [("linked.jsonl", linked), ("named.jsonl", named), odd_path, ("ok.xml", JUNIT_OK)]
        )
        stored = dict(
            con.execute("SELECT source, count(*) FROM raw.test_results GROUP BY 1").fetchall()
        )
        assert stored == {
            "linked.jsonl": 1,
            str(odd_path).replace("\udcff", "\\udcff"): 4,
            "ok.xml": 1,
        }
        assert con.execute(
            "SELECT repo FROM raw.test_results WHERE source = 'linked.jsonl'"
        ).fetchall() == [("o/r\\ud800",)]
        assert [s for s, _ in summary.quarantined] == ["named.jsonl"]
        assert count(con, "SELECT count(*) FROM raw.ingest_errors") == 1


@needs_corpus
def test_empty_report_is_recorded_as_ingested(db_path: Path) -> None:
    with connect(db_path) as con:
        summary = ingest_files(con, [LOOPY_EMPTY])
        assert summary.files_read == 1 and summary.tests == 0 and summary.days == set()
        assert count(con, "SELECT count(*) FROM meta.ingested_files WHERE tests = 0") == 1
        assert ingest_files(con, [LOOPY_EMPTY]).files_skipped_duplicate == 1


def test_linkage_found_after_the_first_rows_applies_to_the_whole_file(db_path: Path) -> None:
    case = b'<testcase classname="c" name="t" time="0.1"/>'
    data = (
        b'<testsuites><testsuite name="early">'
        + case * 40_000  # > 1 MB: written before the second suite is read
        + b'</testsuite><testsuite name="late" timestamp="2025-06-01T12:00:00">'
        b'<properties><property name="repository" value="octo/late"/></properties>'
        + case
        + b"</testsuite></testsuites>"
    )
    with connect(db_path) as con:
        ingest_files(con, [("late.xml", data)], batch_rows=1000)
        got = con.execute(
            "SELECT repo, day, count(*) FROM raw.test_results GROUP BY ALL"
        ).fetchall()
    assert got == [("octo/late", date(2025, 6, 1), 40_001)]
