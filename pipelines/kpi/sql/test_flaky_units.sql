-- kpi.test_flaky_units: over the window ($as_of - ($window_days - 1) .. $as_of), one row per unit
-- (repo, test id, known head_sha). A unit is flaky when it has both a passed and a
-- failed/error row, or a rerun followed by a passed row in one execution (one report file).
-- run_ids are the runs whose rows make up the unit: the evidence for a flaky one.
-- Parameters: $as_of (the window's last day), $window_days (its length; 7 for kpi.*).
WITH rows_ AS (
    SELECT *
    FROM raw.test_results
    WHERE day BETWEEN $as_of::DATE - ($window_days - 1) AND $as_of::DATE AND head_sha IS NOT NULL
),
rerun_then_pass AS (
    SELECT DISTINCT r.repo, r.test_id, r.head_sha
    FROM rows_ r
    JOIN rows_ p
        ON p.content_hash = r.content_hash AND p.test_id = r.test_id
        AND p.seq > r.seq AND p.outcome = 'passed'
    WHERE r.outcome = 'rerun'
),
units AS (
    SELECT
        repo,
        test_id,
        head_sha,
        count(*) AS executions,
        count(*) FILTER (WHERE outcome = 'passed') AS passed,
        count(*) FILTER (WHERE outcome IN ('failed', 'error')) AS failed,
        count(*) FILTER (WHERE outcome = 'rerun') AS reruns,
        list(DISTINCT run_id ORDER BY run_id) FILTER (WHERE run_id IS NOT NULL) AS run_ids,
        max(day) AS last_day,
        max(coalesce(report_time, day::TIMESTAMP)) AS last_seen_at
    FROM rows_
    GROUP BY ALL
)
SELECT
    u.*,
    (u.passed > 0 AND u.failed > 0) OR rp.test_id IS NOT NULL AS flaky,
    $as_of::DATE - ($window_days - 1) AS window_start,
    $as_of::DATE AS as_of
FROM units u
LEFT JOIN rerun_then_pass rp
    ON rp.repo IS NOT DISTINCT FROM u.repo AND rp.test_id = u.test_id
    AND rp.head_sha = u.head_sha
ORDER BY u.repo, u.test_id, u.head_sha
