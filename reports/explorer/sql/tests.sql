-- The tests listing (and the test page's totals, with $test_id set): per repository and test
-- among the filtered test rows of the period, executions, failures (failed or error),
-- failure rate over the non-skipped ones, the commits proving it flaky (its flaky
-- test_flakiness_units) and its duration p50 / p95 (as kpi.test_stats takes them).
-- The counts add up the filtered test facts (tests_f: the same rows, counted per unit and
-- day); durations need the rows themselves (test_rows_f), so they are taken for the page's
-- tests alone unless the order needs every test's.
-- {page} pages the tests before their durations are taken (or is empty) and {paged} after
-- (or only orders them): whitelisted ORDER BY / LIMIT text. total is the count of tests.
WITH counted AS (
    SELECT
        repo,
        test_key,
        any_value(test_id) AS test_id,
        sum(executions)::BIGINT AS executions,
        sum(passed)::BIGINT AS passed,
        sum(failures)::BIGINT AS failures,
        sum(skipped)::BIGINT AS skipped,
        sum(failures) / nullif(sum(executions) - sum(skipped), 0) AS failure_rate,
        max(day) AS last_day
    FROM tests_f
    WHERE day BETWEEN $start_day::DATE AND $end_day::DATE
        AND ($test_id::VARCHAR IS NULL OR test_key = md5_number($test_id::VARCHAR))
    GROUP BY repo, test_key
),
flaky AS (
    SELECT repo, test_key, count(*) AS flaky_commits
    FROM test_flakiness_units
    -- by the test's key, which the units group on, so the filter reaches their rows
    WHERE flaky AND ($test_id::VARCHAR IS NULL OR test_key = md5_number($test_id::VARCHAR))
    GROUP BY repo, test_key
),
listed AS (
    SELECT c.*, coalesce(f.flaky_commits, 0) AS flaky_commits, count(*) OVER () AS total
    FROM counted c
    LEFT JOIN flaky f ON f.repo IS NOT DISTINCT FROM c.repo AND f.test_key = c.test_key
),
page AS (
    SELECT * FROM listed s {page}
),
durations AS (
    SELECT
        t.repo,
        t.test_id,
        -- both percentiles from one aggregate: one sort of the durations, not two
        quantile_cont(t.duration_s, [0.5, 0.95]) AS durations
    FROM test_rows_f t
    SEMI JOIN page p ON p.repo IS NOT DISTINCT FROM t.repo AND p.test_id = t.test_id
    GROUP BY t.repo, t.test_id
)
SELECT
    s.repo,
    s.test_id,
    s.executions,
    s.passed,
    s.failures,
    s.skipped,
    s.failure_rate,
    s.flaky_commits,
    d.durations[1] AS duration_p50_s,
    d.durations[2] AS duration_p95_s,
    s.last_day,
    s.total
FROM page s
LEFT JOIN durations d ON d.repo IS NOT DISTINCT FROM s.repo AND d.test_id = s.test_id
{paged}
