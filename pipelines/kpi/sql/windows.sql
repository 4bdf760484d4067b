-- The windows of a query: one per day from $first_end to $last_end, each the $window_days
-- days ending on it. A single period is one window (first_end = last_end).
SELECT range::DATE AS window_end, range::DATE - ($window_days - 1) AS window_start
FROM range($first_end::DATE::TIMESTAMP, ($last_end::DATE + 1)::TIMESTAMP, INTERVAL 1 DAY)
