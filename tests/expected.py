"""What the generated GitHub world holds, as the rows the extraction must store: expected
values come from the generator's own data, never from the extractor's output."""

from datetime import date

from pipelines.fake_github.generator import FakeWorld

RUN_SQL = (
    "SELECT repo, run_id, run_attempt, status, conclusion, created_at, run_started_at, "
    "updated_at, workflow_name, event, head_sha FROM raw.workflow_runs"
)
JOB_SQL = (
    "SELECT repo, job_id, run_id, run_attempt, status, conclusion, started_at, completed_at "
    "FROM raw.workflow_jobs"
)


def _naive(dt):
    return dt.replace(tzinfo=None) if dt is not None else None


def expected_attempts(world: FakeWorld, first: date, last: date) -> set[tuple]:
    out = set()
    for run in world.runs_created_between(first, last):
        for a in run.attempts:
            out.add(
                (
                    run.repo,
                    run.run_id,
                    a.run_attempt,
                    a.status,
                    a.conclusion,
                    _naive(run.created_at),
                    _naive(a.run_started_at),
                    _naive(a.updated_at),
                    run.workflow_name,
                    run.event,
                    run.head_sha,
                )
            )
    return out


def expected_jobs(world: FakeWorld, first: date, last: date) -> set[tuple]:
    return {
        (
            run.repo,
            j.job_id,
            run.run_id,
            j.run_attempt,
            j.status,
            j.conclusion,
            _naive(j.started_at),
            _naive(j.completed_at),
        )
        for run in world.runs_created_between(first, last)
        for a in run.attempts
        for j in a.jobs
    }
