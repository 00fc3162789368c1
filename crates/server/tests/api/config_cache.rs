//! Two nodes on one database: what a node keeps of a merchant's configuration in
//! memory (catalogue, zones, tax rates, waiting rooms) must never outlive a change
//! made on the other node, and API keys are never kept at all.

use crate::helpers::{address, message_codes, total, two_nodes};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_price_changed_on_another_node_is_shown_before_it_is_charged() {
    for (a, b) in two_nodes().await {
        let tee = a.variant("TEE-TRAIL-S");
        // Node a reads (and keeps) the variant at its old price.
        let s = a.ready_session(&tee, 1).await;
        let id = s.body["id"].as_str().unwrap().to_string();
        let shown_total = total(&s.body, "total");

        let patched = b
            .admin(
                Method::PATCH,
                &format!("/variants/{tee}"),
                Some(json!({"price": {"amount": 4200, "currency": "usd"}})),
            )
            .await;
        assert_eq!(patched.status, StatusCode::NO_CONTENT);

        let first = a.pay(&id, "tok_visa").await;
        assert_eq!(
            first.body["status"], "ready_for_payment",
            "{}: node a must not charge the price it kept",
            a.backend
        );
        assert!(
            message_codes(&first.body).contains(&"price_change".to_string()),
            "{:#}",
            first.body
        );
        assert_ne!(total(&first.body, "total"), shown_total);
        assert!(a.sandbox.as_ref().unwrap().payments().is_empty());

        // A new checkout on node a is priced at the new price.
        let fresh = a.ready_session(&tee, 1).await;
        assert_eq!(
            total(&fresh.body, "items_base_amount"),
            4200,
            "{}: {:#}",
            a.backend,
            fresh.body
        );
    }
}

#[tokio::test]
async fn a_tax_rate_added_on_another_node_prices_the_next_checkout() {
    for (a, b) in two_nodes().await {
        let tee = a.variant("TEE-TRAIL-S");
        // Germany: the demo's country-wide VAT until a Berlin rate exists.
        let basket = json!({"currency": "usd", "line_items": [{"id": tee}], "capabilities": {},
            "buyer": {"email": "t@example.com"}, "fulfillment_details": {"name": "T", "address": address("DE", "BE")}});
        let before = a.post("/checkout_sessions", basket.clone()).await;
        let tax_before = total(&before.body, "tax");

        let tax = b
            .admin(
                Method::POST,
                "/tax_rates",
                Some(json!({"name": "DE VAT reduced", "country": "DE", "region": "BE", "rate_bps": 700})),
            )
            .await;
        assert_eq!(tax.status, StatusCode::CREATED, "{:#}", tax.body);

        let after = a.post("/checkout_sessions", basket).await;
        assert_ne!(
            total(&after.body, "tax"),
            tax_before,
            "{}: node a priced with the tax rates it kept: {:#}",
            a.backend,
            after.body
        );
    }
}

#[tokio::test]
async fn a_waiting_room_opened_on_another_node_guards_the_next_checkout() {
    for (a, b) in two_nodes().await {
        let drop = a.variant("SNKR-DROP-42");
        let basket = json!({"currency": "usd", "line_items": [{"id": drop}], "capabilities": {}});
        let open = a.post("/checkout_sessions", basket.clone()).await;
        assert_eq!(open.status, StatusCode::CREATED, "{:#}", open.body);

        let on = b
            .admin(
                Method::PATCH,
                &format!("/variants/{drop}"),
                Some(json!({"waiting_room": true})),
            )
            .await;
        assert_eq!(on.status, StatusCode::NO_CONTENT, "{}", on.body);

        let guarded = a.post("/checkout_sessions", basket).await;
        assert_eq!(
            guarded.body["code"], "waiting_room_required",
            "{}: {:#}",
            a.backend, guarded.body
        );
    }
}

#[tokio::test]
async fn a_key_revoked_on_one_node_stops_working_on_every_node() {
    use anycart_store::ApiKeyKind;
    use secrecy::ExposeSecret;
    for (a, b) in two_nodes().await {
        let merchant = a.demo.merchant_id.parse().unwrap();
        let (key, record) = a
            .state
            .checkout
            .create_api_key(merchant, ApiKeyKind::Publishable)
            .await
            .unwrap();
        let key = key.expose_secret().to_string();
        let tee = a.variant("TEE-TRAIL-S");
        let basket = json!({"currency": "usd", "line_items": [{"id": tee}], "capabilities": {}});
        let idem = || uuid::Uuid::now_v7().to_string();
        let works = a
            .post_with("/checkout_sessions", basket.clone(), &key, &idem())
            .await;
        assert_eq!(works.status, StatusCode::CREATED, "{:#}", works.body);

        b.state
            .checkout
            .revoke_api_key(merchant, record.id)
            .await
            .unwrap();

        for node in [&a, &b] {
            let refused = node
                .post_with("/checkout_sessions", basket.clone(), &key, &idem())
                .await;
            assert_eq!(
                refused.status,
                StatusCode::UNAUTHORIZED,
                "{}: {:#}",
                a.backend,
                refused.body
            );
        }
    }
}

/// A ready checkout on `app` for one tee, with `code` asked for.
async fn with_code(app: &crate::helpers::TestApp, code: &str) -> crate::helpers::Reply {
    let tee = app.variant("TEE-TRAIL-S");
    app.post(
        "/checkout_sessions",
        json!({"currency": "usd", "line_items": [{"id": tee}], "capabilities": {},
            "buyer": {"email": "t@example.com"},
            "fulfillment_details": {"name": "T", "address": address("US", "CA")},
            "discounts": {"codes": [code]}}),
    )
    .await
}

#[tokio::test]
async fn a_discount_defined_or_used_up_on_another_node_is_seen_at_once() {
    for (a, b) in two_nodes().await {
        // Node a reads (and keeps) the merchant's codes before this one exists.
        let unknown = with_code(&a, "ONCE").await;
        assert_eq!(
            unknown.body["discounts"]["rejected"][0]["reason"], "discount_code_invalid",
            "{:#}",
            unknown.body
        );
        let created = b
            .admin(
                Method::POST,
                "/discounts",
                Some(json!({"code": "once", "name": "Once", "type": "percentage", "rate_bps": 1000, "max_redemptions": 1})),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.body);

        let priced = with_code(&a, "ONCE").await;
        assert_eq!(
            priced.body["discounts"]["applied"][0]["code"], "ONCE",
            "{}: node a offered the codes it kept: {:#}",
            a.backend, priced.body
        );

        // Node b's order uses the code up.
        let other = with_code(&b, "ONCE").await;
        let paid = b.pay(other.body["id"].as_str().unwrap(), "tok_visa").await;
        assert_eq!(paid.body["status"], "completed", "{:#}", paid.body);

        let next = with_code(&a, "ONCE").await;
        assert_eq!(
            next.body["discounts"]["rejected"][0]["reason"], "discount_code_usage_limit_reached",
            "{}: {:#}",
            a.backend, next.body
        );
        // The checkout node a priced with the code is not charged that price.
        let first = a.pay(priced.body["id"].as_str().unwrap(), "tok_visa").await;
        assert_eq!(
            first.body["status"], "ready_for_payment",
            "{}: {:#}",
            a.backend, first.body
        );
        assert!(a.sandbox.as_ref().unwrap().payments().is_empty());
    }
}
