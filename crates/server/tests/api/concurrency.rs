//! Many shoppers, little stock: nobody oversells, whatever the interleaving.

use crate::helpers::{TestApp, apps};
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
