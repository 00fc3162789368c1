//! PaymentIntents with each test card, and Stripe's parameter rules.

use crate::helpers::Api;

#[tokio::test]
async fn pm_card_visa_succeeds_with_a_fresh_payment_method_and_a_charge() {
    let api = Api::start().await;
    let r = api
        .pay(
            2000,
            "pm_card_visa",
            &[
                ("metadata[order_id]", "ord_42"),
                ("metadata[cart]", "a b&c"),
                ("description", "Order 42"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let pi = &r.body;
    assert!(pi["id"].as_str().unwrap().starts_with("pi_"));
    assert_eq!(pi["object"], "payment_intent");
    assert_eq!(pi["livemode"], false);
    assert_eq!(pi["status"], "succeeded");
    assert_eq!(pi["amount"], 2000);
    assert_eq!(pi["amount_received"], 2000);
    assert_eq!(pi["currency"], "usd");
    assert_eq!(pi["metadata"]["order_id"], "ord_42");
    assert_eq!(pi["metadata"]["cart"], "a b&c");
    assert_eq!(pi["description"], "Order 42");
    assert!(pi["created"].as_i64().unwrap() > 1_700_000_000);
    // As on Stripe, the magic id becomes a new PaymentMethod.
    let pm = pi["payment_method"].as_str().unwrap();
    assert!(pm.starts_with("pm_") && pm != "pm_card_visa");
    assert!(pi["latest_charge"].as_str().unwrap().starts_with("ch_"));
    assert!(
        pi["client_secret"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}_secret_", pi["id"].as_str().unwrap()))
    );

    let view = &api.stripe.payment_intents()[0];
    assert_eq!(view.status, "succeeded");
    assert_eq!(view.amount_captured, 2000);
    assert_eq!(view.metadata["order_id"], "ord_42");
    assert_eq!(view.payment_method.as_deref(), Some(pm));
}

#[tokio::test]
async fn expand_replaces_ids_with_objects() {
    let api = Api::start().await;
    let r = api
        .pay(
            1500,
            "pm_card_visa",
            &[
                ("expand[]", "latest_charge"),
                ("expand[]", "payment_method"),
            ],
        )
        .await;
    assert_eq!(r.body["latest_charge"]["object"], "charge");
    assert_eq!(r.body["latest_charge"]["amount_captured"], 1500);
    assert_eq!(
        r.body["latest_charge"]["payment_method_details"]["card"]["last4"],
        "4242"
    );
    assert_eq!(r.body["payment_method"]["card"]["brand"], "visa");
    let id = r.body["id"].as_str().unwrap();
    let r = api
        .get(&format!("/v1/payment_intents/{id}"))
        .param("expand[]", "latest_charge.payment_intent")
        .send()
        .await;
    assert_eq!(r.body["latest_charge"]["payment_intent"]["id"], id);
    let r = api
        .get(&format!("/v1/payment_intents/{id}"))
        .param("expand[]", "amount")
        .send()
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body["error"]["message"],
        "This property cannot be expanded (amount)."
    );
}

#[tokio::test]
async fn declines_are_402_card_errors_carrying_the_payment_intent() {
    let api = Api::start().await;
    for (pm, decline_code, message) in [
        (
            "pm_card_chargeDeclined",
            "generic_decline",
            "Your card was declined.",
        ),
        (
            "pm_card_chargeDeclinedInsufficientFunds",
            "insufficient_funds",
            "Your card has insufficient funds.",
        ),
    ] {
        let r = api.pay(2000, pm, &[]).await;
        assert_eq!(r.status, 402, "{pm}");
        let e = &r.body["error"];
        assert_eq!(e["type"], "card_error");
        assert_eq!(e["code"], "card_declined");
        assert_eq!(e["decline_code"], decline_code);
        assert_eq!(e["message"], message);
        assert!(e["charge"].as_str().unwrap().starts_with("ch_"));
        let pi = &e["payment_intent"];
        assert_eq!(pi["status"], "requires_payment_method");
        assert_eq!(pi["last_payment_error"]["decline_code"], decline_code);
        assert_eq!(pi["payment_method"], serde_json::Value::Null);
        let got = api
            .get(&format!(
                "/v1/payment_intents/{}",
                pi["id"].as_str().unwrap()
            ))
            .send()
            .await;
        assert_eq!(got.body["status"], "requires_payment_method");
        assert_eq!(got.body["last_payment_error"]["code"], "card_declined");
    }
}

#[tokio::test]
async fn three_d_secure_cards_answer_requires_action() {
    let api = Api::start().await;
    let r = api.pay(2000, "pm_card_threeDSecure2Required", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "requires_action");
    assert_eq!(r.body["next_action"]["type"], "use_stripe_sdk");
    assert!(r.body["client_secret"].as_str().is_some());
}

#[tokio::test]
async fn an_unknown_payment_method_is_a_400_resource_missing_and_creates_nothing() {
    let api = Api::start().await;
    let r = api.pay(2000, "pm_nope", &[]).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), "resource_missing");
    assert_eq!(r.body["error"]["param"], "payment_method");
    assert_eq!(
        r.body["error"]["message"],
        "No such payment_method: 'pm_nope'"
    );
    assert!(api.stripe.payment_intents().is_empty());
}

#[tokio::test]
async fn parameters_are_checked_as_stripe_does() {
    let api = Api::start().await;
    let base = [("currency", "usd")];
    let r = api.post("/v1/payment_intents").params(&base).send().await;
    assert_eq!((r.status, r.code()), (400, "parameter_missing"));
    assert_eq!(
        r.body["error"]["message"],
        "Missing required param: amount."
    );
    let r = api
        .post("/v1/payment_intents")
        .params(&base)
        .param("amount", "12.50")
        .send()
        .await;
    assert_eq!(r.body["error"]["message"], "Invalid integer: 12.50");
    let r = api
        .post("/v1/payment_intents")
        .params(&base)
        .param("amount", "20")
        .send()
        .await;
    assert_eq!((r.status, r.code()), (400, "amount_too_small"));
    assert_eq!(r.body["error"]["message"], "Amount must be at least $0.50");
    let r = api
        .post("/v1/payment_intents")
        .params(&base)
        .params(&[("amount", "1000"), ("colour", "red")])
        .send()
        .await;
    assert_eq!(
        r.body["error"]["message"],
        "Received unknown parameter: colour"
    );
    let r = api
        .post("/v1/payment_intents")
        .params(&base)
        .params(&[("amount", "1000"), ("capture_method", "later")])
        .send()
        .await;
    assert_eq!(r.body["error"]["param"], "capture_method");
    let r = api
        .post("/v1/payment_intents")
        .params(&base)
        .params(&[("amount", "1000"), ("payment_method_data[typo]", "x")])
        .send()
        .await;
    assert_eq!(
        r.body["error"]["message"],
        "Received unknown parameter: payment_method_data[typo]"
    );
    let r = api
        .post("/v1/payment_intents")
        .params(&base)
        .params(&[("amount", "1000"), ("off_session", "true")])
        .send()
        .await;
    assert_eq!(r.body["error"]["param"], "off_session");
    assert!(api.stripe.payment_intents().is_empty());
}

#[tokio::test]
async fn currency_is_lowercased_and_a_plain_create_waits_for_a_payment_method() {
    let api = Api::start().await;
    let r = api
        .post("/v1/payment_intents")
        .params(&[("amount", "1000"), ("currency", "EUR")])
        .send()
        .await;
    assert_eq!(r.body["currency"], "eur");
    assert_eq!(r.body["status"], "requires_payment_method");
    assert_eq!(r.body["automatic_payment_methods"]["enabled"], true);
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = api
        .post(&format!("/v1/payment_intents/{id}"))
        .params(&[
            ("amount", "1500"),
            ("metadata[a]", "1"),
            ("payment_method", "pm_card_visa"),
        ])
        .send()
        .await;
    assert_eq!(r.body["amount"], 1500);
    assert_eq!(r.body["status"], "requires_confirmation");
    let r = api
        .post(&format!("/v1/payment_intents/{id}/confirm"))
        .param("return_url", "https://shop.example/done")
        .send()
        .await;
    assert_eq!(r.body["status"], "succeeded");
    // Metadata can change afterwards; the amount cannot.
    let r = api
        .post(&format!("/v1/payment_intents/{id}"))
        .param("metadata[a]", "")
        .send()
        .await;
    assert_eq!(r.body["metadata"], serde_json::json!({}));
    let r = api
        .post(&format!("/v1/payment_intents/{id}"))
        .param("amount", "2000")
        .send()
        .await;
    assert_eq!(
        (r.status, r.code()),
        (400, "payment_intent_unexpected_state")
    );
}

#[tokio::test]
async fn confirming_with_automatic_payment_methods_needs_a_return_url_unless_redirects_are_off() {
    let api = Api::start().await;
    let base = [
        ("amount", "1000"),
        ("currency", "usd"),
        ("payment_method", "pm_card_visa"),
        ("confirm", "true"),
    ];
    let r = api.post("/v1/payment_intents").params(&base).send().await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["param"], "return_url");
    let ok = [
        vec![("return_url", "https://shop.example/return")],
        vec![
            ("automatic_payment_methods[enabled]", "true"),
            ("automatic_payment_methods[allow_redirects]", "never"),
        ],
        vec![("payment_method_types[]", "card")],
    ];
    for extra in ok {
        let r = api
            .post("/v1/payment_intents")
            .params(&base)
            .params(&extra)
            .send()
            .await;
        assert_eq!(r.body["status"], "succeeded", "{extra:?}");
    }
    // Before 2023-08-16 automatic payment methods were off by default.
    let r = api
        .post("/v1/payment_intents")
        .params(&base)
        .header("Stripe-Version", "2023-08-15")
        .send()
        .await;
    assert_eq!(r.body["status"], "succeeded");
    assert_eq!(r.body["automatic_payment_methods"], serde_json::Value::Null);
}

#[tokio::test]
async fn a_payment_method_used_without_a_customer_cannot_be_used_again() {
    let api = Api::start().await;
    let r = api.pay(1000, "pm_card_visa", &[]).await;
    let pm = r.body["payment_method"].as_str().unwrap().to_string();
    let r = api.pay(1000, &pm, &[]).await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("may not be used again")
    );
}
