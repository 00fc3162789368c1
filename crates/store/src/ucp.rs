//! The Universal Commerce Protocol door's own tables: each merchant's door
//! settings and signing key, the orders sold through it, the webhooks owed to
//! agents (an outbox with leases, like the platform one), and the conformance
//! mode's address book. Documents are JSON the door reads and writes whole; the
//! store only guards who wins a write.

use crate::{Secret, Store, StoreError, StoreResult, flag, page_limit, parse_id};
use anycart_core::{MerchantId, OrderId, SessionId};

/// Longest error text kept on a webhook row.
pub const UCP_WEBHOOK_ERROR_CHARS_MAX: usize = 500;

/// How agents identify themselves at a merchant's UCP door.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UcpAccess {
    /// No credentials: anyone with the endpoint may check out (UCP allows it).
    Open,
    /// RFC 9421 HTTP message signatures, verified with the agent profile's keys.
    Signed,
    /// The merchant's API key (`Authorization: Bearer` or `X-API-Key`).
    Keyed,
}

impl UcpAccess {
    /// Every access mode.
    pub const ALL: [UcpAccess; 3] = [UcpAccess::Open, UcpAccess::Signed, UcpAccess::Keyed];

    /// The stored and wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            UcpAccess::Open => "open",
            UcpAccess::Signed => "signed",
            UcpAccess::Keyed => "keyed",
        }
    }

    /// Parses the stored and wire value.
    pub fn parse(value: &str) -> Option<UcpAccess> {
        UcpAccess::ALL.into_iter().find(|a| a.as_str() == value)
    }
}

/// A merchant's UCP door.
#[derive(Clone, Debug)]
pub struct UcpDoor {
    pub merchant_id: MerchantId,
    pub enabled: bool,
    pub access: UcpAccess,
    /// The key id agents find the public key under in the merchant's profile.
    pub signing_kid: String,
    /// The webhook signing key: PKCS#8 in base64 (sealed at rest).
    pub signing_key: Secret,
    /// JSON the door defines (links shown with every checkout).
    pub settings: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// An order sold through the UCP door.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UcpOrderRecord {
    pub order_id: OrderId,
    pub merchant_id: MerchantId,
    pub session_id: SessionId,
    /// Which door sold it (`ucp`), recorded on the order for reports.
    pub channel: String,
    /// The agent's profile URL (`UCP-Agent`), as presented when it paid.
    pub agent_profile: Option<String>,
    /// Where its order events go (from the agent's profile), if anywhere.
    pub webhook_url: Option<String>,
    /// The protocol version the order was placed with.
    pub ucp_version: String,
    /// JSON the door defines: expectations, fulfillment events, adjustments.
    pub doc: String,
    /// Bumped by every write (compare-and-swap).
    pub version: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// Where an order webhook is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UcpWebhookState {
    Pending,
    Delivered,
    /// Gave up after too many attempts; checkout never waited for it.
    Dead,
}

impl UcpWebhookState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    fn parse(s: &str) -> StoreResult<Self> {
        match s {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "dead" => Ok(Self::Dead),
            other => Err(StoreError::Corrupt(format!("ucp webhook state `{other}`"))),
        }
    }
}

/// An order event owed to an agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UcpWebhook {
    pub id: String,
    pub merchant_id: MerchantId,
    pub order_id: OrderId,
    /// `order_placed`, `order_shipped`, `order_updated`.
    pub event_type: String,
    pub url: String,
    pub ucp_version: String,
    /// The exact body to send (signed as is).
    pub payload: String,
    pub state: UcpWebhookState,
    /// Attempts started so far (counted at claim time, so a crash counts too).
    pub attempts: i64,
    pub next_attempt_at_ms: i64,
    pub last_error: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A webhook to enqueue.
#[derive(Clone, Debug)]
pub struct NewUcpWebhook {
    /// Its id (also the event's id in the payload and `Webhook-Id`).
    pub id: String,
    pub event_type: String,
    pub url: String,
    pub ucp_version: String,
    pub payload: String,
}

/// An address in the conformance mode's address book.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UcpTestAddress {
    pub id: String,
    /// The buyer's email, lowercased.
    pub email: String,
    /// The address as UCP spells it (JSON).
    pub doc: String,
}

#[derive(sqlx::FromRow)]
struct DoorRow {
    merchant_id: String,
    enabled: i64,
    access: String,
    signing_kid: String,
    sealed_signing_key: String,
    settings: String,
    created_at_ms: i64,
    updated_at_ms: i64,
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    order_id: String,
    merchant_id: String,
    session_id: String,
    channel: String,
    agent_profile: Option<String>,
    webhook_url: Option<String>,
    ucp_version: String,
    doc: String,
    version: i64,
    created_at_ms: i64,
    updated_at_ms: i64,
}

impl TryFrom<OrderRow> for UcpOrderRecord {
    type Error = StoreError;

    fn try_from(r: OrderRow) -> StoreResult<Self> {
        Ok(UcpOrderRecord {
            order_id: parse_id(&r.order_id)?,
            merchant_id: parse_id(&r.merchant_id)?,
            session_id: parse_id(&r.session_id)?,
            channel: r.channel,
            agent_profile: r.agent_profile,
            webhook_url: r.webhook_url,
            ucp_version: r.ucp_version,
            doc: r.doc,
            version: r.version,
            created_at_ms: r.created_at_ms,
            updated_at_ms: r.updated_at_ms,
        })
    }
}

#[derive(sqlx::FromRow)]
struct WebhookRow {
    id: String,
    merchant_id: String,
    order_id: String,
    event_type: String,
    url: String,
    ucp_version: String,
    payload: String,
    state: String,
    attempts: i64,
    next_attempt_at_ms: i64,
    last_error: Option<String>,
    created_at_ms: i64,
    updated_at_ms: i64,
}

impl TryFrom<WebhookRow> for UcpWebhook {
    type Error = StoreError;

    fn try_from(r: WebhookRow) -> StoreResult<Self> {
        Ok(UcpWebhook {
            id: r.id,
            merchant_id: parse_id(&r.merchant_id)?,
            order_id: parse_id(&r.order_id)?,
            event_type: r.event_type,
            url: r.url,
            ucp_version: r.ucp_version,
            payload: r.payload,
            state: UcpWebhookState::parse(&r.state)?,
            attempts: r.attempts,
            next_attempt_at_ms: r.next_attempt_at_ms,
            last_error: r.last_error,
            created_at_ms: r.created_at_ms,
            updated_at_ms: r.updated_at_ms,
        })
    }
}

const SELECT_DOOR: &str = r"
SELECT merchant_id, enabled, access, signing_kid, sealed_signing_key, settings,
       created_at_ms, updated_at_ms
  FROM ucp_doors
 WHERE merchant_id = $1";

const UPSERT_DOOR: &str = r"
INSERT INTO ucp_doors (merchant_id, enabled, access, signing_kid, sealed_signing_key, settings,
                       created_at_ms, updated_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (merchant_id) DO UPDATE
   SET enabled = excluded.enabled,
       access = excluded.access,
       signing_kid = excluded.signing_kid,
       sealed_signing_key = excluded.sealed_signing_key,
       settings = excluded.settings,
       updated_at_ms = excluded.updated_at_ms";

const INSERT_ORDER: &str = r"
INSERT INTO ucp_orders (order_id, merchant_id, session_id, channel, agent_profile, webhook_url,
                        ucp_version, doc, version, created_at_ms, updated_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10)
ON CONFLICT (order_id) DO NOTHING";

const SELECT_ORDER: &str = r"
SELECT order_id, merchant_id, session_id, channel, agent_profile, webhook_url, ucp_version,
       doc, version, created_at_ms, updated_at_ms
  FROM ucp_orders
 WHERE order_id = $1 AND merchant_id = $2";

const UPDATE_ORDER_DOC: &str = r"
UPDATE ucp_orders
   SET doc = $1, version = version + 1, updated_at_ms = $2
 WHERE order_id = $3 AND merchant_id = $4 AND version = $5";

const INSERT_WEBHOOK: &str = r"
INSERT INTO ucp_webhooks (id, merchant_id, order_id, event_type, url, ucp_version, payload,
                          state, attempts, next_attempt_at_ms, created_at_ms, updated_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $9, $10)";

/// Candidates only: the claim decides who gets each one.
const SELECT_DUE_WEBHOOK_IDS: &str = r"
SELECT id
  FROM ucp_webhooks
 WHERE state = 'pending'
   AND next_attempt_at_ms <= $1
   AND (lease_until_ms IS NULL OR lease_until_ms < $2)
 ORDER BY next_attempt_at_ms, id
 LIMIT $3";

const CLAIM_WEBHOOK: &str = r"
UPDATE ucp_webhooks
   SET lease_until_ms = $1, attempts = attempts + 1, updated_at_ms = $2
 WHERE id = $3
   AND state = 'pending'
   AND next_attempt_at_ms <= $4
   AND (lease_until_ms IS NULL OR lease_until_ms < $5)
RETURNING id, merchant_id, order_id, event_type, url, ucp_version, payload, state, attempts,
          next_attempt_at_ms, last_error, created_at_ms, updated_at_ms";

const UPDATE_WEBHOOK_DELIVERED: &str = r"
UPDATE ucp_webhooks
   SET state = 'delivered', lease_until_ms = NULL, last_error = NULL, updated_at_ms = $1
 WHERE id = $2 AND state = 'pending'";

const UPDATE_WEBHOOK_FAILED: &str = r"
UPDATE ucp_webhooks
   SET state = $1, lease_until_ms = NULL, last_error = $2, next_attempt_at_ms = $3,
       updated_at_ms = $4
 WHERE id = $5 AND state = 'pending'";

const SELECT_WEBHOOKS_OF_ORDER: &str = r"
SELECT id, merchant_id, order_id, event_type, url, ucp_version, payload, state, attempts,
       next_attempt_at_ms, last_error, created_at_ms, updated_at_ms
  FROM ucp_webhooks
 WHERE merchant_id = $1 AND order_id = $2
 ORDER BY id";

const INSERT_TEST_ADDRESS: &str = r"
INSERT INTO ucp_test_addresses (merchant_id, id, email, doc, created_at_ms)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (merchant_id, id) DO UPDATE SET email = excluded.email, doc = excluded.doc";

const SELECT_TEST_ADDRESSES: &str = r"
SELECT id, email, doc
  FROM ucp_test_addresses
 WHERE merchant_id = $1 AND email = $2
 ORDER BY created_at_ms, id
 LIMIT $3";

/// Most addresses the conformance address book returns for one buyer.
pub const UCP_TEST_ADDRESSES_MAX: i64 = 20;

/// A new webhook (event) id.
pub fn new_ucp_webhook_id() -> String {
    format!("evt_{}", uuid::Uuid::now_v7().simple())
}

impl Store {
    /// A merchant's UCP door, if it opened one.
    pub async fn get_ucp_door(&self, merchant: MerchantId) -> StoreResult<Option<UcpDoor>> {
        let Some(row) = sqlx::query_as::<_, DoorRow>(SELECT_DOOR)
            .bind(merchant.to_string())
            .fetch_optional(&self.read)
            .await?
        else {
            return Ok(None);
        };
        let access = UcpAccess::parse(&row.access)
            .ok_or_else(|| StoreError::Corrupt(format!("ucp access `{}`", row.access)))?;
        Ok(Some(UcpDoor {
            merchant_id: parse_id(&row.merchant_id)?,
            enabled: row.enabled == 1,
            access,
            signing_kid: row.signing_kid,
            signing_key: Secret::new(self.open_credentials(merchant, &row.sealed_signing_key)?),
            settings: row.settings,
            created_at_ms: row.created_at_ms,
            updated_at_ms: row.updated_at_ms,
        }))
    }

    /// Creates or replaces a merchant's UCP door (its key sealed at rest).
    pub async fn put_ucp_door(&self, door: &UcpDoor) -> StoreResult<()> {
        let sealed = self.seal_credentials(door.merchant_id, door.signing_key.expose())?;
        sqlx::query(UPSERT_DOOR)
            .bind(door.merchant_id.to_string())
            .bind(flag(door.enabled))
            .bind(door.access.as_str())
            .bind(door.signing_kid.clone())
            .bind(sealed)
            .bind(door.settings.clone())
            .bind(door.created_at_ms)
            .bind(door.updated_at_ms)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Records an order sold through UCP, with its `order_placed` webhook if
    /// any, in one transaction. `None` when it was recorded before (nothing is
    /// written then, so a retried completion never sends the event twice), else
    /// the id of the webhook enqueued, if one was.
    pub async fn record_ucp_order(
        &self,
        order: &UcpOrderRecord,
        webhook: Option<&NewUcpWebhook>,
    ) -> StoreResult<Option<Option<String>>> {
        let mut tx = self.write.begin().await?;
        let inserted = sqlx::query(INSERT_ORDER)
            .bind(order.order_id.to_string())
            .bind(order.merchant_id.to_string())
            .bind(order.session_id.to_string())
            .bind(order.channel.clone())
            .bind(order.agent_profile.clone())
            .bind(order.webhook_url.clone())
            .bind(order.ucp_version.clone())
            .bind(order.doc.clone())
            .bind(order.created_at_ms)
            .bind(order.updated_at_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !inserted {
            return Ok(None);
        }
        let webhook_id = match webhook {
            Some(w) => Some(
                insert_webhook(
                    &mut tx,
                    order.merchant_id,
                    order.order_id,
                    w,
                    order.created_at_ms,
                )
                .await?,
            ),
            None => None,
        };
        tx.commit().await?;
        Ok(Some(webhook_id))
    }

    /// One UCP order of `merchant`.
    pub async fn get_ucp_order(
        &self,
        merchant: MerchantId,
        order: OrderId,
    ) -> StoreResult<Option<UcpOrderRecord>> {
        sqlx::query_as::<_, OrderRow>(SELECT_ORDER)
            .bind(order.to_string())
            .bind(merchant.to_string())
            .fetch_optional(&self.read)
            .await?
            .map(UcpOrderRecord::try_from)
            .transpose()
    }

    /// Replaces a UCP order's document if nobody wrote it since `version`
    /// ([`StoreError::VersionConflict`] otherwise), with the webhook reporting
    /// the change, in one transaction. Returns the webhook's id, if one was
    /// enqueued.
    pub async fn update_ucp_order(
        &self,
        merchant: MerchantId,
        order: OrderId,
        version: i64,
        doc: &str,
        webhook: Option<&NewUcpWebhook>,
        now_ms: i64,
    ) -> StoreResult<Option<String>> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(UPDATE_ORDER_DOC)
            .bind(doc.to_string())
            .bind(now_ms)
            .bind(order.to_string())
            .bind(merchant.to_string())
            .bind(version)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::VersionConflict);
        }
        let webhook_id = match webhook {
            Some(w) => Some(insert_webhook(&mut tx, merchant, order, w, now_ms).await?),
            None => None,
        };
        tx.commit().await?;
        Ok(webhook_id)
    }

    /// Claims up to `limit` due webhooks for `lease_ms` (one conditional UPDATE
    /// each, which only one worker on any node wins; it counts the attempt).
    pub async fn claim_ucp_webhooks(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<UcpWebhook>> {
        assert!(lease_ms > 0, "a lease must last");
        let candidates: Vec<String> = sqlx::query_scalar(SELECT_DUE_WEBHOOK_IDS)
            .bind(now_ms)
            .bind(now_ms)
            .bind(page_limit(limit))
            .fetch_all(&self.read)
            .await?;
        let mut claimed = Vec::with_capacity(candidates.len());
        for id in candidates {
            if let Some(w) = self.claim_ucp_webhook(&id, now_ms, lease_ms).await? {
                claimed.push(w);
            }
        }
        Ok(claimed)
    }

    /// Claims one webhook if it is due and nobody holds it.
    pub async fn claim_ucp_webhook(
        &self,
        id: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> StoreResult<Option<UcpWebhook>> {
        sqlx::query_as::<_, WebhookRow>(CLAIM_WEBHOOK)
            .bind(now_ms + lease_ms)
            .bind(now_ms)
            .bind(id.to_string())
            .bind(now_ms)
            .bind(now_ms)
            .fetch_optional(&self.write)
            .await?
            .map(UcpWebhook::try_from)
            .transpose()
    }

    /// Records a delivered webhook.
    pub async fn ucp_webhook_delivered(&self, id: &str, now_ms: i64) -> StoreResult<()> {
        let done = sqlx::query(UPDATE_WEBHOOK_DELIVERED)
            .bind(now_ms)
            .bind(id.to_string())
            .execute(&self.write)
            .await?;
        crate::found(done)
    }

    /// Records a failed attempt: due again at `next_attempt_at_ms`, or dead.
    pub async fn ucp_webhook_failed(
        &self,
        id: &str,
        error: &str,
        next_attempt_at_ms: i64,
        dead: bool,
        now_ms: i64,
    ) -> StoreResult<()> {
        let state = if dead {
            UcpWebhookState::Dead
        } else {
            UcpWebhookState::Pending
        };
        let error: String = error.chars().take(UCP_WEBHOOK_ERROR_CHARS_MAX).collect();
        let done = sqlx::query(UPDATE_WEBHOOK_FAILED)
            .bind(state.as_str())
            .bind(error)
            .bind(next_attempt_at_ms)
            .bind(now_ms)
            .bind(id.to_string())
            .execute(&self.write)
            .await?;
        crate::found(done)
    }

    /// The webhooks of one order, oldest first.
    pub async fn ucp_webhooks_of_order(
        &self,
        merchant: MerchantId,
        order: OrderId,
    ) -> StoreResult<Vec<UcpWebhook>> {
        sqlx::query_as::<_, WebhookRow>(SELECT_WEBHOOKS_OF_ORDER)
            .bind(merchant.to_string())
            .bind(order.to_string())
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(UcpWebhook::try_from)
            .collect()
    }

    /// Saves an address in the conformance address book (replacing one with the
    /// same id).
    pub async fn put_ucp_test_address(
        &self,
        merchant: MerchantId,
        address: &UcpTestAddress,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(INSERT_TEST_ADDRESS)
            .bind(merchant.to_string())
            .bind(address.id.clone())
            .bind(address.email.to_lowercase())
            .bind(address.doc.clone())
            .bind(now_ms)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// A buyer's addresses in the conformance address book, oldest first.
    pub async fn ucp_test_addresses(
        &self,
        merchant: MerchantId,
        email: &str,
    ) -> StoreResult<Vec<UcpTestAddress>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: String,
            email: String,
            doc: String,
        }
        Ok(sqlx::query_as::<_, Row>(SELECT_TEST_ADDRESSES)
            .bind(merchant.to_string())
            .bind(email.to_lowercase())
            .bind(UCP_TEST_ADDRESSES_MAX)
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(|r| UcpTestAddress {
                id: r.id,
                email: r.email,
                doc: r.doc,
            })
            .collect())
    }
}

/// Inserts a pending webhook inside the caller's transaction, due now; returns
/// its id.
async fn insert_webhook(
    conn: &mut sqlx::AnyConnection,
    merchant: MerchantId,
    order: OrderId,
    w: &NewUcpWebhook,
    now_ms: i64,
) -> StoreResult<String> {
    let id = w.id.clone();
    sqlx::query(INSERT_WEBHOOK)
        .bind(id.clone())
        .bind(merchant.to_string())
        .bind(order.to_string())
        .bind(w.event_type.clone())
        .bind(w.url.clone())
        .bind(w.ucp_version.clone())
        .bind(w.payload.clone())
        .bind(now_ms)
        .bind(now_ms)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}
