//! Background work of one node: session and hold expiry, clean-up, order delivery
//! to the merchants' platforms and periodic stock reconciliation. Every loop is
//! bounded per run and safe on many nodes at once (claims are conditional writes).

use crate::CheckoutService;
use crate::error::CheckoutResult;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Sessions expired per sweep (bounded so one sweep never stalls the store).
pub const EXPIRY_BATCH_MAX: i64 = 100;
/// Holds past their expiry by this much are released even without a session to
/// expire (an orphan: the node died between taking the hold and writing the
/// session). Short, so orphaned stock is back within a second of its expiry; it
/// only absorbs clock skew between nodes. Safe whatever it is: completion checks
/// the holds are still there inside its transaction.
pub const STALE_HOLD_GRACE_MS: i64 = 500;
/// How often old idempotency keys and shopper codes are purged.
pub const PURGE_INTERVAL_MS: u64 = 3_600_000;
/// How often stock is re-read from connected platforms to repair lost webhooks.
pub const RECONCILE_INTERVAL_MS: u64 = 15 * 60_000;
/// Shortest tick of the sweeper and the outbox worker, whatever is configured.
pub const SWEEP_INTERVAL_MS_MIN: u64 = 50;
/// Longest any request into the service may run (the HTTP edge times requests out
/// before this). Work a crash may have left half done is recovered only after it.
pub const REQUEST_DURATION_MS_MAX: i64 = 30_000;
/// How often unsettled payments are looked for.
pub const PAYMENT_RECOVERY_INTERVAL_MS: u64 = 5_000;

// Orphaned holds come back well within a session's lifetime, and the hourly purge
// runs far more often than idempotency keys expire.
const _: () = assert!(STALE_HOLD_GRACE_MS < crate::SESSION_TTL_MS_DEFAULT);
const _: () = assert!(EXPIRY_BATCH_MAX > 0);
#[allow(clippy::cast_possible_wrap)] // compile-time constants far below i64::MAX
const _: () = assert!((PURGE_INTERVAL_MS as i64) < anycart_store::IDEMPOTENCY_RETENTION_MS);

impl CheckoutService {
    /// Runs one expiry sweep: expires due sessions (giving their stock back) and
    /// releases any hold left past its expiry. Returns how many sessions expired.
    pub async fn sweep_once(&self) -> CheckoutResult<usize> {
        let now = self.now_ms();
        let due = self.store.expired_sessions(now, EXPIRY_BATCH_MAX).await?;
        for (merchant, id) in &due {
            self.expire(*merchant, *id).await?;
        }
        let stale = self
            .store
            .release_stale_holds(now - STALE_HOLD_GRACE_MS, EXPIRY_BATCH_MAX)
            .await?;
        if stale > 0 {
            tracing::warn!(
                stale,
                "released holds whose session was not expired in time"
            );
        }
        if !due.is_empty() {
            metrics::counter!("anycart_sessions_expired_total")
                .increment(u64::try_from(due.len()).unwrap_or(u64::MAX));
        }
        Ok(due.len())
    }

    /// Forgets what is past its retention window (idempotency keys, ended
    /// sessions, applied webhook ids, TV hand-off codes, see
    /// [`anycart_store::Retention`]) and dead shopper codes.
    pub async fn purge_once(&self) {
        match self
            .store
            .purge_expired_records(self.config.retention, self.now_ms())
            .await
        {
            Ok(p) if p != anycart_store::Purged::default() => tracing::info!(
                idempotency_keys = p.idempotency_keys,
                sessions = p.sessions,
                payment_attempts = p.payment_attempts,
                affiliate_claims = p.affiliate_claims,
                webhook_events = p.webhook_events,
                intent_traces = p.intent_traces,
                handoffs = p.handoffs,
                "old records purged"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "retention purge failed"),
        }
        if let Err(e) = self.store.purge_dashboard_secrets(self.now_ms()).await {
            tracing::warn!(error = %e, "dashboard session purge failed");
        }
        if let Err(e) = self.store.purge_shopper_secrets(self.now_ms()).await {
            tracing::warn!(error = %e, "shopper code purge failed");
        }
    }

    fn sweep_interval(&self) -> Duration {
        Duration::from_millis(self.config.sweep_interval_ms.max(SWEEP_INTERVAL_MS_MIN))
    }

    /// Starts the background jobs; they stop when `shutdown` turns true, and the
    /// returned handle finishes when all of them have.
    pub fn spawn_workers(&self, shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let outbox = tokio::spawn(self.clone().outbox_loop(shutdown.clone()));
        let recovery = tokio::spawn(self.clone().recovery_loop(shutdown.clone()));
        let reconcile = tokio::spawn(self.clone().reconcile_loop(shutdown.clone()));
        let feeds = tokio::spawn(self.clone().feed_loop(shutdown.clone()));
        let sweeper = tokio::spawn(self.clone().sweep_loop(shutdown));
        tokio::spawn(async move {
            let _ = sweeper.await;
            let _ = feeds.await;
            let _ = outbox.await;
            let _ = recovery.await;
            let _ = reconcile.await;
        })
    }

    /// Expiry every sweep interval, and the purge once an hour.
    async fn sweep_loop(self, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.sweep_interval());
        let mut last_purge = Instant::now();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => break,
            }
            if let Err(e) = self.sweep_once().await {
                tracing::warn!(error = %e, "expiry sweep failed; will retry");
            }
            if last_purge.elapsed() > Duration::from_millis(PURGE_INTERVAL_MS) {
                last_purge = Instant::now();
                self.purge_once().await;
            }
        }
    }

    /// Settles payments a crash left without an order (see [`crate::recovery`]),
    /// and asks providers again for refunds they never answered (several nodes
    /// may ask at once: the refund's idempotency key makes that harmless).
    async fn recovery_loop(self, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(Duration::from_millis(PAYMENT_RECOVERY_INTERVAL_MS));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => break,
            }
            if let Err(e) = self.recover_payments_once().await {
                tracing::warn!(error = %e, "payment recovery failed; will retry");
            }
            if let Err(e) = self.retry_refunds_once().await {
                tracing::warn!(error = %e, "refund retry failed; will retry");
            }
        }
    }

    /// Periodic stock reconciliation with connected platforms (first run one
    /// interval after start, so a restart loop does not hammer the platforms).
    async fn reconcile_loop(self, mut shutdown: watch::Receiver<bool>) {
        let period = Duration::from_millis(RECONCILE_INTERVAL_MS);
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => break,
            }
            if let Err(e) =
                anycart_connectors::reconcile::reconcile_all(&self.store, self.now_ms()).await
            {
                tracing::warn!(error = %e, "stock reconciliation failed; will retry");
            }
        }
    }

    /// Delivers the order outbox to merchants' platforms, one bounded batch per
    /// tick, on its own task so a slow platform never delays session expiry.
    async fn outbox_loop(self, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.sweep_interval());
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => break,
            }
            if let Err(e) =
                anycart_connectors::delivery::deliver_due(&self.store, self.now_ms()).await
            {
                tracing::warn!(error = %e, "outbox delivery failed; will retry");
            }
        }
    }
}
