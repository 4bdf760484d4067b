-- repo, run_id, run_attempt and created_at are never null (rows without a created_at
-- belong to no day, so every such row is reported).
SELECT repo, run_id, run_attempt, created_at
FROM raw.workflow_runs
WHERE (created_at IS NULL
       OR (created_at >= $start_day::TIMESTAMP AND created_at < ($end_day + 1)::TIMESTAMP))
    AND (repo IS NULL OR run_id IS NULL OR run_attempt IS NULL OR created_at IS NULL)
