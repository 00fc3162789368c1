//! Customers, saved cards (attach, detach, setup_future_usage) and off-session charges.

use crate::helpers::Api;

async fn customer(api: &Api) -> String {
    let r = api
        .post("/v1/customers")
        .params(&[("email", "ada@example.com"), ("metadata[shopper]", "s_1")])
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body["id"].as_str().unwrap().starts_with("cus_"));
    assert_eq!(r.body["object"], "customer");
    assert_eq!(r.body["email"], "ada@example.com");
    assert_eq!(r.body["metadata"]["shopper"], "s_1");
    r.body["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn customers_are_created_read_and_checked() {
    let api = Api::start().await;
    let id = customer(&api).await;
    let r = api.get(&format!("/v1/customers/{id}")).send().await;
    assert_eq!(r.body["email"], "ada@example.com");
    let r = api
        .post("/v1/customers")
        .param("email", "not an email")
        .send()
        .await;
    assert_eq!((r.status, r.code()), (400, "email_invalid"));
    let r = api.get("/v1/customers/cus_nope").send().await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn attach_read_detach() {
    let api = Api::start().await;
    let cus = customer(&api).await;
    let r = api
        .post("/v1/payment_methods/pm_card_visa/attach")
        .param("customer", &cus)
        .send()
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let pm = r.body["id"].as_str().unwrap().to_string();
    assert_ne!(pm, "pm_card_visa");
    assert_eq!(r.body["customer"], cus.as_str());
    let r = api.get(&format!("/v1/payment_methods/{pm}")).send().await;
    assert_eq!(r.body["object"], "payment_method");
    assert_eq!(r.body["type"], "card");
    assert_eq!(r.body["card"]["brand"], "visa");
    assert_eq!(r.body["card"]["last4"], "4242");
    assert!(r.body["card"]["exp_month"].as_i64().unwrap() >= 1);
    assert!(r.body["card"]["exp_year"].as_i64().unwrap() >= 2025);
    let list = api
        .get(&format!("/v1/customers/{cus}/payment_methods"))
        .send()
        .await;
    assert_eq!(list.body["object"], "list");
    assert_eq!(list.body["data"][0]["id"], pm.as_str());

    // Off-session with the saved card and its customer.
    let r = api
        .pay(1200, &pm, &[("customer", &cus), ("off_session", "true")])
        .await;
    assert_eq!(r.body["status"], "succeeded", "{:?}", r.body);

    let r = api
        .post(&format!("/v1/payment_methods/{pm}/detach"))
        .send()
        .await;
    assert_eq!(r.body["customer"], serde_json::Value::Null);
    let r = api.pay(1200, &pm, &[("customer", &cus)]).await;
    assert_eq!(r.status, 400, "a detached card can never be used again");
    let r = api
        .post(&format!("/v1/payment_methods/{pm}/detach"))
        .send()
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn a_saved_card_needs_its_customer_and_a_declining_card_fails_to_attach() {
    let api = Api::start().await;
    let cus = customer(&api).await;
    let pm = api
        .post("/v1/payment_methods/pm_card_visa/attach")
        .param("customer", &cus)
        .send()
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = api.pay(1200, &pm, &[]).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["param"], "payment_method");
    let r = api
        .post("/v1/payment_methods/pm_card_chargeDeclined/attach")
        .param("customer", &cus)
        .send()
        .await;
    assert_eq!((r.status, r.code()), (402, "card_declined"));
    let r = api
        .post("/v1/payment_methods/pm_card_visa/attach")
        .param("customer", "cus_nope")
        .send()
        .await;
    assert_eq!((r.status, r.code()), (400, "resource_missing"));
}

#[tokio::test]
async fn setup_future_usage_saves_the_card_and_later_off_session_charges_succeed() {
    let api = Api::start().await;
    let cus = customer(&api).await;
    let r = api
        .pay(
            2000,
            "pm_card_visa",
            &[("customer", &cus), ("setup_future_usage", "off_session")],
        )
        .await;
    assert_eq!(r.body["status"], "succeeded");
    assert_eq!(r.body["setup_future_usage"], "off_session");
    let pm = r.body["payment_method"].as_str().unwrap().to_string();
    let got = api.get(&format!("/v1/payment_methods/{pm}")).send().await;
    assert_eq!(got.body["customer"], cus.as_str());
    let later = api
        .pay(900, &pm, &[("customer", &cus), ("off_session", "true")])
        .await;
    assert_eq!(later.body["status"], "succeeded");
    let views = api.stripe.payment_intents();
    assert_eq!(views[0].customer.as_deref(), Some(cus.as_str()));
}

#[tokio::test]
async fn a_card_set_up_with_3ds_pays_off_session_without_it() {
    let api = Api::start().await;
    let cus = customer(&api).await;
    let r = api
        .pay(
            2000,
            "pm_card_authenticationRequiredOnSetup",
            &[("customer", &cus), ("setup_future_usage", "off_session")],
        )
        .await;
    assert_eq!(r.body["status"], "requires_action");
    let id = r.body["id"].as_str().unwrap().to_string();
    let pm = r.body["payment_method"].as_str().unwrap().to_string();
    api.stripe.authenticate(&id, true);
    let later = api
        .pay(900, &pm, &[("customer", &cus), ("off_session", "true")])
        .await;
    assert_eq!(later.body["status"], "succeeded", "{:?}", later.body);

    // The card that always needs 3-D Secure still declines off-session.
    let r = api
        .pay(
            2000,
            "pm_card_authenticationRequired",
            &[("customer", &cus), ("setup_future_usage", "off_session")],
        )
        .await;
    api.stripe
        .authenticate(r.body["id"].as_str().unwrap(), true);
    let pm = r.body["payment_method"].as_str().unwrap().to_string();
    let later = api
        .pay(900, &pm, &[("customer", &cus), ("off_session", "true")])
        .await;
    assert_eq!(
        (later.status, later.code()),
        (402, "authentication_required")
    );
}
