//! Order webhooks to agents: each event is a row written with the change it
//! reports (see `Store::record_ucp_order`), sent at once by the request that
//! wrote it and again by this worker until the agent answers 2xx, with back-off,
//! then dead-lettered. Delivery never blocks a checkout: a request only spawns
//! the first attempt.
//!
//! Every delivery is signed with the merchant's key both ways UCP has defined:
//! a detached JWS in `Request-Signature` (2026-01-11) and RFC 9421
//! `Signature-Input`/`Signature` over `Content-Digest` (2026-04-08), with
//! Standard Webhooks' `Webhook-Id` and `Webhook-Timestamp`.

use super::keys::SigningKey;
use super::signatures;
use crate::CheckoutService;
use crate::error::CheckoutResult;
use anycart_core::MerchantId;
use anycart_store::UcpWebhook;
use reqwest::Client;
use std::time::Duration;
use tokio::sync::watch;

/// Attempts before a webhook is dead-lettered.
pub const WEBHOOK_ATTEMPTS_MAX: i64 = 8;
/// How long one delivery may take.
pub const WEBHOOK_TIMEOUT_MS: u64 = 5_000;
/// How long a claimed webhook is its claimer's (longer than any attempt).
pub const WEBHOOK_LEASE_MS: i64 = 30_000;
/// Webhooks sent per worker tick.
pub const WEBHOOK_BATCH_MAX: i64 = 20;
/// First retry after this; doubled per attempt up to [`WEBHOOK_BACKOFF_MS_MAX`].
pub const WEBHOOK_BACKOFF_MS_MIN: i64 = 1_000;
pub const WEBHOOK_BACKOFF_MS_MAX: i64 = 10 * 60_000;
/// Most of an agent's answer kept in the error.
const ANSWER_CHARS_MAX: usize = 200;

// A delivery finishes (or times out) well before its lease runs out, so two
// workers never send one event at once.
#[allow(clippy::cast_possible_wrap)] // compile-time constants far below i64::MAX
const _: () = assert!((WEBHOOK_TIMEOUT_MS as i64) * 2 < WEBHOOK_LEASE_MS);

/// Sends webhooks: the HTTP client and how to name each merchant's profile.
#[derive(Clone)]
pub struct WebhookSender {
    client: Client,
    /// The merchant's profile URL (what `UCP-Agent` says on a webhook).
    profile_url: std::sync::Arc<dyn Fn(MerchantId) -> String + Send + Sync>,
}

impl std::fmt::Debug for WebhookSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSender")
    }
}

/// The wait before attempt `attempts + 1`.
pub fn backoff_ms(attempts: i64) -> i64 {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    WEBHOOK_BACKOFF_MS_MIN
        .saturating_mul(1_i64 << exponent)
        .min(WEBHOOK_BACKOFF_MS_MAX)
}

impl WebhookSender {
    /// A sender naming merchants' profiles with `profile_url`.
    pub fn new(profile_url: impl Fn(MerchantId) -> String + Send + Sync + 'static) -> Self {
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_millis(WEBHOOK_TIMEOUT_MS))
            .build()
            .unwrap_or_default();
        WebhookSender {
            client,
            profile_url: std::sync::Arc::new(profile_url),
        }
    }

    /// Claims and sends one webhook now (the request that enqueued it calls
    /// this on a spawned task); a failure leaves it to the worker.
    pub async fn send_now(&self, service: &CheckoutService, id: &str) {
        let now = service.now_ms();
        match service
            .store
            .claim_ucp_webhook(id, now, WEBHOOK_LEASE_MS)
            .await
        {
            Ok(Some(hook)) => self.deliver(service, hook).await,
            Ok(None) => {}
            Err(e) => tracing::warn!(webhook_id = %id, error = %e, "could not claim a UCP webhook"),
        }
    }

    /// Sends every due webhook once (one bounded batch).
    pub async fn deliver_due(&self, service: &CheckoutService) -> CheckoutResult<usize> {
        let now = service.now_ms();
        let due = service
            .store
            .claim_ucp_webhooks(now, WEBHOOK_LEASE_MS, WEBHOOK_BATCH_MAX)
            .await?;
        let count = due.len();
        for hook in due {
            self.deliver(service, hook).await;
        }
        Ok(count)
    }

    /// Runs [`deliver_due`](Self::deliver_due) every `interval` until shutdown.
    pub async fn run(
        self,
        service: CheckoutService,
        interval: Duration,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(interval);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => break,
            }
            if let Err(e) = self.deliver_due(&service).await {
                tracing::warn!(error = %e, "UCP webhook delivery failed; will retry");
            }
        }
    }

    /// One attempt: sign, send, record.
    async fn deliver(&self, service: &CheckoutService, hook: UcpWebhook) {
        let outcome = self.attempt(service, &hook).await;
        let now = service.now_ms();
        let recorded = match &outcome {
            Ok(()) => service.store.ucp_webhook_delivered(&hook.id, now).await,
            Err(why) => {
                let dead = hook.attempts >= WEBHOOK_ATTEMPTS_MAX;
                if dead {
                    tracing::warn!(webhook_id = %hook.id, order_id = %hook.order_id, attempts = hook.attempts, error = %why, "UCP webhook dead-lettered");
                } else {
                    tracing::info!(webhook_id = %hook.id, order_id = %hook.order_id, attempts = hook.attempts, error = %why, "UCP webhook failed; will retry");
                }
                service
                    .store
                    .ucp_webhook_failed(&hook.id, why, now + backoff_ms(hook.attempts), dead, now)
                    .await
            }
        };
        let label = if outcome.is_ok() {
            "delivered"
        } else {
            "failed"
        };
        metrics::counter!("anycart_ucp_webhooks_total", "outcome" => label).increment(1);
        if let Err(e) = recorded {
            tracing::warn!(webhook_id = %hook.id, error = %e, "could not record a UCP webhook attempt");
        }
    }

    async fn attempt(&self, service: &CheckoutService, hook: &UcpWebhook) -> Result<(), String> {
        let door = service
            .store
            .get_ucp_door(hook.merchant_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the merchant has no UCP door")?;
        let key = SigningKey::from_pkcs8_base64(&door.signing_kid, door.signing_key.expose())
            .map_err(|e| e.to_string())?;
        let url = url::Url::parse(&hook.url).map_err(|e| e.to_string())?;
        let authority = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        let body = hook.payload.as_bytes();
        let agent = format!("profile=\"{}\"", (self.profile_url)(hook.merchant_id));
        let timestamp = (hook.created_at_ms / 1000).to_string();
        let covered = [
            ("content-type", "application/json"),
            ("ucp-agent", agent.as_str()),
            ("webhook-id", hook.id.as_str()),
            ("webhook-timestamp", timestamp.as_str()),
        ];
        let signed = signatures::sign(
            &key,
            "POST",
            &authority,
            url.path(),
            &covered,
            body,
            service.now_ms() / 1000,
        )
        .map_err(|e| e.to_string())?;
        let jws = signatures::detached_jws(&key, body).map_err(|e| e.to_string())?;
        let mut request = self
            .client
            .post(url.as_str())
            .header("request-signature", jws)
            .body(hook.payload.clone());
        for (name, value) in covered.iter().copied() {
            request = request.header(name, value);
        }
        for (name, value) in signed {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let answer: String = response
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(ANSWER_CHARS_MAX)
            .collect();
        Err(format!("HTTP {}: {answer}", status.as_u16()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        assert_eq!(backoff_ms(1), 1_000);
        assert_eq!(backoff_ms(2), 2_000);
        assert_eq!(backoff_ms(5), 16_000);
        assert_eq!(backoff_ms(30), WEBHOOK_BACKOFF_MS_MAX);
        assert_eq!(backoff_ms(0), 1_000);
    }
}
