//! Shared payment granted tokens (agentic commerce): limits, expiry, one use.

use crate::helpers::{Api, now};

async fn pay_with_token(
    api: &Api,
    token: &str,
    amount: &str,
    currency: &str,
) -> crate::helpers::Resp {
    api.post("/v1/payment_intents")
        .params(&[
            ("amount", amount),
            ("currency", currency),
            ("confirm", "true"),
            ("payment_method_data[type]", "card"),
            ("payment_method_data[shared_payment_granted_token]", token),
            ("metadata[checkout_session]", "cs_1"),
        ])
        .send()
        .await
}

#[tokio::test]
async fn a_granted_token_reads_as_stripe_shows_it() {
    let api = Api::start().await;
    let expires = now() + 3600;
    let spt = api.stripe.create_granted_token(10_000, "usd", expires);
    assert!(spt.starts_with("spt_"));
    let r = api
        .get(&format!("/v1/shared_payment/granted_tokens/{spt}"))
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["object"], "shared_payment.granted_token");
    assert_eq!(r.body["usage_limits"]["currency"], "usd");
    assert_eq!(r.body["usage_limits"]["max_amount"], 10_000);
    assert_eq!(r.body["usage_limits"]["expires_at"], expires);
    assert_eq!(r.body["deactivated_at"], serde_json::Value::Null);
    assert_eq!(r.body["payment_method_details"]["card"]["last4"], "4242");
    let r = api
        .get("/v1/shared_payment/granted_tokens/spt_nope")
        .send()
        .await;
    assert_eq!((r.status, r.code()), (404, "resource_missing"));
}

#[tokio::test]
async fn a_token_pays_once_within_its_limits() {
    let api = Api::start().await;
    let spt = api.stripe.create_granted_token(10_000, "usd", now() + 3600);
    let r = pay_with_token(&api, &spt, "9000", "usd").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "succeeded");
    assert!(
        r.body["payment_method"]
            .as_str()
            .unwrap()
            .starts_with("pm_"),
        "a PaymentMethod cloned from the token"
    );
    let token = api
        .get(&format!("/v1/shared_payment/granted_tokens/{spt}"))
        .send()
        .await;
    assert!(token.body["deactivated_at"].as_i64().is_some());
    assert_eq!(token.body["deactivated_reason"], "consumed");
    assert_eq!(
        token.body["usage_details"]["amount_captured"]["value"],
        9000
    );
    let again = pay_with_token(&api, &spt, "1000", "usd").await;
    assert_eq!(
        (again.status, again.code()),
        (400, "shared_payment_granted_token_deactivated")
    );
    assert_eq!(
        again.body["error"]["param"],
        "payment_method_data[shared_payment_granted_token]"
    );
}

#[tokio::test]
async fn limits_expiry_and_revocation_are_enforced_before_anything_is_created() {
    let api = Api::start().await;
    let spt = api.stripe.create_granted_token(5_000, "usd", now() + 3600);
    let r = pay_with_token(&api, &spt, "5001", "usd").await;
    assert_eq!(
        (r.status, r.code()),
        (400, "shared_payment_granted_token_amount_too_large")
    );
    assert_eq!(r.body["error"]["type"], "invalid_request_error");
    let r = pay_with_token(&api, &spt, "5000", "eur").await;
    assert_eq!(r.code(), "shared_payment_granted_token_currency_mismatch");

    let expired = api.stripe.create_granted_token(5_000, "usd", now() - 1);
    let r = pay_with_token(&api, &expired, "1000", "usd").await;
    assert_eq!(r.code(), "shared_payment_granted_token_expired");
    let got = api
        .get(&format!("/v1/shared_payment/granted_tokens/{expired}"))
        .send()
        .await;
    assert_eq!(got.body["deactivated_reason"], "expired");

    api.stripe.deactivate_granted_token(&spt);
    let r = pay_with_token(&api, &spt, "1000", "usd").await;
    assert_eq!(r.code(), "shared_payment_granted_token_deactivated");

    let r = pay_with_token(&api, "spt_forged", "1000", "usd").await;
    assert_eq!((r.status, r.code()), (400, "resource_missing"));
    assert!(api.stripe.payment_intents().is_empty());

    // The token was not used by the failed attempts: this one is still good.
    let fresh = api.stripe.create_granted_token(5_000, "usd", now() + 60);
    assert_eq!(
        pay_with_token(&api, &fresh, "5000", "usd").await.status,
        200
    );
}

#[tokio::test]
async fn a_token_for_a_declining_card_declines_and_stays_usable_for_another_try() {
    let api = Api::start().await;
    let spt =
        api.stripe
            .create_granted_token_for(5_000, "usd", now() + 3600, "pm_card_chargeDeclined");
    let r = pay_with_token(&api, &spt, "1000", "usd").await;
    assert_eq!((r.status, r.code()), (402, "card_declined"));
    let token = api
        .get(&format!("/v1/shared_payment/granted_tokens/{spt}"))
        .send()
        .await;
    assert_eq!(token.body["deactivated_at"], serde_json::Value::Null);
}

#[tokio::test]
async fn stripes_test_helpers_grant_and_revoke_tokens_too() {
    let api = Api::start().await;
    let expires = (now() + 600).to_string();
    let r = api
        .post("/v1/test_helpers/shared_payment/granted_tokens")
        .params(&[
            ("payment_method", "pm_card_visa"),
            ("usage_limits[currency]", "usd"),
            ("usage_limits[max_amount]", "10000"),
            ("usage_limits[expires_at]", &expires),
            ("seller_details[network_id]", "internal"),
        ])
        .send()
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let spt = r.body["id"].as_str().unwrap().to_string();
    // Stripe's guide also shows the top-level parameter.
    let r = api
        .post("/v1/payment_intents")
        .params(&[
            ("amount", "10000"),
            ("currency", "usd"),
            ("confirm", "true"),
            ("shared_payment_granted_token", &spt),
            ("capture_method", "manual"),
        ])
        .send()
        .await;
    assert_eq!(r.body["status"], "requires_capture");
    let r = api
        .post(&format!(
            "/v1/test_helpers/shared_payment/granted_tokens/{spt}/revoke"
        ))
        .send()
        .await;
    assert_eq!(
        r.body["deactivated_reason"], "consumed",
        "already used up by the authorisation"
    );
}
