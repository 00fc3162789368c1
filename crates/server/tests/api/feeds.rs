//! The product feed: the JSONL export lists the demo catalogue with live
//! stock, every line an ACP feed `Product`; platforms with a feed endpoint are
//! sent what changed (and only that), through the outbox.

use crate::fake_agent::{FakeAgent, SECRET, schema_errors};
use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

impl TestApp {
    /// The JSONL export, parsed, with `key`.
    pub async fn feed(&self, key: &str) -> Vec<Value> {
        let r = self
            .client
            .get(format!("{}/v1/feeds/products.jsonl", self.base))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/jsonl")
        );
        let text = r.text().await.unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn variant_of<'a>(feed: &'a [Value], id: &str) -> &'a Value {
    feed.iter()
        .flat_map(|p| p["variants"].as_array().unwrap())
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in the feed"))
}

#[tokio::test]
async fn the_feed_lists_the_demo_catalogue_with_live_stock() {
    for app in apps().await {
        let feed = app.feed(app.pk()).await;
        let listed: usize = feed
            .iter()
            .map(|p| p["variants"].as_array().unwrap().len())
            .sum();
        assert_eq!(listed, app.demo.variants.len(), "every demo variant");
        for product in &feed {
            let errors = schema_errors("feed", "Product", product);
            assert!(errors.is_empty(), "{errors:#?}\n{product:#}");
        }
        // `TEE-TRAIL-L` starts with 3: limited; holding them all makes it out of stock.
        let large = app.variant("TEE-TRAIL-L");
        assert_eq!(
            variant_of(&feed, &large)["availability"]["status"],
            "limited_stock"
        );
        let held = app.available(&large).await;
        let s = app.ready_session(&large, held).await;
        assert_eq!(s.status, StatusCode::CREATED, "{:#}", s.body);
        let now = app.feed(app.sk()).await;
        assert_eq!(
            variant_of(&now, &large)["availability"],
            json!({"available": false, "status": "out_of_stock"})
        );
        let unauthorized = app
            .client
            .get(format!("{}/v1/feeds/products.jsonl", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn a_platform_s_feed_is_sent_what_changed_and_only_that() {
    for app in apps().await {
        let fake = FakeAgent::start().await;
        let r = app
            .register_agent(json!({"name": "feedme", "signing_secret": SECRET, "feed_url": fake.feed_url(), "feed_token": "feed-token-1"}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.body);
        let key = r.body["api_key"].as_str().unwrap().to_string();
        assert_eq!(app.feed(&key).await.len(), app.feed(app.pk()).await.len());

        // The first sync sends the whole catalogue.
        let queued = app.state.checkout.sync_feeds_once().await.unwrap();
        assert_eq!(queued, app.feed(app.pk()).await.len());
        app.deliver().await;
        let pushes = fake.feed_pushes();
        assert_eq!(pushes.len(), 1);
        assert_eq!(pushes[0].feed_id, "feed_test");
        assert_eq!(
            pushes[0].authorization.as_deref(),
            Some("Bearer feed-token-1")
        );
        for p in pushes[0].body["products"].as_array().unwrap() {
            assert!(schema_errors("feed", "Product", p).is_empty());
        }

        // Nothing changed: nothing is sent.
        assert_eq!(app.state.checkout.sync_feeds_once().await.unwrap(), 0);

        // Selling out one size sends its product, with the new availability.
        let large = app.variant("TEE-TRAIL-L");
        let held = app.available(&large).await;
        app.ready_session(&large, held).await;
        assert_eq!(app.state.checkout.sync_feeds_once().await.unwrap(), 1);
        app.deliver().await;
        let pushes = fake.feed_pushes();
        assert_eq!(pushes.len(), 2);
        let product = &pushes[1].body["products"][0];
        assert_eq!(
            variant_of(std::slice::from_ref(product), &large)["availability"]["status"],
            "out_of_stock"
        );

        // A feed endpoint that fails is retried, never blocking anything.
        fake.answer(503);
        let s = app.ready_session(&app.variant("TEE-TRAIL-S"), 14).await;
        assert_eq!(s.status, StatusCode::CREATED);
        app.state.checkout.sync_feeds_once().await.unwrap();
        let report = app.deliver().await;
        assert_eq!(report.retrying, 1, "{report:?}");
        let pending = app.admin(Method::GET, "/outbox?state=pending", None).await;
        assert!(
            pending
                .body
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["kind"] == "agent.feed")
        );
    }
}
