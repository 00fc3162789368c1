//! The shopper: a full guest checkout over HTTP (create a session with buyer and
//! address, then complete it with a sandbox card), and two load generators that
//! drive it: a closed loop (N shoppers, each starting the next checkout when the
//! last one ends) and an open loop (checkouts started on a fixed schedule,
//! latency measured from the intended start so a slow server cannot hide its
//! queue: no coordinated omission). The generators drive a [`Shopper`]: anycart
//! (this file) or the Vendure peer (`vendure.rs`).

use anyhow::{Result, bail};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

use crate::vendure::VendureTarget;

/// Most checkouts an open loop keeps in flight; past it a scheduled checkout is
/// counted as an error instead of queued, so an overloaded run stays bounded.
pub const OPEN_LOOP_IN_FLIGHT_MAX: u64 = 4_096;
/// Highest latency the histograms hold (one minute), in microseconds.
const LATENCY_US_MAX: u64 = 60_000_000;
const API_VERSION: &str = "2026-04-17";

/// What a shopper needs to check out.
#[derive(Clone)]
pub struct Target {
    pub client: reqwest::Client,
    pub base: String,
    pub publishable_key: String,
    pub variant: String,
    /// Tells shoppers apart (e-mails, idempotency keys) across phases.
    pub next_shopper: Arc<AtomicU64>,
}

/// Whose checkout the load generators drive.
#[derive(Clone)]
pub enum Shopper {
    /// anycart's two ACP requests (create with buyer and address, complete).
    Anycart(Target),
    /// Vendure's Shop API guest checkout (`vendure.rs`).
    Vendure(VendureTarget),
}

impl Shopper {
    /// One full checkout on the shopper's server.
    pub async fn checkout(&self) -> Result<()> {
        match self {
            Shopper::Anycart(t) => checkout(t).await,
            Shopper::Vendure(t) => crate::vendure::checkout(t).await,
        }
    }
}

/// One full checkout. `Ok(())` when an order came back.
pub async fn checkout(t: &Target) -> Result<()> {
    let n = t.next_shopper.fetch_add(1, Ordering::Relaxed);
    let session = create(t, n).await?;
    complete(t, n, &session).await
}

/// `POST /checkout_sessions` with buyer and address; the session id.
pub async fn create(t: &Target, n: u64) -> Result<String> {
    let body = json!({
        "currency": "usd",
        "line_items": [{"id": t.variant, "quantity": 1}],
        "buyer": {"email": format!("shopper{n}@bench.example"), "first_name": "Bench"},
        "fulfillment_details": {"name": "Bench Shopper", "address": {"name": "Bench Shopper", "line_one": "1 Market St", "city": "San Francisco", "state": "CA", "country": "US", "postal_code": "94105"}},
    });
    let created = post(t, "/checkout_sessions", &format!("create-{n}"), &body).await?;
    if created["status"] != "ready_for_payment" {
        bail!("session not ready for payment: {}", created["messages"]);
    }
    created["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("no session id"))
}

/// `POST /checkout_sessions/{id}/complete` with a sandbox card that succeeds.
pub async fn complete(t: &Target, n: u64, session: &str) -> Result<()> {
    let body = json!({"payment_data": {"handler_id": "card_sandbox", "instrument": {"type": "card", "credential": {"type": "spt", "token": "tok_visa"}}}});
    let path = format!("/checkout_sessions/{session}/complete");
    let done = post(t, &path, &format!("complete-{n}"), &body).await?;
    if done["status"] != "completed" || done["order"]["id"].as_str().is_none() {
        bail!("no order: {}", done["status"]);
    }
    Ok(())
}

async fn post(t: &Target, path: &str, key: &str, body: &Value) -> Result<Value> {
    let resp = t
        .client
        .post(format!("{}{path}", t.base))
        .bearer_auth(&t.publishable_key)
        .header("API-Version", API_VERSION)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await?;
    let status = resp.status();
    let value: Value = resp.json().await.unwrap_or_default();
    if status == reqwest::StatusCode::SERVICE_UNAVAILABLE && value["code"] == "overloaded" {
        return Err(Shed {
            completing: path.ends_with("/complete"),
        }
        .into());
    }
    if !status.is_success() {
        bail!("{path}: HTTP {status}: {value}");
    }
    Ok(value)
}

/// The server refused a request for overload (`503 overloaded`, its admission
/// line): shed at once, not failed. Counted apart from errors.
#[derive(Debug)]
pub struct Shed {
    /// The refused request was the payment (the session was created).
    completing: bool,
}

impl std::fmt::Display for Shed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let step = if self.completing {
            "complete"
        } else {
            "create"
        };
        write!(f, "{step} shed (503 overloaded)")
    }
}

impl std::error::Error for Shed {}

/// What one load phase saw.
pub struct Outcome {
    pub seconds: f64,
    pub ok: u64,
    pub errors: u64,
    /// Checkouts refused at their create / at their complete by the server's
    /// admission (`503 overloaded`).
    pub shed_creates: u64,
    pub shed_completes: u64,
    /// Full checkout latency (all its requests), microseconds.
    pub latency_us: Histogram<u64>,
    pub first_error: Option<String>,
}

impl Outcome {
    fn new() -> Outcome {
        Outcome {
            seconds: 0.0,
            ok: 0,
            errors: 0,
            shed_creates: 0,
            shed_completes: 0,
            latency_us: histogram(),
            first_error: None,
        }
    }

    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.seconds.max(1e-9)
    }

    /// A latency quantile in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        self.latency_us.value_at_quantile(q) as f64 / 1e3
    }

    fn record(&mut self, started: Instant, result: Result<()>) {
        match result {
            Ok(()) => {
                self.ok += 1;
                let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                self.latency_us.saturating_record(us.max(1));
            }
            Err(e) => match e.downcast_ref::<Shed>() {
                Some(Shed { completing: true }) => self.shed_completes += 1,
                Some(Shed { completing: false }) => self.shed_creates += 1,
                None => self.error(e.to_string()),
            },
        }
    }

    fn error(&mut self, message: String) {
        self.errors += 1;
        self.first_error.get_or_insert(message);
    }
}

fn histogram() -> Histogram<u64> {
    // Three significant digits from 1 µs to a minute: a few hundred KiB.
    Histogram::new_with_bounds(1, LATENCY_US_MAX, 3).expect("valid histogram bounds")
}

/// `shoppers` concurrent shoppers, each checking out again and again for `run`.
pub async fn closed_loop(t: &Shopper, shoppers: usize, run: Duration) -> Result<Outcome> {
    let outcome = Arc::new(Mutex::new(Outcome::new()));
    let start = Instant::now();
    let deadline = start + run;
    let mut tasks = Vec::with_capacity(shoppers);
    for _ in 0..shoppers {
        let (t, outcome) = (t.clone(), outcome.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let started = Instant::now();
                let result = t.checkout().await;
                outcome.lock().await.record(started, result);
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    finish(outcome, start)
}

/// Checkouts started at `rate_per_s` for `run`, each on schedule whatever the
/// server is doing; latency counts from the scheduled start.
pub async fn open_loop(t: &Shopper, rate_per_s: f64, run: Duration) -> Result<Outcome> {
    let outcome = Arc::new(Mutex::new(Outcome::new()));
    let in_flight = Arc::new(AtomicU64::new(0));
    let start = tokio::time::Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate_per_s);
    // A positive rate (at least 1/s) times seconds: a small, non-negative count.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let total = (rate_per_s.max(0.0) * run.as_secs_f64()).round() as u64;
    let mut tasks = Vec::new();
    for i in 0..total {
        let intended = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(intended).await;
        if in_flight.load(Ordering::Relaxed) >= OPEN_LOOP_IN_FLIGHT_MAX {
            outcome.lock().await.error(format!(
                "more than {OPEN_LOOP_IN_FLIGHT_MAX} checkouts in flight"
            ));
            continue;
        }
        in_flight.fetch_add(1, Ordering::Relaxed);
        let (t, outcome, in_flight) = (t.clone(), outcome.clone(), in_flight.clone());
        tasks.push(tokio::spawn(async move {
            let result = t.checkout().await;
            outcome.lock().await.record(intended.into_std(), result);
            in_flight.fetch_sub(1, Ordering::Relaxed);
        }));
    }
    for task in tasks {
        task.await?;
    }
    finish(outcome, start.into_std())
}

fn finish(outcome: Arc<Mutex<Outcome>>, start: Instant) -> Result<Outcome> {
    let mut outcome = Arc::try_unwrap(outcome)
        .map_err(|_| anyhow::anyhow!("a shopper task outlived its phase"))?
        .into_inner();
    outcome.seconds = start.elapsed().as_secs_f64();
    Ok(outcome)
}
