-- Issue 12: accounts for the web app, their sessions, and albums.

-- An account. `name` is the owner recorded on what it uploads (images, keys,
-- events, webhooks), so the API keys and JWT owners of before map onto the
-- account of the same name. `password_hash` is an argon2id PHC string, NULL
-- for an account that signs in only through OIDC. `admin` is 0 or 1.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    admin         BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- OIDC identities: an (issuer, subject) pair signs in as one account.
CREATE TABLE identities (
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);

-- Web sessions, kept server-side so that they can be revoked. Only the
-- sha256 of the cookie's token is stored. `csrf` is the token every
-- state-changing form of the session must carry.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Failed sign-ins, per account name, for throttling; cleared on success
-- and pruned once old.
CREATE TABLE login_failures (
    name TEXT NOT NULL,
    at   BIGINT NOT NULL
);
CREATE INDEX login_failures_by_name ON login_failures (name, at);
