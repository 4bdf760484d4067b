-- Test flakiness per repo and window, from the flaky units of each window
-- (test_flakiness_units, which defines them) and the tests counted per window
-- (test_counts): a test is flaky with one flaky unit; rate = flaky tests / distinct tests
-- with a non-skipped outcome in the window.
-- Parameters: the windows'.
WITH flaky AS (
    SELECT repo, window_end, count(DISTINCT test_key) FILTER (WHERE flaky) AS flaky_tests
    FROM test_flakiness_units
    GROUP BY ALL
)
SELECT
    n.repo,
    NULL::VARCHAR AS workflow_name,
    NULL::VARCHAR AS event,
    n.window_end,
    n.tests::BIGINT AS flakiness_tests,
    coalesce(f.flaky_tests, 0)::BIGINT AS flaky_tests,
    coalesce(f.flaky_tests, 0) / n.tests AS test_flakiness_rate
FROM test_counts n
LEFT JOIN flaky f ON f.repo = n.repo AND f.window_end = n.window_end
WHERE n.tests > 0
