-- Download bundles: a zip of an owner's originals by label, linked for a
-- day. Nothing personal is kept here: the address a bundle is sent to
-- lives only, sealed, in its notification job's payload.
--
-- `state` goes 'requested' → 'restoring' (archived originals coming back)
-- → 'zipping' → 'ready' (the zip at `object_key`, linked until
-- `expires_at`) or 'failed' (`error`). `total`, `restored` and `zipped`
-- count images; `bytes` is the zip's size once ready. The janitor deletes
-- a bundle, its items and its zip once `expires_at` has passed.
CREATE TABLE bundles (
    id          TEXT PRIMARY KEY,
    owner       TEXT,
    labels      TEXT NOT NULL,
    match_all   INTEGER NOT NULL,
    channel     TEXT NOT NULL,
    link_base   TEXT NOT NULL,
    state       TEXT NOT NULL,
    total       BIGINT NOT NULL DEFAULT 0,
    restored    BIGINT NOT NULL DEFAULT 0,
    zipped      BIGINT NOT NULL DEFAULT 0,
    bytes       BIGINT NOT NULL DEFAULT 0,
    object_key  TEXT NOT NULL,
    error       TEXT,
    created_at  BIGINT NOT NULL,
    ready_at    BIGINT NOT NULL DEFAULT 0,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX bundles_by_owner ON bundles (owner, created_at);
CREATE INDEX bundles_by_expiry ON bundles (expires_at);

-- The images a bundle resolved to, in zip order. `name` is the entry's
-- unique, safe name; `restoring` is 1 for an original this bundle asked
-- the archive for (its restored copy is released once the zip is written).
CREATE TABLE bundle_items (
    bundle_id   TEXT NOT NULL,
    position    BIGINT NOT NULL,
    image_id    TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    name        TEXT NOT NULL,
    bytes       BIGINT NOT NULL,
    taken_at    BIGINT NOT NULL,
    restoring   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (bundle_id, position)
);
