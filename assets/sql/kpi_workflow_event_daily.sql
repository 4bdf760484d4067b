-- kpi.workflow_event_daily: run volume per repo, workflow, event and day, attempts beside.
-- Parameters: $start_day, $end_day (inclusive UTC days).
WITH touched AS (
    SELECT DISTINCT repo, run_id
    FROM raw.workflow_runs
    WHERE created_at >= $start_day::DATE AND created_at < $end_day::DATE + 1
),
runs AS (
    SELECT
        r.repo, r.run_id,
        min(r.created_at)::DATE AS day,
        arg_max_null(r.workflow_name, r.run_attempt) AS workflow_name,
        arg_max_null(r.event, r.run_attempt) AS event,
        count(*) AS attempts
    FROM raw.workflow_runs r
    SEMI JOIN touched t ON t.repo = r.repo AND t.run_id = r.run_id
    GROUP BY r.repo, r.run_id
    HAVING min(r.created_at) >= $start_day::DATE AND min(r.created_at) < $end_day::DATE + 1
)
SELECT repo, workflow_name, event, day, count(*) AS runs, sum(attempts)::BIGINT AS attempts
FROM runs
GROUP BY ALL
ORDER BY repo, workflow_name, event, day
