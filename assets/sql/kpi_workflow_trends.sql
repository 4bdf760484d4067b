-- kpi.workflow_trends: per repo, workflow and day D, the 7-day rolling success rate and
-- duration (D-6 .. D) and the change versus the previous 7 days (D-13 .. D-7). Built from
-- the exact sums of kpi.workflow_daily.
-- Parameters: $start_day, $end_day (inclusive UTC days).
WITH days AS (
    SELECT range::DATE AS day
    FROM range($start_day::DATE::TIMESTAMP, ($end_day::DATE + 1)::TIMESTAMP, INTERVAL 1 DAY)
),
wd AS (
    SELECT *
    FROM kpi.workflow_daily
    WHERE day BETWEEN $start_day::DATE - 13 AND $end_day::DATE
),
cur AS (
    SELECT
        d.day, w.repo, w.workflow_name,
        sum(w.runs) AS runs,
        sum(w.successes) AS successes,
        sum(w.failures) AS failures,
        sum(w.duration_sum_s) AS duration_sum_s,
        sum(w.duration_count) AS duration_count
    FROM days d
    JOIN wd w ON w.day BETWEEN d.day - 6 AND d.day
    GROUP BY ALL
),
prev AS (
    SELECT
        d.day, w.repo, w.workflow_name,
        sum(w.runs) AS runs,
        sum(w.successes) AS successes,
        sum(w.failures) AS failures,
        sum(w.duration_sum_s) AS duration_sum_s,
        sum(w.duration_count) AS duration_count
    FROM days d
    JOIN wd w ON w.day BETWEEN d.day - 13 AND d.day - 7
    GROUP BY ALL
),
rates AS (
    SELECT
        c.repo, c.workflow_name, c.day,
        c.runs AS runs_7d,
        c.successes / nullif(c.successes + c.failures, 0) AS success_rate_7d,
        c.duration_sum_s / nullif(c.duration_count, 0) AS duration_mean_7d_s,
        p.runs AS runs_prev_7d,
        p.successes / nullif(p.successes + p.failures, 0) AS success_rate_prev_7d,
        p.duration_sum_s / nullif(p.duration_count, 0) AS duration_mean_prev_7d_s
    FROM cur c
    LEFT JOIN prev p
        ON p.day = c.day AND p.repo = c.repo AND p.workflow_name IS NOT DISTINCT FROM c.workflow_name
)
SELECT
    *,
    success_rate_7d - success_rate_prev_7d AS success_rate_change,
    duration_mean_7d_s / nullif(duration_mean_prev_7d_s, 0) - 1 AS duration_mean_change
FROM rates
ORDER BY repo, workflow_name, day
