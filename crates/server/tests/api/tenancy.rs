//! No call can see or touch another merchant's data.

use crate::helpers::apps;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn merchants_cannot_reach_each_others_data() {
    for app in apps().await {
        let other = anycart_checkout::merchants::create_merchant(&app.state.store, "Rival", 0)
            .await
            .unwrap();
        let (other_pk, other_sk) = (
            other.to_json().publishable_key.to_string(),
            other.to_json().secret_key.to_string(),
        );
        let tee = app.variant("TEE-TRAIL-S");
        let mine = app.ready_session(&tee, 1).await;
        let id = mine.body["id"].as_str().unwrap().to_string();
        let paid = app.pay(&id, "tok_visa").await;
        let order_id = paid.body["order"]["id"].as_str().unwrap().to_string();

        // Checkout API with the rival's keys.
        for key in [&other_pk, &other_sk] {
            let get = app
                .client
                .get(format!("{}/checkout_sessions/{id}", app.base))
                .bearer_auth(key)
                .header("API-Version", "2026-04-17");
            assert_eq!(
                app.raw(get).await.status,
                StatusCode::NOT_FOUND,
                "{}",
                app.backend
            );
            for suffix in ["", "/complete", "/cancel"] {
                let r = app
                    .post_with(
                        &format!("/checkout_sessions/{id}{suffix}"),
                        json!({}),
                        key,
                        &format!("t{suffix}"),
                    )
                    .await;
                assert!(
                    r.status == StatusCode::NOT_FOUND || r.status == StatusCode::BAD_REQUEST,
                    "{suffix}: {}",
                    r.status
                );
            }
            let r = app
                .post_with(
                    "/checkout_sessions",
                    json!({"currency": "usd", "line_items": [{"id": tee}], "capabilities": {}}),
                    key,
                    "t-create",
                )
                .await;
            assert_eq!(
                r.body["code"], "invalid_item_id",
                "another merchant's variant is unknown"
            );
        }
        // Admin API with the rival's secret key.
        for path in [
            format!("/orders/{order_id}"),
            format!(
                "/products/{}",
                mine.body["line_items"][0]["product_id"].as_str().unwrap()
            ),
        ] {
            let r = app
                .client
                .get(format!("{}/v1{path}", app.base))
                .bearer_auth(&other_sk)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let r = app
            .client
            .get(format!("{}/v1/orders", app.base))
            .bearer_auth(&other_sk)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.json::<serde_json::Value>().await.unwrap()["data"]
                .as_array()
                .unwrap()
                .len(),
            0
        );
        let loc = app.admin(Method::GET, "/locations", None).await.body[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let r = app
            .client
            .put(format!("{}/v1/variants/{tee}/stock/{loc}", app.base))
            .bearer_auth(&other_sk)
            .json(&json!({"on_hand": 0}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        // And the original session is untouched.
        assert_eq!(
            app.get(&format!("/checkout_sessions/{id}")).await.body["status"],
            "completed"
        );
    }
}

#[tokio::test]
async fn publishable_keys_cannot_use_the_admin_api() {
    for app in apps().await {
        for path in ["/orders", "/products", "/locations", "/merchant"] {
            let r = app
                .client
                .get(format!("{}/v1{path}", app.base))
                .bearer_auth(app.pk())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        }
        let r = app
            .client
            .get(format!("{}/v1/orders", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
}
