-- The runners page: the jobs of every attempt of the filtered runs (runs_f) created from
-- $start_day to $end_day, from raw.workflow_jobs, grouped two ways (grouping_set):
-- 'labels' by runner label set (runs-on labels, sorted) and hosting, 'groups' by hosting
-- and runner group. Skipped jobs never asked for a runner and are left out.
-- hosting: 'self-hosted' when a label is self-hosted; 'github-hosted' when the runner
-- group is GitHub Actions or a label names one of GitHub's images ($image_pattern:
-- reports/explorer/pricing.py IMAGE, larger sizes included); otherwise 'self-hosted'.
-- queue is started_at - created_at where not negative, as on the workflow page's jobs;
-- compute minutes are the KPI layer's (kpi.run_facts): each job rounded up to whole
-- minutes, jobs without both timestamps and jobs of attempts not completed yet count 0.
WITH picked AS (
    SELECT repo, run_id, workflow_name
    FROM runs_f
    WHERE day BETWEEN $start_day::DATE AND $end_day::DATE
),
jobs AS (
    SELECT
        p.workflow_name,
        list_sort(coalesce(j.labels, [])) AS labels,
        j.runner_group_name,
        j.runner_name,
        CASE
            WHEN list_contains(list_transform(coalesce(j.labels, []), lambda l: lower(l)), 'self-hosted')
                THEN 'self-hosted'
            WHEN j.runner_group_name = 'GitHub Actions'
                OR len(list_filter(
                    coalesce(j.labels, []), lambda l: regexp_matches(lower(l), $image_pattern)
                )) > 0
                THEN 'github-hosted'
            ELSE 'self-hosted'
        END AS hosting,
        CASE WHEN j.started_at >= j.created_at
            THEN date_diff('microsecond', j.created_at, j.started_at) / 1e6 END AS queue_s,
        CASE WHEN j.completed_at >= j.started_at AND (a.run_id IS NULL OR a.status = 'completed')
            THEN (date_diff('microsecond', j.started_at, j.completed_at) + 59999999) // 60000000
            ELSE 0 END AS compute_minutes
    FROM raw.workflow_jobs j
    JOIN picked p ON p.repo = j.repo AND p.run_id = j.run_id
    LEFT JOIN raw.workflow_runs a
        ON a.repo = j.repo AND a.run_id = j.run_id AND a.run_attempt = j.run_attempt
    WHERE j.conclusion IS DISTINCT FROM 'skipped'
)
SELECT
    CASE WHEN grouping(labels) = 0 THEN 'labels' ELSE 'groups' END AS grouping_set,
    labels,
    hosting,
    runner_group_name AS runner_group,
    count(*) AS jobs,
    count(DISTINCT runner_name) AS runners,
    quantile_cont(queue_s, 0.5) AS queue_p50_s,
    quantile_cont(queue_s, 0.95) AS queue_p95_s,
    sum(compute_minutes)::BIGINT AS compute_minutes,
    list_sort(list_distinct(list(workflow_name))) AS workflows
FROM jobs
GROUP BY GROUPING SETS ((labels, hosting), (hosting, runner_group_name))
ORDER BY grouping_set, compute_minutes DESC, hosting, labels, runner_group
