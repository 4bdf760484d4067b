-- The filter bar's choices: every value of each dimension the run facts hold (branches:
-- the busiest $branch_limit names), with how many runs have it.
SELECT 'repo' AS dimension, repo AS value, count(*) AS runs FROM kpi.run_facts GROUP BY ALL
UNION ALL
SELECT 'workflow', workflow_name, count(*) FROM kpi.run_facts
    WHERE workflow_name IS NOT NULL GROUP BY ALL
UNION ALL
SELECT 'event', event, count(*) FROM kpi.run_facts WHERE event IS NOT NULL GROUP BY ALL
UNION ALL
SELECT * FROM (
    SELECT 'branch', head_branch, count(*) AS runs FROM kpi.run_facts
    WHERE head_branch IS NOT NULL GROUP BY ALL ORDER BY runs DESC, head_branch LIMIT $branch_limit
)
ORDER BY dimension, value
