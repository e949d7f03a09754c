-- Direct uploads: files a client sends straight to the store (a presigned
-- PUT URL or POST form), then completes (`POST /api/v1/uploads/{id}/complete`).

-- One presigned upload. `id` is random and unguessable; `owner` is NULL on
-- an open server. `object_key` is the staging key the client was allowed
-- to write (`direct/<id>/<name>`); `content_type` and `size` are what it
-- declared, and the most the object may be. `finishing_until` is the lease
-- of the request completing it (0 when none); `image_id` is set once it has
-- landed. Rows past `expires_at` are swept with their staging objects.
CREATE TABLE direct_uploads (
    id              TEXT PRIMARY KEY,
    owner           TEXT,
    name            TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    size            BIGINT NOT NULL,
    object_key      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    finishing_until BIGINT NOT NULL DEFAULT 0,
    image_id        TEXT
);
CREATE INDEX direct_uploads_by_owner ON direct_uploads (owner, image_id);
CREATE INDEX direct_uploads_by_expiry ON direct_uploads (expires_at);
