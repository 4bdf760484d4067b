-- Every raw.test_results row of $start_day .. $end_day (inclusive UTC days) with the run
-- dimensions a filter selects it by (filter.sql): workflow, event, branch and its class,
-- from kpi.run_facts, else the report's own (a report without a run: its workflow and
-- branch; the class from the repository's default branch; no event).
-- kpi.test_units_daily aggregates these rows, and every listing of test rows filters them,
-- so a filtered test row is the same row everywhere.
SELECT
    t.*,
    coalesce(r.workflow_name, t.workflow) AS workflow_name,
    r.event,
    coalesce(r.head_branch, t.branch) AS head_branch,
    coalesce(
        r.branch_class, CASE WHEN t.branch = p.default_branch THEN 'default' ELSE 'other' END
    ) AS branch_class
FROM raw.test_results t
LEFT JOIN kpi.run_facts r ON r.repo = t.repo AND r.run_id = t.run_id
LEFT JOIN raw.repositories p ON p.repo = t.repo
WHERE t.day BETWEEN $start_day::DATE AND $end_day::DATE
