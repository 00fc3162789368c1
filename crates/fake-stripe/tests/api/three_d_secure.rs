//! 3-D Secure: `requires_action`, the shopper's answer (`authenticate`), confirm.

use crate::helpers::Api;

async fn challenged(api: &Api, extra: &[(&str, &str)]) -> String {
    let r = api.pay(3000, "pm_card_threeDSecure2Required", extra).await;
    assert_eq!(r.body["status"], "requires_action");
    r.body["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn with_automatic_confirmation_a_passed_challenge_completes_the_payment() {
    let api = Api::start().await;
    let id = challenged(&api, &[]).await;
    api.stripe.authenticate(&id, true);
    let r = api.get(&format!("/v1/payment_intents/{id}")).send().await;
    assert_eq!(r.body["status"], "succeeded");
    assert_eq!(r.body["next_action"], serde_json::Value::Null);
    assert_eq!(r.body["amount_received"], 3000);
    // Stripe has nothing left to confirm.
    let r = api
        .post(&format!("/v1/payment_intents/{id}/confirm"))
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
            .contains("already succeeded")
    );
}

#[tokio::test]
async fn with_manual_confirmation_the_server_confirms_after_the_challenge() {
    let api = Api::start().await;
    let id = challenged(&api, &[("confirmation_method", "manual")]).await;
    api.stripe.authenticate(&id, true);
    let r = api.get(&format!("/v1/payment_intents/{id}")).send().await;
    assert_eq!(r.body["status"], "requires_confirmation");
    let r = api
        .post(&format!("/v1/payment_intents/{id}/confirm"))
        .send()
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "succeeded");
}

#[tokio::test]
async fn a_passed_challenge_on_a_manual_capture_waits_for_capture() {
    let api = Api::start().await;
    let id = challenged(&api, &[("capture_method", "manual")]).await;
    api.stripe.authenticate(&id, true);
    let view = api
        .stripe
        .payment_intents()
        .into_iter()
        .find(|p| p.id == id)
        .unwrap();
    assert_eq!(view.status, "requires_capture");
    assert_eq!(view.amount_capturable, 3000);
}

#[tokio::test]
async fn a_failed_challenge_sends_the_intent_back_for_a_new_payment_method() {
    let api = Api::start().await;
    let id = challenged(&api, &[]).await;
    api.stripe.authenticate(&id, false);
    let r = api.get(&format!("/v1/payment_intents/{id}")).send().await;
    assert_eq!(r.body["status"], "requires_payment_method");
    assert_eq!(
        r.body["last_payment_error"]["code"],
        "payment_intent_authentication_failure"
    );
    assert_eq!(r.body["payment_method"], serde_json::Value::Null);
    assert_eq!(
        r.body["latest_charge"],
        serde_json::Value::Null,
        "no charge is made when 3-D Secure fails"
    );
    let r = api
        .post(&format!("/v1/payment_intents/{id}/confirm"))
        .send()
        .await;
    assert_eq!(
        (r.status, r.code()),
        (400, "payment_intent_unexpected_state")
    );
    let r = api
        .post(&format!("/v1/payment_intents/{id}/confirm"))
        .param("payment_method", "pm_card_visa")
        .send()
        .await;
    assert_eq!(r.body["status"], "succeeded");
}

#[tokio::test]
async fn off_session_a_card_that_always_needs_3ds_declines_with_authentication_required() {
    let api = Api::start().await;
    let r = api
        .pay(
            3000,
            "pm_card_authenticationRequired",
            &[("off_session", "true")],
        )
        .await;
    assert_eq!(r.status, 402);
    assert_eq!(r.body["error"]["type"], "card_error");
    assert_eq!(r.body["error"]["code"], "authentication_required");
    assert_eq!(r.body["error"]["decline_code"], "authentication_required");
    let r = api
        .pay(
            3000,
            "pm_card_threeDSecure2Required",
            &[("error_on_requires_action", "true")],
        )
        .await;
    assert_eq!(r.code(), "authentication_required");
}

#[tokio::test]
#[should_panic(expected = "not requires_action")]
async fn authenticating_an_intent_without_a_challenge_is_a_test_bug() {
    let api = Api::start().await;
    let r = api.pay(1000, "pm_card_visa", &[]).await;
    api.stripe
        .authenticate(r.body["id"].as_str().unwrap(), true);
}
