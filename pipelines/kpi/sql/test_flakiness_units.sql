-- The test flakiness units of each window: (repo, test id, known head_sha) over the filtered
-- test facts of the window's days (test_rows). A unit is flaky when its rows have both a
-- pass and a failure/error, or a rerun followed by a pass in one execution. Only a unit
-- with a failure or a rerun-then-pass in the window can be flaky, so only those are formed:
-- from the rows marked may_flake (a unit with such a row on some day), kept when the
-- window's rows hold one.
-- test_flakiness counts these; the explorer lists the flaky ones as the commits proving a
-- test flaky. executions counts the unit's rows; first_day / last_day its days with rows.
-- Units are grouped by the keys of test_id and head_sha (one each, as md5_number is).
-- Parameters: the windows'.
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
JOIN test_rows t ON t.day BETWEEN w.window_start AND w.window_end
WHERE t.may_flake
GROUP BY w.window_end, t.repo, t.test_key, t.sha_key
HAVING bool_or(t.has_failed OR t.has_rerun_then_pass)
