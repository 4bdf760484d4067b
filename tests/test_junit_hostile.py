"""Hostile and broken inputs: the parser and the zip reader refuse them cleanly."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import psutil
import pytest

from pipelines.testresults.archive import ArchiveError, read_members
from pipelines.testresults.junit import JUnitParseError, parse_junit, stream_junit

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<testsuite name="s"><testcase classname="c" name="&lol9;"/></testsuite>
"""


def xxe(target: Path) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file://{target}">]>'
        '<testsuite name="s"><testcase classname="c" name="&x;"/></testsuite>'
    ).encode()


def test_billion_laughs_is_refused_without_expanding() -> None:
    with pytest.raises(JUnitParseError, match="DOCTYPE") as info:
        parse_junit("laughs.xml", BILLION_LAUGHS)
    assert info.value.source == "laughs.xml"


def test_external_entity_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    with pytest.raises(JUnitParseError, match="DOCTYPE") as info:
        parse_junit("xxe.xml", xxe(secret))
    assert "TOP-SECRET" not in str(info.value)


def test_external_dtd_and_parameter_entities_are_refused() -> None:
    docs = [
        b'<?xml version="1.0"?><!DOCTYPE testsuite SYSTEM "http://127.0.0.1:9/x.dtd">'
        b'<testsuite name="s"/>',
        b'<!DOCTYPE t [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p">%p;]><testsuite/>',
    ]
    for doc in docs:
        with pytest.raises(JUnitParseError, match="refused"):
            parse_junit("dtd.xml", doc)


def test_undeclared_entity_is_a_parse_error() -> None:
    with pytest.raises(JUnitParseError, match="undefined entity"):
        parse_junit(
            "e.xml", b'<testsuite name="s"><testcase classname="c" name="&x;"/></testsuite>'
        )


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'<testsuites><testsuite name="s"><testcase classname="c" name="a"/>', "malformed XML"),
        (b'<testsuite name="s"><testcase classname="c" name="a', "malformed XML"),
        (bytes(range(256)) * 40, "malformed XML"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "malformed XML"),
        (b"", "empty file"),
        (b"   \n ", "malformed XML"),
        (b'<?xml version="1.0"?><assemblies><assembly/></assemblies>', "root element"),
        (b"<testsuite><testcase></testsuite>", "malformed XML"),
    ],
    ids=["truncated", "cut-in-tag", "binary", "png", "empty", "blank", "xunit-net", "mismatch"],
)
def test_broken_files_give_a_clear_reason(data: bytes, reason: str) -> None:
    with pytest.raises(JUnitParseError, match=reason) as info:
        parse_junit("bad.xml", data)
    assert str(info.value).startswith("bad.xml: ")


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


def test_zip_slip_names_are_labels_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workdir = tmp_path / "work" / "inner"
    workdir.mkdir(parents=True)
    monkeypatch.chdir(workdir)
    data = make_zip({"../../evil.xml": REPORT, "/etc/abs.xml": REPORT})
    members = list(read_members("slip.zip", data))
    assert [m.name for m in members] == ["../../evil.xml", "/etc/abs.xml"]
    assert not (tmp_path / "evil.xml").exists()
    assert list(tmp_path.rglob("*.xml")) == []


def test_zip_bomb_member_is_cut_off_while_reading() -> None:
    bomb = make_zip({"bomb.xml": b"\0" * (50 * 1024 * 1024), "ok.xml": REPORT})
    assert len(bomb) < 200_000  # a real bomb: tiny on disk
    members = list(read_members("bomb.zip", bomb, max_member_bytes=1024 * 1024))
    assert members[0].name == "bomb.xml" and "larger than 1048576 bytes" in members[0].error
    assert members[1].data == REPORT


def test_zip_lying_header_is_not_trusted() -> None:
    data = bytearray(make_zip({"r.xml": b"<a/>" * 100_000}))
    # Rewrite the declared uncompressed size (central directory) to 4 bytes.
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (4).to_bytes(4, "little")
    lh = data.find(b"PK\x03\x04")
    data[lh + 22 : lh + 26] = (4).to_bytes(4, "little")
    (member,) = list(read_members("liar.zip", bytes(data), max_member_bytes=1000))
    assert member.error is not None  # never returns the 400 kB the header hid
    assert member.data == b""


def test_zip_total_and_count_limits() -> None:
    data = make_zip({f"r{i}.xml": b"x" * 600_000 for i in range(3)})
    with pytest.raises(ArchiveError, match="total size limit") as info:
        list(read_members("many.zip", data, max_total_bytes=1_000_000))
    assert info.value.archive == "many.zip" and info.value.member == "r1.xml"
    with pytest.raises(ArchiveError, match="more than 2"):
        list(read_members("many.zip", data, max_members=2))


def test_broken_zips_name_the_archive_and_member() -> None:
    with pytest.raises(ArchiveError, match=r"^junk\.zip: not a readable zip"):
        list(read_members("junk.zip", b"this is not a zip at all"))
    data = bytearray(make_zip({"good.xml": REPORT, "bad.xml": b"<testsuite/>" * 500}))
    start = data.find(b"bad.xml") + len(b"bad.xml")
    data[start + 10 : start + 30] = b"\xff" * 20  # corrupt the compressed stream
    members = {m.name: m for m in read_members("corrupt.zip", bytes(data))}
    assert members["good.xml"].data == REPORT
    assert members["bad.xml"].error and "cannot be read" in members["bad.xml"].error
