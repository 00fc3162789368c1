//! Group commit for SQLite's single writer.
//!
//! SQLite in WAL mode with `synchronous=FULL` pays one fsync per committed
//! transaction, and it has exactly one writer. A checkout request makes several
//! small writes (claim its idempotency key, write the session, store the response),
//! so one request per fsync caps a flash sale near 1/fsync-time whatever the
//! inventory engine does.
//!
//! Here every such write is a *job* sent to one writer task. The task drains the
//! queued jobs (up to [`GROUP_JOBS_MAX`]), runs each inside its own SAVEPOINT of
//! one transaction (a job alone runs in the transaction itself), and commits
//! once. A job that fails rolls back to its savepoint without touching the
//! others; each caller is answered only after the shared COMMIT returned, so
//! every acknowledged write is durable, exactly as with one transaction per
//! write. Under load many writes share one fsync; when idle a job
//! runs alone at once (no timer, no added latency).
//!
//! PostgreSQL already group-commits concurrent transactions in its WAL writer, so
//! there [`Store::write_tx`] runs the job in its own transaction on a pooled
//! connection.

use crate::{Store, StoreError, StoreResult};
use futures_util::FutureExt;
use sqlx::{AnyConnection, AnyPool};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use tokio::sync::{mpsc, oneshot};

/// Most jobs sharing one commit: bounds the transaction's size and the wait of the
/// first job in a group.
pub const GROUP_JOBS_MAX: usize = 256;
/// Jobs that may queue before callers wait (back-pressure, not unbounded memory).
pub const GROUP_QUEUE_MAX: usize = 8_192;
// A full group must fit in the queue, or one group could never be formed.
const _: () = assert!(GROUP_QUEUE_MAX >= GROUP_JOBS_MAX && GROUP_JOBS_MAX > 0);

/// The future a write job returns: it borrows the connection it runs on.
pub type TxFuture<'c, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'c>>;

/// Hands a job's result to its caller once the group's COMMIT is known.
type Delivery = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A type-erased job: runs on the shared connection, says whether it succeeded
/// (release or roll back its savepoint) and how to answer its caller. Given no
/// connection it does not run and answers with why.
type Job = Box<
    dyn for<'c> FnOnce(
            Result<&'c mut AnyConnection, NoConnection>,
        ) -> Pin<Box<dyn Future<Output = (bool, Delivery)> + Send + 'c>>
        + Send,
>;

/// Why the writer had no connection for a group.
#[derive(Clone, Debug)]
enum NoConnection {
    /// None was free in time (overload): the caller should retry (503).
    Busy,
    /// The database could not be reached.
    Failed(String),
}

impl From<NoConnection> for StoreError {
    fn from(e: NoConnection) -> Self {
        match e {
            NoConnection::Busy => StoreError::Database(sqlx::Error::PoolTimedOut),
            NoConnection::Failed(e) => StoreError::CommitFailed(e),
        }
    }
}

/// Handle to the writer task (SQLite only). Dropping every handle stops it.
#[derive(Clone, Debug)]
pub(crate) struct GroupCommitter {
    jobs: mpsc::Sender<Job>,
}

impl GroupCommitter {
    /// Starts the writer task over the single-connection write pool.
    pub(crate) fn start(pool: AnyPool) -> Self {
        let (jobs, rx) = mpsc::channel(GROUP_QUEUE_MAX);
        tokio::spawn(run(pool, rx));
        GroupCommitter { jobs }
    }
}

fn writer_gone() -> StoreError {
    StoreError::CommitFailed("the database writer stopped".into())
}

impl Store {
    /// This store with one transaction (and one fsync) per write even on SQLite:
    /// the naive baseline the benchmark measures the engine against.
    pub fn without_group_commit(&self) -> Store {
        Store {
            group: None,
            ..self.clone()
        }
    }

    /// Runs `work` as one atomic, durable write and returns its result after commit.
    ///
    /// `work` gets a connection and must open its transaction on it with
    /// `sqlx::Connection::begin` (a real transaction on PostgreSQL, a savepoint inside
    /// the shared group transaction on SQLite), so the same code is atomic either way.
    /// If it returns an error nothing it wrote is kept.
    pub(crate) async fn write_tx<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> TxFuture<'c, T> + Send + 'static,
    {
        let Some(group) = &self.group else {
            let mut conn = self.write.acquire().await?;
            return work(&mut conn).await;
        };
        let (answer, result) = oneshot::channel::<StoreResult<T>>();
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                let conn = match conn {
                    Ok(conn) => conn,
                    Err(none) => {
                        let _ = answer.send(Err(none.into()));
                        return (false, Box::new(|_| ()) as Delivery);
                    }
                };
                let outcome = work(conn).await;
                let ok = outcome.is_ok();
                let deliver: Delivery = Box::new(move |commit| {
                    let _ = answer.send(match (outcome, commit) {
                        (Ok(_), Err(e)) => Err(StoreError::CommitFailed(e)),
                        (outcome, _) => outcome,
                    });
                });
                (ok, deliver)
            })
        });
        group.jobs.send(job).await.map_err(|_| writer_gone())?;
        // A job that panicked drops its answer: report it as a failed write.
        result.await.map_err(|_| writer_gone())?
    }

    /// One write statement that must be durable before the caller goes on (the
    /// payment journal's): on SQLite a job of the group commit, so it shares a
    /// group's fsync and never takes the one write connection away from the
    /// group writer; on PostgreSQL the statement alone (autocommit, one round
    /// trip). Atomic either way: it is one statement.
    pub(crate) async fn write_statement(
        &self,
        statement: sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> StoreResult<sqlx::any::AnyQueryResult> {
        self.write_tx(move |conn| Box::pin(async move { Ok(statement.execute(conn).await?) }))
            .await
    }
}

/// The writer task: one group commit per wake-up while jobs keep arriving.
async fn run(pool: AnyPool, mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(GROUP_JOBS_MAX);
    while rx.recv_many(&mut jobs, GROUP_JOBS_MAX).await > 0 {
        let size = jobs.len();
        commit_group(&pool, std::mem::take(&mut jobs)).await;
        metrics::histogram!("anycart_store_group_commit_jobs").record(size as f64);
    }
}

/// Runs `jobs` in one transaction, each in its own savepoint (a job alone
/// needs none), commits once and answers every caller. Any failure of the
/// transaction itself fails every job.
async fn commit_group(pool: &AnyPool, jobs: Vec<Job>) {
    let mut deliveries: Vec<Delivery> = Vec::with_capacity(jobs.len());
    let fail_all = |deliveries: Vec<Delivery>, e: String| {
        for d in deliveries {
            d(Err(e.clone()));
        }
    };
    let mut conn = match pool.acquire().await {
        Ok(c) => c,
        Err(e) => {
            // Under overload the writer queues for the one write connection behind
            // writes that take it directly, and may time out like them: its
            // callers are told the database is busy (retry), not that it failed.
            tracing::warn!(error = %e, jobs = jobs.len(), "group commit: no database connection");
            let why = match e {
                sqlx::Error::PoolTimedOut => NoConnection::Busy,
                e => NoConnection::Failed(e.to_string()),
            };
            for job in jobs {
                let _answered = job(Err(why.clone())).await;
            }
            return;
        }
    };
    let mut group = match sqlx::Connection::begin(&mut *conn).await {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "group commit: BEGIN failed");
            return;
        }
    };
    if jobs.len() == 1 {
        // Alone, a job needs no savepoint of its own: if it fails, the whole
        // transaction is rolled back, which is exactly its savepoint's rollback.
        // Two statements fewer (SAVEPOINT, RELEASE) per write when the writer
        // is not busy, which is when a write's statements cost most.
        let job = jobs.into_iter().next().expect("one job");
        let (ok, deliver) = run_job(job, &mut group).await;
        if !ok {
            if let Err(e) = group.rollback().await {
                tracing::error!(error = %e, "group commit: ROLLBACK failed");
            }
            // The job's own error is its answer.
            return deliver(Ok(()));
        }
        deliveries.push(deliver);
    } else {
        for job in jobs {
            let mut savepoint = match sqlx::Connection::begin(&mut *group).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "group commit: SAVEPOINT failed");
                    return fail_all(deliveries, e.to_string());
                }
            };
            let (ok, deliver) = run_job(job, &mut savepoint).await;
            let ended = if ok {
                savepoint.commit().await
            } else {
                savepoint.rollback().await
            };
            deliveries.push(deliver);
            if let Err(e) = ended {
                tracing::error!(error = %e, "group commit: savepoint release failed");
                return fail_all(deliveries, e.to_string());
            }
        }
    }
    let commit = group.commit().await.map_err(|e| e.to_string());
    if let Err(e) = &commit {
        tracing::error!(error = %e, "group commit: COMMIT failed");
    }
    for d in deliveries {
        d(commit.clone());
    }
}

/// Runs one job on `conn`: whether it succeeded, and how to answer its caller.
/// A job that panicked failed (its caller sees its answer dropped).
async fn run_job(job: Job, conn: &mut AnyConnection) -> (bool, Delivery) {
    match AssertUnwindSafe(job(Ok(conn))).catch_unwind().await {
        Ok(ran) => ran,
        Err(_) => {
            tracing::error!("group commit: a write job panicked; rolled back");
            (false, Box::new(|_| ()) as Delivery)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Overload: the writer waits for the one write connection behind writes that
    /// take it directly and times out like them. Its callers must be told to retry
    /// (a pool timeout, answered 503), not that the database writer failed (500).
    #[tokio::test]
    async fn a_writer_without_a_connection_answers_busy() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("group.db").display());
        let store = Store::open(&url).await.expect("open");
        let taken = store.write.acquire().await.expect("the write connection");
        let written = store
            .write_tx(|_conn| Box::pin(async { Ok(()) }))
            .await
            .expect_err("no connection was free");
        drop(taken);
        assert!(written.is_pool_timeout(), "{written:?}");
        // The writer still serves the next group.
        store
            .write_tx(|_conn| Box::pin(async { Ok(()) }))
            .await
            .expect("a write once the connection is free");
    }
}
