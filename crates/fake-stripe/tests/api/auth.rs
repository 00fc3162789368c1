//! Keys, versions, URLs, headers.

use crate::helpers::Api;

#[tokio::test]
async fn a_missing_or_wrong_key_is_a_401_authentication_error() {
    let api = Api::start().await;
    let r = api.get("/v1/payment_intents/pi_x").key(None).send().await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"]["type"], "authentication_error");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did not provide an API key")
    );

    let r = api
        .get("/v1/payment_intents/pi_x")
        .key(Some("sk_test_wrong_key_1234"))
        .send()
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"]["type"], "authentication_error");
    assert_eq!(
        r.body["error"]["message"],
        "Invalid API Key provided: sk_test_****1234"
    );
    assert!(r.header("www-authenticate").is_some());
}

#[tokio::test]
async fn the_publishable_key_only_reaches_what_stripe_js_uses() {
    let api = Api::start().await;
    let pk = api.stripe.publishable_key.clone();
    let r = api
        .post("/v1/payment_intents")
        .key(Some(&pk))
        .params(&[("amount", "1000"), ("currency", "usd")])
        .send()
        .await;
    assert_eq!(r.status, 401);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("publishable API key")
    );
}

#[tokio::test]
async fn basic_auth_with_the_key_as_user_name_works_like_curl_u() {
    let api = Api::start().await;
    let r = api
        .http
        .get(format!("{}/v1/payment_method_domains", api.stripe.base_url))
        .basic_auth(&api.stripe.secret_key, Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn stripe_version_is_echoed_and_checked() {
    let api = Api::start().await;
    let r = api
        .get("/v1/payment_method_domains")
        .header("Stripe-Version", "2024-06-20")
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("stripe-version"), Some("2024-06-20"));
    let r = api.get("/v1/payment_method_domains").send().await;
    assert_eq!(
        r.header("stripe-version"),
        Some(anycart_fake_stripe::DEFAULT_API_VERSION)
    );
    let r = api
        .get("/v1/payment_method_domains")
        .header("Stripe-Version", "latest")
        .send()
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body["error"]["message"],
        "Invalid Stripe API version: latest"
    );
}

#[tokio::test]
async fn unknown_urls_are_404_and_every_answer_has_a_request_id() {
    let api = Api::start().await;
    let r = api.get("/v1/charges").send().await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"]["type"], "invalid_request_error");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Unrecognized request URL (GET: /v1/charges)")
    );
    assert!(r.header("request-id").unwrap().starts_with("req_"));
    let r = api.get("/v1/payment_intents/pi_nope").send().await;
    assert_eq!(r.status, 404);
    assert_eq!(r.code(), "resource_missing");
    assert_eq!(
        r.body["error"]["message"],
        "No such payment_intent: 'pi_nope'"
    );
}

#[tokio::test]
async fn the_request_log_keeps_decoded_pairs_and_statuses() {
    let api = Api::start().await;
    api.pay(1234, "pm_card_visa", &[("metadata[order_id]", "ord_1")])
        .await;
    api.get("/v1/payment_intents/pi_nope").send().await;
    let log = api.stripe.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].method, "POST");
    assert_eq!(log[0].path, "/v1/payment_intents");
    assert_eq!(log[0].status, 200);
    assert_eq!(log[0].auth, "secret");
    assert!(
        log[0]
            .params
            .contains(&("metadata[order_id]".to_string(), "ord_1".to_string()))
    );
    assert_eq!(log[1].status, 404);
}
