-- The test flakiness units of each window: (repo, test id, known head_sha) over the filtered
-- test facts of the window's days (test_rows). A unit is flaky when its rows have both a
-- pass and a failure/error, or a rerun followed by a pass in one execution. Only a unit
-- with a failure or a rerun-then-pass somewhere can be flaky, so only those are formed.
-- test_flakiness counts these; the explorer lists the flaky ones as the commits proving a
-- test flaky. executions counts the unit's rows; first_day / last_day its days with rows.
-- Units are grouped by the keys of test_id and head_sha (one each, as md5_number is).
-- Parameters: the windows'.
WITH candidates AS (
    SELECT DISTINCT repo, test_key, sha_key
    FROM test_rows
    WHERE sha_key IS NOT NULL AND (has_failed OR has_rerun_then_pass)
)
SELECT
    w.window_end,
    t.repo,
    any_value(t.test_id) AS test_id,
    any_value(t.head_sha) AS head_sha,
    t.test_key,
    (bool_or(t.has_passed) AND bool_or(t.has_failed)) OR bool_or(t.has_rerun_then_pass)
        AS flaky,
    bool_or(t.has_rerun_then_pass) AS rerun_then_pass,
    sum(t.executions) AS executions,
    min(t.day) AS first_day,
    max(t.day) AS last_day
FROM windows w
JOIN (SELECT u.* FROM test_rows u SEMI JOIN candidates c
      ON c.repo = u.repo AND c.test_key = u.test_key AND c.sha_key = u.sha_key) t
    ON t.day BETWEEN w.window_start AND w.window_end
GROUP BY w.window_end, t.repo, t.test_key, t.sha_key
