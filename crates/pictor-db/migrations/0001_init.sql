-- One schema for SQLite and PostgreSQL: only TEXT and BIGINT columns, times
-- as Unix milliseconds, ids as UUID text.

-- Originals, content-addressed. `pins`/`pinned_until` protect a blob that an
-- upload is writing from being deleted by a concurrent delete of its last
-- image; the lease expires so a crashed upload cannot pin a blob forever.
CREATE TABLE blobs (
    sha256       TEXT PRIMARY KEY,
    md5          TEXT NOT NULL,
    bytes        BIGINT NOT NULL,
    pins         BIGINT NOT NULL DEFAULT 0,
    pinned_until BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL
);

-- Every upload is its own image, with its own id and owner, over a shared blob.
CREATE TABLE images (
    id          TEXT PRIMARY KEY,
    owner       TEXT,
    sha256      TEXT NOT NULL REFERENCES blobs (sha256),
    md5         TEXT NOT NULL,
    format      TEXT NOT NULL,
    width       BIGINT NOT NULL,
    height      BIGINT NOT NULL,
    bytes       BIGINT NOT NULL,
    name        TEXT,
    description TEXT,
    source      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX images_by_owner ON images (owner, created_at, id);
CREATE INDEX images_by_blob ON images (sha256);

-- Cached derivatives in the object store, with their LRU clock.
CREATE TABLE derivatives (
    sha256       TEXT NOT NULL,
    name         TEXT NOT NULL,
    bytes        BIGINT NOT NULL,
    last_access  BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (sha256, name)
);
CREATE INDEX derivatives_by_age ON derivatives (last_access);

-- API keys: only the sha256 of the key is kept.
CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    key_hash   TEXT NOT NULL UNIQUE,
    owner      TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    name       TEXT,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

-- Everything that happens, in order (ids are UUIDv7): the feed later
-- workflows start from.
CREATE TABLE events (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    owner      TEXT,
    payload    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_by_subject ON events (subject);
