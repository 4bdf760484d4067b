-- outcome is one of passed, failed, error, skipped, rerun.
SELECT source, seq, test_id, outcome
FROM raw.test_results
WHERE day BETWEEN $start_day AND $end_day
    AND outcome NOT IN ('passed', 'failed', 'error', 'skipped', 'rerun')
