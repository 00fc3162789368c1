//! `anycart payments …`: which provider takes a merchant's money. The same typed
//! settings and the same service call as `PUT /v1/payment_provider`: Stripe keys
//! are checked with Stripe before they are stored (sealed), and the widget's
//! domain is registered for Apple Pay and Google Pay.

use crate::DbArgs;
use crate::config::{self, Config};
use anycart_checkout::clock::{Clock, SystemClock};
use anycart_core::MerchantId;
use anycart_store::{
    CapturePolicy, PaymentProviderSettings, SandboxSettings, Secret, StripeSettings,
};
use anyhow::{Context, Result, anyhow};
use clap::{Args, Subcommand, ValueEnum};
use std::sync::Arc;

/// `anycart payments <provider>`.
#[derive(Subcommand, Debug)]
pub enum PaymentsCommand {
    /// Take real money on the merchant's own Stripe account.
    Stripe(StripeArgs),
    /// Back to the sandbox (test cards, no money moves). Stripe keys are kept for
    /// payments made before the switch.
    Sandbox(SandboxArgs),
}

/// When an authorised payment is captured.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Capture {
    /// At completion.
    Automatic,
    /// Later, when the order ships (`POST /v1/orders/{id}/capture`).
    OnFulfilment,
}

#[derive(Args, Debug)]
pub struct StripeArgs {
    #[arg(long)]
    merchant: String,
    /// `sk_live_…`, `sk_test_…` or a restricted `rk_…` key.
    #[arg(long, env = "ANYCART_STRIPE_SECRET_KEY", hide_env_values = true)]
    secret_key: String,
    /// `pk_live_…` / `pk_test_…` (the widget's Stripe.js runs with it).
    #[arg(long)]
    publishable_key: String,
    /// `whsec_…` of the webhook endpoint `<base URL>/webhooks/stripe/<merchant>`.
    #[arg(long, env = "ANYCART_STRIPE_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: String,
    #[arg(long, value_enum, default_value = "automatic")]
    capture: Capture,
    /// Another Stripe API origin (a local fake in tests, a proxy).
    #[arg(long)]
    api_base: Option<String>,
    /// Another Stripe.js URL (defaults to https://js.stripe.com/v3/, or
    /// API_BASE/v3/ with --api-base).
    #[arg(long)]
    js_url: Option<String>,
    /// The domain the widget is served from, registered with Stripe for wallets
    /// [default: the host of the configured base URL].
    #[arg(long)]
    widget_domain: Option<String>,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Args, Debug)]
pub struct SandboxArgs {
    #[arg(long)]
    merchant: String,
    #[command(flatten)]
    db: DbArgs,
}

/// What a command asks for: `(database, merchant, settings, widget domain)`.
type Asked = (DbArgs, String, PaymentProviderSettings, Option<String>);

impl PaymentsCommand {
    /// The typed settings (the same type `PUT /v1/payment_provider` takes).
    fn into_settings(self) -> Asked {
        match self {
            PaymentsCommand::Stripe(a) => {
                let settings = PaymentProviderSettings::Stripe(StripeSettings {
                    secret_key: Secret::new(a.secret_key),
                    publishable_key: a.publishable_key,
                    webhook_secret: Secret::new(a.webhook_secret),
                    api_base: a.api_base,
                    js_url: a.js_url,
                    capture: match a.capture {
                        Capture::Automatic => CapturePolicy::Automatic,
                        Capture::OnFulfilment => CapturePolicy::OnFulfilment,
                    },
                    account_id: None,
                });
                (a.db, a.merchant, settings, a.widget_domain)
            }
            PaymentsCommand::Sandbox(a) => (
                a.db,
                a.merchant,
                PaymentProviderSettings::Sandbox(SandboxSettings::default()),
                None,
            ),
        }
    }
}

pub async fn run_payments(command: PaymentsCommand) -> Result<()> {
    let (db, merchant, settings, widget_domain) = command.into_settings();
    let config = Config::load(
        &db.config,
        config::Overrides {
            data_dir: db.data_dir,
            database_url: db.database_url,
            ..Default::default()
        },
    )?;
    crate::init_tracing(&config.log_format);
    let store = config.open_store().await?;
    let merchant = MerchantId::parse(&merchant)
        .map_err(|_| anyhow!("--merchant must be a merchant id (mer_…)"))?;
    store
        .get_merchant(merchant)
        .await?
        .ok_or_else(|| anyhow!("no merchant {merchant}"))?;
    let widget_domain = widget_domain.or_else(|| {
        let base = config.base_url.as_deref()?;
        url::Url::parse(base).ok()?.host_str().map(String::from)
    });
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let checkout = crate::checkout_service(&config, store.clone(), clock, false);
    let provider = settings.provider();
    let configured = checkout
        .configure_payment_provider(merchant, settings, widget_domain.as_deref())
        .await
        .context("payment provider refused")?;
    println!("payments for {merchant} now go through {provider}");
    if let Some(account) = &configured.account_id {
        println!("Stripe account: {account}");
        let base = config
            .base_url
            .as_deref()
            .unwrap_or("<your anycart base URL>");
        println!("Stripe webhook endpoint to create: {base}/webhooks/stripe/{merchant}");
    }
    match configured.wallet_domain {
        Some(Ok(domain)) => println!("Apple Pay / Google Pay domain registered: {domain}"),
        Some(Err(why)) => println!("wallet domain NOT registered ({why}); wallets stay hidden"),
        None if provider == "stripe" => println!(
            "no widget domain known (set --widget-domain or base_url): wallets stay hidden until it is registered"
        ),
        None => {}
    }
    store.close().await;
    Ok(())
}
