-- kpi.slow_tests: tests whose median duration over the window is above 1.0 s, or that are
-- consistently slow (>= 5 executions, >= 80 % of them above 1.0 s).
-- Parameters: $as_of (the window's last day; kpi.test_stats is built for it).
SELECT
    repo,
    test_id,
    module,
    executions,
    median_duration_s,
    p95_duration_s,
    slow,
    consistently_slow,
    executions_over_1s,
    duration_regression,
    window_start,
    as_of
FROM test_stats
WHERE (slow OR consistently_slow) AND as_of = $as_of::DATE
ORDER BY median_duration_s DESC NULLS LAST, repo, test_id
