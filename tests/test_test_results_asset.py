"""Test results from run artifacts, end to end: fake server → Dagster asset → DuckDB.

The expected rows are what the generator put into each artifact (its ground
truth), linked to the run and attempt that uploaded it.
"""

from collections import Counter
from datetime import timedelta

from pipelines import store
from pipelines.fake_github.generator import FakeConfig, generate
from pipelines.fake_github.server import FakeGitHubServer
from pipelines.materialize import materialize_range
from tests.conftest import END, TOKEN, raw_resources


def _assets():
    from assets.github import github_workflow_jobs, github_workflow_runs
    from assets.test_results import test_results

    return [github_workflow_runs, github_workflow_jobs, test_results]


def expected_rows(world, first, last) -> Counter:
    """Every test execution of every attempt's unexpired test artifacts."""
    rows: Counter = Counter()
    for run in world.runs_created_between(first, last):
        attempts = {a.run_attempt for a in run.artifacts if a.holds_tests and not a.expired}
        for n in attempts:
            for test_id, outcome, _ in world.test_executions(run, n):
                rows[(run.repo, run.run_id, n, run.head_sha, test_id, outcome)] += 1
    return rows


def stored_rows(db_path) -> Counter:
    with store.connect(db_path, read_only=True) as con:
        got = con.execute(
            "SELECT repo, run_id, run_attempt, head_sha, test_id, outcome FROM raw.test_results"
        ).fetchall()
    return Counter(got)


def test_artifacts_are_ingested_once_and_linked_to_their_runs(db_path, instance):
    world = generate(FakeConfig(seed=21, repos=1, days=2, end_date=END, runs_per_day=30))
    first, last = END - timedelta(days=1), END
    with FakeGitHubServer(world, token=TOKEN) as server:
        res = raw_resources(server, db_path)
        result = materialize_range(first, last, resources=res, instance=instance, assets=_assets())
        assert result.success
        want = expected_rows(world, first, last)
        assert sum(want.values()) > 500
        assert stored_rows(db_path) == want
        downloads = server.stats.snapshot()["by_kind"]
        # a second pass downloads nothing and adds nothing
        again = materialize_range(first, last, resources=res, instance=instance, assets=_assets())
        assert again.success
        assert server.stats.snapshot()["by_kind"].get("blob") == downloads.get("blob")
    assert stored_rows(db_path) == want
    with store.connect(db_path, read_only=True) as con:
        days = {d for (d,) in con.execute("SELECT DISTINCT day FROM raw.test_results").fetchall()}
        workflows = {
            w for (w,) in con.execute("SELECT DISTINCT workflow FROM raw.test_results").fetchall()
        }
    assert days <= {first, last} and workflows == {"CI"}


def test_generator_flaky_tests_are_found(db_path, instance):
    """Over enough runs, kpi-style detection on the stored rows finds the made-flaky tests."""
    world = generate(
        FakeConfig(seed=4, repos=1, days=3, end_date=END, runs_per_day=40, flaky_test_p=0.08)
    )
    first, last = END - timedelta(days=2), END
    with FakeGitHubServer(world, token=TOKEN) as server:
        res = raw_resources(server, db_path)
        assert materialize_range(first, last, resources=res, instance=instance, assets=_assets())
    with store.connect(db_path, read_only=True) as con:
        found = {
            t
            for (t,) in con.execute(
                """
                SELECT test_id FROM raw.test_results WHERE head_sha IS NOT NULL
                GROUP BY repo, test_id, head_sha
                HAVING bool_or(outcome = 'passed') AND bool_or(outcome IN ('failed', 'error'))
                """
            ).fetchall()
        }
    assert found, "the generator's flaky tests must show up as passed and failed on one commit"
    assert found <= set(world.flaky_tests) | _broken_tests(world)
    assert found & set(world.flaky_tests)


def _broken_tests(world) -> set[str]:
    return {t for run in world.all_runs() for t in run.broken_tests}


def test_expired_artifacts_are_recorded_once_and_never_downloaded(db_path, instance):
    """Artifacts past retention are listed as expired: recorded, never asked for again."""
    world = generate(
        FakeConfig(
            seed=8, repos=1, days=3, end_date=END, runs_per_day=20, artifact_retention_days=1
        )
    )
    first, last = END - timedelta(days=2), END
    runs = world.runs_created_between(first, last)
    expired = {a.artifact_id for r in runs for a in r.artifacts if a.holds_tests and a.expired}
    fresh = {a.artifact_id for r in runs for a in r.artifacts if a.holds_tests and not a.expired}
    assert expired and fresh, "retention of one day must leave both kinds in three days"
    with FakeGitHubServer(world, token=TOKEN) as server:
        res = raw_resources(server, db_path)
        assert materialize_range(first, last, resources=res, instance=instance, assets=_assets())
        blobs = server.stats.snapshot()["by_kind"].get("blob", 0)
        assert materialize_range(first, last, resources=res, instance=instance, assets=_assets())
        assert server.stats.snapshot()["by_kind"].get("blob", 0) == blobs == len(fresh)
    with store.connect(db_path, read_only=True) as con:
        seen = dict(
            con.execute(
                "SELECT artifact_id, status FROM meta.artifacts_seen WHERE status = 'expired'"
            ).fetchall()
        )
    assert set(seen) == expired
    assert stored_rows(db_path) == expected_rows(world, first, last)


def test_a_download_answering_410_counts_as_expired():
    import httpx

    from pipelines.github.client import GitHubClient
    from pipelines.testresults.artifacts import ArtifactRef, download_all

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(410, json={"message": "Artifact has expired"})

    ref = ArtifactRef("o/r", 1, "junit", 5, "abc", "main", None, False, "https://api.test/zip/1")
    with GitHubClient("https://api.test", "t", transport=httpx.MockTransport(handler)) as client:
        (download,) = download_all(client, [ref], concurrency=1)
    assert download.status == "expired" and download.data is None


def test_download_rounds_are_cut_by_count_and_by_listed_size() -> None:
    from pipelines.testresults.artifacts import ArtifactRef, batches

    def ref(artifact_id: int, size: int) -> ArtifactRef:
        return ArtifactRef("o/r", artifact_id, "junit", 1, None, None, None, False, "u", size)

    sizes = [10, 10, 10, 10, 10, 95, 10, 200, 1, 1]
    rounds = list(batches((ref(i, s) for i, s in enumerate(sizes)), max_count=3, max_bytes=100))
    got = [[r.size_in_bytes for r in batch] for batch in rounds]
    # three at most; a round stops before it would pass 100 bytes; an oversized one stands alone
    assert got == [[10, 10, 10], [10, 10], [95], [10], [200], [1, 1]]
    assert [r.artifact_id for batch in rounds for r in batch] == list(range(len(sizes)))
