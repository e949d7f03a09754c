-- The style-transfer shop's orders. An order is made when its photo
-- arrives (`id` is the upload's, from the object key) and moves
-- 'received' (preview rendering) → 'previewed' (preview link sent) →
-- 'checkout' (a payment intent made) → 'paid' (artwork rendering) →
-- 'delivered' (artwork link sent), or 'failed' (`error`).
--
-- `contact` is the visitor's address, sealed under the server's key; it is
-- set to NULL once the order no longer needs it (delivered or failed), and
-- the janitor deletes the order and its objects at `expires_at`.
-- `link_hash` is the sha256 of the order's link token: found by its hash,
-- the token itself is never stored.
CREATE TABLE shop_orders (
    id              TEXT PRIMARY KEY,
    style           TEXT NOT NULL,
    tier            TEXT NOT NULL,
    contact         TEXT,
    state           TEXT NOT NULL,
    link_base       TEXT NOT NULL,
    original_key    TEXT NOT NULL,
    preview_key     TEXT,
    artwork_key     TEXT,
    width           BIGINT NOT NULL DEFAULT 0,
    height          BIGINT NOT NULL DEFAULT 0,
    link_hash       TEXT,
    opened_at       BIGINT NOT NULL DEFAULT 0,
    currency        TEXT,
    amount          BIGINT NOT NULL DEFAULT 0,
    payment_intent  TEXT,
    paid_at         BIGINT NOT NULL DEFAULT 0,
    error           TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX shop_orders_by_link ON shop_orders (link_hash);
CREATE INDEX shop_orders_by_expiry ON shop_orders (expires_at);

-- Payment webhook events already handled, by Stripe's event id: each is
-- acted on once. Kept for `received_at` + 30 days.
CREATE TABLE shop_payment_events (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    received_at  BIGINT NOT NULL
);
CREATE INDEX shop_payment_events_by_age ON shop_payment_events (received_at);
