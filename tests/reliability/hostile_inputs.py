"""Hostile and broken report files, built as bytes, each with the outcome the loader owes it.

A :class:`Case` names the file it arrives as (the suffix decides how the loader reads
it: ``.xml`` JUnit, ``.zip`` archive, ``.jsonl`` pytest-plugin file), builds its bytes
on demand (some are tens of megabytes), and says for every source the loader reports
(the file itself, or ``file!member`` inside a zip) either the category of reason it
must be quarantined for or the rows it must load. Expected rows come from how each
case was built, never from running the loader.

Zips are written byte by byte by :func:`raw_zip` so that their headers can say
whatever an attacker wants (declared sizes, flags, methods, modes).
"""

import hashlib
import io
import json
import stat
import struct
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

MB = 1 << 20

# Category of a quarantine -> pattern its reason must match (re.search).
REASONS: dict[str, str] = {
    "dtd": r"^DOCTYPE/DTD declarations are refused",
    "malformed": r"^malformed XML \(.+\) at line \d+, column \d+$",
    "undefined-entity": r"^malformed XML \(undefined entity\)",
    "empty": r"^empty file$",
    "root": r"^root element is <[^>]+>, not <testsuites> or <testsuite>$",
    "encoding": r"encoding",
    "token": r"^an XML token \(a tag, comment or processing instruction\) is larger than",
    "zip-unreadable": r"^not a readable zip file \(",
    "zip-members": r"^\d+ members, more than \d+$",
    "member-unreadable": r"^member cannot be read \(",
    "member-too-large": r"^member is larger than \d+ bytes$",
    "encrypted": r"^member cannot be read \(.*encrypted",
    "compression": r"^member cannot be read \(.*compression",
    "symlink": r"^member is a symbolic link",
    "nested-archive": r"^nested archive",
    "json": r", line \d+: not valid JSON \(",
    "json-deep": r", line \d+: nested too deeply",
    "line-too-long": r", line \d+: longer than \d+ bytes$",
    "not-utf8": r": not UTF-8 \(.+ at byte \d+, line \d+\)$",
    "session": r", line 1: expected the plugin's session record$",
}

Row = tuple[str, str, float | None]
"""(test_id, outcome, duration_s) of one loaded row, in file order."""


@dataclass(frozen=True)
class Env:
    """What a builder may point at: a loopback URL that must never be fetched."""

    canary_url: str = "http://127.0.0.1:9/"


@dataclass(frozen=True)
class Case:
    """One hostile file and what the loader must do with it.

    ``quarantined`` and ``loaded`` are keyed by the source's suffix after the file's
    own path: ``""`` for the file itself, ``"!member"`` for a member of a zip.
    """

    name: str
    filename: str
    build: Callable[[Env], bytes]
    tried: str
    quarantined: Mapping[str, str] = field(default_factory=dict)
    loaded: Mapping[str, tuple[Row, ...]] = field(default_factory=dict)
    long_names: Mapping[str, int] = field(default_factory=dict)
    """Loaded sources whose test names were over-long: source -> length of the original."""
    heavy: bool = False
    max_rss_mb: int = 256
    """Generous bound on the loader's peak RSS growth; in-memory zips are bounded by the
    archive size limit instead (the whole archive is held, by design)."""


# -- reports ------------------------------------------------------------------


def report(tag: str, outcomes: tuple[str, ...] = ("passed", "failed", "skipped")) -> bytes:
    """A plain JUnit report whose test names carry ``tag`` (so contents never repeat)."""
    return junit(tag, [(f"test_{i}", o, 0.25 * (i + 1)) for i, o in enumerate(outcomes)])


def report_rows(tag: str, outcomes: tuple[str, ...] = ("passed", "failed", "skipped")) -> tuple:
    return tuple((f"pkg.{tag}::test_{i}", o, 0.25 * (i + 1)) for i, o in enumerate(outcomes))


_CHILD = {"failed": "<failure message='boom'/>", "skipped": "<skipped/>", "error": "<error/>"}


def junit(tag: str, cases: list[tuple[str, str, float | None]], *, time_attrs=None) -> bytes:
    """``<testsuite>`` with one ``<testcase classname="pkg.{tag}">`` per (name, outcome, time)."""
    out = [f'<?xml version="1.0" encoding="utf-8"?>\n<testsuite name="{tag}">']
    for name, outcome, seconds in cases:
        time = "" if seconds is None else f' time="{seconds!r}"'
        body = _CHILD.get(outcome, "")
        out.append(f'<testcase classname="pkg.{tag}" name="{name}"{time}>{body}</testcase>')
    out.append("</testsuite>\n")
    return "\n".join(out).encode()


def one_case(tag: str, inner: bytes = b"", attrs: bytes = b"") -> bytes:
    """A report with a single passing testcase ``pkg.{tag}::t`` around ``inner``."""
    return (
        b'<testsuite name="s"><testcase classname="pkg.'
        + tag.encode()
        + b'" name="t"'
        + attrs
        + b">"
        + inner
        + b"</testcase></testsuite>"
    )


def one_row(tag: str) -> tuple[Row, ...]:
    return ((f"pkg.{tag}::t", "passed", None),)


# -- zips -----------------------------------------------------------------------


@dataclass
class Entry:
    """One zip member exactly as its headers will state it."""

    name: str
    payload: bytes  # the bytes stored (already compressed when method is 8)
    crc: int
    usize: int  # declared uncompressed size
    method: int = 0
    flags: int = 0
    mode: int = 0o100644
    csize: int | None = None  # declared compressed size (default: the payload's length)


def stored(name: str, data: bytes, **kw) -> Entry:
    return Entry(name, data, zlib.crc32(data), len(data), **kw)


def deflated(name: str, data: bytes, **kw) -> Entry:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return Entry(name, c.compress(data) + c.flush(), zlib.crc32(data), len(data), method=8, **kw)


def raw_zip(entries: list[Entry]) -> bytes:
    """A zip whose local headers and central directory say exactly what ``entries`` say."""
    out = io.BytesIO()
    central = []
    dos_time, dos_date = 0x6000, 0x5842  # 2024-02-02 12:00
    for e in entries:
        name = e.name.encode("utf-8")
        flags = e.flags | 0x800  # names are UTF-8
        csize = len(e.payload) if e.csize is None else e.csize
        offset = out.tell()
        out.write(
            struct.pack(
                "<4s5H3L2H",
                b"PK\x03\x04",
                20,
                flags,
                e.method,
                dos_time,
                dos_date,
                e.crc,
                csize,
                e.usize,
                len(name),
                0,
            )
        )
        out.write(name + e.payload)
        central.append(
            struct.pack(
                "<4s6H3L5H2L",
                b"PK\x01\x02",
                (3 << 8) | 20,
                20,
                flags,
                e.method,
                dos_time,
                dos_date,
                e.crc,
                csize,
                e.usize,
                len(name),
                0,
                0,
                0,
                0,
                e.mode << 16,
                offset,
            )
            + name
        )
    cd_offset = out.tell()
    cd = b"".join(central)
    out.write(cd)
    n = len(entries)
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, len(cd), cd_offset, 0))
    return out.getvalue()


def zipped(members: dict[str, bytes]) -> bytes:
    return raw_zip([deflated(name, data) for name, data in members.items()])


def zero_bomb(name: str, megabytes: int) -> Entry:
    """``megabytes`` MB of zeros as ~1 kB of deflate per MB (ratio ~1000:1).

    Built from one compressed megabyte repeated: after a full flush the compressor
    starts afresh, so every further megabyte compresses to the same bytes.
    """
    zeros = bytes(MB)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    payload = first + again * (megabytes - 1) + c.flush()
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(zeros, crc)
    return Entry(name, payload, crc, megabytes * MB, method=8)


def _cd_field(data: bytes, index: int, offset: int, fmt: str, value: int) -> bytes:
    """``data`` with field ``offset`` of the ``index``-th central directory record replaced."""
    buf = bytearray(data)
    pos = -1
    for _ in range(index + 1):
        pos = buf.index(b"PK\x01\x02", pos + 1)
    struct.pack_into(fmt, buf, pos + offset, value)
    return bytes(buf)


# -- plugin files ---------------------------------------------------------------

SESSION = {"type": "session", "schema": 1, "start": "2025-05-06T07:08:09Z", "context": {}}


def plugin_test(name: str, outcome: str = "passed", durations=None) -> dict:
    record = {"type": "test", "file": "tests/test_h.py", "name": name, "outcome": outcome}
    if durations is not None:
        record["durations"] = durations
    return record


def plugin_file(*tests: dict, newline: str = "\n", bom: bool = False) -> bytes:
    lines = [json.dumps(SESSION), *(json.dumps(t) for t in tests)]
    data = newline.join(lines).encode()
    return (b"\xef\xbb\xbf" if bom else b"") + data


def plugin_id(name: str) -> str:
    """pytest's JUnit id of a test ``name`` in ``tests/test_h.py`` (no class)."""
    return f"tests.test_h::{name}"


# -- the cases --------------------------------------------------------------------

MAX_DURATION_S = timedelta(days=35).total_seconds()
"""The longest duration kept (GitHub cancels a workflow run after 35 days)."""


def _laughs() -> bytes:
    levels = [' <!ENTITY lol0 "lol">']
    for i in range(1, 10):
        levels.append(f' <!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">')
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n' + "\n".join(levels) + "\n]>\n"
        '<testsuite name="s"><testcase classname="c" name="&lol9;"/></testsuite>\n'
    ).encode()


LAUGHS = _laughs()

QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "'
    + b"A" * 100_000
    + b'">]><testsuite name="s"><testcase classname="c" name="t"><failure>'
    + b"&a;" * 100_000
    + b"</failure></testcase></testsuite>"
)


def _xxe(target: str) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "{target}">]>'
        '<testsuite name="s"><testcase classname="c" name="&x;"/></testsuite>'
    ).encode()


def _deep(depth: int) -> bytes:
    return one_case("deep", b"<a>" * depth + b"x" + b"</a>" * depth)


def _many_attrs(count: int) -> bytes:
    return one_case("attrs", attrs=b"".join(b' a%d="v"' % i for i in range(count)))


ABSURD_TIMES: list[tuple[str, float | None]] = [
    ("NaN", None),
    ("nan", None),
    ("inf", None),
    ("-Infinity", None),
    ("-1", None),
    ("1e308", None),
    ("1" * 400, None),  # a 400-digit number: inf as a float
    ("1e-320", 1e-320),  # subnormal but a fine duration
    ("0", 0.0),
    ("3024000", MAX_DURATION_S),  # exactly 35 days: kept
    ("3024000.5", None),
    ("12.5", 12.5),
    ("0x10", None),
    ("", None),
]


def _absurd_times() -> bytes:
    parts = [b'<testsuite name="s">']
    for i, (text, _) in enumerate(ABSURD_TIMES):
        parts.append(b'<testcase classname="pkg.times" name="t%d" time="%s"/>' % (i, text.encode()))
    parts.append(b"</testsuite>")
    return b"".join(parts)


def _bom_crlf(encoding: str) -> bytes:
    text = report("bom" + encoding.replace("-", "")).decode().replace('encoding="utf-8"', "")
    text = text.replace("\n", "\r\n")
    return {
        "utf-8-sig": text.encode("utf-8-sig"),
        "utf-16-le": b"\xff\xfe" + text.encode("utf-16-le"),
        "utf-16-be": b"\xfe\xff" + text.encode("utf-16-be"),
    }[encoding]


LONG = 100_000


def _long_names() -> bytes:
    names = [b"n" * LONG, b"n" * (LONG - 1) + b"m"]  # same 1,000-char prefix, different ends
    return (
        b'<testsuite name="s">'
        + b"".join(b'<testcase classname="pkg.long" name="%s"/>' % n for n in names)
        + b"</testsuite>"
    )


def _plugin_deep() -> bytes:
    return json.dumps(SESSION).encode() + b"\n" + b"[" * 100_000 + b"]" * 100_000 + b"\n"


def _plugin_huge_line() -> bytes:
    return plugin_file(plugin_test("x" * (20 * MB)))


def _tiny_members(count: int) -> bytes:
    return raw_zip([stored(f"r/{i}.xml", b"") for i in range(count)])


def _encrypted() -> bytes:
    good = report("zipenc-ok")
    secret = deflated("secret.xml", report("zipenc-secret"), flags=0x1)
    return raw_zip([secret, deflated("ok.xml", good)])


def _symlink() -> bytes:
    return raw_zip(
        [
            stored("link.xml", b"/etc/passwd", mode=stat.S_IFLNK | 0o777),
            deflated("real.xml", report("zipsym")),
        ]
    )


def _declared_2gb() -> bytes:
    # A small real report whose headers claim 2 GiB uncompressed, and a second member
    # that also claims 2 GiB: 4 GiB declared in all, a few hundred bytes real.
    data = raw_zip([deflated("a.xml", report("zip2g-a")), deflated("b.xml", report("zip2g-b"))])
    two_gib = 2 * 1024 * MB - 1
    for index in (0, 1):
        data = _cd_field(data, index, 24, "<L", two_gib)
    buf = bytearray(data)
    pos = -1
    for _ in range(2):
        pos = buf.index(b"PK\x03\x04", pos + 1)
        struct.pack_into("<L", buf, pos + 22, two_gib)
    return bytes(buf)


def _size_lie() -> bytes:
    # The member says it holds 4 bytes; it holds 400 kB: reading stops at the claim
    # and the CRC of what was read cannot match.
    body = b"<testsuite>" + b"<a/>" * 100_000 + b"</testsuite>"
    entry = deflated("liar.xml", body)
    entry.usize = 4
    return raw_zip([entry, deflated("ok.xml", report("zipliar"))])


def _truncated_cd() -> bytes:
    data = zipped({"a.xml": report("zipcut-a"), "b.xml": report("zipcut-b")})
    cd = data.index(b"PK\x01\x02")
    return data[: cd + 30]  # the central directory stops mid-record, no end record


def _cd_points_nowhere() -> bytes:
    data = zipped({"a.xml": report("zipoff")})
    buf = bytearray(data)
    eocd = buf.rindex(b"PK\x05\x06")
    struct.pack_into("<L", buf, eocd + 16, len(buf) + 1000)  # central directory offset
    return bytes(buf)


def _corrupt_stream() -> bytes:
    bad = deflated("bad.xml", report("zipcorrupt-bad") * 20)
    bad.payload = bad.payload[:10] + b"\xff" * 20 + bad.payload[30:]
    return raw_zip([bad, deflated("good.xml", report("zipcorrupt-good"))])


def _unsupported_method() -> bytes:
    data = report("zipmethod")
    return raw_zip(
        [
            Entry("aes.xml", data, zlib.crc32(data), len(data), method=99),
            stored("ok.xml", report("zipmethod-ok")),
        ]
    )


def _nested() -> bytes:
    inner = zipped({"report.xml": report("zipnested-inner")})
    return zipped({"inner.zip": inner, "outer.xml": report("zipnested-outer")})


def _mixed() -> bytes:
    return zipped(
        {
            "good.xml": report("zipmixed"),
            "laughs.xml": LAUGHS.replace(b'name="s"', b'name="zipped"'),
            "png.xml": b"\x89PNG\r\n\x1a\n" + bytes(64),
            "notes.txt": b"not a report: skipped",
            "plugin.jsonl": b"{not json",
        }
    )


def _slip() -> bytes:
    return zipped(
        {
            "../../etc/x.xml": report("zipslip-up"),
            "/etc/abs.xml": report("zipslip-abs"),
            "..\\..\\win.xml": report("zipslip-win"),
        }
    )


def _bad_name() -> bytes:
    data = zipped({"ok.xml": report("zipname")})
    # flag the names as UTF-8, then make the name bytes invalid UTF-8
    return data.replace(b"ok.xml", b"\xff\xfe.xml")


BOMB_MB = 600


def _bomb() -> bytes:
    return raw_zip([zero_bomb("bomb.xml", BOMB_MB), deflated("ok.xml", report("zipbomb"))])


def cases() -> list[Case]:
    """Every hostile case, in a stable order."""
    q = lambda category: {"": category}  # noqa: E731  (the file itself is quarantined)
    return [
        # -- entities and DTDs: refused before anything is declared or fetched -----
        Case(
            "xxe-file",
            "xxe-file.xml",
            lambda env: _xxe("file:///etc/passwd"),
            "external entity reading /etc/passwd",
            q("dtd"),
        ),
        Case(
            "xxe-http",
            "xxe-http.xml",
            lambda env: _xxe(env.canary_url + "xxe"),
            "external entity fetching a loopback URL",
            q("dtd"),
        ),
        Case(
            "external-dtd",
            "dtd.xml",
            lambda env: (
                b'<?xml version="1.0"?><!DOCTYPE testsuite SYSTEM "'
                + env.canary_url.encode()
                + b'x.dtd"><testsuite name="s"/>'
            ),
            "external DTD on a loopback URL",
            q("dtd"),
        ),
        Case(
            "parameter-entity",
            "pe.xml",
            lambda env: (
                b'<!DOCTYPE t [<!ENTITY % p SYSTEM "'
                + env.canary_url.encode()
                + b'p">%p;]><testsuite/>'
            ),
            "external parameter entity",
            q("dtd"),
        ),
        Case(
            "billion-laughs",
            "laughs.xml",
            lambda env: LAUGHS,
            "nine levels of ten-fold entity expansion (10^9 'lol')",
            q("dtd"),
        ),
        Case(
            "quadratic-blowup",
            "quadratic.xml",
            lambda env: QUADRATIC,
            "a 100 kB entity referenced 100,000 times (10 GB expanded)",
            q("dtd"),
        ),
        Case(
            "undeclared-entity",
            "undeclared.xml",
            lambda env: one_case("ent", b"&nope;"),
            "reference to an undeclared entity",
            q("undefined-entity"),
        ),
        # -- structure ---------------------------------------------------------------
        Case(
            "deep-nesting",
            "deep.xml",
            lambda env: _deep(100_000),
            "100,000 nested elements inside a testcase",
            loaded={"": one_row("deep")},
        ),
        Case(
            "deep-unclosed",
            "deep-open.xml",
            lambda env: b'<testsuite name="s">' + b"<a>" * 1_000_000,
            "1,000,000 nested elements, never closed",
            q("malformed"),
        ),
        Case(
            "huge-attribute",
            "huge-attr.xml",
            lambda env: one_case("big", attrs=b' message="' + b"x" * (50 * MB) + b'"'),
            "one 50 MB attribute value",
            q("token"),
            heavy=True,
        ),
        Case(
            "huge-comment",
            "huge-comment.xml",
            lambda env: b"<testsuite><!--" + b"c" * (20 * MB) + b"--></testsuite>",
            "one 20 MB comment",
            q("token"),
            heavy=True,
        ),
        Case(
            "many-attributes",
            "many-attrs.xml",
            lambda env: _many_attrs(100_000),
            "100,000 attributes on one testcase",
            loaded={"": one_row("attrs")},
        ),
        Case(
            "long-names",
            "long-names.xml",
            lambda env: _long_names(),
            f"two test names of {LONG:,} characters sharing their first 99,999",
            loaded={"": (("pkg.long::?", "passed", None),) * 2},
            long_names={"": LONG},
        ),
        Case(
            "huge-failure-text",
            "huge-text.xml",
            lambda env: one_case(
                "text",
                b"<failure>first line\n"
                + b"y" * (30 * MB)
                + b"</failure><system-out>"
                + b"o" * (30 * MB)
                + b"</system-out>",
            ),
            "a 30 MB failure body and 30 MB of captured output",
            loaded={"": (("pkg.text::t", "failed", None),)},
            heavy=True,
        ),
        Case(
            "truncated",
            "truncated.xml",
            lambda env: report("trunc")[:-40],
            "a report cut off mid-element",
            q("malformed"),
        ),
        Case(
            "cut-in-attribute",
            "cut-attr.xml",
            lambda env: b'<testsuite name="s"><testcase classname="c" name="a',
            "a report cut off inside an attribute value",
            q("malformed"),
        ),
        Case(
            "mismatched-tag",
            "mismatch.xml",
            lambda env: b'<testsuite name="s"><testcase classname="c" name="a"></testsuite>',
            "a testcase closed by </testsuite>",
            q("malformed"),
        ),
        Case(
            "junk-after-root",
            "junk.xml",
            lambda env: report("junk") + b"<testsuite/>",
            "a second root element",
            q("malformed"),
        ),
        Case(
            "wrong-root",
            "html.xml",
            lambda env: b"<html><body>404</body></html>",
            "an HTML error page saved as a report",
            q("root"),
        ),
        # -- bytes -------------------------------------------------------------------
        Case(
            "invalid-utf8",
            "bad-utf8.xml",
            lambda env: one_case("u", attrs=b' message="caf\xc3\x28 \xff\xfe"'),
            "invalid UTF-8 in an attribute",
            q("malformed"),
        ),
        Case(
            "nul-bytes",
            "nul.xml",
            lambda env: one_case("nul", b"a\x00b"),
            "NUL bytes in text",
            q("malformed"),
        ),
        Case(
            "png",
            "image.xml",
            lambda env: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(512),
            "a PNG saved with an .xml name",
            q("malformed"),
        ),
        Case(
            "random-binary",
            "random.xml",
            lambda env: hashlib.shake_256(b"hostile").digest(64 * 1024),
            "64 kB of pseudo-random bytes",
            q("malformed"),
        ),
        Case("empty", "empty.xml", lambda env: b"", "an empty file", q("empty")),
        Case(
            "whitespace",
            "blank.xml",
            lambda env: b" \r\n\t" * 1000,
            "only whitespace",
            q("malformed"),
        ),
        # -- encodings ---------------------------------------------------------------
        Case(
            "encoding-lie",
            "lie.xml",
            lambda env: report("lie").replace(b'encoding="utf-8"', b'encoding="UTF-16"'),
            "declares UTF-16, is UTF-8",
            q("encoding"),
        ),
        Case(
            "unknown-encoding",
            "klingon.xml",
            lambda env: report("kl").replace(b'encoding="utf-8"', b'encoding="x-klingon"'),
            "declares an encoding nobody knows",
            q("encoding"),
        ),
        Case(
            "multibyte-encoding",
            "sjis.xml",
            lambda env: report("sj").replace(b'encoding="utf-8"', b'encoding="shift_jis"'),
            "declares a multi-byte encoding expat cannot be taught",
            q("encoding"),
        ),
        Case(
            "codec-not-text",
            "rot.xml",
            lambda env: report("hx").replace(b'encoding="utf-8"', b'encoding="hex"'),
            "declares a Python codec that is not a text encoding",
            q("encoding"),
        ),
        Case(
            "utf8-bom-crlf",
            "bom-utf8.xml",
            lambda env: _bom_crlf("utf-8-sig"),
            "UTF-8 with a byte-order mark and CRLF line ends",
            loaded={"": report_rows("bomutf8sig")},
        ),
        Case(
            "utf16le-bom-crlf",
            "bom-utf16le.xml",
            lambda env: _bom_crlf("utf-16-le"),
            "UTF-16LE with a byte-order mark and CRLF line ends",
            loaded={"": report_rows("bomutf16le")},
        ),
        Case(
            "utf16be-bom-crlf",
            "bom-utf16be.xml",
            lambda env: _bom_crlf("utf-16-be"),
            "UTF-16BE with a byte-order mark and CRLF line ends",
            loaded={"": report_rows("bomutf16be")},
        ),
        # -- values ------------------------------------------------------------------
        Case(
            "absurd-times",
            "times.xml",
            lambda env: _absurd_times(),
            "time=NaN, inf, -1, 1e308, a 400-digit number, hex, over 35 days",
            loaded={
                "": tuple(
                    (f"pkg.times::t{i}", "passed", want) for i, (_, want) in enumerate(ABSURD_TIMES)
                )
            },
        ),
        # -- zips ------------------------------------------------------------------------
        Case(
            "zip-declared-2gb",
            "declared.zip",
            lambda env: _declared_2gb(),
            "central directory and local headers declare 2 GiB per member",
            loaded={"!a.xml": report_rows("zip2g-a"), "!b.xml": report_rows("zip2g-b")},
        ),
        Case(
            "zip-size-lie",
            "liar.zip",
            lambda env: _size_lie(),
            "a member declaring 4 bytes that inflates to 400 kB",
            quarantined={"!liar.xml": "member-unreadable"},
            loaded={"!ok.xml": report_rows("zipliar")},
        ),
        Case(
            "zip-bomb",
            "bomb.zip",
            lambda env: _bomb(),
            f"{BOMB_MB} MB of zeros deflated ~1000:1 into 0.6 MB, next to a good member",
            quarantined={"!bomb.xml": "member-too-large"},
            loaded={"!ok.xml": report_rows("zipbomb")},
            heavy=True,
            max_rss_mb=512 + 256,
        ),
        Case(
            "zip-nested",
            "nested.zip",
            lambda env: _nested(),
            "a zip inside the zip",
            quarantined={"!inner.zip": "nested-archive"},
            loaded={"!outer.xml": report_rows("zipnested-outer")},
        ),
        Case(
            "zip-slip",
            "slip.zip",
            lambda env: _slip(),
            "members named ../../etc/x.xml, /etc/abs.xml and ..\\..\\win.xml",
            loaded={
                "!../../etc/x.xml": report_rows("zipslip-up"),
                "!/etc/abs.xml": report_rows("zipslip-abs"),
                "!..\\..\\win.xml": report_rows("zipslip-win"),
            },
        ),
        Case(
            "zip-symlink",
            "symlink.zip",
            lambda env: _symlink(),
            "a member whose mode is S_IFLNK pointing at /etc/passwd",
            quarantined={"!link.xml": "symlink"},
            loaded={"!real.xml": report_rows("zipsym")},
        ),
        Case(
            "zip-truncated-cd",
            "cut.zip",
            lambda env: _truncated_cd(),
            "central directory cut mid-record, no end record",
            q("zip-unreadable"),
        ),
        Case(
            "zip-cd-offset",
            "offset.zip",
            lambda env: _cd_points_nowhere(),
            "end record pointing past the end of the file (members then sit before it)",
            quarantined={"!a.xml": "member-unreadable"},
        ),
        Case(
            "zip-not-a-zip",
            "fake.zip",
            lambda env: report("fakezip"),
            "a JUnit report named .zip",
            q("zip-unreadable"),
        ),
        Case(
            "zip-bad-name",
            "badname.zip",
            lambda env: _bad_name(),
            "a member name flagged UTF-8 that is not",
            q("zip-unreadable"),
        ),
        Case(
            "zip-encrypted",
            "encrypted.zip",
            lambda env: _encrypted(),
            "a member flagged as encrypted",
            quarantined={"!secret.xml": "encrypted"},
            loaded={"!ok.xml": report_rows("zipenc-ok")},
        ),
        Case(
            "zip-unknown-method",
            "method.zip",
            lambda env: _unsupported_method(),
            "a member compressed with method 99 (AES)",
            quarantined={"!aes.xml": "compression"},
            loaded={"!ok.xml": report_rows("zipmethod-ok")},
        ),
        Case(
            "zip-corrupt-stream",
            "corrupt.zip",
            lambda env: _corrupt_stream(),
            "a deflate stream with 20 bytes overwritten",
            quarantined={"!bad.xml": "member-unreadable"},
            loaded={"!good.xml": report_rows("zipcorrupt-good")},
        ),
        Case(
            "zip-too-many-members",
            "many.zip",
            lambda env: _tiny_members(10_001),
            "10,001 empty members",
            q("zip-members"),
        ),
        Case(
            "zip-mixed",
            "mixed.zip",
            lambda env: _mixed(),
            "a good report next to billion laughs, a PNG and a broken plugin file",
            quarantined={"!laughs.xml": "dtd", "!png.xml": "malformed", "!plugin.jsonl": "json"},
            loaded={"!good.xml": report_rows("zipmixed")},
        ),
        # -- pytest plugin files ---------------------------------------------------------
        Case(
            "plugin-invalid-json",
            "bad.jsonl",
            lambda env: plugin_file(plugin_test("a")) + b'\n{"type": "test", oops}\n',
            "a JSON Lines file whose third line is not JSON",
            q("json"),
        ),
        Case(
            "plugin-huge-line",
            "huge.jsonl",
            lambda env: _plugin_huge_line(),
            "a 20 MB line (one test name)",
            q("line-too-long"),
            heavy=True,
        ),
        Case(
            "plugin-deep-json",
            "deep.jsonl",
            lambda env: _plugin_deep(),
            "a line of 100,000 nested arrays",
            q("json-deep"),
        ),
        Case(
            "plugin-not-utf8",
            "latin1.jsonl",
            lambda env: plugin_file(plugin_test("caf\u00e9")).replace(b"\\u00e9", b"\xe9"),
            "a line in Latin-1",
            q("not-utf8"),
        ),
        Case(
            "plugin-binary",
            "binary.jsonl",
            lambda env: b"\x00\x01\x02PK\x03\x04" * 100,
            "binary bytes named .jsonl",
            q("json"),
        ),
        Case(
            "plugin-huge-integer",
            "digits.jsonl",
            lambda env: (
                plugin_file(plugin_test("a")) + b'\n{"type": "test", "n": ' + b"7" * 5000 + b"}\n"
            ),
            "a 5,000-digit integer (beyond Python's int conversion limit)",
            q("json"),
        ),
        Case(
            "plugin-no-session",
            "nosession.jsonl",
            lambda env: json.dumps(plugin_test("a")).encode(),
            "a test record without the session record",
            q("session"),
        ),
        Case(
            "plugin-absurd-durations",
            "durations.jsonl",
            lambda env: plugin_file(
                plugin_test("nan", durations={"call": float("nan")}),
                plugin_test("inf", durations={"call": float("inf")}),
                plugin_test("neg", durations={"setup": 0.5, "call": -2.0}),
                plugin_test("huge", durations={"call": 1e308, "teardown": 1e308}),
                plugin_test("digits", durations={"call": 10**400}),
                plugin_test("ok", durations={"setup": 0.25, "call": 0.5}),
            ),
            "durations NaN, Infinity, negative, 2e308 and a 401-digit integer",
            loaded={
                "": tuple(
                    (plugin_id(n), "passed", d)
                    for n, d in [
                        ("nan", None),
                        ("inf", None),
                        ("neg", None),
                        ("huge", None),
                        ("digits", None),
                        ("ok", 0.75),
                    ]
                )
            },
        ),
        Case(
            "plugin-bom-crlf",
            "bom.jsonl",
            lambda env: (
                plugin_file(
                    plugin_test("bom_a"), plugin_test("bom_b", "failed"), newline="\r\n", bom=True
                )
                + b"\r\n"
            ),
            "a plugin file with a UTF-8 byte-order mark and CRLF line ends",
            loaded={
                "": ((plugin_id("bom_a"), "passed", None), (plugin_id("bom_b"), "failed", None))
            },
        ),
    ]
