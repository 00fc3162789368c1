//! TV → phone hand-offs over HTTP: a code for a held session, the first phone
//! owns it (and may reload), other phones, expired and unknown codes get their
//! pages, guessing is throttled, and the phone pays the very session the TV holds.

use crate::helpers::{TestApp, apps, guarded_apps, payment};
use crate::placements::product_of;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A placement for the bottle and a session opened with its key: `(pk, session)`.
async fn tv_session(app: &TestApp, quantity: i64) -> (String, String) {
    let (product, variant) = product_of(app, "BTL-750-BLU").await;
    let p = app
        .admin(
            Method::POST,
            "/placements",
            Some(json!({ "product_id": product, "channel": "ctv", "allowed_origins": ["https://tv.example"] })),
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{:#}", p.body);
    let pk = p.body["publishable_key"].as_str().unwrap().to_string();
    let s = app
        .post_with(
            "/checkout_sessions",
            json!({ "currency": "usd", "line_items": [{ "id": variant, "quantity": quantity }] }),
            &pk,
            &uuid::Uuid::now_v7().to_string(),
        )
        .await;
    assert_eq!(s.status, StatusCode::CREATED, "{:#}", s.body);
    (pk, s.body["id"].as_str().unwrap().to_string())
}

async fn issue(app: &TestApp, key: &str, session: &str) -> (StatusCode, Value) {
    let r = app
        .client
        .post(format!("{}/widget/handoffs", app.base))
        .bearer_auth(key)
        .json(&json!({ "checkout_session_id": session }))
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// The phone finishes the TV's session as the checkout app there does: the
/// shopper's email and address, then a card. Answers the `complete` response.
async fn phone_pays(app: &TestApp, pk: &str, session: &str) -> crate::helpers::Reply {
    let ready = app
        .post_with(
            &format!("/checkout_sessions/{session}"),
            json!({ "buyer": { "email": "tv@example.com" },
                    "fulfillment_details": { "name": "T V", "address": crate::helpers::address("US", "CA") } }),
            pk,
            &uuid::Uuid::now_v7().to_string(),
        )
        .await;
    assert_eq!(ready.status, StatusCode::OK, "{:#}", ready.body);
    app.post_with(
        &format!("/checkout_sessions/{session}/complete"),
        payment("tok_visa"),
        pk,
        &uuid::Uuid::now_v7().to_string(),
    )
    .await
}

/// Opens `/h/{code}` as a phone holding `cookie` (none for a new phone).
async fn open(
    app: &TestApp,
    code: &str,
    cookie: Option<&str>,
) -> (StatusCode, Option<String>, String) {
    let mut req = app.client.get(format!("{}/h/{code}", app.base));
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    let r = req.send().await.unwrap();
    let set = r
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string());
    (r.status(), set, r.text().await.unwrap())
}

#[tokio::test]
async fn the_first_phone_continues_the_held_session_and_others_are_refused() {
    for app in apps().await {
        let (pk, session) = tv_session(&app, 2).await;
        let (status, ho) = issue(&app, &pk, &session).await;
        assert_eq!(status, StatusCode::CREATED, "{}: {ho:#}", app.backend);
        let code = ho["code"].as_str().unwrap().to_string();
        assert_eq!(code.len(), 8);
        assert_eq!(ho["url"], format!("{}/h/{code}", app.base));
        assert!(ho["qr_svg"].as_str().unwrap().contains("<svg"));
        let held = app.available(&app.variant("BTL-750-BLU")).await;

        let (status, cookie, page) = open(&app, &code.to_lowercase(), None).await;
        assert_eq!(status, StatusCode::OK, "{}: {page}", app.backend);
        assert!(
            page.contains(&format!("\"resume_session_id\":\"{session}\"")),
            "{page}"
        );
        let cookie = cookie.expect("the phone gets its claim cookie");
        // The same phone reloads; another phone is refused.
        assert_eq!(open(&app, &code, Some(&cookie)).await.0, StatusCode::OK);
        let (status, _, page) = open(&app, &code, None).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(page.contains("already open on another device"), "{page}");
        let (status, _, _) = open(&app, &code, Some("anycart_handoff=forged")).await;
        assert_eq!(
            status,
            StatusCode::CONFLICT,
            "a malformed cookie is a new phone"
        );

        // The phone pays the TV's session: nothing held twice, one order.
        assert_eq!(app.available(&app.variant("BTL-750-BLU")).await, held);
        let paid = phone_pays(&app, &pk, &session).await;
        assert_eq!(paid.status, StatusCode::OK, "{:#}", paid.body);
        assert_eq!(paid.body["status"], "completed");
        let (status, _, page) = open(&app, &code, Some(&cookie)).await;
        assert_eq!(status, StatusCode::GONE, "the checkout has ended: {page}");
        // No new code for an ended session.
        assert!(issue(&app, &pk, &session).await.0.is_client_error());
    }
}

#[tokio::test]
async fn expired_unknown_and_misdirected_codes_are_refused() {
    for app in apps().await {
        let (pk, session) = tv_session(&app, 1).await;
        // The merchant's general key is not a placement's: no code.
        let (status, body) = issue(&app, app.pk(), &session).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body:#}");
        let (status, body) = issue(&app, &pk, "cs_nope").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body:#}");
        let (status, body) = issue(&app, &pk, &session).await;
        assert_eq!(status, StatusCode::CREATED, "{body:#}");
        let code = body["code"].as_str().unwrap().to_string();
        // Never past the hold: an anonymous session's hold is the shorter one.
        app.clock
            .advance_ms(anycart_checkout::handoff::HANDOFF_TTL_MS_MAX + 1);
        assert_eq!(open(&app, &code, None).await.0, StatusCode::GONE);
        assert_eq!(open(&app, "2222-2222", None).await.0, StatusCode::NOT_FOUND);
        assert_eq!(open(&app, "../../etc", None).await.0, StatusCode::NOT_FOUND);
        let typed = app
            .client
            .get(format!("{}/h?code={}", app.base, code.to_lowercase()))
            .send()
            .await
            .unwrap();
        assert_eq!(
            typed.url().path(),
            format!("/h/{code}"),
            "a typed code goes on to its page"
        );
    }
}

#[tokio::test]
async fn guessing_codes_is_throttled_per_client() {
    for app in guarded_apps().await {
        let burst = anycart_checkout::throttle::ThrottleConfig::default()
            .handoff_codes
            .burst;
        let guess = |from: &'static str| {
            app.client
                .get(format!("{}/h/23456789", app.base))
                .header("X-Forwarded-For", from)
                .send()
        };
        for _ in 0..burst {
            assert_eq!(
                guess("198.51.100.7").await.unwrap().status(),
                StatusCode::NOT_FOUND
            );
        }
        assert_eq!(
            guess("198.51.100.7").await.unwrap().status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            guess("198.51.100.8").await.unwrap().status(),
            StatusCode::NOT_FOUND,
            "another client"
        );
    }
}

/// When `session` expires, in ms since the epoch (from its `expires_at`).
async fn expires_at_ms(app: &TestApp, pk: &str, session: &str) -> i128 {
    let s = app
        .client
        .get(format!("{}/checkout_sessions/{session}", app.base))
        .bearer_auth(pk)
        .header("API-Version", crate::helpers::API_VERSION)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let at = time::OffsetDateTime::parse(
        s["expires_at"].as_str().expect("expires_at"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    at.unix_timestamp_nanos() / 1_000_000
}

#[tokio::test]
async fn a_handoff_outlives_the_tvs_short_anonymous_hold() {
    for app in apps().await {
        let (pk, session) = tv_session(&app, 2).await;
        let variant = app.variant("BTL-750-BLU");
        let held = app.available(&variant).await;
        let anonymous_ttl_ms = i128::from(anycart_checkout::ANONYMOUS_TTL_MS_DEFAULT);
        let before = expires_at_ms(&app, &pk, &session).await;

        let (status, ho) = issue(&app, &pk, &session).await;
        assert_eq!(status, StatusCode::CREATED, "{}: {ho:#}", app.backend);
        let code = ho["code"].as_str().unwrap().to_string();
        let after = expires_at_ms(&app, &pk, &session).await;
        assert!(
            after - before > anonymous_ttl_ms,
            "{}: issuing a code renews the hold for the full session TTL ({before} → {after})",
            app.backend
        );
        let code_expires = time::OffsetDateTime::parse(
            ho["expires_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
        .unix_timestamp_nanos()
            / 1_000_000;
        assert!(
            code_expires <= after,
            "{}: the code never outlives the hold",
            app.backend
        );

        // The shopper takes longer than the anonymous hold to find their phone.
        app.clock
            .advance_ms(anycart_checkout::ANONYMOUS_TTL_MS_DEFAULT + 1_000);
        app.state.checkout.sweep_once().await.unwrap();
        assert_eq!(
            app.available(&variant).await,
            held,
            "{}: the stock is still held",
            app.backend
        );
        let (status, _, page) = open(&app, &code, None).await;
        assert_eq!(status, StatusCode::OK, "{}: {page}", app.backend);
        // The phone's first change (no email yet) keeps the full hold too.
        let address_only = app
            .post_with(
                &format!("/checkout_sessions/{session}"),
                json!({ "fulfillment_details": { "name": "T V", "address": crate::helpers::address("US", "CA") } }),
                &pk,
                &uuid::Uuid::now_v7().to_string(),
            )
            .await;
        assert_eq!(
            address_only.status,
            StatusCode::OK,
            "{:#}",
            address_only.body
        );
        app.clock
            .advance_ms(anycart_checkout::ANONYMOUS_TTL_MS_DEFAULT + 1_000);
        app.state.checkout.sweep_once().await.unwrap();
        assert_eq!(app.available(&variant).await, held, "{}", app.backend);
    }
}

#[tokio::test]
async fn a_session_has_one_live_code_at_a_time() {
    for app in apps().await {
        let (pk, session) = tv_session(&app, 1).await;
        let (status, first) = issue(&app, &pk, &session).await;
        assert_eq!(status, StatusCode::CREATED, "{}: {first:#}", app.backend);
        let (status, second) = issue(&app, &pk, &session).await;
        assert_eq!(status, StatusCode::CREATED, "{}: {second:#}", app.backend);
        let (old, new) = (
            first["code"].as_str().unwrap(),
            second["code"].as_str().unwrap(),
        );
        assert_ne!(old, new, "a fresh code");
        // The old code is dead; the new one works, once.
        let (status, _, page) = open(&app, old, None).await;
        assert_eq!(status, StatusCode::GONE, "{}: {page}", app.backend);
        assert!(page.contains("newer code"), "{page}");
        let (status, cookie, page) = open(&app, new, None).await;
        assert_eq!(status, StatusCode::OK, "{}: {page}", app.backend);
        // Once a phone has the session, no further code lets another phone in.
        let (status, body) = issue(&app, &pk, &session).await;
        assert_eq!(status, StatusCode::CONFLICT, "{}: {body:#}", app.backend);
        assert_eq!(body["code"], "handoff_taken", "{body:#}");
        assert_eq!(open(&app, new, cookie.as_deref()).await.0, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_handoff_purchase_counts_in_the_placements_funnel() {
    const BROWSER: &str = "Mozilla/5.0 (Linux; Android 15) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Mobile Safari/537.36";
    for app in apps().await {
        let (pk, session) = tv_session(&app, 1).await;
        let (_, ho) = issue(&app, &pk, &session).await;
        let code = ho["code"].as_str().unwrap();
        let (status, _, page) = open(&app, code, None).await;
        assert_eq!(status, StatusCode::OK, "{}: {page}", app.backend);
        let start = page.find("id=\"anycart-config\">").unwrap() + "id=\"anycart-config\">".len();
        let end = start + page[start..].find("</script>").unwrap();
        let config: Value = serde_json::from_str(&page[start..end]).unwrap();
        let view = &config["view"];
        assert!(
            view["view_id"].is_string(),
            "{}: the phone page carries a signed view for funnel events: {config:#}",
            app.backend
        );
        let placement = config["placement_id"].as_str().unwrap().to_string();

        // The phone finishes the TV's checkout…
        let paid = phone_pays(&app, &pk, &session).await;
        assert_eq!(paid.body["status"], "completed", "{:#}", paid.body);
        // …and reports what the checkout app there reports as the shopper goes.
        let steps = [
            "impression",
            "opened",
            "checkout_started",
            "contact",
            "shipping",
            "payment_attempted",
            "paid",
        ];
        let report = json!({"key": pk, "placement": placement, "view_id": view["view_id"],
            "view_token": view["view_token"],
            "events": steps.iter().map(|s| json!({"step": s})).collect::<Vec<_>>()});
        let r = app
            .client
            .post(format!("{}/events", app.base))
            .header("User-Agent", BROWSER)
            .header("Content-Type", "text/plain;charset=UTF-8")
            .body(report.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        assert_eq!(r.json::<Value>().await.unwrap()["counted"], steps.len());

        let funnel = app
            .admin(
                Method::GET,
                &format!("/analytics/funnel?placement={placement}"),
                None,
            )
            .await;
        assert_eq!(funnel.status, StatusCode::OK, "{:#}", funnel.body);
        for step in steps {
            let count = funnel.body["steps"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["step"] == step)
                .unwrap()["count"]
                .as_u64();
            assert_eq!(count, Some(1), "{}: {step} of the hand-off", app.backend);
        }
    }
}
