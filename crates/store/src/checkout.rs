//! Checkout sessions: every change to a session and its holds is one transaction,
//! guarded by an optimistic `version` so two concurrent updates cannot both win.

pub use crate::inventory::HoldOutcome;
use crate::inventory::{self, HoldRow};
use crate::{Backend, Store, StoreError, StoreResult, parse_id};
use anycart_core::order::Order;
use anycart_core::session::{CheckoutSession, CheckoutStatus};
use anycart_core::{DiscountId, LocationId, MerchantId, SessionId, VariantId};
use sqlx::{AnyConnection, Row};
use std::collections::BTreeMap;

/// Most recent orders of one buyer that [`Store::buyer_units`] reads (a buyer with
/// more inside the window is over any sensible limit already).
pub const BUYER_ORDERS_COUNTED_MAX: i64 = 200;

/// What to do with a session's stock holds in the same transaction as its write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HoldChange {
    /// Leave holds as they are.
    Keep,
    /// Release every hold and take `demand` (units per variant) afresh.
    Replace {
        demand: BTreeMap<VariantId, i64>,
        expires_at_ms: i64,
    },
    /// Give everything back (cancel, decline, expiry).
    ReleaseAll,
}

/// A session write: insert when `expected_version` is `None`, else compare-and-swap.
#[derive(Clone, Debug)]
pub struct SessionWrite {
    pub merchant: MerchantId,
    pub session: SessionId,
    pub expected_version: Option<i64>,
    pub holds: HoldChange,
}

impl Store {
    /// Applies the hold change, lets `build` compute the session from the hold
    /// outcomes (pure domain code), and stores it, all in one transaction.
    /// Returns the stored session and its new version.
    /// On SQLite the write shares its commit with concurrent ones (see `group`).
    pub async fn write_session<E, B>(
        &self,
        write: SessionWrite,
        now_ms: i64,
        build: B,
    ) -> StoreResult<Result<(CheckoutSession, i64), E>>
    where
        E: Send + 'static,
        B: FnOnce(&BTreeMap<VariantId, HoldOutcome>) -> Result<CheckoutSession, E> + Send + 'static,
    {
        let backend = self.backend;
        self.write_tx(move |conn| Box::pin(write_session_tx(conn, backend, write, now_ms, build)))
            .await
    }

    /// A session and its version, if it belongs to `merchant`.
    pub async fn get_session(
        &self,
        merchant: MerchantId,
        id: SessionId,
    ) -> StoreResult<Option<(CheckoutSession, i64)>> {
        let row = sqlx::query(
            "SELECT doc, version FROM checkout_sessions WHERE id = $1 AND merchant_id = $2",
        )
        .bind(id.to_string())
        .bind(merchant.to_string())
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok((
                serde_json::from_str(&r.try_get::<String, _>("doc")?)?,
                r.try_get("version")?,
            ))
        })
        .transpose()
    }

    /// Units of each variant a buyer already has outside `session`: held by their
    /// other checkouts plus ordered since `since_ms`. What per-buyer limits count
    /// (`max_quantity_per_order`).
    pub async fn buyer_units(
        &self,
        merchant: MerchantId,
        buyer_key: &str,
        session: SessionId,
        since_ms: i64,
    ) -> StoreResult<BTreeMap<VariantId, i64>> {
        let mut units: BTreeMap<VariantId, i64> = BTreeMap::new();
        let held = sqlx::query("SELECT h.variant_id, CAST(SUM(h.quantity) AS BIGINT) AS units FROM holds h JOIN checkout_sessions s ON s.id = h.session_id WHERE s.merchant_id = $1 AND s.buyer_key = $2 AND s.id <> $3 GROUP BY h.variant_id")
            .bind(merchant.to_string())
            .bind(buyer_key.to_string())
            .bind(session.to_string())
            .fetch_all(&self.read)
            .await?;
        for r in held {
            let variant: VariantId = parse_id(&r.try_get::<String, _>("variant_id")?)?;
            *units.entry(variant).or_insert(0) += r.try_get::<i64, _>("units")?;
        }
        let mut conn = self.read.acquire().await?;
        for (variant, ordered) in ordered_units(&mut conn, merchant, buyer_key, since_ms).await? {
            *units.entry(variant).or_insert(0) += ordered;
        }
        Ok(units)
    }

    /// Units each variant currently has held for a session.
    pub async fn session_hold_totals(
        &self,
        session: SessionId,
    ) -> StoreResult<BTreeMap<VariantId, i64>> {
        let mut conn = self.read.acquire().await?;
        let rows: Vec<HoldRow> = sqlx::query(
            "SELECT id, variant_id, location_id, quantity FROM holds WHERE session_id = $1",
        )
        .bind(session.to_string())
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(HoldRow {
                id: parse_id(&r.try_get::<String, _>("id")?)?,
                variant_id: parse_id(&r.try_get::<String, _>("variant_id")?)?,
                location_id: parse_id(&r.try_get::<String, _>("location_id")?)?,
                quantity: r.try_get("quantity")?,
            })
        })
        .collect::<StoreResult<_>>()?;
        let mut totals = BTreeMap::new();
        for h in rows {
            *totals.entry(h.variant_id).or_insert(0) += h.quantity;
        }
        Ok(totals)
    }

    /// Completes a paid checkout in one transaction: checks the session still holds
    /// exactly `demand`, commits those holds, counts discount redemptions, numbers
    /// and writes the order with its `order.created` outbox row (the platform push),
    /// and stores the completed session. Returns the order as
    /// stored (with its number). On [`StoreError::HoldsMissing`]-like failures
    /// nothing is written and the caller must void the payment.
    pub async fn complete_checkout(
        &self,
        session: &CheckoutSession,
        expected_version: i64,
        demand: &BTreeMap<VariantId, i64>,
        order: Order,
        access_token: &str,
        redeemed: &[DiscountId],
    ) -> StoreResult<Order> {
        assert_eq!(session.status, CheckoutStatus::Completed);
        assert_eq!(Some(order.id), session.order_id);
        let backend = self.backend;
        let (session, demand) = (session.clone(), demand.clone());
        let (access_token, redeemed) = (access_token.to_string(), redeemed.to_vec());
        self.write_tx(move |conn| {
            Box::pin(async move {
                complete_checkout_tx(
                    conn,
                    backend,
                    &session,
                    expected_version,
                    &demand,
                    order,
                    &access_token,
                    &redeemed,
                )
                .await
            })
        })
        .await
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
        sqlx::query("SELECT s.variant_id, s.location_id, s.on_hand, s.held, s.committed, CAST(COALESCE((SELECT SUM(h.quantity) FROM holds h WHERE h.variant_id = s.variant_id AND h.location_id = s.location_id), 0) AS BIGINT) AS hold_sum FROM stock_levels s WHERE s.merchant_id = $1 ORDER BY s.variant_id, s.location_id")
            .bind(merchant.to_string())
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| {
                Ok((
                    parse_id(&r.try_get::<String, _>("variant_id")?)?,
                    parse_id(&r.try_get::<String, _>("location_id")?)?,
                    r.try_get("on_hand")?,
                    r.try_get("held")?,
                    r.try_get("committed")?,
                    r.try_get("hold_sum")?,
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
        sqlx::query("SELECT merchant_id, id FROM checkout_sessions WHERE status IN ('not_ready_for_payment', 'ready_for_payment', 'authentication_required') AND expires_at_ms <= $1 ORDER BY expires_at_ms LIMIT $2")
            .bind(now_ms)
            .bind(crate::page_limit(limit))
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| Ok((parse_id(&r.try_get::<String, _>("merchant_id")?)?, parse_id(&r.try_get::<String, _>("id")?)?)))
            .collect()
    }

    /// Releases holds whose expiry passed before `before_ms` whatever their session
    /// says: the safety net behind session expiry (a crash, a bug). Returns how many.
    pub async fn release_stale_holds(&self, before_ms: i64, limit: i64) -> StoreResult<u64> {
        let mut tx = self.write.begin().await?;
        let rows = sqlx::query("SELECT id, variant_id, location_id, quantity FROM holds WHERE expires_at_ms < $1 ORDER BY variant_id, location_id LIMIT $2")
            .bind(before_ms)
            .bind(crate::page_limit(limit))
            .fetch_all(&mut *tx)
            .await?;
        let mut released = 0;
        for r in rows {
            let hold = HoldRow {
                id: parse_id(&r.try_get::<String, _>("id")?)?,
                variant_id: parse_id(&r.try_get::<String, _>("variant_id")?)?,
                location_id: parse_id(&r.try_get::<String, _>("location_id")?)?,
                quantity: r.try_get("quantity")?,
            };
            inventory::release_hold(&mut tx, &hold).await?;
            released += 1;
        }
        tx.commit().await?;
        Ok(released)
    }
}

/// Units of each variant a buyer ordered from `merchant` since `since_ms`.
async fn ordered_units(
    conn: &mut AnyConnection,
    merchant: MerchantId,
    buyer_key: &str,
    since_ms: i64,
) -> StoreResult<BTreeMap<VariantId, i64>> {
    let orders = sqlx::query("SELECT doc FROM orders WHERE merchant_id = $1 AND buyer_key = $2 AND created_at_ms >= $3 ORDER BY created_at_ms DESC LIMIT $4")
        .bind(merchant.to_string())
        .bind(buyer_key.to_string())
        .bind(since_ms)
        .bind(BUYER_ORDERS_COUNTED_MAX)
        .fetch_all(&mut *conn)
        .await?;
    let mut units = BTreeMap::new();
    for r in orders {
        let order: Order = serde_json::from_str(&r.try_get::<String, _>("doc")?)?;
        for line in order.lines {
            *units.entry(line.variant_id).or_insert(0) += i64::from(line.quantity.get());
        }
    }
    Ok(units)
}

/// Refuses an order that would take its buyer past a variant's
/// `max_quantity_per_order` within the window, counting the buyer's earlier orders.
/// The per-buyer lock row makes concurrent completions of one buyer (on any node)
/// run one after the other, so each sees the orders committed before it.
async fn check_buyer_limits(conn: &mut AnyConnection, order: &Order) -> StoreResult<()> {
    let capped = order
        .lines
        .iter()
        .any(|l| l.max_quantity_per_order.is_some());
    let Some(email) = order.email.as_ref().filter(|_| capped) else {
        return Ok(());
    };
    let buyer_key = email.buyer_key();
    sqlx::query("INSERT INTO buyer_locks (merchant_id, buyer_key, touched_at_ms) VALUES ($1, $2, $3) ON CONFLICT (merchant_id, buyer_key) DO UPDATE SET touched_at_ms = excluded.touched_at_ms")
        .bind(order.merchant_id.to_string())
        .bind(buyer_key.clone())
        .bind(order.created_at_ms)
        .execute(&mut *conn)
        .await?;
    let since = order.created_at_ms - anycart_core::quote::BUYER_LIMIT_WINDOW_MS;
    let ordered = ordered_units(conn, order.merchant_id, &buyer_key, since).await?;
    let over = anycart_core::quote::over_limit(&order.lines, &ordered);
    if over.is_empty() {
        return Ok(());
    }
    let detail: Vec<String> = over
        .iter()
        .map(|v| {
            format!(
                "{v}: {} already ordered",
                ordered.get(v).copied().unwrap_or(0)
            )
        })
        .collect();
    Err(StoreError::BuyerLimit(detail.join(", ")))
}

/// The body of [`Store::complete_checkout`], on the connection the write runs on.
#[allow(clippy::too_many_arguments)]
async fn complete_checkout_tx(
    conn: &mut AnyConnection,
    backend: Backend,
    session: &CheckoutSession,
    expected_version: i64,
    demand: &BTreeMap<VariantId, i64>,
    mut order: Order,
    access_token: &str,
    redeemed: &[DiscountId],
) -> StoreResult<Order> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    if current_version(&mut tx, session.merchant_id, session.id).await? != expected_version {
        return Err(StoreError::VersionConflict);
    }
    check_buyer_limits(&mut tx, &order).await?;
    let committed = inventory::commit_session_holds(&mut tx, backend, session.id).await?;
    if &committed != demand {
        return Err(StoreError::Constraint(
            "session holds do not cover the order".into(),
        ));
    }
    for id in redeemed {
        sqlx::query("UPDATE discounts SET times_redeemed = times_redeemed + 1 WHERE id = $1 AND merchant_id = $2")
            .bind(id.to_string())
            .bind(session.merchant_id.to_string())
            .execute(&mut *tx)
            .await?;
    }
    order.number = sqlx::query(
        "UPDATE merchants SET order_seq = order_seq + 1 WHERE id = $1 RETURNING order_seq",
    )
    .bind(session.merchant_id.to_string())
    .fetch_one(&mut *tx)
    .await?
    .try_get("order_seq")?;
    sqlx::query("INSERT INTO orders (id, merchant_id, session_id, number, access_token, total_minor, doc, created_at_ms, buyer_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(order.id.to_string())
        .bind(order.merchant_id.to_string())
        .bind(order.session_id.to_string())
        .bind(order.number)
        .bind(access_token.to_string())
        .bind(order.totals.total_minor)
        .bind(serde_json::to_string(&order)?)
        .bind(order.created_at_ms)
        .bind(order.email.as_ref().map(|e| e.buyer_key()))
        .execute(&mut *tx)
        .await?;
    // The platform push is written with the order so neither exists without the other.
    crate::outbox::enqueue_order(&mut tx, &order).await?;
    update_session(&mut tx, session, expected_version).await?;
    tx.commit().await?;
    Ok(order)
}

/// The body of [`Store::write_session`], on the connection the write runs on.
async fn write_session_tx<E, B>(
    conn: &mut AnyConnection,
    backend: Backend,
    write: SessionWrite,
    now_ms: i64,
    build: B,
) -> StoreResult<Result<(CheckoutSession, i64), E>>
where
    B: FnOnce(&BTreeMap<VariantId, HoldOutcome>) -> Result<CheckoutSession, E>,
{
    let mut tx = sqlx::Connection::begin(conn).await?;
    if let Some(expected) = write.expected_version {
        // Check the version first so a stale writer does not touch stock at all.
        let current = current_version(&mut tx, write.merchant, write.session).await?;
        if current != expected {
            return Err(StoreError::VersionConflict);
        }
    }
    let outcomes = match &write.holds {
        HoldChange::Keep => BTreeMap::new(),
        HoldChange::Replace {
            demand,
            expires_at_ms,
        } => {
            inventory::release_session_holds(&mut tx, backend, write.session).await?;
            inventory::take_holds(
                &mut tx,
                backend,
                write.merchant,
                write.session,
                demand,
                *expires_at_ms,
                now_ms,
            )
            .await?
        }
        HoldChange::ReleaseAll => {
            inventory::release_session_holds(&mut tx, backend, write.session).await?;
            BTreeMap::new()
        }
    };
    let session = match build(&outcomes) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)), // dropping `tx` rolls back
    };
    assert_eq!(
        session.id, write.session,
        "build must return the session being written"
    );
    let version = match write.expected_version {
        None => {
            insert_session(&mut tx, &session).await?;
            1
        }
        Some(expected) => update_session(&mut tx, &session, expected).await?,
    };
    tx.commit().await?;
    Ok(Ok((session, version)))
}

async fn current_version(
    conn: &mut AnyConnection,
    merchant: MerchantId,
    id: SessionId,
) -> StoreResult<i64> {
    sqlx::query("SELECT version FROM checkout_sessions WHERE id = $1 AND merchant_id = $2")
        .bind(id.to_string())
        .bind(merchant.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?
        .try_get("version")
        .map_err(Into::into)
}

async fn insert_session(conn: &mut AnyConnection, s: &CheckoutSession) -> StoreResult<()> {
    sqlx::query("INSERT INTO checkout_sessions (id, merchant_id, status, expires_at_ms, version, doc, created_at_ms, updated_at_ms, buyer_key) VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8)")
        .bind(s.id.to_string())
        .bind(s.merchant_id.to_string())
        .bind(s.status.as_str())
        .bind(s.expires_at_ms)
        .bind(serde_json::to_string(s)?)
        .bind(s.created_at_ms)
        .bind(s.updated_at_ms)
        .bind(s.contact_email().map(|e| e.buyer_key()))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn update_session(
    conn: &mut AnyConnection,
    s: &CheckoutSession,
    expected: i64,
) -> StoreResult<i64> {
    let done = sqlx::query("UPDATE checkout_sessions SET status = $1, expires_at_ms = $2, doc = $3, updated_at_ms = $4, version = version + 1, buyer_key = $5 WHERE id = $6 AND merchant_id = $7 AND version = $8")
        .bind(s.status.as_str())
        .bind(s.expires_at_ms)
        .bind(serde_json::to_string(s)?)
        .bind(s.updated_at_ms)
        .bind(s.contact_email().map(|e| e.buyer_key()))
        .bind(s.id.to_string())
        .bind(s.merchant_id.to_string())
        .bind(expected)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::VersionConflict);
    }
    Ok(expected + 1)
}
