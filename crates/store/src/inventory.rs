//! Stock holds inside a transaction: take, release, commit.
//!
//! Safety does not rest on this code alone: every change is a conditional UPDATE
//! (`… WHERE on_hand - held - committed >= n`) and the table's CHECK constraints
//! refuse any row where `held + committed > on_hand`. On PostgreSQL the stock rows
//! of a variant are locked (`FOR UPDATE`) in a fixed order (variant id, then
//! location id) so concurrent checkouts queue instead of deadlocking; SQLite has a
//! single writer.

use crate::{Backend, StoreError, StoreResult, parse_id};
use anycart_core::inventory::plan_allocation;
use anycart_core::{HoldId, LocationId, MerchantId, SessionId, VariantId};
use sqlx::{AnyConnection, Row};
use std::collections::BTreeMap;

/// What a session got for one variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoldOutcome {
    /// Units now held for the session (0 when the pool was too small).
    pub held: i64,
    /// Units this session could have: free stock plus its own holds.
    pub available: i64,
}

/// One active hold row.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HoldRow {
    pub id: HoldId,
    pub variant_id: VariantId,
    pub location_id: LocationId,
    pub quantity: i64,
}

pub(crate) async fn session_holds(
    conn: &mut AnyConnection,
    backend: Backend,
    session: SessionId,
) -> StoreResult<Vec<HoldRow>> {
    let sql = match backend {
        Backend::Postgres => {
            "SELECT id, variant_id, location_id, quantity FROM holds WHERE session_id = $1 ORDER BY variant_id, location_id FOR UPDATE"
        }
        Backend::Sqlite => {
            "SELECT id, variant_id, location_id, quantity FROM holds WHERE session_id = $1 ORDER BY variant_id, location_id"
        }
    };
    sqlx::query(sql)
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
        .collect()
}

/// Gives every unit a session holds back to stock.
pub(crate) async fn release_session_holds(
    conn: &mut AnyConnection,
    backend: Backend,
    session: SessionId,
) -> StoreResult<()> {
    for hold in session_holds(conn, backend, session).await? {
        release_hold(conn, &hold).await?;
    }
    Ok(())
}

pub(crate) async fn release_hold(conn: &mut AnyConnection, hold: &HoldRow) -> StoreResult<()> {
    let done = sqlx::query("UPDATE stock_levels SET held = held - $1 WHERE variant_id = $2 AND location_id = $3 AND held >= $4")
        .bind(hold.quantity)
        .bind(hold.variant_id.to_string())
        .bind(hold.location_id.to_string())
        .bind(hold.quantity)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Constraint(format!(
            "hold {} exceeds held stock",
            hold.id
        )));
    }
    sqlx::query("DELETE FROM holds WHERE id = $1")
        .bind(hold.id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Turns a session's holds into a sale: the units leave `held` and `on_hand`
/// together (anycart's native catalogue is its own system of record).
pub(crate) async fn commit_session_holds(
    conn: &mut AnyConnection,
    backend: Backend,
    session: SessionId,
) -> StoreResult<BTreeMap<VariantId, i64>> {
    let mut committed = BTreeMap::new();
    for hold in session_holds(conn, backend, session).await? {
        let done = sqlx::query("UPDATE stock_levels SET held = held - $1, on_hand = on_hand - $2 WHERE variant_id = $3 AND location_id = $4 AND held >= $5")
            .bind(hold.quantity)
            .bind(hold.quantity)
            .bind(hold.variant_id.to_string())
            .bind(hold.location_id.to_string())
            .bind(hold.quantity)
            .execute(&mut *conn)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Constraint(format!(
                "hold {} exceeds held stock",
                hold.id
            )));
        }
        sqlx::query("DELETE FROM holds WHERE id = $1")
            .bind(hold.id.to_string())
            .execute(&mut *conn)
            .await?;
        *committed.entry(hold.variant_id).or_insert(0) += hold.quantity;
    }
    Ok(committed)
}

/// Takes holds for `demand` (units per variant), all or nothing per variant, from
/// the fullest locations first. Call after releasing the session's old holds.
pub(crate) async fn take_holds(
    conn: &mut AnyConnection,
    backend: Backend,
    merchant: MerchantId,
    session: SessionId,
    demand: &BTreeMap<VariantId, i64>,
    expires_at_ms: i64,
    now_ms: i64,
) -> StoreResult<BTreeMap<VariantId, HoldOutcome>> {
    let levels_sql = match backend {
        Backend::Postgres => {
            "SELECT location_id, on_hand - held - committed AS available FROM stock_levels WHERE variant_id = $1 AND merchant_id = $2 ORDER BY location_id FOR UPDATE"
        }
        Backend::Sqlite => {
            "SELECT location_id, on_hand - held - committed AS available FROM stock_levels WHERE variant_id = $1 AND merchant_id = $2 ORDER BY location_id"
        }
    };
    let mut outcomes = BTreeMap::new();
    // BTreeMap iteration is sorted by variant id: the lock order that avoids deadlocks.
    for (variant, quantity) in demand {
        let levels = sqlx::query(levels_sql)
            .bind(variant.to_string())
            .bind(merchant.to_string())
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| {
                Ok((
                    parse_id::<LocationId>(&r.try_get::<String, _>("location_id")?)?,
                    r.try_get::<i64, _>("available")?,
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let free: i64 = levels.iter().map(|(_, a)| (*a).max(0)).sum();
        let Ok(plan) = plan_allocation(&levels, *quantity) else {
            outcomes.insert(
                *variant,
                HoldOutcome {
                    held: 0,
                    available: free,
                },
            );
            continue;
        };
        for alloc in plan {
            let done = sqlx::query("UPDATE stock_levels SET held = held + $1 WHERE variant_id = $2 AND location_id = $3 AND on_hand - held - committed >= $4")
                .bind(alloc.quantity)
                .bind(variant.to_string())
                .bind(alloc.location_id.to_string())
                .bind(alloc.quantity)
                .execute(&mut *conn)
                .await?;
            if done.rows_affected() != 1 {
                // Cannot happen while rows are locked / the writer is single; refuse loudly.
                return Err(StoreError::Constraint(
                    "stock changed under a locked hold".into(),
                ));
            }
            sqlx::query("INSERT INTO holds (id, merchant_id, session_id, variant_id, location_id, quantity, expires_at_ms, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(HoldId::new().to_string())
                .bind(merchant.to_string())
                .bind(session.to_string())
                .bind(variant.to_string())
                .bind(alloc.location_id.to_string())
                .bind(alloc.quantity)
                .bind(expires_at_ms)
                .bind(now_ms)
                .execute(&mut *conn)
                .await?;
        }
        outcomes.insert(
            *variant,
            HoldOutcome {
                held: *quantity,
                available: free,
            },
        );
    }
    Ok(outcomes)
}
