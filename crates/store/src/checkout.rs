//! Checkout sessions: every change to a session and its holds is one transaction,
//! guarded by an optimistic `version` so two concurrent updates cannot both win.

mod buyers;
mod holds;

use crate::inventory;
pub use crate::inventory::HoldOutcome;
use crate::script::{Outcome, Script, Statement};
use crate::{Backend, Store, StoreError, StoreResult};
use anycart_core::order::Order;
use anycart_core::session::{CheckoutSession, CheckoutStatus};
use anycart_core::{DiscountId, MerchantId, SessionId, VariantId};
use sqlx::{AnyConnection, Row};
use std::collections::BTreeMap;

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

/// What completing a checkout wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct CompletedCheckout {
    /// The order as stored (with its number).
    pub order: Order,
    /// The session's "remember me" opt-in, used up in the order's transaction
    /// (see [`Store::take_shopper_optin`]): taken there rather than in a write
    /// of its own after the order, which on SQLite was one more commit (and
    /// fsync) per checkout outside the group commit.
    pub optin: Option<Option<String>>,
}

/// A `checkout_sessions` row as a read returns it.
#[derive(sqlx::FromRow)]
struct SessionRow {
    doc: String,
    version: i64,
}

const SELECT_SESSION_BY_ID: &str = r"
SELECT doc, version
  FROM checkout_sessions
 WHERE id = $1 AND merchant_id = $2";

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
        let (merchant, session, expected) = (write.merchant, write.session, write.expected_version);
        let written = self
            .write_tx(move |conn| Box::pin(write_session_tx(conn, backend, write, now_ms, build)))
            .await;
        self.conflict_if_stale(written, merchant, session, expected)
            .await
    }

    /// A write at `expected` version that failed is a [`StoreError::VersionConflict`]
    /// when the session has moved on since: a stale writer is told so, not
    /// what its stale data ran into. The version is checked only here, after a
    /// failure (the write's own compare-and-swap guards success), so a write
    /// that succeeds reads it no more.
    async fn conflict_if_stale<T>(
        &self,
        written: StoreResult<T>,
        merchant: MerchantId,
        session: SessionId,
        expected: Option<i64>,
    ) -> StoreResult<T> {
        match (written, expected) {
            (Err(e), Some(expected)) if !matches!(e, StoreError::VersionConflict) => {
                let current = session_version(&self.read, merchant, session).await?;
                if current.is_some_and(|v| v != expected) {
                    Err(StoreError::VersionConflict)
                } else {
                    Err(e)
                }
            }
            (written, _) => written,
        }
    }

    /// A session and its version, if it belongs to `merchant`.
    pub async fn get_session(
        &self,
        merchant: MerchantId,
        id: SessionId,
    ) -> StoreResult<Option<(CheckoutSession, i64)>> {
        sqlx::query_as::<_, SessionRow>(SELECT_SESSION_BY_ID)
            .bind(id.to_string())
            .bind(merchant.to_string())
            .fetch_optional(&self.read)
            .await?
            .map(|row| Ok((serde_json::from_str(&row.doc)?, row.version)))
            .transpose()
    }

    /// Completes a paid checkout in one transaction: checks the session still holds
    /// exactly `demand`, commits those holds, counts discount redemptions, numbers
    /// and writes the order with its `order.created` outbox row (the platform push),
    /// stores the completed session and takes the session's "remember me" opt-in.
    /// Returns the order as stored (with its number) and the opt-in. On any
    /// error (e.g. [`StoreError::Constraint`] when the holds no longer cover the
    /// order, [`StoreError::BuyerLimit`], [`StoreError::DiscountUsedUp`]) nothing
    /// is written and the caller must void the payment.
    pub async fn complete_checkout(
        &self,
        session: &CheckoutSession,
        expected_version: i64,
        demand: &BTreeMap<VariantId, i64>,
        order: Order,
        access_token: &str,
        redeemed: &[DiscountId],
    ) -> StoreResult<CompletedCheckout> {
        assert_eq!(session.status, CheckoutStatus::Completed);
        assert_eq!(Some(order.id), session.order_id);
        let completion = Completion {
            session: session.clone(),
            expected_version,
            demand: demand.clone(),
            order,
            access_token: access_token.to_string(),
            redeemed: redeemed.to_vec(),
        };
        let backend = self.backend;
        let written = self
            .write_tx(move |conn| {
                Box::pin(async move { complete_checkout_tx(conn, backend, completion).await })
            })
            .await;
        self.conflict_if_stale(
            written,
            session.merchant_id,
            session.id,
            Some(expected_version),
        )
        .await
    }
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
    if write.holds == HoldChange::Keep {
        // The session's row alone (the engine holds its stock): one statement,
        // atomic without a transaction (on PostgreSQL one round trip, not three).
        let session = match build(&BTreeMap::new()) {
            Ok(s) => s,
            Err(e) => return refused(conn, &write, e).await,
        };
        let version = store_session(conn, &write, &session).await?;
        return Ok(Ok((session, version)));
    }
    // No version read first: the session's compare-and-swap at the end refuses
    // a stale writer, and rolls back whatever it did to stock.
    let mut tx = sqlx::Connection::begin(conn).await?;
    let outcomes = apply_hold_change(&mut tx, backend, &write, now_ms).await?;
    let session = match build(&outcomes) {
        Ok(s) => s,
        // Dropping `tx` rolls back.
        Err(e) => return refused(&mut tx, &write, e).await,
    };
    let version = store_session(&mut tx, &write, &session).await?;
    tx.commit().await?;
    Ok(Ok((session, version)))
}

/// A write whose `build` refused: a stale writer's refusal is a conflict, not
/// an answer computed from stale data (no database error was raised, so the
/// connection can still read).
async fn refused<T, E>(
    conn: &mut AnyConnection,
    write: &SessionWrite,
    e: E,
) -> StoreResult<Result<T, E>> {
    if let Some(expected) = write.expected_version
        && current_version(conn, write.merchant, write.session).await? != expected
    {
        return Err(StoreError::VersionConflict);
    }
    Ok(Err(e))
}

/// Inserts the session (`write` without an expected version) or swaps it in
/// at the expected version; its new version.
async fn store_session(
    conn: &mut AnyConnection,
    write: &SessionWrite,
    session: &CheckoutSession,
) -> StoreResult<i64> {
    assert_eq!(
        session.id, write.session,
        "build must return the session being written"
    );
    match write.expected_version {
        None => {
            insert_session(conn, session).await?;
            Ok(1)
        }
        Some(expected) => update_session(conn, session, expected).await,
    }
}

/// Releases and takes holds as `write.holds` says; what each variant got.
async fn apply_hold_change(
    conn: &mut AnyConnection,
    backend: Backend,
    write: &SessionWrite,
    now_ms: i64,
) -> StoreResult<BTreeMap<VariantId, HoldOutcome>> {
    match &write.holds {
        HoldChange::Keep => Ok(BTreeMap::new()),
        HoldChange::Replace {
            demand,
            expires_at_ms,
        } => {
            inventory::release_session_holds(conn, write.session).await?;
            let terms = inventory::HoldTerms {
                merchant: write.merchant,
                session: write.session,
                expires_at_ms: *expires_at_ms,
                now_ms,
            };
            inventory::take_holds(conn, backend, terms, demand).await
        }
        HoldChange::ReleaseAll => {
            inventory::release_session_holds(conn, write.session).await?;
            Ok(BTreeMap::new())
        }
    }
}

/// What [`Store::complete_checkout`] writes, owned so the write job can carry it.
struct Completion {
    session: CheckoutSession,
    expected_version: i64,
    demand: BTreeMap<VariantId, i64>,
    order: Order,
    access_token: String,
    redeemed: Vec<DiscountId>,
}

/// The body of [`Store::complete_checkout`], on the connection the write runs on.
///
/// Its statements go in as few scripts as the engine allows (on SQLite a
/// script is one hand-off to the connection's thread instead of one per
/// statement, see [`crate::script`]). On SQLite all of them are one script:
/// the session's stock is sold in one statement and the order number is taken
/// in SQL where the order needs it. On PostgreSQL the holds are taken out
/// first (the stock rows are then updated one by one in the lock order), then
/// the stock, the discount codes, the payment journal and the order number go
/// together, then the order and everything written with it as one statement
/// (a data-modifying `WITH`). The outcomes are
/// checked in the order the statements ran, so the first rule broken is the
/// error reported; any error rolls the whole transaction back.
async fn complete_checkout_tx(
    conn: &mut AnyConnection,
    backend: Backend,
    completion: Completion,
) -> StoreResult<CompletedCheckout> {
    let merchant = completion.session.merchant_id;
    let session_id = completion.session.id;
    // The session's compare-and-swap is the version check: a stale
    // completion fails there and everything before it rolls back (see
    // `Store::conflict_if_stale` for how its error is reported).
    let mut tx = sqlx::Connection::begin(conn).await?;
    buyers::check_buyer_limits(&mut tx, &completion.order).await?;
    // The agent platform's order webhook, if the order came through one that
    // takes them (read now, written with the order).
    let mut webhook = crate::agent_events::order_webhook(
        &mut tx,
        &completion.order,
        crate::AgentOrderEvent::OrderCreate,
        completion.order.created_at_ms,
    )
    .await?;

    let mut script = Script::new(backend);
    let stock = match backend {
        Backend::Sqlite => Stock::Together {
            updated: script.push(inventory::commit_session_stock(session_id)),
            deleted: script.push(inventory::delete_session_holds(session_id)),
        },
        Backend::Postgres => {
            let holds = inventory::take_session_holds(&mut tx, session_id).await?;
            let first = script.len();
            for hold in &holds {
                script.push(inventory::commit_held_stock(hold));
            }
            Stock::PerHold { holds, first }
        }
    };
    let codes: Vec<usize> = completion
        .redeemed
        .iter()
        .map(|id| script.push(count_redemption(merchant, *id)))
        .collect();
    let attempt = crate::payments::AttemptKey {
        merchant,
        session: session_id,
        attempt: completion.session.payment_attempt,
    };
    let settle = script.push(crate::payments::settle_ordered(
        &attempt,
        &completion.order.payment,
        completion.order.created_at_ms,
    ));
    let number = script.push(Statement::new(NEXT_ORDER_NUMBER).bind(merchant.to_string()));
    let numbered_in_sql = backend == Backend::Sqlite;
    let written = if numbered_in_sql {
        Some(push_order(&mut script, &completion, webhook.take(), true)?)
    } else {
        None
    };
    let done = script.run(&mut tx).await?;

    let sold = match &stock {
        Stock::Together { updated, deleted } => {
            inventory::sold_together(&done[*updated], &done[*deleted])?
        }
        Stock::PerHold { holds, first } => {
            inventory::committed_units(holds, &done[*first..*first + holds.len()])?
        }
    };
    if sold != completion.demand {
        return Err(StoreError::Constraint(
            "session holds do not cover the order".into(),
        ));
    }
    for (id, i) in completion.redeemed.iter().zip(&codes) {
        if done[*i].rows_affected == 0 {
            return Err(StoreError::DiscountUsedUp(id.to_string()));
        }
    }
    crate::payments::check_settled_ordered(&mut tx, &attempt, &done[settle]).await?;
    let mut completion = completion;
    completion.order.number = single_value(&done[number])?;

    let (swapped, optin) = match written {
        Some(written) => (
            done[written.swapped].rows_affected,
            crate::shoppers::optin_taken(&done[written.optin])?,
        ),
        None => {
            // PostgreSQL: the order's writes touch no row another transaction
            // locks in another order, so they go as one statement.
            let mut script = Script::new(backend);
            let written = push_order(&mut script, &completion, webhook, false)?;
            let select = format!(
                "SELECT (SELECT count(*) FROM q{s}), (SELECT count(*) FROM q{o}), \
                        (SELECT token_hash FROM q{o})",
                s = written.swapped,
                o = written.optin
            );
            let done = script.into_with_clause(&select).run(&mut tx).await?;
            let row = done
                .rows
                .first()
                .ok_or_else(|| StoreError::Corrupt("the order's writes returned no row".into()))?;
            let swapped: i64 = row.try_get(0)?;
            let opted_in: i64 = row.try_get(1)?;
            let token_hash: Option<String> = row.try_get(2)?;
            (
                u64::try_from(swapped).unwrap_or(0),
                (opted_in > 0).then_some(token_hash),
            )
        }
    };
    if swapped != 1 {
        return Err(StoreError::VersionConflict);
    }
    tx.commit().await?;
    Ok(CompletedCheckout {
        order: completion.order,
        optin,
    })
}

/// How an order's stock is sold (see [`complete_checkout_tx`]).
enum Stock {
    /// SQLite: one UPDATE for all the session's holds, then their DELETE.
    Together { updated: usize, deleted: usize },
    /// PostgreSQL: the holds taken out, then one UPDATE each from `first` on.
    PerHold {
        holds: Vec<inventory::Hold>,
        first: usize,
    },
}

/// Where the statements [`push_order`] added are.
struct OrderWrites {
    /// The session's compare-and-swap.
    swapped: usize,
    /// The "remember me" opt-in's DELETE … RETURNING.
    optin: usize,
}

/// Adds the order and what is written with it: its payment row, its
/// `order.created` outbox row (the platform push, so neither exists without
/// the other), the agent platform's webhook, the session's compare-and-swap
/// and the opt-in. `numbered_in_sql`: the same script takes the order number
/// (SQLite), so the order and its outbox payload get it in SQL.
fn push_order(
    script: &mut Script,
    completion: &Completion,
    webhook: Option<Statement>,
    numbered_in_sql: bool,
) -> StoreResult<OrderWrites> {
    let Completion {
        session,
        expected_version,
        order,
        access_token,
        ..
    } = completion;
    if numbered_in_sql {
        script.push(insert_order(INSERT_ORDER_NUMBERED, order, access_token)?);
    } else {
        script.push(insert_order(INSERT_ORDER, order, access_token)?);
    }
    script.push(crate::refunds::order_payment_insert(
        &crate::refunds::OrderPayment::of_order(order),
    ));
    script.push(if numbered_in_sql {
        crate::outbox::order_created_numbered(order)?
    } else {
        crate::outbox::order_created(order)?
    });
    if let Some(webhook) = webhook {
        script.push(webhook);
    }
    Ok(OrderWrites {
        swapped: script.push(update_session_statement(session, *expected_version)?),
        optin: script.push(crate::shoppers::take_optin_statement(
            session.merchant_id,
            session.id,
        )),
    })
}

/// The one value of the one row a statement returned.
fn single_value(done: &Outcome) -> StoreResult<i64> {
    let row = done
        .rows
        .first()
        .ok_or_else(|| StoreError::Corrupt("a statement returned no row".into()))?;
    Ok(row.try_get(0)?)
}

/// Counts one use, only while the code has one left: concurrent orders cannot
/// take a code past its limit, whatever count they were priced with. A code
/// used up updates nothing, which refuses the order
/// ([`StoreError::DiscountUsedUp`]).
const COUNT_DISCOUNT_REDEMPTION: &str = r"
UPDATE discounts
   SET times_redeemed = times_redeemed + 1
 WHERE id = $1 AND merchant_id = $2
   AND (max_redemptions IS NULL OR times_redeemed < max_redemptions)";

fn count_redemption(merchant: MerchantId, id: DiscountId) -> Statement {
    Statement::new(COUNT_DISCOUNT_REDEMPTION)
        .bind(id.to_string())
        .bind(merchant.to_string())
}

/// The update locks the merchant row until commit: numbers are unique and increasing.
const NEXT_ORDER_NUMBER: &str = r"
UPDATE merchants
   SET order_seq = order_seq + 1
 WHERE id = $1
RETURNING order_seq";

const INSERT_ORDER: &str = r"
INSERT INTO orders (id, merchant_id, session_id, number, access_token, total_minor, doc,
                    created_at_ms, buyer_key)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// [`INSERT_ORDER`] in the SQLite script that takes the order number: the row
/// and its document get the merchant's number just taken, not `$4` (SQLite
/// binds by name, so the unused argument is no error).
const INSERT_ORDER_NUMBERED: &str = r"
INSERT INTO orders (id, merchant_id, session_id, number, access_token, total_minor, doc,
                    created_at_ms, buyer_key)
SELECT $1, $2, $3, order_seq, $5, $6, json_set($7, '$.number', order_seq), $8, $9
  FROM merchants
 WHERE id = $2";

fn insert_order(sql: &'static str, order: &Order, access_token: &str) -> StoreResult<Statement> {
    Ok(Statement::new(sql)
        .bind(order.id.to_string())
        .bind(order.merchant_id.to_string())
        .bind(order.session_id.to_string())
        .bind(order.number)
        .bind(access_token)
        .bind(order.totals.total_minor)
        .bind(serde_json::to_string(order)?)
        .bind(order.created_at_ms)
        .bind(order.email.as_ref().map(|e| e.buyer_key())))
}

const SELECT_SESSION_VERSION: &str = r"
SELECT version
  FROM checkout_sessions
 WHERE id = $1 AND merchant_id = $2";

async fn current_version(
    conn: &mut AnyConnection,
    merchant: MerchantId,
    id: SessionId,
) -> StoreResult<i64> {
    session_version(conn, merchant, id)
        .await?
        .ok_or(StoreError::NotFound)
}

/// The session's version, if it belongs to `merchant` (on a connection or a pool).
async fn session_version<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    merchant: MerchantId,
    id: SessionId,
) -> StoreResult<Option<i64>> {
    Ok(sqlx::query_scalar(SELECT_SESSION_VERSION)
        .bind(id.to_string())
        .bind(merchant.to_string())
        .fetch_optional(executor)
        .await?)
}

const INSERT_SESSION: &str = r"
INSERT INTO checkout_sessions (id, merchant_id, status, expires_at_ms, version, doc,
                               created_at_ms, updated_at_ms, buyer_key)
VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8)";

async fn insert_session(conn: &mut AnyConnection, s: &CheckoutSession) -> StoreResult<()> {
    sqlx::query(INSERT_SESSION)
        .bind(s.id.to_string())
        .bind(s.merchant_id.to_string())
        .bind(s.status.as_str())
        .bind(s.expires_at_ms)
        .bind(serde_json::to_string(s)?)
        .bind(s.created_at_ms)
        .bind(s.updated_at_ms)
        .bind(s.buyer_key())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Compare-and-swap on `version`: a writer that read an older version changes nothing.
const UPDATE_SESSION_AT_VERSION: &str = r"
UPDATE checkout_sessions
   SET status = $1,
       expires_at_ms = $2,
       doc = $3,
       updated_at_ms = $4,
       version = version + 1,
       buyer_key = $5
 WHERE id = $6 AND merchant_id = $7 AND version = $8";

async fn update_session(
    conn: &mut AnyConnection,
    s: &CheckoutSession,
    expected: i64,
) -> StoreResult<i64> {
    let done = update_session_statement(s, expected)?.run(conn).await?;
    if done.rows_affected != 1 {
        return Err(StoreError::VersionConflict);
    }
    Ok(expected + 1)
}

/// The compare-and-swap of `s` from version `expected`: it updates one row, or
/// none when someone else wrote the session first.
fn update_session_statement(s: &CheckoutSession, expected: i64) -> StoreResult<Statement> {
    Ok(Statement::new(UPDATE_SESSION_AT_VERSION)
        .bind(s.status.as_str())
        .bind(s.expires_at_ms)
        .bind(serde_json::to_string(s)?)
        .bind(s.updated_at_ms)
        .bind(s.buyer_key())
        .bind(s.id.to_string())
        .bind(s.merchant_id.to_string())
        .bind(expected))
}
