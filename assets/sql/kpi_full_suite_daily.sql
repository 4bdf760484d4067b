-- kpi.full_suite_daily: duration of the successful final attempts of the configured
-- full-suite workflow, per repo and day its runs were created.
-- Parameters: $start_day, $end_day (inclusive UTC days), $full_suite_workflow.
WITH touched AS (
    SELECT DISTINCT repo, run_id
    FROM raw.workflow_runs
    WHERE created_at >= $start_day::DATE AND created_at < $end_day::DATE + 1
        AND workflow_name = $full_suite_workflow
),
final AS (
    -- per run: its first created_at over all attempts and its final attempt (highest
    -- run_attempt); aggregates instead of window functions, so no sort
    SELECT
        r.repo, r.run_id, min(r.created_at)::DATE AS day,
        arg_max_null(
            {'workflow_name': r.workflow_name,
             'duration_s': CASE
                WHEN r.status = 'completed' AND r.conclusion = 'success'
                    AND r.updated_at >= r.run_started_at
                THEN date_diff('microsecond', r.run_started_at, r.updated_at) / 1e6
             END},
            r.run_attempt
        ) AS fin
    FROM raw.workflow_runs r
    SEMI JOIN touched t ON t.repo = r.repo AND t.run_id = r.run_id
    GROUP BY r.repo, r.run_id
    HAVING min(r.created_at) >= $start_day::DATE AND min(r.created_at) < $end_day::DATE + 1
)
SELECT
    repo,
    day,
    $full_suite_workflow::VARCHAR AS workflow_name,
    count(*) AS runs,
    count(fin.duration_s) AS successful_runs,
    quantile_cont(fin.duration_s, 0.5) AS duration_p50_s,
    quantile_cont(fin.duration_s, 0.95) AS duration_p95_s,
    avg(fin.duration_s) AS duration_mean_s
FROM final
WHERE fin.workflow_name = $full_suite_workflow
GROUP BY ALL
ORDER BY repo, day
