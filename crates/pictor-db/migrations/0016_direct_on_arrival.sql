-- Direct uploads that land when their object arrives, with no `complete`
-- call (the asset manager's `PUT /pam/upload`): on a local store the
-- server's own PUT lands them, on S3 a housekeeping sweep that looks for
-- their object. 0 for the others, which wait for their `complete`.
ALTER TABLE direct_uploads ADD COLUMN on_arrival BIGINT NOT NULL DEFAULT 0;
CREATE INDEX direct_uploads_on_arrival ON direct_uploads (on_arrival, image_id, expires_at);
