-- Issue 13: what the search and map pages filter on, as columns.
--
-- `camera` is the EXIF make and model as shown ("Canon EOS 5D"); search
-- matches it case-insensitively. `taken_at` is when the photo was taken
-- (Unix ms: the EXIF date with its offset, else the upload's time), so
-- that it is never NULL once known: a row with metadata but no `taken_at`
-- is one stored before this migration, which housekeeping backfills from
-- the JSON. The position is in microdegrees (BIGINT, like every number
-- here): integer division groups points into map cells the same way on
-- both engines (SQLite has no FLOOR, PostgreSQL's CAST rounds).
ALTER TABLE images ADD COLUMN camera TEXT;
ALTER TABLE images ADD COLUMN taken_at BIGINT;
ALTER TABLE images ADD COLUMN latitude_e6 BIGINT;
ALTER TABLE images ADD COLUMN longitude_e6 BIGINT;
UPDATE images SET taken_at = created_at WHERE metadata IS NULL;
CREATE INDEX images_by_taken ON images (owner, taken_at);
CREATE INDEX images_by_place ON images (owner, latitude_e6, longitude_e6, id);
