"""A local HTTP server that answers like GitHub's REST API for Actions data.

It serves a :class:`~pipelines.fake_github.generator.FakeWorld` on 127.0.0.1
with the response shapes, pagination (``Link``, the 1,000-result search cap),
conditional requests (weak ``ETag`` / 304), rate-limit headers and artifact
redirects of api.github.com, plus injectable faults. The extractor's tests,
benchmarks and the demo talk to it over real sockets, so client code paths
(retries, redirects, keep-alive) are exercised as they would be against GitHub.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import hashlib
import hmac
import json
import math
import signal
import socket
import sys
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from pipelines.fake_github.faults import (
    Faults,
    FaultStreaks,
    add_fault_arguments,
    faults_from_args,
)
from pipelines.fake_github.generator import (
    FakeArtifact,
    FakeConfig,
    FakeJob,
    FakeRun,
    FakeWorkflow,
    FakeWorld,
    artifact_zip,
    generate,
)

API_VERSION = "2022-11-28"
DOCS = "https://docs.github.com/rest"
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try "
    "again. If you reach out to GitHub Support for help, please include the request ID "
    "FAKE:0000:0000000:0000000:00000000."
)
_SEARCH_PARAMS = ("actor", "branch", "check_suite_id", "created", "event", "head_sha", "status")
_RESULT_CAP = 1000
_ISO = "%Y-%m-%dT%H:%M:%SZ"


def _iso(d: datetime | None) -> str | None:
    return d.strftime(_ISO) if d is not None else None


def _node_id(prefix: str, n: int) -> str:
    return prefix + base64.b64encode(n.to_bytes(8, "big")).decode().rstrip("=")


class ServerStats:
    """Thread-safe request counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.api_requests = 0
        self.not_modified = 0
        self.by_kind: Counter[str] = Counter()
        self.by_status: Counter[int] = Counter()
        self.faults: Counter[str] = Counter()

    def next_api_request(self) -> int:
        with self._lock:
            self.requests += 1
            self.api_requests += 1
            return self.api_requests

    def count(
        self,
        kind: str | None = None,
        status: int | None = None,
        fault: str | None = None,
        not_modified: bool = False,
        request: bool = False,
    ) -> None:
        with self._lock:
            if request:
                self.requests += 1
            if kind:
                self.by_kind[kind] += 1
            if status is not None:
                self.by_status[status] += 1
            if fault:
                self.faults[fault] += 1
            if not_modified:
                self.not_modified += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "api_requests": self.api_requests,
                "not_modified": self.not_modified,
                "by_kind": dict(self.by_kind),
                "by_status": dict(self.by_status),
                "faults": dict(self.faults),
            }


class _Reply(Exception):
    """A finished answer raised from deep inside routing."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _not_found() -> _Reply:
    return _Reply(404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"})


def _invalid(what: str) -> _Reply:
    return _Reply(
        422, {"message": f"Invalid value for {what}", "documentation_url": DOCS, "status": "422"}
    )


def _parse_point(text: str, end: bool) -> int:
    """Epoch seconds of a date (start or end of the day) or an ISO datetime."""
    text = text.strip()
    if len(text) == 10:
        d = date.fromisoformat(text)
        base = datetime(d.year, d.month, d.day, tzinfo=UTC)
        return int(base.timestamp()) + (86399 if end else 0)
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def parse_created(value: str) -> tuple[int, int]:
    """Inclusive (low, high) epoch bounds of a ``created`` search qualifier."""
    lo, hi = -(2**62), 2**62
    try:
        if ".." in value:
            a, b = value.split("..", 1)
            if a.strip() not in ("", "*"):
                lo = _parse_point(a, end=False)
            if b.strip() not in ("", "*"):
                hi = _parse_point(b, end=True)
        elif value.startswith(">="):
            lo = _parse_point(value[2:], end=False)
        elif value.startswith("<="):
            hi = _parse_point(value[2:], end=True)
        elif value.startswith(">"):
            lo = _parse_point(value[1:], end=True) + 1
        elif value.startswith("<"):
            hi = _parse_point(value[1:], end=False) - 1
        else:
            lo, hi = _parse_point(value, end=False), _parse_point(value, end=True)
    except ValueError as exc:
        raise _invalid("created") from exc
    return lo, hi


class _Renderer:
    """GitHub-shaped JSON for the world's objects (cached per immutable object)."""

    def __init__(self, world: FakeWorld, api: str) -> None:
        self.world = world
        self.api = api
        self.html = "https://github.com"
        self._repo_cache: dict[str, dict[str, Any]] = {}
        self._run_json = lru_cache(maxsize=8192)(self._run_json_uncached)

    def user(self, login: str, org: bool = False) -> dict[str, Any]:
        uid = int(hashlib.sha256(login.encode()).hexdigest()[:7], 16)
        u = f"{self.api}/users/{login}"
        return {
            "login": login,
            "id": uid,
            "node_id": _node_id("U_", uid),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
            "gravatar_id": "",
            "url": u,
            "html_url": f"{self.html}/{login}",
            "followers_url": f"{u}/followers",
            "following_url": f"{u}/following{{/other_user}}",
            "gists_url": f"{u}/gists{{/gist_id}}",
            "starred_url": f"{u}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{u}/subscriptions",
            "organizations_url": f"{u}/orgs",
            "repos_url": f"{u}/repos",
            "events_url": f"{u}/events{{/privacy}}",
            "received_events_url": f"{u}/received_events",
            "type": "Organization" if org else ("Bot" if login.endswith("[bot]") else "User"),
            "user_view_type": "public",
            "site_admin": False,
        }

    def repo(self, full_name: str) -> dict[str, Any]:
        cached = self._repo_cache.get(full_name)
        if cached is not None:
            return cached
        owner, name = full_name.split("/")
        rid = self.world.repo_ids[full_name]
        u = f"{self.api}/repos/{full_name}"
        d: dict[str, Any] = {
            "id": rid,
            "node_id": _node_id("R_", rid),
            "name": name,
            "full_name": full_name,
            "private": False,
            "owner": self.user(owner, org=True),
            "html_url": f"{self.html}/{full_name}",
            "description": f"Fake repository {name}",
            "fork": False,
            "url": u,
        }
        for key, tail in (
            ("forks", "/forks"),
            ("keys", "/keys{/key_id}"),
            ("collaborators", "/collaborators{/collaborator}"),
            ("teams", "/teams"),
            ("hooks", "/hooks"),
            ("issue_events", "/issues/events{/number}"),
            ("events", "/events"),
            ("assignees", "/assignees{/user}"),
            ("branches", "/branches{/branch}"),
            ("tags", "/tags"),
            ("blobs", "/git/blobs{/sha}"),
            ("git_tags", "/git/tags{/sha}"),
            ("git_refs", "/git/refs{/sha}"),
            ("trees", "/git/trees{/sha}"),
            ("statuses", "/statuses/{sha}"),
            ("languages", "/languages"),
            ("stargazers", "/stargazers"),
            ("contributors", "/contributors"),
            ("subscribers", "/subscribers"),
            ("subscription", "/subscription"),
            ("commits", "/commits{/sha}"),
            ("git_commits", "/git/commits{/sha}"),
            ("comments", "/comments{/number}"),
            ("issue_comment", "/issues/comments{/number}"),
            ("contents", "/contents/{+path}"),
            ("compare", "/compare/{base}...{head}"),
            ("merges", "/merges"),
            ("archive", "/{archive_format}{/ref}"),
            ("downloads", "/downloads"),
            ("issues", "/issues{/number}"),
            ("pulls", "/pulls{/number}"),
            ("milestones", "/milestones{/number}"),
            ("notifications", "/notifications{?since,all,participating}"),
            ("labels", "/labels{/name}"),
            ("releases", "/releases{/id}"),
            ("deployments", "/deployments"),
        ):
            d[f"{key}_url"] = u + tail
        self._repo_cache[full_name] = d
        return d

    def run(self, run: FakeRun, attempt_no: int | None = None, exclude_prs: bool = False) -> str:
        """JSON text of ``run`` as of ``attempt_no`` (default: its latest attempt)."""
        n = attempt_no if attempt_no is not None else len(run.attempts)
        return self._run_json(run.run_id, n, attempt_no is not None, exclude_prs)

    def _run_json_uncached(self, run_id: int, n: int, as_attempt: bool, exclude_prs: bool) -> str:
        run = self.world.runs_by_id[run_id]
        a = run.attempts[n - 1]
        u = f"{self.api}/repos/{run.repo}/actions/runs/{run.run_id}"
        check_suite = 20_000_000_000 + run.run_id
        prs = []
        if not exclude_prs:
            repo_ref = {
                "id": run.repo_id,
                "url": f"{self.api}/repos/{run.repo}",
                "name": run.repo.split("/")[1],
            }
            for num in run.pull_request_numbers:
                prs.append(
                    {
                        "url": f"{self.api}/repos/{run.repo}/pulls/{num}",
                        "id": 1_500_000_000 + num,
                        "number": num,
                        "head": {"ref": run.head_branch, "sha": run.head_sha, "repo": repo_ref},
                        "base": {
                            "ref": "main",
                            "sha": hashlib.sha1(  # noqa: S324 - an id, not security
                                f"base{num}".encode()
                            ).hexdigest(),
                            "repo": repo_ref,
                        },
                    }
                )
        suffix = f"/attempts/{n}" if as_attempt else ""
        tree = hashlib.sha1(run.head_sha.encode()).hexdigest()  # noqa: S324
        body = {
            "id": run.run_id,
            "name": run.workflow_name,
            "node_id": _node_id("WFR_", run.run_id),
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
            "path": run.workflow_path,
            "display_title": run.display_title or run.workflow_name,
            "run_number": run.run_number,
            "event": run.event,
            "status": a.status,
            "conclusion": a.conclusion,
            "workflow_id": run.workflow_id,
            "check_suite_id": check_suite,
            "check_suite_node_id": _node_id("CS_", check_suite),
            "url": u,
            "html_url": f"{self.html}/{run.repo}/actions/runs/{run.run_id}",
            "pull_requests": prs,
            "created_at": _iso(run.created_at),
            "updated_at": _iso(a.updated_at),
            "actor": self.user(run.actor),
            "run_attempt": a.run_attempt,
            "referenced_workflows": [],
            "run_started_at": _iso(a.run_started_at),
            "triggering_actor": self.user(a.actor),
            "jobs_url": f"{u}{suffix}/jobs",
            "logs_url": f"{u}{suffix}/logs",
            "check_suite_url": f"{self.api}/repos/{run.repo}/check-suites/{check_suite}",
            "artifacts_url": f"{u}/artifacts",
            "cancel_url": f"{u}/cancel",
            "rerun_url": f"{u}/rerun",
            "previous_attempt_url": f"{u}/attempts/{n - 1}" if n > 1 else None,
            "workflow_url": f"{self.api}/repos/{run.repo}/actions/workflows/{run.workflow_id}",
            "head_commit": {
                "id": run.head_sha,
                "tree_id": tree,
                "message": run.display_title,
                "timestamp": _iso(run.created_at - timedelta(minutes=3)),
                "author": {"name": run.actor, "email": f"{run.actor}@users.noreply.github.com"},
                "committer": {"name": "GitHub", "email": "noreply@github.com"},
            },
            "repository": self.repo(run.repo),
            "head_repository": self.repo(run.repo),
        }
        return json.dumps(body, separators=(",", ":"))

    def job(self, job: FakeJob, run: FakeRun) -> dict[str, Any]:
        u = f"{self.api}/repos/{run.repo}/actions"
        runner_id = None
        if job.runner_name:
            runner_id = int(job.runner_name.rsplit(" ", 1)[-1])
        return {
            "id": job.job_id,
            "run_id": run.run_id,
            "workflow_name": run.workflow_name,
            "head_branch": run.head_branch,
            "run_url": f"{u}/runs/{run.run_id}",
            "run_attempt": job.run_attempt,
            "node_id": _node_id("CR_", job.job_id),
            "head_sha": run.head_sha,
            "url": f"{u}/jobs/{job.job_id}",
            "html_url": f"{self.html}/{run.repo}/actions/runs/{run.run_id}/job/{job.job_id}",
            "status": job.status,
            "conclusion": job.conclusion,
            "created_at": _iso(job.created_at),
            "started_at": _iso(job.started_at),
            "completed_at": _iso(job.completed_at),
            "name": job.name,
            "steps": [
                {
                    "name": s.name,
                    "status": s.status,
                    "conclusion": s.conclusion,
                    "number": s.number,
                    "started_at": _iso(s.started_at),
                    "completed_at": _iso(s.completed_at),
                }
                for s in job.steps
            ],
            "check_run_url": f"{self.api}/repos/{run.repo}/check-runs/{job.job_id}",
            "labels": list(job.labels),
            "runner_id": runner_id,
            "runner_name": job.runner_name,
            "runner_group_id": 0 if job.runner_group_name else None,
            "runner_group_name": job.runner_group_name,
        }

    def artifact(self, art: FakeArtifact) -> dict[str, Any]:
        u = f"{self.api}/repos/{art.repo}/actions/artifacts/{art.artifact_id}"
        digest = hashlib.sha256(f"{art.artifact_id}:{art.name}".encode()).hexdigest()
        return {
            "id": art.artifact_id,
            "node_id": _node_id("MDg6QXJ0aWZhY3Q", art.artifact_id),
            "name": art.name,
            "size_in_bytes": art.size_in_bytes,
            "url": u,
            "archive_download_url": f"{u}/zip",
            "expired": art.expired,
            "created_at": _iso(art.created_at),
            "updated_at": _iso(art.created_at),
            "expires_at": _iso(art.expires_at),
            "digest": f"sha256:{digest}",
            "workflow_run": {
                "id": art.run_id,
                "repository_id": art.repo_id,
                "head_repository_id": art.repo_id,
                "head_branch": art.head_branch,
                "head_sha": art.head_sha,
            },
        }

    def workflow(self, repo: str, wf: FakeWorkflow) -> dict[str, Any]:
        return {
            "id": wf.workflow_id,
            "node_id": _node_id("W_", wf.workflow_id),
            "name": wf.name,
            "path": wf.path,
            "state": "active",
            "created_at": _iso(wf.created_at),
            "updated_at": _iso(wf.created_at),
            "url": f"{self.api}/repos/{repo}/actions/workflows/{wf.workflow_id}",
            "html_url": f"{self.html}/{repo}/blob/main/{wf.path}",
            "badge_url": f"{self.html}/{repo}/workflows/{wf.name}/badge.svg",
        }


class _Bucket:
    __slots__ = ("limit", "reset", "used")

    def __init__(self, limit: int, now: float) -> None:
        self.limit = limit
        self.used = 0
        self.reset = int(now) + 3600


class FakeGitHubServer:
    """The fake API on 127.0.0.1 plus a blob host (``localhost``) for artifact downloads.

    Use as a context manager or call :meth:`start` / :meth:`stop`. ``faults``,
    ``latency_s`` and ``token`` may be changed while it runs. Without a token
    every request is accepted at 5,000/h; with one, another token gets 401 and
    a request without a token gets the anonymous 60/h limit (enforced).
    """

    def __init__(
        self,
        world: FakeWorld | None = None,
        *,
        config: FakeConfig | None = None,
        port: int = 0,
        api_prefix: str = "",
        token: str | None = None,
        latency_s: float = 0.0,
        faults: Faults | None = None,
        rate_limit: int = 5000,
        anonymous_rate_limit: int = 60,
        blob_url_ttl_s: int = 60,
    ) -> None:
        self.world = world if world is not None else generate(config or FakeConfig())
        self.faults = faults or Faults()
        self.latency_s = latency_s
        self.token = token
        self.stats = ServerStats()
        self._streaks = FaultStreaks()
        self.api_prefix = api_prefix.rstrip("/")
        self.rate_limit = rate_limit
        self.anonymous_rate_limit = anonymous_rate_limit
        self.blob_url_ttl_s = blob_url_ttl_s
        self._port = port
        self._secret = hashlib.sha256(f"blob{id(self)}{time.time()}".encode()).digest()
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._exhaust_until: float | None = None
        self._exhaust_faults: Faults | None = None
        self._api: ThreadingHTTPServer | None = None
        self._blob: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self.render: _Renderer | None = None

    # ---- lifecycle
    @property
    def url(self) -> str:
        if self._api is None:
            raise RuntimeError("server not started")
        return f"http://127.0.0.1:{self._api.server_address[1]}{self.api_prefix}"

    @property
    def blob_url(self) -> str:
        if self._blob is None:
            raise RuntimeError("server not started")
        return f"http://localhost:{self._blob.server_address[1]}"

    def start(self) -> FakeGitHubServer:
        self._api = _make_server(self._port, _ApiHandler, self)
        self._blob = _make_server(0, _BlobHandler, self)
        self.render = _Renderer(self.world, self.url)
        for srv in (self._api, self._blob):
            t = threading.Thread(
                target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
            )
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        for srv in (self._api, self._blob):
            if srv is not None:
                srv.shutdown()
                srv.server_close()
        for t in self._threads:
            t.join(timeout=5)
        self._threads.clear()

    def __enter__(self) -> FakeGitHubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- API requests
    def handle_api(self, h: BaseHTTPRequestHandler) -> None:
        seq = self.stats.next_api_request()
        faults = self.faults
        if self.latency_s > 0:
            time.sleep(self.latency_s)
        if faults.slow_due(seq):
            self.stats.count(fault="slow")
            time.sleep(faults.slow_s)
        drop, error = faults.drop_due(seq), faults.error_due(seq)
        if self._streaks.fail(h.path, drop or error, max(1, faults.error_burst)):
            if drop:
                self.stats.count(fault="drop_connection")
                h.close_connection = True
                try:
                    h.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            else:
                self.stats.count(fault="error_burst", status=faults.error_status)
                msg = "Bad Gateway" if faults.error_status == 502 else "Service Unavailable"
                _send(h, faults.error_status, json.dumps({"message": msg}).encode(), {})
            return
        split = urlsplit(h.path)
        path = split.path
        query = parse_qsl(split.query, keep_blank_values=True)
        if self.api_prefix:
            if not path.startswith(self.api_prefix + "/"):
                self._finish(h, _not_found(), None, None)
                return
            path = path[len(self.api_prefix) :]
        auth = h.headers.get("Authorization")
        given = None
        if auth:
            parts = auth.split(None, 1)
            given = parts[1].strip() if len(parts) == 2 else parts[0]
        if (
            self.token is not None
            and given is not None
            and not hmac.compare_digest(given.encode(), self.token.encode())
        ):
            body = {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}
            self.stats.count(kind="unauthorized", status=401)
            _send(h, 401, json.dumps(body).encode(), {})
            return
        key = "token:" + hashlib.sha256(given.encode()).hexdigest() if given else "anonymous"
        limit = self.rate_limit if given else self.anonymous_rate_limit
        if path.rstrip("/") == "/rate_limit":
            self._rate_limit_answer(h, key, limit)
            return
        now = time.time()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None or now >= bucket.reset:
                bucket = self._buckets[key] = _Bucket(limit, now)
            if self._exhaust_faults is not faults:  # a new Faults object starts afresh
                self._exhaust_faults, self._exhaust_until = faults, None
            n_exhaust = faults.primary_exhaust_after
            if n_exhaust and seq >= n_exhaust and self._exhaust_until is None:
                self._exhaust_until = now + faults.primary_reset_s
            in_exhaust = self._exhaust_until is not None and now < self._exhaust_until
            rate = [bucket.limit, bucket.limit - bucket.used, bucket.reset, bucket.used]
            if in_exhaust:
                rate[1], rate[2] = 0, math.ceil(self._exhaust_until)
            blocked_fault = in_exhaust and seq > n_exhaust
            blocked = blocked_fault or bucket.used >= bucket.limit
        if blocked:
            if blocked_fault:
                self.stats.count(fault="primary_exhaust")
            self.stats.count(kind="rate_limited", status=403)
            body = {
                "message": "API rate limit exceeded for installation.",
                "documentation_url": "https://docs.github.com/rest/overview/"
                "rate-limits-for-the-rest-api",
                "status": "403",
            }
            rate[1] = 0
            _send(h, 403, json.dumps(body).encode(), _rate_headers(rate))
            return
        if faults.secondary_due(seq):
            self.stats.count(fault="secondary_limit", status=faults.secondary_status)
            body = {
                "message": SECONDARY_MESSAGE,
                "documentation_url": "https://docs.github.com/"
                "free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api"
                "#about-secondary-rate-limits",
                "status": str(faults.secondary_status),
            }
            headers = _rate_headers(rate)
            headers["retry-after"] = str(faults.retry_after_s)
            _send(h, faults.secondary_status, json.dumps(body).encode(), headers)
            return
        try:
            kind, reply = self._route(path, query)
        except _Reply as r:
            kind, reply = "error", r
        self._finish(h, reply, kind, (key, rate))

    def _finish(self, h, reply: _Reply, kind: str | None, rate_ctx) -> None:
        body = reply.body
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body, separators=(",", ":")).encode()
        headers = dict(reply.headers)
        status = reply.status
        if status == 200:
            etag = 'W/"' + hashlib.sha256(data).hexdigest() + '"'
            headers["ETag"] = etag
            inm = h.headers.get("If-None-Match")
            if inm and etag in [t.strip() for t in inm.split(",")]:
                self.stats.count(kind=kind, status=304, not_modified=True)
                if rate_ctx is not None:
                    headers.update(_rate_headers(rate_ctx[1]))
                _send(h, 304, b"", headers)
                return
        if rate_ctx is not None:
            key, rate = rate_ctx
            with self._lock:
                bucket = self._buckets[key]
                bucket.used += 1
                rate = [bucket.limit, max(0, bucket.limit - bucket.used), bucket.reset, bucket.used]
                if self._exhaust_until is not None and time.time() < self._exhaust_until:
                    rate[1], rate[2] = 0, math.ceil(self._exhaust_until)
            headers.update(_rate_headers(rate))
        self.stats.count(kind=kind or "not_found", status=status)
        _send(h, status, data, headers)

    def _rate_limit_answer(self, h, key: str, limit: int) -> None:
        now = time.time()
        with self._lock:
            b = self._buckets.get(key)
            if b is None or now >= b.reset:
                b = self._buckets[key] = _Bucket(limit, now)
            rate = [b.limit, b.limit - b.used, b.reset, b.used]
        core = {
            "limit": rate[0],
            "remaining": rate[1],
            "reset": rate[2],
            "used": rate[3],
            "resource": "core",
        }
        body = {"resources": {"core": core}, "rate": core}
        self.stats.count(kind="rate_limit", status=200)
        _send(h, 200, json.dumps(body).encode(), _rate_headers(rate))

    # ---- routing
    def _route(self, path: str, query: list[tuple[str, str]]) -> tuple[str, _Reply]:
        parts = [p for p in path.split("/") if p]
        if len(parts) == 3 and parts[0] == "repos":
            full_name = f"{parts[1]}/{parts[2]}"
            if full_name not in self.world.repo_ids:
                raise _not_found()
            return "repo", _Reply(200, {**self.render.repo(full_name), "default_branch": "main"})
        if len(parts) >= 4 and parts[0] == "repos" and parts[3] == "actions":
            repo = f"{parts[1]}/{parts[2]}"
            rest = parts[4:]
        elif len(parts) >= 3 and parts[0] == "repositories" and parts[2] == "actions":
            repo = self.world.repo_by_id(int(parts[1])) if parts[1].isdigit() else None
            rest = parts[3:]
        else:
            raise _not_found()
        if repo not in self.world.repo_ids:
            raise _not_found()
        q = dict(query)
        world = self.world
        match rest:
            case ["runs"]:
                return "runs", self._runs(repo, query, q, None)
            case ["workflows", wf_id, "runs"]:
                wf = next(
                    (
                        w
                        for w in world.workflows[repo]
                        if str(w.workflow_id) == wf_id or w.path.endswith("/" + wf_id)
                    ),
                    None,
                )
                if wf is None:
                    raise _not_found()
                return "runs", self._runs(repo, query, q, wf.workflow_id)
            case ["runs", run_id]:
                run = self._run(repo, run_id)
                excl = _flag(q, "exclude_pull_requests")
                return "run", _Reply(200, self.render.run(run, None, excl))
            case ["runs", run_id, "attempts", n]:
                run = self._run(repo, run_id)
                a = self._attempt_no(run, n)
                return "attempt", _Reply(200, self.render.run(run, a))
            case ["runs", run_id, "jobs"]:
                run = self._run(repo, run_id)
                filt = q.get("filter", "latest")
                if filt not in ("latest", "all"):
                    raise _invalid("filter")
                attempts = run.attempts if filt == "all" else run.attempts[-1:]
                jobs = [j for a in attempts for j in a.jobs]
                return "jobs", self._jobs(repo, run, jobs, query, q, f"runs/{run.run_id}/jobs")
            case ["runs", run_id, "attempts", n, "jobs"]:
                run = self._run(repo, run_id)
                a = self._attempt_no(run, n)
                jobs = list(run.attempts[a - 1].jobs)
                path_tail = f"runs/{run.run_id}/attempts/{a}/jobs"
                return "jobs", self._jobs(repo, run, jobs, query, q, path_tail)
            case ["runs", run_id, "artifacts"]:
                run = self._run(repo, run_id)
                arts = sorted(
                    run.artifacts, key=lambda x: (x.created_at, x.artifact_id), reverse=True
                )
                return "artifacts", self._artifacts(
                    repo, arts, query, q, f"runs/{run.run_id}/artifacts"
                )
            case ["artifacts"]:
                with world.lock:
                    arts = list(reversed(world.sorted_artifacts(repo)))
                return "artifacts", self._artifacts(repo, arts, query, q, "artifacts")
            case ["artifacts", art_id]:
                art = self._artifact(repo, art_id)
                return "artifact", _Reply(200, self.render.artifact(art))
            case ["artifacts", art_id, "zip"]:
                art = self._artifact(repo, art_id)
                return "artifact_zip", self._zip_redirect(art)
            case ["jobs", job_id]:
                for run in world.sorted_runs(repo):
                    for a in run.attempts:
                        for j in a.jobs:
                            if str(j.job_id) == job_id:
                                return "job", _Reply(200, self.render.job(j, run))
                raise _not_found()
            case ["workflows"]:
                wfs = [self.render.workflow(repo, w) for w in world.workflows[repo]]
                return "workflows", _Reply(200, {"total_count": len(wfs), "workflows": wfs})
        raise _not_found()

    def _run(self, repo: str, run_id: str) -> FakeRun:
        run = self.world.runs_by_id.get(int(run_id)) if run_id.isdigit() else None
        if run is None or run.repo != repo:
            raise _not_found()
        return run

    def _attempt_no(self, run: FakeRun, n: str) -> int:
        if not n.isdigit() or not 1 <= int(n) <= len(run.attempts):
            raise _not_found()
        return int(n)

    def _artifact(self, repo: str, art_id: str) -> FakeArtifact:
        art = self.world.artifacts_by_id.get(int(art_id)) if art_id.isdigit() else None
        if art is None or art.repo != repo:
            raise _not_found()
        return art

    def _page_args(self, q: dict[str, str]) -> tuple[int, int]:
        try:
            per_page = int(q.get("per_page", "30"))
            page = int(q.get("page", "1"))
        except ValueError as exc:
            raise _invalid("per_page/page") from exc
        return max(1, page), min(max(1, per_page), 100)

    def _link(
        self, repo: str, tail: str, query: list[tuple[str, str]], page: int, last: int
    ) -> dict[str, str]:
        if last <= 1 and page <= 1:
            return {}
        base = f"{self.url}/repositories/{self.world.repo_ids[repo]}/actions/{tail}"

        def at(p: int) -> str:
            items = [(k, v) for k, v in query if k != "page"] + [("page", str(p))]
            return f"<{base}?{urlencode(items)}>"

        links = []
        if page > 1:
            links.append(f'{at(min(page - 1, max(last, 1)))}; rel="prev"')
        if page < last:
            links.append(f'{at(page + 1)}; rel="next"')
            links.append(f'{at(last)}; rel="last"')
        if page > 1:
            links.append(f'{at(1)}; rel="first"')
        return {"Link": ", ".join(links)} if links else {}

    def _runs(self, repo: str, query, q: dict[str, str], workflow_id: int | None) -> _Reply:
        page, per_page = self._page_args(q)
        world = self.world
        lo_hi = parse_created(q["created"]) if q.get("created") else None
        with world.lock:
            keys, runs = world.run_keys(repo), world.sorted_runs(repo)
            if lo_hi is not None:
                i = bisect.bisect_left(keys, (lo_hi[0], -1))
                j = bisect.bisect_right(keys, (lo_hi[1], 2**62))
                cand = runs[i:j]
            else:
                cand = list(runs)
        status, event = q.get("status"), q.get("event")
        branch, sha, actor = q.get("branch"), q.get("head_sha"), q.get("actor")
        out = []
        for r in reversed(cand):
            a = r.attempts[-1]
            if status and status not in (a.status, a.conclusion):
                continue
            if (event and r.event != event) or (branch and r.head_branch != branch):
                continue
            if (sha and r.head_sha != sha) or (actor and r.actor != actor):
                continue
            if workflow_id is not None and r.workflow_id != workflow_id:
                continue
            out.append(r)
        total = len(out)
        searched = any(q.get(p) for p in _SEARCH_PARAMS)
        reachable = min(total, _RESULT_CAP) if searched else total
        lo = (page - 1) * per_page
        rows = out[lo : min(lo + per_page, reachable)] if lo < reachable else []
        last = max(1, math.ceil(reachable / per_page))
        excl = _flag(q, "exclude_pull_requests")
        body = (
            '{"total_count":'
            + str(total)
            + ',"workflow_runs":['
            + ",".join(self.render.run(r, None, excl) for r in rows)
            + "]}"
        )
        tail = "runs" if workflow_id is None else f"workflows/{workflow_id}/runs"
        reply = _Reply(200, body, self._link(repo, tail, query, page, last))
        if self.faults.insert_during_pagination and page == 1 and rows and last > 1:
            world.insert_run(repo, rows[0].created_at)
            self.stats.count(fault="insert_during_pagination")
        return reply

    def _jobs(self, repo: str, run: FakeRun, jobs: list[FakeJob], query, q, tail: str) -> _Reply:
        page, per_page = self._page_args(q)
        jobs = sorted(jobs, key=lambda j: j.job_id)
        lo = (page - 1) * per_page
        rows = jobs[lo : lo + per_page]
        last = max(1, math.ceil(len(jobs) / per_page))
        body = {"total_count": len(jobs), "jobs": [self.render.job(j, run) for j in rows]}
        return _Reply(200, body, self._link(repo, tail, query, page, last))

    def _artifacts(self, repo: str, arts: list[FakeArtifact], query, q, tail: str) -> _Reply:
        page, per_page = self._page_args(q)
        if q.get("name"):
            arts = [a for a in arts if a.name == q["name"]]
        lo = (page - 1) * per_page
        rows = arts[lo : lo + per_page]
        last = max(1, math.ceil(len(arts) / per_page))
        body = {"total_count": len(arts), "artifacts": [self.render.artifact(a) for a in rows]}
        return _Reply(200, body, self._link(repo, tail, query, page, last))

    # ---- artifact downloads
    def _sign(self, artifact_id: int, exp: int) -> str:
        return hmac.new(self._secret, f"{artifact_id}:{exp}".encode(), hashlib.sha256).hexdigest()

    def _zip_redirect(self, art: FakeArtifact) -> _Reply:
        if art.expired:
            raise _Reply(
                410, {"message": "Artifact has expired", "documentation_url": DOCS, "status": "410"}
            )
        exp = int(time.time()) + self.blob_url_ttl_s
        loc = (
            f"{self.blob_url}/blob/{art.artifact_id}/{art.name}.zip"
            f"?exp={exp}&sig={self._sign(art.artifact_id, exp)}"
        )
        return _Reply(302, b"", {"Location": loc, "Content-Type": "text/html;charset=utf-8"})

    def handle_blob(self, h: BaseHTTPRequestHandler) -> None:
        self.stats.count(kind="blob", request=True)
        if h.headers.get("Authorization"):
            self.stats.count(status=400)
            _send_xml(
                h,
                400,
                "InvalidAuthenticationInfo",
                "Authentication information is not given in the correct format.",
            )
            return
        split = urlsplit(h.path)
        q = dict(parse_qsl(split.query))
        parts = [p for p in split.path.split("/") if p]
        try:
            art_id, exp = int(parts[1]), int(q.get("exp", ""))
        except (ValueError, IndexError):
            self.stats.count(status=403)
            _send_xml(h, 403, "AuthenticationFailed", "Signature not valid.")
            return
        good = hmac.compare_digest(self._sign(art_id, exp), q.get("sig", ""))
        if not good or exp < time.time():
            self.stats.count(status=403)
            _send_xml(
                h,
                403,
                "AuthenticationFailed",
                "Signature not valid in the specified time frame."
                if good
                else "Signature did not match.",
            )
            return
        art = self.world.artifacts_by_id.get(art_id)
        if art is None:
            self.stats.count(status=404)
            _send_xml(h, 404, "BlobNotFound", "The specified blob does not exist.")
            return
        self.stats.count(status=200)
        _send(h, 200, _zip_bytes(art), {"Content-Type": "application/zip"}, json_type=False)


@lru_cache(maxsize=512)
def _zip_bytes(art: FakeArtifact) -> bytes:
    return artifact_zip(art)


def _flag(q: dict[str, str], name: str) -> bool:
    return q.get(name, "").lower() in ("1", "true", "yes")


def _rate_headers(rate: list[int]) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(rate[0]),
        "x-ratelimit-remaining": str(max(0, rate[1])),
        "x-ratelimit-reset": str(rate[2]),
        "x-ratelimit-used": str(rate[3]),
        "x-ratelimit-resource": "core",
    }


def _send(
    h: BaseHTTPRequestHandler,
    status: int,
    data: bytes,
    headers: dict[str, str],
    json_type: bool = True,
) -> None:
    h.send_response(status)
    if json_type and "Content-Type" not in headers:
        h.send_header("Content-Type", "application/json; charset=utf-8")
    h.send_header("x-github-api-version-selected", API_VERSION)
    h.send_header("X-GitHub-Media-Type", "github.v3; format=json")
    for k, v in headers.items():
        h.send_header(k, v)
    if status != 304:
        h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    if data and status != 304:
        h.wfile.write(data)


def _send_xml(h: BaseHTTPRequestHandler, status: int, code: str, message: str) -> None:
    body = (
        f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code>'
        f"<Message>{message}</Message></Error>"
    ).encode()
    h.send_response(status)
    h.send_header("Content-Type", "application/xml")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


class _BaseHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: with Nagle's algorithm the second waits for
    # the client's delayed ACK (~40 ms) on every keep-alive request.
    disable_nagle_algorithm = True
    server_version = "GitHub.com"
    sys_version = ""
    app: FakeGitHubServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reject(self) -> None:
        body = json.dumps({"message": "Not Found", "documentation_url": DOCS}).encode()
        _send(self, 404, body, {})

    do_POST = do_PUT = do_DELETE = do_PATCH = _reject


class _ApiHandler(_BaseHandler):
    def do_GET(self) -> None:
        self.app.handle_api(self)


class _BlobHandler(_BaseHandler):
    server_version = "Windows-Azure-Blob/1.0"

    def do_GET(self) -> None:
        self.app.handle_blob(self)


def _make_server(port: int, handler: type[_BaseHandler], app: FakeGitHubServer):
    cls = type(handler.__name__, (handler,), {"app": app})
    srv = ThreadingHTTPServer(("127.0.0.1", port), cls)
    srv.daemon_threads = True
    return srv


def main(argv: list[str] | None = None) -> int:
    """``ci-metrics fake-github``: serve a generated world until SIGINT/SIGTERM."""
    p = argparse.ArgumentParser(prog="ci-metrics fake-github", description=main.__doc__)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repos", type=int, default=2)
    p.add_argument("--owner", default="acme")
    p.add_argument("--days", type=int, default=14)
    p.add_argument("--runs-per-day", type=float, default=40.0)
    p.add_argument("--end-date", type=date.fromisoformat, default=None)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--token", default=None, help="the only token accepted (default: any)")
    p.add_argument("--api-prefix", default="", help='e.g. "/api/v3" for Enterprise Server')
    p.add_argument("--artifact-retention-days", type=int, default=90)
    p.add_argument("--rate-limit", type=int, default=5000, help="authenticated requests per hour")
    add_fault_arguments(p)
    ns = p.parse_args(argv)
    cfg = FakeConfig(
        seed=ns.seed,
        repos=ns.repos,
        owner=ns.owner,
        days=ns.days,
        end_date=ns.end_date,
        runs_per_day=ns.runs_per_day,
        artifact_retention_days=ns.artifact_retention_days,
    )
    server = FakeGitHubServer(
        config=cfg,
        port=ns.port,
        api_prefix=ns.api_prefix,
        token=ns.token,
        latency_s=ns.latency_ms / 1000.0,
        faults=faults_from_args(ns),
        rate_limit=ns.rate_limit,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with server:
        print(
            f"fake GitHub API on {server.url} (repos: {','.join(server.world.repos)})", flush=True
        )
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
