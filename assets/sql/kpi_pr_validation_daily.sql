-- kpi.pr_validation_daily: PR validation time per repo and day: attempt duration of the
-- final attempts of pull_request / pull_request_target runs created that day, completed and
-- not excluded. Sum and count are kept so a window mean is exact.
-- Parameters: $start_day, $end_day (inclusive UTC days).
WITH touched AS (
    SELECT DISTINCT repo, run_id
    FROM raw.workflow_runs
    WHERE created_at >= $start_day::DATE AND created_at < $end_day::DATE + 1
        AND event IN ('pull_request', 'pull_request_target')
),
final AS (
    -- per run: its first created_at over all attempts, and the duration of its highest
    -- PR-event attempt (aggregates instead of window functions, so no sort)
    SELECT
        r.repo, r.run_id, min(r.created_at)::DATE AS day,
        arg_max_null(
            CASE
                WHEN r.status = 'completed'
                    AND r.conclusion IN ('success', 'failure', 'timed_out', 'startup_failure')
                    AND r.updated_at >= r.run_started_at
                THEN date_diff('microsecond', r.run_started_at, r.updated_at) / 1e6
            END,
            r.run_attempt
        ) FILTER (WHERE r.event IN ('pull_request', 'pull_request_target')) AS duration_s
    FROM raw.workflow_runs r
    SEMI JOIN touched t ON t.repo = r.repo AND t.run_id = r.run_id
    GROUP BY r.repo, r.run_id
    HAVING min(r.created_at) >= $start_day::DATE AND min(r.created_at) < $end_day::DATE + 1
        AND count(*) FILTER (WHERE r.event IN ('pull_request', 'pull_request_target')) > 0
)
SELECT
    repo,
    day,
    count(*) AS pr_runs,
    count(duration_s) AS validated_runs,
    coalesce(sum(duration_s), 0) AS duration_sum_s,
    avg(duration_s) AS duration_mean_s,
    quantile_cont(duration_s, 0.5) AS duration_p50_s,
    quantile_cont(duration_s, 0.95) AS duration_p95_s
FROM final
GROUP BY ALL
ORDER BY repo, day
