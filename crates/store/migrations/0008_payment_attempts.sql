-- The payment journal. Every payment attempt is written here before the provider is
-- asked, so a crash between the provider's answer and the order commit leaves a row
-- that the recovery worker finds: it finishes the order (the stock is still held)
-- or voids the charge. Exactly one of "ordered" and "voiding" wins per attempt:
-- both are conditional updates from an unsettled state.
CREATE TABLE payment_attempts (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    session_id TEXT NOT NULL,
    attempt BIGINT NOT NULL CHECK (attempt >= 0),
    -- The provider's idempotency key: replaying the call with it returns the answer
    -- of the first call instead of charging again.
    idempotency_key TEXT NOT NULL,
    provider TEXT NOT NULL,
    -- Allocated before the call, so the order a recovery finishes is the one the
    -- provider's metadata names.
    order_id TEXT NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
    currency TEXT NOT NULL,
    capture BIGINT NOT NULL CHECK (capture IN (0, 1)),
    -- The provider token charged, sealed like platform credentials (it can be a
    -- bearer credential such as a shared payment token).
    sealed_token TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN (
        'started', 'requires_action', 'authorized', 'declined', 'failed',
        'ordered', 'voiding', 'voided')),
    provider_reference TEXT,
    captured BIGINT NOT NULL DEFAULT 0 CHECK (captured IN (0, 1)),
    recovery_runs BIGINT NOT NULL DEFAULT 0,
    lease_until_ms BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, session_id, attempt)
);

-- What the recovery worker scans: attempts neither ordered nor settled.
CREATE INDEX payment_attempts_unsettled ON payment_attempts (updated_at_ms)
    WHERE state IN ('started', 'authorized', 'voiding');
