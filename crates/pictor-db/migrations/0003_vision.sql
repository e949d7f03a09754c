-- Issue 6: what the vision models found in each image.

-- Moderation: the NSFW score, and whether the image is held back.
-- `moderation` is NULL (never flagged), 'flagged' (held until an admin
-- decides), 'approved' or 'rejected'. Faces and text lines are JSON; `text`
-- is every line joined, lower-cased, for search.
ALTER TABLE images ADD COLUMN nsfw_score DOUBLE PRECISION;
ALTER TABLE images ADD COLUMN moderation TEXT;
ALTER TABLE images ADD COLUMN faces TEXT;
ALTER TABLE images ADD COLUMN text_lines TEXT;
ALTER TABLE images ADD COLUMN text TEXT;
CREATE INDEX images_by_moderation ON images (moderation, created_at);

-- The label index: one row per (image, label), the model's own labels and
-- their WordNet parents alike, so an image counts once for a label however
-- often it is processed. `direct` is 1 for a label the model gave and 0 for
-- a parent. Rows go with their image.
CREATE TABLE image_labels (
    image_id   TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    label      TEXT NOT NULL,
    confidence DOUBLE PRECISION NOT NULL,
    direct     BIGINT NOT NULL,
    PRIMARY KEY (image_id, label)
);
CREATE INDEX image_labels_by_label ON image_labels (label, image_id);

-- Each label's parents, nearest first (JSON list), shared by all images.
CREATE TABLE labels (
    name    TEXT PRIMARY KEY,
    parents TEXT NOT NULL
);
