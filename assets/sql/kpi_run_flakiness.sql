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
per_run AS (
    -- one row per run of a touched unit first, so the unit needs no count(DISTINCT)
    SELECT
        r.repo, r.workflow_id, r.head_sha, r.run_id,
        arg_max(r.workflow_name, r.created_at) AS workflow_name,
        max(r.created_at) FILTER (WHERE r.workflow_name IS NOT NULL) AS workflow_name_at,
        min(r.created_at) AS first_created_at,
        count(*) AS attempts,
        count(*) FILTER (WHERE r.status = 'completed' AND r.conclusion = 'success')
            AS success_attempts,
        count(*) FILTER (
            WHERE r.status = 'completed'
                AND r.conclusion IN ('failure', 'timed_out', 'startup_failure')
        ) AS failure_attempts
    FROM raw.workflow_runs r
    SEMI JOIN touched t
        ON t.repo = r.repo AND t.workflow_id = r.workflow_id AND t.head_sha = r.head_sha
    GROUP BY r.repo, r.workflow_id, r.head_sha, r.run_id
)
SELECT
    repo,
    workflow_id,
    arg_max(workflow_name, workflow_name_at) AS workflow_name,
    head_sha,
    min(first_created_at)::DATE AS day,
    count(*) AS runs,
    sum(attempts)::BIGINT AS attempts,
    sum(success_attempts)::BIGINT AS success_attempts,
    sum(failure_attempts)::BIGINT AS failure_attempts,
    sum(success_attempts) > 0 AND sum(failure_attempts) > 0 AS flaky
FROM per_run
GROUP BY repo, workflow_id, head_sha
HAVING min(first_created_at) >= $start_day::DATE AND min(first_created_at) < $end_day::DATE + 1
    AND sum(success_attempts) + sum(failure_attempts) > 0
ORDER BY repo, workflow_id, day, head_sha
