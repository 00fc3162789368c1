//! Retention: what the database forgets, and when, so it does not grow forever.
//!
//! Orders, their payments, refunds and disputes are kept. What is purged is what
//! only mattered for a while: idempotency records (see [`crate::idempotency`]),
//! checkout sessions that ended without an order (expired, canceled), with their
//! settled payment attempts and agents' affiliate claims, the event ids of
//! webhooks already applied, and agents' intent traces (why a checkout was
//! abandoned: merchant analytics, kept longer).

use crate::{Store, StoreResult};

/// How long each kind of record is kept (see `docs/src/operations.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Idempotency keys and their stored responses (ACP asks for at least 24 h).
    pub idempotency_ms: i64,
    /// Sessions that expired or were canceled, with no order.
    pub ended_sessions_ms: i64,
    /// Ids of webhook events already applied (platforms retry for up to 3 days).
    pub webhook_events_ms: i64,
    /// Agents' intent traces (why a checkout was abandoned).
    pub intent_traces_ms: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            idempotency_ms: crate::IDEMPOTENCY_RETENTION_MS,
            ended_sessions_ms: 7 * DAY_MS,
            webhook_events_ms: 7 * DAY_MS,
            intent_traces_ms: 90 * DAY_MS,
        }
    }
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// Shortest windows accepted: ACP's 24 h for keys; a day for the rest.
pub const RETENTION_MS_MIN: i64 = DAY_MS;

/// Rows one purge statement removes at most (short transactions on a busy node).
pub const PURGE_BATCH_MAX: i64 = 1_000;

/// What one purge removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub idempotency_keys: u64,
    pub sessions: u64,
    pub payment_attempts: u64,
    pub affiliate_claims: u64,
    pub webhook_events: u64,
    pub intent_traces: u64,
    /// TV hand-off codes expired before the ended-sessions window.
    pub handoffs: u64,
}

/// Ended sessions without an order or a hold, oldest first.
const DELETE_ENDED_SESSIONS: &str = r"
DELETE FROM checkout_sessions
 WHERE id IN (
       SELECT s.id
         FROM checkout_sessions s
        WHERE s.status IN ('expired', 'canceled')
          AND s.updated_at_ms < $1
          AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.session_id = s.id)
          AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.session_id = s.id)
        ORDER BY s.updated_at_ms
        LIMIT $2)";

/// Payment attempts nothing can still settle, whose session is gone.
const DELETE_ORPHAN_ATTEMPTS: &str = r"
DELETE FROM payment_attempts
 WHERE state IN ('declined', 'voided')
   AND updated_at_ms < $1
   AND NOT EXISTS (SELECT 1 FROM checkout_sessions s WHERE s.id = payment_attempts.session_id)";

/// Affiliate claims of sessions gone without an order (a claim only matters to
/// settle an order's commission; an order's claims are kept with it).
const DELETE_ORPHAN_AFFILIATE_CLAIMS: &str = r"
DELETE FROM affiliate_attributions
 WHERE created_at_ms < $1
   AND NOT EXISTS (SELECT 1 FROM checkout_sessions s
                    WHERE s.id = affiliate_attributions.session_id)
   AND NOT EXISTS (SELECT 1 FROM orders o
                    WHERE o.session_id = affiliate_attributions.session_id)";

const DELETE_OLD_INTENT_TRACES: &str = r"
DELETE FROM intent_traces
 WHERE created_at_ms < $1";

const DELETE_OLD_WEBHOOK_EVENTS: &str = r"
DELETE FROM processed_webhooks
 WHERE received_at_ms < $1";

impl Store {
    /// Forgets what is past its window (see [`Retention`]).
    pub async fn purge_expired_records(
        &self,
        retention: Retention,
        now_ms: i64,
    ) -> StoreResult<Purged> {
        let mut purged = Purged {
            idempotency_keys: self
                .purge_idempotency_before(now_ms - retention.idempotency_ms)
                .await?,
            ..Purged::default()
        };
        let sessions_before = now_ms - retention.ended_sessions_ms;
        purged.sessions = sqlx::query(DELETE_ENDED_SESSIONS)
            .bind(sessions_before)
            .bind(PURGE_BATCH_MAX)
            .execute(&self.write)
            .await?
            .rows_affected();
        purged.payment_attempts = sqlx::query(DELETE_ORPHAN_ATTEMPTS)
            .bind(sessions_before)
            .execute(&self.write)
            .await?
            .rows_affected();
        purged.affiliate_claims = sqlx::query(DELETE_ORPHAN_AFFILIATE_CLAIMS)
            .bind(sessions_before)
            .execute(&self.write)
            .await?
            .rows_affected();
        purged.intent_traces = sqlx::query(DELETE_OLD_INTENT_TRACES)
            .bind(now_ms - retention.intent_traces_ms)
            .execute(&self.write)
            .await?
            .rows_affected();
        purged.webhook_events = sqlx::query(DELETE_OLD_WEBHOOK_EVENTS)
            .bind(now_ms - retention.webhook_events_ms)
            .execute(&self.write)
            .await?
            .rows_affected();
        // A code outlives its session's end by the ended-sessions window, so a
        // phone that opened it is told "ended", not "unknown", until then.
        purged.handoffs = self.purge_handoffs(sessions_before).await?;
        Ok(purged)
    }
}
