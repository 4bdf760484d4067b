-- kpi.full_suite_daily: duration of the successful final attempts of the configured
-- full-suite workflow, per repo and day its runs were created.
-- Parameters: $start_day, $end_day (inclusive UTC days), $full_suite_workflow.
WITH touched AS (
    SELECT DISTINCT repo, run_id
    FROM raw.workflow_runs
    WHERE created_at >= $start_day::DATE AND created_at < $end_day::DATE + 1
        AND workflow_name = $full_suite_workflow
),
attempts AS (
    SELECT r.*, min(r.created_at) OVER (PARTITION BY r.repo, r.run_id) AS run_created_at
    FROM raw.workflow_runs r
    SEMI JOIN touched t ON t.repo = r.repo AND t.run_id = r.run_id
),
final AS (
    SELECT
        repo, run_id, workflow_name, run_created_at::DATE AS day,
        CASE
            WHEN status = 'completed' AND conclusion = 'success' AND updated_at >= run_started_at
            THEN date_diff('microsecond', run_started_at, updated_at) / 1e6
        END AS duration_s
    FROM attempts
    WHERE run_created_at >= $start_day::DATE AND run_created_at < $end_day::DATE + 1
    QUALIFY row_number() OVER (PARTITION BY repo, run_id ORDER BY run_attempt DESC) = 1
)
SELECT
    repo,
    day,
    $full_suite_workflow::VARCHAR AS workflow_name,
    count(*) AS runs,
    count(duration_s) AS successful_runs,
    quantile_cont(duration_s, 0.5) AS duration_p50_s,
    quantile_cont(duration_s, 0.95) AS duration_p95_s,
    avg(duration_s) AS duration_mean_s
FROM final
WHERE workflow_name = $full_suite_workflow
GROUP BY ALL
ORDER BY repo, day
