//! The checkout state machine over HTTP: happy path, payments, stock, pricing.

use crate::helpers::{address, apps, message_codes, payment, spawn_sqlite, total};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_shopper_buys_a_product_end_to_end() {
    for app in apps().await {
        let tee = app.variant("TEE-TRAIL-S");
        let before = app.available(&tee).await;

        let created = app.post("/checkout_sessions", json!({"currency": "usd", "line_items": [{"id": tee, "quantity": 2}], "capabilities": {}})).await;
        assert_eq!(
            created.status,
            StatusCode::CREATED,
            "{}: {:#}",
            app.backend,
            created.body
        );
        assert_eq!(created.body["status"], "not_ready_for_payment");
        assert_eq!(message_codes(&created.body), vec!["missing", "missing"]);
        assert_eq!(
            app.available(&tee).await,
            before - 2,
            "{}: creating a session holds stock",
            app.backend
        );
        let id = created.body["id"].as_str().unwrap().to_string();

        let updated = app
            .post(&format!("/checkout_sessions/{id}"), json!({
                "buyer": {"email": "sam@example.com", "first_name": "Sam", "last_name": "Shopper"},
                "fulfillment_details": {"name": "Sam Shopper", "address": address("US", "CA")},
                "discounts": {"codes": ["welcome10"]},
            }))
            .await;
        assert_eq!(updated.status, StatusCode::OK);
        let b = &updated.body;
        assert_eq!(b["status"], "ready_for_payment", "{:#}", b);
        assert_eq!(total(b, "items_base_amount"), 6400);
        // The code's discount is allocated to the lines, so it is an
        // `items_discount` (ACP discount extension §8), and the lines' own
        // `items_discount` totals add up to it.
        assert_eq!(total(b, "items_discount"), 640);
        let line_discounts: i64 = b["line_items"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|l| l["totals"].as_array().unwrap())
            .filter(|t| t["type"] == "items_discount")
            .map(|t| t["amount"].as_i64().unwrap())
            .sum();
        assert_eq!(line_discounts, 640);
        assert_eq!(total(b, "subtotal"), 5760);
        assert_eq!(total(b, "fulfillment"), 500, "cheapest US rate preselected");
        assert_eq!(
            total(b, "tax"),
            475,
            "8.25 % CA tax on the discounted subtotal"
        );
        assert_eq!(total(b, "total"), 5760 + 500 + 475);
        assert_eq!(b["discounts"]["applied"][0]["code"], "WELCOME10");
        assert_eq!(b["fulfillment_options"].as_array().unwrap().len(), 2);

        let done = app.pay(&id, "tok_visa").await;
        assert_eq!(done.status, StatusCode::OK);
        assert_eq!(done.body["status"], "completed");
        let order = &done.body["order"];
        assert_eq!(order["checkout_session_id"], id.as_str());
        assert_eq!(order["order_number"], "1001");
        assert_eq!(
            app.available(&tee).await,
            before - 2,
            "sold units stay gone"
        );

        // The order is in the admin API and its permalink shows a real page.
        let orders = app.admin(Method::GET, "/orders", None).await;
        assert_eq!(orders.body["data"][0]["id"], order["id"]);
        assert_eq!(orders.body["data"][0]["totals"]["total_minor"], 6735);
        let page = app
            .client
            .get(order["permalink_url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("#1001") && html.contains("Trail Runner Tee") && html.contains("$67.35"),
            "{html}"
        );

        // GET returns the completed session with its order.
        let got = app.get(&format!("/checkout_sessions/{id}")).await;
        assert_eq!(got.body["status"], "completed");
        assert_eq!(got.body["order"]["id"], order["id"]);
    }
}

#[tokio::test]
async fn a_declined_card_releases_stock_and_a_new_card_succeeds() {
    for app in apps().await {
        let bottle = app.variant("BTL-750-GRN"); // 3 in stock
        let s = app.ready_session(&bottle, 3).await;
        let id = s.body["id"].as_str().unwrap().to_string();
        assert_eq!(app.available(&bottle).await, 0);

        for (token, expected) in [
            ("tok_chargeDeclined", "Your card was declined"),
            ("tok_chargeDeclinedInsufficientFunds", "insufficient funds"),
        ] {
            let declined = app.pay(&id, token).await;
            assert_eq!(declined.status, StatusCode::OK);
            assert_eq!(declined.body["status"], "ready_for_payment");
            assert!(message_codes(&declined.body).contains(&"payment_declined".to_string()));
            assert!(
                declined.body["messages"].to_string().contains(expected),
                "{:#}",
                declined.body
            );
            assert_eq!(
                app.available(&bottle).await,
                3,
                "{}: a decline gives the stock back",
                app.backend
            );
        }

        let paid = app.pay(&id, "tok_visa").await;
        assert_eq!(paid.body["status"], "completed", "{:#}", paid.body);
        assert_eq!(app.available(&bottle).await, 0);
        let sandbox = app.sandbox.as_ref().unwrap();
        let captured = sandbox
            .payments()
            .iter()
            .filter(|p| p.state == anycart_payments::sandbox::SandboxState::Captured)
            .count();
        assert_eq!(captured, 1, "exactly one successful charge");
    }
}

#[tokio::test]
async fn three_d_secure_needs_an_authentication_result() {
    for app in apps().await {
        let tee = app.variant("TEE-TRAIL-M");
        let s = app.ready_session(&tee, 1).await;
        let id = s.body["id"].as_str().unwrap().to_string();

        let challenged = app.pay(&id, "tok_threeDSecure2Required").await;
        assert_eq!(
            challenged.body["status"], "authentication_required",
            "{:#}",
            challenged.body
        );
        assert!(challenged.body["authentication_metadata"].is_object());
        assert_eq!(
            challenged.body["capabilities"]["interventions"]["required"][0],
            "3ds"
        );

        let missing = app.pay(&id, "tok_threeDSecure2Required").await;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST);
        assert_eq!(missing.body["code"], "requires_3ds");

        let mut with_result = payment("tok_threeDSecure2Required");
        with_result["authentication_result"] = json!({"outcome": "authenticated", "outcome_details": {"three_ds_cryptogram": "AbCdEfGhIjKlMnOpQrStUvWxY0=", "electronic_commerce_indicator": "05", "transaction_id": "ds_1", "version": "2.2.0"}});
        let done = app
            .post(&format!("/checkout_sessions/{id}/complete"), with_result)
            .await;
        assert_eq!(done.body["status"], "completed", "{:#}", done.body);
    }
}

#[tokio::test]
async fn failed_authentication_is_a_recoverable_decline() {
    let app = spawn_sqlite(None).await;
    let tee = app.variant("TEE-TRAIL-M");
    let id = app.ready_session(&tee, 1).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.pay(&id, "tok_threeDSecure2Required").await;
    let mut denied = payment("tok_threeDSecure2Required");
    denied["authentication_result"] = json!({"outcome": "denied"});
    let r = app
        .post(&format!("/checkout_sessions/{id}/complete"), denied)
        .await;
    assert_eq!(r.body["status"], "ready_for_payment");
    assert!(message_codes(&r.body).contains(&"payment_declined".to_string()));
    assert_eq!(app.pay(&id, "tok_visa").await.body["status"], "completed");
}

#[tokio::test]
async fn cancel_gives_stock_back_and_cannot_repeat() {
    for app in apps().await {
        let tee = app.variant("TEE-TRAIL-L");
        let before = app.available(&tee).await;
        let id = app.ready_session(&tee, 2).await.body["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(app.available(&tee).await, before - 2);
        let canceled = app
            .post(
                &format!("/checkout_sessions/{id}/cancel"),
                json!({"intent_trace": {"reason_code": "buyer_cancelled"}}),
            )
            .await;
        assert_eq!(canceled.body["status"], "canceled");
        assert_eq!(app.available(&tee).await, before);
        let again = app
            .post(&format!("/checkout_sessions/{id}/cancel"), json!({}))
            .await;
        assert_eq!(again.status, StatusCode::METHOD_NOT_ALLOWED);
        let pay = app.pay(&id, "tok_visa").await;
        assert_eq!(pay.status, StatusCode::CONFLICT);
        let update = app
            .post(
                &format!("/checkout_sessions/{id}"),
                json!({"buyer": {"email": "x@example.com"}}),
            )
            .await;
        assert_eq!(update.status, StatusCode::CONFLICT);
    }
}

#[tokio::test]
async fn idle_sessions_expire_and_release_their_holds() {
    for app in apps().await {
        let tee = app.variant("TEE-TRAIL-S");
        let before = app.available(&tee).await;
        let id = app.ready_session(&tee, 4).await.body["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(app.available(&tee).await, before - 4);

        app.clock
            .advance_ms(anycart_checkout::SESSION_TTL_MS_DEFAULT - 1_000);
        assert_eq!(app.state.checkout.sweep_once().await.unwrap(), 0, "not yet");
        app.clock.advance_ms(2_000);
        assert_eq!(app.state.checkout.sweep_once().await.unwrap(), 1);
        assert_eq!(
            app.available(&tee).await,
            before,
            "{}: expiry gives stock back",
            app.backend
        );
        let got = app.get(&format!("/checkout_sessions/{id}")).await;
        assert_eq!(got.body["status"], "expired");
        assert_eq!(app.pay(&id, "tok_visa").await.status, StatusCode::CONFLICT);
    }
}

#[tokio::test]
async fn reading_an_overdue_session_expires_it_even_before_the_sweeper() {
    let app = spawn_sqlite(None).await;
    let tee = app.variant("TEE-TRAIL-S");
    let before = app.available(&tee).await;
    let id = app.ready_session(&tee, 1).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.clock
        .advance_ms(anycart_checkout::SESSION_TTL_MS_DEFAULT + 1);
    assert_eq!(
        app.get(&format!("/checkout_sessions/{id}")).await.body["status"],
        "expired"
    );
    assert_eq!(app.available(&tee).await, before);
}

#[tokio::test]
async fn activity_extends_the_hold() {
    let app = spawn_sqlite(None).await;
    let tee = app.variant("TEE-TRAIL-S");
    let id = app.ready_session(&tee, 1).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.clock
        .advance_ms(anycart_checkout::SESSION_TTL_MS_DEFAULT - 5_000);
    app.post(
        &format!("/checkout_sessions/{id}"),
        json!({"buyer": {"first_name": "Still here"}}),
    )
    .await;
    app.clock.advance_ms(10_000);
    app.state.checkout.sweep_once().await.unwrap();
    assert_eq!(
        app.get(&format!("/checkout_sessions/{id}")).await.body["status"],
        "ready_for_payment"
    );
}

/// A complete pays from the holds a session already has when they outlive the
/// payment (nothing to write, nothing to take again); with less than half its
/// lifetime left, it takes them again for a full one first. (The per-request
/// hold path, the benchmark's baseline, takes them again in every write.)
#[tokio::test]
async fn a_complete_pays_from_the_holds_it_has_and_renews_them_only_when_late() {
    use anycart_checkout::SESSION_TTL_MS_DEFAULT as TTL;
    for app in apps().await {
        let tee = app.variant("TEE-TRAIL-M");
        let t0 = app.state.now_ms();
        let fresh = app.ready_session(&tee, 1).await.body["id"]
            .as_str()
            .unwrap()
            .to_string();
        let late = app.ready_session(&tee, 1).await.body["id"]
            .as_str()
            .unwrap()
            .to_string();
        // 3-D Secure stops each complete after its refresh, holds kept as they are.
        app.clock.advance_ms(60_000);
        let challenged = app.pay(&fresh, "tok_threeDSecure2Required").await;
        assert_eq!(challenged.body["status"], "authentication_required");
        app.clock.advance_ms(TTL / 2);
        let challenged = app.pay(&late, "tok_threeDSecure2Required").await;
        assert_eq!(challenged.body["status"], "authentication_required");

        // Only the fresh session's hold still expires when it was first taken.
        let released = app
            .state
            .store
            .release_stale_holds(t0 + TTL + 1, 100)
            .await
            .unwrap();
        let kept = u64::from(crate::helpers::engine_holds());
        assert_eq!(released, kept, "{}: holds not taken again", app.backend);
        for (id, held) in [(&fresh, 1 - kept as i64), (&late, 1)] {
            let totals = app
                .state
                .store
                .session_hold_totals(id.parse().unwrap())
                .await
                .unwrap();
            assert_eq!(totals.values().sum::<i64>(), held, "{}: {id}", app.backend);
        }
    }
}

#[tokio::test]
async fn stock_and_order_caps_are_messages_not_errors() {
    for app in apps().await {
        let green = app.variant("BTL-750-GRN"); // 3 in stock
        let too_many = app.ready_session(&green, 5).await;
        assert_eq!(too_many.status, StatusCode::CREATED);
        assert_eq!(too_many.body["status"], "not_ready_for_payment");
        assert_eq!(message_codes(&too_many.body), vec!["quantity_exceeded"]);
        assert_eq!(too_many.body["line_items"][0]["available_quantity"], 3);
        assert_eq!(
            app.available(&green).await,
            3,
            "nothing is held for an unfillable line"
        );

        let sneaker = app.variant("SNKR-DROP-42"); // max 2 per order
        let capped = app.ready_session(&sneaker, 3).await;
        assert_eq!(message_codes(&capped.body), vec!["quantity_exceeded"]);
        assert!(
            capped.body["messages"][0]["content"]
                .as_str()
                .unwrap()
                .contains("at most 2")
        );

        // Fixing the quantity makes it payable.
        let id = too_many.body["id"].as_str().unwrap();
        let fixed = app
            .post(
                &format!("/checkout_sessions/{id}"),
                json!({"line_items": [{"id": green, "quantity": 3}]}),
            )
            .await;
        assert_eq!(
            fixed.body["status"], "ready_for_payment",
            "{:#}",
            fixed.body
        );
        assert_eq!(message_codes(&fixed.body), vec!["low_stock"]);

        // Sold out: the next shopper sees out_of_stock.
        let sold_out = app.ready_session(&green, 1).await;
        assert_eq!(message_codes(&sold_out.body), vec!["out_of_stock"]);
        assert_eq!(
            sold_out.body["line_items"][0]["availability_status"],
            "out_of_stock"
        );
    }
}

#[tokio::test]
async fn repeated_lines_draw_on_one_pool() {
    let app = spawn_sqlite(None).await;
    let green = app.variant("BTL-750-GRN"); // 3 in stock
    let r = app
        .post("/checkout_sessions", json!({"currency": "usd", "line_items": [{"id": green, "quantity": 2}, {"id": green, "quantity": 2}], "capabilities": {}}))
        .await;
    assert!(
        message_codes(&r.body).contains(&"quantity_exceeded".to_string()),
        "{:#}",
        r.body
    );
    assert_eq!(app.available(&green).await, 3);
    let ok = app
        .post("/checkout_sessions", json!({"currency": "usd", "line_items": [{"id": green, "quantity": 1}, {"id": green, "quantity": 2}], "capabilities": {}}))
        .await;
    assert!(!message_codes(&ok.body).contains(&"quantity_exceeded".to_string()));
    assert_eq!(app.available(&green).await, 0);
    assert_ne!(
        ok.body["line_items"][0]["id"],
        ok.body["line_items"][1]["id"]
    );
}

#[tokio::test]
async fn shipping_choice_tax_region_and_unserved_countries() {
    let app = spawn_sqlite(None).await;
    let tee = app.variant("TEE-TRAIL-S");
    let s = app.ready_session(&tee, 1).await;
    let id = s.body["id"].as_str().unwrap().to_string();
    let express = s.body["fulfillment_options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["title"] == "Express")
        .unwrap()["id"]
        .clone();
    let r = app
        .post(&format!("/checkout_sessions/{id}"), json!({"selected_fulfillment_options": [{"type": "shipping", "option_id": express, "item_ids": []}]}))
        .await;
    assert_eq!(total(&r.body, "fulfillment"), 1500);
    assert_eq!(
        r.body["selected_fulfillment_options"][0]["option_id"],
        express
    );

    // New York taxes shipping too (8.88 %).
    let ny = app
        .post(
            &format!("/checkout_sessions/{id}"),
            json!({"fulfillment_details": {"address": address("US", "NY")}}),
        )
        .await;
    assert_eq!(
        total(&ny.body, "tax"),
        ((3200 + 1500) * 888 + 5_000) / 10_000
    );

    // Japan is not served.
    let jp = app
        .post(
            &format!("/checkout_sessions/{id}"),
            json!({"fulfillment_details": {"address": address("JP", "13")}}),
        )
        .await;
    assert_eq!(jp.body["status"], "not_ready_for_payment");
    assert_eq!(message_codes(&jp.body), vec!["invalid"]);
    assert!(
        jp.body["fulfillment_options"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_wallets_redacted_address_quotes_shipping_and_payment_waits_for_the_street() {
    let app = spawn_sqlite(None).await;
    let tee = app.variant("TEE-TRAIL-S");
    let s = app
        .post(
            "/checkout_sessions",
            json!({"currency": "usd", "line_items": [{"id": tee}], "buyer": {"email": "wallet@example.com"}}),
        )
        .await;
    assert_eq!(s.status, StatusCode::CREATED, "{}", s.body);
    let id = s.body["id"].as_str().unwrap().to_string();
    // What Apple Pay / Google Pay share before the shopper pays: no street, maybe no name.
    let region = |country: &str| json!({"name": "", "line_one": "", "city": "San Francisco", "state": "CA", "country": country, "postal_code": "94105"});
    let quoted = app
        .post(
            &format!("/checkout_sessions/{id}"),
            json!({"fulfillment_details": {"address": region("US")}}),
        )
        .await;
    assert_eq!(quoted.status, StatusCode::OK, "{}", quoted.body);
    assert_eq!(quoted.body["status"], "not_ready_for_payment");
    assert!(
        !quoted.body["fulfillment_options"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(total(&quoted.body, "fulfillment") > 0);
    let params: Vec<_> = quoted.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["param"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(params, vec!["$.fulfillment_details.address.line_one"]);
    let early = app.pay(&id, "tok_visa").await;
    assert_ne!(early.body["status"], "completed", "{}", early.body);
    assert!(early.body["order"].is_null());

    // An unserved region says so, as a full address would.
    let jp = app
        .post(
            &format!("/checkout_sessions/{id}"),
            json!({"fulfillment_details": {"address": region("JP")}}),
        )
        .await;
    assert!(message_codes(&jp.body).contains(&"invalid".to_string()));

    let full = app
        .post(
            &format!("/checkout_sessions/{id}"),
            json!({"fulfillment_details": {"address": address("US", "CA")}}),
        )
        .await;
    assert_eq!(full.body["status"], "ready_for_payment", "{}", full.body);
    let paid = app.pay(&id, "tok_visa").await;
    assert_eq!(paid.body["status"], "completed", "{}", paid.body);
    assert_eq!(
        paid.body["fulfillment_details"]["address"]["line_one"],
        "1 Market St"
    );
}

#[tokio::test]
async fn discount_codes_are_applied_or_explained() {
    let app = spawn_sqlite(None).await;
    let tee = app.variant("TEE-TRAIL-S");
    let r = app
        .post("/checkout_sessions", json!({"currency": "usd", "line_items": [{"id": tee}], "capabilities": {}, "discounts": {"codes": ["NOPE", "welcome10"]}}))
        .await;
    assert_eq!(
        r.body["discounts"]["rejected"][0]["reason"],
        "discount_code_invalid"
    );
    assert_eq!(r.body["discounts"]["applied"][0]["amount"], 320);
    assert!(message_codes(&r.body).contains(&"discount_code_invalid".to_string()));
    // The deprecated `coupons` field reports with `coupon_invalid`.
    let legacy = app.post("/checkout_sessions", json!({"currency": "usd", "line_items": [{"id": tee}], "capabilities": {}, "coupons": ["NOPE"]})).await;
    assert!(
        message_codes(&legacy.body).contains(&"coupon_invalid".to_string()),
        "{:#}",
        legacy.body
    );
}

#[tokio::test]
async fn a_price_change_is_never_charged_without_being_shown() {
    for app in apps().await {
        let tee = app.variant("TEE-TRAIL-S");
        let s = app.ready_session(&tee, 1).await;
        let id = s.body["id"].as_str().unwrap().to_string();
        let shown_total = total(&s.body, "total");
        let patched = app
            .admin(
                Method::PATCH,
                &format!("/variants/{tee}"),
                Some(json!({"price": {"amount": 4200, "currency": "usd"}})),
            )
            .await;
        assert_eq!(patched.status, StatusCode::NO_CONTENT);

        let first = app.pay(&id, "tok_visa").await;
        assert_eq!(
            first.body["status"], "ready_for_payment",
            "{}: must not charge the new price blindly",
            app.backend
        );
        assert!(
            message_codes(&first.body).contains(&"price_change".to_string()),
            "{:#}",
            first.body
        );
        assert_ne!(total(&first.body, "total"), shown_total);
        assert!(
            app.sandbox.as_ref().unwrap().payments().is_empty(),
            "nothing charged"
        );

        let second = app.pay(&id, "tok_visa").await;
        assert_eq!(second.body["status"], "completed");
        assert_eq!(total(&second.body, "total"), total(&first.body, "total"));
    }
}

/// A node that dies between taking a hold and writing its session leaves an
/// orphan hold: the sweeper gives it back within a second of its expiry.
#[tokio::test]
async fn orphan_holds_come_back_within_a_second_of_expiry() {
    use anycart_core::inventory::HoldRequest;
    for app in apps().await {
        let tee = app.variant("TEE-TRAIL-M");
        let before = app.available(&tee).await;
        let now = app.state.now_ms();
        let item = anycart_store::BatchItem {
            merchant: app.demo.merchant_id.parse().unwrap(),
            request: HoldRequest {
                session: anycart_core::SessionId::new(), // never written
                variant: tee.parse().unwrap(),
                quantity: 3,
            },
            expires_at_ms: now + 5_000,
            new_session: false,
        };
        let held = app
            .state
            .store
            .apply_hold_batch(&[item], now)
            .await
            .unwrap();
        assert_eq!(held.outcomes[0].held, 3);
        assert_eq!(app.available(&tee).await, before - 3);

        app.clock.advance_ms(5_000);
        app.state.checkout.sweep_once().await.unwrap();
        assert_eq!(app.available(&tee).await, before - 3, "not before expiry");
        app.clock.advance_ms(1_000);
        app.state.checkout.sweep_once().await.unwrap();
        assert_eq!(
            app.available(&tee).await,
            before,
            "{}: back one second after expiry",
            app.backend
        );
    }
}
