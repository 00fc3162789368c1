-- Funnel events the widget reports (append-only). No cookie, IP, user agent or
-- email is stored: `view_id` is random per widget load, signed by the iframe page,
-- so it identifies one view of one placement and nothing across sites. One event
-- per (view, step, reason): a replayed report is a no-op.
CREATE TABLE funnel_events (
    placement_id TEXT NOT NULL REFERENCES placements(id),
    view_id TEXT NOT NULL,
    step TEXT NOT NULL,
    reason TEXT NOT NULL,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (placement_id, view_id, step, reason)
);

-- Hourly rollups, written in the same transaction as the events they count, so a
-- year of a busy placement is read as at most 8,784 rows per step. `channel` and
-- `campaign` are the placement's at the time of the event.
CREATE TABLE funnel_rollups (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    placement_id TEXT NOT NULL REFERENCES placements(id),
    hour_ms BIGINT NOT NULL,
    step TEXT NOT NULL,
    reason TEXT NOT NULL,
    channel TEXT NOT NULL,
    campaign TEXT NOT NULL,
    count BIGINT NOT NULL CHECK (count >= 0),
    PRIMARY KEY (merchant_id, hour_ms, placement_id, step, reason)
);

-- The overview reads orders by time.
CREATE INDEX orders_by_merchant_time ON orders (merchant_id, created_at_ms);
