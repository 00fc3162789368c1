//! Platform connections over HTTP: connecting Shopify and Adobe Commerce, signed webhooks moving
//! stock (and unsigned ones changing nothing), dead-lettered pushes in the admin API.

use crate::helpers::{TestApp, apps, assert_acp_shape};
use anycart_connectors::delivery::deliver_due;
use anycart_connectors::shopify::sign_webhook;
use reqwest::{Method, StatusCode};
use serde_json::json;

const SECRET: &str = "app-secret";

async fn webhook(
    app: &TestApp,
    topic: &str,
    id: &str,
    body: &str,
    secret: &str,
) -> crate::helpers::Reply {
    let req = app
        .client
        .post(format!(
            "{}/webhooks/shopify/{}",
            app.base, app.demo.merchant_id
        ))
        .header("X-Shopify-Topic", topic)
        .header("X-Shopify-Webhook-Id", id)
        .header("X-Shopify-Shop-Domain", "demo.myshopify.com")
        .header(
            "X-Shopify-Hmac-Sha256",
            sign_webhook(secret, body.as_bytes()),
        )
        .header("Content-Type", "application/json")
        .body(body.to_string());
    let r = req.send().await.unwrap();
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
async fn shopify_webhooks_move_stock_only_when_signed_and_only_once() {
    for app in apps().await {
        let connected = app
            .admin(
                Method::PUT,
                "/connection",
                Some(json!({
                    "platform": "shopify",
                    "shop_domain": "demo.myshopify.com",
                    "base_url": "http://127.0.0.1:9",
                    "access_token": "shpat_never_shown",
                    "webhook_secret": SECRET
                })),
            )
            .await;
        assert_eq!(
            connected.status,
            StatusCode::OK,
            "{}: {:#}",
            app.backend,
            connected.body
        );
        assert!(
            !connected.body.to_string().contains("shpat_never_shown"),
            "secrets are write-only"
        );
        assert_eq!(
            connected.body["webhook_url"],
            format!("{}/webhooks/shopify/{}", app.base, app.demo.merchant_id)
        );
        let bad = app
            .admin(
                Method::PUT,
                "/connection",
                Some(json!({"platform": "shopify", "shop_domain": "demo.myshopify.com"})),
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_acp_shape(&bad);
        // The settings are typed per platform: a misspelt or foreign field is
        // refused by name, and the connection stays as it was.
        for (typo, field) in [
            (
                json!({"platform": "shopify", "shop_domain": "demo.myshopify.com",
                    "access_token": "shpat_x", "webhook_secret": SECRET, "acces_token": "x"}),
                "acces_token",
            ),
            (
                json!({"platform": "shopify", "shop_domain": "demo.myshopify.com",
                    "access_token": "shpat_x", "webhook_secret": SECRET, "smtp_url": "smtp://x"}),
                "smtp_url",
            ),
            (
                json!({"platform": "magento", "shop_domain": "demo.myshopify.com"}),
                "magento",
            ),
        ] {
            let r = app.admin(Method::PUT, "/connection", Some(typo)).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
            assert_eq!(r.body["code"], "invalid_field");
            assert!(
                r.body["message"].as_str().unwrap().contains(field),
                "{}",
                r.body
            );
        }
        let kept = app.admin(Method::GET, "/connection", None).await;
        assert_eq!(kept.body["base_url"], "http://127.0.0.1:9");

        let variant = app.demo.variants[0].id.clone();
        let location = app.admin(Method::GET, "/locations", None).await.body[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        for (kind, ext, int) in [
            ("inventory_item", "gid://shopify/InventoryItem/21", &variant),
            ("variant", "gid://shopify/ProductVariant/11", &variant),
            ("location", "gid://shopify/Location/31", &location),
        ] {
            let r = app
                .admin(
                    Method::POST,
                    "/connection/links",
                    Some(json!({"kind": kind, "external_id": ext, "internal_id": int})),
                )
                .await;
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{:#}", r.body);
        }
        let foreign = app.admin(Method::POST, "/connection/links", Some(json!({"kind": "variant", "external_id": "x", "internal_id": "var_0190a0a0a0a07000800000000000000"}))).await;
        assert_eq!(foreign.status, StatusCode::NOT_FOUND);

        let before = app.available(&variant).await;
        let restock = r#"{"inventory_item_id":21,"location_id":31,"available":500,"updated_at":"2026-01-01T10:00:00Z"}"#;
        let forged = webhook(
            &app,
            "inventory_levels/update",
            "w1",
            restock,
            "not-the-secret",
        )
        .await;
        assert_eq!(forged.status, StatusCode::UNAUTHORIZED, "{}", app.backend);
        assert_acp_shape(&forged);
        assert_eq!(forged.body["code"], "invalid_signature");
        assert_eq!(
            app.available(&variant).await,
            before,
            "a forged webhook changes nothing"
        );

        let ok = webhook(&app, "inventory_levels/update", "w1", restock, SECRET).await;
        assert_eq!(
            (ok.status, ok.body["status"].as_str()),
            (StatusCode::OK, Some("applied"))
        );
        let restocked = app.available(&variant).await;
        assert!(
            restocked > before && restocked >= 500,
            "{}: {before} -> {restocked}",
            app.backend
        );
        let again = webhook(&app, "inventory_levels/update", "w1", restock, SECRET).await;
        assert_eq!(again.body["status"], "duplicate");

        let sale = r#"{"id":1,"created_at":"2026-01-01T11:00:00Z","tags":"","line_items":[{"variant_id":11,"quantity":5}]}"#;
        webhook(&app, "orders/create", "w2", sale, SECRET).await;
        assert_eq!(
            app.available(&variant).await,
            restocked - 5,
            "{}: storefront sale",
            app.backend
        );

        let malformed = webhook(
            &app,
            "inventory_levels/update",
            "w3",
            "{\"nope\":true}",
            SECRET,
        )
        .await;
        assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
        assert_acp_shape(&malformed);
        let nowhere = app
            .client
            .post(format!("{}/webhooks/shopify/mer_nope", app.base))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(nowhere.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn pushes_that_cannot_succeed_are_dead_lettered_and_listed() {
    for app in apps().await {
        let r = app.admin(Method::PUT, "/connection", Some(json!({
            "platform": "shopify", "shop_domain": "demo.myshopify.com", "base_url": "http://127.0.0.1:9",
            "access_token": "shpat_x", "webhook_secret": SECRET
        }))).await;
        assert_eq!(r.status, StatusCode::OK);
        // No variant is linked to Shopify: the push is refused before any request.
        let variant = app.demo.variants[0].id.clone();
        let s = app.ready_session(&variant, 1).await;
        let paid = app.pay(s.body["id"].as_str().unwrap(), "tok_visa").await;
        assert_eq!(paid.status, StatusCode::OK, "{:#}", paid.body);
        let order_id = paid.body["order"]["id"].as_str().unwrap().to_string();
        let pending = app.admin(Method::GET, "/outbox?state=pending", None).await;
        assert_eq!(pending.body[0]["order_id"], order_id.as_str());
        deliver_due(&app.state.store, app.state.now_ms())
            .await
            .unwrap();
        let dead = app.admin(Method::GET, "/outbox", None).await;
        assert_eq!(dead.status, StatusCode::OK);
        assert_eq!(
            dead.body.as_array().unwrap().len(),
            1,
            "{}: {:#}",
            app.backend,
            dead.body
        );
        assert_eq!(dead.body[0]["order_id"], order_id.as_str());
        assert_eq!(dead.body[0]["state"], "dead");
        assert!(
            dead.body[0]["last_error"]
                .as_str()
                .unwrap()
                .contains("not linked")
        );
        let id = dead.body[0]["id"].as_str().unwrap();
        let retry = app
            .admin(Method::POST, &format!("/outbox/{id}/retry"), None)
            .await;
        assert_eq!(retry.status, StatusCode::NO_CONTENT);
        let twice = app
            .admin(Method::POST, &format!("/outbox/{id}/retry"), None)
            .await;
        assert_eq!(twice.status, StatusCode::NOT_FOUND);
        assert_acp_shape(&twice);
        let wrong = app.admin(Method::GET, "/outbox?state=lost", None).await;
        assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn the_background_worker_delivers_completed_orders() {
    /// Polls of the outbox before giving up (a bound, with a short sleep each).
    const POLLS_MAX: usize = 100;
    for app in apps().await {
        let mut config = (*app.state.checkout.config).clone();
        config.sweep_interval_ms = 50;
        let checkout = app.state.checkout.with_config(config);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let workers = checkout.spawn_workers(stopped);

        let variant = app.demo.variants[0].id.clone();
        let s = app.ready_session(&variant, 1).await;
        let paid = app.pay(s.body["id"].as_str().unwrap(), "tok_visa").await;
        let order_id = paid.body["order"]["id"].as_str().unwrap().to_string();
        let mut delivered = serde_json::Value::Null;
        for _ in 0..POLLS_MAX {
            delivered = app
                .admin(Method::GET, "/outbox?state=delivered", None)
                .await
                .body;
            if delivered.as_array().is_some_and(|a| !a.is_empty()) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(
            delivered[0]["order_id"],
            order_id.as_str(),
            "{}: {delivered:#}",
            app.backend
        );
        // The demo merchant has no platform: the order is recorded, no email is sent.
        assert_eq!(delivered[0]["confirmation_status"], "smtp_not_configured");
        assert_eq!(delivered[0]["platform_order_id"], order_id.as_str());
        let order = app
            .admin(Method::GET, &format!("/orders/{order_id}"), None)
            .await;
        assert_eq!(
            order.body["platform"]["state"], "delivered",
            "{:#}",
            order.body
        );
        assert_eq!(
            order.body["platform"]["confirmation_status"],
            "smtp_not_configured"
        );
        stop.send(true).unwrap();
        workers.await.unwrap();
    }
}

#[tokio::test]
async fn adobe_connections_take_their_codes_and_refuse_webhooks() {
    for app in apps().await {
        let missing = app
            .admin(
                Method::PUT,
                "/connection",
                Some(json!({"platform": "adobe", "access_token": "tok"})),
            )
            .await;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", app.backend);
        assert_acp_shape(&missing);
        let bad_code = app.admin(Method::PUT, "/connection", Some(json!({
            "platform": "adobe", "base_url": "https://shop.example", "access_token": "tok", "store_code": "a/b"
        }))).await;
        assert_eq!(bad_code.status, StatusCode::BAD_REQUEST);
        let r = app.admin(Method::PUT, "/connection", Some(json!({
            "platform": "adobe", "base_url": "https://shop.example", "access_token": "integration_never_shown",
            "store_code": "en", "shipping_carrier_code": "freeshipping", "shipping_method_code": "freeshipping",
            "payment_method": "checkmo"
        }))).await;
        assert_eq!(r.status, StatusCode::OK, "{}: {:#}", app.backend, r.body);
        assert!(!r.body.to_string().contains("integration_never_shown"));
        assert_eq!(r.body["shop_domain"], "shop.example");
        assert_eq!(r.body["settings"]["store_code"], "en");
        assert_eq!(r.body["settings"]["payment_method"], "checkmo");
        assert!(
            r.body["webhook_url"].is_null(),
            "stock is reconciled, not pushed"
        );
        let hook = app
            .client
            .post(format!(
                "{}/webhooks/adobe/{}",
                app.base, app.demo.merchant_id
            ))
            .header("Content-Type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(hook.status(), StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn a_refund_made_in_shopify_is_carried_out_at_the_provider_once() {
    for app in apps().await {
        let connected = app
            .admin(
                Method::PUT,
                "/connection",
                Some(json!({
                    "platform": "shopify", "shop_domain": "demo.myshopify.com",
                    "base_url": "http://127.0.0.1:9", "access_token": "shpat_x",
                    "webhook_secret": SECRET
                })),
            )
            .await;
        assert_eq!(connected.status, StatusCode::OK, "{:#}", connected.body);
        let order = app.paid_order("TEE-TRAIL-S", 2, false).await;
        let order_id = order["id"].as_str().unwrap();
        // The order reached Shopify as order 820982911946154508.
        let claimed = app
            .state
            .store
            .claim_outbox(i64::MAX / 4, 60_000, 10)
            .await
            .unwrap();
        let item = claimed
            .iter()
            .find(|i| i.external_reference == order_id)
            .unwrap();
        app.state
            .store
            .outbox_delivered(
                &item.id,
                "gid://shopify/Order/820982911946154508",
                "sent_by_platform",
                1,
            )
            .await
            .unwrap();
        let refunded_before = app.sandbox.as_ref().unwrap().refunds().len();

        // The merchant refunds 10.00 in Shopify's admin.
        let body = json!({"id": 509562969, "order_id": 820982911946154508_i64,
            "created_at": "2026-12-07T10:00:00Z", "note": "damaged",
            "refund_line_items": [], "transactions": [
                {"kind": "refund", "status": "success", "amount": "10.00", "currency": "USD"}]})
        .to_string();
        let first = webhook(&app, "refunds/create", "wh-refund-1", &body, SECRET).await;
        assert_eq!(first.status, StatusCode::OK, "{:#}", first.body);
        assert_eq!(first.body["status"], "refunded");
        // Shopify delivers it again (same webhook id, and a new id for the same refund).
        let again = webhook(&app, "refunds/create", "wh-refund-1", &body, SECRET).await;
        assert_eq!(again.status, StatusCode::OK);
        let other_id = webhook(&app, "refunds/create", "wh-refund-2", &body, SECRET).await;
        assert_eq!(other_id.status, StatusCode::OK, "{:#}", other_id.body);

        let view = app.order_view(order_id).await;
        assert_eq!(view["payment"]["refunded"], 1000, "{view:#}");
        let refunds = view["refunds"].as_array().unwrap();
        assert_eq!(
            refunds.len(),
            1,
            "one refund for one Shopify refund: {view:#}"
        );
        assert_eq!(refunds[0]["source"], "platform");
        assert_eq!(
            refunds[0]["platform_reference"],
            "gid://shopify/Refund/509562969"
        );
        assert_eq!(
            app.sandbox.as_ref().unwrap().refunds().len(),
            refunded_before + 1,
            "the money moved once"
        );

        // A forged delivery changes nothing.
        let forged = webhook(
            &app,
            "refunds/create",
            "wh-refund-3",
            &body,
            "not-the-secret",
        )
        .await;
        assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
        assert_eq!(app.order_view(order_id).await["payment"]["refunded"], 1000);
    }
}

/// A saved returning shopper of the demo merchant.
async fn save_shopper(app: &TestApp, email: &str) {
    let merchant = app.demo.merchant_id.parse().unwrap();
    app.state
        .store
        .upsert_shopper(&anycart_store::ShopperProfile {
            merchant_id: merchant,
            email: email.into(),
            details: anycart_store::SavedDetails::default(),
            payment_token: secrecy::SecretString::from("pm_saved".to_string()),
            payment_provider: "sandbox".into(),
            provider_customer: None,
            card_brand: None,
            card_last4: None,
            created_at_ms: 1,
            updated_at_ms: 1,
        })
        .await
        .unwrap();
}

async fn is_saved(app: &TestApp, email: &str) -> bool {
    let merchant = app.demo.merchant_id.parse().unwrap();
    app.state
        .store
        .get_shopper(merchant, email)
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn compliance_webhooks_forget_shoppers_and_uninstall_disconnects_only_when_signed() {
    for app in apps().await {
        let connected = app
            .admin(
                Method::PUT,
                "/connection",
                Some(json!({
                    "platform": "shopify",
                    "shop_domain": "demo.myshopify.com",
                    "base_url": "http://127.0.0.1:9",
                    "access_token": "shpat_x",
                    "webhook_secret": SECRET
                })),
            )
            .await;
        assert_eq!(connected.status, StatusCode::OK, "{:#}", connected.body);
        for email in ["ann@x.io", "bob@x.io", "cy@x.io"] {
            save_shopper(&app, email).await;
        }
        let redact_ann = json!({"shop_id": 1, "shop_domain": "demo.myshopify.com",
            "customer": {"id": 191167, "email": "Ann@x.io", "phone": null},
            "orders_to_redact": []})
        .to_string();
        let forged = webhook(&app, "customers/redact", "r-1", &redact_ann, "wrong").await;
        assert_eq!(forged.status, StatusCode::UNAUTHORIZED, "{}", app.backend);
        assert_acp_shape(&forged);
        assert!(
            is_saved(&app, "ann@x.io").await,
            "a forged redact changes nothing"
        );

        let redacted = webhook(&app, "customers/redact", "r-1", &redact_ann, SECRET).await;
        assert_eq!(redacted.status, StatusCode::OK, "{:#}", redacted.body);
        assert_eq!(redacted.body["status"], "forgotten");
        assert!(!is_saved(&app, "ann@x.io").await);
        assert!(is_saved(&app, "bob@x.io").await, "only the named customer");

        let data_request = json!({"shop_id": 1, "shop_domain": "demo.myshopify.com",
            "orders_requested": [], "customer": {"id": 191168, "email": "bob@x.io"},
            "data_request": {"id": 9999}})
        .to_string();
        let forged = webhook(&app, "customers/data_request", "d-1", &data_request, "x").await;
        assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
        let recorded = webhook(&app, "customers/data_request", "d-1", &data_request, SECRET).await;
        assert_eq!(recorded.body["status"], "applied", "{:#}", recorded.body);
        let again = webhook(&app, "customers/data_request", "d-1", &data_request, SECRET).await;
        assert_eq!(again.body["status"], "duplicate");
        let unreadable = webhook(&app, "customers/data_request", "d-2", "{}", SECRET).await;
        assert_eq!(unreadable.status, StatusCode::BAD_REQUEST);
        assert!(
            is_saved(&app, "bob@x.io").await,
            "a data request forgets nothing"
        );

        let uninstall = json!({"id": 1, "domain": "demo.myshopify.com"}).to_string();
        let forged = webhook(&app, "app/uninstalled", "u-1", &uninstall, "wrong").await;
        assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
        let kept = app.admin(Method::GET, "/connection", None).await;
        assert_eq!(
            kept.status,
            StatusCode::OK,
            "a forged uninstall changes nothing"
        );
        let uninstalled = webhook(&app, "app/uninstalled", "u-1", &uninstall, SECRET).await;
        assert_eq!(
            uninstalled.body["status"], "applied",
            "{:#}",
            uninstalled.body
        );
        let gone = app.admin(Method::GET, "/connection", None).await;
        assert_ne!(gone.status, StatusCode::OK, "disconnected: {:#}", gone.body);
        // Stock webhooks are refused from now on; compliance webhooks still count
        // (Shopify sends `shop/redact` 48 hours after the uninstall).
        let level = json!({"inventory_item_id": 1, "location_id": 1, "available": 3,
            "updated_at": "2026-01-01T00:00:00Z"})
        .to_string();
        let stock = webhook(&app, "inventory_levels/update", "s-1", &level, SECRET).await;
        assert_eq!(stock.status, StatusCode::NOT_FOUND);
        let shop_redact = json!({"shop_id": 1, "shop_domain": "demo.myshopify.com"}).to_string();
        let forged = webhook(&app, "shop/redact", "sr-1", &shop_redact, "wrong").await;
        assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
        assert!(is_saved(&app, "bob@x.io").await);
        let forgotten = webhook(&app, "shop/redact", "sr-1", &shop_redact, SECRET).await;
        assert_eq!(
            forgotten.body["status"], "forgotten",
            "{:#}",
            forgotten.body
        );
        assert!(!is_saved(&app, "bob@x.io").await && !is_saved(&app, "cy@x.io").await);
    }
}
