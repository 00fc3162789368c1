//! Order webhooks to agent platforms (ACP `order_create` / `order_update`):
//! transport. `wire` is the ACP shape, `convert` builds it from the order.
//!
//! The body is the order as it is when delivered, posted to the platform's
//! webhook URL with `Merchant-Signature: t=<unix seconds>,v1=<hex>`, the
//! HMAC-SHA256 of `"{t}.{body}"` under the platform's signing secret (the same
//! scheme as Stripe's, which ACP's webhook spec follows), and `Request-Id` set
//! to the outbox item's id, the same on every retry, so the platform can drop
//! repeats. An update waits until the order's `order_create` reached the
//! platform, so a platform never hears of an order by its update first.

pub mod convert;
pub mod wire;

use crate::{Confirmation, ConnectorError, PushedOrder, http_client, transport_error};
use anycart_store::{AgentOrderEvent, AgentPlatform, OutboxItem, OutboxState, Store};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header carrying the webhook's signature.
pub const MERCHANT_SIGNATURE_HEADER: &str = "Merchant-Signature";
/// How much of a refusing platform's answer is kept in the outbox's error.
const ERROR_BODY_CHARS_MAX: usize = 200;

/// `t=<unix_s>,v1=<hex HMAC-SHA256(secret, "{unix_s}.{body}")>`.
pub fn merchant_signature(secret: &str, unix_s: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(unix_s.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={unix_s},v1={}", hex_lower(&mac.finalize().into_bytes()))
}

fn hex_lower(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The enabled platform an agent item is for, or why it can no longer be sent.
pub(crate) async fn live_platform(
    store: &Store,
    item: &OutboxItem,
    id: anycart_core::AgentPlatformId,
) -> Result<AgentPlatform, ConnectorError> {
    store
        .get_agent_platform(item.merchant_id, id)
        .await?
        .filter(AgentPlatform::is_enabled)
        .ok_or_else(|| ConnectorError::Permanent("the agent platform was disabled".into()))
}

/// Posts one `agent.webhook` outbox item.
pub async fn deliver(
    store: &Store,
    item: &OutboxItem,
    now_ms: i64,
) -> Result<PushedOrder, ConnectorError> {
    let notice = item.agent_webhook()?;
    let platform = live_platform(store, item, notice.platform_id).await?;
    let url = platform.webhook_url.clone().ok_or_else(|| {
        ConnectorError::Permanent("the agent platform takes no webhooks any more".into())
    })?;
    if notice.event == AgentOrderEvent::OrderUpdate {
        match store
            .agent_create_state(item.merchant_id, notice.order_id, notice.platform_id)
            .await?
        {
            Some(OutboxState::Pending) => {
                return Err(ConnectorError::Transient(
                    "the order's order_create has not reached the platform yet".into(),
                ));
            }
            Some(OutboxState::Dead) => {
                return Err(ConnectorError::Permanent(
                    "the order's order_create was dead-lettered".into(),
                ));
            }
            Some(OutboxState::Delivered) | None => {}
        }
    }
    let record = store
        .get_order(item.merchant_id, notice.order_id)
        .await?
        .ok_or_else(|| ConnectorError::Permanent("the order does not exist".into()))?;
    let refunds = store
        .order_refunds(item.merchant_id, notice.order_id)
        .await?;
    let permalink = format!("{}/orders/{}", platform.api_base_url, record.access_token);
    let event = convert::event(notice.event, &record.order, &refunds, &permalink);
    let body = serde_json::to_vec(&event)
        .map_err(|e| ConnectorError::Malformed(format!("webhook body: {e}")))?;
    let unix_s = now_ms.div_euclid(1000);
    let signature = merchant_signature(platform.secrets.signing_secret.expose(), unix_s, &body);
    let response = http_client()?
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(MERCHANT_SIGNATURE_HEADER, signature)
        .header("Request-Id", item.id.clone())
        .header("Timestamp", convert::rfc3339(now_ms))
        .body(body)
        .send()
        .await
        .map_err(transport_error)?;
    let status = response.status();
    if status.is_success() {
        return Ok(PushedOrder {
            platform_order_id: format!("http_{}", status.as_u16()),
            confirmation: Confirmation::AgentNotified,
        });
    }
    let text: String = response
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(ERROR_BODY_CHARS_MAX)
        .collect();
    Err(refusal(status, &text))
}

/// What a platform's non-2xx answer means: worth a retry (timeouts, throttling,
/// its own failures) or not (it refuses this webhook; an operator must look).
pub(crate) fn refusal(status: reqwest::StatusCode, body: &str) -> ConnectorError {
    let message = format!("agent platform answered {status}: {body}");
    match status.as_u16() {
        408 | 425 | 429 | 500..=599 => ConnectorError::Transient(message),
        _ => ConnectorError::Permanent(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body_in_hex() {
        let sig = merchant_signature("Jefe", 1_709_123_456, b"{}");
        let hex = sig.strip_prefix("t=1709123456,v1=").unwrap();
        assert_eq!(hex.len(), 64);
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"1709123456.{}");
        assert_eq!(hex, hex_lower(&mac.finalize().into_bytes()));
        assert_ne!(sig, merchant_signature("Jefe", 1_709_123_457, b"{}"));
        assert_ne!(sig, merchant_signature("Jeff", 1_709_123_456, b"{}"));
    }

    #[test]
    fn only_passing_conditions_are_retried() {
        use reqwest::StatusCode as S;
        for s in [S::TOO_MANY_REQUESTS, S::BAD_GATEWAY, S::REQUEST_TIMEOUT] {
            assert!(matches!(refusal(s, ""), ConnectorError::Transient(_)));
        }
        for s in [S::UNAUTHORIZED, S::BAD_REQUEST, S::NOT_FOUND] {
            assert!(matches!(refusal(s, ""), ConnectorError::Permanent(_)));
        }
    }
}
