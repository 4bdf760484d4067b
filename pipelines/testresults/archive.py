"""Read test reports out of a zip (a CI artifact) in memory, refusing zip bombs.

Nothing is extracted to disk and member names are only ever labels, so a
``../../etc/passwd`` member cannot write anywhere (zip slip). Sizes are
counted on the bytes actually decompressed, never taken from the headers,
which an attacker controls. Symbolic links are never followed and zips inside
the zip are not opened: each is reported as a member that cannot be read.
"""

from __future__ import annotations

import io
import lzma
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

REPORT_SUFFIXES = (".xml", ".json", ".jsonl")
ARCHIVE_SUFFIXES = (".zip",)
MAX_MEMBERS = 10_000
MAX_MEMBER_BYTES = 512 * 1024 * 1024
MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024
_READ_BYTES = 1 << 20


class ArchiveError(ValueError):
    """An archive (or one member of it) that cannot be read safely."""

    def __init__(self, archive: str, reason: str, member: str | None = None) -> None:
        where = f"{archive}!{member}" if member else archive
        super().__init__(f"{where}: {reason}")
        self.archive = archive
        self.member = member
        self.reason = reason


@dataclass(frozen=True)
class Member:
    """One report file read from an archive."""

    name: str  # the member's name inside the archive: a label, never a path
    data: bytes
    modified: datetime | None
    error: str | None = None  # why this member alone could not be read (data is empty)


def is_report_name(name: str) -> bool:
    """Whether a member name looks like a report we read (by suffix, case-insensitive)."""
    return name.lower().endswith(REPORT_SUFFIXES)


def read_members(
    archive: str,
    data: bytes | str | Path,
    *,
    max_members: int = MAX_MEMBERS,
    max_member_bytes: int = MAX_MEMBER_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> Iterator[Member]:
    """Yield the report members of a zip (``.xml``, ``.json``, ``.jsonl``) in archive order.

    ``archive`` names the zip in errors. Raises ArchiveError for a broken zip,
    too many members or a total size over the limit; a member that alone is
    unreadable or too large is yielded with ``error`` set so the rest still count.
    """
    fileobj = io.BytesIO(data) if isinstance(data, bytes | bytearray) else open(data, "rb")
    try:
        try:
            zf = zipfile.ZipFile(fileobj)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
            # NotImplementedError: the directory asks for a zip version this reader lacks
            raise ArchiveError(archive, f"not a readable zip file ({exc})") from None
        with zf:
            infos = zf.infolist()
            if len(infos) > max_members:
                raise ArchiveError(archive, f"{len(infos)} members, more than {max_members}")
            total = 0
            for info in infos:
                nested = info.filename.lower().endswith(ARCHIVE_SUFFIXES)
                # endswith, not is_dir(): a hostile directory may hold an empty name
                if info.filename.endswith("/") or not (nested or is_report_name(info.filename)):
                    continue
                if PurePosixPath(info.filename.replace("\\", "/")).name.startswith("._"):
                    continue  # macOS resource forks: metadata, not reports
                try:
                    modified: datetime | None = datetime(*info.date_time)
                except ValueError:
                    modified = None
                refused = _refusal(info, nested)
                if refused is not None:
                    yield Member(info.filename, b"", modified, error=refused)
                    continue
                try:
                    body = _read_member(
                        archive, zf, info, max_member_bytes, max_total_bytes - total
                    )
                except _MemberError as exc:
                    yield Member(info.filename, b"", modified, error=str(exc))
                    continue
                total += len(body)
                yield Member(info.filename, body, modified)
    finally:
        fileobj.close()


def _refusal(info: zipfile.ZipInfo, nested: bool) -> str | None:
    """Why a member is not read at all, from its name and mode alone."""
    if nested:
        return "nested archive: archives inside an archive are not opened"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "member is a symbolic link: links are not followed"
    return None


class _MemberError(Exception):
    """One member is unreadable; the archive's other members are still fine."""


def _read_member(
    archive: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, total_left: int
) -> bytes:
    name = info.filename
    parts: list[bytes] = []
    size = 0
    try:
        with zf.open(info) as member:
            while True:
                chunk = member.read(_READ_BYTES)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise _MemberError(f"member is larger than {limit} bytes")
                if size > total_left:
                    raise ArchiveError(archive, "archive expands beyond the total size limit", name)
                parts.append(chunk)
    except (ArchiveError, _MemberError):
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        ValueError,
        NotImplementedError,  # unsupported compression method
        RuntimeError,  # encrypted member
        zlib.error,  # a corrupt deflate stream
        lzma.LZMAError,
    ) as exc:
        raise _MemberError(f"member cannot be read ({exc})") from None
    return b"".join(parts)
