-- Attribution: a placement's own publishable key knows its placement, so a
-- checkout opened with it is attributed to that placement (channel, campaign)
-- without another lookup. NULL for a merchant's own keys. Placements made before
-- this migration are linked once by `Store::open` (their key's hash is computed
-- from the placement document, which SQL cannot do portably).
ALTER TABLE api_keys ADD COLUMN placement_id TEXT;

-- Retention: ended sessions (expired, canceled) are purged after a window, oldest
-- first; this index finds them without scanning live ones.
CREATE INDEX sessions_ended ON checkout_sessions (updated_at_ms)
    WHERE status IN ('expired', 'canceled');
-- Webhook event ids are kept only as long as a platform may still retry them.
CREATE INDEX processed_webhooks_by_age ON processed_webhooks (received_at_ms);
