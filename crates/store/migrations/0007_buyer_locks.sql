-- One row per (merchant, buyer) with a per-buyer limit in play: completing an order
-- upserts it first, which serialises that buyer's concurrent completions across
-- nodes, so the limit check that follows sees every earlier order.
CREATE TABLE buyer_locks (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    buyer_key TEXT NOT NULL,
    touched_at_ms BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, buyer_key)
);
