-- API keys join the merchant's configuration generation (0024), so a node may
-- keep a key it has seen in memory and check it with the one single-row read
-- of the generation each request makes anyway, instead of reading the key too.
--
-- What a cached key says must never outlive a change on another node: its
-- revocation (or any other UPDATE, or a DELETE) and whether an enabled agent
-- platform calls with it (a platform registered, disabled or moved to another
-- key) bump the generation in the same transaction. A new key needs no bump:
-- a key a node has not seen is read from the database, and a key that is not
-- found is never cached.
CREATE TRIGGER api_keys_bump_config_update AFTER UPDATE ON api_keys
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (NEW.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER api_keys_bump_config_delete AFTER DELETE ON api_keys
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (OLD.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER agent_platforms_bump_config_insert AFTER INSERT ON agent_platforms
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (NEW.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER agent_platforms_bump_config_update
AFTER UPDATE OF api_key_id, disabled_at_ms ON agent_platforms
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (NEW.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER agent_platforms_bump_config_delete AFTER DELETE ON agent_platforms
BEGIN
    INSERT INTO merchant_config_generations (merchant_id, generation)
    VALUES (OLD.merchant_id, 1)
        ON CONFLICT (merchant_id) DO UPDATE SET generation = generation + 1;
END;
