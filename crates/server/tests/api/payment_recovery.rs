//! No charge without an order, ever: a payment whose answer never reached the order
//! commit (a crash, a timeout after the provider charged) is journaled, and the
//! recovery worker finishes its order or gives the money back — never both, never
//! a second charge.

use crate::helpers::*;
use anycart_checkout::recovery::{PAYMENT_RECOVERY_AFTER_MS, Recovered};
use anycart_core::Money;
use anycart_payments::sandbox::{SandboxProvider, SandboxState};
use anycart_payments::{
    AuthorizeOutcome, AuthorizeRequest, PaymentError, PaymentProvider, Refunded,
};
use reqwest::StatusCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The sandbox, except that it can lose its next answer: the payment is taken,
/// then the caller hears "unavailable", as after a timeout or a crash.
#[derive(Debug, Default)]
struct LosesAnswers {
    lose_next: AtomicBool,
    inner: SandboxProvider,
}

#[async_trait::async_trait]
impl PaymentProvider for LosesAnswers {
    fn name(&self) -> &'static str {
        "sandbox"
    }
    async fn authorize(
        &self,
        request: &AuthorizeRequest,
    ) -> Result<AuthorizeOutcome, PaymentError> {
        let outcome = self.inner.authorize(request).await;
        if self.lose_next.swap(false, Ordering::SeqCst) {
            return Err(PaymentError::Unavailable("the answer was lost".into()));
        }
        outcome
    }
    async fn confirm_authentication(
        &self,
        r: &str,
        a: bool,
        c: bool,
    ) -> Result<AuthorizeOutcome, PaymentError> {
        self.inner.confirm_authentication(r, a, c).await
    }
    async fn capture(&self, r: &str, a: Money) -> Result<(), PaymentError> {
        self.inner.capture(r, a).await
    }
    async fn void(&self, r: &str) -> Result<(), PaymentError> {
        self.inner.void(r).await
    }
    async fn refund(&self, r: &str, a: Money, key: &str) -> Result<Refunded, PaymentError> {
        self.inner.refund(r, a, key).await
    }
}

/// Apps on every backend whose provider is a fresh [`LosesAnswers`], with it.
async fn apps_losing_answers() -> Vec<(TestApp, Arc<LosesAnswers>)> {
    let providers = std::sync::Mutex::new(Vec::new());
    let apps = apps_with(|| {
        let p = Arc::new(LosesAnswers::default());
        providers.lock().unwrap().push(p.clone());
        p
    })
    .await;
    apps.into_iter()
        .zip(providers.into_inner().unwrap())
        .collect()
}

/// A ready session whose payment is taken but whose answer is lost: 503.
async fn lost_payment(app: &TestApp, provider: &LosesAnswers) -> String {
    let id = app.ready_session(&app.variant("TEE-TRAIL-S"), 1).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    provider.lose_next.store(true, Ordering::SeqCst);
    let lost = app.pay(&id, "tok_visa").await;
    assert_eq!(
        lost.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        app.backend
    );
    assert_eq!(provider.inner.payments().len(), 1, "the provider took it");
    assert_eq!(orders(app).await, 0, "but no order exists yet");
    id
}

async fn orders(app: &TestApp) -> usize {
    app.admin(reqwest::Method::GET, "/orders", None).await.body["data"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_payment_whose_answer_was_lost_becomes_its_order_without_a_second_charge() {
    for (app, provider) in apps_losing_answers().await {
        let id = lost_payment(&app, &provider).await;
        // Too early: a request could still be working on it.
        assert!(
            app.state
                .checkout
                .recover_payments_once()
                .await
                .unwrap()
                .is_empty()
        );
        app.clock.advance_ms(PAYMENT_RECOVERY_AFTER_MS + 1);
        let recovered = app.state.checkout.recover_payments_once().await.unwrap();
        assert_eq!(recovered, vec![Recovered::Ordered], "{}", app.backend);
        let session = app.get(&format!("/checkout_sessions/{id}")).await;
        assert_eq!(session.body["status"], "completed", "{}", app.backend);
        assert_eq!(orders(&app).await, 1);
        // The shopper's own retry now finds the order; nothing is charged again.
        let retry = app.pay(&id, "tok_visa").await;
        assert_eq!(retry.body["order"]["id"], session.body["order"]["id"]);
        let payments = provider.inner.payments();
        assert_eq!(payments.len(), 1, "{}: one charge", app.backend);
        assert_eq!(payments[0].state, SandboxState::Captured);
        // Settled: later runs leave it alone.
        app.clock.advance_ms(PAYMENT_RECOVERY_AFTER_MS + 1);
        assert!(
            app.state
                .checkout
                .recover_payments_once()
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn a_lost_payment_whose_session_expired_meanwhile_is_given_back() {
    for (app, provider) in apps_losing_answers().await {
        let variant = app.variant("TEE-TRAIL-S");
        let before = app.available(&variant).await;
        let id = lost_payment(&app, &provider).await;
        app.clock
            .advance_ms(anycart_checkout::SESSION_TTL_MS_DEFAULT + 1);
        app.state.checkout.sweep_once().await.unwrap();
        let recovered = app.state.checkout.recover_payments_once().await.unwrap();
        assert_eq!(recovered, vec![Recovered::GivenBack], "{}", app.backend);
        let payments = provider.inner.payments();
        assert_eq!(payments.len(), 1);
        assert_eq!(payments[0].state, SandboxState::Voided, "{}", app.backend);
        assert_eq!(orders(&app).await, 0, "{}: no order", app.backend);
        assert_eq!(app.available(&variant).await, before, "the stock is back");
        let session = app.get(&format!("/checkout_sessions/{id}")).await;
        assert_eq!(session.body["status"], "expired");
    }
}

#[tokio::test]
async fn the_shoppers_retry_settles_a_lost_payment_and_recovery_then_has_nothing_to_do() {
    for (app, provider) in apps_losing_answers().await {
        let id = lost_payment(&app, &provider).await;
        // The retry replays the same attempt: the provider answers the first call's
        // result (same idempotency key), and the order is written with it.
        let retry = app.pay(&id, "tok_visa").await;
        assert_eq!(retry.status, StatusCode::OK, "{:#}", retry.body);
        assert_eq!(retry.body["status"], "completed");
        assert_eq!(provider.inner.payments().len(), 1, "{}", app.backend);
        app.clock.advance_ms(PAYMENT_RECOVERY_AFTER_MS + 1);
        assert!(
            app.state
                .checkout
                .recover_payments_once()
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(orders(&app).await, 1);
    }
}

#[tokio::test]
async fn a_different_card_on_a_journaled_attempt_is_not_charged_under_its_key() {
    for (app, provider) in apps_losing_answers().await {
        let id = lost_payment(&app, &provider).await;
        // Another card for the same attempt would need the same idempotency key with
        // other parameters: refused, nothing charged.
        let other = app.pay(&id, "tok_chargeDeclined").await;
        assert_eq!(other.status, StatusCode::CONFLICT, "{:#}", other.body);
        assert_eq!(provider.inner.payments().len(), 1, "{}", app.backend);
        // The first payment still becomes its order.
        app.clock.advance_ms(PAYMENT_RECOVERY_AFTER_MS + 1);
        let recovered = app.state.checkout.recover_payments_once().await.unwrap();
        assert_eq!(recovered, vec![Recovered::Ordered], "{}", app.backend);
    }
}
