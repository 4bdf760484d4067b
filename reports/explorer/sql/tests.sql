-- The tests listing (and the test page's totals, with $test_id set): per repository and test
-- id among the filtered test rows of the period (test_rows_f), executions, failures (failed
-- or error), failure rate over the non-skipped ones, the commits proving it flaky (its
-- flaky test_flakiness_units) and its duration p50 / p95 (as kpi.test_stats takes them).
-- total is the row count before paging; {order} is a whitelisted ORDER BY list.
WITH measured AS (
    SELECT
        repo,
        test_id,
        count(*) AS executions,
        count(*) FILTER (WHERE outcome = 'passed') AS passed,
        count(*) FILTER (WHERE outcome IN ('failed', 'error')) AS failures,
        count(*) FILTER (WHERE outcome = 'skipped') AS skipped,
        count(*) FILTER (WHERE outcome IN ('failed', 'error'))
            / nullif(count(*) FILTER (WHERE outcome <> 'skipped'), 0) AS failure_rate,
        -- both percentiles from one aggregate: one sort of the durations, not two
        quantile_cont(duration_s, [0.5, 0.95]) AS durations,
        max(day) AS last_day
    FROM test_rows_f
    WHERE $test_id::VARCHAR IS NULL OR test_id = $test_id::VARCHAR
    GROUP BY repo, test_id
),
stats AS (
    SELECT * EXCLUDE (durations), durations[1] AS duration_p50_s, durations[2] AS duration_p95_s
    FROM measured
),
flaky AS (
    SELECT repo, test_id, count(*) AS flaky_commits
    FROM test_flakiness_units
    -- by the test's key, which the units group on, so the filter reaches their rows
    WHERE flaky AND ($test_id::VARCHAR IS NULL OR test_key = md5_number($test_id::VARCHAR))
    GROUP BY repo, test_id
)
SELECT
    s.repo,
    s.test_id,
    s.executions,
    s.passed,
    s.failures,
    s.skipped,
    s.failure_rate,
    coalesce(f.flaky_commits, 0) AS flaky_commits,
    s.duration_p50_s,
    s.duration_p95_s,
    s.last_day,
    count(*) OVER () AS total
FROM stats s
LEFT JOIN flaky f ON f.repo IS NOT DISTINCT FROM s.repo AND f.test_id = s.test_id
ORDER BY {order}
LIMIT $limit OFFSET $offset
