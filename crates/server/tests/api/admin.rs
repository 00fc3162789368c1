//! The merchant admin API, docs and operations endpoints.

use crate::helpers::{apps, spawn_sqlite};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_merchant_builds_a_catalogue_and_sells_it() {
    for app in apps().await {
        let loc = app
            .admin(Method::POST, "/locations", Some(json!({"name": "Berlin"})))
            .await;
        assert_eq!(loc.status, StatusCode::CREATED);
        let loc_id = loc.body["id"].as_str().unwrap();
        let product = app
            .admin(Method::POST, "/products", Some(json!({
                "title": "Wool Beanie",
                "images": ["https://cdn.example.com/beanie.png"],
                "variants": [
                    {"sku": "BEANIE-RED", "title": "Beanie — Red", "options": [{"name": "Colour", "value": "Red"}], "price": {"amount": 1999, "currency": "usd"}, "stock": [{"location_id": loc_id, "on_hand": 4}]},
                    {"sku": "BEANIE-BLK", "title": "Beanie — Black", "price": {"amount": 1999, "currency": "usd"}, "max_quantity_per_order": 1}
                ]
            })))
            .await;
        assert_eq!(product.status, StatusCode::CREATED, "{:#}", product.body);
        let red = product.body["variants"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(product.body["variants"][0]["available"], 4);
        let dup = app.admin(Method::POST, "/products", Some(json!({"title": "Again", "variants": [{"sku": "BEANIE-RED", "title": "x", "price": {"amount": 1, "currency": "usd"}}]}))).await;
        assert_eq!(
            (dup.status, dup.body["code"].as_str()),
            (StatusCode::CONFLICT, Some("duplicate_sku"))
        );

        let zone = app.admin(Method::POST, "/shipping_zones", Some(json!({"name": "Germany", "countries": ["DE"], "rates": [{"title": "DHL", "price": {"amount": 700, "currency": "usd"}, "min_delivery_days": 1, "max_delivery_days": 3}]}))).await;
        assert_eq!(zone.status, StatusCode::CREATED);
        let tax = app.admin(Method::POST, "/tax_rates", Some(json!({"name": "DE VAT reduced", "country": "DE", "region": "BE", "rate_bps": 700}))).await;
        assert_eq!(tax.status, StatusCode::CREATED);
        let code = app.admin(Method::POST, "/discounts", Some(json!({"code": "five-off", "name": "$5 off", "type": "fixed_amount", "amount": {"amount": 500, "currency": "usd"}, "max_redemptions": 1}))).await;
        assert_eq!(code.status, StatusCode::CREATED, "{:#}", code.body);
        assert_eq!(code.body["code"], "FIVE-OFF");

        let s = app
            .post("/checkout_sessions", json!({
                "currency": "usd", "line_items": [{"id": red, "quantity": 2}], "capabilities": {},
                "buyer": {"email": "b@example.de"}, "discounts": {"codes": ["five-off"]},
                "fulfillment_details": {"address": {"name": "B", "line_one": "Str. 1", "city": "Berlin", "state": "BE", "country": "DE", "postal_code": "10115"}}
            }))
            .await;
        assert_eq!(s.body["status"], "ready_for_payment", "{:#}", s.body);
        // Both DE zones offer rates (demo "Canada & Europe" and this one); cheapest first.
        assert_eq!(crate::helpers::total(&s.body, "fulfillment"), 700);
        // Germany VAT from the demo table (19 %, shipping taxed) loses to the region rate (7 %, goods only).
        assert_eq!(
            crate::helpers::total(&s.body, "tax"),
            ((3998 - 500) * 700 + 5_000) / 10_000
        );
        let paid = app.pay(s.body["id"].as_str().unwrap(), "tok_visa").await;
        assert_eq!(paid.body["status"], "completed");

        // The code's single redemption is used up.
        let again = app.post("/checkout_sessions", json!({"currency": "usd", "line_items": [{"id": red}], "capabilities": {}, "discounts": {"codes": ["FIVE-OFF"]}})).await;
        assert_eq!(
            again.body["discounts"]["rejected"][0]["reason"],
            "discount_code_usage_limit_reached"
        );

        // Stock cannot drop below what open checkouts hold.
        let r = app
            .admin(
                Method::PUT,
                &format!("/variants/{red}/stock/{loc_id}"),
                Some(json!({"on_hand": 2})),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "2 sold, 1 held: 2 on hand is fine: {:#}",
            r.body
        );
        let r = app
            .admin(
                Method::PUT,
                &format!("/variants/{red}/stock/{loc_id}"),
                Some(json!({"on_hand": 0})),
            )
            .await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::CONFLICT, Some("below_held"))
        );
        let r = app
            .admin(
                Method::PUT,
                &format!("/variants/{red}/stock/{loc_id}"),
                Some(json!({"on_hand": -1})),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn admin_validation_errors_name_the_field() {
    let app = spawn_sqlite(None).await;
    let cases = [
        (
            "/products",
            json!({"title": "", "variants": [{"sku": "A", "title": "A", "price": {"amount": 1, "currency": "usd"}}]}),
            "$.title",
        ),
        (
            "/products",
            json!({"title": "T", "variants": []}),
            "$.variants",
        ),
        (
            "/products",
            json!({"title": "T", "variants": [{"sku": "bad sku", "title": "A", "price": {"amount": 1, "currency": "usd"}}]}),
            "$.variants[0].sku",
        ),
        (
            "/products",
            json!({"title": "T", "variants": [{"sku": "A", "title": "A", "price": {"amount": -1, "currency": "usd"}}]}),
            "$.variants[0].price.amount",
        ),
        (
            "/products",
            json!({"title": "T", "variants": [{"sku": "A", "title": "A", "price": {"amount": 1, "currency": "zzz"}}]}),
            "$.variants[0].price.currency",
        ),
        (
            "/products",
            json!({"title": "T", "images": ["javascript:alert(1)"], "variants": [{"sku": "A", "title": "A", "price": {"amount": 1, "currency": "usd"}}]}),
            "$.images[0]",
        ),
        (
            "/tax_rates",
            json!({"name": "x", "country": "US", "rate_bps": 20000}),
            "$.rate_bps",
        ),
        (
            "/discounts",
            json!({"code": "X", "name": "x", "type": "bogus"}),
            "$.type",
        ),
        (
            "/shipping_zones",
            json!({"name": "x", "countries": ["USA"], "rates": [{"title": "a", "price": {"amount": 1, "currency": "usd"}, "min_delivery_days": 1, "max_delivery_days": 2}]}),
            "$.countries[0]",
        ),
    ];
    for (path, body, param) in cases {
        let r = app.admin(Method::POST, path, Some(body)).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{path} {param}: {:#}",
            r.body
        );
        assert_eq!(r.body["param"], param);
        assert_eq!(r.body["type"], "invalid_request");
    }
}

#[tokio::test]
async fn docs_health_and_metrics_are_served() {
    let app = spawn_sqlite(None).await;
    let doc: serde_json::Value = app
        .client
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/checkout_sessions",
        "/checkout_sessions/{checkout_session_id}/complete",
        "/v1/products",
        "/v1/orders/{id}",
        "/v1/variants/{id}/stock/{location_id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    let docs = app
        .client
        .get(format!("{}/docs", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("openapi"));
    let health = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    app.ready_session(&app.variant("TEE-TRAIL-S"), 1).await;
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("anycart_http_requests_total"), "{metrics}");
    let r = app
        .client
        .get(format!("{}/checkout_sessions/x", app.base))
        .header("request-id", "req-123")
        .bearer_auth(app.pk())
        .header("API-Version", "2026-04-17")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["request-id"], "req-123");
}

#[tokio::test]
async fn every_absurd_amount_limit_window_and_url_is_refused_naming_its_field() {
    let app = spawn_sqlite(None).await;
    let products = app.admin(Method::GET, "/products?limit=1", None).await;
    let variant = products.body["data"][0]["variants"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let location = app.admin(Method::GET, "/locations", None).await.body[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let usd = |amount: i64| json!({"amount": amount, "currency": "usd"});
    let rate = |extra: serde_json::Value| {
        let mut r = json!({"title": "Std", "price": usd(500), "min_delivery_days": 2, "max_delivery_days": 5});
        for (k, v) in extra.as_object().unwrap() {
            r[k] = v.clone();
        }
        json!({"name": "Z", "countries": ["US"], "rates": [r]})
    };
    let discount = |extra: serde_json::Value| {
        let mut d = json!({"code": "SAVE", "name": "Save", "type": "percentage", "rate_bps": 1000});
        for (k, v) in extra.as_object().unwrap() {
            d[k] = v.clone();
        }
        d
    };
    let variant_of = |extra: serde_json::Value| {
        let mut v = json!({"sku": "NEW-1", "title": "New", "price": usd(1000)});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        json!({"title": "New product", "variants": [v]})
    };
    let cases: Vec<(Method, String, serde_json::Value, &str)> = vec![
        (
            Method::POST,
            "/discounts".into(),
            discount(json!({"min_subtotal": -1})),
            "$.min_subtotal",
        ),
        (
            Method::POST,
            "/discounts".into(),
            discount(json!({"starts_at_ms": 2_000, "ends_at_ms": 1_000})),
            "$.ends_at_ms",
        ),
        (
            Method::POST,
            "/discounts".into(),
            discount(json!({"starts_at_ms": 1_000, "ends_at_ms": 1_000})),
            "$.ends_at_ms",
        ),
        (
            Method::POST,
            "/discounts".into(),
            discount(json!({"starts_at_ms": -5})),
            "$.starts_at_ms",
        ),
        (
            Method::POST,
            "/discounts".into(),
            discount(json!({"rate_bps": 0})),
            "$.rate_bps",
        ),
        (
            Method::POST,
            "/discounts".into(),
            discount(json!({"rate_bps": 10_001})),
            "$.rate_bps",
        ),
        (
            Method::POST,
            "/discounts".into(),
            discount(json!({"max_redemptions": 0})),
            "$.max_redemptions",
        ),
        (
            Method::POST,
            "/discounts".into(),
            discount(json!({"code": "NO SPACES"})),
            "$.code",
        ),
        (
            Method::POST,
            "/discounts".into(),
            discount(json!({"type": "fixed_amount", "amount": usd(-100)})),
            "$.amount.amount",
        ),
        (
            Method::POST,
            "/discounts".into(),
            discount(json!({"type": "bogus"})),
            "$.type",
        ),
        (
            Method::POST,
            "/discounts".into(),
            discount(json!({"name": "x".repeat(300)})),
            "$.name",
        ),
        (
            Method::POST,
            "/shipping_zones".into(),
            rate(json!({"free_over": -1})),
            "$.rates[0].free_over",
        ),
        (
            Method::POST,
            "/shipping_zones".into(),
            rate(json!({"price": usd(-500)})),
            "$.rates[0].price.amount",
        ),
        (
            Method::POST,
            "/shipping_zones".into(),
            rate(json!({"price": usd(10_000_000_000_000)})),
            "$.rates[0].price.amount",
        ),
        (
            Method::POST,
            "/shipping_zones".into(),
            rate(json!({"min_delivery_days": 6})),
            "$.rates[0].min_delivery_days",
        ),
        (
            Method::POST,
            "/shipping_zones".into(),
            rate(json!({"max_delivery_days": 400})),
            "$.rates[0].max_delivery_days",
        ),
        (
            Method::POST,
            "/shipping_zones".into(),
            json!({"name": "Z", "countries": ["USA"], "rates": []}),
            "$.countries[0]",
        ),
        (
            Method::POST,
            "/shipping_zones".into(),
            json!({"name": "Z", "countries": ["US"], "rates": []}),
            "$.rates",
        ),
        (
            Method::POST,
            "/shipping_zones".into(),
            json!({"name": "", "countries": ["US"], "rates": [{"title": "S", "price": usd(1), "min_delivery_days": 1, "max_delivery_days": 1}]}),
            "$.name",
        ),
        (
            Method::POST,
            "/tax_rates".into(),
            json!({"name": "T", "country": "US", "rate_bps": 10_001}),
            "$.rate_bps",
        ),
        (
            Method::POST,
            "/tax_rates".into(),
            json!({"name": "T", "country": "U", "rate_bps": 100}),
            "$.country",
        ),
        (
            Method::POST,
            "/tax_rates".into(),
            json!({"name": "T", "country": "US", "region": "", "rate_bps": 100}),
            "$.region",
        ),
        (
            Method::POST,
            "/products".into(),
            variant_of(json!({"price": usd(-5)})),
            "$.variants[0].price.amount",
        ),
        (
            Method::POST,
            "/products".into(),
            variant_of(json!({"max_quantity_per_order": 0})),
            "$.variants[0].max_quantity_per_order",
        ),
        (
            Method::POST,
            "/products".into(),
            variant_of(json!({"image_url": "javascript:alert(1)"})),
            "$.variants[0].image_url",
        ),
        (
            Method::POST,
            "/products".into(),
            variant_of(json!({"stock": [{"location_id": location, "on_hand": -1}]})),
            "$.variants[0].stock[0].on_hand",
        ),
        (
            Method::POST,
            "/products".into(),
            variant_of(json!({"sku": ""})),
            "$.variants[0].sku",
        ),
        (
            Method::POST,
            "/products".into(),
            json!({"title": "P", "variants": []}),
            "$.variants",
        ),
        (
            Method::POST,
            "/products".into(),
            json!({"title": "P", "images": ["ftp://x.example/a.png"], "variants": [{"sku": "S-1", "title": "S", "price": usd(1)}]}),
            "$.images[0]",
        ),
        (
            Method::PUT,
            format!("/variants/{variant}/stock/{location}"),
            json!({"on_hand": -3}),
            "$.on_hand",
        ),
        (
            Method::PATCH,
            format!("/variants/{variant}"),
            json!({"price": usd(-1)}),
            "$.price.amount",
        ),
        (
            Method::POST,
            "/locations".into(),
            json!({"name": ""}),
            "$.name",
        ),
    ];
    let before = counts(&app).await;
    let stock_before = app.available(&variant).await;
    for (method, path, body, param) in cases {
        let r = app.admin(method.clone(), &path, Some(body.clone())).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{method} {path} {body}: {}",
            r.body
        );
        assert_eq!(r.body["param"], param, "{method} {path} {body}: {}", r.body);
        crate::helpers::assert_acp_shape(&r);
    }
    assert_eq!(counts(&app).await, before, "nothing was created");
    assert_eq!(
        app.available(&variant).await,
        stock_before,
        "no stock changed"
    );
}

/// How many discounts, zones, tax rates, locations and products a merchant has.
async fn counts(app: &crate::helpers::TestApp) -> Vec<usize> {
    let mut n = Vec::new();
    for path in ["/discounts", "/shipping_zones", "/tax_rates", "/locations"] {
        n.push(
            app.admin(Method::GET, path, None)
                .await
                .body
                .as_array()
                .unwrap()
                .len(),
        );
    }
    n.push(
        app.admin(Method::GET, "/products?limit=100", None)
            .await
            .body["data"]
            .as_array()
            .unwrap()
            .len(),
    );
    n
}
