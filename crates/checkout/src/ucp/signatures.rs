//! UCP message signatures: RFC 9421 HTTP Message Signatures with ES256 (P-256;
//! ES384 is verified too), RFC 9530 `Content-Digest`, and the detached JWS
//! (RFC 7797) that UCP 2026-01-11 puts in a webhook's `Request-Signature`.
//!
//! Verification checks what UCP requires a signature to cover (method,
//! authority, path, the query when there is one, `UCP-Agent` when sent, the
//! `Idempotency-Key` of a state-changing request, and the body through its digest
//! and content type), then the signature with the signer's key named by
//! `keyid`. Replays are the idempotency layer's business, not this module's.

use super::keys::SigningKey;
use super::sfv::{self, Bare, Value};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};

/// The label anycart signs under.
pub const SIGNATURE_LABEL: &str = "sig1";
/// Most components one signature may cover.
const COMPONENTS_MAX: usize = 16;

/// Why a signature was refused (each maps to a UCP error code).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// `Signature-Input` or `Signature` is absent.
    #[error("the request is not signed")]
    Missing,
    /// The headers do not parse, or the signature misses a component UCP requires.
    #[error("{0}")]
    Malformed(String),
    /// No key of the signer's profile has this id.
    #[error("no signing key `{0}` in the signer's profile")]
    KeyNotFound(String),
    /// The key's curve is not one UCP uses.
    #[error("unsupported signature algorithm: {0}")]
    AlgorithmUnsupported(String),
    /// `Content-Digest` does not match the body.
    #[error("Content-Digest does not match the body")]
    DigestMismatch,
    /// The signature does not verify.
    #[error("the signature does not verify with key `{0}`")]
    Invalid(String),
}

/// What a signature covers of a request, as received.
pub struct Message<'a> {
    pub method: &'a str,
    /// Host (and port, when not the scheme's default), lowercase.
    pub authority: &'a str,
    pub path: &'a str,
    /// The query without `?`, if the request has one.
    pub query: Option<&'a str>,
    /// A header's value by lowercase name (several values joined with `, `).
    pub header: &'a dyn Fn(&str) -> Option<String>,
    pub body: &'a [u8],
}

/// `sha-256=:…:` of `body` (RFC 9530).
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", B64.encode(digest(&SHA256, body).as_ref()))
}

/// Verifies a request's signature against the signer's JWKs; returns the key id.
pub fn verify(msg: &Message<'_>, keys: &[serde_json::Value]) -> Result<String, SignatureError> {
    let (Some(input), Some(signature)) =
        ((msg.header)("signature-input"), (msg.header)("signature"))
    else {
        return Err(SignatureError::Missing);
    };
    let malformed = |e: sfv::SfvError| SignatureError::Malformed(e.to_string());
    let members = sfv::parse_dictionary(&input).map_err(malformed)?;
    let member = members
        .first()
        .ok_or_else(|| SignatureError::Malformed("Signature-Input names no signature".into()))?;
    let Value::InnerList(items, _) = &member.value else {
        return Err(SignatureError::Malformed(
            "Signature-Input must list the covered components".into(),
        ));
    };
    let components: Vec<String> = items
        .iter()
        .take(COMPONENTS_MAX + 1)
        .map(|(b, params)| match (b, params.is_empty()) {
            (Bare::String(s), true) => Ok(s.to_ascii_lowercase()),
            _ => Err(SignatureError::Malformed(
                "components must be plain quoted names".into(),
            )),
        })
        .collect::<Result<_, _>>()?;
    if components.len() > COMPONENTS_MAX {
        return Err(SignatureError::Malformed("too many components".into()));
    }
    let kid = member
        .value
        .param("keyid")
        .and_then(Bare::as_str)
        .ok_or_else(|| SignatureError::Malformed("Signature-Input has no keyid".into()))?
        .to_string();
    required_components(msg, &components)?;
    if components.iter().any(|c| c == "content-digest") {
        check_digest(msg)?;
    }
    let sig = sfv::dictionary_bytes(&signature, &member.key)
        .map_err(malformed)?
        .ok_or_else(|| {
            SignatureError::Malformed(format!("Signature has no `{}` byte sequence", member.key))
        })?;
    let base = signature_base(msg, &components, &member.raw)?;
    let key = keys
        .iter()
        .find(|k| k.get("kid").and_then(|v| v.as_str()) == Some(kid.as_str()))
        .ok_or_else(|| SignatureError::KeyNotFound(kid.clone()))?;
    verify_with_jwk(key, base.as_bytes(), &sig).map_err(|e| match e {
        SignatureError::Invalid(_) => SignatureError::Invalid(kid.clone()),
        other => other,
    })?;
    Ok(kid)
}

/// What UCP requires a request signature to cover.
fn required_components(msg: &Message<'_>, components: &[String]) -> Result<(), SignatureError> {
    let mut required = vec!["@method", "@authority", "@path"];
    if msg.query.is_some_and(|q| !q.is_empty()) {
        required.push("@query");
    }
    if (msg.header)("ucp-agent").is_some() {
        required.push("ucp-agent");
    }
    let changes_state = matches!(msg.method, "POST" | "PUT" | "PATCH" | "DELETE");
    if changes_state && (msg.header)("idempotency-key").is_some() {
        required.push("idempotency-key");
    }
    if !msg.body.is_empty() {
        required.extend(["content-digest", "content-type"]);
    }
    match required
        .iter()
        .find(|r| !components.iter().any(|c| c == *r))
    {
        Some(missing) => Err(SignatureError::Malformed(format!(
            "the signature must cover `{missing}`"
        ))),
        None => Ok(()),
    }
}

fn check_digest(msg: &Message<'_>) -> Result<(), SignatureError> {
    let header = (msg.header)("content-digest")
        .ok_or_else(|| SignatureError::Malformed("Content-Digest is missing".into()))?;
    let claimed = sfv::dictionary_bytes(&header, "sha-256")
        .map_err(|e| SignatureError::Malformed(e.to_string()))?
        .ok_or_else(|| SignatureError::Malformed("Content-Digest needs a sha-256 digest".into()))?;
    if claimed != digest(&SHA256, msg.body).as_ref() {
        return Err(SignatureError::DigestMismatch);
    }
    Ok(())
}

/// The RFC 9421 signature base: one `"name": value` line per component, then
/// the `@signature-params` line (the parameters exactly as sent).
fn signature_base(
    msg: &Message<'_>,
    components: &[String],
    params_raw: &str,
) -> Result<String, SignatureError> {
    let mut lines = Vec::with_capacity(components.len() + 1);
    for c in components {
        let value = match c.as_str() {
            "@method" => msg.method.to_ascii_uppercase(),
            "@authority" => msg.authority.to_ascii_lowercase(),
            "@path" => msg.path.to_string(),
            "@query" => format!("?{}", msg.query.unwrap_or("")),
            "@target-uri" | "@request-target" | "@scheme" | "@status" => {
                return Err(SignatureError::Malformed(format!(
                    "component `{c}` is not supported here"
                )));
            }
            name if name.starts_with('@') => {
                return Err(SignatureError::Malformed(format!(
                    "unknown derived component `{name}`"
                )));
            }
            header => (msg.header)(header)
                .map(|v| v.trim().to_string())
                .ok_or_else(|| {
                    SignatureError::Malformed(format!("signed header `{header}` is missing"))
                })?,
        };
        lines.push(format!("\"{c}\": {value}"));
    }
    lines.push(format!("\"@signature-params\": {params_raw}"));
    Ok(lines.join("\n"))
}

/// Verifies an ECDSA signature (`r ‖ s`) with a JWK.
fn verify_with_jwk(
    jwk: &serde_json::Value,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let field = |name: &str| jwk.get(name).and_then(|v| v.as_str()).unwrap_or("");
    if field("kty") != "EC" {
        return Err(SignatureError::AlgorithmUnsupported(format!(
            "key type `{}`",
            field("kty")
        )));
    }
    let (alg, coordinate_len) = match field("crv") {
        "P-256" => (&ECDSA_P256_SHA256_FIXED, 32),
        "P-384" => (&ECDSA_P384_SHA384_FIXED, 48),
        other => {
            return Err(SignatureError::AlgorithmUnsupported(format!(
                "curve `{other}`"
            )));
        }
    };
    let bad_key = || SignatureError::Malformed("the signer's key is not a valid JWK".into());
    let x = B64URL.decode(field("x")).map_err(|_| bad_key())?;
    let y = B64URL.decode(field("y")).map_err(|_| bad_key())?;
    if x.len() != coordinate_len || y.len() != coordinate_len {
        return Err(bad_key());
    }
    let mut point = Vec::with_capacity(1 + 2 * coordinate_len);
    point.push(4);
    point.extend(x);
    point.extend(y);
    UnparsedPublicKey::new(alg, point)
        .verify(message, signature)
        .map_err(|_| SignatureError::Invalid(field("kid").to_string()))
}

/// Signs an outgoing request (a webhook): returns the `Content-Digest`,
/// `Signature-Input` and `Signature` headers. `headers` are the lowercase
/// headers to cover besides the derived components and the digest.
pub fn sign(
    key: &SigningKey,
    method: &str,
    authority: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    created_s: i64,
) -> Result<Vec<(&'static str, String)>, SignatureError> {
    let digest_header = content_digest(body);
    let mut names = vec!["@method", "@authority", "@path"];
    names.extend(headers.iter().map(|(n, _)| *n));
    names.push("content-digest");
    let list = names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(" ");
    let params = format!("({list});created={created_s};keyid=\"{}\"", key.kid());
    let lookup = |name: &str| -> Option<String> {
        if name == "content-digest" {
            return Some(digest_header.clone());
        }
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
    };
    let msg = Message {
        method,
        authority,
        path,
        query: None,
        header: &lookup,
        body,
    };
    let components: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let base = signature_base(&msg, &components, &params)?;
    let sig = key
        .sign(base.as_bytes())
        .map_err(|e| SignatureError::Malformed(e.to_string()))?;
    Ok(vec![
        ("content-digest", digest_header.clone()),
        ("signature-input", format!("{SIGNATURE_LABEL}={params}")),
        (
            "signature",
            format!("{SIGNATURE_LABEL}=:{}:", B64.encode(sig)),
        ),
    ])
}

/// A detached JWS over `body` (RFC 7797, unencoded payload): `header..signature`,
/// what UCP 2026-01-11 sends in a webhook's `Request-Signature`.
pub fn detached_jws(key: &SigningKey, body: &[u8]) -> Result<String, SignatureError> {
    let header = serde_json::json!({
        "alg": "ES256",
        "kid": key.kid(),
        "b64": false,
        "crit": ["b64"],
    });
    let protected = B64URL.encode(header.to_string());
    let mut input = Vec::with_capacity(protected.len() + 1 + body.len());
    input.extend_from_slice(protected.as_bytes());
    input.push(b'.');
    input.extend_from_slice(body);
    let sig = key
        .sign(&input)
        .map_err(|e| SignatureError::Malformed(e.to_string()))?;
    Ok(format!("{protected}..{}", B64URL.encode(sig)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ucp::keys;

    fn key() -> SigningKey {
        let (kid, pkcs8) = keys::generate(0).unwrap();
        SigningKey::from_pkcs8_base64(&kid, &pkcs8).unwrap()
    }

    /// Signs a POST the way an agent would and hands back its headers.
    fn signed_post(key: &SigningKey, body: &[u8]) -> Vec<(String, String)> {
        let mut headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("idempotency-key".to_string(), "k-1".to_string()),
            (
                "ucp-agent".to_string(),
                "profile=\"https://agent.example/p.json\"".to_string(),
            ),
        ];
        let covered: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let signed = sign(
            key,
            "POST",
            "shop.example",
            "/ucp/m/checkout-sessions",
            &covered,
            body,
            1,
        )
        .unwrap();
        headers.extend(signed.into_iter().map(|(n, v)| (n.to_string(), v)));
        headers
    }

    fn verify_with(
        headers: &[(String, String)],
        body: &[u8],
        path: &str,
        keys: &[serde_json::Value],
    ) -> Result<String, SignatureError> {
        let lookup = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        verify(
            &Message {
                method: "POST",
                authority: "shop.example",
                path,
                query: None,
                header: &lookup,
                body,
            },
            keys,
        )
    }

    #[test]
    fn what_is_signed_verifies_and_nothing_else_does() {
        let k = key();
        let body = br#"{"line_items":[]}"#;
        let headers = signed_post(&k, body);
        let jwks = [k.jwk()];
        assert_eq!(
            verify_with(&headers, body, "/ucp/m/checkout-sessions", &jwks).unwrap(),
            k.kid()
        );
        // Another path: the signature no longer covers this request.
        assert!(matches!(
            verify_with(&headers, body, "/ucp/m/orders", &jwks),
            Err(SignatureError::Invalid(_))
        ));
        // Another body: the digest gives it away.
        assert_eq!(
            verify_with(
                &headers,
                br#"{"line_items":[1]}"#,
                "/ucp/m/checkout-sessions",
                &jwks
            ),
            Err(SignatureError::DigestMismatch)
        );
        // Another signer's key with the same id.
        let forged = key().jwk();
        let mut forged = forged.clone();
        forged["kid"] = serde_json::json!(k.kid());
        assert!(matches!(
            verify_with(&headers, body, "/ucp/m/checkout-sessions", &[forged]),
            Err(SignatureError::Invalid(_))
        ));
        assert!(matches!(
            verify_with(&headers, body, "/ucp/m/checkout-sessions", &[]),
            Err(SignatureError::KeyNotFound(_))
        ));
        assert_eq!(
            verify_with(&[], body, "/x", &jwks),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn a_signature_must_cover_what_ucp_requires() {
        let k = key();
        let body = b"{}";
        let digest = content_digest(body);
        // Covers the method and path only: not the authority, nor the body.
        let base = format!(
            "\"@method\": POST\n\"@path\": /x\n\"@signature-params\": (\"@method\" \"@path\");keyid=\"{}\"",
            k.kid()
        );
        let sig = B64.encode(k.sign(base.as_bytes()).unwrap());
        let headers = vec![
            (
                "signature-input".to_string(),
                format!("sig1=(\"@method\" \"@path\");keyid=\"{}\"", k.kid()),
            ),
            ("signature".to_string(), format!("sig1=:{sig}:")),
            ("content-digest".to_string(), digest),
        ];
        assert!(matches!(
            verify_with(&headers, body, "/x", &[k.jwk()]),
            Err(SignatureError::Malformed(m)) if m.contains("@authority")
        ));
    }

    #[test]
    fn unknown_curves_are_refused() {
        let jwk = serde_json::json!({"kid": "k", "kty": "EC", "crv": "P-521", "x": "", "y": ""});
        assert!(matches!(
            verify_with_jwk(&jwk, b"x", b"y"),
            Err(SignatureError::AlgorithmUnsupported(_))
        ));
        let rsa = serde_json::json!({"kid": "k", "kty": "RSA"});
        assert!(matches!(
            verify_with_jwk(&rsa, b"x", b"y"),
            Err(SignatureError::AlgorithmUnsupported(_))
        ));
    }

    #[test]
    fn a_detached_jws_verifies_over_header_dot_body() {
        let k = key();
        let body = br#"{"event_type":"order_placed"}"#;
        let jws = detached_jws(&k, body).unwrap();
        let (protected, sig) = jws.split_once("..").unwrap();
        let header: serde_json::Value =
            serde_json::from_slice(&B64URL.decode(protected).unwrap()).unwrap();
        assert_eq!(header["b64"], false);
        assert_eq!(header["kid"], k.kid());
        let mut input = protected.as_bytes().to_vec();
        input.push(b'.');
        input.extend_from_slice(body);
        verify_with_jwk(&k.jwk(), &input, &B64URL.decode(sig).unwrap()).unwrap();
    }
}
