-- Shopify as an installable app. Its `app/uninstalled` webhook disables the
-- merchant's connection rather than deleting it: nothing is pushed to the shop any
-- more, but the compliance webhooks Shopify sends afterwards (`shop/redact` comes
-- 48 hours after the uninstall) can still be verified and acted on. Saving the
-- connection again (a reinstall) clears it.
ALTER TABLE merchant_connections ADD COLUMN disabled_at_ms BIGINT;
