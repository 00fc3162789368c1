//! Every provider call, journaled: no charge without an order, ever.
//!
//! Before the provider is asked, the attempt (session, attempt number, amount,
//! token, the order id it will pay for) is written to the store's payment journal.
//! Its state then follows the provider's answer: a decline or a 3-D Secure
//! challenge is journaled at once; an authorisation is journaled with what
//! follows it, the order commit (which moves the attempt to `ordered` in the
//! order's transaction) or the claim to give the money back, so a checkout pays
//! one durable write fewer. A crash in between leaves the attempt `started`,
//! and recovery replays the provider call with the same idempotency key. When no order can follow, the
//! money goes back through [`CheckoutService::give_back`], which first claims the
//! attempt (`voiding`): the order commit and the give-back are conditional on an
//! unsettled attempt, so exactly one of them wins. A crash anywhere in between
//! leaves an unsettled row for the recovery worker ([`crate::recovery`]).

use crate::CheckoutService;
use crate::error::{CheckoutError, CheckoutResult, TokenRefusal};
use anycart_core::OrderId;
use anycart_core::session::CheckoutSession;
use anycart_payments::{AuthorizeOutcome, AuthorizeRequest, FutureUse, PaymentError};
use anycart_store::{AttemptKey, AttemptState, CardUse, PaymentAttempt};
use secrecy::{ExposeSecret, SecretString};

/// What giving an attempt's money back came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GiveBack {
    /// Voided (or refunded) at the provider.
    Done,
    /// Someone else settled the attempt first (an order was written with it, or
    /// another give-back runs): this caller must not touch the money.
    SettledElsewhere,
    /// The provider could not be reached; the attempt stays `voiding` and the
    /// recovery worker retries.
    Pending,
}

/// The key of the attempt a session is on now.
pub(crate) fn attempt_key(session: &CheckoutSession) -> AttemptKey {
    AttemptKey {
        merchant: session.merchant_id,
        session: session.id,
        attempt: session.payment_attempt,
    }
}

/// The provider's idempotency key of an attempt: a retry never charges twice.
pub(crate) fn provider_key(key: &AttemptKey) -> String {
    format!("{}-{}", key.session, key.attempt)
}

/// Where the sale came from, as the provider's metadata tells it (so the
/// merchant's Stripe dashboard shows which channel and placement sold).
fn attribution_metadata(session: &CheckoutSession) -> Vec<(String, String)> {
    let Some(a) = &session.attribution else {
        return Vec::new();
    };
    let mut out = vec![(
        "anycart_channel".to_string(),
        a.channel.as_str().to_string(),
    )];
    if let Some(p) = a.placement_id {
        out.push(("anycart_placement_id".into(), p.to_string()));
    }
    if let Some(c) = &a.campaign.name {
        out.push(("anycart_campaign".into(), c.chars().take(100).collect()));
    }
    out
}

/// The provider request an attempt stands for (the same on every replay).
pub(crate) fn request_of(attempt: &PaymentAttempt) -> CheckoutResult<AuthorizeRequest> {
    let currency = anycart_core::Currency::parse(&attempt.currency)
        .map_err(|e| CheckoutError::AmountOutOfRange(e.to_string()))?;
    let amount = anycart_core::Money::new(attempt.amount_minor, currency)
        .map_err(|e| CheckoutError::AmountOutOfRange(e.to_string()))?;
    Ok(AuthorizeRequest {
        amount,
        token: attempt.token.expose_secret().to_string(),
        idempotency_key: attempt.idempotency_key.clone(),
        capture: attempt.capture,
        metadata: vec![
            ("anycart_order_id".into(), attempt.order_id.to_string()),
            ("anycart_session_id".into(), attempt.key.session.to_string()),
            ("anycart_attempt".into(), attempt.key.attempt.to_string()),
        ]
        .into_iter()
        .chain(attempt.provider_metadata.iter().cloned())
        .collect(),
        future_use: match &attempt.card_use {
            CardUse::OneOff => FutureUse::None,
            CardUse::Save { customer } => FutureUse::Save {
                customer: customer.clone(),
            },
            CardUse::SavedCard { customer } => FutureUse::SavedCard {
                customer: customer.clone(),
            },
        },
    })
}

/// A provider failure in the checkout's terms.
pub(crate) fn provider_error(e: PaymentError) -> CheckoutError {
    match e {
        PaymentError::InvalidToken => CheckoutError::InvalidPaymentToken(TokenRefusal::Unknown),
        PaymentError::UnknownReference => CheckoutError::PaymentNotFound,
        PaymentError::Unavailable(detail) => CheckoutError::PaymentUnavailable(detail),
        PaymentError::Refused(detail) => CheckoutError::PaymentRefused(detail),
    }
}

/// The journal state an answer leaves an attempt in.
fn state_of(outcome: &AuthorizeOutcome) -> (AttemptState, Option<&str>, bool) {
    match outcome {
        AuthorizeOutcome::Authorized {
            reference,
            captured,
            ..
        } => (AttemptState::Authorized, Some(reference), *captured),
        AuthorizeOutcome::Declined { reference, .. } => {
            (AttemptState::Declined, Some(reference), false)
        }
        AuthorizeOutcome::RequiresAuthentication { reference, .. } => {
            (AttemptState::RequiresAction, Some(reference), false)
        }
    }
}

impl CheckoutService {
    /// Journals the session's current attempt (charging `token` for its total) and
    /// returns the journaled row: a retry of the same attempt gets the first one,
    /// with its order id. An attempt journaled for another amount or token is
    /// stale (the basket or the card changed since a crash): it is refused.
    pub(crate) async fn journal_attempt(
        &self,
        session: &CheckoutSession,
        token: &str,
        card_use: CardUse,
    ) -> CheckoutResult<PaymentAttempt> {
        let key = attempt_key(session);
        let now = self.now_ms();
        let live = self.live_provider(session.merchant_id).await?;
        let wanted = PaymentAttempt {
            key,
            idempotency_key: provider_key(&key),
            provider: live.name().to_string(),
            order_id: OrderId::new(),
            amount_minor: session.quote.totals.total_minor,
            currency: session.currency.code_lower(),
            capture: live.captures_at_completion(self.config.auto_capture),
            token: SecretString::from(token.to_string()),
            card_use,
            provider_metadata: attribution_metadata(session),
            state: AttemptState::Started,
            provider_reference: None,
            captured: false,
            recovery_runs: 0,
            created_at_ms: now,
            updated_at_ms: now,
        };
        let journaled = self.store.journal_payment_attempt(&wanted).await?;
        let same = journaled.amount_minor == wanted.amount_minor
            && journaled.currency == wanted.currency
            && journaled.token.expose_secret() == token;
        if !same {
            tracing::warn!(session_id = %session.id, attempt = key.attempt, "a journaled payment attempt differs from this one; not replaying it");
            return Err(CheckoutError::ChangedWhilePaying);
        }
        Ok(journaled)
    }

    /// Asks the provider to authorise a journaled attempt (the first time, or a
    /// replay with the same idempotency key) and journals the answer, except an
    /// authorisation: the caller writes the order next, and that transaction (or
    /// the give-back when it fails) records it (see the module's doc).
    pub(crate) async fn authorize_attempt(
        &self,
        attempt: &PaymentAttempt,
    ) -> CheckoutResult<AuthorizeOutcome> {
        let request = request_of(attempt)?;
        let provider = self
            .provider_named(attempt.key.merchant, &attempt.provider)
            .await?;
        let outcome = match provider.provider.authorize(&request).await {
            Ok(outcome) => outcome,
            Err(PaymentError::InvalidToken) => {
                // Nothing was charged and nothing can be: settle the attempt.
                let now = self.now_ms();
                self.store
                    .record_payment_answer(attempt.key, AttemptState::Declined, None, false, now)
                    .await?;
                return Err(CheckoutError::InvalidPaymentToken(TokenRefusal::Unknown));
            }
            // Unknown whether the provider charged: the attempt stays `started`, and
            // the shopper's retry or the recovery worker replays it.
            Err(e) => return Err(provider_error(e)),
        };
        self.record_answer(attempt.key, &outcome).await?;
        Ok(outcome)
    }

    /// Resumes a 3-D Secure attempt with the shopper's or agent's result (its
    /// answer journaled like [`Self::authorize_attempt`]'s).
    pub(crate) async fn confirm_attempt(
        &self,
        attempt: &PaymentAttempt,
        reference: &str,
        authenticated: bool,
    ) -> CheckoutResult<AuthorizeOutcome> {
        let key = attempt.key;
        let provider = self.provider_named(key.merchant, &attempt.provider).await?;
        let outcome = provider
            .provider
            .confirm_authentication(reference, authenticated, attempt.capture)
            .await
            .map_err(provider_error)?;
        self.record_answer(key, &outcome).await?;
        Ok(outcome)
    }

    /// Journals a decline or a challenge; an authorisation is left to the order's
    /// transaction or the give-back, which follow it at once.
    async fn record_answer(
        &self,
        key: AttemptKey,
        outcome: &AuthorizeOutcome,
    ) -> CheckoutResult<()> {
        if matches!(outcome, AuthorizeOutcome::Authorized { .. }) {
            return Ok(());
        }
        let (state, reference, captured) = state_of(outcome);
        let recorded = self
            .store
            .record_payment_answer(key, state, reference, captured, self.now_ms())
            .await?;
        if !recorded {
            tracing::info!(session_id = %key.session, attempt = key.attempt, "payment answer for an attempt settled meanwhile");
        }
        Ok(())
    }

    /// Gives the money of an attempt back (void, or refund when captured) unless
    /// someone else settled it first. Never fails the caller: problems are logged
    /// and left to the recovery worker.
    pub(crate) async fn give_back(
        &self,
        key: AttemptKey,
        provider: &str,
        reference: Option<&str>,
    ) -> GiveBack {
        match self
            .store
            .begin_voiding(key, reference, self.now_ms())
            .await
        {
            Ok(true) => {}
            Ok(false) => return GiveBack::SettledElsewhere,
            Err(e) => {
                tracing::error!(session_id = %key.session, error = %e, "could not claim a payment to give back; recovery will");
                return GiveBack::Pending;
            }
        }
        self.finish_giving_back(key, provider, reference).await
    }

    /// Voids an attempt already claimed for `voiding`.
    pub(crate) async fn finish_giving_back(
        &self,
        key: AttemptKey,
        provider: &str,
        reference: Option<&str>,
    ) -> GiveBack {
        let voided = match (reference, self.provider_named(key.merchant, provider).await) {
            (Some(r), Ok(p)) => p.provider.void(r).await,
            (Some(_), Err(e)) => Err(PaymentError::Unavailable(e.to_string())),
            // The provider never answered: nothing is known to give back here; the
            // recovery worker replays the call first to learn the reference.
            (None, _) => Err(PaymentError::UnknownReference),
        };
        let now = self.now_ms();
        let outcome = match voided {
            Ok(()) => AttemptState::Voided,
            Err(PaymentError::UnknownReference) if reference.is_none() => return GiveBack::Pending,
            Err(
                PaymentError::UnknownReference
                | PaymentError::InvalidToken
                | PaymentError::Refused(_),
            ) => {
                tracing::error!(session_id = %key.session, attempt = key.attempt, "the provider does not know a payment to give back; reconcile by hand");
                AttemptState::Failed
            }
            Err(PaymentError::Unavailable(detail)) => {
                tracing::warn!(session_id = %key.session, %detail, "void failed; the recovery worker retries");
                return GiveBack::Pending;
            }
        };
        if let Err(e) = self.store.finish_voiding(key, outcome, now).await {
            tracing::error!(session_id = %key.session, error = %e, "could not record a void");
        }
        metrics::counter!("anycart_payments_given_back_total").increment(1);
        GiveBack::Done
    }
}
