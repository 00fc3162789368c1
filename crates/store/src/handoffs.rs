//! Hand-off codes (see `migrations/0016_handoffs.sql`): a short code a TV shows so
//! the shopper's phone can continue the TV's held checkout session.
//!
//! The store keeps only the code's MAC (the service computes it) and decides the
//! one race that matters in one statement: [`Store::claim_handoff`] records the
//! first phone's claim with a conditional `UPDATE`, so two phones scanning the same
//! QR at once cannot both own the session. A session has one current code at a
//! time ([`Store::insert_handoff`] replaces the earlier one, and a unique index,
//! `migrations/0023_handoff_replaced.sql`, holds even against concurrent issues).

use crate::{Store, StoreError, StoreResult, parse_id};
use anycart_core::{MerchantId, PlacementId, SessionId};

/// A hand-off code as stored (the code itself is never stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handoff {
    pub code_mac: String,
    pub merchant_id: MerchantId,
    pub placement_id: PlacementId,
    pub session_id: SessionId,
    pub created_at_ms: i64,
    /// After this instant the code can no longer be claimed.
    pub expires_at_ms: i64,
    /// Hash of the claiming phone's token, once claimed.
    pub claimed_by: Option<String>,
    pub claimed_at_ms: Option<i64>,
    /// When a newer code of the same session replaced this unclaimed one.
    pub replaced_at_ms: Option<i64>,
}

/// What issuing a code came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandoffIssue {
    /// The code is the session's current one (any earlier unclaimed code is dead).
    Issued,
    /// A phone already claimed a code of this session: it owns the session, and
    /// a second code would let another phone in. Nothing was stored.
    AlreadyClaimed,
}

/// What claiming a code came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandoffClaim {
    /// This phone owns the session (it claimed first now, or had claimed before).
    Claimed(Handoff),
    /// Another phone claimed the code first.
    TakenByAnother,
    /// Nobody claimed it in time.
    Expired,
    /// A newer code was issued for the session before anyone claimed this one.
    Replaced,
    /// No such code.
    Unknown,
}

#[derive(sqlx::FromRow)]
struct HandoffRow {
    code_mac: String,
    merchant_id: String,
    placement_id: String,
    session_id: String,
    created_at_ms: i64,
    expires_at_ms: i64,
    claimed_by: Option<String>,
    claimed_at_ms: Option<i64>,
    replaced_at_ms: Option<i64>,
}

impl TryFrom<HandoffRow> for Handoff {
    type Error = StoreError;
    fn try_from(r: HandoffRow) -> StoreResult<Self> {
        Ok(Handoff {
            code_mac: r.code_mac,
            merchant_id: parse_id(&r.merchant_id)?,
            placement_id: parse_id(&r.placement_id)?,
            session_id: parse_id(&r.session_id)?,
            created_at_ms: r.created_at_ms,
            expires_at_ms: r.expires_at_ms,
            claimed_by: r.claimed_by,
            claimed_at_ms: r.claimed_at_ms,
            replaced_at_ms: r.replaced_at_ms,
        })
    }
}

const INSERT_HANDOFF: &str = r"
INSERT INTO handoffs (code_mac, merchant_id, placement_id, session_id, created_at_ms,
                      expires_at_ms)
VALUES ($1, $2, $3, $4, $5, $6)";

const SELECT_HANDOFF: &str = r"
SELECT code_mac, merchant_id, placement_id, session_id, created_at_ms, expires_at_ms,
       claimed_by, claimed_at_ms, replaced_at_ms
  FROM handoffs
 WHERE code_mac = $1";

/// The newest code of a session (a TV asks whether its code was opened).
const SELECT_SESSION_HANDOFF: &str = r"
SELECT code_mac, merchant_id, placement_id, session_id, created_at_ms, expires_at_ms,
       claimed_by, claimed_at_ms, replaced_at_ms
  FROM handoffs
 WHERE merchant_id = $1 AND session_id = $2
 ORDER BY created_at_ms DESC
 LIMIT 1";

/// First claim wins: only an unclaimed, current, live code takes a claimant.
const CLAIM_HANDOFF: &str = r"
UPDATE handoffs
   SET claimed_by = $2, claimed_at_ms = $3
 WHERE code_mac = $1 AND claimed_by IS NULL AND replaced_at_ms IS NULL
   AND expires_at_ms > $3";

/// Whether a phone owns the session through its current code.
const SELECT_SESSION_CLAIMED: &str = r"
SELECT COUNT(*)
  FROM handoffs
 WHERE merchant_id = $1 AND session_id = $2 AND replaced_at_ms IS NULL
   AND claimed_by IS NOT NULL";

/// The session's earlier unclaimed codes stop working.
const REPLACE_SESSION_HANDOFFS: &str = r"
UPDATE handoffs
   SET replaced_at_ms = $3
 WHERE merchant_id = $1 AND session_id = $2 AND replaced_at_ms IS NULL
   AND claimed_by IS NULL";

/// Codes past their expiry (the caller passes an instant well after it, so a
/// phone that claimed a code can still reload while its session lives).
const PURGE_HANDOFFS: &str = r"
DELETE FROM handoffs
 WHERE code_mac IN (
       SELECT code_mac
         FROM handoffs
        WHERE expires_at_ms <= $1
        ORDER BY expires_at_ms
        LIMIT $2)";

impl Store {
    /// Stores a new code as its session's current one, in one transaction with
    /// replacing the session's earlier unclaimed code; refused when a phone
    /// already claimed one. A MAC collision (the same code twice), or another
    /// code issued for the session at the same instant, is
    /// [`StoreError::Duplicate`]; the caller draws another code.
    pub async fn insert_handoff(&self, h: &Handoff) -> StoreResult<HandoffIssue> {
        debug_assert!(h.expires_at_ms > h.created_at_ms);
        debug_assert!(h.claimed_by.is_none() && h.replaced_at_ms.is_none());
        let mut tx = self.write.begin().await?;
        let claimed: i64 = sqlx::query_scalar(SELECT_SESSION_CLAIMED)
            .bind(h.merchant_id.to_string())
            .bind(h.session_id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        if claimed > 0 {
            return Ok(HandoffIssue::AlreadyClaimed); // dropping `tx` rolls back
        }
        sqlx::query(REPLACE_SESSION_HANDOFFS)
            .bind(h.merchant_id.to_string())
            .bind(h.session_id.to_string())
            .bind(h.created_at_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query(INSERT_HANDOFF)
            .bind(h.code_mac.clone())
            .bind(h.merchant_id.to_string())
            .bind(h.placement_id.to_string())
            .bind(h.session_id.to_string())
            .bind(h.created_at_ms)
            .bind(h.expires_at_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(HandoffIssue::Issued)
    }

    /// Claims the code for `claimant` (a hash of the phone's token) at `now_ms`.
    /// The same claimant may come back (a reload); anyone else is turned away.
    pub async fn claim_handoff(
        &self,
        code_mac: &str,
        claimant: &str,
        now_ms: i64,
    ) -> StoreResult<HandoffClaim> {
        let mut tx = self.write.begin().await?;
        sqlx::query(CLAIM_HANDOFF)
            .bind(code_mac.to_string())
            .bind(claimant.to_string())
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        let row: Option<HandoffRow> = sqlx::query_as(SELECT_HANDOFF)
            .bind(code_mac.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        let Some(h) = row.map(Handoff::try_from).transpose()? else {
            return Ok(HandoffClaim::Unknown);
        };
        Ok(match h.claimed_by.as_deref() {
            Some(by) if by == claimant => HandoffClaim::Claimed(h),
            Some(_) => HandoffClaim::TakenByAnother,
            None if h.replaced_at_ms.is_some() => HandoffClaim::Replaced,
            None => HandoffClaim::Expired,
        })
    }

    /// The newest code issued for a session of `merchant`.
    pub async fn session_handoff(
        &self,
        merchant: MerchantId,
        session: SessionId,
    ) -> StoreResult<Option<Handoff>> {
        let row: Option<HandoffRow> = sqlx::query_as(SELECT_SESSION_HANDOFF)
            .bind(merchant.to_string())
            .bind(session.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.map(Handoff::try_from).transpose()
    }

    /// Deletes codes that expired before `before_ms` (at most
    /// [`crate::PURGE_BATCH_MAX`] at a time); returns how many.
    pub async fn purge_handoffs(&self, before_ms: i64) -> StoreResult<u64> {
        let done = sqlx::query(PURGE_HANDOFFS)
            .bind(before_ms)
            .bind(crate::PURGE_BATCH_MAX)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected())
    }
}
