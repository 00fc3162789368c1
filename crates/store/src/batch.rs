//! Group-committed stock holds: many hold requests, one transaction.
//!
//! The inventory engine (in the server) collects concurrent hold requests per
//! shard and hands them here. One transaction reads and locks the stock rows of
//! the batch's variants, lets the pure planner (`anycart_core::inventory::plan_batch`)
//! serve the requests strictly in order, writes the net result with a handful of
//! statements, and commits once. A hold is acknowledged only after that commit.
//! Called with a single request, this is exactly the naive "one transaction per
//! request locking the hot row" path, which the benchmark uses as its baseline.

use crate::{Backend, Store, StoreError, StoreResult, parse_id};
use anycart_core::inventory::{BatchOutcome, ExistingHold, HoldRequest, plan_batch};
use anycart_core::{HoldId, LocationId, MerchantId, VariantId};
use sqlx::{AnyConnection, Row};
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
}

/// The outcome of a batch: one outcome per item, and the free stock per variant
/// after the commit (for live availability).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchResult {
    pub outcomes: Vec<BatchOutcome>,
    pub available_after: BTreeMap<VariantId, i64>,
}

fn placeholders(start: usize, count: usize) -> String {
    (start..start + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

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
            let sql = format!(
                "SELECT variant_id, on_hand - held - committed AS available FROM stock_levels WHERE variant_id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for v in chunk {
                q = q.bind(v.to_string());
            }
            for r in q.fetch_all(&self.read).await? {
                let v: VariantId = parse_id(&r.try_get::<String, _>("variant_id")?)?;
                *out.entry(v).or_insert(0) += r.try_get::<i64, _>("available")?.max(0);
            }
        }
        Ok(out)
    }
}

/// Reads (and on PostgreSQL locks, in a fixed order) the stock rows of `variants`.
async fn lock_levels(
    conn: &mut AnyConnection,
    backend: Backend,
    variants: &BTreeSet<VariantId>,
    owner: &BTreeMap<VariantId, MerchantId>,
) -> StoreResult<Vec<(VariantId, LocationId, i64)>> {
    let mut levels = Vec::new();
    let list: Vec<_> = variants.iter().collect();
    for chunk in list.chunks(IN_LIST_MAX) {
        let lock = if backend == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let sql = format!(
            "SELECT variant_id, location_id, merchant_id, on_hand - held - committed AS available FROM stock_levels WHERE variant_id IN ({}) ORDER BY variant_id, location_id{lock}",
            placeholders(1, chunk.len())
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for v in chunk {
            q = q.bind(v.to_string());
        }
        for r in q.fetch_all(&mut *conn).await? {
            let variant: VariantId = parse_id(&r.try_get::<String, _>("variant_id")?)?;
            let merchant: MerchantId = parse_id(&r.try_get::<String, _>("merchant_id")?)?;
            if owner.get(&variant) == Some(&merchant) {
                levels.push((
                    variant,
                    parse_id(&r.try_get::<String, _>("location_id")?)?,
                    r.try_get("available")?,
                ));
            }
        }
    }
    Ok(levels)
}

/// The holds the batch's sessions already have on the batch's variants.
async fn existing_holds(
    conn: &mut AnyConnection,
    sessions: &BTreeSet<String>,
    variants: &BTreeSet<VariantId>,
) -> StoreResult<Vec<ExistingHold>> {
    let mut out = Vec::new();
    let list: Vec<_> = sessions.iter().collect();
    for chunk in list.chunks(IN_LIST_MAX) {
        let sql = format!(
            "SELECT id, session_id, variant_id, location_id, quantity FROM holds WHERE session_id IN ({})",
            placeholders(1, chunk.len())
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for s in chunk {
            q = q.bind(s.to_string());
        }
        for r in q.fetch_all(&mut *conn).await? {
            let hold = ExistingHold {
                id: parse_id(&r.try_get::<String, _>("id")?)?,
                session: parse_id(&r.try_get::<String, _>("session_id")?)?,
                variant: parse_id(&r.try_get::<String, _>("variant_id")?)?,
                location: parse_id(&r.try_get::<String, _>("location_id")?)?,
                quantity: r.try_get("quantity")?,
            };
            if variants.contains(&hold.variant) {
                out.push(hold);
            }
        }
    }
    Ok(out)
}

/// The body of [`Store::apply_hold_batch`], on the connection the write runs on.
async fn apply_hold_batch_tx(
    conn: &mut AnyConnection,
    backend: Backend,
    items: &[BatchItem],
    now_ms: i64,
) -> StoreResult<BatchResult> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let variants: BTreeSet<VariantId> = items.iter().map(|i| i.request.variant).collect();
    let owner: BTreeMap<VariantId, MerchantId> = items
        .iter()
        .map(|i| (i.request.variant, i.merchant))
        .collect();
    let levels = lock_levels(&mut tx, backend, &variants, &owner).await?;
    let sessions: BTreeSet<String> = items
        .iter()
        .map(|i| i.request.session.to_string())
        .collect();
    let existing = existing_holds(&mut tx, &sessions, &variants).await?;
    // A request naming another merchant's variant sees no stock at all.
    let requests: Vec<HoldRequest> = items
        .iter()
        .map(|i| {
            if owner.get(&i.request.variant) == Some(&i.merchant) {
                i.request
            } else {
                HoldRequest {
                    quantity: 0,
                    ..i.request
                }
            }
        })
        .collect();
    let plan = plan_batch(&levels, &existing, &requests);

    for chunk in plan.release.chunks(IN_LIST_MAX) {
        let sql = format!(
            "DELETE FROM holds WHERE id IN ({})",
            placeholders(1, chunk.len())
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id.to_string());
        }
        q.execute(&mut *tx).await?;
    }
    let expiry: BTreeMap<_, _> = items
        .iter()
        .map(|i| {
            (
                (i.request.session, i.request.variant),
                (i.merchant, i.expires_at_ms),
            )
        })
        .collect();
    for chunk in plan.create.chunks(INSERT_ROWS_MAX) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|r| format!("({})", placeholders(r * 8 + 1, 8)))
            .collect();
        let sql = format!(
            "INSERT INTO holds (id, merchant_id, session_id, variant_id, location_id, quantity, expires_at_ms, created_at_ms) VALUES {}",
            rows.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for h in chunk {
            let (merchant, expires_at_ms) = expiry[&(h.session, h.variant)];
            q = q
                .bind(HoldId::new().to_string())
                .bind(merchant.to_string())
                .bind(h.session.to_string())
                .bind(h.variant.to_string())
                .bind(h.location.to_string())
                .bind(h.quantity)
                .bind(expires_at_ms)
                .bind(now_ms);
        }
        q.execute(&mut *tx).await?;
    }
    for ((variant, location), delta) in &plan.held_delta {
        let done = sqlx::query("UPDATE stock_levels SET held = held + $1 WHERE variant_id = $2 AND location_id = $3 AND held + $4 >= 0 AND on_hand - held - committed - $5 >= 0")
            .bind(*delta)
            .bind(variant.to_string())
            .bind(location.to_string())
            .bind(*delta)
            .bind(*delta)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Constraint(format!(
                "planned hold change {delta} does not fit stock of {variant} at {location}"
            )));
        }
    }
    tx.commit().await?;

    let mut available_after: BTreeMap<VariantId, i64> = BTreeMap::new();
    for (variant, location, free) in &levels {
        let delta = plan
            .held_delta
            .get(&(*variant, *location))
            .copied()
            .unwrap_or(0);
        *available_after.entry(*variant).or_insert(0) += free - delta;
    }
    Ok(BatchResult {
        outcomes: plan.outcomes,
        available_after,
    })
}
