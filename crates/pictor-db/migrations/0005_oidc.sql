-- Issue 12: OIDC sign-in in flight. A row lives from the redirect to the
-- provider until its callback takes it (once) or it expires, so that any
-- process behind a load balancer can finish a sign-in another one started.
-- `state_hash` is the sha256 of the `state` sent to the provider; `nonce`
-- and `verifier` (PKCE) are checked against what comes back; `next` is the
-- local path to go to afterwards; `redirect_url` is the callback the
-- provider was given (the code exchange must name it again).
CREATE TABLE oidc_logins (
    state_hash   TEXT PRIMARY KEY,
    nonce        TEXT NOT NULL,
    verifier     TEXT NOT NULL,
    next         TEXT NOT NULL,
    redirect_url TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX oidc_logins_by_expiry ON oidc_logins (expires_at);
