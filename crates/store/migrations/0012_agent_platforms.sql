-- Agents: the agent platforms a merchant sells through (ACP over REST or MCP),
-- what agents tell anycart that it keeps but never echoes (why a checkout was
-- abandoned, which affiliate sent the buyer), and what the platforms' product
-- feeds were last told. Portable between SQLite and PostgreSQL like 0001.

-- One row per agent platform a merchant registered. The platform calls anycart
-- with its own key (`api_key_id`: checkout rights only, revoked with the row);
-- anycart posts signed order webhooks to `webhook_url` and pushes feed changes to
-- `feed_url`. `secrets` is a sealed JSON document (the shared signing secret, the
-- feed endpoint's bearer token), like platform credentials. `name` is what orders
-- record as their agent, so it is unique per merchant and never changes.
CREATE TABLE agent_platforms (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    name TEXT NOT NULL,
    api_key_id TEXT NOT NULL UNIQUE REFERENCES api_keys(id),
    webhook_url TEXT,
    feed_url TEXT,
    -- The anycart origin the platform was registered on: order links in its
    -- webhooks point there.
    api_base_url TEXT NOT NULL,
    secrets TEXT NOT NULL,
    verify_signatures BIGINT NOT NULL CHECK (verify_signatures IN (0, 1)),
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    disabled_at_ms BIGINT,
    UNIQUE (merchant_id, name)
);

-- Why an agent abandoned a checkout session (ACP intent traces). Write-only and
-- written once: a replayed cancel finds the row and adds nothing.
CREATE TABLE intent_traces (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    session_id TEXT NOT NULL,
    reason_code TEXT NOT NULL,
    trace_summary TEXT,
    metadata TEXT NOT NULL,
    agent TEXT,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, session_id)
);

-- Affiliate attribution claims (ACP): first touch at session creation, last
-- touch at completion. The first claim of each touchpoint wins; later ones are
-- ignored so nobody can hijack a sale at the last moment. `token` is sealed.
CREATE TABLE affiliate_attributions (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    session_id TEXT NOT NULL,
    touchpoint TEXT NOT NULL CHECK (touchpoint IN ('first', 'last')),
    doc TEXT NOT NULL,
    token TEXT,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, session_id, touchpoint)
);

-- What each platform's product feed was last sent, per product (a fingerprint
-- of the rendered product), so only products that changed are pushed again.
CREATE TABLE agent_feed_marks (
    platform_id TEXT NOT NULL REFERENCES agent_platforms(id),
    product_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (platform_id, product_id)
);
