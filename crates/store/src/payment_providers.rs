//! Which payment provider a merchant takes money through, and its keys.
//!
//! Like [`crate::PlatformSettings`], one serde-tagged enum is shared by
//! `anycart payments …`, `PUT /v1/payment_provider` and storage, so a setting is
//! named once and unknown fields are refused everywhere. The whole value is sealed
//! at rest; `public_settings` keeps its view without secrets.

use crate::connection_settings::Secret;
use crate::{Store, StoreResult};
use anycart_core::MerchantId;
use serde::{Deserialize, Serialize};

/// When a payment is captured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CapturePolicy {
    /// At completion: the shopper is charged when the order is placed.
    #[default]
    Automatic,
    /// Only authorised at completion, captured when the order is fulfilled
    /// (`POST /v1/orders/{id}/capture`). Card authorisations lapse after about 7 days.
    OnFulfilment,
}

/// The merchant's own Stripe account (the merchant stays the merchant of record).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StripeSettings {
    /// `sk_live_…`, `sk_test_…` or a restricted `rk_…` key. Write-only.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub secret_key: Secret,
    /// `pk_live_…` / `pk_test_…`: what the widget's Stripe.js runs with.
    pub publishable_key: String,
    /// `whsec_…`: signs the events Stripe sends to `/webhooks/stripe/{merchant_id}`.
    /// Write-only.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub webhook_secret: Secret,
    /// Overrides `https://api.stripe.com` (a proxy, a local fake in tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base: Option<String>,
    /// Overrides `https://js.stripe.com/v3/` (the tests' stand-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub js_url: Option<String>,
    #[serde(default)]
    pub capture: CapturePolicy,
    /// The Stripe account id (`acct_…`), learnt from the keys when configured:
    /// agents scope delegated payment tokens to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

impl StripeSettings {
    /// True for live keys (real money), false for test-mode keys.
    pub fn livemode(&self) -> bool {
        self.secret_key.expose().contains("_live_")
    }
}

/// The sandbox: test cards only, no real money (the default of every merchant).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SandboxSettings {
    /// Unset: the server's `--auto-capture` setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<CapturePolicy>,
}

/// How a merchant is paid.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "provider", rename_all = "snake_case")]
pub enum PaymentProviderSettings {
    Sandbox(SandboxSettings),
    Stripe(StripeSettings),
}

impl Default for PaymentProviderSettings {
    fn default() -> Self {
        PaymentProviderSettings::Sandbox(SandboxSettings::default())
    }
}

impl PaymentProviderSettings {
    /// `sandbox` or `stripe`: the name payments and orders record.
    pub fn provider(&self) -> &'static str {
        match self {
            PaymentProviderSettings::Sandbox(_) => "sandbox",
            PaymentProviderSettings::Stripe(_) => "stripe",
        }
    }

    /// The settings without their secrets (what the admin API shows).
    pub fn public_view(&self) -> serde_json::Value {
        let mut view = match self {
            PaymentProviderSettings::Sandbox(s) => serde_json::json!({
                "provider": "sandbox",
                "capture": s.capture,
                "livemode": false,
            }),
            PaymentProviderSettings::Stripe(s) => serde_json::json!({
                "provider": "stripe",
                "publishable_key": s.publishable_key,
                "api_base": s.api_base,
                "js_url": s.js_url,
                "capture": s.capture,
                "account_id": s.account_id,
                "livemode": s.livemode(),
                "webhook_secret_configured": !s.webhook_secret.expose().is_empty(),
            }),
        };
        if let Some(fields) = view.as_object_mut() {
            fields.retain(|_, v| !v.is_null());
        }
        view
    }
}

/// A merchant's provider row.
#[derive(Clone, Debug)]
pub struct PaymentProviderRecord {
    pub merchant_id: MerchantId,
    pub settings: PaymentProviderSettings,
    pub active: bool,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(sqlx::FromRow)]
struct ProviderRow {
    sealed_settings: String,
    active: i64,
    created_at_ms: i64,
    updated_at_ms: i64,
}

impl ProviderRow {
    fn into_record(
        self,
        merchant: MerchantId,
        store: &Store,
    ) -> StoreResult<PaymentProviderRecord> {
        let settings =
            serde_json::from_str(&store.open_credentials(merchant, &self.sealed_settings)?)?;
        Ok(PaymentProviderRecord {
            merchant_id: merchant,
            settings,
            active: self.active == 1,
            created_at_ms: self.created_at_ms,
            updated_at_ms: self.updated_at_ms,
        })
    }
}

const DEACTIVATE_PROVIDERS: &str = r"
UPDATE merchant_payment_providers
   SET active = 0
 WHERE merchant_id = $1 AND active = 1";

/// `created_at_ms` is kept from the first write.
const UPSERT_ACTIVE_PROVIDER: &str = r"
INSERT INTO merchant_payment_providers (merchant_id, provider, sealed_settings, public_settings,
                                        active, created_at_ms, updated_at_ms)
VALUES ($1, $2, $3, $4, 1, $5, $5)
    ON CONFLICT (merchant_id, provider) DO UPDATE
   SET sealed_settings = excluded.sealed_settings,
       public_settings = excluded.public_settings,
       active = 1,
       updated_at_ms = excluded.updated_at_ms";

const SELECT_ACTIVE_PROVIDER: &str = r"
SELECT sealed_settings, active, created_at_ms, updated_at_ms
  FROM merchant_payment_providers
 WHERE merchant_id = $1 AND active = 1";

const SELECT_PROVIDER: &str = r"
SELECT sealed_settings, active, created_at_ms, updated_at_ms
  FROM merchant_payment_providers
 WHERE merchant_id = $1 AND provider = $2";

impl Store {
    /// Makes `settings` the merchant's live payment provider (replacing that
    /// provider's earlier settings; another provider's stay, inactive).
    pub async fn set_payment_provider(
        &self,
        merchant: MerchantId,
        settings: &PaymentProviderSettings,
        now_ms: i64,
    ) -> StoreResult<()> {
        let sealed = self.seal_credentials(merchant, &serde_json::to_string(settings)?)?;
        let mut tx = self.write.begin().await?;
        sqlx::query(DEACTIVATE_PROVIDERS)
            .bind(merchant.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query(UPSERT_ACTIVE_PROVIDER)
            .bind(merchant.to_string())
            .bind(settings.provider())
            .bind(sealed)
            .bind(settings.public_view().to_string())
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The merchant's live provider; `None` means the sandbox default.
    pub async fn active_payment_provider(
        &self,
        merchant: MerchantId,
    ) -> StoreResult<Option<PaymentProviderRecord>> {
        sqlx::query_as::<_, ProviderRow>(SELECT_ACTIVE_PROVIDER)
            .bind(merchant.to_string())
            .fetch_optional(&self.read)
            .await?
            .map(|row| row.into_record(merchant, self))
            .transpose()
    }

    /// The merchant's settings of one provider, live or not (what a payment made
    /// before a switch is settled with).
    pub async fn payment_provider_named(
        &self,
        merchant: MerchantId,
        provider: &str,
    ) -> StoreResult<Option<PaymentProviderRecord>> {
        sqlx::query_as::<_, ProviderRow>(SELECT_PROVIDER)
            .bind(merchant.to_string())
            .bind(provider)
            .fetch_optional(&self.read)
            .await?
            .map(|row| row.into_record(merchant, self))
            .transpose()
    }
}
