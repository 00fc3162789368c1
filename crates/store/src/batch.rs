//! Group-committed stock holds: many hold requests, one transaction.
//!
//! The inventory engine (in the server) collects concurrent hold requests per
//! shard and hands them here. One transaction reads and locks the stock rows of
//! the batch's variants, lets the pure planner (`anycart_core::inventory::plan_batch`)
//! serve the requests strictly in order, writes the net result with a handful of
//! statements, and commits once. A hold is acknowledged only after that commit.
//! Who owns a variant is what its stock rows say, never what a request claims: a
//! request naming another merchant's variant holds nothing and changes nothing.
//! Called with a single request, this is exactly the naive "one transaction per
//! request locking the hot row" path, which the benchmark uses as its baseline.

use crate::script::{Outcome, Script, Statement};
use crate::sql::{FOR_UPDATE, case_by_id, in_list, row_lock, values_rows};
use crate::{Backend, Store, StoreError, StoreResult, parse_id};
use anycart_core::inventory::{
    BatchOutcome, ExistingHold, HoldRequest, NewHold, RenewedHold, plan_batch,
};
use anycart_core::{HoldId, LocationId, MerchantId, SessionId, VariantId};
use sqlx::AnyConnection;
use std::collections::{BTreeMap, BTreeSet};

/// Rows per multi-row INSERT (8 parameters each; far below every engine's limit).
const INSERT_ROWS_MAX: usize = 100;
/// Ids per `IN (…)` list.
pub(crate) const IN_LIST_MAX: usize = 500;

/// One request of a batch, with its tenant and hold expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchItem {
    pub merchant: MerchantId,
    pub request: HoldRequest,
    pub expires_at_ms: i64,
    /// The session is being created by this request and holds nothing yet, so
    /// its holds are not read (one statement fewer per new checkout). Only a
    /// caller that made the session id just now may say so: holds it did have
    /// would not be released (the sweeper would, at their expiry).
    pub new_session: bool,
}

/// The outcome of a batch: one outcome per item, and the free stock per variant
/// after the commit (for live availability) with the merchant it belongs to.
/// Only variants some item named as their owner are reported: a request for
/// another merchant's variant learns nothing about its stock.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchResult {
    pub outcomes: Vec<BatchOutcome>,
    pub available_after: BTreeMap<VariantId, i64>,
    /// The owner of each variant in `available_after`, from its stock rows: the
    /// merchant whose live availability changed (not whichever item came last).
    pub owners: BTreeMap<VariantId, MerchantId>,
}

/// A variant's free units at one location.
#[derive(sqlx::FromRow)]
struct FreeStockRow {
    variant_id: String,
    available: i64,
}

/// Followed by the `IN` list of variants.
const SELECT_FREE_STOCK_OF_VARIANTS: &str = r"
SELECT variant_id, on_hand - held - committed AS available
  FROM stock_levels
 WHERE variant_id IN";

impl Store {
    /// Applies a batch of hold requests in one transaction (see the module docs).
    pub async fn apply_hold_batch(
        &self,
        items: &[BatchItem],
        now_ms: i64,
    ) -> StoreResult<BatchResult> {
        if items.is_empty() {
            return Ok(BatchResult::default());
        }
        let (backend, items) = (self.backend, items.to_vec());
        self.write_tx(move |conn| {
            Box::pin(async move { apply_hold_batch_tx(conn, backend, &items, now_ms).await })
        })
        .await
    }

    /// Free units per variant (sum over locations), for live availability.
    pub async fn available_by_variant(
        &self,
        variants: &[VariantId],
    ) -> StoreResult<BTreeMap<VariantId, i64>> {
        let mut out = BTreeMap::new();
        for chunk in variants.chunks(IN_LIST_MAX) {
            let sql = in_list(SELECT_FREE_STOCK_OF_VARIANTS, 1, chunk.len(), "");
            let mut q = sqlx::query_as::<_, FreeStockRow>(sql);
            for v in chunk {
                q = q.bind(v.to_string());
            }
            for row in q.fetch_all(&self.read).await? {
                let v: VariantId = parse_id(&row.variant_id)?;
                *out.entry(v).or_insert(0) += row.available.max(0);
            }
        }
        Ok(out)
    }
}

/// The body of [`Store::apply_hold_batch`], on the connection the write runs on:
/// read and lock, plan (pure), write the plan, commit.
async fn apply_hold_batch_tx(
    conn: &mut AnyConnection,
    backend: Backend,
    items: &[BatchItem],
    now_ms: i64,
) -> StoreResult<BatchResult> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let variants: BTreeSet<VariantId> = items.iter().map(|i| i.request.variant).collect();
    let stock = lock_stock(&mut tx, backend, &variants).await?;
    let owned = Owned::of(items, &stock)?;
    let sessions: BTreeSet<String> = owned
        .items
        .iter()
        .filter(|i| !i.new_session)
        .map(|i| i.request.session.to_string())
        .collect();
    let existing = existing_holds(&mut tx, &sessions, &owned.variants).await?;
    let requests: Vec<HoldRequest> = owned.items.iter().map(|i| i.request).collect();
    let plan = plan_batch(&owned.levels, &existing, &requests);
    let terms = hold_terms(&owned.items);
    // The plan's writes need no answer but their row counts: one script (on
    // SQLite one hand-off to the connection's thread), checked after.
    let mut script = Script::new(backend);
    delete_holds(&mut script, &plan.release);
    let renewed = renew_holds(&mut script, &plan.renew, &terms);
    insert_holds(&mut script, &plan.create, &terms, now_ms);
    let deltas = apply_held_delta(&mut script, &plan.held_delta);
    let done = script.run(&mut tx).await?;
    check_renewed(&done, &renewed)?;
    check_held_delta(&done, &deltas)?;
    tx.commit().await?;
    Ok(BatchResult {
        available_after: available_after(&owned.levels, &plan.held_delta),
        outcomes: outcomes_per_item(&owned.mask, plan.outcomes),
        owners: owned.owners,
    })
}

/// The part of a batch that is planned: the items whose merchant owns the
/// variant they name, and the stock of those variants. A request naming another
/// merchant's variant must hold nothing, must not touch the owner's pool or
/// release the holds of the session it names, and sees no stock.
struct Owned {
    /// Per item, whether it is owned.
    mask: Vec<bool>,
    items: Vec<BatchItem>,
    variants: BTreeSet<VariantId>,
    /// Free units per (variant, location) of `variants`.
    levels: Vec<(VariantId, LocationId, i64)>,
    owners: BTreeMap<VariantId, MerchantId>,
}

impl Owned {
    /// Splits the batch by what the stock rows it read say about ownership.
    fn of(items: &[BatchItem], stock: &[StockRow]) -> StoreResult<Self> {
        let mut owners = owners(stock)?;
        let mask: Vec<bool> = items
            .iter()
            .map(|i| owners.get(&i.request.variant) == Some(&i.merchant))
            .collect();
        let owned_items: Vec<BatchItem> = items
            .iter()
            .zip(&mask)
            .filter_map(|(item, owned)| owned.then_some(*item))
            .collect();
        let variants: BTreeSet<VariantId> = owned_items.iter().map(|i| i.request.variant).collect();
        owners.retain(|v, _| variants.contains(v));
        let levels = stock
            .iter()
            .filter(|row| variants.contains(&row.variant))
            .map(|row| (row.variant, row.location, row.available))
            .collect();
        Ok(Owned {
            mask,
            items: owned_items,
            variants,
            levels,
            owners,
        })
    }
}

/// The merchant each variant of the batch belongs to, from its stock rows (the
/// database, not the requests, says who owns a variant). A variant without stock
/// rows has no owner: every request for it holds nothing.
fn owners(stock: &[StockRow]) -> StoreResult<BTreeMap<VariantId, MerchantId>> {
    let mut owner = BTreeMap::new();
    for row in stock {
        let first = *owner.entry(row.variant).or_insert(row.merchant);
        // `set_on_hand` only writes rows of the variant's own merchant.
        if first != row.merchant {
            return Err(StoreError::Constraint(format!(
                "stock rows of {} belong to {first} and {}",
                row.variant, row.merchant
            )));
        }
    }
    Ok(owner)
}

/// One outcome per item, in item order: the planned outcomes of the owned items,
/// and for every other item nothing held out of no stock at all (what the single
/// request path answers, as its stock query is scoped to the merchant).
fn outcomes_per_item(owned: &[bool], planned: Vec<BatchOutcome>) -> Vec<BatchOutcome> {
    const NOTHING: BatchOutcome = BatchOutcome {
        held: 0,
        available: 0,
    };
    debug_assert_eq!(planned.len(), owned.iter().filter(|o| **o).count());
    let mut planned = planned.into_iter();
    owned
        .iter()
        .map(|owned| match owned {
            true => planned.next().unwrap_or(NOTHING),
            false => NOTHING,
        })
        .collect()
}

/// The merchant and expiry a new hold of (session, variant) is written with
/// (the last owned request of that pair decides, as it is the one planned last).
fn hold_terms(owned_items: &[BatchItem]) -> BTreeMap<(SessionId, VariantId), (MerchantId, i64)> {
    owned_items
        .iter()
        .map(|i| {
            (
                (i.request.session, i.request.variant),
                (i.merchant, i.expires_at_ms),
            )
        })
        .collect()
}

/// Free units per variant once the batch is committed: what was free when read,
/// less what the batch now holds.
fn available_after(
    levels: &[(VariantId, LocationId, i64)],
    held_delta: &BTreeMap<(VariantId, LocationId), i64>,
) -> BTreeMap<VariantId, i64> {
    let mut available: BTreeMap<VariantId, i64> = BTreeMap::new();
    for (variant, location, free) in levels {
        let delta = held_delta.get(&(*variant, *location)).copied().unwrap_or(0);
        *available.entry(*variant).or_insert(0) += free - delta;
    }
    available
}

/// A stock row the batch may take from, as read.
#[derive(sqlx::FromRow)]
struct LevelRow {
    variant_id: String,
    location_id: String,
    merchant_id: String,
    available: i64,
}

/// A stock row the batch may take from, parsed.
#[derive(Clone, Copy, Debug)]
struct StockRow {
    variant: VariantId,
    location: LocationId,
    merchant: MerchantId,
    available: i64,
}

impl TryFrom<LevelRow> for StockRow {
    type Error = StoreError;

    fn try_from(row: LevelRow) -> StoreResult<Self> {
        Ok(StockRow {
            variant: parse_id(&row.variant_id)?,
            location: parse_id(&row.location_id)?,
            merchant: parse_id(&row.merchant_id)?,
            available: row.available,
        })
    }
}

/// Followed by the `IN` list of variants and [`IN_LOCK_ORDER`].
const SELECT_STOCK_OF_VARIANTS: &str = r"
SELECT variant_id, location_id, merchant_id, on_hand - held - committed AS available
  FROM stock_levels
 WHERE variant_id IN";

/// The one order stock rows are locked in (see `inventory`), so concurrent
/// PostgreSQL transactions queue instead of deadlocking.
const IN_LOCK_ORDER: &str = "
 ORDER BY variant_id, location_id";

/// Reads (and on PostgreSQL locks, in a fixed order) every stock row of `variants`.
async fn lock_stock(
    conn: &mut AnyConnection,
    backend: Backend,
    variants: &BTreeSet<VariantId>,
) -> StoreResult<Vec<StockRow>> {
    let tail = format!("{IN_LOCK_ORDER}{}", row_lock(backend, FOR_UPDATE));
    let mut stock = Vec::new();
    let list: Vec<_> = variants.iter().collect();
    for chunk in list.chunks(IN_LIST_MAX) {
        let sql = in_list(SELECT_STOCK_OF_VARIANTS, 1, chunk.len(), &tail);
        let mut q = sqlx::query_as::<_, LevelRow>(sql);
        for v in chunk {
            q = q.bind(v.to_string());
        }
        for row in q.fetch_all(&mut *conn).await? {
            stock.push(StockRow::try_from(row)?);
        }
    }
    Ok(stock)
}

/// A `holds` row of one of the batch's sessions.
#[derive(sqlx::FromRow)]
struct SessionHoldRow {
    id: String,
    session_id: String,
    variant_id: String,
    location_id: String,
    quantity: i64,
}

impl TryFrom<SessionHoldRow> for ExistingHold {
    type Error = StoreError;

    fn try_from(row: SessionHoldRow) -> StoreResult<Self> {
        Ok(ExistingHold {
            id: parse_id(&row.id)?,
            session: parse_id(&row.session_id)?,
            variant: parse_id(&row.variant_id)?,
            location: parse_id(&row.location_id)?,
            quantity: row.quantity,
        })
    }
}

/// Followed by the `IN` list of sessions.
const SELECT_HOLDS_OF_SESSIONS: &str = r"
SELECT id, session_id, variant_id, location_id, quantity
  FROM holds
 WHERE session_id IN";

/// The holds the batch's sessions already have on the batch's variants.
async fn existing_holds(
    conn: &mut AnyConnection,
    sessions: &BTreeSet<String>,
    variants: &BTreeSet<VariantId>,
) -> StoreResult<Vec<ExistingHold>> {
    let mut out = Vec::new();
    let list: Vec<_> = sessions.iter().collect();
    for chunk in list.chunks(IN_LIST_MAX) {
        let sql = in_list(SELECT_HOLDS_OF_SESSIONS, 1, chunk.len(), "");
        let mut q = sqlx::query_as::<_, SessionHoldRow>(sql);
        for s in chunk {
            q = q.bind(s.to_string());
        }
        for row in q.fetch_all(&mut *conn).await? {
            let hold = ExistingHold::try_from(row)?;
            if variants.contains(&hold.variant) {
                out.push(hold);
            }
        }
    }
    Ok(out)
}

/// Followed by the `IN` list of hold ids.
const DELETE_HOLDS: &str = r"
DELETE FROM holds
 WHERE id IN";

/// Deletes the holds the plan releases, [`IN_LIST_MAX`] per statement.
fn delete_holds(script: &mut Script, release: &[HoldId]) {
    for chunk in release.chunks(IN_LIST_MAX) {
        let mut delete = Statement::new(in_list(DELETE_HOLDS, 1, chunk.len(), "").0);
        for id in chunk {
            delete = delete.bind(id.to_string());
        }
        script.push(delete);
    }
}

/// Sets each listed hold's expiry: `CASE id WHEN $1 THEN $2 …` with the ids
/// again in the `IN` list (see [`case_by_id`]).
const RENEW_HOLDS: &str = r"
UPDATE holds
   SET expires_at_ms = CASE id";

/// Gives the plan's renewed holds the expiry of the request that took them
/// again, one statement per [`IN_LIST_MAX`] / 2 holds. Returns each
/// statement's index in the script and how many holds it must update.
fn renew_holds(
    script: &mut Script,
    renew: &[RenewedHold],
    terms: &BTreeMap<(SessionId, VariantId), (MerchantId, i64)>,
) -> Vec<(usize, u64)> {
    let mut statements = Vec::new();
    for chunk in renew.chunks(IN_LIST_MAX / 2) {
        let mut update = Statement::new(case_by_id(RENEW_HOLDS, chunk.len()).0);
        for r in chunk {
            let (_, expires_at_ms) = terms[&(r.session, r.variant)];
            update = update.bind(r.id.to_string()).bind(expires_at_ms);
        }
        statements.push((script.push(update), chunk.len() as u64));
    }
    statements
}

/// Every hold [`renew_holds`] names was updated.
fn check_renewed(done: &[Outcome], renewed: &[(usize, u64)]) -> StoreResult<()> {
    if renewed.iter().any(|(i, n)| done[*i].rows_affected != *n) {
        return Err(StoreError::Constraint(
            "a hold the batch renews is gone (the stock locks forbid it)".into(),
        ));
    }
    Ok(())
}

/// Followed by one `VALUES` row of 8 placeholders per hold.
const INSERT_HOLDS: &str = r"
INSERT INTO holds (id, merchant_id, session_id, variant_id, location_id, quantity,
                   expires_at_ms, created_at_ms)";

/// Inserts the plan's new holds, [`INSERT_ROWS_MAX`] per statement.
fn insert_holds(
    script: &mut Script,
    create: &[NewHold],
    terms: &BTreeMap<(SessionId, VariantId), (MerchantId, i64)>,
    now_ms: i64,
) {
    for chunk in create.chunks(INSERT_ROWS_MAX) {
        let mut insert = Statement::new(values_rows(INSERT_HOLDS, 8, chunk.len()).0);
        for h in chunk {
            let (merchant, expires_at_ms) = terms[&(h.session, h.variant)];
            insert = insert
                .bind(HoldId::new().to_string())
                .bind(merchant.to_string())
                .bind(h.session.to_string())
                .bind(h.variant.to_string())
                .bind(h.location.to_string())
                .bind(h.quantity)
                .bind(expires_at_ms)
                .bind(now_ms);
        }
        script.push(insert);
    }
}

/// `$1`, `$4` and `$5` are the same net change of `held` (negative after releases).
const APPLY_HELD_DELTA: &str = r"
UPDATE stock_levels
   SET held = held + $1
 WHERE variant_id = $2
   AND location_id = $3
   AND held + $4 >= 0
   AND on_hand - held - committed - $5 >= 0";

/// A planned net change of `held` on one stock row, and its statement's index.
struct HeldDelta {
    statement: usize,
    variant: VariantId,
    location: LocationId,
    delta: i64,
}

/// Writes the plan's net change of `held` per stock row.
fn apply_held_delta(
    script: &mut Script,
    held_delta: &BTreeMap<(VariantId, LocationId), i64>,
) -> Vec<HeldDelta> {
    held_delta
        .iter()
        .map(|((variant, location), delta)| HeldDelta {
            statement: script.push(
                Statement::new(APPLY_HELD_DELTA)
                    .bind(*delta)
                    .bind(variant.to_string())
                    .bind(location.to_string())
                    .bind(*delta)
                    .bind(*delta),
            ),
            variant: *variant,
            location: *location,
            delta: *delta,
        })
        .collect()
}

/// Every change of [`apply_held_delta`] fit its row; one that did not (stock
/// changed under the locks, which cannot happen) fails the whole batch.
fn check_held_delta(done: &[Outcome], deltas: &[HeldDelta]) -> StoreResult<()> {
    for d in deltas {
        if done[d.statement].rows_affected != 1 {
            return Err(StoreError::Constraint(format!(
                "planned hold change {} does not fit stock of {} at {}",
                d.delta, d.variant, d.location
            )));
        }
    }
    Ok(())
}
