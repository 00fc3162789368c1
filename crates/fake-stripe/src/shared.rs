//! The running fake's shared handle: keys, state (behind one lock), the fault
//! queue, persistence, and the webhook outbox with its delivery worker.

use crate::faults::Fault;
use crate::ids::{new_id, now};
use crate::state::{DELIVERY_LOG_MAX, DeliveryLog, EVENTS_MAX, State, push_bounded};
use crate::webhooks;
use serde_json::Value;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};

/// Events waiting for delivery, past which new ones are logged as undeliverable.
pub const OUTBOX_MAX: usize = 10_000;
/// Delays before the second and third delivery attempts of an event the endpoint
/// did not accept (Stripe retries for days; a test cannot wait that long).
pub const DELIVERY_RETRY_DELAYS_MS: [u64; 2] = [250, 1_000];
/// Faults waiting in the queue.
pub const FAULTS_MAX: usize = 1_000;

/// The account's fixed, documented test keys.
#[derive(Clone, Debug)]
pub struct Keys {
    pub secret: String,
    pub publishable: String,
    pub webhook_secret: String,
}

pub struct Shared {
    pub keys: Keys,
    pub base_url: String,
    pub api_version: String,
    state: Mutex<State>,
    faults: Mutex<VecDeque<Fault>>,
    state_file: Option<PathBuf>,
    outbox: mpsc::Sender<String>,
    pending: AtomicUsize,
    idle: Notify,
    pub client: reqwest::Client,
}

impl Shared {
    /// Builds the handle and starts its delivery worker.
    pub fn start(
        keys: Keys,
        base_url: String,
        api_version: String,
        state: State,
        state_file: Option<PathBuf>,
    ) -> Arc<Shared> {
        let (tx, rx) = mpsc::channel(OUTBOX_MAX);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(webhooks::DELIVERY_TIMEOUT_MS))
            .build()
            .unwrap_or_default();
        let shared = Arc::new(Shared {
            keys,
            base_url,
            api_version,
            state: Mutex::new(state),
            faults: Mutex::new(VecDeque::new()),
            state_file,
            outbox: tx,
            pending: AtomicUsize::new(0),
            idle: Notify::new(),
            client,
        });
        tokio::spawn(delivery_worker(Arc::downgrade(&shared), rx));
        shared
    }

    /// The state. Never held across an `.await`.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes the `--state` file, if there is one. A failure is reported, not fatal:
    /// the fake keeps answering from memory.
    pub fn save(&self, state: &State) {
        if let Some(path) = &self.state_file
            && let Err(e) = state.save(path)
        {
            eprintln!(
                "fake-stripe: could not write the state file {}: {e}",
                path.display()
            );
        }
    }

    /// Is `key` one of this account's secret keys?
    pub fn is_secret_key(&self, state: &State, key: &str) -> bool {
        key == self.keys.secret || state.extra_secret_keys.iter().any(|k| k == key)
    }

    pub fn push_fault(&self, fault: Fault) {
        let mut q = self.faults.lock().unwrap_or_else(PoisonError::into_inner);
        if q.len() < FAULTS_MAX {
            q.push_back(fault);
        }
    }

    pub fn faults(&self) -> Vec<Fault> {
        self.faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    pub fn clear_faults(&self) {
        self.faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Takes the first queued fault matching `path`.
    pub fn take_fault(&self, path: &str) -> Option<Fault> {
        let mut q = self.faults.lock().unwrap_or_else(PoisonError::into_inner);
        let i = q.iter().position(|f| path.starts_with(f.path_prefix()))?;
        q.remove(i)
    }

    /// Records `events` (type, object) in the event log and, with `auto_deliver`,
    /// queues their delivery when an endpoint is configured for their type.
    pub fn record_events(
        &self,
        state: &mut State,
        events: Vec<(String, Value)>,
        request_id: Option<&str>,
        idempotency_key: Option<&str>,
        auto_deliver: bool,
    ) -> Vec<Value> {
        let mut out = Vec::with_capacity(events.len());
        for (kind, object) in events {
            let event = webhooks::event_json(
                &new_id("evt"),
                &kind,
                object,
                &self.api_version,
                now(),
                request_id,
                idempotency_key,
            );
            push_bounded(&mut state.events, event.clone(), EVENTS_MAX);
            if auto_deliver && state.webhook_url.is_some() && enabled(state, &kind) {
                let id = event["id"].as_str().unwrap_or_default().to_string();
                self.pending.fetch_add(1, Ordering::SeqCst);
                if self.outbox.try_send(id.clone()).is_err() {
                    self.finish_one();
                    log_delivery(state, &id, &kind, "", 0, 0, "automatic");
                }
            }
            out.push(event);
        }
        out
    }

    fn finish_one(&self) {
        if self.pending.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    /// Waits until every queued automatic delivery has been attempted (with retries).
    pub async fn flush(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.pending.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Posts `body` with `signature` to the endpoint once, now, and logs it.
    pub async fn deliver_once(
        &self,
        event_id: &str,
        event_type: &str,
        body: &str,
        signature: &str,
        kind: &str,
    ) -> u16 {
        let Some(url) = self.lock().webhook_url.clone() else {
            return 0;
        };
        let status = webhooks::post(&self.client, &url, body, signature).await;
        let mut state = self.lock();
        log_delivery(&mut state, event_id, event_type, &url, 1, status, kind);
        self.save(&state);
        status
    }
}

fn enabled(state: &State, kind: &str) -> bool {
    state
        .enabled_events
        .as_ref()
        .is_none_or(|list| list.iter().any(|e| e == "*" || e == kind))
}

fn log_delivery(
    state: &mut State,
    event_id: &str,
    event_type: &str,
    url: &str,
    attempt: u32,
    status: u16,
    kind: &str,
) {
    let entry = DeliveryLog {
        event_id: event_id.to_string(),
        event_type: event_type.to_string(),
        url: url.to_string(),
        attempt,
        status,
        kind: kind.to_string(),
        at: now(),
    };
    push_bounded(&mut state.deliveries, entry, DELIVERY_LOG_MAX);
}

/// Delivers queued events one at a time, in order, retrying those the endpoint does
/// not answer with a 2xx. Ends when the fake is dropped.
async fn delivery_worker(shared: Weak<Shared>, mut rx: mpsc::Receiver<String>) {
    while let Some(event_id) = rx.recv().await {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        deliver_with_retries(&shared, &event_id).await;
        shared.finish_one();
    }
}

async fn deliver_with_retries(shared: &Shared, event_id: &str) {
    let attempts = u32::try_from(DELIVERY_RETRY_DELAYS_MS.len() + 1).unwrap_or(1);
    for attempt in 1..=attempts {
        let (url, event) = {
            let state = shared.lock();
            (state.webhook_url.clone(), state.event(event_id).cloned())
        };
        let (Some(url), Some(event)) = (url, event) else {
            return;
        };
        let kind = event["type"].as_str().unwrap_or_default().to_string();
        let body = webhooks::body(&event);
        let signature = webhooks::signature_header(&shared.keys.webhook_secret, now(), &body);
        let status = webhooks::post(&shared.client, &url, &body, &signature).await;
        {
            let mut state = shared.lock();
            log_delivery(
                &mut state,
                event_id,
                &kind,
                &url,
                attempt,
                status,
                "automatic",
            );
            shared.save(&state);
        }
        if (200..300).contains(&status) {
            return;
        }
        let delay_index = usize::try_from(attempt - 1).unwrap_or(0);
        if let Some(delay) = DELIVERY_RETRY_DELAYS_MS.get(delay_index) {
            tokio::time::sleep(Duration::from_millis(*delay)).await;
        }
    }
}
