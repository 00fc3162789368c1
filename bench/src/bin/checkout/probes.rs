//! What the benchmark reads besides latencies: CPU time from `/proc` (the server's
//! threads apart from the load generator's, PostgreSQL's backends), RSS, and the
//! SQL statements sqlx runs, counted from its `sqlx::query` events.

use anyhow::{Context, Result};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};

/// Threads of the load generator's runtime are named with this prefix, so their
/// CPU time can be taken out of the process's: what remains is the server's.
pub const CLIENT_THREAD_PREFIX: &str = "bench-client";

/// Clock ticks per second of `/proc/*/stat` times: Linux's `USER_HZ`, fixed at
/// 100 in the kernel's ABI on every architecture the project builds for
/// (`getconf CLK_TCK`).
fn ticks_per_second() -> f64 {
    100.0
}

/// `utime + stime` of a `/proc/.../stat` line, in milliseconds.
fn stat_cpu_ms(stat: &str) -> Option<f64> {
    // The command name (field 2) is in parentheses and may hold spaces: split
    // after its closing one. utime and stime are fields 14 and 15.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 1e3 / ticks_per_second())
}

/// CPU milliseconds of this process so far, split into the load generator's
/// threads (the main thread and `bench-client*`) and everything else: the server's
/// runtime, its SQLite worker threads, the hold engine and group commit.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuSplit {
    pub server_ms: f64,
    pub client_ms: f64,
}

pub fn cpu_split() -> Result<CpuSplit> {
    let pid = std::process::id().to_string();
    let total = stat_cpu_ms(&std::fs::read_to_string("/proc/self/stat")?)
        .context("cannot parse /proc/self/stat")?;
    let mut client_ms = 0.0;
    for task in std::fs::read_dir("/proc/self/task")? {
        let task = task?;
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let is_main = task.file_name().to_string_lossy() == pid;
        if is_main || comm.starts_with(CLIENT_THREAD_PREFIX) {
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            client_ms += stat_cpu_ms(&stat).unwrap_or(0.0);
        }
    }
    // Threads that ended are counted in the process total but no longer listed:
    // they were the server's (the client's runtime keeps its threads).
    Ok(CpuSplit {
        server_ms: total - client_ms,
        client_ms,
    })
}

/// CPU milliseconds of another process (the Vendure peer) so far: all its
/// threads, live and ended, as its `/proc/PID/stat` sums them.
pub fn process_cpu_ms(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("read /proc/{pid}/stat (is the server running?)"))?;
    stat_cpu_ms(&stat).with_context(|| format!("cannot parse /proc/{pid}/stat"))
}

/// The CPU split when the server is another process (`pid`): its CPU is the
/// server's, all of this process's is the load generator's.
pub fn cpu_split_external(pid: u32) -> Result<CpuSplit> {
    let client_ms = stat_cpu_ms(&std::fs::read_to_string("/proc/self/stat")?)
        .context("cannot parse /proc/self/stat")?;
    Ok(CpuSplit {
        server_ms: process_cpu_ms(pid)?,
        client_ms,
    })
}

/// Resident set size of this process (server and load generator), in MiB.
pub fn rss_mib() -> f64 {
    status_rss_mib("/proc/self/status")
}

/// Resident set size of another process (the Vendure peer), in MiB.
pub fn process_rss_mib(pid: u32) -> f64 {
    status_rss_mib(&format!("/proc/{pid}/status"))
}

fn status_rss_mib(path: &str) -> f64 {
    let status = std::fs::read_to_string(path).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// CPU milliseconds used so far by the PostgreSQL backends serving `database`
/// (the server's pool), read from `/proc/PID/stat` of each backend. Backends of
/// other databases (other users of a shared server) are not counted; neither are
/// the shared WAL writer and checkpointer.
pub struct PgCpu {
    monitor: sqlx::PgPool,
}

impl PgCpu {
    pub async fn connect(url: &str) -> Result<PgCpu> {
        let monitor = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .context("connect to PostgreSQL to watch its backends")?;
        Ok(PgCpu { monitor })
    }

    /// CPU ms per backend pid, now.
    pub async fn sample(&self) -> Result<HashMap<i32, f64>> {
        let pids: Vec<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_all(&self.monitor)
        .await?;
        Ok(pids
            .into_iter()
            .filter_map(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                Some((pid, stat_cpu_ms(&stat)?))
            })
            .collect())
    }
}

/// CPU ms the backends used between two samples (a backend new in `after` counts
/// from zero; one gone since `before` is lost, which a warm pool makes rare).
pub fn pg_cpu_delta_ms(before: &HashMap<i32, f64>, after: &HashMap<i32, f64>) -> f64 {
    after
        .iter()
        .map(|(pid, ms)| ms - before.get(pid).copied().unwrap_or(0.0))
        .sum()
}

/// Statements counted while [`StatementCounter::set_counting`] is on.
///
/// sqlx reports every statement it prepares or runs, and the COMMITs it sends on
/// PostgreSQL; it runs BEGIN there, and BEGIN and COMMIT on SQLite, outside its
/// statement log. So on PostgreSQL a request's round trips are its statements
/// plus two per transaction (BEGIN and COMMIT), and on SQLite the transactions
/// are not seen here at all.
///
/// On SQLite the store sends some statements together as one script (one
/// event, one hand-off to the connection's thread; see `crates/store/src/script.rs`):
/// each of its statements is counted in `queries`, the script once in `sent`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Statements {
    /// SELECT, INSERT, UPDATE, DELETE, WITH…: the work.
    pub queries: u64,
    /// What sqlx sent for them: on SQLite a hand-off to the connection's thread
    /// each, on PostgreSQL a round trip each (there a script's statements go
    /// one by one, so this equals `queries`).
    pub sent: u64,
    /// COMMITs seen (PostgreSQL): one per transaction that did not roll back.
    pub commits: u64,
}

impl Statements {
    /// Round trips on PostgreSQL: sqlx does not pipeline, so each statement sent
    /// is one, and each transaction adds its BEGIN and COMMIT.
    pub fn pg_round_trips(&self) -> u64 {
        self.sent + 2 * self.commits
    }
}

/// Statements in a query text sqlx logged: a script joins its statements
/// with `;` and a line break (the store's statements have no `;` of their own).
fn statements_in(sql: &str) -> u64 {
    1 + sql.trim_end().trim_end_matches(';').matches(";\n").count() as u64
}

/// A tracing layer that counts sqlx's per-statement events (target
/// `sqlx::query`, one per statement executed, transaction control included).
/// Counting is off unless switched on, so the load phases do not pay for sqlx
/// building the event.
#[derive(Default)]
pub struct StatementCounter {
    counting: AtomicBool,
    queries: AtomicU64,
    sent: AtomicU64,
    commits: AtomicU64,
    /// Per statement summary (sqlx's first four words), for the report.
    by_summary: std::sync::Mutex<HashMap<String, u64>>,
}

impl StatementCounter {
    /// Installs the counter as the global tracing subscriber.
    pub fn install() -> Result<&'static StatementCounter> {
        let counter: &'static StatementCounter = Box::leak(Box::default());
        let subscriber = tracing_subscriber::registry().with(CountingLayer(counter));
        tracing::subscriber::set_global_default(subscriber)?;
        Ok(counter)
    }

    pub fn set_counting(&self, on: bool) {
        self.counting.store(on, Ordering::SeqCst);
        // Callsites cache whether anyone listens: make them ask again.
        tracing::callsite::rebuild_interest_cache();
    }

    pub fn take(&self) -> Statements {
        Statements {
            queries: self.queries.swap(0, Ordering::SeqCst),
            sent: self.sent.swap(0, Ordering::SeqCst),
            commits: self.commits.swap(0, Ordering::SeqCst),
        }
    }

    /// The statements seen since the last call, most frequent first.
    pub fn take_summaries(&self) -> Vec<(String, u64)> {
        let mut map = self
            .by_summary
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default();
        let mut out: Vec<(String, u64)> = map.drain().collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }

    /// Counts one event: `sql` is the whole text when sqlx logged more than
    /// the summary, else empty.
    fn record(&self, summary: &str, sql: &str) {
        let verb = summary
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match verb.as_str() {
            "COMMIT" | "END" => {
                self.commits.fetch_add(1, Ordering::Relaxed);
            }
            "ROLLBACK" | "SAVEPOINT" | "RELEASE" => {}
            _ => {
                self.queries
                    .fetch_add(statements_in(sql), Ordering::Relaxed);
                self.sent.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Ok(mut map) = self.by_summary.lock() {
            *map.entry(summary.to_string()).or_default() += 1;
        }
    }
}

struct CountingLayer(&'static StatementCounter);

impl<S: tracing::Subscriber> Layer<S> for CountingLayer {
    fn register_callsite(
        &self,
        meta: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        if meta.target() == "sqlx::query" && self.0.counting.load(Ordering::SeqCst) {
            tracing::subscriber::Interest::always()
        } else {
            tracing::subscriber::Interest::never()
        }
    }

    fn enabled(&self, meta: &tracing::Metadata<'_>, _: LayerContext<'_, S>) -> bool {
        meta.target() == "sqlx::query" && self.0.counting.load(Ordering::Relaxed)
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: LayerContext<'_, S>) {
        let mut fields = QueryFields::default();
        event.record(&mut fields);
        self.0.record(&fields.summary, &fields.sql);
    }
}

/// sqlx's `summary` field (the statement's first four words) and
/// `db.statement` (the whole text, when longer than the summary).
#[derive(Default)]
struct QueryFields {
    summary: String,
    sql: String,
}

impl QueryFields {
    fn set(&mut self, field: &Field, value: String) {
        match field.name() {
            "summary" => self.summary = value,
            "db.statement" => self.sql = value,
            _ => {}
        }
    }
}

impl Visit for QueryFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field, value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.set(field, format!("{value:?}").trim_matches('"').to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_times_are_read_after_the_command_name() {
        let line = "42 (tokio runtime) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0";
        let ms = stat_cpu_ms(line).unwrap();
        assert!((ms - 300.0 * 1e3 / ticks_per_second()).abs() < 1e-9);
    }

    #[test]
    fn commits_are_counted_apart_from_statements() {
        let c = StatementCounter::default();
        for s in [
            "SELECT id FROM x",
            "UPDATE y SET z",
            "COMMIT",
            "DELETE FROM w",
        ] {
            c.record(s, "");
        }
        let s = c.take();
        assert_eq!((s.queries, s.commits, s.pg_round_trips()), (3, 1, 5));
        // A SQLite script: one event, its statements each counted.
        c.record(
            "UPDATE stock_levels SET held …",
            "\n\nUPDATE stock_levels SET held = held - $1;\nUPDATE merchants SET order_seq = order_seq + 1 WHERE id = $2\nRETURNING order_seq\n",
        );
        let s = c.take();
        assert_eq!((s.queries, s.sent), (2, 1));
        assert_eq!(c.take(), Statements::default());
    }
}
