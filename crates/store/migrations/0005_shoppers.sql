-- Returning shoppers of the checkout widget. A profile is keyed by merchant and
-- normalised email (no cross-merchant identity). It holds the shipping details as one
-- JSON document (read whole) and a reusable payment-provider token with the card's
-- brand and last four digits for display; never a card number.
CREATE TABLE shoppers (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    email TEXT NOT NULL,
    doc TEXT NOT NULL,
    payment_token TEXT NOT NULL,
    card_brand TEXT,
    card_last4 TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, email)
);

-- One-time sign-in codes. Only a keyed hash (HMAC) of the code is stored. A new code
-- supersedes the email's older ones (`consumed` = 1); rows are purged after expiry.
CREATE TABLE shopper_codes (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    email TEXT NOT NULL,
    code_mac TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    consumed BIGINT NOT NULL DEFAULT 0 CHECK (consumed IN (0, 1)),
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX shopper_codes_by_email ON shopper_codes (merchant_id, email, created_at_ms);
CREATE INDEX shopper_codes_by_merchant ON shopper_codes (merchant_id, created_at_ms);

-- Short-lived shopper tokens a verified code buys (SHA-256 of a 256-bit random token).
CREATE TABLE shopper_tokens (
    token_hash TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    email TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);

-- "Remember me" ticked for a checkout session; read and removed when it is paid.
-- `token_hash` is the shopper token held at opt-in (it allows replacing a profile).
CREATE TABLE shopper_optins (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    session_id TEXT NOT NULL,
    token_hash TEXT,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, session_id)
);
