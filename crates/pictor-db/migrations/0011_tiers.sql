-- Storage tiers: where each blob's original is, and its restore.
--
-- `tier` is 'hot' (the original at blobs/…) or 'archive' (only in the
-- archive tier: a second folder, or a cold S3 storage class). A restore
-- goes `restore_state` NULL → 'requested' (asked for, at
-- `restore_requested_at`) → 'restoring' (the archive is making a readable
-- copy) → 'restored': a temporary hot copy exists until `restored_until`,
-- when the janitor removes it and the state goes back to NULL.
-- Plain ALTERs with defaults: the same on SQLite and PostgreSQL.
ALTER TABLE blobs ADD COLUMN tier TEXT NOT NULL DEFAULT 'hot';
ALTER TABLE blobs ADD COLUMN archived_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE blobs ADD COLUMN restore_state TEXT;
ALTER TABLE blobs ADD COLUMN restore_requested_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE blobs ADD COLUMN restored_until BIGINT NOT NULL DEFAULT 0;
CREATE INDEX blobs_by_tier ON blobs (tier, restore_state, restored_until);
