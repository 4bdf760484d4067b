-- The test results of one run ($repo, $run_id), attempt $attempt (NULL: every attempt),
-- from raw.test_results: failures and errors first. total is the count before paging.
SELECT
    run_attempt,
    test_id,
    outcome,
    duration_s,
    message,
    source,
    count(*) OVER () AS total
FROM raw.test_results
WHERE repo = $repo AND run_id = $run_id
    AND ($attempt::INTEGER IS NULL OR run_attempt = $attempt::INTEGER)
ORDER BY
    CASE outcome WHEN 'failed' THEN 0 WHEN 'error' THEN 1 WHEN 'rerun' THEN 2
        WHEN 'skipped' THEN 3 ELSE 4 END,
    run_attempt, test_id, seq
LIMIT $limit OFFSET $offset
