-- One row per (content_hash, seq): a report file is stored once. A file's rows share a day.
SELECT content_hash, seq, count(*) AS copies
FROM raw.test_results
WHERE day BETWEEN $start_day AND $end_day
GROUP BY ALL
HAVING count(*) > 1
