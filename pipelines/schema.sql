-- Tables written by the extractors and the ingester. Timestamps are naive UTC
-- (TIMESTAMP, never TIMESTAMPTZ) so that ::DATE is the UTC day whatever the
-- session's time zone. Keys are guarded by asset checks, not constraints, so
-- that a partition can be deleted and rewritten in one transaction.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS meta;

CREATE TABLE IF NOT EXISTS raw.workflow_runs (
    repo VARCHAR NOT NULL,
    run_id BIGINT NOT NULL,
    run_attempt INTEGER NOT NULL,
    run_number INTEGER,
    workflow_id BIGINT,
    workflow_name VARCHAR,
    workflow_path VARCHAR,
    event VARCHAR,
    status VARCHAR,
    conclusion VARCHAR,
    head_branch VARCHAR,
    head_sha VARCHAR,
    actor VARCHAR,
    triggering_actor VARCHAR,
    display_title VARCHAR,
    created_at TIMESTAMP,
    run_started_at TIMESTAMP,
    updated_at TIMESTAMP,
    html_url VARCHAR,
    pull_request_numbers INTEGER[],
    extracted_at TIMESTAMP
);

CREATE TABLE IF NOT EXISTS raw.workflow_jobs (
    repo VARCHAR NOT NULL,
    job_id BIGINT NOT NULL,
    run_id BIGINT NOT NULL,
    run_attempt INTEGER,
    run_created_at TIMESTAMP,  -- the run's created_at: the day the job's partition is
    workflow_name VARCHAR,
    name VARCHAR,
    status VARCHAR,
    conclusion VARCHAR,
    created_at TIMESTAMP,
    started_at TIMESTAMP,
    completed_at TIMESTAMP,
    runner_id BIGINT,
    runner_name VARCHAR,
    runner_group_name VARCHAR,
    labels VARCHAR[],
    steps JSON,
    html_url VARCHAR,
    extracted_at TIMESTAMP
);

CREATE TABLE IF NOT EXISTS raw.test_results (
    day DATE NOT NULL,           -- partition: the run's created_at day, or the report's time
    source VARCHAR NOT NULL,     -- file path, artifact name or plugin file the row came from
    source_kind VARCHAR NOT NULL,  -- 'junit', 'artifact' or 'plugin'
    content_hash VARCHAR NOT NULL, -- sha256 of the file's bytes: one execution per file
    seq INTEGER NOT NULL,        -- order of the row within its file
    repo VARCHAR,
    run_id BIGINT,
    run_attempt INTEGER,
    head_sha VARCHAR,
    branch VARCHAR,
    workflow VARCHAR,
    test_id VARCHAR NOT NULL,
    module VARCHAR,
    classname VARCHAR,
    name VARCHAR,
    file VARCHAR,
    outcome VARCHAR NOT NULL,    -- passed, failed, error, skipped, rerun
    duration_s DOUBLE,
    message VARCHAR,
    suite VARCHAR,
    report_time TIMESTAMP,
    hostname VARCHAR,
    ingested_at TIMESTAMP
);

CREATE TABLE IF NOT EXISTS raw.ingest_errors (
    source VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    content_hash VARCHAR,
    detected_at TIMESTAMP NOT NULL,
    dagster_run_id VARCHAR
);

-- Conditional-request cache: the last 200 answer of each URL, so a 304 can
-- reuse it (body is zlib-compressed JSON, link is the response's Link header).
CREATE TABLE IF NOT EXISTS meta.http_cache (
    url VARCHAR NOT NULL,
    etag VARCHAR NOT NULL,
    link VARCHAR,
    body BLOB NOT NULL,
    fetched_at TIMESTAMP NOT NULL
);

-- Runs whose jobs were fetched once every attempt had completed: never fetched again.
CREATE TABLE IF NOT EXISTS meta.jobs_fetched (
    repo VARCHAR NOT NULL,
    run_id BIGINT NOT NULL,
    run_attempt INTEGER NOT NULL,
    fetched_at TIMESTAMP NOT NULL
);

-- Report files already ingested, by content: the same bytes are never ingested twice.
CREATE TABLE IF NOT EXISTS meta.ingested_files (
    content_hash VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    day DATE,
    tests INTEGER NOT NULL,
    ingested_at TIMESTAMP NOT NULL
);

-- Artifacts already dealt with: ingested, expired (410), or holding nothing readable.
-- Failed downloads are not recorded, so the next materialization tries them again.
CREATE TABLE IF NOT EXISTS meta.artifacts_seen (
    repo VARCHAR NOT NULL,
    artifact_id BIGINT NOT NULL,
    run_id BIGINT NOT NULL,
    name VARCHAR,
    status VARCHAR NOT NULL,
    detail VARCHAR,
    seen_at TIMESTAMP NOT NULL
);

-- Each repository's metadata from /repos/{owner}/{name}: its default branch is what the
-- `default` branch filter selects.
CREATE TABLE IF NOT EXISTS raw.repositories (
    repo VARCHAR NOT NULL,
    default_branch VARCHAR,
    html_url VARCHAR,
    fetched_at TIMESTAMP NOT NULL
);
