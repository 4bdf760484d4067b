-- Test flakiness per repo and window, from the filtered test units of the windows' days
-- (test_rows) and the tests counted per window (test_counts). A unit (repo, test id, known
-- head_sha) is flaky in a window when its rows in the window have both a pass and a
-- failure/error, or a rerun followed by a pass in one execution; a test is flaky with one
-- flaky unit; rate = flaky tests / distinct tests with a non-skipped outcome in the window.
-- Parameters: the windows'.
WITH candidates AS (
    -- only a unit with a failure or a rerun-then-pass somewhere can be flaky in a window
    SELECT DISTINCT repo, test_id, head_sha
    FROM test_rows
    WHERE head_sha IS NOT NULL AND (has_failed OR has_rerun_then_pass)
),
units AS (
    SELECT
        w.window_end, t.repo, t.test_id,
        (bool_or(t.has_passed) AND bool_or(t.has_failed)) OR bool_or(t.has_rerun_then_pass)
            AS flaky
    FROM windows w
    JOIN (SELECT u.* FROM test_rows u SEMI JOIN candidates c
          ON c.repo = u.repo AND c.test_id = u.test_id AND c.head_sha = u.head_sha) t
        ON t.day BETWEEN w.window_start AND w.window_end
    GROUP BY w.window_end, t.repo, t.test_id, t.head_sha
),
flaky AS (
    SELECT repo, window_end, count(DISTINCT test_id) FILTER (WHERE flaky) AS flaky_tests
    FROM units
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
