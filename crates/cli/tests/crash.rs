//! No charge without an order, ever — proven with `kill -9` on a real process.
//!
//! `anycart serve` runs with `ANYCART_TEST_PAUSE_AT=after_payment_answer`: a
//! complete request stops right after the provider charged, before the order
//! commit. The test kills the process there with SIGKILL, starts it again on the
//! same database (recovery after 500 ms instead of a minute), and checks that
//! the order appears exactly once, the session is completed with it, and the
//! provider was charged exactly once (the fake Stripe runs in this test, outside
//! the killed process, as Stripe would). For the sandbox, whose ledger dies with
//! the process, the order and the journal are the evidence.

// Tests: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use anycart_fake_stripe::FakeStripe;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_anycart");
const WAIT: Duration = Duration::from_secs(60);

/// A running `anycart serve --demo`, killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    base: String,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    fn start(dir: &Path, env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--demo", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let started = Instant::now();
        let base = loop {
            let line = lines.next().expect("server output").unwrap();
            if let Some(url) = line.trim().strip_prefix("base URL") {
                break url.trim().to_string();
            }
            assert!(started.elapsed() < WAIT, "no banner");
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        Server {
            child,
            base,
            stderr,
        }
    }

    /// SIGKILL: no shutdown, no flush, nothing after this instant.
    fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn wait_for_log(&self, needle: &str) {
        let started = Instant::now();
        while !self.stderr.lock().unwrap().contains(needle) {
            assert!(started.elapsed() < WAIT, "never logged {needle:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn demo(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("demo.json")).unwrap()).unwrap()
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    key: &str,
    body: Option<Value>,
) -> Value {
    let mut req = client
        .request(method, url)
        .bearer_auth(key)
        .header("API-Version", "2026-04-17")
        .header("Idempotency-Key", uuid_like());
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap().json().await.unwrap()
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "crash-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// A session of the first demo variant in stock, ready for payment.
async fn ready_session(client: &reqwest::Client, base: &str, demo: &Value) -> String {
    let variant = demo["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["available"].as_i64().unwrap() > 0)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let s = call(client, reqwest::Method::POST, format!("{base}/checkout_sessions"),
        demo["publishable_key"].as_str().unwrap(),
        Some(json!({"currency": "usd", "line_items": [{"id": variant}], "capabilities": {},
            "buyer": {"email": "crash@example.com"},
            "fulfillment_details": {"address": {"name": "C", "line_one": "1 A St", "city": "Austin", "state": "TX", "country": "US", "postal_code": "73301"}}}))).await;
    assert_eq!(s["status"], "ready_for_payment", "{s:#}");
    s["id"].as_str().unwrap().to_string()
}

fn payment(provider: &str) -> Value {
    let (handler, token) = match provider {
        "stripe" => ("card_stripe", "pm_card_visa"),
        _ => ("card_sandbox", "tok_visa"),
    };
    json!({"payment_data": {"handler_id": handler,
        "instrument": {"type": "card", "credential": {"type": "card", "token": token}}}})
}

#[test]
fn a_kill_9_between_the_charge_and_the_order_neither_loses_the_order_nor_charges_twice() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    for provider in ["sandbox", "stripe"] {
        let dir = tempfile::tempdir().unwrap();
        let fake = (provider == "stripe").then(|| rt.block_on(FakeStripe::start()));
        let first = Server::start(
            dir.path(),
            &[("ANYCART_TEST_PAUSE_AT", "after_payment_answer")],
        );
        let demo = demo(dir.path());
        let sk = demo["secret_key"].as_str().unwrap().to_string();
        let pk = demo["publishable_key"].as_str().unwrap().to_string();
        let session = rt.block_on(async {
            if let Some(fake) = &fake {
                let put = call(&client, reqwest::Method::PUT, format!("{}/v1/payment_provider", first.base), &sk,
                    Some(json!({"provider": "stripe", "secret_key": fake.secret_key,
                        "publishable_key": fake.publishable_key, "webhook_secret": fake.webhook_secret,
                        "api_base": fake.base_url}))).await;
                assert_eq!(put["provider"], "stripe", "{put:#}");
            }
            ready_session(&client, &first.base, &demo).await
        });
        // The complete request hangs at the pause point; the process dies there.
        let url = format!("{}/checkout_sessions/{session}/complete", first.base);
        let hanging = {
            let (client, pk, body) = (client.clone(), pk.clone(), payment(provider));
            rt.spawn(async move {
                let _ = client
                    .post(url)
                    .bearer_auth(pk)
                    .header("API-Version", "2026-04-17")
                    .header("Idempotency-Key", "the-crashed-request")
                    .json(&body)
                    .send()
                    .await;
            })
        };
        first.wait_for_log("paused at after_payment_answer");
        if let Some(fake) = &fake {
            let charged = fake.payment_intents();
            assert_eq!(charged.len(), 1);
            assert_eq!(
                charged[0].status, "succeeded",
                "Stripe charged before the kill"
            );
        }
        first.kill_9();
        rt.block_on(hanging).unwrap();

        // Back up on the same database; recovery finishes the order.
        let second = Server::start(dir.path(), &[("ANYCART_PAYMENT_RECOVERY_AFTER_MS", "500")]);
        let orders = rt.block_on(async {
            let started = Instant::now();
            loop {
                let orders = call(
                    &client,
                    reqwest::Method::GET,
                    format!("{}/v1/orders", second.base),
                    &sk,
                    None,
                )
                .await;
                if !orders["data"].as_array().unwrap().is_empty() {
                    break orders;
                }
                assert!(
                    started.elapsed() < WAIT,
                    "{provider}: recovery never wrote the order"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let data = orders["data"].as_array().unwrap();
        assert_eq!(data.len(), 1, "{provider}: exactly one order: {orders:#}");
        let order_id = data[0]["id"].as_str().unwrap();
        rt.block_on(async {
            let s = call(
                &client,
                reqwest::Method::GET,
                format!("{}/checkout_sessions/{session}", second.base),
                &pk,
                None,
            )
            .await;
            assert_eq!(s["status"], "completed", "{provider}: {s:#}");
            assert_eq!(s["order"]["id"], order_id);
            // The shopper pays again (a new request): nothing more is charged.
            let again = call(
                &client,
                reqwest::Method::POST,
                format!("{}/checkout_sessions/{session}/complete", second.base),
                &pk,
                Some(payment(provider)),
            )
            .await;
            assert_eq!(again["status"], "completed", "{again:#}");
            let orders = call(
                &client,
                reqwest::Method::GET,
                format!("{}/v1/orders", second.base),
                &sk,
                None,
            )
            .await;
            assert_eq!(orders["data"].as_array().unwrap().len(), 1);
        });
        if let Some(fake) = &fake {
            let intents = fake.payment_intents();
            assert_eq!(intents.len(), 1, "one PaymentIntent, never a second charge");
            assert_eq!(intents[0].status, "succeeded");
            assert_eq!(
                intents[0]
                    .metadata
                    .get("anycart_order_id")
                    .map(String::as_str),
                Some(order_id),
                "the order recovery wrote is the one Stripe was told about"
            );
        }
    }
}
