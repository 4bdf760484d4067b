-- Tests with a non-skipped outcome per repo in each window ending $first_end .. $last_end:
-- a test seen on day d is in the windows ending d .. d + window_days - 1; its intervals are
-- made non-overlapping, then counted per day by a running sum of +1 / -1 steps.
WITH test_days AS (
    SELECT DISTINCT repo, test_key, day FROM test_rows WHERE has_non_skipped
),
cover AS (
    SELECT
        repo, day AS a,
        least(
            day + ($window_days - 1),
            coalesce(lead(day) OVER (PARTITION BY repo, test_key ORDER BY day) - 1,
                     day + ($window_days - 1))
        ) AS b
    FROM test_days
),
steps AS (
    SELECT repo, d, sum(delta) AS delta
    FROM (SELECT repo, a AS d, 1 AS delta FROM cover
          UNION ALL SELECT repo, b + 1, -1 FROM cover)
    GROUP BY ALL
),
running AS (
    SELECT repo, d, sum(delta) OVER (PARTITION BY repo ORDER BY d) AS tests FROM steps
),
grid AS (
    SELECT r.repo, w.window_end FROM windows w, (SELECT DISTINCT repo FROM test_days) r
)
SELECT g.repo, g.window_end, n.tests
FROM grid g
ASOF JOIN running n ON n.repo = g.repo AND n.d <= g.window_end
