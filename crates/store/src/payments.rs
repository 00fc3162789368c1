//! The payment journal: one row per payment attempt, written before the provider is
//! asked (see `migrations/0008_payment_attempts.sql`).
//!
//! An attempt is *unsettled* until it is `ordered` (the order commit moved it, in
//! the same transaction) or `voiding`/`voided` (someone gave the money back). Both
//! moves are conditional on an unsettled state, so exactly one wins: a slow request
//! and the recovery worker can never both keep and void one payment.

use crate::script::{Outcome, Statement};
use crate::{Store, StoreError, StoreResult, parse_id};
use anycart_core::{MerchantId, OrderId, SessionId};
use secrecy::{ExposeSecret, SecretString};
use sqlx::AnyConnection;

/// Where an attempt stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptState {
    /// Journaled; the provider's answer is not known (yet).
    Started,
    /// The issuer wants 3-D Secure; the shopper or agent must confirm.
    RequiresAction,
    /// Authorised (or captured): an order must follow, or a void.
    Authorized,
    Declined,
    /// Gave up (the provider kept failing); an operator must look.
    Failed,
    /// The order was written with it. Final.
    Ordered,
    /// Being given back (void or refund) because no order can follow.
    Voiding,
    Voided,
}

impl AttemptState {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptState::Started => "started",
            AttemptState::RequiresAction => "requires_action",
            AttemptState::Authorized => "authorized",
            AttemptState::Declined => "declined",
            AttemptState::Failed => "failed",
            AttemptState::Ordered => "ordered",
            AttemptState::Voiding => "voiding",
            AttemptState::Voided => "voided",
        }
    }

    fn parse(s: &str) -> StoreResult<Self> {
        Ok(match s {
            "started" => AttemptState::Started,
            "requires_action" => AttemptState::RequiresAction,
            "authorized" => AttemptState::Authorized,
            "declined" => AttemptState::Declined,
            "failed" => AttemptState::Failed,
            "ordered" => AttemptState::Ordered,
            "voiding" => AttemptState::Voiding,
            "voided" => AttemptState::Voided,
            other => return Err(StoreError::Corrupt(format!("attempt state {other}"))),
        })
    }
}

/// What an attempt does with the card beyond this payment (see
/// `anycart_payments::FutureUse`, which it becomes on every replay).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CardUse {
    #[default]
    OneOff,
    /// "Remember me": the card is set up on the provider's `customer`.
    Save { customer: String },
    /// One tap: the card saved on `customer` is charged.
    SavedCard { customer: String },
}

impl CardUse {
    fn columns(&self) -> (&'static str, Option<String>) {
        match self {
            CardUse::OneOff => ("one_off", None),
            CardUse::Save { customer } => ("save", Some(customer.clone())),
            CardUse::SavedCard { customer } => ("saved_card", Some(customer.clone())),
        }
    }

    fn parse(kind: &str, customer: Option<String>) -> StoreResult<Self> {
        Ok(match (kind, customer) {
            ("one_off", _) => CardUse::OneOff,
            ("save", Some(customer)) => CardUse::Save { customer },
            ("saved_card", Some(customer)) => CardUse::SavedCard { customer },
            (other, _) => return Err(StoreError::Corrupt(format!("attempt card use {other}"))),
        })
    }

    /// The provider customer the card is saved on, if any.
    pub fn customer(&self) -> Option<&str> {
        match self {
            CardUse::OneOff => None,
            CardUse::Save { customer } | CardUse::SavedCard { customer } => Some(customer),
        }
    }
}

/// Which attempt: a session's `payment_attempt` number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptKey {
    pub merchant: MerchantId,
    pub session: SessionId,
    pub attempt: u32,
}

/// One journaled payment attempt.
#[derive(Clone, Debug)]
pub struct PaymentAttempt {
    pub key: AttemptKey,
    /// The provider's idempotency key for this attempt.
    pub idempotency_key: String,
    /// `sandbox`, `stripe`.
    pub provider: String,
    /// The order this payment pays for, allocated before the provider is asked.
    pub order_id: OrderId,
    pub amount_minor: i64,
    /// Lower-case ISO 4217.
    pub currency: String,
    pub capture: bool,
    /// The provider token charged (sealed at rest).
    pub token: SecretString,
    pub card_use: CardUse,
    /// Told to the provider with the payment beyond its ids (Stripe `metadata`):
    /// where the sale came from.
    pub provider_metadata: Vec<(String, String)>,
    pub state: AttemptState,
    pub provider_reference: Option<String>,
    pub captured: bool,
    pub recovery_runs: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(sqlx::FromRow)]
struct AttemptRow {
    merchant_id: String,
    session_id: String,
    attempt: i64,
    idempotency_key: String,
    provider: String,
    order_id: String,
    amount_minor: i64,
    currency: String,
    capture: i64,
    sealed_token: String,
    card_use: String,
    provider_customer: Option<String>,
    provider_metadata: String,
    state: String,
    provider_reference: Option<String>,
    captured: i64,
    recovery_runs: i64,
    created_at_ms: i64,
    updated_at_ms: i64,
}

impl AttemptRow {
    fn into_attempt(self, store: &Store) -> StoreResult<PaymentAttempt> {
        let merchant: MerchantId = parse_id(&self.merchant_id)?;
        Ok(PaymentAttempt {
            key: AttemptKey {
                merchant,
                session: parse_id(&self.session_id)?,
                attempt: u32::try_from(self.attempt)
                    .map_err(|_| StoreError::Corrupt(format!("attempt {}", self.attempt)))?,
            },
            idempotency_key: self.idempotency_key,
            provider: self.provider,
            order_id: parse_id(&self.order_id)?,
            amount_minor: self.amount_minor,
            currency: self.currency,
            capture: self.capture == 1,
            token: SecretString::from(store.open_credentials(merchant, &self.sealed_token)?),
            card_use: CardUse::parse(&self.card_use, self.provider_customer)?,
            provider_metadata: serde_json::from_str(&self.provider_metadata)?,
            state: AttemptState::parse(&self.state)?,
            provider_reference: self.provider_reference,
            captured: self.captured == 1,
            recovery_runs: self.recovery_runs,
            created_at_ms: self.created_at_ms,
            updated_at_ms: self.updated_at_ms,
        })
    }
}

const SELECT_ATTEMPT: &str = r"
SELECT merchant_id, session_id, attempt, idempotency_key, provider, order_id, amount_minor,
       currency, capture, sealed_token, card_use, provider_customer, provider_metadata, state,
       provider_reference,
       captured, recovery_runs, created_at_ms, updated_at_ms
  FROM payment_attempts
 WHERE merchant_id = $1 AND session_id = $2 AND attempt = $3";

/// A retry of the same attempt keeps the first row (and its order id).
const INSERT_ATTEMPT: &str = r"
INSERT INTO payment_attempts (merchant_id, session_id, attempt, idempotency_key, provider,
                              order_id, amount_minor, currency, capture, sealed_token,
                              card_use, provider_customer, provider_metadata, state,
                              created_at_ms, updated_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'started', $14, $14)
    ON CONFLICT (merchant_id, session_id, attempt) DO NOTHING";

/// Records the provider's answer while the attempt is still unsettled.
const RECORD_ANSWER: &str = r"
UPDATE payment_attempts
   SET state = $4, provider_reference = COALESCE($5, provider_reference),
       captured = $6, updated_at_ms = $7
 WHERE merchant_id = $1 AND session_id = $2 AND attempt = $3
   AND state IN ('started', 'requires_action', 'authorized')";

/// Only one of this and the order commit can move an unsettled attempt. It
/// records the provider's reference when the caller knows it (an authorisation
/// is not journaled on its own: see `Store::begin_voiding`).
const BEGIN_VOIDING: &str = r"
UPDATE payment_attempts
   SET state = 'voiding', provider_reference = COALESCE($5, provider_reference),
       updated_at_ms = $4
 WHERE merchant_id = $1 AND session_id = $2 AND attempt = $3
   AND state IN ('started', 'requires_action', 'authorized')";

const FINISH_VOIDING: &str = r"
UPDATE payment_attempts
   SET state = $4, updated_at_ms = $5
 WHERE merchant_id = $1 AND session_id = $2 AND attempt = $3 AND state = 'voiding'";

/// Run inside the order commit: the order may only be written for an unsettled
/// attempt. It records the authorisation the order is paid with (reference,
/// captured), which is not journaled before the order (see `settle_ordered`).
const SETTLE_ORDERED: &str = r"
UPDATE payment_attempts
   SET state = 'ordered', provider_reference = $5, captured = $6, updated_at_ms = $4
 WHERE merchant_id = $1 AND session_id = $2 AND attempt = $3
   AND state IN ('started', 'requires_action', 'authorized')";

const SELECT_ATTEMPT_STATE: &str = r"
SELECT state
  FROM payment_attempts
 WHERE merchant_id = $1 AND session_id = $2 AND attempt = $3";

/// Leases unsettled attempts idle since before `$1` whose lease ran out, so one
/// node recovers each at a time.
const LEASE_UNSETTLED: &str = r"
UPDATE payment_attempts
   SET lease_until_ms = $2, recovery_runs = recovery_runs + 1
 WHERE state IN ('started', 'authorized', 'voiding')
   AND updated_at_ms < $1
   AND lease_until_ms < $3
   AND (merchant_id, session_id, attempt) IN (
       SELECT merchant_id, session_id, attempt
         FROM payment_attempts
        WHERE state IN ('started', 'authorized', 'voiding')
          AND updated_at_ms < $1
          AND lease_until_ms < $3
        ORDER BY updated_at_ms
        LIMIT $4)
RETURNING merchant_id, session_id, attempt";

const MARK_FAILED: &str = r"
UPDATE payment_attempts
   SET state = 'failed', updated_at_ms = $4
 WHERE merchant_id = $1 AND session_id = $2 AND attempt = $3
   AND state IN ('started', 'authorized', 'voiding')";

/// The three key columns, bound in order.
fn bind_key<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    key: &AttemptKey,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    q.bind(key.merchant.to_string())
        .bind(key.session.to_string())
        .bind(i64::from(key.attempt))
}

impl Store {
    /// Journals `attempt` (as `started`) before the provider is asked. A retry of the
    /// same attempt gets the row journaled first, with its order id and amount. A
    /// new row is `attempt` as given, so only a retry reads the row back.
    pub async fn journal_payment_attempt(
        &self,
        attempt: &PaymentAttempt,
    ) -> StoreResult<PaymentAttempt> {
        let sealed = self.seal_credentials(attempt.key.merchant, attempt.token.expose_secret())?;
        let (card_use, customer) = attempt.card_use.columns();
        let q = bind_key(sqlx::query(INSERT_ATTEMPT), &attempt.key)
            .bind(attempt.idempotency_key.clone())
            .bind(attempt.provider.clone())
            .bind(attempt.order_id.to_string())
            .bind(attempt.amount_minor)
            .bind(attempt.currency.clone())
            .bind(i64::from(attempt.capture))
            .bind(sealed)
            .bind(card_use)
            .bind(customer)
            .bind(serde_json::to_string(&attempt.provider_metadata)?)
            .bind(attempt.created_at_ms);
        if self.write_statement(q).await?.rows_affected() == 1 {
            // What INSERT_ATTEMPT wrote: the columns it sets from `attempt`, the
            // rest at their start values.
            return Ok(PaymentAttempt {
                state: AttemptState::Started,
                provider_reference: None,
                captured: false,
                recovery_runs: 0,
                updated_at_ms: attempt.created_at_ms,
                ..attempt.clone()
            });
        }
        self.get_payment_attempt(attempt.key)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// One attempt, if journaled (read on the read pool: every journal write
    /// is committed before its caller goes on).
    pub async fn get_payment_attempt(
        &self,
        key: AttemptKey,
    ) -> StoreResult<Option<PaymentAttempt>> {
        bind_key_as(sqlx::query_as::<_, AttemptRow>(SELECT_ATTEMPT), &key)
            .fetch_optional(&self.read)
            .await?
            .map(|row| row.into_attempt(self))
            .transpose()
    }

    /// Records the provider's answer. False when the attempt was settled meanwhile
    /// (ordered or being voided by someone else): the answer then changes nothing.
    pub async fn record_payment_answer(
        &self,
        key: AttemptKey,
        state: AttemptState,
        reference: Option<&str>,
        captured: bool,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let q = bind_key(sqlx::query(RECORD_ANSWER), &key)
            .bind(state.as_str())
            .bind(reference.map(String::from))
            .bind(i64::from(captured))
            .bind(now_ms);
        Ok(self.write_statement(q).await?.rows_affected() == 1)
    }

    /// Claims the right to give the money of an unsettled attempt back. False when
    /// the attempt is already ordered or being voided: then the caller must not void.
    /// `reference` (the provider's, when known) is recorded with the claim: an
    /// authorisation whose order could not be written was not journaled yet, and
    /// a void that fails is retried by recovery from this row.
    pub async fn begin_voiding(
        &self,
        key: AttemptKey,
        reference: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let q = bind_key(sqlx::query(BEGIN_VOIDING), &key)
            .bind(now_ms)
            .bind(reference.map(String::from));
        Ok(self.write_statement(q).await?.rows_affected() == 1)
    }

    /// The provider confirmed the void (or refund): `voided`. `failed` instead when
    /// it can never succeed and an operator must look.
    pub async fn finish_voiding(
        &self,
        key: AttemptKey,
        outcome: AttemptState,
        now_ms: i64,
    ) -> StoreResult<()> {
        debug_assert!(matches!(
            outcome,
            AttemptState::Voided | AttemptState::Failed
        ));
        let q = bind_key(sqlx::query(FINISH_VOIDING), &key)
            .bind(outcome.as_str())
            .bind(now_ms);
        self.write_statement(q).await?;
        Ok(())
    }

    /// Gives up on an unsettled attempt (the provider kept failing): `failed`.
    pub async fn fail_payment_attempt(&self, key: AttemptKey, now_ms: i64) -> StoreResult<()> {
        let q = bind_key(sqlx::query(MARK_FAILED), &key).bind(now_ms);
        self.write_statement(q).await?;
        Ok(())
    }

    /// Leases up to `limit` unsettled attempts untouched since `idle_before_ms` for
    /// `lease_ms`, for the recovery worker (one node per attempt at a time).
    pub async fn lease_unsettled_payment_attempts(
        &self,
        idle_before_ms: i64,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<PaymentAttempt>> {
        let keys: Vec<(String, String, i64)> = sqlx::query_as(LEASE_UNSETTLED)
            .bind(idle_before_ms)
            .bind(now_ms + lease_ms)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(&self.write)
            .await?;
        let mut out = Vec::with_capacity(keys.len());
        for (merchant, session, attempt) in keys {
            let key = AttemptKey {
                merchant: parse_id(&merchant)?,
                session: parse_id(&session)?,
                attempt: u32::try_from(attempt)
                    .map_err(|_| StoreError::Corrupt(format!("attempt {attempt}")))?,
            };
            if let Some(a) = self.get_payment_attempt(key).await? {
                out.push(a);
            }
        }
        Ok(out)
    }
}

fn bind_key_as<'q, O>(
    q: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments>,
    key: &AttemptKey,
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments> {
    q.bind(key.merchant.to_string())
        .bind(key.session.to_string())
        .bind(i64::from(key.attempt))
}

/// Inside the order commit: moves the session's attempt to `ordered`, with the
/// authorisation (`paid`: the provider's reference and whether it was captured)
/// that pays the order. The checkout does not journal an authorisation before
/// its order: this write records it, one durable write fewer per checkout. A
/// crash between the provider's answer and this commit leaves the attempt
/// `started`, which recovery replays with the same idempotency key (the
/// provider answers what it answered the first time). An attempt that was
/// settled meanwhile (a recovery voided it) refuses the order; a session paid
/// without a journaled attempt (tests of the store alone) passes: see
/// [`check_settled_ordered`], which reads the statement's outcome.
pub(crate) fn settle_ordered(
    key: &AttemptKey,
    paid: &anycart_core::order::PaymentRecord,
    now_ms: i64,
) -> Statement {
    Statement::new(SETTLE_ORDERED)
        .bind(key.merchant.to_string())
        .bind(key.session.to_string())
        .bind(i64::from(key.attempt))
        .bind(now_ms)
        .bind(paid.provider_reference.clone())
        .bind(i64::from(paid.captured))
}

/// Checks what [`settle_ordered`] did: the attempt moved to `ordered`, or it was
/// never journaled (nothing to move); settled otherwise (given back, or
/// ordered by the recovery worker), which refuses the order.
pub(crate) async fn check_settled_ordered(
    tx: &mut AnyConnection,
    key: &AttemptKey,
    done: &Outcome,
) -> StoreResult<()> {
    if done.rows_affected == 1 {
        return Ok(());
    }
    let state: Option<String> = bind_key_scalar(sqlx::query_scalar(SELECT_ATTEMPT_STATE), key)
        .fetch_optional(&mut *tx)
        .await?;
    match state {
        None => Ok(()),
        Some(s) => Err(StoreError::PaymentSettled(s)),
    }
}

fn bind_key_scalar<'q, O>(
    q: sqlx::query::QueryScalar<'q, sqlx::Any, O, sqlx::any::AnyArguments>,
    key: &AttemptKey,
) -> sqlx::query::QueryScalar<'q, sqlx::Any, O, sqlx::any::AnyArguments> {
    q.bind(key.merchant.to_string())
        .bind(key.session.to_string())
        .bind(i64::from(key.attempt))
}
