//! What agents tell anycart that it keeps but never shows them again (ACP's
//! write-only fields): intent traces (why a checkout was abandoned) and
//! affiliate attribution claims (who sent the buyer). Each is written once: a
//! replay, or a later conflicting claim, finds the row and changes nothing.

use crate::{Secret, Store, StoreResult};
use anycart_core::{MerchantId, SessionId};
use serde::{Deserialize, Serialize};

/// Why an agent abandoned a checkout session (ACP `IntentTrace`), checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntentTraceRecord {
    /// A known ACP reason code (`price_sensitivity`, …); unknown codes are `other`.
    pub reason_code: String,
    pub trace_summary: Option<String>,
    /// Flat: string, number or boolean values only.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// The agent platform that sent it (its id), if known.
    pub agent: Option<String>,
    pub created_at_ms: i64,
}

/// Which end of the journey an attribution claim describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Touchpoint {
    /// Sent when the session was created.
    First,
    /// Sent when it was completed.
    Last,
}

impl Touchpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Touchpoint::First => "first",
            Touchpoint::Last => "last",
        }
    }
}

/// An affiliate attribution claim (ACP `AffiliateAttribution`), checked. The
/// token is a secret: it is sealed at rest and skipped when the claim is shown.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AffiliateClaim {
    pub touchpoint: Touchpoint,
    pub provider: String,
    #[serde(skip)]
    pub token: Option<Secret>,
    pub publisher_id: Option<String>,
    pub campaign_id: Option<String>,
    pub creative_id: Option<String>,
    pub sub_id: Option<String>,
    /// `url`, `platform` or `unknown`.
    pub source_type: Option<String>,
    pub source_url: Option<String>,
    pub issued_at: Option<String>,
    pub expires_at: Option<String>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

const INSERT_INTENT_TRACE: &str = r"
INSERT INTO intent_traces (merchant_id, session_id, reason_code, trace_summary, metadata,
                           agent, created_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (merchant_id, session_id) DO NOTHING";

const SELECT_INTENT_TRACE: &str = r"
SELECT reason_code, trace_summary, metadata, agent, created_at_ms
  FROM intent_traces
 WHERE merchant_id = $1 AND session_id = $2";

const INSERT_AFFILIATE_CLAIM: &str = r"
INSERT INTO affiliate_attributions (merchant_id, session_id, touchpoint, doc, token,
                                    created_at_ms)
VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (merchant_id, session_id, touchpoint) DO NOTHING";

const SELECT_AFFILIATE_CLAIMS: &str = r"
SELECT doc, token
  FROM affiliate_attributions
 WHERE merchant_id = $1 AND session_id = $2
 ORDER BY created_at_ms, touchpoint";

#[derive(sqlx::FromRow)]
struct IntentTraceRow {
    reason_code: String,
    trace_summary: Option<String>,
    metadata: String,
    agent: Option<String>,
    created_at_ms: i64,
}

#[derive(sqlx::FromRow)]
struct AffiliateClaimRow {
    doc: String,
    token: Option<String>,
}

impl Store {
    /// Records why `session` was abandoned; false when a trace was recorded
    /// already (the first one stays).
    pub async fn record_intent_trace(
        &self,
        merchant: MerchantId,
        session: SessionId,
        trace: &IntentTraceRecord,
    ) -> StoreResult<bool> {
        let done = sqlx::query(INSERT_INTENT_TRACE)
            .bind(merchant.to_string())
            .bind(session.to_string())
            .bind(trace.reason_code.clone())
            .bind(trace.trace_summary.clone())
            .bind(serde_json::to_string(&trace.metadata)?)
            .bind(trace.agent.clone())
            .bind(trace.created_at_ms)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The intent trace recorded for `session`, if any.
    pub async fn intent_trace(
        &self,
        merchant: MerchantId,
        session: SessionId,
    ) -> StoreResult<Option<IntentTraceRecord>> {
        sqlx::query_as::<_, IntentTraceRow>(SELECT_INTENT_TRACE)
            .bind(merchant.to_string())
            .bind(session.to_string())
            .fetch_optional(&self.read)
            .await?
            .map(|r| {
                Ok(IntentTraceRecord {
                    reason_code: r.reason_code,
                    trace_summary: r.trace_summary,
                    metadata: serde_json::from_str(&r.metadata)?,
                    agent: r.agent,
                    created_at_ms: r.created_at_ms,
                })
            })
            .transpose()
    }

    /// Records an attribution claim for `session`; false when that touchpoint
    /// was claimed already (the first claim wins).
    pub async fn record_affiliate_claim(
        &self,
        merchant: MerchantId,
        session: SessionId,
        claim: &AffiliateClaim,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let token = claim
            .token
            .as_ref()
            .map(|t| self.seal_credentials(merchant, t.expose()))
            .transpose()?;
        let done = sqlx::query(INSERT_AFFILIATE_CLAIM)
            .bind(merchant.to_string())
            .bind(session.to_string())
            .bind(claim.touchpoint.as_str())
            .bind(serde_json::to_string(claim)?)
            .bind(token)
            .bind(now_ms)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The attribution claims of `session` (its order's), first touch first.
    pub async fn affiliate_claims(
        &self,
        merchant: MerchantId,
        session: SessionId,
    ) -> StoreResult<Vec<AffiliateClaim>> {
        sqlx::query_as::<_, AffiliateClaimRow>(SELECT_AFFILIATE_CLAIMS)
            .bind(merchant.to_string())
            .bind(session.to_string())
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(|r| {
                let mut claim: AffiliateClaim = serde_json::from_str(&r.doc)?;
                claim.token = r
                    .token
                    .map(|t| self.open_credentials(merchant, &t).map(Secret::new))
                    .transpose()?;
                Ok(claim)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_s_document_never_holds_its_token() {
        let claim = AffiliateClaim {
            touchpoint: Touchpoint::First,
            provider: "impact.com".into(),
            token: Some(Secret::new("atp_secret")),
            publisher_id: Some("pub_1".into()),
            campaign_id: None,
            creative_id: None,
            sub_id: None,
            source_type: None,
            source_url: None,
            issued_at: None,
            expires_at: None,
            metadata: serde_json::Map::new(),
        };
        let doc = serde_json::to_string(&claim).unwrap();
        assert!(!doc.contains("atp_secret"), "{doc}");
        assert!(doc.contains("\"touchpoint\":\"first\""));
    }
}
