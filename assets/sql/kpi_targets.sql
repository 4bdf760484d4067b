-- kpi.targets: one row per repo, day D and KPI target, over the window D-6 .. D.
-- Reductions compare the window with the configured baseline (inclusive days); without a
-- baseline they are null with status no_baseline.
-- Parameters: $start_day, $end_day (inclusive UTC days), $full_suite_workflow,
-- $baseline_start, $baseline_end (DATE or NULL), and a target and comparator per KPI
-- (pipelines/targets.py).
WITH days AS (
    SELECT range::DATE AS day
    FROM range($start_day::DATE::TIMESTAMP, ($end_day::DATE + 1)::TIMESTAMP, INTERVAL 1 DAY)
),
repos AS (
    SELECT DISTINCT repo FROM raw.workflow_runs
    UNION
    SELECT DISTINCT repo FROM raw.test_results WHERE repo IS NOT NULL
),
grid AS (
    SELECT repo, day, day - 6 AS window_start FROM repos CROSS JOIN days
),
win AS (
    -- each (repo, day) with the 7 days of its window: equi-joins instead of range joins
    SELECT g.repo, g.day, g.day - k::INTEGER AS src_day FROM grid g, range(7) r(k)
),
pr AS (
    SELECT w.repo, w.day, sum(p.duration_sum_s) / nullif(sum(p.validated_runs), 0) AS value
    FROM win w
    LEFT JOIN kpi.pr_validation_daily p ON p.repo = w.repo AND p.day = w.src_day
    GROUP BY w.repo, w.day
),
dw AS (
    SELECT w.repo, w.day, sum(d.wait_sum_s) / nullif(sum(d.commits), 0) AS measure
    FROM win w
    LEFT JOIN kpi.developer_wait d ON d.repo = w.repo AND d.day = w.src_day
    GROUP BY w.repo, w.day
),
dw_base AS (
    SELECT repo, sum(wait_sum_s) / nullif(sum(commits), 0) AS baseline
    FROM kpi.developer_wait
    WHERE day BETWEEN $baseline_start::DATE AND $baseline_end::DATE
    GROUP BY repo
),
fs_touched AS (
    SELECT DISTINCT repo, run_id
    FROM raw.workflow_runs
    WHERE workflow_name = $full_suite_workflow
        AND created_at >= $start_day::DATE - 6 AND created_at < $end_day::DATE + 1
),
fs_final AS (
    SELECT
        r.repo, r.workflow_name,
        (min(r.created_at) OVER (PARTITION BY r.repo, r.run_id))::DATE AS run_day,
        CASE
            WHEN r.status = 'completed' AND r.conclusion = 'success'
                AND r.updated_at >= r.run_started_at
            THEN date_diff('microsecond', r.run_started_at, r.updated_at) / 1e6
        END AS duration_s
    FROM raw.workflow_runs r
    SEMI JOIN fs_touched t ON t.repo = r.repo AND t.run_id = r.run_id
    QUALIFY row_number() OVER (PARTITION BY r.repo, r.run_id ORDER BY r.run_attempt DESC) = 1
),
fs AS (
    SELECT w.repo, w.day, quantile_cont(f.duration_s, 0.95) AS value
    FROM win w
    LEFT JOIN fs_final f
        ON f.repo = w.repo AND f.run_day = w.src_day AND f.workflow_name = $full_suite_workflow
    GROUP BY w.repo, w.day
),
cm AS (
    -- mean per calendar day: days without runs count as 0
    SELECT
        w.repo, w.day,
        CASE WHEN count(d.repo) > 0 THEN sum(d.compute_minutes) / 7.0 END AS measure
    FROM win w
    LEFT JOIN kpi.workflow_daily d ON d.repo = w.repo AND d.day = w.src_day
    GROUP BY w.repo, w.day
),
cm_base AS (
    SELECT
        repo,
        sum(compute_minutes) / ($baseline_end::DATE - $baseline_start::DATE + 1) AS baseline
    FROM kpi.workflow_daily
    WHERE day BETWEEN $baseline_start::DATE AND $baseline_end::DATE
    GROUP BY repo
),
rf AS (
    SELECT
        w.repo, w.day,
        count(*) FILTER (WHERE u.flaky) / nullif(count(u.repo), 0) AS value
    FROM win w
    LEFT JOIN kpi.run_flakiness u ON u.repo = w.repo AND u.day = w.src_day
    GROUP BY w.repo, w.day
),
tu AS (
    SELECT *
    FROM kpi.test_units_daily
    WHERE day BETWEEN $start_day::DATE - 6 AND $end_day::DATE AND repo IS NOT NULL
),
tf_candidates AS (
    -- only a unit with a failure or a rerun-then-pass somewhere can be flaky in a window
    SELECT DISTINCT repo, test_id, head_sha
    FROM tu
    WHERE head_sha IS NOT NULL AND (has_failed OR has_rerun_then_pass)
),
tf_units AS (
    SELECT
        w.repo, w.day, t.test_id,
        (bool_or(t.has_passed) AND bool_or(t.has_failed)) OR bool_or(t.has_rerun_then_pass)
            AS flaky
    FROM win w
    JOIN (SELECT u.* FROM tu u SEMI JOIN tf_candidates c
          ON c.repo = u.repo AND c.test_id = u.test_id AND c.head_sha = u.head_sha) t
        ON t.repo = w.repo AND t.day = w.src_day
    GROUP BY w.repo, w.day, t.test_id, t.head_sha
),
tf_flaky AS (
    SELECT repo, day, count(DISTINCT test_id) FILTER (WHERE flaky) AS flaky_tests
    FROM tf_units
    GROUP BY repo, day
),
tf_days AS (
    SELECT DISTINCT repo, test_id, day FROM tu WHERE has_non_skipped
),
tf_cover AS (
    -- a test seen on day d is in the windows ending d .. d + 6: non-overlapping intervals
    -- per test, counted per day with a running sum of +1 / -1 steps
    SELECT
        repo, day AS a,
        least(day + 6, coalesce(lead(day) OVER (PARTITION BY repo, test_id ORDER BY day) - 1,
                                day + 6)) AS b
    FROM tf_days
),
tf_steps AS (
    SELECT repo, d, sum(delta) AS delta
    FROM (SELECT repo, a AS d, 1 AS delta FROM tf_cover
          UNION ALL SELECT repo, b + 1, -1 FROM tf_cover)
    GROUP BY ALL
),
tf_tests AS (
    SELECT repo, d, sum(delta) OVER (PARTITION BY repo ORDER BY d) AS tests FROM tf_steps
),
tf AS (
    SELECT
        g.repo, g.day,
        coalesce(f.flaky_tests, 0) / nullif(n.tests, 0) AS value
    FROM grid g
    ASOF LEFT JOIN tf_tests n ON n.repo = g.repo AND n.d <= g.day
    LEFT JOIN tf_flaky f ON f.repo = g.repo AND f.day = g.day
),
measures AS (
    SELECT repo, day, 'pr_validation_avg_s' AS kpi, value AS window_value,
        NULL::DOUBLE AS baseline_value, $target_pr_validation_avg_s::DOUBLE AS target,
        $comparator_pr_validation_avg_s::VARCHAR AS comparator, false AS reduction
    FROM pr
    UNION ALL
    SELECT d.repo, d.day, 'developer_wait_reduction', d.measure, b.baseline,
        $target_developer_wait_reduction, $comparator_developer_wait_reduction, true
    FROM dw d LEFT JOIN dw_base b USING (repo)
    UNION ALL
    SELECT repo, day, 'full_suite_p95_s', value, NULL,
        $target_full_suite_p95_s, $comparator_full_suite_p95_s, false
    FROM fs
    UNION ALL
    SELECT c.repo, c.day, 'compute_minutes_reduction', c.measure, b.baseline,
        $target_compute_minutes_reduction, $comparator_compute_minutes_reduction, true
    FROM cm c LEFT JOIN cm_base b USING (repo)
    UNION ALL
    SELECT repo, day, 'run_flakiness_rate', value, NULL,
        $target_run_flakiness_rate, $comparator_run_flakiness_rate, false
    FROM rf
    UNION ALL
    SELECT repo, day, 'test_flakiness_rate', value, NULL,
        $target_test_flakiness_rate, $comparator_test_flakiness_rate, false
    FROM tf
),
valued AS (
    SELECT
        *,
        CASE
            WHEN NOT reduction THEN window_value
            WHEN $baseline_start::DATE IS NULL OR $baseline_end::DATE IS NULL THEN NULL
            ELSE 1 - window_value / nullif(baseline_value, 0)
        END AS value
    FROM measures
)
SELECT
    repo,
    day,
    kpi,
    value,
    target,
    comparator,
    baseline_value,
    window_value,
    day - 6 AS window_start,
    day AS window_end,
    CASE
        WHEN reduction AND ($baseline_start::DATE IS NULL OR $baseline_end::DATE IS NULL)
            THEN 'no_baseline'
        WHEN window_value IS NULL THEN 'no_data'
        WHEN value IS NULL THEN 'no_baseline'
        WHEN comparator = '<' AND value < target THEN 'ok'
        WHEN comparator = '>=' AND value >= target THEN 'ok'
        ELSE 'breach'
    END AS status
FROM valued
ORDER BY repo, day, kpi
