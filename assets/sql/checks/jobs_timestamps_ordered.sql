-- started_at <= completed_at where present.
SELECT repo, job_id, started_at, completed_at
FROM raw.workflow_jobs
WHERE (run_created_at IS NULL  -- a job of no known day is checked in every range
       OR (run_created_at >= $start_day::TIMESTAMP
           AND run_created_at < ($end_day + 1)::TIMESTAMP))
    AND started_at > completed_at
