-- Hand-off codes: a TV (or any screen without a keyboard) holds a checkout
-- session and shows a short code and a QR; the shopper's phone opens `/h/{code}`
-- and continues that same session. A code is bound to one session, lives a few
-- minutes at most (never past the session's hold), and is claimed once: the first
-- phone's claim token is recorded and every other phone is turned away.
CREATE TABLE handoffs (
    -- HMAC of the code under the service's secret: a leaked table does not give
    -- the codes back, even though they are short.
    code_mac TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    placement_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    -- Hash of the claiming phone's token (a cookie); NULL until claimed.
    claimed_by TEXT,
    claimed_at_ms BIGINT
);
CREATE INDEX handoffs_session ON handoffs (merchant_id, session_id);
CREATE INDEX handoffs_expiry ON handoffs (expires_at_ms);
