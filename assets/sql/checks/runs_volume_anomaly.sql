-- Days of the range with zero runs in a repository whose 7 days before averaged at least
-- $many_runs runs: often a broken extraction, not a quiet team.
WITH bounds AS (
    SELECT repo, min(created_at)::DATE AS first_day FROM raw.workflow_runs GROUP BY repo
),
days AS (
    SELECT b.repo, d.range::DATE AS day
    FROM bounds b,
         range(greatest(b.first_day, $start_day - 7)::TIMESTAMP,
               ($end_day + 1)::TIMESTAMP, INTERVAL 1 DAY) d
),
counts AS (
    SELECT repo, created_at::DATE AS day, count(DISTINCT run_id) AS runs
    FROM raw.workflow_runs
    WHERE created_at >= ($start_day - 7)::TIMESTAMP AND created_at < ($end_day + 1)::TIMESTAMP
    GROUP BY ALL
),
series AS (
    SELECT d.repo, d.day, coalesce(c.runs, 0) AS runs,
           avg(coalesce(c.runs, 0)) OVER (
               PARTITION BY d.repo ORDER BY d.day ROWS BETWEEN 7 PRECEDING AND 1 PRECEDING
           ) AS mean_prev_7d,
           count(*) OVER (
               PARTITION BY d.repo ORDER BY d.day ROWS BETWEEN 7 PRECEDING AND 1 PRECEDING
           ) AS prev_days
    FROM days d LEFT JOIN counts c USING (repo, day)
)
SELECT repo, day, runs, mean_prev_7d
FROM series
WHERE day BETWEEN $start_day AND $end_day
    AND runs = 0 AND prev_days = 7 AND mean_prev_7d >= $many_runs
ORDER BY day DESC, repo
