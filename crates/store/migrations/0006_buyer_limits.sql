-- Per-buyer limits (max_quantity_per_order across checkouts): who a session or an
-- order belongs to, as Email::buyer_key (lowercased, +tags and Gmail dots removed).
ALTER TABLE checkout_sessions ADD COLUMN buyer_key TEXT;
CREATE INDEX sessions_by_buyer ON checkout_sessions (merchant_id, buyer_key) WHERE buyer_key IS NOT NULL;
ALTER TABLE orders ADD COLUMN buyer_key TEXT;
CREATE INDEX orders_by_buyer ON orders (merchant_id, buyer_key, created_at_ms) WHERE buyer_key IS NOT NULL;
