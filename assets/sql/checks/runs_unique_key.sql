-- One row per (repo, run_id, run_attempt) among the range's attempts.
SELECT repo, run_id, run_attempt, count(*) AS copies
FROM raw.workflow_runs
WHERE created_at >= $start_day::TIMESTAMP AND created_at < ($end_day + 1)::TIMESTAMP
GROUP BY ALL
HAVING count(*) > 1
