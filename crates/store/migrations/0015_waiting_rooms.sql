-- A fair waiting room for hot variants: shoppers join a line (first come, first
-- served), see their place, and are admitted to check out as stock allows. The
-- row in `waiting_rooms` is also the lock admissions take (so two nodes never
-- admit past the free stock together).
CREATE TABLE waiting_rooms (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    variant_id TEXT NOT NULL,
    -- Bumped by every admission pass: the row is the lock.
    admissions BIGINT NOT NULL DEFAULT 0,
    -- The place the next shopper to join gets (first come, first served, even
    -- within one millisecond).
    next_seq BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, variant_id)
);

-- One shopper's place in a line. `waiting` until admitted; `admitted` until used
-- for a checkout or lapsed; a waiting ticket not asked about for a while lapses
-- too (the shopper left), so the line moves.
CREATE TABLE waiting_room_tickets (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    variant_id TEXT NOT NULL,
    -- Who joined (a keyed hash, see the checkout's ClientId): one place per client.
    client TEXT,
    state TEXT NOT NULL CHECK (state IN ('waiting', 'admitted', 'used', 'lapsed')),
    seq BIGINT NOT NULL,
    joined_at_ms BIGINT NOT NULL,
    seen_at_ms BIGINT NOT NULL,
    admitted_until_ms BIGINT,
    FOREIGN KEY (merchant_id, variant_id) REFERENCES waiting_rooms (merchant_id, variant_id)
);
CREATE INDEX waiting_room_line ON waiting_room_tickets (merchant_id, variant_id, state, seq);
