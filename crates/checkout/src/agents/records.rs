//! ACP's write-only fields, checked and recorded: intent traces sent with a
//! cancel, affiliate attribution sent with a create (first touch) or a complete
//! (last touch). Recording never stands in a checkout's way: a claim that cannot
//! be written is logged and the checkout goes on; only a malformed one (or one
//! carrying personal data) is refused, before anything happens.

use crate::CheckoutService;
use crate::error::{CheckoutError, CheckoutResult};
use crate::sessions::{LineRequest, PaymentInput, SessionInput};
use anycart_core::session::CheckoutSession;
use anycart_core::{AgentPlatformId, Currency, MerchantId, SessionId};
use anycart_store::{AffiliateClaim, IntentTraceRecord, OrderRecord, Secret, Touchpoint};
use serde_json::{Map, Value};

/// ACP's intent trace reason codes; any other is recorded as `other`.
pub const REASON_CODES: [&str; 10] = [
    "price_sensitivity",
    "shipping_cost",
    "shipping_speed",
    "product_fit",
    "trust_security",
    "returns_policy",
    "payment_options",
    "comparison",
    "timing_deferred",
    "other",
];
/// Longest `trace_summary` (ACP: 500).
pub const TRACE_SUMMARY_CHARS_MAX: usize = 500;
/// Most keys in a flat `metadata` object (ACP suggests 20).
pub const METADATA_KEYS_MAX: usize = 20;
/// Largest `metadata` object, serialised (ACP suggests 4 KB).
pub const METADATA_BYTES_MAX: usize = 4096;
/// Longest metadata key.
const METADATA_KEY_CHARS_MAX: usize = 64;
/// Longest attribution field (provider, ids, URL, timestamps).
pub const ATTRIBUTION_FIELD_CHARS_MAX: usize = 512;
/// Longest attribution token.
pub const ATTRIBUTION_TOKEN_CHARS_MAX: usize = 2048;
/// Field names that say "personal data" (ACP §7.4); false positives are
/// preferable to leaks.
const PII_KEYS: [&str; 9] = [
    "email",
    "phone",
    "ssn",
    "address",
    "birth",
    "passport",
    "first_name",
    "last_name",
    "full_name",
];

/// An affiliate attribution as an agent sends it, not yet checked.
#[derive(Clone, Debug, Default)]
pub struct AffiliateInput {
    pub provider: Option<String>,
    pub token: Option<String>,
    pub publisher_id: Option<String>,
    pub campaign_id: Option<String>,
    pub creative_id: Option<String>,
    pub sub_id: Option<String>,
    pub touchpoint: Option<String>,
    pub source_type: Option<String>,
    pub source_url: Option<String>,
    pub issued_at: Option<String>,
    pub expires_at: Option<String>,
    pub metadata: Option<Map<String, Value>>,
}

fn invalid(param: &str, message: impl Into<String>) -> CheckoutError {
    CheckoutError::invalid(param, message)
}

/// Looks like an email address: something@something.tld.
fn looks_like_email(s: &str) -> bool {
    s.split_whitespace().any(|w| {
        w.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && host.contains('.') && !host.starts_with('.') && !host.ends_with('.')
        })
    })
}

/// Looks like a phone number: 9 to 15 digits written with phone punctuation
/// (`+`, spaces, dashes, brackets, dots), e.g. `+1 555 123 4567`, `(555) 123-4567`.
/// A bare run of digits is an id, not a phone number.
fn looks_like_phone(s: &str) -> bool {
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    let punctuated = s
        .bytes()
        .any(|b| matches!(b, b'+' | b'(' | b')' | b'-' | b' ' | b'.'));
    (9..=15).contains(&digits)
        && punctuated
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'(' | b')' | b'-' | b' ' | b'.'))
}

fn refuse_pii(value: &str, param: &str) -> CheckoutResult<()> {
    if looks_like_email(value) || looks_like_phone(value.trim()) {
        return Err(CheckoutError::PersonalData {
            param: param.to_string(),
        });
    }
    Ok(())
}

/// A flat metadata object: at most [`METADATA_KEYS_MAX`] keys, string, number
/// or boolean values, at most [`METADATA_BYTES_MAX`] bytes; `pii` refuses keys
/// and values that look like personal data.
pub fn flat_metadata(
    map: Option<&Map<String, Value>>,
    param: &str,
    pii: bool,
) -> CheckoutResult<Map<String, Value>> {
    let Some(map) = map else {
        return Ok(Map::new());
    };
    if map.len() > METADATA_KEYS_MAX {
        return Err(invalid(
            param,
            format!("metadata has at most {METADATA_KEYS_MAX} keys"),
        ));
    }
    for (k, v) in map {
        let at = format!("{param}.{k}");
        if k.is_empty() || k.chars().count() > METADATA_KEY_CHARS_MAX {
            return Err(invalid(
                &at,
                format!("metadata keys are 1 to {METADATA_KEY_CHARS_MAX} characters"),
            ));
        }
        if !matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
            return Err(invalid(
                &at,
                "metadata values must be strings, numbers, or booleans",
            ));
        }
        if pii {
            let key = k.to_ascii_lowercase();
            if PII_KEYS.iter().any(|p| key.contains(p)) {
                return Err(CheckoutError::PersonalData { param: at });
            }
            if let Value::String(s) = v {
                refuse_pii(s, &at)?;
            }
        }
    }
    let bytes = serde_json::to_string(map).map_or(usize::MAX, |s| s.len());
    if bytes > METADATA_BYTES_MAX {
        return Err(invalid(
            param,
            format!("metadata is at most {METADATA_BYTES_MAX} bytes"),
        ));
    }
    Ok(map.clone())
}

/// Checks an intent trace. Unknown reason codes are kept as `other` (ACP: newer
/// clients may send codes this version does not know).
pub fn intent_trace(
    reason_code: &str,
    trace_summary: Option<&str>,
    metadata: Option<&Map<String, Value>>,
    agent: Option<AgentPlatformId>,
    now_ms: i64,
) -> CheckoutResult<IntentTraceRecord> {
    let code = reason_code.trim();
    let reason_code = if REASON_CODES.contains(&code) {
        code
    } else {
        "other"
    };
    let trace_summary = trace_summary.map(str::trim).filter(|s| !s.is_empty());
    if trace_summary.is_some_and(|s| s.chars().count() > TRACE_SUMMARY_CHARS_MAX) {
        return Err(invalid(
            "$.intent_trace.trace_summary",
            format!("at most {TRACE_SUMMARY_CHARS_MAX} characters"),
        ));
    }
    Ok(IntentTraceRecord {
        reason_code: reason_code.to_string(),
        trace_summary: trace_summary.map(String::from),
        metadata: flat_metadata(metadata, "$.intent_trace.metadata", false)?,
        agent: agent.map(|a| a.to_string()),
        created_at_ms: now_ms,
    })
}

/// One optional text field of an attribution: bounded, printable, no personal data.
fn claim_field(value: Option<&String>, field: &str) -> CheckoutResult<Option<String>> {
    let param = format!("$.affiliate_attribution.{field}");
    let Some(v) = value.map(|v| v.trim()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > ATTRIBUTION_FIELD_CHARS_MAX || v.chars().any(char::is_control) {
        return Err(invalid(
            &param,
            format!("at most {ATTRIBUTION_FIELD_CHARS_MAX} printable characters"),
        ));
    }
    refuse_pii(v, &param)?;
    Ok(Some(v.to_string()))
}

fn rfc3339_field(value: Option<&String>, field: &str) -> CheckoutResult<Option<String>> {
    let v = claim_field(value, field)?;
    if let Some(t) = &v
        && time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).is_err()
    {
        return Err(invalid(
            &format!("$.affiliate_attribution.{field}"),
            "must be an RFC 3339 date-time",
        ));
    }
    Ok(v)
}

/// Checks an affiliate attribution sent at `touchpoint` (creation: first;
/// completion: last). `provider` and one of `token`, `publisher_id` are needed.
pub fn affiliate_claim(
    input: &AffiliateInput,
    touchpoint: Touchpoint,
) -> CheckoutResult<AffiliateClaim> {
    let provider = claim_field(input.provider.as_ref(), "provider")?.ok_or_else(|| {
        invalid(
            "$.affiliate_attribution.provider",
            "provider is required (e.g. impact.com)",
        )
    })?;
    let token = match input
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(t)
            if t.chars().count() > ATTRIBUTION_TOKEN_CHARS_MAX
                || !t.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            return Err(invalid(
                "$.affiliate_attribution.token",
                format!("at most {ATTRIBUTION_TOKEN_CHARS_MAX} printable characters"),
            ));
        }
        other => other.map(Secret::new),
    };
    let publisher_id = claim_field(input.publisher_id.as_ref(), "publisher_id")?;
    if token.is_none() && publisher_id.is_none() {
        return Err(invalid(
            "$.affiliate_attribution",
            "send a token or a publisher_id",
        ));
    }
    if let Some(t) = claim_field(input.touchpoint.as_ref(), "touchpoint")?
        && !matches!(t.as_str(), "first" | "last")
    {
        return Err(invalid(
            "$.affiliate_attribution.touchpoint",
            "touchpoint is first or last",
        ));
    }
    let source_type = claim_field(input.source_type.as_ref(), "source.type")?;
    if source_type
        .as_deref()
        .is_some_and(|t| !matches!(t, "url" | "platform" | "unknown"))
    {
        return Err(invalid(
            "$.affiliate_attribution.source.type",
            "source.type is url, platform or unknown",
        ));
    }
    Ok(AffiliateClaim {
        touchpoint,
        provider,
        token,
        publisher_id,
        campaign_id: claim_field(input.campaign_id.as_ref(), "campaign_id")?,
        creative_id: claim_field(input.creative_id.as_ref(), "creative_id")?,
        sub_id: claim_field(input.sub_id.as_ref(), "sub_id")?,
        source_type,
        source_url: claim_field(input.source_url.as_ref(), "source.url")?,
        issued_at: rfc3339_field(input.issued_at.as_ref(), "issued_at")?,
        expires_at: rfc3339_field(input.expires_at.as_ref(), "expires_at")?,
        metadata: flat_metadata(
            input.metadata.as_ref(),
            "$.affiliate_attribution.metadata",
            true,
        )?,
    })
}

impl CheckoutService {
    /// The attribution claims recorded for an order's checkout (first touch,
    /// last touch), tokens included: for the merchant's settlement with the
    /// affiliate networks, behind the secret key only.
    pub async fn order_affiliate_claims(
        &self,
        merchant: MerchantId,
        order: anycart_core::OrderId,
    ) -> CheckoutResult<Vec<AffiliateClaim>> {
        let record = self
            .store
            .get_order(merchant, order)
            .await?
            .ok_or(CheckoutError::NotFound(crate::error::Resource::Order))?;
        Ok(self
            .store
            .affiliate_claims(merchant, record.order.session_id)
            .await?)
    }

    /// Records an attribution claim; a failure is logged, never returned.
    async fn record_claim(&self, merchant: MerchantId, session: SessionId, claim: &AffiliateClaim) {
        match self
            .store
            .record_affiliate_claim(merchant, session, claim, self.now_ms())
            .await
        {
            Ok(true) => {
                tracing::info!(session_id = %session, touchpoint = claim.touchpoint.as_str(), provider = %claim.provider, "affiliate attribution recorded")
            }
            Ok(false) => {
                tracing::info!(session_id = %session, touchpoint = claim.touchpoint.as_str(), "affiliate attribution already claimed; kept the first")
            }
            Err(e) => {
                tracing::warn!(session_id = %session, error = %e, "could not record an affiliate attribution")
            }
        }
    }

    /// Creates a session (as [`CheckoutService::create`]) and records the
    /// agent's first-touch attribution claim with it.
    pub async fn create_with_claim(
        &self,
        merchant: MerchantId,
        currency: Currency,
        lines: Vec<LineRequest>,
        input: SessionInput,
        claim: Option<AffiliateClaim>,
    ) -> CheckoutResult<CheckoutSession> {
        let session = self.create(merchant, currency, lines, input).await?;
        if let Some(claim) = &claim {
            self.record_claim(merchant, session.id, claim).await;
        }
        Ok(session)
    }

    /// Completes a session (as [`CheckoutService::complete_with_order`]), recording the
    /// agent's last-touch attribution claim first, so the order carries it to
    /// the platform from the start.
    pub async fn complete_with_claim(
        &self,
        merchant: MerchantId,
        id: SessionId,
        payment: PaymentInput,
        claim: Option<AffiliateClaim>,
    ) -> CheckoutResult<(CheckoutSession, Option<OrderRecord>)> {
        if let Some(claim) = &claim {
            let session = self.get(merchant, id).await?;
            if !session.status.is_terminal() {
                self.record_claim(merchant, id, claim).await;
            }
        }
        self.complete_with_order(merchant, id, payment).await
    }

    /// Cancels a session (as [`CheckoutService::cancel`]) and records why, when
    /// the agent said. The cancel stands whatever becomes of the trace.
    pub async fn cancel_with_trace(
        &self,
        merchant: MerchantId,
        id: SessionId,
        trace: Option<IntentTraceRecord>,
    ) -> CheckoutResult<CheckoutSession> {
        let session = self.cancel(merchant, id).await?;
        if let Some(trace) = &trace {
            match self.store.record_intent_trace(merchant, id, trace).await {
                Ok(_) => {
                    tracing::info!(session_id = %id, reason_code = %trace.reason_code, "intent trace recorded");
                }
                Err(e) => {
                    tracing::warn!(session_id = %id, error = %e, "could not record an intent trace")
                }
            }
        }
        Ok(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn metadata_is_flat_bounded_and_typed() {
        assert!(
            flat_metadata(
                Some(&map(json!({"a": 1, "b": "x", "c": true}))),
                "$.m",
                true
            )
            .is_ok()
        );
        let nested = flat_metadata(Some(&map(json!({"a": {"b": 1}}))), "$.m", false).unwrap_err();
        assert!(matches!(nested, CheckoutError::Invalid { ref param, .. } if param == "$.m.a"));
        assert!(flat_metadata(Some(&map(json!({"a": [1]}))), "$.m", false).is_err());
        assert!(flat_metadata(Some(&map(json!({"a": null}))), "$.m", false).is_err());
        let many: Map<String, Value> = (0..21).map(|i| (format!("k{i}"), json!(i))).collect();
        assert!(flat_metadata(Some(&many), "$.m", false).is_err());
        let big = map(json!({"a": "x".repeat(5000)}));
        assert!(flat_metadata(Some(&big), "$.m", false).is_err());
    }

    #[test]
    fn personal_data_is_refused_in_attribution_but_ids_are_not() {
        for (k, v) in [
            ("user_email", json!("x")),
            ("note", json!("write to sam@example.com")),
            ("contact", json!("+1 555 123 4567")),
            ("contact", json!("(555) 123-4567")),
        ] {
            let m = map(json!({ k: v }));
            let e = flat_metadata(Some(&m), "$.m", true).unwrap_err();
            assert!(
                matches!(e, CheckoutError::PersonalData { .. }),
                "{k}: {e:?}"
            );
        }
        for ok in ["1234567890", "cmp_456", "u1=abc&u2=def", "2025-12-17"] {
            assert!(refuse_pii(ok, "$.x").is_ok(), "{ok}");
        }
    }

    #[test]
    fn a_claim_needs_a_provider_and_a_token_or_publisher() {
        let base = AffiliateInput {
            provider: Some("impact.com".into()),
            publisher_id: Some("pub_123".into()),
            ..Default::default()
        };
        let c = affiliate_claim(&base, Touchpoint::First).unwrap();
        assert_eq!(c.touchpoint, Touchpoint::First);
        let no_provider = AffiliateInput {
            provider: None,
            ..base.clone()
        };
        assert!(affiliate_claim(&no_provider, Touchpoint::First).is_err());
        let neither = AffiliateInput {
            publisher_id: None,
            ..base.clone()
        };
        assert!(affiliate_claim(&neither, Touchpoint::Last).is_err());
        let token_only = AffiliateInput {
            publisher_id: None,
            token: Some("atp_01J".into()),
            ..base.clone()
        };
        assert!(affiliate_claim(&token_only, Touchpoint::Last).is_ok());
        let bad_time = AffiliateInput {
            issued_at: Some("yesterday".into()),
            ..base.clone()
        };
        assert!(affiliate_claim(&bad_time, Touchpoint::Last).is_err());
        let email = AffiliateInput {
            sub_id: Some("sam@example.com".into()),
            ..base
        };
        assert!(matches!(
            affiliate_claim(&email, Touchpoint::Last),
            Err(CheckoutError::PersonalData { .. })
        ));
    }

    #[test]
    fn unknown_reason_codes_are_other_and_summaries_are_bounded() {
        let t = intent_trace("buyer_initiated", Some("  "), None, None, 1).unwrap();
        assert_eq!((t.reason_code.as_str(), t.trace_summary), ("other", None));
        let t = intent_trace("shipping_cost", Some("too dear"), None, None, 1).unwrap();
        assert_eq!(t.reason_code, "shipping_cost");
        assert!(intent_trace("other", Some(&"x".repeat(501)), None, None, 1).is_err());
    }

    proptest! {
        #[test]
        fn email_shaped_strings_are_always_caught(user in "[a-z0-9._]{1,12}", host in "[a-z]{1,10}", tld in "[a-z]{2,4}") {
            let s = format!("{user}@{host}.{tld}");
            prop_assert!(looks_like_email(&s));
        }

        #[test]
        fn bare_digit_ids_are_never_phones(digits in "[0-9]{1,20}") {
            prop_assert!(!looks_like_phone(&digits));
        }
    }
}
