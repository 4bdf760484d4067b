"""Narrow unit tests of the client's retry and rate-limit rules (httpx.MockTransport).

The end-to-end behaviour against a real server is in test_extract_fake_github.py.
"""

import logging

import httpx
import pytest

from pipelines.github.client import (
    GitHubClient,
    GitHubError,
    MemoryCache,
    RateLimitExhausted,
    parse_link_header,
)
from pipelines.testresults.artifacts import ArtifactRef, download_all

TOKEN = "ghp_SECRETSECRETSECRET"
API = "https://ghe.example.test/api/v3"


class Script:
    """Answers requests from a list of responses, recording what was asked."""

    def __init__(self, *responses):
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.responses.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


def client(script: Script, *, clock: float = 1_000_000.0, **kw) -> tuple[GitHubClient, list]:
    sleeps: list[float] = []
    c = GitHubClient(
        API,
        TOKEN,
        transport=httpx.MockTransport(script),
        sleep=sleeps.append,
        clock=lambda: clock,
        **kw,
    )
    return c, sleeps


def ok(data=None, **headers) -> httpx.Response:
    return httpx.Response(200, json=data if data is not None else {"ok": True}, headers=headers)


def test_headers_and_enterprise_base_url() -> None:
    script = Script(ok())
    c, _ = client(script)
    c.get(c.url("repos/o/r/actions/runs", {"per_page": 100}))
    req = script.requests[0]
    assert str(req.url) == f"{API}/repos/o/r/actions/runs?per_page=100"
    assert req.headers["accept"] == "application/vnd.github+json"
    assert req.headers["x-github-api-version"] == "2022-11-28"
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert req.headers["user-agent"].startswith("ci-metrics/")


def test_unauthenticated_warns_and_sends_no_authorization(caplog) -> None:
    script = Script(ok())
    with caplog.at_level(logging.WARNING):
        c = GitHubClient(API, None, transport=httpx.MockTransport(script))
    c.get(c.url("rate_limit"))
    assert "authorization" not in script.requests[0].headers
    assert "60 unauthenticated requests" in caplog.text


def test_pagination_follows_link_next_only() -> None:
    page2 = f"{API}/repositories/9/actions/runs?per_page=100&page=2&created=x"
    script = Script(
        ok({"workflow_runs": [1]}, link=f'<{page2}>; rel="next", <{page2}>; rel="last"'),
        ok(
            {"workflow_runs": [2]},
            link=f'<{API}/x?page=1>; rel="first", <{API}/x?page=1>; rel="prev"',
        ),
    )
    c, _ = client(script)
    pages = list(c.paginate("repos/o/r/actions/runs", {"created": "x"}))
    assert [p.data["workflow_runs"] for p in pages] == [[1], [2]]
    assert str(script.requests[1].url) == page2


def test_retry_after_is_honoured() -> None:
    script = Script(httpx.Response(429, headers={"retry-after": "7"}, json={}), ok())
    c, sleeps = client(script)
    c.get(c.url("x"))
    assert sleeps == [7.0]
    assert c.stats.waits == 1 and c.stats.retries == 1 and c.stats.requests == 2


def test_primary_limit_waits_until_reset_within_bound() -> None:
    now = 1_000_000
    limited = httpx.Response(
        403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(now + 30)},
        json={"message": "API rate limit exceeded"},
    )
    script = Script(limited, ok())
    c, sleeps = client(script, clock=now, max_rate_limit_wait_s=60)
    c.get(c.url("x"))
    assert sleeps == [31.0]


def test_primary_limit_beyond_bound_fails_naming_reset_time() -> None:
    now = 1_700_000_000
    limited = httpx.Response(
        403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(now + 3600)},
        json={"message": "API rate limit exceeded"},
    )
    c, sleeps = client(Script(limited), clock=now, max_rate_limit_wait_s=60)
    with pytest.raises(RateLimitExhausted) as err:
        c.get(c.url("x"))
    assert "2023-11-14 23:13:20Z" in str(err.value)
    assert TOKEN not in str(err.value)
    assert sleeps == []


def test_secondary_limit_backs_off_exponentially() -> None:
    secondary = httpx.Response(
        403, json={"message": "You have exceeded a secondary rate limit. Please wait."}
    )
    script = Script(secondary, secondary, ok())
    c, sleeps = client(script, backoff_base_s=1.0)
    c.get(c.url("x"))
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] > 0


def test_server_errors_and_resets_are_retried_then_give_up() -> None:
    req = httpx.Request("GET", API)
    script = Script(
        httpx.Response(502),
        httpx.ConnectError("reset", request=req),
        httpx.ReadTimeout("slow", request=req),
        ok({"fine": 1}),
    )
    c, sleeps = client(script)
    assert c.get(c.url("x")).data == {"fine": 1}
    assert c.stats.retries == 3 and len(sleeps) == 3

    c, _ = client(Script(*[httpx.Response(503)] * 3), max_tries=3)
    with pytest.raises(GitHubError, match="503 3 times"):
        c.get(c.url("x"))


def test_not_found_is_not_retried_and_hides_the_token() -> None:
    c, sleeps = client(Script(httpx.Response(404, json={"message": "Not Found"})))
    with pytest.raises(GitHubError) as err:
        c.get(c.url("repos/o/r/actions/runs/1"))
    assert err.value.status == 404 and sleeps == []
    assert "/repos/o/r/actions/runs/1" in str(err.value) and TOKEN not in str(err.value)


def test_etag_304_reuses_cached_body_and_link() -> None:
    cache = MemoryCache()
    body = {"workflow_runs": [{"id": 1}]}
    link = f'<{API}/next>; rel="next"'
    script = Script(
        ok(body, etag='W/"abc"', link=link),
        httpx.Response(304, headers={"etag": 'W/"abc"'}),
    )
    c, _ = client(script, cache=cache)
    url = c.url("repos/o/r/actions/runs")
    first = c.get(url)
    second = c.get(url)
    assert script.requests[1].headers["if-none-match"] == 'W/"abc"'
    assert second.not_modified and second.data == body and second.next_url == f"{API}/next"
    assert second.fetched_at == first.fetched_at
    assert c.stats.not_modified == 1


def test_download_does_not_send_token_to_redirect_host() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "ghe.example.test":
            return httpx.Response(
                302, headers={"location": "https://blob.example.test/a.zip?sig=1"}
            )
        return httpx.Response(200, content=b"PK\x03\x04zip")

    c = GitHubClient(API, TOKEN, transport=httpx.MockTransport(handler))
    data = c.download(c.url("repos/o/r/actions/artifacts/1/zip"), max_bytes=1000)
    assert data == b"PK\x03\x04zip"
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert "authorization" not in seen[1].headers


def test_token_never_follows_a_link_to_another_host() -> None:
    evil = "https://evil.example.test/repos/o/r/actions/runs?page=2"
    script = Script(ok({"workflow_runs": []}, link=f'<{evil}>; rel="next"'))
    c, _ = client(script)
    pages = c.paginate("repos/o/r/actions/runs")
    next(pages)
    with pytest.raises(GitHubError, match=r"evil\.example\.test") as err:
        next(pages)
    assert TOKEN not in str(err.value)
    assert [r.url.host for r in script.requests] == ["ghe.example.test"]
    with pytest.raises(GitHubError, match="refusing to send"):
        c.download(evil, max_bytes=1000)  # an artifact URL naming another host
    assert len(script.requests) == 1


def test_link_header_parsing() -> None:
    value = '<https://a/x?page=2>; rel="next", <https://a/x?page=9>; rel="last"'
    assert parse_link_header(value) == {"next": "https://a/x?page=2", "last": "https://a/x?page=9"}
    assert parse_link_header(None) == {}
    assert parse_link_header("") == {}


def test_download_retries_storage_errors_and_caps_size() -> None:
    answers = {"blob": [httpx.Response(503), httpx.Response(200, content=b"x" * 5000)]}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "ghe.example.test":
            return httpx.Response(302, headers={"location": "https://blob.example.test/a.zip"})
        return answers["blob"].pop(0)

    sleeps: list[float] = []
    c = GitHubClient(API, TOKEN, transport=httpx.MockTransport(handler), sleep=sleeps.append)
    assert c.download(c.url("repos/o/r/actions/artifacts/1/zip"), max_bytes=10_000) == b"x" * 5000
    assert len(sleeps) == 1
    answers["blob"] = [httpx.Response(200, content=b"x" * 5000)]
    with pytest.raises(GitHubError, match="exceeds 1000 bytes"):
        c.download(c.url("repos/o/r/actions/artifacts/1/zip"), max_bytes=1000)


def test_expired_artifact_is_reported_as_gone() -> None:
    c, _ = client(Script(httpx.Response(410, json={"message": "Artifact has expired"})))
    with pytest.raises(GitHubError) as err:
        c.download(c.url("repos/o/r/actions/artifacts/1/zip"), max_bytes=1000)
    assert err.value.status == 410


def test_artifact_download_failures_are_reported_per_artifact() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/1/zip"):
            return httpx.Response(302, headers={"location": "https://blob.example.test/a.zip"})
        if request.url.host == "blob.example.test":
            raise httpx.RemoteProtocolError("peer closed connection", request=request)
        return httpx.Response(410, json={"message": "Gone"})

    c = GitHubClient(API, TOKEN, transport=httpx.MockTransport(handler), sleep=lambda _: None)

    def ref(artifact_id: int, url: str) -> ArtifactRef:
        return ArtifactRef("o/r", artifact_id, "junit", 7, None, None, None, False, url)

    refs = [
        ref(1, c.url("repos/o/r/actions/artifacts/1/zip")),  # storage keeps dropping
        ref(2, ""),  # listed without a URL
        ref(3, c.url("repos/o/r/actions/artifacts/3/zip")),  # expired
    ]
    got = [(d.ref.artifact_id, d.status) for d in download_all(c, refs, concurrency=2)]
    assert got == [(1, "failed"), (2, "failed"), (3, "expired")]
