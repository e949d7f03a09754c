-- Issue 13: links that show an album or a photo to people without an
-- account, and a log of their use.

-- A share. Only the sha256 of the link's random token is kept (the link is
-- shown to its owner when made, and is looked up by hash), and the
-- argon2id PHC string of its password, if it has one. `kind` is `album` or
-- `photo`; `target` its id. `show_metadata` (0/1): guests see the camera
-- and place and get the originals with their EXIF only when it is 1.
-- Expiry and revocation are times (Unix ms), NULL when none.
CREATE TABLE shares (
    id            TEXT PRIMARY KEY,
    owner         TEXT,
    kind          TEXT NOT NULL,
    target        TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    expires_at    BIGINT,
    show_metadata BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);
CREATE INDEX shares_by_owner ON shares (owner, created_at);

-- Each visit to a share's page: when, from roughly where (the address
-- truncated to its network, IPv4 /24 and IPv6 /48: enough to tell visitors
-- apart, not to find one), the browser (truncated), and what came of it:
-- `viewed`, `wrong_password`, `expired` or `revoked`.
CREATE TABLE share_access (
    share_id   TEXT NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
    at         BIGINT NOT NULL,
    network    TEXT,
    user_agent TEXT,
    outcome    TEXT NOT NULL
);
CREATE INDEX share_access_by_share ON share_access (share_id, at);
