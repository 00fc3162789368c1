//! The `anycart` binary: `serve` (optionally with a demo merchant) and merchant admin.

mod catalogue;
mod config;
mod connect;
mod payments;
mod ucp;
mod users;

use anycart_checkout::clock::{Clock, SystemClock};
use anycart_checkout::demo::{self, DemoInfo};
use anycart_checkout::inventory::InventoryEngine;
use anycart_checkout::{CheckoutConfig, CheckoutService, HoldMode};
use anycart_server::routes::pages::demo::DemoPages;
use anycart_server::routes::ucp::UcpSettings;
use anycart_server::state::{AppState, ServerConfig};
use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use config::Config;
use std::path::Path;
use std::sync::Arc;

/// anycart — distributed checkout. Buy anywhere; the order lands in the merchant's platform.
#[derive(Parser, Debug)]
#[command(name = "anycart", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (checkout API, admin API, pages).
    Serve(ServeArgs),
    /// Manage merchants.
    #[command(subcommand)]
    Merchant(MerchantCommand),
    /// Connect a merchant's commerce platform.
    #[command(subcommand)]
    Connect(connect::ConnectCommand),
    /// Import the connected platform's catalogue and stock (resumable).
    Import(connect::ImportArgs),
    /// Choose the provider that takes a merchant's payments (Stripe or the sandbox).
    #[command(subcommand)]
    Payments(payments::PaymentsCommand),
    /// Import a merchant's catalogue from CSV files (products, variants, stock,
    /// discount codes, shipping rates, free-shipping promotions).
    #[command(subcommand)]
    Catalogue(CatalogueCommand),
    /// A merchant's Universal Commerce Protocol door (agents' checkouts).
    #[command(subcommand)]
    Ucp(ucp::UcpCommand),
    /// Merchant dashboard users (`user create`, `user link`).
    #[command(subcommand)]
    User(users::UserCommand),
}

#[derive(Subcommand, Debug)]
enum CatalogueCommand {
    /// Import DIR's CSV files (see the manual's "Catalogue import").
    Import {
        /// Folder with products.csv and optionally variants.csv, inventory.csv,
        /// discounts.csv, shipping_rates.csv and promotions.csv.
        dir: std::path::PathBuf,
        #[arg(long)]
        merchant: String,
        /// Currency of the prices (ISO 4217).
        #[arg(long, default_value = "USD")]
        currency: String,
        /// Check the files and print what would be imported, writing nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Where the data lives; shared by every subcommand.
#[derive(Args, Debug, Clone, Default)]
struct DbArgs {
    /// Directory for the embedded SQLite database and demo.json [default: ./data].
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
    /// Database URL (postgres://… for scale-out; default: sqlite in --data-dir).
    #[arg(long)]
    database_url: Option<String>,
    /// TOML config file (layered under ANYCART_* env vars and these flags).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
}

#[derive(Args, Debug)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Listen address [default: 127.0.0.1:8080].
    #[arg(long)]
    addr: Option<String>,
    /// Public base URL (for links), if different from http://ADDR.
    #[arg(long)]
    base_url: Option<String>,
    /// Seed (once) and print a demo merchant with a catalogue; writes DATA_DIR/demo.json.
    #[arg(long)]
    demo: bool,
    /// The UCP conformance (test) mode, for the official suite only: test payment
    /// handlers, an address book, /testing/simulate-shipping. Needs
    /// ANYCART_UCP_SIMULATION_SECRET. Never in production.
    #[arg(long)]
    ucp_test_mode: bool,
}

#[derive(Subcommand, Debug)]
enum MerchantCommand {
    /// Create a merchant and print its publishable and secret keys (shown once).
    Create {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        db: DbArgs,
        /// Print JSON (merchant_id, publishable_key, secret_key).
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into());
    // Colours only on a terminal: piped logs (systemd, files, tests) stay plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: draining requests");
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Connect(c) => connect::run_connect(c).await,
        Command::Import(args) => connect::run_import(args).await,
        Command::Payments(c) => payments::run_payments(c).await,
        Command::Ucp(c) => ucp::run_ucp(c).await,
        Command::Catalogue(CatalogueCommand::Import {
            dir,
            merchant,
            currency,
            dry_run,
            db,
        }) => import_catalogue(dir, merchant, currency, dry_run, db).await,
        Command::User(c) => users::run_user(c).await,
        Command::Merchant(MerchantCommand::Create { name, db, json }) => {
            let config = Config::load(
                &db.config,
                config::Overrides {
                    data_dir: db.data_dir,
                    database_url: db.database_url,
                    ..Default::default()
                },
            )?;
            init_tracing(&config.log_format);
            let store = config.open_store().await?;
            let created =
                anycart_checkout::merchants::create_merchant(&store, &name, SystemClock.now_ms())
                    .await?;
            let view = created.to_json();
            if json {
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                println!(
                    "merchant_id:     {}\npublishable_key: {}\nsecret_key:      {}\n(keys are shown once; only their hashes are stored)",
                    view.merchant_id, view.publishable_key, view.secret_key
                );
            }
            store.close().await;
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> Result<()> {
    let config = Config::load(
        &args.db.config,
        config::Overrides {
            data_dir: args.db.data_dir,
            database_url: args.db.database_url,
            addr: args.addr,
            base_url: args.base_url,
            ucp_test_mode: args.ucp_test_mode.then_some(true),
        },
    )?;
    init_tracing(&config.log_format);
    let store = config.open_store().await?;
    let listener = tokio::net::TcpListener::bind(&config.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.addr))?;
    let local = listener.local_addr()?;
    let base_url = config
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"))
        .trim_end_matches('/')
        .to_string();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    if args.demo {
        start_demo_pages(&store, &config, &base_url, local, clock.now_ms()).await?;
    }
    let checkout = checkout_service(&config, store, clock, args.demo);
    let state = AppState::new(
        checkout,
        ServerConfig {
            base_url: base_url.clone(),
            limits: config.serve_limits(),
            client_ip_header: config.client_ip_header.clone(),
            shopify_app: config.shopify_app()?,
        },
    )
    .with_ucp(ucp_settings(&config)?);
    tracing::info!(%base_url, backend = ?state.store.backend(), "anycart listening");
    anycart_server::serve(listener, state, shutdown_signal()).await?;
    Ok(())
}

/// The UCP door's settings; the conformance mode is announced loudly.
fn ucp_settings(config: &Config) -> Result<UcpSettings> {
    let root_merchant = config
        .ucp_root_merchant
        .as_deref()
        .map(|m| {
            anycart_core::MerchantId::parse(m)
                .map_err(|_| anyhow::anyhow!("ucp_root_merchant must be a merchant id (mer_…)"))
        })
        .transpose()?;
    if config.ucp_test_mode {
        tracing::warn!(
            "UCP CONFORMANCE MODE: test payment handlers, a shared address book and /testing/simulate-shipping are on. Never run this in production."
        );
    }
    Ok(UcpSettings {
        test_mode: config.ucp_test_mode,
        simulation_secret: config.ucp_simulation_secret.clone(),
        root_merchant,
    })
}

/// `anycart catalogue import`.
async fn import_catalogue(
    dir: std::path::PathBuf,
    merchant: String,
    currency: String,
    dry_run: bool,
    db: DbArgs,
) -> Result<()> {
    let currency = anycart_core::Currency::parse(&currency)
        .map_err(|e| anyhow::anyhow!("--currency {currency}: {e}"))?;
    let plan = catalogue::parse(&dir, currency)?;
    println!(
        "{}: {} products ({} variants), {} stock levels, {} discount codes, {} shipping rates, {} promotions",
        dir.display(),
        plan.products.len(),
        plan.products
            .iter()
            .map(|p| p.variants.len())
            .sum::<usize>(),
        plan.stock.len(),
        plan.discounts.len(),
        plan.rates.len(),
        plan.promotions.len()
    );
    if dry_run {
        return Ok(());
    }
    let config = Config::load(
        &db.config,
        config::Overrides {
            data_dir: db.data_dir,
            database_url: db.database_url,
            ..Default::default()
        },
    )?;
    init_tracing(&config.log_format);
    let store = config.open_store().await?;
    let merchant = anycart_core::MerchantId::parse(&merchant)
        .map_err(|_| anyhow::anyhow!("--merchant must be a merchant id (mer_…)"))?;
    store
        .get_merchant(merchant)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no merchant {merchant}"))?;
    let report = catalogue::apply(&store, merchant, &plan, SystemClock.now_ms(), |line| {
        println!("{line}")
    })
    .await;
    store.close().await;
    let report = report?;
    println!(
        "imported: {} products created, {} updated, {} stock levels, {} discount codes, {} shipping zones",
        report.products_created,
        report.products_updated,
        report.stock_levels,
        report.discounts,
        report.shipping_zones
    );
    Ok(())
}

/// The checkout service as configured (sandbox payments; demo mode logs sign-in
/// codes, as there is no mailer).
fn checkout_service(
    config: &Config,
    store: anycart_store::Store,
    clock: Arc<dyn Clock>,
    demo: bool,
) -> CheckoutService {
    let holds = if config.hold_engine {
        HoldMode::Engine(InventoryEngine::start(store.clone(), clock.clone()))
    } else {
        HoldMode::PerRequest
    };
    let defaults = CheckoutConfig::default();
    let checkout_config = CheckoutConfig {
        session_ttl_ms: config.session_ttl_ms,
        auto_capture: config.auto_capture,
        log_sign_in_codes: demo,
        shopper_secret: config
            .shopper_secret
            .clone()
            .unwrap_or(defaults.shopper_secret),
        sweep_interval_ms: defaults.sweep_interval_ms,
        payment_recovery_after_ms: config.payment_recovery_after_ms,
        anonymous_ttl_ms: config.anonymous_ttl_ms,
        throttles: config.throttles(),
        retention: config.retention(),
    };
    let payments = Arc::new(anycart_payments::sandbox::SandboxProvider::new());
    CheckoutService::new(store, payments, clock, checkout_config, holds)
}

/// Seeds (or reuses) the demo merchant and serves its host pages on another
/// port (another origin), as a real publisher's site would: API port + 1, or a
/// free port when the API's is 0.
async fn start_demo_pages(
    store: &anycart_store::Store,
    config: &Config,
    base_url: &str,
    local: std::net::SocketAddr,
    now_ms: i64,
) -> Result<()> {
    let pages_port = if config.addr.ends_with(":0") {
        0
    } else {
        local.port().wrapping_add(1)
    };
    let pages_listener = tokio::net::TcpListener::bind((local.ip(), pages_port))
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}:{pages_port} for the demo pages",
                local.ip()
            )
        })?;
    let pages_origin = format!("http://{}", pages_listener.local_addr()?);
    // The demo ad server: a third origin (any free port) serving the same pages,
    // so an ad reaches the publisher through a nested cross-origin frame.
    let ad_server_listener = tokio::net::TcpListener::bind((local.ip(), 0))
        .await
        .context("cannot listen for the demo ad server")?;
    let ad_server_origin = format!("http://{}", ad_server_listener.local_addr()?);
    let origins = DemoOrigins {
        pages: &pages_origin,
        ad_server: &ad_server_origin,
    };
    let (info, mut pages) =
        demo_merchant(store, &config.data_dir, base_url, origins, now_ms).await?;
    pages.ad_server_origin = Some(ad_server_origin);
    print_demo_banner(&info, &config.data_dir);
    for listener in [pages_listener, ad_server_listener] {
        let pages = pages.clone();
        tokio::spawn(async move {
            if let Err(e) = anycart_server::routes::pages::demo::serve(listener, pages).await {
                tracing::error!(error = %e, "demo pages listener stopped");
            }
        });
    }
    Ok(())
}

/// The demo's host origins: the publisher's pages and the ad server.
#[derive(Clone, Copy)]
struct DemoOrigins<'a> {
    pages: &'a str,
    ad_server: &'a str,
}

/// Reuses the demo merchant recorded in `demo.json` when it still exists, else seeds one.
async fn demo_merchant(
    store: &anycart_store::Store,
    data_dir: &Path,
    base_url: &str,
    origins: DemoOrigins<'_>,
    now_ms: i64,
) -> Result<(DemoInfo, DemoPages)> {
    let pages_origin = origins.pages;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let path = data_dir.join("demo.json");
    let existing = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str::<DemoInfo>(&t).ok());
    let reusable = match &existing {
        Some(info) => match anycart_core::MerchantId::parse(&info.merchant_id) {
            Ok(id) => store.get_merchant(id).await?.is_some(),
            Err(_) => false,
        },
        None => false,
    };
    let mut info = match (existing, reusable) {
        (Some(info), true) => demo::refresh(store, info).await?,
        _ => demo::seed(store, base_url, now_ms).await?,
    };
    info.base_url = base_url.to_string();
    demo::ensure_placements(store, &mut info, pages_origin, now_ms)
        .await
        .context("demo placements")?;
    demo::ensure_surfaces(store, &mut info, pages_origin, origins.ad_server, now_ms)
        .await
        .context("demo TV and ad server placements")?;
    demo::ensure_link_and_app_placements(store, &mut info, pages_origin, now_ms)
        .await
        .context("demo link and app placements")?;
    anycart_checkout::users::ensure_demo_user(store, &mut info, now_ms)
        .await
        .context("demo dashboard user")?;
    let pages = DemoPages::of(&info).context("the demo has no placements")?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&info)?)?;
    std::fs::rename(&tmp, &path)?;
    if info.variants.is_empty() {
        bail!("the demo catalogue is empty");
    }
    Ok((info, pages))
}

fn print_demo_banner(info: &DemoInfo, data_dir: &Path) {
    println!("\n  anycart demo is ready\n");
    println!("  base URL         {}", info.base_url);
    println!("  API reference    {}/docs", info.base_url);
    println!("  merchant         {}", info.merchant_id);
    println!("  publishable key  {}", info.publishable_key);
    println!("  secret key       {}", info.secret_key);
    if let (Some(url), Some(email), Some(password)) = (
        &info.dashboard_url,
        &info.dashboard_email,
        &info.dashboard_password,
    ) {
        println!("  dashboard        {url}");
        println!("    sign in with   {email} / {password}");
    }
    if let (Some(ad), Some(article)) = (&info.ad_page_url, &info.article_page_url) {
        println!("  ad page (widget) {ad}");
        println!("  article (widget) {article}");
    }
    if let (Some(tv), Some(ads)) = (&info.tv_page_url, &info.ad_server_page_url) {
        println!("  TV app           {tv}");
        println!("  ad via ad server {ads}");
    }
    if let (Some(post), Some(link), Some(app)) =
        (&info.social_post_url, &info.link_url, &info.app_page_url)
    {
        println!("  social post      {post}");
        println!("  link checkout    {link}");
        println!("  app (SDK)        {app}");
    }
    println!(
        "  demo.json        {}\n",
        data_dir.join("demo.json").display()
    );
    if let Some(v) = info.variants.iter().find(|v| v.available > 0) {
        println!(
            "  try it:\n    curl -s {}/checkout_sessions -H 'Authorization: Bearer {}' -H 'API-Version: 2026-04-17' \\\n      -H \"Idempotency-Key: $(uuidgen || date +%s%N)\" -H 'Content-Type: application/json' \\\n      -d '{{\"currency\":\"usd\",\"line_items\":[{{\"id\":\"{}\",\"quantity\":1}}]}}'\n",
            info.base_url, info.publishable_key, v.id
        );
    }
}
