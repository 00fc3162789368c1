//! Shopify as an installable app (see `migrations/0021_shopify_install.sql`): the
//! install's single-use `state` nonces, finding the merchants of a shop named by
//! an app-wide webhook, and the `customers/data_request` deliveries the merchant
//! has to answer.
//!
//! The store keeps only a hash of each nonce (the caller computes it) and spends a
//! nonce in one conditional `UPDATE … RETURNING`, so two callbacks carrying the same
//! nonce cannot both install.

use crate::{Store, StoreResult, parse_id};
use anycart_core::MerchantId;

/// Merchants one shop may be connected to at most, as one app-wide webhook sees
/// them (a shop is normally one merchant's; more is a test or a migration).
pub const SHOP_MERCHANTS_MAX: i64 = 16;

/// An install nonce spent by its callback: who asked to install on which shop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallState {
    pub merchant_id: MerchantId,
    pub shop_domain: String,
}

/// A `customers/data_request` delivery, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataRequest {
    pub platform: String,
    /// The delivery's id (`X-Shopify-Webhook-Id`): one row per delivery.
    pub event_id: String,
    pub shop_domain: String,
    pub customer_id: String,
    /// The email the request names, if any: saved checkout details are keyed by it.
    pub customer_email: Option<String>,
    pub data_request_id: String,
    pub received_at_ms: i64,
}

#[derive(sqlx::FromRow)]
struct InstallStateRow {
    merchant_id: String,
    shop_domain: String,
}

#[derive(sqlx::FromRow)]
struct DataRequestRow {
    platform: String,
    event_id: String,
    shop_domain: String,
    customer_id: String,
    customer_email: Option<String>,
    data_request_id: String,
    received_at_ms: i64,
}

const INSERT_INSTALL_STATE: &str = r"
INSERT INTO shopify_install_states (state_hash, merchant_id, shop_domain, created_at_ms, expires_at_ms)
VALUES ($1, $2, $3, $4, $5)";

/// Nonces past their expiry are useless: dropped when a new one is made, which
/// bounds the table by the installs started in one expiry window.
const DELETE_EXPIRED_INSTALL_STATES: &str = r"
DELETE FROM shopify_install_states
 WHERE expires_at_ms < $1";

/// Spends a nonce: only an unused, unexpired one is found, and only once.
const SPEND_INSTALL_STATE: &str = r"
UPDATE shopify_install_states
   SET used_at_ms = $2
 WHERE state_hash = $1 AND used_at_ms IS NULL AND expires_at_ms > $2
RETURNING merchant_id, shop_domain";

/// Enabled or disabled: compliance webhooks still come after an uninstall.
const SELECT_SHOP_MERCHANTS: &str = r"
SELECT merchant_id
  FROM merchant_connections
 WHERE platform = $1 AND shop_domain = $2
 ORDER BY merchant_id
 LIMIT $3";

const INSERT_DATA_REQUEST: &str = r"
INSERT INTO data_requests (merchant_id, platform, event_id, shop_domain, customer_id,
                           customer_email, data_request_id, received_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (merchant_id, platform, event_id) DO NOTHING";

/// A redacted customer's email leaves the data requests too (the ids stay: they
/// are the platform's, and say a request was answered).
const REDACT_DATA_REQUEST_EMAIL: &str = r"
UPDATE data_requests
   SET customer_email = NULL
 WHERE merchant_id = $1 AND lower(customer_email) = lower($2)";

/// `shop/redact`: nothing of the shop is kept.
const DELETE_SHOP_DATA_REQUESTS: &str = r"
DELETE FROM data_requests
 WHERE merchant_id = $1 AND shop_domain = $2";

const SELECT_DATA_REQUESTS: &str = r"
SELECT platform, event_id, shop_domain, customer_id, customer_email, data_request_id,
       received_at_ms
  FROM data_requests
 WHERE merchant_id = $1
 ORDER BY received_at_ms DESC, event_id DESC
 LIMIT $2";

impl Store {
    /// Keeps a fresh install nonce (its hash) for `merchant` installing on `shop`,
    /// valid until `expires_at_ms`.
    pub async fn save_install_state(
        &self,
        state_hash: &str,
        merchant: MerchantId,
        shop_domain: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        debug_assert!(expires_at_ms > now_ms, "a nonce must outlive its creation");
        sqlx::query(DELETE_EXPIRED_INSTALL_STATES)
            .bind(now_ms)
            .execute(&self.write)
            .await?;
        sqlx::query(INSERT_INSTALL_STATE)
            .bind(state_hash.to_string())
            .bind(merchant.to_string())
            .bind(shop_domain.to_string())
            .bind(now_ms)
            .bind(expires_at_ms)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Spends the nonce of `state_hash`: who it was made for, or `None` when it is
    /// unknown, expired or already spent.
    pub async fn spend_install_state(
        &self,
        state_hash: &str,
        now_ms: i64,
    ) -> StoreResult<Option<InstallState>> {
        sqlx::query_as::<_, InstallStateRow>(SPEND_INSTALL_STATE)
            .bind(state_hash.to_string())
            .bind(now_ms)
            .fetch_optional(&self.write)
            .await?
            .map(|row| {
                Ok(InstallState {
                    merchant_id: parse_id(&row.merchant_id)?,
                    shop_domain: row.shop_domain,
                })
            })
            .transpose()
    }

    /// The merchants whose `platform` connection (enabled or not) is to `shop_domain`,
    /// at most [`SHOP_MERCHANTS_MAX`].
    pub async fn merchants_of_shop(
        &self,
        platform: &str,
        shop_domain: &str,
    ) -> StoreResult<Vec<MerchantId>> {
        sqlx::query_scalar::<_, String>(SELECT_SHOP_MERCHANTS)
            .bind(platform.to_string())
            .bind(shop_domain.to_ascii_lowercase())
            .bind(SHOP_MERCHANTS_MAX)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|id| parse_id(id))
            .collect()
    }

    /// Records a data request once per delivery id (a redelivery changes nothing).
    pub async fn record_data_request(
        &self,
        merchant: MerchantId,
        request: &DataRequest,
    ) -> StoreResult<()> {
        sqlx::query(INSERT_DATA_REQUEST)
            .bind(merchant.to_string())
            .bind(request.platform.clone())
            .bind(request.event_id.clone())
            .bind(request.shop_domain.clone())
            .bind(request.customer_id.clone())
            .bind(request.customer_email.clone())
            .bind(request.data_request_id.clone())
            .bind(request.received_at_ms)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Forgets `email` in `merchant`'s data requests (`customers/redact`).
    pub async fn redact_data_requests(&self, merchant: MerchantId, email: &str) -> StoreResult<()> {
        sqlx::query(REDACT_DATA_REQUEST_EMAIL)
            .bind(merchant.to_string())
            .bind(email.to_string())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Deletes `merchant`'s data requests from `shop_domain` (`shop/redact`).
    pub async fn delete_shop_data_requests(
        &self,
        merchant: MerchantId,
        shop_domain: &str,
    ) -> StoreResult<()> {
        sqlx::query(DELETE_SHOP_DATA_REQUESTS)
            .bind(merchant.to_string())
            .bind(shop_domain.to_ascii_lowercase())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// `merchant`'s data requests, newest first, at most `limit`.
    pub async fn data_requests(
        &self,
        merchant: MerchantId,
        limit: i64,
    ) -> StoreResult<Vec<DataRequest>> {
        Ok(sqlx::query_as::<_, DataRequestRow>(SELECT_DATA_REQUESTS)
            .bind(merchant.to_string())
            .bind(crate::page_limit(limit))
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(|r| DataRequest {
                platform: r.platform,
                event_id: r.event_id,
                shop_domain: r.shop_domain,
                customer_id: r.customer_id,
                customer_email: r.customer_email,
                data_request_id: r.data_request_id,
                received_at_ms: r.received_at_ms,
            })
            .collect())
    }
}
