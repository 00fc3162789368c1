//! ACP idempotency records: `(merchant, endpoint, key)` → the first response.
//!
//! A request first claims its key (`in_flight`, with a lock deadline); when it ends
//! with a status below 500 the response is stored (`done`), otherwise the claim is
//! dropped so a retry runs afresh (ACP §6.5). The running request renews its lock
//! while it works ([`Store::idempotency_renew`]), so the lock can be short: a claim
//! whose deadline passed (the node died mid-request) is taken over by a retry
//! within seconds.

use crate::{Store, StoreResult};
use anycart_core::MerchantId;
use sqlx::AnyConnection;

/// Keys are kept at least this long (ACP §6.6 asks for 24 h; we keep 48 h).
pub const IDEMPOTENCY_RETENTION_MS: i64 = 48 * 60 * 60 * 1000;
// ACP: keys must be kept at least 24 hours.
const _: () = assert!(IDEMPOTENCY_RETENTION_MS >= 24 * 60 * 60 * 1000);

/// Which request a key belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyScope {
    pub merchant: MerchantId,
    /// Method and concrete path, e.g. `POST /checkout_sessions/cs_…/complete`.
    pub endpoint: String,
    pub key: String,
}

/// What to do with an incoming request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// First time (or a takeover): run it, then `finish` or `abandon`.
    Proceed,
    /// Seen with the same body: send this stored response again.
    Replay { status: u16, body: String },
    /// Seen with a different body (422 `idempotency_conflict`).
    Conflict,
    /// The first request is still running (409 `idempotency_in_flight`).
    InFlight { retry_after_ms: i64 },
}

const UPDATE_IDEMPOTENCY_DONE: &str = r"
UPDATE idempotency_keys
   SET state = 'done', status_code = $1, response_body = $2
 WHERE merchant_id = $3 AND scope = $4 AND idem_key = $5";

/// Only an unfinished claim: a stored response is never dropped by a late 5xx.
const DELETE_IDEMPOTENCY_CLAIM: &str = r"
DELETE FROM idempotency_keys
 WHERE merchant_id = $1 AND scope = $2 AND idem_key = $3 AND state = 'in_flight'";

/// Only a claim still running: a finished record keeps its deadline.
const RENEW_IDEMPOTENCY_CLAIM: &str = r"
UPDATE idempotency_keys
   SET locked_until_ms = $1
 WHERE merchant_id = $2 AND scope = $3 AND idem_key = $4 AND state = 'in_flight'";

const DELETE_IDEMPOTENCY_CREATED_BEFORE: &str = r"
DELETE FROM idempotency_keys
 WHERE created_at_ms < $1";

impl Store {
    /// Claims a key, or says why not.
    pub async fn idempotency_begin(
        &self,
        scope: &IdempotencyScope,
        request_hash: &str,
        now_ms: i64,
        lock_ms: i64,
    ) -> StoreResult<IdempotencyBegin> {
        let (scope, request_hash) = (scope.clone(), request_hash.to_string());
        self.write_tx(move |conn| {
            Box::pin(async move { begin_tx(conn, &scope, &request_hash, now_ms, lock_ms).await })
        })
        .await
    }

    /// Stores the response of a claimed key (only for statuses below 500).
    pub async fn idempotency_finish(
        &self,
        scope: &IdempotencyScope,
        status: u16,
        body: &str,
    ) -> StoreResult<()> {
        debug_assert!(status < 500, "5xx responses are never stored");
        let (scope, body) = (scope.clone(), body.to_string());
        self.write_tx(move |conn| {
            Box::pin(async move {
                sqlx::query(UPDATE_IDEMPOTENCY_DONE)
                    .bind(i64::from(status))
                    .bind(body)
                    .bind(scope.merchant.to_string())
                    .bind(scope.endpoint)
                    .bind(scope.key)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// Extends a running claim's lock to `now_ms + lock_ms` (the request is alive).
    /// False when there is no running claim any more.
    pub async fn idempotency_renew(
        &self,
        scope: &IdempotencyScope,
        now_ms: i64,
        lock_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(RENEW_IDEMPOTENCY_CLAIM)
            .bind(now_ms + lock_ms)
            .bind(scope.merchant.to_string())
            .bind(scope.endpoint.clone())
            .bind(scope.key.clone())
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Drops a claim so a retry runs as a fresh request (after a 5xx).
    pub async fn idempotency_abandon(&self, scope: &IdempotencyScope) -> StoreResult<()> {
        let scope = scope.clone();
        self.write_tx(move |conn| {
            Box::pin(async move {
                sqlx::query(DELETE_IDEMPOTENCY_CLAIM)
                    .bind(scope.merchant.to_string())
                    .bind(scope.endpoint)
                    .bind(scope.key)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// Deletes records older than the retention window. Returns how many.
    pub async fn purge_idempotency(&self, now_ms: i64) -> StoreResult<u64> {
        self.purge_idempotency_before(now_ms - IDEMPOTENCY_RETENTION_MS)
            .await
    }

    /// Deletes records created before `cutoff_ms`. Returns how many.
    pub async fn purge_idempotency_before(&self, cutoff_ms: i64) -> StoreResult<u64> {
        Ok(sqlx::query(DELETE_IDEMPOTENCY_CREATED_BEFORE)
            .bind(cutoff_ms)
            .execute(&self.write)
            .await?
            .rows_affected())
    }
}

/// The body of [`Store::idempotency_begin`], on the connection the write runs on.
///
/// The common case, a key nobody holds, is one statement: the claim's
/// `INSERT … ON CONFLICT DO NOTHING` is atomic on its own, so it runs without
/// a transaction around it (on PostgreSQL one round trip instead of three).
/// Only a key already on record needs the read and the takeover to be one
/// transaction.
async fn begin_tx(
    conn: &mut AnyConnection,
    scope: &IdempotencyScope,
    request_hash: &str,
    now_ms: i64,
    lock_ms: i64,
) -> StoreResult<IdempotencyBegin> {
    if claim(&mut *conn, scope, request_hash, now_ms, lock_ms).await? {
        return Ok(IdempotencyBegin::Proceed);
    }
    let mut tx = sqlx::Connection::begin(conn).await?;
    if claim(&mut tx, scope, request_hash, now_ms, lock_ms).await? {
        tx.commit().await?;
        return Ok(IdempotencyBegin::Proceed);
    }
    let seen = sqlx::query_as::<_, IdempotencyRow>(SELECT_IDEMPOTENCY_KEY)
        .bind(scope.merchant.to_string())
        .bind(scope.endpoint.clone())
        .bind(scope.key.clone())
        .fetch_one(&mut *tx)
        .await?;
    if seen.may_be_taken_over(now_ms) {
        take_over(&mut tx, scope, request_hash, now_ms, lock_ms).await?;
        tx.commit().await?;
        return Ok(IdempotencyBegin::Proceed);
    }
    tx.commit().await?;
    Ok(seen.answer(request_hash, now_ms))
}

/// A claim that exists already is left alone (`DO NOTHING`): the caller reads it.
const INSERT_IDEMPOTENCY_CLAIM: &str = r"
INSERT INTO idempotency_keys (merchant_id, scope, idem_key, request_hash, state,
                              locked_until_ms, created_at_ms)
VALUES ($1, $2, $3, $4, 'in_flight', $5, $6)
    ON CONFLICT (merchant_id, scope, idem_key) DO NOTHING";

/// Claims a key nobody holds; false when a record of it exists.
async fn claim(
    conn: &mut AnyConnection,
    scope: &IdempotencyScope,
    request_hash: &str,
    now_ms: i64,
    lock_ms: i64,
) -> StoreResult<bool> {
    let inserted = sqlx::query(INSERT_IDEMPOTENCY_CLAIM)
        .bind(scope.merchant.to_string())
        .bind(scope.endpoint.clone())
        .bind(scope.key.clone())
        .bind(request_hash.to_string())
        .bind(now_ms + lock_ms)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(inserted == 1)
}

const SELECT_IDEMPOTENCY_KEY: &str = r"
SELECT request_hash, state, status_code, response_body, locked_until_ms, created_at_ms
  FROM idempotency_keys
 WHERE merchant_id = $1 AND scope = $2 AND idem_key = $3";

/// An `idempotency_keys` record already there when a request claims its key.
#[derive(sqlx::FromRow)]
struct IdempotencyRow {
    request_hash: String,
    state: String,
    status_code: Option<i64>,
    response_body: Option<String>,
    locked_until_ms: i64,
    created_at_ms: i64,
}

impl IdempotencyRow {
    /// Past retention, or a claim whose node died before its lock deadline.
    fn may_be_taken_over(&self, now_ms: i64) -> bool {
        let stale_claim = self.state == "in_flight" && self.locked_until_ms <= now_ms;
        let expired = self.created_at_ms + IDEMPOTENCY_RETENTION_MS <= now_ms;
        expired || stale_claim
    }

    /// What a request with `request_hash` is told about this live record.
    fn answer(self, request_hash: &str, now_ms: i64) -> IdempotencyBegin {
        if self.request_hash != request_hash {
            return IdempotencyBegin::Conflict;
        }
        if self.state == "in_flight" {
            return IdempotencyBegin::InFlight {
                retry_after_ms: (self.locked_until_ms - now_ms).max(0),
            };
        }
        let status = self.status_code.unwrap_or(500);
        IdempotencyBegin::Replay {
            status: u16::try_from(status).unwrap_or(500),
            body: self.response_body.unwrap_or_default(),
        }
    }
}

/// The record starts over as a fresh claim of this request.
const UPDATE_IDEMPOTENCY_TAKEOVER: &str = r"
UPDATE idempotency_keys
   SET request_hash = $1,
       state = 'in_flight',
       status_code = NULL,
       response_body = NULL,
       locked_until_ms = $2,
       created_at_ms = $3
 WHERE merchant_id = $4 AND scope = $5 AND idem_key = $6";

async fn take_over(
    conn: &mut AnyConnection,
    scope: &IdempotencyScope,
    request_hash: &str,
    now_ms: i64,
    lock_ms: i64,
) -> StoreResult<()> {
    sqlx::query(UPDATE_IDEMPOTENCY_TAKEOVER)
        .bind(request_hash.to_string())
        .bind(now_ms + lock_ms)
        .bind(now_ms)
        .bind(scope.merchant.to_string())
        .bind(scope.endpoint.clone())
        .bind(scope.key.clone())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
