-- kpi.module_stats: per repo and module over the window ($as_of - ($window_days - 1) ..
-- $as_of): tests, executions, total and mean duration, failure rate (failed + error over
-- non-skipped rows).
-- Parameters: $as_of (the window's last day), $window_days (its length; 7 for kpi.*).
SELECT
    repo,
    module,
    count(DISTINCT test_id) AS tests,
    count(*) AS executions,
    coalesce(sum(duration_s), 0) AS total_duration_s,
    avg(duration_s) AS mean_duration_s,
    count(*) FILTER (WHERE outcome IN ('failed', 'error')) AS failures,
    count(*) FILTER (WHERE outcome <> 'skipped') AS non_skipped,
    failures / nullif(non_skipped, 0) AS failure_rate,
    $as_of::DATE - ($window_days - 1) AS window_start,
    $as_of::DATE AS as_of
FROM raw.test_results
WHERE day BETWEEN $as_of::DATE - ($window_days - 1) AND $as_of::DATE
GROUP BY repo, module
ORDER BY repo, module
