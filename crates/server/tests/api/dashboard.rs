//! The merchant dashboard's sign-in: passwords (argon2id, rate-limited), one-time
//! links, the session cookie and its CSRF token on the admin API, staff limits,
//! sign-out and expiry.

use crate::helpers::{TestApp, apps};
use anycart_store::UserRole;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

/// A user of the demo merchant with `PASSWORD`; returns their email.
async fn user(app: &TestApp, role: UserRole) -> String {
    let email = format!("{}@shop.example", uuid::Uuid::now_v7().simple());
    let merchant = app.demo.merchant_id.parse().unwrap();
    app.state
        .checkout
        .create_user(merchant, &email, role, Some(PASSWORD))
        .await
        .unwrap();
    email
}

/// `(status, body, session cookie pair if set)` of a password sign-in.
async fn sign_in(
    app: &TestApp,
    email: &str,
    password: &str,
) -> (StatusCode, Value, Option<String>) {
    let r = app
        .client
        .post(format!("{}/dashboard/session", app.base))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let cookie = r
        .headers()
        .get(SET_COOKIE)
        .map(|c| c.to_str().unwrap().to_string());
    if let Some(c) = &cookie {
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Path=/"),
            "{c}"
        );
    }
    let pair = cookie.map(|c| c.split(';').next().unwrap().to_string());
    (status, r.json().await.unwrap_or(Value::Null), pair)
}

/// An admin API call with a session cookie (and a CSRF token when given).
async fn with_cookie(
    app: &TestApp,
    method: Method,
    path: &str,
    cookie: &str,
    csrf: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app
        .client
        .request(method, format!("{}{path}", app.base))
        .header(COOKIE, cookie);
    if let Some(t) = csrf {
        req = req.header("X-CSRF-Token", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_user_signs_in_uses_the_admin_api_with_csrf_and_signs_out() {
    for app in apps().await {
        let email = user(&app, UserRole::Owner).await;
        let (status, body, cookie) = sign_in(&app, &email.to_uppercase(), PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{}: {body}", app.backend);
        let cookie = cookie.expect("a session cookie");
        assert_eq!(body["user"]["email"], email);
        assert_eq!(body["user"]["role"], "owner");
        assert_eq!(body["merchant_id"], app.demo.merchant_id);
        let csrf = body["csrf_token"].as_str().unwrap().to_string();

        // Reads need only the cookie; the session endpoint gives the same token back.
        let (s, me) =
            with_cookie(&app, Method::GET, "/dashboard/session", &cookie, None, None).await;
        assert_eq!(
            (s, me["csrf_token"].as_str()),
            (StatusCode::OK, Some(csrf.as_str()))
        );
        let (s, orders) = with_cookie(&app, Method::GET, "/v1/orders", &cookie, None, None).await;
        assert_eq!(s, StatusCode::OK, "{orders}");

        // A state change without (or with a wrong) CSRF token changes nothing.
        let theme = json!({"primary_color": "#123456"});
        for token in [None, Some("0".repeat(64))] {
            let (s, e) = with_cookie(
                &app,
                Method::PUT,
                "/v1/widget_theme",
                &cookie,
                token.as_deref(),
                Some(theme.clone()),
            )
            .await;
            assert_eq!(
                (s, e["code"].as_str()),
                (StatusCode::FORBIDDEN, Some("csrf_token_invalid"))
            );
        }
        let saved = app.admin(Method::GET, "/widget_theme", None).await;
        assert_ne!(saved.body["primary_color"], "#123456");
        let (s, _) = with_cookie(
            &app,
            Method::PUT,
            "/v1/widget_theme",
            &cookie,
            Some(&csrf),
            Some(theme),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            app.admin(Method::GET, "/widget_theme", None).await.body["primary_color"],
            "#123456"
        );

        // Sign-out needs the token too, then the cookie is dead.
        let (s, _) = with_cookie(
            &app,
            Method::DELETE,
            "/dashboard/session",
            &cookie,
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = with_cookie(
            &app,
            Method::DELETE,
            "/dashboard/session",
            &cookie,
            Some(&csrf),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, e) = with_cookie(&app, Method::GET, "/v1/orders", &cookie, None, None).await;
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("sign_in_required"))
        );
    }
}

#[tokio::test]
async fn wrong_passwords_are_refused_then_rate_limited() {
    for app in apps().await {
        let email = user(&app, UserRole::Staff).await;
        let (s, e, cookie) = sign_in(&app, "nobody@shop.example", PASSWORD).await;
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_credentials"))
        );
        assert!(cookie.is_none());
        for _ in 0..anycart_checkout::users::SIGN_IN_FAILURES_MAX {
            let (s, e, _) = sign_in(&app, &email, "wrong password!").await;
            assert_eq!(
                (s, e["code"].as_str()),
                (StatusCode::UNAUTHORIZED, Some("invalid_credentials")),
                "{}",
                app.backend
            );
        }
        // Past the limit even the right password is refused, until the window passes.
        let (s, e, cookie) = sign_in(&app, &email, PASSWORD).await;
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("too_many_attempts"))
        );
        assert!(cookie.is_none());
        app.clock
            .advance_ms(anycart_checkout::users::SIGN_IN_FAILURE_WINDOW_MS + 1);
        let (s, _, cookie) = sign_in(&app, &email, PASSWORD).await;
        assert_eq!(s, StatusCode::OK);
        assert!(cookie.is_some());
        // Malformed bodies are 400s, not sign-in attempts.
        let r = app
            .client
            .post(format!("{}/dashboard/session", app.base))
            .body("{")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn another_sites_page_cannot_sign_the_browser_in() {
    for app in apps().await {
        let email = user(&app, UserRole::Staff).await;
        let own_origin = app.base.clone();
        for (header, value, allowed) in [
            ("origin", "https://attacker.example", false),
            ("sec-fetch-site", "cross-site", false),
            ("sec-fetch-site", "same-site", false),
            ("origin", own_origin.as_str(), true),
            ("sec-fetch-site", "same-origin", true),
        ] {
            let r = app
                .client
                .post(format!("{}/dashboard/session", app.base))
                .header(header, value)
                .json(&json!({"email": email, "password": PASSWORD}))
                .send()
                .await
                .unwrap();
            let status = r.status();
            let set = r.headers().get(SET_COOKIE).is_some();
            let body: Value = r.json().await.unwrap();
            if allowed {
                assert_eq!((status, set), (StatusCode::OK, true), "{header}: {value}");
            } else {
                assert_eq!(
                    (status, set, body["code"].as_str()),
                    (StatusCode::FORBIDDEN, false, Some("csrf_token_invalid")),
                    "{header}: {value}"
                );
            }
        }
    }
}

#[tokio::test]
async fn links_sign_in_once_and_sessions_expire() {
    for app in apps().await {
        let merchant = app.demo.merchant_id.parse().unwrap();
        let email = format!("{}@shop.example", uuid::Uuid::now_v7().simple());
        let created = app
            .state
            .checkout
            .create_user(merchant, &email, UserRole::Staff, None)
            .await
            .unwrap();
        let token = created.link_token.expose_secret().to_string();
        let link = format!("{}/dashboard/sign_in", app.base);
        let no_redirect = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        // Opening the link (a person, or a mail scanner fetching it) shows a
        // button and spends nothing.
        for _ in 0..2 {
            let r = no_redirect
                .get(format!("{link}?token={token}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            assert!(r.headers().get(SET_COOKIE).is_none());
            assert_eq!(r.headers()["referrer-policy"], "no-referrer");
            let page = r.text().await.unwrap();
            assert!(
                page.contains(&format!("name=\"token\" value=\"{token}\"")),
                "{page}"
            );
        }
        let spend = |token: String, site: &'static str| {
            let request = no_redirect
                .post(&link)
                .header("sec-fetch-site", site)
                .form(&[("token", token)]);
            async move { request.send().await.unwrap() }
        };
        // Another site's page cannot make the browser spend it (login CSRF).
        let r = spend(token.clone(), "cross-site").await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.headers().get(SET_COOKIE).is_none());
        // The page's button spends it.
        let r = spend(token.clone(), "same-origin").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/dashboard/#/");
        let cookie = r.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let (s, me) =
            with_cookie(&app, Method::GET, "/dashboard/session", &cookie, None, None).await;
        assert_eq!(
            (s, me["user"]["has_password"].as_bool()),
            (StatusCode::OK, Some(false))
        );
        // The link is spent; a made-up one fails the same way.
        for token in [token.clone(), "lnk_nope".to_string()] {
            let r = spend(token, "same-origin").await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
            assert_eq!(r.headers()["location"], "/dashboard/#/sign-in?link=expired");
            assert!(r.headers().get(SET_COOKIE).is_none());
        }
        // An expired link fails too.
        let late = app
            .state
            .checkout
            .issue_sign_in_link(&created.user)
            .await
            .unwrap();
        app.clock
            .advance_ms(anycart_checkout::users::SIGN_IN_LINK_TTL_MS + 1);
        let r = spend(late.expose_secret().to_string(), "none").await;
        assert_eq!(r.headers()["location"], "/dashboard/#/sign-in?link=expired");
        // Sessions end after their lifetime.
        app.clock
            .advance_ms(anycart_checkout::users::DASHBOARD_SESSION_TTL_MS);
        let (s, _) =
            with_cookie(&app, Method::GET, "/dashboard/session", &cookie, None, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{}", app.backend);
    }
}

#[tokio::test]
async fn staff_cannot_manage_connections_or_payments_and_see_only_their_merchant() {
    for app in apps().await {
        let email = user(&app, UserRole::Staff).await;
        let (_, body, cookie) = sign_in(&app, &email, PASSWORD).await;
        let (cookie, csrf) = (
            cookie.unwrap(),
            body["csrf_token"].as_str().unwrap().to_string(),
        );
        for (method, path, body) in [
            (Method::PUT, "/v1/connection", json!({"platform": "native"})),
            (
                Method::PUT,
                "/v1/payment_provider",
                json!({"provider": "sandbox"}),
            ),
        ] {
            let (s, e) = with_cookie(&app, method, path, &cookie, Some(&csrf), Some(body)).await;
            assert_eq!(
                (s, e["code"].as_str()),
                (StatusCode::FORBIDDEN, Some("owner_required")),
                "{path}"
            );
        }
        // Staff may still read orders and placements of their own merchant only.
        let (s, _) = with_cookie(&app, Method::GET, "/v1/placements", &cookie, None, None).await;
        assert_eq!(s, StatusCode::OK);
        let rival = anycart_checkout::merchants::create_merchant(&app.state.store, "Rival", 0)
            .await
            .unwrap();
        let rival_key = rival.to_json().secret_key.to_string();
        let product = app
            .client
            .get(format!("{}/v1/products", app.base))
            .bearer_auth(&rival_key)
            .send()
            .await
            .unwrap();
        assert_eq!(product.status(), StatusCode::OK);
        let (_, mine) = with_cookie(&app, Method::GET, "/v1/merchant", &cookie, None, None).await;
        assert_eq!(mine["id"], app.demo.merchant_id);
        // A new password (with CSRF) is set; short ones are refused.
        let (s, e) = with_cookie(
            &app,
            Method::PUT,
            "/dashboard/password",
            &cookie,
            Some(&csrf),
            Some(json!({"password": "short"})),
        )
        .await;
        assert_eq!(
            (s, e["param"].as_str()),
            (StatusCode::BAD_REQUEST, Some("$.password"))
        );
        let (s, _) = with_cookie(
            &app,
            Method::PUT,
            "/dashboard/password",
            &cookie,
            Some(&csrf),
            Some(json!({"password": "a brand new passphrase"})),
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_eq!(
            sign_in(&app, &email, "a brand new passphrase").await.0,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn the_dashboard_page_is_served_with_a_strict_policy() {
    for app in apps().await {
        let r = app
            .client
            .get(format!("{}/dashboard/", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
            "{csp}"
        );
        let html = r.text().await.unwrap();
        assert!(html.contains("/dashboard/app.js?v="), "{html}");
        let js = app
            .client
            .get(format!("{}/dashboard/app.js", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(js.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn owners_create_rotate_and_revoke_keys_and_staff_cannot() {
    for app in apps().await {
        // Staff: refused before anything is read.
        let staff = user(&app, UserRole::Staff).await;
        let (_, body, cookie) = sign_in(&app, &staff, PASSWORD).await;
        let (cookie, csrf) = (
            cookie.unwrap(),
            body["csrf_token"].as_str().unwrap().to_string(),
        );
        let (s, e) = with_cookie(&app, Method::GET, "/v1/api_keys", &cookie, None, None).await;
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("owner_required"))
        );
        let (s, _) = with_cookie(
            &app,
            Method::POST,
            "/v1/api_keys",
            &cookie,
            Some(&csrf),
            Some(json!({"kind": "secret"})),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // Owner: a new secret key works, is listed by hint only, rotates and revokes.
        let owner = user(&app, UserRole::Owner).await;
        let (_, body, cookie) = sign_in(&app, &owner, PASSWORD).await;
        let (cookie, csrf) = (
            cookie.unwrap(),
            body["csrf_token"].as_str().unwrap().to_string(),
        );
        let (s, made) = with_cookie(
            &app,
            Method::POST,
            "/v1/api_keys",
            &cookie,
            Some(&csrf),
            Some(json!({"kind": "secret"})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{}: {made}", app.backend);
        let secret = made["secret"].as_str().unwrap().to_string();
        let id = made["id"].as_str().unwrap().to_string();
        assert!(
            secret.starts_with("sk_")
                && made["hint"]
                    .as_str()
                    .unwrap()
                    .ends_with(&secret[secret.len() - 4..])
        );
        let works = |key: String| {
            let app = &app;
            async move {
                app.client
                    .get(format!("{}/v1/merchant", app.base))
                    .bearer_auth(key)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        };
        assert_eq!(works(secret.clone()).await, StatusCode::OK);
        let (_, listed) = with_cookie(&app, Method::GET, "/v1/api_keys", &cookie, None, None).await;
        assert!(
            listed
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["id"] == id && k["revoked_at"].is_null())
        );
        assert!(
            !listed.to_string().contains(&secret),
            "keys are never listed"
        );

        let (s, rotated) = with_cookie(
            &app,
            Method::POST,
            &format!("/v1/api_keys/{id}/rotate"),
            &cookie,
            Some(&csrf),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{rotated}");
        let new_secret = rotated["secret"].as_str().unwrap().to_string();
        assert_eq!(
            works(secret.clone()).await,
            StatusCode::UNAUTHORIZED,
            "the old key stops at once"
        );
        assert_eq!(works(new_secret.clone()).await, StatusCode::OK);
        // A revoked key cannot be rotated or revoked again; unknown ids are 404s.
        for path in [
            format!("/v1/api_keys/{id}/rotate"),
            format!("/v1/api_keys/{id}/revoke"),
            "/v1/api_keys/key_nope/revoke".into(),
        ] {
            let (s, _) = with_cookie(&app, Method::POST, &path, &cookie, Some(&csrf), None).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
        }
        let new_id = rotated["id"].as_str().unwrap().to_string();
        let (s, _) = with_cookie(
            &app,
            Method::POST,
            &format!("/v1/api_keys/{new_id}/revoke"),
            &cookie,
            Some(&csrf),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(works(new_secret).await, StatusCode::UNAUTHORIZED);
        // Bad kinds and other merchants' keys.
        let (s, e) = with_cookie(
            &app,
            Method::POST,
            "/v1/api_keys",
            &cookie,
            Some(&csrf),
            Some(json!({"kind": "root"})),
        )
        .await;
        assert_eq!(
            (s, e["param"].as_str()),
            (StatusCode::BAD_REQUEST, Some("$.kind"))
        );
        let rival = anycart_checkout::merchants::create_merchant(&app.state.store, "Rival", 0)
            .await
            .unwrap();
        let rival_key = app
            .state
            .store
            .find_api_key(&anycart_checkout::keys::hash_key(
                rival.to_json().secret_key,
            ))
            .await
            .unwrap()
            .unwrap();
        let (s, _) = with_cookie(
            &app,
            Method::POST,
            &format!("/v1/api_keys/{}/revoke", rival_key.id),
            &cookie,
            Some(&csrf),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(
            works(rival.to_json().secret_key.to_string()).await,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn connection_jobs_report_the_platform_and_are_for_owners_only() {
    for app in apps().await {
        // No connection yet: a clear 400, nothing started.
        let r = app.admin(Method::POST, "/connection/test", None).await;
        assert_eq!(
            (r.status, r.body["param"].as_str()),
            (StatusCode::BAD_REQUEST, Some("connection"))
        );
        assert_eq!(
            app.admin(Method::GET, "/connection/import", None)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        // A Shopify nobody answers at: the test says so; the import fails and says why.
        let put = app
            .admin(
                Method::PUT,
                "/connection",
                Some(json!({"platform": "shopify", "shop_domain": "gone.myshopify.com", "access_token": "shpat_x",
                    "webhook_secret": "whsec_x", "base_url": "http://127.0.0.1:9", "request_timeout_ms": 500})),
            )
            .await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.body);
        let r = app.admin(Method::POST, "/connection/test", None).await;
        assert_eq!(
            (r.status, r.body["ok"].as_bool()),
            (StatusCode::OK, Some(false)),
            "{}",
            r.body
        );
        assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()));
        let r = app.admin(Method::POST, "/connection/import", None).await;
        assert_eq!(
            (r.status, r.body["state"].as_str()),
            (StatusCode::ACCEPTED, Some("running"))
        );
        let mut state = String::new();
        for _ in 0..100 {
            let now = app.admin(Method::GET, "/connection/import", None).await;
            state = now.body["state"].as_str().unwrap_or("").to_string();
            if state != "running" {
                assert!(
                    now.body["error"].as_str().is_some_and(|e| !e.is_empty()),
                    "{}",
                    now.body
                );
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(state, "failed", "{}", app.backend);
        let r = app.admin(Method::POST, "/connection/reconcile", None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        // Staff may not run any of it.
        let staff = user(&app, UserRole::Staff).await;
        let (_, body, cookie) = sign_in(&app, &staff, PASSWORD).await;
        let (cookie, csrf) = (
            cookie.unwrap(),
            body["csrf_token"].as_str().unwrap().to_string(),
        );
        for path in [
            "/v1/connection/test",
            "/v1/connection/import",
            "/v1/connection/reconcile",
        ] {
            let (s, e) = with_cookie(&app, Method::POST, path, &cookie, Some(&csrf), None).await;
            assert_eq!(
                (s, e["code"].as_str()),
                (StatusCode::FORBIDDEN, Some("owner_required")),
                "{path}"
            );
        }
    }
}
