-- The workflows whose tests failed or were re-run to pass on most commits over
-- $start_day .. $end_day: how the test flakiness target check ranks workflows.
-- Parameters: $start_day, $end_day, $limit.
SELECT t.repo, t.workflow AS workflow_name,
       count(DISTINCT t.test_id) FILTER (WHERE u.has_failed OR u.has_rerun_then_pass)
           AS tests_failing_or_rerun
FROM raw.test_results t
JOIN kpi.test_units_daily u
    ON u.repo = t.repo AND u.test_id = t.test_id AND u.head_sha = t.head_sha
    AND u.day = t.day
WHERE t.day BETWEEN $start_day AND $end_day
GROUP BY ALL HAVING tests_failing_or_rerun > 0
ORDER BY tests_failing_or_rerun DESC, t.repo, workflow_name
LIMIT $limit
