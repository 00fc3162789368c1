//! Many shoppers, little stock: nobody oversells, whatever the interleaving.

use crate::helpers::{TestApp, apps};
use anycart_payments::sandbox::SandboxState;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;

pub(crate) async fn set_stock(app: &TestApp, variant: &str, units: i64) {
    let locations = app.admin(Method::GET, "/locations", None).await;
    for (i, loc) in locations.body.as_array().unwrap().iter().enumerate() {
        let on_hand = if i == 0 { units } else { 0 };
        let r = app
            .admin(
                Method::PUT,
                &format!("/variants/{variant}/stock/{}", loc["id"].as_str().unwrap()),
                Some(json!({"on_hand": on_hand})),
            )
            .await;
        assert!(r.status.is_success(), "{:#}", r.body);
    }
}

async fn race(app: Arc<TestApp>, variant: String, buyers: usize) -> usize {
    let tasks: Vec<_> = (0..buyers)
        .map(|_| {
            let app = app.clone();
            let variant = variant.clone();
            tokio::spawn(async move {
                let s = app.ready_session(&variant, 1).await;
                let id = s.body["id"].as_str().unwrap().to_string();
                app.pay(&id, "tok_visa").await.body["status"] == "completed"
            })
        })
        .collect();
    let mut completed = 0;
    for t in tasks {
        completed += usize::from(t.await.unwrap());
    }
    completed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_buyers_never_both_get_the_last_unit() {
    for app in apps().await {
        let app = Arc::new(app);
        let variant = app.variant("TEE-TRAIL-L");
        for round in 0..5 {
            set_stock(&app, &variant, 1).await;
            let completed = race(app.clone(), variant.clone(), 2).await;
            assert_eq!(
                completed, 1,
                "{} round {round}: exactly one buyer gets the last unit",
                app.backend
            );
            assert_eq!(app.available(&variant).await, 0);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_small_drop_sells_exactly_out() {
    for app in apps().await {
        let app = Arc::new(app);
        let variant = app.variant("BTL-750-BLU");
        set_stock(&app, &variant, 7).await;
        let completed = race(app.clone(), variant.clone(), 30).await;
        assert_eq!(completed, 7, "{}: every unit sold, none twice", app.backend);
        let orders = app.admin(Method::GET, "/orders?limit=100", None).await;
        assert_eq!(orders.body["data"].as_array().unwrap().len(), 7);
        let product = app.admin(Method::GET, "/products?limit=100", None).await;
        let v = product.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["variants"].as_array().unwrap().clone())
            .find(|v| v["id"] == variant.as_str())
            .unwrap();
        for level in v["stock"].as_array().unwrap() {
            assert!(
                level["on_hand"].as_i64().unwrap() >= 0 && level["held"].as_i64().unwrap() >= 0
            );
        }
        assert_eq!(v["available"], 0);
    }
}

/// Shoppers who all priced a code while it had uses left pay at the same
/// moment: the code is redeemed at most its limit. A shopper whose order finds
/// it used up is told so (409 `discount_used_up`, or a refreshed total without
/// it) and is not charged; every charge left standing has its order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_with_uses_left_is_not_redeemed_past_its_limit_by_racing_shoppers() {
    const SHOPPERS: usize = 8;
    const LIMIT: usize = 2;
    for app in apps().await {
        let app = Arc::new(app);
        let created = app
            .admin(
                Method::POST,
                "/discounts",
                Some(json!({"code": "race", "name": "Race", "type": "percentage", "rate_bps": 1000, "max_redemptions": LIMIT})),
            )
            .await;
        assert!(created.status.is_success(), "{:#}", created.body);
        let tee = app.variant("TEE-TRAIL-S");
        let mut ready = Vec::new();
        for _ in 0..SHOPPERS {
            let s = app
                .post(
                    "/checkout_sessions",
                    json!({"currency": "usd", "line_items": [{"id": tee}], "capabilities": {},
                        "buyer": {"email": "r@example.com"},
                        "fulfillment_details": {"name": "R", "address": crate::helpers::address("US", "CA")},
                        "discounts": {"codes": ["RACE"]}}),
                )
                .await;
            assert_eq!(
                s.body["discounts"]["applied"][0]["code"], "RACE",
                "{:#}",
                s.body
            );
            ready.push(s.body["id"].as_str().unwrap().to_string());
        }
        let payers: Vec<_> = ready
            .into_iter()
            .map(|id| {
                let app = app.clone();
                tokio::spawn(async move { app.pay(&id, "tok_visa").await })
            })
            .collect();
        let mut with_code = 0;
        let mut completed = 0;
        for payer in payers {
            let paid = payer.await.unwrap();
            match paid.body["status"].as_str() {
                Some("completed") => {
                    completed += 1;
                    if paid.body["discounts"]["applied"][0]["code"] == "RACE" {
                        with_code += 1;
                    }
                }
                // The refresh before paying saw the code used up: new total, no charge.
                Some("ready_for_payment") => {}
                _ => assert_eq!(
                    (paid.status, paid.body["code"].as_str()),
                    (reqwest::StatusCode::CONFLICT, Some("discount_used_up")),
                    "{}: {:#}",
                    app.backend,
                    paid.body
                ),
            }
        }
        assert!(
            with_code <= LIMIT,
            "{}: {with_code} orders used the code",
            app.backend
        );
        let codes = app.admin(Method::GET, "/discounts", None).await;
        let race = codes
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["code"] == "RACE")
            .expect("the code is listed");
        assert_eq!(race["times_redeemed"], with_code, "{}", app.backend);
        let charged = app
            .sandbox
            .as_ref()
            .unwrap()
            .payments()
            .iter()
            .filter(|p| p.state != SandboxState::Voided)
            .count();
        assert_eq!(
            charged, completed,
            "{}: a charge without its order",
            app.backend
        );
    }
}
