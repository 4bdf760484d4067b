-- kpi.test_units_daily: per repo, test id, head_sha (null when unknown) and day, the facts
-- test flakiness needs, so a 7-day window is a cheap aggregation over these rows:
-- whether the unit passed, failed or errored, and whether one execution (one report file)
-- holds a rerun followed by a pass.
-- Parameters: $start_day, $end_day (inclusive UTC days).
WITH rows_ AS (
    SELECT repo, test_id, head_sha, day, content_hash, seq, outcome, run_id
    FROM raw.test_results
    WHERE day BETWEEN $start_day::DATE AND $end_day::DATE
),
rerun_then_pass AS (
    SELECT DISTINCT r.repo, r.test_id, r.head_sha, r.day
    FROM rows_ r
    JOIN rows_ p
        ON p.content_hash = r.content_hash AND p.test_id = r.test_id
        AND p.seq > r.seq AND p.outcome = 'passed'
    WHERE r.outcome = 'rerun' AND r.head_sha IS NOT NULL
),
units AS (
    SELECT
        repo,
        test_id,
        head_sha,
        day,
        count(*) AS executions,
        bool_or(outcome = 'passed') AS has_passed,
        bool_or(outcome IN ('failed', 'error')) AS has_failed,
        bool_or(outcome <> 'skipped') AS has_non_skipped
    FROM rows_
    GROUP BY ALL
)
SELECT u.*, rp.test_id IS NOT NULL AS has_rerun_then_pass
FROM units u
LEFT JOIN rerun_then_pass rp
    ON rp.repo IS NOT DISTINCT FROM u.repo AND rp.test_id = u.test_id
    AND rp.head_sha = u.head_sha AND rp.day = u.day
