//! Hostile traffic, as an independent tester ran it: bots parking a drop with
//! anonymous checkouts, one client locking every shopper out of sign-in, card
//! testing. Clients are told apart by `X-Forwarded-For` (a trusted proxy's
//! header in these apps); limits are the production defaults.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A request to the checkout API as `client` (its address) with the demo's key.
async fn as_client(app: &TestApp, client: &str, path: &str, body: Value) -> Reply {
    let r = app
        .client
        .post(format!("{}{path}", app.base))
        .bearer_auth(app.pk())
        .header("API-Version", API_VERSION)
        .header("Idempotency-Key", uuid::Uuid::now_v7().to_string())
        .header("X-Forwarded-For", client)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let body = r.json().await.unwrap_or(Value::Null);
    Reply {
        status,
        body,
        headers,
    }
}

fn held(session: &Value) -> i64 {
    session["line_items"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .filter(|l| l["availability_status"] != "out_of_stock")
                .filter_map(|l| l["quantity"].as_i64())
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn forty_anonymous_checkouts_from_one_client_cannot_park_a_drop() {
    for app in guarded_apps().await {
        let drop = app.variant("SNKR-DROP-42"); // 25 pairs, two per customer
        let before = app.available(&drop).await;
        let bot = "198.51.100.66";
        let (mut created, mut throttled, mut units) = (0, 0, 0);
        for _ in 0..40 {
            let r = as_client(&app, bot, "/checkout_sessions", json!({
                "currency": "usd", "line_items": [{"id": drop, "quantity": 2}], "capabilities": {}
            }))
            .await;
            match r.status {
                StatusCode::CREATED => {
                    created += 1;
                    if r.body["messages"]
                        .as_array()
                        .is_none_or(|m| m.iter().all(|m| m["code"] != "quantity_exceeded"))
                    {
                        units += held(&r.body);
                    }
                }
                StatusCode::TOO_MANY_REQUESTS => {
                    throttled += 1;
                    assert_acp_shape(&r);
                    assert_eq!(r.body["code"], "rate_limited");
                    assert!(r.headers.contains_key("retry-after"));
                }
                other => panic!("{other}: {}", r.body),
            }
        }
        assert!(throttled > 0, "{}: the bot is slowed down", app.backend);
        let parked = before - app.available(&drop).await;
        assert!(
            parked <= 6,
            "{}: one anonymous client holds at most 3 × the per-customer limit, held {parked} ({created} checkouts, {units} units)",
            app.backend
        );

        // A real buyer from elsewhere still buys the drop.
        let buyer = as_client(
            &app,
            "203.0.113.9",
            "/checkout_sessions",
            json!({
                "currency": "usd", "line_items": [{"id": drop, "quantity": 2}], "capabilities": {},
                "buyer": {"email": "real@example.com"},
                "fulfillment_details": {"name": "Real Buyer", "address": address("US", "CA")}
            }),
        )
        .await;
        assert_eq!(buyer.body["status"], "ready_for_payment", "{}", buyer.body);
        let id = buyer.body["id"].as_str().unwrap();
        let paid = as_client(
            &app,
            "203.0.113.9",
            &format!("/checkout_sessions/{id}/complete"),
            payment("tok_visa"),
        )
        .await;
        assert_eq!(paid.body["status"], "completed", "{}", paid.body);

        // The bot's anonymous holds lapse in two minutes, not ten.
        app.clock
            .advance_ms(anycart_checkout::ANONYMOUS_TTL_MS_DEFAULT + 1_000);
        app.state.checkout.sweep_once().await.unwrap();
        assert_eq!(
            app.available(&drop).await,
            before - 2,
            "{}: only the real order is left",
            app.backend
        );
    }
}

#[tokio::test]
async fn an_email_buys_the_full_hold_and_counts_the_buyer_not_the_client() {
    for app in guarded_apps().await {
        let drop = app.variant("SNKR-DROP-42");
        let office = "192.0.2.10"; // several shoppers behind one address
        let mut ids = Vec::new();
        for n in 0..3 {
            let s = as_client(&app, office, "/checkout_sessions", json!({
                "currency": "usd", "line_items": [{"id": drop, "quantity": 2}], "capabilities": {}
            }))
            .await;
            assert_eq!(s.status, StatusCode::CREATED, "{n}: {}", s.body);
            assert_eq!(
                held(&s.body),
                2,
                "{}: shopper {n} behind the office's address holds",
                app.backend
            );
            ids.push(s.body["id"].as_str().unwrap().to_string());
        }
        // The fourth anonymous shopper of the same address gets nothing held…
        let fourth = as_client(
            &app,
            office,
            "/checkout_sessions",
            json!({
                "currency": "usd", "line_items": [{"id": drop, "quantity": 2}], "capabilities": {}
            }),
        )
        .await;
        let codes: Vec<&str> = fourth.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["code"].as_str())
            .collect();
        assert!(codes.contains(&"quantity_exceeded"), "{}", fourth.body);
        // …until they say who they are: then their own limit applies.
        let id = fourth.body["id"].as_str().unwrap();
        let named = as_client(
            &app,
            office,
            &format!("/checkout_sessions/{id}"),
            json!({
                "buyer": {"email": "fourth@example.com"}
            }),
        )
        .await;
        assert_eq!(held(&named.body), 2, "{}", named.body);
        let expires = |s: &Value| {
            time::OffsetDateTime::parse(
                s["expires_at"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
        };
        let anonymous = as_client(
            &app,
            office,
            &format!("/checkout_sessions/{}", ids[0]),
            json!({}),
        )
        .await;
        let lifetime = expires(&named.body) - expires(&anonymous.body);
        assert!(
            lifetime.whole_seconds() > 400,
            "an identified shopper's hold outlives an anonymous one by minutes: {lifetime}"
        );
    }
}

#[tokio::test]
async fn one_client_cannot_lock_every_shopper_out_of_sign_in() {
    for app in guarded_apps().await {
        let product = app
            .admin(reqwest::Method::GET, "/products?limit=1", None)
            .await
            .body["data"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let placement = app
            .admin(
                reqwest::Method::POST,
                "/placements",
                Some(json!({"product_id": product, "channel": "display_ad", "allowed_origins": ["https://news.example"]})),
            )
            .await;
        let placement = placement.body["id"].as_str().unwrap().to_string();
        let ask = |client: &'static str, email: String| {
            let (app, placement) = (&app, placement.clone());
            async move {
                let r = app
                    .client
                    .post(format!("{}/widget/shoppers/codes", app.base))
                    .bearer_auth(app.pk())
                    .header("X-Forwarded-For", client)
                    .json(&json!({"placement_id": placement, "email": email}))
                    .send()
                    .await
                    .unwrap();
                (r.status(), r.headers().get("retry-after").cloned())
            }
        };
        let mut refused = None;
        for n in 0..600 {
            let (status, retry) = ask("198.51.100.77", format!("victim{n}@example.com")).await;
            if status == StatusCode::TOO_MANY_REQUESTS {
                refused = Some((n, retry));
                break;
            }
            assert_eq!(status, StatusCode::ACCEPTED);
        }
        let (n, retry) = refused.expect("the flooding client is refused");
        assert!(n <= 10, "{}: refused after {n} codes", app.backend);
        let retry: u64 = retry.unwrap().to_str().unwrap().parse().unwrap();
        assert!(
            retry <= 60,
            "a short wait for that client only, not 600 s: {retry}"
        );
        // Everyone else still signs in.
        for shopper in ["203.0.113.20", "203.0.113.21"] {
            let (status, _) = ask(shopper, format!("{shopper}@example.com")).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{shopper}");
        }
    }
}

#[tokio::test]
async fn card_testers_are_refused_and_other_shoppers_pay() {
    for app in guarded_apps().await {
        let tee = app.variant("TEE-TRAIL-S");
        let tester = "198.51.100.99";
        let mut refused_after = None;
        for n in 0..12 {
            let s = as_client(&app, tester, "/checkout_sessions", json!({
                "currency": "usd", "line_items": [{"id": tee, "quantity": 1}], "capabilities": {},
                "buyer": {"email": format!("t{n}@example.com")},
                "fulfillment_details": {"name": "T", "address": address("US", "CA")}
            }))
            .await;
            let id = s.body["id"].as_str().unwrap();
            let r = as_client(
                &app,
                tester,
                &format!("/checkout_sessions/{id}/complete"),
                payment("tok_chargeDeclined"),
            )
            .await;
            if r.status == StatusCode::TOO_MANY_REQUESTS {
                assert_eq!(r.body["code"], "rate_limited");
                refused_after = Some(n);
                break;
            }
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
        assert_eq!(
            refused_after,
            Some(6),
            "{}: five declines, then refused",
            app.backend
        );

        // A tester rotating addresses on one checkout meets the checkout's own limit.
        let s = app.ready_session(&tee, 1).await;
        let id = s.body["id"].as_str().unwrap();
        let mut last = None;
        for n in 0..10 {
            let r = as_client(
                &app,
                &format!("198.51.101.{n}"),
                &format!("/checkout_sessions/{id}/complete"),
                payment("tok_chargeDeclined"),
            )
            .await;
            last = Some((n, r.status, r.body["code"].clone()));
            if r.status == StatusCode::TOO_MANY_REQUESTS {
                break;
            }
        }
        assert_eq!(
            last,
            Some((8, StatusCode::TOO_MANY_REQUESTS, json!("too_many_attempts"))),
            "{}",
            app.backend
        );

        // A shopper elsewhere pays as usual.
        let s = as_client(
            &app,
            "203.0.113.30",
            "/checkout_sessions",
            json!({
                "currency": "usd", "line_items": [{"id": tee, "quantity": 1}], "capabilities": {},
                "buyer": {"email": "ok@example.com"},
                "fulfillment_details": {"name": "Ok", "address": address("US", "CA")}
            }),
        )
        .await;
        let id = s.body["id"].as_str().unwrap();
        let paid = as_client(
            &app,
            "203.0.113.30",
            &format!("/checkout_sessions/{id}/complete"),
            payment("tok_visa"),
        )
        .await;
        assert_eq!(paid.body["status"], "completed", "{}", paid.body);
    }
}

#[tokio::test]
async fn browsers_may_call_checkout_from_placement_origins_and_never_the_admin_api() {
    for app in apps().await {
        let product = app
            .admin(reqwest::Method::GET, "/products?limit=1", None)
            .await
            .body["data"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let made = app
            .admin(
                reqwest::Method::POST,
                "/placements",
                Some(json!({"product_id": product, "channel": "publisher", "allowed_origins": ["https://news.example"]})),
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED);
        let preflight = |path: &'static str, origin: &'static str| {
            let app = &app;
            async move {
                let r = app
                    .client
                    .request(reqwest::Method::OPTIONS, format!("{}{path}", app.base))
                    .header("Origin", origin)
                    .header("Access-Control-Request-Method", "POST")
                    .header(
                        "Access-Control-Request-Headers",
                        "authorization,content-type,idempotency-key,api-version",
                    )
                    .send()
                    .await
                    .unwrap();
                r.headers()
                    .get("access-control-allow-origin")
                    .map(|v| v.to_str().unwrap().to_string())
            }
        };
        assert_eq!(
            preflight("/checkout_sessions", "https://news.example")
                .await
                .as_deref(),
            Some("https://news.example"),
            "{}: a placement's host page may call checkout",
            app.backend
        );
        assert_eq!(
            preflight("/checkout_sessions", "https://evil.example").await,
            None
        );
        assert_eq!(
            preflight("/v1/orders", "https://news.example").await,
            None,
            "no admin API from a browser"
        );
        let admin = app
            .client
            .get(format!("{}/v1/merchant", app.base))
            .bearer_auth(app.sk())
            .header("Origin", "https://news.example")
            .send()
            .await
            .unwrap();
        assert!(admin.headers().get("access-control-allow-origin").is_none());
        // An actual checkout call from the allowed origin carries the header.
        let created = app
            .client
            .post(format!("{}/checkout_sessions", app.base))
            .bearer_auth(app.pk())
            .header("Origin", "https://news.example")
            .header("API-Version", API_VERSION)
            .header("Idempotency-Key", "cors-1")
            .json(&json!({"currency": "usd", "line_items": [{"id": app.variant("TEE-TRAIL-S")}], "capabilities": {}}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        assert_eq!(
            created.headers()["access-control-allow-origin"],
            "https://news.example"
        );
    }
}
