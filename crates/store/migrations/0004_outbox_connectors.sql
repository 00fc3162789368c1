-- Connectors: how each merchant's commerce platform is reached, the transactional
-- outbox that pushes anycart orders to it, and the bookkeeping that makes platform
-- webhooks idempotent (processed event ids, last applied platform timestamps).
-- Portable between SQLite and PostgreSQL like 0001.

-- One platform connection per merchant. `credentials` is a JSON document of
-- secrets (access token, SMTP URL, webhook secret): the Rust side wraps it in
-- `secrecy` so it is never logged.
CREATE TABLE merchant_connections (
    merchant_id TEXT PRIMARY KEY REFERENCES merchants(id),
    platform TEXT NOT NULL CHECK (platform IN ('native', 'shopify', 'salesforce', 'adobe')),
    shop_domain TEXT NOT NULL,
    base_url TEXT,
    credentials TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

-- Work to deliver to a platform, written in the same transaction as its cause.
-- `external_reference` (the anycart order id for orders) is what the platform side
-- de-duplicates on, so a retry after a timeout never creates a second order.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    external_reference TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at_ms BIGINT NOT NULL,
    lease_until_ms BIGINT,
    last_error TEXT,
    platform_order_id TEXT,
    confirmation_status TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at_ms);
CREATE INDEX outbox_by_merchant ON outbox (merchant_id, state, id);

-- Webhook event ids already applied: a replay finds its row and changes nothing.
CREATE TABLE processed_webhooks (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    platform TEXT NOT NULL,
    event_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, platform, event_id)
);

-- Platform ids mapped to anycart ids (inventory items and variants to variants,
-- platform locations to locations), filled by import or by the admin.
CREATE TABLE external_ids (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    platform TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('variant', 'inventory_item', 'location', 'product')),
    external_id TEXT NOT NULL,
    internal_id TEXT NOT NULL,
    PRIMARY KEY (merchant_id, platform, kind, external_id)
);

-- The platform time of the newest stock figure applied per stock row, so a late
-- (out-of-order) webhook cannot overwrite a newer figure.
CREATE TABLE external_stock_marks (
    variant_id TEXT NOT NULL,
    location_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (variant_id, location_id, platform),
    FOREIGN KEY (variant_id, location_id) REFERENCES stock_levels (variant_id, location_id)
);

-- Where a catalogue import stopped, so `anycart import` can resume.
CREATE TABLE import_cursors (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    platform TEXT NOT NULL,
    resource TEXT NOT NULL,
    cursor_value TEXT,
    done BIGINT NOT NULL CHECK (done IN (0, 1)),
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, platform, resource)
);
