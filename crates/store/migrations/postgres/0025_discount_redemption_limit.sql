-- PostgreSQL's form of ../0025_discount_redemption_limit.sql (see there for
-- why): the document is read with jsonb, and the triggers use 0024's function.
ALTER TABLE discounts ADD COLUMN max_redemptions BIGINT
    CHECK (max_redemptions IS NULL OR max_redemptions >= 0);

UPDATE discounts SET max_redemptions = (doc::jsonb ->> 'max_redemptions')::BIGINT;

CREATE TRIGGER discounts_bump_config AFTER INSERT OR DELETE ON discounts
    FOR EACH ROW EXECUTE FUNCTION bump_config_generation();

CREATE TRIGGER discounts_bump_config_update AFTER UPDATE OF code, doc, max_redemptions ON discounts
    FOR EACH ROW EXECUTE FUNCTION bump_config_generation();

CREATE TRIGGER discounts_bump_config_used_up AFTER UPDATE OF times_redeemed ON discounts
    FOR EACH ROW
    WHEN (NEW.max_redemptions IS NOT NULL AND NEW.times_redeemed >= NEW.max_redemptions)
    EXECUTE FUNCTION bump_config_generation();
