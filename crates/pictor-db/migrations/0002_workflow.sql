-- Issue 5: the durable queue, workflow executions and their history,
-- per-image processing state, and webhooks.

-- What the workflow made of an image: pending → processing → processed, or
-- rejected (unsupported type) / failed. `metadata` and `thumbnails` are JSON.
ALTER TABLE images ADD COLUMN status TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE images ADD COLUMN metadata TEXT;
ALTER TABLE images ADD COLUMN thumbnails TEXT;

-- Events that retried work records again carry an idempotency key, so the
-- retry writes nothing new.
ALTER TABLE events ADD COLUMN dedupe TEXT;
CREATE UNIQUE INDEX events_by_dedupe ON events (dedupe);
CREATE INDEX events_by_owner ON events (owner, id);

-- The durable queue. A job is due when `run_at` has passed and nobody holds
-- a live lease on it; claiming sets the lease, a heartbeat extends it, and
-- finishing deletes the row. A worker that dies simply lets its lease lapse.
-- `dedupe` makes enqueueing idempotent.
CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    dedupe      TEXT UNIQUE,
    status      TEXT NOT NULL DEFAULT 'ready',
    run_at      BIGINT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, run_at);

-- One run of a state machine. `definition` is kept so that a restart with a
-- changed config still finishes what was started with the old one.
CREATE TABLE executions (
    id         TEXT PRIMARY KEY,
    image_id   TEXT,
    owner      TEXT,
    workflow   TEXT NOT NULL,
    definition TEXT NOT NULL,
    cause_id   TEXT NOT NULL UNIQUE,
    status     TEXT NOT NULL,
    input      TEXT NOT NULL,
    output     TEXT,
    error      TEXT,
    cause      TEXT,
    started_at BIGINT NOT NULL,
    stopped_at BIGINT
);
CREATE INDEX executions_by_image ON executions (image_id, started_at);
CREATE INDEX executions_by_owner ON executions (owner, started_at);

-- Execution history, as Step Functions keeps it. `key` is the interpreter's
-- deterministic key, so a replay after a crash writes nothing twice; ids are
-- UUIDv7 and give the order.
CREATE TABLE execution_history (
    id           TEXT PRIMARY KEY,
    execution_id TEXT NOT NULL,
    key          TEXT NOT NULL,
    kind         TEXT NOT NULL,
    state        TEXT,
    details      TEXT NOT NULL,
    at           BIGINT NOT NULL,
    UNIQUE (execution_id, key)
);

-- The journal a resumed execution replays from: each finished task attempt's
-- result, and each timer's deadline.
CREATE TABLE execution_journal (
    execution_id TEXT NOT NULL,
    key          TEXT NOT NULL,
    ok           BIGINT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (execution_id, key)
);

-- Webhook subscriptions. The secret must be kept to sign deliveries.
CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY,
    owner           TEXT,
    url             TEXT NOT NULL,
    events          TEXT NOT NULL,
    secret          TEXT NOT NULL,
    enabled         BIGINT NOT NULL DEFAULT 1,
    disabled_reason TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX webhooks_by_owner ON webhooks (owner);

-- One message to one endpoint; its id is the `webhook-id` on every attempt.
CREATE TABLE webhook_deliveries (
    id          TEXT PRIMARY KEY,
    webhook_id  TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    event_kind  TEXT NOT NULL,
    payload     TEXT NOT NULL,
    status      TEXT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    last_status BIGINT,
    last_error  TEXT,
    next_at     BIGINT,
    created_at  BIGINT NOT NULL,
    done_at     BIGINT,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX deliveries_by_webhook ON webhook_deliveries (webhook_id, created_at);
