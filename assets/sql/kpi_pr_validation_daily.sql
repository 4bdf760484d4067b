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
attempts AS (
    SELECT
        r.*,
        min(r.created_at) OVER (PARTITION BY r.repo, r.run_id) AS run_created_at
    FROM raw.workflow_runs r
    SEMI JOIN touched t ON t.repo = r.repo AND t.run_id = r.run_id
),
final AS (
    SELECT
        repo, run_id, run_created_at::DATE AS day,
        CASE
            WHEN status = 'completed'
                AND conclusion IN ('success', 'failure', 'timed_out', 'startup_failure')
                AND updated_at >= run_started_at
            THEN date_diff('microsecond', run_started_at, updated_at) / 1e6
        END AS duration_s
    FROM attempts
    WHERE run_created_at >= $start_day::DATE AND run_created_at < $end_day::DATE + 1
        AND event IN ('pull_request', 'pull_request_target')
    QUALIFY row_number() OVER (PARTITION BY repo, run_id ORDER BY run_attempt DESC) = 1
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
