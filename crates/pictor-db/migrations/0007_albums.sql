-- Issue 12: albums, and a tiny placeholder for each image.

-- An album belongs to one account (`owner`, NULL on an open server). Its
-- cover is one of its photos, forgotten when that photo is deleted.
CREATE TABLE albums (
    id             TEXT PRIMARY KEY,
    owner          TEXT,
    name           TEXT NOT NULL,
    description    TEXT NOT NULL,
    cover_image_id TEXT REFERENCES images (id) ON DELETE SET NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX albums_by_owner ON albums (owner, updated_at);

-- A photo can be in many albums; rows go with either side.
CREATE TABLE album_images (
    album_id TEXT NOT NULL REFERENCES albums (id) ON DELETE CASCADE,
    image_id TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (album_id, image_id)
);
CREATE INDEX album_images_by_image ON album_images (image_id);

-- The ThumbHash of each image (about 25 bytes, base64), computed at
-- ingest: pages inline it as a blurred placeholder until the thumbnail loads.
ALTER TABLE images ADD COLUMN thumbhash TEXT;
