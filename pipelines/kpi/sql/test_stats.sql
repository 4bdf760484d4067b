-- kpi.test_stats: per test (repo, test id) over the window ($as_of - ($window_days - 1) ..
-- $as_of): executions (every stored row), outcomes, median / p95 duration, slow, consistently
-- slow, flaky and duration regression versus the $window_days days before the window.
-- Parameters: $as_of (the window's last day), $window_days (its length; 7 for kpi.*).
WITH cur AS (
    SELECT
        repo,
        test_id,
        any_value(module) AS module,
        count(*) AS executions,
        count(*) FILTER (WHERE outcome = 'passed') AS passed,
        count(*) FILTER (WHERE outcome = 'failed') AS failed,
        count(*) FILTER (WHERE outcome = 'error') AS errors,
        count(*) FILTER (WHERE outcome = 'skipped') AS skipped,
        count(*) FILTER (WHERE outcome = 'rerun') AS reruns,
        count(duration_s) AS timed_executions,
        count(*) FILTER (WHERE duration_s > 1.0) AS executions_over_1s,
        quantile_cont(duration_s, 0.5) AS median_duration_s,
        quantile_cont(duration_s, 0.95) AS p95_duration_s,
        avg(duration_s) AS mean_duration_s
    FROM raw.test_results
    WHERE day BETWEEN $as_of::DATE - ($window_days - 1) AND $as_of::DATE
    GROUP BY repo, test_id
),
prev AS (
    SELECT
        repo,
        test_id,
        count(duration_s) AS prev_timed_executions,
        quantile_cont(duration_s, 0.5) AS prev_median_duration_s
    FROM raw.test_results
    WHERE day BETWEEN $as_of::DATE - (2 * $window_days - 1) AND $as_of::DATE - $window_days
    GROUP BY repo, test_id
),
flaky AS (
    SELECT repo, test_id, count(*) AS flaky_units
    FROM test_flaky_units
    WHERE flaky
    GROUP BY repo, test_id
)
SELECT
    c.*,
    coalesce(f.flaky_units, 0) AS flaky_units,
    coalesce(f.flaky_units, 0) > 0 AS flaky,
    coalesce(c.median_duration_s > 1.0, false) AS slow,
    c.executions >= 5 AND c.executions_over_1s >= 0.8 * c.executions AS consistently_slow,
    p.prev_timed_executions,
    p.prev_median_duration_s,
    coalesce(
        c.timed_executions >= 3 AND p.prev_timed_executions >= 3
        AND c.median_duration_s >= 0.1 AND p.prev_median_duration_s >= 0.1
        AND c.median_duration_s > 1.5 * p.prev_median_duration_s,
        false
    ) AS duration_regression,
    $as_of::DATE - ($window_days - 1) AS window_start,
    $as_of::DATE AS as_of
FROM cur c
LEFT JOIN prev p ON p.repo IS NOT DISTINCT FROM c.repo AND p.test_id = c.test_id
LEFT JOIN flaky f ON f.repo IS NOT DISTINCT FROM c.repo AND f.test_id = c.test_id
ORDER BY c.repo, c.test_id
