//! The inventory engine: stock holds, serialised per shard and group-committed.
//!
//! A naive checkout takes a hold in its own transaction that locks the variant's
//! stock row, so one hot SKU tops out near 1/fsync-time. Here every hold request
//! goes to the shard that owns its variant (hash of the variant id). A shard task
//! drains up to [`HOLD_BATCH_SIZE_MAX`] queued requests, plans them in order in
//! memory ([`anycart_core::inventory::plan_batch`]) and commits them with one
//! transaction ([`anycart_store::Store::apply_hold_batch`]), so a flash sale pays
//! one fsync per batch instead of per shopper. A request is answered only after
//! its batch committed: every acknowledged hold is durable.
//!
//! Correctness does not depend on the engine being the only writer: the batch
//! transaction locks the stock rows (PostgreSQL) or runs on the single writer
//! (SQLite), and the database's CHECK constraints refuse any oversell, so several
//! anycart nodes sharing one PostgreSQL stay safe.

use anycart_core::inventory::{BatchOutcome, HOLD_BATCH_SIZE_MAX, HoldRequest};
use anycart_core::{MerchantId, SessionId, VariantId};
use anycart_store::{BatchItem, BatchResult, Store};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::{broadcast, mpsc, oneshot};

/// Requests a shard may queue before callers wait (back-pressure, not unbounded memory).
pub const SHARD_QUEUE_MAX: usize = 16_384;
/// Shards on PostgreSQL (each commits on its own connection). SQLite has one writer, so one shard.
pub const PG_SHARDS: usize = 8;
/// Largest batch on PostgreSQL. Measured with `bench/flash_sale --postgres`: batches of
/// 64 reach ~48,000 holds/s, while 128 drop to ~9,500 and 512 to ~5,000 (the
/// multi-row statements get disproportionately slower there). SQLite takes
/// [`HOLD_BATCH_SIZE_MAX`].
pub const PG_HOLD_BATCH_SIZE_MAX: usize = 64;
/// Availability updates buffered per live-stock subscriber before it skips ahead.
pub const AVAILABILITY_BUFFER_MAX: usize = 1_024;

// A shard queue holds at least one full batch, and PostgreSQL's batches are the
// smaller ones (see PG_HOLD_BATCH_SIZE_MAX).
const _: () = assert!(SHARD_QUEUE_MAX >= HOLD_BATCH_SIZE_MAX);
const _: () = assert!(PG_HOLD_BATCH_SIZE_MAX > 0 && PG_HOLD_BATCH_SIZE_MAX <= HOLD_BATCH_SIZE_MAX);

/// Why the engine could not answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// The shard is not running (shutting down, or crashed): the hold may or may not
    /// have been taken; it was not acknowledged, and expiry gives it back.
    #[error("inventory engine unavailable")]
    Unavailable,
    #[error("inventory store error: {0}")]
    Store(String),
}

/// A change of free stock, for live availability streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvailabilityChange {
    pub merchant: MerchantId,
    pub variant: VariantId,
    pub available: i64,
}

struct Job {
    item: BatchItem,
    reply: oneshot::Sender<Result<BatchOutcome, EngineError>>,
}

/// Where a queued request's outcome arrives.
type Answer = oneshot::Receiver<Result<BatchOutcome, EngineError>>;

/// Handle to the running engine. Cheap to clone; dropping every handle stops the shards.
#[derive(Clone, Debug)]
pub struct InventoryEngine {
    shards: Arc<Vec<mpsc::Sender<Job>>>,
    tasks: Arc<Vec<tokio::task::JoinHandle<()>>>,
    changes: broadcast::Sender<AvailabilityChange>,
    /// Batches committed by every shard, retries included (see
    /// [`InventoryEngine::batches_committed`]).
    batches: Arc<AtomicU64>,
}

impl InventoryEngine {
    /// Starts the shard tasks for `store` (one shard on SQLite, [`PG_SHARDS`] on PostgreSQL).
    pub fn start(store: Store, clock: Arc<dyn crate::clock::Clock>) -> Self {
        let (shards, batch_max) = match store.backend() {
            anycart_store::Backend::Sqlite => (1, HOLD_BATCH_SIZE_MAX),
            anycart_store::Backend::Postgres => (PG_SHARDS, PG_HOLD_BATCH_SIZE_MAX),
        };
        let (changes, _) = broadcast::channel(AVAILABILITY_BUFFER_MAX);
        let mut senders = Vec::with_capacity(shards);
        let mut tasks = Vec::with_capacity(shards);
        let batches = Arc::new(AtomicU64::new(0));
        for shard in 0..shards {
            let (tx, rx) = mpsc::channel(SHARD_QUEUE_MAX);
            senders.push(tx);
            let task = Shard {
                index: shard,
                batch_max,
                store: store.clone(),
                clock: clock.clone(),
                changes: changes.clone(),
                batches: batches.clone(),
            };
            tasks.push(tokio::spawn(task.run(rx)));
        }
        InventoryEngine {
            shards: Arc::new(senders),
            tasks: Arc::new(tasks),
            changes,
            batches,
        }
    }

    /// Stops the shard tasks at once (used by tests to simulate a crash mid-flight).
    pub fn abort(&self) {
        for t in self.tasks.iter() {
            t.abort();
        }
    }

    /// Live availability changes of committed batches on this node.
    pub fn subscribe(&self) -> broadcast::Receiver<AvailabilityChange> {
        self.changes.subscribe()
    }

    fn shard_of(&self, variant: VariantId) -> &mpsc::Sender<Job> {
        &self.shards[crate::stripe_of(&variant, self.shards.len())]
    }

    /// Sets what `session` holds of one variant (0 releases); answers after commit.
    pub async fn hold(
        &self,
        merchant: MerchantId,
        request: HoldRequest,
        expires_at_ms: i64,
    ) -> Result<BatchOutcome, EngineError> {
        self.submit(BatchItem {
            merchant,
            request,
            expires_at_ms,
            new_session: false,
        })
        .await
    }

    /// Queues one item on its variant's shard; answers after its batch commits.
    async fn submit(&self, item: BatchItem) -> Result<BatchOutcome, EngineError> {
        let answer = self.enqueue(item).await?;
        answer.await.map_err(|_| EngineError::Unavailable)?
    }

    /// Queues `item` on its shard; its outcome arrives on the receiver.
    async fn enqueue(&self, item: BatchItem) -> Result<Answer, EngineError> {
        let (reply, answer) = oneshot::channel();
        let variant = item.request.variant;
        let job = Job { item, reply };
        self.shard_of(variant)
            .send(job)
            .await
            .map_err(|_| EngineError::Unavailable)?;
        Ok(answer)
    }

    /// Makes a session hold exactly `demand` (units per variant): variants it held
    /// before but no longer wants are released. Per variant, all or nothing.
    /// `new_session`: the caller created the session just now, so it holds
    /// nothing and its holds need not be read (see [`BatchItem::new_session`]).
    pub async fn replace_session_holds(
        &self,
        merchant: MerchantId,
        session: SessionId,
        demand: &BTreeMap<VariantId, i64>,
        previously: &[VariantId],
        expires_at_ms: i64,
        new_session: bool,
    ) -> Result<BTreeMap<VariantId, BatchOutcome>, EngineError> {
        // Every variant's request is queued before any answer is awaited, so
        // a basket's lines share one batch (one commit) instead of waiting for
        // one batch each, one after the other.
        let releases = previously
            .iter()
            .filter(|v| !demand.contains_key(v))
            .map(|v| (*v, 0, false));
        let takes = demand.iter().map(|(v, q)| (*v, *q, new_session));
        let mut answers = Vec::new();
        for (variant, quantity, new_session) in releases.chain(takes) {
            let item = BatchItem {
                merchant,
                request: HoldRequest {
                    session,
                    variant,
                    quantity,
                },
                expires_at_ms,
                new_session,
            };
            answers.push((variant, self.enqueue(item).await?));
        }
        let mut out = BTreeMap::new();
        for (variant, answer) in answers {
            let outcome = answer.await.map_err(|_| EngineError::Unavailable)??;
            if demand.contains_key(&variant) {
                out.insert(variant, outcome);
            }
        }
        Ok(out)
    }

    /// Hold batches committed so far (all shards).
    pub fn batches_committed(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }
}

/// One shard's task: what it writes with and whom it tells.
struct Shard {
    index: usize,
    batch_max: usize,
    store: Store,
    clock: Arc<dyn crate::clock::Clock>,
    changes: broadcast::Sender<AvailabilityChange>,
    batches: Arc<AtomicU64>,
}

impl Shard {
    /// Drains `rx` in batches until every sender is gone.
    async fn run(self, mut rx: mpsc::Receiver<Job>) {
        while let Some(first) = rx.recv().await {
            let jobs = self.drain(first, &mut rx);
            self.commit(jobs).await;
        }
    }

    /// `first` and whatever else is queued, up to a batch.
    fn drain(&self, first: Job, rx: &mut mpsc::Receiver<Job>) -> Vec<Job> {
        let mut jobs = Vec::with_capacity(self.batch_max.min(64));
        jobs.push(first);
        while jobs.len() < self.batch_max {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        jobs
    }

    /// Writes one batch and answers its callers after the commit.
    async fn commit(&self, jobs: Vec<Job>) {
        let items: Vec<BatchItem> = jobs.iter().map(|j| j.item).collect();
        let started = Instant::now();
        let result = self.apply(&items).await;
        metrics::histogram!("anycart_hold_batch_size")
            .record(u32::try_from(items.len()).map_or(f64::MAX, f64::from));
        metrics::histogram!("anycart_hold_batch_seconds").record(started.elapsed().as_secs_f64());
        match result {
            Ok(batch) => {
                debug_assert_eq!(batch.outcomes.len(), jobs.len());
                for (job, outcome) in jobs.into_iter().zip(batch.outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
                self.publish(&batch.available_after, &batch.owners);
            }
            Err(e) if jobs.len() > 1 => {
                // One bad request must not fail its neighbours: retry them one by one.
                tracing::warn!(shard = self.index, error = %e, size = jobs.len(), "hold batch failed; retrying its requests singly");
                self.retry_singly(jobs).await;
            }
            Err(e) => {
                tracing::warn!(shard = self.index, error = %e, "hold request failed");
                for job in jobs {
                    let _ = job.reply.send(Err(EngineError::Store(e.to_string())));
                }
            }
        }
    }

    /// Tells the live-stock hub what is free now after a committed batch, for each
    /// variant's owner as its stock rows name it (never whoever asked last).
    fn publish(
        &self,
        available_after: &BTreeMap<VariantId, i64>,
        owners: &BTreeMap<VariantId, MerchantId>,
    ) {
        for (variant, available) in available_after {
            if let Some(merchant) = owners.get(variant) {
                let _ = self.changes.send(AvailabilityChange {
                    merchant: *merchant,
                    variant: *variant,
                    available: *available,
                });
            }
        }
    }

    /// Applies one batch; counts it when it committed.
    async fn apply(&self, items: &[BatchItem]) -> anycart_store::StoreResult<BatchResult> {
        let result = self
            .store
            .apply_hold_batch(items, self.clock.now_ms())
            .await;
        if result.is_ok() {
            self.batches.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    async fn retry_singly(&self, jobs: Vec<Job>) {
        for job in jobs {
            let single =
                self.apply(&[job.item])
                    .await
                    .map_err(|e| EngineError::Store(e.to_string()))
                    .and_then(|b| {
                        b.outcomes.first().copied().ok_or_else(|| {
                            EngineError::Store("a batch of one answered nothing".into())
                        })
                    });
            let _ = job.reply.send(single);
        }
    }
}
