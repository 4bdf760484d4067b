-- kpi.run_flakiness_daily: flaky units / units per repo and day (the day the unit's first
-- run was created).
-- Parameters: $start_day, $end_day (inclusive UTC days).
SELECT
    repo,
    day,
    count(*) AS units,
    count(*) FILTER (WHERE flaky) AS flaky_units,
    flaky_units / units AS flakiness_rate
FROM kpi.run_flakiness
WHERE day BETWEEN $start_day::DATE AND $end_day::DATE
GROUP BY ALL
ORDER BY repo, day
