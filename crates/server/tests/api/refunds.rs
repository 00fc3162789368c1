//! Refunds and captures through the admin API: on the sandbox and on the fake
//! Stripe, refunds add up, never exceed what was captured (also when they race),
//! return stock when asked, survive lost answers, and bad requests change nothing.

use crate::helpers::*;
use crate::stripe::{stripe_apps, stripe_settings};
use anycart_checkout::refunds::REFUND_RETRY_AFTER_MS;
use anycart_fake_stripe::Fault;
use rand::Rng;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

impl TestApp {
    /// `POST /v1/orders/{order}/refunds` with an Idempotency-Key.
    pub async fn refund(&self, order: &str, body: Value, key: Option<&str>) -> Reply {
        let mut req = self
            .client
            .post(format!("{}/v1/orders/{order}/refunds", self.base))
            .bearer_auth(self.sk())
            .json(&body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let body = r.json().await.unwrap_or(Value::Null);
        Reply {
            status,
            body,
            headers,
        }
    }

    /// A paid order of `qty` of `sku` (sandbox card or Stripe test card).
    pub async fn paid_order(&self, sku: &str, qty: i64, stripe: bool) -> Value {
        let session = self.ready_session(&self.variant(sku), qty).await;
        let id = session.body["id"].as_str().unwrap().to_string();
        let paid = if stripe {
            self.pay_stripe(&id, "pm_card_visa").await
        } else {
            self.pay(&id, "tok_visa").await
        };
        assert_eq!(paid.body["status"], "completed", "{}", paid.body);
        paid.body["order"].clone()
    }

    pub async fn order_view(&self, order: &str) -> Value {
        self.admin(Method::GET, &format!("/orders/{order}"), None)
            .await
            .body
    }
}

fn key() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[tokio::test]
async fn sandbox_refunds_add_up_return_stock_and_stop_at_what_was_captured() {
    for app in apps().await {
        let sku = "TEE-TRAIL-S";
        let variant = app.variant(sku);
        let before = app.available(&variant).await;
        let order = app.paid_order(sku, 2, false).await;
        let order_id = order["id"].as_str().unwrap();
        let line = order["line_items"][0]["id"].as_str().unwrap();
        let total = order["totals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "total")
            .unwrap()["amount"]
            .as_i64()
            .unwrap();
        assert_eq!(app.available(&variant).await, before - 2);

        // One unit back, with its share of tax, and into stock.
        let k1 = key();
        let body = json!({"line_items": [{"id": line, "quantity": 1}], "restock": true, "reason": "too small"});
        let one = app.refund(order_id, body.clone(), Some(&k1)).await;
        assert_eq!(one.status, StatusCode::CREATED, "{}", one.body);
        assert_eq!(one.body["refund"]["status"], "succeeded");
        let first = one.body["refund"]["amount"].as_i64().unwrap();
        assert!(first > 0 && first < total);
        assert_eq!(one.body["payment"]["refunded"], first);
        assert_eq!(app.available(&variant).await, before - 1, "restocked");

        // The same key again: the same refund, nothing more refunded or restocked.
        let again = app.refund(order_id, body, Some(&k1)).await;
        assert_eq!(again.status, StatusCode::CREATED);
        assert_eq!(again.body["refund"]["id"], one.body["refund"]["id"]);
        assert_eq!(again.body["payment"]["refunded"], first);
        assert_eq!(app.available(&variant).await, before - 1);
        // The same key with another body is refused.
        let reused = app.refund(order_id, json!({"amount": 1}), Some(&k1)).await;
        assert_eq!(
            reused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reused.body
        );
        assert_eq!(reused.body["code"], "idempotency_conflict");

        // The refunded unit cannot be refunded twice as a line.
        let twice = app
            .refund(
                order_id,
                json!({"line_items": [{"id": line, "quantity": 2}]}),
                Some(&key()),
            )
            .await;
        assert_eq!(twice.status, StatusCode::BAD_REQUEST, "{}", twice.body);
        assert_eq!(twice.body["param"], "$.line_items[0].quantity");

        // Everything left, then nothing is left.
        let rest = app.refund(order_id, json!({}), Some(&key())).await;
        assert_eq!(rest.status, StatusCode::CREATED, "{}", rest.body);
        assert_eq!(rest.body["refund"]["amount"], total - first);
        assert_eq!(rest.body["payment"]["refundable"], 0);
        let more = app
            .refund(order_id, json!({"amount": 1}), Some(&key()))
            .await;
        assert_eq!(more.status, StatusCode::CONFLICT, "{}", more.body);
        assert_eq!(more.body["code"], "refund_exceeds_remaining");

        let view = app.order_view(order_id).await;
        assert_eq!(view["payment"]["refunded"], total);
        assert_eq!(view["refunds"].as_array().unwrap().len(), 2);
        let sandbox = app.sandbox.as_ref().unwrap().payments();
        let paid = sandbox
            .iter()
            .find(|p| p.reference == view["payment_reference"])
            .unwrap();
        assert_eq!(paid.refunded_minor, total, "the provider agrees");
    }
}

#[tokio::test]
async fn bad_refund_requests_are_refused_and_change_nothing() {
    for app in apps().await {
        let order = app.paid_order("TEE-TRAIL-S", 1, false).await;
        let order_id = order["id"].as_str().unwrap();
        let cases = [
            (json!({"amount": 0}), StatusCode::BAD_REQUEST),
            (json!({"amount": -5}), StatusCode::BAD_REQUEST),
            (json!({"amount": 100_000_000}), StatusCode::CONFLICT),
            (
                json!({"line_items": [{"id": "li_nope", "quantity": 1}]}),
                StatusCode::BAD_REQUEST,
            ),
            (
                json!({"line_items": [{"id": order["line_items"][0]["id"], "quantity": 0}]}),
                StatusCode::BAD_REQUEST,
            ),
            (json!({"surprise": true}), StatusCode::BAD_REQUEST),
            (json!({"amount": "ten"}), StatusCode::BAD_REQUEST),
        ];
        for (body, status) in cases {
            let r = app.refund(order_id, body.clone(), Some(&key())).await;
            assert_eq!(r.status, status, "{body}: {}", r.body);
            assert!(r.body["code"].is_string(), "{}", r.body);
        }
        let no_key = app.refund(order_id, json!({}), None).await;
        assert_eq!(no_key.status, StatusCode::BAD_REQUEST);
        assert_eq!(no_key.body["code"], "idempotency_key_required");
        let unknown = app
            .refund(
                "ord_00000000000000000000000000000000",
                json!({}),
                Some(&key()),
            )
            .await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        let garbage = app.refund("not-an-id", json!({}), Some(&key())).await;
        assert_eq!(garbage.status, StatusCode::NOT_FOUND);
        let view = app.order_view(order_id).await;
        assert_eq!(view["payment"]["refunded"], 0);
        assert!(view["refunds"].as_array().unwrap().is_empty());
    }
}

#[tokio::test]
async fn racing_refunds_never_take_out_more_than_was_captured() {
    for app in apps().await {
        let order = app.paid_order("TEE-TRAIL-S", 3, false).await;
        let order_id = order["id"].as_str().unwrap().to_string();
        let captured = app.order_view(&order_id).await["payment"]["captured"]
            .as_i64()
            .unwrap();
        let mut rng = rand::rng();
        let amounts: Vec<i64> = (0..12)
            .map(|_| rng.random_range(1..=captured / 3))
            .collect();
        let app = std::sync::Arc::new(app);
        let tasks: Vec<_> = amounts
            .iter()
            .map(|a| {
                let app = app.clone();
                let order_id = order_id.clone();
                let a = *a;
                tokio::spawn(async move {
                    app.refund(&order_id, json!({"amount": a}), Some(&key()))
                        .await
                })
            })
            .collect();
        let mut accepted = 0;
        for (t, a) in tasks.into_iter().zip(&amounts) {
            let r = t.await.unwrap();
            match r.status {
                StatusCode::CREATED => accepted += a,
                StatusCode::CONFLICT => assert_eq!(r.body["code"], "refund_exceeds_remaining"),
                // SQLite's single writer may be busy under the burst: a clean retryable refusal.
                StatusCode::SERVICE_UNAVAILABLE => {}
                other => panic!("{other}: {}", r.body),
            }
        }
        let view = app.order_view(&order_id).await;
        assert!(accepted <= captured, "{accepted} > {captured}");
        assert_eq!(view["payment"]["refunded"], accepted);
        let sandbox = app.sandbox.as_ref().unwrap().payments();
        let paid = sandbox
            .iter()
            .find(|p| p.reference == view["payment_reference"])
            .unwrap();
        assert_eq!(paid.refunded_minor, accepted, "the provider agrees");
    }
}

#[tokio::test]
async fn stripe_refunds_half_then_the_rest_and_agree_with_stripe() {
    for (app, fake) in stripe_apps().await {
        let order = app.paid_order("TEE-TRAIL-S", 2, true).await;
        let order_id = order["id"].as_str().unwrap();
        let view = app.order_view(order_id).await;
        let captured = view["payment"]["captured"].as_i64().unwrap();
        let half = captured / 2;
        let r = app
            .refund(order_id, json!({"amount": half}), Some(&key()))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert!(
            r.body["refund"]["provider_reference"]
                .as_str()
                .unwrap()
                .starts_with("re_")
        );
        let pi = &fake.payment_intents()[0];
        assert_eq!(pi.amount_refunded, half);
        let refund_request = fake
            .requests()
            .into_iter()
            .find(|q| q.method == "POST" && q.path == "/v1/refunds")
            .unwrap();
        assert_eq!(
            refund_request.idempotency_key,
            Some(format!(
                "refund-{}",
                r.body["refund"]["id"].as_str().unwrap()
            ))
        );
        let rest = app.refund(order_id, json!({}), Some(&key())).await;
        assert_eq!(rest.body["refund"]["amount"], captured - half);
        assert_eq!(fake.payment_intents()[0].amount_refunded, captured);
        let over = app
            .refund(order_id, json!({"amount": 1}), Some(&key()))
            .await;
        assert_eq!(over.status, StatusCode::CONFLICT);
        assert_eq!(fake.refunds().len(), 2);
    }
}

#[tokio::test]
async fn a_lost_stripe_refund_answer_is_resumed_never_doubled() {
    for (app, fake) in stripe_apps().await {
        let order = app.paid_order("TEE-TRAIL-S", 1, true).await;
        let order_id = order["id"].as_str().unwrap();
        let k = key();
        fake.fail_next(Fault::LoseAnswer {
            path_prefix: "/v1/refunds".into(),
        });
        let lost = app.refund(order_id, json!({"amount": 500}), Some(&k)).await;
        assert_eq!(
            lost.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            lost.body
        );
        let view = app.order_view(order_id).await;
        assert_eq!(view["refunds"][0]["status"], "requested");
        assert_eq!(
            view["payment"]["refunded"], 500,
            "reserved while unanswered"
        );
        let retried = app.refund(order_id, json!({"amount": 500}), Some(&k)).await;
        assert_eq!(retried.status, StatusCode::CREATED, "{}", retried.body);
        assert_eq!(retried.body["refund"]["status"], "succeeded");
        assert_eq!(fake.refunds().len(), 1, "one refund at Stripe");
        assert_eq!(fake.payment_intents()[0].amount_refunded, 500);

        // A refund nobody retries is finished by the worker.
        fake.fail_next(Fault::Status {
            path_prefix: "/v1/refunds".into(),
            status: 500,
        });
        let failed = app
            .refund(order_id, json!({"amount": 300}), Some(&key()))
            .await;
        assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE);
        app.clock.advance_ms(REFUND_RETRY_AFTER_MS + 1);
        let settled = app.state.checkout.retry_refunds_once().await.unwrap();
        assert_eq!(settled, 1);
        assert_eq!(fake.payment_intents()[0].amount_refunded, 800);
        let view = app.order_view(order_id).await;
        assert_eq!(view["payment"]["refunded"], 800);
        assert!(
            view["refunds"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["status"] == "succeeded")
        );
    }
}

#[tokio::test]
async fn an_order_authorised_for_capture_on_fulfilment_is_captured_then_refundable() {
    for (app, fake) in stripe_apps().await {
        let mut settings = stripe_settings(&fake);
        settings["capture"] = json!("on_fulfilment");
        app.admin(Method::PUT, "/payment_provider", Some(settings))
            .await;
        let order = app.paid_order("TEE-TRAIL-S", 1, true).await;
        let order_id = order["id"].as_str().unwrap();
        let unpaid = app.refund(order_id, json!({}), Some(&key())).await;
        assert_eq!(unpaid.status, StatusCode::CONFLICT, "{}", unpaid.body);
        assert_eq!(unpaid.body["code"], "invalid_payment_state");
        assert_eq!(
            app.order_view(order_id).await["payment"]["status"],
            "authorized"
        );

        let capture = |app: &TestApp| {
            app.client
                .post(format!("{}/v1/orders/{order_id}/capture", app.base))
                .bearer_auth(app.sk())
                .send()
        };
        let captured = capture(&app).await.unwrap();
        assert_eq!(captured.status(), StatusCode::OK);
        let body: Value = captured.json().await.unwrap();
        assert_eq!(body["status"], "captured");
        assert_eq!(fake.payment_intents()[0].status, "succeeded");
        let twice = capture(&app).await.unwrap();
        assert_eq!(twice.status(), StatusCode::OK, "capturing twice is a no-op");
        let refund = app.refund(order_id, json!({}), Some(&key())).await;
        assert_eq!(refund.status, StatusCode::CREATED, "{}", refund.body);
    }
}
