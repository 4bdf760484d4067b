-- The test flakiness units of each window: (repo, test id, known head_sha) over the filtered
-- test facts of the window's days (test_rows). A unit is flaky when its rows have both a
-- pass and a failure/error, or a rerun followed by a pass in one execution. Only a unit
-- with a failure or a rerun-then-pass somewhere can be flaky, so only those are formed.
-- test_flakiness counts these; the explorer lists the flaky ones as the commits proving a
-- test flaky. executions counts the unit's rows; first_day / last_day its days with rows.
-- Parameters: the windows'.
WITH candidates AS (
    SELECT DISTINCT repo, test_id, head_sha
    FROM test_rows
    WHERE head_sha IS NOT NULL AND (has_failed OR has_rerun_then_pass)
)
SELECT
    w.window_end,
    t.repo,
    t.test_id,
    t.head_sha,
    (bool_or(t.has_passed) AND bool_or(t.has_failed)) OR bool_or(t.has_rerun_then_pass)
        AS flaky,
    bool_or(t.has_rerun_then_pass) AS rerun_then_pass,
    sum(t.executions) AS executions,
    min(t.day) AS first_day,
    max(t.day) AS last_day
FROM windows w
JOIN (SELECT u.* FROM test_rows u SEMI JOIN candidates c
      ON c.repo = u.repo AND c.test_id = u.test_id AND c.head_sha = u.head_sha) t
    ON t.day BETWEEN w.window_start AND w.window_end
GROUP BY w.window_end, t.repo, t.test_id, t.head_sha
