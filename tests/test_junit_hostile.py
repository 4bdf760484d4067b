"""Limits of the parser and the zip reader: streaming under a byte cap, flat memory,
member filtering, total and count caps.

The catalogue of hostile and broken files (entities, DTDs, bombs, zip slip, lying
headers, encodings, truncation...) goes through the real loader in
``tests/reliability/test_hostile.py``; the parser is fuzzed in
``tests/reliability/test_fuzz_parser.py``."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import psutil
import pytest

from pipelines.testresults.archive import ArchiveError, read_members
from pipelines.testresults.junit import JUnitParseError, stream_junit


def test_size_limit_is_checked_while_streaming(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    case = b'<testcase classname="c" name="t" time="0.1"/>'
    path.write_bytes(b'<testsuite name="s">' + case * 50_000 + b"</testsuite>")
    stream = stream_junit("big.xml", path, max_bytes=2_000_000)
    seen = 0
    with pytest.raises(JUnitParseError, match="larger than the 2000000 byte limit"):
        for batch in stream:
            seen += len(batch)
    assert 0 < seen < 50_000  # rows flowed before the limit was hit: it was streamed


def _write_large_report(path: Path, target_bytes: int) -> int:
    """A pytest-shaped report with long failure bodies and captured output."""
    body = ("E   AssertionError: values differ " + "x" * 60 + "\n") * 20
    out = "captured line of output\n" * 40
    cases = 0
    with path.open("w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">')
        written = 0
        while written < target_bytes:
            chunk = []
            for _ in range(1000):
                i = cases
                cases += 1
                head = (
                    f'<testcase classname="tests.test_m{i % 97}.TestK" name="test_{i}" time="0.01"'
                )
                if i % 10 == 0:
                    chunk.append(f'{head}><failure message="boom {i}">{body}</failure></testcase>')
                else:
                    chunk.append(f"{head}><system-out>{out}</system-out></testcase>")
            text = "".join(chunk)
            f.write(text)
            written += len(text)
        f.write("</testsuite></testsuites>")
    return cases


@pytest.mark.slow
def test_a_200_mb_report_streams_with_flat_memory(tmp_path: Path) -> None:
    path = tmp_path / "huge.xml"
    cases = _write_large_report(path, 200 * 1024 * 1024)
    assert path.stat().st_size > 200 * 1024 * 1024
    proc = psutil.Process(os.getpid())
    before = proc.memory_info().rss
    peak = before
    rows = failed = 0
    for batch in stream_junit("huge.xml", path):
        rows += len(batch)
        failed += sum(1 for r in batch if r[1] == "failed")
        peak = max(peak, proc.memory_info().rss)
    assert rows == cases
    assert failed == (cases + 9) // 10
    assert peak - before < 30 * 1024 * 1024, f"RSS grew by {(peak - before) >> 20} MB"


# -- archives -------------------------------------------------------------------


def make_zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


REPORT = b'<testsuite name="s"><testcase classname="c" name="t"/></testsuite>'


def test_zip_members_are_read_in_memory_and_filtered() -> None:
    data = make_zip(
        {
            "a/b/c/report.xml": REPORT,
            "plugin.JSONL": b"{}",
            "notes.txt": b"ignored",
            "folder/": b"",
            "__MACOSX/a/._report.xml": b"junk",
        }
    )
    members = list(read_members("art.zip", data))
    assert [(m.name, m.data, m.error) for m in members] == [
        ("a/b/c/report.xml", REPORT, None),
        ("plugin.JSONL", b"{}", None),
    ]


def test_zip_total_and_count_limits() -> None:
    data = make_zip({f"r{i}.xml": b"x" * 600_000 for i in range(3)})
    with pytest.raises(ArchiveError, match="total size limit") as info:
        list(read_members("many.zip", data, max_total_bytes=1_000_000))
    assert info.value.archive == "many.zip" and info.value.member == "r1.xml"
    with pytest.raises(ArchiveError, match="more than 2"):
        list(read_members("many.zip", data, max_members=2))


def test_a_zip_that_needs_a_newer_zip_version_is_refused_with_its_name() -> None:
    data = bytearray(make_zip({"r.xml": REPORT}))
    central = data.index(b"PK\x01\x02")
    data[central + 6 : central + 8] = (84).to_bytes(2, "little")  # "version needed": 8.4
    with pytest.raises(ArchiveError, match="not a readable zip file") as info:
        list(read_members("future.zip", bytes(data)))
    assert info.value.archive == "future.zip"


def test_a_member_with_an_empty_name_is_passed_over_and_the_rest_are_read() -> None:
    data = make_zip({"r.xml": REPORT, "x": b"?"})
    central = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 4)  # the second entry
    name_length = int.from_bytes(data[central + 28 : central + 30], "little")
    data = (
        data[: central + 28] + b"\x00\x00" + data[central + 30 : central + 46]
        + data[central + 46 + name_length :]
    )  # fmt: skip
    end = data.index(b"PK\x05\x06")
    directory_size = int.from_bytes(data[end + 12 : end + 16], "little") - name_length
    data = data[: end + 12] + directory_size.to_bytes(4, "little") + data[end + 16 :]
    assert [m.name for m in read_members("blank.zip", data)] == ["r.xml"]
