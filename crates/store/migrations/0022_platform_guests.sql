-- The platform guest shopper an anycart order is placed as (Salesforce B2C Commerce:
-- a SLAS guest). It is written, and committed, right after the platform issued the
-- guest and before anything is created on the platform, so every retry after a lost
-- response or a crash acts as the very guest the platform returned (through the
-- guest's refresh token) and finds that guest's basket and order. A self-made id
-- (a derived SLAS `usid`) would not do: SLAS does not promise to map it to the same
-- guest twice. Kept with the order; the token itself is only good for its lifetime.
CREATE TABLE platform_guests (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    order_id TEXT NOT NULL REFERENCES orders(id),
    -- `salesforce`.
    platform TEXT NOT NULL,
    -- The guest as the platform identifies it (SLAS `customer_id`, and its `usid`).
    customer_id TEXT NOT NULL,
    usid TEXT,
    -- The guest's refresh token, sealed at rest like platform credentials.
    sealed_refresh_token TEXT NOT NULL,
    -- When the platform said the refresh token stops working (unix ms).
    refresh_expires_at_ms BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, order_id, platform)
);
