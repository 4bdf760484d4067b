-- kpi.run_flakiness: one row per unit (repo, workflow_id, head_sha) with at least one
-- attempt classed success or failure, bucketed on the day its first run was created.
-- A unit is flaky when its attempts (of all its runs) include both a success and a failure.
-- Parameters: $start_day, $end_day (inclusive UTC days).
WITH touched AS (
    SELECT DISTINCT repo, workflow_id, head_sha
    FROM raw.workflow_runs
    WHERE created_at >= $start_day::DATE AND created_at < $end_day::DATE + 1
        AND workflow_id IS NOT NULL AND head_sha IS NOT NULL
),
attempts AS (
    SELECT
        r.repo, r.workflow_id, r.head_sha, r.run_id, r.run_attempt, r.workflow_name,
        r.created_at,
        CASE
            WHEN r.status = 'completed' AND r.conclusion = 'success' THEN 'success'
            WHEN r.status = 'completed'
                AND r.conclusion IN ('failure', 'timed_out', 'startup_failure') THEN 'failure'
        END AS outcome_class
    FROM raw.workflow_runs r
    SEMI JOIN touched t
        ON t.repo = r.repo AND t.workflow_id = r.workflow_id AND t.head_sha = r.head_sha
)
SELECT
    repo,
    workflow_id,
    arg_max(workflow_name, created_at) AS workflow_name,
    head_sha,
    min(created_at)::DATE AS day,
    count(DISTINCT run_id) AS runs,
    count(*) AS attempts,
    count(*) FILTER (WHERE outcome_class = 'success') AS success_attempts,
    count(*) FILTER (WHERE outcome_class = 'failure') AS failure_attempts,
    success_attempts > 0 AND failure_attempts > 0 AS flaky
FROM attempts
GROUP BY repo, workflow_id, head_sha
HAVING min(created_at) >= $start_day::DATE AND min(created_at) < $end_day::DATE + 1
    AND count(outcome_class) > 0
ORDER BY repo, workflow_id, day, head_sha
