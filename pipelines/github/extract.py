"""Read workflow runs, their earlier attempts and their jobs for a range of days.

The runs listing is filtered by ``created`` windows because GitHub serves at
most 1,000 results of a filtered listing. A window that reports 1,000 or more
runs is narrowed rather than paged: GitHub lists newest first, so the first
page holds the window's newest 100 runs, and the next request asks for the
window up to the oldest ``created_at`` on that page (runs seen twice at that
second are dropped by id). Each request thus brings 100 new runs, with no
probe requests thrown away, and no page past the cap is ever asked for. A
window that answers 422 is split in halves, down to one second.

Only what the store lacks is fetched: earlier attempts already stored are
never read again, and neither are the jobs of runs whose attempts had all
completed when their jobs were read.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pipelines.github.client import GitHubClient, GitHubError
from pipelines.github.rows import job_row, run_row
from pipelines.partitions import day_bounds

log = logging.getLogger(__name__)

LISTING_CAP = 1000
ONE_SECOND = timedelta(seconds=1)


def created_filter(start: datetime, end: datetime) -> str:
    """GitHub's inclusive ``created`` range for naive-UTC ``start`` … ``end``."""
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return f"{start.strftime(fmt)}..{end.strftime(fmt)}"


RunKey = tuple[str, int, int]  # (repo, run_id, run_attempt)


@dataclass
class Listing:
    """What listing a range cost, and the key of every run's latest attempt.

    The rows themselves went to the caller's sink page by page: a month of a
    busy repository is tens of MB as Python dicts, and only the keys are needed
    afterwards (to find the earlier attempts to fetch).
    """

    latest: list[RunKey] = field(default_factory=list)
    windows: int = 0
    split_probes: int = 0
    pages: int = 0
    truncated_windows: list[str] = field(default_factory=list)


def _created(run: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(run["created_at"].replace("Z", "+00:00")).replace(tzinfo=None)


def list_runs(
    client: GitHubClient,
    repo: str,
    first_day: date,
    last_day: date,
    sink: Callable[[list[dict[str, Any]]], None],
) -> Listing:
    """Every run of ``repo`` created on ``first_day`` … ``last_day`` (UTC), deduplicated by
    id, handed to ``sink`` as table rows one page at a time."""
    start, end_exclusive = day_bounds(first_day, last_day)
    listing = Listing()
    seen: set[int] = set()

    def take(page: Any) -> list[dict[str, Any]]:
        listing.pages += 1
        runs = page.data.get("workflow_runs", [])
        rows = []
        for run in runs:
            if run["id"] not in seen:  # also within a page
                seen.add(run["id"])
                row = run_row(repo, run, page.fetched_at)
                rows.append(row)
                listing.latest.append((repo, row["run_id"], row["run_attempt"]))
        sink(rows)
        return runs

    pending: list[tuple[datetime, datetime]] = [(start, end_exclusive - ONE_SECOND)]
    while pending:
        lo, hi = pending.pop()
        window = created_filter(lo, hi)
        pages = client.paginate(f"repos/{repo}/actions/runs", {"created": window})
        try:
            first = next(pages)
        except GitHubError as exc:
            if exc.status == 422 and hi > lo:
                listing.split_probes += 1
                pending.extend(_split(lo, hi, 2))
                continue
            raise
        total = int(first.data.get("total_count", 0))
        listing.windows += 1
        runs = take(first)
        if total < LISTING_CAP or not runs:
            for page in _rest(pages):
                take(page)
            continue
        oldest = min(_created(r) for r in runs)
        if oldest < hi:
            pending.append((lo, oldest))  # the same second again: its unseen runs come next
            continue
        # 100+ runs in the window's last second: read that second alone, then what is below
        if lo < hi:
            pending.append((lo, hi - ONE_SECOND))
            pending.append((hi, hi))
            continue
        for page in _rest(pages):
            take(page)
        listing.truncated_windows.append(window)
        log.error(
            "%s: %d runs were created within one second (%s); GitHub serves only the "
            "first %d of them",
            repo,
            total,
            window,
            LISTING_CAP,
        )
    return listing


def _rest(pages: Iterator[Any]) -> Iterator[Any]:
    """The remaining pages of a listing, stopping quietly at GitHub's result cap (422)."""
    try:
        yield from pages
    except GitHubError as exc:
        if exc.status != 422:
            raise


def _split(lo: datetime, hi: datetime, parts: int) -> list[tuple[datetime, datetime]]:
    """``parts`` consecutive whole-second windows covering ``lo`` … ``hi`` inclusive."""
    seconds = int((hi - lo).total_seconds()) + 1
    parts = max(2, min(parts, seconds))
    bounds = [lo + timedelta(seconds=seconds * i // parts) for i in range(parts + 1)]
    return [(bounds[i], bounds[i + 1] - ONE_SECOND) for i in range(parts)]


def missing_attempts(latest: Iterable[RunKey], stored: set[RunKey]) -> list[RunKey]:
    """Earlier attempts (1 … latest−1) of the listed runs that the store lacks."""
    wanted = []
    for repo, run_id, attempt in latest:
        for n in range(1, int(attempt)):
            key = (repo, int(run_id), n)
            if key not in stored:
                wanted.append(key)
    return wanted


def fetch_attempts(
    client: GitHubClient,
    keys: list[tuple[str, int, int]],
    *,
    concurrency: int,
) -> list[dict[str, Any]]:
    """``/actions/runs/{id}/attempts/{n}`` for each key, ``concurrency`` at a time."""

    def one(key: tuple[str, int, int]) -> dict[str, Any]:
        repo, run_id, n = key
        page = client.get(
            client.url(f"repos/{repo}/actions/runs/{run_id}/attempts/{n}"), conditional=False
        )
        return run_row(repo, page.data, page.fetched_at)

    if not keys:
        return []
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="gh-attempt") as pool:
        return list(pool.map(one, keys))


@dataclass(frozen=True)
class RunForJobs:
    """A stored run whose jobs are needed, with what places its jobs in a partition."""

    repo: str
    run_id: int
    latest_attempt: int
    created_at: str
    completed: bool = False  # every stored attempt completed: this read makes its jobs final

    def jobs_listing(self) -> tuple[str, dict[str, str]]:
        """Path and query of the run's jobs listing (every attempt's jobs)."""
        return f"repos/{self.repo}/actions/runs/{self.run_id}/jobs", {"filter": "all"}


def fetch_jobs(
    client: GitHubClient,
    runs: list[RunForJobs],
    sink: Callable[[list[dict[str, Any]]], None],
    *,
    concurrency: int,
) -> int:
    """Jobs of every attempt of each run (``filter=all``, paginated), handed to ``sink``.

    ``sink`` is called from worker threads with one run's rows at a time, so the
    caller can stream them to disk instead of holding them all.
    """
    lock = threading.Lock()
    count = 0

    def one(run: RunForJobs) -> None:
        nonlocal count
        rows = []
        path, params = run.jobs_listing()
        # Unfinished runs are read again next time: an ETag makes that a free 304.
        for page in client.paginate(path, params, conditional=not run.completed):
            for job in page.data.get("jobs", []):
                rows.append(
                    job_row(
                        run.repo, job, run_created_at=run.created_at, extracted_at=page.fetched_at
                    )
                )
        with lock:
            sink(rows)
            count += len(rows)

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="gh-jobs") as pool:
        _bounded(pool, one, runs, in_flight=4 * concurrency)
    return count


def _bounded(
    pool: ThreadPoolExecutor, fn: Callable[[Any], object], items: Iterable[Any], *, in_flight: int
) -> None:
    """Run ``fn`` on each item in ``pool``, at most ``in_flight`` submitted at a time; the
    first error is raised, in item order.

    ``pool.map`` submits every item at once: a future per run of the whole range, ~100 MB
    for 56,000 runs, while only ``concurrency`` of them run at a time.
    """
    pending: deque[Future] = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= in_flight:
            pending.popleft().result()
    while pending:
        pending.popleft().result()


def fetch_repository(client: GitHubClient, repo: str) -> dict[str, Any]:
    """``/repos/{owner}/{name}``: the default branch the ``default`` filter selects."""
    page = client.get(client.url(f"/repos/{repo}"))
    data = page.data if isinstance(page.data, dict) else {}
    branch = data.get("default_branch")
    url = data.get("html_url")
    return {
        "repo": repo,
        "default_branch": branch if isinstance(branch, str) else None,
        "html_url": url if isinstance(url, str) else None,
        "fetched_at": page.fetched_at,
    }
