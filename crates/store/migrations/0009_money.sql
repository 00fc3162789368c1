-- Real money: which provider each merchant is paid through, what each order's
-- payment came to (captured, refunded, disputed), and the refunds themselves.
-- Portable between SQLite and PostgreSQL like 0001.

-- A merchant's payment providers, their keys sealed like platform credentials.
-- One row per provider, so switching back to the sandbox keeps the Stripe keys
-- (the recovery worker may still need them for an attempt made before the switch);
-- `active` marks the one new payments go through.
CREATE TABLE merchant_payment_providers (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    provider TEXT NOT NULL CHECK (provider IN ('sandbox', 'stripe')),
    sealed_settings TEXT NOT NULL,
    -- What `GET /v1/payment_provider` shows: the settings without their secrets.
    public_settings TEXT NOT NULL,
    active BIGINT NOT NULL CHECK (active IN (0, 1)),
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, provider)
);
CREATE UNIQUE INDEX merchant_payment_providers_active
    ON merchant_payment_providers (merchant_id) WHERE active = 1;

-- The money side of an order, written with the order. Amounts only move through
-- conditional updates, so two refunds racing can never take out more than was
-- captured: `refunded_minor <= captured_minor <= amount_minor` holds always.
CREATE TABLE order_payments (
    order_id TEXT PRIMARY KEY REFERENCES orders(id),
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    provider TEXT NOT NULL,
    provider_reference TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
    captured_minor BIGINT NOT NULL CHECK (captured_minor >= 0 AND captured_minor <= amount_minor),
    refunded_minor BIGINT NOT NULL DEFAULT 0
        CHECK (refunded_minor >= 0 AND refunded_minor <= captured_minor),
    -- authorized (to capture on fulfilment), captured, failed (an asynchronous
    -- method that did not go through), canceled (an authorisation released).
    status TEXT NOT NULL CHECK (status IN ('authorized', 'captured', 'failed', 'canceled')),
    updated_at_ms BIGINT NOT NULL
);
-- Not unique: a provider's reference names one payment, but an order commit must
-- never fail (and void a taken payment) over a provider that reuses one.
CREATE INDEX order_payments_by_reference
    ON order_payments (merchant_id, provider, provider_reference);

-- Refunds of orders: asked for through anycart (`source` anycart, keyed by the
-- caller's Idempotency-Key), or made elsewhere and mirrored here (in the Stripe
-- dashboard: source provider; in the platform's admin: source platform), keyed by
-- the outside id so a replayed webhook mirrors nothing twice.
CREATE TABLE refunds (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    order_id TEXT NOT NULL REFERENCES orders(id),
    source TEXT NOT NULL CHECK (source IN ('anycart', 'provider', 'platform')),
    idempotency_key TEXT,
    request_hash TEXT,
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    -- JSON array of {"line_item_id", "quantity"}; empty for an amount-only refund.
    lines TEXT NOT NULL,
    restock BIGINT NOT NULL CHECK (restock IN (0, 1)),
    reason TEXT,
    -- requested: the amount is reserved and the provider is being asked;
    -- pending: the provider accepted and settles later; succeeded; failed (the
    -- reserved amount was given back).
    state TEXT NOT NULL CHECK (state IN ('requested', 'pending', 'succeeded', 'failed')),
    provider_reference TEXT,
    platform_reference TEXT,
    failure TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX refunds_by_order ON refunds (order_id, created_at_ms);
CREATE UNIQUE INDEX refunds_by_idempotency_key
    ON refunds (merchant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX refunds_by_provider_reference
    ON refunds (merchant_id, provider_reference) WHERE provider_reference IS NOT NULL;
CREATE UNIQUE INDEX refunds_by_platform_reference
    ON refunds (merchant_id, platform_reference) WHERE platform_reference IS NOT NULL;
-- What the refund worker retries: refunds whose provider call did not answer.
CREATE INDEX refunds_unsettled ON refunds (updated_at_ms) WHERE state = 'requested';

-- Disputes (chargebacks) the provider reported on an order's payment.
CREATE TABLE order_disputes (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    dispute_id TEXT NOT NULL,
    order_id TEXT NOT NULL REFERENCES orders(id),
    status TEXT NOT NULL,
    reason TEXT,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, dispute_id)
);
CREATE INDEX order_disputes_by_order ON order_disputes (order_id);

-- A saved card at a real provider lives on the provider's customer (Stripe
-- `cus_…`); the sandbox needs neither.
ALTER TABLE shoppers ADD COLUMN payment_provider TEXT;
ALTER TABLE shoppers ADD COLUMN provider_customer TEXT;

-- What a payment attempt does with the card beyond this payment, journaled so a
-- replay of the provider call is the same call: `one_off`, `save` (set the card
-- up on the customer, "Remember me") or `saved_card` (one tap on a saved card).
ALTER TABLE payment_attempts ADD COLUMN card_use TEXT NOT NULL DEFAULT 'one_off';
ALTER TABLE payment_attempts ADD COLUMN provider_customer TEXT;
-- What else the provider is told about the payment (placement, channel), as a JSON
-- array of [key, value] pairs: journaled so every replay sends the same metadata.
ALTER TABLE payment_attempts ADD COLUMN provider_metadata TEXT NOT NULL DEFAULT '[]';
