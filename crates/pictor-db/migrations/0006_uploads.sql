-- Resumable uploads (the tus protocol): an upload's state, and the parts
-- that hold its bytes in the object store until it is complete.

-- One upload. `id` is random and unguessable (it is the upload's URL);
-- `owner` is NULL on an open server. `upload_offset` advances only by a
-- conditional update (WHERE upload_offset = the old one), so two racing
-- chunks cannot both land. `metadata` is the client's Upload-Metadata as a
-- JSON object. `finishing_until` is the lease of the request that is
-- assembling the complete upload into an image (0 when none);
-- `image_id` is set once it has landed. Rows past `expires_at` are swept
-- with their parts.
CREATE TABLE uploads (
    id              TEXT PRIMARY KEY,
    owner           TEXT,
    upload_length   BIGINT NOT NULL,
    upload_offset   BIGINT NOT NULL,
    metadata        TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    finishing_until BIGINT NOT NULL DEFAULT 0,
    image_id        TEXT
);
CREATE INDEX uploads_by_owner ON uploads (owner, image_id);
CREATE INDEX uploads_by_expiry ON uploads (expires_at);

-- The accepted parts of an upload, in order: bytes [start, start + bytes)
-- are in the store's object `object`. Written in the same transaction as
-- the offset that accepts them.
CREATE TABLE upload_parts (
    upload_id TEXT NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    start     BIGINT NOT NULL,
    bytes     BIGINT NOT NULL,
    object    TEXT NOT NULL,
    PRIMARY KEY (upload_id, start)
);
