-- The steps of every job of one run ($repo, $run_id), every attempt, from the jobs' steps
-- in raw.workflow_jobs; duration is completed_at - started_at where both are known and
-- not reversed.
WITH steps AS (
    SELECT
        run_attempt,
        job_id,
        name AS job,
        started_at AS job_started_at,
        html_url,
        unnest(from_json(
            steps,
            '[{"number": "BIGINT", "name": "VARCHAR", "conclusion": "VARCHAR", "started_at": "VARCHAR", "completed_at": "VARCHAR"}]'
        )) AS s
    FROM raw.workflow_jobs
    WHERE repo = $repo AND run_id = $run_id
)
SELECT
    run_attempt,
    job,
    s.number AS step_number,
    s.name AS step,
    s.conclusion AS conclusion,
    timezone('UTC', try_cast(s.started_at AS TIMESTAMPTZ)) AS started_at,  -- as jobs: UTC
    CASE WHEN try_cast(s.completed_at AS TIMESTAMPTZ) >= try_cast(s.started_at AS TIMESTAMPTZ)
        THEN date_diff(
            'microsecond',
            try_cast(s.started_at AS TIMESTAMPTZ),
            try_cast(s.completed_at AS TIMESTAMPTZ)
        ) / 1e6 END AS duration_s,
    html_url
FROM steps
ORDER BY run_attempt, job_started_at NULLS LAST, job, job_id, step_number
