//! A fake agent platform: receives ACP order webhooks (checking
//! `Merchant-Signature` as a platform would) and feed upserts, and answers
//! with a status the test chooses.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{patch, post};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

/// The signing secret the tests register platforms with.
pub const SECRET: &str = "agent-platform-signing-secret-0123456789";

/// One webhook as received.
#[derive(Clone, Debug)]
pub struct Received {
    pub body: Value,
    pub request_id: String,
    pub signature_ok: bool,
}

/// One feed upsert as received.
#[derive(Clone, Debug)]
pub struct FeedPush {
    pub feed_id: String,
    pub body: Value,
    pub authorization: Option<String>,
}

#[derive(Default)]
struct Inner {
    webhooks: Mutex<Vec<Received>>,
    feed: Mutex<Vec<FeedPush>>,
    status: AtomicU16,
}

/// A running fake platform.
#[derive(Clone)]
pub struct FakeAgent {
    pub base: String,
    inner: Arc<Inner>,
}

/// Verifies `t=<unix>,v1=<hex>` over `t.body` with [`SECRET`].
pub fn verifies(header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = Some(x),
            Some(("v1", x)) => v1 = Some(x),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let Ok(expected) = hex::decode(v1) else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

async fn webhook(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let signature_ok = verifies(&header("merchant-signature"), &body);
    let status = StatusCode::from_u16(inner.status.load(Ordering::SeqCst)).unwrap();
    if status.is_success() {
        inner.webhooks.lock().unwrap().push(Received {
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            request_id: header("request-id"),
            signature_ok,
        });
    }
    status
}

async fn feed(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let status = StatusCode::from_u16(inner.status.load(Ordering::SeqCst)).unwrap();
    if status.is_success() {
        inner.feed.lock().unwrap().push(FeedPush {
            feed_id: id,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(String::from),
        });
    }
    status
}

impl FakeAgent {
    /// Starts one on a random port, answering 200.
    pub async fn start() -> FakeAgent {
        let inner = Arc::new(Inner::default());
        inner.status.store(200, Ordering::SeqCst);
        let app = Router::new()
            .route("/acp/webhooks", post(webhook))
            .route("/feeds/{id}/products", patch(feed))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeAgent { base, inner }
    }

    pub fn webhook_url(&self) -> String {
        format!("{}/acp/webhooks", self.base)
    }

    pub fn feed_url(&self) -> String {
        format!("{}/feeds/feed_test", self.base)
    }

    /// What to answer from now on.
    pub fn answer(&self, status: u16) {
        self.inner.status.store(status, Ordering::SeqCst);
    }

    pub fn webhooks(&self) -> Vec<Received> {
        self.inner.webhooks.lock().unwrap().clone()
    }

    pub fn feed_pushes(&self) -> Vec<FeedPush> {
        self.inner.feed.lock().unwrap().clone()
    }
}

/// Violations of `value` against definition `def` of a vendored ACP schema
/// bundle (`schema.agentic_checkout.json` or `schema.feed.json`).
pub fn schema_errors(bundle: &str, def: &str, value: &Value) -> Vec<String> {
    let schema: Value = match bundle {
        "checkout" => {
            serde_json::from_str(include_str!("../fixtures/acp/schema.agentic_checkout.json"))
                .unwrap()
        }
        _ => serde_json::from_str(include_str!("../fixtures/acp/schema.feed.json")).unwrap(),
    };
    let wrapper = serde_json::json!({ "$schema": schema["$schema"], "$ref": format!("#/$defs/{def}"), "$defs": schema["$defs"] });
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&wrapper)
        .unwrap();
    validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

impl crate::helpers::TestApp {
    /// The demo merchant's id.
    pub fn merchant_id(&self) -> anycart_core::MerchantId {
        self.demo.merchant_id.to_string().parse().unwrap()
    }

    /// Registers an agent platform (secret key); the reply has its `api_key`.
    pub async fn register_agent(&self, body: Value) -> crate::helpers::Reply {
        self.admin(reqwest::Method::POST, "/agent_platforms", Some(body))
            .await
    }

    /// Registers a platform posting webhooks to `fake` and returns its id and key.
    pub async fn agent_for(&self, fake: &FakeAgent, name: &str, verify: bool) -> (String, String) {
        let r = self
            .register_agent(serde_json::json!({
                "name": name,
                "webhook_url": fake.webhook_url(),
                "signing_secret": SECRET,
                "verify_signatures": verify,
            }))
            .await;
        assert_eq!(r.status, reqwest::StatusCode::CREATED, "{:#}", r.body);
        (
            r.body["id"].as_str().unwrap().to_string(),
            r.body["api_key"].as_str().unwrap().to_string(),
        )
    }

    /// Runs the outbox worker once, now.
    pub async fn deliver(&self) -> anycart_connectors::delivery::DeliveryReport {
        anycart_connectors::delivery::deliver_due(&self.state.store, self.state.now_ms())
            .await
            .unwrap()
    }

    /// A completed order bought with `key` (sandbox card), its session reply.
    pub async fn buy_with(&self, key: &str, sku: &str, extra: Value) -> crate::helpers::Reply {
        let mut body = serde_json::json!({
            "currency": "usd",
            "line_items": [{"id": self.variant(sku), "quantity": 1}],
            "capabilities": {"interventions": {"supported": ["3ds"]}},
            "buyer": {"email": "agent-buyer@example.com", "first_name": "Ada"},
            "fulfillment_details": {"name": "Ada Lovelace", "address": crate::helpers::address("US", "CA")},
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let created = self
            .post_with(
                "/checkout_sessions",
                body,
                key,
                &uuid::Uuid::now_v7().to_string(),
            )
            .await;
        assert_eq!(
            created.status,
            reqwest::StatusCode::CREATED,
            "{:#}",
            created.body
        );
        let id = created.body["id"].as_str().unwrap();
        let paid = self
            .post_with(
                &format!("/checkout_sessions/{id}/complete"),
                crate::helpers::payment("tok_visa"),
                key,
                &uuid::Uuid::now_v7().to_string(),
            )
            .await;
        assert_eq!(paid.body["status"], "completed", "{:#}", paid.body);
        paid
    }
}
