//! `anycart user create|link`: merchant dashboard users. A new user gets a
//! one-time sign-in link (printed, 24 hours); they may set a password once in.

use crate::DbArgs;
use crate::config::{self, Config};
use anycart_checkout::clock::Clock;
use anycart_checkout::clock::SystemClock;
use anycart_core::MerchantId;
use anycart_store::UserRole;
use anyhow::{Context, Result, anyhow};
use clap::{Args, Subcommand};
use secrecy::ExposeSecret;
use std::sync::Arc;

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a dashboard user to a merchant and print a one-time sign-in link.
    Create(CreateArgs),
    /// Print a new one-time sign-in link for an existing user.
    Link(LinkArgs),
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// The merchant (mer_…).
    #[arg(long)]
    merchant: String,
    /// The user's email (they sign in with it).
    #[arg(long)]
    email: String,
    /// `owner` (everything) or `staff` (no API keys, connections or payment settings).
    #[arg(long, default_value = "staff")]
    role: String,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Args, Debug)]
pub struct LinkArgs {
    #[arg(long)]
    email: String,
    #[command(flatten)]
    db: DbArgs,
}

fn load(db: DbArgs) -> Result<Config> {
    let config = Config::load(
        &db.config,
        config::Overrides {
            data_dir: db.data_dir,
            database_url: db.database_url,
            ..Default::default()
        },
    )?;
    crate::init_tracing(&config.log_format);
    Ok(config)
}

/// Where the printed link points: the configured base URL, else the default address.
fn base_url(config: &Config) -> String {
    config
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.addr))
        .trim_end_matches('/')
        .to_string()
}

pub async fn run_user(command: UserCommand) -> Result<()> {
    match command {
        UserCommand::Create(a) => {
            let role = UserRole::parse(&a.role)
                .ok_or_else(|| anyhow!("--role must be `owner` or `staff`"))?;
            let merchant = MerchantId::parse(&a.merchant)
                .map_err(|_| anyhow!("--merchant must be a merchant id (mer_…)"))?;
            let config = load(a.db)?;
            let store = config.open_store().await?;
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            let checkout = crate::checkout_service(&config, store.clone(), clock, false);
            let created = checkout
                .create_user(merchant, &a.email, role, None)
                .await
                .context("user refused")?;
            println!(
                "user:    {} ({}, {})\nsign in: {}/dashboard/sign_in?token={}\n(the link works once, for 24 hours)",
                created.user.email,
                created.user.role.as_str(),
                created.user.id,
                base_url(&config),
                created.link_token.expose_secret()
            );
            store.close().await;
            Ok(())
        }
        UserCommand::Link(a) => {
            let config = load(a.db)?;
            let store = config.open_store().await?;
            let user = store
                .find_dashboard_user(&a.email.trim().to_ascii_lowercase())
                .await?
                .ok_or_else(|| anyhow!("no dashboard user {}", a.email))?;
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            let checkout = crate::checkout_service(&config, store.clone(), clock, false);
            let token = checkout.issue_sign_in_link(&user).await?;
            println!(
                "sign in: {}/dashboard/sign_in?token={}\n(the link works once, for 24 hours)",
                base_url(&config),
                token.expose_secret()
            );
            store.close().await;
            Ok(())
        }
    }
}
