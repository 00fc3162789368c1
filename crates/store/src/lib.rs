//! anycart persistence: one SQL store over two engines.
//!
//! SQLite (an embedded file, the default) and PostgreSQL (shared by many anycart
//! nodes) run the *same* SQL through sqlx's `Any` driver. The schema is written to be
//! portable (TEXT ids, BIGINT minor units and unix-ms times, JSON documents in TEXT),
//! so one implementation serves both and one conformance suite
//! (`tests/conformance.rs`) proves both. What differs per engine lives in [`Backend`]:
//! connection settings and SQLite's single writer.
//!
//! Every write that must be atomic (taking holds, completing a checkout) is one
//! transaction here; invariants are also CHECK constraints in the migrations.

mod agent_events;
mod agent_feeds;
mod agent_platforms;
mod agent_records;
mod api_keys;
mod batch;
mod catalogue;
mod checkout;
mod config_generation;
mod connection_settings;
mod connections;
mod events;
mod group;
mod handoffs;
mod idempotency;
mod inventory;
mod merchants;
mod migrations;
mod orders;
mod outbox;
mod payment_providers;
mod payments;
mod placements;
mod platform_guests;
mod reconcile;
mod refunds;
mod retention;
mod script;
mod sealing;
mod shopify_app;
mod shoppers;
mod sql;
pub mod testing;
mod ucp;
mod waiting_rooms;

pub use agent_events::{
    AgentOrderEvent, AgentWebhookNotice, OUTBOX_KIND_AGENT_WEBHOOK, order_agent, status_moves,
};
pub use agent_feeds::{
    AgentFeedNotice, FEED_PUSH_PRODUCTS_MAX, FeedChange, OUTBOX_KIND_AGENT_FEED,
};
pub use agent_platforms::{AGENT_PLATFORMS_MAX, AgentPlatform, AgentPlatformChange, AgentSecrets};
pub use agent_records::{AffiliateClaim, IntentTraceRecord, Touchpoint};
mod users;

pub use api_keys::ApiKeyListing;
pub use batch::{BatchItem, BatchResult};
pub use catalogue::VariantBySku;
pub use checkout::{CompletedCheckout, HoldChange, HoldOutcome, SessionWrite};
pub use connection_settings::{
    AdobeSettings, NativeSettings, PlatformSettings, SalesforceSettings, Secret, ShopifySettings,
};
pub use connections::{ConnectionRecord, ExternalKind, ImportCursor};
pub use events::{
    EVENTS_PER_REPORT_MAX, EventContext, HOUR_MS, OVERVIEW_ORDERS_MAX, ROLLUP_ROWS_MAX,
    RollupFilter, RollupRow,
};
pub use group::{GROUP_JOBS_MAX, GROUP_QUEUE_MAX};
pub use handoffs::{Handoff, HandoffClaim, HandoffIssue};
pub use idempotency::{IDEMPOTENCY_RETENTION_MS, IdempotencyBegin, IdempotencyScope};
pub use merchants::{ApiKeyKind, ApiKeyRecord, LiveApiKey, Merchant};
pub use orders::OrderRecord;
pub use outbox::{
    OUTBOX_KIND_ORDER_CREATED, OUTBOX_KIND_REFUND_CREATED, OutboxItem, OutboxState, RefundNotice,
};
pub use payment_providers::{
    CapturePolicy, PaymentProviderRecord, PaymentProviderSettings, SandboxSettings, StripeSettings,
};
pub use payments::{AttemptKey, AttemptState, CardUse, PaymentAttempt};
pub use placements::{Campaign, Channel, Placement, PlacementSettings, Theme};
pub use platform_guests::PlatformGuest;
pub use reconcile::{
    AppliedStockLine, EXTERNAL_STOCK_LINES_MAX, ExternalStockChange, ExternalStockLine,
    StockApplied, StockFigure,
};
pub use refunds::{
    Dispute, OrderPayment, OrderPaymentStatus, Refund, RefundLine, RefundSource, RefundStart,
    RefundState,
};
pub use retention::{PURGE_BATCH_MAX, Purged, RETENTION_MS_MIN, Retention};
pub use sealing::{CREDENTIALS_KEY_BYTES, CredentialsKey};
pub use shopify_app::{DataRequest, InstallState, SHOP_MERCHANTS_MAX};
pub use shoppers::{
    CodeIssue, CodeLimits, LiveShopperCode, NewShopperCode, SHOPPER_OPTIN_TTL_MS, SavedDetails,
    ShopperProfile, ShopperTokenRecord,
};
pub use ucp::{
    NewUcpWebhook, UCP_TEST_ADDRESSES_MAX, UCP_WEBHOOK_ERROR_CHARS_MAX, UcpAccess, UcpDoor,
    UcpOrderRecord, UcpTestAddress, UcpWebhook, UcpWebhookState, new_ucp_webhook_id,
};
pub use users::{DASHBOARD_SECRETS_RETENTION_MS, DashboardSession, DashboardUser, UserRole};
pub use waiting_rooms::{Admission, Ticket, TicketState};

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};
use std::time::Duration;

/// Connections to PostgreSQL per process. Small on purpose: N nodes share one server.
pub const PG_POOL_CONNECTIONS_MAX: u32 = 16;
/// Concurrent SQLite readers (WAL lets them run beside the single writer).
pub const SQLITE_READERS_MAX: u32 = 8;
/// How long a query waits for a connection before failing with a clear error.
pub const POOL_ACQUIRE_TIMEOUT_MS: u64 = 10_000;
/// Largest page any list call returns.
pub const PAGE_SIZE_MAX: i64 = 100;

/// The engine behind a [`Store`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was hit (e.g. a duplicate SKU or discount code).
    #[error("already exists: {0}")]
    Duplicate(String),
    /// Someone else changed the row first (optimistic concurrency); retry.
    #[error("concurrent modification")]
    VersionConflict,
    /// A CHECK or foreign-key rule refused the write.
    #[error("constraint violated: {0}")]
    Constraint(String),
    /// Completing would take a buyer past a variant's `max_quantity_per_order`
    /// counting their recent orders (checked under a per-buyer lock).
    #[error("buyer limit reached: {0}")]
    BuyerLimit(String),
    /// A discount code the order applies has no redemptions left (its
    /// `max_redemptions`, counted in the order's transaction).
    #[error("discount code {0} is used up")]
    DiscountUsedUp(String),
    /// The payment attempt of an order was settled before the order could be
    /// written (a recovery gave the money back, or wrote the order itself).
    #[error("payment attempt already {0}")]
    PaymentSettled(String),
    /// A refund above what is left of the captured amount.
    #[error("refund exceeds the {left_minor} left to refund")]
    RefundTooLarge { left_minor: i64 },
    /// The order's payment is not in a state that allows this (e.g. a refund of
    /// an authorisation that was never captured).
    #[error("payment cannot {0} in its state")]
    PaymentState(&'static str),
    /// A stored document could not be decoded (a bug or a manual edit).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    #[error("unsupported database url (use sqlite://PATH or postgres://…)")]
    UnsupportedUrl,
    /// The transaction a write shared with others (SQLite group commit) did not
    /// commit: nothing of it was kept.
    #[error("commit failed: {0}")]
    CommitFailed(String),
    #[error(transparent)]
    Database(sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            let msg = db.message().to_string();
            match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => return StoreError::Duplicate(msg),
                sqlx::error::ErrorKind::CheckViolation
                | sqlx::error::ErrorKind::ForeignKeyViolation => {
                    return StoreError::Constraint(msg);
                }
                _ => {}
            }
        }
        if matches!(e, sqlx::Error::RowNotFound) {
            return StoreError::NotFound;
        }
        StoreError::Database(e)
    }
}

impl StoreError {
    /// True when no connection was free in time: the caller should answer 503 and retry.
    pub fn is_pool_timeout(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::PoolTimedOut))
    }

    /// True unless this is a rule the write broke (a constraint, a conflict,
    /// a missing row, a limit) or a stored document it could not read. SQLite
    /// undoes a statement that broke a rule and keeps the transaction it ran
    /// in; after an I/O error, a full disk or a lost connection the
    /// transaction may be gone (SQLite rolls it back by itself), so the SQLite
    /// group commit must not let other writes go on in it.
    pub fn may_end_transaction(&self) -> bool {
        match self {
            StoreError::NotFound
            | StoreError::Duplicate(_)
            | StoreError::VersionConflict
            | StoreError::Constraint(_)
            | StoreError::BuyerLimit(_)
            | StoreError::DiscountUsedUp(_)
            | StoreError::PaymentSettled(_)
            | StoreError::RefundTooLarge { .. }
            | StoreError::PaymentState(_)
            | StoreError::Corrupt(_) => false,
            StoreError::UnsupportedUrl
            | StoreError::CommitFailed(_)
            | StoreError::Database(_)
            | StoreError::Migrate(_) => true,
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// The database handle every anycart component shares. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    /// Writes go here. On SQLite this pool has exactly one connection, so writers
    /// queue in-process instead of failing with `SQLITE_BUSY`.
    write: AnyPool,
    /// Reads go here (the same pool on PostgreSQL).
    read: AnyPool,
    backend: Backend,
    /// SQLite's group-commit writer (see [`group`]); `None` on PostgreSQL.
    group: Option<group::GroupCommitter>,
    /// Seals platform credentials at rest when set (see [`sealing`]).
    credentials_key: Option<CredentialsKey>,
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `url`:
    /// `sqlite://PATH` (file created on first use) or `postgres://…`.
    pub async fn open(url: &str) -> StoreResult<Store> {
        install_default_drivers();
        let acquire = Duration::from_millis(POOL_ACQUIRE_TIMEOUT_MS);
        let store = if url.starts_with("sqlite:") {
            let url = if url.contains('?') {
                url.to_string()
            } else {
                format!("{url}?mode=rwc")
            };
            let write = AnyPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(acquire)
                .test_before_acquire(false)
                .before_acquire(ping_if_idle)
                .after_connect(sqlite_pragmas)
                .connect(&url)
                .await?;
            let read = AnyPoolOptions::new()
                .max_connections(SQLITE_READERS_MAX)
                .acquire_timeout(acquire)
                .test_before_acquire(false)
                .before_acquire(ping_if_idle)
                .after_connect(sqlite_pragmas)
                .connect(&url)
                .await?;
            Store {
                group: Some(group::GroupCommitter::start(write.clone())),
                credentials_key: None,
                write,
                read,
                backend: Backend::Sqlite,
            }
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = AnyPoolOptions::new()
                .max_connections(PG_POOL_CONNECTIONS_MAX)
                .acquire_timeout(acquire)
                .test_before_acquire(false)
                .before_acquire(ping_if_idle)
                .connect(url)
                .await?;
            Store {
                write: pool.clone(),
                read: pool,
                backend: Backend::Postgres,
                group: None,
                credentials_key: None,
            }
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        store.migrate().await?;
        let linked = store.link_placement_keys().await?;
        if linked > 0 {
            tracing::info!(linked, "placement keys linked to their placements");
        }
        Ok(store)
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut conn = self.write.acquire().await?;
        migrations::migrator(self.backend).run(&mut *conn).await?;
        Ok(())
    }

    /// Which engine this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A cheap round trip, for `/healthz`.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query(PING).execute(&self.read).await?;
        Ok(())
    }

    /// Closes all connections (graceful shutdown).
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

const PING: &str = "SELECT 1";

type HookFuture<'c> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), sqlx::Error>> + Send + 'c>>;

/// A pooled connection idle for longer than this is pinged before it is handed
/// out; one used more recently is handed out as it is.
pub const POOL_PING_IDLE_MS: u64 = 1_000;

/// Checks a connection before a caller gets it, but only one that sat idle for
/// [`POOL_PING_IDLE_MS`]: sqlx's default pings every connection on every acquire,
/// one more round trip before each transaction or statement, which under load is
/// pure overhead (the connection was in use a moment ago). A connection that died
/// within that moment fails its statement, is dropped by the pool, and the
/// request answers 503/500 like any database error; an idempotent retry runs afresh.
fn ping_if_idle(
    conn: &mut sqlx::AnyConnection,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<bool, sqlx::Error>> + Send + '_>> {
    Box::pin(async move {
        if meta.idle_for > Duration::from_millis(POOL_PING_IDLE_MS) {
            sqlx::Connection::ping(conn).await?;
        }
        Ok(true)
    })
}

/// Per-connection SQLite settings. WAL: readers never block the writer.
/// synchronous=FULL: an acknowledged hold or order survives power loss, not only a
/// crash. foreign_keys=ON: SQLite checks REFERENCES only when asked. busy_timeout:
/// readers wait for a checkpoint instead of failing.
const SQLITE_PRAGMAS: &str = r"
PRAGMA journal_mode=WAL;
PRAGMA synchronous=FULL;
PRAGMA foreign_keys=ON;
PRAGMA busy_timeout=10000;";

/// Runs [`SQLITE_PRAGMAS`] on every new SQLite connection.
fn sqlite_pragmas(
    conn: &mut sqlx::AnyConnection,
    _meta: sqlx::pool::PoolConnectionMetadata,
) -> HookFuture<'_> {
    Box::pin(async move { conn.execute(SQLITE_PRAGMAS).await.map(|_| ()) })
}

/// Encodes a bool for a BIGINT 0/1 column.
fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// Parses a prefixed id read back from the database.
fn parse_id<T: std::str::FromStr>(value: &str) -> StoreResult<T> {
    value
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("bad id `{value}`")))
}

/// `Ok` when a write by key touched its row, else [`StoreError::NotFound`] (the row
/// does not exist, belongs to another merchant, or is not in the expected state).
fn found(done: sqlx::any::AnyQueryResult) -> StoreResult<()> {
    if done.rows_affected() == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Clamps a caller's page size into `1..=PAGE_SIZE_MAX`.
fn page_limit(limit: i64) -> i64 {
    limit.clamp(1, PAGE_SIZE_MAX)
}
