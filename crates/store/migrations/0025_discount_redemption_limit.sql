-- A discount code's redemption limit, enforced by the database.
--
-- Before, `max_redemptions` lived only in the code's JSON document and was
-- checked when a checkout was priced, from a count read earlier: concurrent
-- checkouts priced while a code had one use left could all redeem it. Now the
-- limit is a column and the order's transaction counts a redemption only while
-- the code has uses left (`UPDATE … WHERE times_redeemed < max_redemptions`),
-- so a code is never redeemed past its limit; an order that finds it used up
-- is not written and its payment is given back.
--
-- With that, discounts join the merchant's configuration generation (0024):
-- a node may serve them from memory. Their definition bumps the generation
-- (INSERT, DELETE, an UPDATE of the code, document or limit), and so does the
-- one redemption that uses a code up, so every node stops offering it at once.
-- Ordinary redemptions do not: they would bump a shared row in every order.
ALTER TABLE discounts ADD COLUMN max_redemptions BIGINT
    CHECK (max_redemptions IS NULL OR max_redemptions >= 0);

UPDATE discounts SET max_redemptions = json_extract(doc, '$.max_redemptions');

CREATE TRIGGER discounts_bump_config_insert AFTER INSERT ON discounts
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (NEW.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER discounts_bump_config_update AFTER UPDATE OF code, doc, max_redemptions ON discounts
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (NEW.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER discounts_bump_config_used_up AFTER UPDATE OF times_redeemed ON discounts
WHEN NEW.max_redemptions IS NOT NULL AND NEW.times_redeemed >= NEW.max_redemptions
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (NEW.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER discounts_bump_config_delete AFTER DELETE ON discounts
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (OLD.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;
