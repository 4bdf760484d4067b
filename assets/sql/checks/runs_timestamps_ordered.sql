-- created_at <= run_started_at <= updated_at where present.
SELECT repo, run_id, run_attempt, created_at, run_started_at, updated_at
FROM raw.workflow_runs
WHERE created_at >= $start_day::TIMESTAMP AND created_at < ($end_day + 1)::TIMESTAMP
    AND (created_at > run_started_at OR run_started_at > updated_at OR created_at > updated_at)
