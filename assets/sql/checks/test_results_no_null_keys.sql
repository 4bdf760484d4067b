-- day, source, content_hash, seq, test_id and outcome are never null.
SELECT day, source, content_hash, seq, test_id, outcome
FROM raw.test_results
WHERE (day IS NULL OR day BETWEEN $start_day AND $end_day)
    AND (day IS NULL OR source IS NULL OR content_hash IS NULL OR seq IS NULL
         OR test_id IS NULL OR outcome IS NULL)
