-- The test page's daily history: per day with rows, the executions of test $test_id among
-- the filtered test rows of the period (test_rows_f) by outcome, and the median duration of
-- those executions (every row with a duration, as kpi.test_stats takes it).
SELECT
    day,
    count(*) AS executions,
    count(*) FILTER (WHERE outcome = 'passed') AS passed,
    count(*) FILTER (WHERE outcome = 'failed') AS failed,
    count(*) FILTER (WHERE outcome = 'error') AS errors,
    count(*) FILTER (WHERE outcome = 'skipped') AS skipped,
    count(*) FILTER (WHERE outcome = 'rerun') AS reruns,
    quantile_cont(duration_s, 0.5) AS duration_p50_s
FROM test_rows_f
WHERE test_id = $test_id
GROUP BY day
ORDER BY day
