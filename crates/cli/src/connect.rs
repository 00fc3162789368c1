//! `anycart connect …` and `anycart import`: connect a merchant's platform and pull
//! its catalogue, with a progress bar, resumable after an interruption.

use crate::DbArgs;
use crate::config::{self, Config};
use anycart_checkout::clock::{Clock, SystemClock};
use anycart_connectors::connect::connect;
use anycart_connectors::connector_for;
use anycart_connectors::import::import_catalogue;
use anycart_connectors::shopify_install::{CALLBACK_PATH, begin_install};
use anycart_core::MerchantId;
use anycart_store::{
    AdobeSettings, NativeSettings, PlatformSettings, SalesforceSettings, Secret, ShopifySettings,
};
use anyhow::{Context, Result, anyhow};
use clap::{Args, Subcommand};

/// `anycart connect <platform>`.
#[derive(Subcommand, Debug)]
pub enum ConnectCommand {
    /// Connect a Shopify store: install anycart's app (--install), or a custom
    /// app's Admin API access token + client secret for webhooks.
    Shopify(ShopifyArgs),
    /// anycart is the system of record; confirmations go out over your SMTP server.
    Native(NativeArgs),
    /// Connect a Salesforce B2C Commerce site (SCAPI, SLAS private client).
    Salesforce(SalesforceArgs),
    /// Connect an Adobe Commerce (Magento 2) store (integration access token).
    Adobe(AdobeArgs),
}

#[derive(Args, Debug)]
pub struct SalesforceArgs {
    #[arg(long)]
    merchant: String,
    /// The instance's SCAPI short code (Business Manager: Salesforce Commerce API Settings).
    #[arg(long)]
    short_code: String,
    /// e.g. f_ecom_zzte_053
    #[arg(long)]
    organization_id: String,
    /// The site orders are placed in (also the SLAS channel), e.g. RefArch.
    #[arg(long)]
    site_id: String,
    /// SLAS private client id.
    #[arg(long, env = "ANYCART_SALESFORCE_CLIENT_ID")]
    client_id: String,
    /// SLAS private client secret; prefer the environment variable.
    #[arg(long, env = "ANYCART_SALESFORCE_CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
    /// Override https://SHORT_CODE.api.commercecloud.salesforce.com (a proxy, a local fake).
    #[arg(long)]
    base_url: Option<String>,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Args, Debug)]
pub struct ShopifyArgs {
    #[arg(long)]
    merchant: String,
    /// e.g. example.myshopify.com
    #[arg(long, alias = "shop")]
    shop_domain: String,
    /// Install anycart's Shopify app instead (the server's shopify_app_client_id
    /// and shopify_app_client_secret): prints the install link for the merchant
    /// to open, then waits until the install has saved the connection.
    #[arg(long, conflicts_with = "base_url")]
    install: bool,
    /// With --install: how long to wait for the merchant to approve (0: print
    /// the link and return).
    #[arg(long, default_value_t = INSTALL_WAIT_S_DEFAULT, requires = "install")]
    wait_s: u64,
    /// Custom app: its Admin API access token (shpat_…); prefer the environment variable.
    #[arg(
        long,
        env = "ANYCART_SHOPIFY_ACCESS_TOKEN",
        hide_env_values = true,
        required_unless_present = "install"
    )]
    access_token: Option<String>,
    /// Custom app: its client secret, which signs webhooks.
    #[arg(
        long,
        env = "ANYCART_SHOPIFY_WEBHOOK_SECRET",
        hide_env_values = true,
        required_unless_present = "install"
    )]
    webhook_secret: Option<String>,
    /// Override https://SHOP_DOMAIN (a proxy, a local fake).
    #[arg(long)]
    base_url: Option<String>,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Args, Debug)]
pub struct NativeArgs {
    #[arg(long)]
    merchant: String,
    /// The shop's domain (shown in emails when no --shop-name).
    #[arg(long)]
    shop_domain: String,
    /// smtp://host:port or smtps://user:pass@host; prefer the environment variable.
    #[arg(long, env = "ANYCART_SMTP_URL", hide_env_values = true)]
    smtp_url: Option<String>,
    #[arg(long)]
    from_address: Option<String>,
    #[arg(long)]
    shop_name: Option<String>,
    /// #rrggbb header colour of the confirmation email.
    #[arg(long)]
    brand_color: Option<String>,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Args, Debug)]
pub struct AdobeArgs {
    #[arg(long)]
    merchant: String,
    /// The store's URL, e.g. https://shop.example.com (REST lives under /rest/).
    #[arg(long)]
    base_url: String,
    /// Integration access token; prefer the environment variable.
    #[arg(long, env = "ANYCART_ADOBE_ACCESS_TOKEN", hide_env_values = true)]
    access_token: String,
    /// The integration's consumer key: with the two secrets below, requests are
    /// signed with OAuth 1.0a (what Adobe Commerce expects since 2.4.4) instead of
    /// sending the access token as a bearer token.
    #[arg(long, requires_all = ["consumer_secret", "access_token_secret"])]
    consumer_key: Option<String>,
    /// The integration's consumer secret; prefer the environment variable.
    #[arg(long, env = "ANYCART_ADOBE_CONSUMER_SECRET", hide_env_values = true)]
    consumer_secret: Option<String>,
    /// The integration's access token secret; prefer the environment variable.
    #[arg(
        long,
        env = "ANYCART_ADOBE_ACCESS_TOKEN_SECRET",
        hide_env_values = true
    )]
    access_token_secret: Option<String>,
    /// Store view code in REST URLs.
    #[arg(long, default_value = anycart_connectors::adobe::DEFAULT_STORE_CODE)]
    store_code: String,
    /// Shipping carrier code for pushed orders.
    #[arg(long, default_value = anycart_connectors::adobe::DEFAULT_SHIPPING_CARRIER_CODE)]
    shipping_carrier: String,
    /// Shipping method code for pushed orders.
    #[arg(long, default_value = anycart_connectors::adobe::DEFAULT_SHIPPING_METHOD_CODE)]
    shipping_method: String,
    /// Payment method code for pushed orders (`purchaseorder` carries the anycart
    /// order id as PO number, which makes retries exact).
    #[arg(long, default_value = anycart_connectors::adobe::DEFAULT_PAYMENT_METHOD)]
    payment_method: String,
    /// Shown as the shop's domain (default: the host of --base-url).
    #[arg(long)]
    shop_domain: Option<String>,
    #[command(flatten)]
    db: DbArgs,
}

/// `anycart import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    #[arg(long)]
    merchant: String,
    /// Start from the first page even if an earlier import saved a cursor.
    #[arg(long)]
    restart: bool,
    #[command(flatten)]
    db: DbArgs,
}

/// How long `connect shopify --install` waits for the merchant by default: the
/// install link itself is good for 10 minutes.
const INSTALL_WAIT_S_DEFAULT: u64 = 600;
/// How often it looks for the connection while waiting.
const INSTALL_POLL_MS: u64 = 500;

async fn open(db: DbArgs) -> Result<anycart_store::Store> {
    open_with_config(db).await.map(|(store, _)| store)
}

async fn open_with_config(db: DbArgs) -> Result<(anycart_store::Store, Config)> {
    let config = Config::load(
        &db.config,
        config::Overrides {
            data_dir: db.data_dir,
            database_url: db.database_url,
            ..Default::default()
        },
    )?;
    crate::init_tracing(&config.log_format);
    Ok((config.open_store().await?, config))
}

/// `anycart connect shopify --install`: keeps the install's nonce in the
/// database the server reads, prints the link, and waits until the server's
/// callback has saved a connection to that shop (newer than the link).
async fn run_shopify_install(a: ShopifyArgs) -> Result<()> {
    let (store, config) = open_with_config(a.db).await?;
    let app = config.shopify_app()?.ok_or_else(|| {
        anyhow!(
            "no Shopify app configured: set shopify_app_client_id and shopify_app_client_secret (ANYCART_SHOPIFY_APP_CLIENT_ID, ANYCART_SHOPIFY_APP_CLIENT_SECRET) as for `anycart serve`, or connect a custom app with --access-token and --webhook-secret"
        )
    })?;
    let id = merchant(&store, &a.merchant).await?;
    // The callback is the serving node's: the same base URL `anycart serve` uses.
    let base = config
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.addr));
    let redirect = format!("{}{CALLBACK_PATH}", base.trim_end_matches('/'));
    let started_ms = SystemClock.now_ms();
    let url = begin_install(&store, &app, id, &a.shop_domain, &redirect, started_ms)
        .await
        .context("install refused")?;
    println!(
        "open this link to install the anycart app on {}:",
        a.shop_domain.trim()
    );
    println!("{url}");
    if a.wait_s == 0 {
        store.close().await;
        return Ok(());
    }
    eprintln!("waiting up to {} s for the install…", a.wait_s);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(a.wait_s);
    let shop = a.shop_domain.trim().to_ascii_lowercase();
    loop {
        let connected = store.get_connection(id).await?.filter(|c| {
            c.platform() == "shopify" && c.shop_domain() == shop && c.updated_at_ms >= started_ms
        });
        if let Some(c) = connected {
            println!("connected shopify ({}) for {id}", c.shop_domain());
            store.close().await;
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            store.close().await;
            anyhow::bail!(
                "no install within {} s; run `anycart connect shopify --install` again for a fresh link",
                a.wait_s
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(INSTALL_POLL_MS)).await;
    }
}

async fn merchant(store: &anycart_store::Store, id: &str) -> Result<MerchantId> {
    let id =
        MerchantId::parse(id).map_err(|_| anyhow!("--merchant must be a merchant id (mer_…)"))?;
    store
        .get_merchant(id)
        .await?
        .ok_or_else(|| anyhow!("no merchant {id}"))?;
    Ok(id)
}

impl ConnectCommand {
    /// The typed settings the command stands for (the same type the admin API
    /// takes and the store keeps), with the database it names.
    fn into_settings(self) -> (DbArgs, String, PlatformSettings) {
        match self {
            ConnectCommand::Shopify(a) => (
                a.db,
                a.merchant,
                PlatformSettings::Shopify(ShopifySettings {
                    shop_domain: a.shop_domain,
                    base_url: a.base_url,
                    // clap requires both unless --install, which never gets here.
                    access_token: Secret::new(a.access_token.unwrap_or_default()),
                    webhook_secret: Secret::new(a.webhook_secret.unwrap_or_default()),
                    api_version: None,
                    request_timeout_ms: None,
                }),
            ),
            ConnectCommand::Native(a) => (
                a.db,
                a.merchant,
                PlatformSettings::Native(NativeSettings {
                    shop_domain: a.shop_domain,
                    smtp_url: a.smtp_url.map(Secret::new),
                    from_address: a.from_address,
                    shop_name: a.shop_name,
                    brand_color: a.brand_color,
                }),
            ),
            ConnectCommand::Salesforce(a) => (
                a.db,
                a.merchant,
                PlatformSettings::Salesforce(SalesforceSettings {
                    shop_domain: String::new(),
                    base_url: a.base_url,
                    short_code: a.short_code,
                    organization_id: a.organization_id,
                    site_id: a.site_id,
                    client_id: Secret::new(a.client_id),
                    client_secret: Secret::new(a.client_secret),
                    shipping_method_id: None,
                    payment_method_id: None,
                    root_category_id: None,
                    request_timeout_ms: None,
                }),
            ),
            ConnectCommand::Adobe(a) => (
                a.db,
                a.merchant,
                PlatformSettings::Adobe(AdobeSettings {
                    base_url: a.base_url,
                    shop_domain: a.shop_domain.unwrap_or_default(),
                    access_token: Secret::new(a.access_token),
                    consumer_key: a.consumer_key,
                    consumer_secret: a.consumer_secret.map(Secret::new),
                    access_token_secret: a.access_token_secret.map(Secret::new),
                    store_code: Some(a.store_code),
                    shipping_carrier_code: Some(a.shipping_carrier),
                    shipping_method_code: Some(a.shipping_method),
                    payment_method: Some(a.payment_method),
                    stock_id: None,
                    request_timeout_ms: None,
                }),
            ),
        }
    }
}

/// Runs `anycart connect …`.
pub async fn run_connect(command: ConnectCommand) -> Result<()> {
    let command = match command {
        ConnectCommand::Shopify(a) if a.install => return run_shopify_install(a).await,
        c => c,
    };
    let (db, merchant_id, settings) = command.into_settings();
    let store = open(db).await?;
    let id = merchant(&store, &merchant_id).await?;
    let record = connect(&store, id, settings, SystemClock.now_ms())
        .await
        .context("connection refused")?;
    println!(
        "connected {} ({}) for {id}",
        record.platform(),
        record.shop_domain()
    );
    match &record.settings {
        PlatformSettings::Salesforce(_) => println!(
            "B2C Commerce sends no stock webhooks: stock follows the platform through periodic reconciliation"
        ),
        PlatformSettings::Adobe(_) => println!(
            "Adobe Commerce webhooks are not used: anycart re-reads stock every 15 minutes (`anycart serve`)"
        ),
        PlatformSettings::Shopify(_) => println!(
            "subscribe the platform's webhooks to: <your anycart base URL>/webhooks/{}/{id}",
            record.platform()
        ),
        PlatformSettings::Native(_) => {}
    }
    store.close().await;
    Ok(())
}

/// Runs `anycart import`, drawing a progress bar per page.
pub async fn run_import(args: ImportArgs) -> Result<()> {
    let store = open(args.db).await?;
    let id = merchant(&store, &args.merchant).await?;
    let connection = store.get_connection(id).await?.ok_or_else(|| {
        anyhow!("merchant {id} has no platform connection; run `anycart connect` first")
    })?;
    let connector = connector_for(Some(&connection))?;
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar.set_message("fetching the first page…");
    let result = import_catalogue(
        &store,
        id,
        connector.as_ref(),
        args.restart,
        SystemClock.now_ms(),
        |p| {
            bar.set_message(format!(
                "{} pages, {} products, {} variants",
                p.pages, p.products, p.variants
            ));
        },
    )
    .await;
    bar.finish_and_clear();
    let done = result.context("import stopped (run `anycart import` again to resume)")?;
    if done.pages == 0 {
        println!("already imported (use --restart to import again)");
    } else {
        println!(
            "imported {} products, {} variants in {} pages{}",
            done.products,
            done.variants,
            done.pages,
            if done.finished {
                ""
            } else {
                " (stopped at the page limit; run again to continue)"
            }
        );
    }
    store.close().await;
    Ok(())
}
