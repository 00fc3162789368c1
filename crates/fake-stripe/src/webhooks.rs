//! Webhook events as Stripe sends them: an `event` object, POSTed as JSON with
//! `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;

/// A bad delivery, for an endpoint's negative tests. (A replay is
/// `redeliver_event`: the same event id, correctly signed, again.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Forgery {
    /// Signed with a secret that is not the endpoint's.
    WrongSecret,
    /// Correctly signed, but `t` is `age_secs` in the past (Stripe's libraries
    /// refuse more than 300 s).
    Stale { age_secs: i64 },
    /// Signed, then the body changed.
    TamperedBody,
    /// No `Stripe-Signature` header.
    Unsigned,
}

/// How long the fake waits for the endpoint to answer a delivery.
pub const DELIVERY_TIMEOUT_MS: u64 = 10_000;

/// The hex `v1` signature of `payload` at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, payload: &str) -> String {
    // HMAC takes keys of any length, so this cannot fail; an empty tag would
    // simply never verify.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The `Stripe-Signature` header value for `payload` signed with `secret` at `timestamp`.
pub fn signature_header(secret: &str, timestamp: i64, payload: &str) -> String {
    format!("t={timestamp},v1={}", sign(secret, timestamp, payload))
}

/// An `event` object.
pub fn event_json(
    id: &str,
    event_type: &str,
    object: Value,
    api_version: &str,
    created: i64,
    request_id: Option<&str>,
    idempotency_key: Option<&str>,
) -> Value {
    json!({
        "id": id,
        "object": "event",
        "api_version": api_version,
        "created": created,
        "data": {"object": object},
        "livemode": false,
        "pending_webhooks": 1,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": event_type,
    })
}

/// The body Stripe posts: pretty-printed JSON, so an endpoint that verifies a
/// re-serialised body instead of the bytes it got fails here as it would there.
pub fn body(event: &Value) -> String {
    serde_json::to_string_pretty(event).unwrap_or_default()
}

/// POSTs one delivery; the endpoint's status, 0 if it could not be reached.
/// An empty `signature` sends no `Stripe-Signature` header.
pub async fn post(client: &reqwest::Client, url: &str, body: &str, signature: &str) -> u16 {
    let mut req = client
        .post(url)
        .header("Content-Type", "application/json; charset=utf-8")
        .header(
            "User-Agent",
            "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        )
        .header("Cache-Control", "no-cache")
        .body(body.to_string());
    if !signature.is_empty() {
        req = req.header("Stripe-Signature", signature);
    }
    match req.send().await {
        Ok(resp) => resp.status().as_u16(),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_payload() {
        // RFC 4231-style check against an independently computed value.
        let header = signature_header("whsec_test", 1_700_000_000, "{}");
        assert!(header.starts_with("t=1700000000,v1="));
        let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec_test").unwrap();
        mac.update(b"1700000000.{}");
        assert_eq!(&header[16..], hex::encode(mac.finalize().into_bytes()));
        assert_ne!(
            sign("other", 1_700_000_000, "{}"),
            sign("whsec_test", 1_700_000_000, "{}")
        );
    }
}
