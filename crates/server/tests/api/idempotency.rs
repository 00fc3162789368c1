//! ACP §6 idempotency over HTTP.

use crate::helpers::{API_VERSION, apps, payment, spawn_sqlite};
use anycart_core::{MerchantId, Money};
use anycart_payments::sandbox::SandboxProvider;
use anycart_payments::{
    AuthorizeOutcome, AuthorizeRequest, PaymentError, PaymentProvider, Refunded,
};
use anycart_store::IdempotencyScope;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[tokio::test]
async fn a_post_without_a_key_is_refused() {
    let app = spawn_sqlite(None).await;
    let req = app
        .client
        .post(format!("{}/checkout_sessions", app.base))
        .bearer_auth(app.pk())
        .header("API-Version", API_VERSION)
        .json(&json!({}));
    let r = app.raw(req).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["code"], "idempotency_key_required");
    assert_eq!(r.body["type"], "invalid_request");
    let long = "k".repeat(256);
    let r = app
        .post_with("/checkout_sessions", json!({}), app.pk(), &long)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn replays_return_the_identical_response_and_change_nothing() {
    for app in apps().await {
        let tee = app.variant("TEE-TRAIL-S");
        let before = app.available(&tee).await;
        let body = json!({"currency": "usd", "line_items": [{"id": tee, "quantity": 1}], "capabilities": {}});
        let first = app
            .post_with("/checkout_sessions", body.clone(), app.pk(), "create-1")
            .await;
        assert_eq!(first.status, StatusCode::CREATED);
        assert!(first.headers.get("idempotent-replayed").is_none());
        assert_eq!(first.headers["idempotency-key"], "create-1");
        // Same body with keys reordered is the same request.
        let reordered = json!({"capabilities": {}, "line_items": [{"quantity": 1, "id": tee}], "currency": "usd"});
        let again = app
            .post_with("/checkout_sessions", reordered, app.pk(), "create-1")
            .await;
        assert_eq!(again.status, StatusCode::CREATED);
        assert_eq!(again.body, first.body, "{}", app.backend);
        assert_eq!(again.headers["idempotent-replayed"], "true");
        assert_eq!(
            app.available(&tee).await,
            before - 1,
            "{}: the replay held nothing more",
            app.backend
        );

        let different = app.post_with("/checkout_sessions", json!({"currency": "usd", "line_items": [{"id": tee, "quantity": 2}], "capabilities": {}}), app.pk(), "create-1").await;
        assert_eq!(different.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(different.body["code"], "idempotency_conflict");

        // The same key on another endpoint is independent.
        let id = first.body["id"].as_str().unwrap();
        let update = app
            .post_with(
                &format!("/checkout_sessions/{id}"),
                json!({"buyer": {"email": "a@example.com"}}),
                app.pk(),
                "create-1",
            )
            .await;
        assert_eq!(update.status, StatusCode::OK);

        // Errors (4xx) are replayed too.
        let bad = app
            .post_with(
                "/checkout_sessions",
                json!({"currency": "usd", "line_items": []}),
                app.pk(),
                "bad-1",
            )
            .await;
        let bad_again = app
            .post_with(
                "/checkout_sessions",
                json!({"currency": "usd", "line_items": []}),
                app.pk(),
                "bad-1",
            )
            .await;
        assert_eq!((bad.status, &bad.body), (bad_again.status, &bad_again.body));
        assert_eq!(bad_again.headers["idempotent-replayed"], "true");
    }
}

#[tokio::test]
async fn keys_are_scoped_per_merchant() {
    let app = spawn_sqlite(None).await;
    let other = anycart_checkout::merchants::create_merchant(&app.state.store, "Other", 0)
        .await
        .unwrap();
    let other_pk = other.to_json().publishable_key.to_string();
    let tee = app.variant("TEE-TRAIL-S");
    let mine = app
        .post_with(
            "/checkout_sessions",
            json!({"currency": "usd", "line_items": [{"id": tee}], "capabilities": {}}),
            app.pk(),
            "shared",
        )
        .await;
    assert_eq!(mine.status, StatusCode::CREATED);
    // The other merchant's identical request is not a replay of ours (and cannot see our variant).
    let theirs = app
        .post_with(
            "/checkout_sessions",
            json!({"currency": "usd", "line_items": [{"id": tee}], "capabilities": {}}),
            &other_pk,
            "shared",
        )
        .await;
    assert_eq!(theirs.status, StatusCode::BAD_REQUEST);
    assert!(theirs.headers.get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn a_request_still_running_gets_409_with_retry_after() {
    let app = spawn_sqlite(None).await;
    let body = json!({"currency": "usd", "line_items": [{"id": app.variant("TEE-TRAIL-S")}], "capabilities": {}});
    let merchant = MerchantId::parse(&app.demo.merchant_id).unwrap();
    let scope = IdempotencyScope {
        merchant,
        endpoint: "POST /checkout_sessions".into(),
        key: "busy".into(),
    };
    let hash = anycart_server::idempotency::fingerprint(body.to_string().as_bytes());
    // Simulate another node holding the key right now.
    app.state
        .store
        .idempotency_begin(
            &scope,
            &hash,
            anycart_checkout::clock::Clock::now_ms(&app.clock),
            60_000,
        )
        .await
        .unwrap();
    let r = app
        .post_with("/checkout_sessions", body, app.pk(), "busy")
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["code"], "idempotency_in_flight");
    assert!(r.headers.get("retry-after").is_some());
}

#[tokio::test]
async fn a_key_whose_node_died_mid_request_is_taken_over_within_seconds() {
    use anycart_server::idempotency::IDEMPOTENCY_LOCK_MS;
    let app = spawn_sqlite(None).await;
    let body = json!({"currency": "usd", "line_items": [{"id": app.variant("TEE-TRAIL-S")}], "capabilities": {}});
    let merchant = MerchantId::parse(&app.demo.merchant_id).unwrap();
    let scope = IdempotencyScope {
        merchant,
        endpoint: "POST /checkout_sessions".into(),
        key: "orphan".into(),
    };
    let hash = anycart_server::idempotency::fingerprint(body.to_string().as_bytes());
    // A node claimed the key with the server's own lock, then died: nobody renews it.
    let now = anycart_checkout::clock::Clock::now_ms(&app.clock);
    app.state
        .store
        .idempotency_begin(&scope, &hash, now, IDEMPOTENCY_LOCK_MS)
        .await
        .unwrap();
    let waiting = app
        .post_with("/checkout_sessions", body.clone(), app.pk(), "orphan")
        .await;
    assert_eq!(waiting.status, StatusCode::CONFLICT);
    let retry_after: i64 = waiting.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after <= 5, "seconds, not a minute");
    // Six seconds later the retry runs (and its answer is kept for the next one).
    app.clock.advance_ms(6_000);
    let taken = app
        .post_with("/checkout_sessions", body.clone(), app.pk(), "orphan")
        .await;
    assert_eq!(taken.status, StatusCode::CREATED, "{}", taken.body);
    let replay = app
        .post_with("/checkout_sessions", body, app.pk(), "orphan")
        .await;
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(replay.body["id"], taken.body["id"]);
}

#[tokio::test]
async fn a_running_request_renews_its_key_so_nobody_takes_it_over() {
    let app = spawn_sqlite(None).await;
    let merchant = MerchantId::parse(&app.demo.merchant_id).unwrap();
    let scope = IdempotencyScope {
        merchant,
        endpoint: "POST /x".into(),
        key: "alive".into(),
    };
    let store = &app.state.store;
    assert!(matches!(
        store
            .idempotency_begin(&scope, "h", 0, 5_000)
            .await
            .unwrap(),
        anycart_store::IdempotencyBegin::Proceed
    ));
    // Renewed at 4 s: still the holder's at 8 s.
    assert!(store.idempotency_renew(&scope, 4_000, 5_000).await.unwrap());
    assert!(matches!(
        store
            .idempotency_begin(&scope, "h", 8_000, 5_000)
            .await
            .unwrap(),
        anycart_store::IdempotencyBegin::InFlight { .. }
    ));
    // Not renewed past 9 s: taken over.
    assert!(matches!(
        store
            .idempotency_begin(&scope, "h", 9_001, 5_000)
            .await
            .unwrap(),
        anycart_store::IdempotencyBegin::Proceed
    ));
    // A finished record is never renewed (nor re-opened by a late heartbeat).
    store.idempotency_finish(&scope, 201, "{}").await.unwrap();
    assert!(
        !store
            .idempotency_renew(&scope, 10_000, 5_000)
            .await
            .unwrap()
    );
}

/// A provider that is down for its first call, then delegates to the sandbox.
#[derive(Debug, Default)]
struct FlakyProvider {
    failed_once: AtomicBool,
    inner: SandboxProvider,
}

#[async_trait::async_trait]
impl PaymentProvider for FlakyProvider {
    fn name(&self) -> &'static str {
        "flaky"
    }
    async fn authorize(
        &self,
        request: &AuthorizeRequest,
    ) -> Result<AuthorizeOutcome, PaymentError> {
        if !self.failed_once.swap(true, Ordering::SeqCst) {
            return Err(PaymentError::Unavailable("simulated outage".into()));
        }
        self.inner.authorize(request).await
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

#[tokio::test]
async fn server_errors_are_never_stored_and_retries_never_double_charge() {
    let provider = Arc::new(FlakyProvider::default());
    let app = spawn_sqlite(Some(provider.clone())).await;
    let id = app.ready_session(&app.variant("TEE-TRAIL-S"), 1).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/checkout_sessions/{id}/complete");
    let outage = app
        .post_with(&path, payment("tok_visa"), app.pk(), "pay-1")
        .await;
    assert_eq!(outage.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(outage.body["type"], "service_unavailable");
    let retry = app
        .post_with(&path, payment("tok_visa"), app.pk(), "pay-1")
        .await;
    assert_eq!(retry.status, StatusCode::OK, "{:#}", retry.body);
    assert!(
        retry.headers.get("idempotent-replayed").is_none(),
        "the 503 was not stored"
    );
    assert_eq!(retry.body["status"], "completed");
    let replay = app
        .post_with(&path, payment("tok_visa"), app.pk(), "pay-1")
        .await;
    assert_eq!(replay.body, retry.body);
    // Completing again with a new key returns the order; nothing is charged twice.
    let again = app
        .post_with(&path, payment("tok_visa"), app.pk(), "pay-2")
        .await;
    assert_eq!(again.body["order"]["id"], retry.body["order"]["id"]);
    assert_eq!(provider.inner.payments().len(), 1);
}
