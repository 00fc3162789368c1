//! Group commit for SQLite's single writer.
//!
//! SQLite in WAL mode with `synchronous=FULL` pays one fsync per committed
//! transaction, and it has exactly one writer. A checkout request makes several
//! small writes (claim its idempotency key, write the session, store the response),
//! so one request per fsync caps a flash sale near 1/fsync-time whatever the
//! inventory engine does.
//!
//! Here every such write is a *job* sent to one writer task. The task drains the
//! queued jobs (up to [`GROUP_JOBS_MAX`]), runs them one after the other in one
//! transaction, and commits once; each caller is answered only after that
//! COMMIT returned, so every acknowledged write is durable, exactly as with one
//! transaction per write. Under load many writes share one fsync; when idle a
//! job runs alone at once (no timer, no added latency).
//!
//! A job sees what it would see on PostgreSQL, where it runs on a pooled
//! connection: each statement it runs by itself is atomic (SQLite undoes a
//! failed statement and nothing else), and what must be atomic together it puts
//! in its own transaction (`sqlx::Connection::begin`, a savepoint inside the
//! group). So the writer adds no transaction command of its own per job: each
//! is a hand-off to SQLite's connection thread (see `bench/PROFILE.md`), and a
//! one-statement write is one command, not three. A job alone runs on the bare
//! connection (no BEGIN and COMMIT around it either). One failure is different:
//! an error that may have ended the group's transaction under it (I/O, a full
//! disk; anything but a rule the statement broke) fails the whole group, its
//! callers told that nothing of it was kept.
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
/// A type-erased job: runs on the shared connection, says how it ended and how
/// to answer its caller. Given no connection it does not run and answers with why.
type Job = Box<
    dyn for<'c> FnOnce(
            Result<&'c mut AnyConnection, NoConnection>,
        ) -> Pin<Box<dyn Future<Output = (JobEnd, Delivery)> + Send + 'c>>
        + Send,
>;

/// How a job ended, as far as the group's transaction is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JobEnd {
    /// Succeeded, or failed with its own writes undone (its failed statement by
    /// SQLite, its transaction by its drop): the group goes on.
    Settled,
    /// Failed in a way that may have ended the group's transaction (see
    /// [`StoreError::may_end_transaction`]): the group is lost.
    Broken,
}

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

    /// Runs `work` as a durable write and returns its result after commit.
    ///
    /// `work` gets a connection and must open a transaction on it with
    /// `sqlx::Connection::begin` around whatever must be atomic together (a real
    /// transaction on PostgreSQL and for a job alone on SQLite, a savepoint inside
    /// a shared SQLite group); a single statement is atomic by itself. So the
    /// same code is atomic either way: if it returns an error, nothing of its
    /// failed statement or unfinished transaction is kept.
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
                        return (JobEnd::Settled, Box::new(|_| ()) as Delivery);
                    }
                };
                let outcome = work(conn).await;
                let end = match &outcome {
                    Err(e) if e.may_end_transaction() => JobEnd::Broken,
                    _ => JobEnd::Settled,
                };
                let deliver: Delivery = Box::new(move |commit| {
                    let _ = answer.send(match (outcome, commit) {
                        (Ok(_), Err(e)) => Err(StoreError::CommitFailed(e)),
                        (outcome, _) => outcome,
                    });
                });
                (end, deliver)
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

/// Runs `jobs` in one transaction, commits once and answers every caller (a
/// job alone runs on the bare connection). Any failure of the transaction
/// itself fails every job.
async fn commit_group(pool: &AnyPool, jobs: Vec<Job>) {
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
            return refuse_all(jobs, why).await;
        }
    };
    if jobs.len() == 1 {
        // Alone, a job runs on the bare connection, as it would on PostgreSQL:
        // a one-statement write commits (and syncs) by itself, and a job that
        // needs a transaction opens its own. Its answer is its own result,
        // commit included.
        let job = jobs.into_iter().next().expect("one job");
        let (end, deliver) = run_job(job, &mut conn).await;
        if end == JobEnd::Broken {
            // Its transaction may have ended under the driver (see below).
            conn.close_on_drop();
        }
        return deliver(Ok(()));
    }
    let mut group = match sqlx::Connection::begin(&mut *conn).await {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "group commit: BEGIN failed");
            return refuse_all(jobs, NoConnection::Failed(e.to_string())).await;
        }
    };
    let mut deliveries: Vec<Delivery> = Vec::with_capacity(jobs.len());
    let mut jobs = jobs.into_iter();
    while let Some(job) = jobs.next() {
        let (end, deliver) = run_job(job, &mut group).await;
        deliveries.push(deliver);
        if end == JobEnd::Broken {
            let why = "a write of its group failed in a way that may have ended the \
                       transaction; nothing of the group was kept";
            tracing::error!(
                "group commit: a write may have ended the transaction; group rolled back"
            );
            // The transaction may be gone already; then there is nothing to roll
            // back, and the driver's idea of it may be wrong: the connection is
            // closed, and the next group gets a fresh one.
            let _ = group.rollback().await;
            conn.close_on_drop();
            for d in deliveries {
                d(Err(why.to_string()));
            }
            return refuse_all(jobs.collect(), NoConnection::Failed(why.into())).await;
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

/// Answers jobs that will not run with why.
async fn refuse_all(jobs: Vec<Job>, why: NoConnection) {
    for job in jobs {
        let _answered = job(Err(why.clone())).await;
    }
}

/// Runs one job on `conn`: how it ended, and how to answer its caller. A job
/// that panicked failed like one that returned an error (its caller sees its
/// answer dropped): its transaction was rolled back as it unwound, and the
/// group goes on.
async fn run_job(job: Job, conn: &mut AnyConnection) -> (JobEnd, Delivery) {
    match AssertUnwindSafe(job(Ok(conn))).catch_unwind().await {
        Ok(ran) => ran,
        Err(_) => {
            tracing::error!("group commit: a write job panicked; its transaction was rolled back");
            (JobEnd::Settled, Box::new(|_| ()) as Delivery)
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

#[cfg(test)]
mod shared_groups {
    use super::*;

    async fn sqlite_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("group.db").display());
        let store = Store::open(&url).await.expect("open");
        sqlx::query("CREATE TABLE marks (name TEXT PRIMARY KEY)")
            .execute(&store.write)
            .await
            .expect("table");
        (dir, store)
    }

    /// How a test job writes its mark.
    #[derive(Clone, Copy, Debug)]
    enum Write {
        /// One statement, no transaction.
        Alone,
        /// In a transaction, committed.
        Committed,
        /// In a transaction, dropped uncommitted (the job still answers `Ok`).
        Dropped,
        /// A statement SQLite cannot run: a database error, not a broken rule.
        Broken,
    }

    async fn mark(store: &Store, name: &'static str, how: Write) -> StoreResult<&'static str> {
        const INSERT: &str = "INSERT INTO marks (name) VALUES ($1)";
        store
            .write_tx(move |conn| {
                Box::pin(async move {
                    match how {
                        Write::Alone => {
                            sqlx::query(INSERT).bind(name).execute(&mut *conn).await?;
                        }
                        Write::Committed | Write::Dropped => {
                            let mut tx = sqlx::Connection::begin(conn).await?;
                            sqlx::query(INSERT).bind(name).execute(&mut *tx).await?;
                            if matches!(how, Write::Committed) {
                                tx.commit().await?;
                            }
                        }
                        Write::Broken => {
                            sqlx::query(INSERT).bind(name).execute(&mut *conn).await?;
                            sqlx::query("INSERT INTO no_such_table VALUES (1)")
                                .execute(&mut *conn)
                                .await?;
                        }
                    }
                    Ok(name)
                })
            })
            .await
    }

    async fn marks(store: &Store) -> Vec<String> {
        sqlx::query_scalar("SELECT name FROM marks ORDER BY name")
            .fetch_all(&store.read)
            .await
            .expect("marks")
    }

    /// Runs `writes` as one group: the writer is held inside a first job until
    /// all of them are queued behind it. Answers in the order given.
    async fn one_group(
        store: &Store,
        writes: &[(&'static str, Write)],
    ) -> Vec<StoreResult<&'static str>> {
        let (go, wait) = oneshot::channel::<()>();
        let (started_tx, started) = oneshot::channel::<()>();
        let holder = store.clone();
        let blocker = tokio::spawn(async move {
            holder
                .write_tx(move |_conn| {
                    Box::pin(async move {
                        let _ = started_tx.send(());
                        let _ = wait.await;
                        Ok(())
                    })
                })
                .await
        });
        started.await.expect("the writer runs the first job");
        let mut answers = Vec::new();
        for (i, &(name, how)) in writes.iter().enumerate() {
            let writer = store.clone();
            answers.push(tokio::spawn(async move { mark(&writer, name, how).await }));
            // Queue them in order.
            let queued = GROUP_QUEUE_MAX - (i + 1);
            while queue_capacity(store) > queued {
                tokio::task::yield_now().await;
            }
        }
        go.send(()).expect("the blocker waits");
        blocker.await.expect("joined").expect("blocker");
        let mut out = Vec::new();
        for a in answers {
            out.push(a.await.expect("joined"));
        }
        out
    }

    fn queue_capacity(store: &Store) -> usize {
        store.group.as_ref().expect("sqlite").jobs.capacity()
    }

    /// Jobs sharing a group get no savepoint from the writer: a lone statement
    /// is atomic by itself and a job's transaction is its own savepoint.
    /// Dropping that transaction uncommitted undoes the job's writes and only
    /// its writes; a lone statement that breaks a rule undoes itself and only
    /// itself; the others commit together.
    #[tokio::test]
    async fn jobs_sharing_a_group_keep_or_undo_only_their_own_writes() {
        let (_dir, store) = sqlite_store().await;
        mark(&store, "taken", Write::Alone).await.expect("alone");
        let answers = one_group(
            &store,
            &[
                ("a-alone", Write::Alone),
                ("b-dropped", Write::Dropped),
                ("taken", Write::Alone),
                ("c-committed", Write::Committed),
                ("taken", Write::Committed),
                ("d-alone", Write::Alone),
            ],
        )
        .await;
        assert_eq!(answers[0].as_ref().expect("a"), &"a-alone");
        assert_eq!(answers[1].as_ref().expect("b answers"), &"b-dropped");
        assert!(
            matches!(answers[2], Err(StoreError::Duplicate(_))),
            "{:?}",
            answers[2]
        );
        assert_eq!(answers[3].as_ref().expect("c"), &"c-committed");
        assert!(
            matches!(answers[4], Err(StoreError::Duplicate(_))),
            "{:?}",
            answers[4]
        );
        assert_eq!(answers[5].as_ref().expect("d"), &"d-alone");
        assert_eq!(
            marks(&store).await,
            ["a-alone", "c-committed", "d-alone", "taken"]
        );
    }

    /// An error that may have ended the group's transaction loses the whole
    /// group: every caller is told, nothing of it is kept (not the writes before
    /// it, not the one that failed, and the jobs after it do not run), and the
    /// writer serves the next group.
    #[tokio::test]
    async fn an_error_that_may_end_the_transaction_fails_its_whole_group() {
        let (_dir, store) = sqlite_store().await;
        let answers = one_group(
            &store,
            &[
                ("a-before", Write::Alone),
                ("b-before", Write::Committed),
                ("c-broken", Write::Broken),
                ("d-after", Write::Alone),
            ],
        )
        .await;
        for (i, answer) in answers.iter().enumerate() {
            assert!(
                answer.is_err(),
                "write {i} was told it was kept: {answer:?}"
            );
        }
        assert!(marks(&store).await.is_empty(), "{:?}", marks(&store).await);
        let next = one_group(&store, &[("e", Write::Alone), ("f", Write::Committed)]).await;
        assert!(next.iter().all(Result::is_ok), "{next:?}");
        assert_eq!(marks(&store).await, ["e", "f"]);
    }

    /// A job alone runs on the bare connection: a lone statement commits by
    /// itself, a transaction commits or rolls back by itself, and a broken job
    /// keeps only what it committed before it broke (as on PostgreSQL).
    #[tokio::test]
    async fn a_job_alone_runs_as_on_a_pooled_connection() {
        let (_dir, store) = sqlite_store().await;
        mark(&store, "alone", Write::Alone).await.expect("alone");
        mark(&store, "committed", Write::Committed)
            .await
            .expect("committed");
        mark(&store, "dropped", Write::Dropped)
            .await
            .expect("answered");
        mark(&store, "broken", Write::Broken)
            .await
            .expect_err("no such table");
        assert_eq!(marks(&store).await, ["alone", "broken", "committed"]);
        // The connection is left outside any transaction: the next job commits.
        mark(&store, "next", Write::Committed).await.expect("next");
        assert_eq!(
            marks(&store).await,
            ["alone", "broken", "committed", "next"]
        );
    }
}
