//! Overload: a node whose admission lets two requests run at once and makes
//! the rest wait a millisecond, and a crowd of shoppers. Requests past the
//! limit are refused with `503 overloaded` (never a 500); a shopper who retries
//! with the same idempotency key ends with exactly one order and one charge.

use crate::helpers::{TestApp, apps_configured, payment};
use anycart_server::state::{AppState, ServeLimits};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const SHOPPERS: usize = 24;
/// Tries per request before the test gives up on the node.
const TRIES_MAX: usize = 500;

fn tiny_admission(mut state: AppState) -> AppState {
    let mut config = (*state.config).clone();
    config.limits = ServeLimits {
        requests_in_flight_max: 2,
        latency_target_ms: 1,
        queue_wait_ms_max: 1,
        ..config.limits
    };
    state.config = Arc::new(config);
    state
}

/// POSTs until the node admits the request; the answer and how many times it
/// was refused as overloaded.
async fn until_admitted(
    app: &TestApp,
    path: &str,
    body: serde_json::Value,
    key: &str,
) -> (serde_json::Value, StatusCode, usize) {
    for refused in 0..TRIES_MAX {
        let r = app.post_with(path, body.clone(), app.pk(), key).await;
        if r.status != StatusCode::SERVICE_UNAVAILABLE {
            return (r.body, r.status, refused);
        }
        assert_eq!(r.body["code"], "overloaded", "{:#}", r.body);
        assert!(r.headers.contains_key("retry-after"), "{:?}", r.headers);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("{path} refused {TRIES_MAX} times");
}

/// One shopper: create then pay, each retried with its own idempotency key
/// while the node refuses it. Returns how many refusals it met.
async fn shopper(app: Arc<TestApp>, variant: String, n: usize) -> usize {
    let (created, status, refused_create) = until_admitted(
        &app,
        "/checkout_sessions",
        json!({
            "currency": "usd",
            "line_items": [{"id": variant, "quantity": 1}],
            "buyer": {"email": format!("crowd{n}@example.com"), "first_name": "Crowd"},
            "fulfillment_details": {"name": "Crowd Shopper", "address": crate::helpers::address("US", "CA")},
        }),
        &format!("crowd-create-{n}"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created:#}");
    let id = created["id"].as_str().unwrap().to_string();
    let (paid, status, refused_pay) = until_admitted(
        &app,
        &format!("/checkout_sessions/{id}/complete"),
        payment("tok_visa"),
        &format!("crowd-pay-{n}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{paid:#}");
    assert_eq!(paid["status"], "completed", "{paid:#}");
    refused_create + refused_pay
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowd_past_the_limit_is_refused_fast_and_each_retry_pays_once() {
    for app in apps_configured(tiny_admission).await {
        let app = Arc::new(app);
        let variant = app.demo.variants[0].id.clone();
        crate::concurrency::set_stock(&app, &variant, 100).await;
        let before = app.available(&variant).await;
        let crowd: Vec<_> = (0..SHOPPERS)
            .map(|n| tokio::spawn(shopper(app.clone(), variant.clone(), n)))
            .collect();
        let mut refused = 0;
        for s in crowd {
            refused += s.await.unwrap();
        }
        assert!(
            refused > 0,
            "{}: the crowd never met the limit",
            app.backend
        );
        // One order and one charge per shopper, however often they retried.
        assert_eq!(
            before - app.available(&variant).await,
            SHOPPERS as i64,
            "{}",
            app.backend
        );
        let payments = app.sandbox.as_ref().unwrap().payments();
        assert_eq!(payments.len(), SHOPPERS, "{}", app.backend);
    }
}
