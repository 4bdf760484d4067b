-- conclusion is null or one of the known conclusions.
SELECT repo, job_id, conclusion
FROM raw.workflow_jobs
WHERE (run_created_at IS NULL  -- a job of no known day is checked in every range
       OR (run_created_at >= $start_day::TIMESTAMP
           AND run_created_at < ($end_day + 1)::TIMESTAMP))
    AND conclusion IS NOT NULL
    AND conclusion NOT IN ('success', 'failure', 'timed_out', 'startup_failure', 'cancelled',
                           'skipped', 'neutral', 'action_required', 'stale')
