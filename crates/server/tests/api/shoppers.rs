//! Returning shoppers: email → one-time code (read from the merchant's SMTP server,
//! a local sink) → shopper token → prefilled session → one-tap pay with the saved
//! card. Also the limits: expiry, attempts, rate, reuse, tenancy, token scope.

// The connectors' SMTP sink, shared rather than copied.
#[path = "../../../connectors/tests/fakes/smtp.rs"]
#[allow(dead_code)] // `reject_recipients` is for the connectors' tests
pub(crate) mod smtp;

use crate::helpers::{TestApp, address, apps, payment};
use anycart_store::ConnectionRecord;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use smtp::SmtpSink;

pub(crate) const EMAIL: &str = "shopper@example.com";

/// The keys and placement the widget of one merchant uses.
pub(crate) struct Widget {
    pub(crate) pk: String,
    placement: String,
    merchant: anycart_core::MerchantId,
}

/// A placement for `sk`'s first product, and the merchant's mail going to `sink`.
pub(crate) async fn widget(app: &TestApp, pk: &str, sk: &str, sink: &SmtpSink) -> Widget {
    let products = app
        .raw_admin(sk, Method::GET, "/products?limit=1", None)
        .await;
    let product = products.body["data"][0]["id"].as_str().unwrap().to_string();
    let made = app
        .raw_admin(
            sk,
            Method::POST,
            "/placements",
            Some(json!({"product_id": product, "channel": "display_ad", "allowed_origins": ["https://news.example"]})),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:#}", made.body);
    let merchant = app.raw_admin(sk, Method::GET, "/merchant", None).await.body["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    app.state
        .store
        .upsert_connection(&ConnectionRecord {
            merchant_id: merchant,
            settings: serde_json::from_value(json!({
                "platform": "native",
                "shop_domain": "shop.example",
                "smtp_url": format!("smtp://127.0.0.1:{}", sink.port),
                "from_address": "shop@shop.example",
                "shop_name": "Northwind",
            }))
            .unwrap(),
            created_at_ms: 1,
            updated_at_ms: 1,
        })
        .await
        .unwrap();
    Widget {
        pk: pk.to_string(),
        placement: made.body["id"].as_str().unwrap().to_string(),
        merchant,
    }
}

impl TestApp {
    pub(crate) async fn raw_admin(
        &self,
        sk: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> crate::helpers::Reply {
        let mut req = self
            .client
            .request(method, format!("{}/v1{path}", self.base))
            .bearer_auth(sk);
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.raw_untyped(req).await
    }

    pub(crate) async fn raw_untyped(&self, req: reqwest::RequestBuilder) -> crate::helpers::Reply {
        let r = req.send().await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        crate::helpers::Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            headers,
        }
    }

    /// A POST to a `/widget/shoppers/…` endpoint with a publishable key.
    pub(crate) async fn shoppers(
        &self,
        pk: &str,
        path: &str,
        body: Value,
    ) -> crate::helpers::Reply {
        let req = self
            .client
            .post(format!("{}/widget/shoppers/{path}", self.base))
            .bearer_auth(pk)
            .json(&body);
        let reply = self.raw_untyped(req).await;
        if !reply.status.is_success() {
            crate::helpers::assert_acp_shape(&reply);
        }
        reply
    }
}

/// `POST /widget/shoppers/codes`.
pub(crate) async fn ask_code(
    app: &TestApp,
    pk: &str,
    placement: &str,
    email: &str,
) -> crate::helpers::Reply {
    app.shoppers(
        pk,
        "codes",
        json!({"placement_id": placement, "email": email}),
    )
    .await
}

/// Asks for a code and returns the sent code (read from the SMTP sink).
pub(crate) async fn code_for(app: &TestApp, w: &Widget, sink: &SmtpSink, email: &str) -> String {
    let before = sink.received().len();
    let r = ask_code(app, &w.pk, &w.placement, email).await;
    assert_eq!(
        r.status,
        StatusCode::ACCEPTED,
        "{}: {:#}",
        app.backend,
        r.body
    );
    for _ in 0..200 {
        let to = format!("<{}>", email.trim().to_lowercase());
        let mails = sink.received();
        if let Some(mail) = mails.iter().skip(before).rev().find(|m| m.to.contains(&to)) {
            let data = &mail.data;
            let at = data.find(" is ").expect("code sentence") + 4;
            let code: String = data[at..at + 6].to_string();
            assert!(code.bytes().all(|b| b.is_ascii_digit()), "{data}");
            return code;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("{}: no code email arrived", app.backend);
}

pub(crate) async fn verify(
    app: &TestApp,
    w: &Widget,
    email: &str,
    code: &str,
) -> crate::helpers::Reply {
    app.shoppers(
        &w.pk,
        "verify",
        json!({"placement_id": w.placement, "email": email, "code": code}),
    )
    .await
}

/// The demo merchant's widget, its mail going to a fresh sink.
pub(crate) async fn shop(app: &TestApp) -> (SmtpSink, Widget) {
    let sink = SmtpSink::start().await;
    let w = widget(app, app.pk(), app.sk(), &sink).await;
    (sink, w)
}

/// Asks for a code for `EMAIL`, verifies it and returns the shopper token.
pub(crate) async fn signed_in(app: &TestApp, w: &Widget, sink: &SmtpSink) -> String {
    let code = code_for(app, w, sink, EMAIL).await;
    let v = verify(app, w, EMAIL, &code).await;
    assert_eq!(v.status, StatusCode::OK, "{:#}", v.body);
    v.body["shopper_token"].as_str().unwrap().to_string()
}

/// Fills a session from the saved profile of `token`'s shopper.
pub(crate) async fn prefill(
    app: &TestApp,
    w: &Widget,
    session: &str,
    token: &str,
) -> crate::helpers::Reply {
    app.shoppers(
        &w.pk,
        "prefill",
        json!({"checkout_session_id": session, "shopper_token": token}),
    )
    .await
}

/// Pays one session with "remember me" ticked, so `EMAIL` has a saved profile.
async fn buy_and_remember(app: &TestApp, w: &Widget, token: &str) -> Value {
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
    let paid = app.pay(&id, token).await;
    assert_eq!(paid.body["status"], "completed", "{:#}", paid.body);
    paid.body
}

/// A fresh session for `email` at the same address, not yet paid.
pub(crate) async fn session_for(app: &TestApp, email: &str) -> String {
    let s = app
        .post(
            "/checkout_sessions",
            json!({"currency": "usd", "line_items": [{"id": app.variant("TEE-TRAIL-M"), "quantity": 1}],
                   "buyer": {"email": email}}),
        )
        .await;
    s.body["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn remember_then_verify_then_buy_in_one_tap_with_the_saved_card() {
    for app in apps().await {
        let (sink, w) = shop(&app).await;
        buy_and_remember(&app, &w, "tok_visa").await;

        let code = code_for(&app, &w, &sink, "  Shopper@Example.COM ").await;
        let mail = sink.received().last().unwrap().clone();
        assert_eq!(mail.to, vec![format!("<{EMAIL}>")]);
        assert!(mail.data.contains("Northwind"), "{}", mail.data);
        let v = verify(&app, &w, "shopper@example.com", &code).await;
        assert_eq!(v.status, StatusCode::OK, "{}: {:#}", app.backend, v.body);
        let token = v.body["shopper_token"].as_str().unwrap().to_string();
        assert!(token.starts_with("sht_") && token.len() > 40);
        assert_eq!(v.body["email"], EMAIL);
        let p = &v.body["profile"];
        assert_eq!(p["card_brand"], "visa");
        assert_eq!(p["card_last4"], "4242");
        assert_eq!(p["name"], "Sam");
        let shown = p["address"].as_str().unwrap();
        assert!(
            shown.contains("• Market St")
                && !shown.contains("1 Market")
                && !shown.contains("94105"),
            "{shown}"
        );
        assert!(
            !v.body.to_string().contains("tok_"),
            "the raw saved token never leaves the server"
        );

        // One tap: a new session is prefilled from the profile and paid with it.
        let id = session_for(&app, EMAIL).await;
        let filled = prefill(&app, &w, &id, &token).await;
        assert_eq!(filled.status, StatusCode::OK, "{:#}", filled.body);
        assert_eq!(
            filled.body["status"], "ready_for_payment",
            "{:#}",
            filled.body
        );
        assert_eq!(
            filled.body["fulfillment_details"]["address"]["line_one"],
            "1 Market St"
        );
        let total = crate::helpers::total(&filled.body, "total");
        let ledger_before = app.sandbox.as_ref().unwrap().payments().len();
        let paid = app.pay(&id, &token).await;
        assert_eq!(paid.body["status"], "completed", "{:#}", paid.body);
        let ledger = app.sandbox.as_ref().unwrap().payments();
        assert_eq!(ledger.len(), ledger_before + 1, "exactly one new charge");
        let charged: Vec<_> = ledger
            .iter()
            .filter(|p| p.amount.amount_minor == total && p.token == "tok_visa")
            .collect();
        assert!(!charged.is_empty(), "the saved token was charged");
        assert!(
            ledger.iter().all(|p| !p.token.starts_with("sht_")),
            "the shopper token is never sent to the provider"
        );
    }
}

#[tokio::test]
async fn wrong_codes_count_and_the_fifth_kills_the_code() {
    for app in apps().await {
        let (sink, w) = shop(&app).await;
        let code = code_for(&app, &w, &sink, EMAIL).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let r = verify(&app, &w, EMAIL, wrong).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.body["code"], "code_incorrect");
        assert!(r.body["message"].as_str().unwrap().contains("4 tries left"));
        for _ in 0..3 {
            assert_eq!(
                verify(&app, &w, EMAIL, wrong).await.body["code"],
                "code_incorrect"
            );
        }
        let fifth = verify(&app, &w, EMAIL, wrong).await;
        assert_eq!(fifth.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(fifth.body["code"], "too_many_attempts");
        let right = verify(&app, &w, EMAIL, &code).await;
        assert_eq!(
            right.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{:#}",
            right.body
        );
        // Malformed codes are refused without spending an attempt.
        let r = verify(&app, &w, EMAIL, "12ab56").await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_code"))
        );
        // A new code works again.
        let code = code_for(&app, &w, &sink, EMAIL).await;
        assert_eq!(verify(&app, &w, EMAIL, &code).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn codes_expire_after_ten_minutes_and_work_once() {
    for app in apps().await {
        let (sink, w) = shop(&app).await;
        let code = code_for(&app, &w, &sink, EMAIL).await;
        app.clock
            .advance_ms(anycart_checkout::shoppers::CODE_TTL_MS + 1);
        let r = verify(&app, &w, EMAIL, &code).await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("code_expired"))
        );

        let code = code_for(&app, &w, &sink, EMAIL).await;
        assert_eq!(verify(&app, &w, EMAIL, &code).await.status, StatusCode::OK);
        let again = verify(&app, &w, EMAIL, &code).await;
        assert_eq!(
            (again.status, again.body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("code_expired"))
        );

        // A newer code supersedes the older one.
        let old = code_for(&app, &w, &sink, EMAIL).await;
        let new = code_for(&app, &w, &sink, EMAIL).await;
        if old != new {
            assert_eq!(
                verify(&app, &w, EMAIL, &old).await.body["code"],
                "code_incorrect"
            );
        }
        assert_eq!(verify(&app, &w, EMAIL, &new).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn codes_are_rate_limited_per_email_with_a_clear_429() {
    for app in apps().await {
        let (sink, w) = shop(&app).await;
        for _ in 0..3 {
            code_for(&app, &w, &sink, EMAIL).await;
        }
        let r = ask_code(&app, &w.pk, &w.placement, EMAIL).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.body["code"], "rate_limited");
        assert!(r.headers.contains_key("retry-after"));
        // Other emails are not affected; the window slides.
        code_for(&app, &w, &sink, "other@example.com").await;
        app.clock
            .advance_ms(anycart_checkout::shoppers::CODE_WINDOW_MS + 1);
        code_for(&app, &w, &sink, EMAIL).await;
        // Bad input changes nothing.
        let r = ask_code(&app, &w.pk, &w.placement, "not an email").await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_email"))
        );
        let r = ask_code(&app, &w.pk, "plc_nope", EMAIL).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn asking_for_a_code_reveals_nothing_about_saved_profiles() {
    for app in apps().await {
        let (sink, w) = shop(&app).await;
        buy_and_remember(&app, &w, "tok_visa").await;
        let known = ask_code(&app, &w.pk, &w.placement, EMAIL).await;
        let unknown = ask_code(&app, &w.pk, &w.placement, "nobody@example.com").await;
        assert_eq!(known.status, unknown.status);
        assert_eq!(known.body, unknown.body);
        // Only the mailbox's owner learns whether details exist: verify says so.
        let code = code_for(&app, &w, &sink, "nobody2@example.com").await;
        let v = verify(&app, &w, "nobody2@example.com", &code).await;
        assert_eq!(v.status, StatusCode::OK);
        assert!(v.body["profile"].is_null());
    }
}

#[tokio::test]
async fn codes_tokens_and_profiles_do_not_cross_merchants() {
    for app in apps().await {
        let sink_a = SmtpSink::start().await;
        let sink_b = SmtpSink::start().await;
        let a = widget(&app, app.pk(), app.sk(), &sink_a).await;
        let other = anycart_checkout::demo::seed(
            &app.state.store,
            &app.base,
            anycart_checkout::clock::Clock::now_ms(&app.clock),
        )
        .await
        .unwrap();
        let b = widget(&app, &other.publishable_key, &other.secret_key, &sink_b).await;
        assert_ne!(a.merchant, b.merchant);
        buy_and_remember(&app, &a, "tok_visa").await;

        // A's placement with B's key is unknown.
        let r = ask_code(&app, &b.pk, &a.placement, EMAIL).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        // A code sent for A does not open B.
        let code = code_for(&app, &a, &sink_a, EMAIL).await;
        let r = verify(&app, &b, EMAIL, &code).await;
        assert_eq!(r.body["code"], "code_expired", "{:#}", r.body);
        // A verified token of A means nothing to B.
        let token = verify(&app, &a, EMAIL, &code).await.body["shopper_token"]
            .as_str()
            .unwrap()
            .to_string();
        let b_variant = &other.variants[0].id;
        let s = app
            .post_with(
                "/checkout_sessions",
                json!({"currency": "usd", "line_items": [{"id": b_variant}], "buyer": {"email": EMAIL},
                       "fulfillment_details": {"name": "Sam Shopper", "address": address("US", "CA")}}),
                &other.publishable_key,
                &uuid::Uuid::now_v7().to_string(),
            )
            .await;
        let sid = s.body["id"].as_str().unwrap().to_string();
        let r = prefill(&app, &b, &sid, &token).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let paid = app
            .post_with(
                &format!("/checkout_sessions/{sid}/complete"),
                payment(&token),
                &other.publishable_key,
                &uuid::Uuid::now_v7().to_string(),
            )
            .await;
        assert_eq!(paid.status, StatusCode::BAD_REQUEST, "{:#}", paid.body);
        assert_eq!(paid.body["code"], "invalid_payment_token");
        // B's code for the same email says B has nothing saved.
        let code = code_for(&app, &b, &sink_b, EMAIL).await;
        assert!(verify(&app, &b, EMAIL, &code).await.body["profile"].is_null());
    }
}

#[tokio::test]
async fn a_shopper_token_pays_only_for_its_own_email_and_only_while_live() {
    for app in apps().await {
        let (sink, w) = shop(&app).await;
        buy_and_remember(&app, &w, "tok_visa").await;
        let token = signed_in(&app, &w, &sink).await;
        let ledger_before = app.sandbox.as_ref().unwrap().payments().len();

        // Someone else's session: the token does not pay for it.
        let id = session_for(&app, "mallory@example.com").await;
        let filled = app
            .post(
                &format!("/checkout_sessions/{id}"),
                json!({"fulfillment_details": {"name": "M", "address": address("US", "CA")}}),
            )
            .await;
        assert_eq!(
            filled.body["status"], "ready_for_payment",
            "{:#}",
            filled.body
        );
        let r = app.pay(&id, &token).await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_payment_token"))
        );
        // A forged or expired token is refused the same way, and nothing was charged.
        let r = app.pay(&id, "sht_forged").await;
        assert_eq!(r.body["code"], "invalid_payment_token");
        app.clock
            .advance_ms(anycart_checkout::shoppers::SHOPPER_TOKEN_TTL_MS + 1);
        let own = app.ready_session(&app.variant("TEE-TRAIL-M"), 1).await.body["id"]
            .as_str()
            .unwrap()
            .to_string();
        let r = app.pay(&own, &token).await;
        assert_eq!(r.body["code"], "invalid_payment_token", "{:#}", r.body);
        // "Not you?" ends a token at once.
        let token = signed_in(&app, &w, &sink).await;
        let out = app
            .shoppers(&w.pk, "sign_out", json!({"shopper_token": token}))
            .await;
        assert_eq!(out.status, StatusCode::NO_CONTENT);
        let r = prefill(&app, &w, &own, &token).await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_shopper_token"))
        );
        assert_eq!(
            app.sandbox.as_ref().unwrap().payments().len(),
            ledger_before
        );
    }
}

/// A ready session for `EMAIL` shipping to a given US state.
async fn session_in(app: &TestApp, state: &str) -> String {
    let s = app
        .post(
            "/checkout_sessions",
            json!({"currency": "usd", "line_items": [{"id": app.variant("TEE-TRAIL-M"), "quantity": 1}],
                   "buyer": {"email": EMAIL},
                   "fulfillment_details": {"name": "Sam Shopper", "address": address("US", state)}}),
        )
        .await;
    assert_eq!(s.body["status"], "ready_for_payment", "{:#}", s.body);
    s.body["id"].as_str().unwrap().to_string()
}

async fn saved_state(app: &TestApp, w: &Widget) -> String {
    let p = app
        .state
        .store
        .get_shopper(w.merchant, EMAIL)
        .await
        .unwrap()
        .unwrap();
    p.details.address.unwrap().state
}

#[tokio::test]
async fn saved_details_are_replaced_only_by_a_verified_shopper_and_a_decline_falls_back() {
    for app in apps().await {
        let (sink, w) = shop(&app).await;
        buy_and_remember(&app, &w, "tok_visa").await;
        assert_eq!(saved_state(&app, &w).await, "CA");
        // Anyone can type the email and tick the box: an existing profile stays.
        let id = session_in(&app, "TX").await;
        app.shoppers(
            &w.pk,
            "remember",
            json!({"checkout_session_id": id, "remember": true}),
        )
        .await;
        assert_eq!(app.pay(&id, "tok_visa").await.body["status"], "completed");
        assert_eq!(saved_state(&app, &w).await, "CA");
        // Unticking withdraws the opt-in.
        let token = signed_in(&app, &w, &sink).await;
        let id = session_in(&app, "WA").await;
        let tick = |remember: bool, id: String| {
            app.shoppers(
                &w.pk,
                "remember",
                json!({"checkout_session_id": id, "remember": remember, "shopper_token": token}),
            )
        };
        assert_eq!(tick(true, id.clone()).await.status, StatusCode::NO_CONTENT);
        assert_eq!(tick(false, id.clone()).await.status, StatusCode::NO_CONTENT);
        app.pay(&id, "tok_visa").await;
        assert_eq!(saved_state(&app, &w).await, "CA");
        // The verified shopper may replace it.
        let id = session_in(&app, "NY").await;
        assert_eq!(tick(true, id.clone()).await.status, StatusCode::NO_CONTENT);
        assert_eq!(app.pay(&id, "tok_visa").await.body["status"], "completed");
        assert_eq!(saved_state(&app, &w).await, "NY");

        // The saved card declines: the session says so and another card still works.
        let stored = app
            .state
            .store
            .get_shopper(w.merchant, EMAIL)
            .await
            .unwrap()
            .unwrap();
        app.state
            .store
            .upsert_shopper(&anycart_store::ShopperProfile {
                payment_token: secrecy::SecretString::from("tok_chargeDeclined".to_string()),
                ..stored
            })
            .await
            .unwrap();
        let own = session_for(&app, EMAIL).await;
        let filled = prefill(&app, &w, &own, &token).await;
        assert_eq!(
            filled.body["status"], "ready_for_payment",
            "{:#}",
            filled.body
        );
        let declined = app.pay(&own, &token).await;
        assert_eq!(declined.status, StatusCode::OK);
        assert_ne!(declined.body["status"], "completed");
        assert!(
            crate::helpers::message_codes(&declined.body).contains(&"payment_declined".to_string()),
            "{:#}",
            declined.body
        );
        let fallback = app.pay(&own, "tok_visa").await;
        assert_eq!(fallback.body["status"], "completed", "{:#}", fallback.body);
    }
}

/// "Forget me": the signed-in shopper (or the merchant, through the admin API)
/// deletes the saved details; their token stops working and nothing is charged
/// with the old card afterwards.
#[tokio::test]
async fn shoppers_can_be_forgotten_by_themselves_or_by_the_merchant() {
    for app in apps().await {
        let name = app.backend;
        let (sink, w) = shop(&app).await;
        buy_and_remember(&app, &w, "tok_visa").await;
        let token = signed_in(&app, &w, &sink).await;

        // A forged token cannot forget anyone.
        let r = app
            .shoppers(&w.pk, "forget", json!({"shopper_token": "sht_forged"}))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{name}");

        let r = app
            .shoppers(&w.pk, "forget", json!({"shopper_token": token}))
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{name}: {:#}", r.body);
        let id = session_for(&app, EMAIL).await;
        let filled = prefill(&app, &w, &id, &token).await;
        assert_eq!(
            filled.status,
            StatusCode::UNAUTHORIZED,
            "{name}: token ended"
        );
        let paid = app.pay(&id, &token).await;
        assert_ne!(
            paid.body["status"], "completed",
            "{name}: no saved card left"
        );

        // The merchant can do it too (e.g. for an emailed request); 404 once gone.
        buy_and_remember(&app, &w, "tok_visa").await;
        let path = format!("/shoppers/{}", EMAIL.to_uppercase());
        let r = app.admin(Method::DELETE, &path, None).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{name}: {:#}", r.body);
        let r = app.admin(Method::DELETE, &path, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{name}");
        let token = signed_in(&app, &w, &sink).await;
        let v = prefill(&app, &w, &session_for(&app, EMAIL).await, &token).await;
        assert_eq!(v.status, StatusCode::NOT_FOUND, "{name}: nothing saved");
    }
}
