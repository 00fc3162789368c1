//! Agent platforms: the AI agent platforms a merchant sells through (over ACP's
//! REST binding or MCP). Each has its own API key (checkout rights only), a
//! shared signing secret (order webhooks are signed with it; the platform's
//! requests are verified with it when the merchant turns that on), where its
//! order webhooks go and, optionally, its product feed endpoint.
//!
//! A platform's `name` is what orders record as their agent (`AgentRef.name`),
//! so it is unique per merchant and never changes; disabling a platform revokes
//! its key in the same transaction.

use crate::merchants::{ApiKeyRecord, INSERT_API_KEY};
use crate::{Secret, Store, StoreError, StoreResult, flag, parse_id};
use anycart_core::{AgentPlatformId, ApiKeyId, MerchantId};
use serde::{Deserialize, Serialize};

/// Most agent platforms one merchant may register.
pub const AGENT_PLATFORMS_MAX: i64 = 20;

/// The secrets of an agent platform, sealed at rest as one JSON document.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AgentSecrets {
    /// Signs order webhooks (`Merchant-Signature`) and, when verification is on,
    /// checks the platform's `Signature` header.
    pub signing_secret: Secret,
    /// Bearer token for the platform's feed endpoint, if it wants one.
    #[serde(default)]
    pub feed_token: Option<Secret>,
}

/// An agent platform as the service sees it.
#[derive(Clone, Debug)]
pub struct AgentPlatform {
    pub id: AgentPlatformId,
    pub merchant_id: MerchantId,
    /// Unique per merchant, immutable: what orders record as their agent.
    pub name: String,
    /// The key the platform calls with.
    pub api_key_id: ApiKeyId,
    /// Where order webhooks are posted (none: the platform gets no webhooks).
    pub webhook_url: Option<String>,
    /// The platform's ACP feed resource (`…/feeds/{id}`); changes are PATCHed
    /// to `{feed_url}/products`.
    pub feed_url: Option<String>,
    /// The anycart origin the platform uses: links in its webhooks point there.
    pub api_base_url: String,
    pub secrets: AgentSecrets,
    /// Refuse the platform's requests unless signed (`Signature` + `Timestamp`).
    pub verify_signatures: bool,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// Set when disabled: its key is revoked and nothing more is sent to it.
    pub disabled_at_ms: Option<i64>,
}

impl AgentPlatform {
    /// True while the platform may call and be called.
    pub fn is_enabled(&self) -> bool {
        self.disabled_at_ms.is_none()
    }
}

/// What an update may change (absent: unchanged).
#[derive(Clone, Debug, Default)]
pub struct AgentPlatformChange {
    /// `Some(None)` removes the webhook.
    pub webhook_url: Option<Option<String>>,
    /// `Some(None)` removes the feed endpoint.
    pub feed_url: Option<Option<String>>,
    pub signing_secret: Option<Secret>,
    /// `Some(None)` removes the feed token.
    pub feed_token: Option<Option<Secret>>,
    pub verify_signatures: Option<bool>,
    pub api_base_url: Option<String>,
}

#[derive(sqlx::FromRow)]
struct AgentPlatformRow {
    id: String,
    merchant_id: String,
    name: String,
    api_key_id: String,
    webhook_url: Option<String>,
    feed_url: Option<String>,
    api_base_url: String,
    secrets: String,
    verify_signatures: i64,
    created_at_ms: i64,
    updated_at_ms: i64,
    disabled_at_ms: Option<i64>,
}

impl AgentPlatformRow {
    fn into_platform(self, store: &Store) -> StoreResult<AgentPlatform> {
        let merchant_id: MerchantId = parse_id(&self.merchant_id)?;
        let secrets = store.open_credentials(merchant_id, &self.secrets)?;
        Ok(AgentPlatform {
            id: parse_id(&self.id)?,
            merchant_id,
            name: self.name,
            api_key_id: parse_id(&self.api_key_id)?,
            webhook_url: self.webhook_url,
            feed_url: self.feed_url,
            api_base_url: self.api_base_url,
            secrets: serde_json::from_str(&secrets)?,
            verify_signatures: self.verify_signatures == 1,
            created_at_ms: self.created_at_ms,
            updated_at_ms: self.updated_at_ms,
            disabled_at_ms: self.disabled_at_ms,
        })
    }
}

const INSERT_AGENT_PLATFORM: &str = r"
INSERT INTO agent_platforms (id, merchant_id, name, api_key_id, webhook_url, feed_url,
                             api_base_url, secrets, verify_signatures, created_at_ms,
                             updated_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

const COUNT_AGENT_PLATFORMS: &str = r"
SELECT COUNT(*) FROM agent_platforms WHERE merchant_id = $1";

const SELECT_AGENT_PLATFORM: &str = r"
SELECT id, merchant_id, name, api_key_id, webhook_url, feed_url, api_base_url, secrets,
       verify_signatures, created_at_ms, updated_at_ms, disabled_at_ms
  FROM agent_platforms
 WHERE id = $1 AND merchant_id = $2";

const SELECT_AGENT_PLATFORM_BY_KEY: &str = r"
SELECT id, merchant_id, name, api_key_id, webhook_url, feed_url, api_base_url, secrets,
       verify_signatures, created_at_ms, updated_at_ms, disabled_at_ms
  FROM agent_platforms
 WHERE api_key_id = $1 AND disabled_at_ms IS NULL";

const SELECT_AGENT_PLATFORMS: &str = r"
SELECT id, merchant_id, name, api_key_id, webhook_url, feed_url, api_base_url, secrets,
       verify_signatures, created_at_ms, updated_at_ms, disabled_at_ms
  FROM agent_platforms
 WHERE merchant_id = $1
 ORDER BY id
 LIMIT $2";

/// The enabled platform of `merchant` called `name` (what an order's agent names).
const SELECT_ENABLED_AGENT_PLATFORM_BY_NAME: &str = r"
SELECT id, merchant_id, name, api_key_id, webhook_url, feed_url, api_base_url, secrets,
       verify_signatures, created_at_ms, updated_at_ms, disabled_at_ms
  FROM agent_platforms
 WHERE merchant_id = $1 AND name = $2 AND disabled_at_ms IS NULL";

/// Enabled platforms with a feed endpoint, after a cursor (the feed worker's walk).
const SELECT_FEED_PLATFORMS_PAGE: &str = r"
SELECT id, merchant_id, name, api_key_id, webhook_url, feed_url, api_base_url, secrets,
       verify_signatures, created_at_ms, updated_at_ms, disabled_at_ms
  FROM agent_platforms
 WHERE feed_url IS NOT NULL AND disabled_at_ms IS NULL AND id > $1
 ORDER BY id
 LIMIT $2";

const UPDATE_AGENT_PLATFORM: &str = r"
UPDATE agent_platforms
   SET webhook_url = $1, feed_url = $2, api_base_url = $3, secrets = $4,
       verify_signatures = $5, updated_at_ms = $6
 WHERE id = $7 AND merchant_id = $8 AND disabled_at_ms IS NULL";

const DISABLE_AGENT_PLATFORM: &str = r"
UPDATE agent_platforms
   SET disabled_at_ms = $1, updated_at_ms = $2
 WHERE id = $3 AND merchant_id = $4 AND disabled_at_ms IS NULL";

const REVOKE_API_KEY: &str = r"
UPDATE api_keys
   SET revoked_at_ms = $1
 WHERE id = $2 AND merchant_id = $3 AND revoked_at_ms IS NULL";

impl Store {
    /// Registers a platform together with its key, atomically. A second platform
    /// of the same name is [`StoreError::Duplicate`]; past
    /// [`AGENT_PLATFORMS_MAX`] it is [`StoreError::Constraint`].
    pub async fn create_agent_platform(
        &self,
        p: &AgentPlatform,
        key: &ApiKeyRecord,
    ) -> StoreResult<()> {
        assert_eq!(
            (key.id, key.merchant_id),
            (p.api_key_id, p.merchant_id),
            "an agent platform's key is its own and its merchant's"
        );
        let secrets = self.seal_credentials(p.merchant_id, &serde_json::to_string(&p.secrets)?)?;
        let mut tx = self.write.begin().await?;
        let count: i64 = sqlx::query_scalar(COUNT_AGENT_PLATFORMS)
            .bind(p.merchant_id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        if count >= AGENT_PLATFORMS_MAX {
            return Err(StoreError::Constraint(format!(
                "at most {AGENT_PLATFORMS_MAX} agent platforms per merchant"
            )));
        }
        sqlx::query(INSERT_API_KEY)
            .bind(key.id.to_string())
            .bind(key.merchant_id.to_string())
            .bind(key.kind.as_str())
            .bind(key.key_hash.clone())
            .bind(key.hint.clone())
            .bind(None::<String>)
            .bind(key.created_at_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query(INSERT_AGENT_PLATFORM)
            .bind(p.id.to_string())
            .bind(p.merchant_id.to_string())
            .bind(p.name.clone())
            .bind(p.api_key_id.to_string())
            .bind(p.webhook_url.clone())
            .bind(p.feed_url.clone())
            .bind(p.api_base_url.clone())
            .bind(secrets)
            .bind(flag(p.verify_signatures))
            .bind(p.created_at_ms)
            .bind(p.updated_at_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One platform of `merchant` (enabled or not).
    pub async fn get_agent_platform(
        &self,
        merchant: MerchantId,
        id: AgentPlatformId,
    ) -> StoreResult<Option<AgentPlatform>> {
        sqlx::query_as::<_, AgentPlatformRow>(SELECT_AGENT_PLATFORM)
            .bind(id.to_string())
            .bind(merchant.to_string())
            .fetch_optional(&self.read)
            .await?
            .map(|row| row.into_platform(self))
            .transpose()
    }

    /// The enabled platform that calls with key `key` (none for merchants' own keys).
    pub async fn agent_platform_of_key(&self, key: ApiKeyId) -> StoreResult<Option<AgentPlatform>> {
        sqlx::query_as::<_, AgentPlatformRow>(SELECT_AGENT_PLATFORM_BY_KEY)
            .bind(key.to_string())
            .fetch_optional(&self.read)
            .await?
            .map(|row| row.into_platform(self))
            .transpose()
    }

    /// The enabled platform of `merchant` named `name`.
    pub async fn agent_platform_named(
        &self,
        merchant: MerchantId,
        name: &str,
    ) -> StoreResult<Option<AgentPlatform>> {
        sqlx::query_as::<_, AgentPlatformRow>(SELECT_ENABLED_AGENT_PLATFORM_BY_NAME)
            .bind(merchant.to_string())
            .bind(name.to_string())
            .fetch_optional(&self.read)
            .await?
            .map(|row| row.into_platform(self))
            .transpose()
    }

    /// `merchant`'s platforms, oldest first (at most [`AGENT_PLATFORMS_MAX`]).
    pub async fn list_agent_platforms(
        &self,
        merchant: MerchantId,
    ) -> StoreResult<Vec<AgentPlatform>> {
        sqlx::query_as::<_, AgentPlatformRow>(SELECT_AGENT_PLATFORMS)
            .bind(merchant.to_string())
            .bind(AGENT_PLATFORMS_MAX)
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(|row| row.into_platform(self))
            .collect()
    }

    /// Enabled platforms with a feed endpoint, in id order after `after`.
    pub async fn feed_platforms(
        &self,
        after: Option<AgentPlatformId>,
        limit: i64,
    ) -> StoreResult<Vec<AgentPlatform>> {
        sqlx::query_as::<_, AgentPlatformRow>(SELECT_FEED_PLATFORMS_PAGE)
            .bind(after.map(|a| a.to_string()).unwrap_or_default())
            .bind(crate::page_limit(limit))
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(|row| row.into_platform(self))
            .collect()
    }

    /// Applies `change` to an enabled platform and returns it as it now is.
    pub async fn update_agent_platform(
        &self,
        merchant: MerchantId,
        id: AgentPlatformId,
        change: AgentPlatformChange,
        now_ms: i64,
    ) -> StoreResult<AgentPlatform> {
        let mut p = self
            .get_agent_platform(merchant, id)
            .await?
            .filter(AgentPlatform::is_enabled)
            .ok_or(StoreError::NotFound)?;
        if let Some(url) = change.webhook_url {
            p.webhook_url = url;
        }
        if let Some(url) = change.feed_url {
            p.feed_url = url;
        }
        if let Some(secret) = change.signing_secret {
            p.secrets.signing_secret = secret;
        }
        if let Some(token) = change.feed_token {
            p.secrets.feed_token = token;
        }
        if let Some(verify) = change.verify_signatures {
            p.verify_signatures = verify;
        }
        if let Some(base) = change.api_base_url {
            p.api_base_url = base;
        }
        p.updated_at_ms = now_ms;
        let secrets = self.seal_credentials(merchant, &serde_json::to_string(&p.secrets)?)?;
        let done = sqlx::query(UPDATE_AGENT_PLATFORM)
            .bind(p.webhook_url.clone())
            .bind(p.feed_url.clone())
            .bind(p.api_base_url.clone())
            .bind(secrets)
            .bind(flag(p.verify_signatures))
            .bind(now_ms)
            .bind(id.to_string())
            .bind(merchant.to_string())
            .execute(&self.write)
            .await?;
        crate::found(done)?;
        Ok(p)
    }

    /// Disables a platform and revokes its key in one transaction: its calls are
    /// refused from then on and nothing more is sent to it. Pending deliveries
    /// to it are dead-lettered by the worker when they come due.
    pub async fn disable_agent_platform(
        &self,
        merchant: MerchantId,
        id: AgentPlatformId,
        now_ms: i64,
    ) -> StoreResult<()> {
        let p = self
            .get_agent_platform(merchant, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(DISABLE_AGENT_PLATFORM)
            .bind(now_ms)
            .bind(now_ms)
            .bind(id.to_string())
            .bind(merchant.to_string())
            .execute(&mut *tx)
            .await?;
        crate::found(done)?;
        sqlx::query(REVOKE_API_KEY)
            .bind(now_ms)
            .bind(p.api_key_id.to_string())
            .bind(merchant.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
