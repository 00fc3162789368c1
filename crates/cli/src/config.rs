//! Configuration: one typed struct, layered defaults → TOML file → `ANYCART_*`
//! environment → command-line flags. Defaults run the demo on a laptop.

use anyhow::{Context, Result};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The settings of one anycart process.
#[derive(Debug, Deserialize)]
pub struct Config {
    /// Listen address.
    pub addr: String,
    /// Directory for the SQLite file and demo.json.
    pub data_dir: PathBuf,
    /// `postgres://…` or `sqlite://…`; may hold a password, so it is never logged.
    pub database_url: Option<SecretString>,
    /// Public base URL for links (defaults to http://ADDR).
    pub base_url: Option<String>,
    /// Inactivity TTL of sessions and their stock holds.
    pub session_ttl_ms: i64,
    /// Capture payments at completion (true) or only authorise.
    pub auto_capture: bool,
    /// `pretty` or `json`.
    pub log_format: String,
    /// Take holds through the group-committing engine (true) or one transaction per
    /// request (false: the naive baseline, for comparison).
    pub hold_engine: bool,
    /// Commit concurrent SQLite writes together (true) or each write on its own
    /// (false: the naive baseline `bench/flash_sale` compares against).
    pub group_commit: bool,
    /// Seals platform credentials at rest: 32 bytes in base64. Without it, a key
    /// file `credentials.key` in the data dir is used (created on first start);
    /// nodes sharing one PostgreSQL must all be given the same key.
    pub credentials_key: Option<SecretString>,
    /// Key of the HMAC over returning shoppers' sign-in codes; set the same value on
    /// every node of a cluster (random per process when unset).
    pub shopper_secret: Option<SecretString>,
    /// How long a payment with no order yet waits before the recovery worker
    /// finishes its order or gives the money back (after a crash). Keep it above
    /// the longest a request may take.
    pub payment_recovery_after_ms: i64,
    /// Open connections at most; more are closed at once.
    pub connections_max: usize,
    /// A connection must send a whole request head within this (slowloris guard;
    /// also how long an idle keep-alive connection is kept).
    pub header_read_timeout_ms: u64,
    /// A request body that stops arriving for this long ends the request (408).
    pub body_read_timeout_ms: u64,
    /// Requests being handled at most (the ceiling of the adaptive limit); more
    /// wait in line, then get a fast 503 (`/healthz` and `/metrics` are never refused).
    pub requests_in_flight_max: usize,
    /// The time a request should take: the in-flight limit shrinks when more
    /// than one request in ten takes longer.
    pub latency_target_ms: u64,
    /// The longest a request waits in line for a place before a 503.
    pub queue_wait_ms_max: u64,
    /// The header a trusted proxy sets to the client's address (`X-Forwarded-For`);
    /// unset uses the TCP peer. Only behind a proxy that overwrites it.
    pub client_ip_header: Option<String>,
    /// How long an anonymous shopper's holds live without activity.
    pub anonymous_ttl_ms: i64,
    /// Per client (address + publishable key): checkouts started per minute, burst.
    pub throttle_create_per_minute: u32,
    pub throttle_create_burst: u32,
    /// Per client: payment attempts per minute, burst.
    pub throttle_complete_per_minute: u32,
    pub throttle_complete_burst: u32,
    /// Per client: sign-in codes per minute, burst.
    pub throttle_codes_per_minute: u32,
    pub throttle_codes_burst: u32,
    /// Declined cards per client in 10 minutes before its payments are refused.
    pub card_declines_max: u32,
    /// How long idempotency keys and their responses are kept (at least a day).
    pub idempotency_retention_ms: i64,
    /// How long expired and canceled checkouts (no order) are kept.
    pub ended_session_retention_ms: i64,
    /// How long ids of applied webhook events are kept (against replays).
    pub webhook_event_retention_ms: i64,
    /// How long agents' intent traces are kept.
    pub intent_trace_retention_ms: i64,
    /// The UCP conformance (test) mode: test payment handlers, an address book,
    /// `/testing/simulate-shipping`, `http://localhost` agents. Never in
    /// production; needs `ucp_simulation_secret`.
    pub ucp_test_mode: bool,
    /// What the conformance suite sends as `Simulation-Secret`.
    pub ucp_simulation_secret: Option<SecretString>,
    /// The merchant whose UCP profile `/.well-known/ucp` at the root serves.
    pub ucp_root_merchant: Option<String>,
    /// anycart's public Shopify app (Shopify Dev Dashboard: the app's client id).
    /// With the secret below, merchants install the app instead of making a
    /// custom app and pasting its token.
    pub shopify_app_client_id: Option<String>,
    /// The app's client secret: verifies install callbacks and the app's webhooks.
    pub shopify_app_client_secret: Option<SecretString>,
    /// Reach every shop at this origin instead of `https://{shop}`: a local fake
    /// Shopify in tests, never in production.
    pub shopify_app_shop_base_url: Option<String>,
}

#[derive(Serialize)]
struct Defaults {
    addr: &'static str,
    data_dir: &'static str,
    session_ttl_ms: i64,
    auto_capture: bool,
    log_format: &'static str,
    hold_engine: bool,
    group_commit: bool,
    payment_recovery_after_ms: i64,
    connections_max: usize,
    header_read_timeout_ms: u64,
    body_read_timeout_ms: u64,
    requests_in_flight_max: usize,
    latency_target_ms: u64,
    queue_wait_ms_max: u64,
    anonymous_ttl_ms: i64,
    throttle_create_per_minute: u32,
    throttle_create_burst: u32,
    throttle_complete_per_minute: u32,
    throttle_complete_burst: u32,
    throttle_codes_per_minute: u32,
    throttle_codes_burst: u32,
    card_declines_max: u32,
    idempotency_retention_ms: i64,
    ended_session_retention_ms: i64,
    webhook_event_retention_ms: i64,
    intent_trace_retention_ms: i64,
    ucp_test_mode: bool,
}

/// Values given on the command line (highest precedence).
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ucp_test_mode: Option<bool>,
}

impl Config {
    /// Loads the layered configuration.
    pub fn load(file: &Option<PathBuf>, overrides: Overrides) -> Result<Config> {
        let limits = anycart_server::serve::ServeLimits::default();
        let throttles = anycart_checkout::throttle::ThrottleConfig::default();
        let retention = anycart_store::Retention::default();
        let defaults = Defaults {
            addr: "127.0.0.1:8080",
            data_dir: "./data",
            session_ttl_ms: anycart_checkout::SESSION_TTL_MS_DEFAULT,
            auto_capture: true,
            log_format: "pretty",
            hold_engine: true,
            group_commit: true,
            payment_recovery_after_ms: anycart_checkout::recovery::PAYMENT_RECOVERY_AFTER_MS,
            connections_max: limits.connections_max,
            header_read_timeout_ms: limits.header_read_timeout_ms,
            body_read_timeout_ms: limits.body_read_timeout_ms,
            requests_in_flight_max: limits.requests_in_flight_max,
            latency_target_ms: limits.latency_target_ms,
            queue_wait_ms_max: limits.queue_wait_ms_max,
            anonymous_ttl_ms: anycart_checkout::ANONYMOUS_TTL_MS_DEFAULT,
            throttle_create_per_minute: throttles.create.per_minute,
            throttle_create_burst: throttles.create.burst,
            throttle_complete_per_minute: throttles.complete.per_minute,
            throttle_complete_burst: throttles.complete.burst,
            throttle_codes_per_minute: throttles.sign_in_codes.per_minute,
            throttle_codes_burst: throttles.sign_in_codes.burst,
            card_declines_max: throttles.declines_max,
            idempotency_retention_ms: retention.idempotency_ms,
            ended_session_retention_ms: retention.ended_sessions_ms,
            webhook_event_retention_ms: retention.webhook_events_ms,
            intent_trace_retention_ms: retention.intent_traces_ms,
            ucp_test_mode: false,
        };
        let mut figment = Figment::from(Serialized::defaults(defaults));
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        let config: Config = figment
            .merge(Env::prefixed("ANYCART_"))
            .merge(Serialized::defaults(overrides))
            .extract()
            .context("invalid configuration")?;
        if config.session_ttl_ms < 10_000 {
            anyhow::bail!("session_ttl_ms must be at least 10000");
        }
        if config.payment_recovery_after_ms < 100 {
            anyhow::bail!("payment_recovery_after_ms must be at least 100");
        }
        let min = anycart_store::RETENTION_MS_MIN;
        if [
            config.idempotency_retention_ms,
            config.ended_session_retention_ms,
            config.webhook_event_retention_ms,
            config.intent_trace_retention_ms,
        ]
        .iter()
        .any(|r| *r < min)
        {
            anyhow::bail!("retention windows must be at least {min} ms (a day)");
        }
        if config.anonymous_ttl_ms < 10_000 {
            anyhow::bail!("anonymous_ttl_ms must be at least 10000");
        }
        if config.connections_max == 0 || config.requests_in_flight_max == 0 {
            anyhow::bail!("connections_max and requests_in_flight_max must be at least 1");
        }
        if config.latency_target_ms == 0 || config.queue_wait_ms_max > 60_000 {
            anyhow::bail!(
                "latency_target_ms must be at least 1 and queue_wait_ms_max at most 60000"
            );
        }
        if config.header_read_timeout_ms < 100 || config.body_read_timeout_ms < 100 {
            anyhow::bail!("header_read_timeout_ms and body_read_timeout_ms must be at least 100");
        }
        if config
            .shopper_secret
            .as_ref()
            .is_some_and(|s| s.expose_secret().len() < 32)
        {
            anyhow::bail!("shopper_secret must be at least 32 characters (random)");
        }
        if config.ucp_test_mode
            && config
                .ucp_simulation_secret
                .as_ref()
                .is_none_or(|s| s.expose_secret().len() < 8)
        {
            anyhow::bail!(
                "the UCP conformance mode needs ucp_simulation_secret (ANYCART_UCP_SIMULATION_SECRET, at least 8 characters)"
            );
        }
        config.shopify_app()?;
        Ok(config)
    }

    /// anycart's Shopify app, when both its client id and secret are set (one
    /// without the other is a mistake, refused at start).
    pub fn shopify_app(&self) -> Result<Option<anycart_connectors::shopify_install::ShopifyApp>> {
        let id = self
            .shopify_app_client_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let secret = self
            .shopify_app_client_secret
            .as_ref()
            .filter(|s| !s.expose_secret().trim().is_empty());
        match (id, secret) {
            (None, None) => Ok(None),
            (Some(id), Some(secret)) => Ok(Some(anycart_connectors::shopify_install::ShopifyApp {
                client_id: id.to_string(),
                client_secret: secret.clone(),
                shop_base_url: self.shopify_app_shop_base_url.clone(),
            })),
            _ => anyhow::bail!(
                "shopify_app_client_id and shopify_app_client_secret go together (ANYCART_SHOPIFY_APP_CLIENT_ID, ANYCART_SHOPIFY_APP_CLIENT_SECRET): set both or neither"
            ),
        }
    }

    /// The listener's limits.
    pub fn serve_limits(&self) -> anycart_server::serve::ServeLimits {
        anycart_server::serve::ServeLimits {
            connections_max: self.connections_max,
            header_read_timeout_ms: self.header_read_timeout_ms,
            body_read_timeout_ms: self.body_read_timeout_ms,
            requests_in_flight_max: self.requests_in_flight_max,
            latency_target_ms: self.latency_target_ms,
            queue_wait_ms_max: self.queue_wait_ms_max,
        }
    }

    /// The retention windows.
    pub fn retention(&self) -> anycart_store::Retention {
        anycart_store::Retention {
            idempotency_ms: self.idempotency_retention_ms,
            ended_sessions_ms: self.ended_session_retention_ms,
            webhook_events_ms: self.webhook_event_retention_ms,
            intent_traces_ms: self.intent_trace_retention_ms,
        }
    }

    /// The per-client limits.
    pub fn throttles(&self) -> anycart_checkout::throttle::ThrottleConfig {
        use anycart_checkout::throttle::{Rate, ThrottleConfig};
        ThrottleConfig {
            create: Rate {
                per_minute: self.throttle_create_per_minute,
                burst: self.throttle_create_burst,
            },
            complete: Rate {
                per_minute: self.throttle_complete_per_minute,
                burst: self.throttle_complete_burst,
            },
            sign_in_codes: Rate {
                per_minute: self.throttle_codes_per_minute,
                burst: self.throttle_codes_burst,
            },
            declines_max: self.card_declines_max,
            ..ThrottleConfig::default()
        }
    }

    /// The database URL in effect: the configured one or SQLite in the data dir.
    fn url(&self) -> Result<String> {
        if let Some(url) = &self.database_url {
            return Ok(url.expose_secret().to_string());
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("cannot create data dir {}", self.data_dir.display()))?;
        Ok(format!(
            "sqlite://{}",
            sqlite_path(&self.data_dir).display()
        ))
    }

    /// Opens and migrates the store, sealing platform credentials with the
    /// configured key (or the data dir's key file).
    pub async fn open_store(&self) -> Result<anycart_store::Store> {
        let url = self.url()?;
        let key = self.credentials_key()?;
        let store = anycart_store::Store::open(&url)
            .await
            .context("cannot open the database (check --database-url / --data-dir)")?;
        let store = store.with_credentials_key(key);
        Ok(if self.group_commit {
            store
        } else {
            store.without_group_commit()
        })
    }

    /// `credentials_key`, else the key file in the data dir (created, mode 0600,
    /// when missing).
    fn credentials_key(&self) -> Result<anycart_store::CredentialsKey> {
        use anycart_store::CredentialsKey;
        if let Some(k) = &self.credentials_key {
            return CredentialsKey::from_base64(k.expose_secret()).context(
                "ANYCART_CREDENTIALS_KEY must be 32 bytes in base64 (openssl rand -base64 32)",
            );
        }
        let path = self.data_dir.join("credentials.key");
        if !path.exists() {
            std::fs::create_dir_all(&self.data_dir)
                .with_context(|| format!("cannot create data dir {}", self.data_dir.display()))?;
            write_private(&path, &CredentialsKey::generate())?;
            tracing::info!(path = %path.display(), "created a credentials key file; keep it with your backups");
        }
        let encoded = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        CredentialsKey::from_base64(&encoded)
            .with_context(|| format!("{} does not hold a valid credentials key", path.display()))
    }
}

/// Writes a secret file readable by its owner only.
fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn sqlite_path(data_dir: &Path) -> PathBuf {
    data_dir.join("anycart.db")
}
