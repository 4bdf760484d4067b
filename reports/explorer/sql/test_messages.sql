-- The failure messages of test $test_id (failed, error and rerun rows of test_rows_f)
-- grouped by their first line (NULL: no message): how many, first and last seen (the
-- report's time, else its day), and the latest one as a sample, cut to $message_chars
-- characters, with the run (repo, run id, attempt) it came from.
WITH failed AS (
    SELECT
        repo,
        run_id,
        run_attempt,
        outcome,
        message,
        nullif(trim(split_part(replace(message, chr(13), ''), chr(10), 1)), '') AS first_line,
        coalesce(report_time, day::TIMESTAMP) AS seen_at,
        content_hash,
        seq
    FROM test_rows_f
    WHERE test_id = $test_id AND outcome IN ('failed', 'error', 'rerun')
)
SELECT
    first_line,
    count(*) AS occurrences,
    list_sort(list_distinct(list(outcome))) AS outcomes,
    count(DISTINCT (repo, run_id)) AS runs,
    min(seen_at) AS first_seen,
    max(seen_at) AS last_seen,
    left(arg_max(message, (seen_at, content_hash, seq)), $message_chars) AS message,
    length(arg_max(message, (seen_at, content_hash, seq))) > $message_chars AS truncated,
    arg_max(repo, (seen_at, content_hash, seq)) AS sample_repo,
    arg_max(run_id, (seen_at, content_hash, seq)) AS sample_run_id,
    arg_max(run_attempt, (seen_at, content_hash, seq)) AS sample_attempt
FROM failed
GROUP BY first_line
ORDER BY occurrences DESC, last_seen DESC, first_line NULLS LAST
