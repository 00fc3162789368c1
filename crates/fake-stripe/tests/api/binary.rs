//! The `fake-stripe` binary: its JSON line, its control API, and `--state`
//! surviving a kill -9.

use crate::helpers::{Endpoint, now};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running binary, killed (SIGKILL) when dropped.
struct Proc {
    child: Child,
    base: String,
    sk: String,
    http: reqwest::Client,
}

impl Proc {
    fn spawn(args: &[&str]) -> Proc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fake-stripe"))
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let cfg: Value = serde_json::from_str(&line).expect("one JSON line on stdout");
        assert_eq!(cfg["publishable_key"], anycart_fake_stripe::PUBLISHABLE_KEY);
        assert_eq!(cfg["webhook_secret"], anycart_fake_stripe::WEBHOOK_SECRET);
        Proc {
            child,
            base: cfg["base_url"].as_str().unwrap().to_string(),
            sk: cfg["secret_key"].as_str().unwrap().to_string(),
            http: reqwest::Client::new(),
        }
    }

    async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, &str)],
        key: Option<&str>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form {
            s.append_pair(k, v);
        }
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.sk)
            .body(s.finish());
        req = req.header("Content-Type", "application/x-www-form-urlencoded");
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        (status, r.json().await.unwrap(), headers)
    }

    async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/test_control{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const PAY: [(&str, &str); 6] = [
    ("amount", "2000"),
    ("currency", "usd"),
    ("payment_method", "pm_card_visa"),
    ("confirm", "true"),
    ("automatic_payment_methods[enabled]", "true"),
    ("automatic_payment_methods[allow_redirects]", "never"),
];

use reqwest::Method;

#[tokio::test]
async fn the_control_api_mirrors_the_library() {
    let endpoint = Endpoint::start(vec![]).await;
    let p = Proc::spawn(&["--addr", "127.0.0.1:0", "--webhook-url", &endpoint.url]);
    let (_, cfg) = p.control(Method::GET, "/config", None).await;
    assert_eq!(cfg["base_url"], p.base.as_str());

    // Faults.
    let (s, _) = p
        .control(
            Method::POST,
            "/faults",
            Some(json!({"kind": "status", "path_prefix": "/v1/payment_intents", "status": 500})),
        )
        .await;
    assert_eq!(s, 200);
    let (_, faults) = p.control(Method::GET, "/faults", None).await;
    assert_eq!(faults[0]["kind"], "status");
    let (status, body, _) = p.api(Method::POST, "/v1/payment_intents", &PAY, None).await;
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (500, Some("api_error"))
    );
    p.control(
        Method::POST,
        "/faults",
        Some(json!({"kind": "lose_answer", "path_prefix": "/v1/payment_intents"})),
    )
    .await;
    let (status, _, _) = p
        .api(Method::POST, "/v1/payment_intents", &PAY, Some("k1"))
        .await;
    assert_eq!(status, 500);
    let (status, replay, headers) = p
        .api(Method::POST, "/v1/payment_intents", &PAY, Some("k1"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers.get("idempotent-replayed").unwrap(), "true");

    // Inspection.
    let (_, pis) = p.control(Method::GET, "/payment_intents", None).await;
    assert_eq!(pis.as_array().unwrap().len(), 1);
    assert_eq!(pis[0]["id"], replay["id"]);
    assert_eq!(pis[0]["status"], "succeeded");
    assert_eq!(pis[0]["idempotency_keys"], json!(["k1"]));
    let (_, requests) = p.control(Method::GET, "/requests", None).await;
    assert_eq!(requests.as_array().unwrap().len(), 3);
    assert_eq!(requests[1]["status"], 500);

    // Granted tokens.
    let (_, token) = p
        .control(
            Method::POST,
            "/granted_tokens",
            Some(json!({"max_amount": 5000, "currency": "usd", "expires_at": now() + 600})),
        )
        .await;
    let spt = token["id"].as_str().unwrap().to_string();
    let (status, pi, _) = p
        .api(
            Method::POST,
            "/v1/payment_intents",
            &[
                ("amount", "4000"),
                ("currency", "usd"),
                ("confirm", "true"),
                ("payment_method_data[shared_payment_granted_token]", &spt),
            ],
            None,
        )
        .await;
    assert_eq!((status, pi["status"].as_str()), (200, Some("succeeded")));
    let (_, other) = p
        .control(
            Method::POST,
            "/granted_tokens",
            Some(json!({"max_amount": 5000, "currency": "usd", "expires_at": now() + 600})),
        )
        .await;
    let (_, revoked) = p
        .control(
            Method::POST,
            &format!(
                "/granted_tokens/{}/deactivate",
                other["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(revoked["deactivated_reason"], "revoked");

    // 3-D Secure.
    let mut three_ds = PAY.to_vec();
    three_ds[2] = ("payment_method", "pm_card_threeDSecure2Required");
    let (_, pi, _) = p
        .api(Method::POST, "/v1/payment_intents", &three_ds, None)
        .await;
    assert_eq!(pi["status"], "requires_action");
    let id = pi["id"].as_str().unwrap();
    let (s, wrong) = p
        .control(
            Method::POST,
            &format!("/payment_intents/{id}/authenticate"),
            Some(json!({"success": true, "client_secret": "nope"})),
        )
        .await;
    assert_eq!(
        (s, wrong["error"]["param"].as_str()),
        (400, Some("client_secret"))
    );
    let (s, done) = p
        .control(
            Method::POST,
            &format!("/payment_intents/{id}/authenticate"),
            Some(json!({"success": true})),
        )
        .await;
    assert_eq!((s, done["status"].as_str()), (200, Some("succeeded")));

    // Refunds, events, deliveries.
    p.api(
        Method::POST,
        "/v1/refunds",
        &[("payment_intent", id), ("amount", "100")],
        None,
    )
    .await;
    let (_, refunds) = p.control(Method::GET, "/refunds", None).await;
    assert_eq!(refunds[0]["amount"], 100);
    let (_, sent) = p
        .control(
            Method::POST,
            "/events",
            Some(json!({"type": "charge.dispute.created", "payment_intent": replay["id"]})),
        )
        .await;
    assert_eq!(sent["status"], 200);
    assert_eq!(sent["event"]["data"]["object"]["object"], "dispute");
    let (_, forged) = p.control(Method::POST, "/events", Some(json!({"type": "payment_intent.succeeded", "payment_intent": id, "forgery": {"kind": "wrong_secret"}}))).await;
    assert_eq!(forged["status"], 200, "the endpoint here accepts anything");
    let eid = sent["event"]["id"].as_str().unwrap();
    let (_, again) = p
        .control(Method::POST, &format!("/events/{eid}/redeliver"), None)
        .await;
    assert_eq!(again["status"], 200);
    let (_, raw) = p
        .control(
            Method::POST,
            "/events/raw",
            Some(json!({"body": "{}", "signature": "t=1,v1=00"})),
        )
        .await;
    assert_eq!(raw["status"], 200);
    p.control(Method::POST, "/flush_webhooks", None).await;
    let (_, deliveries) = p.control(Method::GET, "/deliveries", None).await;
    assert!(deliveries.as_array().unwrap().len() >= 4);
    let (_, events) = p.control(Method::GET, "/events", None).await;
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "payment_intent.succeeded")
    );
    assert!(endpoint.types().iter().any(|t| t == "charge.refunded"));

    // Webhook URL and API keys.
    let (_, set) = p
        .control(Method::PUT, "/webhook_url", Some(json!({"url": null})))
        .await;
    assert_eq!(set["url"], Value::Null);
    let (_, key) = p.control(Method::POST, "/api_keys", None).await;
    assert!(
        key["secret_key"]
            .as_str()
            .unwrap()
            .starts_with("sk_test_fake_")
    );
}

#[tokio::test]
async fn with_state_the_fake_keeps_its_charges_across_a_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stripe.json");
    let file = file.to_str().unwrap();
    let (paid, held) = {
        let p = Proc::spawn(&["--state", file]);
        let (_, paid, _) = p
            .api(Method::POST, "/v1/payment_intents", &PAY, Some("order-7"))
            .await;
        let mut manual = PAY.to_vec();
        manual.push(("capture_method", "manual"));
        let (_, held, _) = p
            .api(Method::POST, "/v1/payment_intents", &manual, None)
            .await;
        (paid, held)
        // dropped here: SIGKILL, no chance to write anything more.
    };
    let p = Proc::spawn(&["--state", file]);
    let (status, got, _) = p
        .api(
            Method::GET,
            &format!("/v1/payment_intents/{}", paid["id"].as_str().unwrap()),
            &[],
            None,
        )
        .await;
    assert_eq!((status, got["status"].as_str()), (200, Some("succeeded")));
    let (status, replay, headers) = p
        .api(Method::POST, "/v1/payment_intents", &PAY, Some("order-7"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(replay["id"], paid["id"]);
    assert_eq!(headers.get("idempotent-replayed").unwrap(), "true");
    let (status, captured, _) = p
        .api(
            Method::POST,
            &format!(
                "/v1/payment_intents/{}/capture",
                held["id"].as_str().unwrap()
            ),
            &[],
            None,
        )
        .await;
    assert_eq!(
        (status, captured["status"].as_str()),
        (200, Some("succeeded"))
    );
    let (_, pis) = p.control(Method::GET, "/payment_intents", None).await;
    assert_eq!(pis.as_array().unwrap().len(), 2);
}
