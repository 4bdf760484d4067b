-- kpi.developer_wait: developer wait per repo and day, over the PR commits whose first run
-- was created that day and whose final attempts are all completed. Sum and count are kept
-- so a window or baseline mean over commits is exact.
-- Parameters: $start_day, $end_day (inclusive UTC days).
SELECT
    repo,
    day,
    count(wait_s) AS commits,
    count(*) FILTER (WHERE NOT complete) AS incomplete_commits,
    coalesce(sum(wait_s), 0) AS wait_sum_s,
    avg(wait_s) AS wait_mean_s,
    quantile_cont(wait_s, 0.5) AS wait_p50_s,
    quantile_cont(wait_s, 0.95) AS wait_p95_s
FROM kpi.developer_wait_commits
WHERE day BETWEEN $start_day::DATE AND $end_day::DATE
GROUP BY ALL
ORDER BY repo, day
