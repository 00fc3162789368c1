//! Returning shoppers at a Stripe merchant: "Remember me" makes the payment on a
//! Stripe Customer with `setup_future_usage=off_session` (through 3-D Secure too),
//! one tap charges the saved PaymentMethod off-session, "Forget my details"
//! detaches it, and without the tick nothing is set up at all.

use crate::helpers::*;
use crate::shoppers::{EMAIL, Widget, prefill, session_for, shop, signed_in};
use crate::stripe::{stripe_apps, stripe_payment};
use anycart_fake_stripe::FakeStripe;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The form parameters of every PaymentIntent creation, in order.
fn intent_creations(fake: &FakeStripe) -> Vec<Vec<(String, String)>> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/payment_intents" && r.status == 200)
        .map(|r| r.params)
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Ticks "Remember me" on a ready session and pays it with `card`.
async fn remember_and_pay(app: &TestApp, w: &Widget, card: &str) -> (String, Value) {
    let s = app.ready_session(&app.variant("TEE-TRAIL-M"), 1).await;
    let id = s.body["id"].as_str().unwrap().to_string();
    let r = app
        .shoppers(
            &w.pk,
            "remember",
            json!({"checkout_session_id": id, "remember": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:#}", r.body);
    let paid = app.pay_stripe(&id, card).await;
    (id, paid.body)
}

/// Signs in as `EMAIL`, prefills a fresh session and pays it in one tap.
async fn one_tap(app: &TestApp, w: &Widget, token: &str) -> Value {
    let id = session_for(app, EMAIL).await;
    let filled = prefill(app, w, &id, token).await;
    assert_eq!(
        filled.body["status"], "ready_for_payment",
        "{:#}",
        filled.body
    );
    let mut body = stripe_payment(token);
    body["payment_data"]["instrument"]["credential"]["type"] = json!("card");
    app.post(&format!("/checkout_sessions/{id}/complete"), body)
        .await
        .body
}

#[tokio::test]
async fn remembered_cards_live_on_a_stripe_customer_and_one_tap_charges_them_off_session() {
    for (app, fake) in stripe_apps().await {
        let (sink, w) = shop(&app).await;
        let (_, paid) = remember_and_pay(&app, &w, "pm_card_visa").await;
        assert_eq!(paid["status"], "completed", "{paid:#}");
        let first = &intent_creations(&fake)[0];
        let customer = param(first, "customer")
            .expect("paid on a customer")
            .to_string();
        assert!(customer.starts_with("cus_"));
        assert_eq!(param(first, "setup_future_usage"), Some("off_session"));

        let token = signed_in(&app, &w, &sink).await;
        let done = one_tap(&app, &w, &token).await;
        assert_eq!(done["status"], "completed", "{done:#}");
        let creations = intent_creations(&fake);
        assert_eq!(creations.len(), 2, "one charge per purchase");
        let second = &creations[1];
        assert_eq!(param(second, "customer"), Some(customer.as_str()));
        assert_eq!(param(second, "off_session"), Some("true"));
        let saved = param(second, "payment_method").unwrap();
        assert!(
            saved.starts_with("pm_") && saved != "pm_card_visa",
            "{saved}"
        );
        assert!(param(second, "setup_future_usage").is_none());
        let succeeded = fake
            .payment_intents()
            .into_iter()
            .filter(|pi| pi.status == "succeeded")
            .count();
        assert_eq!(succeeded, 2);
        assert!(
            !done.to_string().contains(saved),
            "the saved card's id never leaves the server"
        );
    }
}

#[tokio::test]
async fn a_card_confirmed_by_3d_secure_is_saved_too() {
    for (app, fake) in stripe_apps().await {
        let (sink, w) = shop(&app).await;
        let (id, challenged) =
            remember_and_pay(&app, &w, "pm_card_authenticationRequiredOnSetup").await;
        assert_eq!(
            challenged["status"], "authentication_required",
            "{challenged:#}"
        );
        let pi = fake.payment_intents()[0].id.clone();
        fake.authenticate(&pi, true);
        let mut body = stripe_payment("pm_card_authenticationRequiredOnSetup");
        body["authentication_result"] = json!({"outcome": "authenticated"});
        let done = app
            .post(&format!("/checkout_sessions/{id}/complete"), body)
            .await;
        assert_eq!(done.body["status"], "completed", "{:#}", done.body);

        // Set up for later use, the card now pays off-session without a challenge.
        let token = signed_in(&app, &w, &sink).await;
        let again = one_tap(&app, &w, &token).await;
        assert_eq!(again["status"], "completed", "{again:#}");
        assert_eq!(
            param(&intent_creations(&fake)[1], "off_session"),
            Some("true")
        );
    }
}

#[tokio::test]
async fn without_the_tick_nothing_is_set_up_and_nothing_is_saved() {
    for (app, fake) in stripe_apps().await {
        let (sink, w) = shop(&app).await;
        let s = app.ready_session(&app.variant("TEE-TRAIL-M"), 1).await;
        let id = s.body["id"].as_str().unwrap();
        let paid = app.pay_stripe(id, "pm_card_visa").await;
        assert_eq!(paid.body["status"], "completed");
        let first = &intent_creations(&fake)[0];
        assert!(param(first, "customer").is_none());
        assert!(param(first, "setup_future_usage").is_none());
        let token = signed_in(&app, &w, &sink).await;
        let id = session_for(&app, EMAIL).await;
        let filled = prefill(&app, &w, &id, &token).await;
        assert_eq!(filled.status, StatusCode::NOT_FOUND, "{:#}", filled.body);
        // A ready session of the same email, paid with the shopper token.
        let ready = app.ready_session(&app.variant("TEE-TRAIL-M"), 1).await;
        let ready = ready.body["id"].as_str().unwrap();
        let mut body = stripe_payment(&token);
        body["payment_data"]["instrument"]["credential"]["type"] = json!("card");
        let tapped = app
            .post(&format!("/checkout_sessions/{ready}/complete"), body)
            .await;
        assert_eq!(
            tapped.body["code"], "invalid_payment_token",
            "{:#}",
            tapped.body
        );
        assert_eq!(intent_creations(&fake).len(), 1, "nothing charged");
    }
}

#[tokio::test]
async fn forgetting_detaches_the_card_at_stripe() {
    for (app, fake) in stripe_apps().await {
        let (sink, w) = shop(&app).await;
        let (_, paid) = remember_and_pay(&app, &w, "pm_card_visa").await;
        assert_eq!(paid["status"], "completed", "{paid:#}");
        let token = signed_in(&app, &w, &sink).await;
        let forgot = app
            .shoppers(&w.pk, "forget", json!({"shopper_token": token}))
            .await;
        assert!(forgot.status.is_success(), "{:#}", forgot.body);
        let detached: Vec<_> = fake
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/detach") && r.status == 200)
            .collect();
        assert_eq!(detached.len(), 1, "the saved card is detached once");
    }
}

#[tokio::test]
async fn a_card_saved_with_the_sandbox_is_never_presented_to_stripe() {
    for app in apps().await {
        let (sink, w) = shop(&app).await;
        // Saved while the merchant was on the sandbox.
        let s = app.ready_session(&app.variant("TEE-TRAIL-M"), 1).await;
        let id = s.body["id"].as_str().unwrap().to_string();
        app.shoppers(
            &w.pk,
            "remember",
            json!({"checkout_session_id": id, "remember": true}),
        )
        .await;
        assert_eq!(app.pay(&id, "tok_visa").await.body["status"], "completed");
        // Then the merchant goes live on Stripe.
        let fake = FakeStripe::start().await;
        let put = app
            .admin(
                reqwest::Method::PUT,
                "/payment_provider",
                Some(crate::stripe::stripe_settings(&fake)),
            )
            .await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.body);
        let token = signed_in(&app, &w, &sink).await;
        let tapped = one_tap(&app, &w, &token).await;
        assert_eq!(tapped["code"], "invalid_payment_token", "{tapped:#}");
        assert!(intent_creations(&fake).is_empty(), "nothing reached Stripe");
    }
}
