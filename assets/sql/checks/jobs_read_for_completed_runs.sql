-- Completed runs created on $start_day … $end_day whose jobs were never read: no entry in
-- meta.jobs_fetched for their latest attempt (the jobs extraction failed after the runs
-- were stored, e.g. an outage mid-way). Runs that failed to start (startup_failure) have
-- no jobs to read; runs with an attempt still going are read again anyway.
WITH runs AS (
    SELECT repo, run_id, max(run_attempt) AS run_attempt, min(created_at) AS created_at,
           arg_max(conclusion, run_attempt) AS conclusion,
           bool_and(status = 'completed') AS completed
    FROM raw.workflow_runs
    WHERE created_at >= $start_day::TIMESTAMP AND created_at < ($end_day + 1)::TIMESTAMP
    GROUP BY repo, run_id
)
SELECT r.repo, r.run_id, r.run_attempt, r.created_at, r.conclusion
FROM runs r
WHERE r.completed
  AND r.conclusion IS DISTINCT FROM 'startup_failure'
  AND NOT EXISTS (
      SELECT 1 FROM meta.jobs_fetched f
      WHERE f.repo = r.repo AND f.run_id = r.run_id AND f.run_attempt = r.run_attempt
  )
ORDER BY r.created_at, r.repo, r.run_id
