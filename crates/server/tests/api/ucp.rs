//! The UCP REST binding: discovery, versions, access modes, idempotency, the
//! one stock pool and order flow, order webhooks (signed, retried, dead-lettered),
//! and orders. The official conformance suite (`scripts/ucp-conformance`) covers
//! the 2026-01-11 wire in depth; these tests cover what it does not.

use crate::helpers::{TestApp, apps_configured};
use anycart_checkout::ucp::keys::{self, SigningKey};
use anycart_checkout::ucp::{DoorSettings, UcpAccess, signatures};
use anycart_core::{MerchantId, OrderId};
use anycart_server::routes::ucp::UcpSettings;
use anycart_store::{OutboxState, UcpWebhookState};
use axum::routing::{get, post};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// An answer from the UCP door.
struct Answer {
    status: StatusCode,
    body: Value,
    headers: reqwest::header::HeaderMap,
}

/// What an agent's webhook endpoint received.
#[derive(Clone, Debug)]
struct Delivery {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Delivery {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A fake agent: its profile (with a signing key and a webhook URL) and the
/// webhook endpoint, which records deliveries and answers `hook_status`.
struct Agent {
    base: String,
    key: SigningKey,
    profile: Arc<Mutex<Value>>,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
    hook_status: Arc<Mutex<u16>>,
}

impl Agent {
    async fn start(version: &str) -> Agent {
        let (kid, pkcs8) = keys::generate(0).unwrap();
        let key = SigningKey::from_pkcs8_base64(&kid, &pkcs8).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let profile = Arc::new(Mutex::new(json!({
            "ucp": {
                "version": version,
                "capabilities": [{
                    "name": "dev.ucp.shopping.order",
                    "version": version,
                    "config": {"webhook_url": format!("{base}/hook")}
                }]
            },
            "signing_keys": [key.jwk()],
        })));
        let deliveries = Arc::new(Mutex::new(vec![]));
        let hook_status = Arc::new(Mutex::new(200u16));
        let (p, d, s) = (profile.clone(), deliveries.clone(), hook_status.clone());
        let router = axum::Router::new()
            .route(
                "/profile.json",
                get(move || {
                    let p = p.clone();
                    async move { axum::Json(p.lock().unwrap().clone()) }
                }),
            )
            .route(
                "/hook",
                post(
                    move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                        let (d, s) = (d.clone(), s.clone());
                        async move {
                            let status = *s.lock().unwrap();
                            if status == 200 {
                                d.lock().unwrap().push(Delivery {
                                    headers: headers
                                        .iter()
                                        .map(|(n, v)| {
                                            (
                                                n.as_str().to_string(),
                                                v.to_str().unwrap_or("").to_string(),
                                            )
                                        })
                                        .collect(),
                                    body: body.to_vec(),
                                });
                            }
                            axum::http::StatusCode::from_u16(status).unwrap()
                        }
                    },
                ),
            )
            .route("/broken.json", get(|| async { "not json" }));
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Agent {
            base,
            key,
            profile,
            deliveries,
            hook_status,
        }
    }

    fn profile_url(&self) -> String {
        format!("{}/profile.json", self.base)
    }

    fn header(&self) -> String {
        format!("profile=\"{}\"", self.profile_url())
    }

    async fn deliveries_of(&self, event: &str, wanted: usize) -> Vec<Delivery> {
        for _ in 0..100 {
            let got: Vec<Delivery> = self
                .deliveries
                .lock()
                .unwrap()
                .iter()
                .filter(|d| d.json()["event_type"] == event || d.json().get("event_type").is_none())
                .cloned()
                .collect();
            if got.len() >= wanted {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no {event} webhook arrived");
    }
}

/// The demo merchant's apps with a UCP door open in `access` mode.
async fn ucp_apps(access: UcpAccess, test_mode: bool) -> Vec<TestApp> {
    let settings = UcpSettings {
        test_mode,
        simulation_secret: Some("sim-secret-123".to_string().into()),
        root_merchant: None,
    };
    let apps = apps_configured(move |s| s.with_ucp(settings.clone())).await;
    for app in &apps {
        app.state
            .checkout
            .configure_ucp_door(merchant(app), true, access, &DoorSettings::default())
            .await
            .unwrap();
    }
    apps
}

fn merchant(app: &TestApp) -> MerchantId {
    MerchantId::parse(&app.demo.merchant_id).unwrap()
}

fn endpoint(app: &TestApp) -> String {
    format!("{}/ucp/{}", app.base, app.demo.merchant_id)
}

/// A request to the door as an agent naming its version in `UCP-Agent`.
async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    agent: &str,
    body: Option<Value>,
    extra: &[(&str, &str)],
) -> Answer {
    let mut req = app
        .client
        .request(method, format!("{}{path}", endpoint(app)))
        .header("UCP-Agent", agent);
    for (n, v) in extra {
        req = req.header(*n, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    Answer {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

/// Reads UCP's JSON schemas of one version from the specification beside the
/// repository (`../shared/specs/ucp/<version>/source`).
struct SpecFiles(std::path::PathBuf);

impl jsonschema::Retrieve for SpecFiles {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let rel = uri
            .as_str()
            .strip_prefix("https://ucp.dev/")
            .ok_or("not a UCP schema")?;
        let rel = rel.split('#').next().unwrap_or(rel);
        Ok(serde_json::from_str(&std::fs::read_to_string(
            self.0.join(rel),
        )?)?)
    }
}

/// Asserts that `body` validates against `defs` (e.g.
/// `schemas/shopping/order.json`) of UCP `version`. Skipped where the
/// specification is not beside the repository.
fn assert_ucp_shape(version: &str, defs: &[&str], body: &Value) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/specs/ucp")
        .join(version)
        .join("source");
    if !root.exists() {
        return;
    }
    for def in defs {
        let schema = json!({ "$ref": format!("https://ucp.dev/{def}") });
        let validator = jsonschema::options()
            .with_retriever(SpecFiles(root.clone()))
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("{version} {def}: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{version} {def}: {errors:#?}\n{body:#}");
    }
}

/// A checkout with its extensions, in `version`'s schemas.
fn assert_checkout_shape(version: &str, body: &Value) {
    let ext = |name: &str| match version {
        "2026-01-11" => format!("schemas/shopping/{name}.json#/$defs/checkout"),
        _ => format!("schemas/shopping/{name}.json#/$defs/dev.ucp.shopping.checkout"),
    };
    let defs = [ext("fulfillment"), ext("discount"), ext("buyer_consent")];
    let defs: Vec<&str> = defs.iter().map(String::as_str).collect();
    assert_ucp_shape(version, &defs, body);
}

const V_OLD: &str = r#"profile="https://agent.example/p.json"; version="2026-01-11""#;
const V_NEW: &str = r#"profile="https://agent.example/p.json"; version="2026-04-08""#;

/// A checkout of one tee shipped to California, buyer known.
fn create_body(destination_country: &str) -> Value {
    json!({
        "currency": "USD",
        "line_items": [{"item": {"id": "TEE-TRAIL-S"}, "quantity": 1}],
        "buyer": {"email": "sam@example.com", "first_name": "Sam", "last_name": "Doe"},
        "fulfillment": {"methods": [{
            "type": "shipping",
            "destinations": [{"id": "home", "full_name": "Sam Doe", "street_address": "1 Market St",
                "address_locality": "San Francisco", "address_region": "CA", "postal_code": "94105",
                "address_country": destination_country}],
            "selected_destination_id": "home"
        }]}
    })
}

fn total(body: &Value, kind: &str) -> Option<i64> {
    body["totals"]
        .as_array()?
        .iter()
        .find(|t| t["type"] == kind)
        .and_then(|t| t["amount"].as_i64())
}

fn sandbox_payment(token: &str) -> Value {
    json!({"payment_data": {"id": "pi_1", "handler_id": "card_sandbox", "type": "card",
        "brand": "visa", "last_digits": "4242", "credential": {"type": "token", "token": token}}})
}

#[tokio::test]
async fn discovery_serves_2026_01_11_and_points_to_2026_04_08() {
    for app in ucp_apps(UcpAccess::Signed, false).await {
        let profile = call(
            &app,
            reqwest::Method::GET,
            "/.well-known/ucp",
            "",
            None,
            &[],
        )
        .await;
        assert_eq!(profile.status, StatusCode::OK, "{}", app.backend);
        let b = &profile.body;
        assert_eq!(b["ucp"]["version"], "2026-01-11");
        assert_eq!(
            b["ucp"]["services"]["dev.ucp.shopping"]["rest"]["endpoint"],
            endpoint(&app)
        );
        let names: Vec<&str> = b["ucp"]["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"dev.ucp.shopping.checkout")
                && names.contains(&"dev.ucp.shopping.order")
        );
        assert_eq!(b["payment"]["handlers"][0]["id"], "card_sandbox");
        assert_eq!(b["signing_keys"][0]["crv"], "P-256");
        let newer = b["ucp"]["supported_versions"]["2026-04-08"]
            .as_str()
            .unwrap();
        assert!(
            profile.headers["cache-control"]
                .to_str()
                .unwrap()
                .contains("public")
        );
        // The 2026-04-08 profile is map-shaped, and a leaf.
        let leaf = app
            .client
            .get(newer)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        assert_eq!(leaf["ucp"]["version"], "2026-04-08");
        assert_eq!(
            leaf["ucp"]["services"]["dev.ucp.shopping"][0]["transport"],
            "rest"
        );
        assert!(leaf["ucp"]["capabilities"]["dev.ucp.shopping.fulfillment"].is_array());
        assert!(leaf["ucp"]["payment_handlers"]["dev.anycart.sandbox"][0]["id"] == "card_sandbox");
        assert!(leaf["ucp"].get("supported_versions").is_none());
        // No test handlers outside the conformance mode.
        assert_eq!(b["payment"]["handlers"].as_array().unwrap().len(), 1);
        // Closed doors and unknown merchants are not found.
        app.state
            .checkout
            .configure_ucp_door(
                merchant(&app),
                false,
                UcpAccess::Open,
                &DoorSettings::default(),
            )
            .await
            .unwrap();
        let closed = call(
            &app,
            reqwest::Method::GET,
            "/.well-known/ucp",
            "",
            None,
            &[],
        )
        .await;
        assert_eq!(closed.status, StatusCode::NOT_FOUND);
        let root = app
            .client
            .get(format!("{}/.well-known/ucp", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            root.status(),
            StatusCode::NOT_FOUND,
            "no root merchant configured"
        );
    }
}

#[tokio::test]
async fn a_ucp_sale_holds_from_the_shared_pool_and_flows_through_the_outbox() {
    for app in ucp_apps(UcpAccess::Open, false).await {
        let tee = app.variant("TEE-TRAIL-S");
        let before = app.available(&tee).await;
        let created = call(
            &app,
            reqwest::Method::POST,
            "/checkout-sessions",
            V_OLD,
            Some(create_body("US")),
            &[],
        )
        .await;
        assert_eq!(
            created.status,
            StatusCode::CREATED,
            "{}: {:#}",
            app.backend,
            created.body
        );
        let c = &created.body;
        assert_checkout_shape("2026-01-11", c);
        assert_eq!(c["status"], "ready_for_complete", "{c:#}");
        assert_eq!(
            c["line_items"][0]["item"]["id"], "TEE-TRAIL-S",
            "the id the agent used"
        );
        assert_eq!(c["currency"], "USD");
        // Held in the one pool every door sells from.
        assert_eq!(app.available(&tee).await, before - 1);
        let group = &c["fulfillment"]["methods"][0]["groups"][0];
        assert!(group["options"].as_array().unwrap().len() >= 2);
        assert!(
            group["selected_option_id"].is_string(),
            "the cheapest is preselected"
        );
        assert!(total(c, "tax").unwrap() > 0, "California tax");
        let id = c["id"].as_str().unwrap();
        let paid = call(
            &app,
            reqwest::Method::POST,
            &format!("/checkout-sessions/{id}/complete"),
            V_OLD,
            Some(sandbox_payment("tok_visa")),
            &[],
        )
        .await;
        assert_eq!(paid.status, StatusCode::OK, "{:#}", paid.body);
        assert_checkout_shape("2026-01-11", &paid.body);
        assert_eq!(paid.body["status"], "completed");
        let order_id = paid.body["order"]["id"].as_str().unwrap();
        assert!(
            paid.body["order"]["permalink_url"]
                .as_str()
                .unwrap()
                .contains("/orders/")
        );
        // The same order flow: anycart's order, and its outbox item for the platform.
        let order = OrderId::parse(order_id).unwrap();
        let delivery = app
            .state
            .store
            .order_delivery(merchant(&app), order)
            .await
            .unwrap();
        assert!(
            delivery.is_some(),
            "the platform hears of a UCP order like any other"
        );
        assert_eq!(app.available(&tee).await, before - 1, "sold, not released");
        // The channel and the agent are recorded on the order.
        let recorded = app
            .admin(
                reqwest::Method::GET,
                &format!("/ucp/orders/{order_id}"),
                None,
            )
            .await;
        assert_eq!(recorded.status, StatusCode::OK, "{:#}", recorded.body);
        assert_eq!(recorded.body["channel"], "ucp");
        assert_eq!(
            recorded.body["agent_profile"],
            "https://agent.example/p.json"
        );
        // …and on anycart's own order, as for every other channel.
        let view = app.order_view(order_id).await;
        assert_eq!(view["attribution"]["channel"], "agent");
        assert_eq!(
            view["attribution"]["agent"],
            json!({"protocol": "ucp", "name": "https://agent.example/p.json"})
        );
        // Completing again is refused; cancelling a completed checkout too.
        let again = call(
            &app,
            reqwest::Method::POST,
            &format!("/checkout-sessions/{id}/complete"),
            V_OLD,
            Some(sandbox_payment("tok_visa")),
            &[],
        )
        .await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert_eq!(again.body["code"], "checkout_not_modifiable");
        let cancel = call(
            &app,
            reqwest::Method::POST,
            &format!("/checkout-sessions/{id}/cancel"),
            V_OLD,
            None,
            &[],
        )
        .await;
        assert_eq!(cancel.status, StatusCode::CONFLICT);
        // The order, as the agent that placed it reads it.
        let read = call(
            &app,
            reqwest::Method::GET,
            &format!("/orders/{order_id}"),
            V_OLD,
            None,
            &[],
        )
        .await;
        assert_eq!(read.status, StatusCode::OK);
        assert_ucp_shape("2026-01-11", &["schemas/shopping/order.json"], &read.body);
        assert_eq!(read.body["checkout_id"], id);
        assert_eq!(
            read.body["fulfillment"]["expectations"][0]["destination"]["street_address"],
            "1 Market St"
        );
        // Another agent does not see it.
        let other = call(
            &app,
            reqwest::Method::GET,
            &format!("/orders/{order_id}"),
            r#"profile="https://other.example/p.json"; version="2026-01-11""#,
            None,
            &[],
        )
        .await;
        assert_eq!(other.status, StatusCode::NOT_FOUND);
        let _ = OutboxState::Pending;
    }
}

#[tokio::test]
async fn versions_are_chosen_by_the_agent_and_unknown_ones_refused() {
    for app in ucp_apps(UcpAccess::Open, false).await {
        let unknown = call(
            &app,
            reqwest::Method::POST,
            "/checkout-sessions",
            r#"profile="https://a.example/p"; version="2099-01-01""#,
            Some(create_body("US")),
            &[],
        )
        .await;
        assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
        assert_eq!(unknown.body["code"], "version_unsupported");
        assert!(
            unknown.body["detail"]
                .as_str()
                .unwrap()
                .contains("2026-04-08")
        );
        let missing = call(
            &app,
            reqwest::Method::POST,
            "/checkout-sessions",
            "",
            Some(create_body("US")),
            &[],
        )
        .await;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST);
        assert_eq!(missing.body["code"], "invalid_profile_url");
        // No version in the header: the agent's profile says it, and a
        // production door never fetches a profile from a private address.
        let local = call(
            &app,
            reqwest::Method::POST,
            "/checkout-sessions",
            r#"profile="http://127.0.0.1:9/p.json""#,
            Some(create_body("US")),
            &[],
        )
        .await;
        assert_eq!(local.status, StatusCode::BAD_REQUEST);
        assert_eq!(local.body["code"], "invalid_profile_url");

        let mut body = create_body("US");
        body["discounts"] = json!({"codes": ["WELCOME10"]});
        let newer = call(
            &app,
            reqwest::Method::POST,
            "/checkout-sessions",
            V_NEW,
            Some(body),
            &[],
        )
        .await;
        assert_eq!(newer.status, StatusCode::CREATED, "{:#}", newer.body);
        let n = &newer.body;
        assert_checkout_shape("2026-04-08", n);
        assert_eq!(n["ucp"]["version"], "2026-04-08");
        assert_eq!(n["ucp"]["status"], "success");
        assert!(n["ucp"]["capabilities"]["dev.ucp.shopping.checkout"].is_array());
        assert!(n["ucp"]["payment_handlers"]["dev.anycart.sandbox"].is_array());
        assert!(n.get("payment").is_none());
        assert!(
            total(n, "items_discount").unwrap() < 0,
            "discounts are negative in 2026-04-08"
        );
        assert_eq!(n["discounts"]["applied"][0]["code"], "WELCOME10");
        // The same checkout read by a 2026-01-11 agent.
        let id = n["id"].as_str().unwrap();
        let old = call(
            &app,
            reqwest::Method::GET,
            &format!("/checkout-sessions/{id}"),
            V_OLD,
            None,
            &[],
        )
        .await;
        assert!(total(&old.body, "items_discount").unwrap() > 0);
        assert!(old.body["payment"]["handlers"].is_array());

        // 2026-04-08 answers business outcomes with 200s: a declined card is a
        // checkout with a message, where 2026-01-11 answers 402.
        let declined = call(
            &app,
            reqwest::Method::POST,
            &format!("/checkout-sessions/{id}/complete"),
            V_NEW,
            Some(sandbox_payment("tok_chargeDeclined")),
            &[],
        )
        .await;
        assert_eq!(declined.status, StatusCode::OK, "{:#}", declined.body);
        assert_checkout_shape("2026-04-08", &declined.body);
        assert_eq!(declined.body["status"], "ready_for_complete");
        assert!(
            declined.body["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["code"] == "payment_declined")
        );
        let old_decline = call(
            &app,
            reqwest::Method::POST,
            &format!("/checkout-sessions/{id}/complete"),
            V_OLD,
            Some(sandbox_payment("tok_chargeDeclined")),
            &[],
        )
        .await;
        assert_eq!(
            old_decline.status,
            StatusCode::PAYMENT_REQUIRED,
            "{:#}",
            old_decline.body
        );
        assert_eq!(old_decline.body["messages"][0]["type"], "error");
        // Out of stock: 400 for 2026-01-11; a checkout with an error for 2026-04-08.
        let mut greedy = create_body("US");
        greedy["line_items"][0]["quantity"] = json!(500);
        let refused = call(
            &app,
            reqwest::Method::POST,
            "/checkout-sessions",
            V_OLD,
            Some(greedy.clone()),
            &[],
        )
        .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(
            refused.body["detail"]
                .as_str()
                .unwrap()
                .contains("Insufficient stock")
        );
        let incomplete = call(
            &app,
            reqwest::Method::POST,
            "/checkout-sessions",
            V_NEW,
            Some(greedy),
            &[],
        )
        .await;
        assert_eq!(incomplete.status, StatusCode::CREATED);
        assert_eq!(incomplete.body["status"], "incomplete");
        let unknown_item = call(
            &app,
            reqwest::Method::POST,
            "/checkout-sessions",
            V_NEW,
            Some(json!({"line_items": [{"item": {"id": "NOPE"}, "quantity": 1}]})),
            &[],
        )
        .await;
        assert_eq!(unknown_item.status, StatusCode::OK);
        assert_eq!(unknown_item.body["ucp"]["status"], "error");
    }
}

#[tokio::test]
async fn idempotency_keys_replay_and_refuse_another_body() {
    for app in ucp_apps(UcpAccess::Open, false).await {
        let key = [("Idempotency-Key", "k-create-1")];
        let first = call(
            &app,
            reqwest::Method::POST,
            "/checkout-sessions",
            V_OLD,
            Some(create_body("US")),
            &key,
        )
        .await;
        let again = call(
            &app,
            reqwest::Method::POST,
            "/checkout-sessions",
            V_OLD,
            Some(create_body("US")),
            &key,
        )
        .await;
        assert_eq!(first.status, StatusCode::CREATED);
        assert_eq!(again.status, StatusCode::CREATED);
        assert_eq!(first.body, again.body);
        assert_eq!(again.headers["idempotent-replayed"], "true");
        let other = call(
            &app,
            reqwest::Method::POST,
            "/checkout-sessions",
            V_OLD,
            Some(create_body("CA")),
            &key,
        )
        .await;
        assert_eq!(other.status, StatusCode::CONFLICT);
        assert_eq!(other.body["code"], "idempotency_key_reused");
        // Without a key (UCP makes it optional) each request runs.
        let a = call(
            &app,
            reqwest::Method::POST,
            "/checkout-sessions",
            V_OLD,
            Some(create_body("US")),
            &[],
        )
        .await;
        let b = call(
            &app,
            reqwest::Method::POST,
            "/checkout-sessions",
            V_OLD,
            Some(create_body("US")),
            &[],
        )
        .await;
        assert_ne!(a.body["id"], b.body["id"]);
        // Another door's checkout is not this door's to show.
        let acp = app.ready_session(&app.variant("TEE-TRAIL-S"), 1).await;
        let acp_id = acp.body["id"].as_str().unwrap();
        let hidden = call(
            &app,
            reqwest::Method::GET,
            &format!("/checkout-sessions/{acp_id}"),
            V_OLD,
            None,
            &[],
        )
        .await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND);
        // An update keeps what it omits.
        let id = a.body["id"].as_str().unwrap();
        let updated = call(
            &app,
            reqwest::Method::PUT,
            &format!("/checkout-sessions/{id}"),
            V_OLD,
            Some(json!({"id": id, "line_items": [{"item": {"id": "TEE-TRAIL-S"}, "quantity": 2}]})),
            &[],
        )
        .await;
        assert_eq!(updated.status, StatusCode::OK, "{:#}", updated.body);
        assert_eq!(updated.body["line_items"][0]["quantity"], 2);
        assert_eq!(updated.body["buyer"]["email"], "sam@example.com");
        assert_eq!(
            updated.body["fulfillment"]["methods"][0]["selected_destination_id"],
            "home"
        );
    }
}

#[tokio::test]
async fn a_keyed_door_wants_the_merchants_key() {
    for app in ucp_apps(UcpAccess::Keyed, false).await {
        let none = call(
            &app,
            reqwest::Method::POST,
            "/checkout-sessions",
            V_OLD,
            Some(create_body("US")),
            &[],
        )
        .await;
        assert_eq!(none.status, StatusCode::UNAUTHORIZED);
        assert!(none.headers.contains_key("www-authenticate"));
        let wrong = call(
            &app,
            reqwest::Method::POST,
            "/checkout-sessions",
            V_OLD,
            Some(create_body("US")),
            &[("X-API-Key", "sk_not_a_key")],
        )
        .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        let bearer = format!("Bearer {}", app.pk());
        let ok = call(
            &app,
            reqwest::Method::POST,
            "/checkout-sessions",
            V_OLD,
            Some(create_body("US")),
            &[("Authorization", &bearer)],
        )
        .await;
        assert_eq!(ok.status, StatusCode::CREATED, "{:#}", ok.body);
        let header = call(
            &app,
            reqwest::Method::POST,
            "/checkout-sessions",
            V_OLD,
            Some(create_body("US")),
            &[("X-API-Key", app.sk())],
        )
        .await;
        assert_eq!(header.status, StatusCode::CREATED);
    }
}

/// Signs a request the way an agent does (RFC 9421 over method, authority,
/// path, content type, `UCP-Agent`, the idempotency key and the body digest).
fn signed_headers(
    key: &SigningKey,
    app: &TestApp,
    method: &str,
    path: &str,
    agent: &str,
    body: &[u8],
) -> Vec<(String, String)> {
    let authority = app.base.trim_start_matches("http://").to_string();
    let full_path = format!("/ucp/{}{path}", app.demo.merchant_id);
    let covered = [
        ("content-type", "application/json"),
        ("ucp-agent", agent),
        ("idempotency-key", "sig-key-1"),
    ];
    let mut out: Vec<(String, String)> = covered
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    for (n, v) in signatures::sign(key, method, &authority, &full_path, &covered, body, 1).unwrap()
    {
        out.push((n.to_string(), v));
    }
    out
}

async fn send_signed(
    app: &TestApp,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Answer {
    let mut req = app
        .client
        .post(format!("{}{path}", endpoint(app)))
        .body(body.to_vec());
    for (n, v) in headers {
        req = req.header(n.as_str(), v.as_str());
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    Answer {
        status,
        headers,
        body: r.json().await.unwrap_or(Value::Null),
    }
}

#[tokio::test]
async fn a_signed_door_verifies_signatures_with_the_agents_keys() {
    // The conformance mode only lets the door fetch a profile from localhost.
    for app in ucp_apps(UcpAccess::Signed, true).await {
        let agent = Agent::start("2026-01-11").await;
        let header = agent.header();
        let body = serde_json::to_vec(&create_body("US")).unwrap();
        let headers = signed_headers(
            &agent.key,
            &app,
            "POST",
            "/checkout-sessions",
            &header,
            &body,
        );
        let ok = send_signed(&app, "/checkout-sessions", &headers, &body).await;
        assert_eq!(
            ok.status,
            StatusCode::CREATED,
            "{}: {:#}",
            app.backend,
            ok.body
        );

        // Unsigned.
        let plain: Vec<(String, String)> = headers
            .iter()
            .filter(|(n, _)| !n.starts_with("signature"))
            .cloned()
            .collect();
        let unsigned = send_signed(&app, "/checkout-sessions", &plain, &body).await;
        assert_eq!(unsigned.status, StatusCode::UNAUTHORIZED);
        assert_eq!(unsigned.body["code"], "signature_missing");
        // Another body under the same signature.
        let tampered = serde_json::to_vec(&create_body("CA")).unwrap();
        let changed = send_signed(&app, "/checkout-sessions", &headers, &tampered).await;
        assert_eq!(changed.status, StatusCode::BAD_REQUEST);
        assert_eq!(changed.body["code"], "digest_mismatch");
        // Forged: signed by a key the agent's profile does not publish.
        let (kid, pkcs8) = keys::generate(0).unwrap();
        let stranger = SigningKey::from_pkcs8_base64(&kid, &pkcs8).unwrap();
        let forged = signed_headers(
            &stranger,
            &app,
            "POST",
            "/checkout-sessions",
            &header,
            &body,
        );
        let refused = send_signed(&app, "/checkout-sessions", &forged, &body).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert_eq!(refused.body["code"], "key_not_found");
        // The forger reuses the agent's key id: the signature does not verify.
        let impostor = SigningKey::from_pkcs8_base64(agent.key.kid(), &pkcs8).unwrap();
        let forged = signed_headers(
            &impostor,
            &app,
            "POST",
            "/checkout-sessions",
            &header,
            &body,
        );
        let refused = send_signed(&app, "/checkout-sessions", &forged, &body).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert_eq!(refused.body["code"], "signature_invalid");
        // Bad profiles: unreachable, not a profile.
        let gone = r#"profile="http://127.0.0.1:9/profile.json""#;
        let headers = signed_headers(&agent.key, &app, "POST", "/checkout-sessions", gone, &body);
        let unreachable = send_signed(&app, "/checkout-sessions", &headers, &body).await;
        assert_eq!(unreachable.status, StatusCode::FAILED_DEPENDENCY);
        assert_eq!(unreachable.body["code"], "profile_unreachable");
        let broken = format!("profile=\"{}/broken.json\"", agent.base);
        let headers = signed_headers(
            &agent.key,
            &app,
            "POST",
            "/checkout-sessions",
            &broken,
            &body,
        );
        let malformed = send_signed(&app, "/checkout-sessions", &headers, &body).await;
        assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(malformed.body["code"], "profile_malformed");
    }
}

/// Pays a conformance-mode checkout with the suite's test handler.
async fn complete_with_agent(app: &TestApp, agent: &Agent) -> (String, String) {
    let header = agent.header();
    let created = call(
        app,
        reqwest::Method::POST,
        "/checkout-sessions",
        &header,
        Some(create_body("US")),
        &[],
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let pay = json!({"payment_data": {"id": "instr_1", "handler_id": "mock_payment_handler", "type": "card",
        "brand": "Visa", "last_digits": "1234", "credential": {"type": "token", "token": "success_token"}}});
    let paid = call(
        app,
        reqwest::Method::POST,
        &format!("/checkout-sessions/{id}/complete"),
        &header,
        Some(pay),
        &[],
    )
    .await;
    assert_eq!(paid.status, StatusCode::OK, "{:#}", paid.body);
    (id, paid.body["order"]["id"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn order_webhooks_are_signed_sent_at_once_and_follow_shipping() {
    for app in ucp_apps(UcpAccess::Open, true).await {
        let agent = Agent::start("2026-01-11").await;
        let (checkout, order) = complete_with_agent(&app, &agent).await;
        let placed = agent.deliveries_of("order_placed", 1).await;
        let hook = &placed[0];
        let body = hook.json();
        assert_ucp_shape("2026-01-11", &["schemas/shopping/order.json"], &body);
        assert_eq!(body["event_type"], "order_placed");
        assert_eq!(body["checkout_id"], checkout.as_str());
        assert_eq!(body["order"]["id"], order.as_str());
        assert_eq!(
            body["id"],
            order.as_str(),
            "the order itself, as UCP's webhook schema has it"
        );
        // Signed with the key the merchant's profile publishes, both ways.
        let profile = call(
            &app,
            reqwest::Method::GET,
            "/.well-known/ucp",
            "",
            None,
            &[],
        )
        .await;
        let jwks = profile.body["signing_keys"].as_array().unwrap().clone();
        let url = url::Url::parse(&format!("{}/hook", agent.base)).unwrap();
        let authority = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
        let lookup = |name: &str| hook.header(name);
        let kid = signatures::verify(
            &signatures::Message {
                method: "POST",
                authority: &authority,
                path: "/hook",
                query: None,
                header: &lookup,
                body: &hook.body,
            },
            &jwks,
        )
        .expect("the webhook's RFC 9421 signature verifies with the merchant's profile");
        assert_eq!(kid, jwks[0]["kid"].as_str().unwrap());
        assert!(
            hook.header("request-signature").unwrap().contains(".."),
            "detached JWS"
        );
        assert_eq!(
            hook.header("webhook-id").unwrap(),
            body["event_id"].as_str().unwrap()
        );
        // The merchant ships: the agent hears order_shipped with the event.
        let shipped = app
            .admin(
                reqwest::Method::POST,
                &format!("/ucp/orders/{order}/events"),
                Some(json!({"type": "shipped", "tracking_number": "1Z999"})),
            )
            .await;
        assert_eq!(shipped.status, StatusCode::OK, "{:#}", shipped.body);
        let shipped = agent.deliveries_of("order_shipped", 1).await;
        let events = &shipped[0].json()["order"]["fulfillment"]["events"];
        assert_eq!(events[0]["type"], "shipped");
        assert_eq!(events[0]["tracking_number"], "1Z999");
        assert_eq!(
            shipped[0].json()["order"]["line_items"][0]["status"],
            "fulfilled"
        );
    }
}

#[tokio::test]
async fn an_unreachable_webhook_is_retried_then_dead_lettered_and_never_blocks_checkout() {
    for app in ucp_apps(UcpAccess::Open, true).await {
        let agent = Agent::start("2026-01-11").await;
        *agent.hook_status.lock().unwrap() = 503;
        let (_, order) = complete_with_agent(&app, &agent).await;
        let order = OrderId::parse(&order).unwrap();
        let m = merchant(&app);
        // The first attempt happens at once and fails; the worker retries with
        // back-off until the attempts run out.
        let mut hooks = vec![];
        for _ in 0..100 {
            hooks = app
                .state
                .store
                .ucp_webhooks_of_order(m, order)
                .await
                .unwrap();
            if hooks
                .first()
                .is_some_and(|h| h.attempts >= 1 && h.last_error.is_some())
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(hooks.len(), 1);
        assert!(hooks[0].last_error.as_deref().unwrap().contains("503"));
        let sender = app.state.ucp.webhooks.clone();
        for _ in 0..anycart_checkout::ucp::webhooks::WEBHOOK_ATTEMPTS_MAX {
            app.clock
                .advance_ms(anycart_checkout::ucp::webhooks::WEBHOOK_BACKOFF_MS_MAX);
            sender.deliver_due(&app.state.checkout).await.unwrap();
        }
        let hook = &app
            .state
            .store
            .ucp_webhooks_of_order(m, order)
            .await
            .unwrap()[0];
        assert_eq!(hook.state, UcpWebhookState::Dead, "{}", app.backend);
        assert_eq!(
            hook.attempts,
            anycart_checkout::ucp::webhooks::WEBHOOK_ATTEMPTS_MAX
        );
        assert!(agent.deliveries.lock().unwrap().is_empty());
        // Checkout went on regardless.
        let next = complete_with_agent(&app, &agent).await;
        assert!(!next.1.is_empty());
    }
}

#[tokio::test]
async fn agents_append_to_an_orders_logs_but_never_rewrite_them() {
    for app in ucp_apps(UcpAccess::Open, false).await {
        let created = call(
            &app,
            reqwest::Method::POST,
            "/checkout-sessions",
            V_OLD,
            Some(create_body("US")),
            &[],
        )
        .await;
        let id = created.body["id"].as_str().unwrap();
        let paid = call(
            &app,
            reqwest::Method::POST,
            &format!("/checkout-sessions/{id}/complete"),
            V_OLD,
            Some(sandbox_payment("tok_visa")),
            &[],
        )
        .await;
        let order_id = paid.body["order"]["id"].as_str().unwrap();
        let path = format!("/orders/{order_id}");
        let mut order = call(&app, reqwest::Method::GET, &path, V_OLD, None, &[])
            .await
            .body;
        order["adjustments"] = json!([{"id": "adj_1", "type": "refund", "occurred_at": "2026-01-20T10:00:00Z", "status": "pending", "amount": 500}]);
        let put = call(
            &app,
            reqwest::Method::PUT,
            &path,
            V_OLD,
            Some(order.clone()),
            &[],
        )
        .await;
        assert_eq!(put.status, StatusCode::OK, "{:#}", put.body);
        assert_eq!(put.body["adjustments"][0]["amount"], 500);
        // Rewriting a recorded entry is refused; so is an invalid one.
        order["adjustments"][0]["amount"] = json!(5);
        let rewrite = call(
            &app,
            reqwest::Method::PUT,
            &path,
            V_OLD,
            Some(order.clone()),
            &[],
        )
        .await;
        assert_eq!(rewrite.status, StatusCode::UNPROCESSABLE_ENTITY);
        order["adjustments"] = json!([{"id": "adj_2", "type": "refund", "occurred_at": "2026-01-20T10:00:00Z", "status": "sort_of"}]);
        let invalid = call(
            &app,
            reqwest::Method::PUT,
            &path,
            V_OLD,
            Some(order.clone()),
            &[],
        )
        .await;
        assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(invalid.body["code"], "invalid_order");
        order["adjustments"] = json!({"id": "adj_3"});
        let malformed = call(&app, reqwest::Method::PUT, &path, V_OLD, Some(order), &[]).await;
        assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
        // Reported adjustments move no money: the order's payment is untouched.
        let refunds = app
            .admin(
                reqwest::Method::GET,
                &format!("/orders/{order_id}/refunds"),
                None,
            )
            .await;
        if refunds.status == StatusCode::OK {
            assert!(refunds.body["data"].as_array().is_none_or(|a| a.is_empty()));
        }
    }
}

#[tokio::test]
async fn the_version_comes_from_the_agents_profile_when_the_header_names_none() {
    for app in ucp_apps(UcpAccess::Open, true).await {
        let agent = Agent::start("2026-04-08").await;
        let created = call(
            &app,
            reqwest::Method::POST,
            "/checkout-sessions",
            &agent.header(),
            Some(create_body("US")),
            &[],
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.body);
        assert_eq!(created.body["ucp"]["version"], "2026-04-08");
        let id = created.body["id"].as_str().unwrap();
        let pay = json!({"payment": {"instruments": [{"id": "i1", "handler_id": "mock_payment_handler", "type": "card",
            "selected": true, "credential": {"type": "token", "token": "success_token"}}]}});
        let paid = call(
            &app,
            reqwest::Method::POST,
            &format!("/checkout-sessions/{id}/complete"),
            &agent.header(),
            Some(pay),
            &[],
        )
        .await;
        assert_eq!(paid.status, StatusCode::OK, "{:#}", paid.body);
        // A 2026-04-08 agent's webhook is the order itself, its id in a header.
        let hook = &agent.deliveries_of("order_placed", 1).await[0];
        let order = hook.json();
        assert_ucp_shape("2026-04-08", &["schemas/shopping/order.json"], &order);
        assert_eq!(order["ucp"]["version"], "2026-04-08");
        assert_eq!(order["currency"], "USD");
        assert!(order.get("event_type").is_none());
        assert!(hook.header("webhook-id").unwrap().starts_with("evt_"));
        assert!(
            hook.header("webhook-timestamp")
                .unwrap()
                .parse::<i64>()
                .is_ok()
        );
        // A profile that moves to a version anycart does not serve is refused.
        agent.profile.lock().unwrap()["ucp"]["version"] = json!("2099-01-01");
        let refused = call(
            &app,
            reqwest::Method::GET,
            &format!("/checkout-sessions/{id}"),
            &agent.header(),
            None,
            &[],
        )
        .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert_eq!(refused.body["code"], "version_unsupported");
    }
}

#[test]
fn the_schema_check_refuses_what_ucp_refuses() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs/ucp");
    if !root.exists() {
        return;
    }
    for version in ["2026-01-11", "2026-04-08"] {
        let refused = std::panic::catch_unwind(|| {
            assert_ucp_shape(version, &["schemas/shopping/order.json"], &json!({"id": 1}))
        });
        assert!(
            refused.is_err(),
            "{version}: an empty order passes the schema check"
        );
    }
    let negative = std::panic::catch_unwind(|| {
        assert_checkout_shape(
            "2026-01-11",
            &json!({"ucp": {"version": "2026-01-11", "capabilities": []}, "id": "c", "line_items": [],
                "status": "incomplete", "currency": "USD", "links": [], "payment": {"handlers": []},
                "totals": [{"type": "items_discount", "amount": -5}]}),
        )
    });
    assert!(negative.is_err(), "2026-01-11 totals are never negative");
}
