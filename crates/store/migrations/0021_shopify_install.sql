-- Shopify as an installable app, from anycart's side. An install starts with a
-- `state` nonce handed to Shopify in the install link and comes back with it on
-- the callback: the nonce says which merchant asked to install on which shop, is
-- kept only as a hash (a leaked table gives no usable nonce), expires after a few
-- minutes and is spent once (`used_at_ms`), so a replayed callback is refused.
CREATE TABLE shopify_install_states (
    state_hash TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    shop_domain TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    used_at_ms BIGINT
);
CREATE INDEX shopify_install_states_expiry ON shopify_install_states (expires_at_ms);
-- The app's compliance webhooks arrive at one URL for every shop and name the
-- shop in a header: the merchant is found by its connection's shop domain.
CREATE INDEX merchant_connections_shop ON merchant_connections (platform, shop_domain);
-- `customers/data_request` deliveries, for the merchant to answer (listed in the
-- admin API). Ids only, as Shopify sends them, plus the email the request names
-- (saved checkout details are keyed by it). One row per delivery id.
CREATE TABLE data_requests (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    platform TEXT NOT NULL,
    event_id TEXT NOT NULL,
    shop_domain TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    customer_email TEXT,
    data_request_id TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, platform, event_id)
);
CREATE INDEX data_requests_received ON data_requests (merchant_id, received_at_ms);
