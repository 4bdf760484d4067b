"""Find and download the test-report artifacts of workflow runs.

The repository-wide listing ``/actions/artifacts`` (100 per request, newest
first, each artifact naming its run) is read back to the start of the range,
instead of one listing per run: a day of 700 runs costs a handful of requests,
not 700. Downloads follow GitHub's 302 to a short-lived storage URL without the
token (see :meth:`GitHubClient.download`); an expired artifact answers 410 and
is recorded as such, never asked for again.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from pipelines.github.client import GitHubClient, GitHubError
from pipelines.github.rows import timestamp
from pipelines.testresults.rows import RunContext

MAX_ARCHIVE_BYTES = 256 * 1024 * 1024


def patterns_from(value: str) -> list[str]:
    """``*junit*,*test-results*`` → lower-case glob patterns."""
    return [p.strip().lower() for p in value.split(",") if p.strip()]


def matches(name: str, patterns: Iterable[str]) -> bool:
    """Whether an artifact name matches any pattern (case-insensitive globs)."""
    lowered = name.lower()
    return any(fnmatch.fnmatchcase(lowered, p) for p in patterns)


@dataclass(frozen=True)
class ArtifactRef:
    """One artifact of one run, with what links its reports to the run."""

    repo: str
    artifact_id: int
    name: str
    run_id: int
    head_sha: str | None
    head_branch: str | None
    created_at: datetime | None
    expired: bool
    download_url: str
    size_in_bytes: int = 0  # as listed: what batching downloads by memory goes by

    @property
    def source(self) -> str:
        """The name its files are stored under (``repo/run/artifact.zip``)."""
        return f"{self.repo}/runs/{self.run_id}/artifacts/{self.artifact_id}/{self.name}.zip"


def _ref(repo: str, item: dict[str, Any]) -> ArtifactRef | None:
    run = item.get("workflow_run") or {}
    if not run.get("id"):
        return None
    created = timestamp(item.get("created_at"))
    return ArtifactRef(
        repo=repo,
        artifact_id=int(item["id"]),
        name=str(item.get("name") or ""),
        run_id=int(run["id"]),
        head_sha=run.get("head_sha"),
        head_branch=run.get("head_branch"),
        created_at=datetime.fromisoformat(created) if created else None,
        expired=bool(item.get("expired")),
        download_url=item.get("archive_download_url") or "",
        size_in_bytes=int(item.get("size_in_bytes") or 0),
    )


def list_artifacts(
    client: GitHubClient, repo: str, since: datetime, patterns: list[str]
) -> Iterator[ArtifactRef]:
    """Artifacts of ``repo`` created at or after ``since`` whose names match ``patterns``.

    The listing is newest first, so reading stops at the first page that
    reaches past ``since``: artifacts are uploaded after their run was created.
    """
    for page in client.paginate(f"repos/{repo}/actions/artifacts", conditional=False):
        reached_start = False
        for item in page.data.get("artifacts", []):
            ref = _ref(repo, item)
            if ref is None:
                continue
            if ref.created_at is not None and ref.created_at < since:
                reached_start = True
                continue
            if matches(ref.name, patterns):
                yield ref
        if reached_start:
            return


@dataclass
class Download:
    """The outcome of fetching one artifact."""

    ref: ArtifactRef
    data: bytes | None = None
    status: str = "downloaded"  # downloaded, expired, failed
    detail: str = ""


def download_all(
    client: GitHubClient, refs: list[ArtifactRef], *, concurrency: int
) -> list[Download]:
    """Fetch each artifact's zip, ``concurrency`` at a time; failures are reported, not raised."""

    def one(ref: ArtifactRef) -> Download:
        if ref.expired:
            return Download(ref, status="expired", detail="listed as expired")
        if not ref.download_url:
            return Download(ref, status="failed", detail="listed without a download URL")
        try:
            data = client.download(ref.download_url, max_bytes=MAX_ARCHIVE_BYTES)
        except GitHubError as exc:
            if exc.status == 410:
                return Download(ref, status="expired", detail="410 Gone")
            return Download(ref, status="failed", detail=str(exc))
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # e.g. a bad redirect
            # the type only: the text may quote a signed storage URL
            return Download(ref, status="failed", detail=f"download failed: {type(exc).__name__}")
        return Download(ref, data=data)

    if not refs:
        return []
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="gh-artifact") as pool:
        return list(pool.map(one, refs))


def batches(
    refs: Iterable[ArtifactRef], *, max_count: int, max_bytes: int
) -> Iterator[list[ArtifactRef]]:
    """``refs`` in order (read lazily), cut into batches of at most ``max_count`` artifacts
    and (by their listed sizes) ``max_bytes``; a larger artifact is a batch of its own."""
    batch: list[ArtifactRef] = []
    size = 0
    for ref in refs:
        if batch and (len(batch) >= max_count or size + ref.size_in_bytes > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(ref)
        size += ref.size_in_bytes
    if batch:
        yield batch


def attempt_for(ref: ArtifactRef, attempts: list[tuple[int, datetime | None]]) -> int | None:
    """The attempt that uploaded an artifact: the latest one started before it was created.

    GitHub's artifact objects name the run but not the attempt; attempts of a
    run never overlap, so the upload time places it.
    """
    if not attempts:
        return None
    ordered = sorted(attempts)
    if ref.created_at is None:
        return ordered[-1][0]
    chosen = ordered[0][0]
    for number, started in ordered:
        if started is not None and started <= ref.created_at:
            chosen = number
    return chosen


def context_for(ref: ArtifactRef, run_attempt: int | None, workflow: str | None) -> RunContext:
    """Run linkage of every report inside an artifact (wins over what a report says)."""
    return RunContext(
        repo=ref.repo,
        run_id=ref.run_id,
        run_attempt=run_attempt,
        head_sha=ref.head_sha,
        branch=ref.head_branch,
        workflow=workflow,
    )
