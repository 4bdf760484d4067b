-- The filtered runs (runs_f) once per window holding their day, with its window_end: an
-- equi-join on the windows' days, which DuckDB runs far faster than a range join of every
-- run with every window.
-- Parameters: the windows'.
WITH window_days AS (
    SELECT w.window_end, d.range::DATE AS day
    FROM windows w, range(w.window_start::TIMESTAMP, (w.window_end + 1)::TIMESTAMP, INTERVAL 1 DAY) d
)
SELECT f.*, wd.window_end
FROM runs_f f
JOIN window_days wd ON wd.day = f.day
WHERE f.day BETWEEN $first_end::DATE - ($window_days - 1) AND $last_end::DATE
