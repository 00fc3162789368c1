//! Pushing product changes to agent platforms' feeds through the outbox.
//!
//! The feed worker renders each product as the platform's feed would show it
//! and keeps a fingerprint of what was last queued per (platform, product).
//! Products whose fingerprint moved are queued in one `agent.feed` outbox row,
//! in the transaction that records the new fingerprints. Each fingerprint moves
//! by compare-and-set, so when several nodes notice the same change only one
//! queues it.

use crate::{Store, StoreResult, parse_id};
use anycart_core::{AgentPlatformId, MerchantId, ProductId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The kind of an outbox row that pushes products to an agent platform's feed.
pub const OUTBOX_KIND_AGENT_FEED: &str = "agent.feed";
/// Most products one feed push carries.
pub const FEED_PUSH_PRODUCTS_MAX: usize = 100;

/// What an `agent.feed` row carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentFeedNotice {
    pub platform_id: AgentPlatformId,
    pub product_ids: Vec<ProductId>,
}

impl crate::OutboxItem {
    /// The products an `agent.feed` item pushes.
    pub fn agent_feed(&self) -> StoreResult<AgentFeedNotice> {
        Ok(serde_json::from_str(&self.payload)?)
    }
}

/// A product whose rendering changed: what was last queued and what it is now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedChange {
    pub product_id: ProductId,
    pub previous: Option<String>,
    pub fingerprint: String,
}

const SELECT_FEED_MARKS: &str = r"
SELECT product_id, fingerprint FROM agent_feed_marks WHERE platform_id = $1";

const INSERT_FEED_MARK: &str = r"
INSERT INTO agent_feed_marks (platform_id, product_id, fingerprint, updated_at_ms)
VALUES ($1, $2, $3, $4)
    ON CONFLICT (platform_id, product_id) DO NOTHING";

const MOVE_FEED_MARK: &str = r"
UPDATE agent_feed_marks
   SET fingerprint = $1, updated_at_ms = $2
 WHERE platform_id = $3 AND product_id = $4 AND fingerprint = $5";

const INSERT_FEED_PUSH: &str = r"
INSERT INTO outbox (id, merchant_id, kind, payload, external_reference, state, attempts,
                    next_attempt_at_ms, created_at_ms, updated_at_ms)
VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7, $8)";

impl Store {
    /// What each product of `platform`'s feed was last queued as.
    pub async fn feed_marks(
        &self,
        platform: AgentPlatformId,
    ) -> StoreResult<HashMap<ProductId, String>> {
        let rows: Vec<(String, String)> = sqlx::query_as(SELECT_FEED_MARKS)
            .bind(platform.to_string())
            .fetch_all(&self.read)
            .await?;
        rows.into_iter()
            .map(|(p, f)| Ok((parse_id(&p)?, f)))
            .collect()
    }

    /// Moves the marks of `changes` and queues one push of the products whose
    /// mark this call moved (another node may have moved some first), in one
    /// transaction. Returns the products queued.
    pub async fn queue_feed_push(
        &self,
        merchant: MerchantId,
        platform: AgentPlatformId,
        changes: Vec<FeedChange>,
        now_ms: i64,
    ) -> StoreResult<Vec<ProductId>> {
        assert!(
            changes.len() <= FEED_PUSH_PRODUCTS_MAX,
            "a feed push is bounded"
        );
        self.write_tx(move |conn| {
            Box::pin(async move {
                let mut tx = sqlx::Connection::begin(conn).await?;
                let mut queued = Vec::with_capacity(changes.len());
                for c in &changes {
                    let done = match &c.previous {
                        None => {
                            sqlx::query(INSERT_FEED_MARK)
                                .bind(platform.to_string())
                                .bind(c.product_id.to_string())
                                .bind(c.fingerprint.clone())
                                .bind(now_ms)
                                .execute(&mut *tx)
                                .await?
                        }
                        Some(previous) => {
                            sqlx::query(MOVE_FEED_MARK)
                                .bind(c.fingerprint.clone())
                                .bind(now_ms)
                                .bind(platform.to_string())
                                .bind(c.product_id.to_string())
                                .bind(previous.clone())
                                .execute(&mut *tx)
                                .await?
                        }
                    };
                    if done.rows_affected() == 1 {
                        queued.push(c.product_id);
                    }
                }
                if !queued.is_empty() {
                    let id = format!("obx_{}", uuid::Uuid::now_v7().simple());
                    let notice = AgentFeedNotice {
                        platform_id: platform,
                        product_ids: queued.clone(),
                    };
                    sqlx::query(INSERT_FEED_PUSH)
                        .bind(id.clone())
                        .bind(merchant.to_string())
                        .bind(OUTBOX_KIND_AGENT_FEED)
                        .bind(serde_json::to_string(&notice)?)
                        .bind(format!("feed:{platform}:{id}"))
                        .bind(now_ms)
                        .bind(now_ms)
                        .bind(now_ms)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(queued)
            })
        })
        .await
    }
}
