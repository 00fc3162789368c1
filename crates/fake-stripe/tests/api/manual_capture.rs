//! `capture_method=manual`: authorise, then capture (partly) or cancel.

use crate::helpers::Api;

async fn authorised(api: &Api, amount: i64) -> String {
    let r = api
        .pay(amount, "pm_card_visa", &[("capture_method", "manual")])
        .await;
    assert_eq!(r.body["status"], "requires_capture");
    assert_eq!(r.body["amount_capturable"], amount);
    assert_eq!(r.body["amount_received"], 0);
    r.body["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn capture_takes_up_to_the_capturable_amount_once() {
    let api = Api::start().await;
    let id = authorised(&api, 5000).await;
    let r = api
        .post(&format!("/v1/payment_intents/{id}/capture"))
        .param("amount_to_capture", "6000")
        .send()
        .await;
    assert_eq!((r.status, r.code()), (400, "amount_too_large"));
    assert_eq!(r.body["error"]["param"], "amount_to_capture");
    let r = api
        .post(&format!("/v1/payment_intents/{id}/capture"))
        .param("amount_to_capture", "4000")
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "succeeded");
    assert_eq!(r.body["amount_received"], 4000);
    assert_eq!(r.body["amount_capturable"], 0);
    let view = &api.stripe.payment_intents()[0];
    assert_eq!(view.amount_captured, 4000);
    let r = api
        .post(&format!("/v1/payment_intents/{id}/capture"))
        .send()
        .await;
    assert_eq!(
        (r.status, r.code()),
        (400, "payment_intent_unexpected_state")
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("status of succeeded")
    );
}

#[tokio::test]
async fn capture_without_an_amount_takes_everything() {
    let api = Api::start().await;
    let id = authorised(&api, 5000).await;
    let r = api
        .post(&format!("/v1/payment_intents/{id}/capture"))
        .send()
        .await;
    assert_eq!(r.body["amount_received"], 5000);
    let charge = api
        .get(&format!(
            "/v1/charges/{}",
            r.body["latest_charge"].as_str().unwrap()
        ))
        .send()
        .await;
    assert_eq!(charge.body["captured"], true);
    assert_eq!(charge.body["amount_captured"], 5000);
}

#[tokio::test]
async fn cancel_releases_an_authorisation_and_only_works_from_cancelable_states() {
    let api = Api::start().await;
    let id = authorised(&api, 5000).await;
    let r = api
        .post(&format!("/v1/payment_intents/{id}/cancel"))
        .param("cancellation_reason", "nope")
        .send()
        .await;
    assert_eq!(r.body["error"]["param"], "cancellation_reason");
    let r = api
        .post(&format!("/v1/payment_intents/{id}/cancel"))
        .param("cancellation_reason", "requested_by_customer")
        .send()
        .await;
    assert_eq!(r.body["status"], "canceled");
    assert_eq!(r.body["cancellation_reason"], "requested_by_customer");
    assert!(r.body["canceled_at"].as_i64().is_some());
    let charge = api
        .get(&format!(
            "/v1/charges/{}",
            r.body["latest_charge"].as_str().unwrap()
        ))
        .send()
        .await;
    assert_eq!(
        charge.body["refunded"], true,
        "a released authorisation shows as refunded"
    );
    let r = api
        .post(&format!("/v1/payment_intents/{id}/capture"))
        .send()
        .await;
    assert_eq!(r.code(), "payment_intent_unexpected_state");

    let paid = api.pay(1000, "pm_card_visa", &[]).await;
    let r = api
        .post(&format!(
            "/v1/payment_intents/{}/cancel",
            paid.body["id"].as_str().unwrap()
        ))
        .send()
        .await;
    assert_eq!(
        (r.status, r.code()),
        (400, "payment_intent_unexpected_state")
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("status of succeeded")
    );
}
