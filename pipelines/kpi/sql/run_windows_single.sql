-- The filtered runs (runs_f) of one window (first_end = last_end), each with its window_end.
-- Parameters: the windows'.
SELECT f.*, $last_end::DATE AS window_end
FROM runs_f f
WHERE f.day BETWEEN $last_end::DATE - ($window_days - 1) AND $last_end::DATE
