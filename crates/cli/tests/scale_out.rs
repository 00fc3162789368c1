//! Two real anycart processes sharing one PostgreSQL never oversell.
//! Needs `ANYCART_TEST_DATABASE_URL` (CI sets it); otherwise says it skipped.

// Tests: a panic is a failed test, and their numbers are small.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_anycart");

struct Node(Child, String);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// 32 bytes of base64: the key every node of this test cluster is given.
const SHARED_CREDENTIALS_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn start_node(database_url: &str) -> Node {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--database-url",
            database_url,
        ])
        .env("RUST_LOG", "info")
        // Nodes sharing a database share the credentials key (as documented).
        .env("ANYCART_CREDENTIALS_KEY", SHARED_CREDENTIALS_KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines.next().expect("node output").unwrap();
        if let Some(i) = line.find("base_url=") {
            break line[i + 9..].split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep draining the log so the node never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Node(child, base)
}

#[test]
fn two_nodes_sharing_postgres_sell_each_unit_once() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(url) = rt.block_on(anycart_store::testing::fresh_postgres_url()) else {
        return;
    };
    let out = Command::new(BIN)
        .args([
            "merchant",
            "create",
            "--name",
            "Scale",
            "--json",
            "--database-url",
            &url,
        ])
        .env("ANYCART_CREDENTIALS_KEY", SHARED_CREDENTIALS_KEY)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (pk, sk) = (
        keys["publishable_key"].as_str().unwrap().to_string(),
        keys["secret_key"].as_str().unwrap().to_string(),
    );
    let nodes = [start_node(&url), start_node(&url)];
    let bases: Vec<String> = nodes.iter().map(|n| n.1.clone()).collect();

    rt.block_on(async {
        let client = reqwest::Client::new();
        for base in &bases {
            for _ in 0..100 {
                if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let admin = |path: &str| client.post(format!("{}/v1{path}", bases[0])).bearer_auth(&sk);
        let loc: Value = admin("/locations").json(&json!({"name": "WH"})).send().await.unwrap().json().await.unwrap();
        let product: Value = admin("/products")
            .json(&json!({"title": "Drop", "variants": [{"sku": "DROP", "title": "Drop", "price": {"amount": 5000, "currency": "usd"}, "stock": [{"location_id": loc["id"], "on_hand": 5}]}]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let variant = product["variants"][0]["id"].as_str().unwrap().to_string();
        let zone = admin("/shipping_zones")
            .json(&json!({"name": "US", "countries": ["US"], "rates": [{"title": "Ground", "price": {"amount": 500, "currency": "usd"}, "min_delivery_days": 2, "max_delivery_days": 4}]}))
            .send()
            .await
            .unwrap();
        assert!(zone.status().is_success());
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let (client, base, pk, variant) = (client.clone(), bases[i % 2].clone(), pk.clone(), variant.clone());
                tokio::spawn(async move {
                    let post = |path: String, body: Value, key: String| {
                        client.post(format!("{base}{path}")).bearer_auth(&pk).header("API-Version", "2026-04-17").header("Idempotency-Key", key).json(&body).send()
                    };
                    let s: Value = post("/checkout_sessions".into(), json!({"currency": "usd", "line_items": [{"id": variant}], "capabilities": {}, "buyer": {"email": format!("b{i}@example.com")}, "fulfillment_details": {"address": {"name": "B", "line_one": "1 St", "city": "Austin", "state": "TX", "country": "US", "postal_code": "73301"}}}), format!("c{i}"))
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    let Some(id) = s["id"].as_str() else { return false };
                    let done: Value = post(format!("/checkout_sessions/{id}/complete"), json!({"payment_data": {"handler_id": "card_sandbox", "instrument": {"type": "card", "credential": {"type": "spt", "token": "tok_visa"}}}}), format!("p{i}"))
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    done["status"] == "completed"
                })
            })
            .collect();
        let mut completed = 0;
        for t in tasks {
            completed += usize::from(t.await.unwrap());
        }
        assert_eq!(completed, 5, "five units, five orders, across two nodes");
        let orders: Value = client.get(format!("{}/v1/orders?limit=100", bases[1])).bearer_auth(&sk).send().await.unwrap().json().await.unwrap();
        assert_eq!(orders["data"].as_array().unwrap().len(), 5);
        let p: Value = client.get(format!("{}/v1/products", bases[1])).bearer_auth(&sk).send().await.unwrap().json().await.unwrap();
        let stock = &p["data"][0]["variants"][0]["stock"][0];
        assert_eq!((stock["on_hand"].as_i64(), stock["held"].as_i64()), (Some(0), Some(0)));
    });
}
