-- The repositories whose test results hold test $test_id, in any period: a test id the
-- store has never seen is "not found", one without rows in the filter and period is empty.
SELECT DISTINCT repo FROM raw.test_results WHERE test_id = $test_id ORDER BY repo NULLS LAST
