//! anycart as an installable Shopify app, over HTTP against the fake Shopify:
//! the install (link, callback, token, webhooks subscribed, connection saved),
//! every refused callback saving nothing, the app-wide compliance webhooks and
//! the data requests they leave in the admin API, and `api_version` overrides.

use crate::helpers::{TestApp, apps, apps_configured, assert_acp_shape};
use crate::platform_fakes::shopify::FakeShopify;
use anycart_connectors::shopify::oauth::WEBHOOK_TOPICS;
use anycart_connectors::shopify::sign_webhook;
use anycart_connectors::shopify_install::ShopifyApp;
use reqwest::{Method, StatusCode};
use serde_json::json;

const CLIENT_ID: &str = "client-1";
const APP_SECRET: &str = "app-client-secret";
const TOKEN: &str = "shpat_offline_token";
const SHOP: &str = "acme.myshopify.com";
const SCOPES: &str = "write_orders,read_products,read_inventory,read_locations";

fn app_config(fake: &FakeShopify) -> ShopifyApp {
    ShopifyApp {
        client_id: CLIENT_ID.into(),
        client_secret: APP_SECRET.to_string().into(),
        shop_base_url: Some(fake.base_url.clone()),
    }
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Starts an install for `shop` and has the merchant approve it on the fake's
/// grant screen: the callback URL Shopify sends them back to.
async fn approved_callback(app: &TestApp, shop: &str) -> url::Url {
    let started = app
        .admin(
            Method::GET,
            &format!("/connection/shopify/install?shop={shop}"),
            None,
        )
        .await;
    assert_eq!(started.status, StatusCode::OK, "{:#}", started.body);
    let link = started.body["install_url"].as_str().unwrap();
    let grant = no_redirects().get(link).send().await.unwrap();
    assert_eq!(grant.status(), StatusCode::FOUND);
    url::Url::parse(grant.headers()["location"].to_str().unwrap()).unwrap()
}

async fn callback(url: &url::Url) -> (StatusCode, String, Option<String>) {
    let r = no_redirects().get(url.clone()).send().await.unwrap();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    (r.status(), r.text().await.unwrap(), location)
}

async fn connection_status(app: &TestApp) -> StatusCode {
    app.admin(Method::GET, "/connection", None).await.status
}

#[tokio::test]
async fn the_app_installs_end_to_end_and_refused_callbacks_save_nothing() {
    let fake = FakeShopify::start(TOKEN).await;
    fake.offer_app(CLIENT_ID, APP_SECRET, SHOP, SCOPES);
    let config = app_config(&fake);
    for app in apps_configured(|s| s.with_shopify_app(config.clone())).await {
        let b = app.backend;
        // The link: Shopify's grant screen for this app and shop, back to anycart.
        let started = app
            .admin(
                Method::GET,
                &format!("/connection/shopify/install?shop={SHOP}"),
                None,
            )
            .await;
        assert_eq!(started.status, StatusCode::OK, "{b}: {:#}", started.body);
        let link = url::Url::parse(started.body["install_url"].as_str().unwrap()).unwrap();
        assert!(
            link.as_str()
                .starts_with(&format!("{}/admin/oauth/authorize", fake.base_url))
        );
        let q: std::collections::HashMap<_, _> = link.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], CLIENT_ID);
        assert_eq!(
            q["redirect_uri"],
            format!("{}/shopify/oauth/callback", app.base)
        );
        assert_eq!(q["state"].len(), 64);
        // Not a shop domain; no key: refused.
        let bad = app
            .admin(
                Method::GET,
                "/connection/shopify/install?shop=evil.com",
                None,
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_acp_shape(&bad);
        let anonymous = app
            .client
            .get(format!(
                "{}/v1/connection/shopify/install?shop={SHOP}",
                app.base
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

        // A tampered callback (another shop under the same HMAC): 401, nothing saved.
        let mut tampered = approved_callback(&app, SHOP).await;
        let pairs: Vec<(String, String)> = tampered
            .query_pairs()
            .into_owned()
            .map(|(k, v)| {
                if k == "shop" {
                    (k, "evil.myshopify.com".into())
                } else {
                    (k, v)
                }
            })
            .collect();
        tampered.query_pairs_mut().clear().extend_pairs(pairs);
        let (status, page, _) = callback(&tampered).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{b}: {page}");
        assert!(page.contains("not installed"), "{page}");
        // A nonce anycart never made: 400.
        let mut unknown = approved_callback(&app, SHOP).await;
        let pairs: Vec<(String, String)> = unknown
            .query_pairs()
            .into_owned()
            .filter(|(k, _)| k != "hmac")
            .map(|(k, v)| {
                if k == "state" {
                    (k, "f".repeat(64))
                } else {
                    (k, v)
                }
            })
            .collect();
        let borrowed: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let hmac = anycart_connectors::shopify::oauth::sign_callback(APP_SECRET, &borrowed);
        unknown
            .query_pairs_mut()
            .clear()
            .extend_pairs(&pairs)
            .append_pair("hmac", &hmac);
        let (status, page, _) = callback(&unknown).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{b}: {page}");
        assert!(page.contains("unknown, expired or already used"), "{page}");
        // Started for another shop, answered for this one: 400.
        let other = approved_callback(&app, "other.myshopify.com").await;
        let (status, page, _) = callback(&other).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{b}: {page}");
        assert!(page.contains("other.myshopify.com"), "{page}");
        // An install link past its ten minutes: 400.
        let late = approved_callback(&app, SHOP).await;
        app.clock.advance_ms(11 * 60 * 1000);
        let (status, page, _) = callback(&late).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{b}: {page}");
        assert!(page.contains("unknown, expired or already used"), "{page}");
        assert_eq!(
            connection_status(&app).await,
            StatusCode::NOT_FOUND,
            "{b}: a refused callback saves nothing"
        );

        // The real one: token exchanged, webhooks subscribed, connection saved.
        let approved = approved_callback(&app, SHOP).await;
        let (status, page, location) = callback(&approved).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{b}: {page}");
        assert_eq!(
            location.as_deref(),
            Some(format!("{}/dashboard/#/connections", app.base).as_str())
        );
        let saved = app.admin(Method::GET, "/connection", None).await;
        assert_eq!(saved.status, StatusCode::OK, "{b}");
        assert_eq!(saved.body["platform"], "shopify");
        assert_eq!(saved.body["shop_domain"], SHOP);
        let hook = format!("{}/webhooks/shopify/{}", app.base, app.demo.merchant_id);
        assert_eq!(saved.body["webhook_url"], hook.as_str());
        let subscribed: Vec<String> = fake
            .subscriptions()
            .into_iter()
            .filter(|(_, uri)| *uri == hook)
            .map(|(t, _)| t)
            .collect();
        assert_eq!(subscribed, WEBHOOK_TOPICS, "{b}");
        // The app's webhooks verify with the client secret: an uninstall disconnects.
        let uninstall = json!({"id": 1, "domain": SHOP}).to_string();
        let r = app
            .client
            .post(&hook)
            .header("X-Shopify-Topic", "app/uninstalled")
            .header("X-Shopify-Webhook-Id", "u-1")
            .header("X-Shopify-Shop-Domain", SHOP)
            .header(
                "X-Shopify-Hmac-Sha256",
                sign_webhook(APP_SECRET, uninstall.as_bytes()),
            )
            .header("Content-Type", "application/json")
            .body(uninstall)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{b}");
        assert_eq!(connection_status(&app).await, StatusCode::NOT_FOUND, "{b}");

        // The same callback again (a replay): the nonce is spent (refused before
        // the code, which Shopify would refuse too, is even tried).
        let (status, page, _) = callback(&approved).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{b}: {page}");
        assert!(page.contains("unknown, expired or already used"), "{page}");
        assert_eq!(connection_status(&app).await, StatusCode::NOT_FOUND, "{b}");
    }
}

#[tokio::test]
async fn an_install_without_every_scope_is_refused_and_custom_apps_still_connect() {
    let fake = FakeShopify::start(TOKEN).await;
    fake.offer_app(CLIENT_ID, APP_SECRET, SHOP, "read_products,read_inventory");
    let config = app_config(&fake);
    for app in apps_configured(|s| s.with_shopify_app(config.clone())).await {
        let short = approved_callback(&app, SHOP).await;
        let (status, page, _) = callback(&short).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
        assert!(page.contains("write_orders"), "{page}");
        assert_eq!(connection_status(&app).await, StatusCode::NOT_FOUND);
        // A custom app's access token keeps working beside the app.
        let custom = app
            .admin(
                Method::PUT,
                "/connection",
                Some(json!({"platform": "shopify", "shop_domain": SHOP,
                    "base_url": fake.base_url, "access_token": "shpat_custom",
                    "webhook_secret": "custom-secret"})),
            )
            .await;
        assert_eq!(custom.status, StatusCode::OK, "{:#}", custom.body);
    }
    // No app configured: the install says so.
    for app in apps().await {
        let r = app
            .admin(
                Method::GET,
                &format!("/connection/shopify/install?shop={SHOP}"),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.body["code"], "shopify_app_not_configured");
        let (status, _, _) = callback(
            &url::Url::parse(&format!("{}/shopify/oauth/callback?shop={SHOP}", app.base)).unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

async fn app_webhook(
    app: &TestApp,
    topic: &str,
    id: &str,
    shop: &str,
    body: &str,
    secret: &str,
) -> crate::helpers::Reply {
    let r = app
        .client
        .post(format!("{}/webhooks/shopify", app.base))
        .header("X-Shopify-Topic", topic)
        .header("X-Shopify-Webhook-Id", id)
        .header("X-Shopify-Shop-Domain", shop)
        .header(
            "X-Shopify-Hmac-Sha256",
            sign_webhook(secret, body.as_bytes()),
        )
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let body = r.json().await.unwrap_or(serde_json::Value::Null);
    crate::helpers::Reply {
        status,
        body,
        headers,
    }
}

#[tokio::test]
async fn app_wide_compliance_webhooks_find_the_merchant_by_shop_and_data_requests_are_listed() {
    let fake = FakeShopify::start(TOKEN).await;
    let config = app_config(&fake);
    for app in apps_configured(|s| s.with_shopify_app(config.clone())).await {
        let b = app.backend;
        // Installed through the app: its webhook secret is the app's client secret.
        let connected = app
            .admin(
                Method::PUT,
                "/connection",
                Some(json!({"platform": "shopify", "shop_domain": SHOP,
                    "base_url": fake.base_url, "access_token": TOKEN,
                    "webhook_secret": APP_SECRET})),
            )
            .await;
        assert_eq!(connected.status, StatusCode::OK, "{:#}", connected.body);
        let request = json!({"shop_id": 1, "shop_domain": SHOP, "orders_requested": [],
            "customer": {"id": 191168, "email": "bob@x.io"}, "data_request": {"id": 9999}})
        .to_string();
        let forged = app_webhook(
            &app,
            "customers/data_request",
            "d-1",
            SHOP,
            &request,
            "wrong",
        )
        .await;
        assert_eq!(forged.status, StatusCode::UNAUTHORIZED, "{b}");
        assert_acp_shape(&forged);
        let listed = app.admin(Method::GET, "/data_requests", None).await;
        assert_eq!(
            listed.body,
            json!([]),
            "{b}: a forged request records nothing"
        );

        let recorded = app_webhook(
            &app,
            "customers/data_request",
            "d-1",
            SHOP,
            &request,
            APP_SECRET,
        )
        .await;
        assert_eq!(recorded.status, StatusCode::OK, "{b}: {:#}", recorded.body);
        assert_eq!(recorded.body["status"], "applied");
        let again = app_webhook(
            &app,
            "customers/data_request",
            "d-1",
            SHOP,
            &request,
            APP_SECRET,
        )
        .await;
        assert_eq!(again.body["status"], "duplicate");
        let listed = app.admin(Method::GET, "/data_requests", None).await;
        assert_eq!(listed.status, StatusCode::OK);
        let rows = listed.body.as_array().unwrap();
        assert_eq!(rows.len(), 1, "{b}: once per delivery: {:#}", listed.body);
        assert_eq!(rows[0]["customer_id"], "191168");
        assert_eq!(rows[0]["customer_email"], "bob@x.io");
        assert_eq!(rows[0]["data_request_id"], "9999");
        assert_eq!(rows[0]["shop_domain"], SHOP);

        // customers/redact through the app-wide URL forgets as the per-merchant one does.
        let redact = json!({"shop_id": 1, "shop_domain": SHOP,
            "customer": {"id": 191168, "email": "bob@x.io"}, "orders_to_redact": []})
        .to_string();
        let forgotten =
            app_webhook(&app, "customers/redact", "r-1", SHOP, &redact, APP_SECRET).await;
        assert_eq!(
            forgotten.body["status"], "forgotten",
            "{b}: {:#}",
            forgotten.body
        );
        let redacted = app.admin(Method::GET, "/data_requests", None).await;
        assert_eq!(
            redacted.body[0]["customer_email"],
            serde_json::Value::Null,
            "{b}: the redacted email leaves the data requests too"
        );
        assert_eq!(redacted.body[0]["data_request_id"], "9999");
        // shop/redact: nothing of the shop is kept.
        let shop_redact = json!({"shop_id": 1, "shop_domain": SHOP}).to_string();
        let gone = app_webhook(&app, "shop/redact", "sr-1", SHOP, &shop_redact, APP_SECRET).await;
        assert_eq!(gone.body["status"], "forgotten", "{b}: {:#}", gone.body);
        let none = app.admin(Method::GET, "/data_requests", None).await;
        assert_eq!(none.body, json!([]), "{b}");

        // A shop nobody is connected to: 200 and nothing done (Shopify would retry).
        let stranger = json!({"shop_id": 2, "shop_domain": "nobody.myshopify.com"}).to_string();
        let ignored = app_webhook(
            &app,
            "shop/redact",
            "s-1",
            "nobody.myshopify.com",
            &stranger,
            APP_SECRET,
        )
        .await;
        assert_eq!(ignored.status, StatusCode::OK, "{b}");
        assert_eq!(ignored.body["status"], "ignored");
        let no_shop = app_webhook(
            &app,
            "shop/redact",
            "s-2",
            "evil.com",
            &stranger,
            APP_SECRET,
        )
        .await;
        assert_eq!(no_shop.status, StatusCode::BAD_REQUEST);
    }
    // Without an app, the app-wide URL does not exist.
    for app in apps().await {
        let r = app_webhook(&app, "shop/redact", "s-1", SHOP, "{}", APP_SECRET).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_shopify_api_version_override_must_be_one_the_schema_check_covers() {
    for app in apps().await {
        let put = |version: &'static str| {
            json!({"platform": "shopify", "shop_domain": SHOP, "base_url": "http://127.0.0.1:9",
                "access_token": "shpat_x", "webhook_secret": "s", "api_version": version})
        };
        for old in ["2025-10", "2026-04", "unstable", "2027-01"] {
            let r = app.admin(Method::PUT, "/connection", Some(put(old))).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{old}: {:#}", r.body);
            assert_eq!(r.body["code"], "invalid_connection");
            assert!(
                r.body["message"].as_str().unwrap().contains("2026-07"),
                "{:#}",
                r.body
            );
        }
        assert_eq!(connection_status(&app).await, StatusCode::NOT_FOUND);
        for ok in ["2026-07", "2026-10"] {
            let r = app.admin(Method::PUT, "/connection", Some(put(ok))).await;
            assert_eq!(r.status, StatusCode::OK, "{ok}: {:#}", r.body);
            assert_eq!(r.body["settings"]["api_version"], ok);
        }
    }
}
