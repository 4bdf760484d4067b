-- A test row that claims a run id belongs to a stored run (and attempt, when given).
SELECT DISTINCT t.repo, t.run_id, t.run_attempt
FROM raw.test_results t
WHERE t.day BETWEEN $start_day AND $end_day
    AND t.run_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM raw.workflow_runs r
        WHERE r.run_id = t.run_id AND (t.repo IS NULL OR r.repo = t.repo)
            AND (t.run_attempt IS NULL OR r.run_attempt = t.run_attempt)
    )
