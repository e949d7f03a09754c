-- Derivatives being computed right now, one row each: the cross-process
-- single-flight of the derivative cache. A row is taken by an insert (or by
-- an update once it has expired: its holder died) and deleted when the
-- derivative is stored.
CREATE TABLE derivative_leases (
    sha256     TEXT NOT NULL,
    name       TEXT NOT NULL,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (sha256, name)
);
