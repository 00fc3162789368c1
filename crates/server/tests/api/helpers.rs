//! `spawn_app` and friends (after zero2prod's `tests/api/helpers.rs`).

use anycart_checkout::clock::ManualClock;
use anycart_checkout::demo::{self, DemoInfo};
use anycart_checkout::inventory::InventoryEngine;
use anycart_checkout::{CheckoutConfig, CheckoutService, HoldMode};
use anycart_payments::PaymentProvider;
use anycart_payments::sandbox::SandboxProvider;
use anycart_server::state::{AppState, ServerConfig};
use anycart_store::Store;
use anycart_store::testing::fresh_postgres_url;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};

pub const API_VERSION: &str = "2026-04-17";

/// A running server with the demo merchant seeded.
pub struct TestApp {
    pub backend: &'static str,
    pub base: String,
    pub demo: DemoInfo,
    pub client: reqwest::Client,
    pub clock: ManualClock,
    pub state: AppState,
    pub sandbox: Option<Arc<SandboxProvider>>,
    /// The database it serves (another node can be started on it).
    pub database_url: String,
    _dir: Option<tempfile::TempDir>,
}

/// One app per available backend: SQLite always, PostgreSQL when configured.
pub async fn apps() -> Vec<TestApp> {
    apps_configured(|s| s).await
}

/// One app per available backend, its state changed by `configure` before it
/// serves (e.g. the UCP door's settings).
pub async fn apps_configured(configure: impl Fn(AppState) -> AppState) -> Vec<TestApp> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let mut out =
        vec![spawn_on("sqlite", &url, None, Some(dir), Limits::Lenient, &configure).await];
    if let Some(url) = fresh_postgres_url().await {
        out.push(spawn_on("postgres", &url, None, None, Limits::Lenient, &configure).await);
    }
    out
}

/// One app per available backend, each with its own payment provider from `make`.
pub async fn apps_with(make: impl Fn() -> Arc<dyn PaymentProvider>) -> Vec<TestApp> {
    let mut out = vec![spawn_sqlite(Some(make())).await];
    if let Some(url) = fresh_postgres_url().await {
        out.push(
            spawn_on(
                "postgres",
                &url,
                Some(make()),
                None,
                Limits::Lenient,
                &|s| s,
            )
            .await,
        );
    }
    out
}

/// An app on a fresh SQLite file, optionally with a custom payment provider.
pub async fn spawn_sqlite(payments: Option<Arc<dyn PaymentProvider>>) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    spawn_on("sqlite", &url, payments, Some(dir), Limits::Lenient, &|s| s).await
}

/// Whether test apps hold stock through the inventory engine, or (with
/// `ANYCART_TEST_HOLD_MODE=per_request`, the benchmark's naive baseline, which
/// `scripts/test` runs some tests on too) inside each session write.
pub fn engine_holds() -> bool {
    std::env::var("ANYCART_TEST_HOLD_MODE").as_deref() != Ok("per_request")
}

/// Which per-client limits an app runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limits {
    /// Out of the way: every test request comes from one address and key, and
    /// most tests are not about limits.
    Lenient,
    /// The production defaults, with clients told apart by `X-Forwarded-For`
    /// (as behind a trusted proxy): for the tests of hostile traffic.
    Production,
}

/// Two nodes per available backend sharing one database (each its own store,
/// service and caches), the demo merchant seeded once.
pub async fn two_nodes() -> Vec<(TestApp, TestApp)> {
    let mut out = Vec::new();
    for first in apps().await {
        let second = spawn_node(
            first.backend,
            &first.database_url,
            None,
            None,
            Limits::Lenient,
            &|s| s,
            Some(first.demo.clone()),
        )
        .await;
        out.push((first, second));
    }
    out
}

/// One app per available backend with production limits (see [`Limits`]).
pub async fn guarded_apps() -> Vec<TestApp> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let mut out = vec![spawn_on("sqlite", &url, None, Some(dir), Limits::Production, &|s| s).await];
    if let Some(url) = fresh_postgres_url().await {
        out.push(spawn_on("postgres", &url, None, None, Limits::Production, &|s| s).await);
    }
    out
}

async fn spawn_on(
    backend: &'static str,
    url: &str,
    payments: Option<Arc<dyn PaymentProvider>>,
    dir: Option<tempfile::TempDir>,
    limits: Limits,
    configure: &dyn Fn(AppState) -> AppState,
) -> TestApp {
    spawn_node(backend, url, payments, dir, limits, configure, None).await
}

/// An app on `url`; the demo is seeded unless `seeded` says it already is.
async fn spawn_node(
    backend: &'static str,
    url: &str,
    payments: Option<Arc<dyn PaymentProvider>>,
    dir: Option<tempfile::TempDir>,
    limits: Limits,
    configure: &dyn Fn(AppState) -> AppState,
    seeded: Option<DemoInfo>,
) -> TestApp {
    let store = Store::open(url).await.expect("open store");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let clock = ManualClock::new();
    let sandbox = Arc::new(SandboxProvider::new());
    let (payments, sandbox) = match payments {
        Some(p) => (p, None),
        None => (sandbox.clone() as Arc<dyn PaymentProvider>, Some(sandbox)),
    };
    let clock_dyn: Arc<dyn anycart_checkout::clock::Clock> = Arc::new(clock.clone());
    let holds = if engine_holds() {
        HoldMode::Engine(InventoryEngine::start(store.clone(), clock_dyn.clone()))
    } else {
        HoldMode::PerRequest
    };
    // No background sweeps: tests drive expiry with `sweep_once` and the manual clock.
    let lenient = anycart_checkout::throttle::Rate {
        per_minute: 100_000,
        burst: 100_000,
    };
    let config = CheckoutConfig {
        sweep_interval_ms: 3_600_000,
        throttles: match limits {
            Limits::Lenient => anycart_checkout::throttle::ThrottleConfig {
                create: lenient,
                complete: lenient,
                sign_in_codes: lenient,
                declines_max: 100_000,
                ..Default::default()
            },
            Limits::Production => Default::default(),
        },
        ..CheckoutConfig::default()
    };
    let checkout = CheckoutService::new(store.clone(), payments, clock_dyn, config, holds);
    let state = configure(AppState::new(
        checkout,
        ServerConfig {
            base_url: base.clone(),
            client_ip_header: (limits == Limits::Production).then(|| "X-Forwarded-For".into()),
            ..ServerConfig::default()
        },
    ));
    let demo = match seeded {
        Some(demo) => demo,
        None => demo::seed(
            &store,
            &base,
            anycart_checkout::clock::Clock::now_ms(&clock),
        )
        .await
        .expect("seed demo"),
    };
    let router = anycart_server::app(state.clone());
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    TestApp {
        backend,
        base,
        demo,
        client: reqwest::Client::new(),
        clock,
        state,
        sandbox,
        database_url: url.to_string(),
        _dir: dir,
    }
}

/// An HTTP response, decoded.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: HeaderMap,
}

fn validator(def: &str) -> &'static jsonschema::Validator {
    static VALIDATORS: OnceLock<std::collections::HashMap<&'static str, jsonschema::Validator>> =
        OnceLock::new();
    let all = VALIDATORS.get_or_init(|| {
        let schema: Value = serde_json::from_str(include_str!("../fixtures/acp/schema.agentic_checkout.json")).unwrap();
        ["CheckoutSession", "CheckoutSessionWithOrder", "Error"]
            .into_iter()
            .map(|d| {
                let wrapper = json!({ "$schema": schema["$schema"], "$ref": format!("#/$defs/{d}"), "$defs": schema["$defs"] });
                (d, jsonschema::options().should_validate_formats(true).build(&wrapper).unwrap())
            })
            .collect()
    });
    &all[def]
}

/// Asserts that a checkout API response body validates against the ACP schema
/// (`CheckoutSessionWithOrder` once an order exists, `Error` for 4xx/5xx).
pub fn assert_acp_shape(reply: &Reply) {
    let def = if !reply.status.is_success() {
        "Error"
    } else if reply.body.get("order").is_some() {
        "CheckoutSessionWithOrder"
    } else {
        "CheckoutSession"
    };
    let errors: Vec<String> = validator(def)
        .iter_errors(&reply.body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{def} schema violations: {errors:#?}\nbody: {:#}",
        reply.body
    );
}

impl TestApp {
    pub fn pk(&self) -> &str {
        &self.demo.publishable_key
    }
    pub fn sk(&self) -> &str {
        &self.demo.secret_key
    }
    /// A demo variant by SKU.
    pub fn variant(&self, sku: &str) -> String {
        self.demo
            .variants
            .iter()
            .find(|v| v.sku == sku)
            .unwrap_or_else(|| panic!("no demo sku {sku}"))
            .id
            .clone()
    }

    async fn send(&self, req: reqwest::RequestBuilder, acp: bool) -> Reply {
        let r = req.send().await.expect("request");
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        let reply = Reply {
            status,
            body,
            headers,
        };
        if acp {
            assert_acp_shape(&reply);
        }
        reply
    }

    /// POST to the checkout API with a fresh idempotency key and the publishable key.
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.post_with(path, body, self.pk(), &uuid::Uuid::now_v7().to_string())
            .await
    }

    /// POST to the checkout API with a given key and idempotency key.
    pub async fn post_with(
        &self,
        path: &str,
        body: Value,
        key: &str,
        idempotency_key: &str,
    ) -> Reply {
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(key)
            .header("API-Version", API_VERSION)
            .header("Idempotency-Key", idempotency_key)
            .json(&body);
        self.send(req, true).await
    }

    /// Any request to the checkout API, headers chosen by the caller (shape still checked).
    pub async fn raw(&self, req: reqwest::RequestBuilder) -> Reply {
        self.send(req, true).await
    }

    /// GET on the checkout API.
    pub async fn get(&self, path: &str) -> Reply {
        let req = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(self.pk())
            .header("API-Version", API_VERSION);
        self.send(req, true).await
    }

    /// A call to the admin API with the secret key.
    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
        let mut req = self
            .client
            .request(method, format!("{}/v1{path}", self.base))
            .bearer_auth(self.sk());
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req, false).await
    }

    /// Live availability of a variant (sum over locations), from the admin API.
    pub async fn available(&self, variant: &str) -> i64 {
        let products = self
            .admin(reqwest::Method::GET, "/products?limit=100", None)
            .await;
        products.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["variants"].as_array().unwrap().clone())
            .find(|v| v["id"] == variant)
            .map(|v| v["available"].as_i64().unwrap())
            .expect("variant listed")
    }

    /// Creates a session for `qty` of `variant` with buyer and a Californian address.
    pub async fn ready_session(&self, variant: &str, qty: i64) -> Reply {
        self.post(
            "/checkout_sessions",
            json!({
                "currency": "usd",
                "line_items": [{"id": variant, "quantity": qty}],
                "capabilities": {"interventions": {"supported": ["3ds"]}},
                "buyer": {"email": "shopper@example.com", "first_name": "Sam"},
                "fulfillment_details": {"name": "Sam Shopper", "address": address("US", "CA")},
            }),
        )
        .await
    }

    /// Completes a session with a sandbox token.
    pub async fn pay(&self, session: &str, token: &str) -> Reply {
        self.post(
            &format!("/checkout_sessions/{session}/complete"),
            payment(token),
        )
        .await
    }
}

/// An ACP address in a given country/region.
pub fn address(country: &str, state: &str) -> Value {
    json!({"name": "Sam Shopper", "line_one": "1 Market St", "city": "San Francisco", "state": state, "country": country, "postal_code": "94105"})
}

/// ACP `payment_data` for a sandbox token.
pub fn payment(token: &str) -> Value {
    json!({"payment_data": {"handler_id": "card_sandbox", "instrument": {"type": "card", "credential": {"type": "spt", "token": token}}}})
}

/// The codes of a session's messages.
pub fn message_codes(body: &Value) -> Vec<String> {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["code"].as_str().unwrap_or("").to_string())
        .collect()
}

/// The amount of one cart-level total.
pub fn total(body: &Value, kind: &str) -> i64 {
    body["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == kind)
        .map(|t| t["amount"].as_i64().unwrap())
        .unwrap_or(0)
}
