-- The Universal Commerce Protocol door: each merchant's UCP settings and signing
-- key, the orders sold through it (which agent, where its webhooks go, the
-- protocol's append-only logs), the order webhooks owed to agents, and the
-- conformance mode's address book. Portable between SQLite and PostgreSQL like 0001.

-- One row per merchant that opened a UCP door. `access` is how agents must
-- identify themselves: not at all (open), with RFC 9421 signatures verified
-- against their profile's keys (signed), or with the merchant's API key (keyed).
-- The webhook signing key is PKCS#8, sealed like platform credentials.
CREATE TABLE ucp_doors (
    merchant_id TEXT PRIMARY KEY REFERENCES merchants(id),
    enabled BIGINT NOT NULL CHECK (enabled IN (0, 1)),
    access TEXT NOT NULL CHECK (access IN ('open', 'signed', 'keyed')),
    signing_kid TEXT NOT NULL,
    sealed_signing_key TEXT NOT NULL,
    -- JSON: what else the door shows (links to terms and privacy policy).
    settings TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

-- An order sold through UCP. `doc` holds what the protocol adds to anycart's
-- order: the expectations promised at checkout and the append-only fulfillment
-- events and adjustments; `version` guards its read-modify-write.
CREATE TABLE ucp_orders (
    order_id TEXT PRIMARY KEY REFERENCES orders(id),
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    session_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    agent_profile TEXT,
    webhook_url TEXT,
    ucp_version TEXT NOT NULL,
    doc TEXT NOT NULL,
    version BIGINT NOT NULL CHECK (version >= 1),
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX ucp_orders_by_merchant ON ucp_orders (merchant_id, order_id);

-- Order events owed to agents' webhook URLs, written with the change they report
-- and delivered at least once by a worker (leases, like the platform outbox).
CREATE TABLE ucp_webhooks (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    order_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    url TEXT NOT NULL,
    ucp_version TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at_ms BIGINT NOT NULL,
    lease_until_ms BIGINT,
    last_error TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX ucp_webhooks_due ON ucp_webhooks (next_attempt_at_ms) WHERE state = 'pending';
CREATE INDEX ucp_webhooks_by_order ON ucp_webhooks (merchant_id, order_id);

-- The conformance mode's address book (the official suite expects a known
-- buyer's saved addresses offered by email). Never read outside that mode.
CREATE TABLE ucp_test_addresses (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    id TEXT NOT NULL,
    email TEXT NOT NULL,
    doc TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX ucp_test_addresses_by_email ON ucp_test_addresses (merchant_id, email);
