//! Recovery of payments a crash left unsettled: no charge without an order, ever.
//!
//! The journal ([`crate::payment_journal`]) holds every attempt from before the
//! provider was asked. An attempt still `started`, `authorized` or `voiding` long
//! after any request could still be working on it (a crashed node, a timeout the
//! shopper never retried) is leased by one node and settled:
//!
//! - `started`: the provider call is replayed with the same idempotency key, which
//!   returns the first call's answer instead of charging again; then as below;
//! - `authorized`: the order is finished, if the session still waits for it, still
//!   holds its stock and still costs what was charged; otherwise the money goes back;
//! - `voiding`: the give-back is retried.

use crate::CheckoutService;
use crate::payment_journal::{GiveBack, request_of};
use crate::sessions::Authorized;
use anycart_core::session::{CheckoutSession, CheckoutStatus};
use anycart_payments::{AuthorizeOutcome, PaymentError};
use anycart_store::{AttemptState, PaymentAttempt};

/// How long an attempt must sit untouched before recovery takes it: well past the
/// longest a live request may take (so it never races one) and a provider's timeouts.
pub const PAYMENT_RECOVERY_AFTER_MS: i64 = 2 * crate::workers::REQUEST_DURATION_MS_MAX;
/// How long one node holds an attempt it recovers before another may try.
pub const PAYMENT_RECOVERY_LEASE_MS: i64 = 60_000;
/// Attempts recovered per run (bounded so one run never stalls the worker).
pub const PAYMENT_RECOVERY_BATCH_MAX: i64 = 20;
/// Runs after which an attempt that cannot be settled is marked `failed` for an
/// operator (about a day at the lease interval).
pub const PAYMENT_RECOVERY_RUNS_MAX: i64 = 1_440;

/// What one recovery did, for logs and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recovered {
    /// The order was written with the payment.
    Ordered,
    /// The payment was voided or refunded.
    GivenBack,
    /// Declined, or waiting for 3-D Secure: nothing to keep or give back.
    NothingCharged,
    /// Another node or request settled it.
    SettledElsewhere,
    /// Could not settle now (provider unreachable); retried on a later run.
    Later,
    /// Given up: an operator must look.
    Failed,
}

impl CheckoutService {
    /// One recovery run over attempts idle for the configured
    /// `payment_recovery_after_ms` ([`PAYMENT_RECOVERY_AFTER_MS`] by default).
    pub async fn recover_payments_once(&self) -> crate::CheckoutResult<Vec<Recovered>> {
        let now = self.now_ms();
        let attempts = self
            .store
            .lease_unsettled_payment_attempts(
                now - self.config.payment_recovery_after_ms,
                now,
                PAYMENT_RECOVERY_LEASE_MS,
                PAYMENT_RECOVERY_BATCH_MAX,
            )
            .await?;
        let mut done = Vec::with_capacity(attempts.len());
        for attempt in attempts {
            let outcome = self.recover(&attempt).await;
            tracing::info!(session_id = %attempt.key.session, attempt = attempt.key.attempt, ?outcome, "payment attempt recovered");
            metrics::counter!("anycart_payments_recovered_total", "outcome" => format!("{outcome:?}"))
                .increment(1);
            done.push(outcome);
        }
        Ok(done)
    }

    #[tracing::instrument(skip_all, fields(merchant_id = %attempt.key.merchant, session_id = %attempt.key.session))]
    async fn recover(&self, attempt: &PaymentAttempt) -> Recovered {
        if attempt.recovery_runs > PAYMENT_RECOVERY_RUNS_MAX {
            tracing::error!(
                attempt = attempt.key.attempt,
                "payment attempt could not be settled; reconcile by hand"
            );
            if let Err(e) = self
                .store
                .fail_payment_attempt(attempt.key, self.now_ms())
                .await
            {
                tracing::error!(error = %e, "could not mark a payment attempt failed");
            }
            return Recovered::Failed;
        }
        match attempt.state {
            AttemptState::Voiding => self.retry_give_back(attempt).await,
            AttemptState::Started => match self.replay(attempt).await {
                Ok(AuthorizeOutcome::Authorized {
                    reference,
                    card_last4,
                    captured,
                }) => {
                    let paid = Authorized {
                        order_id: attempt.order_id,
                        provider: attempt.provider.clone(),
                        reference,
                        card_last4,
                        captured,
                    };
                    self.finish_or_give_back(attempt, paid).await
                }
                Ok(_) => Recovered::NothingCharged,
                Err(_) => Recovered::Later,
            },
            AttemptState::Authorized => {
                let Some(reference) = attempt.provider_reference.clone() else {
                    return Recovered::Later;
                };
                let paid = Authorized {
                    order_id: attempt.order_id,
                    provider: attempt.provider.clone(),
                    reference,
                    card_last4: None,
                    captured: attempt.captured,
                };
                self.finish_or_give_back(attempt, paid).await
            }
            _ => Recovered::SettledElsewhere,
        }
    }

    /// The provider call of a journaled attempt again, with its idempotency key:
    /// the provider answers what it answered the first time.
    async fn replay(&self, attempt: &PaymentAttempt) -> Result<AuthorizeOutcome, PaymentError> {
        let request = request_of(attempt).map_err(|e| PaymentError::Unavailable(e.to_string()))?;
        let provider = self
            .provider_named(attempt.key.merchant, &attempt.provider)
            .await
            .map_err(|e| PaymentError::Unavailable(e.to_string()))?;
        let outcome = provider.provider.authorize(&request).await?;
        if let AuthorizeOutcome::Authorized {
            reference,
            captured,
            ..
        } = &outcome
        {
            let _ = self
                .store
                .record_payment_answer(
                    attempt.key,
                    AttemptState::Authorized,
                    Some(reference),
                    *captured,
                    self.now_ms(),
                )
                .await;
        } else {
            let (state, reference) = match &outcome {
                AuthorizeOutcome::Declined { reference, .. } => (AttemptState::Declined, reference),
                AuthorizeOutcome::RequiresAuthentication { reference, .. } => {
                    (AttemptState::RequiresAction, reference)
                }
                AuthorizeOutcome::Authorized { reference, .. } => {
                    (AttemptState::Authorized, reference)
                }
            };
            let _ = self
                .store
                .record_payment_answer(attempt.key, state, Some(reference), false, self.now_ms())
                .await;
        }
        Ok(outcome)
    }

    /// Writes the order the payment is for when the session still waits for it,
    /// holds its stock and costs what was charged; gives the money back otherwise.
    async fn finish_or_give_back(&self, attempt: &PaymentAttempt, paid: Authorized) -> Recovered {
        let reference = paid.reference.clone();
        match self.waiting_session(attempt).await {
            Some((session, version)) => match self.finish_order(session, version, paid).await {
                Ok(done) if done.session.order_id == Some(attempt.order_id) => Recovered::Ordered,
                // finish_order gave the payment back itself when it could not write.
                Ok(_) | Err(_) => Recovered::GivenBack,
            },
            None => match self
                .give_back(attempt.key, &attempt.provider, Some(&reference))
                .await
            {
                GiveBack::Done => Recovered::GivenBack,
                GiveBack::SettledElsewhere => Recovered::SettledElsewhere,
                GiveBack::Pending => Recovered::Later,
            },
        }
    }

    /// The attempt's session, if it is still waiting for exactly this payment.
    async fn waiting_session(&self, attempt: &PaymentAttempt) -> Option<(CheckoutSession, i64)> {
        let (session, version) = self
            .store
            .get_session(attempt.key.merchant, attempt.key.session)
            .await
            .ok()??;
        let waiting = matches!(
            session.status,
            CheckoutStatus::ReadyForPayment | CheckoutStatus::AuthenticationRequired
        ) && session.payment_attempt == attempt.key.attempt
            && session.order_id.is_none()
            && session.quote.totals.total_minor == attempt.amount_minor
            && session.expires_at_ms > self.now_ms();
        waiting.then_some((session, version))
    }

    /// A give-back that did not finish: replay first when the reference is unknown.
    async fn retry_give_back(&self, attempt: &PaymentAttempt) -> Recovered {
        let reference = match &attempt.provider_reference {
            Some(r) => r.clone(),
            None => match self.replay_reference(attempt).await {
                Some(r) => r,
                None => return Recovered::Later,
            },
        };
        match self
            .finish_giving_back(attempt.key, &attempt.provider, Some(&reference))
            .await
        {
            GiveBack::Done => Recovered::GivenBack,
            GiveBack::SettledElsewhere => Recovered::SettledElsewhere,
            GiveBack::Pending => Recovered::Later,
        }
    }

    /// The provider's reference of an attempt whose answer was never journaled.
    async fn replay_reference(&self, attempt: &PaymentAttempt) -> Option<String> {
        let request = request_of(attempt).ok()?;
        let provider = self
            .provider_named(attempt.key.merchant, &attempt.provider)
            .await
            .ok()?;
        match provider.provider.authorize(&request).await.ok()? {
            AuthorizeOutcome::Authorized { reference, .. }
            | AuthorizeOutcome::Declined { reference, .. }
            | AuthorizeOutcome::RequiresAuthentication { reference, .. } => Some(reference),
        }
    }
}
