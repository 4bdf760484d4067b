"""The client's row mapping and Link parsing on responses recorded from the real GitHub API."""

import json
from datetime import UTC, datetime

import pytest

from pipelines.github.client import parse_link_header
from pipelines.github.rows import job_row, run_row
from tests import corpus

CORPUS = corpus.GITHUB
NOW = datetime(2026, 1, 1, 12, 0, 0)

pytestmark = corpus.needs_corpus


def _bodies() -> list[tuple[str, object]]:
    found = []
    patterns = (
        "pygithub/extracted/*.body.json",
        "hub4j/**/__files/*.json",
        "openapi-examples/*.json",
    )
    for pattern in patterns:
        for path in sorted(CORPUS.glob(pattern)):
            text = path.read_text(encoding="utf-8").strip()
            if text:
                found.append((str(path.relative_to(CORPUS)), json.loads(text)))
    return found


def _objects(kind: str) -> list[tuple[str, dict]]:
    """Every run (or job) object anywhere in the recorded bodies."""
    out = []
    for name, body in _bodies():
        if not isinstance(body, dict):
            continue
        if kind == "run":
            items = body.get("workflow_runs") or ([body] if "run_number" in body else [])
        else:
            items = body.get("jobs") or ([body] if "steps" in body and "run_id" in body else [])
        out += [(name, item) for item in items]
    return out


def _utc(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)


def _name_id(value: object) -> str:
    return value if isinstance(value, str) else ""


def test_corpus_holds_runs_and_jobs() -> None:
    assert len(_objects("run")) >= 30
    assert len(_objects("job")) >= 5


@pytest.mark.parametrize("name,run", corpus.corpus_params(_objects("run"), 2), ids=_name_id)
def test_every_recorded_run_maps_to_a_row(name: str, run: dict) -> None:
    row = run_row("o/r", run, NOW)
    assert row["run_id"] == run["id"]
    assert row["run_attempt"] == run.get("run_attempt", 1)
    assert row["workflow_name"] == run.get("name")
    assert row["status"] == run["status"] and row["conclusion"] == run["conclusion"]
    assert row["head_sha"] == run["head_sha"]
    for field in ("created_at", "updated_at", "run_started_at"):
        expected = _utc(run.get(field))
        got = row[field]
        assert (datetime.fromisoformat(got) if got else None) == expected, field
    assert row["pull_request_numbers"] == [p["number"] for p in run.get("pull_requests") or []]
    if run.get("actor"):
        assert row["actor"] == run["actor"]["login"]


@pytest.mark.parametrize("name,job", corpus.corpus_params(_objects("job"), 2), ids=_name_id)
def test_every_recorded_job_maps_to_a_row(name: str, job: dict) -> None:
    row = job_row("o/r", job, run_created_at=None, extracted_at=NOW)
    assert row["job_id"] == job["id"] and row["run_id"] == job["run_id"]
    assert row["labels"] == list(job.get("labels") or [])
    for field in ("started_at", "completed_at"):
        got = row[field]
        assert (datetime.fromisoformat(got) if got else None) == _utc(job.get(field))
    steps = json.loads(row["steps"])
    assert [s["name"] for s in steps] == [s["name"] for s in job["steps"]]


def test_startup_failure_conclusion_is_kept() -> None:
    runs = [r for n, r in _objects("run") if "testStartupFailureConclusion" in n]
    assert runs and any(run_row("o/r", r, NOW)["conclusion"] == "startup_failure" for r in runs)


def test_recorded_link_headers_parse() -> None:
    seen = 0
    for path in sorted((CORPUS / "pygithub" / "extracted").glob("*.headers.json")):
        record = json.loads(path.read_text())
        headers = {k.lower(): v for k, v in record["headers"]}
        if "link" not in headers:
            continue
        links = parse_link_header(headers["link"])
        assert "next" in links or "prev" in links, path.name
        for url in links.values():
            assert url.startswith("https://api.github.com/")
        seen += 1
    assert seen >= 2
