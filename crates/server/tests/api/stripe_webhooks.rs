//! Stripe's webhooks at `/webhooks/stripe/{merchant_id}`, delivered by the fake
//! Stripe exactly as Stripe signs them: refunds made in the dashboard mirrored
//! once, anycart's own refunds settled when their answer was lost, disputes on the
//! order (and never turned back by a late event), captures made in the dashboard,
//! and forged, stale, tampered or replayed deliveries changing nothing.

use crate::helpers::*;
use crate::stripe::stripe_apps;
use anycart_checkout::clock::Clock;
use anycart_fake_stripe::{FakeStripe, Fault, Forgery};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Points the fake's webhook endpoint at the app's Stripe endpoint.
fn listen(app: &TestApp, fake: &FakeStripe) {
    fake.set_webhook_url(Some(format!(
        "{}/webhooks/stripe/{}",
        app.base, app.demo.merchant_id
    )));
}

/// What a merchant does in the Stripe dashboard: a POST with the secret key.
async fn dashboard(fake: &FakeStripe, path: &str, form: &[(&str, &str)]) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", fake.base_url))
        .bearer_auth(&fake.secret_key)
        .form(form)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

/// The Stripe PaymentIntent that paid `order` (its `payment_reference`).
async fn payment_intent_of(app: &TestApp, order: &str) -> String {
    app.order_view(order).await["payment_reference"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Every delivery so far was answered 200 (none refused, none failed).
fn all_deliveries_accepted(fake: &FakeStripe) {
    for d in fake.deliveries().into_iter().filter(|d| d.kind != "forged") {
        assert_eq!(d.status, 200, "{d:?}");
    }
}

#[tokio::test]
async fn a_refund_made_in_the_stripe_dashboard_is_mirrored_on_the_order_once() {
    for (app, fake) in stripe_apps().await {
        listen(&app, &fake);
        let order = app.paid_order("TEE-TRAIL-S", 2, true).await;
        let id = order["id"].as_str().unwrap();
        let pi = payment_intent_of(&app, id).await;
        dashboard(
            &fake,
            "/v1/refunds",
            &[("payment_intent", &pi), ("amount", "500")],
        )
        .await;
        fake.flush_webhooks().await;
        let view = app.order_view(id).await;
        assert_eq!(view["payment"]["refunded"], 500, "{view:#}");
        let refunds = view["refunds"].as_array().unwrap();
        assert_eq!(refunds.len(), 1, "{view:#}");
        assert_eq!(refunds[0]["source"], "provider");
        assert_eq!(refunds[0]["status"], "succeeded");

        // Stripe's retries of the same events, and a new event about the same
        // refund, record nothing twice.
        for event in fake.events() {
            fake.redeliver_event(event["id"].as_str().unwrap()).await;
        }
        let again = app.order_view(id).await;
        assert_eq!(again["payment"]["refunded"], 500);
        assert_eq!(again["refunds"].as_array().unwrap().len(), 1);

        // What is left is what anycart may still refund.
        let left = again["payment"]["refundable"].as_i64().unwrap();
        let too_much = app
            .refund(id, json!({"amount": left + 1}), Some("too-much"))
            .await;
        assert_eq!(too_much.status, StatusCode::CONFLICT, "{}", too_much.body);
        all_deliveries_accepted(&fake);
    }
}

#[tokio::test]
async fn an_anycart_refund_whose_answer_was_lost_is_settled_by_the_webhook() {
    for (app, fake) in stripe_apps().await {
        listen(&app, &fake);
        let order = app.paid_order("TEE-TRAIL-S", 1, true).await;
        let id = order["id"].as_str().unwrap();
        fake.fail_next(Fault::LoseAnswer {
            path_prefix: "/v1/refunds".into(),
        });
        let lost = app
            .refund(id, json!({"amount": 700}), Some("lost-answer"))
            .await;
        assert!(lost.status.is_server_error(), "{}", lost.body);
        fake.flush_webhooks().await;
        let view = app.order_view(id).await;
        let refunds = view["refunds"].as_array().unwrap();
        assert_eq!(
            refunds.len(),
            1,
            "one refund, not a mirrored second: {view:#}"
        );
        assert_eq!(refunds[0]["source"], "anycart");
        assert_eq!(refunds[0]["status"], "succeeded", "{view:#}");
        assert_eq!(view["payment"]["refunded"], 700);
        // The caller's retry finds it done and refunds nothing more.
        let retry = app
            .refund(id, json!({"amount": 700}), Some("lost-answer"))
            .await;
        assert_eq!(retry.status, StatusCode::CREATED, "{}", retry.body);
        assert_eq!(retry.body["refund"]["id"], refunds[0]["id"]);
        assert_eq!(fake.refunds().len(), 1);
        assert_eq!(app.order_view(id).await["payment"]["refunded"], 700);
    }
}

#[tokio::test]
async fn disputes_are_recorded_on_the_order_and_late_events_never_turn_them_back() {
    for (app, fake) in stripe_apps().await {
        listen(&app, &fake);
        let order = app.paid_order("TEE-TRAIL-S", 1, true).await;
        let id = order["id"].as_str().unwrap();
        let pi = payment_intent_of(&app, id).await;
        assert_eq!(
            fake.send_dispute_event("charge.dispute.created", &pi).await,
            200
        );
        let view = app.order_view(id).await;
        assert_eq!(view["disputes"][0]["status"], "needs_response", "{view:#}");
        // A second later Stripe closes it; then the "created" event comes again.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        assert_eq!(
            fake.send_dispute_event("charge.dispute.closed", &pi).await,
            200
        );
        let created = fake
            .events()
            .into_iter()
            .find(|e| e["type"] == "charge.dispute.created")
            .unwrap();
        assert_eq!(
            fake.redeliver_event(created["id"].as_str().unwrap()).await,
            200
        );
        let view = app.order_view(id).await;
        let disputes = view["disputes"].as_array().unwrap();
        assert_eq!(disputes.len(), 1, "{view:#}");
        assert_eq!(disputes[0]["status"], "lost");
    }
}

#[tokio::test]
async fn a_capture_made_in_the_dashboard_is_recorded_on_the_order() {
    for (app, fake) in stripe_apps().await {
        let mut settings = crate::stripe::stripe_settings(&fake);
        settings["capture"] = json!("on_fulfilment");
        let put = app
            .admin(Method::PUT, "/payment_provider", Some(settings))
            .await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.body);
        listen(&app, &fake);
        let order = app.paid_order("TEE-TRAIL-S", 1, true).await;
        let id = order["id"].as_str().unwrap();
        assert_eq!(app.order_view(id).await["payment"]["status"], "authorized");
        let pi = payment_intent_of(&app, id).await;
        dashboard(&fake, &format!("/v1/payment_intents/{pi}/capture"), &[]).await;
        fake.flush_webhooks().await;
        let view = app.order_view(id).await;
        assert_eq!(view["payment"]["status"], "captured", "{view:#}");
        assert_eq!(view["payment"]["captured"], view["payment"]["amount"]);
        all_deliveries_accepted(&fake);
    }
}

#[tokio::test]
async fn forged_stale_tampered_unsigned_and_unknown_deliveries_change_nothing() {
    for (app, fake) in stripe_apps().await {
        listen(&app, &fake);
        let order = app.paid_order("TEE-TRAIL-S", 1, true).await;
        let id = order["id"].as_str().unwrap();
        let pi = payment_intent_of(&app, id).await;
        // The app's manual clock stopped when it started; the fake signs with the
        // real time. Line them up so "301 s old" is 301 s old to the app too.
        let real_ms = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap();
        app.clock.advance_ms(real_ms - app.clock.now_ms());
        let dispute = json!({"id": "dp_forged", "object": "dispute", "payment_intent": pi,
            "amount": 100, "currency": "usd", "status": "lost", "reason": "fraudulent"});
        for forgery in [
            Forgery::WrongSecret,
            Forgery::Stale { age_secs: 301 },
            Forgery::TamperedBody,
            Forgery::Unsigned,
        ] {
            let status = fake
                .send_forged_event("charge.dispute.created", dispute.clone(), forgery.clone())
                .await;
            assert_eq!(status, 401, "{forgery:?}");
        }
        assert_eq!(app.order_view(id).await["disputes"], json!([]));

        // Correctly signed, but not an event: 400, nothing recorded.
        let body = "{\"not\": \"an event\"}";
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let signature = fake.sign_webhook(body, i64::try_from(now).unwrap());
        assert_eq!(fake.send_raw_event(body, &signature).await, 400);

        // Another merchant's endpoint (no Stripe there) and a malformed id.
        let post = |url: String| {
            let client = app.client.clone();
            async move { client.post(url).body("{}").send().await.unwrap().status() }
        };
        let stranger = anycart_core::MerchantId::new();
        assert_eq!(
            post(format!("{}/webhooks/stripe/{stranger}", app.base)).await,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            post(format!("{}/webhooks/stripe/not-a-merchant", app.base)).await,
            StatusCode::NOT_FOUND
        );
        assert_eq!(app.order_view(id).await["disputes"], json!([]));
    }
}
