//! Which provider takes a merchant's money, as each checkout step needs it.
//!
//! Every merchant starts on the sandbox (test cards, no money). A merchant that
//! configured Stripe (`PUT /v1/payment_provider`, `anycart payments stripe`) is
//! charged on its own Stripe account. Providers are built from the stored settings
//! and cached per merchant for [`PROVIDER_CACHE_TTL_MS`]: a switch is seen at once
//! on the node that made it and within that time on the others.

use crate::CheckoutService;
use crate::error::{CheckoutError, CheckoutResult};
use anycart_core::MerchantId;
use anycart_payments::PaymentProvider;
use anycart_payments::stripe::{STRIPE_API_BASE, StripeConfig, StripeProvider};
use anycart_store::{CapturePolicy, PaymentProviderSettings, StripeSettings};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a node reuses a merchant's provider before reading its settings again.
pub const PROVIDER_CACHE_TTL_MS: u64 = 2_000;
/// The ACP handler id of card payments through Stripe (Payment Element cards,
/// wallets, and agents' shared payment tokens).
pub const STRIPE_HANDLER_ID: &str = "card_stripe";
/// Stripe.js, as production loads it.
pub const STRIPE_JS_URL: &str = "https://js.stripe.com/v3/";

/// A merchant's provider with the settings it was built from.
#[derive(Clone, Debug)]
pub struct LiveProvider {
    pub provider: Arc<dyn PaymentProvider>,
    pub settings: Arc<PaymentProviderSettings>,
}

impl LiveProvider {
    /// `sandbox` or `stripe`.
    pub fn name(&self) -> &'static str {
        self.settings.provider()
    }

    /// The ACP payment handler this provider takes.
    pub fn handler_id(&self) -> &'static str {
        match &*self.settings {
            PaymentProviderSettings::Sandbox(_) => anycart_payments::sandbox::SANDBOX_HANDLER_ID,
            PaymentProviderSettings::Stripe(_) => STRIPE_HANDLER_ID,
        }
    }

    /// Whether payments are captured at completion (else on fulfilment).
    pub fn captures_at_completion(&self, server_default: bool) -> bool {
        match &*self.settings {
            PaymentProviderSettings::Sandbox(s) => s
                .capture
                .map_or(server_default, |c| c == CapturePolicy::Automatic),
            PaymentProviderSettings::Stripe(s) => s.capture == CapturePolicy::Automatic,
        }
    }

    /// The Stripe settings, when this is Stripe.
    pub fn stripe(&self) -> Option<&StripeSettings> {
        match &*self.settings {
            PaymentProviderSettings::Stripe(s) => Some(s),
            PaymentProviderSettings::Sandbox(_) => None,
        }
    }

    /// The Stripe client, when this is Stripe (for calls beyond the trait:
    /// shared payment tokens, customers, domains).
    pub fn stripe_client(&self) -> Option<StripeProvider> {
        self.stripe().and_then(|s| stripe_provider(s).ok())
    }
}

/// The provider behind an ACP handler id (what a pending payment names).
pub fn provider_of_handler(handler_id: &str) -> &'static str {
    if handler_id == STRIPE_HANDLER_ID {
        "stripe"
    } else {
        "sandbox"
    }
}

/// Builds the Stripe client of a merchant's settings.
pub fn stripe_provider(s: &StripeSettings) -> CheckoutResult<StripeProvider> {
    StripeProvider::new(StripeConfig {
        secret_key: s.secret_key.to_secret_string(),
        api_base: s.api_base.clone().unwrap_or_else(|| STRIPE_API_BASE.into()),
    })
    .map_err(|e| CheckoutError::PaymentUnavailable(e.to_string()))
}

#[derive(Debug)]
struct Cached {
    fetched: Instant,
    live: LiveProvider,
}

/// Every merchant's provider. The sandbox instance is shared (its ledger is the
/// tests' evidence); tests may replace it with a wrapper that injects faults.
#[derive(Debug)]
pub struct PaymentProviders {
    sandbox: Arc<dyn PaymentProvider>,
    cache: Mutex<HashMap<MerchantId, Cached>>,
}

impl PaymentProviders {
    pub fn new(sandbox: Arc<dyn PaymentProvider>) -> Self {
        PaymentProviders {
            sandbox,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn live_of(&self, settings: PaymentProviderSettings) -> CheckoutResult<LiveProvider> {
        let provider: Arc<dyn PaymentProvider> = match &settings {
            PaymentProviderSettings::Sandbox(_) => self.sandbox.clone(),
            PaymentProviderSettings::Stripe(s) => Arc::new(stripe_provider(s)?),
        };
        Ok(LiveProvider {
            provider,
            settings: Arc::new(settings),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<MerchantId, Cached>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets a merchant's cached provider (after its settings changed here).
    pub fn invalidate(&self, merchant: MerchantId) {
        self.lock().remove(&merchant);
    }
}

impl CheckoutService {
    /// The provider new payments of `merchant` go through.
    pub async fn live_provider(&self, merchant: MerchantId) -> CheckoutResult<LiveProvider> {
        let ttl = Duration::from_millis(PROVIDER_CACHE_TTL_MS);
        if let Some(c) = self.payments.lock().get(&merchant)
            && c.fetched.elapsed() < ttl
        {
            return Ok(c.live.clone());
        }
        let settings = self
            .store
            .active_payment_provider(merchant)
            .await?
            .map(|r| r.settings)
            .unwrap_or_default();
        let live = self.payments.live_of(settings)?;
        self.payments.lock().insert(
            merchant,
            Cached {
                fetched: Instant::now(),
                live: live.clone(),
            },
        );
        Ok(live)
    }

    /// The provider named `name` as `merchant` configured it, live or not: what
    /// settles a payment journaled before a switch.
    pub async fn provider_named(
        &self,
        merchant: MerchantId,
        name: &str,
    ) -> CheckoutResult<LiveProvider> {
        let live = self.live_provider(merchant).await?;
        if live.name() == name {
            return Ok(live);
        }
        let settings = match self.store.payment_provider_named(merchant, name).await? {
            Some(record) => record.settings,
            None if name == "sandbox" => PaymentProviderSettings::default(),
            None => {
                return Err(CheckoutError::PaymentUnavailable(format!(
                    "no settings for the `{name}` provider"
                )));
            }
        };
        self.payments.live_of(settings)
    }
}

/// What configuring a provider did beyond storing its settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Configured {
    /// The Stripe account the keys belong to.
    pub account_id: Option<String>,
    /// The widget's domain registered for Apple Pay and Google Pay, or why not.
    pub wallet_domain: Option<Result<String, String>>,
}

/// Longest key or URL setting accepted.
pub const PROVIDER_SETTING_LEN_MAX: usize = 512;

fn check_prefix(param: &str, value: &str, prefixes: &[&str]) -> CheckoutResult<()> {
    let ok = value.len() <= PROVIDER_SETTING_LEN_MAX
        && prefixes.iter().any(|p| value.starts_with(p))
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(CheckoutError::invalid(
            param,
            format!("must start with {}", prefixes.join(" or ")),
        ))
    }
}

/// An `api_base`/`js_url` override: https anywhere, plain http only to this
/// machine (a local fake), so a secret key never crosses a network in clear.
fn check_url(param: &str, value: &str) -> CheckoutResult<()> {
    let bad = |m: &str| CheckoutError::invalid(param, m.to_string());
    if value.len() > PROVIDER_SETTING_LEN_MAX {
        return Err(bad("is too long"));
    }
    let url = url::Url::parse(value).map_err(|_| bad("must be an absolute URL"))?;
    let local = matches!(
        url.host(),
        Some(url::Host::Ipv4(ip)) if ip.is_loopback()
    ) || matches!(url.host(), Some(url::Host::Domain("localhost")));
    match url.scheme() {
        "https" => Ok(()),
        "http" if local => Ok(()),
        _ => Err(bad("must be https (or http to 127.0.0.1 / localhost)")),
    }
}

/// Refuses Stripe settings that cannot work, before anything is called.
fn check_stripe(s: &StripeSettings) -> CheckoutResult<()> {
    let secret = s.secret_key.expose();
    check_prefix(
        "$.secret_key",
        secret,
        &["sk_test_", "sk_live_", "rk_test_", "rk_live_"],
    )?;
    check_prefix(
        "$.publishable_key",
        &s.publishable_key,
        &["pk_test_", "pk_live_"],
    )?;
    check_prefix("$.webhook_secret", s.webhook_secret.expose(), &["whsec_"])?;
    if s.livemode() != s.publishable_key.starts_with("pk_live_") {
        return Err(CheckoutError::invalid(
            "$.publishable_key",
            "the secret and publishable keys must both be live or both be test keys",
        ));
    }
    if let Some(u) = &s.api_base {
        check_url("$.api_base", u)?;
    }
    if let Some(u) = &s.js_url {
        check_url("$.js_url", u)?;
    }
    Ok(())
}

impl CheckoutService {
    /// Makes `settings` the merchant's payment provider. Stripe keys are checked
    /// with Stripe first (the account they open is recorded), and the widget's
    /// domain (`widget_domain`) is registered for wallets.
    pub async fn configure_payment_provider(
        &self,
        merchant: MerchantId,
        mut settings: PaymentProviderSettings,
        widget_domain: Option<&str>,
    ) -> CheckoutResult<Configured> {
        let mut configured = Configured {
            account_id: None,
            wallet_domain: None,
        };
        if let PaymentProviderSettings::Stripe(s) = &mut settings {
            check_stripe(s)?;
            let stripe = stripe_provider(s)?;
            let account = stripe.retrieve_account().await.map_err(|e| match e {
                anycart_payments::PaymentError::Refused(m) => {
                    CheckoutError::invalid("$.secret_key", format!("Stripe refused the key: {m}"))
                }
                other => CheckoutError::PaymentUnavailable(other.to_string()),
            })?;
            s.account_id = Some(account.id.clone());
            configured.account_id = Some(account.id);
            if let Some(domain) = widget_domain {
                configured.wallet_domain = Some(
                    stripe
                        .register_payment_method_domain(domain)
                        .await
                        .map(|()| domain.to_string())
                        .map_err(|e| e.to_string()),
                );
            }
        }
        self.store
            .set_payment_provider(merchant, &settings, self.now_ms())
            .await?;
        self.payments.invalidate(merchant);
        tracing::info!(merchant_id = %merchant, provider = settings.provider(), "payment provider configured");
        Ok(configured)
    }
}
