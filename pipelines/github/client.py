"""An httpx client for the GitHub REST API that survives real-world conditions.

Why this exists rather than a bare ``httpx.get``: GitHub paginates with ``Link``
headers, rations requests with primary and secondary rate limits, answers 5xx
and drops connections now and then, and rewards conditional requests (a 304
costs no rate limit). Every one of those is handled here once, and every
request is counted so an asset can report what an extraction cost.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import httpx

from pipelines import __name__ as _pkg

API_VERSION = "2022-11-28"
USER_AGENT = "ci-metrics/0.1 (+https://github.com/ci-metrics/ci-metrics)"
_LINK_RE = re.compile(r'<([^>]+)>\s*;\s*rel="([^"]+)"')
_RETRYABLE_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)

log = logging.getLogger(f"{_pkg}.github")


class GitHubError(RuntimeError):
    """A request GitHub answered with an error that retrying will not fix."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RateLimitExhausted(GitHubError):
    """The primary rate limit is spent and resets later than we are willing to wait."""


@dataclass
class CachedResponse:
    """A stored 200 answer that a 304 lets us reuse."""

    etag: str
    link: str | None
    body: bytes  # raw JSON bytes
    fetched_at: datetime


class ResponseCache(Protocol):
    """Where ETags and the bodies they validate live between extractions."""

    def get(self, url: str) -> CachedResponse | None: ...

    def put(self, url: str, response: CachedResponse) -> None: ...


class MemoryCache:
    """A process-local :class:`ResponseCache` (tests, one-off runs)."""

    def __init__(self) -> None:
        self._items: dict[str, CachedResponse] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> CachedResponse | None:
        with self._lock:
            return self._items.get(url)

    def put(self, url: str, response: CachedResponse) -> None:
        with self._lock:
            self._items[url] = response


@dataclass
class RequestStats:
    """What an extraction cost, for logs and materialization metadata."""

    requests: int = 0
    not_modified: int = 0
    retries: int = 0
    waits: int = 0
    wait_seconds: float = 0.0
    rate_limit_limit: int | None = None
    rate_limit_remaining: int | None = None
    rate_limit_reset: int | None = None
    by_kind: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, kind: str) -> None:
        with self._lock:
            self.requests += 1
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1

    def add(self, name: str, amount: float = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def as_dict(self) -> dict[str, Any]:
        """Plain numbers, safe to put into metadata (no URLs, no headers)."""
        return {
            "requests": self.requests,
            "not_modified": self.not_modified,
            "retries": self.retries,
            "waits": self.waits,
            "wait_seconds": round(self.wait_seconds, 3),
            "rate_limit_remaining": self.rate_limit_remaining,
            "rate_limit_limit": self.rate_limit_limit,
            "requests_by_kind": dict(sorted(self.by_kind.items())),
        }

    def summary(self) -> str:
        return (
            f"{self.requests} requests ({self.not_modified} answered 304), "
            f"{self.retries} retries, {self.waits} rate-limit waits "
            f"({self.wait_seconds:.1f}s), rate limit remaining {self.rate_limit_remaining}"
        )


@dataclass
class Page:
    """One answer: its JSON, the next page's URL, and whether it came from the cache."""

    url: str
    data: Any
    next_url: str | None
    not_modified: bool
    fetched_at: datetime


def parse_link_header(value: str | None) -> dict[str, str]:
    """``<url>; rel="next", <url>; rel="last"`` → ``{"next": url, "last": url}``."""
    if not value:
        return {}
    return {rel: url for url, rel in _LINK_RE.findall(value)}


def request_kind(url: str) -> str:
    """A coarse endpoint name for request counting (``runs``, ``jobs``, ``attempt`` …)."""
    path = urlsplit(url).path
    if path.endswith("/jobs"):
        return "jobs"
    if "/attempts/" in path:
        return "attempt"
    if path.endswith("/actions/runs"):
        return "runs"
    if "/artifacts" in path:
        return "artifacts"
    return "other"


class GitHubClient:
    """GET-only GitHub REST client: pagination, retries, rate limits, ETags."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        cache: ResponseCache | None = None,
        max_tries: int = 6,
        max_rate_limit_wait_s: float = 900.0,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 60.0,
        timeout_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        pool_size: int = 8,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self._origin = _origin(self.base_url)
        self.cache = cache
        self.max_tries = max_tries
        self.max_rate_limit_wait_s = max_rate_limit_wait_s
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.stats = RequestStats()
        self._sleep = sleep
        self._clock = clock
        self._rng = random.Random()
        self._transport = transport
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": USER_AGENT,
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        else:
            log.warning("No GITHUB_TOKEN set: GitHub allows 60 unauthenticated requests per hour")
        limits = httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size)
        self._lock = threading.Lock()
        self._plain_http: httpx.Client | None = None
        self._http_limits = limits
        self._http = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout_s),
            limits=limits,
            follow_redirects=False,
            transport=transport,
        )

    # -- plumbing -------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()
        if self._plain_http is not None:
            self._plain_http.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """Absolute URL for an API path (query encoded by httpx, stable order)."""
        return api_url(self.base_url, path, params)

    def listing_url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """First-page URL of a listing, exactly as :meth:`paginate` requests it."""
        return listing_url(self.base_url, path, params)

    def _backoff(self, attempt: int) -> float:
        cap = min(self.backoff_max_s, self.backoff_base_s * (2**attempt))
        return cap / 2 + self._rng.uniform(0, cap / 2)

    def _wait(self, seconds: float, why: str) -> None:
        self.stats.add("waits")
        self.stats.add("wait_seconds", seconds)
        log.warning("GitHub %s: waiting %.1fs", why, seconds)
        self._sleep(seconds)

    def _note_rate_limit(self, response: httpx.Response) -> None:
        h = response.headers
        try:
            if "x-ratelimit-remaining" in h:
                self.stats.rate_limit_remaining = int(h["x-ratelimit-remaining"])
            if "x-ratelimit-limit" in h:
                self.stats.rate_limit_limit = int(h["x-ratelimit-limit"])
            if "x-ratelimit-reset" in h:
                self.stats.rate_limit_reset = int(h["x-ratelimit-reset"])
        except ValueError:
            pass

    def _handle_limited(self, response: httpx.Response, url: str, attempt: int) -> bool:
        """Sleep as GitHub asks for a 403/429 rate-limit answer; False if it is not one."""
        h = response.headers
        retry_after = h.get("retry-after")
        if retry_after is not None:
            try:
                seconds = max(0.0, float(retry_after))
            except ValueError:
                seconds = self._backoff(attempt)
            if seconds > self.max_rate_limit_wait_s:
                raise RateLimitExhausted(
                    f"GitHub asks to retry {_path(url)} after {seconds:.0f}s, longer than "
                    f"the configured bound of {self.max_rate_limit_wait_s:.0f}s",
                    response.status_code,
                )
            self._wait(seconds, f"rate limit on {_path(url)} (retry-after)")
            return True
        if h.get("x-ratelimit-remaining") == "0":
            reset = int(h.get("x-ratelimit-reset", "0") or 0)
            seconds = max(0.0, reset - self._clock()) + 1.0
            reset_at = datetime.fromtimestamp(reset, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
            if seconds > self.max_rate_limit_wait_s:
                raise RateLimitExhausted(
                    f"GitHub rate limit exhausted; it resets at {reset_at} "
                    f"(in {seconds:.0f}s, more than the {self.max_rate_limit_wait_s:.0f}s "
                    "we wait). Set GITHUB_TOKEN or raise CI_METRICS_MAX_RATE_LIMIT_WAIT_S.",
                    response.status_code,
                )
            self._wait(seconds, f"primary rate limit exhausted until {reset_at}")
            return True
        text = response.text[:500].lower()
        if response.status_code == 429 or "secondary rate limit" in text or "abuse" in text:
            self._wait(self._backoff(attempt + 2), f"secondary rate limit on {_path(url)}")
            return True
        return False

    # -- requests -------------------------------------------------------------------------

    def _send(self, url: str, *, headers: Mapping[str, str], kind: str) -> httpx.Response:
        """One GET with every retry rule applied; returns the first answer not worth retrying.

        Transport errors and 5xx are retried with backoff; 403/429 rate limits wait
        as GitHub asks (or fail when the wait is too long); the rest is returned.
        """
        if _origin(url) != self._origin:
            # a Link or download URL pointing elsewhere never receives the token
            raise GitHubError(
                f"refusing to send the GitHub token to {_origin(url)} (the API is {self._origin})"
            )
        failures = 0
        limited = 0
        while True:
            self.stats.count(kind)
            try:
                response = self._http.get(url, headers=headers)
            except _RETRYABLE_TRANSPORT as exc:
                failures += 1
                if failures >= self.max_tries:
                    raise GitHubError(
                        f"GET {_path(url)} failed after {failures} tries: {type(exc).__name__}"
                    ) from None
                self.stats.add("retries")
                self._sleep(self._backoff(failures))
                continue
            self._note_rate_limit(response)
            status = response.status_code
            if status in (403, 429):
                limited += 1
                if limited >= self.max_tries * 3:
                    raise GitHubError(f"GET {_path(url)}: still rate limited after retries", status)
                if self._handle_limited(response, url, limited):
                    self.stats.add("retries")
                    continue
            if status >= 500:
                failures += 1
                if failures >= self.max_tries:
                    raise GitHubError(
                        f"GET {_path(url)} answered {status} {failures} times in a row", status
                    )
                self.stats.add("retries")
                self._sleep(self._backoff(failures))
                continue
            return response

    def get(self, url: str, *, conditional: bool = True) -> Page:
        """GET an absolute URL as JSON; a 304 answers with the cached body."""
        cached = self.cache.get(url) if (conditional and self.cache is not None) else None
        headers = {"If-None-Match": cached.etag} if cached else {}
        kind = request_kind(url)
        for _ in range(self.max_tries):
            response = self._send(url, headers=headers, kind=kind)
            status = response.status_code
            if status == 304 and cached is not None:
                self.stats.add("not_modified")
                return Page(
                    url=url,
                    data=json.loads(cached.body),
                    next_url=parse_link_header(cached.link).get("next"),
                    not_modified=True,
                    fetched_at=cached.fetched_at,
                )
            if status != 200:
                raise GitHubError(
                    f"GET {_path(url)} answered {status}: {_message(response)}", status
                )
            body = response.content
            try:
                data = json.loads(body)
            except ValueError:
                self.stats.add("retries")
                self._sleep(self._backoff(1))
                continue
            link = response.headers.get("link")
            now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
            etag = response.headers.get("etag")
            if self.cache is not None and etag and conditional:
                self.cache.put(url, CachedResponse(etag=etag, link=link, body=body, fetched_at=now))
            return Page(
                url=url,
                data=data,
                next_url=parse_link_header(link).get("next"),
                not_modified=False,
                fetched_at=now,
            )
        raise GitHubError(f"GET {_path(url)} returned invalid JSON {self.max_tries} times")

    def paginate(
        self, path: str, params: Mapping[str, Any] | None = None, *, conditional: bool = True
    ) -> Iterator[Page]:
        """Every page of a listing, following ``rel="next"`` and nothing else."""
        url: str | None = self.listing_url(path, params)
        while url:
            page = self.get(url, conditional=conditional)
            yield page
            url = page.next_url

    def download(self, url: str, *, max_bytes: int) -> bytes:
        """Fetch an artifact archive: the token goes to GitHub only, never to the redirect."""
        response = self._send(url, headers={}, kind="download")
        if response.status_code in (301, 302, 303, 307, 308):
            location = response.headers.get("location")
            if not location:
                raise GitHubError(f"GET {_path(url)}: redirect without a location")
            return self._fetch_blob(location, max_bytes=max_bytes, origin=url)
        if response.status_code != 200:
            raise GitHubError(
                f"GET {_path(url)} answered {response.status_code}: {_message(response)}",
                response.status_code,
            )
        if len(response.content) > max_bytes:
            raise GitHubError(f"GET {_path(url)}: archive larger than {max_bytes} bytes")
        return response.content

    def _fetch_blob(self, location: str, *, max_bytes: int, origin: str) -> bytes:
        """Stream a storage URL with a size cap (never trusting its headers), retrying
        dropped connections and 5xx like any request."""
        failures = 0
        while True:
            self.stats.count("blob")
            try:
                with self._plain().stream("GET", location) as response:
                    if response.status_code < 500:
                        if response.status_code != 200:
                            raise GitHubError(
                                f"download of {_path(origin)} answered {response.status_code}",
                                response.status_code,
                            )
                        chunks, size = [], 0
                        for chunk in response.iter_bytes():
                            size += len(chunk)
                            if size > max_bytes:
                                raise GitHubError(
                                    f"download of {_path(origin)} exceeds {max_bytes} bytes"
                                )
                            chunks.append(chunk)
                        return b"".join(chunks)
                    status = response.status_code
            except _RETRYABLE_TRANSPORT as exc:
                status = type(exc).__name__
            failures += 1
            if failures >= self.max_tries:
                raise GitHubError(f"download of {_path(origin)} failed {failures} times: {status}")
            self.stats.add("retries")
            self._sleep(self._backoff(failures))

    def _plain(self) -> httpx.Client:
        """A client without the Authorization header, for storage URLs GitHub redirects to."""
        with self._lock:
            if self._plain_http is None:
                self._plain_http = httpx.Client(
                    timeout=self._http.timeout,
                    follow_redirects=False,
                    headers={"User-Agent": USER_AGENT},
                    transport=self._transport,
                    limits=self._http_limits,
                )
            return self._plain_http


def api_url(base_url: str, path: str, params: Mapping[str, Any] | None = None) -> str:
    """Absolute URL for an API path under ``base_url`` (query encoded by httpx)."""
    url = httpx.URL(urljoin(base_url.rstrip("/") + "/", path.lstrip("/")))
    if params:
        url = url.copy_merge_params({k: str(v) for k, v in params.items()})
    return str(url)


def listing_url(base_url: str, path: str, params: Mapping[str, Any] | None = None) -> str:
    """First-page URL of a listing (``per_page=100``), the key its ETag is cached under."""
    return api_url(base_url, path, {"per_page": 100, **(params or {})})


def _origin(url: str) -> str:
    """Scheme, host and port: the only place the token may be sent."""
    try:
        u = httpx.URL(url)
    except httpx.InvalidURL:
        return "an invalid URL"
    return f"{u.scheme}://{u.host}:{u.port or (443 if u.scheme == 'https' else 80)}"


def _path(url: str) -> str:
    """The URL's path and query, for messages (never headers, so never the token)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", ""))[:200]
    except (ValueError, AttributeError):
        return response.text[:200]


def compress(body: bytes) -> bytes:
    """Bodies kept in the ETag cache are zlib-compressed: list pages shrink ~10×."""
    return zlib.compress(body, 6)


def decompress(blob: bytes) -> bytes:
    return zlib.decompress(blob)
