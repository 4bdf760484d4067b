-- The repositories whose test results hold test $test_id, in any period: a test id the
-- store has never seen is "not found", one without rows in the filter and period is empty.
-- {tests} is kpi.test_units_daily (found by the test's key), or the raw rows for a test the
-- facts do not hold yet.
SELECT DISTINCT repo FROM {tests} WHERE {match} ORDER BY repo NULLS LAST
