//! Stock holds inside a transaction: take, release, commit.
//!
//! Safety does not rest on this code alone: every change is a conditional UPDATE
//! (`… WHERE on_hand - held - committed >= n`) and the table's CHECK constraints
//! refuse any row where `held + committed > on_hand`. On PostgreSQL the stock rows
//! of a variant are locked (`FOR UPDATE`) in a fixed order (variant id, then
//! location id) so concurrent checkouts queue instead of deadlocking; SQLite has a
//! single writer.

use crate::script::{Outcome, Script, Statement};
use crate::sql::{FOR_UPDATE, with_row_lock};
use crate::{Backend, StoreError, StoreResult, parse_id};
use anycart_core::inventory::{Allocation, plan_allocation};
use anycart_core::{HoldId, LocationId, MerchantId, SessionId, VariantId};
use sqlx::AnyConnection;
use std::collections::BTreeMap;

/// What a session got for one variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoldOutcome {
    /// Units now held for the session (0 when the pool was too small).
    pub held: i64,
    /// Units this session could have: free stock plus its own holds.
    pub available: i64,
}

/// One active hold.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hold {
    pub id: HoldId,
    pub variant_id: VariantId,
    pub location_id: LocationId,
    pub quantity: i64,
}

/// A `holds` row as the hold code reads it.
#[derive(sqlx::FromRow)]
pub(crate) struct HoldRow {
    id: String,
    variant_id: String,
    location_id: String,
    quantity: i64,
}

impl TryFrom<HoldRow> for Hold {
    type Error = StoreError;

    fn try_from(row: HoldRow) -> StoreResult<Self> {
        Ok(Hold {
            id: parse_id(&row.id)?,
            variant_id: parse_id(&row.variant_id)?,
            location_id: parse_id(&row.location_id)?,
            quantity: row.quantity,
        })
    }
}

/// In the stock rows' lock order (variant, then location).
/// Deletes the session's holds and returns them in the stock rows' lock order
/// (variant, then location): one statement where reading them and deleting
/// each took one plus one per hold. The DELETE locks the rows it removes
/// (PostgreSQL) as the SELECT … FOR UPDATE it replaces did; the order the
/// stock rows are then updated in is set here, not by the database.
pub(crate) async fn take_session_holds(
    conn: &mut AnyConnection,
    session: SessionId,
) -> StoreResult<Vec<Hold>> {
    let mut holds = sqlx::query_as::<_, HoldRow>(DELETE_SESSION_HOLDS)
        .bind(session.to_string())
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(Hold::try_from)
        .collect::<StoreResult<Vec<Hold>>>()?;
    holds.sort_by_cached_key(|h| (h.variant_id.to_string(), h.location_id.to_string()));
    Ok(holds)
}

const DELETE_SESSION_HOLDS: &str = r"
DELETE FROM holds
 WHERE session_id = $1
RETURNING id, variant_id, location_id, quantity";

/// Gives every unit a session holds back to stock.
pub(crate) async fn release_session_holds(
    conn: &mut AnyConnection,
    session: SessionId,
) -> StoreResult<()> {
    for hold in take_session_holds(conn, session).await? {
        give_back_held(conn, &hold).await?;
    }
    Ok(())
}

/// Conditional on the units being held, so a hold is never given back twice.
const RELEASE_HELD_STOCK: &str = r"
UPDATE stock_levels
   SET held = held - $1
 WHERE variant_id = $2 AND location_id = $3 AND held >= $4";

const DELETE_HOLD: &str = r"
DELETE FROM holds
 WHERE id = $1";

/// Gives one hold's units back to stock and deletes it.
pub(crate) async fn release_hold(conn: &mut AnyConnection, hold: &Hold) -> StoreResult<()> {
    give_back_held(conn, hold).await?;
    delete_hold(conn, hold.id).await
}

/// Gives one (deleted or about to be deleted) hold's units back to stock.
async fn give_back_held(conn: &mut AnyConnection, hold: &Hold) -> StoreResult<()> {
    let done = sqlx::query(RELEASE_HELD_STOCK)
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
    Ok(())
}

async fn delete_hold(conn: &mut AnyConnection, id: HoldId) -> StoreResult<()> {
    sqlx::query(DELETE_HOLD)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Sold units leave `held` and `on_hand` together; conditional on them being held.
const COMMIT_HELD_STOCK: &str = r"
UPDATE stock_levels
   SET held = held - $1, on_hand = on_hand - $2
 WHERE variant_id = $3 AND location_id = $4 AND held >= $5";

/// Sold units of one hold leave `held` and `on_hand` together.
pub(crate) fn commit_held_stock(hold: &Hold) -> Statement {
    Statement::new(COMMIT_HELD_STOCK)
        .bind(hold.quantity)
        .bind(hold.quantity)
        .bind(hold.variant_id.to_string())
        .bind(hold.location_id.to_string())
        .bind(hold.quantity)
}

/// The units sold per variant, from each hold's [`commit_held_stock`] outcome
/// (in the same order): a hold whose units were not held in its stock row
/// refuses the sale.
pub(crate) fn committed_units(
    holds: &[Hold],
    outcomes: &[Outcome],
) -> StoreResult<BTreeMap<VariantId, i64>> {
    debug_assert_eq!(holds.len(), outcomes.len());
    let mut committed = BTreeMap::new();
    for (hold, done) in holds.iter().zip(outcomes) {
        if done.rows_affected != 1 {
            return Err(StoreError::Constraint(format!(
                "hold {} exceeds held stock",
                hold.id
            )));
        }
        *committed.entry(hold.variant_id).or_insert(0) += hold.quantity;
    }
    Ok(committed)
}

/// SQLite: every hold of a session sold in one statement, the units leaving
/// `held` and `on_hand` together, each stock row only if it holds them. Its
/// single writer takes no row locks, so the order rows are updated in does
/// not matter there (PostgreSQL updates them one by one in the lock order:
/// [`commit_held_stock`]). Run before [`delete_session_holds`].
const COMMIT_SESSION_STOCK: &str = r"
UPDATE stock_levels
   SET held = held - h.quantity, on_hand = on_hand - h.quantity
  FROM (SELECT variant_id, location_id, SUM(quantity) AS quantity
          FROM holds
         WHERE session_id = $1
         GROUP BY variant_id, location_id) AS h
 WHERE stock_levels.variant_id = h.variant_id
   AND stock_levels.location_id = h.location_id
   AND stock_levels.held >= h.quantity";

pub(crate) fn commit_session_stock(session: SessionId) -> Statement {
    Statement::new(COMMIT_SESSION_STOCK).bind(session.to_string())
}

/// Deletes a session's holds and returns them (see [`sold_together`]).
pub(crate) fn delete_session_holds(session: SessionId) -> Statement {
    Statement::new(DELETE_SESSION_HOLDS).bind(session.to_string())
}

/// The units sold per variant by [`commit_session_stock`] (`updated`) and
/// [`delete_session_holds`] (`deleted`): every stock row the holds name must
/// have had their units held, or the sale is refused.
pub(crate) fn sold_together(
    updated: &Outcome,
    deleted: &Outcome,
) -> StoreResult<BTreeMap<VariantId, i64>> {
    use sqlx::FromRow;
    let mut rows = std::collections::BTreeSet::new();
    let mut sold = BTreeMap::new();
    for row in &deleted.rows {
        let hold = Hold::try_from(HoldRow::from_row(row)?)?;
        rows.insert((hold.variant_id, hold.location_id));
        *sold.entry(hold.variant_id).or_insert(0) += hold.quantity;
    }
    if updated.rows_affected != rows.len() as u64 {
        return Err(StoreError::Constraint(
            "a hold of the session exceeds held stock".into(),
        ));
    }
    Ok(sold)
}

/// Turns a session's holds into a sale: the units leave `held` and `on_hand`
/// together (anycart's native catalogue is its own system of record).
pub(crate) async fn commit_session_holds(
    conn: &mut AnyConnection,
    backend: Backend,
    session: SessionId,
) -> StoreResult<BTreeMap<VariantId, i64>> {
    let holds = take_session_holds(conn, session).await?;
    let mut script = Script::new(backend);
    for hold in &holds {
        script.push(commit_held_stock(hold));
    }
    let outcomes = script.run(conn).await?;
    committed_units(&holds, &outcomes)
}

/// Whose new holds are taken and how long they live.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HoldTerms {
    pub merchant: MerchantId,
    pub session: SessionId,
    pub expires_at_ms: i64,
    pub now_ms: i64,
}

/// Takes holds for `demand` (units per variant), all or nothing per variant, from
/// the fullest locations first. Call after releasing the session's old holds.
pub(crate) async fn take_holds(
    conn: &mut AnyConnection,
    backend: Backend,
    terms: HoldTerms,
    demand: &BTreeMap<VariantId, i64>,
) -> StoreResult<BTreeMap<VariantId, HoldOutcome>> {
    let mut outcomes = BTreeMap::new();
    // BTreeMap iteration is sorted by variant id: the lock order that avoids deadlocks.
    for (variant, quantity) in demand {
        let levels = free_stock(conn, backend, terms.merchant, *variant).await?;
        let free: i64 = levels.iter().map(|(_, a)| (*a).max(0)).sum();
        let held = match plan_allocation(&levels, *quantity) {
            Ok(plan) => {
                let hold = NewHold {
                    terms,
                    variant: *variant,
                };
                for alloc in plan {
                    hold.take(conn, &alloc).await?;
                }
                *quantity
            }
            Err(_) => 0,
        };
        outcomes.insert(
            *variant,
            HoldOutcome {
                held,
                available: free,
            },
        );
    }
    Ok(outcomes)
}

/// In the lock order (location by location) for PostgreSQL's row locks.
const SELECT_FREE_STOCK_OF_VARIANT: &str = r"
SELECT location_id, on_hand - held - committed AS available
  FROM stock_levels
 WHERE variant_id = $1 AND merchant_id = $2
 ORDER BY location_id";

/// A `stock_levels` row's free units at one location.
#[derive(sqlx::FromRow)]
struct FreeStockRow {
    location_id: String,
    available: i64,
}

/// Free units of `variant` per location, locked on PostgreSQL.
async fn free_stock(
    conn: &mut AnyConnection,
    backend: Backend,
    merchant: MerchantId,
    variant: VariantId,
) -> StoreResult<Vec<(LocationId, i64)>> {
    let sql = with_row_lock(backend, SELECT_FREE_STOCK_OF_VARIANT, FOR_UPDATE);
    sqlx::query_as::<_, FreeStockRow>(sql)
        .bind(variant.to_string())
        .bind(merchant.to_string())
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|row| Ok((parse_id(&row.location_id)?, row.available)))
        .collect()
}

/// Conditional, so a plan from a stale read changes no row instead of tripping a CHECK.
const TAKE_FREE_STOCK: &str = r"
UPDATE stock_levels
   SET held = held + $1
 WHERE variant_id = $2 AND location_id = $3 AND on_hand - held - committed >= $4";

const INSERT_HOLD: &str = r"
INSERT INTO holds (id, merchant_id, session_id, variant_id, location_id, quantity,
                   expires_at_ms, created_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// What every hold a session takes on one variant shares.
struct NewHold {
    terms: HoldTerms,
    variant: VariantId,
}

impl NewHold {
    /// Moves `alloc`'s units from free to held and records the hold.
    async fn take(&self, conn: &mut AnyConnection, alloc: &Allocation) -> StoreResult<()> {
        let done = sqlx::query(TAKE_FREE_STOCK)
            .bind(alloc.quantity)
            .bind(self.variant.to_string())
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
        sqlx::query(INSERT_HOLD)
            .bind(HoldId::new().to_string())
            .bind(self.terms.merchant.to_string())
            .bind(self.terms.session.to_string())
            .bind(self.variant.to_string())
            .bind(alloc.location_id.to_string())
            .bind(alloc.quantity)
            .bind(self.terms.expires_at_ms)
            .bind(self.terms.now_ms)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}
