"""The GitHub runs sensor: re-run the pipeline for the days whose runs just completed.

Each tick asks every repository for its newest page of completed runs with the ETag
of the last answer, so a quiet repository costs one 304 (which GitHub does not count
against the rate limit). Runs updated since the cursor name the days to refresh; the
sensor asks for one ranged run of the whole graph over them, keyed by what changed,
so a repeated tick never launches the same run twice.

Partitions are complete UTC days, so a run created today waits in the cursor until
its day closes; re-runs and late completions of past days go out at once. Runs older
than the newest page are left to the daily schedule's lookback and the weekly re-read.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime

from dagster import (
    DailyPartitionsDefinition,
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from pipelines.github.client import CachedResponse, GitHubError
from pipelines.jobs import daily_pipeline_job
from pipelines.partitions import range_tags
from pipelines.resources import GitHubAPI


@dataclass
class PollCursor:
    """Per repository: the ETag of its last answer and ``updated_at`` by run id on it;
    plus days with new runs that are not complete partitions yet.

    Runs are compared by id and ``updated_at`` rather than against the newest time seen,
    so a re-run of an older run counts, whatever the clocks say."""

    etags: dict[str, str] = field(default_factory=dict)
    seen: dict[str, dict[str, str]] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, raw: str | None) -> "PollCursor":
        data = json.loads(raw) if raw else {}
        return cls(data.get("etags", {}), data.get("seen", {}), data.get("pending", []))

    def dump(self) -> str:
        return json.dumps(
            {"etags": self.etags, "seen": self.seen, "pending": sorted(set(self.pending))},
            sort_keys=True,
        )


class _EtagCache:
    """The client's response cache, holding only ETags: a 304 needs no stored body."""

    def __init__(self, etags: dict[str, str]) -> None:
        self.etags = etags

    def get(self, url: str) -> CachedResponse | None:
        etag = self.etags.get(url)
        return CachedResponse(etag, None, b"null", datetime.min) if etag else None

    def put(self, url: str, response: CachedResponse) -> None:
        self.etags[url] = response.etag


def poll_runs(github: GitHubAPI, cursor: PollCursor) -> tuple[PollCursor, list[dict]]:
    """Ask each repository for its newest completed runs; return the new cursor and the
    runs updated since the old one."""
    etags, seen = dict(cursor.etags), dict(cursor.seen)
    changed: list[dict] = []
    with github.client(_EtagCache(etags), max_rate_limit_wait_s=0) as client:
        for repo in github.repo_list():
            url = client.listing_url(f"/repos/{repo}/actions/runs", {"status": "completed"})
            page = client.get(url)
            if page.not_modified:
                continue
            runs = page.data.get("workflow_runs", [])
            before = seen.get(repo, {})
            changed += [r for r in runs if before.get(str(r["id"])) != r["updated_at"]]
            seen[repo] = {str(r["id"]): r["updated_at"] for r in runs}
    return PollCursor(etags, seen), changed  # pending days are the caller's to plan


def plan_run(
    days: set[str], first_partition: date, last_partition: date
) -> tuple[RunRequest | None, list[str]]:
    """One ranged run over the days that are partitions already; the rest stay pending."""
    start = first_partition.isoformat()
    ready = sorted(d for d in days if start <= d <= last_partition.isoformat())
    later = sorted(d for d in days if d > last_partition.isoformat())
    if not ready:
        return None, later
    first, last = date.fromisoformat(ready[0]), date.fromisoformat(ready[-1])
    key = hashlib.sha256(",".join(ready).encode()).hexdigest()[:12]
    return RunRequest(run_key=f"runs:{first}..{last}:{key}", tags=range_tags(first, last)), later


def build_runs_sensor(
    partitions: DailyPartitionsDefinition, *, running: bool, interval_s: int
) -> SensorDefinition:
    """The runs sensor over ``partitions``, on by default when ``running``
    (``CI_METRICS_POLL_GITHUB``), ticking at most every ``interval_s`` seconds."""

    @sensor(
        job=daily_pipeline_job,
        name="github_runs_sensor",
        minimum_interval_seconds=interval_s,
        default_status=DefaultSensorStatus.RUNNING if running else DefaultSensorStatus.STOPPED,
        description=(
            "Polls each repository's completed runs (a 304 when nothing changed) and runs the "
            "whole graph for the days whose runs completed since the last tick."
        ),
    )
    def github_runs_sensor(
        context: SensorEvaluationContext, github: GitHubAPI
    ) -> SensorResult | SkipReason:
        old = PollCursor.load(context.cursor)
        try:
            cursor, changed = poll_runs(github, old)
        except GitHubError as exc:  # rate limited or GitHub down: try again next tick
            return SkipReason(f"GitHub runs list not read: {exc}")
        days = {r["created_at"][:10] for r in changed} | set(old.pending)
        last = partitions.get_last_partition_key()
        last_day = date.fromisoformat(last) if last else date.min
        request, cursor.pending = plan_run(days, partitions.start.date(), last_day)
        if changed:
            context.log.info(
                f"{len(changed)} runs completed since the last tick: days {sorted(days)}"
            )
        return SensorResult(run_requests=[request] if request else [], cursor=cursor.dump())

    return github_runs_sensor
