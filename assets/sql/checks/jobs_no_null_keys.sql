-- repo, job_id and run_id are never null (rows of no run's day are all reported).
SELECT repo, job_id, run_id
FROM raw.workflow_jobs
WHERE (run_created_at IS NULL
       OR (run_created_at >= $start_day::TIMESTAMP
           AND run_created_at < ($end_day + 1)::TIMESTAMP))
    AND (repo IS NULL OR job_id IS NULL OR run_id IS NULL)
