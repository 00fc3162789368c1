//! Stripe's webhook deliveries: the `Stripe-Signature` check and the events
//! anycart acts on.
//!
//! Stripe signs `"{t}.{raw body}"` with the endpoint's secret (HMAC-SHA256, hex)
//! and sends `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]` (several
//! `v1` while a secret is being rolled). A delivery is taken only when one `v1`
//! matches (compared in constant time) and `t` is within
//! [`WEBHOOK_TOLERANCE_S`] of now, so a captured delivery cannot be replayed
//! later; a replay inside that window is caught by the event id.

use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// How far a delivery's timestamp may be from now (Stripe's libraries: 5 minutes).
pub const WEBHOOK_TOLERANCE_S: i64 = 300;
/// Most `v1` signatures one header may carry (a rolled secret gives two).
const SIGNATURES_MAX: usize = 8;

/// Why a delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("no Stripe-Signature header")]
    Unsigned,
    #[error("the Stripe-Signature header is malformed")]
    MalformedSignature,
    #[error("the delivery's timestamp is outside the {WEBHOOK_TOLERANCE_S} s tolerance")]
    Stale,
    #[error("no signature matches the endpoint's secret")]
    Mismatch,
    /// Signed correctly, but not an event anycart can read.
    #[error("the event cannot be read: {0}")]
    Unreadable(String),
}

impl WebhookError {
    /// True for deliveries that did not come from Stripe (or not recently).
    pub fn is_forgery(&self) -> bool {
        !matches!(self, WebhookError::Unreadable(_))
    }
}

/// A verified event.
#[derive(Clone, Debug, Deserialize)]
pub struct Event {
    /// `evt_…`, the de-duplication key.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Unix seconds.
    pub created: i64,
    #[serde(default)]
    pub livemode: bool,
    pub data: EventData,
}

#[derive(Clone, Debug, Deserialize)]
pub struct EventData {
    pub object: serde_json::Value,
}

/// What an event asks anycart to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventAction {
    /// `payment_intent.succeeded`: the money is in (an asynchronous method
    /// settled, or a payment whose answer anycart never heard).
    PaymentSucceeded {
        payment_intent: String,
        amount_received: i64,
    },
    /// `payment_intent.payment_failed`: an asynchronous method did not go through.
    PaymentFailed { payment_intent: String },
    /// `charge.refunded`, `charge.refund.updated`, `refund.*`: the payment's
    /// refunds changed; read them from Stripe (the charge no longer lists them).
    RefundsChanged { payment_intent: String },
    /// `charge.dispute.*`: a chargeback opened, changed or closed.
    Dispute(DisputeEvent),
    /// A type anycart does not act on (recorded so replays stay cheap).
    Ignored,
}

/// A dispute as its event reports it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct DisputeEvent {
    /// `dp_…`
    pub id: String,
    pub payment_intent: Option<String>,
    pub amount: i64,
    pub currency: String,
    /// `warning_needs_response`, `needs_response`, `under_review`, `won`, `lost`, …
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Checks a delivery's signature and reads its event.
pub fn verify(
    secret: &str,
    signature_header: Option<&str>,
    body: &[u8],
    now_s: i64,
) -> Result<Event, WebhookError> {
    let header = signature_header.ok_or(WebhookError::Unsigned)?;
    let (timestamp, signatures) = parse_signature_header(header)?;
    let mut matched = false;
    for signature in &signatures {
        // HMAC takes any key length; `verify_slice` compares in constant time.
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .map_err(|_| WebhookError::Mismatch)?;
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        matched |= mac.verify_slice(signature).is_ok();
    }
    if !matched {
        return Err(WebhookError::Mismatch);
    }
    if (now_s - timestamp).abs() > WEBHOOK_TOLERANCE_S {
        return Err(WebhookError::Stale);
    }
    let event: Event =
        serde_json::from_slice(body).map_err(|e| WebhookError::Unreadable(e.to_string()))?;
    if event.id.is_empty() || event.id.len() > 255 {
        return Err(WebhookError::Unreadable("event id".into()));
    }
    Ok(event)
}

/// `t=…,v1=…[,v1=…]` → the timestamp and the decoded `v1` signatures (other
/// schemes, such as Stripe's test `v0`, are ignored).
fn parse_signature_header(header: &str) -> Result<(i64, Vec<Vec<u8>>), WebhookError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(WebhookError::MalformedSignature)?;
        match key {
            "t" => {
                let t = value
                    .parse::<i64>()
                    .map_err(|_| WebhookError::MalformedSignature)?;
                timestamp = Some(t);
            }
            "v1" if signatures.len() < SIGNATURES_MAX => {
                signatures.push(hex::decode(value).map_err(|_| WebhookError::MalformedSignature)?);
            }
            _ => {}
        }
    }
    match (timestamp, signatures.is_empty()) {
        (Some(t), false) => Ok((t, signatures)),
        _ => Err(WebhookError::MalformedSignature),
    }
}

/// What `event` asks of anycart.
pub fn action_of(event: &Event) -> Result<EventAction, WebhookError> {
    let object = &event.data.object;
    let text = |pointer: &str| object.pointer(pointer).and_then(|v| v.as_str());
    let unreadable =
        |what: &str| WebhookError::Unreadable(format!("{} without {what}", event.kind));
    Ok(match event.kind.as_str() {
        "payment_intent.succeeded" => EventAction::PaymentSucceeded {
            payment_intent: text("/id").ok_or_else(|| unreadable("id"))?.to_string(),
            amount_received: object
                .pointer("/amount_received")
                .and_then(serde_json::Value::as_i64)
                .ok_or_else(|| unreadable("amount_received"))?,
        },
        "payment_intent.payment_failed" => EventAction::PaymentFailed {
            payment_intent: text("/id").ok_or_else(|| unreadable("id"))?.to_string(),
        },
        "charge.refunded"
        | "charge.refund.updated"
        | "refund.created"
        | "refund.updated"
        | "refund.failed" => match text("/payment_intent") {
            Some(pi) => EventAction::RefundsChanged {
                payment_intent: pi.to_string(),
            },
            // A charge without a PaymentIntent was not made by anycart.
            None => EventAction::Ignored,
        },
        "charge.dispute.created"
        | "charge.dispute.updated"
        | "charge.dispute.closed"
        | "charge.dispute.funds_withdrawn"
        | "charge.dispute.funds_reinstated" => EventAction::Dispute(
            serde_json::from_value(object.clone())
                .map_err(|e| WebhookError::Unreadable(e.to_string()))?,
        ),
        _ => EventAction::Ignored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";
    const BODY: &str = r#"{"id":"evt_1","type":"payment_intent.succeeded","created":1700000000,"livemode":false,"data":{"object":{"id":"pi_1","amount_received":1200}}}"#;

    fn sign(secret: &str, t: i64, body: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.{body}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn a_fresh_correctly_signed_event_is_read() {
        let header = format!("t=1700000000,v1={}", sign(SECRET, 1_700_000_000, BODY));
        let event = verify(SECRET, Some(&header), BODY.as_bytes(), 1_700_000_100).unwrap();
        assert_eq!(event.id, "evt_1");
        assert_eq!(
            action_of(&event).unwrap(),
            EventAction::PaymentSucceeded {
                payment_intent: "pi_1".into(),
                amount_received: 1200
            }
        );
    }

    #[test]
    fn any_matching_v1_signature_is_enough_while_a_secret_rolls() {
        let good = sign(SECRET, 1_700_000_000, BODY);
        let header = format!(
            "t=1700000000,v1={},v0=abc,v1={good}",
            sign("whsec_old", 1_700_000_000, BODY)
        );
        assert!(verify(SECRET, Some(&header), BODY.as_bytes(), 1_700_000_000).is_ok());
    }

    #[test]
    fn forged_stale_tampered_and_unsigned_deliveries_are_refused() {
        let t = 1_700_000_000;
        let now = t + 10;
        let good = format!("t={t},v1={}", sign(SECRET, t, BODY));
        let cases: [(Option<String>, &str, i64, WebhookError); 7] = [
            (None, BODY, now, WebhookError::Unsigned),
            (
                Some(format!("t={t},v1={}", sign("whsec_other", t, BODY))),
                BODY,
                now,
                WebhookError::Mismatch,
            ),
            (
                Some(good.clone()),
                &BODY[..BODY.len() - 2],
                now,
                WebhookError::Mismatch,
            ),
            (
                Some(good.clone()),
                BODY,
                t + WEBHOOK_TOLERANCE_S + 1,
                WebhookError::Stale,
            ),
            (
                Some(good.clone()),
                BODY,
                t - WEBHOOK_TOLERANCE_S - 1,
                WebhookError::Stale,
            ),
            (
                Some(format!("v1={}", sign(SECRET, t, BODY))),
                BODY,
                now,
                WebhookError::MalformedSignature,
            ),
            (
                Some(format!("t={t},v1=zz")),
                BODY,
                now,
                WebhookError::MalformedSignature,
            ),
        ];
        for (header, body, now, want) in cases {
            let got = verify(SECRET, header.as_deref(), body.as_bytes(), now).unwrap_err();
            assert_eq!(got, want, "{header:?}");
            assert!(got.is_forgery());
        }
    }

    #[test]
    fn a_signed_body_that_is_not_an_event_is_unreadable_not_forged() {
        let body = "[1,2,3]";
        let header = format!("t=1,v1={}", sign(SECRET, 1, body));
        let got = verify(SECRET, Some(&header), body.as_bytes(), 1).unwrap_err();
        assert!(matches!(got, WebhookError::Unreadable(_)));
        assert!(!got.is_forgery());
    }

    #[test]
    fn events_map_to_what_anycart_does() {
        let event = |kind: &str, object: serde_json::Value| Event {
            id: "evt_1".into(),
            kind: kind.into(),
            created: 1,
            livemode: false,
            data: EventData { object },
        };
        let refunded = event(
            "charge.refunded",
            serde_json::json!({"id": "ch_1", "payment_intent": "pi_1"}),
        );
        assert_eq!(
            action_of(&refunded).unwrap(),
            EventAction::RefundsChanged {
                payment_intent: "pi_1".into()
            }
        );
        let dispute = event(
            "charge.dispute.created",
            serde_json::json!({"id": "dp_1", "payment_intent": "pi_1", "amount": 500, "currency": "usd", "status": "needs_response", "reason": "fraudulent"}),
        );
        assert!(
            matches!(action_of(&dispute).unwrap(), EventAction::Dispute(d) if d.status == "needs_response")
        );
        assert_eq!(
            action_of(&event("customer.created", serde_json::json!({}))).unwrap(),
            EventAction::Ignored
        );
        assert!(
            action_of(&event(
                "payment_intent.succeeded",
                serde_json::json!({"id": "pi_1"})
            ))
            .is_err()
        );
    }
}
