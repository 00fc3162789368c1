-- A per-merchant generation of the configuration a checkout reads on every
-- request but that rarely changes: the catalogue (products, variants; not stock,
-- which lives in stock_levels), shipping zones, tax rates and which variants have
-- a waiting room. Every write to those tables bumps the merchant's generation in
-- the same transaction (triggers, so no write path can forget), and a node may
-- serve them from memory only while the generation it reads is the one it cached
-- them under: every node sees an admin change on its next request, at the cost of
-- one single-row read. A missing row is generation 0.
--
-- Not here: discounts (their redemption count changes with every order using a
-- code, and bumping a shared row in the order's transaction would serialise
-- orders), stock, sessions, API keys (read on every request: a revoked key stops
-- working at once everywhere). The waiting rooms' UPDATEs (admission passes) do
-- not change which rooms exist, so only their INSERT and DELETE bump.
CREATE TABLE merchant_config_generations (
    merchant_id TEXT PRIMARY KEY,
    generation BIGINT NOT NULL
);

-- SQLite: one trigger per table and operation.

CREATE TRIGGER variants_bump_config_insert AFTER INSERT ON variants
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (NEW.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER variants_bump_config_update AFTER UPDATE ON variants
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (NEW.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER variants_bump_config_delete AFTER DELETE ON variants
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (OLD.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER products_bump_config_insert AFTER INSERT ON products
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (NEW.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER products_bump_config_update AFTER UPDATE ON products
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (NEW.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER products_bump_config_delete AFTER DELETE ON products
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (OLD.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER shipping_zones_bump_config_insert AFTER INSERT ON shipping_zones
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (NEW.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER shipping_zones_bump_config_update AFTER UPDATE ON shipping_zones
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (NEW.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER shipping_zones_bump_config_delete AFTER DELETE ON shipping_zones
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (OLD.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER tax_rates_bump_config_insert AFTER INSERT ON tax_rates
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (NEW.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER tax_rates_bump_config_update AFTER UPDATE ON tax_rates
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (NEW.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER tax_rates_bump_config_delete AFTER DELETE ON tax_rates
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (OLD.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER waiting_rooms_bump_config_insert AFTER INSERT ON waiting_rooms
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (NEW.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER waiting_rooms_bump_config_delete AFTER DELETE ON waiting_rooms
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (OLD.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;
