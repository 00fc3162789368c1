//! Stripe's webhooks for a merchant (`POST /webhooks/stripe/{merchant_id}`).
//!
//! A delivery is verified with the merchant's webhook secret
//! ([`anycart_payments::stripe::webhook::verify`]), then acted on once per event
//! id: each effect is idempotent on its own (a capture only moves an
//! `authorized` payment, refunds are keyed by Stripe's refund id, disputes only
//! move forward in time) and the event id is recorded after, so a crash in
//! between is repaired by Stripe's retry and a replay changes nothing.
//!
//! - `payment_intent.succeeded`: an authorised order's payment is captured (an
//!   asynchronous method settled, or a capture made in the dashboard). A payment
//!   with no order yet is left to the recovery worker, which waits until no
//!   request can still be writing that order.
//! - `payment_intent.payment_failed`: an order's authorised payment failed.
//! - refunds (`charge.refunded`, `refund.*`): the payment's refunds are read from
//!   Stripe and reconciled: anycart's own (tagged with
//!   [`REFUND_METADATA_KEY`]) are settled if their answer was lost, the ones made
//!   in the Stripe dashboard are mirrored on the order.
//! - `charge.dispute.*`: the dispute is recorded on the order.

use crate::CheckoutService;
use crate::error::{CheckoutError, CheckoutResult, WebhookRefusal};
use anycart_core::order::Order;
use anycart_core::{MerchantId, RefundId};
use anycart_payments::stripe::webhook::{self, DisputeEvent, EventAction};
use anycart_payments::stripe::{REFUND_METADATA_KEY, StripeProvider, wire};
use anycart_store::{
    Dispute, OrderPayment, OrderPaymentStatus, PaymentProviderSettings, Refund, RefundSource,
    RefundState,
};

/// The name Stripe's events are recorded under in `processed_webhooks`.
const STRIPE_SOURCE: &str = "stripe";

/// What a delivery came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StripeEventOutcome {
    /// Acted on; the label says how (`captured`, `payment_failed`,
    /// `refunds_reconciled`, `dispute_recorded`, `awaiting_recovery`,
    /// `not_an_anycart_payment`, `ignored`).
    Applied(&'static str),
    /// This event id was acted on before: nothing changed.
    Duplicate,
}

impl CheckoutService {
    /// Verifies and acts on one Stripe delivery for `merchant`.
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant))]
    pub async fn receive_stripe_event(
        &self,
        merchant: MerchantId,
        signature: Option<&str>,
        body: &[u8],
    ) -> CheckoutResult<StripeEventOutcome> {
        let settings = match self
            .store
            .payment_provider_named(merchant, STRIPE_SOURCE)
            .await?
            .map(|r| r.settings)
        {
            Some(PaymentProviderSettings::Stripe(s)) => s,
            _ => return Err(CheckoutError::Webhook(WebhookRefusal::NotConfigured)),
        };
        let now_s = self.now_ms() / 1000;
        let event = webhook::verify(settings.webhook_secret.expose(), signature, body, now_s)
            .map_err(|e| {
                if e.is_forgery() {
                    tracing::warn!(error = %e, "Stripe webhook refused");
                    CheckoutError::Webhook(WebhookRefusal::Forged(e.to_string()))
                } else {
                    CheckoutError::Webhook(WebhookRefusal::Unreadable(e.to_string()))
                }
            })?;
        if self
            .store
            .webhook_seen(merchant, STRIPE_SOURCE, &event.id)
            .await?
        {
            return Ok(StripeEventOutcome::Duplicate);
        }
        let action = webhook::action_of(&event)
            .map_err(|e| CheckoutError::Webhook(WebhookRefusal::Unreadable(e.to_string())))?;
        let stripe = crate::payment_providers::stripe_provider(&settings)?;
        let label = self
            .act_on(merchant, &stripe, action, event.created * 1000)
            .await?;
        self.store
            .record_webhook(merchant, STRIPE_SOURCE, &event.id, label, self.now_ms())
            .await?;
        tracing::info!(event_id = %event.id, kind = %event.kind, outcome = label, "Stripe event");
        Ok(StripeEventOutcome::Applied(label))
    }

    async fn act_on(
        &self,
        merchant: MerchantId,
        stripe: &StripeProvider,
        action: EventAction,
        event_at_ms: i64,
    ) -> CheckoutResult<&'static str> {
        let payment_intent = match &action {
            EventAction::PaymentSucceeded { payment_intent, .. }
            | EventAction::PaymentFailed { payment_intent }
            | EventAction::RefundsChanged { payment_intent } => Some(payment_intent.clone()),
            EventAction::Dispute(d) => d.payment_intent.clone(),
            EventAction::Ignored => return Ok("ignored"),
        };
        let Some(pi) = payment_intent else {
            return Ok("not_an_anycart_payment");
        };
        let Some(payment) = self
            .store
            .order_payment_by_reference(merchant, STRIPE_SOURCE, &pi)
            .await?
        else {
            return Ok(match action {
                // Charged, but its order is not written (yet): the recovery
                // worker finishes or gives it back once no request can race it.
                EventAction::PaymentSucceeded { .. } => "awaiting_recovery",
                _ => "not_an_anycart_payment",
            });
        };
        let now = self.now_ms();
        Ok(match action {
            EventAction::PaymentSucceeded {
                amount_received, ..
            } => {
                let captured = amount_received.min(payment.amount_minor);
                self.store
                    .record_capture(merchant, payment.order_id, captured, now)
                    .await?;
                "captured"
            }
            EventAction::PaymentFailed { .. } => {
                if self
                    .store
                    .end_authorization(merchant, payment.order_id, OrderPaymentStatus::Failed, now)
                    .await?
                {
                    tracing::warn!(order_id = %payment.order_id, "the order's payment failed at Stripe; the order is not paid");
                }
                "payment_failed"
            }
            EventAction::RefundsChanged { .. } => {
                self.reconcile_refunds(stripe, &payment).await?;
                "refunds_reconciled"
            }
            EventAction::Dispute(d) => {
                self.store
                    .upsert_dispute(&dispute_of(merchant, &payment, d, event_at_ms))
                    .await?;
                "dispute_recorded"
            }
            EventAction::Ignored => "ignored",
        })
    }

    /// Brings the order's refunds in line with the payment's refunds at Stripe.
    async fn reconcile_refunds(
        &self,
        stripe: &StripeProvider,
        payment: &OrderPayment,
    ) -> CheckoutResult<()> {
        let order = self
            .store
            .get_order(payment.merchant_id, payment.order_id)
            .await?
            .ok_or(CheckoutError::NotFound(crate::Resource::Order))?
            .order;
        let refunds = stripe
            .list_refunds(&payment.provider_reference)
            .await
            .map_err(|e| CheckoutError::PaymentUnavailable(e.to_string()))?;
        // Oldest first, so mirrored refunds are recorded in the order they were made.
        for refund in refunds.iter().rev() {
            match refund.metadata.get(REFUND_METADATA_KEY) {
                Some(key) => self.settle_own_refund(&order, key, refund).await?,
                None => {
                    self.mirror_dashboard_refund(&order, payment, refund)
                        .await?
                }
            }
        }
        Ok(())
    }

    /// One of anycart's refunds whose answer may have been lost: settled or
    /// failed as Stripe reports it. (`void-…` give-backs have no refund row.)
    async fn settle_own_refund(
        &self,
        order: &Order,
        key: &str,
        at_stripe: &wire::Refund,
    ) -> CheckoutResult<()> {
        let Some(id) = key
            .strip_prefix("refund-")
            .and_then(|id| id.parse::<RefundId>().ok())
        else {
            return Ok(());
        };
        let Some(refund) = self.store.get_refund(order.merchant_id, id).await? else {
            return Ok(());
        };
        match refund_state(&at_stripe.status) {
            Some(state) => {
                self.accept_refund(order, &refund, state, &at_stripe.id)
                    .await?;
            }
            None => {
                let why = format!("Stripe refund {} {}", at_stripe.id, at_stripe.status);
                self.store.fail_refund(&refund, &why, self.now_ms()).await?;
            }
        }
        Ok(())
    }

    /// A refund made in the Stripe dashboard: recorded on the order once (keyed
    /// by Stripe's id), failed again if Stripe later fails it.
    async fn mirror_dashboard_refund(
        &self,
        order: &Order,
        payment: &OrderPayment,
        at_stripe: &wire::Refund,
    ) -> CheckoutResult<()> {
        let known = self
            .store
            .get_refund_by_provider_reference(order.merchant_id, &at_stripe.id)
            .await?;
        let now = self.now_ms();
        match (known, refund_state(&at_stripe.status)) {
            (None, Some(state)) => {
                let mirrored = Refund {
                    id: RefundId::new(),
                    merchant_id: order.merchant_id,
                    order_id: order.id,
                    source: RefundSource::Provider,
                    idempotency_key: None,
                    request_hash: None,
                    amount_minor: at_stripe.amount,
                    currency: payment.currency.clone(),
                    lines: Vec::new(),
                    restock: false,
                    reason: at_stripe.reason.clone(),
                    state,
                    provider_reference: Some(at_stripe.id.clone()),
                    platform_reference: None,
                    failure: None,
                    created_at_ms: at_stripe.created.saturating_mul(1000),
                    updated_at_ms: now,
                };
                if self.store.mirror_refund(&mirrored).await? {
                    tracing::info!(order_id = %order.id, refund = %at_stripe.id, amount_minor = at_stripe.amount, "refund made in the Stripe dashboard recorded on the order");
                }
            }
            (Some(known), Some(RefundState::Succeeded)) if known.state == RefundState::Pending => {
                self.store
                    .settle_refund(&known, RefundState::Succeeded, None, &[], now)
                    .await?;
            }
            (Some(known), None) => {
                let why = format!("Stripe refund {} {}", at_stripe.id, at_stripe.status);
                self.store.fail_refund(&known, &why, now).await?;
            }
            // Failed before anycart heard of it, or nothing new.
            (None, None) | (Some(_), Some(_)) => {}
        }
        Ok(())
    }
}

/// A refund's state from Stripe's status; `None` for one that did not go through.
fn refund_state(status: &str) -> Option<RefundState> {
    match status {
        "succeeded" => Some(RefundState::Succeeded),
        "pending" | "requires_action" => Some(RefundState::Pending),
        _ => None,
    }
}

fn dispute_of(
    merchant: MerchantId,
    payment: &OrderPayment,
    d: DisputeEvent,
    event_at_ms: i64,
) -> Dispute {
    Dispute {
        merchant_id: merchant,
        dispute_id: d.id,
        order_id: payment.order_id,
        status: d.status,
        reason: d.reason,
        amount_minor: d.amount,
        currency: d.currency,
        created_at_ms: event_at_ms,
        updated_at_ms: event_at_ms,
    }
}
