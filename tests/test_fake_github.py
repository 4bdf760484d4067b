"""The fake GitHub API against recorded GitHub responses and the generator's ground truth."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
import zipfile
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest

from pipelines.fake_github.faults import Faults
from pipelines.fake_github.generator import (
    FakeConfig,
    artifact_executions,
    artifact_zip,
    generate,
    junit_xml,
)
from pipelines.fake_github.server import FakeGitHubServer
from tests import corpus
from tests.corpus import needs_corpus

CORPUS = corpus.GITHUB
END = date(2025, 3, 31)
CFG = FakeConfig(seed=7, repos=2, days=6, runs_per_day=40, end_date=END, artifact_retention_days=3)
AUTH = {"Authorization": "Bearer test-token"}


def _body(name: str) -> dict:
    return json.loads((CORPUS / "pygithub" / "extracted" / name).read_text())


@pytest.fixture(scope="module")
def server():
    with FakeGitHubServer(config=CFG) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as c:
        yield c


def _follow(client: httpx.Client, path: str, params: dict, key: str) -> tuple[list[dict], int]:
    """Every item of a listing by following rel="next"; also the number of pages."""
    items, pages = [], 0
    resp = client.get(path, params=params)
    while True:
        assert resp.status_code == 200, resp.text
        items.extend(resp.json()[key])
        pages += 1
        nxt = resp.links.get("next")
        if not nxt:
            return items, pages
        resp = client.get(nxt["url"])


# ------------------------------------------------------------------ shapes


@needs_corpus
def test_run_job_artifact_shapes_match_recorded_github(server, client):
    rec_run = _body("WorkflowRun.testGetAttempt.3.200.body.json")
    rec_job = _body("WorkflowRun.test_jobs.1.200.body.json")["jobs"][0]
    rec_new_job = _body("Repository.testGetWorkflowJob.2.200.body.json")
    rec_art = _body("Artifact.testGetArtifactsFromRepo.1.200.body.json")["artifacts"][0]
    api_art = json.loads((CORPUS / "openapi-examples" / "artifact-paginated.json").read_text())[
        "artifacts"
    ][0]

    pr_run = next(r for r in server.world.all_runs("acme/repo-0") if r.pull_request_numbers)
    run = client.get(f"/repos/acme/repo-0/actions/runs/{pr_run.run_id}").json()
    assert set(run) == set(rec_run)
    assert set(run["repository"]) == set(rec_run["repository"])
    assert set(run["actor"]) == set(rec_run["actor"])
    assert set(run["head_commit"]) == set(rec_run["head_commit"])
    pr = run["pull_requests"][0]
    assert pr["number"] == pr_run.pull_request_numbers[0]
    assert pr["head"]["sha"] == pr_run.head_sha and pr["head"]["ref"] == pr_run.head_branch
    assert set(pr) == {"url", "id", "number", "head", "base"}
    assert set(pr["base"]) == {"ref", "sha", "repo"}
    assert run["created_at"].endswith("Z") and len(run["created_at"]) == 20

    jobs = client.get(f"/repos/acme/repo-0/actions/runs/{pr_run.run_id}/jobs").json()
    job = jobs["jobs"][0]
    assert set(job) == set(rec_job) == set(rec_new_job)
    assert set(job["steps"][0]) == set(rec_job["steps"][0])

    arts = client.get("/repos/acme/repo-0/actions/artifacts").json()
    art = arts["artifacts"][0]
    assert set(rec_art) <= set(art)
    assert set(art) == set(api_art)
    assert set(art["workflow_run"]) == set(rec_art["workflow_run"])

    wfs = client.get("/repos/acme/repo-0/actions/workflows").json()
    assert [w["name"] for w in wfs["workflows"]] == ["CI", "Lint", "Docs", "Nightly"]


def test_headers_like_github(client):
    resp = client.get("/repos/acme/repo-0/actions/runs")
    assert resp.headers["content-type"] == "application/json; charset=utf-8"
    assert resp.headers["x-github-api-version-selected"] == "2022-11-28"
    assert resp.headers["etag"].startswith('W/"')
    for h in ("limit", "remaining", "reset", "used", "resource"):
        assert f"x-ratelimit-{h}" in resp.headers
    missing = client.get("/repos/acme/nope/actions/runs")
    assert missing.status_code == 404
    assert missing.json()["message"] == "Not Found" and "documentation_url" in missing.json()


# ------------------------------------------------------------------ listings


@pytest.mark.parametrize(
    "created",
    [
        "2025-03-28..2025-03-29",
        "2025-03-28T00:00:00Z..2025-03-29T23:59:59Z",
        "2025-03-29",
    ],
)
def test_pagination_returns_exactly_the_generated_runs(server, client, created):
    first = date(2025, 3, 29) if created == "2025-03-29" else date(2025, 3, 28)
    for repo in server.world.repos:
        expected = server.world.runs_created_between(first, date(2025, 3, 29), repo)
        items, pages = _follow(
            client,
            f"/repos/{repo}/actions/runs",
            {"created": created, "per_page": 37},
            "workflow_runs",
        )
        assert len(expected) > 37  # really paginated
        assert pages == -(-len(expected) // 37)
        assert [r["id"] for r in items] == [
            r.run_id for r in sorted(expected, key=lambda r: (r.created_at, r.run_id), reverse=True)
        ]
        # each listed run shows its latest attempt
        by_id = {r.run_id: r for r in expected}
        for item in items:
            run = by_id[item["id"]]
            assert item["run_attempt"] == len(run.attempts)
            assert item["conclusion"] == run.latest.conclusion


def test_created_comparison_forms(server, client):
    runs = server.world.all_runs("acme/repo-1")
    cut = datetime(2025, 3, 30, tzinfo=UTC)
    cases = {
        ">=2025-03-30": [r for r in runs if r.created_at >= cut],
        ">2025-03-30": [r for r in runs if r.created_at >= cut + timedelta(days=1)],
        "<2025-03-30": [r for r in runs if r.created_at < cut],
        "<=2025-03-30": [r for r in runs if r.created_at < cut + timedelta(days=1)],
        ">=2025-03-30T12:00:00Z": [r for r in runs if r.created_at >= cut + timedelta(hours=12)],
    }
    for created, expected in cases.items():
        resp = client.get("/repos/acme/repo-1/actions/runs", params={"created": created})
        assert resp.json()["total_count"] == len(expected), created


def test_filters_and_repository_id_route(server, client):
    world = server.world
    pr_run = next(r for r in world.all_runs("acme/repo-0") if r.event == "pull_request")
    same_sha = [r for r in world.all_runs("acme/repo-0") if r.head_sha == pr_run.head_sha]
    body = client.get(
        "/repos/acme/repo-0/actions/runs", params={"head_sha": pr_run.head_sha}
    ).json()
    assert sorted(r["id"] for r in body["workflow_runs"]) == sorted(r.run_id for r in same_sha)
    expected_push = sum(r.event == "push" for r in world.all_runs("acme/repo-0"))
    rid = world.repo_ids["acme/repo-0"]
    body = client.get(f"/repositories/{rid}/actions/runs", params={"event": "push"}).json()
    assert body["total_count"] == expected_push
    body = client.get(
        "/repos/acme/repo-0/actions/runs",
        params={"exclude_pull_requests": "true", "head_sha": pr_run.head_sha},
    ).json()
    assert all(r["pull_requests"] == [] for r in body["workflow_runs"])


def test_search_results_are_capped_at_1000():
    cfg = FakeConfig(seed=3, repos=1, days=3, runs_per_day=450, end_date=END)
    with FakeGitHubServer(config=cfg) as srv, httpx.Client(base_url=srv.url, headers=AUTH) as c:
        total = len(srv.world.all_runs())
        assert total > 1000
        params = {"created": "2025-03-01..2025-03-31", "per_page": 100}
        p10 = c.get("/repos/acme/repo-0/actions/runs", params={**params, "page": 10})
        p11 = c.get("/repos/acme/repo-0/actions/runs", params={**params, "page": 11})
        assert p10.json()["total_count"] == total == p11.json()["total_count"]
        assert len(p10.json()["workflow_runs"]) == 100
        assert p11.json()["workflow_runs"] == []
        assert "next" not in p10.links
        items, _ = _follow(c, "/repos/acme/repo-0/actions/runs", params, "workflow_runs")
        assert len(items) == 1000
        # without a search parameter everything is reachable
        unfiltered, _ = _follow(
            c, "/repos/acme/repo-0/actions/runs", {"per_page": 100}, "workflow_runs"
        )
        assert len(unfiltered) == total


def test_attempts_endpoint_shows_each_attempt(server, client):
    run = next(r for r in server.world.all_runs() if len(r.attempts) >= 2)
    base = f"/repos/{run.repo}/actions/runs/{run.run_id}"
    latest = client.get(base).json()
    assert latest["run_attempt"] == len(run.attempts)
    for a in run.attempts:
        body = client.get(f"{base}/attempts/{a.run_attempt}").json()
        assert body["run_attempt"] == a.run_attempt
        assert body["status"] == a.status and body["conclusion"] == a.conclusion
        assert body["run_started_at"] == a.run_started_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert body["updated_at"] == a.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert body["created_at"] == latest["created_at"]
        assert (body["previous_attempt_url"] is None) == (a.run_attempt == 1)
        jobs, _ = _follow(client, f"{base}/attempts/{a.run_attempt}/jobs", {}, "jobs")
        assert sorted(j["id"] for j in jobs) == sorted(j.job_id for j in a.jobs)
        assert all(j["run_attempt"] == a.run_attempt for j in jobs)
    assert client.get(f"{base}/attempts/{len(run.attempts) + 1}").status_code == 404


def test_jobs_filter_latest_and_all(server, client):
    run = next(r for r in server.world.all_runs() if len(r.attempts) >= 2 and r.latest.jobs)
    base = f"/repos/{run.repo}/actions/runs/{run.run_id}/jobs"
    latest = client.get(base).json()
    assert latest["total_count"] == len(run.latest.jobs)
    every, _ = _follow(client, base, {"filter": "all", "per_page": 100}, "jobs")
    assert len(every) == sum(len(a.jobs) for a in run.attempts)
    assert {j["run_attempt"] for j in every} == {a.run_attempt for a in run.attempts if a.jobs}


def test_nightly_jobs_need_two_pages(server, client):
    nightly = next(
        r for r in server.world.all_runs() if r.workflow_name == "Nightly" and r.latest.jobs
    )
    items, pages = _follow(
        client,
        f"/repos/{nightly.repo}/actions/runs/{nightly.run_id}/jobs",
        {"per_page": 100},
        "jobs",
    )
    assert len(nightly.latest.jobs) == 120
    assert pages == 2
    assert len({j["id"] for j in items}) == 120


def test_artifacts_listing_newest_first_and_name_filter(server, client):
    items, _ = _follow(
        client, "/repos/acme/repo-1/actions/artifacts", {"per_page": 100}, "artifacts"
    )
    expected = [a for r in server.world.all_runs("acme/repo-1") for a in r.artifacts]
    assert len(items) == len(expected)
    stamps = [(a["created_at"], a["id"]) for a in items]
    assert stamps == sorted(stamps, reverse=True)
    named = client.get("/repos/acme/repo-1/actions/artifacts", params={"name": "coverage-html"})
    assert named.json()["total_count"] == sum(a.name == "coverage-html" for a in expected)
    run = next(r for r in server.world.all_runs("acme/repo-1") if r.artifacts)
    body = client.get(f"/repos/acme/repo-1/actions/runs/{run.run_id}/artifacts").json()
    assert sorted(a["id"] for a in body["artifacts"]) == sorted(
        a.artifact_id for a in run.artifacts
    )


# ------------------------------------------------------------------ conditional requests, limits


def test_etag_304_does_not_consume_rate_limit(client):
    url = "/repos/acme/repo-0/actions/runs"
    first = client.get(url, params={"per_page": 5})
    etag = first.headers["etag"]
    before = int(first.headers["x-ratelimit-remaining"])
    again = client.get(url, params={"per_page": 5}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert int(again.headers["x-ratelimit-remaining"]) == before
    third = client.get(url, params={"per_page": 5})
    assert third.headers["etag"] == etag
    assert int(third.headers["x-ratelimit-remaining"]) == before - 1


def test_token_checks_and_anonymous_limit():
    with FakeGitHubServer(config=CFG, token="s3cret", anonymous_rate_limit=3) as srv:
        url = f"{srv.url}/repos/acme/repo-0/actions/workflows"
        bad = httpx.get(url, headers={"Authorization": "Bearer wrong"})
        assert bad.status_code == 401 and bad.json()["message"] == "Bad credentials"
        good = httpx.get(url, headers={"Authorization": "token s3cret"})
        assert good.status_code == 200 and good.headers["x-ratelimit-limit"] == "5000"
        anon = [httpx.get(url) for _ in range(4)]
        assert [r.status_code for r in anon] == [200, 200, 200, 403]
        assert anon[0].headers["x-ratelimit-limit"] == "3"
        assert anon[3].headers["x-ratelimit-remaining"] == "0"
        assert "rate limit exceeded" in anon[3].json()["message"]
        assert "s3cret" not in bad.text


def test_enterprise_api_prefix():
    with FakeGitHubServer(config=CFG, api_prefix="/api/v3") as srv:
        assert srv.url.endswith("/api/v3")
        resp = httpx.get(f"{srv.url}/repos/acme/repo-0/actions/runs", params={"per_page": 2})
        assert resp.status_code == 200
        assert "/api/v3/repositories/" in resp.links["next"]["url"]
        base = srv.url.removesuffix("/api/v3")
        assert httpx.get(f"{base}/repos/acme/repo-0/actions/runs").status_code == 404


# ------------------------------------------------------------------ artifacts


def test_artifact_zip_redirects_to_another_host(server, client):
    world = server.world
    art = next(a for r in world.all_runs() for a in r.artifacts if a.holds_tests and not a.expired)
    resp = client.get(f"/repos/{art.repo}/actions/artifacts/{art.artifact_id}/zip")
    assert resp.status_code == 302
    loc = resp.headers["location"]
    assert urlsplit(loc).netloc != urlsplit(server.url).netloc
    assert client.get(loc).status_code == 400  # the client's Authorization header is refused
    tampered = loc[:-4] + ("0000" if not loc.endswith("0000") else "1111")
    assert httpx.get(tampered).status_code == 403
    # httpx drops Authorization on a cross-origin redirect, as a real client must
    followed = client.get(
        f"/repos/{art.repo}/actions/artifacts/{art.artifact_id}/zip", follow_redirects=True
    )
    assert followed.status_code == 200
    assert followed.content == artifact_zip(art)
    with zipfile.ZipFile(io.BytesIO(followed.content)) as zf:
        xml = zf.read("junit/test-results.xml")
    assert xml == junit_xml(art)


def test_expired_artifact_answers_410(server, client):
    arts = [a for r in server.world.all_runs() for a in r.artifacts]
    cutoff = server.world.now - timedelta(days=CFG.artifact_retention_days)
    expired = [a for a in arts if a.expired]
    assert expired and all(a.created_at <= cutoff for a in expired)
    assert all(not a.expired for a in arts if a.created_at > cutoff)
    art = expired[0]
    resp = client.get(f"/repos/{art.repo}/actions/artifacts/{art.artifact_id}/zip")
    assert resp.status_code == 410
    listed = client.get(f"/repos/{art.repo}/actions/artifacts/{art.artifact_id}").json()
    assert listed["expired"] is True


def test_blob_url_expires():
    with FakeGitHubServer(config=CFG, blob_url_ttl_s=0) as srv:
        art = next(a for r in srv.world.all_runs() for a in r.artifacts if not a.expired)
        loc = httpx.get(
            f"{srv.url}/repos/{art.repo}/actions/artifacts/{art.artifact_id}/zip"
        ).headers["location"]
        time.sleep(1.1)
        assert httpx.get(loc).status_code == 403


# ------------------------------------------------------------------ faults


def _fresh(faults: Faults, **kw) -> FakeGitHubServer:
    return FakeGitHubServer(config=CFG, faults=faults, **kw)


def test_fault_error_burst():
    with _fresh(Faults(error_every=4, error_burst=2, error_status=503)) as srv:
        codes = [
            httpx.get(f"{srv.url}/repos/acme/repo-0/actions/workflows").status_code
            for _ in range(9)
        ]
        assert codes == [200, 200, 200, 503, 503, 200, 200, 503, 503]
        assert srv.stats.snapshot()["faults"]["error_burst"] == 4


@pytest.mark.parametrize(
    ("faults", "burst"),
    [
        (Faults(error_every=1, error_burst=3), [502, 502, 502, 200]),
        (Faults(drop_every=1), ["dropped", 200]),
    ],
    ids=["errors", "drops"],
)
def test_one_url_fails_at_most_a_burst_in_a_row(faults, burst):
    # every request is due to fail, yet each URL's retries get through after the burst,
    # however concurrent clients interleave their requests
    with _fresh(faults) as srv:
        base = f"{srv.url}/repos/acme/repo-0/actions"
        codes = []
        for url in (f"{base}/workflows", f"{base}/runs", f"{base}/workflows"):
            for _ in burst:
                try:
                    codes.append(httpx.get(url).status_code)
                except httpx.TransportError:
                    codes.append("dropped")
        assert codes == burst * 3


def test_fault_slow_and_latency():
    with _fresh(Faults(slow_every=2, slow_s=0.3), latency_s=0.05) as srv:
        times = []
        for _ in range(2):
            t = time.perf_counter()
            httpx.get(f"{srv.url}/repos/acme/repo-0/actions/workflows")
            times.append(time.perf_counter() - t)
        assert times[0] >= 0.05 and times[1] >= 0.35
        assert srv.stats.snapshot()["faults"]["slow"] == 1


def test_fault_drop_connection():
    with _fresh(Faults(drop_every=2)) as srv:
        url = f"{srv.url}/repos/acme/repo-0/actions/workflows"
        assert httpx.get(url).status_code == 200
        with pytest.raises(httpx.TransportError):
            httpx.get(url)
        assert httpx.get(url).status_code == 200
        assert srv.stats.snapshot()["faults"]["drop_connection"] == 1


@pytest.mark.parametrize("status", [403, 429])
def test_fault_secondary_limit(status):
    with _fresh(Faults(secondary_every=2, secondary_status=status, retry_after_s=7)) as srv:
        url = f"{srv.url}/repos/acme/repo-0/actions/workflows"
        assert httpx.get(url).status_code == 200
        hit = httpx.get(url)
        assert hit.status_code == status
        assert hit.headers["retry-after"] == "7"
        assert "secondary rate limit" in hit.json()["message"]


def test_fault_primary_exhaust_until_reset():
    with _fresh(Faults(primary_exhaust_after=2, primary_reset_s=1)) as srv:
        url = f"{srv.url}/repos/acme/repo-0/actions/workflows"
        first, second, third = (httpx.get(url) for _ in range(3))
        assert first.status_code == 200 and second.status_code == 200
        assert second.headers["x-ratelimit-remaining"] == "0"
        assert third.status_code == 403
        assert "API rate limit exceeded" in third.json()["message"]
        reset = int(third.headers["x-ratelimit-reset"])
        assert reset >= int(time.time())
        time.sleep(max(0.0, reset - time.time()) + 0.1)
        assert httpx.get(url).status_code == 200
        assert srv.stats.snapshot()["faults"]["primary_exhaust"] == 1


def test_fault_insert_during_pagination_repeats_a_run():
    with _fresh(Faults(insert_during_pagination=True)) as srv, httpx.Client(base_url=srv.url) as c:
        before = len(
            srv.world.runs_created_between(date(2025, 3, 29), date(2025, 3, 29), "acme/repo-0")
        )
        items, _ = _follow(
            c,
            "/repos/acme/repo-0/actions/runs",
            {"created": "2025-03-29", "per_page": 20},
            "workflow_runs",
        )
        ids = [r["id"] for r in items]
        after = srv.world.runs_created_between(date(2025, 3, 29), date(2025, 3, 29), "acme/repo-0")
        assert len(after) == before + 1
        inserted = max(r.run_id for r in after)
        # the listing shifted by one after page 1: one run is seen twice, the new one never
        assert len(ids) - len(set(ids)) == 1
        assert inserted not in ids and len(set(ids)) == before
        assert srv.stats.snapshot()["faults"]["insert_during_pagination"] == 1


def test_faults_settable_at_runtime(server, client):
    try:
        n = server.stats.snapshot()["api_requests"]
        server.faults = Faults(error_every=n + 1, error_burst=1)
        assert client.get("/repos/acme/repo-0/actions/workflows").status_code == 502
    finally:
        server.faults = Faults()
    assert client.get("/repos/acme/repo-0/actions/workflows").status_code == 200


# ------------------------------------------------------------------ generator


def test_same_seed_same_bytes(server):
    other = generate(CFG)
    assert other.all_runs() == server.world.all_runs()
    with FakeGitHubServer(world=other) as srv2:
        a = httpx.get(f"{server.url}/repos/acme/repo-1/actions/runs", params={"per_page": 50})
        b = httpx.get(f"{srv2.url}/repos/acme/repo-1/actions/runs", params={"per_page": 50})
        assert a.content.replace(server.url.encode(), b"X") == b.content.replace(
            srv2.url.encode(), b"X"
        )
    art = next(a for r in other.all_runs() for a in r.artifacts if a.holds_tests)
    assert artifact_zip(art) == artifact_zip(art)
    assert generate(FakeConfig(**{**CFG.__dict__, "seed": 8})).all_runs() != other.all_runs()


def test_world_content(server):
    world = server.world
    runs = world.all_runs()
    assert {r.workflow_name for r in runs} == {"CI", "Lint", "Docs", "Nightly"}
    assert {"push", "pull_request", "schedule"} <= {r.event for r in runs}
    assert all(r.event == "schedule" for r in runs if r.workflow_name == "Nightly")
    ids = [r.run_id for r in runs]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    job_ids = [j.job_id for r in runs for a in r.attempts for j in a.jobs]
    assert len(job_ids) == len(set(job_ids))
    shas = {}
    for r in runs:
        shas.setdefault((r.repo, r.head_sha), set()).add(r.event)
    assert any(ev >= {"push", "pull_request"} for ev in shas.values())
    conclusions = {r.latest.conclusion for r in runs}
    assert {"success", "failure", "cancelled"} <= conclusions
    unfinished = [r for r in runs if r.latest.status != "completed"]
    assert unfinished and all(r.latest.conclusion is None for r in unfinished)
    assert all(world.now - r.created_at < timedelta(hours=1) for r in unfinished)
    assert all(r.created_at < world.now for r in runs)
    for r in runs:
        first = r.attempts[0]
        assert first.run_started_at >= r.created_at
        for prev, nxt in zip(r.attempts, r.attempts[1:], strict=False):
            assert nxt.run_started_at > prev.updated_at
            assert nxt.run_started_at - r.created_at < timedelta(days=30)
        for a in r.attempts:
            for j in a.jobs:
                if j.completed_at is not None:
                    assert a.run_started_at <= j.started_at <= j.completed_at <= a.updated_at
                    for s in j.steps:
                        assert j.started_at <= s.started_at <= s.completed_at <= j.completed_at
    counts = world.expected_counts(date(2025, 3, 26), END)
    assert counts["runs"] == len(runs)
    assert counts["attempts"] > counts["runs"]


def test_flaky_commits_really_flip(server, client):
    flaky = server.world.flaky_commits
    assert flaky
    for repo, workflow_id, sha in list(flaky)[:5]:
        runs = client.get(f"/repos/{repo}/actions/runs", params={"head_sha": sha}).json()
        seen = set()
        for run in runs["workflow_runs"]:
            if run["workflow_id"] != workflow_id:
                continue
            for n in range(1, run["run_attempt"] + 1):
                att = client.get(f"{run['url']}/attempts/{n}").json()
                seen.add(att["conclusion"])
        assert "success" in seen and seen & {"failure", "timed_out", "startup_failure"}


def test_junit_xml_matches_ground_truth_and_attempt_outcome(server):
    world = server.world
    checked = 0
    for run in world.all_runs():
        if run.workflow_name != "CI":
            continue
        for a in run.attempts:
            execs = world.test_executions(run, a.run_attempt)
            arts = [x for x in run.artifacts if x.run_attempt == a.run_attempt and x.holds_tests]
            parsed = []
            for art in arts:
                root = ET.fromstring(junit_xml(art))
                suite = root.find("testsuite")
                assert suite.get("name") == "pytest"
                for case in suite.iter("testcase"):
                    child = next(iter(case), None)
                    tag = child.tag if child is not None else None
                    outcome = {
                        "failure": "failed",
                        "error": "error",
                        "skipped": "skipped",
                        None: "passed",
                    }[tag]
                    tid = f"{case.get('classname')}::{case.get('name')}"
                    parsed.append((tid, outcome, float(case.get("time"))))
            assert parsed == execs
            if any(o in ("failed", "error") for _, o, _ in execs):
                assert a.conclusion in ("failure", "timed_out", "cancelled")
            checked += len(arts)
        if checked > 200:
            break
    assert checked > 200


def test_flaky_and_slow_tests_show_in_executions():
    world = generate(
        FakeConfig(seed=11, repos=1, days=4, runs_per_day=60, end_date=END, flaky_test_p=0.05)
    )
    durations: dict[str, list[float]] = {}
    by_unit: dict[tuple[str, str], set[str]] = {}
    for run in world.all_runs():
        for art in run.artifacts:
            for tid, outcome, dur in artifact_executions(art):
                if outcome != "skipped":
                    durations.setdefault(tid, []).append(dur)
                by_unit.setdefault((tid, run.head_sha), set()).add(outcome)
    flaky_seen = {t for (t, _), outs in by_unit.items() if "passed" in outs and "failed" in outs}
    assert flaky_seen == world.flaky_tests
    median = {t: sorted(d)[len(d) // 2] for t, d in durations.items()}
    assert {t for t, m in median.items() if m > 1.0} == world.slow_tests
    consistently = {t for t, d in durations.items() if sum(x > 1.0 for x in d) >= 0.8 * len(d)}
    assert consistently == world.consistently_slow_tests
    assert world.consistently_slow_tests < world.slow_tests
    assert all(t.count("::") == 1 for t in world.flaky_tests)


def test_insert_run_keeps_order():
    world = generate(CFG)
    at = datetime(2025, 3, 29, 12, tzinfo=UTC)
    new = world.insert_run("acme/repo-0", at)
    runs = world.all_runs("acme/repo-0")
    assert new in runs and world.runs_by_id[new.run_id] is new
    keys = [(r.created_at, r.run_id) for r in runs]
    assert keys == sorted(keys)


def test_benchmark_world_is_busy_enough():
    # the extraction benchmark's 30 days of a busy repo: at least 20,000 runs
    world = generate(FakeConfig(repos=1, runs_per_day=700, days=30, end_date=END))
    assert len(world.all_runs()) >= 20_000


# ------------------------------------------------------------------ concurrency, CLI


def test_four_keep_alive_clients(server):
    errors: list[str] = []
    seen_ports: list[set[int]] = []

    def worker(i: int) -> None:
        ports: set[int] = set()
        with httpx.Client(base_url=server.url, headers=AUTH) as c:
            for k in range(40):
                r = c.get(
                    "/repos/acme/repo-0/actions/runs", params={"per_page": 10, "page": k % 4 + 1}
                )
                if r.status_code != 200:
                    errors.append(str(r.status_code))
                stream = r.extensions.get("network_stream")
                if stream is not None:
                    ports.add(stream.get_extra_info("client_addr")[1])
        seen_ports.append(ports)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert all(len(p) == 1 for p in seen_ports)  # one connection per client: keep-alive


def test_cli_prints_url_and_stops_on_sigterm():
    code = "import sys; from pipelines.fake_github.server import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "--seed",
            "5",
            "--repos",
            "1",
            "--days",
            "2",
            "--end-date",
            "2025-03-31",
            "--token",
            "abc",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("fake GitHub API on http://127.0.0.1:")
        assert line.rstrip().endswith("(repos: acme/repo-0)")
        url = line.split(" on ")[1].split(" ")[0]
        resp = httpx.get(
            f"{url}/repos/acme/repo-0/actions/runs", headers={"Authorization": "Bearer abc"}
        )
        assert resp.status_code == 200 and resp.json()["total_count"] > 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
