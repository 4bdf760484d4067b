"""GitHub JSON objects → rows of ``raw.workflow_runs`` and ``raw.workflow_jobs``.

Only the fields the store keeps are read, so a full 5 KB run object becomes a
few hundred bytes as soon as it arrives.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

RUN_COLUMNS: dict[str, str] = {
    "repo": "VARCHAR",
    "run_id": "BIGINT",
    "run_attempt": "INTEGER",
    "run_number": "INTEGER",
    "workflow_id": "BIGINT",
    "workflow_name": "VARCHAR",
    "workflow_path": "VARCHAR",
    "event": "VARCHAR",
    "status": "VARCHAR",
    "conclusion": "VARCHAR",
    "head_branch": "VARCHAR",
    "head_sha": "VARCHAR",
    "actor": "VARCHAR",
    "triggering_actor": "VARCHAR",
    "display_title": "VARCHAR",
    "created_at": "TIMESTAMP",
    "run_started_at": "TIMESTAMP",
    "updated_at": "TIMESTAMP",
    "html_url": "VARCHAR",
    "pull_request_numbers": "INTEGER[]",
    "extracted_at": "TIMESTAMP",
}

JOB_COLUMNS: dict[str, str] = {
    "repo": "VARCHAR",
    "job_id": "BIGINT",
    "run_id": "BIGINT",
    "run_attempt": "INTEGER",
    "run_created_at": "TIMESTAMP",
    "workflow_name": "VARCHAR",
    "name": "VARCHAR",
    "status": "VARCHAR",
    "conclusion": "VARCHAR",
    "created_at": "TIMESTAMP",
    "started_at": "TIMESTAMP",
    "completed_at": "TIMESTAMP",
    "runner_id": "BIGINT",
    "runner_name": "VARCHAR",
    "runner_group_name": "VARCHAR",
    "labels": "VARCHAR[]",
    "steps": "JSON",
    "html_url": "VARCHAR",
    "extracted_at": "TIMESTAMP",
}


def timestamp(value: str | None) -> str | None:
    """GitHub's ``2025-01-02T03:04:05Z`` (or with an offset) → naive-UTC ISO text."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.isoformat(sep=" ")


def _login(user: Any) -> str | None:
    return user.get("login") if isinstance(user, dict) else None


def run_row(repo: str, run: dict[str, Any], extracted_at: datetime) -> dict[str, Any]:
    """One attempt of a workflow run (the listing's object is its latest attempt)."""
    prs = run.get("pull_requests") or []
    return {
        "repo": repo,
        "run_id": run["id"],
        "run_attempt": run.get("run_attempt") or 1,
        "run_number": run.get("run_number"),
        "workflow_id": run.get("workflow_id"),
        "workflow_name": run.get("name"),
        "workflow_path": run.get("path"),
        "event": run.get("event"),
        "status": run.get("status"),
        "conclusion": run.get("conclusion"),
        "head_branch": run.get("head_branch"),
        "head_sha": run.get("head_sha"),
        "actor": _login(run.get("actor")),
        "triggering_actor": _login(run.get("triggering_actor")),
        "display_title": run.get("display_title"),
        "created_at": timestamp(run.get("created_at")),
        "run_started_at": timestamp(run.get("run_started_at")),
        "updated_at": timestamp(run.get("updated_at")),
        "html_url": run.get("html_url"),
        "pull_request_numbers": [p["number"] for p in prs if isinstance(p, dict) and "number" in p],
        "extracted_at": extracted_at.isoformat(sep=" "),
    }


def job_row(
    repo: str,
    job: dict[str, Any],
    *,
    run_created_at: str | None,
    extracted_at: datetime,
) -> dict[str, Any]:
    """One job of one attempt; ``run_created_at`` places it in its run's daily partition."""
    steps = [
        {
            "number": s.get("number"),
            "name": s.get("name"),
            "status": s.get("status"),
            "conclusion": s.get("conclusion"),
            "started_at": s.get("started_at"),
            "completed_at": s.get("completed_at"),
        }
        for s in job.get("steps") or []
    ]
    return {
        "repo": repo,
        "job_id": job["id"],
        "run_id": job["run_id"],
        "run_attempt": job.get("run_attempt") or 1,
        "run_created_at": run_created_at,
        "workflow_name": job.get("workflow_name"),
        "name": job.get("name"),
        "status": job.get("status"),
        "conclusion": job.get("conclusion"),
        "created_at": timestamp(job.get("created_at")),
        "started_at": timestamp(job.get("started_at")),
        "completed_at": timestamp(job.get("completed_at")),
        "runner_id": job.get("runner_id"),
        "runner_name": job.get("runner_name"),
        "runner_group_name": job.get("runner_group_name"),
        "labels": list(job.get("labels") or []),
        "steps": json.dumps(steps, separators=(",", ":")),
        "html_url": job.get("html_url"),
        "extracted_at": extracted_at.isoformat(sep=" "),
    }
