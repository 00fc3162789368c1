//! Refunds never exceed what was captured.

use crate::helpers::Api;

#[tokio::test]
async fn refunds_take_the_rest_by_default_and_never_more_than_was_captured() {
    let api = Api::start().await;
    let paid = api.pay(5000, "pm_card_visa", &[]).await;
    let pi = paid.body["id"].as_str().unwrap().to_string();
    let r = api
        .post("/v1/refunds")
        .params(&[
            ("payment_intent", &pi),
            ("amount", "2000"),
            ("reason", "requested_by_customer"),
            ("metadata[ticket]", "T-1"),
        ])
        .idempotency("refund-1")
        .send()
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(r.body["id"].as_str().unwrap().starts_with("re_"));
    assert_eq!(r.body["object"], "refund");
    assert_eq!(r.body["status"], "succeeded");
    assert_eq!(r.body["amount"], 2000);
    assert_eq!(r.body["payment_intent"], pi.as_str());
    assert_eq!(r.body["metadata"]["ticket"], "T-1");

    let r = api
        .post("/v1/refunds")
        .params(&[("payment_intent", &pi), ("amount", "3001")])
        .send()
        .await;
    assert_eq!((r.status, r.code()), (400, "amount_too_large"));
    assert_eq!(
        r.body["error"]["message"],
        "Refund amount ($30.01) is greater than unrefunded amount on charge ($30.00)"
    );
    let r = api
        .post("/v1/refunds")
        .param("payment_intent", &pi)
        .send()
        .await;
    assert_eq!(r.body["amount"], 3000);
    let r = api
        .post("/v1/refunds")
        .param("payment_intent", &pi)
        .send()
        .await;
    assert_eq!((r.status, r.code()), (400, "charge_already_refunded"));

    let views = api.stripe.refunds();
    assert_eq!(views.len(), 2);
    assert_eq!(views[0].idempotency_key.as_deref(), Some("refund-1"));
    assert_eq!(views[0].reason.as_deref(), Some("requested_by_customer"));
    let pi_view = &api.stripe.payment_intents()[0];
    assert_eq!(pi_view.amount_refunded, 5000);
    let charge = api
        .get(&format!(
            "/v1/charges/{}",
            paid.body["latest_charge"].as_str().unwrap()
        ))
        .send()
        .await;
    assert_eq!(charge.body["amount_refunded"], 5000);
    assert_eq!(charge.body["refunded"], true);
}

#[tokio::test]
async fn a_payment_not_captured_cannot_be_refunded() {
    let api = Api::start().await;
    let r = api
        .pay(5000, "pm_card_visa", &[("capture_method", "manual")])
        .await;
    let r = api
        .post("/v1/refunds")
        .param("payment_intent", r.body["id"].as_str().unwrap())
        .send()
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["type"], "invalid_request_error");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not have a successful charge to refund")
    );
    let r = api.post("/v1/refunds").send().await;
    assert_eq!(r.status, 400);
    let r = api
        .post("/v1/refunds")
        .param("payment_intent", "pi_nope")
        .send()
        .await;
    assert_eq!((r.status, r.code()), (400, "resource_missing"));
    let declined = api.pay(5000, "pm_card_chargeDeclined", &[]).await;
    let id = declined.body["error"]["payment_intent"]["id"]
        .as_str()
        .unwrap();
    let r = api
        .post("/v1/refunds")
        .param("payment_intent", id)
        .send()
        .await;
    assert_eq!(r.status, 400);
}
