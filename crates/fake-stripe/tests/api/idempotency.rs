//! `Idempotency-Key`: Stripe stores the first answer and replays it.

use crate::helpers::Api;

const PAY: [(&str, &str); 6] = [
    ("amount", "2500"),
    ("currency", "usd"),
    ("payment_method", "pm_card_visa"),
    ("confirm", "true"),
    ("automatic_payment_methods[enabled]", "true"),
    ("automatic_payment_methods[allow_redirects]", "never"),
];

#[tokio::test]
async fn the_same_key_and_parameters_replay_the_first_answer() {
    let api = Api::start().await;
    let first = api
        .post("/v1/payment_intents")
        .params(&PAY)
        .idempotency("order-1")
        .send()
        .await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("idempotency-key"), Some("order-1"));
    assert!(first.header("idempotent-replayed").is_none());
    // Same parameters in another order.
    let mut shuffled = PAY.to_vec();
    shuffled.reverse();
    let again = api
        .post("/v1/payment_intents")
        .params(&shuffled)
        .idempotency("order-1")
        .send()
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("original-request"), first.header("request-id"));
    assert_eq!(api.stripe.payment_intents().len(), 1);
    assert_eq!(
        api.stripe.payment_intents()[0].idempotency_keys,
        vec!["order-1"]
    );
    assert!(api.stripe.requests()[1].replayed);
}

#[tokio::test]
async fn the_same_key_with_other_parameters_is_an_idempotency_error() {
    let api = Api::start().await;
    api.post("/v1/payment_intents")
        .params(&PAY)
        .idempotency("order-2")
        .send()
        .await;
    let mut changed = PAY.to_vec();
    changed[0] = ("amount", "2600");
    let r = api
        .post("/v1/payment_intents")
        .params(&changed)
        .idempotency("order-2")
        .send()
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["type"], "idempotency_error");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("same parameters")
    );
    // Another endpoint is another request too.
    let r = api
        .post("/v1/customers")
        .idempotency("order-2")
        .send()
        .await;
    assert_eq!(r.body["error"]["type"], "idempotency_error");
    assert_eq!(api.stripe.payment_intents().len(), 1);
}

#[tokio::test]
async fn keys_are_scoped_per_api_key() {
    let api = Api::start().await;
    let other = api.stripe.create_secret_key();
    let a = api
        .post("/v1/payment_intents")
        .params(&PAY)
        .idempotency("shared")
        .send()
        .await;
    let b = api
        .post("/v1/payment_intents")
        .params(&PAY)
        .idempotency("shared")
        .key(Some(&other))
        .send()
        .await;
    assert_eq!(b.status, 200);
    assert_ne!(a.body["id"], b.body["id"]);
    assert!(b.header("idempotent-replayed").is_none());
}

#[tokio::test]
async fn declines_are_replayed_but_refusals_before_running_are_not_stored() {
    let api = Api::start().await;
    let mut declined = PAY.to_vec();
    declined[2] = ("payment_method", "pm_card_chargeDeclined");
    let first = api
        .post("/v1/payment_intents")
        .params(&declined)
        .idempotency("d-1")
        .send()
        .await;
    assert_eq!(first.status, 402);
    let again = api
        .post("/v1/payment_intents")
        .params(&declined)
        .idempotency("d-1")
        .send()
        .await;
    assert_eq!(again.status, 402);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));

    // A validation error is not kept (the endpoint never ran)…
    let mut invalid = PAY.to_vec();
    invalid[0] = ("amount", "ten");
    let r = api
        .post("/v1/payment_intents")
        .params(&invalid)
        .idempotency("v-1")
        .send()
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .post("/v1/payment_intents")
        .params(&invalid)
        .idempotency("v-1")
        .send()
        .await;
    assert!(r.header("idempotent-replayed").is_none());
    // … so the same key can carry the corrected request.
    let r = api
        .post("/v1/payment_intents")
        .params(&PAY)
        .idempotency("v-1")
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert!(r.header("idempotent-replayed").is_none());
}

#[tokio::test]
async fn keys_longer_than_255_characters_are_refused_and_gets_ignore_keys() {
    let api = Api::start().await;
    let long = "k".repeat(256);
    let r = api
        .post("/v1/payment_intents")
        .params(&PAY)
        .idempotency(&long)
        .send()
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .get("/v1/payment_method_domains")
        .idempotency("g")
        .send()
        .await;
    assert_eq!(r.status, 200);
    let r = api
        .get("/v1/payment_method_domains")
        .idempotency("g")
        .send()
        .await;
    assert!(r.header("idempotent-replayed").is_none());
}

#[tokio::test]
async fn confirm_capture_and_refund_keys_work_the_same_way() {
    let api = Api::start().await;
    let mut manual = PAY.to_vec();
    manual.push(("capture_method", "manual"));
    let r = api.post("/v1/payment_intents").params(&manual).send().await;
    let id = r.body["id"].as_str().unwrap().to_string();
    let a = api
        .post(&format!("/v1/payment_intents/{id}/capture"))
        .idempotency("cap")
        .send()
        .await;
    let b = api
        .post(&format!("/v1/payment_intents/{id}/capture"))
        .idempotency("cap")
        .send()
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(
        b.status, 200,
        "a replay, not a second capture (which would be a 400)"
    );
    let a = api
        .post("/v1/refunds")
        .params(&[("payment_intent", &id), ("amount", "100")])
        .idempotency("ref")
        .send()
        .await;
    let b = api
        .post("/v1/refunds")
        .params(&[("payment_intent", &id), ("amount", "100")])
        .idempotency("ref")
        .send()
        .await;
    assert_eq!(a.body["id"], b.body["id"]);
    assert_eq!(api.stripe.refunds().len(), 1);
    assert_eq!(
        api.stripe.payment_intents()[0].idempotency_keys,
        vec!["cap"]
    );
}
