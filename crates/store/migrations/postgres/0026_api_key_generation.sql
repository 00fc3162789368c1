-- PostgreSQL's form of ../0026_api_key_generation.sql (see there for why):
-- the triggers use 0024's function.
CREATE TRIGGER api_keys_bump_config AFTER UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION bump_config_generation();

CREATE TRIGGER agent_platforms_bump_config AFTER INSERT OR DELETE ON agent_platforms
    FOR EACH ROW EXECUTE FUNCTION bump_config_generation();

CREATE TRIGGER agent_platforms_bump_config_update
    AFTER UPDATE OF api_key_id, disabled_at_ms ON agent_platforms
    FOR EACH ROW EXECUTE FUNCTION bump_config_generation();
