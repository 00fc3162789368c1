-- anycart schema. Kept portable between SQLite and PostgreSQL: ids are TEXT
-- (prefixed UUIDv7), money is BIGINT minor units + TEXT currency, times are BIGINT
-- unix milliseconds, booleans are BIGINT 0/1, documents are JSON in TEXT.
-- Invariants live in CHECK constraints, not only in application code.

CREATE TABLE merchants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    order_seq BIGINT NOT NULL DEFAULT 1000 CHECK (order_seq >= 1000),
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    kind TEXT NOT NULL CHECK (kind IN ('publishable', 'secret')),
    key_hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);

CREATE TABLE products (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    images TEXT NOT NULL,
    active BIGINT NOT NULL CHECK (active IN (0, 1)),
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX products_by_merchant ON products (merchant_id, id);

CREATE TABLE variants (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    product_id TEXT NOT NULL REFERENCES products(id),
    position BIGINT NOT NULL,
    sku TEXT NOT NULL,
    title TEXT NOT NULL,
    options TEXT NOT NULL,
    price_minor BIGINT NOT NULL CHECK (price_minor >= 0),
    currency TEXT NOT NULL,
    max_quantity_per_order BIGINT CHECK (max_quantity_per_order IS NULL OR max_quantity_per_order > 0),
    image_url TEXT,
    UNIQUE (merchant_id, sku)
);
CREATE INDEX variants_by_product ON variants (product_id, position);

CREATE TABLE locations (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    name TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

-- available = on_hand - held - committed, never negative.
CREATE TABLE stock_levels (
    variant_id TEXT NOT NULL REFERENCES variants(id),
    location_id TEXT NOT NULL REFERENCES locations(id),
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    on_hand BIGINT NOT NULL CHECK (on_hand >= 0),
    held BIGINT NOT NULL DEFAULT 0 CHECK (held >= 0),
    committed BIGINT NOT NULL DEFAULT 0 CHECK (committed >= 0),
    CHECK (held + committed <= on_hand),
    PRIMARY KEY (variant_id, location_id)
);

-- Active holds only: a released or committed hold is deleted in the same
-- transaction that gives its units back to (or takes them from) stock_levels.
CREATE TABLE holds (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    session_id TEXT NOT NULL,
    variant_id TEXT NOT NULL,
    location_id TEXT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    expires_at_ms BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    FOREIGN KEY (variant_id, location_id) REFERENCES stock_levels (variant_id, location_id)
);
CREATE INDEX holds_by_session ON holds (session_id);
CREATE INDEX holds_by_expiry ON holds (expires_at_ms);

CREATE TABLE shipping_zones (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    doc TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE tax_rates (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    doc TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE discounts (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    code TEXT NOT NULL,
    doc TEXT NOT NULL,
    times_redeemed BIGINT NOT NULL DEFAULT 0 CHECK (times_redeemed >= 0),
    created_at_ms BIGINT NOT NULL,
    UNIQUE (merchant_id, code)
);

CREATE TABLE checkout_sessions (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    status TEXT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    version BIGINT NOT NULL,
    doc TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX sessions_by_expiry ON checkout_sessions (expires_at_ms) WHERE status IN ('not_ready_for_payment', 'ready_for_payment', 'authentication_required');

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    session_id TEXT NOT NULL UNIQUE REFERENCES checkout_sessions(id),
    number BIGINT NOT NULL,
    access_token TEXT NOT NULL UNIQUE,
    total_minor BIGINT NOT NULL CHECK (total_minor >= 0),
    doc TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    UNIQUE (merchant_id, number)
);
CREATE INDEX orders_by_merchant ON orders (merchant_id, id);

-- ACP idempotency: one row per (merchant, endpoint, key). 'in_flight' rows carry a
-- lock deadline so a crashed request does not block its key forever.
CREATE TABLE idempotency_keys (
    merchant_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
    status_code BIGINT,
    response_body TEXT,
    locked_until_ms BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, scope, idem_key)
);
CREATE INDEX idempotency_by_age ON idempotency_keys (created_at_ms);
