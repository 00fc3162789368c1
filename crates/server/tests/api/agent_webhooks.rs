//! Order webhooks to agent platforms: an order placed with a platform's key
//! reaches it as a signed `order_create`, then `order_update`s as it moves
//! (on the merchant's platform, shipped, refunded), each a full ACP `Order`;
//! through the same outbox as the platform push, with back-off and
//! dead-lettering, never in the checkout's way.

use crate::fake_agent::{FakeAgent, schema_errors};
use crate::helpers::*;
use anycart_connectors::delivery::{OUTBOX_ATTEMPTS_MAX, OUTBOX_BACKOFF_MAX_MS};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn events(fake: &FakeAgent) -> Vec<(String, String)> {
    fake.webhooks()
        .iter()
        .map(|w| {
            (
                w.body["type"].as_str().unwrap().to_string(),
                w.body["data"]["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_agent_platform_hears_of_its_orders_signed_as_they_move() {
    for app in apps().await {
        // Capture on fulfilment, so "shipped" is a status change too.
        let r = app
            .admin(
                Method::PUT,
                "/payment_provider",
                Some(json!({"provider": "sandbox", "capture": "on_fulfilment"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:#}", r.body);
        let fake = FakeAgent::start().await;
        let (platform, key) = app.agent_for(&fake, "openai", false).await;
        assert!(key.starts_with("ak_"));

        let paid = app.buy_with(&key, "TEE-TRAIL-S", json!({})).await;
        let order = paid.body["order"]["id"].as_str().unwrap().to_string();
        let view = app.order_view(&order).await;
        assert_eq!(
            view["attribution"],
            json!({"channel": "agent", "placement_id": null, "campaign": {"name": null, "source": null, "medium": null, "content": null}, "agent": {"protocol": "acp", "name": platform}}),
            "{app_backend}",
            app_backend = app.backend
        );

        // The order reaches the merchant's platform and the agent platform in one
        // run; its move to `processing` goes out on the next.
        app.deliver().await;
        app.deliver().await;
        let got = events(&fake);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, "order_create");
        assert_eq!(got[1], ("order_update".into(), "processing".into()));

        app.capture(&order).await;
        app.deliver().await;
        assert_eq!(
            events(&fake).last().unwrap(),
            &("order_update".into(), "shipped".into())
        );

        let refund = app
            .refund(&order, json!({"amount": 500}), Some("agent-refund-1"))
            .await;
        assert_eq!(refund.status, StatusCode::CREATED, "{:#}", refund.body);
        app.deliver().await;

        let all = fake.webhooks();
        let last = &all.last().unwrap().body["data"];
        assert_eq!(last["adjustments"][0]["type"], "refund");
        assert_eq!(last["adjustments"][0]["status"], "completed");
        assert_eq!(last["adjustments"][0]["amount"], 500);
        assert!(
            last["totals"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["type"] == "amount_refunded" && t["amount"] == 500)
        );
        assert_eq!(last["fulfillments"][0]["status"], "shipped");
        for w in &all {
            assert!(
                w.signature_ok,
                "Merchant-Signature must verify: {:#}",
                w.body
            );
            assert!(w.request_id.starts_with("obx_"));
            assert_eq!(w.body["data"]["id"], order);
            let errors = schema_errors("checkout", "Order", &w.body["data"]);
            assert!(errors.is_empty(), "{errors:#?}\n{:#}", w.body);
            assert!(
                w.body["data"]["permalink_url"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{}/orders/", app.base))
            );
        }
        // Nothing is sent twice.
        app.deliver().await;
        assert_eq!(fake.webhooks().len(), all.len());
    }
}

impl TestApp {
    async fn capture(&self, order: &str) {
        let r = self
            .admin(Method::POST, &format!("/orders/{order}/capture"), None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:#}", r.body);
    }
}

#[tokio::test]
async fn orders_through_other_keys_send_no_webhooks() {
    for app in apps().await {
        let fake = FakeAgent::start().await;
        app.agent_for(&fake, "openai", false).await;
        let session = app.ready_session(&app.variant("TEE-TRAIL-M"), 1).await;
        let paid = app
            .pay(session.body["id"].as_str().unwrap(), "tok_visa")
            .await;
        assert_eq!(paid.body["status"], "completed");
        app.deliver().await;
        app.deliver().await;
        assert!(fake.webhooks().is_empty(), "{:?}", events(&fake));
    }
}

#[tokio::test]
async fn an_unreachable_webhook_is_retried_then_dead_lettered_without_blocking_checkout() {
    for app in apps().await {
        // A port nothing listens on.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", closed.local_addr().unwrap());
        drop(closed);
        let r = app
            .register_agent(json!({"name": "gone", "webhook_url": url, "signing_secret": crate::fake_agent::SECRET}))
            .await;
        let key = r.body["api_key"].as_str().unwrap().to_string();

        let started = std::time::Instant::now();
        let paid = app.buy_with(&key, "TEE-TRAIL-S", json!({})).await;
        assert!(
            started.elapsed().as_secs() < 5,
            "checkout never waits for a webhook"
        );
        let order = paid.body["order"]["id"].as_str().unwrap().to_string();

        let mut dead = vec![];
        for _ in 0..=OUTBOX_ATTEMPTS_MAX {
            app.deliver().await;
            app.clock.advance_ms(OUTBOX_BACKOFF_MAX_MS + 1);
            dead = app
                .admin(Method::GET, "/outbox?state=dead", None)
                .await
                .body
                .as_array()
                .unwrap()
                .clone();
            if !dead.is_empty() {
                break;
            }
        }
        assert_eq!(dead.len(), 1, "{dead:#?}");
        assert_eq!(dead[0]["kind"], "agent.webhook");
        assert!(dead[0]["order_id"].as_str().unwrap().starts_with(&order));
        assert_eq!(dead[0]["attempts"], OUTBOX_ATTEMPTS_MAX);
        // The order itself went to the merchant's platform as usual.
        let view = app.order_view(&order).await;
        assert_eq!(view["status"], "processing", "{view:#}");
    }
}

#[tokio::test]
async fn a_refusing_platform_is_dead_lettered_at_once_and_retried_by_hand() {
    for app in apps().await {
        let fake = FakeAgent::start().await;
        let (_, key) = app.agent_for(&fake, "picky", false).await;
        fake.answer(401);
        app.buy_with(&key, "TEE-TRAIL-S", json!({})).await;
        app.deliver().await;
        let dead = app
            .admin(Method::GET, "/outbox?state=dead", None)
            .await
            .body
            .as_array()
            .unwrap()
            .clone();
        let item = dead
            .iter()
            .find(|d| d["kind"] == "agent.webhook")
            .expect("dead-lettered");
        assert!(item["last_error"].as_str().unwrap().contains("401"));
        assert_eq!(item["attempts"], 1);

        // The merchant fixes the cause and re-queues it.
        fake.answer(200);
        let id = item["id"].as_str().unwrap();
        let r = app
            .admin(Method::POST, &format!("/outbox/{id}/retry"), None)
            .await;
        assert!(r.status.is_success(), "{:#}", r.body);
        app.deliver().await;
        let got: Vec<Value> = fake.webhooks().into_iter().map(|w| w.body).collect();
        assert!(got.iter().any(|w| w["type"] == "order_create"), "{got:#?}");
    }
}

#[tokio::test]
async fn a_disabled_platform_s_key_stops_working_and_its_webhooks_stop() {
    for app in apps().await {
        let fake = FakeAgent::start().await;
        let (platform, key) = app.agent_for(&fake, "leaving", false).await;
        app.buy_with(&key, "TEE-TRAIL-S", json!({})).await;
        let r = app
            .admin(
                Method::POST,
                &format!("/agent_platforms/{platform}/disable"),
                None,
            )
            .await;
        assert_eq!(r.body["enabled"], false, "{:#}", r.body);
        app.deliver().await;
        assert!(
            fake.webhooks().is_empty(),
            "nothing goes to a disabled platform"
        );
        let refused = app
            .post_with(
                "/checkout_sessions",
                json!({"currency": "usd", "line_items": [{"id": app.variant("TEE-TRAIL-S")}]}),
                &key,
                "k-after-disable",
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert_eq!(refused.body["code"], "invalid_api_key");
    }
}
