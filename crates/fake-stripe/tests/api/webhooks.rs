//! Signed webhook deliveries, automatic and on demand, good and bad.

use crate::helpers::{Api, Endpoint, now, verify};
use anycart_fake_stripe::{Forgery, webhook_signature_header};
use serde_json::json;

const TOLERANCE_S: i64 = 300;

async fn with_endpoint(statuses: Vec<u16>) -> (Api, Endpoint) {
    let api = Api::start().await;
    let endpoint = Endpoint::start(statuses).await;
    api.stripe.set_webhook_url(Some(endpoint.url.clone()));
    (api, endpoint)
}

#[tokio::test]
async fn payments_emit_signed_events_as_stripe_does() {
    let (api, endpoint) = with_endpoint(vec![]).await;
    let r = api
        .pay(2000, "pm_card_visa", &[("metadata[order_id]", "ord_9")])
        .await;
    let pi = r.body["id"].as_str().unwrap().to_string();
    api.stripe.flush_webhooks().await;
    assert_eq!(
        endpoint.types(),
        vec![
            "payment_intent.created",
            "charge.succeeded",
            "payment_intent.succeeded"
        ]
    );
    for delivery in endpoint.received() {
        let header = delivery.signature.clone().expect("signed");
        verify(
            &api.stripe.webhook_secret,
            &header,
            &delivery.body,
            TOLERANCE_S,
        )
        .unwrap();
        assert!(verify("whsec_other", &header, &delivery.body, TOLERANCE_S).is_err());
    }
    let event = endpoint.received()[2].json();
    assert!(event["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(event["object"], "event");
    assert_eq!(event["livemode"], false);
    assert_eq!(
        event["api_version"],
        anycart_fake_stripe::DEFAULT_API_VERSION
    );
    assert!(event["created"].as_i64().unwrap() > 0);
    assert_eq!(event["data"]["object"]["id"], pi.as_str());
    assert_eq!(event["data"]["object"]["metadata"]["order_id"], "ord_9");
    assert_eq!(event["data"]["object"]["status"], "succeeded");
    // The event can be fetched back, as Stripe allows.
    let got = api
        .get(&format!("/v1/events/{}", event["id"].as_str().unwrap()))
        .send()
        .await;
    assert_eq!(got.body["type"], "payment_intent.succeeded");
}

#[tokio::test]
async fn declines_cancels_and_refunds_emit_their_events() {
    let (api, endpoint) = with_endpoint(vec![]).await;
    api.pay(2000, "pm_card_chargeDeclined", &[]).await;
    let held = api
        .pay(2000, "pm_card_visa", &[("capture_method", "manual")])
        .await;
    api.post(&format!(
        "/v1/payment_intents/{}/cancel",
        held.body["id"].as_str().unwrap()
    ))
    .send()
    .await;
    let paid = api.pay(2000, "pm_card_visa", &[]).await;
    api.post("/v1/refunds")
        .params(&[
            ("payment_intent", paid.body["id"].as_str().unwrap()),
            ("amount", "500"),
        ])
        .send()
        .await;
    api.stripe.flush_webhooks().await;
    let types = endpoint.types();
    for expected in [
        "payment_intent.payment_failed",
        "charge.failed",
        "payment_intent.amount_capturable_updated",
        "payment_intent.canceled",
        "refund.created",
        "charge.refunded",
    ] {
        assert!(
            types.iter().any(|t| t == expected),
            "{expected} in {types:?}"
        );
    }
    let refunded = endpoint
        .received()
        .into_iter()
        .map(|r| r.json())
        .find(|e| e["type"] == "charge.refunded")
        .unwrap();
    assert_eq!(refunded["data"]["object"]["object"], "charge");
    assert_eq!(refunded["data"]["object"]["amount_refunded"], 500);
}

#[tokio::test]
async fn only_enabled_event_types_are_delivered() {
    let (api, endpoint) = with_endpoint(vec![]).await;
    api.stripe
        .set_enabled_events(Some(vec!["payment_intent.succeeded".into()]));
    api.pay(2000, "pm_card_visa", &[]).await;
    api.stripe.flush_webhooks().await;
    assert_eq!(endpoint.types(), vec!["payment_intent.succeeded"]);
    assert!(
        api.stripe.events().len() >= 3,
        "all events are still recorded"
    );
}

#[tokio::test]
async fn a_failed_delivery_is_retried_with_the_same_event() {
    let (api, endpoint) = with_endpoint(vec![500, 503]).await;
    api.stripe
        .set_enabled_events(Some(vec!["payment_intent.succeeded".into()]));
    api.pay(2000, "pm_card_visa", &[]).await;
    api.stripe.flush_webhooks().await;
    let received = endpoint.received();
    assert_eq!(received.len(), 3);
    assert_eq!(received[0].json()["id"], received[2].json()["id"]);
    let statuses: Vec<u16> = api.stripe.deliveries().iter().map(|d| d.status).collect();
    assert_eq!(statuses, vec![500, 503, 200]);
}

#[tokio::test]
async fn events_on_demand_return_the_endpoint_status() {
    let (api, endpoint) = with_endpoint(vec![400]).await;
    let r = api.pay(2000, "pm_card_visa", &[]).await;
    api.stripe.flush_webhooks().await;
    let before = endpoint.received().len();
    let status = api
        .stripe
        .send_event("payment_intent.succeeded", r.body.clone())
        .await;
    assert_eq!(
        status, 200,
        "the queued 400 went to the first automatic delivery"
    );
    let got = &endpoint.received()[before];
    verify(
        &api.stripe.webhook_secret,
        got.signature.as_deref().unwrap(),
        &got.body,
        TOLERANCE_S,
    )
    .unwrap();
    assert_eq!(got.json()["data"]["object"]["id"], r.body["id"]);

    api.stripe.set_webhook_url(None);
    assert_eq!(
        api.stripe
            .send_event("payment_intent.succeeded", r.body)
            .await,
        0
    );
}

#[tokio::test]
async fn disputes_reference_the_charge_and_the_payment_intent() {
    let (api, endpoint) = with_endpoint(vec![]).await;
    api.stripe.set_enabled_events(Some(vec![
        "charge.dispute.created".into(),
        "charge.dispute.closed".into(),
    ]));
    let r = api.pay(2000, "pm_card_visa", &[]).await;
    let pi = r.body["id"].as_str().unwrap();
    assert_eq!(
        api.stripe
            .send_dispute_event("charge.dispute.created", pi)
            .await,
        200
    );
    assert_eq!(
        api.stripe
            .send_dispute_event("charge.dispute.closed", pi)
            .await,
        200
    );
    let events: Vec<_> = endpoint.received().iter().map(|r| r.json()).collect();
    let created = &events[0]["data"]["object"];
    let closed = &events[1]["data"]["object"];
    assert_eq!(created["object"], "dispute");
    assert!(created["id"].as_str().unwrap().starts_with("du_"));
    assert_eq!(created["charge"], r.body["latest_charge"]);
    assert_eq!(created["payment_intent"], pi);
    assert_eq!(created["amount"], 2000);
    assert_eq!(created["status"], "needs_response");
    assert_eq!(closed["id"], created["id"]);
    assert_eq!(closed["status"], "lost");
    // A disputed charge cannot be refunded.
    let refund = api
        .post("/v1/refunds")
        .param("payment_intent", pi)
        .send()
        .await;
    assert_eq!(refund.code(), "charge_disputed");
}

#[tokio::test]
async fn forged_stale_tampered_unsigned_and_replayed_deliveries() {
    let (api, endpoint) = with_endpoint(vec![]).await;
    let object = json!({"id": "pi_test", "object": "payment_intent"});
    let secret = api.stripe.webhook_secret.clone();
    for forgery in [
        Forgery::WrongSecret,
        Forgery::Stale { age_secs: 3600 },
        Forgery::TamperedBody,
        Forgery::Unsigned,
    ] {
        api.stripe
            .send_forged_event("payment_intent.succeeded", object.clone(), forgery.clone())
            .await;
        let got = endpoint.received().pop().unwrap();
        let verdict = match &got.signature {
            None => Err("unsigned"),
            Some(h) => verify(&secret, h, &got.body, TOLERANCE_S),
        };
        assert!(verdict.is_err(), "{forgery:?} must not verify");
    }
    // Stale: the signature itself is right, only the timestamp is old.
    let stale = &endpoint.received()[1];
    assert!(
        verify(
            &secret,
            stale.signature.as_deref().unwrap(),
            &stale.body,
            i64::MAX / 2
        )
        .is_ok()
    );

    // Replay: the same event id delivered twice, each time validly signed.
    api.stripe
        .send_event("payment_intent.succeeded", object.clone())
        .await;
    let first = endpoint.received().pop().unwrap();
    let id = first.json()["id"].as_str().unwrap().to_string();
    assert_eq!(api.stripe.redeliver_event(&id).await, 200);
    let second = endpoint.received().pop().unwrap();
    assert_eq!(second.json()["id"], id.as_str());
    verify(
        &secret,
        second.signature.as_deref().unwrap(),
        &second.body,
        TOLERANCE_S,
    )
    .unwrap();

    // Raw: any body and header.
    let body = r#"{"id":"evt_raw","type":"payment_intent.succeeded"}"#;
    let header = webhook_signature_header(&secret, now() - 10, body);
    assert_eq!(api.stripe.send_raw_event(body, &header).await, 200);
    let raw = endpoint.received().pop().unwrap();
    assert_eq!(raw.body, body);
    assert_eq!(raw.signature.as_deref(), Some(header.as_str()));
    assert_eq!(
        api.stripe.sign_webhook(body, 5),
        webhook_signature_header(&secret, 5, body)
    );
}
