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

-- PostgreSQL: one function, one row trigger per table.
CREATE FUNCTION bump_config_generation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    merchant TEXT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        merchant := OLD.merchant_id;
    ELSE
        merchant := NEW.merchant_id;
    END IF;
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (merchant, 1)
        ON CONFLICT (merchant_id)
        DO UPDATE SET generation = merchant_config_generations.generation + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER variants_bump_config AFTER INSERT OR UPDATE OR DELETE ON variants
    FOR EACH ROW EXECUTE FUNCTION bump_config_generation();

CREATE TRIGGER products_bump_config AFTER INSERT OR UPDATE OR DELETE ON products
    FOR EACH ROW EXECUTE FUNCTION bump_config_generation();

CREATE TRIGGER shipping_zones_bump_config AFTER INSERT OR UPDATE OR DELETE ON shipping_zones
    FOR EACH ROW EXECUTE FUNCTION bump_config_generation();

CREATE TRIGGER tax_rates_bump_config AFTER INSERT OR UPDATE OR DELETE ON tax_rates
    FOR EACH ROW EXECUTE FUNCTION bump_config_generation();

CREATE TRIGGER waiting_rooms_bump_config AFTER INSERT OR DELETE ON waiting_rooms
    FOR EACH ROW EXECUTE FUNCTION bump_config_generation();
