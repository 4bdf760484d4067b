-- Run measures per repo (and workflow / event when $by_workflow / $by_event) and window,
-- from the filtered per-day sums (run_days_f: kpi.run_daily, whose counts and sums define
-- each measure's parts). Counts and sums are kept beside every rate and mean, so tables
-- built from them add up exactly.
-- Parameters: the windows' ($first_end, $last_end, $window_days), $by_workflow, $by_event.
WITH daily AS (
    SELECT
        repo,
        CASE WHEN $by_workflow THEN workflow_name END AS workflow_name,
        CASE WHEN $by_event THEN event END AS event,
        day,
        sum(runs) AS runs,
        sum(attempts) AS attempts,
        sum(successes) AS successes,
        sum(failures) AS failures,
        sum(excluded) AS excluded,
        sum(not_completed) AS not_completed,
        sum(first_attempt_successes) AS first_attempt_successes,
        sum(first_attempt_failures) AS first_attempt_failures,
        sum(duration_sum_s) AS duration_sum_s,
        sum(duration_count) AS duration_count,
        sum(queue_sum_s) AS queue_sum_s,
        sum(queue_count) AS queue_count,
        sum(pr_runs) AS pr_runs,
        sum(pr_duration_sum_s) AS pr_duration_sum_s,
        sum(pr_duration_count) AS pr_duration_count,
        sum(compute_minutes) AS compute_minutes,
        sum(compute_seconds) AS compute_seconds
    FROM run_days_f
    WHERE day BETWEEN $first_end::DATE - ($window_days - 1) AND $last_end::DATE
    GROUP BY ALL
)
SELECT
    d.repo,
    d.workflow_name,
    d.event,
    w.window_end,
    sum(d.runs)::BIGINT AS runs,
    sum(d.attempts)::BIGINT AS attempts,
    sum(d.successes)::BIGINT AS successes,
    sum(d.failures)::BIGINT AS failures,
    sum(d.excluded)::BIGINT AS excluded,
    sum(d.not_completed)::BIGINT AS not_completed,
    sum(d.successes) / nullif(sum(d.successes) + sum(d.failures), 0) AS success_rate,
    sum(d.first_attempt_successes)::BIGINT AS first_attempt_successes,
    sum(d.first_attempt_failures)::BIGINT AS first_attempt_failures,
    sum(d.first_attempt_successes)
        / nullif(sum(d.first_attempt_successes) + sum(d.first_attempt_failures), 0)
        AS first_attempt_success_rate,
    sum(d.duration_sum_s) / nullif(sum(d.duration_count), 0) AS duration_mean_s,
    sum(d.duration_sum_s)::DOUBLE AS duration_sum_s,
    sum(d.duration_count)::BIGINT AS duration_count,
    sum(d.queue_sum_s) / nullif(sum(d.queue_count), 0) AS queue_mean_s,
    sum(d.pr_runs)::BIGINT AS pr_runs,
    sum(d.pr_duration_sum_s)::DOUBLE AS pr_duration_sum_s,
    sum(d.pr_duration_count)::BIGINT AS pr_duration_count,
    -- average PR validation time: final attempts classed success or failure of PR runs
    sum(d.pr_duration_sum_s) / nullif(sum(d.pr_duration_count), 0) AS pr_validation_avg_s,
    sum(d.compute_minutes)::BIGINT AS compute_minutes,
    sum(d.compute_seconds)::DOUBLE AS compute_seconds,
    -- mean per calendar day of the window; days without runs count as 0
    sum(d.compute_minutes) / max($window_days)::DOUBLE AS compute_minutes_per_day
FROM windows w
JOIN daily d ON d.day BETWEEN w.window_start AND w.window_end
GROUP BY ALL
