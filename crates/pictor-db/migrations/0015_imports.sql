-- Imports: every image under a bucket prefix or a local folder, ingested
-- by a background job (`import.run`) page by page.

-- One import. `owner` is NULL on an open server. `source` is what is shown
-- (`s3://bucket/prefix` or the folder): never credentials, which travel
-- sealed in the job's payload only. `state` is queued, running, done,
-- failed or cancelled. `cursor_key` is the last key fully processed, in
-- lexical order ('' before the first page): a job that dies resumes after
-- it. The counters are the progress; `problems` is a JSON array of the
-- latest skipped or failed keys with their reasons; `error` why it failed.
CREATE TABLE imports (
    id          TEXT PRIMARY KEY,
    owner       TEXT,
    source      TEXT NOT NULL,
    state       TEXT NOT NULL,
    cursor_key  TEXT NOT NULL DEFAULT '',
    seen        BIGINT NOT NULL DEFAULT 0,
    imported    BIGINT NOT NULL DEFAULT 0,
    duplicates  BIGINT NOT NULL DEFAULT 0,
    skipped     BIGINT NOT NULL DEFAULT 0,
    failed      BIGINT NOT NULL DEFAULT 0,
    bytes       BIGINT NOT NULL DEFAULT 0,
    problems    TEXT NOT NULL DEFAULT '[]',
    error       TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX imports_by_owner ON imports (owner, created_at);
