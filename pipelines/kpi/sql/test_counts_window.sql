-- Tests with a non-skipped outcome per repo in one window (first_end = last_end).
SELECT repo, $last_end::DATE AS window_end, count(DISTINCT test_key) AS tests
FROM test_rows
WHERE has_non_skipped
GROUP BY repo
