-- kpi.flaky_tests: tests with at least one flaky unit in the window, with the commits and
-- runs that prove it. last_seen_sha is the commit of the most recently seen flaky unit.
-- Parameters: $as_of (the window's last day), $window_days (its length; 7 for kpi.*).
SELECT
    repo,
    test_id,
    count(*) AS flaky_units,
    arg_max(head_sha, last_seen_at) AS last_seen_sha,
    max(last_seen_at) AS last_seen_at,
    list(head_sha ORDER BY last_seen_at DESC, head_sha) AS head_shas,
    list_sort(list_distinct(flatten(list(run_ids)))) AS run_ids,
    $as_of::DATE - ($window_days - 1) AS window_start,
    $as_of::DATE AS as_of
FROM test_flaky_units
WHERE flaky
GROUP BY repo, test_id
ORDER BY flaky_units DESC, repo, test_id
