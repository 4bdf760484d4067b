-- The runners page: the jobs of every attempt of the filtered runs created from $start_day
-- to $end_day (jobs_f: the filtered kpi.job_facts), grouped two ways (grouping_set):
-- 'labels' by runner label set (runs-on labels, sorted) and hosting, 'groups' by hosting
-- and runner group. Skipped jobs never asked for a runner and are left out.
-- hosting: 'self-hosted' when a label is self-hosted; 'github-hosted' when the runner
-- group is GitHub Actions or a label names one of GitHub's images ($image_pattern:
-- reports/explorer/pricing.py IMAGE, larger sizes included); otherwise 'self-hosted'.
-- queue and compute minutes are kpi.job_facts' (compute by kpi.run_facts' rule).
WITH jobs AS (
    SELECT
        workflow_name,
        labels,
        runner_group_name,
        runner_name,
        CASE
            WHEN list_contains(list_transform(labels, lambda l: lower(l)), 'self-hosted')
                THEN 'self-hosted'
            WHEN runner_group_name = 'GitHub Actions'
                OR len(list_filter(labels, lambda l: regexp_matches(lower(l), $image_pattern))) > 0
                THEN 'github-hosted'
            ELSE 'self-hosted'
        END AS hosting,
        queue_s,
        compute_minutes
    FROM jobs_f
    WHERE day BETWEEN $start_day::DATE AND $end_day::DATE
        AND conclusion IS DISTINCT FROM 'skipped'
)
SELECT
    * EXCLUDE (queues), queues[1] AS queue_p50_s, queues[2] AS queue_p95_s
FROM (
    SELECT
        CASE WHEN grouping(labels) = 0 THEN 'labels' ELSE 'groups' END AS grouping_set,
        labels,
        hosting,
        runner_group_name AS runner_group,
        count(*) AS jobs,
        count(DISTINCT runner_name) AS runners,
        -- both percentiles from one aggregate: one sort of the queue times, not two
        quantile_cont(queue_s, [0.5, 0.95]) AS queues,
        sum(compute_minutes)::BIGINT AS compute_minutes,
        list_sort(list_distinct(list(workflow_name))) AS workflows
    FROM jobs
    GROUP BY GROUPING SETS ((labels, hosting), (hosting, runner_group_name))
)
ORDER BY grouping_set, compute_minutes DESC, hosting, labels, runner_group
