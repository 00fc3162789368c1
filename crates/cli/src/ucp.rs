//! `anycart ucp …`: a merchant's Universal Commerce Protocol door (the same call
//! as `PUT /v1/ucp`), and the seed of the official conformance suite's shop.

use crate::DbArgs;
use crate::catalogue;
use crate::config::{self, Config};
use anycart_checkout::clock::{Clock, SystemClock};
use anycart_checkout::ucp::{DoorSettings, UcpAccess};
use anycart_core::{Currency, MerchantId};
use anycart_store::{Store, UcpTestAddress};
use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// `anycart ucp <command>`.
#[derive(Subcommand, Debug)]
pub enum UcpCommand {
    /// Open (or reconfigure) a merchant's UCP door and print its endpoint.
    Enable(EnableArgs),
    /// Seed a merchant with the UCP conformance suite's shop (its catalogue
    /// through `catalogue import`, its customers' saved addresses for the
    /// conformance mode's address book) and open its door, for
    /// `scripts/ucp-conformance`. Prints JSON.
    ConformanceSeed(SeedArgs),
}

/// How agents identify themselves.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Access {
    /// No credentials (UCP's open endpoints).
    Open,
    /// RFC 9421 signatures, verified with the agent profile's keys.
    Signed,
    /// The merchant's API key.
    Keyed,
}

impl From<Access> for UcpAccess {
    fn from(a: Access) -> Self {
        match a {
            Access::Open => UcpAccess::Open,
            Access::Signed => UcpAccess::Signed,
            Access::Keyed => UcpAccess::Keyed,
        }
    }
}

#[derive(Args, Debug)]
pub struct EnableArgs {
    #[arg(long)]
    merchant: String,
    #[arg(long, value_enum, default_value = "signed")]
    access: Access,
    /// Shown to agents with every checkout.
    #[arg(long)]
    terms_url: Option<String>,
    #[arg(long)]
    privacy_url: Option<String>,
    /// Close the door instead (its key is kept).
    #[arg(long)]
    disable: bool,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Args, Debug)]
pub struct SeedArgs {
    /// The suite's shop data (`test_data/flower_shop`).
    #[arg(long)]
    data: PathBuf,
    /// Currency of the prices [default: the suite's conformance_input.json, else USD].
    #[arg(long)]
    currency: Option<String>,
    #[command(flatten)]
    db: DbArgs,
}

async fn open(db: DbArgs) -> Result<(Config, Store)> {
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
    Ok((config, store))
}

pub async fn run_ucp(command: UcpCommand) -> Result<()> {
    match command {
        UcpCommand::Enable(a) => enable(a).await,
        UcpCommand::ConformanceSeed(a) => seed(a).await,
    }
}

async fn enable(a: EnableArgs) -> Result<()> {
    let (config, store) = open(a.db).await?;
    let merchant = MerchantId::parse(&a.merchant)
        .map_err(|_| anyhow!("--merchant must be a merchant id (mer_…)"))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let checkout = crate::checkout_service(&config, store.clone(), clock, false);
    let settings = DoorSettings {
        terms_of_service_url: a.terms_url,
        privacy_policy_url: a.privacy_url,
    };
    let door = checkout
        .configure_ucp_door(merchant, !a.disable, a.access.into(), &settings)
        .await
        .context("the UCP door was not configured")?;
    let base = config
        .base_url
        .as_deref()
        .unwrap_or("http://127.0.0.1:8080");
    println!(
        "UCP door of {merchant}: {} ({} access)",
        if door.enabled { "open" } else { "closed" },
        door.access.as_str()
    );
    println!(
        "endpoint: {}",
        anycart_server::routes::ucp::endpoint(base, merchant)
    );
    println!(
        "profile:  {}",
        anycart_server::routes::ucp::profile_url(base, merchant)
    );
    store.close().await;
    Ok(())
}

/// The suite's currency (`conformance_input.json`), else USD.
fn seed_currency(a: &SeedArgs) -> Result<Currency> {
    let named = match &a.currency {
        Some(c) => c.clone(),
        None => std::fs::read_to_string(a.data.join("conformance_input.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v.get("currency").and_then(|c| c.as_str()).map(String::from))
            .unwrap_or_else(|| "USD".into()),
    };
    Currency::parse(&named).map_err(|e| anyhow!("currency {named}: {e}"))
}

async fn seed(a: SeedArgs) -> Result<()> {
    let currency = seed_currency(&a)?;
    let plan = catalogue::parse(&a.data, currency)?;
    let book = address_book(&a.data)?;
    let (config, store) = open(a.db).await?;
    let now = SystemClock.now_ms();
    let created =
        anycart_checkout::merchants::create_merchant(&store, "Flower Shop (UCP conformance)", now)
            .await?;
    let merchant = created.merchant_id;
    let report = catalogue::apply(&store, merchant, &plan, now, |line| eprintln!("{line}")).await?;
    for address in &book {
        store.put_ucp_test_address(merchant, address, now).await?;
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let checkout = crate::checkout_service(&config, store.clone(), clock, false);
    checkout
        .configure_ucp_door(merchant, true, UcpAccess::Open, &DoorSettings::default())
        .await?;
    let keys = created.to_json();
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "merchant_id": merchant.to_string(),
            "endpoint_path": format!("/ucp/{merchant}"),
            "secret_key": keys.secret_key,
            "products": report.products_created + report.products_updated,
            "saved_addresses": book.len(),
        }))?
    );
    store.close().await;
    Ok(())
}

/// `customers.csv` and `addresses.csv`: each address under its customer's email.
fn address_book(dir: &std::path::Path) -> Result<Vec<UcpTestAddress>> {
    let read = |name: &str| -> Result<Option<Vec<BTreeMap<String, String>>>> {
        let path = dir.join(name);
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<String> = lines
            .next()
            .map(|h| h.split(',').map(|c| c.trim().to_string()).collect())
            .unwrap_or_default();
        Ok(Some(
            lines
                .map(|l| {
                    header
                        .iter()
                        .cloned()
                        .zip(l.split(',').map(|v| v.trim().to_string()))
                        .collect()
                })
                .collect(),
        ))
    };
    let (Some(customers), Some(addresses)) = (read("customers.csv")?, read("addresses.csv")?)
    else {
        return Ok(vec![]);
    };
    let email_of: BTreeMap<&str, &str> = customers
        .iter()
        .filter_map(|c| Some((c.get("id")?.as_str(), c.get("email")?.as_str())))
        .collect();
    addresses
        .iter()
        .map(|a| {
            let field = |k: &str| a.get(k).map(String::as_str).unwrap_or_default();
            let Some(email) = email_of.get(field("customer_id")) else {
                bail!("addresses.csv: no customer `{}`", field("customer_id"));
            };
            let doc = serde_json::json!({
                "street_address": field("street_address"),
                "address_locality": field("city"),
                "address_region": field("state"),
                "postal_code": field("postal_code"),
                "address_country": field("country"),
            });
            Ok(UcpTestAddress {
                id: field("id").to_string(),
                email: email.to_lowercase(),
                doc: doc.to_string(),
            })
        })
        .collect()
}
