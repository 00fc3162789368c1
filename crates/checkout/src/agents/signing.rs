//! ACP request signing: an agent platform signs each request with the secret it
//! shares with the merchant, and anycart checks the signature when the merchant
//! turned verification on for that platform.
//!
//! ACP leaves the algorithm to be "published out of band"; anycart's is:
//!
//! ```text
//! Timestamp: 2026-04-17T10:30:00Z            (RFC 3339, within 5 minutes of now)
//! Signature: base64url(HMAC-SHA256(secret, "{Timestamp}.{METHOD} {path}.{canonical body}"))
//! ```
//!
//! The canonical body is the JSON body with object keys sorted and no
//! insignificant whitespace (so re-serialising by a proxy does not break it), or
//! nothing for a request without a body. Method and path are signed so a
//! signature cannot be replayed against another endpoint or session. Over MCP
//! the same string is signed with the REST method and path the tool stands for
//! (`POST /checkout_sessions/{id}/complete` for `complete_checkout_session`) and
//! the tool's `payload` as body, so one signer serves both bindings.

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

/// How far a request's `Timestamp` may be from now, either way.
pub const SIGNATURE_TOLERANCE_MS: i64 = 300_000;
/// Longest `Signature` header read (an HMAC-SHA256 is 43 characters in base64url).
const SIGNATURE_LEN_MAX: usize = 128;
/// Longest `Timestamp` header read.
const TIMESTAMP_LEN_MAX: usize = 40;

pub use crate::error::SignatureRefusal;

/// What a request presents for verification.
#[derive(Clone, Copy, Debug)]
pub struct SignedRequest<'a> {
    pub signature: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    /// `POST`, `GET`.
    pub method: &'a str,
    /// The REST path, e.g. `/checkout_sessions/cs_…/complete`.
    pub path: &'a str,
    /// The raw JSON body (empty when there is none).
    pub body: &'a [u8],
}

/// `value` serialised with object keys sorted at every level and no whitespace.
/// Written out rather than relying on `serde_json::Map`'s ordering, which a
/// crate elsewhere in the build may switch to insertion order.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                write_canonical(&map[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The string that is signed. A body that is not JSON is signed as its bytes.
pub fn signed_content(timestamp: &str, method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let mut content = format!("{timestamp}.{} {path}.", method.to_ascii_uppercase()).into_bytes();
    if body.iter().all(u8::is_ascii_whitespace) {
        return content;
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => content.extend_from_slice(canonical_json(&v).as_bytes()),
        Err(_) => content.extend_from_slice(body),
    }
    content
}

fn mac(secret: &str) -> Hmac<Sha256> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length")
}

/// The `Signature` header for a request (what agent platforms compute; tests
/// and the documentation's examples use it too).
pub fn sign(secret: &str, timestamp: &str, method: &str, path: &str, body: &[u8]) -> String {
    let mut m = mac(secret);
    m.update(&signed_content(timestamp, method, path, body));
    URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
}

/// Unix ms of an RFC 3339 timestamp.
fn parse_timestamp(value: &str) -> Option<i64> {
    let t =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Checks a request's signature against `secret` at `now_ms`, in constant time.
pub fn verify(secret: &str, req: &SignedRequest<'_>, now_ms: i64) -> Result<(), SignatureRefusal> {
    let (Some(signature), Some(timestamp)) = (req.signature, req.timestamp) else {
        return Err(SignatureRefusal::Missing);
    };
    let (signature, timestamp) = (signature.trim(), timestamp.trim());
    if signature.len() > SIGNATURE_LEN_MAX || timestamp.len() > TIMESTAMP_LEN_MAX {
        return Err(SignatureRefusal::Malformed);
    }
    let at_ms = parse_timestamp(timestamp).ok_or(SignatureRefusal::Malformed)?;
    let presented = URL_SAFE_NO_PAD
        .decode(signature.trim_end_matches('='))
        .or_else(|_| URL_SAFE.decode(signature))
        .map_err(|_| SignatureRefusal::Malformed)?;
    if (now_ms - at_ms).abs() > SIGNATURE_TOLERANCE_MS {
        return Err(SignatureRefusal::Stale);
    }
    let mut m = mac(secret);
    m.update(&signed_content(timestamp, req.method, req.path, req.body));
    m.verify_slice(&presented)
        .map_err(|_| SignatureRefusal::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: &str = "2026-04-17T10:30:00Z";
    const NOW_MS: i64 = 1_776_421_800_000;

    fn request<'a>(sig: &'a str, body: &'a [u8]) -> SignedRequest<'a> {
        SignedRequest {
            signature: Some(sig),
            timestamp: Some(NOW),
            method: "POST",
            path: "/checkout_sessions",
            body,
        }
    }

    #[test]
    fn the_timestamp_constant_is_right() {
        assert_eq!(parse_timestamp(NOW), Some(NOW_MS));
    }

    #[test]
    fn a_signed_request_verifies_and_any_change_breaks_it() {
        let body = br#"{"line_items":[{"id":"var_1","quantity":1}],"currency":"usd"}"#;
        let sig = sign("s3cret", NOW, "POST", "/checkout_sessions", body);
        assert_eq!(verify("s3cret", &request(&sig, body), NOW_MS), Ok(()));
        assert_eq!(
            verify("other", &request(&sig, body), NOW_MS),
            Err(SignatureRefusal::Mismatch)
        );
        let tampered = br#"{"line_items":[{"id":"var_1","quantity":9}],"currency":"usd"}"#;
        assert_eq!(
            verify("s3cret", &request(&sig, tampered), NOW_MS),
            Err(SignatureRefusal::Mismatch)
        );
        let elsewhere = SignedRequest {
            path: "/checkout_sessions/cs_1",
            ..request(&sig, body)
        };
        assert_eq!(
            verify("s3cret", &elsewhere, NOW_MS),
            Err(SignatureRefusal::Mismatch)
        );
    }

    #[test]
    fn key_order_and_whitespace_do_not_matter_but_values_do() {
        let a = br#"{"b":1,"a":{"y":[1,2],"x":"z"}}"#;
        let b = b"{ \"a\" : { \"x\":\"z\", \"y\":[1, 2] }, \"b\": 1 }";
        let sig = sign("k", NOW, "POST", "/p", a);
        let req = SignedRequest {
            path: "/p",
            ..request(&sig, b)
        };
        assert_eq!(verify("k", &req, NOW_MS), Ok(()));
        assert_eq!(
            canonical_json(&serde_json::from_slice(b).unwrap()),
            r#"{"a":{"x":"z","y":[1,2]},"b":1}"#
        );
    }

    #[test]
    fn stale_missing_and_malformed_headers_are_refused() {
        let sig = sign("k", NOW, "POST", "/checkout_sessions", b"{}");
        let req = request(&sig, b"{}");
        assert_eq!(
            verify("k", &req, NOW_MS + SIGNATURE_TOLERANCE_MS + 1),
            Err(SignatureRefusal::Stale)
        );
        assert_eq!(
            verify("k", &req, NOW_MS - SIGNATURE_TOLERANCE_MS - 1),
            Err(SignatureRefusal::Stale)
        );
        assert_eq!(verify("k", &req, NOW_MS + SIGNATURE_TOLERANCE_MS), Ok(()));
        let unsigned = SignedRequest {
            signature: None,
            ..req
        };
        assert_eq!(
            verify("k", &unsigned, NOW_MS),
            Err(SignatureRefusal::Missing)
        );
        let bad_time = SignedRequest {
            timestamp: Some("yesterday"),
            ..req
        };
        assert_eq!(
            verify("k", &bad_time, NOW_MS),
            Err(SignatureRefusal::Malformed)
        );
        let bad_sig = SignedRequest {
            signature: Some("not base64!"),
            ..req
        };
        assert_eq!(
            verify("k", &bad_sig, NOW_MS),
            Err(SignatureRefusal::Malformed)
        );
    }

    #[test]
    fn padded_signatures_are_accepted() {
        let sig = sign("k", NOW, "GET", "/checkout_sessions/cs_1", b"");
        let padded = format!("{sig}=");
        let req = SignedRequest {
            method: "GET",
            path: "/checkout_sessions/cs_1",
            ..request(&padded, b"")
        };
        assert_eq!(verify("k", &req, NOW_MS), Ok(()));
    }

    proptest! {
        #[test]
        fn canonical_json_is_stable_under_reparsing(
            keys in proptest::collection::vec("[a-z]{1,6}", 0..8),
            n in any::<i64>(),
        ) {
            let mut map = serde_json::Map::new();
            for (i, k) in keys.iter().enumerate() {
                map.insert(k.clone(), serde_json::json!([n, i, {"k": k}]));
            }
            let v = Value::Object(map);
            let once = canonical_json(&v);
            let again = canonical_json(&serde_json::from_str(&once).unwrap());
            prop_assert_eq!(once, again);
        }
    }
}
