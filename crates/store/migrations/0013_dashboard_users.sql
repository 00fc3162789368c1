-- Merchant dashboard users: people who sign in at /dashboard. An email signs in to
-- one merchant (unique across merchants, so sign-in needs no merchant picker).
-- `password_hash` is an argon2id PHC string, NULL until the user sets a password
-- (a new user signs in first with the one-time link `anycart user create` prints).
CREATE TABLE dashboard_users (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'staff')),
    password_hash TEXT,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX dashboard_users_by_merchant ON dashboard_users (merchant_id, id);

-- One-time sign-in links: only the SHA-256 of the token is kept; a link is spent
-- by a conditional UPDATE (used_at_ms IS NULL), so it signs in at most once.
CREATE TABLE dashboard_sign_in_links (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES dashboard_users(id),
    expires_at_ms BIGINT NOT NULL,
    used_at_ms BIGINT
);

-- Dashboard sessions (the HttpOnly cookie holds the token; only its SHA-256 is kept).
-- Expire on `expires_at_ms`; revoked by setting `revoked_at_ms` (sign-out, or the
-- owner revoking every session of a user).
CREATE TABLE dashboard_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES dashboard_users(id),
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);
CREATE INDEX dashboard_sessions_by_user ON dashboard_sessions (user_id);

-- Failed password sign-ins, keyed by a hash of the email, for rate limiting
-- (counted over a sliding window; older rows of the same email are deleted as
-- new failures are recorded).
CREATE TABLE dashboard_sign_in_failures (
    email_hash TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX dashboard_sign_in_failures_by_email ON dashboard_sign_in_failures (email_hash, at_ms);
