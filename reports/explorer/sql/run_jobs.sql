-- The jobs of one run ($repo, $run_id), every attempt, from raw.workflow_jobs; the
-- timeline draws started_at .. completed_at.
SELECT
    run_attempt,
    job_id,
    name,
    status,
    conclusion,
    created_at,
    started_at,
    completed_at,
    CASE WHEN completed_at >= started_at
        THEN date_diff('microsecond', started_at, completed_at) / 1e6 END AS duration_s,
    CASE WHEN started_at >= created_at
        THEN date_diff('microsecond', created_at, started_at) / 1e6 END AS queue_s,
    runner_name,
    array_to_string(coalesce(labels, []), ', ') AS labels,
    html_url
FROM raw.workflow_jobs
WHERE repo = $repo AND run_id = $run_id
ORDER BY run_attempt, started_at NULLS LAST, name, job_id
