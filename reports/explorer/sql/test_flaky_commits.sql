-- The commits proving test $test_id flaky: its flaky units of the period
-- (test_flakiness_units, the KPI layer's, over the filtered test facts), each with its
-- rows among the filtered test rows (test_rows_f): outcomes, runs, one run where it failed
-- (or was re-run) and one where it passed, and the repository's GitHub address.
WITH rows_ AS (
    SELECT
        repo,
        head_sha,
        count(*) AS executions,
        count(*) FILTER (WHERE outcome = 'passed') AS passed,
        count(*) FILTER (WHERE outcome IN ('failed', 'error')) AS failed,
        count(*) FILTER (WHERE outcome = 'rerun') AS reruns,
        list(DISTINCT run_id ORDER BY run_id) FILTER (WHERE run_id IS NOT NULL) AS run_ids,
        max(run_id) FILTER (WHERE outcome IN ('failed', 'error', 'rerun')) AS failed_run_id,
        max(run_id) FILTER (WHERE outcome = 'passed') AS passed_run_id
    FROM test_rows_f
    WHERE test_id = $test_id AND head_sha IS NOT NULL
    GROUP BY repo, head_sha
)
SELECT
    u.repo,
    u.head_sha,
    u.first_day,
    u.last_day,
    r.executions,
    r.passed,
    r.failed,
    r.reruns,
    u.rerun_then_pass,
    r.run_ids,
    r.failed_run_id,
    r.passed_run_id,
    coalesce(p.html_url, 'https://github.com/' || u.repo) AS repo_url
FROM test_flakiness_units u
LEFT JOIN rows_ r ON r.repo = u.repo AND r.head_sha = u.head_sha
LEFT JOIN raw.repositories p ON p.repo = u.repo
-- by the test's key, which the units group on, so the filter reaches their rows
WHERE u.flaky AND u.test_key = md5_number($test_id)
ORDER BY u.last_day DESC, u.repo, u.head_sha
