-- kpi.target_status: each KPI target per repo as of $as_of, the rows of kpi.targets on the
-- latest day up to $as_of (its 7-day window). One unpartitioned table, so the target
-- checks on it are evaluated once per run, whatever range the run covers.
-- Parameters: $as_of (the last day of the run's range).
SELECT *
FROM kpi.targets
WHERE day = (SELECT max(day) FROM kpi.targets WHERE day <= $as_of::DATE)
ORDER BY kpi, repo
