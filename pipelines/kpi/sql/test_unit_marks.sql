-- Sets kpi.test_units_daily.may_flake on every row of each unit (repo, test_key, sha_key)
-- with rows on $start_day .. $end_day and, on any day, a failure or a rerun followed by a
-- pass. Run after those days' rows are written: a unit's earlier rows are marked when a
-- later day brings its failure, and the new rows when an earlier day held it.
-- A mark is never cleared: it only lets a unit be formed, and whether the unit is flaky is
-- decided from its rows of each window.
UPDATE kpi.test_units_daily t
SET may_flake = true
FROM (
    SELECT DISTINCT f.repo, f.test_key, f.sha_key
    FROM kpi.test_units_daily f
    SEMI JOIN (
        SELECT repo, test_key, sha_key
        FROM kpi.test_units_daily
        WHERE day BETWEEN $start_day AND $end_day AND sha_key IS NOT NULL
    ) d ON d.repo = f.repo AND d.test_key = f.test_key AND d.sha_key = f.sha_key
    WHERE f.has_failed OR f.has_rerun_then_pass
) u
WHERE t.repo = u.repo AND t.test_key = u.test_key AND t.sha_key = u.sha_key
    AND NOT t.may_flake
