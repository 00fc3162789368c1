//! Admin API for how the merchant is paid: `PUT/GET /v1/payment_provider`.

use crate::auth::{OwnerCaller, SecretCaller};
use crate::error::ApiError;
use crate::extract::AcpJson;
use crate::state::AppState;
use anycart_checkout::clock::rfc3339;
use anycart_store::PaymentProviderSettings;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

/// The merchant's payment provider as the admin API shows it (never a secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentProviderWire {
    /// `sandbox` or `stripe`.
    pub provider: &'static str,
    /// The ACP payment handler checkouts advertise (`card_sandbox`, `card_stripe`).
    pub handler_id: &'static str,
    /// The settings without secrets (`publishable_key`, `capture`, `account_id`,
    /// `livemode`, …).
    pub settings: serde_json::Value,
    /// Where to point the Stripe webhook endpoint (Stripe only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// The widget's domain registered with Stripe for Apple Pay and Google Pay
    /// (only in the answer to `PUT`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wallet_domain: Option<WalletDomainWire>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// The outcome of registering the widget's domain with Stripe.
#[derive(Debug, Serialize, ToSchema)]
pub struct WalletDomainWire {
    pub domain: String,
    pub registered: bool,
    /// Why not, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The host of the widget's origin (what wallets see as the payment page).
fn widget_domain(base_url: &str) -> Option<String> {
    url::Url::parse(base_url).ok()?.host_str().map(String::from)
}

fn provider_wire(
    state: &AppState,
    merchant: anycart_core::MerchantId,
    settings: &PaymentProviderSettings,
    updated_at_ms: Option<i64>,
) -> PaymentProviderWire {
    let stripe = matches!(settings, PaymentProviderSettings::Stripe(_));
    PaymentProviderWire {
        provider: settings.provider(),
        handler_id: if stripe {
            anycart_checkout::payment_providers::STRIPE_HANDLER_ID
        } else {
            anycart_payments::sandbox::SANDBOX_HANDLER_ID
        },
        settings: settings.public_view(),
        webhook_url: stripe
            .then(|| format!("{}/webhooks/stripe/{merchant}", state.config.base_url)),
        wallet_domain: None,
        updated_at: updated_at_ms.map(rfc3339),
    }
}

/// Choose how the merchant is paid. `{"provider": "sandbox"}` takes test cards
/// only; `{"provider": "stripe", "secret_key", "publishable_key", "webhook_secret"}`
/// charges the merchant's own Stripe account. The keys are checked with Stripe
/// first, sealed at rest and never returned.
#[utoipa::path(put, path = "/payment_provider", tag = "Admin", request_body = PaymentProviderSettings, responses((status = 200, body = PaymentProviderWire), (status = 400, body = crate::routes::acp::wire::ErrorWire)), security(("bearer" = [])))]
pub async fn put_payment_provider(
    State(state): State<AppState>,
    caller: OwnerCaller,
    body: AcpJson<PaymentProviderSettings>,
) -> Result<Json<PaymentProviderWire>, ApiError> {
    let merchant = caller.0.merchant;
    let domain = widget_domain(&state.config.base_url);
    let configured = state
        .checkout
        .configure_payment_provider(merchant, body.value, domain.as_deref())
        .await?;
    let record = state
        .store
        .active_payment_provider(merchant)
        .await?
        .ok_or_else(|| ApiError::not_found("payment provider"))?;
    let mut wire = provider_wire(
        &state,
        merchant,
        &record.settings,
        Some(record.updated_at_ms),
    );
    wire.wallet_domain = configured.wallet_domain.map(|r| match r {
        Ok(domain) => WalletDomainWire {
            domain,
            registered: true,
            error: None,
        },
        Err(error) => WalletDomainWire {
            domain: domain.clone().unwrap_or_default(),
            registered: false,
            error: Some(error),
        },
    });
    Ok(Json(wire))
}

/// Which provider is live for the merchant (the sandbox until one is configured).
#[utoipa::path(get, path = "/payment_provider", tag = "Admin", responses((status = 200, body = PaymentProviderWire)), security(("bearer" = [])))]
pub async fn get_payment_provider(
    State(state): State<AppState>,
    caller: SecretCaller,
) -> Result<Json<PaymentProviderWire>, ApiError> {
    let merchant = caller.0.merchant;
    let record = state.store.active_payment_provider(merchant).await?;
    let wire = match record {
        Some(r) => provider_wire(&state, merchant, &r.settings, Some(r.updated_at_ms)),
        None => provider_wire(&state, merchant, &PaymentProviderSettings::default(), None),
    };
    Ok(Json(wire))
}
