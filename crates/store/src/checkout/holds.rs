//! A session's holds outside a session write: totals, a direct commit, the stock
//! audit, and the expiry sweeps (sessions past their expiry, stale holds).

use crate::inventory::{self, Hold, HoldRow};
use crate::{Store, StoreResult, page_limit, parse_id};
use anycart_core::{LocationId, MerchantId, SessionId, VariantId};
use std::collections::BTreeMap;

const SELECT_HOLDS_OF_SESSION: &str = r"
SELECT id, variant_id, location_id, quantity
  FROM holds
 WHERE session_id = $1";

/// A stock row beside the sum of its hold rows.
#[derive(sqlx::FromRow)]
struct AuditRow {
    variant_id: String,
    location_id: String,
    on_hand: i64,
    held: i64,
    committed: i64,
    hold_sum: i64,
}

/// `CAST`: SUM of a BIGINT is NUMERIC on PostgreSQL, which the `Any` driver cannot decode.
const SELECT_STOCK_AUDIT: &str = r"
SELECT s.variant_id, s.location_id, s.on_hand, s.held, s.committed,
       CAST(COALESCE((SELECT SUM(h.quantity)
                        FROM holds h
                       WHERE h.variant_id = s.variant_id AND h.location_id = s.location_id),
                     0) AS BIGINT) AS hold_sum
  FROM stock_levels s
 WHERE s.merchant_id = $1
 ORDER BY s.variant_id, s.location_id";

/// The open statuses, spelled as in the `sessions_by_expiry` partial index it uses.
const SELECT_EXPIRED_OPEN_SESSIONS: &str = r"
SELECT merchant_id, id
  FROM checkout_sessions
 WHERE status IN ('not_ready_for_payment', 'ready_for_payment', 'authentication_required')
   AND expires_at_ms <= $1
 ORDER BY expires_at_ms
 LIMIT $2";

/// A session's merchant and id.
#[derive(sqlx::FromRow)]
struct SessionKeyRow {
    merchant_id: String,
    id: String,
}

/// In the stock rows' lock order (variant, then location).
const SELECT_STALE_HOLDS: &str = r"
SELECT id, variant_id, location_id, quantity
  FROM holds
 WHERE expires_at_ms < $1
 ORDER BY variant_id, location_id
 LIMIT $2";

impl Store {
    /// Units each variant currently has held for a session.
    pub async fn session_hold_totals(
        &self,
        session: SessionId,
    ) -> StoreResult<BTreeMap<VariantId, i64>> {
        let mut conn = self.read.acquire().await?;
        let holds: Vec<Hold> = sqlx::query_as::<_, HoldRow>(SELECT_HOLDS_OF_SESSION)
            .bind(session.to_string())
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(Hold::try_from)
            .collect::<StoreResult<_>>()?;
        let mut totals = BTreeMap::new();
        for h in holds {
            *totals.entry(h.variant_id).or_insert(0) += h.quantity;
        }
        Ok(totals)
    }

    /// Commits every hold of `session` as sold, in its own transaction: units leave
    /// `held` and `on_hand` together. Returns the committed units per variant.
    /// (Checkouts commit inside [`Store::complete_checkout`]; this is for direct
    /// users of the inventory engine and for tests.)
    pub async fn commit_session_holds(
        &self,
        session: SessionId,
    ) -> StoreResult<BTreeMap<VariantId, i64>> {
        let mut tx = self.write.begin().await?;
        let committed = inventory::commit_session_holds(&mut tx, self.backend, session).await?;
        tx.commit().await?;
        Ok(committed)
    }

    /// Every stock row of `merchant` with the sum of its hold rows, for invariant
    /// checks: `(variant, location, on_hand, held, committed, sum of holds)`.
    pub async fn stock_audit(
        &self,
        merchant: MerchantId,
    ) -> StoreResult<Vec<(VariantId, LocationId, i64, i64, i64, i64)>> {
        sqlx::query_as::<_, AuditRow>(SELECT_STOCK_AUDIT)
            .bind(merchant.to_string())
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(|r| {
                Ok((
                    parse_id(&r.variant_id)?,
                    parse_id(&r.location_id)?,
                    r.on_hand,
                    r.held,
                    r.committed,
                    r.hold_sum,
                ))
            })
            .collect()
    }

    /// Open sessions whose expiry has passed, oldest first, at most `limit`.
    pub async fn expired_sessions(
        &self,
        now_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<(MerchantId, SessionId)>> {
        sqlx::query_as::<_, SessionKeyRow>(SELECT_EXPIRED_OPEN_SESSIONS)
            .bind(now_ms)
            .bind(page_limit(limit))
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(|r| Ok((parse_id(&r.merchant_id)?, parse_id(&r.id)?)))
            .collect()
    }

    /// Releases holds whose expiry passed before `before_ms` whatever their session
    /// says: the safety net behind session expiry (a crash, a bug). Returns how many.
    pub async fn release_stale_holds(&self, before_ms: i64, limit: i64) -> StoreResult<u64> {
        let mut tx = self.write.begin().await?;
        let stale = sqlx::query_as::<_, HoldRow>(SELECT_STALE_HOLDS)
            .bind(before_ms)
            .bind(page_limit(limit))
            .fetch_all(&mut *tx)
            .await?;
        let mut released = 0;
        for row in stale {
            inventory::release_hold(&mut tx, &Hold::try_from(row)?).await?;
            released += 1;
        }
        tx.commit().await?;
        Ok(released)
    }
}
