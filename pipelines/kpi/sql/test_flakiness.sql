-- Test flakiness per repo and window, from the filtered test units (tests_f: per test,
-- commit, day and run dimensions, kpi.test_units_daily). A unit (repo, test id, known
-- head_sha) is flaky in a window when its rows in the window have both a pass and a
-- failure/error, or a rerun followed by a pass in one execution; a test is flaky with one
-- flaky unit; rate = flaky tests / distinct tests with a non-skipped outcome in the window.
-- Parameters: the windows'.
WITH tu AS (
    SELECT repo, test_id, head_sha, day, has_passed, has_failed, has_non_skipped,
        has_rerun_then_pass
    FROM tests_f
    WHERE day BETWEEN $first_end::DATE - ($window_days - 1) AND $last_end::DATE
        AND repo IS NOT NULL
),
candidates AS (
    -- only a unit with a failure or a rerun-then-pass somewhere can be flaky in a window
    SELECT DISTINCT repo, test_id, head_sha
    FROM tu
    WHERE head_sha IS NOT NULL AND (has_failed OR has_rerun_then_pass)
),
units AS (
    SELECT
        w.window_end, t.repo, t.test_id,
        (bool_or(t.has_passed) AND bool_or(t.has_failed)) OR bool_or(t.has_rerun_then_pass)
            AS flaky
    FROM windows w
    JOIN (SELECT u.* FROM tu u SEMI JOIN candidates c
          ON c.repo = u.repo AND c.test_id = u.test_id AND c.head_sha = u.head_sha) t
        ON t.day BETWEEN w.window_start AND w.window_end
    GROUP BY w.window_end, t.repo, t.test_id, t.head_sha
),
flaky AS (
    SELECT repo, window_end, count(DISTINCT test_id) FILTER (WHERE flaky) AS flaky_tests
    FROM units
    GROUP BY ALL
),
test_days AS (
    SELECT DISTINCT repo, test_id, day FROM tu WHERE has_non_skipped
),
cover AS (
    -- a test seen on day d is in the windows ending d .. d + window_days - 1: intervals
    -- made non-overlapping per test, then counted per day by a running sum of steps
    SELECT
        repo, day AS a,
        least(
            day + ($window_days - 1),
            coalesce(lead(day) OVER (PARTITION BY repo, test_id ORDER BY day) - 1,
                     day + ($window_days - 1))
        ) AS b
    FROM test_days
),
steps AS (
    SELECT repo, d, sum(delta) AS delta
    FROM (SELECT repo, a AS d, 1 AS delta FROM cover
          UNION ALL SELECT repo, b + 1, -1 FROM cover)
    GROUP BY ALL
),
tests AS (
    SELECT repo, d, sum(delta) OVER (PARTITION BY repo ORDER BY d) AS tests FROM steps
),
grid AS (
    SELECT r.repo, w.window_end FROM windows w, (SELECT DISTINCT repo FROM tu) r
)
SELECT
    g.repo,
    NULL::VARCHAR AS workflow_name,
    NULL::VARCHAR AS event,
    g.window_end,
    n.tests::BIGINT AS flakiness_tests,
    coalesce(f.flaky_tests, 0)::BIGINT AS flaky_tests,
    coalesce(f.flaky_tests, 0) / nullif(n.tests, 0) AS test_flakiness_rate
FROM grid g
ASOF LEFT JOIN tests n ON n.repo = g.repo AND n.d <= g.window_end
LEFT JOIN flaky f ON f.repo = g.repo AND f.window_end = g.window_end
WHERE n.tests > 0
