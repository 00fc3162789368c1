-- Attribution: a placement's own publishable key knows its placement, so a
-- checkout opened with it is attributed to that placement (channel, campaign)
-- without another lookup. NULL for a merchant's own keys. Placements made before
-- this migration are linked once by `Store::open` (their key's hash is computed
-- from the placement document, which SQL cannot do portably).
ALTER TABLE api_keys ADD COLUMN placement_id TEXT;
