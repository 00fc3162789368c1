//! Completing a session: refresh and re-check what the shopper agreed to, charge
//! once, then write the order — or say why not.
//!
//! The provider call sits between two transactions. It is journaled first
//! ([`crate::payment_journal`]) and idempotent on `{session}-{payment_attempt}`, so a
//! retried complete never charges twice, a crash never leaves a charge without an
//! order (the recovery worker finishes or voids it), and an order that cannot be
//! written after a successful authorisation is voided.

use super::{LineRequest, SessionInput, apply, current_lines};
use crate::CheckoutService;
use crate::error::{CheckoutError, CheckoutResult};
use crate::payment_journal::{GiveBack, attempt_key};
use crate::shopper_tokens::{PaidCard, SavedCard, ShopperOptin, contact_key};
use anycart_core::inventory::demand_by_variant;
use anycart_core::order::{Order, OrderStatus, PaymentRecord};
use anycart_core::session::{
    Buyer, CheckoutSession, CheckoutStatus, ErrorCode, Event, Message, PendingPayment, WarningCode,
};
use anycart_core::{MerchantId, OrderId, SessionId};
use anycart_payments::AuthorizeOutcome;
use anycart_store::{
    CardUse, CompletedCheckout, HoldChange, OrderRecord, PaymentAttempt, StoreError,
};

/// A paid session whose order is written.
pub(crate) struct Finished {
    pub(crate) session: CheckoutSession,
    /// The "remember me" opt-in the order's transaction used up.
    pub(crate) optin: ShopperOptin,
    /// The order as this call wrote it; `None` when the recovery worker wrote it.
    pub(crate) order: Option<OrderRecord>,
}

/// How a complete request wants to pay.
#[derive(Clone, Debug)]
pub struct PaymentInput {
    pub handler_id: String,
    /// The provider token, or a returning shopper's `sht_…` token for their saved card.
    pub token: String,
    /// Buyer details sent with the complete request (merged like an update).
    pub buyer: Option<Buyer>,
    /// `Some(true)` when the agent reports a successful 3-D Secure outcome.
    pub authenticated: Option<bool>,
    /// Who is paying (see [`crate::throttle`]); `None` for merchants' servers.
    pub client: Option<crate::throttle::ClientId>,
}

/// A successful authorisation, as the order records it.
pub(crate) struct Authorized {
    pub(crate) order_id: OrderId,
    /// The provider that took the payment (as journaled).
    pub(crate) provider: String,
    pub(crate) reference: String,
    pub(crate) card_last4: Option<String>,
    pub(crate) captured: bool,
}

impl CheckoutService {
    /// Pays for a ready session and writes the order; or reports why it could not
    /// (a declined card or a 3-D Secure challenge come back as the session, with
    /// its message and status saying so).
    pub async fn complete(
        &self,
        merchant: MerchantId,
        id: SessionId,
        payment: PaymentInput,
    ) -> CheckoutResult<CheckoutSession> {
        Ok(self.complete_with_order(merchant, id, payment).await?.0)
    }

    /// [`CheckoutService::complete`], with the order when this call wrote it
    /// (so the answer can show it without reading it back).
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant, session_id = %id))]
    pub async fn complete_with_order(
        &self,
        merchant: MerchantId,
        id: SessionId,
        payment: PaymentInput,
    ) -> CheckoutResult<(CheckoutSession, Option<OrderRecord>)> {
        let (session, version) = self.load_live(merchant, id).await?;
        match session.status {
            CheckoutStatus::Completed => return Ok((session, None)), // already paid: never charge again
            s if s.is_terminal() => return Err(CheckoutError::SessionEnded(s)),
            _ => {}
        }
        if let Some(client) = &payment.client {
            self.throttle(crate::throttle::Action::CompleteSession, client)?;
        }
        if session.payment_attempt >= crate::throttle::SESSION_DECLINES_MAX {
            return Err(CheckoutError::TooManyDeclines);
        }
        let expected = self.live_provider(merchant).await?.handler_id();
        let resumes_pending = session
            .pending_payment
            .as_ref()
            .is_some_and(|p| p.handler_id == payment.handler_id);
        if payment.handler_id != expected && !resumes_pending {
            return Err(CheckoutError::UnknownPaymentHandler { expected });
        }
        let (session, version) = if session.status == CheckoutStatus::AuthenticationRequired {
            if payment.authenticated.is_none() {
                return Err(CheckoutError::AuthenticationResultRequired);
            }
            (session, version)
        } else {
            match self
                .refresh_before_paying(session, version, payment.buyer.clone())
                .await?
            {
                Refreshed::Payable(session, version) => (session, version),
                Refreshed::NotPayable(session) => return Ok((session, None)),
            }
        };
        let (attempt, outcome) = self.charge(&session, &payment).await?;
        metrics::counter!("anycart_payment_outcomes_total", "outcome" => outcome_label(&outcome))
            .increment(1);
        match outcome {
            AuthorizeOutcome::Authorized {
                reference,
                card_last4,
                captured,
            } => {
                crate::pause_points::pause_point("after_payment_answer").await;
                let paid = Authorized {
                    order_id: attempt.order_id,
                    provider: attempt.provider.clone(),
                    reference,
                    card_last4,
                    captured,
                };
                self.order_and_remember(session, version, &attempt, paid)
                    .await
            }
            AuthorizeOutcome::Declined { reason, .. } => {
                if let Some(client) = &payment.client {
                    self.throttles.record_decline(client);
                }
                self.record_decline(session, version, reason.explain())
                    .await
                    .map(|session| (session, None))
            }
            AuthorizeOutcome::RequiresAuthentication {
                reference,
                client_secret,
            } => {
                let pending = PendingPayment {
                    provider_reference: reference,
                    handler_id: payment.handler_id,
                    amount_minor: session.quote.totals.total_minor,
                    client_secret,
                };
                self.record_challenge(session, version, pending)
                    .await
                    .map(|session| (session, None))
            }
        }
    }

    /// Writes the order of an authorised payment, then saves the card when the
    /// shopper asked to be remembered (also after 3-D Secure: the journal holds
    /// the card that was presented).
    async fn order_and_remember(
        &self,
        session: CheckoutSession,
        version: i64,
        attempt: &PaymentAttempt,
        paid: Authorized,
    ) -> CheckoutResult<(CheckoutSession, Option<OrderRecord>)> {
        let reference = paid.reference.clone();
        let card_last4 = paid.card_last4.clone();
        let Finished {
            session: done,
            optin,
            order,
        } = self.finish_order(session, version, paid).await?;
        let card = PaidCard {
            attempt,
            reference: &reference,
            card_last4: card_last4.as_deref(),
        };
        self.remember_paid(&done, &card, optin).await;
        Ok((done, order))
    }

    /// Re-prices before charging, and refuses to charge if the total the shopper
    /// agreed to moved (they see `price_change` instead). The holds are taken
    /// again unless they are known to last through the payment (see
    /// `holds_last_through_payment`).
    async fn refresh_before_paying(
        &self,
        session: CheckoutSession,
        version: i64,
        buyer: Option<Buyer>,
    ) -> CheckoutResult<Refreshed> {
        let agreed_total = session.quote.totals.total_minor;
        let lines: Vec<LineRequest> = current_lines(&session);
        let input = SessionInput {
            buyer,
            ..SessionInput::default()
        };
        let config = self.merchant_config(session.merchant_id).await?;
        // Nothing but the clocks moved: the refresh is not written (the order
        // or the decline that follows writes the session anyway).
        let stored = session.clone();
        let (refreshed, version) = self
            .rebuild(&config, session, Some(version), lines, input, Some(&stored))
            .await?;
        if refreshed.status != CheckoutStatus::ReadyForPayment {
            return Ok(Refreshed::NotPayable(refreshed));
        }
        if refreshed.quote.totals.total_minor == agreed_total || agreed_total == 0 {
            return Ok(Refreshed::Payable(refreshed, version));
        }
        let mut s = refreshed;
        s.payment_message = Some(Message::warning(
            WarningCode::PriceChange,
            Some("$.totals".into()),
            "The total changed since you last saw it. Please review and pay again.",
        ));
        Ok(Refreshed::NotPayable(
            self.write(s, version, HoldChange::Keep).await?,
        ))
    }

    /// Asks the provider, journaled: confirms a pending 3-D Secure payment, or
    /// authorises the session's total with the presented token (a returning
    /// shopper's token stands for their saved card). Returns the journaled
    /// attempt (with the order id the payment is for and the card it charged).
    async fn charge(
        &self,
        session: &CheckoutSession,
        payment: &PaymentInput,
    ) -> CheckoutResult<(PaymentAttempt, AuthorizeOutcome)> {
        let key = attempt_key(session);
        if let (Some(pending), Some(authenticated)) =
            (&session.pending_payment, payment.authenticated)
        {
            let attempt = self
                .store
                .get_payment_attempt(key)
                .await?
                .ok_or(CheckoutError::PaymentNotFound)?;
            let outcome = self
                .confirm_attempt(&attempt, &pending.provider_reference, authenticated)
                .await?;
            return Ok((attempt, outcome));
        }
        let saved = self.saved_card(session, &payment.token).await?;
        let token = saved
            .as_ref()
            .map_or_else(|| payment.token.clone(), |s| s.token.clone());
        // The credential is checked as for a new attempt (the common case,
        // without reading the journal first). A replay of a journaled attempt
        // is not refused by that check: a shared token already charged may no
        // longer look usable, and the replay charges nothing. Whatever card use
        // is worked out here, a replay keeps the one it was journaled with
        // (the journal's INSERT leaves an existing attempt as it is), so the
        // replay is the same call.
        let card_use = match self.card_use_of_credential(session, &token, saved).await {
            Ok(card_use) => card_use,
            Err(refused) => {
                if self.store.get_payment_attempt(key).await?.is_none() {
                    return Err(refused);
                }
                CardUse::OneOff
            }
        };
        let attempt = self.journal_attempt(session, &token, card_use).await?;
        let outcome = self.authorize_attempt(&attempt).await?;
        Ok((attempt, outcome))
    }

    /// Checks a credential for a new attempt, and how its card is to be used
    /// (saved for a shopper who asked to be remembered, or once).
    async fn card_use_of_credential(
        &self,
        session: &CheckoutSession,
        token: &str,
        saved: Option<SavedCard>,
    ) -> CheckoutResult<CardUse> {
        let live = self.live_provider(session.merchant_id).await?;
        self.check_credential(&live, session, token).await?;
        Ok(match saved {
            Some(saved) => saved.card_use,
            None => {
                let email = contact_key(session);
                self.card_use_for_new_card(&live, session, email.as_deref())
                    .await
            }
        })
    }

    /// A declined card: the stock goes back and the shopper may try another card
    /// (the next complete re-takes the stock under a new payment attempt; the
    /// decline's message is how it knows, see
    /// [`CheckoutSession::holds_released_by_decline`]).
    async fn record_decline(
        &self,
        mut s: CheckoutSession,
        version: i64,
        reason: &str,
    ) -> CheckoutResult<CheckoutSession> {
        apply(&mut s, Event::PaymentDeclined)?;
        s.pending_payment = None;
        s.payment_attempt += 1;
        s.payment_message = Some(Message::error(
            ErrorCode::PaymentDeclined,
            Some("$.payment_data".into()),
            reason,
        ));
        s.updated_at_ms = self.now_ms();
        self.write(s, version, HoldChange::ReleaseAll).await
    }

    /// The bank wants 3-D Secure: the session waits with the pending payment.
    async fn record_challenge(
        &self,
        mut s: CheckoutSession,
        version: i64,
        pending: PendingPayment,
    ) -> CheckoutResult<CheckoutSession> {
        apply(&mut s, Event::AuthenticationRequested)?;
        s.pending_payment = Some(pending);
        s.payment_message = Some(Message::error(
            ErrorCode::Requires3ds,
            Some("$.authentication_result".into()),
            "Your bank needs to confirm this payment (3-D Secure).",
        ));
        s.updated_at_ms = self.now_ms();
        self.write(s, version, HoldChange::Keep).await
    }

    /// Writes the order for an authorised payment in one transaction (stock
    /// committed, discounts counted, order numbered, session completed, the
    /// payment's journal entry `ordered`, the "remember me" opt-in taken) and
    /// returns the session with the opt-in. If that fails, nothing was written and
    /// the payment is given back before reporting, unless someone else (the
    /// recovery worker) settled it first.
    pub(crate) async fn finish_order(
        &self,
        mut session: CheckoutSession,
        version: i64,
        paid: Authorized,
    ) -> CheckoutResult<Finished> {
        let now = self.now_ms();
        let key = attempt_key(&session);
        apply(&mut session, Event::PaymentSucceeded)?;
        session.order_id = Some(paid.order_id);
        session.pending_payment = None;
        session.payment_message = None;
        session.updated_at_ms = now;
        let reference = paid.reference.clone();
        let provider = paid.provider.clone();
        let order = self.order_for(&session, paid, now);
        let demand = demand_by_variant(&current_lines(&session));
        let redeemed: Vec<_> = session
            .quote
            .applied_discounts
            .iter()
            .map(|d| d.discount_id)
            .collect();
        let access_token = crate::keys::random_token();
        let written = self
            .store
            .complete_checkout(&session, version, &demand, order, &access_token, &redeemed)
            .await;
        match written {
            Ok(CompletedCheckout { order, optin }) => {
                metrics::counter!("anycart_orders_total").increment(1);
                tracing::info!(session_id = %session.id, order_id = %order.id, number = order.number, total_minor = order.totals.total_minor, "order placed");
                Ok(Finished {
                    session,
                    optin,
                    order: Some(OrderRecord {
                        order,
                        access_token,
                    }),
                })
            }
            Err(e) => {
                tracing::warn!(session_id = %session.id, error = %e, "order write failed after payment; giving the payment back");
                if self.give_back(key, &provider, Some(&reference)).await
                    == GiveBack::SettledElsewhere
                {
                    // The recovery worker got there first: the order may exist.
                    if let Some((stored, _)) = self
                        .store
                        .get_session(session.merchant_id, session.id)
                        .await?
                        && stored.order_id == Some(paid_order(&session))
                        && stored.status == CheckoutStatus::Completed
                    {
                        // Its transaction took the opt-in; nobody is left to use it.
                        return Ok(Finished {
                            session: stored,
                            optin: None,
                            order: None,
                        });
                    }
                }
                Err(match e {
                    StoreError::VersionConflict | StoreError::PaymentSettled(_) => {
                        CheckoutError::ChangedWhilePaying
                    }
                    StoreError::Constraint(_) => CheckoutError::StockChanged,
                    other => other.into(),
                })
            }
        }
    }

    /// The order a paid session becomes (numbered by the store when written).
    fn order_for(&self, session: &CheckoutSession, paid: Authorized, now_ms: i64) -> Order {
        let shipping_title = session
            .selected_shipping
            .and_then(|id| {
                session
                    .quote
                    .fulfillment_options
                    .iter()
                    .find(|o| o.rate.id == id)
            })
            .map(|o| o.rate.title.clone());
        Order {
            id: session.order_id.unwrap_or_default(),
            merchant_id: session.merchant_id,
            session_id: session.id,
            number: 0,
            status: OrderStatus::Confirmed,
            currency: session.currency,
            lines: session.lines.clone(),
            totals: session.quote.totals,
            email: session.contact_email().cloned(),
            fulfillment: session.fulfillment.clone(),
            shipping_title,
            payment: PaymentRecord {
                provider: paid.provider,
                provider_reference: paid.reference,
                amount_minor: session.quote.totals.total_minor,
                card_last4: paid.card_last4,
                captured: paid.captured,
            },
            attribution: session.attribution.clone(),
            created_at_ms: now_ms,
        }
    }
}

/// The order id a completed session was paid for.
fn paid_order(session: &CheckoutSession) -> OrderId {
    session.order_id.unwrap_or_default()
}

/// A session refreshed before payment: ready to charge, or not (and why is in it).
enum Refreshed {
    Payable(CheckoutSession, i64),
    NotPayable(CheckoutSession),
}

fn outcome_label(o: &AuthorizeOutcome) -> &'static str {
    match o {
        AuthorizeOutcome::Authorized { .. } => "authorized",
        AuthorizeOutcome::Declined { .. } => "declined",
        AuthorizeOutcome::RequiresAuthentication { .. } => "requires_authentication",
    }
}
